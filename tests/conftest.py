import json
from pathlib import Path

import pytest
import torch

from gradtui.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_json(capsys, *argv: str) -> tuple[int, dict]:
    code, out, err = run_cli(capsys, "check", "--json", *argv)
    assert out, err
    return code, json.loads(out)
