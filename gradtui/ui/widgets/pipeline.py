"""Every step of the pass, with its state: pending ·, waiting ⟳, done ✓, deviation ≠, mismatch ✗,
error !; a step whose verdict changed on the last reload shows the old mark before the new; and
the loss."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Static

from gradtui.report import MARK_STYLE

if TYPE_CHECKING:
    from gradtui.ui.app import GradTUI

ARROW = {"forward": "→", "backward": "←"}


def marked(mark: str) -> str:
    """A mark as theme-coloured markup."""
    style = MARK_STYLE[mark]
    return f"[{'' if style == 'success' else 'bold '}${style}]{mark}[/]"


class Pipeline(Static):
    """The pipeline panel: ▶ marks the step on show, ▷ the next one."""

    def show(self, app: GradTUI, seeking: bool = False) -> None:
        target, fresh, frames = app.target, app.fresh, app.frames
        current = target if target is not None and target < fresh else app.shown_step
        nonfinite = next((frame.report.step.index for frame in frames[:fresh]
                          if any(t.stats is not None and not t.stats.finite for t in frame.report.tensors)), None)
        lines, width = [], max(len(step.layer) for step in app.steps)
        for step in app.steps:
            index = step.index
            if index < fresh:
                before = f"[dim]{app.changes[index]}[/]" if index in app.changes else " "
                mark = frames[index].report.mark
                # Steps computed ahead of the one on show keep their verdict dim: not read yet.
                ahead = current is None or index > current
                mark = before + (f"[dim]{mark}[/]" if ahead else marked(mark))
            elif index == target or (seeking and index == fresh):
                mark = " [bold $accent]⟳[/]"
            else:
                mark = " [dim]·[/]"
            pointer = "▶" if index == current else ("▷" if index == (-1 if current is None else current) + 1 else " ")
            line = f"{pointer}{mark} {index:>2} {ARROW[step.direction]} {step.layer:<{width}} [dim]{' '.join(step.produces)}[/]"
            if index == nonfinite:
                line += " [bold $warning]NaN[/]"
            lines.append(f"[reverse]{line}[/]" if index == current else line)
        loss = frames[current].loss if current is not None and current < len(frames) else None
        lines += ["", f"[b]loss[/] {loss:.6g}" if loss is not None else "[b]loss[/] [dim]—[/]", ""]
        if app.session is None:
            lines.append("[dim]loading torch and the data…[/]")
        elif fresh == len(app.steps):
            lines += summary([frame.report for frame in frames], app.replay)
        self.update("\n".join(lines))


def summary(reports, replay=None) -> list[str]:
    """The whole pass in a few lines: where it first fails (in the run, or in its float64 replay),
    where the forward first deviates."""
    failing = next((r for r in reports if not r.ok), None)
    deviating = next((r for r in reports if r.deviating_tensor is not None), None)
    if failing is None:
        lines = [f"{marked('✓')} all match"]
        if replay is not None and replay.mismatch is not None:
            lines += [f"{marked('✗')} in float64 only:", f"  step {replay.mismatch.index}, {replay.mismatch.tensor}",
                      f"  [dim]first {replay.rows} rows[/]"]
        elif replay is not None and replay.note:
            lines += ["[dim]float64 replay stopped:", "  a step raised[/]"]
    else:
        what = "raised" if failing.error is not None else "mismatch"
        lines = [f"{marked(failing.mark)} {what} at step {failing.step.index}"]
    if deviating is not None and deviating is not failing:
        lines.append(f"{marked('≠')} deviates at step {deviating.step.index}")
    return lines
