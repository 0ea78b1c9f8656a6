"""At an exact kink (ReLU at 0, abs at 0, a max's tie) any subgradient is right: neither the user's
choice nor autograd's (which changed between torch releases: clamp_min's gradient at 0 went from 1
to 0 in 2.14) fails the check, and the steps below are judged given the user's choice. A value
outside the subgradients, or a tie's gradient given to both elements, is still a mismatch."""

import re
from pathlib import Path

import pytest
import torch

import gradtui
from gradtui.config import RunConfig
from gradtui.data import Dataset
from gradtui.layers import Lin, Module, Mse
from gradtui.session import DebugSession

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def zero_rows(rows=120, features=12, zeros=5, seed=0):
    """Data whose first rows are all 0: with the notes' zero biases, the first ReLU's input is
    exactly 0 there, in every hidden unit."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, features, generator=generator)
    x[:zeros] = 0
    return x, torch.randint(0, 10, (rows,), generator=generator).float()


def session(layers=None, dtype="float32", **options) -> DebugSession:
    x, y = zero_rows()
    config = RunConfig(device="cpu", dtype=dtype, batch=len(x), layers=layers, **options)
    run = DebugSession(config, data=Dataset(x.to(config.torch_dtype), y.to(config.torch_dtype), "zero rows"))
    run.run_to_end()
    return run


def kink_notes(run: DebugSession) -> list[str]:
    return [note for report in run.reports for note in report.notes if "kink" in note]


# the mask as written, and the value it gives at exactly 0 (× out.g)
MASKS = {"the lesson's (inp > 0)": ("(inp > 0).float() * out.g", 0.0),
         "autograd's clamp_min before 2.14, (inp >= 0)": ("(inp >= 0).float() * out.g", 1.0),
         "half of out.g at 0": ("torch.where(inp == 0, 0.5 * out.g, (inp > 0) * out.g)", 0.5)}


def autograd_at_zero() -> float:
    """This torch's choice: clamp_min's gradient at exactly 0."""
    zero = torch.tensor([0.0], requires_grad=True)
    zero.clamp_min(0.0).sum().backward()
    return float(zero.grad)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mask, at_zero", MASKS.values(), ids=MASKS.keys())
def test_any_subgradient_at_relus_kink_matches_whatever_autograd_chose(tmp_path, dtype, mask, at_zero):
    layers = tmp_path / "relu.py"
    layers.write_text("import torch\nfrom gradtui.layers import Module\n\nclass Relu(Module):\n"
                      "    def forward(self, inp): return inp.clamp_min(0.)\n"
                      f"    def bwd(self, out, inp): inp.g = {mask}\n")

    run = session(layers, dtype)

    assert run.first_mismatch is None
    said = kink_notes(run)
    if at_zero == autograd_at_zero():
        assert not said
    else:  # the step says why both are right, once; the layer below is judged given the user's choice
        assert len(said) == 1
        assert re.match(r"l1.g differs from autograd's only at \d+ elements where relu1's forward has a kink", said[0])
        assert "l1 is exactly 0 at each" in said[0] and "any value between them is a right subgradient" in said[0]


@pytest.mark.parametrize("layers", [None, "lesson_classes.py", "lesson_matmul.py", "lesson_functions.py",
                                    "lesson_einsum.py", "inplace_relu.py", "correct.py"])
def test_the_reference_layers_and_the_lessons_own_pass_on_rows_of_zeros(layers):
    run = session(SAMPLES / layers if layers else None)
    assert run.first_mismatch is None, [t.hint for r in run.reports for t in r.tensors if not t.match]


def test_a_slip_at_the_kinks_is_still_found_and_never_told_to_pick_a_convention(tmp_path):
    layers = tmp_path / "relu.py"
    layers.write_text("import torch\nfrom gradtui.layers import Module\n\nclass Relu(Module):\n"
                      "    def forward(self, inp): return inp.clamp_min(0.)\n"
                      "    def bwd(self, out, inp): inp.g = torch.where(inp == 0, 2 * out.g, (inp > 0) * out.g)\n")

    run = session(layers)

    assert run.first_mismatch is not None and run.first_mismatch.tensor == "l1.g"
    hint = run.reports[run.first_mismatch.index].failing_tensor.hint
    assert ">= 0" not in hint and "to agree" not in hint


def test_a_real_slip_with_rows_of_zeros_is_found_where_it_is():
    run = session(SAMPLES / "relu_mask.py")
    assert run.first_mismatch.index == 6 and run.first_mismatch.tensor == "l1.g"
    assert "mask taken from `out.g`" in run.reports[6].failing_tensor.hint
    assert not kink_notes(run)


class PairMax(Module):
    """The larger of each pair of features, given to both (a max-pool of width 2 that keeps the width)."""

    def __init__(self, tie: str):
        self.tie = tie

    def forward(self, inp):
        m = torch.maximum(inp[:, 0::2], inp[:, 1::2])
        return torch.stack([m, m], 2).flatten(1)

    def bwd(self, out, inp):
        a, b = inp[:, 0::2], inp[:, 1::2]
        g = out.g[:, 0::2] + out.g[:, 1::2]
        first = a > b if self.tie == "second" else a >= b
        second = b >= a if self.tie == "both" else ~first
        if self.tie == "split":
            first, second = (a > b) + 0.5 * (a == b), (b > a) + 0.5 * (a == b)
        inp.g = torch.stack([first * g, second * g], 2).flatten(1)


@pytest.mark.parametrize("tie, ok", [("first", True), ("second", True), ("split", True), ("both", False)])
def test_a_tie_of_a_max_may_go_to_either_element_but_not_to_both(tie, ok):
    x, y = zero_rows(features=8)
    generator = torch.Generator().manual_seed(1)
    w1, w2 = torch.randn(8, 6, generator=generator), torch.randn(6, 1, generator=generator)
    model = [Lin(w1, torch.zeros(6)), PairMax(tie), Lin(w2, torch.zeros(1)), Mse()]

    report = gradtui.check(model, x, y, dtype="float64")

    assert report.ok is ok, str(report.first_mismatch)
    if not ok:
        assert report.first_mismatch.tensor == "l1.g"


class BatchSoftmax(Module):
    """A softmax over the batch, smooth everywhere, whose backward rounds its output to float32."""

    def forward(self, inp):
        return torch.softmax(inp, 0)

    def bwd(self, out, inp):
        inp.g = out.float() * (out.g - (out.g * out).sum(0))


def test_a_smooth_forwards_curvature_is_no_kink_for_a_float32_rounding_to_hide_behind():
    """One-sided derivatives of a smooth forward differ by its curvature times the step, which at
    float64's tolerance can exceed the bound: a kink is a gap that stays when the step shrinks."""
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 12, generator=generator), torch.randn(64, generator=generator)
    w1, w2 = torch.randn(12, 12, generator=generator) / 4, torch.randn(12, 1, generator=generator) / 4
    model = [Lin(w1, torch.zeros(12)), BatchSoftmax(), Lin(w2, torch.zeros(1)), Mse()]

    report = gradtui.check(model, x, y, dtype="float64")

    assert report.first_mismatch is not None and report.first_mismatch.tensor == "l1.g"
    assert "carries float32's rounding" in report.first_mismatch.hint
