"""A layer file (or a notebook) that defines the lesson's `Model`: its layers are the run, any layer
among them, built with what its __init__ takes (nothing, the weights, or the widths). A Model that
cannot be stepped (the course's nn.Module version) is said once, and the file's classes run."""

import json
import os
import sys

from conftest import SAMPLES, check_json, run_cli, settle
from test_notebook import notebook

from gradtui.config import RunConfig
from gradtui.ui.app import GradTUI

CLASSES = (SAMPLES / "correct_classes.py").read_text()  # the lesson's Lin, Relu, Mse (__call__/backward)

WRONG_LAYERNORM = (SAMPLES / "layernorm.py").read_text().replace(
    "(d * dxhat - dxhat.sum(1, keepdim=True) - ", "(d * dxhat - ")  # the mean's term left out


def with_classes(tmp_path, model: str):
    """A layer file: the lesson's classes, then `model`."""
    path = tmp_path / "mine.py"
    path.write_text(CLASSES + "\n" + model)
    return path


def backward_names(report: dict, layer: str) -> list[str]:
    step = next(s for s in report["steps"] if s["layer"] == layer and s["direction"] == "backward")
    return [t["name"] for t in step["tensors"]]


def test_a_model_with_a_layer_gradtui_does_not_know_runs_from_the_command_line(capsys):
    code, report = check_json(capsys, "--batch", "64", "--layers", str(SAMPLES / "layernorm.py"))
    assert code == 0 and report["ok"]
    assert [s["layer"] for s in report["steps"][:5]] == ["lin1", "layernorm1", "relu1", "lin2", "mse"]
    assert backward_names(report, "layernorm1") == ["l1.g", "layernorm1.weight.g", "layernorm1.bias.g"]


def test_an_edit_of_the_same_length_in_the_same_second_is_the_code_that_runs(capsys, tmp_path, monkeypatch):
    """`sum(0` for `sum(1` keeps the file's size; saved within the second of the last load, its modification
    time is the same too, and a cached .pyc (where Python writes them) would run the code before the edit."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # as on a machine that keeps bytecode
    path = tmp_path / "mine.py"
    right = (SAMPLES / "correct.py").read_text()
    path.write_text(right)
    stamp = path.stat().st_mtime_ns
    assert check_json(capsys, "--batch", "64", "--layers", str(path))[0] == 0
    path.write_text(right.replace("inp.g = (inp > 0).float() * out.g", "inp.g = (inp < 0).float() * out.g"))
    os.utime(path, ns=(stamp, stamp))
    code, report = check_json(capsys, "--batch", "64", "--layers", str(path))
    assert code == 1 and report["first_mismatch"]["layer"] == "relu1"
    assert not (tmp_path / "__pycache__").exists()  # nothing left beside the user's file


def test_its_wrong_backward_is_found_at_its_step(capsys, tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(WRONG_LAYERNORM)
    code, report = check_json(capsys, "--batch", "64", "--layers", str(path))
    assert code == 1 and report["first_mismatch"] == {"index": 8, "layer": "layernorm1", "tensor": "l1.g"}


def test_the_notebooks_model_reads_the_weights_as_globals(capsys, tmp_path):
    """The course's `Model()` of cell 86: `Lin(w1,b1)` reads w1 from the notebook; gradtui's weights
    are those globals. Its Mse forgets the 1/N: found where the classes alone find it."""
    model = ("class Model():\n    def __init__(self):\n        self.layers = [Lin(w1,b1), Relu(), Lin(w2,b2)]\n"
             "        self.loss = Mse()\n")
    buggy = CLASSES.replace(" / self.targ.shape[0]", "")
    assert buggy != CLASSES
    layers = notebook(tmp_path, "%matplotlib inline", buggy, "w1 = 'never run'", model, "model = Model()")
    code, report = check_json(capsys, "--batch", "64", "--layers", str(layers))
    assert code == 1 and report["first_mismatch"] == {"index": 4, "layer": "mse", "tensor": "out.g"}
    assert "without the division by `N`" in report["steps"][4]["tensors"][0]["hint"]


def test_a_model_given_the_widths_draws_the_same_weights_every_run(capsys, tmp_path):
    path = with_classes(tmp_path, "import math\nimport torch\n\nclass Model:\n    def __init__(self, n_in, nh, n_out):\n"
                        "        self.layers = [Lin(torch.randn(n_in, nh) / math.sqrt(n_in), torch.zeros(nh)), Relu(),\n"
                        "                       Lin(torch.randn(nh, n_out) / math.sqrt(nh), torch.zeros(n_out))]\n"
                        "        self.loss = Mse()\n")
    code, out, err = run_cli(capsys, "check", "--json", "--batch", "64", "--layers", str(path))
    assert code == 0 and err == ""  # the Model is stepped: no word that its classes run instead
    first, second = json.loads(out), check_json(capsys, "--batch", "64", "--layers", str(path))[1]
    assert first["ok"] and first["steps"] == second["steps"]
    forward = first["steps"][0]["tensors"][0]
    assert forward["stats"] != check_json(capsys, "--batch", "64")[1]["steps"][0]["tensors"][0]["stats"]  # its own


def test_the_course_nn_module_model_is_said_and_the_classes_run(capsys, tmp_path):
    path = with_classes(tmp_path, "from torch import nn\n\ndef mse(output, targ): return (output.squeeze(-1) - targ)"
                        ".pow(2).mean()\n\nclass Model(nn.Module):\n    def __init__(self, n_in, nh, n_out):\n"
                        "        super().__init__()\n        self.layers = [nn.Linear(n_in,nh), nn.ReLU(), nn.Linear(nh,n_out)]\n"
                        "        self.loss = mse\n")
    code, out, err = run_cli(capsys, "check", "--batch", "64", "--layers", str(path))
    assert code == 0 and "every gradient matches" in out
    assert err.count("\n") == 1 and "Model is not stepped, because Linear has no backward of its own" in err


def test_a_model_that_cannot_be_stepped_in_a_file_without_classes_is_bad_input(capsys, tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("class Model:\n    def __init__(self, a, b, c, d, e):\n        pass\n")
    code, out, err = run_cli(capsys, "check", "--layers", str(path))
    assert code == 2 and err.count("\n") == 1
    assert "defines none of Lin" in err and "its Model: Model(a, b, c, d, e) takes 5 arguments; gradtui gives it none" in err


def test_a_model_whose_loss_is_not_the_options_is_said(capsys, tmp_path):
    path = with_classes(tmp_path, "from gradtui.layers import CrossEntropy\n\nclass Model:\n"
                        "    def __init__(self, w1, b1, w2, b2):\n        self.layers = [Lin(w1, b1), Relu(), Lin(w2, b2)]\n"
                        "        self.loss = CrossEntropy()\n")
    code, out, err = run_cli(capsys, "check", "--batch", "64", "--layers", str(path))
    assert code == 0 and "its loss is CrossEntropy, the options' is MSE (give --net ending in cross_entropy)" in err


async def test_the_app_steps_the_files_model():
    app = GradTUI(RunConfig(device="cpu", batch=64, layers=SAMPLES / "layernorm.py"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert [step.layer for step in app.steps[:5]] == ["lin1", "layernorm1", "relu1", "lin2", "mse"]
        assert len(app.frames) == len(app.steps) == 10
        assert "LayerNorm" in app.header_text


async def test_the_gradtui_command_steps_a_layer_of_the_users_own_class(monkeypatch):
    """As the `gradtui` command runs it, the session in its own process: a LayerNorm's kind is made
    there, and the app's process learns it from the Loaded event (it had raised KeyError: 'layernorm')."""
    from gradtui.kinds import KINDS
    from gradtui.ui.session_process import InProcess

    monkeypatch.delitem(KINDS, "layernorm", raising=False)  # as in a fresh `gradtui` process
    config = RunConfig(device="cpu", batch=64, layers=SAMPLES / "layernorm.py")
    app = GradTUI(config, InProcess(config))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert app.is_running and app.shown_step == len(app.steps) - 1 == 9
        assert app.steps[1].layer == "layernorm1" and KINDS["layernorm"].reference is None


def test_a_class_the_network_does_not_use_is_said(capsys, tmp_path):
    """The makemore notebook's Tanh under the default network: said, not silently unchecked."""
    path = tmp_path / "mine.py"
    path.write_text((SAMPLES / "tanh_plus.py").read_text())
    code, out, err = run_cli(capsys, "check", "--batch", "64", "--layers", str(path))
    assert code == 0 and "the layer file's Tanh is not in this network" in err and "give --net with tanh" in err
    code, out, err = run_cli(capsys, "check", "--batch", "64", "--net", "lin,tanh,lin,mse", "--layers", str(path))
    assert code == 1 and "not in this network" not in err


async def test_a_model_added_to_the_file_while_the_app_runs_replaces_the_steps(tmp_path):
    """The student adds a Model with a LayerNorm and presses l: ten steps, the old frames gone."""
    mine = tmp_path / "mine.py"
    mine.write_text(CLASSES)
    app = GradTUI(RunConfig(device="cpu", batch=64, layers=mine))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert len(app.steps) == 8 and app.shown_step == 7
        layernorm = (SAMPLES / "layernorm.py").read_text().replace("from gradtui.layers import Lin, Mse, Relu\n", "")
        mine.write_text(CLASSES + "\n" + layernorm)
        await pilot.press("l")
        await settle(pilot)
        assert [step.layer for step in app.steps[:3]] == ["lin1", "layernorm1", "relu1"]
        assert len(app.frames) == len(app.steps) == 10 and app.changes == {}
        assert app.shown_step == app.target == 7


def test_a_loss_gradtui_does_not_know_is_stepped_too(capsys, tmp_path):
    """An L1 loss written by hand, its gradient without the 1/N: found at its backward, named by the
    hand-written patterns (it has no formulas); the same loss right passes."""
    loss = ("from gradtui.layers import Module\n\nclass L1Loss(Module):\n"
            "    def forward(self, inp, targ): return (inp.squeeze(-1) - targ).abs().mean()\n"
            "    def bwd(self, out, inp, targ): inp.g = (inp.squeeze(-1) - targ).sign().unsqueeze(-1){n}\n\n"
            "class Model:\n    def __init__(self, w1, b1, w2, b2):\n"
            "        self.layers = [Lin(w1, b1), Relu(), Lin(w2, b2)]\n        self.loss = L1Loss()\n")
    code, report = check_json(capsys, "--batch", "64", "--layers", str(with_classes(tmp_path, loss.format(n=""))))
    assert code == 1 and report["first_mismatch"] == {"index": 4, "layer": "l1loss", "tensor": "out.g"}
    assert "off by the batch size" in report["steps"][4]["tensors"][0]["hint"]
    code, report = check_json(capsys, "--batch", "64", "--layers",
                              str(with_classes(tmp_path, loss.format(n=" / targ.shape[0]"))))
    assert code == 0 and report["steps"][3]["layer"] == "l1loss"


def test_the_models_own_tensors_join_the_runs_dtype(capsys):
    """The LayerNorm draws its gain in float32; a float64 run steps it in float64."""
    code, report = check_json(capsys, "--batch", "64", "--dtype", "float64", "--layers", str(SAMPLES / "layernorm.py"))
    assert code == 0 and report["ok"]
    step = next(s for s in report["steps"] if s["layer"] == "layernorm1" and s["direction"] == "backward")
    assert {t["dtype"] for t in step["tensors"]} == {"float64"}
