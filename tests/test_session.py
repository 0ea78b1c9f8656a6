"""DebugSession: stepping, resetting, missing gradients and errors in user code."""

import math
from dataclasses import replace

import pytest
import torch
from conftest import SAMPLES, cuda

from gradtui.config import RunConfig
from gradtui.data import Dataset
from gradtui.session import DebugSession

SMALL = RunConfig(device="cpu", batch=128, hidden=(16, 8), init="random")


def grads(session):
    """Every .g the session's tensors hold, by name."""
    return {name: t.g.clone() for name, t in session.values.items() if isinstance(getattr(t, "g", None), torch.Tensor)}


def same_grads(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_steps_are_named_as_in_design():
    session = DebugSession(RunConfig(device="cpu", batch=32))
    assert [(s.index, s.direction, s.layer, s.produces) for s in session.steps] == [
        (0, "forward", "lin1", ("l1",)),
        (1, "forward", "relu1", ("l2",)),
        (2, "forward", "lin2", ("out",)),
        (3, "forward", "mse", ("loss",)),
        (4, "backward", "mse", ("out.g",)),
        (5, "backward", "lin2", ("l2.g", "w2.g", "b2.g")),
        (6, "backward", "relu1", ("l1.g",)),
        (7, "backward", "lin1", ("x.g", "w1.g", "b1.g")),
    ]
    reports = session.run_to_end()
    assert [tuple(t.name for t in r.tensors) for r in reports] == [s.produces for s in session.steps]


@pytest.mark.parametrize("k", range(0, 13))
def test_a_steps_report_is_never_changed_by_the_steps_after_it(k):
    """The app shows an earlier step by showing its report: no later step may change it."""
    session = DebugSession(SMALL)
    for _ in range(k):
        session.step()
    reports = [replace(report) for report in session.reports]
    session.run_to_end()
    assert session.reports[:k] == reports


def test_a_step_at_the_end_refuses():
    session = DebugSession(SMALL)
    session.run_to_end()
    with pytest.raises(IndexError):
        session.step()


def test_reset_starts_again_with_the_same_data_and_no_gradients():
    session = DebugSession(SMALL)
    first = session.run_to_end()
    session.reset()
    assert session.cursor == 0 and grads(session) == {}
    assert session.run_to_end() == first


def test_a_stale_gradient_is_never_taken_for_this_steps():
    session = DebugSession(RunConfig(device="cpu", batch=64, layers=SAMPLES / "missing_grad.py"))
    for _ in range(5):
        session.step()
    session.params["b2"].g = torch.zeros(1)  # as if left over from an earlier run
    report = session.step()
    b2 = report.tensors[2]
    assert b2.name == "b2.g" and b2.stats is None and not b2.match
    assert "was not set" in b2.hint


def test_an_error_in_user_code_is_a_failed_step_and_the_session_stays_usable():
    session = DebugSession(RunConfig(device="cpu", batch=64, layers=SAMPLES / "raises.py"))
    report = session.run_to_mismatch()
    assert report.step.index == 5 and report.error.type == "RuntimeError"
    assert report.error.file.endswith("raises.py")
    session.reset()
    assert session.cursor == 0
    session.run_to_end()
    assert session.first_mismatch.index == 5 and session.first_mismatch.tensor is None


def test_run_to_mismatch_stops_at_the_first_and_goes_on_from_there():
    session = DebugSession(RunConfig(device="cpu", batch=64, layers=SAMPLES / "off_by_two.py"))
    report = session.run_to_mismatch()
    assert (report.step.index, report.failing_tensor.name) == (4, "out.g")
    assert session.cursor == 5
    report = session.run_to_mismatch()  # the user's own out.g goes on down: l2.g is off too
    assert report.step.index == 5 and not report.fed


def test_a_forward_error_leaves_later_steps_not_run(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("class Relu:\n    def __call__(self, inp):\n        raise ValueError('nope')\n"
                      "    def backward(self):\n        pass\n")
    session = DebugSession(RunConfig(device="cpu", batch=16, layers=broken))
    reports = session.run_to_end()
    assert len(reports) == 8
    assert reports[1].error.type == "ValueError" and reports[1].error.line == 3
    assert all(r.error is not None and r.error.type == "NotRun" for r in reports[2:])


def test_loss_and_sources():
    session = DebugSession(RunConfig(device="cpu", batch=64, layers=SAMPLES / "transposed.py"))
    session.run_to_end()
    assert math.isfinite(session.loss)
    file, line, code = session.source(session.steps[5])
    assert file.endswith("transposed.py") and "out.g.t() @ inp" in code
    file, _, code = session.source(session.steps[6])  # relu: the reference class
    assert file.endswith("layers.py")
    assert "def bwd" in code


@pytest.mark.slow
def test_default_size_check_passes():
    session = DebugSession(RunConfig(device="cpu"))
    assert session.data.x.shape == (50_000, 784)
    session.run_to_end()
    assert session.first_mismatch is None


@cuda
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_every_step_matches_on_cuda(dtype):
    session = DebugSession(RunConfig(device="cuda", dtype=dtype, batch=512, hidden=(32, 16), init="random"))
    session.run_to_end()
    assert session.first_mismatch is None
    assert all(t.stats.device.startswith("cuda") for r in session.reports for t in r.tensors)


@cuda
def test_a_sample_bug_is_named_on_cuda():
    session = DebugSession(RunConfig(device="cuda", batch=512, layers=SAMPLES / "transposed.py"))
    session.run_to_end()
    assert (session.first_mismatch.index, session.first_mismatch.tensor) == (5, "w2.g")


def reports_summary(session):
    return [(r.step.index, r.mark, tuple((t.name, t.match, t.hint) for t in r.tensors)) for r in session.reports]


@pytest.mark.parametrize("sample", ["update_in_backward.py", "inplace_relu.py", "inplace_relu_shifted.py"])
def test_user_code_changing_tensors_in_place_never_corrupts_gradtuis_own(sample):
    """x, y and the weights the user's code gets are copies: after any in-place change, r starts
    from the same numbers and gives the same reports."""
    session = DebugSession(replace(SMALL, layers=SAMPLES / sample))
    pristine = {name: t.clone() for name, t in {"x": session.data.x, "y": session.data.y, **session.params}.items()}
    session.run_to_end()
    first_pass = reports_summary(session)
    assert all(torch.equal(t, pristine[name]) for name, t in
               {"x": session.data.x, "y": session.data.y, **session.params}.items())
    session.reset()
    assert all(torch.equal(session.values[name], pristine[name]) for name in ("x", "w1", "w2", "w3"))
    assert torch.equal(session.targ, pristine["y"])
    session.run_to_end()
    assert reports_summary(session) == first_pass


def test_the_autograd_pass_before_the_forward_or_at_the_first_backward_step_gives_the_same_verdict():
    """A layer file whose instances share state (a class attribute) is judged the same whenever
    autograd's pass runs: it uses classes of its own."""
    config = RunConfig(device="cpu", batch=64, hidden=(16, 8), layers=SAMPLES / "shared_state.py")
    early = DebugSession(config)
    early.prepare_reference()
    early.run_to_end()
    late = DebugSession(config)
    late.run_to_end()
    assert early.first_mismatch == late.first_mismatch
    assert (early.first_mismatch.index, early.first_mismatch.layer, early.first_mismatch.tensor) == (10, "relu1", "l1.g")
    assert reports_summary(early) == reports_summary(late)


def test_nan_in_the_data_matches_on_the_reference_layers():
    x, y = torch.randn(64, 12), torch.randint(0, 10, (64,)).float()
    x[3, 5], x[7, 1] = math.nan, math.inf
    session = DebugSession(RunConfig(device="cpu"), data=Dataset(x, y, "nan data"))
    session.run_to_end()
    assert session.first_mismatch is None
    assert session.first_nonfinite.index == 0
    w1_g = next(t for t in session.reports[7].tensors if t.name == "w1.g")
    assert w1_g.match and w1_g.stats.nan > 0


def test_a_mask_product_on_nan_data_is_told_apart_from_autograds_where():
    x, y = torch.randn(64, 12), torch.randint(0, 10, (64,)).float()
    x[3, 5] = math.nan
    session = DebugSession(RunConfig(device="cpu", layers=SAMPLES / "lesson_matmul.py"), data=Dataset(x, y, "nan"))
    report = session.run_to_mismatch()
    assert (report.step.index, report.failing_tensor.name) == (6, "l1.g")
    assert "0 × NaN = NaN" in report.failing_tensor.hint
