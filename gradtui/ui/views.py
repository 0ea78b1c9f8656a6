"""What each panel shows, as immutable views built from the app's state once per frame: the
widgets are handed a view and render it (data down); they report what happened with messages
(messages up). No torch here, and nothing a widget would have to compute."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradtui.report import Cell, first_nonfinite_index, pass_summary

if TYPE_CHECKING:
    from gradtui.steps import Step


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
    nonfinite = first_nonfinite_index(reports)
    rows = []
    for step in steps:
        index = step.index
        computed = index < fresh
        rows.append(PipelineRow(
            step, frames[index].report.mark if computed else None,
            waiting=not computed and (index == target or (seeking and index == fresh)),
            ahead=computed and (current is None or index > current), before=changes.get(index) if computed else None,
            current=index == current, upcoming=index == (-1 if current is None else current) + 1,
            nonfinite=index == nonfinite))
    loss = frames[current].loss if current is not None and current < len(frames) else None
    summary = tuple(pass_summary(reports, replay)) if not loading and fresh == len(steps) else ()
    return PipelineView(tuple(rows), loss, summary, loading)
