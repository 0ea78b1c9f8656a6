"""Statistics and comparisons against plain NumPy/torch, and each hint on a hand-made bug."""

import math

import numpy as np
import pytest
import torch

from gradtui import stats
from gradtui.stats import HintContext, compare, tensor_stats

TOL32 = (1e-4, 1e-7)


def test_stats_agree_with_numpy():
    t = torch.randn(300, 7, generator=torch.Generator().manual_seed(1))
    t[t.abs() < 0.1] = 0
    s = tensor_stats(t)
    a = t.numpy().astype(np.float64)
    assert s.shape == (300, 7) and s.dtype == "float32" and s.device == "cpu" and s.numel == 2100
    assert s.mean == pytest.approx(a.mean(), abs=1e-6)
    assert s.std == pytest.approx(a.std(ddof=1), rel=1e-5)
    assert (s.min, s.max) == (pytest.approx(a.min()), pytest.approx(a.max()))
    assert s.norm == pytest.approx(np.linalg.norm(a), rel=1e-6)
    assert s.zeros == pytest.approx((a == 0).mean())
    assert (s.nan, s.inf) == (0, 0)


def test_std_is_exact_when_the_mean_dwarfs_the_spread():
    t = 1000.0 + torch.randn(10_000, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 1e-3
    assert tensor_stats(t.float()).std == pytest.approx(float(t.float().double().std()), rel=1e-3)


def test_nan_and_inf_are_counted_and_the_rest_summarised():
    t = torch.tensor([1.0, float("nan"), 3.0, float("inf"), -float("inf"), 0.0])
    s = tensor_stats(t)
    assert (s.nan, s.inf) == (1, 2)
    assert (s.min, s.max, s.mean) == (0.0, 3.0, pytest.approx(4 / 3))
    assert s.zeros == pytest.approx(1 / 6)


def test_half_precision_sums_do_not_overflow():
    s = tensor_stats(torch.full((100_000,), 60.0, dtype=torch.float16))
    assert s.mean == 60.0 and s.dtype == "float16"


def test_chunked_difference_finds_the_worst_element(monkeypatch):
    monkeypatch.setattr(stats, "DIFF_CHUNK", 7)  # many chunks, one of them partial
    ref = torch.randn(9, 5, generator=torch.Generator().manual_seed(3))
    value = ref.clone()
    value[6, 2] += 0.5
    value[1, 1] -= 0.25
    c = compare("w.g", value, ref, TOL32)
    assert not c.match
    assert c.diff.worst == (6, 2)
    assert c.diff.max_abs == pytest.approx(0.5, rel=1e-5)
    assert c.diff.max_rel == pytest.approx(0.5 / float(ref.abs().max()), rel=1e-5)


def test_one_tolerance_scale_for_the_whole_tensor():
    ref = torch.tensor([1000.0, 1e-6])
    assert compare("t", ref + torch.tensor([0.0, 1e-3]), ref, TOL32).match  # 1e-3 <= 1e-7 + 1e-4 * 1000
    assert not compare("t", ref + torch.tensor([0.0, 0.2]), ref, TOL32).match


def test_new_nan_is_a_mismatch_and_shared_nan_is_not():
    ref = torch.tensor([1.0, float("nan"), 2.0])
    assert compare("t", ref.clone(), ref, TOL32).match
    value = torch.tensor([float("nan"), float("nan"), 2.0])
    c = compare("t", value, ref, TOL32)
    assert not c.match and "NaN introduced at this step" in c.hint


def test_missing_and_wrong_type():
    ref = torch.ones(3)
    assert "was not set" in compare("b.g", None, ref, TOL32).hint
    c = compare("b.g", np.ones(3), ref, TOL32)
    assert not c.match and "numpy.ndarray, not a torch tensor" in c.hint


def hint(value, ref, **context):
    c = compare("t.g", value, ref, TOL32, HintContext(**{"kind": "lin", "direction": "backward", "batch": 8} | context))
    assert not c.match
    return c.hint


R = torch.randn(8, 3, generator=torch.Generator().manual_seed(4))


@pytest.mark.parametrize("value, words", [
    (R.t(), "transposed"),
    (R.unsqueeze(0).expand(8, 8, 3) / 8, "extra batch dimension"),
    (R.reshape(1, 8, 3), "keepdim"),
    (-R, "sign flipped"),
    (8 * R, "off by the batch size: t.g is 8×"),
    (R / 8, "÷N"),
    (2 * R, "twice"),
    (R / 2, "half"),
    (R * 1.37, "scaled by 1.37"),
    (torch.randn(8, 8), "N×N broadcast"),
    (R + torch.randn(8, 3), "fits no known pattern"),
])
def test_hints(value, words):
    assert words in hint(value, R)


def test_relu_hints():
    inp, out_g = torch.randn(8, 3), torch.randn(8, 3)
    ref = (inp > 0) * out_g
    context = {"kind": "relu", "tensors": {"inp": inp, "out_g": out_g}}
    assert "missing * out.g" in hint((inp > 0).float(), ref, **context)
    assert "mask missing" in hint(out_g, ref, **context)
    assert "wrong tensor" in hint((out_g > 0) * out_g, ref, **context)


def test_forward_hints():
    inp, w, b = torch.randn(8, 4), torch.randn(4, 3), torch.randn(3)
    assert "missing the bias" in hint(inp @ w, inp @ w + b, kind="lin", direction="forward", tensors={"b": b})
    out, targ = torch.randn(8, 1), torch.randn(8)
    broadcast = (out - targ).pow(2).mean()
    right = (out.squeeze(-1) - targ).pow(2).mean()
    assert "N×N broadcast" in hint(broadcast, right, kind="mse", direction="forward",
                                   tensors={"inp": out, "targ": targ})


def test_empty_tensors():
    s = tensor_stats(torch.empty(0, 3))
    assert s.numel == 0 and math.isnan(s.mean)
    assert compare("t", torch.empty(0, 3), torch.empty(0, 3), TOL32).match


def test_relu_differing_only_at_the_kink_says_so():
    inp, out_g = torch.tensor([[-1.0, 0.0, 2.0]]), torch.tensor([[5.0, 7.0, 11.0]])
    autograd = (inp >= 0) * out_g  # what autograd's clamp_min gives
    assert "only where inp == 0" in hint((inp > 0) * out_g, autograd, kind="relu",
                                         tensors={"inp": inp, "out_g": out_g})
