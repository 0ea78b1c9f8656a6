"""Each deliberately buggy sample is caught at the right step, layer and tensor, with the right hint."""

import pytest

from conftest import SAMPLES, check_json

BUGS = [
    # file, extra options, step index, layer, tensor, words the hint must contain
    ("transposed.py", (), 5, "lin2", "w2.g", "transposed"),
    ("missing_sum.py", (), 5, "lin2", "b2.g", "extra batch dimension"),
    ("keepdim.py", (), 5, "lin2", "b2.g", "keepdim"),
    ("missing_grad.py", (), 5, "lin2", "b2.g", "was not set"),
    ("forgot_bias.py", ("--init", "random"), 0, "lin1", "l1", "missing the bias"),
    ("batch_size.py", (), 4, "mse", "out.g", "off by the batch size"),
    ("off_by_two.py", (), 4, "mse", "out.g", "off by 2"),
    ("sign_flip.py", (), 4, "mse", "out.g", "sign flipped"),
    ("nxn_broadcast.py", (), 3, "mse", "loss", "N×N broadcast"),
    ("relu_mask.py", (), 6, "relu1", "l1.g", "wrong tensor"),
    ("relu_no_upstream.py", (), 6, "relu1", "l1.g", "missing * out.g"),
    ("relu_nan.py", (), 6, "relu1", "l1.g", "NaN introduced at this step"),
]


@pytest.mark.parametrize("file, options, index, layer, tensor, words", BUGS, ids=[bug[0] for bug in BUGS])
def test_sample_bug_is_named(capsys, file, options, index, layer, tensor, words):
    code, report = check_json(capsys, "--layers", str(SAMPLES / file), "--batch", "300", *options)
    assert code == 1
    assert report["ok"] is False
    assert report["first_mismatch"] == {"index": index, "layer": layer, "tensor": tensor}
    step = report["steps"][index]
    bad = next(t for t in step["tensors"] if t["name"] == tensor)
    assert bad["match"] is False
    assert words in bad["hint"]
    # every step before it matched
    assert all(t["match"] for s in report["steps"][:index] for t in s["tensors"])


def test_sample_that_raises_is_a_failed_step_at_the_users_line(capsys):
    code, report = check_json(capsys, "--layers", str(SAMPLES / "raises.py"), "--batch", "300")
    assert code == 1
    assert report["first_mismatch"] == {"index": 5, "layer": "lin2", "tensor": None}
    error = report["steps"][5]["error"]
    assert error["type"] == "RuntimeError"
    assert error["file"].endswith("samples/raises.py")
    source = (SAMPLES / "raises.py").read_text().splitlines()
    assert "out.g @ self.w  # BUG" in source[error["line"] - 1]
    # the later steps still ran, on autograd's gradient for the one that was never set
    assert report["steps"][6]["fed_from_autograd"] == ["l2.g"]
    assert len(report["steps"]) == 8


@pytest.mark.parametrize("file", ["correct.py", "correct_classes.py"])
def test_correct_samples_pass(capsys, file):
    code, report = check_json(capsys, "--layers", str(SAMPLES / file), "--batch", "300", "--hidden", "20,10")
    assert code == 0
    assert report["ok"] is True
    assert report["config"]["layers"].endswith(file)
    assert [s["layer"] for s in report["steps"]] == [
        "lin1", "relu1", "lin2", "relu2", "lin3", "mse", "mse", "lin3", "relu2", "lin2", "relu1", "lin1"]


def test_isolate_finds_every_buggy_layer(tmp_path, capsys):
    two_bugs = tmp_path / "two_bugs.py"
    two_bugs.write_text((SAMPLES / "transposed.py").read_text() + "\n\n"
                        + (SAMPLES / "off_by_two.py").read_text().split("from gradtui.layers import Module", 1)[1])
    _, chained = check_json(capsys, "--layers", str(two_bugs), "--batch", "200")
    _, isolated = check_json(capsys, "--layers", str(two_bugs), "--batch", "200", "--isolate")
    bad = lambda report: {(s["index"], t["name"]) for s in report["steps"] for t in s["tensors"] if not t["match"]}  # noqa: E731
    # chained: the off-by-2 out.g spoils every gradient below it
    assert {(5, "l2.g"), (7, "x.g")} <= bad(chained)
    # isolated: exactly the two bugs, each layer judged on autograd's gradient from above
    assert bad(isolated) == {(4, "out.g"), (5, "w2.g"), (7, "w1.g")}
    assert isolated["steps"][5]["fed_from_autograd"] == ["out.g"]
