"""Tensor statistics, the comparison with autograd, and the hints that name a likely bug.

These run on 39-million-element gradients at the default size, so every statistic is one
cheap reduction (sum, aminmax, std, vector_norm, count_nonzero) over the flat tensor, the
NaN/Inf counts are skipped when the sum is finite, and the difference is taken chunk by
chunk in a small scratch buffer instead of materialising `a - r` (a fresh 157 MB buffer
costs more in page faults than all the reductions together).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

DIFF_CHUNK = 1 << 20


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
        return max(abs(self.min), abs(self.max)) if self.numel else 0.0


@dataclass(frozen=True)
class Diff:
    max_abs: float  # max |a - r|
    max_rel: float  # max_abs / max |r|
    cosine: float
    worst: tuple[int, ...]  # index of the largest difference


@dataclass(frozen=True)
class Comparison:
    """One tensor of a step against its reference."""

    name: str
    stats: TensorStats | None  # None: the tensor is missing or not a tensor
    ref: TensorStats | None  # None: autograd has no value for it
    diff: Diff | None  # None: shapes differ, or a side is missing
    match: bool
    hint: str | None = None
    tolerance: tuple[float, float] = field(default=(0.0, 0.0))

    @property
    def ref_shape(self) -> tuple[int, ...] | None:
        return self.ref.shape if self.ref else None


@dataclass(frozen=True)
class HintContext:
    """What the hints may look at besides the two tensors: the layer and its tensors."""

    kind: str  # lin, relu, mse
    direction: str  # forward, backward
    batch: int
    tensors: dict = field(default_factory=dict)  # inp, out_g, b, targ: whatever the layer has


def _float_view(t: torch.Tensor) -> torch.Tensor:
    """Flat, and in a dtype whose sums neither overflow (half) nor fail (integers)."""
    flat = t.detach().reshape(-1)
    if flat.dtype in (torch.float16, torch.bfloat16):
        return flat.float()
    if not flat.is_floating_point():
        return flat.double()
    return flat


def tensor_stats(t: torch.Tensor) -> TensorStats:
    flat = _float_view(t)
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


def tolerance_for(ref: TensorStats, tolerance: tuple[float, float]) -> float:
    rtol, atol = tolerance
    return atol + rtol * ref.absmax


def _diff(a: torch.Tensor, r: torch.Tensor, a_stats: TensorStats, r_stats: TensorStats) -> Diff:
    dtype = torch.promote_types(a.dtype, r.dtype)
    flat_a, flat_r = a.detach().reshape(-1).to(dtype), r.detach().reshape(-1).to(dtype)
    n = flat_a.numel()
    if n == 0:
        return Diff(0.0, 0.0, 1.0, ())
    scratch = torch.empty(min(DIFF_CHUNK, n), dtype=dtype, device=flat_a.device)
    both_nonfinite = not r_stats.finite  # the same NaN/Inf on both sides is no difference

    def chunk_diff(start: int) -> torch.Tensor:
        d = scratch[: min(DIFF_CHUNK, n - start)]
        torch.sub(flat_a[start : start + DIFF_CHUNK], flat_r[start : start + DIFF_CHUNK], out=d)
        d.abs_()
        if both_nonfinite:
            same = (flat_a[start : start + DIFF_CHUNK] == flat_r[start : start + DIFF_CHUNK]) | (
                torch.isnan(flat_a[start : start + DIFF_CHUNK]) & torch.isnan(flat_r[start : start + DIFF_CHUNK]))
            d.masked_fill_(same, 0)
        return d

    starts = range(0, n, DIFF_CHUNK)
    maxima = torch.stack([chunk_diff(start).max() for start in starts])  # NaN wins, as it should
    worst_chunk = int(torch.argmax(maxima))
    start = starts[worst_chunk]
    worst_flat = start + int(torch.argmax(chunk_diff(start)))
    max_abs = float(maxima[worst_chunk])
    r_max = r_stats.absmax
    max_rel = max_abs / r_max if r_max > 0 else (0.0 if max_abs == 0 else math.inf)
    if a_stats.norm > 0 and r_stats.norm > 0:
        # float32 dot and norms round independently: keep the ratio a cosine
        cosine = min(1.0, max(-1.0, float(torch.dot(flat_a, flat_r)) / (a_stats.norm * r_stats.norm)))
    else:
        cosine = 1.0 if a_stats.norm == r_stats.norm else 0.0
    worst = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst_flat), tuple(a.shape))) if a.dim() else ()
    return Diff(max_abs, max_rel, cosine, worst)


def compare(name: str, value, ref: torch.Tensor | None, tolerance: tuple[float, float],
            context: HintContext | None = None, ref_stats: TensorStats | None = None) -> Comparison:
    """`value` (what the user's code produced, maybe missing or not a tensor) against `ref`,
    whose statistics may be given when known (autograd's do not change between runs)."""
    if value is ref and isinstance(ref, torch.Tensor):  # the reference layer's own output
        stats = tensor_stats(ref)
        worst = (0,) * ref.dim() if ref.numel() else ()
        return Comparison(name, stats, stats, Diff(0.0, 0.0, 1.0, worst), True, None, tolerance)
    if ref_stats is None and isinstance(ref, torch.Tensor):
        ref_stats = tensor_stats(ref)
    if not isinstance(value, torch.Tensor):
        return Comparison(name, None, ref_stats, None, False, _hint_not_tensor(name, value), tolerance)
    stats = tensor_stats(value)
    if ref_stats is None:
        hint = (f"autograd finds no gradient for {name.removesuffix('.g')}: the forward does not connect it "
                "to the loss (a detach, .data or NumPy in the forward?)")
        return Comparison(name, stats, None, None, False, hint, tolerance)
    if stats.shape != ref_stats.shape:
        hint = diagnose(name, value, ref, stats, ref_stats, None, tolerance, context)
        return Comparison(name, stats, ref_stats, None, False, hint, tolerance)
    diff = _diff(value, ref, stats, ref_stats)
    new_nonfinite = stats.nan > ref_stats.nan or stats.inf > ref_stats.inf
    match = not new_nonfinite and diff.max_abs <= tolerance_for(ref_stats, tolerance)
    hint = None if match else diagnose(name, value, ref, stats, ref_stats, diff, tolerance, context)
    return Comparison(name, stats, ref_stats, diff, match, hint, tolerance)


def _hint_not_tensor(name: str, value) -> str:
    if value is None:
        return f"{name} was not set: this step must assign {name}"
    return f"{name} is a {type(value).__module__}.{type(value).__name__}, not a torch tensor"


# -- hints --------------------------------------------------------------------------------

def _close(a: torch.Tensor, b: torch.Tensor, tolerance: tuple[float, float]) -> bool:
    """The comparison's own rule, a little looser: a hint names a pattern, not a verdict."""
    if a.shape != b.shape:
        return False
    rtol, atol = tolerance
    a, b = a.detach().to(torch.float64), b.detach().to(torch.float64)
    bound = atol + max(rtol, 1e-3) * float(b.abs().nan_to_num(nan=0.0).max()) if b.numel() else atol
    return bool(((a - b).abs().nan_to_num(nan=math.inf) <= bound).all())


def _shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def diagnose(name: str, value: torch.Tensor, ref: torch.Tensor, stats: TensorStats, ref_stats: TensorStats,
             diff: Diff | None, tolerance: tuple[float, float], context: HintContext | None) -> str:
    """One sentence naming the most likely bug behind a mismatch."""
    context = context or HintContext(kind="", direction="", batch=0)

    def close(fixed: torch.Tensor) -> bool:
        """Does this repair of value give autograd's?"""
        return _close(fixed, ref, tolerance)

    got, want = _shape(stats.shape), _shape(ref_stats.shape)

    if stats.nan > ref_stats.nan or stats.inf > ref_stats.inf:
        what = "NaN" if stats.nan > ref_stats.nan else "Inf"
        upstream = context.tensors.get("out_g")
        carried = isinstance(upstream, torch.Tensor) and not bool(torch.isfinite(upstream).all())
        if carried:
            return f"{what} carried into {name} from the gradient above (out.g already holds NaN/Inf)"
        return f"{what} introduced at this step: {name} has {stats.nan} NaN and {stats.inf} Inf, autograd's has none"

    if stats.shape != ref_stats.shape:
        return _diagnose_shape(name, value, stats, ref_stats, close, context, got, want)

    if context.direction == "forward":
        bias = context.tensors.get("b")
        if context.kind == "lin" and isinstance(bias, torch.Tensor) and close(value + bias):
            return f"{name} is missing the bias: the forward should return inp @ w + b"
        if context.kind == "mse" and _mse_broadcast_value(context) is not None:
            if abs(_mse_broadcast_value(context) - float(value)) <= 1e-3 * abs(float(value)) + 1e-12:
                return ("N×N broadcast in the loss: inp (N, 1) minus targ (N,) broadcasts to (N, N); "
                        "squeeze inp first: (inp.squeeze(-1) - targ)")
    if close(-value):
        return f"sign flipped: {name} is minus autograd's"
    if context.kind == "relu" and context.direction == "backward":
        hint = _diagnose_relu(name, value, ref, tolerance, context)
        if hint:
            return hint
    scale = _scale(value, ref)
    if scale is not None and _close(value, ref * scale, tolerance):
        return _describe_scale(name, scale, context.batch)
    return (f"{name} differs from autograd's (cosine {diff.cosine:.3f}) and fits no known pattern; "
            "compare the formula with the chain-rule factor of this layer")


def _diagnose_shape(name, value, stats, ref_stats, close, context, got, want) -> str:
    n = context.batch
    if value.dim() == 2 and stats.shape == ref_stats.shape[::-1]:
        if close(value.t()):
            return f"transposed: {name} is {got} but should be {want}; for w.g use inp.t() @ out.g"
        return f"{name} has the transposed shape {got}, autograd's is {want}: check the order of the matmul"
    if value.numel() == math.prod(ref_stats.shape) and close(value.reshape(ref_stats.shape)):
        fix = "drop keepdim=True" if value.dim() > len(ref_stats.shape) else "keep the dimension (keepdim=True)"
        return f"wrong keepdim: {name} is {got} but should be {want}; {fix}"
    if value.dim() == len(ref_stats.shape) + 1 and stats.shape[1:] == ref_stats.shape:
        lead = stats.shape[0]
        summed = " and its sum over it matches" if close(value.sum(0)) else ""
        return (f"extra batch dimension: {name} is {got}, autograd's is {want}{summed}; "
                f"sum over the batch with .sum(0)" + (f" (it has {lead} = N rows)" if lead == n else ""))
    if n > 1 and stats.shape.count(n) >= 2:
        return (f"N×N broadcast: {name} is {got}; an (N, 1) tensor met an (N,) one. "
                "Squeeze inp (inp.squeeze(-1)) before subtracting targ")
    return f"{name} has shape {got}, autograd's has {want}"


def _diagnose_relu(name, value, ref, tolerance, context) -> str | None:
    inp, upstream = context.tensors.get("inp"), context.tensors.get("out_g")
    if not isinstance(inp, torch.Tensor) or not isinstance(upstream, torch.Tensor) or upstream.shape != value.shape:
        return None

    def same(bug: torch.Tensor) -> bool:
        """Is value exactly this known bug?"""
        return _close(value, bug, tolerance)

    at_kink = inp == 0
    if bool(at_kink.any()) and _close(value.masked_fill(at_kink, 0), ref.masked_fill(at_kink, 0), tolerance):
        return (f"{name} differs only where inp == 0, where ReLU has no derivative: autograd's clamp_min passes "
                "out.g there, a mask (inp > 0) does not; use (inp >= 0), or inp.relu() in the forward, to agree")
    if same((inp > 0).to(value.dtype)):
        return f"ReLU gradient is the mask alone: {name} should be (inp > 0) * out.g (missing * out.g)"
    if same(upstream):
        return f"ReLU mask missing: {name} should be (inp > 0) * out.g, not out.g"
    if same(upstream * (value != 0)):
        return "ReLU mask taken from the wrong tensor: mask out.g with (inp > 0), the layer's input"
    return None


def _scale(value: torch.Tensor, ref: torch.Tensor) -> float | None:
    a, r = value.detach().double().reshape(-1), ref.detach().double().reshape(-1)
    rr = float(torch.dot(r, r))
    return float(torch.dot(a, r)) / rr if rr > 0 else None


def _near(x: float, target: float) -> bool:
    return abs(x - target) <= 1e-3 * abs(target)


def _describe_scale(name: str, scale: float, batch: int) -> str:
    if batch > 2 and _near(scale, batch):
        return f"off by the batch size: {name} is {batch}× autograd's (×N); divide by N = inp.shape[0] (a mean, not a sum)"
    if batch > 2 and _near(scale, 1 / batch):
        return f"off by the batch size: {name} is autograd's / {batch} (÷N); N is divided out twice"
    if _near(scale, 2):
        return f"off by 2: {name} is twice autograd's; the factor 2 of d(x²)/dx = 2x is counted twice"
    if _near(scale, 0.5):
        return f"off by 2: {name} is half of autograd's; d(x²)/dx = 2x, the 2 is missing"
    if batch > 2 and _near(scale, -batch):
        return f"sign flipped and off by the batch size: {name} is −{batch}× autograd's"
    return f"{name} is autograd's scaled by {scale:.4g}: a constant factor is wrong"


def _mse_broadcast_value(context: HintContext) -> float | None:
    """mean((inp - targ)²) as an (N, 1) - (N,) broadcast computes it, without building N×N."""
    inp, targ = context.tensors.get("inp"), context.tensors.get("targ")
    if not isinstance(inp, torch.Tensor) or not isinstance(targ, torch.Tensor) or inp.dim() != 2 or inp.shape[1] != 1:
        return None
    a, t = inp.detach().double().reshape(-1), targ.detach().double().reshape(-1)
    return float((a * a).mean() - 2 * a.mean() * t.mean() + (t * t).mean())


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


def histogram(value: torch.Tensor, ref: torch.Tensor | None, bins: int = 40) -> Histogram | None:
    """None when there is nothing finite to count. The range is exact; above HISTOGRAM_SAMPLES
    values the counts come from an evenly strided sample, which a sparkline cannot tell apart."""
    if not isinstance(value, torch.Tensor):
        return None
    flats = [_float_view(t) for t in (value, ref) if isinstance(t, torch.Tensor)]
    every = max(1, math.ceil(max(flat.numel() for flat in flats) / HISTOGRAM_SAMPLES))
    flats = [flat[::every].float() for flat in flats]
    flats = [flat if bool(torch.isfinite(flat.sum())) else flat[torch.isfinite(flat)] for flat in flats]
    if not flats[0].numel():
        return None
    ranges = [torch.aminmax(flat) for flat in flats if flat.numel()]
    low, high = min(float(r[0]) for r in ranges), max(float(r[1]) for r in ranges)
    if low == high:
        low, high = low - 0.5, high + 0.5
    counts = [tuple(int(c) for c in torch.histc(flat, bins=bins, min=low, max=high).tolist()) for flat in flats]
    return Histogram(low, high, counts[0], counts[1] if len(counts) > 1 else None, every)
