"""How the app feels at the default size (N=50000, CPU), headless:

1. key -> updated screen, per step: `n` pressed until the step's report is on screen;
2. process start -> first frame of `gradtui` (argument parsing, input checks, torch import, app);
3. the longest gap of a 10 ms UI timer while the timing pane runs the real bench runner.

    python benchmarks/tui_latency.py [--batch N] [--versions 1,2,5,7] [--rounds R]

Targets (issue 4): largest step <= 300 ms, first frame <= 2.0 s, longest timer gap <= 100 ms.
"""

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections import defaultdict

from gradtui.config import DEFAULT_BATCH, RunConfig, parse_versions
from gradtui.ui.app import GradTUI

FIRST_FRAME = """
import sys, time
from gradtui import cli
from gradtui.ui.app import GradTUI

started = float(sys.argv[1])
run = GradTUI.run

async def first_frame(pilot):
    print(time.time() - started)
    pilot.app.exit()

GradTUI.run = lambda self, **kw: run(self, headless=True, auto_pilot=first_frame)
cli.main(sys.argv[2:])
"""


async def settle(pilot):
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


class TimedApp(GradTUI):
    """Notes when the screen has been refreshed after each session change."""

    refreshed_at = 0.0

    def on_session_changed(self, message) -> None:
        super().on_session_changed(message)
        self.call_after_refresh(self._mark)

    def _mark(self) -> None:
        self.refreshed_at = time.perf_counter()


async def step_latencies(config: RunConfig, rounds: int) -> dict[int, list[float]]:
    latencies = defaultdict(list)
    app = TimedApp(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in range(rounds):
            await pilot.press("r")
            await settle(pilot)
            for index in range(len(app.session.steps)):
                start = time.perf_counter()
                await pilot.press("n")
                await settle(pilot)
                latencies[index].append(app.refreshed_at - start)
    return latencies


async def timer_gap(config: RunConfig) -> tuple[float, int]:
    app = GradTUI(config)
    ticks = []
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.set_interval(0.01, lambda: ticks.append(time.perf_counter()))
        await pilot.press("t")
        await pilot.pause(0.05)
        while app.timing:
            await asyncio.sleep(0.05)
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    return max(gaps), len(ticks)


def first_frame_seconds(batch: int) -> float:
    started = time.time()
    done = subprocess.run([sys.executable, "-c", FIRST_FRAME, str(started), "--device", "cpu", "--batch", str(batch)],
                          capture_output=True, text=True, timeout=120)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--versions", type=parse_versions, default=(1, 2, 5, 7))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    config = RunConfig(device="cpu", batch=args.batch)
    latencies = asyncio.run(step_latencies(config, args.rounds))
    print(f"key -> updated screen, N={args.batch}, {args.rounds} rounds per step (median / worst):")
    worst_median = 0.0
    for index, times in latencies.items():
        median = statistics.median(times)
        worst_median = max(worst_median, median)
        print(f"  step {index}: {median * 1000:6.0f} ms / {max(times) * 1000:6.0f} ms")
    print(f"largest step, median: {worst_median * 1000:.0f} ms (target <= 300)")

    frames = [first_frame_seconds(args.batch) for _ in range(3)]
    print(f"process start -> first frame: median {statistics.median(frames):.2f} s of {len(frames)} "
          f"(worst {max(frames):.2f} s; target <= 2.0)")

    gap, ticks = asyncio.run(timer_gap(RunConfig(device="cpu", batch=args.batch, versions=args.versions)))
    print(f"timing pane (versions {','.join(map(str, args.versions))} + floor): longest gap of a 10 ms timer "
          f"{gap * 1000:.0f} ms over {ticks} ticks (target <= 100)")


if __name__ == "__main__":
    main()
