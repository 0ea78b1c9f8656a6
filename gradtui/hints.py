"""The hints: one sentence that names the fix for a tensor that does not match.

Each bug pattern is one small function of the evidence (the tensor, its reference, the layer
around it) that returns a sentence or None. `diagnose` tries them in the order of PATTERNS,
most specific first: an N×N broadcast before an "extra dimension", a bias summed over the
wrong axis before a "missing trailing dimension". Where the wrong formula a pattern suspects
is cheap to compute, the pattern computes it and compares, so that a hint names a fix only
when that fix gives the reference. The last word, when nothing fits, says what is known.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from gradtui.formatting import shape_in_words
from gradtui.layers import BATCHNORM_EPS
from gradtui.steps import BIAS_ROLES, LOSSES

if TYPE_CHECKING:
    from gradtui.compare import Diff
    from gradtui.stats import TensorStats


@dataclass(frozen=True)
class HintContext:
    """What the hints may look at besides the two tensors: the layer, and what the step did."""

    kind: str = ""  # lin, relu, tanh, batchnorm, mse, cross_entropy
    direction: str = ""  # forward, backward
    batch: int = 0
    tensors: dict = field(default_factory=dict)  # inp, out, out_g, targ, w, b, gamma, beta: what the layer has
    role: str = ""  # what the tensor is to its layer: inp, w, b, gamma, beta (their .g), out (a forward output)
    changed: tuple[str, ...] = ()  # tensors the step changed in place (an update inside backward)
    aliased: str | None = None  # the activation this layer's forward changed in place
    against: str = "autograd's"  # or "the reference layer's", for a forward output


@dataclass(frozen=True)
class Evidence:
    name: str  # "w2.g", "l1", "loss"
    value: object  # what the user's code produced: a tensor, None, or anything else
    ref: torch.Tensor | None
    stats: TensorStats | None
    ref_stats: TensorStats | None
    diff: Diff | None
    tolerance: tuple[float, float]
    context: HintContext

    @property
    def base(self) -> str:
        return self.name.removesuffix(".g")

    @property
    def against(self) -> str:
        return self.context.against

    @property
    def got(self) -> str:
        return shape_in_words(self.stats.shape)

    @property
    def want(self) -> str:
        return shape_in_words(self.ref_stats.shape)

    def tensor(self, key: str) -> torch.Tensor | None:
        value = self.context.tensors.get(key)
        return value if isinstance(value, torch.Tensor) else None

    def close(self, candidate: torch.Tensor) -> bool:
        """Does this candidate give the reference?"""
        return _close(candidate, self.ref, self.tolerance)

    def is_(self, candidate: torch.Tensor) -> bool:
        """Is the user's value exactly this (wrong) candidate?"""
        return _close(self.value, candidate, self.tolerance)


def _close(a: torch.Tensor, b: torch.Tensor, tolerance: tuple[float, float]) -> bool:
    """The comparison's own rule, a little looser: a hint names a pattern, not a verdict."""
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor) or a.shape != b.shape:
        return False
    rtol, atol = tolerance
    a, b = a.detach().to(torch.float64), b.detach().to(torch.float64)
    if not b.numel():
        return True
    bound = atol + max(rtol, 1e-3) * float(b.abs().nan_to_num(nan=0.0, posinf=0.0, neginf=0.0).max())
    same = (a == b) | (torch.isnan(a) & torch.isnan(b))
    return bool(((a - b).abs().masked_fill(same, 0).nan_to_num(nan=math.inf) <= bound).all())


def _near(x: float, target: float) -> bool:
    return abs(x - target) <= 1e-3 * abs(target)


# -- what is missing, or not numbers ----------------------------------------------------------

def not_set(e: Evidence) -> str | None:
    if e.value is None:
        return f"{e.name} was not set: this step must assign {e.name}"
    if not isinstance(e.value, torch.Tensor):
        return f"{e.name} is a {type(e.value).__module__}.{type(e.value).__name__}, not a torch tensor"
    return None


def unused_by_forward(e: Evidence) -> str | None:
    if e.ref is not None:
        return None
    if e.context.role == "b":
        return (f"the forward never uses {e.base}, so autograd finds no gradient for it, yet the backward sets "
                f"{e.name}: the forward is missing its bias, inp @ w + b")
    return (f"the forward never uses {e.base} (autograd finds no gradient for it), yet the backward sets {e.name}: "
            f"does the forward detach it (.data, .detach(), NumPy)?")


def nonfinite(e: Evidence) -> str | None:
    s, r = e.stats, e.ref_stats
    if e.context.kind == "cross_entropy" and not s.finite:  # autograd through the same overflow has NaN too
        what = "NaN" if s.nan else "Inf"
        return (f"{what} in {e.name}: the softmax overflows, exp() of a large logit is Inf (above about 88 in "
                "float32, 11 in float16) and Inf / Inf is NaN; subtract each row's max first: "
                "exp(inp - inp.max(1, keepdim=True).values)")
    if s.nan <= r.nan and s.inf <= r.inf:
        return None
    what = "NaN" if s.nan > r.nan else "Inf"
    upstream = e.tensor("out_g")
    if upstream is None or bool(torch.isfinite(upstream).all()):
        return f"{what} introduced at this step: {e.name} has {s.nan} NaN and {s.inf} Inf, {e.against} has {r.nan} and {r.inf}"
    if (e.context.kind == "relu" and upstream.shape == e.value.shape
            and e.close(e.value.masked_fill(~torch.isfinite(upstream) & (e.ref == 0), 0))):
        return ("NaN where the ReLU is off: a mask times out.g gives 0 × NaN = NaN where out.g holds NaN (from the "
                "data); autograd stops it there: torch.where(inp > 0, out.g, 0.) agrees")
    return f"{what} carried into {e.name} from the gradient above (out.g already holds NaN/Inf)"


def changed_during_step(e: Evidence) -> str | None:
    if not e.context.changed or e.context.direction != "backward":
        return None
    changed = ", ".join(e.context.changed)
    return (f"{changed} changed in place during this backward (an update inside backward?), so {e.name} may be "
            f"computed from the changed values: compute every gradient first, then update after the backward pass")


def dtype_cast(e: Evidence) -> str | None:
    s, r = e.stats, e.ref_stats
    if s.dtype == r.dtype or s.shape != r.shape or not e.close(e.value.to(e.ref.dtype)):
        return None
    if e.context.kind == "relu":
        fix = "multiply by the boolean mask itself, (inp > 0) * out.g, instead of (inp > 0).float() * out.g"
    else:
        fix = f"cast back with .to({e.base}.dtype)"
    return f"{e.name} is {s.dtype}, {e.against} is {r.dtype}: a cast in the formula changed its dtype; {fix}"


# -- shapes ----------------------------------------------------------------------------------

def loss_not_scalar(e: Evidence) -> str | None:
    if e.context.kind not in LOSSES or e.context.direction != "forward" or e.ref_stats.shape != () or e.stats.numel <= 1:
        return None
    mean = " (its mean is the reference's)" if e.close(e.value.mean()) else ""
    return (f"the loss is {e.got}, not a scalar{mean}: end the forward with .mean(); "
            f"the backward is judged against autograd of its mean")


def nxn_broadcast(e: Evidence) -> str | None:
    n, got, want = e.context.batch, e.stats.shape, e.ref_stats.shape
    if n <= 1 or got.count(n) < 2 or got.count(n) <= want.count(n):
        return None
    if e.context.kind == "mse":
        return (f"N×N broadcast: {e.name} is {e.got}: inp (N, 1) minus targ (N,) broadcasts to (N, N); squeeze inp "
                "first: 2 * (inp.squeeze(-1) - targ).unsqueeze(-1) / N")
    return (f"N×N broadcast: {e.name} is {e.got}, {e.against} is {e.want}; an (N, 1) tensor met an (N,) one: "
            "squeeze the (N, 1) one (.squeeze(-1)) before they meet")


def bias_wrong_axes(e: Evidence) -> str | None:
    """A bias (or batch norm's gain) gradient summed over the wrong axes: lin's b and batch norm's
    beta sum out.g, gamma sums out.g * xhat, over the batch only."""
    out_g, role = e.tensor("out_g"), e.context.role
    if role not in (*BIAS_ROLES, "gamma") or out_g is None or out_g.dim() != 2:
        return None
    if role == "gamma":
        inp = e.tensor("inp")
        if inp is None:
            return None
        xhat = (inp - inp.mean(0)) / (inp.var(0, unbiased=False) + BATCHNORM_EPS).sqrt()
        base, written = out_g * xhat, "(out.g * xhat)"
    else:
        base, written = out_g, "out.g"
    fix = f"sum over the batch only: {written}.sum(0)"
    for candidate, what in (
            (base, f"extra batch dimension: {e.name} is {written} itself, {e.got}; {fix}"),
            (base.sum(0, keepdim=True), f"wrong keepdim: {e.name} is {written}.sum(0, keepdim=True), {e.got}; "
                                        f"drop keepdim=True: {written}.sum(0)"),
            (base.sum(), f"{e.name} is {written}.sum(), summed over every axis; {fix}"),
            (base.sum(1), f"{e.name} is {written}.sum(1), summed over the features instead of the batch; {fix}"),
            (base.sum(1, keepdim=True), f"{e.name} is {written}.sum(1, keepdim=True), summed over the features; {fix}")):
        if e.stats.shape == tuple(candidate.shape) and e.is_(candidate):
            return what
    return None


def missing_trailing_dim(e: Evidence) -> str | None:
    got, want = e.stats.shape, e.ref_stats.shape
    if not want or want[-1] != 1 or got != want[:-1]:
        return None
    differ = "" if e.close(e.value.unsqueeze(-1)) else " (and its values differ too)"
    return (f"{e.name} is {e.got}, {e.against} is {e.want}: the trailing dimension of size 1 is missing{differ}; "
            "add it back with .unsqueeze(-1)")


def extra_trailing_dim(e: Evidence) -> str | None:
    if e.stats.shape != (*e.ref_stats.shape, 1):
        return None
    return f"{e.name} is {e.got}, {e.against} is {e.want}: an extra trailing dimension of size 1; drop it with .squeeze(-1)"


def transposed(e: Evidence) -> str | None:
    got, want = e.stats.shape, e.ref_stats.shape
    if e.value.dim() != 2 or got != want[::-1]:
        return None
    if not e.close(e.value.t()):
        if got == want:
            return None  # square: the shape says nothing
        return f"{e.name} has the transposed shape {e.got}, {e.against} is {e.want}: check the order of the matmul"
    fix = {"w": "w.g = inp.t() @ out.g", "inp": "inp.g = out.g @ w.t()"}.get(e.context.role, "transpose it")
    return f"transposed: {e.name} is the transpose of {e.against}; {fix}"


def reshaped(e: Evidence) -> str | None:
    if e.stats.numel != e.ref_stats.numel or not e.close(e.value.reshape(e.ref_stats.shape)):
        return None
    if e.value.dim() > len(e.ref_stats.shape):
        return f"wrong keepdim: {e.name} is {e.got} but should be {e.want}; drop keepdim=True"
    return f"{e.name} is {e.got} but should be {e.want}; the values are right: reshape it (or keep the reduced dimension)"


def extra_batch_dim(e: Evidence) -> str | None:
    got, want = e.stats.shape, e.ref_stats.shape
    if len(got) != len(want) + 1 or got[1:] != want:
        return None
    summed = " and its sum over the batch is right" if e.close(e.value.sum(0)) else ""
    return f"extra batch dimension: {e.name} is {e.got}, {e.against} is {e.want}{summed}; sum over the batch with .sum(0)"


def other_shape(e: Evidence) -> str | None:
    if e.stats.shape == e.ref_stats.shape:
        return None
    return f"{e.name} is {e.got}, {e.against} is {e.want}"


# -- values, same shape ------------------------------------------------------------------------

def activation_for_gradient(e: Evidence) -> str | None:
    """`inp.t() @ out` for `inp.t() @ out.g`: the layer's output where its gradient belongs."""
    inp, out, w = e.tensor("inp"), e.tensor("out"), e.tensor("w")
    if e.context.kind != "lin" or e.context.direction != "backward" or out is None or inp is None:
        return None
    role = e.context.role
    formulas = {"w": ("inp.t() @ out", lambda: inp.t() @ out, "w.g = inp.t() @ out.g"),
                "inp": ("out @ w.t()", lambda: out @ w.t() if w is not None else None, "inp.g = out.g @ w.t()"),
                "b": ("out.sum(0)", lambda: out.sum(0), "b.g = out.g.sum(0)")}
    if role not in formulas:
        return None
    wrong, compute, fix = formulas[role]
    candidate = compute()
    if candidate is None or not e.is_(candidate):
        return None
    return f"{e.name} is {wrong}: built from out, the layer's output, instead of its gradient out.g; {fix}"


def input_grad_without_transpose(e: Evidence) -> str | None:
    out_g, w = e.tensor("out_g"), e.tensor("w")
    if e.context.role != "inp" or out_g is None or w is None or w.shape[0] != w.shape[1] or not e.is_(out_g @ w):
        return None
    return f"{e.name} is out.g @ w: the transpose is missing (w is square, so the shapes fit); inp.g = out.g @ w.t()"


def aliased_input(e: Evidence) -> str | None:
    aliased = e.context.aliased
    if aliased is None or e.context.direction != "backward":
        return None
    return (f"the forward changed {aliased} in place (its output shares the storage), so the backward reads the "
            "output where it expects the input: compute the output out of place (e.g. inp.clamp_min(0.), not clamp_min_)")


def relu_at_kink(e: Evidence) -> str | None:
    inp = e.tensor("inp")
    if e.context.kind != "relu" or e.context.direction != "backward" or inp is None or inp.shape != e.value.shape:
        return None
    at_kink = inp == 0
    if bool(at_kink.any()) and _close(e.value.masked_fill(at_kink, 0), e.ref.masked_fill(at_kink, 0), e.tolerance):
        return (f"{e.name} differs only where inp == 0, where ReLU has no derivative: autograd's clamp_min passes "
                "out.g there, a mask (inp > 0) does not; use (inp >= 0), or inp.relu() in the forward, to agree")
    return None


def relu_mask(e: Evidence) -> str | None:
    inp, upstream = e.tensor("inp"), e.tensor("out_g")
    if (e.context.kind != "relu" or e.context.direction != "backward" or inp is None or upstream is None
            or upstream.shape != e.value.shape):
        return None
    if e.is_((inp > 0).to(e.value.dtype)):
        return f"ReLU gradient is the mask alone: {e.name} should be (inp > 0) * out.g (missing * out.g)"
    if e.is_(upstream):
        return f"ReLU mask missing: {e.name} should be (inp > 0) * out.g, not out.g"
    if e.is_(upstream * (upstream > 0)):
        return "ReLU mask taken from the wrong tensor (out.g > 0): mask out.g with (inp > 0), the layer's input"
    out = e.tensor("out")
    if out is not None and out.shape == inp.shape and e.is_(upstream * (out > 0)):
        return ("ReLU mask taken from the output (out > 0): with a shifted ReLU the output's sign is not the input's; "
                "mask out.g with (inp > 0)")
    return None


def softmax_without_one_hot(e: Evidence) -> str | None:
    inp = e.tensor("inp")
    if e.context.kind != "cross_entropy" or e.context.direction != "backward" or inp is None:
        return None
    if not e.is_(inp.softmax(1) / inp.shape[0]):
        return None
    return f"{e.name} is softmax(inp) / N: the one-hot is not subtracted; inp.g = (softmax(inp) - one_hot(targ)) / N"


def tanh_from_input(e: Evidence) -> str | None:
    inp, upstream = e.tensor("inp"), e.tensor("out_g")
    if e.context.kind != "tanh" or e.context.direction != "backward" or inp is None or upstream is None:
        return None
    if not e.is_((1 - inp * inp) * upstream):
        return None
    return ("tanh's derivative taken from the input: d tanh(x)/dx = 1 - tanh(x)², which is 1 - out² "
            "from the output: inp.g = (1 - out**2) * out.g")


def batchnorm_constant_statistics(e: Evidence) -> str | None:
    """The input gradient of batch norm as if the batch mean and variance were constants."""
    inp, upstream, gamma = e.tensor("inp"), e.tensor("out_g"), e.tensor("gamma")
    if (e.context.kind != "batchnorm" or e.context.role != "inp" or inp is None or upstream is None
            or gamma is None):
        return None
    if not e.is_(upstream * gamma / (inp.var(0, unbiased=False) + BATCHNORM_EPS).sqrt()):
        return None
    return ("batch norm's input gradient treats the batch mean and variance as constants (out.g * g / std); "
            "both depend on every row: inp.g = (N·dxhat − dxhat.sum(0) − xhat·(dxhat·xhat).sum(0)) / (N·std), "
            "dxhat = out.g * g")


def missing_bias(e: Evidence) -> str | None:
    b = e.tensor("b")
    if e.context.kind != "lin" or e.context.direction != "forward" or b is None or not bool(b.any()):
        return None
    return f"{e.name} is missing the bias: the forward should return inp @ w + b" if e.close(e.value + b) else None


def nxn_loss_value(e: Evidence) -> str | None:
    """mean((inp - targ)²) as an (N, 1) - (N,) broadcast computes it, without building N×N."""
    inp, targ = e.tensor("inp"), e.tensor("targ")
    if (e.context.kind != "mse" or e.context.direction != "forward" or inp is None or targ is None
            or inp.dim() != 2 or inp.shape[1] != 1 or e.stats.numel != 1):
        return None
    a, t = inp.detach().double().reshape(-1), targ.detach().double().reshape(-1)
    broadcast = float((a * a).mean() - 2 * a.mean() * t.mean() + (t * t).mean())
    if abs(broadcast - float(e.value)) > 1e-3 * abs(float(e.value)) + 1e-12:
        return None
    return ("N×N broadcast in the loss: inp (N, 1) minus targ (N,) broadcasts to (N, N); "
            "squeeze inp first: (inp.squeeze(-1) - targ)")


def sign_flip(e: Evidence) -> str | None:
    return f"sign flipped: {e.name} is minus {e.against}" if e.close(-e.value) else None


def constant_shift(e: Evidence) -> str | None:
    if e.context.direction != "forward" or e.stats.numel < 2:
        return None
    shift = float(torch.nanmean(e.value.detach().double() - e.ref.detach().double()))
    if not math.isfinite(shift) or not e.close(e.value - shift):
        return None
    lesson = " (as the lesson's clamp_min(0.) - 0.5)" if e.context.kind == "relu" and _near(shift, -0.5) else ""
    return (f"{e.name} is the reference layer's output shifted by {shift:+.4g}{lesson}; "
            "the backward is judged against autograd through this forward")


def constant_scale(e: Evidence) -> str | None:
    a, r = e.value.detach().double().reshape(-1), e.ref.detach().double().reshape(-1)
    rr = float(torch.dot(r, r))
    if not rr > 0:
        return None
    scale = float(torch.dot(a, r)) / rr
    if not math.isfinite(scale) or not e.close(e.value / scale):
        return None
    n, name, against = e.context.batch, e.name, e.against
    if n > 2 and _near(scale, n):
        return f"off by the batch size: {name} is {n}× {against} (×N); divide by N = inp.shape[0] (a mean, not a sum)"
    if n > 2 and _near(scale, 1 / n):
        return f"off by the batch size: {name} is {against} / {n} (÷N); N is divided out twice"
    if _near(scale, 2):
        return f"off by 2: {name} is twice {against}; the factor 2 of d(x²)/dx = 2x is counted twice"
    if _near(scale, 0.5):
        return f"off by 2: {name} is half of {against}; d(x²)/dx = 2x, the 2 is missing"
    if n > 2 and _near(scale, -n):
        return f"sign flipped and off by the batch size: {name} is −{n}× {against}"
    return f"{name} is {against} scaled by {scale:.4g}: a constant factor is wrong"


def fallback(e: Evidence) -> str:
    """What is known, when no pattern fits: direction, size, and where it is worst."""
    d = e.diff
    facts = []
    if d is not None:
        facts.append(f"cosine {d.cosine:.3f}")
    if e.ref_stats.norm > 0 and math.isfinite(e.stats.norm):
        facts.append(f"norm {e.stats.norm / e.ref_stats.norm:.3g}× {e.against}")
    if d is not None and d.worst:
        facts.append(f"largest difference {d.max_abs:.3g} at {list(d.worst)}")
    if e.stats.dtype != e.ref_stats.dtype:
        facts.append(f"dtype {e.stats.dtype}, {e.against} {e.ref_stats.dtype}")
    where = ("compare the forward with the reference layer's formula" if e.context.direction == "forward"
             else "compare the formula with the chain-rule factor of this layer")
    return f"{e.name} differs from {e.against} ({', '.join(facts)}) and fits no known pattern; {where}"


Pattern = Callable[[Evidence], "str | None"]

# Tried in this order: the first that recognises the evidence names the fix.
PATTERNS: tuple[Pattern, ...] = (
    # nothing to compare
    not_set, unused_by_forward,
    # bad numbers, and the step that changed what it reads
    nonfinite, changed_during_step, dtype_cast,
    # shapes: the most specific first
    loss_not_scalar, nxn_broadcast, bias_wrong_axes, missing_trailing_dim, extra_trailing_dim, transposed,
    reshaped, extra_batch_dim, other_shape,
    # values of the right shape
    activation_for_gradient, input_grad_without_transpose, aliased_input, relu_at_kink, relu_mask,
    softmax_without_one_hot, tanh_from_input, batchnorm_constant_statistics, missing_bias, nxn_loss_value,
    sign_flip, constant_shift, constant_scale,
)


def diagnose(evidence: Evidence) -> str:
    """One sentence naming the most likely bug behind a mismatch or a deviation."""
    for pattern in PATTERNS:
        hint = pattern(evidence)
        if hint:
            return hint
    return fallback(evidence)
