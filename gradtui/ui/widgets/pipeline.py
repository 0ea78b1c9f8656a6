"""Every step of the pass, with its state: pending, running, done ✓, deviation ≠, mismatch ✗, error !;
and the loss."""

from __future__ import annotations

from textual.widgets import Static

from gradtui.report import MARK_STYLE
from gradtui.session import DebugSession

ARROW = {"forward": "→", "backward": "←"}


def step_mark(session: DebugSession, index: int, running: int | None) -> str:
    """The step's state as theme-coloured markup."""
    if index == running:
        return "[bold $accent]⟳[/]"
    if index >= session.cursor:
        return "[dim]·[/]"
    mark = session.reports[index].mark
    style = MARK_STYLE[mark]
    return f"[{'' if style == 'success' else 'bold '}${style}]{mark}[/]"


class Pipeline(Static):
    """The pipeline panel: ▶ marks the step on show (the last one run), ▷ the next one."""

    def show(self, session: DebugSession | None, running: int | None = None) -> None:
        if session is None:
            self.update("[dim]building the network…[/]")
            return
        lines = []
        current = session.cursor - 1
        nonfinite = session.first_nonfinite
        for step in session.steps:
            pointer = "▶" if step.index == current else ("▷" if step.index == session.cursor else " ")
            line = (f"{pointer} {step_mark(session, step.index, running)} {step.index:>2} {ARROW[step.direction]} "
                    f"{step.layer:<6} [dim]{' '.join(step.produces)}[/]")
            if nonfinite is not None and step.index == nonfinite.index:
                line += " [bold $warning]NaN/Inf[/]"
            lines.append(f"[reverse]{line}[/]" if step.index == current else line)
        loss = session.loss
        lines.append("")
        lines.append(f"[b]loss[/] {loss:.6g}" if loss is not None else "[b]loss[/] [dim]—[/]")
        self.update("\n".join(lines))
