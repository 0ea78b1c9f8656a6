"""A forward autograd cannot follow (NumPy, a kernel, a torch.autograd.Function): a correct backward
is never failed, a wrong one still is, and the step says how it was judged."""

import numpy as np
import pytest
import torch
from conftest import SAMPLES, check_json

import gradtui
from gradtui.layers import Lin, Mse
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


def _around(layer, **options):
    """gradtui.check of Lin → `layer` → Lin → MSE on 64 rows of 12 features (fixed seed)."""
    g = torch.Generator().manual_seed(0)
    w1, b1, w2, b2 = torch.randn(12, 12, generator=g) / 4, torch.zeros(12), torch.randn(12, 1, generator=g) / 4, torch.zeros(1)
    return gradtui.check([Lin(w1, b1), layer, Lin(w2, b2), Mse()], torch.randn(64, 12, generator=g),
                         torch.randn(64, generator=g), **options)


def _gain_and_shift() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return 1 + 0.1 * torch.randn(12, generator=g), 0.1 * torch.randn(12, generator=g)


class _GeluFunction(torch.autograd.Function):
    """A kernel's shape: the layer's backward and the Function's share one function, which raises."""

    @staticmethod
    def forward(ctx, layer, inp):
        ctx.layer = layer
        return inp * 0.5 * (1 + torch.erf(inp / 2 ** 0.5))

    @staticmethod
    def backward(ctx, grad):
        ctx.layer.backward()
        return None, ctx.layer.inp.g


class _RaisingGelu:
    def __call__(self, inp):
        self.inp = inp
        self.out = _GeluFunction.apply(self, inp)
        return self.out

    def backward(self):
        pdf = torch.exp(-0.5) / (2 * torch.pi) ** 0.5  # raises: exp of a float (the square of inp left out)
        self.inp.g = self.out.g * (0.5 * (1 + torch.erf(self.inp / 2 ** 0.5)) + self.inp * pdf)


def test_a_function_whose_backward_raises_is_that_step_raising_not_autograd_failing():
    """The Function's backward runs under autograd too: its error is the layer's own step, at the user's
    line, and the steps after it are judged against autograd as ever (not 'autograd could not run')."""
    report = _around(_RaisingGelu())
    assert (report.first_mismatch.index, report.first_mismatch.tensor) == (6, None)
    assert "TypeError: exp()" in report.first_mismatch.hint and report.first_mismatch.line is not None
    assert all(t.match for step in report.steps[4:6] for t in step.tensors)
    assert "autograd could not run" not in str(report)


class ThroughKernel:
    """A layer whose forward runs through a torch.autograd.Function, a kernel's shape (`forward` of its input
    and its tensors); the Function's own backward is never called: gradtui stands the layer's own in."""

    forward = staticmethod(lambda inp, *tensors: inp)
    params: tuple[str, ...] = ()  # the attributes it passes the Function after its input

    def __init__(self):
        forward = self.forward

        class Kernel(torch.autograd.Function):
            @staticmethod
            def forward(ctx, inp, *tensors):
                return forward(inp, *tensors)

            @staticmethod
            def backward(ctx, grad):
                raise AssertionError("gradtui runs the layer's own backward in the Function's place")

        self.kernel = Kernel

    def __call__(self, inp):
        self.inp = inp
        self.out = self.kernel.apply(inp, *(getattr(self, name) for name in self.params))
        return self.out


class ScaleShift(ThroughKernel):
    forward = staticmethod(lambda inp, w, b: inp * w + b)
    params = ("w", "b")

    def __init__(self, w, b):
        super().__init__()
        self.w, self.b = w, b

    def backward(self):
        self.inp.g = self.out.g * self.w
        self.w.g = (self.out.g * self.inp).sum(0)
        self.b.g = self.out.g  # the sum over the batch left out


def test_a_gradient_of_the_wrong_shape_under_finite_differences_is_named_on_the_functions_forward():
    """A kernel's classic slip, a broadcast's gradient not summed back, is named as in any layer, on the
    backward derived from the Function's own forward, not only said to be of the wrong shape."""
    layer = ScaleShift(*_gain_and_shift())
    report = _around(layer)
    assert report.first_mismatch.tensor == "scaleshift1.b.g"
    assert "(towards `b`) is not summed over the axes it was broadcast along (.sum(0) missing)" in report.first_mismatch.hint


class MaxScale(ThroughKernel):
    """x / (max |x| + 1) per row, whose backward's slip (the divisor's minus left out) reaches only the
    element of each row that holds the max: one element in twelve."""

    forward = staticmethod(lambda inp: inp / (inp.abs().amax(1, keepdim=True) + 1))

    def backward(self):
        inp, g = self.inp, self.out.g
        top = inp.abs().max(1, keepdim=True)
        den = top.values + 1
        dden = (g * inp).sum(1, keepdim=True) / den ** 2  # the minus of -a / b**2 left out
        self.inp.g = g / den + torch.zeros_like(inp).scatter(1, top.indices, dden) * torch.sign(inp)


def test_a_slip_in_a_few_elements_is_not_missed_by_finite_differences():
    """Sixteen evenly spaced samples would all miss the rows' maxima; the elements where the backward
    derived from the Function's forward disagrees with the user's are sampled too, and the slip named."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 12, generator=g)
    x[:, 5] = 10 + x[:, 5]  # each row's max in column 5, which the even samples (flat 0, 51, 102, …, 767) never hold
    w2, b2 = torch.randn(12, 1, generator=g) / 4, torch.zeros(1)
    report = gradtui.check([Lin(torch.eye(12), torch.zeros(12)), MaxScale(), Lin(w2, b2), Mse()], x, torch.randn(64, generator=g))
    assert (report.first_mismatch.index, report.first_mismatch.tensor) == (6, "l1.g")
    assert "is missing the minus of the divisor's gradient, -a / b**2" in report.first_mismatch.hint


class StdScale(ThroughKernel):
    """A standardisation by std + ε whose backward takes std + ε where the std belongs in the std's
    derivative: every gradient off by about 1e-3 of itself, within finite differences' usual 1e-3."""

    forward = staticmethod(lambda inp: (inp - inp.mean(1, keepdim=True)) / (inp.std(1, keepdim=True) + 1e-3))

    def backward(self):
        inp, g = self.inp, self.out.g
        xc, s = inp - inp.mean(1, keepdim=True), inp.std(1, keepdim=True) + 1e-3
        dxc = g / s
        ds = -(g * xc).sum(1, keepdim=True) / s ** 2
        self.inp.g = dxc - dxc.mean(1, keepdim=True) + ds * xc / ((inp.shape[1] - 1) * s)  # s: the std belongs


def test_an_epsilon_in_the_wrong_place_is_seen_where_the_forward_is_smooth():
    report = _around(StdScale())
    assert (report.first_mismatch.index, report.first_mismatch.tensor) == (6, "l1.g")


class CastTanh(ThroughKernel):
    forward = staticmethod(torch.tanh)

    def backward(self):
        self.inp.g = self.out.g * (1 - torch.tanh(self.inp.float()) ** 2)  # a float32 cast in a float64 run


def test_a_float32_cast_in_a_kernels_float64_backward_is_said_though_finite_differences_cannot_resolve_it():
    """Its rounding (1e-7 of the value) is below what finite differences resolve; against the backward
    derived from the Function's forward, on the same rows, it is the cast, said with its line."""
    report = _around(CastTanh(), dtype="float64")
    assert (report.first_mismatch.index, report.first_mismatch.tensor) == (6, "l1.g")
    hint = report.first_mismatch.hint
    assert "carries float32's rounding" in hint and "the cast `.float()` (tests/test_unfollowed.py:" in hint


class EmbeddingKernel(ThroughKernel):
    """A lookup of integer ids through a Function, whose backward adds up the layer's output where its
    gradient belongs."""

    forward = staticmethod(lambda ids, table: table[ids])
    params = ("table",)

    def __init__(self, table):
        super().__init__()
        self.table = table

    def backward(self):
        self.table.g = torch.zeros_like(self.table).index_add_(0, self.inp.reshape(-1), self.out.reshape(-1, 4))


def _tanh_in_float32(inp: torch.Tensor) -> torch.Tensor:
    if inp.dtype != torch.float32:
        raise TypeError(f"this kernel runs in float32 only, not {inp.dtype}")
    return torch.tanh(inp)


class Float32Kernel(ThroughKernel):
    """A kernel that runs in float32 only: finite differences in float64 cannot run it."""

    forward = staticmethod(_tanh_in_float32)

    def backward(self):
        self.inp.g = self.out.g * (1 - self.out ** 2)


def test_integer_ids_through_a_function_are_judged_by_finite_differences_of_the_table():
    g = torch.Generator().manual_seed(0)
    ids, y = torch.randint(0, 9, (64,), generator=g), torch.randn(64, generator=g)
    model = [EmbeddingKernel(torch.randn(9, 4, generator=g)), Lin(torch.randn(4, 1, generator=g), torch.zeros(1)), Mse()]
    report = gradtui.check(model, ids, y)
    assert report.first_mismatch.tensor == "embeddingkernel1.table.g"
    assert "computed from the layer's output `out` where its gradient `out.g` belongs" in report.first_mismatch.hint


def test_a_step_finite_differences_cannot_run_is_never_a_tick():
    """Autograd through the Function would run the user's own backward, and float64 rows cannot run it:
    nothing checks that step, so it is no ✓ and the report is not ok."""
    forward_of_half = Float32Kernel()
    report = _around(forward_of_half)
    assert not report.ok and report.first_mismatch.tensor == "l1.g"
    assert report.first_mismatch.hint.startswith("not judged: the finite differences could not run float32kernel1 in float64")


class ScaleShiftWithoutGain(ScaleShift):
    def backward(self):
        super().backward()
        self.b.g = self.b.g.sum(0)
        del self.w.g  # never set


def test_a_gradient_a_kernels_backward_never_sets_is_not_set_not_passed():
    """Autograd through the stand-in has no gradient for w either: finite differences say the forward depends on it."""
    layer = ScaleShiftWithoutGain(*_gain_and_shift())
    report = _around(layer)
    assert report.first_mismatch.tensor == "scaleshiftwithoutgain1.w.g"
    assert report.first_mismatch.hint.startswith("scaleshiftwithoutgain1.w.g is not set: your backward gives "
                                                 "scaleshiftwithoutgain1.w no gradient, and your forward depends on it")
