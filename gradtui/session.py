"""DebugSession: the steps of one forward and backward pass, a cursor, and a report per step.

The session owns every tensor. A forward step runs one layer and compares its output with
the reference layer's on the same input (a difference is a *deviation*, ≠); a backward step
clears the `.g` it should set, runs the layer's backward, and compares each `.g` with
autograd's through the user's own forward (a difference is a *mismatch*, ✗). The user's code
runs through gradtui.running; the verdict is gradtui.compare's; a mismatch's hint is asked of
gradtui.hints.

User code may change anything in place. It works on copies of gradtui's data and weights,
so `reset()` starts again from the same numbers; what a step changed in place (seen by the
tensor's version counter) is named in its report. The session only goes forward: a face that
shows an earlier step shows that step's report, which no later step changes.
"""

from __future__ import annotations

import inspect
import math
import re
import sys
from dataclasses import replace

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from gradtui.compare import compare, placed, tolerance_for
from gradtui.config import DEFAULT_TOLERANCES, N_FEATURES, RunConfig
from gradtui.copy_on_write import private_copy
from gradtui.data import Dataset, load_data
from gradtui.derived import GUARD_MOST, PROBE_ROWS, Probe
from gradtui.findings import Comparison, Location, StepReport, first_deviation, first_mismatch, first_nonfinite
from gradtui.formatting import number, shape_in_words
from gradtui.graph import Source, layer_source
from gradtui.hints import HintContext, explain, rounded_by_a_cast
from gradtui.model import Network, build_network, config_for, init_params, reference_classes
from gradtui.reference import (
    FD_ROWS,
    Kinks,
    Reference,
    autograd_reference,
    finite_differences,
    reference_output,
    subgradient_choice,
)
from gradtui.running import (
    StepError,
    StepTimeout,
    first_line,
    method_for,
    numbers_made_in,
    quietly,
    run_user_code,
    source_location,
    step_error,
)
from gradtui.steps import Step, build_steps

# torch's words for operands whose shapes do not fit (matmul, broadcasting, view, cat, index)
SHAPE_ERROR = re.compile(r"shape|size of tensor|dimension|cannot be multiplied|out of (range|bounds)")


class DebugSession:
    def __init__(self, config: RunConfig, data: Dataset | None = None, network: Network | None = None,
                 replay: bool = False, params: dict[str, torch.Tensor] | None = None, hints: bool = True):
        """`data` replaces what config.data / the synthetic default would load (tensors of any width),
        `network` the layers config.layers would load, `params` the weights config.init would draw (the
        caller's own: never written to). `replay`: this session replays another run in float64 (see
        gradtui.replay), so a tensor that the user's code casts to a narrower dtype is judged with
        that dtype's tolerance, as is everything computed after it. `hints=False`: a mismatch is found
        and not explained, a match has no statistics (a fix's screen asks only whether a gradient matches)."""
        self.config = self.asked = config  # asked: as the caller gave them, before a Model's kinds and widths
        self.hints = hints
        self.device = config.resolve_device()
        built = network is None
        if built and data is None and config.data is None:  # the synthetic rows' width is known before they are
            network = build_network(config, N_FEATURES, self.device)  # drawn: a broken layer file is said at once
        self.data = data if data is not None else load_data(config, self.device)
        if network is None:
            network = build_network(config, self.data.x.shape[-1], self.device)
        if built and network.params is not None:  # a layer file's Model: its layers and tensors make the run
            self.config = config = config_for(config, network)
            params = network.params
        self.network = network
        if not self.data.x.is_floating_point() and network.specs[0].entry.reference is not None:
            # integer data for a layer that computes with it (pixel counts for a Lin): numbers, not ids
            self.data = replace(self.data, x=self.data.x.to(config.torch_dtype))
        self.replay = replay
        # never handed to user code: it gets copies
        self.params = ({name: t.detach() for name, t in params.items()} if params is not None
                       else init_params(config, self.data.x.shape[1], self.device))
        self.steps = build_steps(self.network.specs)
        self.tolerance = config.tolerances
        self._reference: Reference | None = None
        self._autograds: Reference | None = None  # autograd's own, before any choice at a kink was taken
        self._given: dict[str, torch.Tensor] = {}  # activation -> the user's subgradient at its kinks, carried down
        self._copies: dict[str, tuple] = {}  # name -> (working copy, (its version, the original's))
        self.reset()

    # -- state ------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to step 0 with the same data and weights, fresh layer objects, no .g anywhere, and
        autograd's own gradients (the user's choices at kinks are taken again as the steps meet them)."""
        if self._given:
            self._reference, self._given = self._autograds, {}
        copies = self._working_copies()
        self.targ = copies.pop("y")
        self.values: dict[str, torch.Tensor] = copies
        self.layers = self.network.build({name: copies[name] for name in self.params})
        self.expected: dict[str, torch.Tensor] = {}  # the reference forward's output, by activation
        self.reports: list[StepReport] = []
        self._aliased: dict[str, str] = {}  # layer -> the input its forward changed in place
        self._timed_out: int | None = None  # a step whose code may still be running, abandoned
        self._loosest = self.tolerance  # the tolerance since the user's code last narrowed a dtype (_tolerance_for)
        self._narrowed: dict[str, torch.dtype] = {}  # layer -> the narrowest dtype its forward rounded into
        self.explained: list[str] = []  # differences from autograd that are no slip (a kink's choice, a guard left out)

    def _working_copies(self) -> dict[str, torch.Tensor]:
        """x, y and the weights as the user's code gets them: copies of gradtui's own, made again
        only when one side changed in place since (its version counter moved)."""
        originals = {"x": self.data.x, "y": self.data.y, **self.params}
        copies = {}
        for name, original in originals.items():
            copy, versions = self._copies.get(name, (None, None))
            if copy is None or versions != (copy._version, original._version):
                copy = private_copy(original)
            copy.__dict__.pop("g", None)
            copy.grad = None  # what the user's code set as .grad, the last run (the hints read it)
            self._copies[name] = (copy, (copy._version, original._version))
            copies[name] = copy
        return copies

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
        return float(loss.detach()) if isinstance(loss, torch.Tensor) and loss.numel() == 1 else None

    @property
    def reference(self) -> Reference:
        """Autograd's gradients, computed once on first need (the first backward step, or
        prepare_reference()) and kept across resets."""
        if self._reference is None:
            self._reference = self._autograds = quietly(lambda: autograd_reference(
                self.network, self.params, self.data.x, self.data.y, self.tolerance))
        return self._reference

    def prepare_reference(self) -> None:
        """Run autograd's pass now, before any step, instead of at the first backward step."""
        _ = self.reference

    @property
    def first_mismatch(self) -> Location | None:
        return first_mismatch(self.reports)

    @property
    def first_deviation(self) -> Location | None:
        return first_deviation(self.reports)

    @property
    def first_nonfinite(self) -> Location | None:
        return first_nonfinite(self.reports)

    # -- moving -----------------------------------------------------------------------

    def step(self) -> StepReport:
        if self.done:
            raise IndexError("the session is at its last step; reset() to start again")
        step = self.steps[self.cursor]
        report = self._forward(step) if step.direction == "forward" else self._backward(step)
        self.reports.append(report)
        return report

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

    def _tolerance_for(self, value) -> tuple[float, float]:
        """The run's tolerance, or the loosest of the dtypes a forward has computed in inside so far (after
        `_watched`); in a replay, of those the user's code has cast to, too."""
        if self.replay and isinstance(value, torch.Tensor) and value.is_floating_point():
            self._narrow_to(value.dtype)
        return self._loosest

    def _narrow_to(self, dtype: torch.dtype) -> None:
        """Judge from here on with this dtype's tolerance where it is looser."""
        name = _dtype_name(dtype)
        if name in DEFAULT_TOLERANCES:
            self._loosest = max(self._loosest, DEFAULT_TOLERANCES[name])

    def _watched(self, name: str, layer, args):
        """The layer's forward, the narrowest dtype it rounds into kept: a forward that casts to float32
        inside (Llama's RMS norm, `x.float()` … `.type_as(x)`, in a float64 run or its replay) puts float32's
        rounding into every gradient through it, autograd's too, so from its backward on the run is judged
        with float32's tolerance."""
        with _Dtypes() as seen:
            out = layer(*args)
        if seen.narrowed:
            self._narrowed[name] = min(seen.narrowed, key=lambda dtype: torch.finfo(dtype).bits)
        return out

    def _error(self, exc: BaseException, step: Step, layer, received: str) -> StepError:
        """The step's exception, located in the user's code: a reference layer that fails on what the
        user's code handed it (`received`, an activation or a gradient) reports where that was made."""
        if isinstance(exc, StepTimeout):
            self._timed_out = step.index
            return StepError("Timeout", str(exc), *source_location(type(layer), step.direction))
        maker = self._maker(received)
        if type(layer) not in reference_classes().values() or maker is None:
            error = step_error(exc, layer, step.direction)
            return replace(error, message=error.message + self._shapes_handed(exc, step) + self._allocation_said(exc, step))
        tensor = self.tensor(received)
        what = f"{received} of shape {shape_in_words(tuple(tensor.shape))}" if tensor is not None else received
        direction = maker.step.direction
        return StepError("Inherited", f"the reference {step.layer} could not use {what}, made at step {maker.step.index} "
                         f"({direction} {maker.step.layer}): {first_line(exc)}",
                         *source_location(self.network.class_for(maker.step.spec), direction))

    def _shapes_handed(self, exc: BaseException, step: Step) -> str:
        """For an error about shapes, what the step was handed; and, for a forward that takes the
        lesson's (n_in, n_out) weight as nn.Linear's (n_out, n_in), that it does."""
        message = str(exc)
        if not isinstance(exc, (RuntimeError, ValueError, IndexError)) or not SHAPE_ERROR.search(message):
            return ""
        spec = step.spec
        names = [spec.inp, *spec.params] if step.direction == "forward" else [f"{spec.out}.g", spec.inp, *spec.params]
        shapes = {name: tuple(tensor.shape) for name in names if (tensor := self.tensor(name)) is not None}
        said = f"; {step.layer} was handed " + ", ".join(f"{name} {shape_in_words(dims)}" for name, dims in shapes.items())
        weight = shapes.get(spec.params[0]) if spec.entry.changes_width and spec.params else None
        if step.direction == "forward" and weight is not None and len(weight) == 2 and weight[0] != weight[1] \
                and f"{weight[1]}x{weight[0]}" in message:
            said += (f": {spec.params[0]} is (n_in, n_out), the lesson's layout (inp @ w + b), and this forward takes "
                     "it as (n_out, n_in), nn.Linear's: write the layer for (n_in, n_out), forward inp @ w + b and "
                     "backward w.g = inp.t() @ out.g")
        return said

    def _allocation_said(self, exc: BaseException, step: Step) -> str:
        """For an allocation that failed, what the size asked for is where it is N×N (N the batch's rows) numbers
        of the run's dtype: a broadcast of an (N, 1) tensor against an (N,) one, at 50,000 rows 10 GB in float32."""
        message = str(exc)
        exact = re.search(r"tried to allocate (\d+) bytes", message)  # the CPU's allocator
        rounded = re.search(r"Tried to allocate (\d+(?:\.\d+)?) (GiB|MiB)", message)  # CUDA's caching allocator
        if exact is None and rounded is None:
            return ""
        asked = int(exact[1]) if exact else float(rounded[1]) * 2 ** (30 if rounded[2] == "GiB" else 20)
        rows, size = len(self.data.x), self.config.torch_dtype.itemsize
        times = round(asked / (rows * rows * size))
        if rows < 2 or times < 1 or abs(asked - times * rows * rows * size) > 0.01 * asked:
            return ""
        tensor = f"{rows}×{rows}" + (f"×{times}" if times > 1 else "")
        said = (f"; that is a {tensor} tensor of {self.config.dtype}, N×N{'×…' if times > 1 else ''} for the batch's "
                f"N = {rows} rows: an (N, 1) tensor broadcast against an (N,) one?")
        return said + (" (`inp.squeeze(-1) - targ`)" if step.spec.entry.loss else "")

    def _maker(self, name: str) -> StepReport | None:
        """The report of the step whose user code made this tensor (None: gradtui or autograd made it)."""
        for report in self.reports:
            if name in report.step.produces and name not in report.fed:
                return report
        return None

    def _versions(self) -> dict[str, tuple[torch.Tensor, int]]:
        return {name: (t, t._version) for name, t in {**self.values, "y": self.targ}.items()}

    @staticmethod
    def _changed(before: dict[str, tuple[torch.Tensor, int]]) -> list[str]:
        return [name for name, (tensor, version) in before.items() if tensor._version != version]

    def _forward(self, step: Step) -> StepReport:
        spec, layer = step.spec, self.layers[step.position]
        if spec.inp not in self.values or self._timed_out is not None:
            return self._not_run(step, spec.inp)
        inp = self.values[spec.inp]
        args = spec.entry.args(inp, self.targ)
        # The reference class computes the same output: no need to run it twice. Otherwise the
        # reference runs first, before the user's code can change its input in place.
        # A layer of a kind without a reference layer (any layer, from the API) is compared with itself.
        is_reference = type(layer) in reference_classes().values() or spec.entry.reference is None
        expected, unreferenced = None, None
        if not is_reference:
            try:
                expected = reference_output(spec, self.values, self.targ)
            except Exception as exc:  # what the user's code made, or the targets, fit your layer and not the reference
                is_reference = True
                unreferenced = (f"the reference {spec.entry.title} could not run on {spec.inp} of shape "
                                f"{shape_in_words(tuple(inp.shape))} ({type(exc).__name__}: {first_line(exc)}): the "
                                "forward is compared with nothing")
        before = self._versions()
        with numbers_made_in(self.config.torch_dtype):  # (the process's, as the backward's below)
            outcome = run_user_code(lambda: self._watched(spec.name, layer, args), self.config.step_timeout)
        out, output = outcome.value, outcome.output
        if outcome.error is not None:
            error = self._error(outcome.error, step, layer, spec.inp)
            return StepReport(step, error=error, output=output)
        if not isinstance(out, torch.Tensor):
            error = StepError("TypeError", f"{type(layer).__name__} returned a {type(out).__name__}, not a tensor",
                              *source_location(type(layer), "forward"))
            return StepReport(step, error=error, output=output)
        changed = self._changed(before)
        notes = [unreferenced] if unreferenced else []
        if spec.inp in changed and _shares_storage(out, inp):
            self._aliased[spec.name] = spec.inp
            notes.append(f"{spec.out} shares its storage with {spec.inp}: the forward changed {spec.inp} in place, "
                         f"so {spec.inp} now holds {spec.out}'s values")
        others = [name for name in changed if not (name == spec.inp and spec.name in self._aliased)]
        if others:
            notes.append(f"the forward changed {', '.join(others)} in place")
        self.values[spec.out] = out
        expected = out if is_reference else expected
        self.expected[spec.out] = expected
        params = dict(zip(spec.entry.params, (self.values[name] for name in spec.params)))
        context = HintContext(spec.kind, "forward", len(self.data.x), {"inp": inp, "targ": self.targ, **params},
                              role="out", against="the reference layer's", layer_class=type(layer))
        comparison = compare(spec.out, out, expected, self._tolerance_for(out), require_dtype=not self.replay,
                             statistics=self.hints)
        if not comparison.match:
            said = str(explain(comparison, out, expected, context)) if self.hints else None
            comparison = placed(out, expected, replace(comparison, hint=said, deviation=not self.config.strict_forward))
        if spec.entry.reference is None:
            notes.append(f"{spec.entry.title} has no reference layer: its forward is compared with nothing, and its "
                         "backward is judged against autograd through it")
        report = StepReport(step, (comparison,), notes=tuple(notes), output=output)
        return report

    def _backward(self, step: Step) -> StepReport:
        spec, layer = step.spec, self.layers[step.position]
        if spec.out not in self.values or self._timed_out is not None:
            return self._not_run(step, spec.out)
        fed, upstream = self._upstream(spec)
        if upstream is None and not spec.entry.loss:
            return self._not_run(step, f"{spec.out}.g")
        out = self.values[spec.out]
        targets = [self.values[name] for name in spec.grads]
        if spec.name in self._narrowed:
            self._narrow_to(self._narrowed[spec.name])
        for tensor in targets:
            if tensor is not out:  # an output computed in place is its input: its .g is the gradient from above
                tensor.__dict__.pop("g", None)
        before, bound = self._versions(), _bound_tensors(layer)
        # `w.data -= …` leaves w's version counter as it was: the parameters' values are compared too
        held = {name: self.values[name].clone() for name in spec.params if name in self.values}
        dtypes = _Dtypes()
        # torch's default dtype is the process's: set here, and so set back here even when the step's thread
        # overruns --step-timeout and runs on
        with numbers_made_in(self.config.torch_dtype):
            outcome = run_user_code(lambda: dtypes.run(layer.backward), self.config.step_timeout)
        error = None if outcome.error is None else self._error(outcome.error, step, layer, f"{spec.out}.g")
        changed, rebound = self._changed(before), self._rebound_values(layer, bound)
        changed += [name for name, value in held.items() if name not in changed and not _same(value, self.values[name])]
        weights = [name for name in rebound if name in spec.params]  # the others: the forward run again
        context = replace(self._backward_context(step, layer, upstream, fed, changed, weights), dtypes_made=dtypes.made)
        inherited = None if fed or spec.entry.loss else self._inherited_mismatch(f"{spec.out}.g")
        # A bias gradient sums out.g over the batch: its rounding is on the scale of that sum without
        # cancellation, however small the sum itself (a bias before a batch norm: exactly 0).
        summed = _batch_sum_scale(upstream)
        comparisons, notes = [], [self.reference.note] if self.reference.note and spec.entry.loss else []
        for position, (name, tensor, role) in enumerate(zip(spec.grads, targets, spec.roles)):
            if error is not None and "g" not in tensor.__dict__:  # the step raised before setting it: the error says why
                continue
            if not tensor.is_floating_point():  # integer ids (an embedding's input) have no gradient to judge
                continue
            comparison, explained = self._judge_gradient(name, tensor.__dict__.get("g"), replace(context, role=role),
                                                         inherited, summed if role in spec.entry.bias else 0.0,
                                                         step, position, upstream if error is None else None)
            if explained is not None:  # a choice at a kink, a guard left out: right, and carried down as the user's
                notes.append(explained)
                self.explained.append(explained)
                if position == 0 and spec.inp != "x":
                    self._take_subgradient(spec.inp, tensor.__dict__["g"])
            comparisons.append(comparison)
        if changed:
            notes.append(f"the backward changed {', '.join(changed)} in place (an update inside backward?)")
        if weights:
            notes.append(f"the backward replaced {', '.join(weights)} on the layer (an update inside backward?)")
        if len(weights) < len(rebound):
            activations = ", ".join(name for name in rebound if name not in spec.params)
            said = (f"the backward replaced {activations} on the layer, as calling the forward again inside it does "
                    f"(self.__call__(x), self(x)): the new tensor has no .g; use the one the forward kept")
            if error is not None and error.type == "AttributeError" and "'g'" in error.message:  # why it has no .g
                error = replace(error, message=f"{error.message}: {said}")
            else:
                notes.append(said)
        unfollowed = self.reference.unfollowed.get(spec.name)
        if unfollowed is not None:
            notes.append(unfollowed.note(spec))
            if unfollowed.by == "finite differences" and error is None:
                comparisons = self._judged_by_finite_differences(spec, comparisons, upstream, context)
        return StepReport(step, tuple(comparisons), error, fed, tuple(notes), outcome.output)

    def _upstream(self, spec) -> tuple[tuple[str, ...], torch.Tensor | None]:
        """(what gradtui fed, the out.g the backward reads). The loss has no .g: its backward starts the
        chain. Autograd's out.g is fed under --isolate, or where the user's code left none."""
        if spec.entry.loss:
            return (), None
        out, reference = self.values[spec.out], self.reference
        has_own = isinstance(getattr(out, "g", None), torch.Tensor)
        ref_upstream = reference.grads.get(spec.out)
        fed = ()
        if (self.config.isolate or not has_own) and ref_upstream is not None:
            out.g = ref_upstream.clone()
            fed = (f"{spec.out}.g",)
        upstream = getattr(out, "g", None)
        return fed, upstream if isinstance(upstream, torch.Tensor) else None

    def _backward_context(self, step: Step, layer, upstream, fed, changed, rebound) -> HintContext:
        """What the hints of this backward step may look at: its tensors and what the step did."""
        spec = step.spec
        params = dict(zip(spec.roles[1:], (self.values[name] for name in spec.params)))
        maker = None if fed or spec.entry.loss else self._maker(f"{spec.out}.g")
        inp = self.reference.overwritten.get(spec.name, self.values[spec.inp])  # an in-place forward's input, before
        return HintContext(spec.kind, "backward", len(self.data.x),
                           {"inp": self.values[spec.inp], "out": self.values[spec.out], "out_g": upstream,
                            "targ": self.targ, **params, "out_g_ref": self.reference.grads.get(spec.out)},
                           changed=tuple(changed), rebound=tuple(rebound), aliased=self._aliased.get(spec.name),
                           layer_class=type(layer), built_params=self.network.params is None and not self.network.prototypes,
                           upstream_from=maker and f"step {maker.step.index}, backward {maker.step.layer}",
                           probe=self._probe(spec, inp, upstream),
                           forward_deviated=any(t.deviation for r in self.reports for t in r.tensors
                                                if r.step.spec.name == spec.name and r.step.direction == "forward"))

    def _probe(self, spec, inp: torch.Tensor, upstream) -> Probe:
        """The layer on the first rows in float64, for the slip search on its derived backward (run only
        when a gradient mismatches and the kind's own formulas do not name it)."""
        network, classes = self.network, None

        def build(params: dict[str, torch.Tensor]):
            nonlocal classes
            classes = classes or network.isolated_classes()
            return network.layer(spec, {name: params[role] for name, role in zip(spec.params, spec.roles[1:])}, classes)

        leaves = {"inp": inp, **{role: self.values[name] for name, role in zip(spec.params, spec.roles[1:])}}
        return Probe(build, lambda layer, x, targ: layer(*spec.entry.args(x, targ)), leaves,
                     None if spec.entry.loss else upstream, self.targ,
                     {"inp": _input_name(network.class_for(spec))})

    def _judge_gradient(self, name: str, value, context: HintContext, inherited: str | None, scale: float,
                        step: Step, position: int, upstream) -> tuple[Comparison, str | None]:
        """One gradient the step set (or left unset) against autograd's; on a mismatch, what explains it
        as no slip (a choice at a kink, a guard left out: then a match, and the note that says so), or
        the hint: the diagnosis's, or `inherited` when it was computed from an out.g already wrong.
        `upstream` None: the step raised, and nothing is excused."""
        reference = self.reference
        expected = reference.grads.get(name)
        comparison = compare(f"{name}.g", value, expected, self._tolerance_for(value), reference.stats.get(name),
                             scale, require_dtype=not self.replay, statistics=self.hints)
        if expected is not None and comparison.ref is not None:
            reference.stats.setdefault(name, comparison.ref)
        if expected is None and reference.error:
            return replace(comparison, hint=reference.error), None
        if comparison.match:
            return comparison, None
        if inherited is None and (upstream is not None or step.spec.entry.loss):
            explained = self._explained(step, position, comparison, upstream, context)
            if explained is not None:
                return replace(comparison, match=True), explained
        if not self.hints:
            return comparison, None
        hint = inherited if inherited and comparison.diff is not None else explain(comparison, value, expected, context)
        return placed(value, expected, replace(comparison, hint=str(hint), slip_at=getattr(hint, "at", None))), None

    def _explained(self, step: Step, position: int, comparison: Comparison, upstream, context: HintContext) -> str | None:
        """Why a gradient unlike autograd's is still right: a subgradient at a kink of the forward, or
        the derivative of the forward without its numerical guard (`+ 1e-9` in a log), within what
        the guard explains. None when neither holds."""
        kinks = self._kinks(step, position, comparison, upstream)
        if kinks is not None:
            return kinks.note(comparison.name, step.spec.name)
        if context.probe is None or comparison.diff is None or not comparison.diff.max_rel <= GUARD_MOST:
            return None
        found = context.probe.left_out_guards(context.role, comparison.tolerance)
        if not found:
            return None
        more = f" (and {len(found) - 1} more guard{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        return (f"{comparison.name} leaves out the guard {found[0].said}{more}, and the difference from autograd's "
                f"(max|Δ| {number(comparison.diff.max_abs)}) is within what the guard explains: no slip; differentiating the "
                "guarded expression itself would match exactly")

    def _kinks(self, step: Step, position: int, comparison: Comparison, upstream) -> Kinks | None:
        """For a gradient that differs from autograd's: is it a subgradient at kinks of the layer's
        forward (a ReLU's mask at exactly 0 taken the other way), as right as autograd's?"""
        spec = step.spec
        if (comparison.match or comparison.diff is None or not comparison.stats.finite or not comparison.ref.finite
                or (comparison.stats.dtype != comparison.ref.dtype and not self.replay)):
            return None
        name = spec.grads[position]
        inp = self.reference.overwritten.get(spec.name, self.values[spec.inp])  # an in-place forward's input, before
        tensors = [inp, *(self.values[param] for param in spec.params)]
        yours, ref = self.tensor(f"{name}.g"), self.reference.grads.get(name)
        bound = tolerance_for(comparison.ref, comparison.tolerance, comparison.scale)
        return quietly(lambda: subgradient_choice(self.network, spec, tensors, position, upstream, self.targ, yours, ref,
                                                  bound))

    def _take_subgradient(self, activation: str, gradient: torch.Tensor) -> None:
        """Autograd's gradients of the tensors before `activation`, again, through the user's
        subgradient there: a choice at a kink is carried down, never judged again below."""
        self._given[activation] = gradient.detach().clone()
        self._reference = quietly(lambda: autograd_reference(self.network, self.params, self.data.x, self.data.y,
                                                             self.tolerance, self._given))

    def _judged_by_finite_differences(self, spec, comparisons: list[Comparison], upstream,
                                      context: HintContext) -> list[Comparison]:
        """A step whose forward autograd cannot follow, and unlike the reference layer's: each gradient
        of the shape of its tensor, and like central finite differences of the user's forward (where it
        is not, the slip is named on the backward derived from that forward, when its operations are
        torch's: a torch.autograd.Function's own forward); or, when those cannot run, none matching, each
        saying why it is not judged (never a ✓ nothing checked)."""
        probe, roles = context.probe, dict(zip(spec.grads, spec.roles))
        # where the backward derived from the forward's own operations disagrees (on the same first rows): a slip in
        # a few elements (a max's) that the evenly spaced samples would miss is sampled there too
        also = {f"{name}.g": probe.disagreements(roles[name], self.tolerance) for name in spec.grads} \
            if probe is not None and PROBE_ROWS == FD_ROWS else {}
        try:
            estimates = {result.name: result for result in quietly(lambda: finite_differences(
                self.network, spec, self.params, self.values[spec.inp], upstream, self.targ, self.tolerance, also))}
        except (Exception, SystemExit) as exc:  # the user's layer, on float64 rows: nothing judged, and no ✓ said
            why = (f"not judged: the finite differences could not run {spec.name} in float64 ({type(exc).__name__}: "
                   f"{first_line(exc)}), and autograd through it would run your own backward")
            return [replace(comparison, match=False, hint=comparison.hint or why) for comparison in comparisons]
        judged = []
        for comparison in comparisons:
            tensor, stats = self.tensor(comparison.name.removesuffix(".g")), comparison.stats
            shaped = stats is not None and tensor is not None and stats.shape != tuple(tensor.shape)
            if not shaped and comparison.name not in estimates:
                judged.append(comparison)
                continue
            if not shaped and estimates[comparison.name].ok:
                judged.append(self._rounded(comparison, roles[comparison.name.removesuffix(".g")], context))
                continue
            unnamed = (f"{comparison.name} is {shape_in_words(stats.shape)}, but {comparison.name.removesuffix('.g')} is "
                       f"{shape_in_words(tuple(tensor.shape))}: a gradient has the shape of its tensor") if shaped \
                else estimates[comparison.name].hint
            named = [] if probe is None else probe.slips(roles[comparison.name.removesuffix(".g")], comparison.name,
                                                         comparison.tolerance)
            judged.append(replace(comparison, match=False, hint=named[0][0] if named else unnamed,
                                  slip_at=(named[0][1].file, named[0][1].line, named[0][1].code)
                                  if named and named[0][1] is not None else None))
        return judged

    def _rounded(self, comparison: Comparison, role: str, context: HintContext) -> Comparison:
        """A gradient finite differences pass: a match, unless against the backward derived from the forward's
        operations, on the same rows, it carries a narrower dtype's rounding that a cast in the backward
        explains (a `.float()` in a float64 run), which finite differences cannot resolve."""
        matched = replace(comparison, match=True, hint=None, slip_at=None)
        pair = context.probe.alike(role) if context.probe is not None else None
        if pair is None:
            return matched
        yours, right = pair
        rows = compare(comparison.name, yours, right, comparison.tolerance)
        hint = rounded_by_a_cast(rows, yours, right, context)
        return matched if hint is None else replace(comparison, match=False, hint=hint)

    def _rebound_values(self, layer, before: dict[str, torch.Tensor]) -> list[str]:
        """The names of the weights (or activations) the layer held before its backward and holds no more
        (`self.w = self.w - lr * self.w.g`)."""
        after = vars(layer)
        gone = [tensor for key, tensor in before.items() if after.get(key) is not tensor]
        return [name for name, value in self.values.items() if any(value is tensor for tensor in gone)]

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
        grad = name.endswith(".g")
        base = name.removesuffix(".g")
        tensor = self.values.get(base)
        if grad:
            value = tensor.__dict__.get("g") if isinstance(tensor, torch.Tensor) else None
            return value if isinstance(value, torch.Tensor) else None
        return tensor

    def reference_tensor(self, name: str) -> torch.Tensor | None:
        """Autograd's value for a gradient name ("w2.g"); the reference forward's for an activation."""
        if name.endswith(".g"):
            return self.reference.grads.get(name.removesuffix(".g"))
        return self.expected.get(name)

    def source(self, step: Step) -> tuple[str, int, str]:
        """(file, first line, code) of the method that runs for this step, from the class actually used."""
        cls = self.network.class_for(step.spec)
        method = method_for(cls, step.direction)
        lines, first = inspect.getsourcelines(method)
        return inspect.getsourcefile(method) or "?", first, "".join(lines)


def _input_name(cls: type) -> str:
    """What the layer's own forward calls its input (`x` for `def forward(self, x)`): the hints say it so."""
    try:
        names = list(inspect.signature(method_for(cls, "forward")).parameters)
    except (TypeError, ValueError):
        return "inp"
    names = [name for name in names if name != "self"]
    return names[0] if names and names[0] not in ("args", "kwargs") else "inp"


def _batch_sum_scale(t) -> float:
    """max over features of Σ over the batch of |t|: the size of t.sum(0) were nothing to cancel."""
    if not isinstance(t, torch.Tensor) or t.dim() != 2 or not t.numel() or not t.is_floating_point():
        return 0.0
    scale = float(torch.linalg.vector_norm(t.detach(), 1, dim=0).max())  # Σ|t| per feature, in one pass
    if math.isfinite(scale):
        return scale
    return float(t.detach().abs().nan_to_num(nan=0.0, posinf=0.0, neginf=0.0).sum(0).max())


def _shares_storage(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal values, NaN where NaN was."""
    return a.shape == b.shape and bool(((a == b) | (a.isnan() & b.isnan())).all())


def _bound_tensors(layer) -> dict[str, torch.Tensor]:
    """The layer object's tensor attributes (its weights among them), to see one rebound by the backward."""
    return {key: value for key, value in vars(layer).items() if isinstance(value, torch.Tensor)}


class _Dtypes(TorchFunctionMode):
    """The floating dtypes the torch functions called while it is on make. `narrowed`: those narrower than a
    floating operand they round (`x.float()` of a float64 x; not a mask `(x > 0).float()`, nor a cast its values
    survive), which a forward's gradients carry. `made`: where each dtype none of an operation's operands had
    was first made, with its line, and whether by a cast (`(inp > 0).float()`) or as a tensor of Python numbers
    in torch's default dtype (`torch.where(x >= 0, 1., self.alpha)`): what a hint quotes for a gradient whose
    dtype is not autograd's. A function mode, not a dispatch mode: entering one of those imports torch's
    compiler, a second of every check's start; and a mode is its thread's own, entered where the user's code runs."""

    def __init__(self):
        super().__init__()
        self.narrowed: set[torch.dtype] = set()
        self.made: dict[str, tuple[Source, bool]] = {}  # "float32" -> the user's code that first made one, a cast?

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        results = _floating_tensors(out)
        if not results:
            return out
        floating = _floating_tensors(args) + (_floating_tensors(list(kwargs.values())) if kwargs else [])
        if getattr(func, "__name__", "") in FLOAT32_BACKWARD:
            self.narrowed.add(torch.float32)
        source = args[0] if args and floating and args[0] is floating[0] else None
        for result in results:
            if source is not None and torch.finfo(result.dtype).bits < torch.finfo(source.dtype).bits and not (
                    result.shape == source.shape and bool(torch.equal(result.to(source.dtype), source))):
                self.narrowed.add(result.dtype)
            name = _dtype_name(result.dtype)
            if name not in self.made and all(t.dtype != result.dtype for t in floating) and (
                    where := layer_source(sys._getframe(1))) is not None:
                self.made[name] = where, getattr(func, "__name__", "") in _CASTS
        return out

    def run(self, code):
        with self:
            return code()


def _floating_tensors(value) -> list[torch.Tensor]:
    """The floating tensors in an operation's arguments or results: most are a tensor or a tuple of them,
    taken without the pytree walk that every call of a backward would pay for."""
    flat = (value,) if isinstance(value, torch.Tensor) else value if isinstance(value, (tuple, list)) and not any(
        isinstance(v, (tuple, list, dict)) for v in value) else tree_flatten(value)[0]
    return [t for t in flat if isinstance(t, torch.Tensor) and t.is_floating_point()]


_CASTS = frozenset({"to", "type", "type_as", "float", "double", "half", "bfloat16"})
# functions whose backward autograd computes to float32's precision in any dtype (hardsigmoid's 1/6 is a float: 3e-8
# off in float64), so that a gradient through them is judged as a float32 one: a right backward is right
FLOAT32_BACKWARD = frozenset({"hardsigmoid", "hardsigmoid_"})


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
