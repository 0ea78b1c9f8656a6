"""GradTUI: step through the backward pass, with the timing pane.

A thin face over DebugSession and the bench runner, built to answer every key at once:

- The first frame comes before torch is imported: the network and its steps follow from the
  options alone. A load (gradtui.ui.ahead) then loads torch, builds the session, and runs every
  step *ahead* of the screen (the pass is deterministic, so running ahead changes no result),
  sending one `Frame` per step: the report, the loss, the histograms, all made where torch is.
  The `gradtui` command runs its loads in a child process (session_process.InProcess), started
  before Textual is imported; gradtui.debug runs them on a thread (ahead.InThread).
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
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Header, TabbedContent, TabPane

from gradtui.config import N_FEATURES, RunConfig
from gradtui.formatting import short_path
from gradtui.kinds import remember
from gradtui.steps import build_steps, chained, layer_specs
from gradtui.ui.ahead import Ended, Event, Finished, Frame, InThread, Loaded, Loader, LoadError, ReplayVerdict
from gradtui.ui.device import switched
from gradtui.ui.header import HEADER_CHROME, header_line, network_forms
from gradtui.ui.views import PipelineView, histogram_view, pipeline_view, step_view, tensor_view
from gradtui.ui.watch import LAYERS_POLL_S, LayerWatch
from gradtui.ui.widgets.fix import FixPanel
from gradtui.ui.widgets.footer import KeyFooter
from gradtui.ui.widgets.help import HelpScreen
from gradtui.ui.widgets.histogram import HistogramPanel
from gradtui.ui.widgets.pipeline import Pipeline
from gradtui.ui.widgets.step import StepPanel
from gradtui.ui.widgets.tensors import TensorTable
from gradtui.ui.widgets.timing import TimingPane

# Versions 1 and 3 build an N × 784 × 50 outer product: 8 GB a call at the default batch, which
# stalled every process on the machine by up to 115 ms (the app's screen more); at 1 GiB, not.
# The pane times them on the rows that fit and scales (≈); gradtui bench times them whole.
PANE_OUTER_PRODUCT_BYTES = 1 << 30


def run_bench(config: RunConfig) -> Iterable:
    from gradtui.ui.bench_process import results_in_subprocess

    return results_in_subprocess(config, PANE_OUTER_PRODUCT_BYTES)


def find_fix(config: RunConfig):
    from gradtui.ui.fix_process import fix_in_subprocess

    return fix_in_subprocess(config)


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
    Binding("f", "fix", "Fix", tooltip="a fix of your layer file, run before it is shown"),
    Binding("w", "write_fix", "Write", tooltip="write the verified fix into your layer file (it reloads)"),
    Binding("u", "undo_fix", "Undo", tooltip="undo the fix written into your layer file"),
    Binding("question_mark", "help", "Help", tooltip="this help"),
    Binding("q", "quit", "Quit", tooltip="quit"),
]


@dataclass
class AheadEvent(Message):
    """What a load sent (gradtui.ui.ahead), handed to the UI thread."""

    generation: int
    event: Event


class GradTUI(App[int]):
    CSS_PATH = Path(__file__).with_name("gradtui.tcss")  # absolute: subclasses live elsewhere
    TITLE = "gradtui"
    BINDINGS = KEYS
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]

    timing: reactive[bool] = reactive(False)
    target: reactive[int | None] = reactive(None, init=False)  # the step asked for; None: before step 0

    def __init__(self, config: RunConfig, ahead: Loader | None = None,
                 bench: Callable[[RunConfig], Iterable] = run_bench, fixer: Callable[[RunConfig], object] = find_fix):
        """`ahead` runs the loads (default: on a thread, InThread(config)); the app closes it when it
        ends. `bench` yields the timing rows, `fixer` finds a fix (tests inject fixed ones)."""
        super().__init__()
        self.config = config
        self._ahead = ahead if ahead is not None else InThread(config)
        self._bench = bench
        self._fixer = fixer
        self.specs = layer_specs(config.kinds)
        self.steps = build_steps(self.specs)
        self.loaded: Loaded | None = None  # the latest good load's session, running ahead
        self.loading = True  # the latest load has not yet sent all it will
        self.frames: list[Frame] = []  # per step run; after a reload, the old ones until replaced
        self.fresh = 0  # how many of `frames` come from the latest load
        self.sources: list = []
        self.shown_step: int | None = None
        self.changes: dict[int, str] = {}  # step -> its mark before the last reload, where it changed
        self._seeking: int | None = None  # `m` waits for frames from this step on
        self._generation = 0
        self._watch = LayerWatch(config.layers)
        self._cuda = False
        self.replay: ReplayVerdict | None = None  # the float64 replay of a matching pass, once run
        self._subtitle_state = ""  # " · loading torch…", …: what the header says is under way
        self.header_text = ""  # the header's whole line, for the help screen
        self._fix_panel: FixPanel | None = None  # once composed: the footer asks after it on every refresh

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="∂")
        with TabbedContent(id="tabs"):
            with TabPane("Debugger", id="debugger"), Horizontal(id="main"):
                yield Pipeline(id="pipeline")
                with Vertical(id="right"):
                    yield StepPanel(id="step")
                    self._fix_panel = FixPanel(id="fix")
                    yield self._fix_panel
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
        self._ahead.start(lambda generation, event: self.post_message(AheadEvent(generation, event)))
        if self.config.layers is not None:
            self.set_interval(LAYERS_POLL_S, self._poll_layers)

    def _set_subtitle(self, state: str | None = None) -> None:
        """The header's line, fitted to the terminal's width (the help screen has it whole)."""
        self._subtitle_state = self._subtitle_state if state is None else state
        loaded = self.loaded
        if loaded is not None:
            shapes, device, rows = loaded.shapes, loaded.device, loaded.rows
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
            return True if self._cuda and self._ahead.can_switch_device else None
        if action == "reload":
            return True if self.config.layers is not None and self.loaded is not None else None
        if action in ("fix", "write_fix", "undo_fix"):
            return self._can_fix(action)
        if action in ("back", "reset"):
            return True if self.target is not None else None
        if action in ("next", "to_end", "to_mismatch"):
            return True if self.target is None or self.target < last else None
        return True

    def _can_fix(self, action: str) -> bool:
        """A fix's keys are in the footer only while they can do something: it has room for no more."""
        panel = self._fix_panel
        if panel is None or not panel.is_mounted:
            return False
        if action == "write_fix":
            return panel.can_write
        if action == "undo_fix":
            return panel.can_undo
        # (not on whether a mismatch has landed yet: the footer would change as frames land)
        return self.config.layers is not None and self.loaded is not None and not panel.searching

    def watch_timing(self) -> None:
        self.refresh_bindings()

    def watch_target(self, before: int | None, target: int | None) -> None:
        # The footer recomposes on every refresh_bindings (a good share of a key's time): only
        # when what a key can do changes, at either end of the pass.
        last = len(self.steps) - 1
        if (before is None, before == last) != (target is None, target == last):
            self.refresh_bindings()
        self._show()

    # -- the session, run ahead (gradtui.ui.ahead) ----------------------------------------------

    def on_unmount(self) -> None:
        self._ahead.close()

    def on_ahead_event(self, message: AheadEvent) -> None:
        """A load's event is for the screen when it comes from the latest load, and the app is not
        shutting down (its widgets are gone then, while messages already posted are still handled)."""
        if message.generation != self._generation or not self.is_running:
            return
        match message.event:
            case Loaded() as loaded:
                self._loaded(loaded)
            case Frame() as frame:
                self._framed(frame)
            case ReplayVerdict() as verdict:
                self._replayed(verdict)
            case LoadError() as failure:
                self._failed(failure)
            case Ended() as ended:
                self._ended(ended)
            case Finished():
                self.loading = False

    def _replayed(self, verdict: ReplayVerdict) -> None:
        self.replay = verdict
        self.query_one(Pipeline).show(self._pipeline_view())
        if verdict.mismatch is not None:
            where = verdict.mismatch
            self.notify(verdict.hint, title=f"✗ {verdict.seen_only}: step {where.index}, {where.tensor}",
                        severity="error", timeout=20)

    def _loaded(self, loaded: Loaded) -> None:
        for kind in loaded.kinds:  # a layer of the user's own class, entered in the session's process
            remember(kind)
        for warning in loaded.warnings:
            self.notify(warning, severity="warning", timeout=8)
        self.loaded, self.sources, self._cuda, self.fresh = loaded, list(loaded.sources), loaded.cuda, 0
        self.replay = None
        if loaded.specs != self.specs:  # the layer file's Model: its own layers and steps
            self.specs, self.steps = loaded.specs, list(loaded.steps)
            self.frames, self.changes = [], {}
            if self.target is not None and self.target >= len(self.steps):
                self.target = len(self.steps) - 1
        # A full collection walks every object of the app and Textual (150 ms and more on a slow
        # machine, a stall the user sees): what is loaded by now lives as long as the app.
        gc.freeze()
        self._set_subtitle("")
        self.refresh_bindings()
        self._show()

    def _failed(self, failure: LoadError) -> None:
        if self.loaded is None:  # nothing to keep showing: leave with the one line the CLI would print
            self.exit(return_code=2 if failure.bad_input else 1, message=f"gradtui: {failure.error}")
            return
        self._set_subtitle(" · reload failed: keeping the last good layers")
        self.query_one(StepPanel).show_problem(f"reload failed: {failure.error}")
        self.notify(failure.error, title="the layer file did not load", severity="error", timeout=10)

    def _ended(self, ended: Ended) -> None:
        why = (f"the session's process ended unexpectedly (exit code {ended.exit_code}); "
               "`gradtui check` with the same options says more")
        if self.loaded is None:
            self.exit(return_code=1, message=f"gradtui: {why}")
            return
        self._set_subtitle(" · the session's process ended: keeping what was shown")
        ways = [way for way, action in (("a reload (l)", "reload"), ("a device switch (d)", "device"))
                if self.check_action(action, ())]
        then = f"{' or '.join(ways).capitalize()} starts another." if ways else "Quit (q) and start gradtui again."
        self.notify(f"{why}. {then}", severity="error", timeout=20)

    def _framed(self, frame: Frame) -> None:
        index = frame.report.step.index
        if index < len(self.frames):
            old = self.frames[index].report.mark
            if old != frame.report.mark:
                self.changes[index] = old
            self.frames[index] = frame
        else:
            self.frames.append(frame)
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
                             self.replay, self.loaded is None)

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
        if self.loaded is not None and self._watch.changed() and self.query(StepPanel):  # (none: the app is closing)
            self._reload()

    def _reload(self) -> None:
        """A fresh session with the layer file imported again, on the same data; its frames replace
        the old ones as they land, and `changes` keeps each step whose verdict changed."""
        self.changes = {}
        self._generation += 1
        self.loading = True
        self._set_subtitle(" · reloading the layers…")
        self.query_one(StepPanel).show_problem(None)
        self._ahead.load(self._generation, self.config, same_data=True)

    def action_device(self) -> None:
        self.config = switched(self.config, self.loaded.device if self.loaded is not None else "cpu")
        self.loaded, self.frames, self.fresh, self.changes = None, [], 0, {}
        self._generation += 1
        self.loading = True
        self._set_subtitle(" · loading…")
        self._ahead.load(self._generation, self.config, same_data=False)
        self._show()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(KEYS, self.header_text))

    # -- the fix (the panel finds, writes and undoes it; the layer file's watch reloads) ------

    def action_fix(self) -> None:
        panel = self._fix_panel
        if panel.display and panel.fix is not None and not panel.can_undo:  # shown: f hides it again
            panel.display = False
            self.remove_class("-fixing")
        else:
            self.add_class("-fixing")
            panel.search(self._fixer, self.config)
        self.refresh_bindings()

    def on_fix_panel_found(self, message: FixPanel.Found) -> None:
        self.refresh_bindings()

    def action_write_fix(self) -> None:
        self.notify(self._fix_panel.write(self.config.layers), title="w", timeout=6)
        self.refresh_bindings()

    def action_undo_fix(self) -> None:
        self.notify(self._fix_panel.undo(), title="u", timeout=6)
        self.refresh_bindings()

    # -- timing (the pane runs it) ---------------------------------------------------------------

    def action_timing(self) -> None:
        self.query_one(TabbedContent).active = "timing"
        self.timing = True
        self.query_one(TimingPane).time(self._bench, self.config)

    def on_timing_pane_finished(self, message: TimingPane.Finished) -> None:
        self.timing = False

    def action_cancel_timing(self) -> None:
        self.query_one(TimingPane).cancel()
