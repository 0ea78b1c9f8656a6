"""The float64 replay: what float32 rounding hides at a large batch is found on the first rows in
float64, and what only the replay causes (a cast, a step that cannot mix dtypes) is no mismatch."""

import pytest
import torch
from conftest import SAMPLES, check_json, run_cli

import gradtui
from gradtui import layers as lesson

BESSEL_BACKWARD = ("--net", "lin,batchnorm,tanh,lin,mse", "--layers", str(SAMPLES / "batchnorm_bessel_backward.py"))


def test_a_slip_of_order_one_over_n_is_seen_in_float64_only(capsys):
    code, report = check_json(capsys, *BESSEL_BACKWARD, "--batch", "1000")
    assert all(t["match"] for step in report["steps"] for t in step["tensors"])  # float32 hides it
    assert code == 1 and report["ok"] is False
    assert report["first_mismatch"] == {"index": 8, "layer": "batchnorm1", "tensor": "l1.g", "seen_in": "float64"}
    replay = report["float64_replay"]
    assert replay["rows"] == 256 and replay["first_mismatch"]["tensor"] == "l1.g"
    assert "times n/(n−1) (Bessel's correction" in replay["hint"]


def test_the_verdict_says_seen_in_float64_only(capsys):
    code, out, _ = run_cli(capsys, "check", *BESSEL_BACKWARD, "--batch", "1000")
    last = out.strip().splitlines()[-1]
    assert code == 1
    assert last.startswith("✗ first mismatch, seen in float64 only: step 8 (backward batchnorm1, l1.g) on the first "
                           "256 rows: l1.g is BatchNorm's input gradient with the variance term")
    assert "✗ seen in float64 only: step 8" in out  # the replayed step's table is shown too
    assert "✓ every gradient matches" not in out  # one verdict: the run's own match is said inside the ✗ line
    assert last.endswith("; the run itself matched (10 steps: the run's rounding hid it); loss " + last.rsplit(" ", 1)[1])


def test_the_same_slip_at_a_small_batch_is_a_plain_mismatch(capsys):
    code, report = check_json(capsys, *BESSEL_BACKWARD, "--batch", "256")
    assert code == 1 and report["first_mismatch"] == {"index": 8, "layer": "batchnorm1", "tensor": "l1.g"}
    assert report["float64_replay"] is None  # the run itself found it


def test_no_replay_turns_it_off(capsys):
    code, report = check_json(capsys, *BESSEL_BACKWARD, "--batch", "1000", "--no-replay")
    assert code == 0 and report["ok"] and report["float64_replay"] is None and report["config"]["replay"] is False


def test_the_exercises_own_layers_pass_with_bessels_correction_named(capsys):
    """The hand-backprop exercise's batch norm divides by n−1 in its forward and carries n/(n−1) in its
    backward: consistent, so it passes, in float32 and in the replay; the forward's deviation is named."""
    code, report = check_json(capsys, "--net", "lin,batchnorm,tanh,lin,cross_entropy", "--batch", "1000",
                              "--layers", str(SAMPLES / "backprop_exercise.py"))
    assert code == 0 and report["float64_replay"]["first_mismatch"] is None
    assert report["first_deviation"] == {"index": 1, "layer": "batchnorm1", "tensor": "l2"}
    hint = report["steps"][1]["tensors"][0]["hint"]
    assert "unbiased variance (÷ n−1, Bessel's correction)" in hint and "unbiased=False" in hint


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_a_cast_in_the_users_code_is_not_a_replay_mismatch(capsys, dtype):
    """The lesson's `.float()` mask makes float32 out of the replay's float64: judged as float32."""
    options = ("--isolate",) if dtype == "bfloat16" else ()  # in bfloat16 the cast is a real mismatch; isolate past it
    code, report = check_json(capsys, "--layers", str(SAMPLES / "lesson_matmul.py"), "--batch", "1000", "--dtype", dtype,
                              *options)
    if dtype == "float32":
        assert code == 0 and report["float64_replay"]["first_mismatch"] is None
    else:
        assert report["first_mismatch"]["tensor"] == "l1.g" and report["float64_replay"] is None


def test_a_replay_that_raises_is_a_note_not_a_mismatch(capsys, tmp_path):
    """float64 meeting a float32 cast in a matmul raises in the replay only: said, not failed."""
    layers = tmp_path / "casts.py"
    layers.write_text("from gradtui.layers import Lin as Reference\n\n\nclass Lin(Reference):\n"
                      "    def bwd(self, out, inp):\n"
                      "        inp.g = out.g @ self.w.t().float()\n"
                      "        self.w.g = inp.t() @ out.g\n"
                      "        self.b.g = out.g.sum(0)\n")
    code, out, _ = run_cli(capsys, "check", "--layers", str(layers), "--batch", "300")
    assert code == 0
    assert "note: the float64 replay stopped at step 5 (lin2), where the run did not: RuntimeError" in out
    assert "✓ every gradient matches autograd (8 steps); loss" in out


NO_GAIN = ("--net", "lin,batchnorm,relu,lin,mse", "--layers", str(SAMPLES / "batchnorm_no_gain.py"), "--batch", "300")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_slip_a_unit_gain_hides_is_seen_with_the_gain_moved(capsys, dtype):
    code, report = check_json(capsys, *NO_GAIN, "--dtype", dtype)
    assert all(t["match"] for step in report["steps"] for t in step["tensors"])  # at gain 1, out.g is dxhat
    assert code == 1 and report["first_mismatch"] == {"index": 8, "layer": "batchnorm1", "tensor": "l1.g",
                                                      "seen_in": "float64"}
    replay = report["float64_replay"]
    assert replay["moved"] == {"b1": 0.0, "gamma1": 1.0, "beta1": 0.0, "b2": 0.0}
    assert "(the gain gamma left out)" in replay["hint"]


def test_the_verdict_names_the_constants_that_hid_it(capsys):
    code, out, _ = run_cli(capsys, "check", *NO_GAIN)
    assert code == 1
    assert out.strip().splitlines()[-1].startswith(
        "✗ first mismatch, seen only with b1, beta1, b2 off 0 and gamma1 off 1: step 8 (backward batchnorm1, l1.g) "
        "on the first 256 rows: l1.g is BatchNorm's input gradient with `out.g` where `dxhat = out.g * gamma` belongs")
    assert "the run's constant values (the notes' init) hid it" in out


def test_random_values_leave_nothing_to_move_and_correct_layers_pass_with_them_moved(capsys):
    code, report = check_json(capsys, *NO_GAIN, "--init", "random")
    assert code == 1 and report["first_mismatch"] == {"index": 8, "layer": "batchnorm1", "tensor": "l1.g"}
    code, report = check_json(capsys, "--net", "lin,batchnorm,tanh,lin,mse", "--batch", "300", "--dtype", "float64")
    assert code == 0 and report["ok"] and report["float64_replay"]["moved"] == {"b1": 0.0, "gamma1": 1.0,
                                                                                "beta1": 0.0, "b2": 0.0}
    code, report = check_json(capsys, "--net", "lin,batchnorm,tanh,lin,mse", "--batch", "300", "--init", "random")
    assert code == 0 and report["float64_replay"]["moved"] == {}  # no 0 or 1 to move: the float64 replay alone
    code, report = check_json(capsys, "--batch", "300", "--init", "random", "--dtype", "float64")
    assert code == 0 and report["float64_replay"] is None  # nothing for a replay to add


def test_a_constant_tensor_of_a_layer_gradtui_has_no_entry_for_is_not_moved():
    from gradtui.replay import constant_parameters

    class Scale:  # a fixed mask of ones: a constant that is what the layer means
        def __init__(self, width):
            self.mask = torch.ones(width)

        def __call__(self, inp):
            self.inp, self.out = inp, inp * self.mask
            return self.out

        def backward(self):
            self.inp.g = self.out.g * (self.mask > 0)  # right for a mask of zeros and ones only
            self.mask.g = (self.out.g * self.inp).sum(0)

    x, y = torch.randn(64, 784), torch.randn(64)
    w1, w2 = torch.randn(784, 50) / 28, torch.randn(50, 1) / 7
    report = gradtui.check(layers=[lesson.Lin(w1, torch.zeros(50)), Scale(50), lesson.Relu(), lesson.Lin(w2, torch.zeros(1))],
                           loss=lesson.Mse(), x=x, y=y)
    assert report.ok and set(constant_parameters(report.session)) == {"b1", "b2"}


class LlamaRMSNorm:
    """Llama's RMS norm: computed in float32 whatever the input's dtype, cast back; its backward right."""

    def __init__(self, w):
        self.w = w

    def __call__(self, inp):
        x = inp.float()
        self.r = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
        self.inp, self.out = inp, (x * self.r).type_as(inp) * self.w
        return self.out

    def backward(self):
        xhat = self.inp * self.r
        self.w.g = (self.out.g * xhat).sum(0)
        dx = self.out.g * self.w
        self.inp.g = self.r * (dx - xhat * (dx * xhat).mean(-1, keepdim=True))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_forward_that_computes_in_float32_inside_is_judged_with_float32s_tolerance_from_its_backward_on(dtype):
    """A float64 run, or a float32 run's float64 replay, runs its `x.float()` in float32: autograd's
    gradients through it carry float32's rounding, and so do the layer's own, right as they are; a slip
    is still seen."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 784, generator=g), torch.randn(64, generator=g)
    w1, w2 = torch.randn(784, 50, generator=g) / 28, torch.randn(50, 1, generator=g) / 7

    def check(norm):
        return gradtui.check(layers=[lesson.Lin(w1, 0.1 * torch.randn(50, generator=g)), norm, lesson.Relu(),
                                     lesson.Lin(w2, torch.zeros(1))], loss=lesson.Mse(), x=x, y=y, dtype=dtype)

    right = check(LlamaRMSNorm(1 + 0.1 * torch.randn(50, generator=g)))
    assert right.ok, right.first_mismatch

    class WithoutItsMean(LlamaRMSNorm):
        def backward(self):
            super().backward()
            self.inp.g = self.r * self.out.g * self.w
    assert check(WithoutItsMean(1 + 0.1 * torch.randn(50, generator=g))).first_mismatch.tensor == "l1.g"



def test_a_mask_cast_to_float32_in_a_forward_leaves_a_float64_run_as_sharp():
    """`(inp > 0).float()` makes float32 out of no float, and rounds nothing: a slip of one part in a
    million below it is still a mismatch in float64, as it is without the mask."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 784, generator=g), torch.randn(64, generator=g)
    w1, w2 = torch.randn(784, 50, generator=g) / 28, torch.randn(50, 1, generator=g) / 7

    class MaskedRelu(lesson.Relu):
        def forward(self, inp):
            return inp * (inp > 0).float()

    class SlightlyOff(lesson.Lin):
        def bwd(self, out, inp):
            super().bwd(out, inp)
            inp.g = inp.g * (1 + 1e-6)

    for relu in (lesson.Relu(), MaskedRelu()):
        report = gradtui.check(layers=[SlightlyOff(w1, torch.zeros(50)), relu, lesson.Lin(w2, torch.zeros(1))],
                               loss=lesson.Mse(), x=x, y=y, dtype="float64")
        assert report.first_mismatch is not None and report.first_mismatch.tensor == "x.g", type(relu).__name__
