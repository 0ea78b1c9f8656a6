"""DebugSession: the steps of one forward and backward pass, a cursor, and a report per step.

The session owns every tensor. A forward step runs one layer and compares its output with
the reference layer's on the same input; a backward step clears the `.g` it should set,
runs the layer's backward, and compares each `.g` with autograd's.
"""

from __future__ import annotations

import inspect
import threading
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from gradtui.config import RunConfig
from gradtui.data import Dataset, load_data
from gradtui.model import LayerSpec, build_network, init_params, reference_classes
from gradtui.reference import Reference, autograd_reference, reference_output
from gradtui.stats import Comparison, HintContext, compare

_ABSENT = object()  # a tensor without a .g attribute


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

    @property
    def reads(self) -> str:
        """The tensor this step works from: its input forward, its output's .g backward."""
        return self.spec.inp if self.direction == "forward" else f"{self.spec.out}.g"


@dataclass(frozen=True)
class StepError:
    type: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f" ({self.file}:{self.line})" if self.file else ""
        return f"{self.type}: {self.message}{where}"


@dataclass(frozen=True)
class StepReport:
    step: Step
    tensors: tuple[Comparison, ...] = ()
    error: StepError | None = None
    fed: tuple[str, ...] = ()  # gradients from above taken from autograd (--isolate, or missing)

    @property
    def ok(self) -> bool:
        return self.error is None and all(t.match for t in self.tensors)

    @property
    def first_mismatch(self) -> Comparison | None:
        return next((t for t in self.tensors if not t.match), None)


@dataclass(frozen=True)
class Location:
    """Where something first happened: a step, its layer, and the tensor (None: the step raised)."""

    index: int
    layer: str
    tensor: str | None


class StepTimeout(Exception):
    """The user's code ran past --step-timeout."""


def build_steps(specs: tuple[LayerSpec, ...]) -> tuple[Step, ...]:
    forward = [("forward", spec, i) for i, spec in enumerate(specs)]
    backward = [("backward", spec, i) for i, spec in reversed(list(enumerate(specs)))]
    return tuple(Step(index, direction, spec, position)
                 for index, (direction, spec, position) in enumerate(forward + backward))


class DebugSession:
    def __init__(self, config: RunConfig, data: Dataset | None = None):
        """`data` replaces what config.data / the synthetic default would load (tensors of any width)."""
        self.config = config
        self.device = config.resolve_device()
        self.data = data if data is not None else load_data(config, self.device)
        self.network = build_network(config, self.data.x.shape[1])
        self.params = init_params(config, self.data.x.shape[1], self.device)
        self.steps = build_steps(self.network.specs)
        self.tolerance = config.tolerances
        self._reference: Reference | None = None
        self.reset()

    # -- state ------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to step 0 with the same data and weights, fresh layer objects, no .g anywhere."""
        self.layers = self.network.build(self.params)
        self.values: dict[str, torch.Tensor] = {"x": self.data.x, **self.params}
        self.expected: dict[str, torch.Tensor] = {}  # the reference forward's output, by activation
        for tensor in self.values.values():
            tensor.__dict__.pop("g", None)
        self.reports: list[StepReport] = []
        self._undo: list[list] = []  # per step: (tensor, name, .g before) to put back; tensor None: drop name
        self._timed_out: int | None = None  # a step whose code may still be running, abandoned

    @property
    def cursor(self) -> int:
        """How many steps have run; the next step to run is steps[cursor]."""
        return len(self.reports)

    @property
    def done(self) -> bool:
        return self.cursor == len(self.steps)

    @property
    def loss(self) -> float | None:
        loss = self.values.get("loss")
        return float(loss) if isinstance(loss, torch.Tensor) and loss.numel() == 1 else None

    @property
    def reference(self) -> Reference:
        """Autograd's gradients, computed once on first need (the first backward step, or
        prepare_reference()) and kept across resets."""
        if self._reference is None:
            self._reference = autograd_reference(self.network, self.params, self.data.x, self.data.y)
        return self._reference

    def prepare_reference(self) -> None:
        """Run autograd's pass now, so that no backward step waits for it (the app does this while loading)."""
        _ = self.reference

    @property
    def first_mismatch(self) -> Location | None:
        for report in self.reports:
            if not report.ok:
                bad = report.first_mismatch
                return Location(report.step.index, report.step.layer, bad.name if bad and not report.error else None)
        return None

    @property
    def first_nonfinite(self) -> Location | None:
        """The first tensor of the pass that holds a NaN or an Inf: where bad numbers are born."""
        for report in self.reports:
            for tensor in report.tensors:
                if tensor.stats is not None and not tensor.stats.finite:
                    return Location(report.step.index, report.step.layer, tensor.name)
        return None

    # -- moving -----------------------------------------------------------------------

    def step(self) -> StepReport:
        if self.done:
            raise IndexError("the session is at its last step; reset() to start again")
        step = self.steps[self.cursor]
        run = self._forward if step.direction == "forward" else self._backward
        report, undo = run(step)
        self.reports.append(report)
        self._undo.append(undo)
        return report

    def back(self) -> None:
        """Undo the last step: its tensors and .g go back to exactly what they were before it."""
        if not self.reports:
            raise IndexError("the session is at step 0; nothing to undo")
        self.reports.pop()
        for tensor, name, prior in self._undo.pop():
            if tensor is None:
                self.values.pop(name, None)
                self.expected.pop(name, None)
            elif prior is _ABSENT:
                tensor.__dict__.pop("g", None)
            else:
                tensor.g = prior

    def run_to_end(self) -> list[StepReport]:
        return [self.step() for _ in range(self.cursor, len(self.steps))]

    def run_to_mismatch(self) -> StepReport | None:
        """Step until a step mismatches or raises; that report, or None at the end."""
        while not self.done:
            report = self.step()
            if not report.ok:
                return report
        return None

    # -- the steps --------------------------------------------------------------------

    def _call_user_code(self, function):
        """The user's forward or backward; with --step-timeout, in a thread abandoned if it overruns
        (Python cannot stop a thread: it runs on in the background, and no later step runs)."""
        if self.config.step_timeout is None:
            return function()
        outcome = {}

        def run():
            try:
                outcome["value"] = function()
            except BaseException as exc:  # handed to the session's thread below
                outcome["error"] = exc

        thread = threading.Thread(target=run, daemon=True, name="gradtui-step")
        thread.start()
        thread.join(self.config.step_timeout)
        if thread.is_alive():
            raise StepTimeout(f"did not finish within {self.config.step_timeout:g} s (--step-timeout)")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    def _user_error(self, exc: BaseException, step: Step, layer) -> StepError:
        if isinstance(exc, StepTimeout):
            self._timed_out = step.index
            return StepError("Timeout", str(exc), *_source_location(type(layer), step.direction))
        return _step_error(exc, layer)

    def _forward(self, step: Step) -> tuple[StepReport, list]:
        spec, layer = step.spec, self.layers[step.position]
        if spec.inp not in self.values or self._timed_out is not None:
            return self._not_run(step, spec.inp), []
        args = (self.values[spec.inp], self.data.y) if spec.kind == "mse" else (self.values[spec.inp],)
        try:
            out = self._call_user_code(lambda: layer(*args))
        except Exception as exc:
            return StepReport(step, error=self._user_error(exc, step, layer)), []
        if not isinstance(out, torch.Tensor):
            error = StepError("TypeError", f"{type(layer).__name__} returned a {type(out).__name__}, not a tensor",
                              *_source_location(type(layer), "forward"))
            return StepReport(step, error=error), []
        self.values[spec.out] = out
        # The reference class on the same input computes the same output: no need to run it twice.
        is_reference = type(layer) in reference_classes().values()
        expected = out if is_reference else reference_output(spec, self.values, self.data.y)
        self.expected[spec.out] = expected
        bias = self.values[spec.params[-1]] if spec.params else None
        context = HintContext(spec.kind, "forward", len(self.data.x), {"inp": args[0], "targ": self.data.y, "b": bias})
        comparison = compare(spec.out, out, expected, self.tolerance, context)
        return StepReport(step, (comparison,)), [(None, spec.out, None)]

    def _backward(self, step: Step) -> tuple[StepReport, list]:
        spec, layer = step.spec, self.layers[step.position]
        if spec.out not in self.values or self._timed_out is not None:
            return self._not_run(step, spec.out), []
        reference = self.reference
        out = self.values[spec.out]
        restore, fed = [], ()
        upstream = None
        if spec.kind != "mse":  # the loss has no .g: Mse.backward starts the chain
            has_own = isinstance(getattr(out, "g", None), torch.Tensor)
            ref_upstream = reference.grads.get(spec.out)
            if (self.config.isolate or not has_own) and ref_upstream is not None:
                restore.append((out, spec.out, out.__dict__.get("g", _ABSENT)))
                out.g = ref_upstream.clone()
                fed = (f"{spec.out}.g",)
            upstream = getattr(out, "g", None)
            if not isinstance(upstream, torch.Tensor):
                return self._not_run(step, f"{spec.out}.g"), restore
        targets = [self.values[name] for name in spec.grads]
        for name, tensor in zip(spec.grads, targets):
            restore.append((tensor, name, tensor.__dict__.pop("g", _ABSENT)))
        error = None
        try:
            self._call_user_code(layer.backward)
        except Exception as exc:
            error = self._user_error(exc, step, layer)
        inherited = None if fed or spec.kind == "mse" else self._inherited_mismatch(f"{spec.out}.g")
        context = HintContext(spec.kind, "backward", len(self.data.x),
                              {"inp": self.values[spec.inp], "out_g": upstream, "targ": self.data.y})
        comparisons = []
        for name, tensor in zip(spec.grads, targets):
            if error is not None and "g" not in tensor.__dict__:
                continue  # the step raised before it got here: the error says why
            expected = reference.grads.get(name)
            comparison = compare(f"{name}.g", tensor.__dict__.get("g"), expected, self.tolerance, context,
                                 reference.stats.get(name))
            if expected is None and reference.error:
                comparison = replace(comparison, hint=reference.error)
            elif inherited and not comparison.match and comparison.diff is not None:
                comparison = replace(comparison, hint=inherited)
            comparisons.append(comparison)
        return StepReport(step, tuple(comparisons), error, fed), restore

    def _inherited_mismatch(self, upstream: str) -> str | None:
        """A hint for gradients computed from an upstream .g that was already wrong."""
        for report in self.reports:
            if any(t.name == upstream and not t.match for t in report.tensors):
                return (f"computed from {upstream}, which already differs from autograd's (step {report.step.index}); "
                        "fix that step first, or run with --isolate to judge this layer alone")
        return None

    def _not_run(self, step: Step, missing: str) -> StepReport:
        if self._timed_out is not None:
            message = f"step {self._timed_out} timed out and may still be running; nothing runs after it"
        else:
            blocker = next((r.step for r in self.reports if r.error), None)
            why = f"step {blocker.index} ({blocker.layer}) failed" if blocker else "an earlier step did not run"
            message = f"needs {missing}, which does not exist: {why}"
        return StepReport(step, error=StepError("NotRun", message))

    # -- for the faces ----------------------------------------------------------------

    def tensor(self, name: str) -> torch.Tensor | None:
        """A tensor by its step name: "l1", "w2", or a gradient such as "w2.g"."""
        base, _, grad = name.partition(".")
        tensor = self.values.get(base)
        if grad:
            value = tensor.__dict__.get("g") if isinstance(tensor, torch.Tensor) else None
            return value if isinstance(value, torch.Tensor) else None
        return tensor

    def reference_tensor(self, name: str) -> torch.Tensor | None:
        """Autograd's value for a gradient name ("w2.g"); the reference forward's for an activation."""
        base, _, grad = name.partition(".")
        return self.reference.grads.get(base) if grad else self.expected.get(base)

    def source(self, step: Step) -> tuple[str, int, str]:
        """(file, first line, code) of the method that runs for this step, from the class actually used."""
        cls = self.network.class_for(step.spec)
        method = _method_for(cls, step.direction)
        lines, first = inspect.getsourcelines(method)
        return inspect.getsourcefile(method) or "?", first, "".join(lines)


def _method_for(cls: type, direction: str):
    """forward/bwd for a Module subclass (version 4), else __call__/backward (version 3)."""
    names = ("forward", "__call__") if direction == "forward" else ("bwd", "backward")
    for klass in cls.__mro__:
        for name in names:
            if name in klass.__dict__:
                return klass.__dict__[name]
    return getattr(cls, names[-1])


def _source_location(cls: type, direction: str) -> tuple[str | None, int | None]:
    """Where the method that runs for a step in this direction starts (the user's forward/bwd)."""
    try:
        method = _method_for(cls, direction)
        return inspect.getsourcefile(method), inspect.getsourcelines(method)[1]
    except (TypeError, OSError):
        return None, None


def _step_error(exc: BaseException, layer) -> StepError:
    """The exception, located at the deepest line of the layer's own code (the user's, usually)."""
    files = {str(Path(function.__code__.co_filename).resolve())
             for klass in type(layer).__mro__ for function in vars(klass).values() if inspect.isfunction(function)}
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [frame for frame in frames if str(Path(frame.filename).resolve()) in files]
    frame = (ours or frames or [None])[-1]
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
    return StepError(type(exc).__name__, message, frame.filename if frame else None, frame.lineno if frame else None)
