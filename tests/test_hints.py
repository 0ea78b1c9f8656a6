"""Each hint on a hand-made bug: the pattern that names it, and the fix it names."""

import pytest
import torch

from gradtui.compare import compare
from gradtui.hints import HintContext

TOL32 = (1e-4, 1e-7)

def hint(value, ref, **context):
    c = compare("t.g", value, ref, TOL32, HintContext(**{"kind": "lin", "direction": "backward", "batch": 8} | context))
    assert not c.match
    return c.hint


R = torch.randn(8, 3, generator=torch.Generator().manual_seed(4))


@pytest.mark.parametrize("value, words", [
    (R.t(), "transposed"),
    (R.unsqueeze(0).expand(8, 8, 3) / 8, "N×N broadcast"),  # (N, N, 3) against (N, 3)
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


def test_extra_batch_dimension_of_a_weight_gradient():
    w_grad = torch.randn(4, 3)
    per_row = w_grad.unsqueeze(0).expand(8, 4, 3) / 8
    assert "extra batch dimension" in hint(per_row, w_grad)
    assert "its sum over the batch is right" in hint(per_row, w_grad)


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


def test_relu_differing_only_at_the_kink_says_so():
    inp, out_g = torch.tensor([[-1.0, 0.0, 2.0]]), torch.tensor([[5.0, 7.0, 11.0]])
    autograd = (inp >= 0) * out_g  # what autograd's clamp_min gives
    assert "only where inp == 0" in hint((inp > 0) * out_g, autograd, kind="relu",
                                         tensors={"inp": inp, "out_g": out_g})

