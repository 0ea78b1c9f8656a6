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
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from gradtui.config import InputError, RunConfig, parse_hidden, parse_net
from gradtui.report import check_json, check_renderable, error_text, verdict
from gradtui.running import source_location

# A model's run takes its data's size and its own layers: of the CLI's options, these.
MODEL_OPTIONS = ("isolate", "strict_forward", "rtol", "atol", "step_timeout", "replay", "dtype", "device")


@dataclass(frozen=True)
class Finding:
    """Where something first happened, what gradtui says of it, and the user's code that did it."""

    index: int
    layer: str
    tensor: str | None  # None: the step raised
    hint: str | None  # the tensor's hint, or the step's error
    seen_in: str | None = None  # "float64": a mismatch only the float64 replay saw
    file: str | None = None  # the method that ran for the step (for an error: the line that raised)
    line: int | None = None


class Report:
    """What `gradtui check` says, as an object: `ok`, `verdict`, the first mismatch, deviation and
    NaN, `steps`; `to_dict()` and `to_json()` are `check --json`'s document; `str(report)` is the
    check's text, and it renders as check's tables in a terminal (Rich) and in Jupyter (an HTML
    fragment that styles only itself)."""

    def __init__(self, session, replay=None, digest: str | None = None, fix=None):
        self.session, self.replay, self.digest = session, replay, digest  # the layer file's, when the check ran
        if fix is not None:  # found already (the one edit that names a slip and mends every gradient)
            self._fix = fix

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
            error = report.error
            return Finding(location.index, location.layer, None, error_text(error) if error else None, seen_in,
                           error.file if error else None, error.line if error else None)
        said = next((t.hint for t in report.tensors if t.name == location.tensor), None)
        file, line = source_location(session.network.class_for(report.step.spec), report.step.direction)
        return Finding(location.index, location.layer, location.tensor, said, seen_in, file, line)

    @property
    def fix(self):
        """The verified edit of the layer file that takes the check past its first mismatch (a series
        of edits when fixing one slip uncovers the next): a `gradtui.fixing.Fix`, whose str() is the
        unified diff, with `.verified`, `.edits`, `.passes`, `.verdict`. None when the check passed,
        ran on the caller's objects rather than a layer file, or no edit was verified. Computed on
        first use (it runs the check once per edit tried)."""
        if not hasattr(self, "_fix"):
            from gradtui.fixing import fix_for

            self._fix = None if self.ok else fix_for(self.session, self.replay, self.digest)
        return self._fix

    def apply_fix(self) -> Path:
        """Write `fix` into the layer file; ValueError when there is none, gradtui.fixing.FixError when
        the file changed since the check."""
        fix = self.fix
        if fix is None:
            raise ValueError("no verified fix to apply" + ("" if self.session.config.layers else
                                                            ": a fix is an edit of a layer file (layers='mine.py')"))
        return fix.write(self.session.config.layers)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What `gradtui check` says before its tables: the data's warnings, and what the network
        does not do as asked (a layer stepped as one of its own, a notebook cell that failed)."""
        return (*self.session.data.warnings, *self.session.network.notes)

    @property
    def verdict(self) -> str:
        """The closing lines of `gradtui check`, as text."""
        return "\n".join("".join(cell.text for cell in line) for line in verdict(self.session, self.replay))

    def to_dict(self) -> dict:
        """`gradtui check --json`'s document."""
        return check_json(self.session, self.replay)

    def to_json(self, indent: int | None = 2) -> str:
        """`gradtui check --json`'s output, as a string."""
        return json.dumps(self.to_dict(), indent=indent)

    def __rich__(self):
        return check_renderable(self.session, self.replay, self.warnings)

    def _console(self):
        from rich.console import Console

        # soft_wrap: a long header or hint stays one line (a reader scrolls; nothing breaks mid-word)
        return Console(record=True, file=io.StringIO(), width=120, soft_wrap=True, force_terminal=False,
                       force_jupyter=False, highlight=False)

    def __str__(self) -> str:
        console = self._console()
        console.print(self)
        return console.export_text().rstrip("\n")

    def _repr_html_(self) -> str:
        console = self._console()
        console.print(self)
        return console.export_html(inline_styles=True, code_format=HTML_FRAGMENT)

    def __repr__(self) -> str:
        mismatch = self.first_mismatch
        if mismatch is None:
            return f"<gradtui.Report ok: {len(self.session.reports)} steps match>"
        where = f"{mismatch.layer}, {mismatch.tensor}" if mismatch.tensor else f"{mismatch.layer} raised"
        seen = ", seen in float64 only" if mismatch.seen_in else ""
        return f"<gradtui.Report mismatch at step {mismatch.index} ({where}){seen}>"


# The report in a notebook: a <pre> styled by itself (inline styles), nothing for the page around it.
HTML_FRAGMENT = ('<pre class="gradtui-report" style="font-family: Menlo, \'DejaVu Sans Mono\', Consolas, monospace; '
                 'line-height: 1.35; white-space: pre; overflow-x: auto; margin: 0">{code}</pre>')


def check(model=None, x=None, y=None, *, layers=None, loss=None, **options) -> Report:
    """Step the model's forward and backward, compare every tensor with the reference layers and
    autograd, and say what `gradtui check` says. Options are the CLI's, in Python's types (`net="lin,
    relu,lin,mse"` or a sequence, `hidden=64` or a sequence, `rtol=1e-3`), with its defaults; a bad
    value is a ValueError that names it as you wrote it (`rtol=-1: …`)."""
    from gradtui.fixing import digest_of, named_by_an_edit
    from gradtui.replay import needs_replay, replay_in_float64
    from gradtui.session import DebugSession

    with _said_in_python(options | {"layers": layers}):
        config, data, network, params = _prepared(model, x, y, layers, loss, _typed(options))
        digest = digest_of(config.layers)
        session = DebugSession(config, data, network, params=params)
    session.run_to_end()
    replay = replay_in_float64(session) if needs_replay(session) else None
    named = named_by_an_edit(session, replay, digest)  # a slip no search names: the one edit of its line that mends it
    # (an edit after which every gradient matches is the fix itself: `Report.fix` does not search for it again; on
    # the caller's objects it is said in the hint, and there is no layer file for `fix` to write)
    found = named if named is not None and named.passes and config.layers is not None else None
    return Report(session, replay, digest, found)


def debug(model=None, x=None, y=None, *, layers=None, loss=None, **options) -> Report | None:
    """The debugger (the Textual app) on the model, from a terminal Python session; the report of
    its pass when you quit (None if you quit before it was computed)."""
    from gradtui.replay import needs_replay, replay_in_float64
    from gradtui.ui.ahead import InThread
    from gradtui.ui.app import GradTUI
    from gradtui.ui.fix_process import fix_in_subprocess

    with _said_in_python(options | {"layers": layers}):
        config, data, network, params = _prepared(model, x, y, layers, loss, _typed(options))
    ahead = InThread(config, data, network, params)  # the caller's objects stay in this process
    fixer = {} if data is None else {"fixer": partial(fix_in_subprocess, data=data)}  # a fix is run on the same x, y
    GradTUI(config, ahead, **fixer).run()
    ahead.wait()  # a step under way when you quit: it ends before its session is read
    session = ahead.session
    if session is None or not session.done:
        return None
    return Report(session, replay_in_float64(session) if needs_replay(session) else None)


# -- options, in Python's types and names -----------------------------------------------------

FLOAT_OPTIONS = ("rtol", "atol", "step_timeout", "min_time")
INT_OPTIONS = ("batch", "seed", "classes")
FLAG_OPTIONS = ("isolate", "strict_forward", "replay", "normalize")
CLI_SPELLING = re.compile(r"^--(?P<name>[a-z][a-z0-9-]*) (?P<value>.+?): ")


class _said_in_python:
    """An input error raised inside says the option as the caller wrote it (`rtol=-1: …`), not as the
    command line spells it (`--rtol -1: …`)."""

    def __init__(self, given: dict):
        self.given = given

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, InputError):
            raise InputError(in_python_names(str(error), self.given)) from None
        return False


def in_python_names(message: str, given: dict) -> str:
    """`--rtol -1: …` -> `rtol=-1: …` with the value as the caller wrote it (`given`); a file the
    session was told of as `--layers a.py: …` -> `layers='a.py': …`."""
    said = CLI_SPELLING.match(message)
    if said is None:
        return message
    name = said["name"].replace("-", "_")
    value = repr(os.fspath(given[name]) if isinstance(given.get(name), os.PathLike) else given[name]) if name in given \
        else said["value"]
    if name not in given and not re.fullmatch(r"'.*'|-?[\d.e+-]+", value):
        value = repr(value)
    return f"{name}={value}: {message[said.end():]}"


def _typed(options: dict) -> dict:
    """The options in RunConfig's types, from what a Python caller writes."""
    return {name: _option(name, value) for name, value in options.items()}


def _option(name: str, value):
    def refuse(why: str):
        raise InputError(f"{name}={value!r}: {why}")

    if value is None:
        return None
    if name == "net":
        return parse_net(value if isinstance(value, str) else ",".join(_sequence(value, str, refuse, "layer kinds")))
    if name in ("hidden", "versions"):
        if isinstance(value, str):
            return parse_hidden(value) if name == "hidden" else tuple(int(part) for part in value.split(","))
        return _sequence([value] if isinstance(value, int) else value, int, refuse, "whole numbers")
    if name in FLOAT_OPTIONS:
        if isinstance(value, bool):
            refuse("not a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            refuse("not a number")
    if name in INT_OPTIONS:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            refuse("not a whole number")
        try:
            return int(value)
        except (TypeError, ValueError):
            refuse("not a whole number")
    if name in FLAG_OPTIONS:
        if value not in (True, False):
            refuse("True or False")
        return bool(value)
    if name in ("dtype", "device"):
        return str(value).removeprefix("torch.")  # torch.float64, torch.device("cpu") as the CLI's words
    if name in ("data", "layers"):
        return Path(value) if isinstance(value, (str, os.PathLike)) else refuse("a path")
    return value


def _sequence(value, kind: type, refuse, what: str) -> tuple:
    if not isinstance(value, Iterable) or isinstance(value, (str, bytes)):
        refuse(f"a sequence of {what}, or a string with commas")
    items = tuple(value)
    if not all(isinstance(item, kind) and not isinstance(item, bool) for item in items):
        refuse(f"a sequence of {what}")
    return items


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

    _refuse_unknown(options, MODEL_OPTIONS, " for a model (its layers and x make the network and its sizes)")
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
    if x.dim() < (2 if x.is_floating_point() else 1) or not len(x):
        raise InputError(f"gradtui.check: x has shape {tuple(x.shape)}; give it as a batch, one row a sample: (rows, "
                         "features), (rows, sequence, features), or integer ids (rows,) or (rows, sequence)")
    if x.is_complex() or x.dtype == torch.bool:
        raise InputError(f"gradtui.check: x is {str(x.dtype).removeprefix('torch.')}; give it as floats, or as "
                         "integer ids for a layer that looks them up")
    try:
        network, params = network_of(layers, loss, "your model", None, x.shape[-1])
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"gradtui.check: {exc}") from None
    dtype = x.dtype if x.is_floating_point() else next((t.dtype for t in params.values() if t.is_floating_point()),
                                                       torch.float32)  # integer ids: the run is in the weights' dtype
    given = {"device": str(x.device), "dtype": str(dtype).removeprefix("torch.")} | options
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


def _refuse_unknown(options: dict, known: tuple[str, ...], why: str = "") -> None:
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(f"gradtui.check: no option {', '.join(unknown)}{why}; choose from {', '.join(known)}")
