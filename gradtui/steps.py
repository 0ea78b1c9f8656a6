"""The network's layers and the debugger's steps, named from the options alone.

No torch here: the app names the network and its steps on its first frame, before torch
has loaded. What each kind is comes from gradtui.kinds.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradtui.kinds import KINDS, LAYERS, LOSSES, Kind


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the network, in the notes' names: `lin2` reads `l2` and writes `out`."""

    name: str  # lin1, relu1, ..., mse
    kind: str  # lin, relu, mse
    inp: str  # the activation it reads
    out: str  # the activation it writes
    params: tuple[str, ...] = ()  # ("w1", "b1") for lin1

    @property
    def entry(self) -> Kind:
        """What this layer's kind is (gradtui.kinds)."""
        return KINDS[self.kind]

    @property
    def roles(self) -> tuple[str, ...]:
        """What each tensor of `grads` is to the layer: inp, then its parameters' roles (w, b, gamma, beta)."""
        return ("inp", *self.entry.params)

    @property
    def grads(self) -> tuple[str, ...]:
        """The tensors whose .g this layer's backward sets: its input's, then its parameters'."""
        return (self.inp, *self.params)


def network_kinds(hidden: tuple[int, ...]) -> tuple[str, ...]:
    """The lesson's network: Lin, ReLU for each hidden width, a last Lin, then MSE."""
    return ("lin", "relu") * len(hidden) + ("lin", "mse")


def check_kinds(kinds: tuple[str, ...], model: bool = False, typed: bool = False) -> str | None:
    """Why this list of layer kinds is no network we can build, or None. A `model`'s own layers may
    give the loss its input whatever they are; --net's must end in a lin, which sizes it. `typed`: as
    --net names them, where the kinds are gradtui's own (not a class a layer file checked before entered)."""
    unknown = [kind for kind in kinds if kind not in ((*LAYERS, *LOSSES) if typed else KINDS)]
    if unknown:
        return f"unknown layer kind {unknown[0]!r}; choose from {', '.join(LAYERS)} and a final {' or '.join(LOSSES)}"
    if not kinds or not KINDS[kinds[-1]].loss:
        return f"the last kind must be a loss, {' or '.join(LOSSES)}"
    if any(KINDS[kind].loss for kind in kinds[:-1]):
        return "a loss can only come last"
    if len(kinds) < 2 or not (model or KINDS[kinds[-2]].changes_width or KINDS[kinds[-2]].reference is None):
        return "the loss must follow a lin, which gives it its (N, 1) or (N, C) input"  # or a layer of your own
    return None


def layer_specs(kinds: tuple[str, ...]) -> tuple[LayerSpec, ...]:
    """Each layer named by its kind and count (lin1, relu1, lin2; the loss by its kind alone);
    activations l1, l2, … in order, the loss's input `out`, then `loss`."""
    specs, counts, current = [], {}, "x"
    for position, kind in enumerate(kinds):
        if KINDS[kind].loss:
            specs.append(LayerSpec(kind, kind, current, "loss"))
            break
        counts[kind] = counts.get(kind, 0) + 1
        number = counts[kind]
        out = "out" if KINDS[kinds[position + 1]].loss else f"l{position + 1}"
        entry = KINDS[kind]
        params = tuple(f"{kind}{number}.{role}" if entry.qualified else f"{role}{number}" for role in entry.params)
        specs.append(LayerSpec(f"{kind}{number}", kind, current, out, params))
        current = out
    return tuple(specs)


Shape = tuple[int | None, int]  # a width-changing layer's (fan_in, fan_out); fan_in None: not known yet


def chained(sizes: tuple[int | None, ...]) -> tuple[Shape, ...]:
    """The shapes of the Lins of a network whose widths are `sizes`, each Lin taking the last one's output."""
    return tuple(zip(sizes, sizes[1:]))


def describe(specs: tuple[LayerSpec, ...], shapes: tuple[Shape, ...]) -> str:
    """Lin(784→50) → ReLU → Lin(50→1) → MSE, from each width-changing layer's (fan_in, fan_out); a
    size not known yet (a data file still loading) is ?."""
    parts, widths = [], iter(shapes)
    for spec in specs:
        if spec.entry.changes_width:
            fan_in, fan_out = next(widths)
            parts.append(f"{spec.entry.title}({'?' if fan_in is None else fan_in}→{fan_out})")
        else:
            parts.append(spec.entry.title)
    return " → ".join(parts)


@dataclass(frozen=True)
class Step:
    index: int
    direction: str  # forward, backward
    spec: LayerSpec
    position: int  # the layer's place in the network

    @property
    def layer(self) -> str:
        return self.spec.name

    @property
    def produces(self) -> tuple[str, ...]:
        if self.direction == "forward":
            return (self.spec.out,)
        return tuple(f"{name}.g" for name in self.spec.grads)


def build_steps(specs: tuple[LayerSpec, ...]) -> tuple[Step, ...]:
    """Every layer's forward in order, then every layer's backward in reverse."""
    forward = [("forward", spec, i) for i, spec in enumerate(specs)]
    backward = [("backward", spec, i) for i, spec in reversed(list(enumerate(specs)))]
    return tuple(Step(index, direction, spec, position)
                 for index, (direction, spec, position) in enumerate(forward + backward))
