"""The whole 8-step check (manual pass + autograd reference + statistics) against one plain
autograd forward and backward of the same network, at the default size; and the float64 replay
that a matching check adds (the same layers in float64 on the first 256 rows); and the finite
differences that judge a layer whose forward autograd cannot follow, for lin1, the widest layer
(16 sampled elements of each of x.g, w1.g, b1.g, on the first 256 rows).

    python benchmarks/check_speed.py [--batch N] [--runs R]

It also times what the app's worker does from a cold start to every step ready
(gradtui.ui.app.run_ahead in a fresh process: imports, data, weights, every step with its frame,
the histograms among them, until the last step's frame is posted; the replays that follow are
timed above) against three autograd passes plus the imports alone; and the same under Textual,
headless, where the first frame and the screen's updates take their share of the two cores.

Targets: session / autograd <= 2.5; replay / session <= 0.10; the app's every step ready <=
3 autograd passes + the imports.
"""

import argparse
import statistics
import subprocess
import sys
import time

import torch

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

COLD_APP = """
import time
start = time.perf_counter()
import gradtui.ui.app
from gradtui.config import RunConfig
from gradtui.ui.app import FrameReady

ready = []


def post(message):  # every step ready: the last step's frame posted (the replays follow, timed apart)
    if isinstance(message, FrameReady):
        ready.append(time.perf_counter() - start)


gradtui.ui.app.run_ahead(RunConfig(device="cpu", batch={batch}), None, None, None, 0, post, lambda: False)
print(ready[-1])
"""

# The same work under Textual, headless: the first frame and each step's screen update share the
# two cores (and the GIL) with the worker.
COLD_HEADLESS = """
import time
start = time.perf_counter()
from gradtui.config import RunConfig
from gradtui.ui.app import GradTUI


class Timed(GradTUI):
    def on_frame_ready(self, message):
        super().on_frame_ready(message)
        if message.index == len(self.steps) - 1:
            self.exit(time.perf_counter() - start)


print(Timed(RunConfig(device="cpu", batch={batch})).run(headless=True, size=(120, 40)))
"""


def cold_seconds(code: str) -> float:
    """What `code` prints, run in a fresh process."""
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def cold_starts(codes: list[str], runs: int) -> list[list[float]]:
    """Each code's times over `runs` rounds, the codes interleaved within a round: the machine's
    drift (a shared host, memory handed back to it) falls on all of them alike."""
    return [list(times) for times in zip(*([cold_seconds(code) for code in codes] for _ in range(runs)))]


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
    imports, app, headless = cold_starts([COLD_IMPORT, COLD_APP.format(batch=args.batch),
                                          COLD_HEADLESS.format(batch=args.batch)], max(3, args.runs // 2))
    budgets = [3 * autograd_s + seconds for seconds in imports]
    imports_s, app_s, headless_s, budget = map(statistics.median, (imports, app, headless, budgets))
    # the median of each round's ratio: a round's three processes ran within seconds of each other
    app_ratio = statistics.median(a / b for a, b in zip(app, budgets))
    headless_ratio = statistics.median(h / b for h, b in zip(headless, budgets))
    print(f"imports (textual, the app, torch, the session) {imports_s * 1000:7.1f} ms")
    print(f"app's worker, cold start to every step ready   {app_s * 1000:7.1f} ms")
    print(f"  against 3 autograd passes + the imports {budget * 1000:7.1f} ms: {app_ratio:.2f}  (target <= 1)")
    print(f"the same under Textual, headless 120x40         {headless_s * 1000:7.1f} ms: {headless_ratio:.2f}")

if __name__ == "__main__":
    main()
