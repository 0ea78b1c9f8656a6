"""The timing pane: the bench runner's rows as they land, a progress bar, and the floor."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, ProgressBar, Static

from gradtui.bench.runner import Roofline, VersionResult
from gradtui.formatting import seconds, size
from gradtui.ui.widgets.tensors import themed

COLUMNS = ("v", "what it is", "median ± IQR", "× autograd", "GFLOP/s", "peak memory", "max error", "")


class TimingPane(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("[dim]press [b]t[/] to verify and time the lesson's versions; [b]escape[/] cancels[/]",
                     id="timing-status")
        yield ProgressBar(show_eta=False, id="timing-progress")
        table = DataTable(id="timing-table", cursor_type="row")
        table.add_columns(*COLUMNS)
        yield table

    def start(self, total: int, what: str) -> None:
        self.query_one(DataTable).clear()
        self.query_one(ProgressBar).update(total=total, progress=0)
        self.status(f"timing {what}…")

    def status(self, text: str) -> None:
        self.query_one("#timing-status", Static).update(text)

    def add(self, result: VersionResult | Roofline) -> None:
        table = self.query_one(DataTable)
        colors = self.app.get_css_variables()
        self.query_one(ProgressBar).advance(1)
        if isinstance(result, Roofline):
            table.add_row("", Text("floor: the GEMMs alone", style="dim"), seconds(result.median_s), "",
                          f"{result.gflops:.1f}", "", "", "", key="roofline")
        elif result.skipped:
            table.add_row(str(result.version), result.name, "—", "—", "—", "—", "—",
                          themed(f"skipped: {result.skipped}", "warning", colors), key=str(result.version))
        else:
            table.add_row(str(result.version), result.name,
                          f"{seconds(result.median_s)} ± {seconds(result.iqr_s)} ({result.runs})",
                          f"{result.ratio_to_autograd:.2f}×" if result.ratio_to_autograd is not None else "—",
                          f"{result.gflops:.1f}", size(result.peak_bytes),
                          f"{result.max_abs_err:.3g}" if result.max_abs_err is not None else "—",
                          themed("✓", "success", colors) if result.match else themed("✗ differs", "error", colors, bold=True),
                          key=str(result.version))
