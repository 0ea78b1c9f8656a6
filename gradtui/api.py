"""The Python API: `gradtui.check(model, x, y)` where the code lives, in a notebook or a test, and
`gradtui.debug(model, x, y)`, the app on that model from a terminal Python session.

`model` is the lesson's `Model`: `model.layers`, called in order, and `model.loss`, called as
`loss(out, y)`; or give `layers=[...]` and `loss=...`, or a list of the layers ending in its
loss (`[Lin(w1, b1), Relu(), Lin(w2, b2), Mse()]`). A layer's kind is its class's name
(`Lin`, `Relu`, `Tanh`, `BatchNorm`, `Mse`, `CrossEntropy`); a class of another name is stepped
too (`kinds.any_layer`: its forward compared with nothing, its backward against autograd). A
layer's parameters are its tensor attributes, in the order it set them. The check runs on
copies: the caller's tensors, their `.g` and the layer objects are left as they were.

`layers="lesson.ipynb"` (or a .py file) is `gradtui check --layers lesson.ipynb`, with every
option of the CLI, on the caller's x and y when given; no model and no file is the lesson's
network on synthetic data, as `gradtui check` alone.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, replace
from pathlib import Path

from gradtui.config import InputError, RunConfig
from gradtui.report import check_json, error_text, verdict

# A model's run takes its data's size and its own layers: of the CLI's options, these.
MODEL_OPTIONS = ("isolate", "strict_forward", "rtol", "atol", "step_timeout", "replay", "dtype", "device")


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

    @property
    def warnings(self) -> tuple[str, ...]:
        """What `gradtui check` says before its tables: the data's warnings, and what the network
        does not do as asked (a layer stepped as one of its own, a notebook cell that failed)."""
        return (*self.session.data.warnings, *self.session.network.notes)

    def to_json(self) -> dict:
        return check_json(self.session, self.replay)

    def verdict(self) -> str:
        """The closing lines of `gradtui check`, as text."""
        return "\n".join("".join(cell.text for cell in line) for line in verdict(self.session, self.replay))

    def __rich__(self):
        from rich.console import Group
        from rich.text import Text

        from gradtui.cli import RICH_STYLE, check_view

        said = [Text(f"warning: {warning}", style=RICH_STYLE["warning"]) for warning in self.warnings]
        return Group(*said, check_view(self.session, self.replay))

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
    from gradtui.ui.ahead import InThread
    from gradtui.ui.app import GradTUI

    config, data, network, params = _prepared(model, x, y, layers, loss, options)
    ahead = InThread(config, data, network, params)  # the caller's objects stay in this process
    GradTUI(config, ahead).run()
    ahead.wait()  # a step under way when you quit: it ends before its session is read
    session = ahead.session
    if session is None or not session.done:
        return None
    return Report(session, replay_in_float64(session) if needs_replay(session) else None)


def _prepared(model, x, y, layers, loss, options: dict):
    """What a DebugSession needs to step the caller's model, or a layer file's classes (or Model),
    as `gradtui check --layers FILE` does: (config, data, network, params); None where the session
    makes its own."""
    if isinstance(layers, (str, os.PathLike)) and (model is not None or loss is not None):
        raise TypeError("gradtui.check: give a model (or layers=[...] and loss=...) or a layer file, not both")
    if model is None and loss is None and (layers is None or isinstance(layers, (str, os.PathLike))):
        return _prepared_file(layers, x, y, options)
    import torch

    from gradtui.data import dataset
    from gradtui.model import config_for, is_loss, moved, network_of

    _refuse_unknown(options, MODEL_OPTIONS)
    if layers is None and isinstance(model, (list, tuple)):  # the layers themselves
        model, layers = None, model
    layers = list(getattr(model, "layers", None) or [] if layers is None else layers)
    loss = getattr(model, "loss", None) if loss is None else loss
    if loss is None and len(layers) > 1 and is_loss(layers[-1]):  # [Lin(...), Relu(), Lin(...), Mse()]
        layers, loss = layers[:-1], layers[-1]
    if not layers or loss is None:
        raise TypeError("gradtui.check: give a model with .layers and .loss, layers=[...] and loss=..., or "
                        "layers='a layer file (.py or .ipynb)'")
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("gradtui.check: x and y must be torch tensors")
    if x.dim() != 2 or not len(x):
        raise InputError(f"gradtui.check: x has shape {tuple(x.shape)}; give it as (rows, features), one row a "
                         "sample (x.flatten(1) for images)")
    if not x.is_floating_point():
        raise InputError(f"gradtui.check: x is {str(x.dtype).removeprefix('torch.')}; give it as floats (x.float())")
    try:
        network, params = network_of(layers, loss, "your model", None, x.shape[1])
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"gradtui.check: {exc}") from None
    given = {"device": str(x.device), "dtype": str(x.dtype).removeprefix("torch.")} | options
    config = config_for(RunConfig(batch=len(x), **given), network)
    device = config.resolve_device()
    return (config, dataset(x, y, config, device, "your data", "gradtui.check: y"), network,
            moved(params, device, config.torch_dtype))


def _prepared_file(layers, x, y, options: dict):
    """`gradtui check [--layers FILE] [OPTIONS]` as a call: every option of the CLI, the caller's x
    and y (when given) in place of the synthetic data."""
    import torch

    from gradtui.data import dataset

    _refuse_unknown(options, tuple(name for name in RunConfig.__dataclass_fields__ if name != "layers"))
    path = None if layers is None else Path(layers)
    if path is not None and not path.is_file():
        raise InputError(f"--layers {path}: no such file")
    config = RunConfig(layers=path, **options)
    if x is None and y is None:
        return config, None, None, None
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("gradtui.check: x and y must be torch tensors (or neither, for the synthetic data)")
    config = replace(config, batch=len(x))
    return config, dataset(x, y, config, config.resolve_device(), "your data", "gradtui.check: y"), None, None


def _refuse_unknown(options: dict, known: tuple[str, ...]) -> None:
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(f"gradtui.check: no option {', '.join(unknown)}; choose from {', '.join(known)}")
