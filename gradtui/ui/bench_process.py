"""The timing pane's runner: BenchRunner in a child process of its own (gradtui.ui.child), read row by row.

For a face that must stay live: the outer product frees 8 GB in one go while holding the
GIL, which would freeze a UI thread for most of a second; a process does not.

The child also leaves the face a core of its own (`spare_a_core`), so the pane's versions
run on one thread fewer than `gradtui bench`: it says so (`TimingSetup`).
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from gradtui.config import RunConfig
from gradtui.ui.child import channel, end, pickles, send, spawn


@dataclass(frozen=True)
class TimingSetup:
    """How the timing process runs: its torch threads, and the cores the machine lends us."""

    threads: int
    cores: int


def spare_a_core() -> TimingSetup:
    """Pin this process to every core but the first, at no more torch threads than that.

    Wherever the outer product ran, the kernel's work for it (8 GB of page faults and frees a
    call) stalled the face's event loop on that core: by 46 to 160 ms on a 2-core machine,
    where the pinned child mostly left it under 45 ms (benchmarks/tui_latency.py). Must run
    before torch starts its thread pool. Where the OS cannot pin (macOS), the child only runs
    at its low priority.
    """
    import torch

    if not hasattr(os, "sched_setaffinity"):
        return TimingSetup(torch.get_num_threads(), os.cpu_count() or 1)
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:
        os.sched_setaffinity(0, cores[1:])
        torch.set_num_threads(min(torch.get_num_threads(), len(cores) - 1))
    return TimingSetup(torch.get_num_threads(), len(cores))


def child_main() -> None:
    """The timing process: a pickled (RunConfig, outer-product budget) on stdin, pickled (kind, payload)
    rows on stdout."""
    rows = channel()
    from gradtui.bench.runner import BenchRunner

    config, outer_product_budget = next(pickles(sys.stdin.buffer))
    # The lowest priority: the face that started us stays responsive (the outer product's 8 GB of
    # page faults stalled it up to 270 ms at nice 5, about 100 at 19); it is idle while we time, so no
    # figure moves.
    os.nice(19)

    try:
        send(rows, ("result", spare_a_core()))
        for result in BenchRunner(config, outer_product_budget).results():
            send(rows, ("result", result))
        send(rows, ("done", None))
    except BaseException as exc:  # reported to the parent, which raises it there
        send(rows, ("error", f"{type(exc).__name__}: {exc}"))


def results_in_subprocess(config: RunConfig, outer_product_budget: int | None = None,
                          heartbeat_s: float = 0.1) -> Iterator:
    """The child's TimingSetup, then BenchRunner(config, outer_product_budget).results() from it, with
    None every heartbeat_s between rows, so that the caller can stop while a version runs; closing
    the iterator ends the process at once."""
    process = spawn(__name__)
    send(process.stdin, (config, outer_product_budget))
    process.stdin.close()
    rows: queue.Queue = queue.Queue()

    def read() -> None:
        for row in pickles(process.stdout):
            rows.put(row)
        rows.put(("ended", None))

    reader = threading.Thread(target=read, daemon=True, name="gradtui-bench-reader")
    reader.start()
    try:
        while True:
            try:
                kind, payload = rows.get(timeout=heartbeat_s)
            except queue.Empty:
                yield None
                continue
            if kind == "done":
                return
            if kind == "error":
                raise RuntimeError(payload)
            if kind == "ended":
                raise RuntimeError(f"the timing process ended unexpectedly (exit code {process.wait()})")
            yield payload
    finally:
        end(process, reader)
