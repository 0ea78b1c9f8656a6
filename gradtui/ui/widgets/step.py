"""The current step: the chain rule with this step's factor highlighted, its formula, and the code
that ran for it (from the layer class actually used: the user's, when they gave one)."""

from __future__ import annotations

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import Static

from gradtui.formatting import short_path
from gradtui.ui.views import StepView


class StepPanel(Vertical):
    """The step panel."""

    def compose(self) -> ComposeResult:
        yield Static(id="chain")
        yield Static(id="formula")
        yield Static(id="step-error")
        yield Static(id="source")
        yield Static(id="slip-at")

    def show(self, view: StepView, theme_is_dark: bool = True) -> None:
        chain, formula_view, error_view, code_view = (self.query_one(f"#{name}", Static)
                                                      for name in ("chain", "formula", "step-error", "source"))
        self.border_title = view.title
        chain.update(view.chain)
        formula_view.update(f"[dim]this step:[/] {escape(view.formula)}")
        if self.problem is None:
            error_view.display = view.error is not None
            if view.error is not None:
                error_view.update(escape(view.error))
        slip_at = self.query_one("#slip-at", Static)
        slip_at.display = view.slip_at is not None
        if view.slip_at is not None:  # the forward line whose derivative the hint names, beside the backward's code
            slip_at.update(f"[dim]the hint's forward line:[/] {escape(view.slip_at)}")
        if view.source is None:
            code_view.update("[dim]loading…[/]")
            return
        file, first_line, code = view.source
        code_view.border_title = f"{short_path(file)}:{first_line}"
        code_view.update(Syntax(code.rstrip(), "python", theme="ansi_dark" if theme_is_dark else "ansi_light",
                                line_numbers=True, start_line=first_line, highlight_lines=set(view.highlight),
                                background_color="default", word_wrap=False))

    problem: str | None = None  # a reload that failed, shown instead of the step's error until the next load

    def show_problem(self, problem: str | None) -> None:
        self.problem = problem
        error_view = self.query_one("#step-error", Static)
        error_view.display = problem is not None
        if problem is not None:
            error_view.update(escape(problem))
