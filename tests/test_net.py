"""--net: tanh, batch norm and cross-entropy, so the debugger follows the course on."""

import numpy as np
import pytest
import torch
from conftest import SAMPLES, check_json, run_cli

import gradtui
from gradtui.config import RunConfig
from gradtui.layers import BatchNorm, CrossEntropy, Tanh
from gradtui.session import DebugSession

COURSE = ("--net", "lin,batchnorm,tanh,lin,cross_entropy", "--hidden", "64")


@pytest.mark.parametrize("layers", [None, "correct_course.py"])
def test_the_course_network_runs_its_ten_steps_and_passes(capsys, layers):
    extra = ("--layers", str(SAMPLES / layers)) if layers else ()
    code, report = check_json(capsys, *COURSE, "--batch", "300", *extra)
    assert code == 0 and report["ok"] is True
    assert report["config"]["sizes"] == [784, 64, 10]
    assert [(s["direction"], s["layer"], [t["name"] for t in s["tensors"]]) for s in report["steps"]] == [
        ("forward", "lin1", ["l1"]), ("forward", "batchnorm1", ["l2"]), ("forward", "tanh1", ["l3"]),
        ("forward", "lin2", ["out"]), ("forward", "cross_entropy", ["loss"]),
        ("backward", "cross_entropy", ["out.g"]), ("backward", "lin2", ["l3.g", "w2.g", "b2.g"]),
        ("backward", "tanh1", ["l2.g"]), ("backward", "batchnorm1", ["l1.g", "gamma1.g", "beta1.g"]),
        ("backward", "lin1", ["x.g", "w1.g", "b1.g"])]


def test_reference_layers_agree_with_autograd_on_their_own():
    torch.manual_seed(0)
    x = torch.randn(40, 6, dtype=torch.float64, requires_grad=True)
    g = (1 + 0.1 * torch.randn(6, dtype=torch.float64)).requires_grad_()
    b = (0.1 * torch.randn(6, dtype=torch.float64)).requires_grad_()
    targ = torch.randint(0, 6, (40,))
    layers = [BatchNorm(g, b), Tanh()]
    values = [x]
    for layer in layers:
        values.append(layer(values[-1]))
    loss = CrossEntropy()(values[-1], targ)
    assert loss.item() == pytest.approx(torch.nn.functional.cross_entropy(values[-1], targ).item())
    loss.backward()
    with torch.no_grad():
        ce = CrossEntropy()
        ce(values[-1], targ)
        ce.backward()
        for layer in reversed(layers):
            layer.backward()
    assert torch.allclose(x.g, x.grad) and torch.allclose(g.g, g.grad) and torch.allclose(b.g, b.grad)


def test_synthetic_targets_are_class_labels():
    session = DebugSession(RunConfig(device="cpu", batch=500, net=("lin", "cross_entropy"), classes=4))
    assert session.data.y.dtype == torch.int64
    assert set(session.data.y.tolist()) == {0, 1, 2, 3}
    assert session.network.sizes == (784, 4)


@pytest.mark.parametrize("net, words", [
    ("lin,relu", "the last kind must be a loss"),
    ("lin,mse,lin,mse", "a loss can only come last"),
    ("lin,conv,mse", "unknown layer kind 'conv'"),
    ("relu,mse", "the loss must follow a lin"),
])
def test_a_net_we_cannot_build_is_one_line_and_exit_2(capsys, net, words):
    code, out, err = run_cli(capsys, "check", "--net", net)
    assert code == 2 and not out and len(err.strip().splitlines()) == 1 and words in err


def test_a_class_a_layer_file_entered_before_is_no_kind_net_knows(tmp_path, capsys):
    """A layer file's own class is stepped as a kind of its own in that check; a later --net in the same
    process (a notebook's second call) knows gradtui's kinds only, as a fresh one does."""
    path = tmp_path / "conv.py"
    path.write_text("import torch\nfrom gradtui.layers import Lin, Module, Mse\n\n\nclass Conv(Module):\n"
                    "    def forward(self, inp):\n        return inp * 2\n\n    def bwd(self, out, inp):\n"
                    "        inp.g = 2 * out.g\n\n\nclass Model:\n    def __init__(self, w1, b1, w2, b2):\n"
                    "        self.layers, self.loss = [Lin(w1, b1), Conv(), Lin(w2, b2)], Mse()\n")
    assert gradtui.check(layers=str(path), batch=64).ok
    code, _, err = run_cli(capsys, "check", "--net", "lin,conv,mse")
    assert code == 2 and "unknown layer kind 'conv'" in err
    with pytest.raises(ValueError, match="net=.*unknown layer kind 'conv'"):
        gradtui.check(net=["lin", "conv", "lin", "mse"])


def test_widths_that_do_not_fit_the_net(capsys):
    code, _, err = run_cli(capsys, "check", "--net", "lin,tanh,lin,tanh,lin,mse", "--hidden", "20")
    assert code == 2 and "has 3 lin layers, so it takes 2 hidden width(s)" in err


@pytest.mark.parametrize("labels, words", [
    (np.array([0, 1, 2.5, 3] * 10), "integer class labels; y[2] is 2.5"),
    (np.array([0, 1, 12, 3] * 10), "label 12 is outside [0, 10)"),
])
def test_data_labels_must_be_classes(tmp_path, capsys, labels, words):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.random.default_rng(0).random((40, 5), dtype=np.float32), y=labels)
    code, _, err = run_cli(capsys, "check", "--net", "lin,relu,lin,cross_entropy", "--data", str(path))
    assert code == 2 and words in err


SLIPS = [
    # file, net and options, step, layer, tensor, words
    ("ce_no_mean.py", ("--net", "lin,relu,lin,cross_entropy"), 4, "cross_entropy", "out.g", "off by the batch size"),
    ("ce_no_one_hot.py", ("--net", "lin,relu,lin,cross_entropy"), 4, "cross_entropy", "out.g",
     "without the term `- one_hot`: inp.softmax(1) / N"),
    ("tanh_from_input.py", ("--net", "lin,tanh,lin,mse"), 6, "tanh1", "l1.g",
     "taken from the input `inp` where the output `out` belongs: (1 - inp**2) * out.g"),
    ("batchnorm_constants.py", ("--net", "lin,batchnorm,relu,lin,mse"), 8, "batchnorm1", "l1.g",
     "treats the batch mean and variance as constants"),
    ("batchnorm_gain_axis.py", ("--net", "lin,batchnorm,relu,lin,mse"), 8, "batchnorm1", "gamma1.g",
     "summed over the features (axis 1) instead of the batch (axis 0): (out.g * xhat).sum(1)"),
    ("softmax_overflow.py", ("--net", "lin,relu,lin,cross_entropy", "--data", str(SAMPLES / "digits.npz"),
                             "--dtype", "float16"), 4, "cross_entropy", "out.g", "the softmax overflows"),
]


@pytest.mark.parametrize("file, options, index, layer, tensor, words", SLIPS, ids=[slip[0] for slip in SLIPS])
def test_each_slip_of_the_course_layers_is_named(capsys, file, options, index, layer, tensor, words):
    code, report = check_json(capsys, "--layers", str(SAMPLES / file), "--batch", "300", *options)
    assert code == 1
    assert report["first_mismatch"] == {"index": index, "layer": layer, "tensor": tensor}
    bad = next(t for t in report["steps"][index]["tensors"] if t["name"] == tensor)
    assert words in bad["hint"]


def test_the_softmax_overflow_is_also_named_at_the_forward(capsys):
    _, report = check_json(capsys, "--layers", str(SAMPLES / "softmax_overflow.py"), "--net", "lin,relu,lin,cross_entropy",
                           "--data", str(SAMPLES / "digits.npz"), "--dtype", "float16")
    assert report["first_deviation"] == {"index": 3, "layer": "cross_entropy", "tensor": "loss"}
    assert "the softmax overflows" in report["steps"][3]["tensors"][0]["hint"]


def test_a_bias_before_batch_norm_matches_though_its_gradient_is_only_rounding(capsys):
    """b1's true gradient is 0 (batch norm removes any constant): what both sides compute is
    rounding, which the tolerance allows on the scale of out.g summed without cancellation."""
    code, report = check_json(capsys, "--net", "lin,batchnorm,tanh,lin,mse", "--batch", "5000", "--seed", "1")
    b1_g = next(t for t in report["steps"][-1]["tensors"] if t["name"] == "b1.g")
    assert code == 0 and b1_g["match"] and b1_g["stats"]["norm"] < 1e-5


def test_bench_keeps_to_the_lessons_network(capsys):
    code, out, err = run_cli(capsys, "bench", "--net", "lin,tanh,lin,mse")
    assert code == 2 and not out and "bench times the lesson's network" in err
