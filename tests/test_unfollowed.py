"""A forward autograd cannot follow (NumPy, a kernel, a torch.autograd.Function): a correct backward
is never failed, a wrong one still is, and the step says how it was judged."""

import numpy as np
import pytest
import torch
from conftest import SAMPLES, check_json

from gradtui.reference import unfollowable


def test_numpy_relu_is_judged_against_the_reference_relu(capsys):
    code, report = check_json(capsys, "--batch", "300", "--layers", str(SAMPLES / "numpy_relu.py"))
    assert code == 0 and report["first_mismatch"] is None
    assert any("its output is the reference ReLU's, so its backward is judged against the reference ReLU's autograd "
               "gradient" in note for note in report["steps"][6]["notes"])
    assert all(t["match"] for t in report["steps"][7]["tensors"])  # x.g, w1.g, b1.g: judged through it


def test_a_numpy_forward_unlike_the_reference_is_judged_by_finite_differences(capsys):
    code, report = check_json(capsys, "--batch", "300", "--layers", str(SAMPLES / "numpy_leaky_relu.py"))
    assert code == 0 and report["first_mismatch"] is None
    assert report["first_deviation"]["index"] == 1
    assert any("judged by central finite differences in float64 at 16 sampled elements" in note
               for note in report["steps"][6]["notes"])


def test_a_wrong_backward_of_a_numpy_forward_fails_at_finite_differences(capsys, tmp_path):
    wrong = tmp_path / "leaky.py"
    wrong.write_text((SAMPLES / "numpy_leaky_relu.py").read_text().replace("0.1 * self.out.g)", "0.2 * self.out.g)"))
    code, report = check_json(capsys, "--batch", "300", "--layers", str(wrong))
    assert code == 1 and report["first_mismatch"] == {"index": 6, "layer": "relu1", "tensor": "l1.g"}
    hint = report["steps"][6]["tensors"][0]["hint"]
    assert "disagrees with central finite differences of your own forward" in hint


def test_a_wrong_shape_under_finite_differences_is_said(capsys, tmp_path):
    layers = tmp_path / "numpy_lin.py"
    layers.write_text("import torch\n\n\nclass Lin:\n"
                      "    def __init__(self, w, b): self.w, self.b = w, b\n"
                      "    def __call__(self, inp):\n"
                      "        self.inp = inp\n"
                      "        self.out = torch.from_numpy(inp.detach().numpy() @ self.w.detach().numpy()"
                      " + 2 * self.b.detach().numpy())\n"
                      "        return self.out\n"
                      "    def backward(self):\n"
                      "        self.inp.g = self.out.g @ self.w.t()\n"
                      "        self.w.g = self.inp.t() @ self.out.g\n"
                      "        self.b.g = self.out.g\n")
    code, report = check_json(capsys, "--batch", "300", "--init", "random", "--layers", str(layers))
    assert code == 1 and report["first_mismatch"] == {"index": 5, "layer": "lin2", "tensor": "b2.g"}
    b2 = next(t for t in report["steps"][5]["tensors"] if t["name"] == "b2.g")
    assert "b2.g is (300, 1), but b2 is (1,)" in b2["hint"]


def test_a_function_whose_backward_is_wrong_is_not_compared_with_itself(capsys):
    """Autograd through the Function runs the same wrong backward: gradtui judges against the reference Lin."""
    code, report = check_json(capsys, "--batch", "300", "--layers", str(SAMPLES / "function_lin.py"))
    assert code == 1 and report["first_mismatch"] == {"index": 5, "layer": "lin2", "tensor": "w2.g"}
    w2 = next(t for t in report["steps"][5]["tensors"] if t["name"] == "w2.g")
    assert "transposed" in w2["hint"]
    assert any("torch.autograd.Function LinFunction" in note for note in report["steps"][5]["notes"])


class Double(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, grad):
        return 2 * grad


@pytest.mark.parametrize("forward, followed", [
    (lambda x, w, b: x @ w + b, True),
    (lambda x, w, b: x @ w, True),  # a forgotten + b: followed, the missing gradient is the hint's business
    (lambda x, w, b: torch.from_numpy(np.maximum(x.detach().numpy(), 0)), False),
    (lambda x, w, b: (x @ w).detach(), False),
    (lambda x, w, b: Double.apply(x @ w + b), False),
])
def test_what_autograd_cannot_follow(forward, followed):
    x = torch.randn(4, 3, requires_grad=True).clone()
    w, b = torch.randn(3, 2, requires_grad=True), torch.randn(2, requires_grad=True)
    assert (unfollowable(forward(x, w, b), x, [w, b]) is None) == followed
