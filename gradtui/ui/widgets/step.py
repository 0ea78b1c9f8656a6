"""The current step: the chain rule with this step's factor highlighted, its formula, and the code
that ran for it (from the layer class actually used: the user's, when they gave one)."""

from __future__ import annotations

from pathlib import Path

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import Static

from gradtui.session import DebugSession, Step

FORMULA = {
    ("forward", "lin"): "{out} = {inp} @ {w} + {b}",
    ("forward", "relu"): "{out} = max({inp}, 0)",
    ("forward", "mse"): "loss = mean(({inp} − y)²)",
    ("backward", "mse"): "{inp}.g = 2 ({inp} − y) / N",
    ("backward", "lin"): "{inp}.g = {out}.g @ {w}ᵀ    {w}.g = {inp}ᵀ @ {out}.g    {b}.g = {out}.g.sum(0)",
    ("backward", "relu"): "{inp}.g = ({inp} > 0) * {out}.g",
}


def formula(step: Step) -> str:
    spec = step.spec
    w, b = spec.params if spec.params else ("", "")
    return FORMULA[step.direction, spec.kind].format(inp=spec.inp, out=spec.out, w=w, b=b)


def chain_rule(session: DebugSession, step: Step) -> str:
    """Backward: ∂loss/∂x as the product of one factor per layer, this step's in red (as the notes
    colour it). Forward: the composition of the layers, this step's in red."""
    specs = session.network.specs
    if step.direction == "forward":
        text = "x"
        for spec in specs:
            name = f"[bold $error]{spec.name}[/]" if spec is step.spec else spec.name
            text = f"{name}({text}, y)" if spec.kind == "mse" else f"{name}({text})"
        return f"loss = {text}"
    factors = []
    for spec in reversed(specs):
        top = "loss" if spec.kind == "mse" else spec.out
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

    def show(self, session: DebugSession | None, theme_is_dark: bool = True) -> None:
        chain, formula_view, error_view, source = (self.query_one(f"#{name}", Static)
                                                   for name in ("chain", "formula", "step-error", "source"))
        if session is None:
            chain.update("")
            formula_view.update("")
            error_view.display = False
            source.update("")
            return
        shown = max(session.cursor - 1, 0)
        step = session.steps[shown]
        report = session.reports[shown] if session.cursor else None
        status = "next" if report is None else "ran"
        self.border_title = f"step {step.index} · {step.direction} · {step.layer} ({status})"
        chain.update(chain_rule(session, step))
        formula_view.update(f"[dim]this step:[/] {escape(formula(step))}")
        error = report.error if report else None
        error_view.display = error is not None
        if error is not None:
            where = f" at {escape(short_path(error.file))}:{error.line}" if error.file else ""
            error_view.update(f"[bold]{escape(error.type)}[/]{where}: {escape(error.message)}")
        file, first_line, code = session.source(step)
        highlight = {error.line} if error and error.file and Path(error.file).resolve() == Path(file).resolve() else set()
        source.border_title = f"{short_path(file)}:{first_line}"
        source.update(Syntax(code.rstrip(), "python", theme="ansi_dark" if theme_is_dark else "ansi_light",
                             line_numbers=True, start_line=first_line, highlight_lines=highlight,
                             background_color="default", word_wrap=False))


def short_path(path: str) -> str:
    """A path relative to the working directory when it is under it, as the user typed it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path
