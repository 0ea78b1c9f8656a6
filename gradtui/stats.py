"""Tensor statistics (the lovely-tensors line of every tensor) and the histogram of two tensors.

These run on 39-million-element gradients at the default size, so every statistic of a tensor
(and of its reference, and their difference: paired_pass) comes from one read of memory, chunk
by chunk while each chunk is in cache; the NaN/Inf counts only when the sum is not finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gradtui.findings import DifferenceMap, Histogram, TensorStats


def float_view(t: torch.Tensor) -> torch.Tensor:
    """Flat, and in a dtype whose sums neither overflow (half) nor fail (integers)."""
    flat = t.detach().reshape(-1)
    if flat.dtype in (torch.float16, torch.bfloat16):
        return flat.float()
    if not flat.is_floating_point():
        return flat.double()
    return flat


PASS_CHUNK = 1 << 19  # elements a chunk of the paired pass: 2 MB of float32 a side, read from cache by each reduction


@dataclass(frozen=True)
class PairedPass:
    """Two tensors of one shape, read once: both one's statistics and the other's, their dot
    product, and their largest difference with its flat index."""

    stats: TensorStats
    ref: TensorStats
    dot: float
    max_abs: float
    worst: int  # flat index of max_abs


def paired_pass(a: torch.Tensor, r: torch.Tensor, ref_stats: TensorStats | None = None) -> PairedPass | None:
    """`a`'s statistics (and `r`'s, unless known), `a · r` and max|a − r|, chunk by chunk while each
    chunk is in cache: one read of each tensor from memory instead of one per statistic. None when a
    NaN or an Inf is there: tensor_stats and the comparison's own NaN rules take over."""
    dtype = torch.promote_types(torch.promote_types(a.dtype, r.dtype), torch.float32)
    if not dtype.is_floating_point:
        dtype = torch.float64
    flat_a, flat_r = a.detach().reshape(-1), r.detach().reshape(-1)
    n = flat_a.numel()
    if n == 0 or flat_r.numel() != n:
        return None
    scratch, difference = (torch.empty(min(PASS_CHUNK, n), dtype=dtype, device=flat_a.device) for _ in range(2))
    sides = [flat_a] if ref_stats is not None else [flat_a, flat_r]
    partial = [[] for _ in sides]  # per side, per chunk: _chunk_sums
    differences = []  # per chunk: (Σd², −min d, max d) of d = a − r
    for start in range(0, n, PASS_CHUNK):
        x, y = flat_a[start:start + PASS_CHUNK].to(dtype), flat_r[start:start + PASS_CHUNK].to(dtype)
        for side, chunk, counted in zip(partial, (x, y), (True, False)):  # a reference's zeros are shown nowhere
            side.append(_chunk_sums(chunk, scratch, counted))
        # max|d| from d's own extremes, and a · r from Σd² (below): two passes over the chunk fewer
        # than |d| and a dot product of its own
        d = torch.sub(x, y, out=difference[:x.numel()])
        lo, hi = torch.aminmax(d)
        differences.append(torch.stack((torch.dot(d, d), -lo, hi)))
    per_chunk = torch.stack(differences)
    maxima = per_chunk[:, 1:].amax(1)
    totals = [_totals(side) for side in partial]
    if not all(math.isfinite(total[0]) and math.isfinite(total[1]) for total in totals) \
            or not bool(torch.isfinite(per_chunk).all()):
        return None
    chunk = int(torch.argmax(maxima))
    start = chunk * PASS_CHUNK
    x, y = flat_a[start:start + PASS_CHUNK].to(dtype), flat_r[start:start + PASS_CHUNK].to(dtype)
    worst = start + int(torch.argmax((x - y).abs_()))
    made = [_stats_of_sums(t, flat, *total) for t, flat, total in zip((a, r), sides, totals)]
    r_squares = totals[1][1] if len(totals) > 1 else ref_stats.norm ** 2
    # a · r = (Σa² + Σr² − Σd²) / 2
    dot = (totals[0][1] + r_squares - float(per_chunk[:, 0].sum())) / 2
    return PairedPass(made[0], made[1] if len(made) > 1 else ref_stats, dot, float(maxima[chunk]), worst)


# Below 2**24 a float32 sum of ones is exact, whatever the order.
EXACT_COUNT = 1 << 23


def nonzero_count(flat: torch.Tensor, scratch: torch.Tensor | None = None) -> int | torch.Tensor:
    """How many elements of a finite flat tensor are not 0: the sum of |sign|, without branches.
    torch.count_nonzero branches on every element: 18 times slower on a ReLU's half-zero output.
    With `scratch` (a chunk's own, of at most EXACT_COUNT elements) the count stays a tensor."""
    if scratch is not None:
        return torch.sign(flat, out=scratch[:flat.numel()]).abs_().sum()
    return sum(int(torch.sign(part).abs_().sum()) for part in flat.split(EXACT_COUNT))


def _chunk_sums(chunk: torch.Tensor, scratch: torch.Tensor, counted: bool = True) -> torch.Tensor:
    """(Σ, Σ², min, max, how many are not 0) of a chunk in cache, each one read of it; the count −1
    when not `counted`."""
    lo, hi = torch.aminmax(chunk)
    nonzero = nonzero_count(chunk, scratch) if counted else torch.full((), -1, dtype=chunk.dtype, device=chunk.device)
    return torch.stack((chunk.sum(), torch.dot(chunk, chunk), lo, hi, nonzero))


def _totals(per_chunk: list[torch.Tensor]) -> tuple[float, float, float, float, float]:
    """The whole tensor's (Σ, Σ², min, max, not 0) from its chunks'."""
    sums = torch.stack(per_chunk)
    return tuple(map(float, (sums[:, 0].sum(), sums[:, 1].sum(), sums[:, 2].min(), sums[:, 3].max(), sums[:, 4].sum())))


def _stats_of_sums(t: torch.Tensor, flat: torch.Tensor, total: float, squares: float, lo: float, hi: float,
                   nonzero: float) -> TensorStats:
    n = flat.numel()
    mean, norm = total / n, math.sqrt(max(squares, 0.0))
    return TensorStats(shape=tuple(t.shape), dtype=str(t.dtype).removeprefix("torch."), device=str(t.device), numel=n,
                       mean=mean, std=_std(flat, mean, norm), min=lo, max=hi, norm=norm,
                       zeros=None if nonzero < 0 else (n - nonzero) / n,
                       nan=0, inf=0)


def unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The index of the flat position in a tensor of this shape (torch.unravel_index imports sympy:
    0.4 s at the first mismatch)."""
    index = []
    for size in reversed(shape):
        flat, position = divmod(flat, size) if size else (flat, 0)
        index.append(position)
    return tuple(reversed(index))


def tensor_stats(t: torch.Tensor) -> TensorStats:
    flat = float_view(t)
    n = flat.numel()
    base = dict(shape=tuple(t.shape), dtype=str(t.dtype).removeprefix("torch."), device=str(t.device), numel=n)
    if n == 0:
        return TensorStats(**base, mean=math.nan, std=math.nan, min=math.nan, max=math.nan, norm=0.0,
                           zeros=0.0, nan=0, inf=0)
    # One read of memory for every statistic, chunk by chunk while each is in cache (as paired_pass):
    # a finite Σ means no NaN or Inf.
    scratch = torch.empty(min(PASS_CHUNK, n), dtype=flat.dtype, device=flat.device)
    totals = _totals([_chunk_sums(flat[start:start + PASS_CHUNK], scratch) for start in range(0, n, PASS_CHUNK)])
    if math.isfinite(totals[0]) and math.isfinite(totals[1]):
        return _stats_of_sums(t, flat, *totals)
    total = flat.sum()
    nan = inf = 0
    if not torch.isfinite(total):
        nan, inf = int(torch.isnan(flat).sum()), int(torch.isinf(flat).sum())
        zeros = float((flat == 0).sum()) / n
        flat = flat[torch.isfinite(flat)]
        if flat.numel() == 0:
            return TensorStats(**base, mean=math.nan, std=math.nan, min=math.nan, max=math.nan, norm=math.nan,
                               zeros=zeros, nan=nan, inf=inf)
        total = flat.sum()
    else:  # finite, but Σ² overflows: torch's norm scales where a sum of squares cannot
        zeros = (n - nonzero_count(flat)) / n
    lo, hi = flat.amin(), flat.amax()
    count = flat.numel()
    mean, norm = float(total) / count, float(torch.linalg.vector_norm(flat))
    return TensorStats(**base, mean=mean, std=_std(flat, mean, norm), min=float(lo), max=float(hi),
                       norm=norm, zeros=zeros, nan=nan, inf=inf)


def _std(flat: torch.Tensor, mean: float, norm: float) -> float:
    """From the norm already taken: var = (Σx² − n·mean²) / (n − 1), one pass saved.

    That difference cancels when |mean| dwarfs the spread; then pay for torch's own pass.
    """
    n = flat.numel()
    if n < 2:
        return 0.0
    variance = (norm * norm - n * mean * mean) / (n - 1)
    if variance > 0 and mean * mean < 100 * variance:
        return variance ** 0.5
    return float(flat.float().std() if not flat.is_floating_point() or flat.element_size() < 4 else flat.std())


# -- histogram ----------------------------------------------------------------------------

# histc is single-threaded: 39 M values take 150 ms, a strided million 8 ms, a quarter million 2 ms;
# 40 bars of a sparkline cannot tell a quarter million from all of them
HISTOGRAM_SAMPLES = 1 << 18


def histogram(value: torch.Tensor, ref: torch.Tensor | None, stats: tuple[TensorStats | None, ...] = (),
              bins: int = 40) -> Histogram | None:
    """None when there is nothing finite to count. Above HISTOGRAM_SAMPLES values the counts come
    from an evenly strided sample, which a sparkline cannot tell apart; the range is exact all the
    same: from the tensors' statistics when given (their min and max are over every finite value),
    else from the values counted."""
    if not isinstance(value, torch.Tensor):
        return None
    flats = [float_view(t) for t in (value, ref) if isinstance(t, torch.Tensor)]
    every = max(1, math.ceil(max(flat.numel() for flat in flats) / HISTOGRAM_SAMPLES))
    flats = [flat[::every].float() for flat in flats]
    flats = [flat if bool(torch.isfinite(flat.sum())) else flat[torch.isfinite(flat)] for flat in flats]
    if not flats[0].numel():
        return None
    known = [s for s in stats if s is not None and s.numel and not math.isnan(s.min)]
    if known:
        low, high = min(s.min for s in known), max(s.max for s in known)
    else:
        ranges = [torch.aminmax(flat) for flat in flats if flat.numel()]
        low, high = min(float(r[0]) for r in ranges), max(float(r[1]) for r in ranges)
    if low == high:
        low, high = low - 0.5, high + 0.5
    counts = [tuple(int(c) for c in torch.histc(flat, bins=bins, min=low, max=high).tolist()) for flat in flats]
    return Histogram(low, high, counts[0], counts[1] if len(counts) > 1 else None, every)


# -- difference map -----------------------------------------------------------------------

MAP_ROWS, MAP_COLUMNS = 4, 64  # the histogram panel's six lines: a title, the grid, where


def _window(i: int, size: int, windows: int) -> slice:
    """The i-th of `windows` windows over `size`, as adaptive pooling takes them (they may overlap)."""
    return slice(i * size // windows, -(-(i + 1) * size // windows))


def difference_map(absolute: torch.Tensor) -> DifferenceMap:
    """|yours − reference| (NaN as ∞) of a tensor of one or two dimensions, pooled to the grid."""
    grid = absolute if absolute.dim() == 2 else absolute.reshape(1, -1)
    (n, m), rows, columns = grid.shape, min(MAP_ROWS, grid.shape[0]), min(MAP_COLUMNS, grid.shape[1])
    # adaptive max pooling's windows, as two reductions: each band of rows over its rows (one read of
    # the tensor), then each band's columns; 18× faster than adaptive_max_pool2d on a 50000×784 x.g
    bands = torch.stack([grid[_window(i, n, rows)].amax(0) for i in range(rows)])
    pooled = torch.stack([bands[:, _window(j, m, columns)].amax(1) for j in range(columns)], dim=1)
    finite = pooled[torch.isfinite(pooled)]
    scale = float(finite.max()) if finite.numel() else math.inf
    shape = tuple(absolute.shape)
    return DifferenceMap(shape, shape, tuple(tuple(row) for row in pooled.tolist()), scale)
