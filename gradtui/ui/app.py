"""GradTUI: step through the backward pass, with the timing pane.

A thin face over DebugSession and the bench runner: every torch call runs in a thread
worker, which posts a message when it is done; the handlers update the widgets from what
the session reports. One session job runs at a time (the keys that would start another are
greyed out meanwhile), so the session is never touched by two threads at once.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Footer, Header, TabbedContent, TabPane
from textual.worker import Worker, get_current_worker

from gradtui.config import RunConfig
from gradtui.ui.widgets.help import HelpScreen
from gradtui.ui.widgets.histogram import HistogramPanel
from gradtui.ui.widgets.pipeline import Pipeline
from gradtui.ui.widgets.step import StepPanel, short_path
from gradtui.ui.widgets.tensors import TensorTable
from gradtui.ui.widgets.timing import TimingPane


def run_bench(config: RunConfig) -> Iterable:
    from gradtui.bench.runner import results_in_subprocess

    return results_in_subprocess(config)


# Declared once: key binding, footer entry, help screen line and command palette entry.
KEYS = [
    Binding("n,right,space", "next", "Step", tooltip="next step", priority=True),
    Binding("p,left", "back", "Back", tooltip="step back (undo the last step exactly)", priority=True),
    Binding("e", "to_end", "End", tooltip="run to the end"),
    Binding("m", "to_mismatch", "Mismatch", tooltip="run to the first mismatch (or error)"),
    Binding("r", "reset", "Reset", tooltip="reset to step 0 (same seed, same data)"),
    Binding("t", "timing", "Timing", tooltip="verify and time the lesson's versions (in the Timing tab)"),
    Binding("escape", "cancel_timing", "Cancel", tooltip="cancel the timing run"),
    Binding("d", "device", "Device", tooltip="switch device cpu ⇄ cuda (when CUDA is available)"),
    Binding("question_mark", "help", "Help", tooltip="this help"),
    Binding("q", "quit", "Quit", tooltip="quit"),
]

SESSION_ACTIONS = {"next", "back", "to_end", "to_mismatch", "reset", "device"}


@dataclass
class SessionChanged(Message):
    """A session job finished: the screen shows the session's new state."""

    selected: str | None
    histogram: object  # stats.Histogram | None
    error: str | None = None


@dataclass
class HistogramReady(Message):
    name: str
    histogram: object


@dataclass
class BenchRow(Message):
    result: object  # VersionResult | Roofline


@dataclass
class BenchFinished(Message):
    cancelled: bool
    error: str | None = None


class GradTUI(App[int]):
    CSS_PATH = Path(__file__).with_name("gradtui.tcss")  # absolute: subclasses live elsewhere
    TITLE = "gradtui"
    BINDINGS = KEYS
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]

    busy: reactive[bool] = reactive(False)
    timing: reactive[bool] = reactive(False)

    def __init__(self, config: RunConfig, data=None, bench: Callable[[RunConfig], Iterable] = run_bench):
        """`data` replaces the config's data (as DebugSession takes it); `bench` yields the timing
        rows (tests inject fixed ones)."""
        super().__init__()
        self.config = config
        self._data = data
        self._bench = bench
        self.session = None  # the DebugSession, built in a worker so the first frame comes at once
        self._pending: deque[str] = deque()  # session keys typed while a step ran
        self._timing_worker: Worker | None = None
        self._cuda = False  # known once the loading worker has asked torch (no torch on the UI thread)

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="∂")
        with TabbedContent(id="tabs"):
            with TabPane("Debugger", id="debugger"):
                with Horizontal(id="main"):
                    yield Pipeline(id="pipeline")
                    with Vertical(id="right"):
                        yield StepPanel(id="step")
                        yield TensorTable(id="tensors")
                        yield HistogramPanel(id="histogram")
            with TabPane("Timing", id="timing"):
                yield TimingPane(id="timing-pane")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.config.device} · {self.config.dtype} · loading…"
        for panel, title in (("#pipeline", "pipeline"), ("#tensors", "tensors"), ("#histogram", "histogram")):
            self.query_one(panel).border_title = title
        self.busy = True
        self.query_one(Pipeline).show(None)
        self._load()

    def get_system_commands(self, screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in KEYS:
            if binding.action not in ("quit", "help") and self.check_action(binding.action, ()):
                yield SystemCommand(binding.description, binding.tooltip, lambda a=binding.action: self.run_action(a))

    # -- what can run now ------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        session = self.session
        if action == "cancel_timing":
            return self.timing or False  # hidden unless a timing run can be cancelled
        if action == "timing":
            return None if self.timing else True
        if action == "device":
            return True if self._cuda and not self.busy else None
        if action in SESSION_ACTIONS:
            if session is None or (self.busy and action == "device"):
                return None
            if self.busy:
                return True  # queued: n n n typed during a step runs three steps
            if action == "back":
                return True if session.cursor > 0 else None
            if action in ("next", "to_end", "to_mismatch"):
                return True if not session.done else None
        return True

    def watch_busy(self) -> None:
        self.refresh_bindings()

    def watch_timing(self) -> None:
        self.refresh_bindings()

    # -- session jobs: one at a time, each in a thread worker ---------------------------------

    @work(thread=True, group="session", exit_on_error=False)
    def _load(self) -> None:
        from gradtui.config import InputError
        from gradtui.session import DebugSession

        self._cuda = _cuda_available()
        try:
            session = DebugSession(self.config, self._data)
            session.prepare_reference()
        except InputError as exc:  # the CLI checks input before the app opens; this is for direct use
            self.call_from_thread(self.exit, return_code=2, message=f"gradtui: {exc}")
            return
        except Exception as exc:  # out of memory on a device, say: leave with one line, not a traceback
            self.call_from_thread(self.exit, return_code=1, message=f"gradtui: {type(exc).__name__}: {exc}")
            return
        self.session = session
        for warning in session.data.warnings:
            self.call_from_thread(self.notify, warning, severity="warning", timeout=8)
        self.post_message(self._changed())

    def _start(self, job: Callable, running: int | None) -> None:
        self.busy = True
        self.query_one(Pipeline).show(self.session, running)
        self._session_job(job)

    @work(thread=True, group="session", exit_on_error=False)
    def _session_job(self, job: Callable) -> None:
        try:
            job(self.session)
        except Exception as exc:  # an engine bug: say so, keep the app alive
            self.post_message(self._changed(error=f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self._changed())

    def _changed(self, error: str | None = None) -> SessionChanged:
        """Runs in the worker: the default tensor to show (the first that mismatches) and its histogram."""
        report = self.session.reports[-1] if self.session.reports else None
        selected = None
        if report is not None and report.tensors:
            selected = (report.first_mismatch or report.tensors[0]).name
        return SessionChanged(selected, self._histogram(selected), error)

    def _histogram(self, name: str | None):
        if name is None:
            return None
        from gradtui.stats import histogram

        return histogram(self.session.tensor(name), self.session.reference_tensor(name))

    def on_session_changed(self, message: SessionChanged) -> None:
        self.busy = False
        session = self.session
        self.sub_title = (f"{session.network.describe()} · {session.device} · {self.config.dtype} · "
                          f"batch {len(session.data.x)} · layers: {short_path(session.network.source)}")
        self.query_one(Pipeline).show(session)
        self.query_one(StepPanel).show(session, self.current_theme.dark)
        report = session.reports[-1] if session.reports else None
        self.query_one(TensorTable).show(report, session.tolerance, self.config.dtype)
        self.query_one(HistogramPanel).show(message.selected, message.histogram)
        if message.error:
            self.notify(message.error, title="gradtui failed", severity="error", timeout=10)
        self._run_pending()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "tensor-table" or self.busy or event.row_key is None:
            return
        if str(event.row_key.value) != self.query_one(HistogramPanel).showing:  # the step's own pick is shown already
            self._histogram_job(str(event.row_key.value))

    @work(thread=True, group="histogram", exclusive=True, exit_on_error=False)
    def _histogram_job(self, name: str) -> None:
        self.post_message(HistogramReady(name, self._histogram(name)))

    def on_histogram_ready(self, message: HistogramReady) -> None:
        if message.name == self.query_one(TensorTable).selected:
            self.query_one(HistogramPanel).show(message.name, message.histogram)

    # -- actions ---------------------------------------------------------------------------

    def _queue_or_start(self, action: str, job: Callable, running: bool) -> None:
        """A key pressed while a step runs waits its turn (up to a few), as typed keys do."""
        if self.busy:
            if len(self._pending) < 16:
                self._pending.append(action)
            return
        self._start(job, self.session.cursor if running else None)

    def _run_pending(self) -> None:
        while self._pending:
            action = self._pending.popleft()
            if self.check_action(action, ()) is True:
                getattr(self, f"action_{action}")()
                return

    def action_next(self) -> None:
        self._queue_or_start("next", lambda session: session.step(), running=True)

    def action_back(self) -> None:
        self._queue_or_start("back", lambda session: session.back(), running=False)

    def action_to_end(self) -> None:
        self._queue_or_start("to_end", lambda session: session.run_to_end(), running=True)

    def action_to_mismatch(self) -> None:
        self._queue_or_start("to_mismatch", lambda session: session.run_to_mismatch(), running=True)

    def action_reset(self) -> None:
        self._queue_or_start("reset", lambda session: session.reset(), running=False)

    def action_device(self) -> None:
        current = str(self.session.device)
        self.config = replace(self.config, device="cpu" if current.startswith("cuda") else "cuda")
        self.busy = True
        self._load()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(KEYS))

    # -- timing ----------------------------------------------------------------------------

    def action_timing(self) -> None:
        self.query_one(TabbedContent).active = "timing"
        versions = self.config.versions or tuple(range(1, 8))
        self.query_one(TimingPane).start(len(versions) + 1, f"{len(versions)} versions and the floor")
        self.timing = True
        self._timing_worker = self._timing_job()

    @work(thread=True, group="timing", exit_on_error=False)
    def _timing_job(self) -> None:
        worker = get_current_worker()
        results = iter(self._bench(self.config))
        try:
            for result in results:  # None: a heartbeat while a version runs, to stop at once
                if worker.is_cancelled:
                    break
                if result is not None:
                    self.post_message(BenchRow(result))
        except Exception as exc:
            self.post_message(BenchFinished(False, f"{type(exc).__name__}: {exc}"))
            return
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()  # ends the timing process, if it still runs
        self.post_message(BenchFinished(worker.is_cancelled))

    def on_bench_row(self, message: BenchRow) -> None:
        self.query_one(TimingPane).add(message.result)

    def on_bench_finished(self, message: BenchFinished) -> None:
        self.timing = False
        pane = self.query_one(TimingPane)
        if message.error:
            pane.status(f"[bold $error]timing failed: {message.error}[/]")
        else:
            pane.status("[$warning]cancelled[/] [dim](t runs again)[/]" if message.cancelled
                        else "[$success]done[/] [dim]· floor: the forward and backward matrix products alone · "
                             "t runs again[/]")

    def action_cancel_timing(self) -> None:
        if self._timing_worker is not None:
            self._timing_worker.cancel()
            self.query_one(TimingPane).status("[$warning]cancelling…[/]")


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
