"""What each panel shows, as immutable views built from the app's state once per frame: the
widgets are handed a view and render it (data down); they report what happened with messages
(messages up). No torch here, and nothing a widget would have to compute."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gradtui.bench.results import Roofline, VersionResult
from gradtui.findings import first_nonfinite
from gradtui.formatting import place
from gradtui.report import TENSOR_COLUMNS, Cell, bench_row, error_text, floor_rows, panel_lines, pass_summary, tensor_row
from gradtui.steps import LayerSpec, Step
from gradtui.ui.bench_process import TimingSetup

if TYPE_CHECKING:
    from gradtui.findings import DifferenceMap, Histogram, StepReport


@dataclass(frozen=True)
class PipelineRow:
    step: Step
    mark: str | None  # ✓ ≠ ✗ ! once computed; None: not yet
    waiting: bool = False  # on its way (⟳)
    ahead: bool = False  # computed ahead of the step on show: not read yet
    before: str | None = None  # its mark before the last reload, where that changed
    current: bool = False  # on show (▶)
    upcoming: bool = False  # the next one (▷)
    nonfinite: bool = False  # where NaN/Inf first appears


@dataclass(frozen=True)
class PipelineView:
    rows: tuple[PipelineRow, ...]
    loss: float | None
    summary: tuple[tuple[Cell, ...], ...]  # the whole pass in a few lines, once every step is computed
    loading: bool  # torch and the data still loading


def pipeline_view(steps, frames, fresh: int, target: int | None, shown_step: int | None, changes: dict[int, str],
                  seeking: bool, replay, loading: bool) -> PipelineView:
    """The pipeline as the app's state says: `fresh` frames of the latest load, the target asked
    for, the step on show, the marks a reload changed, `seeking` for `m` under way."""
    current = target if target is not None and target < fresh else shown_step
    reports = [frame.report for frame in frames[:fresh]]
    nonfinite = first_nonfinite(reports)
    rows = []
    for step in steps:
        index = step.index
        computed = index < fresh
        rows.append(PipelineRow(
            step, frames[index].report.mark if computed else None,
            waiting=not computed and (index == target or (seeking and index == fresh)),
            ahead=computed and (current is None or index > current), before=changes.get(index) if computed else None,
            current=index == current, upcoming=index == (-1 if current is None else current) + 1,
            nonfinite=nonfinite is not None and index == nonfinite.index))
    loss = frames[current].loss if current is not None and current < len(frames) else None
    summary = tuple(pass_summary(reports, replay)) if not loading and fresh == len(steps) else ()
    return PipelineView(tuple(rows), loss, summary, loading)


# -- the step panel ---------------------------------------------------------------------------

def formula(step: Step) -> str:
    spec = step.spec
    w, b = (*spec.params, "", "")[:2]  # the first two parameters, as the kind's formulas name them: {w} {b}
    text = spec.entry.forward_text if step.direction == "forward" else spec.entry.backward_text
    return text.format(inp=spec.inp, out=spec.out, w=w, b=b)


def chain_rule(specs: tuple[LayerSpec, ...], step: Step) -> str:
    """Backward: ∂loss/∂x as the product of one factor per layer, this step's in red (as the notes
    colour it). Forward: the composition of the layers, this step's in red."""
    if step.direction == "forward":
        text = "x"
        for spec in specs:
            name = f"[bold $error]{spec.name}[/]" if spec is step.spec else spec.name
            text = f"{name}({text}, y)" if spec.entry.loss else f"{name}({text})"
        return f"loss = {text}"
    factors = []
    for spec in reversed(specs):
        top = "loss" if spec.entry.loss else spec.out
        bottom = spec.inp
        factor = f"∂{top}/∂{bottom}"
        factors.append(f"[bold $error]{factor}[/]" if spec is step.spec else factor)
    return "∂loss/∂x = " + " × ".join(factors)


@dataclass(frozen=True)
class StepView:
    title: str  # step 5 · backward · lin2 (ran)
    chain: str  # markup: the chain rule, this step's factor highlighted
    formula: str
    error: str | None  # what the step raised, as check says it
    source: tuple[str, int, str] | None  # (file, first line, code) of the method that runs; None: loading
    highlight: tuple[int, ...] = ()  # the line that raised, when it is in that code
    slip_at: str | None = None  # "file:line  code": the forward line whose derivative the hint names


def step_view(specs: tuple[LayerSpec, ...], step: Step, report: StepReport | None,
              source: tuple[str, int, str] | None) -> StepView:
    """`step` as it ran (`report`), or the step to run next (report None)."""
    error = report.error if report else None
    highlight = ()
    if error is not None and error.file and source is not None and Path(error.file).resolve() == Path(source[0]).resolve():
        highlight = (error.line,)
    failing = report.failing_tensor if report else None
    named = failing.slip_at if failing is not None else None
    return StepView(f"step {step.index} · {step.direction} · {step.layer} ({'ran' if report else 'next'})",
                    chain_rule(specs, step), formula(step), error_text(error) if error else None, source, highlight,
                    None if named is None else f"{place(named[0], named[1])}  {named[2]}")


# -- the tensor panel -------------------------------------------------------------------------

@dataclass(frozen=True)
class TensorView:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]  # (tensor name, its cells)
    lines: tuple[tuple[Cell, ...], ...]  # hints, where, notes, output, error
    cursor: int | None  # the row to select: the first that fails
    failing: bool
    tolerance: str


def tensor_view(report: StepReport | None, tolerance: tuple[float, float], dtype: str) -> TensorView:
    rtol, atol = tolerance
    rule = f"match: max|Δ| ≤ atol + rtol·max|reference|   rtol {rtol:g} · atol {atol:g} ({dtype})"
    if report is None:
        return TensorView(TENSOR_COLUMNS, (), (), None, False, rule)
    bad = report.failing_tensor
    return TensorView(TENSOR_COLUMNS, tuple((t.name, tensor_row(t)) for t in report.tensors),
                      tuple(panel_lines(report)), report.tensors.index(bad) if bad is not None else None,
                      not report.ok, rule)


# -- the histogram panel ----------------------------------------------------------------------

@dataclass(frozen=True)
class HistogramView:
    name: str | None  # the tensor on show
    histogram: Histogram | None
    reference: str  # "autograd", or "the reference layer" for a forward output
    difference: DifferenceMap | None = None  # for a tensor that does not match
    where: str | None = None
    title: str = "histogram"  # the tensor, the shared range, and how it was counted
    empty: str = ""  # said in place of the bars when there are none to draw


def histogram_view(frame, name: str | None) -> HistogramView:
    """The selected tensor of a frame (None: no step on show)."""
    reference = "the reference layer" if frame and frame.report.step.direction == "forward" else "autograd"
    if frame is None or name is None:
        return HistogramView(name, None, reference)
    histogram = frame.histograms.get(name)
    tensor = next((t for t in frame.report.tensors if t.name == name), None)
    difference, where = (tensor.map, tensor.where) if tensor is not None else (None, None)
    if histogram is None:
        return HistogramView(name, None, reference, difference, where, empty="no finite values to show")
    sampled = f" · counts of 1 value in {histogram.every}" if histogram.every > 1 else ""
    title = f"histogram · {name} · [{histogram.low:.3g}, {histogram.high:.3g}]{sampled}"
    return HistogramView(name, histogram, reference, difference, where, title)


# -- the timing pane --------------------------------------------------------------------------

@dataclass(frozen=True)
class TimingUpdate:
    """What one result of the timing run adds to the pane."""

    rows: tuple[tuple[str, tuple[Cell, ...]], ...] = ()  # (table key, cells): a version's row, or the floor's
    setup: str | None = None  # how the timing process runs, once it has said
    scaled: str | None = None  # said when a version was timed on fewer rows and scaled


def timing_update(result: TimingSetup | VersionResult | Roofline) -> TimingUpdate:
    if isinstance(result, TimingSetup):
        threads = f"{result.threads} thread{'s' if result.threads > 1 else ''}"
        spared = f", one core of {result.cores} left to this screen (bench uses all)" if result.cores > 1 else ""
        return TimingUpdate(setup=f"{threads}{spared}")
    if isinstance(result, Roofline):
        return TimingUpdate(tuple((f"floor{index}", row) for index, row in enumerate(floor_rows(result))))
    scaled = (f"≈ timed on the first {result.timed_rows:,} rows and scaled to the batch, so that its outer "
              "product stays small; gradtui bench times it whole") if result.timed_rows else None
    return TimingUpdate(((str(result.version), bench_row(result)),), scaled=scaled)
