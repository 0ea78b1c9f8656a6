"""The current step: the chain rule with this step's factor highlighted, its formula, and the code
that ran for it (from the layer class actually used: the user's, when they gave one)."""

from __future__ import annotations

from pathlib import Path

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import Static

from gradtui.formatting import short_path
from gradtui.report import error_text
from gradtui.steps import LayerSpec, Step


def formula(step: Step) -> str:
    spec = step.spec
    w, b = spec.params if spec.params else ("", "")
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


class StepPanel(Vertical):
    """The step panel."""

    def compose(self) -> ComposeResult:
        yield Static(id="chain")
        yield Static(id="formula")
        yield Static(id="step-error")
        yield Static(id="source")

    def show(self, specs: tuple[LayerSpec, ...], step: Step, report, source: tuple[str, int, str] | None,
             theme_is_dark: bool = True) -> None:
        """`step` as it ran (`report`), or the step to run next (report None); its source when known."""
        chain, formula_view, error_view, code_view = (self.query_one(f"#{name}", Static)
                                                      for name in ("chain", "formula", "step-error", "source"))
        self.border_title = f"step {step.index} · {step.direction} · {step.layer} ({'ran' if report else 'next'})"
        chain.update(chain_rule(specs, step))
        formula_view.update(f"[dim]this step:[/] {escape(formula(step))}")
        error = report.error if report else None
        if self.problem is None:
            error_view.display = error is not None
            if error is not None:
                error_view.update(escape(error_text(error)))
        if source is None:
            code_view.update("[dim]loading…[/]")
            return
        file, first_line, code = source
        highlight = {error.line} if error and error.file and Path(error.file).resolve() == Path(file).resolve() else set()
        code_view.border_title = f"{short_path(file)}:{first_line}"
        code_view.update(Syntax(code.rstrip(), "python", theme="ansi_dark" if theme_is_dark else "ansi_light",
                                line_numbers=True, start_line=first_line, highlight_lines=highlight,
                                background_color="default", word_wrap=False))

    problem: str | None = None  # a reload that failed, shown instead of the step's error until the next load

    def show_problem(self, problem: str | None) -> None:
        self.problem = problem
        error_view = self.query_one("#step-error", Static)
        error_view.display = problem is not None
        if problem is not None:
            error_view.update(escape(problem))
