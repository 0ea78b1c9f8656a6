"""The synthetic data: seeded, a smaller batch the first rows of a larger one, and the draw started
ahead (while torch loads) taken by the session instead of a second draw."""

import numpy as np
import torch

from gradtui import synthetic
from gradtui.config import RunConfig
from gradtui.data import load_data


def test_a_smaller_batch_is_the_first_rows_of_a_larger_one():
    x_small, y_small = synthetic.draw(7, 3, 10)
    x_large, y_large = synthetic.draw(1000, 3, 10)
    assert np.array_equal(x_small, x_large[:7]) and np.array_equal(y_small, y_large[:7])
    assert x_small.dtype == np.float32 and x_small.shape == (7, 784)
    assert set(np.unique(y_large)) <= set(range(10))


def test_the_seed_changes_the_data_and_only_the_seed():
    assert np.array_equal(synthetic.draw(5, 0, 10)[0], synthetic.draw(5, 0, 10)[0])
    assert not np.array_equal(synthetic.draw(5, 0, 10)[0], synthetic.draw(5, 1, 10)[0])


def test_the_draw_started_ahead_is_the_one_the_session_takes(monkeypatch):
    monkeypatch.setattr(synthetic, "_ahead", {})
    config = RunConfig(device="cpu", batch=300, seed=5)
    synthetic.draw_ahead(config)
    draws = []
    monkeypatch.setattr(synthetic, "draw", lambda *args: draws.append(args))
    data = load_data(config, torch.device("cpu"))
    assert draws == []  # taken from the thread, not drawn again
    synthetic.drawn(300, 5, 10)
    assert draws == [(300, 5, 10)]  # not kept: a second load draws afresh
    monkeypatch.undo()
    x, y = synthetic.draw(300, 5, 10)
    assert torch.equal(data.x, torch.from_numpy(x)) and torch.equal(data.y, torch.from_numpy(y))


def test_nothing_is_drawn_ahead_for_a_data_file_or_a_batch_that_does_not_fit(tmp_path, monkeypatch):
    monkeypatch.setattr(synthetic, "_ahead", {})  # (a draw another test of this process started and left is not ours)
    monkeypatch.setattr(synthetic, "free_bytes_on_cpu", lambda: 10**9)
    synthetic.draw_ahead(RunConfig(device="cpu", batch=10**6))  # 6.3 GB: more than a quarter of 1 GB
    path = tmp_path / "data.npz"
    np.savez(path, x=np.zeros((4, 784), np.float32), y=np.zeros(4, np.float32))
    synthetic.draw_ahead(RunConfig(device="cpu", data=path))
    draws = []
    monkeypatch.setattr(synthetic, "draw", lambda *args: draws.append(args) or (None, None))
    synthetic.drawn(10**6, 0, 10)
    synthetic.drawn(50_000, 0, 10)
    assert draws == [(10**6, 0, 10), (50_000, 0, 10)]  # nothing was waiting: each drawn when asked

