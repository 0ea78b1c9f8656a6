"""The app's keys drive the session exactly as the DebugSession API would."""

import asyncio
import contextlib
import os
import random
import time

import pytest
from conftest import SAMPLES, drive, fixed_timing_results, settle, until
from textual.widgets import DataTable, Static

from gradtui.bench.results import VersionResult
from gradtui.config import RunConfig
from gradtui.session import DebugSession
from gradtui.ui.app import AheadEvent, GradTUI
from gradtui.ui.widgets.pipeline import Pipeline
from gradtui.ui.widgets.tensors import TensorTable

pytestmark = pytest.mark.usefixtures("pilot_polls_sooner")

SMALL = RunConfig(device="cpu", batch=64, hidden=(16,), layers=SAMPLES / "transposed.py")
def back(session: DebugSession) -> None:
    """One step back: the same session stepped again to the step before (the app shows that step's report)."""
    target = session.cursor - 1
    session.reset()
    for _ in range(target):
        session.step()


API = {"n": DebugSession.step, "right": DebugSession.step, "space": DebugSession.step,
       "p": back, "left": back, "e": DebugSession.run_to_end,
       "m": DebugSession.run_to_mismatch, "r": DebugSession.reset}


def screen_state(app) -> tuple:
    """What the user sees of the session: pipeline, step title, tensor rows, hint."""
    table = app.query_one("#tensor-table", DataTable)
    rows = tuple(tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count))
    return (str(app.query_one(Pipeline).render()), app.query_one("#step").border_title, rows,
            str(app.query_one("#hint", Static).render()))


def mirror_moves(mirror: DebugSession, key: str) -> None:
    """What a key does to a session stepped by hand (the app's own runs ahead and shows one step)."""
    back, forward = key in ("p", "left"), key in ("n", "right", "space", "e", "m")
    if (back and mirror.cursor == 0) or (forward and mirror.done):
        return
    API[key](mirror)


@pytest.mark.parametrize("keys", ["nnpnnnpp", "mpm", "nnnrn", "eppppppppn", "right right left space"])
async def test_keys_drive_the_screen_as_the_api_would_drive_a_session(keys):
    keys = keys.split() if " " in keys else list(keys)
    app = GradTUI(SMALL)
    mirror = DebugSession(SMALL)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
            mirror_moves(mirror, key)
            assert app.shown_step == (mirror.cursor - 1 if mirror.cursor else None), key
            if mirror.cursor:
                assert app.frames[app.shown_step].report == mirror.reports[-1], key


async def test_m_stops_at_the_samples_first_mismatch_and_shows_its_hint():
    app = GradTUI(RunConfig(device="cpu", batch=64, layers=SAMPLES / "relu_mask.py"))
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["m"])
        assert app.shown_step == 6
        assert [frame.report.ok for frame in app.frames[:7]] == [True] * 6 + [False]
        assert app.frames[6].report.failing_tensor.name == "l1.g"
        assert "with the mask taken from `out.g` instead of `inp`" in str(app.query_one("#hint", Static).render())
        assert app.query_one(TensorTable).selected == "l1.g"


async def test_p_restores_the_previous_screen():
    app = GradTUI(SMALL)
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, list("nnnnn"))
        before = screen_state(app)
        await drive(pilot, ["n"])
        assert screen_state(app) != before
        await drive(pilot, ["p"])
        assert screen_state(app) == before


async def test_keys_typed_while_loading_are_applied_in_order(tmp_path, gate):
    slow = tmp_path / "slow.py"
    slow.write_text("import gradtui_test_gate\nfrom gradtui.layers import Lin as Fast\n\n"
                    "class Lin(Fast):\n    def __init__(self, w, b):\n        gradtui_test_gate.opened.wait()\n"
                    "        super().__init__(w, b)\n")
    app = GradTUI(RunConfig(device="cpu", batch=64, layers=slow))
    async with app.run_test(size=(120, 40)) as pilot:
        for key in "nnnp":  # the session is still loading: its layers wait at the gate
            await pilot.press(key)
        assert app.target == 1 and app.shown_step != 1
        assert "⟳" in str(app.query_one(Pipeline).render())
        gate.set()
        await settle(pilot)
        assert app.shown_step == 1 and app.query_one("#step").border_title.startswith("step 1 · forward · relu1")


async def test_m_while_loading_waits_for_the_mismatch():
    app = GradTUI(RunConfig(device="cpu", batch=64, layers=SAMPLES / "relu_mask.py"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        await settle(pilot)
        assert app.shown_step == 6 and app.query_one(TensorTable).selected == "l1.g"


async def test_m_that_finds_nothing_says_so():
    app = GradTUI(RunConfig(device="cpu", batch=64))
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["m"])
        assert app.shown_step == 7
        messages = [notification.message for notification in app._notifications]
        assert any("no mismatch in the whole pass: every gradient of the 8 steps matches autograd" in m
                   for m in messages)


async def test_back_is_greyed_at_step_zero_and_device_without_cuda(monkeypatch):
    monkeypatch.setattr("gradtui.ui.ahead._cuda_available", lambda: False)
    app = GradTUI(SMALL)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.check_action("back", ()) is None
        assert app.check_action("device", ()) is None
        assert app.check_action("next", ()) is True
        await pilot.press("p")  # greyed: nothing happens
        await settle(pilot)
        assert app.shown_step is None
        await drive(pilot, ["e"])
        assert app.check_action("next", ()) is None and app.check_action("back", ()) is True


async def test_a_user_error_shows_in_the_step_panel_and_the_app_goes_on():
    app = GradTUI(RunConfig(device="cpu", batch=64, layers=SAMPLES / "raises.py"))
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["m"])
        error = str(app.query_one("#step-error", Static).render())
        assert "RuntimeError" in error and "raises.py:17" in error
        await drive(pilot, ["p", "r", "e"])
        assert app.shown_step == 7


async def test_timing_rows_land_then_the_floor():
    app = GradTUI(SMALL, bench=fixed_timing_results)
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["t"])
        table = app.query_one("#timing-table", DataTable)
        assert table.row_count == 9
        assert str(table.get_row_at(0)[0]) == "✓"  # the verdict first, visible however narrow
        assert "skipped: needs 31.4 GB, 22.9 GB free" in str(table.get_row_at(2)[3])
        assert "floor: the GEMMs alone" in str(table.get_row_at(7)[2])
        assert "floor without x.g" in str(table.get_row_at(8)[2])
        assert not app.timing
        status = str(app.query_one("#timing-status").render())
        assert "done" in status and "1 thread, one core of 2 left to this screen" in status
        assert "≈ timed on the first 6,847 rows and scaled to the batch" in status
        assert str(table.get_row_at(0)[3]).startswith("≈ 3.91 s")


def test_a_timing_update_says_what_the_pane_adds():
    from gradtui.ui.bench_process import TimingSetup
    from gradtui.ui.views import timing_update

    setup, first, *_, floor = fixed_timing_results(SMALL)
    assert timing_update(setup).setup == "1 thread, one core of 2 left to this screen (bench uses all)"
    assert timing_update(TimingSetup(threads=4, cores=1)).setup == "4 threads"  # no core to spare: not said
    version = timing_update(first)
    assert [key for key, _ in version.rows] == ["1"] and "first 6,847 rows" in version.scaled
    assert timing_update(floor).rows[0][0] == "floor0" and timing_update(floor).scaled is None


async def test_t_then_escape_cancels_even_while_a_version_runs(gate):
    landed, closed = [], []

    def slow_bench(config):
        try:
            yield VersionResult(1, "functions, outer product", 1.0, 0.1, 3, 1.0, 1.0, 1, 0.0, True)
            landed.append(1)
            while not gate.is_set():  # version 2 "runs" until the test is over, with heartbeats
                gate.wait(0.01)
                yield None
            yield VersionResult(2, "torch autograd", 1.0, 0.1, 3, 1.0, 1.0, 1, 0.0, True)
        finally:
            closed.append(True)

    app = GradTUI(SMALL, bench=slow_bench)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await until(pilot, lambda: landed, "the first version's result")
        assert app.timing and app.check_action("cancel_timing", ()) is True
        await pilot.press("escape")
        await settle(pilot)
        assert not app.timing and closed == [True]  # ended while version 2 still ran: the gate is shut
        assert app.query_one("#timing-table", DataTable).row_count == 1
        assert "cancelled" in str(app.query_one("#timing-status", Static).render())


async def test_random_keys_raise_nothing():
    keys = ["n", "p", "e", "m", "r", "t", "escape", "d", "question_mark", "escape", "right", "left", "space",
            "up", "down", "tab", "enter"]
    rng = random.Random(0)
    app = GradTUI(SMALL, bench=fixed_timing_results)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for i in range(20):  # a property run with few examples: the full run is benchmarks' business
            await pilot.press(rng.choice(keys))
            if i % 10 == 0:
                await settle(pilot)
        await settle(pilot)
        assert app.is_running
        assert app.shown_step == app.target and (app.shown_step is None or 0 <= app.shown_step < len(app.steps))


@pytest.mark.parametrize("size", [(40, 12), (20, 8)])
async def test_tiny_terminals_and_resizes_raise_nothing(size):
    app = GradTUI(SMALL, bench=fixed_timing_results)
    async with app.run_test(size=size) as pilot:
        await drive(pilot, ["n", "m", "question_mark", "escape", "t", "p"])
        await pilot.resize_terminal(120, 40)
        await drive(pilot, ["n"])
        await pilot.resize_terminal(*size)
        await drive(pilot, ["e"])
        assert app.is_running and app.shown_step == 7


MASH = ["n", "p", "e", "m", "r", "t", "escape", "d", "question_mark", "right", "left", "space", "up", "down", "tab"]


async def test_key_mashing_during_a_running_step_and_a_timing_run_raises_nothing(tmp_path, gate):
    held = tmp_path / "held.py"
    held.write_text("import gradtui_test_gate\nfrom gradtui.layers import Lin as Fast\n\n"
                    "class Lin(Fast):\n    def forward(self, inp):\n        gradtui_test_gate.opened.wait()\n"
                    "        return super().forward(inp)\n")

    def heartbeats(config):
        while not gate.is_set():
            gate.wait(0.01)
            yield None
        yield from fixed_timing_results(config)

    app = GradTUI(RunConfig(device="cpu", batch=64, layers=held), bench=heartbeats)
    rng = random.Random(1)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        for _ in range(25):  # keys land while the first step and the timing run are held in flight
            await pilot.press(rng.choice(MASH))
        gate.set()
        await settle(pilot)
        assert app.is_running and app.shown_step == app.target


async def test_quitting_during_a_timing_run_ends_the_run_and_its_process(monkeypatch):
    from gradtui.ui import child

    started = []
    popen = child.subprocess.Popen
    monkeypatch.setattr(child.subprocess, "Popen", lambda *a, **k: started.append(popen(*a, **k)) or started[-1])
    app = GradTUI(RunConfig(device="cpu", batch=64, hidden=(8,), min_time=30.0))  # the real runner: minutes of work
    reached = []

    async def quit_while_timing():
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            reached.append("settled")
            await pilot.press("t")
            reached.append("t pressed")
            await until(pilot, lambda: started, "the timing process")
            reached.append("timing process started")
            # (the pilot then waits for the animator, which a quit may stop with the progress bar's animation
            # pending: a wait of Textual's test harness that never ends, not the app's; the app closes regardless)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(pilot.press("q"), 10)
            reached.append("q pressed")
        reached.append("app closed")

    try:  # (where it stops, and what is still waiting, said: not a hang until the suite's timeout)
        await asyncio.wait_for(quit_while_timing(), 90)
    except asyncio.TimeoutError:
        tasks = [f"{task.get_name()}: {task.get_coro()}" for task in asyncio.all_tasks()]
        raise AssertionError(f"stopped after {reached}; tasks: {tasks}") from None
    assert started[0].wait(timeout=30) is not None  # the timing process is gone, not orphaned


async def test_saving_the_layer_file_reloads_it_and_marks_what_changed(tmp_path):
    mine = tmp_path / "mine.py"
    mine.write_text((SAMPLES / "transposed.py").read_text())
    app = GradTUI(RunConfig(device="cpu", batch=64, hidden=(16,), layers=mine))
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["m"])
        assert app.shown_step == 5 and app.frames[5].report.mark == "✗"
        mine.write_text((SAMPLES / "correct.py").read_text())  # the student fixes the bug and saves
        os.utime(mine, (time.time() + 5, time.time() + 5))  # a new modification time, however fast the test
        for _ in range(100):
            await pilot.pause(0.05)
            if app.changes and app.fresh == len(app.steps):
                break
        await settle(pilot)
        assert app.shown_step == 5 and app.frames[5].report.mark == "✓"
        assert app.changes == {5: "✗", 7: "✗"}
        assert "✗✓" in str(app.query_one(Pipeline).render()).replace(" ", "")

        mine.write_text("class Lin(:\n")  # saved half-typed: a syntax error
        await pilot.press("l")
        await settle(pilot)
        assert "reload failed" in str(app.query_one("#step-error", Static).render())
        assert "SyntaxError" in str(app.query_one("#step-error", Static).render())
        assert app.frames[5].report.mark == "✓"  # the last good classes stay


@pytest.mark.parametrize("size, columns", [((120, 40), 5), ((80, 24), 3)])
async def test_the_verdict_is_on_screen_without_scrolling(size, columns):
    """Each tensor row's ✓/✗ (and at 120 columns its max|Δ| and cosine) fits the visible table."""
    app = GradTUI(RunConfig(device="cpu", batch=64, layers=SAMPLES / "transposed.py"))
    async with app.run_test(size=size) as pilot:
        await drive(pilot, ["m"])
        table = app.query_one("#tensor-table", DataTable)
        labels = [str(column.label) for column in table.ordered_columns]
        assert labels[:5] == ["", "tensor", "shape", "max|Δ|", "cosine"]
        needed = sum(column.get_render_width(table) for column in table.ordered_columns[:columns])
        assert needed <= table.scrollable_content_region.width
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["✓", "✗", "✓"]


async def test_a_forward_steps_histogram_is_against_the_reference_layer():
    app = GradTUI(RunConfig(device="cpu", batch=64))
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["n"])
        assert str(app.query_one("#hist-ref-label", Static).render()) == "the reference layer"
        await drive(pilot, ["e"])
        assert str(app.query_one("#hist-ref-label", Static).render()) == "autograd"


async def test_a_slip_seen_in_float64_only_is_in_the_pipelines_summary():
    app = GradTUI(RunConfig(device="cpu", batch=1000, net=("lin", "batchnorm", "tanh", "lin", "mse"),
                            layers=SAMPLES / "batchnorm_bessel_backward.py"))
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["e"])
        assert app.replay is not None and app.replay.mismatch.index == 8 and app.replay.mismatch.tensor == "l1.g"
        assert "Bessel's correction" in app.replay.hint
        pipeline = str(app.query_one(Pipeline).render())
        assert "all match" not in pipeline and "in float64 only:\n  step 8, l1.g" in pipeline  # one verdict


async def test_a_slip_a_unit_gain_hides_is_in_the_summary_and_a_notification():
    app = GradTUI(RunConfig(device="cpu", batch=300, net=("lin", "batchnorm", "relu", "lin", "mse"),
                            layers=SAMPLES / "batchnorm_no_gain.py"))
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["e"])
        assert app.replay.mismatch.index == 8 and "(the gain gamma left out)" in app.replay.hint
        assert "with constants moved:\n  step 8, l1.g" in str(app.query_one(Pipeline).render())
        titles = [notification.title for notification in app._notifications]
        assert "✗ seen only with b1, beta1, b2 off 0 and gamma1 off 1: step 8, l1.g" in titles


@pytest.mark.parametrize("state", ["loading", "stepping", "reloading", "timing", "reading"])
async def test_leaving_from_any_state_is_clean(tmp_path, gate, state):
    """Leaving the headless app (as a user's own test does) raises nothing, whatever is in flight;
    messages that land while the app shuts down find no widgets and are let go."""
    held = tmp_path / "held.py"
    held.write_text("import gradtui_test_gate\nfrom gradtui.layers import Lin as Fast\n\n"
                    "class Lin(Fast):\n    def forward(self, inp):\n"
                    "        gradtui_test_gate.opened.wait()\n        return super().forward(inp)\n")
    if state != "loading":
        gate.set()
    app = GradTUI(RunConfig(device="cpu", batch=64, layers=held), bench=fixed_timing_results)
    async with app.run_test(size=(120, 40)) as pilot:
        if state == "loading":
            await pilot.press("n", "n")
        else:
            await settle(pilot)
            keys = {"stepping": ["n", "n", "e"], "reloading": ["n", "l", "n"], "timing": ["t"],
                    "reading": ["n"] * 8}[state]
            for key in keys:
                await pilot.press(key)
                if state == "reading":
                    await pilot.pause()
        gate.set()
    assert not app.is_running
    frame = app.frames[0] if app.frames else None
    if frame is not None:  # a frame landing after the end
        app.post_message(AheadEvent(app._generation, frame))
        app.on_ahead_event(AheadEvent(app._generation, frame))


async def test_the_difference_map_follows_the_selected_tensor():
    """Beside the histogram: shown for a tensor that does not match, hidden for one that does."""
    from gradtui.ui.widgets.histogram import DifferenceMapView

    app = GradTUI(RunConfig(device="cpu", batch=64, layers=SAMPLES / "transposed.py"))
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["m"])
        view = app.query_one(DifferenceMapView)
        assert app.query_one(TensorTable).selected == "w2.g"
        assert view.parent.display and view.difference.shape == (1, 50) and view.difference.ref_shape == (50, 1)
        app.query_one("#tensor-table", DataTable).focus()
        await pilot.press("up")  # l2.g, which matches
        await settle(pilot)
        assert app.query_one(TensorTable).selected == "l2.g" and not view.parent.display


async def test_the_footer_shows_the_keys_that_act_and_is_rebuilt_only_when_they_change(monkeypatch):
    from textual.widgets._footer import FooterKey

    from gradtui.ui.widgets.footer import KeyFooter

    rebuilds = []
    recompose = KeyFooter.recompose

    async def counted(self):
        rebuilds.append(self.app.target)
        await recompose(self)

    monkeypatch.setattr(KeyFooter, "recompose", counted)
    app = GradTUI(SMALL)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)

        def actions():
            return {key.action for key in app.query(FooterKey) if not key.has_class("-disabled")}  # the keys that act

        # (the footer recomposes on a message of its own, after the step is on screen)
        await until(pilot, lambda: {"next", "reload"} <= actions(), "the footer to show the keys that act")
        assert "back" not in actions()  # nothing to go back to before step 0
        # Textual announces the bindings on every focus change and refresh; its own footer was
        # rebuilt five times by now, this one when the keys changed (the loaded session's `reload`)
        started = len(rebuilds)
        assert started <= 3
        await drive(pilot, ["n", "n"])
        await until(pilot, lambda: "back" in actions(), "the footer to offer `back`")
        assert len(rebuilds) == started + 1  # step 0 brought `back`; step 1 nothing
        await drive(pilot, ["e"])
        await until(pilot, lambda: "next" not in actions(), "the footer to drop `next`")
        assert len(rebuilds) == started + 2  # at the last step, nothing to step to


async def test_f_shows_the_verified_fix_w_writes_it_and_every_step_turns_ok_u_undoes_it(tmp_path):
    from gradtui.ui.fix_process import fix_here
    from gradtui.ui.widgets.fix import FixPanel

    mine = tmp_path / "mine.py"
    original = (SAMPLES / "transposed.py").read_text()
    mine.write_text(original)
    app = GradTUI(RunConfig(device="cpu", batch=64, hidden=(16,), layers=mine), fixer=fix_here)
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["m"])
        actions = {binding.action for (_, binding, enabled, _) in app.active_bindings.values() if enabled}
        assert "fix" in actions and "write_fix" not in actions and "undo_fix" not in actions
        await drive(pilot, ["f"])
        panel = app.query_one(FixPanel)
        assert panel.display and panel.fix.verified and "+        self.w.g = inp.t() @ out.g" in panel.fix.diff
        await pilot.press("w")

        async def reloaded(marks):
            for _ in range(100):
                await pilot.pause(0.05)
                if app.fresh == len(app.steps) and [f.report.mark for f in app.frames] == marks:
                    return True
            return False

        assert await reloaded(["✓"] * 8)  # the file was written, saw a save, reloaded: every step ✓
        assert "self.w.g = inp.t() @ out.g" in mine.read_text()
        await pilot.press("u")
        assert await reloaded(["✓"] * 5 + ["✗", "✓", "✗"])
        assert mine.read_text() == original
