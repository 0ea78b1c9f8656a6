"""Verify each timing version against autograd, then time it, one version at a time.

`BenchRunner(config).results()` yields a `VersionResult` per requested version, in order,
then the `Roofline`: a face can show each row as it lands and stop between versions by
no longer iterating.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import torch
from torch.utils import benchmark

from gradtui.bench.results import Roofline, VersionResult
from gradtui.bench.versions import VERSIONS, Version, build_yours
from gradtui.compare import compare
from gradtui.config import InputError, RunConfig
from gradtui.data import load_data
from gradtui.memory import free_bytes, gigabytes
from gradtui.model import build_network, init_params
from gradtui.reference import autograd_reference
from gradtui.steps import network_kinds

AUTOGRAD = 2
SLOW_RUNS = 3  # a version slower than half of --min-time a call is timed over this many calls
MEMORY_MARGIN = 0.8  # run a version only if its estimated peak fits in this share of the free memory


YOURS = "yours"  # the row of the user's own layers (--layers)


@dataclass(frozen=True)
class Timing:
    median_s: float
    iqr_s: float
    runs: int


def gemm_flops(n: int, sizes: tuple[int, ...], input_grad: bool = True) -> int:
    """Multiply-adds ×2 of the matrix products: forward, weight grads, and input grads (x.g too if asked)."""
    per_layer = [2 * n * a * b for a, b in zip(sizes, sizes[1:])]
    return 3 * sum(per_layer) - (0 if input_grad else per_layer[0])


def outer_product_bytes(n: int, sizes: tuple[int, ...], itemsize: int) -> int:
    """The largest N × n_in × n_out outer product of a weight gradient."""
    return n * max(a * b for a, b in zip(sizes, sizes[1:])) * itemsize


def estimate_peak_bytes(version: Version, n: int, sizes: tuple[int, ...], itemsize: int) -> int:
    """Activations, their gradients and x.g; plus the outer product where one is built."""
    hidden = sum(sizes[1:])
    base = n * (sizes[0] * version.input_grad + 4 * hidden) * itemsize
    if version.outer_product:
        base += outer_product_bytes(n, sizes, itemsize)
    return base


class PeakMemory:
    """The memory one call really takes at its peak, measured, not estimated.

    CUDA: the allocator's own peak counter. CPU: the resident-set high-water mark (VmHWM),
    reset just before the call through /proc/self/clear_refs, after malloc_trim has handed
    the heap's free pages back (else the call would reuse them unseen); None where Linux
    does not allow it.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.peak_bytes: int | None = None

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._before = torch.cuda.memory_allocated(self.device)
        else:
            if _LIBC is not None:
                _LIBC.malloc_trim(0)
            self._before = _proc_status("VmRSS")
            try:
                with open("/proc/self/clear_refs", "w") as clear_refs:
                    clear_refs.write("5")  # resets VmHWM to the current RSS
            except OSError:
                self._before = None
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device) - self._before
        elif self._before is not None:
            high_water = _proc_status("VmHWM")
            self.peak_bytes = None if high_water is None else max(0, high_water - self._before)
        return False


def _load_libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None  # glibc only
    except OSError:
        return None


_LIBC = _load_libc()


def _proc_status(key: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def time_call(function: Callable[[], object], min_time: float, first_call_s: float, cuda: bool = False) -> Timing:
    """torch.utils.benchmark at torch's own thread count (the Timer's default of 1 is wrong here).

    A call of seconds (the outer product) is timed over SLOW_RUNS single calls by the clock
    instead: the Timer would spend a call sizing its blocks and two warming up each timeit().
    """
    if first_call_s > min_time / 2:
        times = []
        for _ in range(SLOW_RUNS):
            start = time.perf_counter()
            function()
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    else:
        timer = benchmark.Timer(stmt="function()", globals={"function": function}, num_threads=torch.get_num_threads())
        times = timer.blocked_autorange(min_run_time=min_time).times
    if len(times) > 1:
        low, _, high = statistics.quantiles(times, n=4, method="inclusive")
    else:
        low = high = times[0]
    return Timing(statistics.median(times), high - low, len(times))


class BenchRunner:
    def __init__(self, config: RunConfig, outer_product_budget: int | None = None):
        """`outer_product_budget`: the most bytes that versions 1 and 3 may spend on their outer product.
        One that would spend more is timed on the first rows that fit, its time and memory scaled to
        the batch (`timed_rows` says so): the app's timing pane, where building 8 GB a call stalled
        the whole machine. None: every version is timed whole, as `gradtui bench` does."""
        if config.kinds != network_kinds(config.widths):
            raise InputError(f"bench times the lesson's network (lin and relu layers, then mse), not --net "
                             f"{','.join(config.kinds)}")
        self.config = config
        self.device = config.resolve_device()
        data = load_data(config, self.device)
        self.x, self.y = data.x, data.y
        self.params = init_params(config, self.x.shape[1], self.device)
        self.network = build_network(replace(config, layers=None), self.x.shape[1])  # autograd via the reference forward
        self.sizes = self.network.sizes
        self.versions = tuple(sorted(config.versions or VERSIONS))
        # The user's layers, judged like check judges them: against autograd through their own forward.
        # The lesson's network with the file's classes: a Model in the file is for check and the app.
        self.yours = build_network(config, self.x.shape[1], model=False) if config.layers is not None else None
        self.threads = torch.get_num_threads()
        self.outer_product_budget = outer_product_budget
        self._reference: dict[tuple[str, int], dict] = {}

    @property
    def n(self) -> int:
        return len(self.x)

    def results(self) -> Iterator[VersionResult | Roofline]:
        roofline = self.roofline()  # first: every row is measured against its own floor
        autograd = None
        rows = [VERSIONS[number] for number in self.versions]
        if self.yours is not None:
            rows.append(Version(YOURS, f"yours: {self.yours.source}", build_yours(self.yours.classes),
                                outer_product=True))  # it may build the outer product: the guard assumes so
        for version in rows:
            if autograd is None:
                autograd = self.measure(VERSIONS[AUTOGRAD])  # every ratio needs it: measured first, once
            result = autograd if version.key == AUTOGRAD else self.measure(version)
            yield _with_ratios(result, autograd, roofline, version.input_grad)
        yield roofline

    def reference_grads(self, network, rows: int) -> dict:
        if (network.source, rows) not in self._reference:
            self._reference[network.source, rows] = autograd_reference(network, self.params, self.x[:rows],
                                                                        self.y[:rows]).grads
        return self._reference[network.source, rows]

    def timed_rows(self, version: Version) -> int:
        """The whole batch, or for versions 1 and 3 as many first rows as the outer product's budget allows."""
        if self.outer_product_budget is None or not version.outer_product or version.key == YOURS:
            return self.n
        per_row = outer_product_bytes(1, self.sizes, self.x.element_size())
        return max(1, min(self.n, self.outer_product_budget // per_row))

    def measure(self, version: Version) -> VersionResult:
        rows = self.timed_rows(version)
        itemsize = self.x.element_size()
        need, free = estimate_peak_bytes(version, rows, self.sizes, itemsize), free_bytes(self.device)
        if need > MEMORY_MARGIN * free:
            return VersionResult(version.key, version.name, skipped=f"needs {gigabytes(need)}, {gigabytes(free)} free")
        with PeakMemory(self.device) as memory:  # the build too: v7's reused buffers are its memory
            function = version.build(self.x[:rows], self.y[:rows], self.params)
            start = time.perf_counter()
            try:
                grads = function()
            except Exception as exc:  # the user's layers may raise: a row that says so, not a crash
                return VersionResult(version.key, version.name, match=False,
                                     skipped=f"raised {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
        first_call_s = time.perf_counter() - start
        max_abs_err, match = self.verify(grads, version, rows)
        timing = time_call(function, self.config.min_time, first_call_s, self.device.type == "cuda")
        scale = self.n / rows  # the outer product's time and memory grow with the rows
        median_s = timing.median_s * scale
        flops = gemm_flops(self.n, self.sizes, version.input_grad)
        return VersionResult(version.key, version.name, median_s, timing.iqr_s * scale, timing.runs,
                             gflops=flops / median_s / 1e9,
                             peak_bytes=None if memory.peak_bytes is None else round(memory.peak_bytes * scale),
                             max_abs_err=max_abs_err, match=match, timed_rows=rows if rows < self.n else None)

    def verify(self, grads: dict, version: Version, rows: int) -> tuple[float, bool]:
        """The largest difference from autograd on the same rows over every gradient, and whether all match."""
        reference = self.reference_grads(self.yours if version.key == YOURS else self.network, rows)
        expected = [name for name in reference if name.startswith(("w", "b")) or (name == "x" and version.input_grad)]
        worst, match = 0.0, set(grads) == set(expected)
        for name in expected:
            comparison = compare(name, grads.get(name), reference[name], self.config.tolerances)
            match = match and comparison.match
            worst = max(worst, comparison.diff.max_abs if comparison.diff else math.inf)
        return worst, match

    def roofline(self) -> Roofline:
        """The forward and backward matrix products alone, each as torch.mm allocating its output:
        all of them, and all but the input gradient of the first layer (x.g)."""
        weights = [self.params[f"w{k}"] for k in range(1, len(self.sizes))]
        grads = [torch.randn(self.n, w.shape[1], dtype=self.x.dtype, device=self.device) for w in weights]
        acts = [self.x] + [torch.randn(self.n, w.shape[1], dtype=self.x.dtype, device=self.device) for w in weights[:-1]]

        def gemms(input_grad: bool):
            for k, (inp, w, g) in enumerate(zip(acts, weights, grads)):
                torch.mm(inp, w)
                torch.mm(inp.t(), g)
                if input_grad or k > 0:
                    torch.mm(g, w.t())

        floors = []
        for input_grad in (True, False):
            def call(input_grad=input_grad):
                gemms(input_grad)

            call()
            floors.append(time_call(call, self.config.min_time, 0.0).median_s)
        flops = gemm_flops(self.n, self.sizes), gemm_flops(self.n, self.sizes, input_grad=False)
        return Roofline(floors[0], flops[0] / floors[0] / 1e9, params_only_s=floors[1],
                        params_only_gflops=flops[1] / floors[1] / 1e9)


def _with_ratios(result: VersionResult, autograd: VersionResult, roofline: Roofline, input_grad: bool) -> VersionResult:
    if result.median_s is None:
        return result
    floor = roofline.median_s if input_grad else roofline.params_only_s
    return replace(result, ratio_to_autograd=result.median_s / autograd.median_s if autograd.median_s else None,
                   ratio_to_floor=result.median_s / floor)
