"""Screens of the app, by state. Deterministic: seeded small network, fixed timing results,
paths relative to the repository, no CUDA, figures at float32's rounding drawn as such, so each
SVG changes only when the screen does."""

from pathlib import Path

import pytest
import torch
from conftest import SAMPLES, drive, fixed_timing_results

from gradtui.config import RunConfig
from gradtui.formatting import number
from gradtui.ui.ahead import InThread
from gradtui.ui.app import GradTUI

ROOT = Path(__file__).resolve().parent.parent


ROUNDING = 1e-6  # below it, a figure of these float32 runs is rounding: a right gradient's max|Δ|, a zero mean


def rounding_drawn_as_such(value: float | None) -> str:
    """A table's figure, with one under ROUNDING drawn as "≈0": its digits differ between CPUs and torch
    releases (2.79e-09 here, 1.96e-09 there), as a clock's figures do."""
    return "≈0" if value and abs(value) < ROUNDING else number(value)


@pytest.fixture(autouse=True)
def same_everywhere(monkeypatch):
    monkeypatch.chdir(ROOT)  # source paths are shown relative to the working directory
    monkeypatch.setattr("gradtui.ui.ahead._cuda_available", lambda: False)
    monkeypatch.setattr("gradtui.report.number", rounding_drawn_as_such)
    # and one thread, however many the machine has: how a matmul is split moves its last bit
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def app(layers: str | None = None, **options) -> GradTUI:
    config = RunConfig(**{"device": "cpu", "batch": 64, "seed": 0} | options,
                       layers=SAMPLES / layers if layers else None)
    return GradTUI(config, bench=fixed_timing_results)


def keys(*pressed):
    async def run_before(pilot):
        await drive(pilot, pressed)
    return run_before


def test_first_screen(snap_compare):
    assert snap_compare(app(), terminal_size=(120, 40), run_before=keys())


def test_mid_backward_at_lin2(snap_compare):
    assert snap_compare(app(), terminal_size=(120, 40), run_before=keys(*"nnnnnn"))


def test_error_from_user_code(snap_compare):
    assert snap_compare(app("raises.py"), terminal_size=(120, 40), run_before=keys("m"))


def test_timing_pane_filled(snap_compare):
    assert snap_compare(app(), terminal_size=(120, 40), run_before=keys("t"))


def test_timing_pane_at_80x24(snap_compare):
    assert snap_compare(app(), terminal_size=(80, 24), run_before=keys("t"))


def test_help_screen(snap_compare):
    assert snap_compare(app(), terminal_size=(120, 40), run_before=keys("question_mark"))


def test_course_network_at_batch_norms_backward(snap_compare):
    course = app(net=("lin", "batchnorm", "tanh", "lin", "cross_entropy"), hidden=(16,))
    assert snap_compare(course, terminal_size=(120, 40), run_before=keys(*"nnnnnnnnn"))


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
@pytest.mark.parametrize("sample", ["transposed.py", "bias_wrong_axis.py", "relu_mask.py"])
def test_difference_map_at_the_mismatch(snap_compare, sample, size):
    """`m` stops at the sample's mismatch; beside the histogram, where yours differs: the shapes
    side by side when they differ (a transposed weight, a bias summed over the features), the grid
    of |Δ| when they agree (a ReLU mask from out.g). At 80×24 the map alone, under the hint."""
    assert snap_compare(app(sample), terminal_size=size, run_before=keys("m"))


def test_a_model_with_a_layer_gradtui_does_not_know(snap_compare):
    """gradtui.debug on a model with a hand-written LayerNorm, at its backward: its parameters by
    their attribute names, its backward judged against autograd."""
    import torch
    from test_api import LayerNorm  # samples/layernorm.py

    from gradtui.api import _prepared
    from gradtui.layers import Lin, Mse, Relu

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 784, generator=g), torch.randint(0, 10, (64,), generator=g).float()
    w1, w2 = torch.randn(784, 16, generator=g) / 28, torch.randn(16, 1, generator=g) / 4
    config, data, network, params = _prepared(None, x, y, [Lin(w1, torch.zeros(16)), LayerNorm(16), Relu(),
                                                           Lin(w2, torch.zeros(1))], Mse(), {})
    model = GradTUI(config, InThread(config, data, network, params), bench=fixed_timing_results)
    assert snap_compare(model, terminal_size=(120, 40), run_before=keys(*"nnnnnnnnn"))


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_the_verified_fix_beside_its_step(snap_compare, size):
    from gradtui.ui.fix_process import fix_here

    config = RunConfig(device="cpu", batch=64, seed=0, layers=SAMPLES / "transposed.py")
    fixing = GradTUI(config, bench=fixed_timing_results, fixer=fix_here)
    assert snap_compare(fixing, terminal_size=size, run_before=keys("m", "f"))
