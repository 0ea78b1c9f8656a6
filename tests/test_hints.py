"""The diagnosis, by mutation: every slip one edit away from a kind's correct backward is generated
and must be named, each hand-written pattern stays silent on slips that are not its own, and a
hint never claims what the numbers do not show."""

import math
from dataclasses import replace

import pytest
import torch

from gradtui import hints
from gradtui.compare import compare as bare_compare
from gradtui.hints import Evidence, HintContext, explain, factor_in_words
from gradtui.kinds import KINDS, formula_env
from gradtui.stats import tensor_stats

TOL32 = (1e-4, 1e-7)
N = 16


def compare(name, value, ref, tolerance, context=None, scale=0.0):
    """The verdict, and the hint the session would ask for on a mismatch."""
    context = context or HintContext()
    c = bare_compare(name, value, ref, tolerance, scale=scale)
    return c if c.match else replace(c, hint=explain(c, value, ref, context))


def hint(value, ref, **context):
    c = compare("t.g", value, ref, TOL32, HintContext(**{"kind": "lin", "direction": "backward", "batch": 8} | context))
    assert not c.match
    return c.hint


def layer_tensors(kind: str, seed: int = 0) -> dict:
    """A layer's tensors as a backward step sees them, small and seeded: its input, output, the
    gradient from above, the target and its parameters (the output computed by the reference layer)."""
    g = torch.Generator().manual_seed(seed)
    n_in, n_out = (7, 5) if kind == "lin" else (5, 5)
    inp = torch.randn(N, 1 if kind == "mse" else n_in, generator=g)
    tensors = {"inp": inp}
    if kind == "lin":
        tensors |= {"w": torch.randn(n_in, n_out, generator=g), "b": torch.randn(n_out, generator=g)}
        out = inp @ tensors["w"] + tensors["b"]
    elif kind == "relu":
        out = inp.clamp_min(0)
    elif kind == "tanh":
        out = inp.tanh()
    elif kind == "batchnorm":
        tensors |= {"gamma": 1 + 0.3 * torch.randn(n_in, generator=g), "beta": torch.randn(n_in, generator=g)}
        env = formula_env("batchnorm", {"inp": inp})
        out = tensors["gamma"] * env["xhat"] + tensors["beta"]
    elif kind == "mse":
        tensors["targ"] = torch.randn(N, generator=g)
        out = (inp.squeeze(-1) - tensors["targ"]).pow(2).mean()
    else:
        tensors["targ"] = torch.randint(0, n_in, (N,), generator=g)
        out = torch.nn.functional.cross_entropy(inp, tensors["targ"])
    tensors["out"] = out
    if kind not in ("mse", "cross_entropy"):
        tensors["out_g"] = torch.randn(out.shape, generator=g)
    return tensors


def generated_slips():
    """(kind, role, words, the slip's value, the right value, every edit's words that give the same value)."""
    cases = []
    for kind, entry in KINDS.items():
        tensors = layer_tensors(kind)
        for family in entry.families:
            env = formula_env(kind, tensors, **dict(family.env))
            cases += family_slips(kind, family, env, tensors)
    return cases


def family_slips(kind, family, env, tensors):
    """Every slip of one family of a kind's formulas (batch norm has two: the variance over n, or n−1)."""
    cases = []
    for role, formula in family.grads.items():
        right = formula.expr.eval(env)
        values = []
        for variant, words in formula.variants():
            try:
                value = variant.eval(env)
            except (RuntimeError, TypeError):
                continue  # shapes that do not fit: no tensor a user's code could produce
            if not isinstance(value, torch.Tensor):
                continue
            value = value.to(right.dtype)
            if not bool(torch.isfinite(value).all()) or value.shape.count(N) >= 2:
                continue  # NaN/Inf and N×N broadcasts have patterns of their own
            if value.shape == right.shape and torch.allclose(value, right, rtol=1e-3, atol=1e-6):
                continue  # an edit that changes nothing here (a mask counted twice)
            values.append((words, value))
        for words, value in values:
            same = [w for w, v in values if v.shape == value.shape and torch.allclose(v, value, rtol=1e-4, atol=1e-6)]
            cases.append((kind, role, words, value, right, same, tensors))
    return cases


SLIPS = generated_slips()


def test_every_kind_has_slips_to_name():
    kinds = {kind for kind, *_ in SLIPS}
    assert kinds == {name for name, kind in KINDS.items() if kind.reference}  # not the any-layer kinds the API adds
    assert len(SLIPS) > 80


def evidence_for(kind, role, value, right, tensors, name="t.g") -> Evidence:
    context = HintContext(kind, "backward", N, tensors, role=role)
    ref_stats, stats = tensor_stats(right), tensor_stats(value)
    return Evidence(name, value, right, stats, ref_stats, None, TOL32, context)


@pytest.mark.parametrize("kind, role, words, value, right, same, tensors", SLIPS,
                         ids=[f"{s[0]}-{s[1]}-{i}" for i, s in enumerate(SLIPS)])
def test_a_generated_slip_is_named(kind, role, words, value, right, same, tensors):
    context = HintContext(kind, "backward", N, tensors, role=role)
    said = compare("t.g", value, right, TOL32, context).hint
    named = [w for w in same if w in said]
    # The edit is named, or the whole tensor is a constant factor of the right one, said as such.
    whole = next((spoken for pattern in (hints.sign_flip, hints.named_factor, hints.constant_scale)
                  if (spoken := pattern(evidence_for(kind, role, value, right, tensors)))), None)
    assert named or (whole and said == whole), (words, said)
    if named:
        assert "fix: " in said and KINDS[kind].title in said


HAND_WRITTEN_SAME_SHAPE = [hints.changed_during_step, hints.dtype_cast, hints.loss_not_scalar, hints.nxn_broadcast,
                           hints.aliased_input, hints.reshaped, hints.batchnorm_constant_statistics,
                           hints.batchnorm_bessel, hints.missing_bias, hints.nxn_loss_value, hints.constant_shift,
                           hints.missing_trailing_dim, hints.transposed, hints.extra_batch_dim, hints.other_shape,
                           hints.vanishing]


@pytest.mark.parametrize("pattern", HAND_WRITTEN_SAME_SHAPE, ids=lambda p: p.__name__)
def test_a_hand_written_pattern_is_silent_on_slips_not_its_own(pattern):
    for kind, role, words, value, right, _, tensors in SLIPS:
        if value.shape != right.shape:
            continue  # the shape patterns speak of shapes, and rightly
        if pattern is hints.transposed and value.shape == right.t().shape and torch.allclose(value, right.t()):
            continue
        if pattern is hints.vanishing and value.abs().max() <= 1e-3 * right.abs().max():
            continue  # a slip whose numbers are all but zero: the claim is true
        assert pattern(evidence_for(kind, role, value, right, tensors)) is None, (kind, role, words)


def test_a_constant_factor_is_claimed_only_when_the_tensor_is_that_multiple():
    for kind, role, words, value, right, _, tensors in SLIPS:
        e = evidence_for(kind, role, value, right, tensors)
        said = hints.named_factor(e) or hints.constant_scale(e)
        if said and value.shape == right.shape:
            scale = float((value * right).sum() / (right * right).sum())
            assert torch.allclose(value, scale * right, rtol=1e-3, atol=1e-5), (kind, role, words, said)


def test_equal_shapes_never_get_a_shape_hint():
    ref = torch.randn(256, 32)
    said = hint(ref + torch.randn(256, 32), ref)
    assert "reshape" not in said and "shape" not in said and "fits no known slip" in said


def test_right_values_in_another_shape_are_a_reshape():
    ref = torch.randn(8, 3)
    assert "right values in the shape (1, 8, 3)" in hint(ref.reshape(1, 8, 3), ref)
    assert "drop keepdim=True" in hint(ref.reshape(1, 8, 3), ref)


def test_a_mean_with_keepdim_names_both_slips():
    tensors = layer_tensors("lin")
    right = tensors["out_g"].sum(0)
    said = compare("b2.g", tensors["out_g"].mean(0, keepdim=True), right, TOL32,
                   HintContext("lin", "backward", N, tensors, role="b")).hint
    assert "a mean where the sum belongs (off by the batch size)" in said
    assert "shaped (1, 5), not (5,)" in said and "keepdim=True" in said


def test_a_backward_that_is_the_reference_formula_blames_the_forward_only_where_it_deviated():
    """A leaky ReLU forward with a plain mask backward: the mask is right for ReLU, not for the forward,
    which its step marked ≠; where no forward step deviated, that story is never told."""
    tensors = layer_tensors("relu")
    inp, out_g = tensors["inp"], tensors["out_g"]
    leaky = torch.where(inp > 0, out_g, 0.01 * out_g)  # autograd through a leaky forward
    context = HintContext("relu", "backward", N, tensors, role="inp", forward_deviated=True)
    said = compare("l1.g", (inp > 0) * out_g, leaky, TOL32, context).hint
    assert "as the reference ReLU computes it" in said and "your forward is not the reference ReLU's" in said
    assert "mask taken from" not in said
    said = compare("l1.g", (inp > 0) * out_g, leaky, TOL32, replace(context, forward_deviated=False)).hint
    assert "your forward" not in said


@pytest.mark.parametrize("scale, words", [
    (N, "N (the batch size)"), (N * N, "N²"), (1 / N, "1/N"), (2, "2"), (0.5, "1/2"),
    (N / (N - 1), "n/(n−1) (Bessel's correction)"), (math.sqrt(N / (N - 1)), "√(n/(n−1))"),
    ((N - 1) / N, "(n−1)/n"), (1.37, None),
])
def test_factors_are_said_in_words(scale, words):
    said = factor_in_words(scale, N)
    assert said == words if words is None else words in said


@pytest.mark.parametrize("value, words", [
    (8 * torch.ones(8, 3), "N (the batch size) × autograd's: divide by N"),
    (torch.ones(8, 3) / 8, "1/N × autograd's"),
    (2 * torch.ones(8, 3), "off by 2"),
    (-torch.ones(8, 3), "sign flipped"),
    (1.37 * torch.ones(8, 3), "scaled by 1.37"),
])
def test_whole_tensor_factors(value, words):
    ref = torch.randn(8, 3, generator=torch.Generator().manual_seed(4))
    assert words in hint(value * ref, ref)


def test_a_division_by_the_other_axis_is_named():
    """(softmax - one_hot) / inp.shape[1]: divided by the classes where the batch size belongs (said
    when the search of the forward's own operations has no story: a layer's own 6 at N = 300, C = 50
    is that 6, tests/test_fix.py)."""
    t = layer_tensors("cross_entropy")
    right = formula_env("cross_entropy", t)
    right = (t["inp"].softmax(1) - right["one_hot"]) / N
    said = hint(right * N / t["inp"].shape[1], right, kind="cross_entropy", batch=N, tensors=t)
    assert "divided by inp.shape[1] = 5 where N = inp.shape[0] = 16 belongs" in said


def test_a_sum_where_a_mean_belongs_is_not_called_divided_twice():
    ref = torch.randn(8, 3)
    assert "divided out twice" not in hint(ref / 8, ref)


def test_hints_use_the_verdicts_tolerance():
    """A candidate 0.5% off is not named: the verdict's float32 tolerance is 1e-4."""
    ref = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))
    assert "off by 2" not in hint(2.01 * ref, ref)


def test_nxn_broadcast_and_extra_batch_dimension():
    r = torch.randn(8, 3)
    assert "N×N broadcast" in hint(r.unsqueeze(0).expand(8, 8, 3) / 8, r)
    w_grad = torch.randn(4, 3)
    assert "its sum over the batch is right" in hint(w_grad.unsqueeze(0).expand(8, 4, 3) / 8, w_grad)
    assert "extra batch dimension" not in hint(w_grad.unsqueeze(0) * 3, w_grad)  # a size-1 dimension is no batch


def test_forward_hints():
    inp, w, b = torch.randn(8, 4), torch.randn(4, 3), torch.randn(3)
    assert "missing the bias" in hint(inp @ w, inp @ w + b, kind="lin", direction="forward", tensors={"b": b})
    out, targ = torch.randn(8, 1), torch.randn(8)
    broadcast = (out - targ).pow(2).mean()
    right = (out.squeeze(-1) - targ).pow(2).mean()
    assert "N×N broadcast" in hint(broadcast, right, kind="mse", direction="forward",
                                   tensors={"inp": out, "targ": targ})


def test_batch_norm_with_the_unbiased_variance_is_bessels_correction():
    g = torch.Generator().manual_seed(2)
    inp, gamma, beta = torch.randn(32, 6, generator=g), torch.ones(6), torch.zeros(6)
    biased = (inp - inp.mean(0)) / (inp.var(0, unbiased=False) + 1e-5).sqrt()
    unbiased = (inp - inp.mean(0)) / (inp.var(0, unbiased=True) + 1e-5).sqrt()
    said = hint(unbiased, biased, kind="batchnorm", direction="forward", tensors={"inp": inp, "gamma": gamma, "beta": beta})
    assert "Bessel's correction" in said and "unbiased=False" in said and "n/(n−1) in the backward" in said


def test_a_lost_gradient_is_not_a_tiny_constant_factor():
    """A gradient overwritten by a path that sums to ~0: all but zero, never "scaled by 6e-10"."""
    ref = torch.randn(8, 3, generator=torch.Generator().manual_seed(5))
    said = hint(ref * 1e-9, ref)
    assert "all but zero" in said and "scaled by" not in said


def test_an_upstream_slip_within_tolerance_is_placed_at_its_step():
    """w.g computed right from an out.g that is slightly off: the slip is where out.g was made."""
    tensors = layer_tensors("lin")
    true_upstream = tensors["out_g"]
    tensors["out_g"] = true_upstream * (1 + 1e-5 * torch.randn(true_upstream.shape))
    context = HintContext("lin", "backward", N, tensors | {"out_g_ref": true_upstream}, role="w",
                          upstream_from="step 8, backward batchnorm1")
    ref = tensors["inp"].t() @ true_upstream
    said = compare("w1.g", tensors["inp"].t() @ tensors["out_g"] + 1e-3 * ref.abs().max(), ref, (1e-7, 1e-9), context).hint
    assert "computed right" not in said  # not the right formula: a real slip here
    said = compare("w1.g", tensors["inp"].t() @ tensors["out_g"], ref, (1e-7, 1e-9), context).hint
    assert "out.g (step 8, backward batchnorm1) already differs from autograd's" in said
    assert "your forward is not" not in said


def test_batch_norm_slips_are_named_against_a_bessel_forward():
    """The exercise's forward divides the variance by n−1: its slips are named in that family."""
    tensors = layer_tensors("batchnorm")
    family = KINDS["batchnorm"].families[1]
    env = formula_env("batchnorm", tensors, unbiased=True)
    right = family.grads["inp"].expr.eval(env)
    no_mean = (tensors["out_g"] * tensors["gamma"])  # dxhat
    no_mean = (N * no_mean - N / (N - 1) * env["xhat"] * (no_mean * env["xhat"]).sum(0)) / (N * env["std"])
    said = compare("l1.g", no_mean, right, TOL32, HintContext("batchnorm", "backward", N, tensors, role="inp")).hint
    assert "without the mean term" in said and "Bessel's correction" in said


@pytest.mark.parametrize("value, ref, words", [
    (torch.arange(8.0), torch.arange(8.0).unsqueeze(-1) + 1, "the trailing dimension of size 1 is missing"),
    (torch.arange(24.0).reshape(8, 3).t(), torch.arange(24.0).reshape(8, 3), "transposed: t.g is the transpose"),
    (torch.arange(24.0).reshape(8, 3).t() + 1, torch.arange(24.0).reshape(8, 3), "has the transposed shape (3, 8)"),
    (torch.ones(5), torch.ones(8, 3), "t.g is (5,), autograd's is (8, 3)"),
], ids=["missing trailing dim", "transposed", "transposed shape", "other shape"])
def test_the_shape_patterns_fire_on_their_own_shapes(value, ref, words):
    """Outside any kind's formulas (no role), what a shape alone says."""
    assert words in hint(value, ref)


# -- every pattern: a case it names, and a near miss where it must stay silent ------------------

def evidence(value, ref, tolerance=TOL32, name="t.g", **context) -> Evidence:
    """What the session hands the diagnosis for `value` against `ref`: the verdict's own statistics."""
    c = bare_compare(name, value, ref, tolerance)
    return Evidence(c.name, value, ref, c.stats, c.ref, c.diff, c.tolerance, HintContext(**context), c.scale)


def seeded(*shape, seed=3):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def batchnorm_forward(unbiased: bool):
    inp, gamma, beta = seeded(32, 6), 1 + 0.1 * seeded(6, seed=4), seeded(6, seed=5)
    value = gamma * (inp - inp.mean(0)) / (inp.var(0, unbiased=unbiased) + 1e-5).sqrt() + beta
    return value, {"kind": "batchnorm", "direction": "forward", "batch": 32,
                   "tensors": {"inp": inp, "gamma": gamma, "beta": beta}}


def batchnorm_inp_grad(constant_statistics: bool):
    t = layer_tensors("batchnorm")
    env = formula_env("batchnorm", t)
    right = KINDS["batchnorm"].families[0].grads["inp"].expr.eval(env)
    value = t["out_g"] * t["gamma"] / env["std"] if constant_statistics else right + 0.5 * right.std() * seeded(*right.shape)
    return value, right, {"kind": "batchnorm", "direction": "backward", "batch": N, "tensors": t, "role": "inp"}


def batchnorm_terms_off(scale: float):
    """Batch norm's input gradient with its variance term `scale` × what it should be (no one edit gives 1.7)."""
    t = layer_tensors("batchnorm")
    env = formula_env("batchnorm", t)
    right = KINDS["batchnorm"].families[0].grads["inp"].expr.eval(env)
    variance = -env["xhat"] * (env["dxhat"] * env["xhat"]).sum(0) / (N * env["std"])
    value = right + (scale - 1) * variance if scale else right + 0.1 * right.std() * seeded(*right.shape)
    return value, right, {"kind": "batchnorm", "direction": "backward", "batch": N, "tensors": t, "role": "inp"}


def layer_norm_mean_term_off(mean_term: float | None):
    """A layer norm written by hand (over the features, a gain and a shift per feature), its input gradient with
    the mean term `mean_term` × what it should be; None: noise in the first term instead (no term's slip)."""
    inp, gain, shift, g = seeded(8, 6), 1 + 0.1 * seeded(6, seed=5), 0.1 * seeded(6, seed=6), seeded(8, 6, seed=4)
    centred = inp - inp.mean(1, keepdim=True)
    std = (centred.pow(2).mean(1, keepdim=True) + 1e-5).sqrt()
    xhat, dxhat = centred / std, g * gain
    first, mean, variance = dxhat, -dxhat.mean(1, keepdim=True), -xhat * (dxhat * xhat).mean(1, keepdim=True)
    right = (first + mean + variance) / std
    value = (first + (mean_term * mean if mean_term is not None else mean) + variance) / std
    if mean_term is None:
        value = value + 0.05 * seeded(8, 6, seed=9)
    tensors = {"inp": inp, "out": gain * xhat + shift, "out_g": g, "g": gain, "b": shift}
    return value, right, {"kind": "layernorm", "direction": "backward", "batch": 8, "tensors": tensors, "role": "inp"}


def mse_forward(broadcast: bool):
    out, targ = seeded(8, 1), seeded(8, seed=4)
    value = (out - targ).pow(2).mean() if broadcast else (out.squeeze(-1) - targ).pow(2).mean() + 1
    right = (out.squeeze(-1) - targ).pow(2).mean()
    return value, right, {"kind": "mse", "direction": "forward", "batch": 8, "tensors": {"inp": out, "targ": targ}}


def lin_forward(bias_scale: float):
    inp, w, b = seeded(8, 4), seeded(4, 3, seed=4), seeded(3, seed=5)
    return inp @ w + (1 - bias_scale) * b, inp @ w + b, {"kind": "lin", "direction": "forward", "batch": 8,
                                                         "tensors": {"inp": inp, "w": w, "b": b}}


def relu_mask_missing(missing: bool):
    t = layer_tensors("relu")
    right = (t["inp"] > 0) * t["out_g"]
    value = t["out_g"] if missing else right + seeded(*right.shape)
    return value, right, {"kind": "relu", "direction": "backward", "batch": N, "tensors": t, "role": "inp"}


R = seeded(8, 3)
BACKWARD = {"kind": "lin", "direction": "backward", "batch": 8}


def elu_from_its_output(constant: float):
    """ELU's input gradient with its derivative written from the output, `out + constant` where inp < 0
    (0.1 is right); noise where there is no constant to say."""
    g = seeded(8, 3, seed=4)
    out = torch.where(R >= 0, R, 0.1 * (R.exp() - 1))
    right = g * torch.where(R >= 0, 1.0, out + 0.1)
    value = g * torch.where(R >= 0, 1.0, out + constant) if constant is not None else right + 0.1 * seeded(8, 3, seed=9)
    return value, right, {**BACKWARD, "kind": "elu", "role": "inp", "tensors": {"inp": R, "out_g": g}}


class SquarePlus:
    """out = inp**2 + inp, its backward's 2 written as `two`: 2 is right, 1 leaves it out (one edit of
    the derived backward), 3 is no edit of it."""

    def __init__(self, two: float):
        self.two = two

    def __call__(self, inp):
        self.inp, self.out = inp, inp**2 + inp
        return self.out

    def backward(self):
        self.inp.g = (self.two * self.inp + 1) * self.out.g


def square_plus(two: float):
    """The user's gradient of SquarePlus(two) on R, against the right one, from above: seeded(8, 3)."""
    g = seeded(8, 3, seed=4)
    return (two * R + 1) * g, (2 * R + 1) * g


class Spread:
    """out = inp / (hi - lo + 1), hi and lo the row's max and min, whose backward writes hi's and lo's gradients each
    from r's: with `lo_factor` 1, right; -1, lo's made from `out` where `out.g` belongs (one edit on one path only);
    3.7, no edit of any path."""

    def __init__(self, lo_factor: float):
        self.lo_factor = lo_factor

    def __call__(self, inp):
        self.inp, self.lo, self.hi = inp, inp.min(1, keepdim=True).values, inp.max(1, keepdim=True).values
        self.r = self.hi - self.lo + 1
        self.out = inp / self.r
        return self.out

    def backward(self):
        g, x, r = self.out.g, self.inp, self.r
        dr = -(g * x).sum(1, keepdim=True) / r ** 2
        dr_lo = -((self.out if self.lo_factor == -1 else g) * x).sum(1, keepdim=True) / r ** 2 * abs(self.lo_factor)
        self.inp.g = g / r + dr * (x == self.hi) - dr_lo * (x == self.lo)


def spread(lo_factor: float):
    """The user's gradient of Spread(lo_factor) on R, against the right one, and its probe."""
    from gradtui.derived import Probe

    g = seeded(8, 3, seed=4)
    mine, right = Spread(lo_factor), Spread(1.0)
    for layer in (mine, right):
        layer(R.clone())
        layer.out.g = g
        layer.backward()
    probe = Probe(lambda params: Spread(lo_factor), lambda layer, x, targ: layer(x), {"inp": R}, g, torch.zeros(8))
    return mine.inp.g, right.inp.g, {**BACKWARD, "role": "inp", "probe": probe}


def square_plus_probe(two: float):
    from gradtui.derived import Probe

    return Probe(lambda params: SquarePlus(two), lambda layer, x, targ: layer(x), {"inp": R}, seeded(8, 3, seed=4),
                 torch.zeros(8))

# pattern: (the evidence it must name, as diagnose says it; a near miss on which it must be silent)
PATTERN_CASES = {
    hints.not_set: (lambda: evidence(None, R), lambda: evidence(R + 1, R)),
    hints.unused_by_forward: (lambda: evidence(R, None, **BACKWARD, role="w"), lambda: evidence(R + 1, R, **BACKWARD)),
    hints.nonfinite: (lambda: evidence(R.masked_fill(R > 1, math.nan), R, **BACKWARD),
                      lambda: evidence(R.masked_fill(R > 1, math.nan) + 1, R.masked_fill(R > 1, math.nan), **BACKWARD)),
    hints.changed_during_step: (lambda: evidence(R + 1, R, **BACKWARD, changed=("w1",)),
                                lambda: evidence(R + 1, R, **(BACKWARD | {"direction": "forward"}), changed=("w1",))),
    hints.dtype_cast: (lambda: evidence(R.double(), R, **BACKWARD), lambda: evidence(R.double() + 1, R, **BACKWARD)),
    hints.loss_not_scalar: (lambda: evidence(R[:, 0], R[:, 0].mean(), kind="mse", direction="forward", batch=8),
                            lambda: evidence(R[0, 0], R[:, 0].mean(), kind="mse", direction="forward", batch=8)),
    hints.nxn_broadcast: (lambda: evidence(R.expand(8, 8, 3), R, **BACKWARD),
                          lambda: evidence(R.expand(2, 8, 3), R, **BACKWARD)),
    hints.aliased_input: (lambda: evidence(R + 1, R, **BACKWARD, aliased="l1"), lambda: evidence(R + 1, R, **BACKWARD)),
    hints.derived_slip: (lambda: evidence(*relu_mask_missing(True)[:2], **relu_mask_missing(True)[2]),
                         lambda: evidence(*relu_mask_missing(False)[:2], **relu_mask_missing(False)[2])),
    hints.reshaped: (lambda: evidence(R.reshape(1, 8, 3), R), lambda: evidence(R.reshape(1, 8, 3) + 1, R)),
    hints.batchnorm_constant_statistics: (lambda: evidence(*batchnorm_inp_grad(True)[:2], **batchnorm_inp_grad(True)[2]),
                                          lambda: evidence(*batchnorm_inp_grad(False)[:2], **batchnorm_inp_grad(False)[2])),
    hints.batchnorm_terms: (lambda: evidence(*batchnorm_terms_off(1.7)[:2], **batchnorm_terms_off(1.7)[2]),
                            lambda: evidence(*batchnorm_terms_off(0)[:2], **batchnorm_terms_off(0)[2])),
    hints.batchnorm_bessel: (lambda: evidence(batchnorm_forward(True)[0], batchnorm_forward(False)[0],
                                              **batchnorm_forward(True)[1]),
                             lambda: evidence(batchnorm_forward(False)[0] + 1, batchnorm_forward(False)[0],
                                              **batchnorm_forward(False)[1])),
    hints.missing_bias: (lambda: evidence(*lin_forward(1)[:2], **lin_forward(1)[2]),
                         lambda: evidence(*lin_forward(2)[:2], **lin_forward(2)[2])),
    hints.nxn_loss_value: (lambda: evidence(*mse_forward(True)[:2], **mse_forward(True)[2]),
                           lambda: evidence(*mse_forward(False)[:2], **mse_forward(False)[2])),
    hints.constant_shift: (lambda: evidence(R.clamp_min(0) - 0.5, R.clamp_min(0), kind="relu", direction="forward"),
                           lambda: evidence(R.clamp_min(0) * 2, R.clamp_min(0), kind="relu", direction="forward")),
    hints.missing_trailing_dim: (lambda: evidence(R[:, 0] + 1, R[:, :1]), lambda: evidence(R[:, :1] + 1, R[:, :1])),
    hints.transposed: (lambda: evidence(R.t().contiguous(), R), lambda: evidence(R[:3].t() + 1, R[:3])),
    hints.extra_batch_dim: (lambda: evidence(R.expand(8, 8, 3)[:, :4] / 8, R[:4], **BACKWARD),
                            lambda: evidence(R[:4].unsqueeze(0) * 3, R[:4], **BACKWARD)),
    hints.reduced_over_the_features: (lambda: evidence(R.sum(1), R.sum(0), **BACKWARD),
                                      lambda: evidence(seeded(5), R.sum(0), **BACKWARD)),
    hints.other_shape: (lambda: evidence(torch.ones(5), R), lambda: evidence(R + 1, R)),
    hints.sign_flip: (lambda: evidence(-R, R, **BACKWARD), lambda: evidence(-2 * R, R, **BACKWARD)),
    hints.vanishing: (lambda: evidence(R * 1e-9, R, **BACKWARD), lambda: evidence(R * 0.5, R, **BACKWARD)),
    hints.named_factor: (lambda: evidence(8 * R, R, **BACKWARD), lambda: evidence(3.7 * R, R, **BACKWARD)),
    hints.normalisation_terms: (lambda: evidence(*layer_norm_mean_term_off(2.0)[:2], **layer_norm_mean_term_off(2.0)[2]),
                                lambda: evidence(*layer_norm_mean_term_off(None)[:2], **layer_norm_mean_term_off(None)[2])),
    hints.derivative_off_by_a_constant: (lambda: evidence(*elu_from_its_output(0.0)[:2], **elu_from_its_output(0.0)[2]),
                                         lambda: evidence(*elu_from_its_output(None)[:2], **elu_from_its_output(None)[2])),
    hints.graph_slip: (lambda: evidence(*square_plus(1.0), **BACKWARD, role="inp", probe=square_plus_probe(1.0)),
                       lambda: evidence(*square_plus(3.0), **BACKWARD, role="inp", probe=square_plus_probe(3.0))),
    hints.batch_over_width: (lambda: evidence(8 / 3 * R, R, **BACKWARD, tensors={"inp": seeded(8, 3)}),
                             lambda: evidence(8 / 3 * R, R, **BACKWARD, tensors={"inp": seeded(8, 8)})),
    hints.constant_scale: (lambda: evidence(3.7 * R, R, **BACKWARD),
                           lambda: evidence(3.7 * R + seeded(8, 3, seed=9), R, **BACKWARD)),
    hints.one_path_slip: (lambda: evidence(*spread(-1.0)[:2], **spread(-1.0)[2]),
                          lambda: evidence(*spread(3.7)[:2], **spread(3.7)[2])),
    hints.fallback: (lambda: evidence(R + seeded(8, 3, seed=9), R, **BACKWARD), None),
}


def test_every_pattern_has_a_case_it_names():
    """A pattern added to the diagnosis without a case of its own fails here."""
    assert set(PATTERN_CASES) == {*hints.PATTERNS, hints.fallback}


@pytest.mark.parametrize("pattern", list(PATTERN_CASES), ids=lambda p: p.__name__)
def test_a_pattern_names_its_case_and_no_earlier_one_speaks(pattern):
    e = PATTERN_CASES[pattern][0]()
    said = pattern(e)
    assert said and hints.diagnose(e) == said


@pytest.mark.parametrize("pattern", [p for p, (_, miss) in PATTERN_CASES.items() if miss], ids=lambda p: p.__name__)
def test_a_pattern_is_silent_on_its_near_miss(pattern):
    e = PATTERN_CASES[pattern][1]()
    assert pattern(e) is None, hints.diagnose(e)


def test_a_scalar_is_called_a_multiple_only_of_a_named_factor():
    """Any two numbers are multiples: a loss 1.45× the reference's says nothing; 8× (the batch size) does."""
    loss = torch.tensor(0.7)
    assert "scaled by" not in hint(loss * 1.45, loss, direction="forward", kind="mse")
    assert "N (the batch size)" in hint(loss * 8, loss, direction="forward", kind="mse")


def test_an_expressions_shape_is_the_shape_torch_gives_it():
    """Expr.shape stands in for running a variant (an N×N one would be computed): for every variant of
    every formula, on tensors of a batch unlike any width, the shape torch gives, or raises where torch
    raises."""
    from gradtui.formula import ShapeError

    checked = 0
    for kind, entry in KINDS.items():
        tensors = layer_tensors(kind)
        for family in entry.families:
            env = formula_env(kind, tensors, **dict(family.env))
            shapes = {name: tuple(v.shape) if isinstance(v, torch.Tensor) else () for name, v in env.items()}
            for formula in family.grads.values():
                for variant, words in [(formula.expr, "right"), *formula.variants()]:
                    try:
                        value = variant.eval(env)
                    except (RuntimeError, IndexError):
                        with pytest.raises(ShapeError):
                            variant.shape(shapes)
                        continue
                    assert variant.shape(shapes) == tuple(torch.as_tensor(value).shape), (kind, words)
                    checked += 1
    assert checked > 300


@pytest.mark.parametrize("edit, words", [
    (lambda right, mean, variance: right + 0.7 * variance, "variance term `- xhat * (dxhat * xhat).sum(0)` wrong (1.7 ×"),
    (lambda right, mean, variance: right + 2 * mean, "mean term `- dxhat.sum(0)` wrong (3 ×"),
    (lambda right, mean, variance: right + mean * torch.linspace(0.5, 2, mean.shape[1]),
     "mean term `- dxhat.sum(0)` wrong (by a factor that differs between features)"),
    (lambda right, mean, variance: right + 0.3 * mean - 0.6 * variance, "both terms over the batch wrong"),
])
def test_batch_norm_slips_in_its_terms_over_the_batch_are_placed_in_them(edit, words):
    """However a slip in dvar or dmean is written (one node of the graph at a time), the difference it
    makes is a per-feature constant and multiple of xhat: the term is named, and its factor when it has one."""
    t = layer_tensors("batchnorm")
    env = formula_env("batchnorm", t)
    right = KINDS["batchnorm"].families[0].grads["inp"].expr.eval(env)
    mean = -env["dxhat"].sum(0).expand_as(right) / (N * env["std"])
    variance = -env["xhat"] * (env["dxhat"] * env["xhat"]).sum(0) / (N * env["std"])
    said = hint(edit(right, mean, variance), right, kind="batchnorm", batch=N, tensors=t, role="inp")
    assert words in said and "fix: inp.g = (N * dxhat - dxhat.sum(0)" in said, said


def test_an_operator_slip_is_said_as_the_code_reads():
    """`targ` alone for `inp.squeeze() - targ` (the left side of the minus lost): the words quote what
    the user wrote, `targ`, not the term with its sign."""
    mse = KINDS["mse"].formula("inp")
    said = {}
    for variant, words in mse.variants():
        said.setdefault(words, variant.code())  # the first, as the search names the first that fits
    words = "with `targ` where `inp.squeeze(-1) - targ` belongs (the left side of `-` lost, and its sign)"
    assert said[words] == "2 * targ.unsqueeze(-1) / N"
    assert said["with `+` where `*` belongs"] == "(2 + (inp.squeeze(-1) - targ).unsqueeze(-1)) / N"


def test_a_gradient_off_by_out_g_through_a_weight_matrix_is_no_derivative_off_by_a_constant():
    """A residual block's skip path lost (`inp.g = dh @ w.t()`, without `+ out.g`) is out.g × −1 away from
    autograd's too; with a weight matrix mixing the entries, "the layer's derivative − 1" would be false."""
    value, right, context = elu_from_its_output(0.0)
    skip_lost = right - context["tensors"]["out_g"]
    tensors = {**context["tensors"], "w": seeded(3, 3, seed=7)}
    assert hints.derivative_off_by_a_constant(evidence(skip_lost, right, **{**context, "tensors": tensors})) is None
    assert hints.derivative_off_by_a_constant(evidence(skip_lost, right, **context))  # elementwise: said


def test_a_layer_norm_by_hand_with_its_mean_term_doubled_is_said_in_its_terms():
    said = hints.diagnose(evidence(*layer_norm_mean_term_off(2.0)[:2], **layer_norm_mean_term_off(2.0)[2]))
    assert said.startswith("t.g differs from autograd's by a constant in each row (xhat = (inp - mean) / std over the "
                           "features), and this layer's output is its input standardised over the features")
    assert "the mean term `- dxhat.sum(1)` is wrong (written in steps: dmean)" in said
