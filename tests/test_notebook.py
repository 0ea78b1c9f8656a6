"""A Jupyter notebook as a layer file: its definitions, in order, the last one winning; nothing
else of it runs; a failed import said once; errors at "cell N, line M"."""

import json

from conftest import SAMPLES, check_json, run_cli


def notebook(tmp_path, *cells: str, name: str = "lesson.ipynb"):
    path = tmp_path / name
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": cell, "metadata": {}, "outputs": []}
                                          for cell in cells] + [{"cell_type": "markdown", "source": "# notes"}],
                                "metadata": {}, "nbformat": 4, "nbformat_minor": 2}))
    return path


LESSON_CELLS = (
    "%load_ext autoreload\n%autoreload 2\n%matplotlib inline",
    "from exp.nb_01 import *",
    "x_train = torch.randn(10, 3)\nassert False, 'statements are never run'",
    "Lin??",
    "!python notebook2script.py lesson.ipynb",
    "%%time\nthis cell is timed, and not Python",
    (SAMPLES / "transposed.py").read_text(),  # a Lin with its weight gradient transposed…
    (SAMPLES / "correct.py").read_text(),  # …redefined right: the later definition wins
)


def test_a_notebooks_last_definitions_are_checked_and_nothing_else_runs(capsys, tmp_path):
    code, out, err = run_cli(capsys, "check", "--json", "--batch", "64", "--layers", str(notebook(tmp_path, *LESSON_CELLS)))
    report = json.loads(out)
    assert code == 0 and report["ok"], report["first_mismatch"]
    assert err.count("\n") == 1 and "cell 2: `from exp.nb_01 import *` failed (ModuleNotFoundError" in err
    assert "gave the notebook math, torch, nn, tensor and F instead" in err


def test_the_earlier_definition_alone_is_the_bug(capsys, tmp_path):
    code, report = check_json(capsys, "--batch", "64", "--layers", str(notebook(tmp_path, *LESSON_CELLS[:7])))
    assert code == 1 and report["first_mismatch"] == {"index": 5, "layer": "lin2", "tensor": "w2.g"}


def test_an_error_points_at_the_cell_and_its_line(capsys, tmp_path):
    raises = ("import torch\nfrom gradtui.layers import Relu as Reference\n\n\nclass Relu(Reference):\n"
              "    def bwd(self, out, inp):\n        raise ValueError('not yet')\n")
    code, out, _ = run_cli(capsys, "check", "--batch", "64", "--layers", str(notebook(tmp_path, "%matplotlib inline", raises)))
    assert code == 1
    assert "ValueError: not yet (" in out and "lesson.ipynb, cell 2, line 7)" in out


def test_a_cell_that_does_not_parse_is_said_and_the_rest_loads(capsys, tmp_path):
    layers = notebook(tmp_path, "def broken(:\n    pass", (SAMPLES / "correct.py").read_text())
    code, _, err = run_cli(capsys, "check", "--batch", "64", "--layers", str(layers))
    assert code == 0 and "cell 1 does not parse as Python (line 1): skipped" in err


def test_a_file_that_is_no_notebook_is_bad_input(capsys, tmp_path):
    path = tmp_path / "bad.ipynb"
    path.write_text("{not json")
    code, _, err = run_cli(capsys, "check", "--layers", str(path))
    assert code == 2 and "not a Jupyter notebook" in err and err.count("\n") == 1
