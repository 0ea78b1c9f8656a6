"""Tensor statistics (the lovely-tensors line of every tensor) and the histogram of two tensors.

These run on 39-million-element gradients at the default size, so every statistic is one
cheap reduction (sum, aminmax, std, vector_norm, count_nonzero) over the flat tensor, and
the NaN/Inf counts are skipped when the sum is finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TensorStats:
    shape: tuple[int, ...]
    dtype: str
    device: str
    numel: int
    mean: float  # mean, std, min, max and norm are over the finite values
    std: float
    min: float
    max: float
    norm: float
    zeros: float  # fraction of elements exactly 0
    nan: int
    inf: int

    @property
    def finite(self) -> bool:
        return self.nan == 0 and self.inf == 0

    @property
    def absmax(self) -> float:
        """The largest finite magnitude (0 when nothing is finite)."""
        if not self.numel or math.isnan(self.min):
            return 0.0
        return max(abs(self.min), abs(self.max))


def float_view(t: torch.Tensor) -> torch.Tensor:
    """Flat, and in a dtype whose sums neither overflow (half) nor fail (integers)."""
    flat = t.detach().reshape(-1)
    if flat.dtype in (torch.float16, torch.bfloat16):
        return flat.float()
    if not flat.is_floating_point():
        return flat.double()
    return flat


def tensor_stats(t: torch.Tensor) -> TensorStats:
    flat = float_view(t)
    n = flat.numel()
    base = dict(shape=tuple(t.shape), dtype=str(t.dtype).removeprefix("torch."), device=str(t.device), numel=n)
    if n == 0:
        return TensorStats(**base, mean=math.nan, std=math.nan, min=math.nan, max=math.nan, norm=0.0,
                           zeros=0.0, nan=0, inf=0)
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
    else:
        zeros = (n - int(torch.count_nonzero(flat))) / n
    lo, hi = torch.aminmax(flat)
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
    return float(flat.std())


# -- histogram ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Histogram:
    """Counts of a tensor's finite values and of its reference's, over one shared range."""

    low: float
    high: float
    counts: tuple[int, ...]
    ref_counts: tuple[int, ...] | None
    every: int = 1  # 1: every value counted; k: one value in k (evenly strided), for big tensors


HISTOGRAM_SAMPLES = 1 << 20  # histc is single-threaded: 39 M values take 150 ms, a strided million 8 ms


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
