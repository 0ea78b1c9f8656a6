"""The tensors of the current step: verdict, difference from the reference, statistics, and the hints."""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from gradtui.report import TENSOR_COLUMNS, Cell, panel_lines, tensor_row


def cell_text(cell: Cell, colors: dict[str, str]) -> Text:
    """A report cell for a DataTable, which takes Rich styles and knows no theme variables:
    resolve them here. Errors are bold."""
    if cell.style in (None, "dim", "bold"):
        return Text(cell.text, style=cell.style or "")
    return Text(cell.text, style=Style(color=colors.get(cell.style), bold=cell.style == "error"))


def cells(row: tuple[Cell, ...], colors: dict[str, str]) -> tuple[Text, ...]:
    return tuple(cell_text(cell, colors) for cell in row)


class TensorTable(Vertical):
    """The tensor table, its hint, and the tolerance in use. Moving through the table posts
    `TensorTable.Selected` with the tensor's name."""

    @dataclass
    class Selected(Message):
        name: str | None

    def compose(self) -> ComposeResult:
        table = DataTable(id="tensor-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*TENSOR_COLUMNS)
        yield table
        yield Static(id="hint")
        yield Static(id="tolerance")

    def show(self, report, tolerance: tuple[float, float], dtype: str) -> None:
        table = self.query_one(DataTable)
        hint = self.query_one("#hint", Static)
        table.clear()
        colors = self.app.get_css_variables()
        hints = []
        if report is not None:
            for t in report.tensors:
                table.add_row(*cells(tensor_row(t), colors), key=t.name)
            hints = [Text.assemble(*cells(line, colors)) for line in panel_lines(report)]
            bad = report.failing_tensor
            if bad is not None:
                table.move_cursor(row=report.tensors.index(bad))
        hint.update(Text("\n").join(hints))
        hint.display = bool(hints)
        hint.set_class(report is not None and not report.ok, "-mismatch")
        rtol, atol = tolerance
        self.query_one("#tolerance", Static).update(
            f"[dim]match: max|Δ| ≤ atol + rtol·max|reference|   rtol {rtol:g} · atol {atol:g} ({dtype})[/]")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.Selected(self.selected))

    @property
    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
