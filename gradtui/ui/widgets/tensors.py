"""The tensors of the current step: statistics, difference from autograd, match, and the hint."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import DataTable, Static

from gradtui.formatting import number, shape
from gradtui.session import StepReport
from gradtui.stats import Comparison

COLUMNS = ("tensor", "shape", "mean", "std", "min", "max", "norm", "zeros", "NaN/Inf", "max|Δ|", "cosine", "")


def themed(text: str, variable: str, colors: dict[str, str], bold: bool = False) -> Text:
    """DataTable cells take Rich markup, which knows no theme variables: resolve them here."""
    return Text(text, style=Style(color=colors.get(variable), bold=bold))


def row(t: Comparison, colors: dict[str, str]) -> tuple:
    s, d = t.stats, t.diff
    if s is None:
        cells = [t.name, themed("missing", "error", colors, bold=True)] + ["—"] * 7
    else:
        alarms = themed(f"{s.nan}/{s.inf}", "error", colors, bold=True) if not s.finite else "0"
        cells = [t.name, shape(s.shape), number(s.mean), number(s.std), number(s.min),
                 number(s.max), number(s.norm), f"{s.zeros:.0%}", alarms]
    cells += [number(d.max_abs) if d else "—", f"{d.cosine:.4f}" if d else "—",
              themed("✓", "success", colors) if t.match else themed("✗", "error", colors, bold=True)]
    return tuple(cells)


class TensorTable(Vertical):
    """The tensor table, its hint, and the tolerance in use."""

    def compose(self) -> ComposeResult:
        table = DataTable(id="tensor-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Static(id="hint")
        yield Static(id="tolerance")

    def show(self, report: StepReport | None, tolerance: tuple[float, float], dtype: str) -> None:
        table = self.query_one(DataTable)
        hint = self.query_one("#hint", Static)
        table.clear()
        colors = self.app.get_css_variables()
        hints = []
        if report is not None:
            for t in report.tensors:
                table.add_row(*row(t, colors), key=t.name)
                if t.hint:
                    hints.append(f"[b]{escape(t.name)}[/]: {escape(t.hint)}")
            if report.fed:
                hints.append(f"[dim]fed autograd's {', '.join(report.fed)} from above[/]")
            bad = report.first_mismatch
            if bad is not None:
                table.move_cursor(row=report.tensors.index(bad))
        hint.update("\n".join(hints))
        hint.display = bool(hints)
        hint.set_class(report is not None and not report.ok, "-mismatch")
        rtol, atol = tolerance
        self.query_one("#tolerance", Static).update(
            f"[dim]match: max|Δ| ≤ atol + rtol·max|autograd|   rtol {rtol:g} · atol {atol:g} ({dtype})[/]")

    @property
    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
