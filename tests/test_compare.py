"""The comparison with the reference: the difference, the tolerance, NaN/Inf and dtype."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import check_json, run_cli

from gradtui import compare as comparison
from gradtui.compare import compare as bare_compare
from gradtui.compare import placed
from gradtui.hints import HintContext, explain

TOL32 = (1e-4, 1e-7)


def compare(name, value, ref, tolerance):
    """The verdict, and the hint the session would ask for on a mismatch."""
    c = bare_compare(name, value, ref, tolerance)
    return c if c.match else replace(c, hint=explain(c, value, ref, HintContext()))


def test_chunked_difference_finds_the_worst_element(monkeypatch):
    monkeypatch.setattr(comparison, "DIFF_CHUNK", 7)  # many chunks, one of them partial
    ref = torch.randn(9, 5, generator=torch.Generator().manual_seed(3))
    value = ref.clone()
    value[6, 2] += 0.5
    value[1, 1] -= 0.25
    c = compare("w.g", value, ref, TOL32)
    assert not c.match
    assert c.diff.worst == (6, 2)
    assert c.diff.max_abs == pytest.approx(0.5, rel=1e-5)
    assert c.diff.max_rel == pytest.approx(0.5 / float(ref.abs().max()), rel=1e-5)


def test_one_tolerance_scale_for_the_whole_tensor():
    ref = torch.tensor([1000.0, 1e-6])
    assert compare("t", ref + torch.tensor([0.0, 1e-3]), ref, TOL32).match  # 1e-3 <= 1e-7 + 1e-4 * 1000
    assert not compare("t", ref + torch.tensor([0.0, 0.2]), ref, TOL32).match


def test_new_nan_is_a_mismatch_and_shared_nan_is_not():
    ref = torch.tensor([1.0, float("nan"), 2.0])
    assert compare("t", ref.clone(), ref, TOL32).match
    value = torch.tensor([float("nan"), float("nan"), 2.0])
    c = compare("t", value, ref, TOL32)
    assert not c.match and "NaN introduced at this step" in c.hint


def test_missing_and_wrong_type():
    ref = torch.ones(3)
    assert "was not set" in compare("b.g", None, ref, TOL32).hint
    c = compare("b.g", np.ones(3), ref, TOL32)
    assert not c.match and "numpy.ndarray, not a torch tensor" in c.hint


def test_empty_tensors_match():
    assert compare("t", torch.empty(0, 3), torch.empty(0, 3), TOL32).match


def test_nan_and_inf_at_the_same_places_match_even_when_nothing_is_finite():
    ref = torch.tensor([[float("nan"), float("inf")], [float("-inf"), float("nan")]])
    c = compare("t", ref.clone(), ref, TOL32)
    assert c.match and c.diff.max_abs == 0
    moved = torch.tensor([[float("inf"), float("nan")], [float("-inf"), float("nan")]])
    assert not compare("t", moved, ref, TOL32).match


def test_dtype_is_part_of_a_match():
    ref = torch.randn(4, 3).bfloat16()
    c = compare("l1.g", ref.float(), ref, (1e-2, 1e-3))
    assert not c.match and c.diff.max_abs == 0
    assert "float32" in c.hint and "bfloat16" in c.hint


def test_a_gradient_neither_side_has_is_consistent():
    assert compare("b.g", None, None, TOL32).match


def where(value, ref):
    return placed(value, ref, bare_compare("t", value, ref, TOL32)).where


def test_the_words_and_the_map_come_from_one_difference():
    ref = torch.randn(50, 8, generator=torch.Generator().manual_seed(2))
    wrong = ref.clone()
    wrong[:, 3] *= 3
    comparison = placed(wrong, ref, bare_compare("t", wrong, ref, TOL32))
    assert comparison.where.startswith("only column 3 differs")
    assert comparison.map.shape == (50, 8) and comparison.map.scale == pytest.approx(float((2 * ref[:, 3]).abs().max()))
    assert all(row[3] > 0 and sum(row) == row[3] for row in comparison.map.cells)
    apart = placed(torch.zeros(1, 8), ref, bare_compare("t", torch.zeros(1, 8), ref, TOL32))
    assert apart.where is None and (apart.map.shape, apart.map.ref_shape) == ((1, 8), (50, 8))
    assert placed(ref, ref, bare_compare("t", ref, ref, TOL32)).map is None  # a match has none


def test_where_a_difference_is():
    ref = torch.randn(50, 8, generator=torch.Generator().manual_seed(2))
    rows = ref.clone()
    rows[10:20] *= 2
    assert where(rows, ref) == "only rows 10–19 differ (in 8 of 8 columns): a sample, not a feature"
    cols = ref.clone()
    cols[:, 3] *= 3
    assert where(cols, ref) == "only column 3 differs (in 50 of 50 rows): a feature, not a sample"
    shifted = ref + torch.arange(8.0)
    assert where(shifted, ref).startswith("the same error in every row: it does not depend on the sample")
    assert where(ref * 1.5, ref) is None  # wrong everywhere, no shape to it
    assert where(ref.clone(), ref) is None  # a match
    vector = torch.randn(40)
    broken = vector.clone()
    broken[[3, 4, 5, 30]] = 0
    assert where(broken, vector) == "only elements 3–5, 30 differ (4 of 40)"
    most = ref.clone()
    most[:40] *= 2
    assert where(most, ref) is None  # 40 of 50 rows: not "only"


def test_where_is_in_the_json_and_under_the_table(capsys, tmp_path):
    layers = tmp_path / "rows.py"
    layers.write_text("from gradtui.layers import Relu as Reference\n\n\nclass Relu(Reference):\n"
                      "    def bwd(self, out, inp):\n        super().bwd(out, inp)\n        inp.g[:10] = 0\n")
    code, report = check_json(capsys, "--batch", "300", "--hidden", "16", "--layers", str(layers))
    l1 = report["steps"][6]["tensors"][0]
    assert code == 1 and l1["where"] == "only rows 0–9 differ (in 16 of 16 columns): a sample, not a feature"
    _, out, _ = run_cli(capsys, "check", "--batch", "300", "--hidden", "16", "--layers", str(layers))
    assert "    where: only rows 0–9 differ" in out
