"""What gradtui's bench harness adds to a measurement: version 2 (autograd) timed by a bare
torch.utils.benchmark.Timer and through gradtui.bench.runner, alternately, at the default size.

    python benchmarks/harness_overhead.py [--batch N] [--rounds R] [--min-time S]

Target (issue 3): the runner's median within 5% of the bare Timer's.
"""

import argparse
import statistics

import torch
from torch.utils import benchmark

from gradtui.bench.runner import BenchRunner
from gradtui.bench.versions import VERSIONS
from gradtui.config import DEFAULT_BATCH, RunConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=1.0)
    args = parser.parse_args()

    runner = BenchRunner(RunConfig(device="cpu", batch=args.batch, min_time=args.min_time, versions=(2,)))
    autograd = VERSIONS[2]
    bare_function = autograd.build(runner.x, runner.y, runner.params)
    bare_function()
    bare_timer = benchmark.Timer("f()", globals={"f": bare_function}, num_threads=torch.get_num_threads())

    bare, harness = [], []
    for _ in range(args.rounds):  # alternate, so drift on a noisy machine hits both alike
        bare.append(bare_timer.blocked_autorange(min_run_time=args.min_time).median)
        harness.append(runner.measure(autograd).median_s)
    bare_s, harness_s = statistics.median(bare), statistics.median(harness)
    print(f"v2 autograd, N={args.batch}, {torch.get_num_threads()} threads, {args.rounds} rounds (median of medians)")
    print(f"bare torch.utils.benchmark.Timer  {bare_s * 1000:7.1f} ms")
    print(f"gradtui.bench.runner              {harness_s * 1000:7.1f} ms")
    print(f"harness / bare                    {harness_s / bare_s:7.3f}  (target <= 1.05)")


if __name__ == "__main__":
    main()
