"""GradTUI: step through the backward pass, with the timing pane.

A thin face over DebugSession and the bench runner, built to answer every key at once:

- The first frame comes before torch is imported: the network and its steps follow from the
  options alone. A worker then loads torch, builds the session, and runs every step *ahead*
  of the screen (the pass is deterministic, so running ahead changes no result), posting one
  `Frame` per step: the report, the loss, the histograms, all made off the UI thread.
- A key only moves `target`, the step the user asked for. The screen shows it as soon as its
  frame has landed: at once when it has, with ⟳ on the pipeline until then. `shown_step` is
  the step on show, set once the screen shows it. Keys typed while loading move the target
  too, so nothing typed is lost.
- When the --layers file changes on disk (or on `l`) a fresh session replays the pass with the
  new classes and the pipeline marks each step whose verdict changed; a file that no longer
  imports keeps the last good classes and says why.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Header, TabbedContent, TabPane
from textual.worker import get_current_worker

from gradtui.config import N_FEATURES, VERSION_NUMBERS, InputError, RunConfig
from gradtui.formatting import short_path
from gradtui.steps import build_steps, chained, layer_specs, network_kinds
from gradtui.ui.header import HEADER_CHROME, header_line, network_forms
from gradtui.ui.views import PipelineView, histogram_view, pipeline_view, step_view, tensor_view
from gradtui.ui.widgets.footer import KeyFooter
from gradtui.ui.widgets.help import HelpScreen
from gradtui.ui.widgets.histogram import HistogramPanel
from gradtui.ui.widgets.pipeline import Pipeline
from gradtui.ui.widgets.step import StepPanel
from gradtui.ui.widgets.tensors import TensorTable
from gradtui.ui.widgets.timing import TimingPane

if TYPE_CHECKING:  # torch loads in the worker, after the first frame
    from gradtui.session import DebugSession, Location, StepReport
    from gradtui.stats import Histogram

LAYERS_POLL_S = 0.5  # how often the --layers file's modification time is looked at


# Versions 1 and 3 build an N × 784 × 50 outer product: 8 GB a call at the default batch, which
# stalled every process on the machine by up to 115 ms (the app's screen more); at 1 GiB, not.
# The pane times them on the rows that fit and scales (≈); gradtui bench times them whole.
PANE_OUTER_PRODUCT_BYTES = 1 << 30


def run_bench(config: RunConfig) -> Iterable:
    from gradtui.ui.bench_process import results_in_subprocess

    return results_in_subprocess(config, PANE_OUTER_PRODUCT_BYTES)


# Declared once: key binding, footer entry, help screen line and command palette entry.
KEYS = [
    Binding("n,right,space", "next", "Step", tooltip="next step", priority=True),
    Binding("p,left", "back", "Back", tooltip="step back", priority=True),
    Binding("e", "to_end", "End", tooltip="run to the end"),
    Binding("m", "to_mismatch", "Mismatch", tooltip="run to the next mismatch (or error)"),
    Binding("r", "reset", "Reset", tooltip="back to before step 0 (same seed, same data)"),
    Binding("l", "reload", "Reload", tooltip="reload the --layers file now (it also reloads when saved)"),
    Binding("t", "timing", "Timing", tooltip="verify and time the lesson's versions (in the Timing tab)"),
    Binding("escape", "cancel_timing", "Cancel", tooltip="cancel the timing run"),
    Binding("d", "device", "Device", tooltip="switch device cpu ⇄ cuda (when CUDA is available)"),
    Binding("question_mark", "help", "Help", tooltip="this help"),
    Binding("q", "quit", "Quit", tooltip="quit"),
]


@dataclass(frozen=True)
class Frame:
    """What the screen shows for one step, made in the worker: no torch on the UI thread."""

    report: StepReport
    loss: float | None  # the loss once this step has run
    histograms: dict[str, Histogram | None]  # by tensor name


@dataclass
class SessionLoaded(Message):
    generation: int
    session: DebugSession
    sources: list  # per step: (file, first line, code) of the method that runs
    cuda: bool


@dataclass
class FrameReady(Message):
    generation: int
    index: int
    frame: Frame


@dataclass(frozen=True)
class ReplayVerdict:
    """What the float64 replay found, in plain data for the screen (see gradtui.replay)."""

    rows: int
    mismatch: Location | None
    hint: str | None
    note: str | None
    seen_only: str  # "seen in float64 only", "seen only with b1 off 0"
    briefly: str  # the same, for the pipeline panel


@dataclass
class ReplayReady(Message):
    generation: int
    verdict: ReplayVerdict


@dataclass
class LoadFailed(Message):
    generation: int
    error: str
    bad_input: bool


class GradTUI(App[int]):
    CSS_PATH = Path(__file__).with_name("gradtui.tcss")  # absolute: subclasses live elsewhere
    TITLE = "gradtui"
    BINDINGS = KEYS
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]

    timing: reactive[bool] = reactive(False)
    target: reactive[int | None] = reactive(None, init=False)  # the step asked for; None: before step 0

    def __init__(self, config: RunConfig, data=None, bench: Callable[[RunConfig], Iterable] = run_bench,
                 network=None, params=None):
        """`data` replaces the config's data (as DebugSession takes it), `network` and `params` its
        layers and weights (the Python API's model: gradtui.debug); `bench` yields the timing rows
        (tests inject fixed ones)."""
        super().__init__()
        self.config = config
        self._data = data
        self._network, self._params = network, params
        self._bench = bench
        self.specs = layer_specs(config.kinds)
        self.steps = build_steps(self.specs)
        self.session = None  # the DebugSession of the latest good load, running ahead in a worker
        self.frames: list[Frame] = []  # per step run; after a reload, the old ones until replaced
        self.fresh = 0  # how many of `frames` come from the latest load
        self.sources: list = []
        self.shown_step: int | None = None
        self.changes: dict[int, str] = {}  # step -> its mark before the last reload, where it changed
        self._seeking: int | None = None  # `m` waits for frames from this step on
        self._generation = 0
        self._layers_mtime = _mtime(config.layers)
        self._cuda = False
        self.replay: ReplayVerdict | None = None  # the float64 replay of a matching pass, once run
        self._subtitle_state = ""  # " · loading torch…", …: what the header says is under way
        self.header_text = ""  # the header's whole line, for the help screen

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="∂")
        with TabbedContent(id="tabs"):
            with TabPane("Debugger", id="debugger"), Horizontal(id="main"):
                yield Pipeline(id="pipeline")
                with Vertical(id="right"):
                    yield StepPanel(id="step")
                    yield TensorTable(id="tensors")
                    yield HistogramPanel(id="histogram")
            with TabPane("Timing", id="timing"):
                yield TimingPane(id="timing-pane")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._set_subtitle(" · loading torch…")
        for panel, title in (("#pipeline", "pipeline"), ("#tensors", "tensors"), ("#histogram", "histogram")):
            self.query_one(panel).border_title = title
        self._show()
        self._load(self._generation, self._data)
        if self.config.layers is not None:
            self.set_interval(LAYERS_POLL_S, self._poll_layers)

    def _set_subtitle(self, state: str | None = None) -> None:
        """The header's line, fitted to the terminal's width (the help screen has it whole)."""
        self._subtitle_state = self._subtitle_state if state is None else state
        session = self.session
        if session is not None:
            shapes, device, rows = session.network.shapes, session.device, len(session.data.x)
        else:
            shapes = chained((None if self.config.data else N_FEATURES, *self.config.widths, self.config.n_out))
            device, rows = self.config.device, self.config.batch or "…"
        layers = short_path(str(self.config.layers)) if self.config.layers else None
        line = partial(header_line, network_forms(self.specs, shapes), str(device), self.config.dtype, rows, layers,
                       self._subtitle_state)
        self.header_text = line()
        self.title = line(max(20, self.size.width - HEADER_CHROME))

    def on_resize(self) -> None:
        self._set_subtitle()

    def get_system_commands(self, screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in KEYS:
            if binding.action not in ("quit", "help") and self.check_action(binding.action, ()):
                yield SystemCommand(binding.description, binding.tooltip, lambda a=binding.action: self.run_action(a))

    # -- what can run now ------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        last = len(self.steps) - 1
        if action == "cancel_timing":
            return self.timing or False  # hidden unless a timing run can be cancelled
        if action == "timing":
            return None if self.timing else True
        if action == "device":  # a model handed in keeps its own tensors' device
            return True if self._cuda and self._network is None else None
        if action == "reload":
            return True if self.config.layers is not None and self.session is not None else None
        if action in ("back", "reset"):
            return True if self.target is not None else None
        if action in ("next", "to_end", "to_mismatch"):
            return True if self.target is None or self.target < last else None
        return True

    def watch_timing(self) -> None:
        self.refresh_bindings()

    def watch_target(self, before: int | None, target: int | None) -> None:
        # The footer recomposes on every refresh_bindings (a good share of a key's time): only
        # when what a key can do changes, at either end of the pass.
        last = len(self.steps) - 1
        if (before is None, before == last) != (target is None, target == last):
            self.refresh_bindings()
        self._show()

    # -- the session, run ahead in a worker ---------------------------------------------------

    @work(thread=True, group="session", exclusive=True, exit_on_error=False)
    def _load(self, generation: int, data) -> None:
        worker = get_current_worker()
        run_ahead(self.config, data, self._network, self._params, generation, self.post_message,
                  lambda: worker.is_cancelled)

    def _current(self, generation: int) -> bool:
        """A worker's message is for the screen: from the latest load, and the app not shutting down
        (its widgets are gone then, while messages already posted are still handled)."""
        return generation == self._generation and self.is_running

    def on_replay_ready(self, message: ReplayReady) -> None:
        if not self._current(message.generation):
            return
        self.replay = message.verdict
        self.query_one(Pipeline).show(self._pipeline_view())
        if message.verdict.mismatch is not None:
            where = message.verdict.mismatch
            self.notify(message.verdict.hint, title=f"✗ {message.verdict.seen_only}: step {where.index}, {where.tensor}",
                        severity="error", timeout=20)

    def on_session_loaded(self, message: SessionLoaded) -> None:
        if not self._current(message.generation):
            return
        for warning in (*message.session.data.warnings, *message.session.network.notes):
            self.notify(warning, severity="warning", timeout=8)
        self.session, self.sources, self._cuda, self.fresh = message.session, message.sources, message.cuda, 0
        self.replay = None
        if message.session.network.specs != self.specs:  # the layer file's Model: its own layers and steps
            self.specs, self.steps = message.session.network.specs, message.session.steps
            self.frames, self.changes = [], {}
            if self.target is not None and self.target >= len(self.steps):
                self.target = len(self.steps) - 1
        # A full collection walks every object of the app, torch and Textual (150 ms and more on a
        # slow machine, a stall the user sees): what is loaded by now lives as long as the app.
        gc.freeze()
        self._set_subtitle("")
        self.refresh_bindings()
        self._show()

    def on_load_failed(self, message: LoadFailed) -> None:
        if not self._current(message.generation):
            return
        if self.session is None:  # nothing to keep showing: leave with the one line the CLI would print
            self.exit(return_code=2 if message.bad_input else 1, message=f"gradtui: {message.error}")
            return
        self._set_subtitle(" · reload failed: keeping the last good layers")
        self.query_one(StepPanel).show_problem(f"reload failed: {message.error}")
        self.notify(message.error, title="the layer file did not load", severity="error", timeout=10)

    def on_frame_ready(self, message: FrameReady) -> None:
        if not self._current(message.generation):
            return
        index = message.index
        if index < len(self.frames):
            old = self.frames[index].report.mark
            if old != message.frame.report.mark:
                self.changes[index] = old
            self.frames[index] = message.frame
        else:
            self.frames.append(message.frame)
        self.fresh = index + 1
        if self._seeking is not None:
            self._seek_mismatch()
        elif self.target is not None and index >= self.target or index == len(self.steps) - 1:
            self._show()
        else:
            self.query_one(Pipeline).show(self._pipeline_view())

    # -- showing --------------------------------------------------------------------------

    def _show(self) -> None:
        """The target step, if its frame has landed; else ⟳ on it and the rest as it was."""
        target = self.target
        self.query_one(Pipeline).show(self._pipeline_view())
        if target is not None and target >= self.fresh:
            return
        frame = self.frames[target] if target is not None else None
        upcoming = self.steps[0 if target is None else target]
        source = self.sources[upcoming.index] if self.sources else None
        report = frame.report if frame else None
        self.query_one(StepPanel).show(step_view(self.specs, upcoming, report, source), self.current_theme.dark)
        self.query_one(TensorTable).show(tensor_view(report, self.config.tolerances, self.config.dtype))
        self._show_histogram(frame)
        self.call_after_refresh(self._shown, target)

    def _pipeline_view(self, seeking: bool = False) -> PipelineView:
        return pipeline_view(self.steps, self.frames, self.fresh, self.target, self.shown_step, self.changes, seeking,
                             self.replay, self.session is None)

    def _shown(self, target: int | None) -> None:
        if self.target == target:
            self.shown_step = target

    def _show_histogram(self, frame: Frame | None) -> None:
        name = self.query_one(TensorTable).selected if frame else None
        self.query_one(HistogramPanel).show(histogram_view(frame, name))

    def on_tensor_table_selected(self, message: TensorTable.Selected) -> None:
        if not self.is_running or self.shown_step is None or self.shown_step >= len(self.frames):
            return
        self._show_histogram(self.frames[self.shown_step])

    # -- actions: each moves the target, the screen follows -----------------------------------

    def action_next(self) -> None:
        self._seeking = None
        self.target = 0 if self.target is None else min(self.target + 1, len(self.steps) - 1)

    def action_back(self) -> None:
        self._seeking = None
        self.target = None if not self.target else self.target - 1

    def action_to_end(self) -> None:
        self._seeking = None
        self.target = len(self.steps) - 1

    def action_reset(self) -> None:
        self._seeking = None
        self.target = None

    def action_to_mismatch(self) -> None:
        self._seeking = 0 if self.target is None else self.target + 1
        self._seek_mismatch()

    def _seek_mismatch(self) -> None:
        """The first failing step from `_seeking` on, among the frames landed; at the end, say there is none."""
        start = self._seeking
        for index in range(start, self.fresh):
            if not self.frames[index].report.ok:
                self._seeking = None
                self.target = index
                return
        if self.fresh < len(self.steps):
            self.query_one(Pipeline).show(self._pipeline_view(seeking=True))
            return
        self._seeking = None
        self.target = len(self.steps) - 1
        where = "in the whole pass" if start == 0 else f"after step {start - 1}"
        self.notify(f"no mismatch {where}: every gradient of the {len(self.steps)} steps matches autograd",
                    title="m", timeout=6)

    def action_reload(self) -> None:
        self._reload()

    def _poll_layers(self) -> None:
        mtime = _mtime(self.config.layers)
        if mtime != self._layers_mtime and self.session is not None:
            self._layers_mtime = mtime
            self._reload()

    def _reload(self) -> None:
        """A fresh session with the layer file imported again, on the same data; its frames replace
        the old ones as they land, and `changes` keeps each step whose verdict changed."""
        self.changes = {}
        self._generation += 1
        self._set_subtitle(" · reloading the layers…")
        self.query_one(StepPanel).show_problem(None)
        self._load(self._generation, self.session.data if self.session is not None else self._data)

    def action_device(self) -> None:
        current = str(self.session.device) if self.session is not None else "cpu"
        self.config = replace(self.config, device="cpu" if current.startswith("cuda") else "cuda")
        self.session, self.frames, self.fresh, self.changes = None, [], 0, {}
        self._generation += 1
        self._set_subtitle(" · loading…")
        self._load(self._generation, None)
        self._show()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(KEYS, self.header_text))

    # -- timing ----------------------------------------------------------------------------

    def action_timing(self) -> None:
        self.query_one(TabbedContent).active = "timing"
        config = self._bench_config()
        rows = len(config.versions or VERSION_NUMBERS) + (config.layers is not None)
        lesson = "" if config == self.config else " of the lesson's network at these widths"
        self.timing = True
        self.query_one(TimingPane).run(self._bench, config, rows + 1, f"the floor and {rows} versions{lesson}")

    def _bench_config(self) -> RunConfig:
        """The versions are the lesson's network: another --net times that one at its widths, without
        the user's layers (which are for another network)."""
        if self.config.kinds == network_kinds(self.config.widths):
            return self.config
        return replace(self.config, net=None, hidden=self.config.widths, layers=None)

    def on_timing_pane_finished(self, message: TimingPane.Finished) -> None:
        self.timing = False

    def action_cancel_timing(self) -> None:
        self.query_one(TimingPane).cancel()


def run_ahead(config: RunConfig, data, network, params, generation: int, post: Callable[[Message], object],
              cancelled: Callable[[], bool]) -> None:
    """The worker's job (benchmarks/check_speed.py times it cold): load torch and the session, then
    run every step, posting what the screen needs of each, and the float64 replay of a matching pass."""
    from gradtui.synthetic import draw_ahead

    if data is None:
        draw_ahead(config)  # while torch loads
    from gradtui.replay import needs_replay, replay_in_float64
    from gradtui.session import DebugSession

    cuda = _cuda_available()
    try:
        session = DebugSession(config, data, network=network, params=params)
        sources = [session.source(step) for step in session.steps]
    except InputError as exc:
        post(LoadFailed(generation, str(exc), bad_input=True))
        return
    except Exception as exc:  # out of memory on a device, say: one line, not a traceback
        post(LoadFailed(generation, f"{type(exc).__name__}: {exc}", bad_input=False))
        return
    post(SessionLoaded(generation, session, sources, cuda))
    while not session.done and not cancelled():
        report = session.step()
        post(FrameReady(generation, report.step.index, _frame(session, report)))
    if not cancelled() and needs_replay(session):
        replay = replay_in_float64(session)
        hint = replay.comparison.hint if replay.mismatch is not None else None
        post(ReplayReady(generation, ReplayVerdict(replay.rows, replay.mismatch, hint, replay.note, replay.seen_only,
                                                    replay.briefly)))


def _frame(session, report) -> Frame:
    """Runs in the worker: everything the screen needs of a step that torch computes."""
    from gradtui.stats import histogram

    histograms = {t.name: histogram(session.tensor(t.name), session.reference_tensor(t.name), (t.stats, t.ref))
                  for t in report.tensors}
    return Frame(report, session.loss, histograms)


def _mtime(path: Path | None) -> float | None:
    try:
        return path.stat().st_mtime if path is not None else None
    except OSError:
        return None


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
