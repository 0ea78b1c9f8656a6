"""The timing pane: it runs the bench (in a worker of its own) and posts each result it yields
(TimingPane.Row); the app hands back what that adds (`add`, a views.TimingUpdate): a row, the
floor, a note. A progress bar counts the rows. TimingPane.Finished says the run ended, and the
app, which hears it after every row, calls `finish`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, ProgressBar, Static
from textual.worker import Worker, get_current_worker

from gradtui.bench.results import Roofline, VersionResult
from gradtui.config import RunConfig
from gradtui.report import BENCH_COLUMNS
from gradtui.ui.bench_process import TimingSetup
from gradtui.ui.views import TimingUpdate
from gradtui.ui.widgets.tensors import cells

Result = TimingSetup | VersionResult | Roofline


class TimingPane(Vertical):
    @dataclass
    class Row(Message):
        result: Result

    @dataclass
    class Finished(Message):
        cancelled: bool
        error: str | None = None

    _worker: Worker | None = None

    def run(self, bench: Callable[[RunConfig], Iterable[Result | None]], config: RunConfig, total: int,
            what: str) -> None:
        """Times `bench(config)`'s rows (None among them: a heartbeat while a version runs, to stop at once)."""
        self.start(total, what)
        self._worker = self._timing_job(bench, config)

    def cancel(self) -> None:
        if self._worker is not None and self._worker.is_running:
            self._worker.cancel()
            self.status("[$warning]cancelling…[/]")

    @work(thread=True, group="timing", exit_on_error=False)
    def _timing_job(self, bench: Callable[[RunConfig], Iterable[Result | None]], config: RunConfig) -> None:
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

    def add(self, update: TimingUpdate) -> None:
        if update.setup is not None:
            self._setup = f" [dim]· {update.setup}[/]"
        if update.scaled is not None:
            self._scaled = f"\n[dim]{update.scaled}[/]"
        if update.setup is not None or update.scaled is not None:
            self.status(f"timing {self._what}…")
        if update.rows:
            self.query_one(ProgressBar).advance(1)
            table = self.query_one(DataTable)
            for key, row in update.rows:
                table.add_row(*cells(row, self.app.get_css_variables()), key=key)
