"""DebugSession: stepping, undoing, resetting, missing gradients and errors in user code."""

import math

import pytest
import torch
from conftest import SAMPLES, cuda

from gradtui.config import RunConfig
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
def test_back_restores_exactly_the_earlier_state(k):
    session = DebugSession(SMALL)
    for _ in range(k):
        session.step()
    reports, values, state = list(session.reports), dict(session.values), grads(session)
    later = session.run_to_end()
    for _ in later:
        session.back()
    assert session.cursor == k
    assert session.reports == reports
    assert session.values.keys() == values.keys()
    assert same_grads(grads(session), state)
    # and stepping again reproduces the very same reports
    assert session.run_to_end() == later


def test_back_at_step_zero_and_step_at_the_end_refuse():
    session = DebugSession(SMALL)
    with pytest.raises(IndexError):
        session.back()
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
    session.back()
    assert torch.equal(session.params["b2"].g, torch.zeros(1))  # back() restores even that


def test_an_error_in_user_code_is_a_failed_step_and_the_session_stays_usable():
    session = DebugSession(RunConfig(device="cpu", batch=64, layers=SAMPLES / "raises.py"))
    report = session.run_to_mismatch()
    assert report.step.index == 5 and report.error.type == "RuntimeError"
    assert report.error.file.endswith("raises.py")
    session.back()
    assert session.cursor == 5
    session.reset()
    assert session.cursor == 0
    session.run_to_end()
    assert session.first_mismatch.index == 5 and session.first_mismatch.tensor is None


def test_run_to_mismatch_stops_at_the_first_and_goes_on_from_there():
    session = DebugSession(RunConfig(device="cpu", batch=64, layers=SAMPLES / "off_by_two.py"))
    report = session.run_to_mismatch()
    assert (report.step.index, report.first_mismatch.name) == (4, "out.g")
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
