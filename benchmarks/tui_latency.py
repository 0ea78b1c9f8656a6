"""How the app feels at the default size (N=50000, CPU):

1. command -> first frame, in a real terminal (a pty): `gradtui` started as a user starts it,
   timed until its first screen (the pipeline panel) is written;
2. key -> updated screen, headless: an `n` key event every 400 ms, as a reader would press
   it, each timed until `GradTUI.shown_step` says the step is on screen (the steps are
   computed ahead, in the session's process as the command runs them). The event is posted
   as a terminal's key arrives: the test pilot's press() adds waits of its own (about 100 ms
   here) that no terminal has;
3. the longest gap of a 10 ms UI timer while the timing pane runs the real bench runner (its
   child process, the outer product's 8 GB included), over several runs; and, over the same
   seconds, that of a plain process that only sleeps 10 ms at a time: what the machine itself
   allows (a shared machine stalls everyone now and then).

    python benchmarks/tui_latency.py [--batch N] [--versions 1,2,5,7] [--rounds R] [--runs R]

Targets (issue 9): first frame <= 0.5 s; key -> screen median <= 50 ms, worst <= 150 ms;
longest timer gap while timing <= 50 ms.
"""

import argparse
import asyncio
import os
import pty
import select
import shutil
import statistics
import subprocess
import sys
import time

from textual import events

from gradtui.config import DEFAULT_BATCH, RunConfig, parse_versions
from gradtui.ui.app import GradTUI
from gradtui.ui.session_process import InProcess

PACE_S = 0.4


def first_frame_seconds(batch: int) -> float:
    """From the command to the first screen, in a pty of 120 x 40."""
    leader, follower = pty.openpty()
    os.set_blocking(leader, False)
    env = dict(os.environ, COLUMNS="120", LINES="40", TERM="xterm-256color")
    started = time.perf_counter()
    process = subprocess.Popen([shutil.which("gradtui"), "--device", "cpu", "--batch", str(batch)],
                               stdin=follower, stdout=follower, stderr=follower, env=env, start_new_session=True)
    os.close(follower)
    seen, elapsed = b"", None
    try:
        while time.perf_counter() - started < 30:
            ready, _, _ = select.select([leader], [], [], 0.01)
            if ready:
                try:
                    seen += os.read(leader, 1 << 16)
                except OSError:
                    break
                if b"pipeline" in seen:
                    elapsed = time.perf_counter() - started
                    break
    finally:
        os.write(leader, b"q")
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        os.close(leader)
    if elapsed is None:
        raise RuntimeError("gradtui showed no screen within 30 s")
    return elapsed


async def key_latencies(config: RunConfig, rounds: int) -> list[float]:
    """n every PACE_S, each timed until the step it asked for is on screen."""
    latencies = []
    app = GradTUI(config, InProcess(config))
    async with app.run_test(size=(120, 40)):
        while app.loading:  # a reader starts once the app has loaded
            await asyncio.sleep(0.05)
        for _ in range(rounds):
            app.post_message(events.Key("r", "r"))
            await asyncio.sleep(PACE_S)
            for index in range(len(app.steps)):
                start = time.perf_counter()
                app.post_message(events.Key("n", "n"))
                while app.shown_step != index:
                    await asyncio.sleep(0.001)
                latencies.append(time.perf_counter() - start)
                await asyncio.sleep(max(0.0, PACE_S - (time.perf_counter() - start)))
    return latencies


SLEEPER = """
import select, sys, time
ticks = [time.perf_counter()]
while not select.select([sys.stdin], [], [], 0.01)[0]:  # 10 ms at a time, until stdin closes
    ticks.append(time.perf_counter())
print(max(b - a for a, b in zip(ticks, ticks[1:])))
"""


async def timing_stalls(config: RunConfig) -> tuple[float, float]:
    """The longest gap of a 10 ms UI timer while the timing pane runs, and that of a plain process
    that only sleeps 10 ms at a time, over the same seconds: what the machine itself allows."""
    app = GradTUI(config, InProcess(config))
    ticks = []
    async with app.run_test(size=(120, 40)) as pilot:
        while app.loading:
            await asyncio.sleep(0.05)
        sleeper = subprocess.Popen([sys.executable, "-c", SLEEPER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True)
        app.set_interval(0.01, lambda: ticks.append(time.perf_counter()))
        await pilot.press("t")
        await pilot.pause(0.05)
        while app.timing:
            await asyncio.sleep(0.05)
        machine = float(sleeper.communicate(timeout=60)[0])
    return max(b - a for a, b in zip(ticks, ticks[1:])), machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--versions", type=parse_versions, default=(1, 2, 5, 7))
    parser.add_argument("--rounds", type=int, default=3, help="passes of keys through the steps")
    parser.add_argument("--runs", type=int, default=5, help="timing-pane runs")
    args = parser.parse_args()

    frames = [first_frame_seconds(args.batch) for _ in range(5)]
    print(f"command -> first frame (pty, 120x40): median {statistics.median(frames) * 1000:.0f} ms of {len(frames)}, "
          f"worst {max(frames) * 1000:.0f} ms (target <= 500)")

    latencies = asyncio.run(key_latencies(RunConfig(device="cpu", batch=args.batch), args.rounds))
    print(f"key -> screen, N={args.batch}, a key every {PACE_S * 1000:.0f} ms, {len(latencies)} keys: "
          f"median {statistics.median(latencies) * 1000:.0f} ms, worst {max(latencies) * 1000:.0f} ms "
          "(targets <= 50, <= 150)")

    stalls = [[gap * 1000 for gap in asyncio.run(timing_stalls(RunConfig(device="cpu", batch=args.batch,
                                                                          versions=args.versions)))]
              for _ in range(args.runs)]
    app, machine = zip(*stalls)
    print(f"timing pane (versions {','.join(map(str, args.versions))} + floor), {args.runs} runs: longest gap of a "
          f"10 ms UI timer: median {statistics.median(app):.0f} ms, worst {max(app):.0f} ms (target <= 50); "
          f"a plain sleeping process beside it: median {statistics.median(machine):.0f} ms, worst {max(machine):.0f} ms")
    print("  per run, app / plain process: " + ", ".join(f"{a:.0f} / {m:.0f} ms" for a, m in stalls))


if __name__ == "__main__":
    main()
