"""One tensor against its reference: the difference and the verdict (the hint is the diagnosis's,
gradtui.hints, asked by the session on a mismatch).

The difference of two 39-million-element gradients is taken chunk by chunk in a small
scratch buffer instead of materialising `a - r` (a fresh 157 MB buffer costs more in page
faults than all the reductions together).
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from gradtui.findings import Comparison, Diff, DifferenceMap, TensorStats
from gradtui.stats import PairedPass, difference_map, paired_pass, tensor_stats, unravel

DIFF_CHUNK = 1 << 20
ALL_BUT_ZERO = 1e-3  # a gradient whose largest |value| is this small a part of the right one's is lost, not scaled


def close(a, b, tolerance: tuple[float, float], scale: float = 0.0) -> bool:
    """The verdict's rule on two tensors, `b` as the reference: max|a − b| ≤ atol + rtol·max(max|b|,
    scale), the same NaN or Inf at the same place counting as no difference (the hints test their
    candidates with it, the reference its unfollowed layers' outputs). Few passes over memory: it
    runs on 39-million-element gradients."""
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor) or a.shape != b.shape:
        return False
    if not b.numel():
        return True
    rtol, atol = tolerance
    dtype = torch.promote_types(torch.promote_types(a.dtype, b.dtype), torch.float32)
    a, b = a.detach().to(dtype), b.detach().to(dtype)
    bound = atol + rtol * max(float(torch.nan_to_num(b, nan=0.0, posinf=0.0, neginf=0.0).abs_().max()), scale)
    diff = (a - b).abs_()
    worst = float(diff.max())
    if worst <= bound:
        return True
    if not math.isnan(worst) and not math.isinf(worst):
        return False
    diff.masked_fill_((a == b) | (torch.isnan(a) & torch.isnan(b)), 0)
    return bool((diff.nan_to_num_(nan=math.inf) <= bound).all())


def tolerance_for(ref: TensorStats, tolerance: tuple[float, float], scale: float = 0.0) -> float:
    """atol + rtol · max|r|, or rtol · `scale` when that is larger: a sum whose terms are of that
    size (a bias before a batch norm, whose true gradient is 0) keeps their rounding."""
    rtol, atol = tolerance
    return atol + rtol * max(ref.absmax, scale)


def _paired_diff(paired: PairedPass, shape: torch.Size, a_stats: TensorStats, r_stats: TensorStats) -> Diff:
    """The Diff of a pass that met no NaN or Inf."""
    r_max = r_stats.absmax
    max_abs = paired.max_abs
    max_rel = max_abs / r_max if r_max > 0 else (0.0 if max_abs == 0 else math.inf)
    worst = unravel(paired.worst, tuple(shape))
    if a_stats.norm > 0 and r_stats.norm > 0:  # float32 dot and norms round independently: keep it a cosine
        cosine = min(1.0, max(-1.0, paired.dot / (a_stats.norm * r_stats.norm)))
    else:
        cosine = 1.0 if a_stats.norm == r_stats.norm else 0.0
    return Diff(max_abs, max_rel, cosine, worst)


def _diff(a: torch.Tensor, r: torch.Tensor, a_stats: TensorStats, r_stats: TensorStats) -> Diff:
    """With a NaN or an Inf on a side: the same NaN or Inf at the same place is no difference."""
    dtype = torch.promote_types(a.dtype, r.dtype)
    flat_a, flat_r = a.detach().reshape(-1).to(dtype), r.detach().reshape(-1).to(dtype)
    n = flat_a.numel()
    if n == 0:
        return Diff(0.0, 0.0, 1.0, ())
    scratch = torch.empty(min(DIFF_CHUNK, n), dtype=dtype, device=flat_a.device)
    some_nonfinite = not (r_stats.finite and a_stats.finite)

    def chunk_diff(start: int) -> torch.Tensor:
        a_part, r_part = flat_a[start : start + DIFF_CHUNK], flat_r[start : start + DIFF_CHUNK]
        d = scratch[: a_part.numel()]
        torch.sub(a_part, r_part, out=d)
        d.abs_()
        if some_nonfinite:  # the same NaN or Inf at the same place is no difference
            d.masked_fill_((a_part == r_part) | (torch.isnan(a_part) & torch.isnan(r_part)), 0)
        return d

    starts = range(0, n, DIFF_CHUNK)
    maxima = torch.stack([chunk_diff(start).max() for start in starts])  # NaN wins, as it should
    worst_chunk = int(torch.argmax(maxima))
    start = starts[worst_chunk]
    worst_flat = start + int(torch.argmax(chunk_diff(start)))
    max_abs = float(maxima[worst_chunk])
    r_max = r_stats.absmax
    max_rel = max_abs / r_max if r_max > 0 else (0.0 if max_abs == 0 else math.inf)
    worst = unravel(worst_flat, tuple(a.shape))
    return Diff(max_abs, max_rel, _cosine(flat_a, flat_r, a_stats, r_stats, some_nonfinite), worst)


def _cosine(flat_a, flat_r, a_stats: TensorStats, r_stats: TensorStats, some_nonfinite: bool) -> float:
    """Over the places where both sides are finite (the norms of the statistics are over finite values too)."""
    if some_nonfinite:
        both = torch.isfinite(flat_a) & torch.isfinite(flat_r)
        flat_a, flat_r = flat_a[both], flat_r[both]
        a_norm, r_norm = float(torch.linalg.vector_norm(flat_a)), float(torch.linalg.vector_norm(flat_r))
    else:
        a_norm, r_norm = a_stats.norm, r_stats.norm
    if a_norm > 0 and r_norm > 0:
        # float32 dot and norms round independently: keep the ratio a cosine
        return min(1.0, max(-1.0, float(torch.dot(flat_a, flat_r)) / (a_norm * r_norm)))
    return 1.0 if a_norm == r_norm else 0.0


def compare(name: str, value, ref: torch.Tensor | None, tolerance: tuple[float, float],
            ref_stats: TensorStats | None = None, scale: float = 0.0, require_dtype: bool = True,
            statistics: bool = True) -> Comparison:
    """`value` (what the user's code produced, maybe missing or not a tensor) against `ref`,
    whose statistics may be given when known (autograd's do not change between runs).

    A match needs the same shape, the same dtype (unless not `require_dtype`), no NaN/Inf that
    the reference lacks, and max|a − r| ≤ atol + rtol·max(max|r|, scale): one scale for the
    whole tensor, at least `scale` (for a bias gradient, the size of out.g.sum(0) without
    cancellation). Not `statistics`: a match is said with no statistics and no difference (a fix's
    screen asks only what matches, a thousand times a search); a mismatch is compared in full."""
    if (not statistics and isinstance(value, torch.Tensor) and isinstance(ref, torch.Tensor) and value.shape == ref.shape
            and (value.dtype == ref.dtype or not require_dtype) and close(value, ref, tolerance, scale)):
        return Comparison(name, None, None, None, True, None, tolerance, scale=scale)
    if value is ref and isinstance(ref, torch.Tensor):  # the reference layer's own output
        stats = tensor_stats(ref)
        worst = (0,) * ref.dim() if ref.numel() else ()
        return Comparison(name, stats, stats, Diff(0.0, 0.0, 1.0, worst), True, None, tolerance, scale=scale)
    paired = None
    if isinstance(value, torch.Tensor) and isinstance(ref, torch.Tensor) and value.shape == ref.shape:
        paired = paired_pass(value, ref, ref_stats)
    if paired is not None:
        stats, ref_stats = paired.stats, paired.ref
    else:
        if ref_stats is None and isinstance(ref, torch.Tensor):
            ref_stats = tensor_stats(ref)
        stats = tensor_stats(value) if isinstance(value, torch.Tensor) else None
    diff = None
    if stats is None or ref_stats is None:
        # A gradient neither side has (a parameter the forward never uses, left unset) is consistent.
        match = value is None and ref is None
    elif stats.shape != ref_stats.shape:
        match = False
    else:
        diff = _paired_diff(paired, value.shape, stats, ref_stats) if paired is not None else \
            _diff(value, ref, stats, ref_stats)
        new_nonfinite = stats.nan > ref_stats.nan or stats.inf > ref_stats.inf
        match = (not new_nonfinite and (stats.dtype == ref_stats.dtype or not require_dtype)
                 and diff.max_abs <= tolerance_for(ref_stats, tolerance, scale))
    return Comparison(name, stats, ref_stats, diff, match, None, tolerance, scale=scale)


def placed(value, ref, comparison: Comparison) -> Comparison:
    """A mismatching comparison with where it differs, in words and drawn (`where`, `map`), both
    from one difference of the two tensors."""
    if comparison.match or not isinstance(value, torch.Tensor) or not isinstance(ref, torch.Tensor):
        return comparison
    if value.shape != ref.shape:  # nothing to lay over each other: the two shapes are the picture
        return replace(comparison, map=DifferenceMap(tuple(value.shape), tuple(ref.shape)))
    if value.dim() not in (1, 2) or not value.numel():  # no layout to draw
        return comparison
    dtype = torch.promote_types(torch.promote_types(value.dtype, ref.dtype), torch.float32)
    d = torch.sub(value.detach().to(dtype), ref.detach().to(dtype)).nan_to_num_(nan=math.inf)
    absolute = d.abs()
    return replace(comparison, where=_where_wrong(d, absolute, comparison), map=difference_map(absolute))


def _where_wrong(d: torch.Tensor, absolute: torch.Tensor, comparison: Comparison) -> str | None:
    """Where a mismatching tensor of the right shape (1 or 2 dimensions) differs, from its difference
    `d` (and |d|), when the places say something: the same error in every row (it does not depend
    on the sample), a few columns (features), a few rows (samples), a few elements. None when it
    differs everywhere with no such shape."""
    wrong = absolute > tolerance_for(comparison.ref, comparison.tolerance, comparison.scale)
    count, total = int(torch.count_nonzero(wrong)), wrong.numel()
    if count == 0:
        return None
    if d.dim() == 2 and wrong.shape[0] > 1 and _rows_alike(d[:2]) and _rows_alike(d):
        return "the same error in every row: it does not depend on the sample (a bias? a sum over the batch?)"
    if count > total // 2:  # "only" would be a stretch: most of it differs
        return None
    if d.dim() == 1:
        return f"only elements {_ranges(wrong)} differ ({count} of {total})"
    (n, m), rows, cols = wrong.shape, wrong.any(1), wrong.any(0)
    n_rows, n_cols = int(torch.count_nonzero(rows)), int(torch.count_nonzero(cols))
    if n_cols <= m // 2 and n_cols / m <= n_rows / n:
        return (f"only column{'s' if n_cols > 1 else ''} {_ranges(cols)} differ{'' if n_cols > 1 else 's'} "
                f"(in {n_rows} of {n} rows): a feature, not a sample")
    if n_rows <= n // 2:
        return (f"only row{'s' if n_rows > 1 else ''} {_ranges(rows)} differ{'' if n_rows > 1 else 's'} "
                f"(in {n_cols} of {m} columns): a sample, not a feature")
    return None


def _rows_alike(d: torch.Tensor) -> bool:
    """Is every row of `d` its first, within 0.1%? (Tried on two rows first: on a 39-million-element
    gradient, the whole test costs a third of a second.)"""
    return bool(torch.isfinite(d).all()) and bool(torch.allclose(d, d[:1].expand_as(d), rtol=1e-3, atol=0))


def _ranges(mask: torch.Tensor, most: int = 3) -> str:
    """The True positions of a mask as ranges: "0–9, 15, 20–31" (and how many more)."""
    positions = mask.nonzero().flatten().tolist()
    spans, start = [], None
    for i, position in enumerate(positions):
        if start is None:
            start = position
        if i + 1 == len(positions) or positions[i + 1] != position + 1:
            spans.append(f"{start}–{position}" if position > start else f"{start}")
            start = None
    more = f" and {len(spans) - most} more ranges" if len(spans) > most else ""
    return ", ".join(spans[:most]) + more


def as_numbers(value, like: torch.Tensor):
    """A gradient set as a mask or as integers (`(inp > 0)` without `* out.g`) in the floating dtype
    of `like`, the numbers it holds: what a slip is searched on. Anything else as it is."""
    if isinstance(value, torch.Tensor) and isinstance(like, torch.Tensor) and like.is_floating_point() and not (
            value.is_floating_point() or value.is_complex()):
        return value.to(like.dtype)
    return value
