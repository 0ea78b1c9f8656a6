"""Each deliberately buggy sample is caught at the right step, layer and tensor, with the right hint."""

import pytest
from conftest import SAMPLES, check_json, run_cli

BUGS = [
    # file, extra options, step index, layer, tensor, words the hint must contain
    ("transposed.py", (), 5, "lin2", "w2.g",
     "weight gradient transposed: (inp.t() @ out.g).t(); fix: w.g = inp.t() @ out.g"),
    ("missing_sum.py", (), 5, "lin2", "b2.g", "not summed over the batch (axis 0), an extra batch dimension: out.g;"),
    ("keepdim.py", (), 5, "lin2", "b2.g",
     "with keepdim=True: out.g.sum(0, keepdim=True); fix: b.g = out.g.sum(0)"),
    ("bias_sum_all.py", (), 5, "lin2", "b2.g",
     "summed over every axis, not over the batch (axis 0) only: out.g.sum(); fix: b.g = out.g.sum(0)"),
    ("bias_wrong_axis.py", (), 5, "lin2", "b2.g",
     "summed over the features (axis 1) instead of the batch (axis 0): out.g.sum(1)"),
    ("missing_grad.py", (), 5, "lin2", "b2.g", "was not set"),
    ("forgot_bias.py", ("--init", "random"), 5, "lin2", "b2.g", "the forward never uses b2"),
    ("dropped_g.py", (), 5, "lin2", "w2.g",
     "built from `out`, the layer's output, where its gradient `out.g` belongs: inp.t() @ out"),
    ("update_in_backward.py", (), 5, "lin2", "l2.g", "w2 changed in place during this backward"),
    ("batch_size.py", (), 4, "mse", "out.g", "without the division by `N` (off by the batch size)"),
    ("off_by_two.py", (), 4, "mse", "out.g", "without the factor `2` (off by 2)"),
    ("sign_flip.py", (), 4, "mse", "out.g", "sign flipped"),
    ("nxn_broadcast.py", (), 4, "mse", "out.g", "N×N broadcast"),
    ("mse_no_squeeze.py", (), 4, "mse", "out.g", "N×N broadcast: out.g is (300, 300, 1)"),
    ("missing_unsqueeze.py", (), 4, "mse", "out.g", "without .unsqueeze(-1): 2 * (inp.squeeze(-1) - targ) / N"),
    ("relu_mask.py", (), 6, "relu1", "l1.g", "with the mask taken from `out.g` instead of `inp`"),
    ("mask_from_output.py", (), 6, "relu1", "l1.g", "with the mask taken from `out` instead of `inp`"),
    ("inplace_relu_shifted.py", (), 6, "relu1", "l1.g", "the forward changed l1 in place"),
    ("relu_no_upstream.py", (), 6, "relu1", "l1.g", "without the factor `out.g`"),
    ("relu_nan.py", (), 6, "relu1", "l1.g", "NaN introduced at this step"),
    ("lesson_matmul.py", ("--dtype", "bfloat16"), 6, "relu1", "l1.g", "l1.g is float32, autograd's is bfloat16"),
    ("shared_state.py", ("--hidden", "50,20"), 10, "relu1", "l1.g", "was not set"),
]


@pytest.mark.parametrize("file, options, index, layer, tensor, words", BUGS, ids=[" ".join((b[0], *b[1])) for b in BUGS])
def test_sample_bug_is_named(capsys, file, options, index, layer, tensor, words):
    code, report = check_json(capsys, "--layers", str(SAMPLES / file), "--batch", "300", *options)
    assert code == 1
    assert report["ok"] is False
    assert report["first_mismatch"] == {"index": index, "layer": layer, "tensor": tensor}
    step = report["steps"][index]
    bad = next(t for t in step["tensors"] if t["name"] == tensor)
    assert bad["match"] is False and bad["deviation"] is False
    assert words in bad["hint"]
    # every step before it passed (matched, or only deviated in the forward)
    assert all(t["match"] or t["deviation"] for s in report["steps"][:index] for t in s["tensors"])


DEVIATIONS = [
    # file, extra options, step index, layer, tensor, words, first mismatch after it
    ("forgot_bias.py", ("--init", "random"), 0, "lin1", "l1", "missing the bias", (5, "lin2", "b2.g")),
    ("nxn_broadcast.py", (), 3, "mse", "loss", "N×N broadcast in the loss", (4, "mse", "out.g")),
    ("mask_from_output.py", (), 1, "relu1", "l2", "shifted by -0.5", (6, "relu1", "l1.g")),
    ("loss_not_scalar.py", (), 3, "mse", "loss", "not a scalar (its mean is the reference's): end the forward with .mean()",
     None),
]


@pytest.mark.parametrize("file, options, index, layer, tensor, words, mismatch", DEVIATIONS,
                         ids=[d[0] for d in DEVIATIONS])
def test_forward_deviation_is_named_against_the_reference_layer(capsys, file, options, index, layer, tensor, words,
                                                               mismatch):
    code, report = check_json(capsys, "--layers", str(SAMPLES / file), "--batch", "300", *options)
    assert report["first_deviation"] == {"index": index, "layer": layer, "tensor": tensor}
    deviation = next(t for t in report["steps"][index]["tensors"] if t["name"] == tensor)
    assert deviation["match"] is False and deviation["deviation"] is True
    assert words in deviation["hint"] and "autograd's" not in deviation["hint"]
    expected = None if mismatch is None else dict(zip(("index", "layer", "tensor"), mismatch))
    assert report["first_mismatch"] == expected
    assert code == (0 if mismatch is None else 1)


def test_a_loss_that_is_not_a_scalar_is_judged_against_its_mean(capsys):
    code, report = check_json(capsys, "--layers", str(SAMPLES / "loss_not_scalar.py"), "--batch", "300")
    assert code == 0 and report["loss"] is None
    assert "not a scalar: autograd differentiated its mean" in report["steps"][4]["notes"][0]
    assert all(t["match"] for step in report["steps"][4:] for t in step["tensors"])


LESSON = ["lesson_functions.py", "lesson_classes.py", "lesson_einsum.py", "lesson_matmul.py"]


@pytest.mark.parametrize("file", LESSON)
def test_the_lessons_own_code_passes_with_its_shift_named(capsys, file):
    code, report = check_json(capsys, "--layers", str(SAMPLES / file), "--batch", "300")
    assert code == 0 and report["ok"] is True and report["first_mismatch"] is None
    assert report["first_deviation"] == {"index": 1, "layer": "relu1", "tensor": "l2"}
    shifted = report["steps"][1]["tensors"][0]
    assert "shifted by -0.5 (as the lesson's clamp_min(0.) - 0.5)" in shifted["hint"]
    assert all(t["match"] for step in report["steps"][4:] for t in step["tensors"])


@pytest.mark.parametrize("file", LESSON)
def test_strict_forward_fails_the_lessons_shift(capsys, file):
    code, report = check_json(capsys, "--layers", str(SAMPLES / file), "--batch", "300", "--strict-forward")
    assert code == 1 and report["first_mismatch"] == {"index": 1, "layer": "relu1", "tensor": "l2"}
    assert report["first_deviation"] == report["first_mismatch"]


def test_the_verdict_names_the_mismatch_and_mentions_the_deviation(capsys):
    code, out, _ = run_cli(capsys, "check", "--layers", str(SAMPLES / "mask_from_output.py"), "--batch", "300")
    last = out.strip().splitlines()[-2:]
    assert code == 1
    assert last[0].startswith("✗ first mismatch: step 6 (backward relu1, l1.g): l1.g is ReLU's input gradient with the mask "
                              "taken from `out` instead of `inp`")
    assert last[1].startswith("≠ the forward deviates from the reference layer at step 1 (relu1, l2): l2 is")


def test_an_in_place_relu_passes_and_is_noted(capsys):
    code, report = check_json(capsys, "--layers", str(SAMPLES / "inplace_relu.py"), "--batch", "300")
    assert code == 0 and report["first_deviation"] is None
    assert "l2 shares its storage with l1" in report["steps"][1]["notes"][0]


def test_state_shared_between_instances_is_not_shared_with_autograd(capsys):
    """One ReLU keeping its tensors in a class attribute is correct: the autograd pass uses
    classes of its own, so it cannot overwrite what the session's layer saved."""
    code, report = check_json(capsys, "--layers", str(SAMPLES / "shared_state.py"), "--batch", "300")
    assert code == 0 and report["ok"] is True


def test_an_inherited_shape_error_in_a_reference_layer_names_the_step_that_made_it(capsys):
    _, report = check_json(capsys, "--layers", str(SAMPLES / "missing_unsqueeze.py"), "--batch", "300")
    error = report["steps"][5]["error"]
    assert error["type"] == "Inherited"
    assert error["message"].startswith("the reference lin2 could not use out.g of shape (300,), made at step 4 (backward mse)")
    assert error["file"].endswith("samples/missing_unsqueeze.py") and "gradtui" not in error["file"].split("samples")[0][-9:]


def test_a_square_weight_without_the_transpose(capsys):
    _, report = check_json(capsys, "--layers", str(SAMPLES / "no_transpose.py"), "--batch", "300",
                           "--hidden", "50,50", "--isolate")
    assert report["steps"][7]["error"]["type"] == "RuntimeError"  # lin3: 50 → 1, the product raises
    l2_g = next(t for t in report["steps"][9]["tensors"] if t["name"] == "l2.g")
    assert not l2_g["match"] and "without the transpose of `w`: out.g @ w" in l2_g["hint"]


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

    def bad(report):
        return {(s["index"], t["name"]) for s in report["steps"] for t in s["tensors"] if not t["match"]}

    # chained: the off-by-2 out.g spoils every gradient below it
    assert {(5, "l2.g"), (7, "x.g")} <= bad(chained)
    # isolated: exactly the two bugs, each layer judged on autograd's gradient from above
    assert bad(isolated) == {(4, "out.g"), (5, "w2.g"), (7, "w1.g")}
    assert isolated["steps"][5]["fed_from_autograd"] == ["out.g"]


HONEST = [
    # a layer file written in the test, the tensor, words the hint must have, words it must not
    ("from gradtui.layers import Mse as Reference\n\n\nclass Mse(Reference):\n"
     "    def forward(self, inp, targ):\n        return (inp.squeeze(-1) - targ).pow(2).sum()\n",
     "out.g", "your forward is not the reference MSE's", "divided out twice"),
    ("from gradtui.layers import Lin as Reference\n\n\nclass Lin(Reference):\n    def bwd(self, out, inp):\n"
     "        self.w.g = inp.t() @ out.g\n        self.b.g = out.g.sum(0)\n        self.w = self.w - 0.1 * self.w.g\n"
     "        inp.g = out.g @ self.w.t()\n",
     "l2.g", "w2 replaced on the layer (self.w = self.w - …)", "changed in place"),
    ("import torch\nfrom gradtui.layers import Module\n\n\nclass Relu(Module):\n    def forward(self, inp):\n"
     "        return torch.where(inp > 0, inp, 0.01 * inp)\n    def bwd(self, out, inp):\n"
     "        inp.g = (inp > 0).float() * out.g\n",
     "l1.g", "as the reference ReLU computes it", "mask taken from"),
]


@pytest.mark.parametrize("code, tensor, says, never", HONEST, ids=["summed loss", "rebound weight", "leaky forward"])
def test_a_hint_never_claims_what_the_code_does_not_do(capsys, tmp_path, code, tensor, says, never):
    layers = tmp_path / "layers.py"
    layers.write_text(code)
    code, report = check_json(capsys, "--layers", str(layers), "--batch", "300")
    assert code == 1 and report["first_mismatch"]["tensor"] == tensor
    hint = next(t["hint"] for t in report["steps"][report["first_mismatch"]["index"]]["tensors"] if t["name"] == tensor)
    assert says in hint and never not in hint


def test_a_casts_fix_quotes_the_cast_in_the_users_code(capsys):
    _, report = check_json(capsys, "--layers", str(SAMPLES / "lesson_matmul.py"), "--batch", "300", "--dtype", "bfloat16")
    hint = report["steps"][6]["tensors"][0]["hint"]
    line = next(i for i, text in enumerate((SAMPLES / "lesson_matmul.py").read_text().splitlines(), start=1)
                if ".float()" in text and ".g =" in text)
    assert f"the cast `.float()` (samples/lesson_matmul.py:{line}) in the backward changed its dtype; drop it" in hint


def test_the_node_by_node_batch_norm_passes_and_its_replays_too(capsys):
    code, report = check_json(capsys, "--layers", str(SAMPLES / "batchnorm_staged.py"), "--batch", "300",
                              "--net", "lin,batchnorm,tanh,lin,mse")
    assert code == 0 and report["ok"] and report["first_deviation"] is None  # its forward is the reference's
    assert report["float64_replay"]["first_mismatch"] is None and report["float64_replay"]["moved"]
