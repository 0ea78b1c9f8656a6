"""The whole 8-step check (manual pass + autograd reference + statistics) against one plain
autograd forward and backward of the same network, at the default size; and the float64 replay
that a matching check adds (the same layers in float64 on the first 256 rows); and the finite
differences that judge a layer whose forward autograd cannot follow, for lin1, the widest layer
(16 sampled elements of each of x.g, w1.g, b1.g, on the first 256 rows). And a session with
a slip (samples/relu_mask.py): what its diagnosis costs, the hint and where it differs; and the
search on the backward derived from the forward, for a slip in a layer gradtui has no entry for
(samples/layernorm_slip.py).

    python benchmarks/check_speed.py [--batch N] [--runs R]

It also times the app from a cold start to every step ready, headless at 120x40, as the
`gradtui` command runs it: the session's process started first, then Textual imported, the
first frame drawn and each step's frame taken onto the screen, until the last step's is (the
replays that follow are timed above); against three autograd passes plus the imports alone
(Textual, the app, torch, the session, one after the other in one process). And the same with
the loads on a thread of the app's process, as gradtui.debug runs them.

Targets: session / autograd <= 2.5; replay / session <= 0.10; the any-layer search <= 0.5 s; the
app's every step ready <= 3 autograd passes + the imports.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from search_clock import SearchClock

from gradtui.config import DEFAULT_BATCH, RunConfig
from gradtui.reference import finite_differences
from gradtui.replay import replay_in_float64
from gradtui.session import DebugSession


def timed_rounds(calls, runs: int) -> list[list[float]]:
    """Each (function, between) of `calls` timed `runs` times, interleaved round by round so that
    the machine's drift falls on all alike. `between` runs untimed before each call: it frees the
    last call's results, as a real run frees them at its exit."""
    for function, _ in calls:
        function()  # warm-up: first-touch page faults, thread pool start
    rounds = []
    for _ in range(runs):
        times = []
        for function, between in calls:
            between()
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        rounds.append(times)
    return [list(times) for times in zip(*rounds)]


def median_seconds(function, runs: int, between=lambda: None) -> float:
    return statistics.median(timed_rounds([(function, between)], runs)[0])


COLD_IMPORT = """
import time
start = time.perf_counter()
import gradtui.ui.app, gradtui.session, gradtui.replay
print(time.perf_counter() - start)
"""

# The app, headless, until the last step's frame is on its screen; {ahead}: how the loads run.
COLD_APP = """
import time
start = time.perf_counter()
from gradtui.config import RunConfig

config = RunConfig(device="cpu", batch={batch})
{ahead}
from gradtui.ui.app import GradTUI


class Timed(GradTUI):
    def _framed(self, frame):
        super()._framed(frame)
        if frame.report.step.index == len(self.steps) - 1:
            self.exit(time.perf_counter() - start)


seconds = Timed(config, ahead).run(headless=True, size=(120, 40))
{wait}
print(seconds)
"""
IN_PROCESS = {"ahead": "from gradtui.ui.session_process import InProcess\nahead = InProcess(config)", "wait": ""}
IN_THREAD = {"ahead": "from gradtui.ui.ahead import InThread\nahead = InThread(config)",
             "wait": "ahead.wait()  # the replay's user code captures stdout while it runs"}


SLIP = Path(__file__).resolve().parent.parent / "samples" / "relu_mask.py"


def cold_seconds(code: str) -> float:
    """What `code` prints, run in a fresh process."""
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def cold_starts(codes: list[str], runs: int) -> list[list[float]]:
    """Each code's times over `runs` rounds, the codes interleaved within a round: the machine's
    drift (a shared host, memory handed back to it) falls on all of them alike."""
    return [list(times) for times in zip(*([cold_seconds(code) for code in codes] for _ in range(runs)))]


ANY_LAYER_SLIP = Path(__file__).resolve().parent.parent / "samples" / "layernorm_slip.py"


def any_layer_search_seconds(batch: int, runs: int) -> list[float]:
    """What the search on the derived backward costs a session that has a slip in a layer gradtui has
    no entry for: the time inside derived.Probe (the probe's run included), a fresh session each run."""
    spent = []
    with SearchClock() as clock:
        for _ in range(runs):
            clock.seconds = 0.0
            DebugSession(RunConfig(device="cpu", batch=batch, layers=ANY_LAYER_SLIP)).run_to_end()
            spent.append(clock.seconds)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    session = DebugSession(RunConfig(device="cpu", batch=args.batch))

    def forget_session():
        session._reference = None  # autograd's gradients computed again, as a fresh check does
        session.reset()  # the last pass's tensors freed; the copies of x and the weights kept

    def copy_inputs():  # with its first read: a copy that maps gradtui's pages pays as it is read
        session._copies.clear()
        session.reset()
        session.values["x"].sum()

    def read_x():
        session.data.x.sum()

    def whole_session():
        session.run_to_end()

    x, y = session.data.x, session.data.y
    leaves = {name: p.detach().clone().requires_grad_() for name, p in session.params.items()}
    xg = x.detach().requires_grad_()

    def forget_gradients():
        for leaf in (xg, *leaves.values()):
            leaf.grad = None

    def plain_autograd():
        l1 = xg @ leaves["w1"] + leaves["b1"]
        out = l1.clamp_min(0.0) @ leaves["w2"] + leaves["b2"]
        loss = (out.squeeze(-1) - y).pow(2).mean()
        loss.backward()

    sessions, autograds = timed_rounds([(whole_session, forget_session), (plain_autograd, forget_gradients)], args.runs)
    session_s, autograd_s = statistics.median(sessions), statistics.median(autograds)
    ratio = statistics.median(s / a for s, a in zip(sessions, autograds))
    copies, reads = timed_rounds([(copy_inputs, lambda: None), (read_x, lambda: None)], args.runs)
    copies_s = statistics.median(c - r for c, r in zip(copies, reads))
    session.run_to_end()
    replay_s = median_seconds(lambda: replay_in_float64(session), args.runs)
    lin1 = session.steps[-1].spec
    upstream = session.tensor(f"{lin1.out}.g")
    fd_s = median_seconds(lambda: finite_differences(session.network, lin1, session.params, session.data.x, upstream,
                                                     session.data.y, session.tolerance), args.runs)
    print(f"N={args.batch} float32 cpu threads={torch.get_num_threads()} runs={args.runs} (medians)")
    print(f"whole 8-step session     {session_s * 1000:8.1f} ms")
    print(f"autograd forward+backward {autograd_s * 1000:7.1f} ms")
    print(f"ratio                    {ratio:8.2f}  (target <= 2.5; the median of each round's)")
    print(f"copies of x, y and the weights for the user's code, once a session, read once {copies_s * 1000:.1f} ms "
          "more than x itself")
    print(f"replays, 256 rows         {replay_s * 1000:7.1f} ms  (float64; then with the zero biases moved)")
    print(f"replay / session         {replay_s / session_s:8.3f}  (target <= 0.10)")
    print(f"finite differences, lin1  {fd_s * 1000:7.1f} ms")
    slip = DebugSession(RunConfig(device="cpu", batch=args.batch, layers=SLIP))

    def forget_slip():
        slip._reference = None
        slip.reset()

    slips, corrects = timed_rounds([(slip.run_to_end, forget_slip), (whole_session, forget_session)], args.runs)
    print(f"a session with a slip     {statistics.median(slips) * 1000:7.1f} ms  ({SLIP.name}: its diagnosis, the hint "
          f"and where it differs, {statistics.median(s - c for s, c in zip(slips, corrects)) * 1000:.1f} ms more)")
    search = any_layer_search_seconds(args.batch, args.runs)
    print(f"the any-layer slip search {statistics.median(search) * 1000:7.1f} ms  ({ANY_LAYER_SLIP.name} at this size: "
          f"the layer on its first 256 rows in float64, its backward derived and searched; target <= 500 ms)")
    imports, app, threaded = cold_starts([COLD_IMPORT, COLD_APP.format(batch=args.batch, **IN_PROCESS),
                                          COLD_APP.format(batch=args.batch, **IN_THREAD)], max(3, args.runs // 2))
    budgets = [3 * autograd_s + seconds for seconds in imports]
    imports_s, app_s, threaded_s, budget = map(statistics.median, (imports, app, threaded, budgets))
    # the median of each round's ratio: a round's three processes ran within seconds of each other
    app_ratio = statistics.median(a / b for a, b in zip(app, budgets))
    threaded_ratio = statistics.median(t / b for t, b in zip(threaded, budgets))
    print(f"imports (textual, the app, torch, the session) {imports_s * 1000:7.1f} ms")
    print(f"the app, cold start to every step on screen    {app_s * 1000:7.1f} ms  (headless 120x40, the session's process)")
    print(f"  against 3 autograd passes + the imports {budget * 1000:7.1f} ms: {app_ratio:.2f}  (target <= 1)")
    print(f"the same, loads on the app's thread (debug())  {threaded_s * 1000:7.1f} ms: {threaded_ratio:.2f}")

if __name__ == "__main__":
    main()
