"""gradtui.check and gradtui.testing.assert_backward, used as a notebook or a test suite uses them."""

import importlib.util
import io
import json
from pathlib import Path

import pytest
import torch
from conftest import SAMPLES
from rich.console import Console

import gradtui
from gradtui.layers import Lin, Mse, Relu
from gradtui.testing import assert_backward


def module(sample: str, names=("Lin", "Relu", "Mse")):
    """A sample's classes, gradtui's reference layers for those it does not define (as --layers does)."""
    from types import SimpleNamespace

    from gradtui import layers

    spec = importlib.util.spec_from_file_location(sample.removesuffix(".py"), SAMPLES / sample)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return SimpleNamespace(**{name: getattr(loaded, name, None) or getattr(layers, name) for name in names})


class Model:
    """The lesson's Model, as the notebook writes it."""

    def __init__(self, classes, w1, b1, w2, b2):
        self.layers = [classes.Lin(w1, b1), classes.Relu(), classes.Lin(w2, b2)]
        self.loss = classes.Mse()


def data(n: int = 200):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g).float()
    w1, w2 = torch.randn(784, 50, generator=g) / 28, torch.randn(50, 1, generator=g) / 50**0.5
    return x, y, (w1, torch.zeros(50), w2, torch.zeros(1))


def test_the_lessons_model_passes_with_its_shifted_relu_named():
    x, y, weights = data()
    report = gradtui.check(Model(module("lesson_classes.py"), *weights), x, y)
    assert report.ok and report.first_mismatch is None
    deviation = report.first_deviation
    assert (deviation.index, deviation.layer, deviation.tensor) == (1, "relu1", "l2")
    assert "shifted by -0.5 (as the lesson's clamp_min(0.) - 0.5)" in deviation.hint
    assert len(report.steps) == 8 and "every gradient matches autograd" in report.verdict


def test_a_model_that_ran_before_is_checked_as_a_fresh_one():
    """In a notebook the model has often run (forward and backward) before it is checked: what that
    left on the layers (self.inp, self.out, their .g) is no parameter of theirs."""
    x, y, weights = data(64)
    fresh = gradtui.check(Model(module("correct_classes.py"), *weights), x, y)
    ran = Model(module("correct_classes.py"), *weights)
    out = x
    for layer in ran.layers:
        out = layer(out)
    ran.loss(out, y)
    ran.loss.backward()
    for layer in reversed(ran.layers):
        layer.backward()
    again = gradtui.check(ran, x, y)
    assert again.ok and fresh.ok and again.to_dict()["steps"] == fresh.to_dict()["steps"]


def test_a_known_layers_parameters_are_the_first_it_sets():
    """A batch norm that keeps running statistics after its gain and shift (as a course's does): the
    gain and shift are its parameters, the statistics its state."""
    from gradtui import layers

    class BatchNorm(layers.BatchNorm):
        def __init__(self, g, b):
            super().__init__(g, b)
            self.running_mean, self.running_var = torch.zeros_like(g), torch.ones_like(g)

    x, y, (w1, b1, w2, b2) = data(64)
    model = [layers.Lin(w1, b1), BatchNorm(torch.ones(50), torch.zeros(50)), Relu(), layers.Lin(w2, b2), Mse()]
    report = gradtui.check(model, x, y)
    assert report.ok and [t.name for t in report.steps[8].tensors] == ["l1.g", "gamma1.g", "beta1.g"]


def test_the_check_leaves_the_callers_tensors_and_layers_as_they_were():
    x, y, weights = data()
    before = [t.clone() for t in (x, y, *weights)]
    model = Model(module("lesson_matmul.py"), *weights)
    state = [dict(vars(layer)) for layer in (*model.layers, model.loss)]
    gradtui.check(model, x, y)
    assert all(torch.equal(t, b) and not hasattr(t, "g") for t, b in zip((x, y, *weights), before))
    assert [dict(vars(layer)) for layer in (*model.layers, model.loss)] == state


def test_a_mismatch_is_found_and_the_assertion_says_what_check_says():
    x, y, weights = data()
    model = Model(module("transposed.py"), *weights)
    report = gradtui.check(model, x, y)
    assert not report.ok
    found = report.first_mismatch
    assert (found.index, found.layer, found.tensor) == (5, "lin2", "w2.g") and "transposed" in found.hint
    with pytest.raises(AssertionError) as raised:
        assert_backward(model, x, y)
    assert str(raised.value).startswith("✗ first mismatch: step 5 (backward lin2, w2.g): w2.g is Lin's weight gradient "
                                        "transposed")
    assert_backward(Model(module("correct.py"), *weights), x, y)  # silent when right


def test_pytest_shows_the_callers_line_and_the_verdict(pytester):
    """In a failing test, the assertion is the user's own line: gradtui's frame is hidden."""
    pytester.makepyfile(test_users_layers=(
        f"import sys\nsys.path.insert(0, {str(SAMPLES)!r})\nimport torch\nimport transposed\n"
        "from gradtui.layers import Mse, Relu\nfrom gradtui.testing import assert_backward\n\n\n"
        "def test_backward():\n    g = torch.Generator().manual_seed(0)\n"
        "    w1, w2 = torch.randn(6, 4, generator=g), torch.randn(4, 1, generator=g)\n"
        "    layers = [transposed.Lin(w1, torch.zeros(4)), Relu(), transposed.Lin(w2, torch.zeros(1))]\n"
        "    assert_backward(layers + [Mse()], torch.randn(16, 6, generator=g), torch.randn(16, generator=g))\n"))
    # (in this process: the suite's own plugins, whose state is the process's, left out of the inner run)
    plugins = ("cacheprovider", "randomly", "asyncio", "textual-snapshot", "syrupy", "hypothesispytest", "timeout")
    done = pytester.runpytest_inprocess("-q", *(f"-pno:{plugin}" for plugin in plugins))
    out = str(done.stdout)
    assert "1 failed" in out and "E       AssertionError: ✗ first mismatch: step 5 (backward lin2, w2.g)" in out
    assert "gradtui/testing.py" not in out and "    assert_backward(layers" in out


def test_layers_and_loss_without_a_model_and_the_json_of_check():
    x, y, (w1, b1, w2, b2) = data()
    classes = module("correct.py")
    report = gradtui.check(layers=[classes.Lin(w1, b1), classes.Relu(), classes.Lin(w2, b2)], loss=classes.Mse(),
                           x=x, y=y, isolate=True)
    document = json.loads(report.to_json())
    assert set(document) == {"config", "loss", "steps", "first_mismatch", "first_deviation", "first_nonfinite",
                             "float64_replay", "ok"}
    assert document["ok"] and document["config"]["isolate"] and document["config"]["layers"] == "your model"


def test_it_renders_as_check_does_in_a_terminal_and_in_jupyter():
    from rich.console import Console

    x, y, weights = data()
    report = gradtui.check(Model(module("transposed.py"), *weights), x, y)
    console = Console(record=True, width=120)
    console.print(report)
    assert "✗ first mismatch: step 5 (backward lin2, w2.g)" in console.export_text()
    html = report._repr_html_()
    assert "first mismatch" in html and "\x1b" not in html


@pytest.mark.parametrize("options, error, words", [
    ({"rtol": -1}, ValueError, "rtol=-1: a tolerance must be a number >= 0"),
    ({"bogus": 1}, TypeError, "no option bogus"),
])
def test_options_are_the_clis_with_its_messages(options, error, words):
    x, y, weights = data(20)
    with pytest.raises(error, match=words):
        gradtui.check(Model(module("correct.py"), *weights), x, y, **options)


LayerNorm = module("layernorm.py", names=("LayerNorm",)).LayerNorm  # a layer gradtui has no entry for


def layer_norm_net(norm):
    from gradtui.layers import Lin, Mse, Relu

    x, y, (w1, b1, w2, b2) = data()
    return dict(layers=[Lin(w1, b1), norm, Relu(), Lin(w2, b2)], loss=Mse(), x=x, y=y)


def test_any_layer_is_stepped_and_its_backward_judged_against_autograd():
    report = gradtui.check(**layer_norm_net(LayerNorm(50)))
    assert report.ok
    step = next(s for s in report.steps if s.step.layer == "layernorm1" and s.step.direction == "backward")
    assert [t.name for t in step.tensors] == ["l1.g", "layernorm1.weight.g", "layernorm1.bias.g"]
    forward = next(s for s in report.steps if s.step.layer == "layernorm1")
    assert "LayerNorm has no reference layer: its forward is compared with nothing" in forward.notes[0]


def test_a_wrong_backward_of_any_layer_is_found_where_it_is():
    class Wrong(LayerNorm):
        def backward(self):
            super().backward()
            self.weight.g = self.out.g.sum(0)  # BUG: without xhat

    Wrong.__name__ = "LayerNorm"
    found = gradtui.check(**layer_norm_net(Wrong(50))).first_mismatch
    assert (found.layer, found.tensor) == ("layernorm1", "layernorm1.weight.g")


def test_debug_opens_the_app_on_the_model_and_returns_the_report_when_quit(monkeypatch):
    """gradtui.debug runs the app (here headless, a pilot pressing e then q) and hands back its pass."""
    from conftest import settle

    from gradtui.ui.app import GradTUI

    run = GradTUI.run

    async def reader(pilot):
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("q")

    monkeypatch.setattr(GradTUI, "run", lambda app: run(app, headless=True, auto_pilot=reader, size=(120, 40)))
    x, y, weights = data()
    report = gradtui.debug(Model(module("transposed.py"), *weights), x, y)
    assert report is not None and not report.ok and report.first_mismatch.tensor == "w2.g"


def test_a_linear_that_keeps_its_bias_first_is_a_lin():
    from gradtui.layers import Mse, Relu

    class Linear:  # torch's name, and the bias set before the weight
        def __init__(self, w, b):
            self.b, self.w = b, w

        def __call__(self, inp):
            self.inp, self.out = inp, inp @ self.w + self.b
            return self.out

        def backward(self):
            self.inp.g = self.out.g @ self.w.t()
            self.w.g, self.b.g = self.inp.t() @ self.out.g, self.out.g.sum(0)

    x, y, (w1, b1, w2, b2) = data()
    report = gradtui.check(layers=[Linear(w1, b1), Relu(), Linear(w2, b2)], loss=Mse(), x=x, y=y)
    assert report.ok and [t.name for t in report.steps[7].tensors] == ["x.g", "w1.g", "b1.g"]


def test_a_notebook_as_the_layer_file_from_the_api_says_what_check_says(capsys, tmp_path):
    """layers='lesson.ipynb' is `gradtui check --layers lesson.ipynb`: magics, ?? lines, a failing
    star import and a redefinition; the same report, to the JSON document."""
    from conftest import check_json
    from test_notebook import LESSON_CELLS, notebook

    path = notebook(tmp_path, *LESSON_CELLS)
    report = gradtui.check(layers=str(path), batch=64)
    code, document = check_json(capsys, "--batch", "64", "--layers", str(path))
    assert report.ok and code == 0 and json.loads(report.to_json()) == document
    assert any("from exp.nb_01 import *" in note for note in report.session.network.notes)


def test_a_layer_file_with_the_callers_data_and_any_layer_in_its_model():
    x, y, _ = data(64)
    report = gradtui.check(layers=SAMPLES / "layernorm.py", x=x, y=y)
    assert report.ok and [s.step.layer for s in report.steps][:5] == ["lin1", "layernorm1", "relu1", "lin2", "mse"]
    assert report.to_dict()["config"]["batch"] == 64 and report.to_dict()["config"]["data"] == "your data"


def test_with_no_arguments_the_lessons_network_on_synthetic_data():
    report = gradtui.check(batch=64)
    assert report.ok and len(report.steps) == 8 and report.to_dict()["config"]["data"] == "synthetic"


def test_a_models_run_in_another_dtype_works_on_converted_copies():
    x, y, weights = data(64)
    report = gradtui.check(Model(module("lesson_matmul.py"), *weights), x, y, dtype="float64")
    assert report.ok and report.to_dict()["config"]["dtype"] == "float64"
    assert report.steps[-1].tensors[0].stats.dtype == "float64" and x.dtype == torch.float32


def test_a_list_of_layers_is_the_model_and_an_object_without_layers_is_said_in_one_line():
    x, y, weights = data(64)
    model = Model(module("lesson_matmul.py"), *weights)
    as_list = gradtui.check(list(model.layers), x, y, loss=model.loss)
    assert [s.mark for s in as_list.steps] == [s.mark for s in gradtui.check(model, x, y).steps] == ["✓", "≠"] + ["✓"] * 6
    with pytest.raises(TypeError, match=r"give a model with .layers and .loss, layers=\[\.\.\.\] and loss="):
        gradtui.check(object(), x, y)
    ending_in_its_loss = gradtui.check([*model.layers, model.loss], x, y)
    assert [s.step.layer for s in ending_in_its_loss.steps] == [s.step.layer for s in as_list.steps]

    class L1:  # a loss gradtui has no entry for: called with the targets too
        def __call__(self, inp, targ):
            self.inp, self.targ = inp, targ
            return (inp.squeeze(-1) - targ).abs().mean()

        def backward(self):
            self.inp.g = (self.inp.squeeze(-1) - self.targ).sign().unsqueeze(-1) / len(self.targ)

    own_loss = gradtui.check([*model.layers, L1()], x, y)
    assert own_loss.steps[3].step.layer == "l1" and own_loss.steps[3].step.spec.entry.loss and own_loss.ok
    with pytest.raises(TypeError, match="give a model"):
        gradtui.check(list(model.layers), x, y)  # no loss, and none at the end


class Scale(torch.nn.Module):
    """A layer as an engineer writes it: an nn.Module whose gain is an nn.Parameter."""

    def __init__(self, n: int, slip: bool = False):
        super().__init__()
        self.gain, self.slip = torch.nn.Parameter(torch.full((n,), 1.5)), slip

    def forward(self, inp):
        self.inp, self.out = inp, inp * self.gain
        return self.out

    def backward(self):
        self.inp.g = self.out.g * self.gain
        self.gain.g = (self.out.g * (self.out if self.slip else self.inp)).sum(0)  # the slip: out for inp


def test_an_nn_modules_parameters_are_its_tensors_and_their_gradients_are_checked():
    from gradtui.layers import Lin, Mse, Relu

    x, y, (w1, b1, w2, b2) = data(64)
    for slip in (False, True):
        scale = Scale(50, slip)
        report = gradtui.check([Lin(w1, b1), scale, Relu(), Lin(w2, b2)], x, y, loss=Mse())
        assert "scale1.gain" in report.session.params
        assert report.ok is not slip
        assert (report.first_mismatch.tensor if slip else None) == ("scale1.gain.g" if slip else None)
        assert torch.equal(scale.gain.detach(), torch.full((50,), 1.5)) and not hasattr(scale.gain, "g")
    class Wrapped(Scale):  # a parameter one module down: refused rather than left unchecked
        def __init__(self):
            super().__init__(50)
            self.inner = Scale(50)

    with pytest.raises(TypeError, match=r"Wrapped holds a parameter in a submodule \(inner.gain\)"):
        gradtui.check([Lin(w1, b1), Wrapped(), Relu(), Lin(w2, b2)], x, y, loss=Mse())
    with pytest.raises(TypeError, match="Linear has no backward of its own"):
        gradtui.check([torch.nn.Linear(784, 50), torch.nn.ReLU(), torch.nn.Linear(50, 1)], x, y, loss=Mse())


def test_options_are_validated_as_the_cli_validates_them():
    x, y, weights = data(64)
    model = Model(module("lesson_matmul.py"), *weights)
    with pytest.raises(ValueError, match="dtype='int8': choose one of float32"):
        gradtui.check(model, x, y, dtype="int8")
    with pytest.raises(TypeError, match="no option hidden for a model"):
        gradtui.check(model, x, y, hidden=(20,))  # a model has its own widths
    with pytest.raises(TypeError, match="no option colour"):
        gradtui.check(layers=SAMPLES / "correct.py", colour=True)
    with pytest.raises(ValueError, match="layers='nowhere.py': no such file"):
        gradtui.check(layers="nowhere.py")
    with pytest.raises(ValueError, match=r"gradtui.check: y: cross_entropy needs integer class labels; y\[0\] is \d+\.5"):
        gradtui.check(net=("lin", "relu", "lin", "cross_entropy"), x=x, y=y + 0.5)
    with pytest.raises(TypeError, match="not both"):
        gradtui.check(model, x, y, layers=SAMPLES / "correct.py")
    with pytest.raises(TypeError, match="or neither, for the synthetic data"):
        gradtui.check(layers=SAMPLES / "correct.py", x=x)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            gradtui.check(model, x, y, device="cuda")


class Dropout:
    """Inverted dropout with a fixed boolean mask: state, not a parameter (it has no gradient)."""

    def __init__(self, n, p=0.5, seed=0, scaled=True):
        self.mask = torch.rand(n, generator=torch.Generator().manual_seed(seed)) > p
        self.p, self.scaled = p, scaled

    def __call__(self, inp):
        self.inp, self.out = inp, inp * self.mask / (1 - self.p)
        return self.out

    def backward(self):
        self.inp.g = self.out.g * self.mask / ((1 - self.p) if self.scaled else 1)


def test_a_dropout_with_a_fixed_mask_is_any_layer_and_its_mask_no_parameter():
    x, y, (w1, b1, w2, b2) = data(64)
    lesson = module("correct.py")
    report = gradtui.check(layers=[lesson.Lin(w1, b1), lesson.Relu(), Dropout(50), lesson.Lin(w2, b2)],
                           loss=lesson.Mse(), x=x, y=y)
    assert report.ok and [t.name for t in report.steps[-3].tensors] == ["l2.g"]  # no dropout1.mask.g
    wrong = gradtui.check(layers=[lesson.Lin(w1, b1), lesson.Relu(), Dropout(50, scaled=False), lesson.Lin(w2, b2)],
                          loss=lesson.Mse(), x=x, y=y)
    assert (wrong.first_mismatch.layer, wrong.first_mismatch.tensor) == ("dropout1", "l2.g")
    hint = wrong.first_mismatch.hint  # a dropout's 1/(1 − p), not a square's 2
    assert hint.startswith("off by 2: l2.g is 1/2 × autograd's: a factor of 2 is missing") and "x²" not in hint


class LinRelu:
    """A fused Lin + ReLU, with its own backward: a layer of unknown class that changes the width."""

    def __init__(self, w, b):
        self.w, self.b = w, b

    def __call__(self, inp):
        self.inp, self.out = inp, (inp @ self.w + self.b).clamp_min(0.0)
        return self.out

    def backward(self):
        g = self.out.g * (self.out > 0)
        self.inp.g, self.w.g, self.b.g = g @ self.w.t(), self.inp.t() @ g, g.sum(0)


class Gelu:
    def __call__(self, inp):
        self.inp, self.out = inp, 0.5 * inp * (1 + torch.erf(inp / 2**0.5))
        return self.out

    def backward(self):
        x = self.inp
        pdf = torch.exp(-x * x / 2) / (2 * torch.pi) ** 0.5
        self.inp.g = self.out.g * (0.5 * (1 + torch.erf(x / 2**0.5)) + x * pdf)


def test_a_fused_layer_and_a_gelu_written_by_hand_are_stepped_and_described():
    x, y, (w1, b1, _, _) = data(64)
    g = torch.Generator().manual_seed(1)
    w2, w3 = torch.randn(50, 20, generator=g) / 7, torch.randn(20, 1, generator=g) / 4
    lesson = module("correct.py")
    report = gradtui.check(layers=[LinRelu(w1, b1), lesson.Lin(w2, torch.zeros(20)), Gelu(), lesson.Lin(w3, torch.zeros(1))],
                           loss=lesson.Mse(), x=x, y=y)
    assert report.ok and report.session.network.describe() == "LinRelu → Lin(50→20) → Gelu → Lin(20→1) → MSE"
    assert [t.name for t in report.steps[-1].tensors] == ["x.g", "linrelu1.w.g", "linrelu1.b.g"]


class Projection:
    """A width-changing layer of unknown class between two Lins: 50 features to 30."""

    def __init__(self, w):
        self.w = w

    def __call__(self, inp):
        self.inp, self.out = inp, inp @ self.w
        return self.out

    def backward(self):
        self.inp.g, self.w.g = self.out.g @ self.w.t(), self.inp.t() @ self.out.g


def test_a_layer_that_changes_the_width_between_two_lins_is_described_with_each_lins_own_shape():
    x, y, (w1, b1, _, _) = data(64)
    g = torch.Generator().manual_seed(2)
    projection, w2 = torch.randn(50, 30, generator=g) / 7, torch.randn(30, 1, generator=g) / 5
    lesson = module("correct.py")
    report = gradtui.check(layers=[lesson.Lin(w1, b1), lesson.Relu(), Projection(projection),
                                   lesson.Lin(w2, torch.zeros(1))], loss=lesson.Mse(), x=x, y=y)
    assert report.ok
    assert report.session.network.describe() == "Lin(784→50) → ReLU → Projection → Lin(30→1) → MSE"


class Linear:
    """A Linear as one writes it after nn.Linear: the matrix (out, in), the forward x @ weight.t()."""

    def __init__(self, n_in: int, n_out: int, g: torch.Generator, slip: str = ""):
        self.weight, self.bias = torch.randn(n_out, n_in, generator=g) / n_in ** 0.5, torch.randn(n_out, generator=g)
        self.slip = slip

    def __call__(self, x):
        self.x = x
        self.out = x @ self.weight.t() + self.bias
        return self.out

    def backward(self):
        self.x.g = self.out.g @ self.weight
        self.weight.g = self.x.t() @ self.out.g if self.slip == "weight" else self.out.g.t() @ self.x
        self.bias.g = self.out.g.sum(0)


def test_a_linear_in_nn_linears_layout_is_stepped_as_a_layer_of_its_own():
    """(out, in) does not fit the reference Lin (it had crashed its forward): stepped, judged against autograd, said."""
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(32, 6, generator=g), torch.randn(32, generator=g)

    def model(slip=""):
        return [Linear(6, 4, g), Relu(), Linear(4, 1, g, slip), Mse()]

    right = gradtui.check(model(), x, y)
    assert right.ok and [s.step.layer for s in right.steps[:3]] == ["linear1", "relu1", "linear2"]
    assert any("(out, in), nn.Linear's layout" in warning for warning in right.warnings)
    rendered = Console(record=True, width=200, file=io.StringIO())
    rendered.print(right)
    assert "warning: Linear holds its matrix as (out, in)" in rendered.export_text()  # above the tables, as check says it
    wrong = gradtui.check(model("weight"), x, y).first_mismatch
    assert (wrong.index, wrong.tensor) == (5, "linear2.weight.g") and wrong.hint.startswith("transposed:")


def test_linear_regression_one_lin_and_its_loss():
    """The smallest model there is (it had raised: '--hidden (): every hidden width must be a positive integer')."""
    from gradtui import layers

    g = torch.Generator().manual_seed(5)
    x, y = torch.randn(32, 4, generator=g), torch.randn(32, generator=g)
    report = gradtui.check([layers.Lin(torch.randn(4, 1, generator=g), torch.randn(1, generator=g)), Mse()], x, y)
    assert report.ok and [s.step.layer for s in report.steps] == ["lin1", "mse", "mse", "lin1"]


def test_targets_of_another_shape_are_said_in_one_line():
    x, y, weights = data(64)
    with pytest.raises(ValueError, match=r"y has shape \(64, 1\); the losses take one target per row of x, shape "
                                         r"\(64,\): pass y.squeeze\(1\)"):
        gradtui.check(Model(module("correct.py"), *weights), x, y[:, None])


def test_a_reference_layer_that_cannot_run_on_your_tensors_compares_nothing():
    """Your layers pass a shape the reference loss does not take (flat logits): the step says so, no crash."""
    from gradtui import layers

    class Flat:
        def __call__(self, inp):
            self.inp, self.out = inp, inp.reshape(-1)
            return self.out

        def backward(self):
            self.inp.g = self.out.g.reshape(self.inp.shape)

    class CrossEntropy:
        def __call__(self, inp, targ):
            self.inp, self.targ = inp, targ
            return torch.nn.functional.cross_entropy(inp.reshape(len(targ), -1), targ)

        def backward(self):
            p = self.inp.reshape(len(self.targ), -1).softmax(1)
            p[range(len(self.targ)), self.targ] -= 1
            self.inp.g = (p / len(self.targ)).reshape(self.inp.shape)

    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(16, 5, generator=g), torch.randint(0, 3, (16,), generator=g)
    report = gradtui.check([layers.Lin(torch.randn(5, 3, generator=g), torch.zeros(3)), Flat(), CrossEntropy()], x, y)
    assert report.ok and "the reference CrossEntropy could not run on out of shape (48,)" in report.steps[2].notes[0]


@pytest.mark.parametrize("make_x, words", [
    (lambda x: x[:, 0], r"x has shape \(200,\); give it as a batch, one row a sample: \(rows, features\)"),
    (lambda x: x[:0], r"x has shape \(0, 784\)"),
    (lambda x: x > 0, r"x is bool; give it as floats, or as integer ids for a layer that looks them up"),
], ids=["1-D floats", "no rows", "booleans"])
def test_x_that_is_no_batch_is_said_in_one_line(make_x, words):
    x, y, weights = data()
    with pytest.raises(ValueError, match=f"^gradtui.check: {words}"):
        gradtui.check(Model(module("correct.py"), *weights), make_x(x), y)


def test_options_take_what_a_python_caller_writes():
    x, y, _ = data(64)
    as_text = gradtui.check(net="lin,relu,lin,mse", hidden=20, batch=64, rtol="1e-4")
    as_sequences = gradtui.check(net=["lin", "relu", "lin", "mse"], hidden=[20], batch=64, rtol=1e-4)
    assert as_text.ok and as_sequences.ok
    assert as_text.to_dict()["config"]["sizes"] == as_sequences.to_dict()["config"]["sizes"] == [784, 20, 1]
    deeper = gradtui.check(net=("lin", "relu", "lin", "relu", "lin", "mse"), hidden=(30, 20), batch=64)
    assert deeper.to_dict()["config"]["sizes"] == [784, 30, 20, 1] and len(deeper.steps) == 12
    assert gradtui.check(batch=64, dtype=torch.float64).to_dict()["config"]["dtype"] == "float64"


@pytest.mark.parametrize("options, words", [
    ({"rtol": -1}, "rtol=-1: a tolerance must be a number >= 0"),
    ({"rtol": "abc"}, "rtol='abc': not a number"),
    ({"hidden": 0}, "hidden=0: every hidden width must be a positive integer"),
    ({"hidden": "50,x"}, "hidden='50,x': expected positive integers separated by commas"),
    ({"net": "lin,x,mse"}, "net='lin,x,mse': unknown layer kind 'x'"),
    ({"net": 3}, "net=3: a sequence of layer kinds"),
    ({"batch": 2.5}, "batch=2.5: not a whole number"),
    ({"isolate": "yes"}, "isolate='yes': True or False"),
    ({"step_timeout": 0}, "step_timeout=0: must be a positive number of seconds"),
    ({"dtype": "int8"}, "dtype='int8': choose one of float32"),
    ({"layers": "no/such.py"}, "layers='no/such.py': no such file"),
])
def test_a_bad_option_is_a_value_error_in_the_apis_names(options, words):
    with pytest.raises(ValueError) as raised:
        gradtui.check(**options)
    assert str(raised.value).startswith(words) and "--" not in str(raised.value).split(":")[0]


def test_the_report_follows_pythons_conventions(capsys, monkeypatch):
    from conftest import ROOT, run_cli

    monkeypatch.chdir(ROOT)
    report = gradtui.check(layers="samples/transposed.py", batch=200)
    code, out, _ = run_cli(capsys, "check", "--json", "--batch", "200", "--layers", "samples/transposed.py")
    assert isinstance(report.to_json(), str) and json.loads(report.to_json()) == json.loads(out) == report.to_dict()
    assert report.verdict.startswith("✗ first mismatch: step 5 (backward lin2, w2.g)")  # a property, like .ok

    _, printed, _ = run_cli(capsys, "check", "--batch", "200", "--layers", "samples/transposed.py")
    assert str(report) == printed.rstrip("\n")  # the check's text
    assert repr(report) == "<gradtui.Report mismatch at step 5 (lin2, w2.g)>"
    assert repr(gradtui.check(batch=64)) == "<gradtui.Report ok: 8 steps match>"

    html = report._repr_html_()  # a fragment that styles only itself: no <style>, no <body>, no document
    assert html.startswith('<pre class="gradtui-report" style=') and html.endswith("</pre>")
    assert "<style" not in html and "<body" not in html and "<html" not in html
    title = html.split("\n", 1)[0]
    assert "gradtui check" in title and "rtol 0.0001, atol 1e-07" in title  # the header is one line, never cut


def test_a_finding_carries_the_file_and_line_of_the_code_that_made_it(monkeypatch):
    from conftest import ROOT

    monkeypatch.chdir(ROOT)
    mismatch = gradtui.check(layers="samples/transposed.py", batch=200).first_mismatch
    assert (Path(mismatch.file).name, mismatch.line) == ("transposed.py", 16)  # Lin.bwd
    raised = gradtui.check(layers="samples/raises.py", batch=200).first_mismatch
    assert raised.tensor is None and Path(raised.file).name == "raises.py"
    assert "out.g @ self.w" in (SAMPLES / "raises.py").read_text().splitlines()[raised.line - 1]


def test_integer_x_is_numbers_for_a_lin_and_ids_for_a_lookup():
    x, y, weights = data()
    counts = (x.abs() * 4).round().long()  # integer data, as pixel counts are
    assert gradtui.check(Model(module("correct.py"), *weights), counts, y).ok  # a Lin computes with them as numbers

    class Embedding:
        def __init__(self, weight):
            self.weight = weight

        def __call__(self, ids):
            self.ids, self.out = ids, self.weight[ids]
            return self.out

        def backward(self):
            self.weight.g = torch.zeros_like(self.weight).index_add_(0, self.ids.reshape(-1),
                                                                    self.out.g.reshape(-1, self.weight.shape[1]))

    from gradtui.layers import Lin, Mse

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 27, (200, 3), generator=g)  # three tokens a row, a sequence
    targets = y[:, None].expand(200, 3)  # a target a position
    report = gradtui.check([Embedding(torch.randn(27, 10, generator=g)), Lin(torch.randn(10, 1, generator=g),
                                                                            torch.zeros(1)), Mse()], ids, targets)
    assert report.ok, report.verdict  # ids (200, 3) -> (200, 3, 10) -> a Lin over each position -> (200, 3, 1)
    assert report.to_dict()["config"]["dtype"] == "float32"


ROW_SCALE = '''import torch


class RowScale:
    def __call__(self, inp):
        self.inp = inp
        self.den = (inp * inp).sum(1, keepdim=True) + 1
        self.out = inp / self.den
        return self.out

    def backward(self):
        g, inp = self.out.g, self.inp
        dden = -(g * inp).sum(1, keepdim=True) / self.den ** 2
        inp.g = g / self.den + dden * 2 * inp
'''


@pytest.mark.parametrize("slip", [False, True], ids=["right", "summed-over-the-batch"])
def test_a_slip_no_search_names_is_named_on_the_callers_objects_by_the_one_edit_of_its_line(tmp_path, slip):
    """A term of the user's own closed form summed over the wrong axis is no edit of the forward's derivative;
    on objects, as from a layer file, the one edit of the line that mends it is run and said. The run
    replaces the method in its class and puts it back; the user's file is not written."""
    path = tmp_path / "rowscale.py"
    path.write_text(ROW_SCALE.replace(".sum(1, keepdim=True) / self", ".sum(0, keepdim=True) / self") if slip else ROW_SCALE)
    spec = importlib.util.spec_from_file_location("rowscale", path)
    classes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(classes)
    backward, text = classes.RowScale.backward, path.read_text()
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 12, generator=g), torch.randn(64, generator=g)
    w1, w2 = torch.randn(12, 12, generator=g) / 3, torch.randn(12, 1, generator=g) / 3

    class Model:
        def __init__(self):
            self.layers, self.loss = [Lin(w1, torch.zeros(12)), classes.RowScale(), Lin(w2, torch.zeros(1))], Mse()

    report = gradtui.check(Model(), x, y)
    assert report.ok is not slip
    if slip:
        assert report.first_mismatch.tensor == "l1.g" and report.first_mismatch.hint.endswith(
            "one edit of its line does, run and verified: `1` where `0` stands in "
            f"`dden = -(g * inp).sum(0, keepdim=True) / self.den ** 2` ({path}:13)")
        assert report.fix is None  # (a fix is an edit of a layer file: said here, not written)
    assert classes.RowScale.backward is backward and path.read_text() == text


def test_a_file_edited_since_its_module_was_imported_is_not_edited_for_a_hint(tmp_path):
    """The code that ran is the module's as it was imported: an edit of the file as it is now says nothing of it."""
    path = tmp_path / "rowscale.py"
    wrong = ROW_SCALE.replace(".sum(1, keepdim=True) / self", ".sum(0, keepdim=True) / self")
    path.write_text(wrong.replace("        dden =", "        rows = [len(r) for r in inp]\n        dden ="))
    spec = importlib.util.spec_from_file_location("rowscale", path)
    classes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(classes)
    x, y = torch.randn(64, 12), torch.randn(64)

    class Model:
        def __init__(self):
            self.layers, self.loss = [classes.RowScale(), Lin(torch.randn(12, 1), torch.zeros(1))], Mse()

    # (a comprehension in the method: its code is compared too)
    assert "one edit of its line does" in gradtui.check(Model(), x, y).first_mismatch.hint
    path.write_text(wrong.replace("        dden =", "        n = len(inp)\n        dden ="))  # saved, not imported again
    assert gradtui.check(Model(), x, y).first_mismatch.hint.endswith("fits no known slip; compare the formula with "
                                                                      "the chain-rule factor of this layer")
