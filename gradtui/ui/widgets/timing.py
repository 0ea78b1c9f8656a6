"""The timing pane: it chooses what to time (the lesson's network at the run's widths), runs the
bench in a worker of its own, and adds what each result it yields brings (views.timing_update):
a row, the floor, a note. A progress bar counts the rows. TimingPane.Finished, once the run ended,
goes on to the app, whose keys change."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, ProgressBar, Static
from textual.worker import Worker, get_current_worker

from gradtui.bench.results import Roofline, VersionResult
from gradtui.config import VERSION_NUMBERS, RunConfig
from gradtui.report import BENCH_COLUMNS
from gradtui.steps import network_kinds
from gradtui.ui.bench_process import TimingSetup
from gradtui.ui.views import TimingUpdate, timing_update
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

    def time(self, bench: Callable[[RunConfig], Iterable[Result | None]], config: RunConfig) -> None:
        """Verify and time the lesson's versions at the run's widths (another --net: the lesson's network
        at its widths, without the user's layers, which are for another network)."""
        if config.kinds != network_kinds(config.widths):
            config = replace(config, net=None, hidden=config.widths, layers=None)
            lesson = " of the lesson's network at these widths"
        else:
            lesson = ""
        rows = len(config.versions or VERSION_NUMBERS) + (config.layers is not None)
        self.run(bench, config, rows + 1, f"the floor and {rows} versions{lesson}")

    def on_timing_pane_row(self, message: Row) -> None:
        message.stop()
        self.add(timing_update(message.result))

    def on_timing_pane_finished(self, message: Finished) -> None:
        self.finish(message.cancelled, message.error)  # and on to the app, whose keys change

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
