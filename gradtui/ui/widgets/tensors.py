"""The tensors of the current step: verdict, difference from the reference, statistics, and the hints."""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from gradtui.report import TENSOR_COLUMNS, Cell
from gradtui.ui.views import TensorView


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

    def show(self, view: TensorView) -> None:
        table = self.query_one(DataTable)
        hint = self.query_one("#hint", Static)
        table.clear()
        colors = self.app.get_css_variables()
        for name, row in view.rows:
            table.add_row(*cells(row, colors), key=name)
        if view.cursor is not None:
            table.move_cursor(row=view.cursor)
        table.display = bool(view.rows) or not view.lines  # a step that raised before any tensor: its error alone
        hint.update(Text("\n").join(Text.assemble(*cells(line, colors)) for line in view.lines))
        hint.display = bool(view.lines)
        hint.set_class(view.failing, "-mismatch")
        self.query_one("#tolerance", Static).update(f"[dim]{view.tolerance}[/]")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.Selected(self.selected))

    @property
    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
