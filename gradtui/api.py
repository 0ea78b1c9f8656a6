"""The Python API: `gradtui.check(model, x, y)` where the code lives, in a notebook or a test, and
`gradtui.debug(model, x, y)`, the app on that model from a terminal Python session.

`model` is the lesson's `Model`: `model.layers`, called in order, and `model.loss`, called as
`loss(out, y)`; or give `layers=[...]` and `loss=...`. A layer's kind is its class's name
(`Lin`, `Relu`, `Tanh`, `BatchNorm`, `Mse`, `CrossEntropy`); a class of another name is stepped
too (`kinds.any_layer`: its forward compared with nothing, its backward against autograd). A
layer's parameters are its tensor attributes, in the order it set them. The check runs on
copies: the caller's tensors, their `.g` and the layer objects are left as they were.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from gradtui.config import RunConfig
from gradtui.kinds import KINDS, Kind, any_layer
from gradtui.report import check_json, error_text, verdict
from gradtui.steps import check_kinds, layer_specs

# A class name, lower case, as the kind it is: the reference class's name, the title, the kind, and
# the names torch gives them.
KIND_OF_CLASS = {alias.lower(): kind for kind in KINDS.values() if kind.reference
                 for alias in (kind.reference, kind.title, kind.name)}
KIND_OF_CLASS |= {alias: KINDS[name] for alias, name in (
    ("linear", "lin"), ("batchnorm1d", "batchnorm"), ("mseloss", "mse"), ("crossentropyloss", "cross_entropy"))}
OPTIONS = ("isolate", "strict_forward", "rtol", "atol", "step_timeout", "replay")


@dataclass(frozen=True)
class Finding:
    """Where something first happened, and what gradtui says of it."""

    index: int
    layer: str
    tensor: str | None  # None: the step raised
    hint: str | None  # the tensor's hint, or the step's error
    seen_in: str | None = None  # "float64": a mismatch only the float64 replay saw


class Report:
    """What `gradtui check` says, as an object: `.ok`, the first mismatch, deviation and NaN,
    `.steps`, `.to_json()` (exactly `check --json`'s document); it renders as check's tables in
    a terminal (Rich) and in Jupyter (HTML, no ANSI codes)."""

    def __init__(self, session, replay=None):
        self.session, self.replay = session, replay

    @property
    def steps(self) -> list:
        return list(self.session.reports)

    @property
    def ok(self) -> bool:
        return self.first_mismatch is None

    @property
    def first_mismatch(self) -> Finding | None:
        location = self.session.first_mismatch
        if location is not None:
            return self._finding(self.session, location)
        if self.replay is not None and self.replay.mismatch is not None:
            return self._finding(self.replay.session, self.replay.mismatch, "float64")
        return None

    @property
    def first_deviation(self) -> Finding | None:
        location = self.session.first_deviation
        return None if location is None else self._finding(self.session, location)

    @property
    def first_nonfinite(self) -> Finding | None:
        location = self.session.first_nonfinite
        return None if location is None else self._finding(self.session, location)

    @staticmethod
    def _finding(session, location, seen_in: str | None = None) -> Finding:
        report = session.reports[location.index]
        if location.tensor is None:
            said = error_text(report.error) if report.error else None
        else:
            said = next((t.hint for t in report.tensors if t.name == location.tensor), None)
        return Finding(location.index, location.layer, location.tensor, said, seen_in)

    def to_json(self) -> dict:
        return check_json(self.session, self.replay)

    def verdict(self) -> str:
        """The closing lines of `gradtui check`, as text."""
        return "\n".join("".join(cell.text for cell in line) for line in verdict(self.session, self.replay))

    def __rich__(self):
        from gradtui.cli import check_view

        return check_view(self.session, self.replay)

    def _repr_html_(self) -> str:
        from rich.console import Console

        console = Console(record=True, file=io.StringIO(), width=120, force_jupyter=False)
        console.print(self)
        return console.export_html(inline_styles=True)

    def __repr__(self) -> str:
        return f"<gradtui.Report {'ok' if self.ok else 'mismatch'}: {self.verdict()}>"


def check(model=None, x=None, y=None, *, layers=None, loss=None, **options) -> Report:
    """Step the model's forward and backward, compare every tensor with the reference layers and
    autograd, and say what `gradtui check` says. Options are the CLI's (`isolate`, `strict_forward`,
    `rtol`, `atol`, `step_timeout`, `replay`), with its defaults and its one-line errors."""
    from gradtui.replay import needs_replay, replay_in_float64
    from gradtui.session import DebugSession

    config, data, network, params = _prepared(model, x, y, layers, loss, options)
    session = DebugSession(config, data, network, params=params)
    session.run_to_end()
    return Report(session, replay_in_float64(session) if needs_replay(session) else None)


def debug(model=None, x=None, y=None, *, layers=None, loss=None, **options) -> Report | None:
    """The debugger (the Textual app) on the model, from a terminal Python session; the report of
    its pass when you quit (None if you quit before it was computed)."""
    from gradtui.replay import needs_replay, replay_in_float64
    from gradtui.ui.app import GradTUI

    config, data, network, params = _prepared(model, x, y, layers, loss, options)
    app = GradTUI(config, data, network=network, params=params)
    app.run()
    session = app.session
    if session is None or not session.done:
        return None
    return Report(session, replay_in_float64(session) if needs_replay(session) else None)


def _prepared(model, x, y, layers, loss, options: dict):
    """What a DebugSession needs to step the caller's model: (config, data, network, params)."""
    import torch

    from gradtui.data import Dataset
    from gradtui.model import Network, reference_classes

    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"gradtui.check: no option {', '.join(unknown)}; choose from {', '.join(OPTIONS)}")
    layers = list(model.layers if layers is None and model is not None else layers or [])
    loss = model.loss if loss is None and model is not None else loss
    if not layers or loss is None:
        raise TypeError("gradtui.check: give a model with .layers and .loss, or layers=[...] and loss=...")
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("gradtui.check: x and y must be torch tensors")
    kinds = [_kind(layer) for layer in [*layers, loss]]
    problem = check_kinds(tuple(kind.name for kind in kinds))
    if problem:
        raise ValueError(f"gradtui.check: the model's layers are no network gradtui can step: {problem}")
    specs = layer_specs(tuple(kind.name for kind in kinds))
    yours, params, widths, prototypes, attributes = {}, {}, [], {}, {}
    for spec, kind, layer in zip(specs, kinds, [*layers, loss]):
        if yours.setdefault(kind.class_key, type(layer)) is not type(layer):
            raise TypeError(f"gradtui.check: two classes of one kind ({kind.title}): {yours[kind.class_key].__name__} "
                            f"and {type(layer).__name__}")
        tensors = _tensor_attributes(layer)
        if kind.changes_width:  # a Lin's weight is its matrix, whatever order it set them in
            tensors = dict(sorted(tensors.items(), key=lambda item: -item[1].dim()))
        if len(tensors) != len(kind.params):
            raise TypeError(f"gradtui.check: {spec.name} ({type(layer).__name__}) holds {len(tensors)} tensor(s); "
                            f"a {kind.title} takes {len(kind.params)} ({', '.join(kind.params) or 'none'})")
        params.update(zip(spec.params, tensors.values()))
        prototypes[spec.name], attributes[spec.name] = layer, tuple(tensors)
        if kind.changes_width:
            widths.append(next(iter(tensors.values())).shape[1])
    config = RunConfig(device=str(x.device), dtype=str(x.dtype).removeprefix("torch."), batch=len(x),
                       net=tuple(kind.name for kind in kinds), hidden=tuple(widths[:-1]),
                       classes=max(2, widths[-1]), **options)
    network = Network(specs, {**reference_classes(), **yours}, "your model", (x.shape[1], *widths), None,
                      prototypes=prototypes, attributes=attributes)
    targets = y.long() if kinds[-1].name == "cross_entropy" else y
    return config, Dataset(x, targets, "your data"), network, params


def _tensor_attributes(layer) -> dict:
    """The layer's parameters: its tensor attributes, in the order it set them."""
    import torch

    return {name: value for name, value in vars(layer).items() if isinstance(value, torch.Tensor)}


def _kind(layer) -> Kind:
    """A known kind by the class's name; any other class is a kind of its own (kinds.any_layer),
    its parameters its tensor attributes."""
    kind = KIND_OF_CLASS.get(type(layer).__name__.lower())
    if kind is not None:
        return kind
    return any_layer(type(layer), tuple(_tensor_attributes(layer)))
