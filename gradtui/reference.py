"""What the user's layers are judged against.

Backward: autograd through the *same* forward code, on detached copies of the same weights
and data, so a mismatch says "this backward is inconsistent with this forward".
Forward: the reference layers of `gradtui.layers` applied to the same inputs.

Where autograd cannot follow a layer's forward (NumPy, `.detach()`, a kernel of its own, a
`torch.autograd.Function` whose backward is the user's), its backward is judged another way:
against the reference layer's autograd gradient when the layer's output is the reference
layer's, else by central finite differences in float64 on sampled elements
(`finite_differences`). Autograd then goes on through the reference layer, or through the
user's own backward standing in for the layer, to the layers before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from gradtui.compare import close
from gradtui.findings import TensorStats
from gradtui.formatting import number, shape_in_words
from gradtui.kinds import KINDS
from gradtui.model import Network, reference_classes
from gradtui.running import numbers_made_in
from gradtui.stats import unravel
from gradtui.steps import LayerSpec

FD_ROWS = 256  # finite differences run on the first rows
FD_SAMPLES = 16  # elements of each gradient
FD_STEPS = (1e-3, 1e-6)  # relative steps: the second for an element whose first step crossed a kink
FD_RTOL = 1e-3  # at least: a finite difference is no sharper than this, where its two steps disagree
FD_SHARP = 1e-6  # two steps that agree within this (of the gradient's scale): the estimate is good to about as much


@dataclass(frozen=True)
class Unfollowed:
    """A layer whose forward autograd cannot follow, and how its backward is judged instead."""

    why: str  # what autograd could not follow
    by: str  # "reference": the reference layer's gradient; "finite differences"

    def note(self, spec: LayerSpec) -> str:
        title = KINDS[spec.kind].title
        if self.by == "reference":
            return (f"autograd cannot follow {spec.name}'s forward ({self.why}); its output is the reference {title}'s, "
                    f"so its backward is judged against the reference {title}'s autograd gradient")
        return (f"autograd cannot follow {spec.name}'s forward ({self.why}), and its output is not the reference "
                f"{title}'s: its backward is judged by central finite differences in float64 at {FD_SAMPLES} sampled "
                f"elements of each gradient, and where yours is farthest from the backward derived from its forward's "
                f"operations, on the first {FD_ROWS} rows; the layers before it are judged through your own backward of it")


@dataclass(frozen=True)
class Reference:
    grads: dict[str, torch.Tensor | None] = field(default_factory=dict)  # "w1" -> d loss / d w1
    error: str | None = None  # why autograd could not run the forward, if it could not
    # of each gradient, taken by its first comparison (in the same pass over memory) and kept
    stats: dict[str, TensorStats] = field(default_factory=dict)
    note: str | None = None  # what autograd differentiated, when it is not the loss itself
    unfollowed: dict[str, Unfollowed] = field(default_factory=dict)  # layer name -> how it is judged instead
    # layer name -> its input as it was before its forward changed it in place (the session's copy holds the output)
    overwritten: dict[str, torch.Tensor] = field(default_factory=dict)


def autograd_reference(network: Network, params: dict[str, torch.Tensor], x: torch.Tensor,
                       y: torch.Tensor, tolerance: tuple[float, float] = (1e-4, 1e-7),
                       given: dict[str, torch.Tensor] | None = None) -> Reference:
    """The user's forward under autograd, with layer objects of its own: a fresh import of the
    user's file, so that not even a class attribute is shared with the session's layers. `given`:
    gradients of activations taken in place of autograd's (the user's subgradient at a kink), so
    that the tensors before them are differentiated through the user's choice."""
    leaves = {name: p.detach().clone().requires_grad_() for name, p in params.items()}
    # x is not copied (157 MB at the default size): autograd refuses in-place changes to a leaf.
    values = {"x": x.detach().requires_grad_(x.is_floating_point()), **leaves}  # integer ids have no gradient
    targ, note, unfollowed, overwritten = y.detach().clone(), None, {}, {}
    try:
        with torch.enable_grad(), numbers_made_in(_run_dtype(x, params)):
            for spec, layer in zip(network.specs, network.build(leaves, network.isolated_classes())):
                inp = values[spec.inp]
                # Each layer gets a copy of its input: an in-place forward changes the copy, and the
                # activation keeps the gradient of its own value.
                inp = inp if inp.is_leaf else inp.clone()
                args = KINDS[spec.kind].args(inp, targ)
                own = [leaves[name] for name in spec.params]
                version = inp._version
                out = layer(*args)
                if inp._version != version and not inp.is_leaf:
                    overwritten[spec.name] = values[spec.inp].detach()
                why = unfollowable(out, inp, own)
                if why is not None:
                    out, unfollowed[spec.name] = _judged_otherwise(spec, layer, args, own, out, why, tolerance)
                if isinstance(out, torch.Tensor) and out.requires_grad and not out.is_leaf:
                    if given and spec.out in given:
                        out.register_hook(lambda grad, chosen=given[spec.out]: chosen.to(grad.dtype))
                    out.retain_grad()
                values[spec.out] = out
            loss = values["loss"]
            if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
                return Reference(error="the loss does not depend on the weights through autograd", unfollowed=unfollowed)
            if loss.numel() != 1:
                note = f"the loss is {shape_in_words(tuple(loss.shape))}, not a scalar: autograd differentiated its mean"
                loss = loss.mean()
            loss.backward()
    except (Exception, SystemExit) as exc:  # the user's forward, under autograd (a sys.exit() in it too)
        return Reference(error=f"autograd could not run the forward: {type(exc).__name__}: {exc}", unfollowed=unfollowed)
    grads = {name: (t.grad if isinstance(t, torch.Tensor) else None) for name, t in values.items() if name != "loss"}
    return Reference(grads, note=note, unfollowed=unfollowed, overwritten=overwritten)


def _run_dtype(x: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.dtype | None:
    """The run's floating dtype: x's, or for integer ids (an embedding's input) the parameters'."""
    return next((t.dtype for t in (x, *params.values()) if t.is_floating_point()), None)


def unfollowable(out, inp: torch.Tensor, params: list[torch.Tensor]) -> str | None:
    """Why autograd cannot follow this forward from its output back to its input and parameters
    (None: it can). A forward that leaves out one parameter (a forgotten `+ b`) is followed: its
    gradient is missing, and the hints say so."""
    wanted = [t for t in (inp, *params) if t.requires_grad]
    if not isinstance(out, torch.Tensor) or not wanted:
        return None
    if out.grad_fn is None:
        return "its output has no autograd graph: computed outside torch (NumPy, .data, .detach(), a kernel)"
    nodes = autograd_nodes(out, stop=inp.grad_fn)
    custom = next((node for node in nodes if isinstance(node, torch.autograd.function.BackwardCFunction)), None)
    if custom is not None:
        name = type(custom).__name__.removesuffix("Backward")
        return f"it runs through the torch.autograd.Function {name}, whose backward is your own code"
    if not any(_reached(t, nodes) for t in wanted):
        return "its output's autograd graph reaches neither its input nor its parameters"
    return None


def autograd_nodes(out: torch.Tensor, stop=None) -> set:
    """The nodes of the autograd graph behind `out`, not looking past `stop`."""
    nodes, queue = set(), [out.grad_fn]
    while queue:
        node = queue.pop()
        if node is None or node in nodes:
            continue
        nodes.add(node)
        if node is not stop:
            queue.extend(next_node for next_node, _ in node.next_functions)
    return nodes


def _reached(t: torch.Tensor, nodes: set) -> bool:
    if t.grad_fn is not None:
        return t.grad_fn in nodes
    return any(getattr(node, "variable", None) is t for node in nodes)


def _judged_otherwise(spec: LayerSpec, layer, args, params, out, why: str, tolerance) -> tuple[torch.Tensor, Unfollowed]:
    """The output autograd goes on from: the reference layer's, when the user's output is it; else
    the user's output, with the user's backward standing in for the layer."""
    if KINDS[spec.kind].reference is not None:
        expected = reference_classes()[KINDS[spec.kind].reference](*params)(*args)
        if isinstance(out, torch.Tensor) and close(out, expected, tolerance):
            return expected, Unfollowed(why, "reference")
    return _stand_in(layer, args, params, out), Unfollowed(why, "finite differences")


def _stand_in(layer, args, params, out: torch.Tensor) -> torch.Tensor:
    """`out` as a node of autograd's graph whose backward is the layer's own (checked apart by finite differences)."""
    inp = args[0]

    class StandIn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *tensors):
            return out.detach().clone()

        @staticmethod
        def backward(ctx, grad):
            if out.dim():  # a loss's backward starts the chain: it reads no out.g
                out.g = grad
            try:
                layer.backward()
            except Exception:  # (its own step says so, at the user's line; the steps after it are judged as ever)
                return (None,) * (1 + len(params))
            return tuple(_fitted(getattr(t, "g", None), t) for t in (inp, *params))

    return StandIn.apply(inp, *params)


def _fitted(grad, t: torch.Tensor) -> torch.Tensor | None:
    """A gradient autograd accepts for t: of its shape and dtype (None where it cannot be: the finite
    differences say why)."""
    if not isinstance(grad, torch.Tensor):
        return None
    if grad.shape != t.shape:
        if grad.numel() != t.numel():
            return None
        grad = grad.reshape(t.shape)
    return grad.to(t.dtype)


@dataclass(frozen=True)
class FiniteDifferences:
    """A gradient of the user's backward against central finite differences of the user's forward."""

    name: str
    ok: bool
    worst: tuple[int, ...]  # where the two differ most
    yours: float
    estimate: float
    samples: int
    unset: bool = False  # the backward set no gradient for it

    @property
    def hint(self) -> str:
        if self.unset:
            return (f"{self.name} is not set: your backward gives {self.name.removesuffix('.g')} no gradient, and your forward "
                    f"depends on it (at {list(self.worst)} a central finite difference of {number(self.estimate)}, float64)")
        return (f"{self.name} disagrees with central finite differences of your own forward (float64, {self.samples} "
                f"sampled elements, the first {FD_ROWS} rows): at {list(self.worst)} yours {number(self.yours)}, the "
                f"finite difference {number(self.estimate)}; the backward does not differentiate this forward")


def finite_differences(network: Network, spec: LayerSpec, params: dict[str, torch.Tensor], inp: torch.Tensor,
                       upstream: torch.Tensor | None, targ: torch.Tensor, tolerance: tuple[float, float],
                       also: dict[str, list[int]] | None = None) -> list:
    """The layer's backward on the first FD_ROWS rows in float64, each gradient against central finite
    differences of the layer's forward at FD_SAMPLES evenly spaced elements: Σ out·out.g moved by ± a
    small step; and at the elements `also` names (a gradient's name -> flat indices on those rows), where
    a slip confined to a few elements (a max's) would be missed by the even ones."""
    kind = KINDS[spec.kind]
    classes = network.isolated_classes()
    rows = min(FD_ROWS, len(inp))
    x = inp[:rows].detach().clone()
    x = x.to(torch.float64) if x.is_floating_point() else x  # integer ids (an embedding's) stay ids
    weights = [params[name].detach().to(torch.float64).clone() for name in spec.params]
    targ = targ[:rows].detach()
    targ = targ.to(torch.float64) if targ.is_floating_point() else targ
    g = None if upstream is None else upstream[:rows].detach().to(torch.float64)

    def run(x, weights):
        layer = network.layer(spec, dict(zip(spec.params, weights)), classes)
        return layer, layer(*kind.args(x, targ))

    def local(x, weights) -> float:
        _, out = run(x.clone(), [w.clone() for w in weights])
        out = out.detach().to(torch.float64)
        return float(out.sum() if g is None else (out * g).sum())

    with torch.no_grad():
        layer, out = run(x, weights)
        if g is not None:
            out.g = g
        layer.backward()
    yours = [getattr(x, "g", None), *(getattr(w, "g", None) for w in weights)]
    rtol, atol = max(tolerance[0], FD_RTOL), tolerance[1]
    results = []
    for position, (name, grad) in enumerate(zip(spec.grads, yours)):
        tensors = [x, *weights]
        unset = not isinstance(grad, torch.Tensor)  # judged as zeros: wrong wherever the forward depends on it
        if unset and not tensors[position].is_floating_point():
            continue
        grad = torch.zeros_like(tensors[position]) if unset else grad
        target, flat_grad = tensors[position], grad.detach().reshape(-1).to(torch.float64)
        scale = float(flat_grad.abs().max()) if flat_grad.numel() else 0.0
        worst = (0.0, 0, 0.0)
        picks = torch.linspace(0, target.numel() - 1, min(FD_SAMPLES, target.numel())).long().tolist()
        picks = list(dict.fromkeys([*picks, *(i for i in (also or {}).get(f"{name}.g", ()) if i < target.numel())]))
        for flat in picks:
            estimates = [_central(local, tensors, position, flat, step) for step in FD_STEPS]
            mine = float(flat_grad[flat]) if flat < flat_grad.numel() else math.nan
            gap = min(abs(mine - estimate) for estimate in estimates)
            size = max(scale, abs(estimates[0]))
            # where the two steps agree far below FD_RTOL the forward is smooth there and the estimate that sharp: an
            # epsilon put in the wrong place (1e-3 of the value) is seen; at a kink the steps disagree, and FD_RTOL holds
            sharp = abs(estimates[0] - estimates[1]) <= FD_SHARP * size
            if not gap <= atol + (max(tolerance[0], FD_SHARP * 10) if sharp else rtol) * size and not gap <= worst[0]:
                worst = (gap, flat, estimates[0])
        gap, flat, estimate = worst
        index = unravel(flat, tuple(target.shape))
        mine = float(flat_grad[flat]) if flat < flat_grad.numel() else math.nan
        results.append(FiniteDifferences(f"{name}.g", gap == 0.0, index, mine, estimate, len(picks), unset))
    return results


def _central(local, tensors: list[torch.Tensor], position: int, flat: int, step: float) -> float:
    target = tensors[position].view(-1)
    original = float(target[flat])
    h = step * max(1.0, abs(original))
    target[flat] = original + h
    plus = local(tensors[0], tensors[1:])
    target[flat] = original - h
    minus = local(tensors[0], tensors[1:])
    target[flat] = original
    return (plus - minus) / (2 * h)


def reference_output(spec: LayerSpec, values: dict, y: torch.Tensor) -> torch.Tensor:
    """The reference layer's forward on exactly the inputs the user's layer received."""
    kind = KINDS[spec.kind]
    layer = reference_classes()[kind.reference](*(values[name] for name in spec.params))
    with torch.no_grad():
        return layer(*kind.args(values[spec.inp], y))



KINK_SAMPLES = 16  # elements tested one at a time where the layer is not elementwise in the tensor
KINK_SHARE = 0.25  # more of the tensor than this differing is a slip, not a choice at kinks
KINK_FINER = 8  # the one-sided derivatives again at a step this many times smaller: a kink's gap stays


@dataclass(frozen=True)
class Kinks:
    """Elements of a gradient where the layer's forward has a kink (its one-sided derivatives differ)
    and the user's value lies between them: a subgradient as right as autograd's."""

    count: int
    at_zero: bool  # the differentiated tensor is exactly 0 at each (a ReLU's input)

    def note(self, name: str, layer: str) -> str:
        where = f"{self.count} element{'s' if self.count > 1 else ''}"
        zero = f"{name.removesuffix('.g')} is exactly 0 at each, and " if self.at_zero else ""
        return (f"{name} differs from autograd's only at {where} where {layer}'s forward has a kink ({zero}its "
                "one-sided derivatives differ there): any value between them is a right subgradient, yours and "
                f"autograd's alike; the steps below are judged given your {name}")


def subgradient_choice(network: Network, spec: LayerSpec, tensors: list[torch.Tensor], position: int,
                       upstream: torch.Tensor | None, targ: torch.Tensor, yours: torch.Tensor, ref: torch.Tensor,
                       bound: float) -> Kinks | None:
    """Kinks when the user's gradient of `tensors[position]` (the layer's input, then its parameters)
    differs from autograd's only where the layer's forward is not differentiable, and lies there
    between the one-sided derivatives of Σ out·out.g (float64): a ReLU's mask at exactly 0 taken
    either way, a max's tie given to either element (not to both). None otherwise, or when the
    forward cannot run so."""
    target = tensors[position]
    if yours.shape != target.shape or yours.shape != ref.shape:
        return None
    mine, theirs = yours.detach().double().reshape(-1), ref.detach().double().reshape(-1)
    differing = (mine - theirs).abs() > bound
    count = int(differing.sum())
    if not count or count > max(KINK_SHARE * differing.numel(), KINK_SAMPLES):  # most of it: a slip, not ties
        return None
    try:
        with torch.no_grad():
            derivatives = _OneSided(network, spec, tensors, position, upstream, targ)
            indices = differing.nonzero().flatten()
            sides = derivatives.elementwise(differing)
            if sides is None:
                if not derivatives.jointly_between(indices, float(mine[indices].sum()), bound * count):
                    return None
                indices = indices[torch.linspace(0, count - 1, min(KINK_SAMPLES, count)).long()]
                sides = derivatives.each(indices)
                derivatives.steps = derivatives.steps / KINK_FINER
                finer = derivatives.each(indices)
            else:
                derivatives.steps = derivatives.steps / KINK_FINER
                finer = derivatives.elementwise(differing)
    except Exception:  # the user's forward, in float64 and moved: if it cannot run so, nothing is excused
        return None
    if finer is None:
        return None
    left, right = sides
    value = mine[indices]
    # a kink's two sides differ by a jump that stays as the step shrinks; a smooth forward's by its curvature
    # times the step (a float32 rounding at 1e-8 of a softmax's gradient is no choice at a kink)
    gap = (left - right).abs()
    kinked = (gap > bound) & ((finer[0] - finer[1]).abs() > gap / 2)
    between = (value >= torch.minimum(left, right) - bound) & (value <= torch.maximum(left, right) + bound)
    if not bool((kinked & between).all()):
        return None
    return Kinks(count, bool((derivatives.flat[differing] == 0).all()))


class _OneSided:
    """One-sided derivatives of f = Σ out·out.g (Σ out for a loss) in one tensor of a layer, in
    float64: left (f(t) − f(t − h)) / h and right (f(t + h) − f(t)) / h, each out difference taken
    before it is summed (no cancellation against f itself)."""

    def __init__(self, network: Network, spec: LayerSpec, tensors, position: int, upstream, targ):
        self.network, self.spec, self.position = network, spec, position
        self.kind, self.classes = KINDS[spec.kind], network.isolated_classes()
        self.base = [t.detach().to(torch.float64).clone() for t in tensors]
        self.g = None if upstream is None else upstream.detach().to(torch.float64)
        self.targ = targ.detach().to(torch.float64) if targ.is_floating_point() else targ.detach()
        self.flat = self.base[position].reshape(-1)
        self.steps = 1e-6 * self.flat.abs().clamp_min(1.0)
        self.out = self._run(self.base)

    def _run(self, tensors) -> torch.Tensor:
        tensors = [t.clone() for t in tensors]  # a forward may work in place
        layer = self.network.layer(self.spec, dict(zip(self.spec.params, tensors[1:])), self.classes)
        return layer(*self.kind.args(tensors[0], self.targ)).detach().to(torch.float64)

    def change(self, step: torch.Tensor) -> torch.Tensor:
        """out(t + step) − out(t), `step` flat over the differentiated tensor."""
        moved = [t + step.reshape(t.shape) if i == self.position else t for i, t in enumerate(self.base)]
        return self._run(moved) - self.out

    def weighted(self, change: torch.Tensor) -> torch.Tensor:
        return change if self.g is None else change * self.g

    def elementwise(self, mask: torch.Tensor):
        """(left, right) at every masked element at once, when the layer is elementwise in this tensor
        there: moving those elements changes the output at them and nowhere else, each by its own
        slope (the same slope for two different sizes of move; a max of two moved elements fails
        that); None otherwise."""
        draw = torch.Generator().manual_seed(0)
        sides = []
        for sign in (1, -1):
            slopes = []
            for _ in range(2):
                step = torch.where(mask, sign * self.steps * (0.5 + torch.rand(mask.shape, generator=draw,
                                                                                 dtype=torch.float64)), 0.0)
                change = self.change(step).reshape(-1)
                if change.numel() != mask.numel() or bool(change[~mask].any()):
                    return None
                slopes.append(change[mask] / step[mask])
            if not torch.allclose(*slopes, rtol=1e-4, atol=0.0):
                return None
            sides.append(slopes[0] if self.g is None else slopes[0] * self.g.reshape(-1)[mask])
        right, left = sides
        return left, right

    def each(self, indices: torch.Tensor):
        """(left, right) at these elements, one element moved at a time."""
        left, right = [], []
        for index in indices.tolist():
            step = torch.zeros_like(self.flat)
            step[index] = self.steps[index]
            right.append(float(self.weighted(self.change(step)).sum()) / float(self.steps[index]))
            left.append(-float(self.weighted(self.change(-step)).sum()) / float(self.steps[index]))
        return torch.tensor(left, dtype=torch.float64), torch.tensor(right, dtype=torch.float64)

    def jointly_between(self, indices: torch.Tensor, total: float, bound: float) -> bool:
        """Does the sum of the user's values at these elements lie between the one-sided derivatives
        along all of them moved together? (Two tied elements of a max may each take the gradient
        alone, not both at once.)"""
        h = float(self.steps[indices].max())
        step = torch.zeros_like(self.flat)
        step[indices] = h
        right = float(self.weighted(self.change(step)).sum()) / h
        left = -float(self.weighted(self.change(-step)).sum()) / h
        return min(left, right) - bound <= total <= max(left, right) + bound
