"""Every step of a pass run ahead of the screen, and sent to it as plain data.

The app shows a step the moment its key is pressed because the step was computed before:
a load (`build_session`, then `run_steps`) loads torch and the session, runs every step, and
sends what the screen needs of each (`Loaded`, a `Frame` per step, the float64 replay's `ReplayVerdict`, or a `LoadError`),
and `Finished` when the load has sent everything.
These are plain data of torch-free types (gradtui.findings), so that they can cross a pipe.
A load runs

- on a thread of the app's process (`InThread`): for gradtui.debug, whose model is the caller's
  objects, and for the tests;
- in a child process (gradtui.ui.session_process.InProcess): for the `gradtui` command.

Neither Textual nor torch is imported here; torch loads inside `build_session`.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gradtui.config import InputError, RunConfig
from gradtui.findings import Histogram, ReplayVerdict, StepReport
from gradtui.kinds import Kind
from gradtui.steps import LayerSpec, Shape, Step

if TYPE_CHECKING:
    from gradtui.session import DebugSession


@dataclass(frozen=True)
class Loaded:
    """A session is built: what the header, the step panel and the keys need of it."""

    specs: tuple[LayerSpec, ...]  # a layer file's Model may have its own layers
    steps: tuple[Step, ...]
    shapes: tuple[Shape, ...]
    device: str
    rows: int
    warnings: tuple[str, ...]  # the data's and the network's, each said once
    sources: tuple  # per step: (file, first line, code) of the method that runs
    cuda: bool  # whether the device can be switched to CUDA
    kinds: tuple[Kind, ...] = ()  # the kinds of layers gradtui has no entry for, made where the network was


@dataclass(frozen=True)
class Frame:
    """What the screen shows for one step, made where torch is."""

    report: StepReport
    loss: float | None  # the loss once this step has run
    histograms: dict[str, Histogram | None]  # by tensor name


@dataclass(frozen=True)
class LoadError:
    error: str
    bad_input: bool  # a file or option the user can fix (exit 2), else an error of the run (exit 1)


@dataclass(frozen=True)
class Ended:
    """The process that runs the loads ended on its own (killed, out of memory); the next load
    starts another (gradtui.ui.session_process)."""

    exit_code: int


@dataclass(frozen=True)
class Finished:
    """The load has sent all it will: the last of its events."""


Event = Loaded | Frame | ReplayVerdict | LoadError | Ended | Finished


def build_session(config: RunConfig, data, network, params, send: Callable[[Event], object]) -> DebugSession | None:
    """Load torch and build the session, sending Loaded; or send LoadError and give None
    (benchmarks/check_speed.py times a whole load cold, in the app)."""
    from gradtui.synthetic import draw_ahead

    if data is None:
        draw_ahead(config)  # while torch loads
    from gradtui.session import DebugSession

    try:
        session = DebugSession(config, data, network=network, params=params)
        sources = tuple(session.source(step) for step in session.steps)
    except InputError as exc:
        send(LoadError(str(exc), bad_input=True))
        return None
    except Exception as exc:  # out of memory on a device, say: one line, not a traceback
        send(LoadError(f"{type(exc).__name__}: {exc}", bad_input=False))
        return None
    own_kinds = tuple(spec.entry for spec in session.network.specs if spec.entry.reference is None)
    send(Loaded(session.network.specs, tuple(session.steps), session.network.shapes, str(session.device),
                len(session.data.x), (*session.data.warnings, *session.network.notes), sources, _cuda_available(),
                own_kinds))
    return session


def run_steps(session: DebugSession, send: Callable[[Event], object], cancelled: Callable[[], bool]) -> None:
    """Every step, sending each one's Frame, then the float64 replay of a matching pass; stops
    between steps once `cancelled`."""
    from gradtui.replay import needs_replay, replay_in_float64

    while not session.done and not cancelled():
        report = session.step()
        send(_frame(session, report))
    if not cancelled() and needs_replay(session):
        replay = replay_in_float64(session)
        hint = replay.comparison.hint if replay.mismatch is not None else None
        send(ReplayVerdict(replay.rows, replay.mismatch, hint, replay.note, replay.seen_only, replay.briefly))


def _frame(session: DebugSession, report: StepReport) -> Frame:
    from gradtui.stats import histogram

    histograms = {t.name: histogram(session.tensor(t.name), session.reference_tensor(t.name), (t.stats, t.ref))
                  for t in report.tensors}
    return Frame(report, session.loss, histograms)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


Post = Callable[[int, Event], object]  # (the load's generation, what it sent)


class Loader(Protocol):
    """Where the app's loads run: `start` hands the first load's events to `post` (the load itself
    may have begun before), `load` starts another, cancelling the last, and `close` ends them."""

    can_switch_device: bool

    def start(self, post: Post) -> None: ...

    def load(self, generation: int, config: RunConfig, same_data: bool) -> None: ...

    def close(self) -> None: ...


def _callers_torch_threads() -> int | None:
    """The torch thread count the calling thread set, where it has loaded torch.

    A new thread's MKL does not inherit it (`torch.set_num_threads(1)` in the caller, two
    threads in ours), and a matmul's last bit depends on how many threads split it: the app
    would show other figures than gradtui.check on the same model.
    """
    torch = sys.modules.get("torch")
    return None if torch is None else torch.get_num_threads()


class InThread:
    """Each load on a thread of this process; a new load cancels the last between steps."""

    def __init__(self, config: RunConfig, data=None, network=None, params=None):
        """`data`, `network` and `params` as DebugSession takes them (the Python API's model)."""
        self._config, self._data, self._network, self._params = config, data, network, params
        self.can_switch_device = network is None  # a model handed in keeps its own tensors' device
        self.session: DebugSession | None = None  # the latest load's, once built: a reload's data, gradtui.debug's report
        self._post: Post | None = None
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, post: Post) -> None:
        self._post = post
        self.load(0, self._config, same_data=True)

    def load(self, generation: int, config: RunConfig, same_data: bool) -> None:
        self._cancel.set()
        cancel = self._cancel = threading.Event()
        data = (self.session.data if self.session is not None else self._data) if same_data else None
        post = self._post
        threads = _callers_torch_threads()

        def run() -> None:
            def send(event: Event) -> None:
                post(generation, event)

            if threads is not None:
                import torch

                torch.set_num_threads(threads)
            try:
                session = build_session(config, data, self._network, self._params, send)
                if session is not None and not cancel.is_set():
                    self.session = session
                    run_steps(session, send, cancel.is_set)
            finally:
                send(Finished())

        # Not a daemon: at exit Python waits for the step under way (cancelled, the load stops
        # after it), where a daemon thread inside a torch kernel aborted the interpreter.
        self._thread = threading.Thread(target=run, name="gradtui-ahead")
        self._thread.start()

    def close(self) -> None:
        self._cancel.set()

    def wait(self) -> None:
        """Until the latest load's thread has ended (after close: its step under way). The user's
        code runs with the process's stdout captured, so a print before then could be lost."""
        if self._thread is not None:
            self._thread.join()
