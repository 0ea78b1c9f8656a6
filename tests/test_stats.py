"""Statistics against plain NumPy/torch."""

import math

import numpy as np
import pytest
import torch

from gradtui.stats import tensor_stats


def test_stats_agree_with_numpy():
    t = torch.randn(300, 7, generator=torch.Generator().manual_seed(1))
    t[t.abs() < 0.1] = 0
    s = tensor_stats(t)
    a = t.numpy().astype(np.float64)
    assert s.shape == (300, 7) and s.dtype == "float32" and s.device == "cpu" and s.numel == 2100
    assert s.mean == pytest.approx(a.mean(), abs=1e-6)
    assert s.std == pytest.approx(a.std(ddof=1), rel=1e-5)
    assert (s.min, s.max) == (pytest.approx(a.min()), pytest.approx(a.max()))
    assert s.norm == pytest.approx(np.linalg.norm(a), rel=1e-6)
    assert s.zeros == pytest.approx((a == 0).mean())
    assert (s.nan, s.inf) == (0, 0)


def test_std_is_exact_when_the_mean_dwarfs_the_spread():
    t = 1000.0 + torch.randn(10_000, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 1e-3
    assert tensor_stats(t.float()).std == pytest.approx(float(t.float().double().std()), rel=1e-3)


def test_nan_and_inf_are_counted_and_the_rest_summarised():
    t = torch.tensor([1.0, float("nan"), 3.0, float("inf"), -float("inf"), 0.0])
    s = tensor_stats(t)
    assert (s.nan, s.inf) == (1, 2)
    assert (s.min, s.max, s.mean) == (0.0, 3.0, pytest.approx(4 / 3))
    assert s.zeros == pytest.approx(1 / 6)


def test_half_precision_sums_do_not_overflow():
    s = tensor_stats(torch.full((100_000,), 60.0, dtype=torch.float16))
    assert s.mean == 60.0 and s.dtype == "float16"


def test_empty_tensor_statistics():
    s = tensor_stats(torch.empty(0, 3))
    assert s.numel == 0 and math.isnan(s.mean)


def test_the_difference_map_keeps_one_wrong_element_and_draws_shapes_apart():
    from gradtui.compare import compare, placed
    from gradtui.stats import MAP_COLUMNS, MAP_ROWS
    from gradtui.ui.widgets.histogram import map_lines

    def drawn(value, ref):
        return placed(value, ref, compare("t", value, ref, (1e-4, 1e-7))).map

    ref = torch.randn(1000, 50, generator=torch.Generator().manual_seed(0))
    one = ref.clone()
    one[777, 31] += 0.5
    grid = drawn(one, ref)
    assert (len(grid.cells), len(grid.cells[0])) == (MAP_ROWS, min(MAP_COLUMNS, 50))
    assert grid.scale == pytest.approx(0.5, rel=1e-5)
    assert sum(value > 0 for row in grid.cells for value in row) == 1  # the max is kept, not averaged away
    lines = map_lines(grid, "l1.g", "autograd", 25)
    assert sum(line.count("█") for line in lines) == 1 and all(len(line) <= 25 + len("[$error][/]") for line in lines)
    assert lines[0] == "|Δ| ≤ 0.5"  # the title shortens to the width, never wraps
    assert map_lines(grid, "l1.g", "autograd", 60)[0] == "|Δ| of l1.g on its 1000×50 · largest 0.5"
    apart = drawn(torch.zeros(1, 50), torch.ones(50, 1))
    assert apart.cells == () and apart.shape == (1, 50) and apart.ref_shape == (50, 1)
    assert "b2.g: yours 1×50" in map_lines(apart, "b2.g", "autograd", 40)[0]
    assert drawn(torch.tensor(1.0), torch.tensor(2.0)) is None  # a scalar has no layout


@pytest.mark.parametrize("shape", [(1000, 50), (7, 3), (5, 130), (3, 64), (1, 50), (64, 1), (101, 65), (9,), (200,)])
def test_the_difference_map_pools_as_adaptive_max_pooling_does(shape):
    """Its windows are adaptive pooling's (uneven and overlapping where the sizes do not divide)."""
    from gradtui.stats import MAP_COLUMNS, MAP_ROWS, difference_map

    absolute = torch.rand(shape, generator=torch.Generator().manual_seed(len(shape)))
    absolute.view(-1)[3] = math.inf  # NaN is drawn as ∞
    grid = absolute.reshape(1, 1, *(shape if len(shape) == 2 else (1, shape[0])))
    expected = torch.nn.functional.adaptive_max_pool2d(grid, (min(MAP_ROWS, grid.shape[2]), min(MAP_COLUMNS, grid.shape[3])))
    assert difference_map(absolute).cells == tuple(tuple(row) for row in expected[0, 0].tolist())
