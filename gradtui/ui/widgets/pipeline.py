"""Every step of the pass, with its state: pending ·, waiting ⟳, done ✓, deviation ≠, mismatch ✗,
error !; a step whose verdict changed on the last reload shows the old mark before the new; and
the loss. It renders a PipelineView (gradtui.ui.views) and nothing else."""

from __future__ import annotations

from textual.markup import escape
from textual.widgets import Static

from gradtui.report import MARK_STYLE, Cell
from gradtui.ui.views import PipelineView

ARROW = {"forward": "→", "backward": "←"}


def marked(mark: str) -> str:
    """A mark as theme-coloured markup."""
    style = MARK_STYLE[mark]
    return f"[{'' if style == 'success' else 'bold '}${style}]{mark}[/]"


def markup(cell: Cell) -> str:
    if cell.text in MARK_STYLE and cell.style == MARK_STYLE[cell.text]:
        return marked(cell.text)
    return f"[{cell.style}]{escape(cell.text)}[/]" if cell.style in ("dim", "bold") else escape(cell.text)


class Pipeline(Static):
    """The pipeline panel: ▶ marks the step on show, ▷ the next one."""

    def show(self, view: PipelineView) -> None:
        lines, width = [], max(len(row.step.layer) for row in view.rows)
        for row in view.rows:
            step = row.step
            if row.mark is not None:
                before = f"[dim]{row.before}[/]" if row.before else " "
                # Steps computed ahead of the one on show keep their verdict dim: not read yet.
                mark = before + (f"[dim]{row.mark}[/]" if row.ahead else marked(row.mark))
            elif row.waiting:
                mark = " [bold $accent]⟳[/]"
            else:
                mark = " [dim]·[/]"
            pointer = "▶" if row.current else ("▷" if row.upcoming else " ")
            produces = " ".join(step.produces)
            line = f"{pointer}{mark} {step.index:>2} {ARROW[step.direction]} {step.layer:<{width}} [dim]{produces}[/]"
            if row.nonfinite:
                line += " [bold $warning]NaN[/]"
            lines.append(f"[reverse]{line}[/]" if row.current else line)
        lines += ["", f"[b]loss[/] {view.loss:.6g}" if view.loss is not None else "[b]loss[/] [dim]—[/]", ""]
        if view.loading:
            lines.append("[dim]loading torch and the data…[/]")
        lines += ["".join(markup(cell) for cell in line) for line in view.summary]
        self.update("\n".join(lines))
