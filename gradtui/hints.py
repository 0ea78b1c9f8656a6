"""The hints: one sentence that names the slip, and the fix, for a tensor that does not match.

Most slips are one edit away from the layer's correct backward: a term dropped, a factor
doubled, a sum over the wrong axis, `out` where `out.g` belongs. `derived_slip` finds those
from the formulas of `gradtui.kinds`: it evaluates every one-edit variant of the right formula
on the layer's own tensors and names the variant that reproduces the user's tensor within the
verdict's tolerance. What is not one edit away (an N×N broadcast, NaN, a dtype, an in-place
change, a constant factor of the whole tensor) has a pattern of its own: one small function of
the evidence that returns a sentence or None. `diagnose` tries them in the order of PATTERNS.
Every hint is checked against the numbers before it is said; the last word, when nothing
fits, says what is known.
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import torch

from gradtui.compare import ALL_BUT_ZERO, as_numbers, close
from gradtui.config import DEFAULT_TOLERANCES
from gradtui.findings import NO_KNOWN_SLIP
from gradtui.formatting import ALSO, place, shape_in_words
from gradtui.formula import Expr, Formula, Reduce, ShapeError
from gradtui.kinds import KINDS, ROLE_WORDS, Family, Kind, formula_env
from gradtui.running import method_for

if TYPE_CHECKING:
    from gradtui.findings import Comparison, Diff, TensorStats


@dataclass(frozen=True)
class HintContext:
    """What the hints may look at besides the two tensors: the layer, and what the step did."""

    kind: str = ""  # lin, relu, tanh, batchnorm, mse, cross_entropy
    direction: str = ""  # forward, backward
    batch: int = 0
    # inp, out, out_g (the out.g the step received), out_g_ref (autograd's), targ, w, b, gamma, beta
    tensors: dict = field(default_factory=dict)
    role: str = ""  # what the tensor is to its layer: inp, w, b, gamma, beta (their .g), out (a forward output)
    changed: tuple[str, ...] = ()  # tensors the step changed in place (an update inside backward)
    rebound: tuple[str, ...] = ()  # weights the step replaced on the layer (self.w = self.w - …)
    aliased: str | None = None  # the activation this layer's forward changed in place
    against: str = "autograd's"  # or "the reference layer's", for a forward output
    layer_class: type | None = None  # the class whose code ran, to quote it
    upstream_from: str | None = None  # where the user's own out.g was made ("step 8, backward batchnorm1")
    built_params: bool = False  # gradtui built the layer's parameters (--net, --hidden), in its own shapes
    probe: object = None  # gradtui.derived.Probe: the layer on its first rows, for the search on its derived backward
    forward_deviated: bool = False  # this layer's forward step deviated from the reference layer's (≠)
    dtypes_made: dict = field(default_factory=dict)  # "float32" -> the graph Source in the backward that first made one


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
    scale: float = 0.0  # the verdict's least scale of the tolerance (a bias gradient's batch sum)

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
        return close(candidate, self.ref, self.tolerance, self.scale)

    def is_(self, candidate: torch.Tensor) -> bool:
        """Is the user's value this (wrong) candidate, within the verdict's own tolerance?"""
        return close(self.value, candidate, self.tolerance, self.scale)


def _near(x: float, target: float, rel: float = 1e-3) -> bool:
    return abs(x - target) <= rel * abs(target)


# -- what is missing, or not numbers ----------------------------------------------------------

def not_set(e: Evidence) -> str | None:
    if e.value is None:
        tensor = e.tensor(e.context.role)
        if isinstance(getattr(tensor, "grad", None), torch.Tensor):  # PyTorch's name for it
            return (f"{e.name} was not set, but {e.base}.grad was: gradtui reads .g, the notes' name "
                    f"(`{e.base}.g = ...`; .grad is autograd's)")
        formula = _kinds_formula(e)
        fix = f"; fix: {formula.code()}{formula.where()}" if formula is not None else ""
        return f"{e.name} was not set: this step must assign {e.name}{fix}"
    if isinstance(e.value, types.ModuleType):  # `torch` where `torch.sum(…)` belongs
        return f"{e.name} is the module `{e.value.__name__}`, not a tensor"
    if not isinstance(e.value, torch.Tensor):
        kind = type(e.value)
        return f"{e.name} is a {kind.__name__ if kind.__module__ == 'builtins' else f'{kind.__module__}.{kind.__name__}'}, " \
               "not a torch tensor"
    return None


def _kinds_formula(e: Evidence) -> Formula | None:
    """The reference layer's formula for the gradient at fault, when the step is of a kind gradtui knows."""
    kind = KINDS.get(e.context.kind)
    return kind.families[0].grads.get(e.context.role) if kind is not None and e.context.direction == "backward" else None


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
    if e.context.direction != "backward" or not (e.context.changed or e.context.rebound):
        return None
    what = []
    if e.context.changed:
        what.append(f"{', '.join(e.context.changed)} changed in place")
    if e.context.rebound:
        what.append(f"{', '.join(e.context.rebound)} replaced on the layer (self.w = self.w - …)")
    return (f"{' and '.join(what)} during this backward (an update inside backward?), so {e.name} may be computed "
            "from the new values: compute every gradient first, then update after the backward pass")


CAST = re.compile(r"\.(?:float|double|half|bfloat16)\(\)|\.to\([^()]*(?:\([^()]*\))?[^()]*\)|\.type\([^()]*\)")


NARROWER = {"float64": ("float32", "float16", "bfloat16"), "float32": ("float16", "bfloat16")}


def dtype_cast(e: Evidence) -> str | None:
    """A cast in the backward: the gradient in another dtype than autograd's (the lesson's `.float()`
    mask in bfloat16), or in the same dtype but with a narrower dtype's rounding (a `.float()` inside
    a float64 formula), its values right within what that dtype resolves. Said with the user's own
    cast and line, before any other hint."""
    s, r = e.stats, e.ref_stats
    casts, made = _casts(e.context), e.context.dtypes_made
    if s.shape != r.shape or (s.dtype == r.dtype and not casts and not made):
        return None
    narrow = s.dtype if s.dtype != r.dtype else next((d for d in NARROWER.get(s.dtype, ()) if d in made or any(
        d in text or _CAST_TO.get(text.split("(")[0].strip("."), "") == d for text, _ in casts)), None)
    if narrow is None:
        return None
    tolerance = max(DEFAULT_TOLERANCES.get(narrow, e.tolerance), DEFAULT_TOLERANCES.get(r.dtype, e.tolerance))
    if not close(e.value.to(e.ref.dtype), e.ref, tolerance, e.scale):
        return None
    if not casts and narrow in made:  # no cast in the backward's own lines: one in a method it calls, or a factory
        source, cast = made[narrow]
        where = f"`{source.expression or source.code}` ({place(source.file, source.line)})"
        if cast:
            casts = [(source.expression or source.code, place(source.file, source.line))]
        else:
            return (f"{e.name} is {s.dtype}, {e.against} is {r.dtype}: {where} makes a {narrow} tensor (torch's default "
                    f"dtype) in a {r.dtype} run; make it in the run's dtype (dtype=…, or from a tensor of the run), "
                    f"or cast the result back with .to({e.base}.dtype)")
    quoted = "the cast " + " and ".join(f"`{text}` ({where})" for text, where in casts) if casts else "a cast"
    if s.dtype != r.dtype:
        return (f"{e.name} is {s.dtype}, {e.against} is {r.dtype}: {quoted} in the backward changed its "
                f"dtype; drop it, or cast the result back with .to({e.base}.dtype)")
    return (f"{e.name} is {s.dtype} but carries {narrow}'s rounding (max|Δ| {e.diff.max_abs:.3g}, within what {narrow} "
            f"resolves): {quoted} in the backward rounds a factor to {narrow}; drop it")


_CAST_TO = {"float": "float32", "half": "float16", "bfloat16": "bfloat16", "double": "float64"}


def _casts(context: HintContext) -> list[tuple[str, str]]:
    """The casts in the code of the method that ran for this step, each with where it is (file:line)."""
    if context.layer_class is None:
        return []
    import inspect

    try:
        method = method_for(context.layer_class, context.direction)
        lines, first = inspect.getsourcelines(method)
        file = inspect.getsourcefile(method) or "?"
    except (OSError, TypeError):
        return []
    return [(cast, place(file, first + i)) for i, line in enumerate(lines) if not line.lstrip().startswith("#")
            for cast in dict.fromkeys(CAST.findall(line)) if _CAST_TO.get(cast.split("(")[0].strip("."), "") != "float64"]


# -- shapes that no single edit gives ------------------------------------------------------------

def loss_not_scalar(e: Evidence) -> str | None:
    kind = KINDS.get(e.context.kind)
    if kind is None or not kind.loss or e.context.direction != "forward" or e.ref_stats.shape != () or e.stats.numel <= 1:
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
    product = ("; or a matrix product summed over the features where the batch belongs: `g @ x.T` where `x.T @ g` "
               "belongs") if len(want) == 2 and got == (n, n) else ""
    return (f"N×N broadcast: {e.name} is {e.got}, {e.against} is {e.want}; an (N, 1) tensor met an (N,) one: "
            f"squeeze the (N, 1) one (.squeeze(-1)) before they meet{product}")


def reshaped(e: Evidence) -> str | None:
    """The right values in the wrong shape."""
    if e.stats.shape == e.ref_stats.shape or e.stats.numel != e.ref_stats.numel:
        return None
    if len(e.stats.shape) == 2 and e.stats.shape == e.ref_stats.shape[::-1]:
        return None  # (5, 1) for (1, 5): a transpose, which `transposed` says as one
    if not e.close(e.value.reshape(e.ref_stats.shape)):
        return None
    return f"{e.name} has the right values in the shape {e.got}, {e.against} is {e.want}: {_reshape_fix(e)}"


def _reshape_fix(e: Evidence) -> str:
    got, want = e.stats.shape, e.ref_stats.shape
    if len(got) == len(want) + 1 and [d for d in got if d != 1] == [d for d in want if d != 1]:
        return "a dimension of size 1 too many: drop keepdim=True (or .squeeze() it)"
    if len(got) + 1 == len(want) and [d for d in got if d != 1] == [d for d in want if d != 1]:
        return "a dimension of size 1 is missing: keep it (keepdim=True, or .unsqueeze(-1))"
    return f"reshape it to {e.want}"


# -- slips one edit away from the layer's correct backward -----------------------------------

def derived_slip(e: Evidence) -> str | None:
    """The one-edit variant of the kind's correct formula that gives the user's tensor; or the right
    formula itself, when the difference comes from elsewhere (the forward, or the gradient from above)."""
    kind = KINDS.get(e.context.kind)
    if kind is None or e.context.direction != "backward" or not e.value.is_floating_point():
        return None
    search = _family_search(e, kind)
    if search is None:
        return None
    formula, family = search.formula, search.family
    role = f"{kind.title}'s {ROLE_WORDS[e.context.role]}{family.says}"
    fix = f"fix: {formula.code()}{formula.where()}"
    if search.right.shape == e.value.shape and e.is_(search.right):
        return _right_formula(e, kind.title, formula, search)
    found = search.find(e.value)
    if found is not None:
        variant, words = found
        return f"{e.name} is {role} {words}: {variant.code()}; {fix}"
    if e.stats.shape != e.ref_stats.shape and e.stats.numel == e.ref_stats.numel:
        found = search.find(e.value.reshape(e.ref_stats.shape))
        if found is not None:
            variant, words = found
            return f"{e.name} is {role} {words}: {variant.code()}, and shaped {e.got}, not {e.want}: {_reshape_fix(e)}; {fix}"
    return None


def _family_search(e: Evidence, kind: Kind) -> _SlipSearch | None:
    """The search in the family of formulas whose right one gives autograd's gradient (batch norm with
    the variance divided by n, or by n−1, as the user's forward does); the reference layer's when none does."""
    first = None
    for family in kind.families:
        formula = family.grads.get(e.context.role)
        if formula is None:
            return None
        search = _SlipSearch(e, formula, family)
        if search.right is None:
            continue
        if first is None:
            first = search
        if e.close(search.right):
            return search
    return first


def _right_formula(e: Evidence, title: str, formula: Formula, search: _SlipSearch) -> str | None:
    """The user's tensor is the right formula applied to what the step received: the difference from
    autograd's comes from the gradient from above (a slip before, too small to fail there), or from
    a forward that is not the reference layer's (said only where the forward step deviated: ≠).
    None when neither holds: the other hints speak."""
    upstream, maker = e.tensor("out_g_ref"), e.context.upstream_from
    if upstream is not None and maker is not None:
        with_autograds = search.evaluate(formula.expr, tuple(e.ref_stats.shape), {"out.g": upstream})
        if with_autograds is not None and e.close(with_autograds):
            return (f"{e.name} is computed right ({formula.expr.code()}) from out.g, but out.g ({maker}) already differs "
                    "from autograd's, by less than the tolerance there, and the difference grows here: the slip is "
                    "at that step (run with --dtype float64 to see it there)")
    if not e.context.forward_deviated:
        return None
    return (f"{e.name} is {title}'s {ROLE_WORDS[e.context.role]} as the reference {title} computes it "
            f"({formula.expr.code()}), but autograd through your own forward gives something else: your forward is not "
            f"the reference {title}'s (see its ≠ step); the backward must differentiate the forward you wrote")


class _SlipSearch:
    """A family's formula and its one-edit variants, evaluated on the layer's tensors in the user's
    dtype (float32 for half precision); each variant's shape found first from the tensors' shapes
    (Expr.shape), so that one of another shape (an N×N broadcast among them) is never computed."""

    def __init__(self, e: Evidence, formula: Formula, family: Family):
        self.e, self.family = e, family
        dtype = torch.promote_types(e.value.dtype, torch.float32)
        env = formula_env(e.context.kind, e.context.tensors, **dict(family.env))
        self.env = {name: _as(value, dtype) for name, value in env.items()}
        self.shapes = _shapes(self.env)
        self.formula = _fitted(formula, self.shapes, tuple(e.ref_stats.shape))
        expr = self.formula.expr
        self.right = self.evaluate(expr, tuple(e.ref_stats.shape)) if self._has_names(expr) else None

    def _has_names(self, expr: Expr) -> bool:
        return expr.names() <= self.env.keys()

    def evaluate(self, expr: Expr, shape: tuple[int, ...], replaced: dict | None = None) -> torch.Tensor | None:
        """The expression's value, or None where it is of another shape or cannot be computed."""
        env, shapes = self.env, self.shapes
        if replaced:
            env = env | {name: _as(value, self.env["inp"].dtype) for name, value in replaced.items()}
            shapes = _shapes(env)
        try:
            if expr.shape(shapes) != shape:
                return None
            value = expr.eval(env)
        except (ShapeError, RuntimeError, IndexError, TypeError, AttributeError, KeyError, ValueError):
            return None
        return value if isinstance(value, torch.Tensor) else None

    def find(self, target: torch.Tensor):
        for variant, words in self.formula.variants():
            if not self._has_names(variant):
                continue
            value = self.evaluate(variant, tuple(target.shape))
            if value is not None and close(target, value, self.e.tolerance, self.e.scale):
                return variant, words
        return None


def _fitted(formula: Formula, shapes: dict, want: tuple[int, ...]) -> Formula:
    """The formula for a parameter of the shape the user's layer holds: a gain kept as (1, n), as
    makemore keeps it, has its gradient summed with keepdim=True."""
    expr = formula.expr
    if isinstance(expr, Reduce) and not expr.keepdim:
        try:
            if expr.shape(shapes) != want and replace(expr, keepdim=True).shape(shapes) == want:
                return replace(formula, expr=replace(expr, keepdim=True))
        except (ShapeError, KeyError):
            pass
    return formula


def _shapes(env: dict) -> dict[str, tuple[int, ...]]:
    return {name: tuple(value.shape) if isinstance(value, torch.Tensor) else () for name, value in env.items()}


def _as(value, dtype: torch.dtype):
    return value.detach().to(dtype) if isinstance(value, torch.Tensor) and value.is_floating_point() else value


def graph_slip(e: Evidence) -> str | None:
    """One edit of the backward derived from the layer's own forward operations (any layer, known kind
    or not) that gives the user's gradient, named at the forward line whose derivative it breaks."""
    probe = _probe(e)
    found = probe.slips(e.context.role, e.name, e.tolerance) if probe is not None else None
    if not found:
        return None
    (said, at), *others = found
    others = [other for other in others if other[0].replace(", keepdim=True", "") != said.replace(", keepdim=True", "")]
    if others:  # two edits give the same numbers: both are said, neither is guessed (a keepdim alone is no other story)
        other = others[0][0].removeprefix(e.name + ": ")
        same = re.match(r"the derivative of `[^`]*`(?: in `[^`]*`)?(?: \([^()`]*:\d+\))? ", said.removeprefix(e.name + ": "))
        if same and other.startswith(same[0]):  # of the same operation, said once: "…; or, with the same numbers, it is …"
            other = "it " + other[len(same[0]):]
        said = f"{said}{ALSO}{other}"
    term = probe.closed_form_term(e.context.role, e.tolerance)
    if term is not None:  # a layer norm written out: the term its closed form writes, for a backward in that form
        said = f"{said}; in {term}"
    return AtLine.of(said, at)


def one_path_slip(e: Evidence) -> str | None:
    """One edit of the backward derived from the forward, made on one of the paths a value's gradient comes by
    (the user's backward writes that gradient a term per path, the slip in one term), where nothing else names it."""
    probe = _probe(e)
    found = probe.one_path_slips(e.context.role, e.name, e.tolerance) if probe is not None else None
    return AtLine.of(*found[0]) if found else None


def _probe(e: Evidence):
    """The derived backward's search of a backward step's floating gradient (None: none is asked)."""
    probe = e.context.probe
    return probe if probe is not None and e.context.direction == "backward" and e.value.is_floating_point() else None


class AtLine(str):
    """A hint that names a line of the forward (where the slip's derivative belongs): `at` is
    (file, line, code), for the faces that show it beside the backward's code."""

    def __new__(cls, text: str, at: tuple[str, int, str] | None):
        said = super().__new__(cls, text)
        said.at = at
        return said

    @classmethod
    def of(cls, text: str, at) -> AtLine:
        """The hint at a forward statement (`at`, a graph Source; None: at none)."""
        return cls(text, None if at is None else (at.file, at.line, at.code))


# -- values of the right shape that no single edit gives ------------------------------------------

def aliased_input(e: Evidence) -> str | None:
    aliased = e.context.aliased
    if aliased is None or e.context.direction != "backward":
        return None
    return (f"the forward changed {aliased} in place (its output shares the storage), so the backward reads the "
            "output where it expects the input: compute the output out of place (e.g. inp.clamp_min(0.), not clamp_min_)")


def batchnorm_constant_statistics(e: Evidence) -> str | None:
    """The input gradient of batch norm as if the batch mean and variance were constants: both terms dropped."""
    inp, upstream, gamma = e.tensor("inp"), e.tensor("out_g"), e.tensor("gamma")
    if (e.context.kind != "batchnorm" or e.context.role != "inp" or inp is None or upstream is None
            or gamma is None):
        return None
    env = formula_env("batchnorm", e.context.tensors)
    if "std" not in env or not e.is_(upstream * gamma / env["std"]):
        return None
    return ("batch norm's input gradient treats the batch mean and variance as constants (out.g * gamma / std): "
            "both the mean term and the variance term are missing; they depend on every row: "
            "inp.g = (N * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (N * std), dxhat = out.g * gamma")


@dataclass(frozen=True)
class _TermFit:
    """A difference from the reference, in each slice, as a·u + b·v: the slip is in the terms u and v stand for."""

    a: torch.Tensor  # per slice (kept as a dimension of size 1)
    b: torch.Tensor
    a_off: bool  # does a·u count in the difference (more than a thousandth of it)?
    b_off: bool


def _fit_terms(e: Evidence, u: torch.Tensor, v: torch.Tensor, dim: int) -> _TermFit | None:
    """The least-squares a, b per slice along `dim` (a feature: dim 0; a row: dim 1) such that the
    user's tensor minus (a·u + b·v) is the reference within the verdict's tolerance; None when none is."""
    value, ref = e.value.detach().double(), e.ref.detach().double()
    scale = float((value * ref).sum() / (ref * ref).sum().clamp_min(1e-300))
    if e.is_(e.ref * scale):  # the whole tensor a multiple of the reference: constant_scale's to say
        return None
    r = value - ref
    u, v = u.double().expand_as(r), v.double().expand_as(r)
    uu, uv, vv = (u * u).sum(dim, keepdim=True), (u * v).sum(dim, keepdim=True), (v * v).sum(dim, keepdim=True)
    ur, vr = (u * r).sum(dim, keepdim=True), (v * r).sum(dim, keepdim=True)
    det = uu * vv - uv * uv
    apart = det > 1e-9 * uu * vv  # u and v not one direction in this slice: both coefficients known
    safe = det.where(apart, 1.0)
    a = ((ur * vv - vr * uv) / safe).where(apart, ur / uu.clamp_min(1e-300))
    b = ((vr * uu - ur * uv) / safe).where(apart, 0.0)
    if not e.close((value - a * u - b * v).to(e.ref.dtype)):
        return None

    def alone(w: torch.Tensor) -> bool:  # one term fits the difference by itself: the other's share is rounding
        return e.close((value - (w * r).sum(dim, keepdim=True) / (w * w).sum(dim, keepdim=True).clamp_min(1e-300) * w)
                       .to(e.ref.dtype))

    size, a_share, b_share = float(r.norm()), float((a * u).norm()), float((b * v).norm())
    a_off, b_off = a_share > 1e-3 * size, b_share > 1e-3 * size
    if a_off and b_off and alone(v if b_share >= a_share else u):
        a_off, b_off = a_share > b_share, b_share >= a_share
    return _TermFit(a, b, a_off, b_off)


def batchnorm_terms(e: Evidence) -> str | None:
    """Batch norm's input gradient wrong in its terms over the batch only, however the slip is
    written (in steps, dvar and dmean): in every feature, the difference from autograd's is a
    constant (the mean term's place) and a multiple of xhat (the variance term's), and the term
    that varies with each row, N * dxhat, is right."""
    kind = KINDS[e.context.kind] if e.context.kind == "batchnorm" else None
    if (kind is None or e.context.role != "inp" or e.context.direction != "backward" or e.value.dim() != 2
            or e.stats.shape != e.ref_stats.shape or e.value.shape[0] < 3 or not e.stats.finite or not e.ref_stats.finite):
        return None
    search = _family_search(e, kind)
    if search is None or search.right is None or "xhat" not in search.env or "dxhat" not in search.env:
        return None
    env = {name: value.double() if isinstance(value, torch.Tensor) else value for name, value in search.env.items()}
    xhat, dxhat, std, n = env["xhat"], env["dxhat"], env["std"], env["N"]
    fit = _fit_terms(e, torch.ones_like(std), xhat, 0)
    if fit is None:
        return None
    fix = f"fix: {search.formula.code()}{search.formula.where()}"
    if fit.a_off and fit.b_off:
        return (f"{e.name} differs from {e.against} by a constant plus a multiple of xhat in each feature: BatchNorm's "
                "input gradient has both terms over the batch wrong, the mean term `- dxhat.sum(0)` and the variance "
                "term `- xhat * (dxhat * xhat).sum(0)`, and its first term, N * dxhat, right (written in steps: the "
                f"gradient of the variance, dvar, which the mean's uses too); {fix}")
    bessel = n / (n - 1) if search.family is not kind.families[0] else 1.0
    if fit.a_off:
        factor = _term_factor(-dxhat.sum(0) / (n * std), fit.a, n)
        return (f"{e.name} differs from {e.against} by a constant in each feature (the same in every row): "
                f"BatchNorm's input gradient has its mean term `- dxhat.sum(0)` wrong{factor}, the rest right (written "
                "in steps: dmean, the gradient of the batch mean; or a constant in what should vary with the row, such "
                f"as x - mean); {fix}")
    factor = _term_factor(-bessel * (dxhat * xhat).sum(0) / (n * std), fit.b, n)
    return (f"{e.name} differs from {e.against} by a multiple of xhat in each feature: BatchNorm's input gradient "
            f"has its variance term `- xhat * (dxhat * xhat).sum(0)` wrong{factor}, the rest right (written in steps: "
            f"dvar, the gradient of the batch variance); {fix}")


def normalisation_terms(e: Evidence) -> str | None:
    """Any layer whose output is, in every feature, its input standardised over the batch (or the features) times
    a gain plus a shift, centred so (autograd's gradient sums to 0 over that axis: a batch norm or a layer norm,
    however written; not `x / std`): its input gradient wrong only in the terms over that axis, the difference
    from autograd's a constant (the mean term's place) plus a multiple of xhat (the variance term's), in each
    slice, as batchnorm_terms finds for the batch norm gradtui knows."""
    inp, out = e.tensor("inp"), e.tensor("out")
    if (e.context.kind == "batchnorm" or e.context.role != "inp" or e.context.direction != "backward"
            or not isinstance(e.value, torch.Tensor) or e.value.dim() != 2 or inp is None or out is None
            or not e.value.shape == e.ref.shape == inp.shape == out.shape or min(e.value.shape) < 3
            or not e.stats.finite or not e.ref_stats.finite):
        return None
    x, out, ref = (t.detach().double() for t in (inp, out, e.ref))
    for dim, over, per in ((0, "the batch", "feature"), (1, "the features", "row")):
        # centred over the axis: a shift of a slice's inputs changes nothing, so autograd's gradient sums to 0 there
        if bool((ref.sum(dim).abs() > 1e-3 * ref.abs().sum(dim) + 1e-30).any()):
            continue
        centred = x - x.mean(dim, keepdim=True)
        xhat = centred / centred.pow(2).mean(dim, keepdim=True).sqrt().clamp_min(1e-12)
        if not _affine_in(out, xhat):
            continue
        fit = _fit_terms(e, torch.ones_like(xhat), xhat, dim)
        if fit is None or not (fit.a_off or fit.b_off):
            continue
        mean_term = f"the mean term `- dxhat.sum({dim})`"
        variance_term = f"the variance term `- xhat * (dxhat * xhat).sum({dim})`"
        differs, wrong, steps = (("a constant plus a multiple of xhat", f"what its terms over {over} add up to, {mean_term} "
                                  f"and {variance_term}", "a term that lost its xhat, or both dmean and dvar")
                                 if fit.a_off and fit.b_off else ("a constant", mean_term, "dmean") if fit.a_off
                                 else ("a multiple of xhat", variance_term, "dvar"))
        return (f"{e.name} differs from {e.against} by {differs} in each {per} (xhat = (inp - mean) / std over {over}), "
                f"and this layer's output is its input standardised over {over}, times a gain, plus a shift: its input "
                f"gradient's first term, N * dxhat, is right, and {wrong} is wrong (written in steps: {steps})")
    return None


def _affine_in(out: torch.Tensor, xhat: torch.Tensor) -> bool:
    """Is `out`, in each feature, a + b·xhat (a gain and a shift per feature, as a batch norm's and a layer norm's
    are), to a float32 rounding of its scale?"""
    centred, xhat = out - out.mean(0, keepdim=True), xhat - xhat.mean(0, keepdim=True)  # (a layer norm's xhat: not 0
    b = (centred * xhat).sum(0, keepdim=True) / (xhat * xhat).sum(0, keepdim=True).clamp_min(1e-300)  # in a feature)
    return bool((centred - b * xhat).abs().max() <= 1e-4 * out.abs().max().clamp_min(1e-30))


def _term_factor(right: torch.Tensor, added: torch.Tensor, n: int) -> str:
    """What a term is, per slice, against what it should be (`right` its coefficient, `added` the user's extra)."""
    right = right.reshape(added.shape)
    return _common_factor((right + added) / right.where(right.abs() > 0, math.nan), n)


def _common_factor(ratios: torch.Tensor, n: int) -> str:
    """" (2 × what it should be)" for per-feature ratios that are one number; what else they say otherwise."""
    known = ratios[torch.isfinite(ratios)]
    if not known.numel():
        return ""
    low, high, middle = float(known.min()), float(known.max()), float(known.median())
    if high - low > 1e-3 * max(abs(low), abs(high)):
        return " (by a factor that differs between features)"
    if abs(middle) < 1e-6:
        return " (missing: it is zero)"
    if abs(middle - 1) < 1e-3:
        return f" (slightly: {middle:.6g} × what it should be)"
    words = factor_in_words(abs(middle), n)
    return f" ({'minus ' if middle < 0 else ''}{words or f'{abs(middle):.4g}'} × what it should be)"


def batchnorm_bessel(e: Evidence) -> str | None:
    """A batch norm forward that normalises with the unbiased variance (÷ n−1)."""
    inp, gamma, beta = e.tensor("inp"), e.tensor("gamma"), e.tensor("beta")
    if (e.context.kind != "batchnorm" or e.context.direction != "forward" or inp is None or gamma is None
            or beta is None or inp.dim() != 2 or inp.shape[0] < 2):
        return None
    x = inp.detach().to(torch.promote_types(inp.dtype, torch.float32))
    if not e.is_(gamma * formula_env("batchnorm", {"inp": x}, unbiased=True)["xhat"] + beta):
        return None
    return (f"{e.name} normalises with the unbiased variance (÷ n−1, Bessel's correction); the reference batch norm "
            "divides by n, as torch's BatchNorm does in training: use inp.var(0, unbiased=False), or keep n−1 and put "
            "the same n/(n−1) in the backward's variance term")


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


def constant_shift(e: Evidence) -> str | None:
    if e.context.direction != "forward" or e.stats.numel < 2:
        return None
    shift = float(torch.nanmean(e.value.detach().double() - e.ref.detach().double()))
    if not math.isfinite(shift) or not e.close(e.value - shift):
        return None
    lesson = " (as the lesson's clamp_min(0.) - 0.5)" if e.context.kind == "relu" and _near(shift, -0.5) else ""
    return (f"{e.name} is the reference layer's output shifted by {shift:+.4g}{lesson}; "
            "the backward is judged against autograd through this forward")


# -- shapes, in words, when nothing above explains them --------------------------------------------

def missing_trailing_dim(e: Evidence) -> str | None:
    got, want = e.stats.shape, e.ref_stats.shape
    if not want or want[-1] != 1 or got != want[:-1]:
        return None
    return (f"{e.name} is {e.got}, {e.against} is {e.want}: the trailing dimension of size 1 is missing, and the values "
            "differ too")


def transposed(e: Evidence) -> str | None:
    got, want = e.stats.shape, e.ref_stats.shape
    if e.value.dim() != 2 or got != want[::-1] or got == want:
        return None
    if e.close(e.value.t()):
        return f"transposed: {e.name} is the transpose of {e.against}; swap the operands of the matmul and their transposes"
    return f"{e.name} has the transposed shape {e.got}, {e.against} is {e.want}: check the order of the matmul"


def extra_batch_dim(e: Evidence) -> str | None:
    got, want, n = e.stats.shape, e.ref_stats.shape, e.context.batch
    if n <= 1 or len(got) != len(want) + 1 or got[0] != n or got[1:] != want:
        return None
    summed = " and its sum over the batch is right" if e.close(e.value.sum(0)) else ""
    return f"extra batch dimension: {e.name} is {e.got}, {e.against} is {e.want}{summed}; sum over the batch with .sum(0)"


def reduced_over_the_features(e: Evidence) -> str | None:
    """One value per row of the batch where autograd's has one per feature: a parameter's gradient
    summed over the features, `(g * x).sum(1)`, where the sum over the batch belongs."""
    got, want, n = e.stats.shape, e.ref_stats.shape, e.context.batch
    per_row = {1: (n,), 2: (n, 1)}.get(len(want))
    if n <= 1 or got != per_row or n in want or (len(want) == 2 and want[0] != 1):
        return None
    right = ".sum(0)" if len(want) == 1 else ".sum(0, keepdim=True)"
    return (f"summed over the features: {e.name} is {e.got}, one value per row of the batch, where {e.against} is "
            f"{e.want}, one per feature: the sum over axis 1 (or -1) is where the sum over the batch belongs, {right}")


def other_shape(e: Evidence) -> str | None:
    if e.stats.shape == e.ref_stats.shape:
        return None
    return f"{e.name} is {e.got}, {e.against} is {e.want}"


# -- a constant factor of the whole tensor ------------------------------------------------------

def sign_flip(e: Evidence) -> str | None:
    if e.stats.shape != e.ref_stats.shape:
        return None
    return f"sign flipped: {e.name} is minus {e.against}" if e.close(-e.value) else None


def factor_in_words(scale: float, n: int, rel: float = 1e-4) -> str | None:
    """N, N², 1/N, 2, n/(n−1), √(n/(n−1)), … for a factor that is one of them; None otherwise."""
    if n > 2:
        named = {n: "N (the batch size)", n * n: "N² (the batch size, twice)", 1 / n: "1/N", 1 / (n * n): "1/N²",
                 n - 1: "N−1", 1 / (n - 1): "1/(N−1)", n / (n - 1): "n/(n−1) (Bessel's correction)",
                 (n - 1) / n: "(n−1)/n (Bessel's correction, inverted)",
                 math.sqrt(n / (n - 1)): "√(n/(n−1)) (Bessel's correction under a square root)",
                 math.sqrt((n - 1) / n): "√((n−1)/n) (Bessel's correction under a square root, inverted)"}
    else:
        named = {}
    named |= {2.0: "2", 0.5: "1/2", 4.0: "4", 0.25: "1/4"}
    for value, words in sorted(named.items(), key=lambda item: abs(item[0] - scale)):
        if _near(scale, value, rel):
            return words
    return None


def vanishing(e: Evidence) -> str | None:
    """A gradient that is all but zero where the reference is not: a path lost, not a factor."""
    s, r = e.stats, e.ref_stats
    if e.context.direction != "backward" or not r.absmax > 0 or s.absmax > ALL_BUT_ZERO * r.absmax or not s.finite:
        return None
    size = "zero" if s.absmax == 0 else f"all but zero (largest |value| {s.absmax:.3g})"
    return (f"{e.name} is {size} where {e.against} reaches {r.absmax:.3g}: the gradient is lost on the way; is a "
            "gradient overwritten (= where += belongs), or multiplied by a factor that is ~0?")


def derivative_off_by_a_constant(e: Evidence) -> str | None:
    """An elementwise layer's input gradient that is out.g × (its derivative + c), everywhere or on one side of 0
    (one branch of a `where`): a derivative written from the output (ELU's `out + alpha`) with its constant left
    out, doubled or its sign flipped, where no edit of the derivative the forward's operations give is that."""
    inp, upstream = e.tensor("inp"), e.tensor("out_g")
    weights = [t for key, t in e.context.tensors.items() if key not in ("inp", "out", "out_g", "targ", "out_g_ref")]
    if (e.context.direction != "backward" or e.context.role != "inp" or not isinstance(e.value, torch.Tensor)
            or inp is None or upstream is None or not e.value.is_floating_point()
            or not e.value.shape == e.ref.shape == inp.shape == upstream.shape or e.value.numel() < 2
            or any(isinstance(w, torch.Tensor) and w.dim() >= 2 for w in weights)):  # (a matrix mixes the entries)
        return None
    value, ref, inp, upstream = (t.detach().double() for t in (e.value, e.ref, inp, upstream))
    for words, region in (("", torch.ones_like(inp, dtype=torch.bool)), (" where inp < 0", inp < 0),
                          (" where inp > 0", inp > 0)):
        weight = upstream * region
        if not weight.abs().sum() > 0:
            continue
        c = float(((value - ref) * weight).sum() / (weight * weight).sum())  # least squares: value - ref = c × weight
        if not math.isfinite(c) or abs(c) < 1e-6 or not e.close((value - c * weight).to(e.value.dtype)):
            continue
        shown = f"{abs(c):.4g}"
        return (f"{e.name} is out.g × (the layer's derivative {'+' if c > 0 else '−'} {shown}){words}: a constant term "
                "of the derivative left out, written twice or with its sign flipped? (as a derivative written from the "
                "output can be: ELU's `out + alpha`)")
    return None


def _whole_factor(e: Evidence) -> float | None:
    """The one number the user's tensor is the reference times, if it is one."""
    if e.stats.shape != e.ref_stats.shape or e.ref_stats.absmax * ALL_BUT_ZERO >= e.stats.absmax:
        return None
    a, r = e.value.detach().double().reshape(-1), e.ref.detach().double().reshape(-1)
    rr = float(torch.dot(r, r))
    if not rr > 0:
        return None
    scale = float(torch.dot(a, r)) / rr
    if not math.isfinite(scale) or scale == 0 or not e.is_(e.ref * scale):
        return None
    return scale


def named_factor(e: Evidence) -> str | None:
    """The whole tensor off by a factor that has a name (N, 1/N, 2, n/(n−1))."""
    scale = _whole_factor(e)
    if scale is None:
        return None
    n, name, against = e.context.batch, e.name, e.against
    sign = "minus " if scale < 0 else ""
    words = factor_in_words(abs(scale), n, max(1e-4, e.tolerance[0]))
    if words is None:
        return None
    why = _why_factor(abs(scale), n, words)
    if why == UNNAMED_FACTOR:  # the slip search may find whose constant it is (a power's 4 left out)
        return None
    off = "off by the batch size: " if "batch size" in words or words == "1/N" else "off by 2: " if words in ("2", "1/2") else ""
    return f"{off}{name} is {sign}{words} × {against}: {why}"


def batch_over_width(e: Evidence) -> str | None:
    """The whole tensor N/C × the reference: a division by the other axis's size. Tried after the
    search of the forward's operations, whose own numbers (hard-swish's 6 at N = 300, C = 50) come first."""
    scale, inp, n = _whole_factor(e), e.tensor("inp"), e.context.batch
    width = inp.shape[1] if inp is not None and inp.dim() == 2 else n
    if scale is None or width in (n, 1) or not _near(abs(scale), n / width, max(1e-4, e.tolerance[0])):
        return None
    return (f"off by the batch size: {e.name} is {'minus ' if scale < 0 else ''}N/C × {e.against}: divided by "
            f"inp.shape[1] = {width} where N = inp.shape[0] = {n} belongs (the size of the other axis)")


UNNAMED_FACTOR = "a constant factor is wrong"


def constant_scale(e: Evidence) -> str | None:
    """The whole tensor off by a factor with no name (said only for more than one number: any two
    numbers are multiples)."""
    scale = _whole_factor(e)
    if scale is None or e.stats.numel == 1:
        return None
    return f"{e.name} is {e.against} scaled by {scale:.4g}: {UNNAMED_FACTOR}"


def _why_factor(factor: float, n: int, words: str) -> str:
    """The likely cause of a gradient `factor` × the right one (`words`: the factor named)."""
    if factor == n or _near(factor, n):
        return "divide by N = inp.shape[0] (a mean, not a sum)"
    if n > 2 and _near(factor, 1 / n):
        return "N is divided out once too often (or the forward sums where the backward takes a mean)"
    if _near(factor, 2):  # MSE's own 2 is named by its formula (kinds.py); this is any layer's
        return "a factor of 2 is counted twice (or one that should divide multiplies)"
    if _near(factor, 0.5):
        return "a factor of 2 is missing (in the forward, a division or a 2 the backward leaves out)"
    if "Bessel" in words:
        return "the forward and the backward disagree on dividing the variance by n or by n−1"
    return UNNAMED_FACTOR


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
    return f"{e.name} differs from {e.against} ({', '.join(facts)}) and {NO_KNOWN_SLIP}; {where}"


Pattern = Callable[[Evidence], "str | None"]

# Tried in this order: the first that recognises the evidence names the fix.
PATTERNS: tuple[Pattern, ...] = (
    # nothing to compare
    not_set, unused_by_forward,
    # bad numbers, and the step that changed what it reads
    nonfinite, changed_during_step, dtype_cast,
    # what no single edit gives, and what misleads the search (an input the forward overwrote)
    loss_not_scalar, nxn_broadcast, aliased_input,
    # one edit away from the layer's correct backward, or the right values in another shape
    derived_slip, reshaped,
    # two edits, named; a term wrong however it is written; forward deviations
    batchnorm_constant_statistics, batchnorm_terms, batchnorm_bessel, missing_bias, nxn_loss_value, constant_shift,
    # shapes, and factors of the whole tensor, that have a name
    missing_trailing_dim, transposed, extra_batch_dim, sign_flip, named_factor,
    # one edit of the backward derived from the forward's own operations: any layer (an edit that loses the
    # gradient is no story: many do; a factor that makes it tiny is)
    graph_slip, batch_over_width,
    # a normalisation of any layer's, in its terms over the batch or the features
    normalisation_terms,
    # a gradient lost
    vanishing,
    # what is left, in words: another shape, a factor with no name
    reduced_over_the_features, other_shape, constant_scale,
    # a derivative off by a constant, everywhere or on one side of 0
    derivative_off_by_a_constant,
    # last: one edit of the derived backward made on one path only (a gradient written a term per reader)
    one_path_slip,
)


def explain(comparison: Comparison, value, ref, context: HintContext) -> str:
    """The hint of a comparison that does not match: what the user's `value` is, against `ref`."""
    evidence = Evidence(comparison.name, value, ref, comparison.stats, comparison.ref, comparison.diff,
                        comparison.tolerance, context, comparison.scale)
    numbers = as_numbers(value, ref)
    if numbers is not value:  # a mask, ids: its numbers are what the slips are searched on
        evidence = replace(evidence, value=numbers)
        said = diagnose(evidence)
        dtypes = (str(value.dtype).removeprefix("torch."), str(ref.dtype).removeprefix("torch."))
        return AtLine(f"{comparison.name} is {dtypes[0]}, {evidence.against} is {dtypes[1]}: a mask or an index is no "
                      f"gradient; as numbers, {said}", getattr(said, "at", None))
    said = diagnose(evidence)
    return AtLine(said + _other_reading(evidence), getattr(said, "at", None))


def rounded_by_a_cast(comparison: Comparison, value: torch.Tensor, ref: torch.Tensor, context: HintContext) -> str | None:
    """A gradient that carries a narrower dtype's rounding against `ref` (the backward derived from the
    forward's operations, where finite differences, no sharper than about 1e-5, cannot see it), said as the
    cast in the user's backward that rounds it; None where it is not that."""
    if comparison.match or comparison.stats is None or comparison.ref is None or comparison.diff is None:
        return None
    return dtype_cast(Evidence(comparison.name, value, ref, comparison.stats, comparison.ref, comparison.diff,
                               comparison.tolerance, context, comparison.scale))


def _other_reading(e: Evidence) -> str:
    """A parameter's gradient whose shape is gradtui's parameter's but for dimensions of size 1 may be
    right for the user's own parameter (makemore keeps its batch norm gain as (1, 64)): said too."""
    s, r = e.stats, e.ref_stats
    if (not e.context.built_params or e.context.role in ("inp", "out", "") or s is None or r is None
            or len(s.shape) == len(r.shape) or [d for d in s.shape if d != 1] != [d for d in r.shape if d != 1]
            or not e.close(e.value.reshape(r.shape))):
        return ""
    return (f"; or, if your own {e.base} is {e.got} (as makemore keeps its batch norm's gain), {e.name} is right for "
            f"it: gradtui builds {e.base} as {e.want} from the options, so check such a layer through a Model that "
            "builds its own parameters")


def diagnose(evidence: Evidence) -> str:
    """One sentence naming the most likely slip behind a mismatch or a deviation."""
    for pattern in PATTERNS:
        hint = pattern(evidence)
        if hint:
            return hint
    return fallback(evidence)
