"""gradtui check on the command line: output, JSON, exit codes, and one-line errors."""

import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import SAMPLES, check_json, run_cli


def test_check_prints_a_table_per_step_and_a_verdict(capsys):
    code, out, _ = run_cli(capsys, "check", "--batch", "200")
    assert code == 0
    for index, layer in enumerate(["lin1", "relu1", "lin2", "mse"]):
        assert f"step {index} · forward · {layer}" in out
    assert "step 7 · backward · lin1" in out and "w1.g" in out
    assert "✓ every gradient matches autograd (8 steps, and in float64 with b1, b2 off 0 on the first 200 rows)" in out


def test_check_verdict_names_the_first_mismatch(capsys):
    code, out, _ = run_cli(capsys, "check", "--batch", "200", "--layers", str(SAMPLES / "transposed.py"))
    assert code == 1
    verdict = out.strip().splitlines()[-1]
    assert verdict.startswith("✗ first mismatch: step 5 (backward lin2, w2.g): w2.g is Lin's weight gradient transposed")


def test_check_json_has_the_design_format(capsys):
    code, report = check_json(capsys, "--batch", "100", "--seed", "3", "--hidden", "20")
    assert code == 0
    assert set(report) == {"config", "loss", "steps", "first_mismatch", "first_deviation", "first_nonfinite",
                           "float64_replay", "ok"}
    assert report["float64_replay"] == {"rows": 100, "first_mismatch": None, "hint": None, "note": None,
                                        "moved": {"b1": 0.0, "b2": 0.0},  # the notes' zero biases, moved
                                        "explained": []}  # what only the replay saw, and found to be no slip
    config = report["config"]
    assert {k: config[k] for k in ("device", "dtype", "batch", "sizes", "seed", "data", "layers", "rtol", "atol")} == {
        "device": "cpu", "dtype": "float32", "batch": 100, "sizes": [784, 20, 1], "seed": 3,
        "data": "synthetic", "layers": "reference", "rtol": 1e-4, "atol": 1e-7}
    assert isinstance(report["loss"], float) and report["first_mismatch"] is None and report["ok"] is True
    assert report["first_deviation"] is None
    step = report["steps"][7]
    assert {k: step[k] for k in ("index", "direction", "layer", "error")} == {
        "index": 7, "direction": "backward", "layer": "lin1", "error": None}
    x_g = step["tensors"][0]
    assert x_g["name"] == "x.g" and x_g["shape"] == [100, 784] and x_g["ref_shape"] == [100, 784]
    assert set(x_g["stats"]) == {"mean", "std", "min", "max", "norm", "zeros", "nan", "inf"}
    assert set(x_g["diff"]) >= {"max_abs", "max_rel", "cosine"}
    assert x_g["match"] is True and x_g["deviation"] is False and x_g["hint"] is None
    assert x_g["diff"]["cosine"] == pytest.approx(1.0, abs=1e-6)


def test_dtype_sets_the_default_tolerances(capsys):
    _, report = check_json(capsys, "--batch", "50", "--dtype", "float64")
    assert (report["config"]["rtol"], report["config"]["atol"]) == (1e-9, 1e-12)
    _, report = check_json(capsys, "--batch", "50", "--dtype", "bfloat16", "--rtol", "0.05")
    assert (report["config"]["rtol"], report["config"]["atol"]) == (0.05, 1e-3)
    assert report["ok"] is True


def test_options_before_the_command_are_kept(capsys):
    """`gradtui --batch 40 check --seed 1` is `gradtui check --batch 40 --seed 1`: the same report."""
    _, after = check_json(capsys, "--batch", "40", "--seed", "1")
    code, out, _ = run_cli(capsys, "--batch", "40", "check", "--json", "--seed", "1")
    before = json.loads(out)
    assert code == 0 and before["config"]["batch"] == 40 and before["config"]["seed"] == 1
    assert before == after


BAD_INPUT = [
    (["check", "--bogus"], "unrecognized arguments"),
    (["check", "--batch", "0"], "--batch 0"),
    (["check", "--batch", "-5"], "--batch -5"),
    (["check", "--batch", "ten"], "invalid int value"),
    (["check", "--hidden", "50,x"], "--hidden"),
    (["check", "--hidden", ""], "--hidden"),
    (["check", "--hidden", "50,0"], "--hidden"),
    (["check", "--dtype", "float8"], "--dtype"),
    (["check", "--rtol", "-1"], "--rtol"),
    (["check", "--device", "tpu"], "--device"),
    (["check", "--layers", "no/such/file.py"], "no such file"),
    (["bogus-command"], "invalid choice"),
]


@pytest.mark.parametrize("argv, words", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_is_exit_2_and_one_line(capsys, argv, words):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert words in err
    assert "Traceback" not in err


@pytest.mark.parametrize("content, words", [
    ("def broken(:\n", "SyntaxError at line 1"),
    ("", "defines none of Lin, Relu, Tanh, BatchNorm, Mse, CrossEntropy"),
    ("Lin = 3\n", "defines none of Lin, Relu, Tanh, BatchNorm, Mse, CrossEntropy"),
    ("import no_such_module_here\n", "ModuleNotFoundError at line 1"),
    ("raise SystemExit(5)\n", "SystemExit at line 1"),
], ids=["syntax-error", "empty", "not-a-class", "import-error", "system-exit"])
def test_bad_layer_file_is_exit_2_naming_the_file(tmp_path, capsys, content, words):
    layer_file = tmp_path / "mine.py"
    layer_file.write_text(content)
    code, _, err = run_cli(capsys, "check", "--layers", str(layer_file))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and str(layer_file) in err and words in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_exit_2(capsys):
    code, _, err = run_cli(capsys, "check", "--device", "cuda")
    assert code == 2 and "CUDA is not available" in err and len(err.strip().splitlines()) == 1


def test_help_and_version(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.startswith("gradtui ")
    code, out, _ = run_cli(capsys, "check", "--help")
    assert code == 0 and "--layers" in out and "--isolate" in out


def test_console_script_runs_as_a_user_would(tmp_path):
    env = {**os.environ, "COLUMNS": "120"}
    done = subprocess.run([sys.executable, "-m", "gradtui", "check", "--batch", "100", "--layers",
                           str(SAMPLES / "sign_flip.py")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert "sign flipped" in done.stdout
    done = subprocess.run([sys.executable, "-m", "gradtui", "check", "--batch", "-1"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_gradients_computed_from_one_wrong_gradient_share_one_line(capsys):
    """Below a wrong l1.g, x.g, w1.g and b1.g are all wrong for the same reason: said once."""
    code, out, _ = run_cli(capsys, "check", "--batch", "200", "--layers", str(SAMPLES / "relu_mask.py"))
    assert code == 1
    assert "  ✗ x.g, w1.g, b1.g: computed from l1.g, which already differs from autograd's (step 6)" in out
    assert out.count("computed from l1.g") == 1
