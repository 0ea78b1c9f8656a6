"""The whole 8-step check (manual pass + autograd reference + statistics) against one plain
autograd forward and backward of the same network, at the default size; and the float64 replay
that a matching check adds (the same layers in float64 on the first 256 rows); and the finite
differences that judge a layer whose forward autograd cannot follow, for lin1, the widest layer
(16 sampled elements of each of x.g, w1.g, b1.g, on the first 256 rows).

    python benchmarks/check_speed.py [--batch N] [--runs R]

It also times what the app's worker does from a cold start (a fresh process: imports, data,
weights, every step with its frame, the histograms among them) against three autograd passes
plus the imports alone.

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


def median_seconds(function, runs: int) -> float:
    function()  # warm-up: first-touch page faults, thread pool start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


COLD_APP = """
import time
start = time.perf_counter()
import gradtui.ui.app, gradtui.session, gradtui.replay
imported = time.perf_counter()
from gradtui.config import RunConfig
session = gradtui.session.DebugSession(RunConfig(device="cpu", batch={batch}))
sources = [session.source(step) for step in session.steps]
while not session.done:
    report = session.step()
    gradtui.ui.app._frame(session, report)
if gradtui.replay.needs_replay(session):
    gradtui.replay.replay_in_float64(session)
print(imported - start, time.perf_counter() - start)
"""


def cold_app(batch: int, runs: int) -> tuple[float, float]:
    """Medians over fresh processes: (the imports, start to every step ready)."""
    times = [subprocess.run([sys.executable, "-c", COLD_APP.format(batch=batch)], capture_output=True, text=True,
                            check=True).stdout.split() for _ in range(runs)]
    return statistics.median(float(t[0]) for t in times), statistics.median(float(t[1]) for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    session = DebugSession(RunConfig(device="cpu", batch=args.batch))

    def whole_session():
        session._reference = None  # recompute autograd's gradients, as a fresh check does
        session.reset()
        session.run_to_end()

    x, y = session.data.x, session.data.y
    leaves = {name: p.detach().clone().requires_grad_() for name, p in session.params.items()}
    xg = x.detach().requires_grad_()

    def plain_autograd():
        for leaf in (xg, *leaves.values()):
            leaf.grad = None
        l1 = xg @ leaves["w1"] + leaves["b1"]
        out = l1.clamp_min(0.0) @ leaves["w2"] + leaves["b2"]
        loss = (out.squeeze(-1) - y).pow(2).mean()
        loss.backward()

    session_s = median_seconds(whole_session, args.runs)
    autograd_s = median_seconds(plain_autograd, args.runs)
    replay_s = median_seconds(lambda: replay_in_float64(session), args.runs)
    lin1 = session.steps[-1].spec
    upstream = session.tensor(f"{lin1.out}.g")
    fd_s = median_seconds(lambda: finite_differences(session.network, lin1, session.params, session.data.x, upstream,
                                                     session.data.y, session.tolerance), args.runs)
    print(f"N={args.batch} float32 cpu threads={torch.get_num_threads()} runs={args.runs} (medians)")
    print(f"whole 8-step session     {session_s * 1000:8.1f} ms")
    print(f"autograd forward+backward {autograd_s * 1000:7.1f} ms")
    print(f"ratio                    {session_s / autograd_s:8.2f}  (target <= 2.5)")
    print(f"float64 replay, 256 rows  {replay_s * 1000:7.1f} ms")
    print(f"replay / session         {replay_s / session_s:8.3f}  (target <= 0.10)")
    print(f"finite differences, lin1  {fd_s * 1000:7.1f} ms")
    imports_s, app_s = cold_app(args.batch, max(3, args.runs // 2))
    budget = 3 * autograd_s + imports_s
    print(f"app, cold start to every step ready {app_s * 1000:7.1f} ms (imports {imports_s * 1000:.0f} ms)")
    print(f"  against 3 autograd passes + imports {budget * 1000:7.1f} ms: {app_s / budget:.2f}  (target <= 1)")


if __name__ == "__main__":
    main()
