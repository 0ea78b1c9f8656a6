"""The one report model of both faces: a session's steps and a bench run's rows as cells with a
style, and as the JSON of `--json`. `cli.py` prints these cells with Rich, the app's widgets put
them in DataTables; neither decides what a row says.

A style is a theme name (success, error, warning, dim, bold) that each face maps to its colours.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gradtui.formatting import number, place, seconds, shape, size
from gradtui.running import method_for, source_location

if TYPE_CHECKING:  # no torch at import: the app's widgets render these before torch loads
    from gradtui.bench.results import Roofline, VersionResult
    from gradtui.bench.runner import BenchRunner
    from gradtui.findings import Comparison, Location, ReplayVerdict, StepReport
    from gradtui.fixing import Fix
    from gradtui.replay import Replay
    from gradtui.running import StepError
    from gradtui.session import DebugSession


@dataclass(frozen=True)
class Cell:
    text: str
    style: str | None = None  # success, error, warning, dim, bold


MARK_STYLE = {"✓": "success", "≠": "warning", "✗": "error", "!": "error"}

# The verdict first, then how far from the reference, the alarms, then the statistics: a
# narrow screen cuts from the right and keeps what matters.
TENSOR_COLUMNS = ("", "tensor", "shape", "max|Δ|", "cosine", "NaN/Inf", "mean", "std", "min", "max", "norm", "zeros")


def mark_cell(mark: str) -> Cell:
    return Cell(mark, MARK_STYLE[mark])


def tensor_row(t: Comparison) -> tuple[Cell, ...]:
    """A Comparison as cells under TENSOR_COLUMNS."""
    s, d = t.stats, t.diff
    cells = [mark_cell(t.mark), Cell(t.name),
             Cell(shape(s.shape)) if s else Cell("missing", "error"),
             Cell(number(d.max_abs) if d else "—"), Cell(f"{d.cosine:.4f}" if d else "—")]
    if s is None:
        return tuple(cells + [Cell("—")] * 7)
    cells.append(Cell(f"{s.nan}/{s.inf}", "error") if not s.finite else Cell("0"))
    cells += [Cell(number(getattr(s, key))) for key in ("mean", "std", "min", "max", "norm")]
    cells.append(Cell(f"{s.zeros:.0%}"))
    return tuple(cells)


def step_title(report: StepReport) -> list[Cell]:
    step = report.step
    fed = [Cell(f"  (fed autograd's {', '.join(report.fed)})", "dim")] if report.fed else []
    return [mark_cell(report.mark), Cell(f" step {step.index} · {step.direction} · {step.layer}"), *fed]


def step_lines(report: StepReport) -> list[tuple[Cell, ...]]:
    """What a step says below its table: each hint (against the reference layer for a deviation),
    its notes, its error."""
    lines, tensors = [], list(report.tensors)
    for i, t in enumerate(tensors):
        if not t.hint or i and _same_hint(tensors[i - 1], t):
            continue
        # Tensors in a row with one hint and no place of their own (computed from one wrong .g) share one line.
        names = [t.name] + [u.name for u in itertools.takewhile(partial(_same_hint, t), tensors[i + 1:])]
        said = f"{t.mark} " if names == [t.name] and re.match(rf"{re.escape(t.name)}[ :]", t.hint) else \
            f"{t.mark} {', '.join(names)}: "  # a hint that begins with its tensor's name is not given it twice
        lines.append((Cell(said, MARK_STYLE[t.mark]), Cell(t.hint, "warning")))
        if t.where:
            lines.append((Cell("  where: ", "dim"), Cell(t.where, "dim")))
    lines += [(Cell("note: ", "dim"), Cell(note, "dim")) for note in report.notes]
    lines += output_lines(report.output)
    if report.error:
        lines.append((Cell("! raised: ", "error"), Cell(error_text(report.error), "error")))
    return lines


def _same_hint(a: Comparison, b: Comparison) -> bool:
    return a.hint == b.hint and a.mark == b.mark and not a.where and not b.where


OUTPUT_LINES = 6  # of what a step printed, shown under its table (the JSON has it all)


def panel_lines(report: StepReport) -> list[tuple[Cell, ...]]:
    """What the app's tensor panel shows under its table: the step's lines, and, as its title
    (step_title) says for the CLI, the gradient from above that autograd fed it."""
    fed = [(Cell(f"fed autograd's {', '.join(report.fed)} from above", "dim"),)] if report.fed else []
    return step_lines(report) + fed


def output_lines(output: str) -> list[tuple[Cell, ...]]:
    """What the user's code printed during the step: its last lines."""
    lines = output.rstrip("\n").splitlines()
    if not lines:
        return []
    shown = [(Cell("printed: " if i == 0 else "         ", "dim"), Cell(line))
             for i, line in enumerate(lines[-OUTPUT_LINES:])]
    if len(lines) > OUTPUT_LINES:
        shown.insert(0, (Cell("printed: ", "dim"), Cell(f"… {len(lines) - OUTPUT_LINES} lines before", "dim")))
        shown[1] = (Cell("         ", "dim"), shown[1][1])
    return shown


def pass_summary(reports: list[StepReport], replay: ReplayVerdict | None = None) -> list[tuple[Cell, ...]]:
    """The whole pass in a few short lines (a narrow panel's): where it first fails, in the run or in
    its float64 replay, and where the forward first deviates."""
    failing = next((r for r in reports if not r.ok), None)
    deviating = next((r for r in reports if r.deviating_tensor is not None), None)
    if failing is None and replay is not None and replay.mismatch is not None:  # one verdict: the replay's ✗
        lines = [(mark_cell("✗"), Cell(f" {replay.briefly}:")),
                 (Cell(f"  step {replay.mismatch.index}, {replay.mismatch.tensor}"),),
                 (Cell(f"  first {replay.rows} rows", "dim"),)]
    elif failing is None:
        lines = [(mark_cell("✓"), Cell(" all match"))]
        if replay is not None and replay.note:
            lines += [(Cell("float64 replay stopped:", "dim"),), (Cell("  a step raised", "dim"),)]
    else:
        what = "raised" if failing.error is not None else "mismatch"
        lines = [(mark_cell(failing.mark), Cell(f" {what} at step {failing.step.index}"))]
    if deviating is not None and deviating is not failing:
        lines.append((mark_cell("≠"), Cell(f" deviates at step {deviating.step.index}")))
    return lines


def error_text(error: StepError) -> str:
    """A StepError in one line, its file relative to the working directory when under it (a notebook's
    by cell and line)."""
    where = f" ({place(error.file, error.line)})" if error.file else ""
    return f"{error.type}: {error.message}{where}"


def _code_of(session: DebugSession, report: StepReport) -> str:
    """ (Lin.bwd at mine.py:12): the method whose result is wrong, where the user's code is."""
    cls = session.network.class_for(report.step.spec)
    file, line = source_location(cls, report.step.direction)
    if file is None:
        return ""
    return f" ({cls.__name__}.{method_for(cls, report.step.direction).__name__} at {place(file, line)})"


def verdict(session: DebugSession, replay: Replay | None = None) -> list[tuple[Cell, ...]]:
    """The closing lines: the first mismatch (or that every gradient matches, and what the float64
    replay found), and the first deviation."""
    lines = []
    nonfinite = session.first_nonfinite
    if nonfinite is not None:
        lines.append((Cell(f"! NaN/Inf first appears at step {nonfinite.index} ({nonfinite.layer}, {nonfinite.tensor})",
                           "warning"),))
    mismatch, deviation = session.first_mismatch, session.first_deviation
    if mismatch is None and replay is not None and replay.mismatch is not None:  # one verdict: the replay's ✗
        code = _code_of(replay.session, replay.session.reports[replay.mismatch.index])
        lines.append((Cell(f"✗ first mismatch, {replay.seen_only}: {_replay_where(replay)}: {replay.comparison.hint}"
                           f"{code}; the run itself matched ({len(session.reports)} steps: {replay.hidden_by} hid it); "
                           f"loss {number(session.loss)}", "error"),))
    elif mismatch is None:
        also = ""
        if replay is not None and replay.note is None:
            ways = ["in float64"] if session.config.dtype != "float64" else []
            ways += [f"with {replay.moved_words}"] if replay.moved else []
            also = f", and {' '.join(ways)} on the first {replay.rows} rows"
        lines.append((Cell(f"✓ every gradient matches autograd ({len(session.reports)} steps{also}); "
                           f"loss {number(session.loss)}", "success"),))
        if replay is not None and replay.note:
            lines.append((Cell(f"note: {replay.note}", "dim"),))
        if replay is not None:  # what only the replay's sharper tolerance saw, and found to be no slip
            lines += [(Cell(f"note: in the replay, {note}", "dim"),) for note in replay.session.explained
                      if note not in session.explained]
    else:
        report = session.reports[mismatch.index]
        what = error_text(report.error) if report.error else report.failing_tensor.hint + _code_of(session, report)
        tensor = f", {mismatch.tensor}" if mismatch.tensor else ""
        lines.append((Cell(f"✗ first mismatch: step {mismatch.index} ({report.step.direction} {mismatch.layer}{tensor}): "
                           f"{what}", "error"),))
    if deviation is not None and deviation != mismatch:
        hint = next(t.hint for t in session.reports[deviation.index].tensors if t.name == deviation.tensor)
        lines.append((Cell(f"≠ the forward deviates from the reference layer at step {deviation.index} "
                           f"({deviation.layer}, {deviation.tensor}): {hint}", "warning"),))
    return lines


def _replay_where(replay: Replay) -> str:
    where = replay.mismatch
    step = replay.session.reports[where.index].step
    return f"step {where.index} ({step.direction} {where.layer}, {where.tensor}) on the first {replay.rows} rows"


def replay_title(replay: Replay) -> list[Cell]:
    """The title over the replayed step that mismatches: where rounding (or a constant) hid it."""
    return [Cell("✗", "error"), Cell(f" {replay.seen_only}: {_replay_where(replay)}; {replay.hidden_by} hid it")]


# -- as Rich renders it (the CLI prints it, the Python API's Report shows it) ----------------

RICH_STYLE = {"success": "green", "error": "bold red", "warning": "yellow", "dim": "dim", "bold": "bold", None: ""}


def rich_text(*cells: Cell) -> Text:
    return Text.assemble(*((cell.text, RICH_STYLE[cell.style]) for cell in cells))


def check_renderable(session: DebugSession, replay: Replay | None = None, warnings: tuple[str, ...] = ()) -> Group:
    """What `gradtui check` prints (after its `warnings`), as one Rich renderable."""
    rtol, atol = session.tolerance
    title = Text.assemble(("gradtui check ", "bold"), session.network.describe(),
                          f"  ·  {session.device} {session.config.dtype}  ·  batch {len(session.data.x)}"
                          f"  ·  layers: {session.network.source}  ·  rtol {rtol:g}, atol {atol:g}")
    parts = [rich_text(Cell(f"warning: {warning}", "warning")) for warning in warnings]
    parts += [title, *(step_renderable(report) for report in session.reports)]
    if replay is not None and replay.mismatch is not None:
        parts += [rich_text(*replay_title(replay)), step_renderable(replay.session.reports[replay.mismatch.index])]
    parts += [rich_text(*line) for line in verdict(session, replay)]
    return Group(*parts)


def fix_lines(fix: Fix | None) -> list[tuple[Cell, ...]]:
    """A fix as check prints it and the app shows it: what the run of it said, then the diff, its
    added lines green and its removed lines red; or that no edit was verified."""
    if fix is None:
        return [(Cell("fix: no verified fix (gradtui found no edit of your layer file that makes the gradient match)", "dim"),)]
    lines = [(Cell(f"fix, run and verified: {fix.verdict}", "success" if fix.passes else "warning"),)]
    for line in fix.diff.splitlines():
        style = "success" if line.startswith("+") else "error" if line.startswith("-") else "dim"
        lines.append((Cell(line, None if line.startswith(("---", "+++")) else style),))
    return lines


def fix_renderable(fix: Fix | None) -> Group:
    return Group(*(rich_text(*line) for line in fix_lines(fix)))


def fix_json(fix: Fix | None) -> dict:
    """`check --fix --json`'s "fix": the diff and how it was verified."""
    if fix is None:
        return {"file": None, "diff": None, "verified": False, "edits": 0, "fixed": [], "passes": False,
                "verdict": "no verified fix"}
    return fix.to_dict()


def step_renderable(report: StepReport) -> Group:
    """A step's tensors as a table, then its hints, notes and error, each on a line of its own."""
    table = Table(title=rich_text(*step_title(report)), title_justify="left", box=None, pad_edge=False,
                  header_style="dim", show_header=bool(report.tensors))  # a step that raised before setting anything
    for column in TENSOR_COLUMNS:
        table.add_column(column, justify="left" if column in ("", "tensor", "shape") else "right", no_wrap=True)
    for t in report.tensors:
        table.add_row(*(rich_text(cell) for cell in tensor_row(t)))
    return Group(table, *(Text("  ") + rich_text(*line) for line in step_lines(report)))


# -- JSON ---------------------------------------------------------------------------------

def _number(value: float | None):
    """JSON has no NaN or Inf: those statistics are written as null (the nan/inf counts say why)."""
    return value if value is None or math.isfinite(value) else None


def _location(location: Location | None) -> dict | None:
    return None if location is None else {"index": location.index, "layer": location.layer, "tensor": location.tensor}


def check_json(session: DebugSession, replay: Replay | None = None) -> dict:
    rtol, atol = session.tolerance
    config = session.config
    mismatch = _location(session.first_mismatch)
    if mismatch is None and replay is not None and replay.mismatch is not None:
        mismatch = _location(replay.mismatch) | {"seen_in": "float64"}
    return {
        "config": {"device": str(session.device), "dtype": config.dtype, "batch": len(session.data.x),
                   "sizes": list(session.network.sizes), "seed": config.seed, "data": session.data.source,
                   "layers": session.network.source, "rtol": rtol, "atol": atol, "isolate": config.isolate,
                   "strict_forward": config.strict_forward, "init": config.init, "normalize": config.normalize,
                   "replay": config.replay},
        "loss": _number(session.loss),
        "steps": [_step_json(report) for report in session.reports],
        "first_mismatch": mismatch,
        "first_deviation": _location(session.first_deviation),
        "first_nonfinite": _location(session.first_nonfinite),
        "float64_replay": None if replay is None else {
            "rows": replay.rows, "first_mismatch": _location(replay.mismatch),
            "hint": replay.comparison.hint if replay.mismatch is not None else None, "note": replay.note,
            "moved": replay.moved, "explained": [note for note in replay.session.explained
                                                 if note not in session.explained]},
        "ok": mismatch is None,
    }


def _step_json(report: StepReport) -> dict:
    error = report.error
    return {
        "index": report.step.index, "direction": report.step.direction, "layer": report.step.layer,
        "tensors": [_tensor_json(t) for t in report.tensors],
        "fed_from_autograd": list(report.fed),
        "notes": list(report.notes),
        "output": report.output,
        "error": None if error is None else
            {"type": error.type, "message": error.message, "file": error.file, "line": error.line},
    }


def _tensor_json(comparison: Comparison) -> dict:
    stats, diff = comparison.stats, comparison.diff
    return {
        "name": comparison.name,
        "shape": list(stats.shape) if stats else None,
        "dtype": stats.dtype if stats else None,
        "device": stats.device if stats else None,
        "stats": None if stats is None else {
            key: _number(getattr(stats, key)) for key in ("mean", "std", "min", "max", "norm", "zeros")
        } | {"nan": stats.nan, "inf": stats.inf},
        "ref_shape": list(comparison.ref_shape) if comparison.ref_shape is not None else None,
        "diff": None if diff is None else {"max_abs": _number(diff.max_abs), "max_rel": _number(diff.max_rel),
                                           "cosine": _number(diff.cosine), "worst": list(diff.worst)},
        "match": comparison.match,
        "deviation": comparison.deviation,
        "hint": comparison.hint,
        "where": comparison.where,
        "slip_at": None if comparison.slip_at is None else dict(zip(("file", "line", "code"), comparison.slip_at)),
    }


# -- bench --------------------------------------------------------------------------------

BENCH_COLUMNS = ("", "v", "what it is", "median ± IQR", "× autograd", "× floor", "GFLOP/s", "peak memory", "max error")


def bench_row(row: VersionResult) -> tuple[Cell, ...]:
    """A VersionResult as cells under BENCH_COLUMNS: the verdict on its gradients first, as in the
    tensor tables, so that a narrow table still shows it."""
    if row.skipped:  # the reason where the time would be, for the same reason
        reason = Cell(row.skipped, "error") if row.match is False else Cell(f"skipped: {row.skipped}", "warning")
        return (Cell("✗", "error") if row.match is False else Cell(""), Cell(str(row.version)), Cell(row.name), reason,
                *[Cell("")] * 5)
    about = "≈ " if row.timed_rows else ""  # scaled from fewer rows
    return (Cell("✓", "success") if row.match else Cell("✗", "error"), Cell(str(row.version)), Cell(row.name),
            Cell(f"{about}{seconds(row.median_s)} ± {seconds(row.iqr_s)} ({row.runs})"),
            Cell(f"{row.ratio_to_autograd:.2f}×" if row.ratio_to_autograd is not None else "—"),
            Cell(f"{row.ratio_to_floor:.2f}×" if row.ratio_to_floor is not None else "—"),
            Cell(f"{row.gflops:.1f}"), Cell(about + size(row.peak_bytes)), Cell(number(row.max_abs_err)))


def floor_rows(roofline: Roofline) -> list[tuple[Cell, ...]]:
    """The floor of the versions that compute x.g, and of those that do not (version 7)."""
    rows = [(Cell(""), Cell(""), Cell("floor: the GEMMs alone", "dim"), Cell(seconds(roofline.median_s)), Cell(""),
             Cell(""), Cell(f"{roofline.gflops:.1f}"), Cell(""), Cell(""))]
    if roofline.params_only_s is not None:
        rows.append((Cell(""), Cell(""), Cell("floor without x.g (v7's work)", "dim"), Cell(seconds(roofline.params_only_s)),
                     Cell(""), Cell(""), Cell(f"{roofline.params_only_gflops:.1f}"), Cell(""), Cell("")))
    return rows


def bench_json(runner: BenchRunner, rows: list[VersionResult], roofline: Roofline | None) -> dict:
    return {
        "config": {"device": str(runner.device), "dtype": runner.config.dtype, "batch": runner.n,
                   "sizes": list(runner.sizes), "threads": runner.threads, "min_time": runner.config.min_time,
                   "layers": runner.yours.source if runner.yours is not None else None},
        # timed_rows is set only by the app's pane (a scaled outer product): bench's JSON keeps its documented keys
        "versions": [{key: _number(value) if isinstance(value, float) else value for key, value in asdict(row).items()
                      if key != "timed_rows" or value is not None} for row in rows],
        "roofline": None if roofline is None else asdict(roofline),
    }
