"""The timing pane: it runs the bench (in a worker of its own), shows the runner's rows as they
land, a progress bar, and the floor; it posts TimingPane.Finished when the run ends."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, ProgressBar, Static
from textual.worker import Worker, get_current_worker

from gradtui.report import BENCH_COLUMNS, bench_row, floor_rows
from gradtui.ui.bench_process import TimingSetup
from gradtui.ui.widgets.tensors import cells


class TimingPane(Vertical):
    @dataclass
    class Row(Message):
        result: object  # TimingSetup | VersionResult | Roofline

    @dataclass
    class Finished(Message):
        cancelled: bool
        error: str | None = None

    _worker: Worker | None = None

    def run(self, bench: Callable[[object], Iterable], config, total: int, what: str) -> None:
        """Times `bench(config)`'s rows (None among them: a heartbeat while a version runs, to stop at once)."""
        self.start(total, what)
        self._worker = self._timing_job(bench, config)

    def cancel(self) -> None:
        if self._worker is not None and self._worker.is_running:
            self._worker.cancel()
            self.status("[$warning]cancelling…[/]")

    @work(thread=True, group="timing", exit_on_error=False)
    def _timing_job(self, bench: Callable[[object], Iterable], config) -> None:
        worker = get_current_worker()
        results = iter(bench(config))
        try:
            for result in results:
                if worker.is_cancelled:
                    break
                if result is not None:
                    self.post_message(self.Row(result))
        except Exception as exc:
            self.post_message(self.Finished(False, f"{type(exc).__name__}: {exc}"))
            return
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()  # ends the timing process, if it still runs
        self.post_message(self.Finished(worker.is_cancelled))

    def on_timing_pane_row(self, message: Row) -> None:
        message.stop()
        if self.is_attached and self.app.is_running:
            self.add(message.result)

    def on_timing_pane_finished(self, message: Finished) -> None:
        if self.is_attached and self.app.is_running:  # the app hears of it too: what t and escape can do
            self.finish(message.cancelled, message.error)

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
