"""The `gradtui` command's session in a child process (gradtui.ui.session_process): it finds what a
session in this process finds, the app's process never imports torch, what the user's code prints
stays in its step, and a child that dies is said and replaced. No clock: each wait is on an event,
with a generous bound only so that a broken child fails the test instead of hanging it."""

import math
import queue
import signal
import subprocess
import sys
from pathlib import Path

from conftest import SAMPLES, settle

from gradtui.config import RunConfig
from gradtui.session import DebugSession
from gradtui.ui.ahead import Ended, Finished, Frame, Loaded, ReplayVerdict
from gradtui.ui.app import GradTUI
from gradtui.ui.session_process import InProcess

GUARD_S = 120  # not a speed bound: only how long a broken child may take to fail the test


class Events:
    """What a loader posts, read load by load."""

    def __init__(self):
        self.posted: queue.Queue = queue.Queue()

    def __call__(self, generation, event) -> None:
        self.posted.put((generation, event))

    def load(self, generation: int) -> list:
        """The events of one load, up to its Finished (the others' are dropped, as the app drops them)."""
        events = []
        while True:
            got, event = self.posted.get(timeout=GUARD_S)
            if got != generation:
                continue
            if isinstance(event, Finished):
                return events
            events.append(event)


PRINTS_TRANSPOSED = ("from gradtui.layers import Lin as Reference\n\nprint('loading my layers')\n\n\n"
                     "class Lin(Reference):\n    def bwd(self, out, inp):\n"
                     "        print('out.g is', tuple(out.g.shape))\n        super().bwd(out, inp)\n"
                     "        self.w.g = self.w.g.t()\n")


def test_the_process_finds_what_a_session_in_this_process_finds(tmp_path):
    """With a backward that prints: what it prints stays in its step, and the pipe is not corrupted."""
    layers = tmp_path / "layers.py"
    layers.write_text(PRINTS_TRANSPOSED)
    config = RunConfig(device="cpu", batch=64, layers=layers)
    ahead, events = InProcess(config), Events()
    try:
        ahead.start(events)
        loaded, *frames = events.load(0)
    finally:
        ahead.close()
    here = DebugSession(config)
    here.run_to_end()
    assert isinstance(loaded, Loaded) and loaded.steps == tuple(here.steps) and loaded.rows == 64
    assert loaded.device == "cpu" and loaded.shapes == here.network.shapes
    assert all(isinstance(frame, Frame) for frame in frames)  # a mismatch: no float64 replay follows
    assert [f.report.mark for f in frames] == [r.mark for r in here.reports] == ["✓"] * 5 + ["✗", "✓", "✗"]
    for frame, report in zip(frames, here.reports):
        assert [(t.name, t.match, t.hint) for t in frame.report.tensors] == [(t.name, t.match, t.hint) for t in report.tensors]
        assert all(math.isclose(a.stats.norm, b.stats.norm, rel_tol=1e-5)
                   for a, b in zip(frame.report.tensors, report.tensors))
    assert "transposed" in frames[5].report.failing_tensor.hint
    assert frames[5].histograms["w2.g"].counts  # drawn in the child, for the screen
    assert [f.report.output for f in frames] == [""] * 5 + ["out.g is (64, 1)\n", "", "out.g is (64, 50)\n"]


def test_a_matching_pass_is_replayed_and_a_child_that_dies_is_said_and_replaced():
    config = RunConfig(device="cpu", batch=64)
    ahead, events = InProcess(config), Events()
    try:
        ahead.start(events)
        first = events.load(0)
        ahead._process.kill()
        (died,) = events.load(0)
        assert died == Ended(-signal.SIGKILL)
        ahead.load(1, config, same_data=True)
        again = events.load(1)
    finally:
        ahead.close()
    for load in (first, again):
        assert [type(e).__name__ for e in load] == ["Loaded"] + ["Frame"] * 8 + ["ReplayVerdict"]
        assert isinstance(load[-1], ReplayVerdict) and load[-1].mismatch is None and load[-1].rows == 64
    assert [f.loss for f in first[1:-1]] == [f.loss for f in again[1:-1]]  # the same numbers


def test_the_apps_process_never_imports_torch():
    """Not for the session's events, nor for the timing pane's rows: reading either would cost the
    screen torch's import, most of a second under the GIL."""
    code = ("import sys, threading\n"
            "from gradtui.config import RunConfig\n"
            "from gradtui.ui.ahead import Finished, Frame\n"
            "from gradtui.ui.bench_process import results_in_subprocess\n"
            "from gradtui.ui.session_process import InProcess\n"
            "done, frames = threading.Event(), []\n"
            "def post(generation, event):\n"
            "    frames.append(event) if isinstance(event, Frame) else None\n"
            "    done.set() if isinstance(event, Finished) else None\n"
            "ahead = InProcess(RunConfig(device='cpu', batch=64))\n"
            "ahead.start(post)\n"
            f"assert done.wait({GUARD_S})\n"
            "ahead.close()\n"
            "tiny = RunConfig(device='cpu', batch=64, hidden=(8,), min_time=0.01, versions=(2,))\n"
            "rows = [type(row).__name__ for row in results_in_subprocess(tiny) if row is not None]\n"
            "print(len(frames), *rows, 'torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=2 * GUARD_S)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["8", "TimingSetup", "VersionResult", "Roofline", "False"]


async def test_the_app_on_its_session_process_and_leaving_ends_the_process():
    config = RunConfig(device="cpu", batch=64, layers=Path(SAMPLES / "relu_mask.py"))
    ahead = InProcess(config)
    app = GradTUI(config, ahead)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert app.shown_step == 6 and app.frames[6].report.failing_tensor.name == "l1.g"
        child = ahead._process
        child.kill()
        for _ in range(10_000):  # until the reader's word lands
            if "ended" in app.header_text:
                break
            await pilot.pause()
        assert "the session's process ended" in app.header_text and app.is_running
        assert app.frames[6].report.failing_tensor.name == "l1.g"  # what was shown stays
        await pilot.press("l")  # a reload starts another
        await settle(pilot)
        assert ahead._process is not child and app.shown_step == 6 and not app.frames[6].report.ok
    assert ahead._process.poll() is not None  # gone with the app, not orphaned
