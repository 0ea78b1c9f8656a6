"""The timing pane: the bench runner's rows as they land, a progress bar, and the floor."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, ProgressBar, Static

from gradtui.report import BENCH_COLUMNS, bench_row, floor_rows
from gradtui.ui.bench_process import TimingSetup
from gradtui.ui.widgets.tensors import cells


class TimingPane(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("[dim]press [b]t[/] to verify and time the lesson's versions; [b]escape[/] cancels[/]",
                     id="timing-status")
        yield ProgressBar(show_eta=False, id="timing-progress")
        table = DataTable(id="timing-table", cursor_type="row")
        table.add_columns(*BENCH_COLUMNS)
        yield table

    _setup = ""  # how the timing process runs, once it has said
    _scaled = ""  # which versions were timed on fewer rows and scaled

    def start(self, total: int, what: str) -> None:
        self.query_one(DataTable).clear()
        self.query_one(ProgressBar).update(total=total, progress=0)
        self._what, self._setup, self._scaled = what, "", ""
        self.status(f"timing {what}…")

    def status(self, text: str) -> None:
        self.query_one("#timing-status", Static).update(text + self._setup + self._scaled)

    def finish(self, cancelled: bool, error: str | None) -> None:
        if error:
            self.status(f"[bold $error]timing failed: {error}[/]")
        elif cancelled:
            self.status("[$warning]cancelled[/] [dim](t runs again)[/]")
        else:
            self.status("[$success]done[/] [dim]· t runs again[/]")

    def add(self, result) -> None:
        """The TimingSetup, a VersionResult, or the Roofline (which has no version)."""
        if isinstance(result, TimingSetup):
            threads = f"{result.threads} thread{'s' if result.threads > 1 else ''}"
            spared = f", one core of {result.cores} left to this screen (bench uses all)" if result.cores > 1 else ""
            self._setup = f" [dim]· {threads}{spared}[/]"
            self.status(f"timing {self._what}…")
            return
        table = self.query_one(DataTable)
        self.query_one(ProgressBar).advance(1)
        if getattr(result, "timed_rows", None):
            self._scaled = (f"\n[dim]≈ timed on the first {result.timed_rows:,} rows and scaled to the batch, "
                            "so that its outer product stays small; gradtui bench times it whole[/]")
            self.status(f"timing {self._what}…")
        if not hasattr(result, "version"):
            for index, row in enumerate(floor_rows(result)):
                table.add_row(*cells(row, self.app.get_css_variables()), key=f"floor{index}")
        else:
            table.add_row(*cells(bench_row(result), self.app.get_css_variables()), key=str(result.version))
