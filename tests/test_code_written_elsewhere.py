"""Code written elsewhere, as it is written there: what gradtui says of it must be true. makemore's
batch norm keeps its gain and bias as (1, n); the course's later notebooks give a Model its layers
but compute the loss apart; a layer may subclass the reference Lin."""

import pytest
import torch
from conftest import run_cli

import gradtui
from gradtui.layers import Lin, Mse, Relu

# makemore's batch norm, written as a layer: its notebook keeps bngain and bnbias as (1, n), so its
# backward sums with keepdim=True, which is right for those shapes.
MAKEMORE_BATCHNORM = '''
import torch
from gradtui.layers import Module


class BatchNorm(Module):
    def __init__(self, g, b, eps=1e-5):
        self.g, self.b, self.eps = g, b, eps

    def forward(self, inp):
        self.mean = inp.mean(0, keepdim=True)
        self.var = inp.var(0, keepdim=True, unbiased=False)
        self.xhat = (inp - self.mean) / (self.var + self.eps).sqrt()
        return self.g * self.xhat + self.b

    def bwd(self, out, inp):
        n, dxhat = inp.shape[0], out.g * self.g
        inp.g = (n * dxhat - dxhat.sum(0, keepdim=True) - self.xhat * (dxhat * self.xhat).sum(0, keepdim=True)) / (
            n * (self.var + self.eps).sqrt())
        self.g.g = (out.g * self.xhat).sum(0, keepdim=True)
        self.b.g = out.g.sum(0, keepdim=True)
'''

MODEL_OF_ITS_OWN_SHAPES = '''

class Tanh(Module):
    def forward(self, inp): return inp.tanh()
    def bwd(self, out, inp): inp.g = (1 - out**2) * out.g


class Model:
    def __init__(self, n_in, nh, n_out):
        from gradtui.layers import Lin, Mse
        g = torch.Generator().manual_seed(1)
        self.layers = [Lin(torch.randn(n_in, nh, generator=g) / n_in**0.5, torch.zeros(nh)),
                       BatchNorm(torch.randn(1, nh, generator=g) * 0.1 + 1, torch.randn(1, nh, generator=g) * 0.1),
                       Tanh(), Lin(torch.randn(nh, n_out, generator=g) / nh**0.5, torch.zeros(n_out))]
        self.loss = Mse()
'''


def test_a_gain_kept_as_1_by_n_under_net_says_both_readings(capsys, tmp_path):
    path = tmp_path / "makemore_bn.py"
    path.write_text(MAKEMORE_BATCHNORM)
    code, out, _ = run_cli(capsys, "check", "--batch", "300", "--net", "lin,batchnorm,tanh,lin,mse", "--layers", str(path))
    verdict = out.strip().splitlines()[-1]
    assert code == 1 and "step 8 (backward batchnorm1, gamma1.g)" in verdict
    assert "with keepdim=True" in verdict and "fix: gamma.g = (out.g * xhat).sum(0)" in verdict  # for gradtui's (50,)
    assert ("or, if your own gamma1 is (1, 50) (as makemore keeps its batch norm's gain), gamma1.g is right for it: "
            "gradtui builds gamma1 as (50,) from the options, so check such a layer through a Model that builds its "
            "own parameters") in verdict


def test_a_models_parameters_keep_the_shapes_it_made(capsys, tmp_path):
    path = tmp_path / "makemore_model.py"
    path.write_text(MAKEMORE_BATCHNORM + MODEL_OF_ITS_OWN_SHAPES)
    code, out, _ = run_cli(capsys, "check", "--batch", "300", "--layers", str(path))
    assert code == 0 and "every gradient matches" in out
    assert "gamma1.g  1×50" in out  # the Model's (1, 50), not gradtui's (50,)

    path.write_text(MAKEMORE_BATCHNORM.replace("(out.g * self.xhat).sum(0, keepdim=True)",
                                               "(out.g * self.xhat).sum(1, keepdim=True)") + MODEL_OF_ITS_OWN_SHAPES)
    code, out, _ = run_cli(capsys, "check", "--batch", "300", "--layers", str(path))
    verdict = out.strip().splitlines()[-1]
    assert code == 1 and "(backward batchnorm1, gamma1.g)" in verdict
    assert "summed over the features (axis 1) instead of the batch (axis 0)" in verdict
    assert "fix: gamma.g = (out.g * xhat).sum(0, keepdim=True)" in verdict  # the fix for the Model's own shape
    assert "if your own gamma1" not in verdict  # its parameters are its own: no other reading


def test_a_model_with_layers_but_no_loss_is_said_in_a_whole_sentence(capsys, tmp_path):
    path = tmp_path / "course22p2.py"  # the later course's Model: layers, and the loss computed apart
    path.write_text("from gradtui.layers import Lin, Relu, Mse\n\n\n"
                    "class Model:\n    def __init__(self, n_in, nh, n_out):\n"
                    "        import torch\n        self.layers = [Lin(torch.randn(n_in, nh), torch.zeros(nh)), Relu(), "
                    "Lin(torch.randn(nh, n_out), torch.zeros(n_out))]\n\n"
                    "    def __call__(self, x):\n        for layer in self.layers: x = layer(x)\n        return x\n")
    code, _, err = run_cli(capsys, "check", "--batch", "64", "--layers", str(path))
    assert code == 0
    assert ("warning: the layer file's Model is not stepped, because it has .layers but no .loss, the loss gradtui "
            "calls as loss(out, y) after the layers; gradtui steps the file's classes instead") in err.replace("\n", " ")


class BadLin(Lin):
    """A subclass of the reference Lin, its bias gradient summed over the features."""

    def bwd(self, out, inp):
        inp.g = out.g @ self.w.t()
        self.w.g = inp.t() @ out.g
        self.b.g = out.g.sum(1)


def test_a_subclass_of_a_known_kind_is_that_kind():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(200, 10, generator=g), torch.randn(200, generator=g)
    model = [BadLin(torch.randn(10, 8, generator=g), torch.zeros(8)), Relu(), Lin(torch.randn(8, 1, generator=g),
                                                                                   torch.zeros(1)), Mse()]
    report = gradtui.check(model, x, y)
    mismatch = report.first_mismatch
    assert (mismatch.layer, mismatch.tensor) == ("lin1", "b1.g")  # a Lin, named as the CLI names it
    assert mismatch.hint.startswith("b1.g is Lin's bias gradient summed over the features (axis 1) instead of the batch "
                                    "(axis 0): out.g.sum(1)")
    assert "fix: b.g = out.g.sum(0)" in mismatch.hint and mismatch.file.endswith("test_code_written_elsewhere.py")


def guarded_mlp(backward: str | None = None, dtype=torch.float32):
    """samples/guarded_log.py's MLP on 500 rows of 20 features and 5 classes, its loss's backward as given."""
    import importlib.util

    from conftest import SAMPLES

    spec = importlib.util.spec_from_file_location("guarded_log", SAMPLES / "guarded_log.py")
    source = (SAMPLES / "guarded_log.py").read_text()
    if backward is not None:
        source = source.replace("self.logits.g = d / len(self.y)", backward)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, str(SAMPLES / "guarded_log.py"), "exec"), module.__dict__)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(500, 20, generator=g), torch.randint(0, 5, (500,), generator=g)
    w1, w2 = torch.randn(20, 16, generator=g) / 20**0.5, torch.randn(16, 5, generator=g) / 4
    model = [module.Linear(w1, torch.zeros(16)), module.ReLU(), module.Linear(w2, torch.zeros(5)),
             module.SoftmaxCrossEntropy()]
    return gradtui.check(model, x.to(dtype), y)


def test_a_guard_the_backward_leaves_out_is_named_and_no_mismatch():
    for dtype in (torch.float32, torch.float64):  # float32's rounding hides it; the float64 replay, and a float64 run, see it
        report = guarded_mlp(dtype=dtype)
        assert report.ok, report.verdict
        assert report.verdict.count("✓") == 1 and "✗" not in report.verdict  # one verdict
        said = str(report)
        assert ("out.g leaves out the guard `+ 1e-09` in `self.out = -torch.log(self.p[torch.arange(len(y)), y] + "
                "1e-9).mean()` (") in said
        assert "is within what the guard explains: no slip" in said


def test_a_slip_beside_a_guard_is_still_a_mismatch():
    report = guarded_mlp("self.logits.g = d")  # the mean's 1/N left out: far more than the guard explains
    assert not report.ok and report.first_mismatch.tensor == "out.g"
    assert "guard" not in report.first_mismatch.hint


@pytest.mark.parametrize("backward, guarded", [
    ("x.g = dx_norm / torch.sqrt(var) + dvar * 2 * (x - mu) / n + dmu / n", True),  # eps left out in one place of three
    ("x.g = dx_norm / torch.sqrt(var + eps) + dvar * 2 * (x - mu) / n", False),  # the mean's term left out: a slip
])
def test_a_guard_left_out_in_one_place_of_several_is_no_slip(capsys, tmp_path, backward, guarded):
    from conftest import SAMPLES

    source = (SAMPLES / "batchnorm_staged.py").read_text()
    layers = tmp_path / "staged.py"
    layers.write_text(source.replace("x.g = dx_norm / torch.sqrt(var + eps) + dvar * 2 * (x - mu) / n + dmu / n", backward))
    code, out, _ = run_cli(capsys, "check", "--batch", "300", "--layers", str(layers), "--net", "lin,batchnorm,tanh,lin,mse")
    assert code == (0 if guarded else 1), out
    assert ("leaves out the guard `+ 1e-05` in `self.x_norm = (x - self.mu) / torch.sqrt(self.var + self.eps)` (" in out) \
        == guarded, out


# ML-From-Scratch's activations keep `gradient(x)` apart from the call; ported to gradtui's protocol as a
# student would, the backward multiplies it into out.g. Its LeakyReLU's gradient is a `where` of Python
# numbers, which torch makes in its default dtype, float32, whatever the run's dtype.
LEAKY_RELU = '''
import torch
from gradtui.layers import Lin, Mse

class LeakyReLU:
    alpha = 0.2
    def __call__(self, inp):
        self.inp = inp
        self.out = torch.where(inp >= 0, inp, self.alpha * inp)
        return self.out
    def gradient(self, x):
        return torch.where(x >= 0, 1., self.alpha)
    def backward(self):
        self.inp.g = self.gradient(self.inp) * self.out.g

class Model:
    def __init__(self, w1, b1, w2, b2):
        self.layers = [Lin(w1, b1), LeakyReLU(), Lin(w2, b2)]
        self.loss = Mse()
'''


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_gradient_of_python_numbers_is_right_in_a_float64_run_and_replay(capsys, tmp_path, dtype):
    layers = tmp_path / "leaky.py"
    layers.write_text(LEAKY_RELU)
    code, out, _ = run_cli(capsys, "check", "--batch", "64", "--dtype", dtype, "--layers", str(layers))
    assert code == 0, out  # its 0.2 is float64 in a float64 run, as a gradient check in float64 is run
    assert "every gradient matches" in out


def test_a_gradient_of_python_numbers_in_a_half_run_names_the_line_that_made_it(capsys, tmp_path):
    layers = tmp_path / "leaky.py"
    layers.write_text(LEAKY_RELU)
    code, out, _ = run_cli(capsys, "check", "--batch", "64", "--dtype", "float16", "--layers", str(layers))
    hint = out.splitlines()[-1]
    assert code == 1 and "l1.g is float32, autograd's is float16: `torch.where(x >= 0, 1., self.alpha)` (" in hint, out
    assert "leaky.py:12) makes a float32 tensor (torch's default dtype) in a float16 run" in hint


def test_a_cast_in_a_method_the_backward_calls_is_quoted(capsys, tmp_path):
    layers = tmp_path / "mask.py"
    layers.write_text(LEAKY_RELU.replace("torch.where(x >= 0, 1., self.alpha)",
                                         "torch.where(x >= 0, torch.ones_like(x), self.alpha).float()"))
    code, out, _ = run_cli(capsys, "check", "--batch", "64", "--dtype", "bfloat16", "--layers", str(layers))
    assert code == 1 and "the cast `torch.where(x >= 0, torch.ones_like(x), self.alpha).float()` (" in \
        out.splitlines()[-1], out


def test_a_backward_that_calls_the_forward_again_is_said_so(capsys, tmp_path):
    layers = tmp_path / "sigmoid.py"  # ML-From-Scratch's Sigmoid.gradient calls the layer: here it sets self.out anew
    layers.write_text(LEAKY_RELU.replace("torch.where(x >= 0, 1., self.alpha)", "self.__call__(x) * (1 - self.__call__(x))"))
    code, out, _ = run_cli(capsys, "check", "--batch", "64", "--layers", str(layers))
    assert code == 1  # said with the error it explains, on the verdict's line
    assert "AttributeError: 'Tensor' object has no attribute 'g': the backward replaced l2 on the layer, as calling " \
           "the forward again inside it does" in out.splitlines()[-1], out
    assert "an update inside backward" not in out


DENSE_MODEL = '''
import torch

class Dense:  # ML-From-Scratch's names: W, w0, layer_input; a kind gradtui has no entry for
    def __init__(self, W, w0): self.W, self.w0 = W, w0
    def __call__(self, X):
        self.layer_input = X
        self.out = X @ self.W + self.w0
        return self.out
    def backward(self):
        accum_grad = self.out.g
        self.W.g = self.layer_input.T @ accum_grad
        self.w0.g = accum_grad.sum(0)
        self.layer_input.g = accum_grad @ self.W.T

class SquareLoss:
    def __call__(self, y_pred, y):
        self.y_pred, self.y = y_pred, y
        return (0.5 * (y - y_pred.squeeze(-1)) ** 2).mean()
    def backward(self):
        self.y_pred.g = (-(self.y - self.y_pred.squeeze(-1))).unsqueeze(-1)

class Model:
    def __init__(self, w1, b1, w2, b2):
        self.layers = [Dense(w1, b1), Dense(w2, b2)]
        self.loss = SquareLoss()
'''


def test_a_fix_is_found_for_a_model_of_kinds_gradtui_has_no_entry_for(capsys, tmp_path):
    layers = tmp_path / "dense.py"  # the loss's 1/N left out; the fix's trials build the Model as the check did
    layers.write_text(DENSE_MODEL)
    code, out, err = run_cli(capsys, "check", "--batch", "64", "--layers", str(layers), "--fix")
    assert code == 1, out + err
    assert "fix, run and verified: with this edit every gradient matches" in out, out
    assert "+        self.y_pred.g = (-(self.y - self.y_pred.squeeze(-1))).unsqueeze(-1) / " in out, out
