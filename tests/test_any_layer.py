"""A slip in a layer gradtui has no entry for is named on the backward derived from the forward's own
operations, at the forward line whose derivative it breaks: benchmarks/any_layer_coverage.py's
corpus (every sixth slip; the whole is the benchmark's), the samples, a torch.autograd.Function,
and the faces that show the line (the JSON, the API's finding, the app)."""

import importlib.util
import itertools
import json

import pytest
import torch
from conftest import ROOT, SAMPLES, benchmark, check_json, drive

import gradtui
from gradtui.config import RunConfig
from gradtui.layers import Lin, Module, Mse
from gradtui.ui.app import GradTUI

corpus = benchmark("any_layer_coverage")

CASES = [(slip, style) for slip in corpus.SLIPS for style in ("module", "call")][::6]


@pytest.mark.parametrize("slip, style", CASES, ids=[f"{s.layer}-{style}-{i}" for i, (s, style) in enumerate(CASES)])
def test_a_slip_in_a_layer_gradtui_has_no_entry_for_is_found_placed_and_named(tmp_path, slip, style):
    outcome = corpus.run(slip, style, tmp_path, 0)
    assert outcome.found and outcome.placed, outcome.hint
    assert outcome.named and not outcome.false, (slip.words, outcome.hint)


def test_a_matrix_products_operand_inside_a_statement_is_said_by_the_name_it_reshapes(tmp_path):
    """A 3-D `q @ k.transpose(-2, -1)` runs as a bmm of reshaped views: a tensor taken for `k` there is
    said as "`q` where `k` belongs", not as the reshape torch runs on it."""
    (slip,) = [s for s in corpus.SLIPS if s.layer == "Attention" and s.new == "dq = ds @ self.q"]
    outcome = corpus.run(slip, "module", tmp_path, 0)
    assert outcome.named and not outcome.false and "uses `q` where `k` belongs" in outcome.hint, outcome.hint


def test_the_json_and_the_finding_carry_the_forward_line_the_hint_names(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, report = check_json(capsys, "--batch", "300", "--layers", "samples/layernorm_slip.py")
    assert code == 1 and report["first_mismatch"] == {"index": 8, "layer": "layernorm1", "tensor": "l1.g"}
    tensor = report["steps"][8]["tensors"][0]
    source = (SAMPLES / "layernorm_slip.py").read_text().splitlines()
    at = tensor["slip_at"]
    assert at["code"] == source[at["line"] - 1].strip() and at["file"].endswith("layernorm_slip.py")
    assert tensor["hint"].startswith("l1.g: the path through `std` in `self.std = ")
    assert json.dumps(report)  # plain data


def function_layernorm_network():
    spec = importlib.util.spec_from_file_location("function_layernorm", SAMPLES / "function_layernorm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(300, 10, generator=g), torch.randn(300, generator=g)
    return [Lin(torch.randn(10, 8, generator=g) / 3, torch.zeros(8)),
            module.LayerNorm(1 + 0.1 * torch.randn(8, generator=g), 0.1 * torch.randn(8, generator=g)),
            Lin(torch.randn(8, 1, generator=g), torch.zeros(1)), Mse()], x, y


def test_a_layer_inside_a_torch_autograd_function_is_named_on_its_forwards_own_operations():
    model, x, y = function_layernorm_network()
    report = gradtui.check(model, x, y)
    mismatch = report.first_mismatch
    assert (mismatch.layer, mismatch.tensor) == ("layernorm1", "l1.g")
    assert mismatch.hint.startswith("l1.g: the path through `mu` in `mu = x.mean(-1, keepdim=True)` (")
    assert any("torch.autograd.Function LayerNormFunction" in note for note in report.steps[6].notes)


def test_a_cast_in_a_float64_backward_is_named_with_the_users_own_cast_and_line(tmp_path, capsys):
    relu = tmp_path / "relu.py"
    relu.write_text("from gradtui.layers import Module\n\n\nclass Relu(Module):\n"
                    "    def forward(self, inp): return inp.clamp_min(0.)\n"
                    "    def bwd(self, out, inp): inp.g = ((inp > 0) * out.g).float()\n")
    code, report = check_json(capsys, "--batch", "300", "--dtype", "float64", "--layers", str(relu))
    hint = report["steps"][6]["tensors"][0]["hint"]
    assert code == 1 and hint.startswith("l1.g is float32, autograd's is float64: the cast `.float()` (")
    assert "relu.py:6) in the backward changed its dtype" in hint and "your forward" not in hint


async def test_the_app_shows_the_forward_line_the_hint_names():
    app = GradTUI(RunConfig(device="cpu", batch=300, layers=SAMPLES / "layernorm_slip.py"))
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot, ["m"])
        assert app.shown_step == 8
        shown = str(app.query_one("#slip-at").render())
        assert "the hint's forward line:" in shown and "layernorm_slip.py:22" in shown
        assert "self.std = (inp.var(1, keepdim=True, unbiased=False) + self.eps).sqrt()" in shown


class _TornEmbedding(Module):
    """Writes each row's gradient where it must add them, then, as two threads writing one row at
    once may, leaves a row used twice part one write and part another."""

    def __init__(self, weight):
        self.weight = weight

    def forward(self, inp):
        return self.weight[inp]

    def bwd(self, out, inp):
        ids, rows = inp.reshape(-1), out.g.reshape(-1, self.weight.shape[1])
        self.weight.g = torch.zeros_like(self.weight)
        self.weight.g[ids] = rows
        first, last = [int(i) for i in (ids == ids[0]).nonzero()[[0, -1]]]
        self.weight.g[ids[0], :3] = rows[first, :3]
        self.weight.g[ids[0], 3:] = rows[last, 3:]


def test_a_value_made_inside_a_call_is_never_said_as_the_call(tmp_path):
    """`F.softsign(x)` runs `1 + |x|` and a division inside one call: the user's gradient divided by
    `(1 + |x|)**2` once too often is not "divided by `softsign(inp)`**2" (that is another tensor)."""
    i, edit, backward = next((i, e, b) for i, (e, b) in enumerate(generated.mutants(generated.LAYERS["FSoftsign"]))
                             if e.startswith("constant doubled"))
    outcome = generated.run(generated.LAYERS["FSoftsign"], "module", edit, backward, tmp_path, i)
    assert outcome.placed and "softsign(inp)`**2" not in outcome.said, outcome.said


def test_a_row_overwritten_is_named_whichever_writes_it_kept_element_by_element():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 5, (40, 3), generator=g)
    layers = [_TornEmbedding(torch.randn(5, 6, generator=g)), Lin(torch.randn(6, 1, generator=g), torch.zeros(1))]
    report = gradtui.check(layers + [Mse()], ids, torch.randn(40, 3, generator=g))
    assert report.first_mismatch.tensor.endswith("weight.g")
    assert "must add up its gradients, not be overwritten" in report.first_mismatch.hint


def _corpus_slip(layer: str, new: str):
    return next(s for s in corpus.SLIPS if s.layer == layer and s.new == new)


@pytest.mark.parametrize("layer, new", [
    ("GELU", "inp.g = out.g"),  # the layer's derivative never multiplied in
    ("Softmax", "inp.g = out"),  # its output given as the gradient
    ("Softmax", "inp.g = out * (out -"),  # `out` for one of two `out.g`s: one operand's path only
    ("GELU", "0.5 * inp)"),  # a statement's whole derivative (its `dt`) left out
    ("Sigmoid", "(1 + out)"),  # a sigmoid written by hand, searched as the function it is
    ("LogSoftmax", "out.g"),  # a log-softmax written by hand: the sum left out of its second term
    ("Attention", "inp.g = dv @ self.wv.t()"),  # a slip of the table with no form at these shapes is no path dropped
    ("LayerNorm", ")"),  # a slip that fits only because its change cancels: the path left out is the story
])
def test_a_slip_is_named_by_the_likeliest_edit_of_the_derived_backward(tmp_path, layer, new):
    slip = _corpus_slip(layer, new)
    outcome = corpus.run(slip, "module", tmp_path, 0)
    assert outcome.found and outcome.placed, outcome.hint
    assert outcome.named and not outcome.false, (slip.words, outcome.hint)


generated = benchmark("any_layer_mutants")


@pytest.mark.parametrize("layer", ["SiLU", "Tanh"])
def test_every_generated_mutant_that_changes_a_gradient_is_placed(tmp_path, layer):
    """benchmarks/any_layer_mutants.py's property on two of its layers: each one-edit mutant of the
    backward whose gradient differs (by autograd on the layer alone) stops the check at that layer's
    first wrong gradient, and most are named."""
    outcomes = [generated.run(generated.LAYERS[layer], "module", edit, backward, tmp_path, i)
                for i, (edit, backward) in enumerate(generated.mutants(generated.LAYERS[layer]))]
    wrong = [o for o in outcomes if o.kind in ("named", "fallback")]
    assert len(wrong) >= 10 and all(o.placed for o in wrong), [(o.edit, o.said) for o in wrong if not o.placed]
    assert sum(o.kind == "named" for o in wrong) >= 0.85 * len(wrong), [(o.edit, o.said) for o in wrong]


def test_a_layers_search_run_once_for_all_its_gradients_says_what_a_search_for_each_says(tmp_path, monkeypatch):
    """A slip that breaks two gradients of a layer-scaled residual `inp + gamma * tanh(inp @ w)` (a sign in its `dh`,
    which both `inp.g` and `w.g` read): the search of the derived backward runs once, for the first, and the other
    reads what it computed. A wide layer's results do not fit
    in what is kept (KEPT_BYTES), and each gradient's search runs again: the same hints either way."""
    from gradtui import derived

    layer = generated.LAYERS["ResidualTanhLinear"]
    backward = next(b for e, b in generated.mutants(layer) if e.startswith("sign: `1 + self.t ** 2`"))
    said = []
    for index, kept in enumerate((derived.KEPT_BYTES, 0)):
        monkeypatch.setattr(derived, "KEPT_BYTES", kept)
        cls = getattr(generated.corpus.loaded(generated.corpus.source(layer, "module", backward), tmp_path, f"tanh_{index}"),
                      layer.name)
        model, x, y, _, _ = generated.network(layer, cls, torch.float32)
        report = gradtui.check(model, x, y)
        said.append([(t.name, t.hint.replace(f"tanh_{index}.py", "tanh.py")) for step in report.steps
                     for t in step.tensors if t.hint and "already differs" not in t.hint])
    assert len(said[0]) == 2 and all("fits no known slip" not in hint for _, hint in said[0]), said[0]
    assert said[0] == said[1]


@pytest.mark.parametrize("layer, edit, words", [
    ("Attention", "axis: `(inp.transpose(-2, -1) @ dq).sum(-1)`",
     "sums its per-sample products, `inp.transpose(-2, -1) @ g` (batch × 12 × 4), over axis 2 (or -1) with .sum(2) "
     "where .sum(0), the batch, belongs"),
    ("Attention", "factor dropped: `self.p` for `dp * self.p`",
     "is missing `dp` inside its sum: `p.sum(dim)` (which is 1) where `(dp * p).sum(dim)` belongs"),
    ("BatchNormByHand", ".sum() dropped: `dxhat` for `dxhat.sum(0)`",
     "does not sum the mean's term: `- dxhat` where `- dxhat.sum(0)` belongs (in its `(n * dxhat - …) / n` form)"),
    ("BatchNormByHand", "factor dropped: `self.xhat` for `self.xhat * (dxhat * self.xhat).sum(0)`",
     "has `xhat` alone where `xhat * (dxhat * xhat).sum(0)` belongs in the variance's term"),
    ("BatchNormByHand", "factor dropped: `n` for `n * self.std`", "is autograd's times `std` in `self.std = "),
    ("L1Loss", "sign: `inp.squeeze(-1) + targ`", "reads `inp.squeeze(-1) + targ` where `inp.squeeze(-1) - targ` belongs"),
    ("Siren", "out for inp", "reads `3 * out` where `3 * inp` belongs"),
    ("ScaleNorm", "sum ↔ mean: `(out.g * y).mean()`", "a mean where the sum over the axes it was broadcast along belongs"),
    ("Tanh", "constant doubled: `4` for `2`", "squares twice: `1 - out**4` where `1 - out**2` belongs"),
    ("GELU", "constant doubled: `4` for `2`#1", "raises the power where it lowers it: `3 * inp**4` where `3 * inp**2` belongs"),
    ("Siren", "constant doubled: `6` for `3`#1", "reads `6 * inp` where `3 * inp` belongs"),
    ("Softsign", "constant doubled: `4` for `2`", "is autograd's divided by `d`**2 in `self.d = 1 + inp.abs()` ("),
    ("GLU", "factor dropped: `out.g` for `out.g * self.s`", ("the derivative of `self.a * self.s` (",
                                                              "(towards `a`) is missing the factor `s`")),
    ("GroupNorm", "term dropped: `-dy.mean(-1, keepdim=True)`", "is missing its first term, `out.g` itself"),
    ("GroupNorm", "axis: `dy.mean(0, keepdim=True)`",
     "averages the mean's term over axis 0: `out.g.mean(0, keepdim=True)` where `out.g.mean(-1, keepdim=True)` belongs"),
    ("WeightNormLin", ".sum() dropped: `dw * self.w`",
     ("in `self.w = self.v / self.n` (", "does not sum its projection term: `w * (dw * w)` where "
      "`w * (dw * w).sum(0, keepdim=True)` belongs")),
    ("WeightNormLin", "factor dropped: `self.w` for `self.w * (dw * self.w)",
     "has `w` alone where `w * (dw * w).sum(0, keepdim=True)` belongs in its projection term"),
    ("Hardtanh", "> → <", "has its comparison with -1 turned: `< -1` where `> -1` belongs"),
    ("HardSwish", "constant doubled: `6` for `3`#1", "is missing its upper bound: the gradient passes above 6 too"),
    ("MAPE", "term dropped: `targ.abs()` for", "reads `targ.abs()` where `targ.abs() + 1` belongs"),
    ("FLayerNorm", "sum ↔ mean: `inp.sum(-1, keepdim=True)`", "recomputes its mean as a sum where the mean belongs"),
    ("FLayerNorm", "sign: `dx + dx.mean(-1, keepdim=True)`",
     "has the mean's term's sign flipped: `+ out.g.mean(-1, keepdim=True)` where `- out.g.mean(-1, keepdim=True)` belongs"),
    ("FLayerNorm", "axis: `(out.g * xhat).sum(-1)`", "sums the gain's gradient over the last axis, `.sum(-1)`, where the "
                                                       "batch's, `.sum(0)`, belongs"),
    ("SoftplusBeta", "2 → 1", "is missing its beta: `torch.sigmoid(inp)` where `torch.sigmoid(2 * inp)` belongs"),
    ("SignedLog", "term dropped: `inp.abs()` for `1 + inp.abs()`", "is log's, `1 / inp.abs()`, where `1 / (1 + inp.abs())` "
                                                                     "belongs"),
    ("Centre", "term dropped: `-d.mean(-1, keepdim=True)`",
     ("the path through `inp` in `return (inp - inp.mean(-1, keepdim=True)) * self.g0` (",
      "(and what is left is (64, 1) where autograd's is (64, 12): the same values, broadcast)")),
    ("Centre", "axis: `inp.mean(0, keepdim=True)`",
     "reads `inp - inp.mean(0, keepdim=True)` where `inp - inp.mean(-1, keepdim=True)` belongs"),
    ("Standardize", "out for out.g#2",
     "has `out` alone where `out * (out.g * out).sum(0) / (n - 1)` belongs in the variance's term"),
    ("Cumsum", "out for out.g", "is computed from the layer's output `out` where its gradient `out.g` belongs"),
    ("RowScale", ".sum() dropped: `out.g * inp` for",
     "(towards `r`) is not summed over the axes it was broadcast along (.sum(1, keepdim=True) missing)"),
    ("FiLM", "axis: `(out.g * inp).sum(-1)`", "(towards `1 + self.g`) is .sum(1) where .sum(0) belongs"),
    ("SignedPow", "power dropped: `self.a` for `self.a ** 0.5`",
     "is missing the power of its a**0.5: `1.5 * a` where `1.5 * a**0.5` belongs"),
    ("Standardize", ".sum() dropped: `out.g * self.xhat`",
     "does not sum the variance's term: `out * (out.g * out) / (n - 1)` where `out * (out.g * out).sum(0) / (n - 1)` "
     "belongs"),
    ("TempSoftmax", "out for out.g", "takes `out` where `out.g` belongs in its first term"),
    ("MaxShift", ".sum() dropped: `out.g` for", "is not summed over the axes it was broadcast along (.sum(1, keepdim=True) "
                                                 "missing)"),
    ("AbsMeanNorm", ".sum() dropped: `out.g * inp / self.m ** 2`",
     "(towards `m`) is not summed over the axes it was broadcast along (.sum(1, keepdim=True) missing)"),
    ("AbsMeanNorm", "axis: `(out.g * inp / self.m ** 2).sum(0", "is .sum(0, keepdim=True) where .sum(1, keepdim=True) belongs"),
    ("AbsMeanNorm", "factor dropped: `out.g` for `out.g * inp`", "towards `m` is missing the factor `inp`"),
    ("AbsMeanNorm", "division dropped: `out.g * inp` for", "towards `m` is missing the division by `m ** 2`"),
    ("AbsMeanNorm", "factor dropped: `(out.g * inp / self.m ** 2)", "is left out: the gradient of `m` reaches `inp` unchanged"),
    ("SELU", "factor dropped: `1.0507 * out.g` for", ("the derivative of `1.6733 * (torch.exp(inp) - 1)` in `return 1.0507",
                                                     "is left out as a whole: the gradient reaches `inp` through it unchanged")),
    ("SELU", "out for inp", ("the derivative of `torch.exp(inp)` in `return 1.0507 *", "uses `out` where `inp` belongs")),
    ("SELU", "factor dropped: `1.6733` for", "its derivative, `torch.exp(inp)`, is never multiplied in"),
    ("Squareplus", "division dropped: `inp` for", ("the derivative of `self.r = torch.sqrt(inp ** 2 + 4)`",
                                                   "is missing the division by `r`: 1/2 where")),
    ("ScaleShift", "axis: `(out.g * inp * e).sum(-1)`", "summed over the features: scaleshift1.w.g is (64,), one value per row"),
    ("RMSNormGainFirst", "factor dropped: `out.g` for `out.g * self.w`",
     ("the derivative of `self.w * inp * self.r` (",
      "(towards `inp * self.r`) is missing the factor `w`")),
    ("RMSNormGainFirst", "factor dropped: `inp` for `dy * inp`",
     "the derivative of `inp * self.r` in `return self.w * inp * self.r` ("),
    ("MMLinear", "keepdim dropped: `out.g.sum()`", "(towards `b`) is summed over every axis, .sum(), where .sum(0) belongs"),
    ("AltMask", "factor dropped: `out.g` for `out.g * self.m`", "is missing `self.m` in every gradient through it"),
    ("QuarticLoss", "factor dropped: `self.d ** 3` for `4 * self.d ** 3`", "is missing its 4: `d**3` where `4 * d**3` belongs"),
    ("ScaleNorm", "factor dropped: `dy` for `dy * y`",
     "has `g.sum(-1, keepdim=True)` where `(g * (inp / self.n)).sum(-1, keepdim=True)` belongs in its projection term"),
    ("LogCoshAct", "factor dropped: `out.g` for `out.g * torch.tanh(inp)`",
     ("is out.g passed on unchanged", "comes to `1 / torch.cosh(inp) * torch.sinh(inp)`")),
    ("VarScale", "sign: `inp + mu`", "has the mean's sign flipped: x + x.mean() where x - x.mean() belongs"),
    ("CauchyLoss", "constant doubled: `4` for `2`#1", "reads `self.d ** 4` where `self.d ** 2` belongs"),
    ("RBF", "power dropped: `self.s` for `self.s ** 2`", (
        "the derivative of `torch.exp(-self.d ** 2 / (2 * self.s ** 2))` (",
        "reads `torch.exp(-self.d ** 2 / (2 * self.s))` where `torch.exp(-self.d ** 2 / (2 * self.s ** 2))` belongs")),
    ("RBF", "factor dropped: `2` for `2 * self.s ** 2`",
     "reads `torch.exp(-self.d ** 2 / 2)` where `torch.exp(-self.d ** 2 / (2 * self.s ** 2))` belongs"),
    ("ExpDecayLoss", "power dropped: `self.d` for `self.d ** 2`", "reads `torch.exp(-self.d)` where `torch.exp(-self.d ** 2)` "
                                                                  "belongs"),
    ("GELUTanh", "factor dropped: `0.5` for `0.5 * inp`", "reads `0.5` where `0.5 * inp` belongs"),
    ("CELU", "division dropped: `inp` for `inp / 0.5`", ("the derivative of `torch.expm1(inp / 0.5)` in `return torch.where(",
                                                         "reads `torch.expm1(inp)` where `torch.expm1(inp / 0.5)` belongs")),
    ("NormPlusOne", "term dropped: `self.n` for `self.n - 1`",
     ("the derivative of `inp.norm(dim=1, keepdim=True)` in `self.n = ", "is taken from `n` where its own value belongs")),
    ("RollMax", "minus dropped: `1` for `-1`", ("the derivative of `self.other = inp.roll(1, 1)` (",
                                                "rolls the gradient the way the forward rolls its input, where the "
                                                "opposite shift belongs")),
    ("Highway", "factor dropped: `out.g` for `out.g * (self.h - inp)`", (
        "l1.g: the derivative of `return self.t * self.h + (1 - self.t) * inp` (",
        "towards `t` is left out: the gradient reaches `t` unchanged; its derivative comes to `h - inp`")),
    ("Highway", "factor dropped: `self.h - inp` for `out.g * (self.h - inp)`", (
        "the derivative of `return self.t * self.h + (1 - self.t) * inp` (",
        "towards `t` does not multiply in the gradient coming from above")),
    ("Highway", "term dropped: `out.g * (1 - self.t)`", (
        "l1.g keeps only the path of `inp` through `(1 - self.t) * inp` in `return self.t * self.h + (1 - self.t) * inp` (",
        "its paths through `inp @ self.w` and `inp @ self.v` are missing")),
    ("Snake", "sum ↔ mean", "snake1.a.g is divided by 768: a mean where the sum over the axes it was broadcast along belongs"),
    ("FSiLU", "sign: `1 + s` for `1 - s`", (
        "l1.g: the derivative of `torch.nn.functional.silu(inp)` (",
        "is `torch.sigmoid(inp) * (1 + inp * (1 + torch.sigmoid(inp)))` where `torch.sigmoid(inp) * (1 + inp * (1 - "
        "torch.sigmoid(inp)))` belongs")),
    ("FGELUTanh", "constant doubled: `0.08943`", (
        'the derivative of `torch.nn.functional.gelu(inp, approximate="tanh")` (',
        "has `0.08943 * inp ** 3` where `0.044715 * inp ** 3` belongs; fix: inp.g = out.g * (0.5 * (1 + torch.tanh(")),
    ("FMish", "out for inp", "has `torch.nn.functional.softplus(out)` where `torch.nn.functional.softplus(inp)` belongs"),
    ("FELU", "> → <", "is `torch.where(inp < 0, 1.0, torch.exp(inp))` where `torch.where(inp > 0, 1.0, torch.exp(inp))` belongs"),
    ("FSELU", "constant doubled: `3.3465264847087544`", (
        "the derivative of `torch.nn.functional.selu(inp)` (",
        "has `3.3465264847087544` where `1.6732632423543772` belongs; fix: inp.g = out.g * (1.0507009873554805 * ")),
    ("FCELU", "division dropped: `inp` for `inp / 0.5`", (
        "is `torch.where(inp > 0, 1.0, torch.exp(inp))` where `torch.where(inp > 0, 1.0, torch.exp(inp / 0.5))` belongs")),
    ("FTanhshrink", "power dropped: `t` for `t ** 2`", "is missing its square: `1 - torch.tanh(inp)` where "
                                                       "`1 - torch.tanh(inp)**2` belongs"),
    ("Standardize", "sign: `n + 1` for `n - 1`", "(Bessel's correction with n + 1 for n − 1, n = 64)"),
    ("FGLULinear", "factor dropped: `out.g` for `out.g * s`", ("the derivative of `torch.nn.functional.glu(self.h, -1)` (",
                                                               ") (towards `h[:, :12]`) is missing the factor "
                                                               "`torch.sigmoid(h[:, 12:])`")),
    ("Hypot", "factor dropped: `out.g` for `out.g * inp`", "towards `inp` is missing its numerator `inp`: `out.g / out` "
                                                           "where `out.g * inp / out` belongs"),
    ("VarMeanNorm", "term dropped: `dxhat` for", ("the path through `mean` in `var, mean = torch.var_mean(inp, -1, ",
                                                  "the backward is missing the mean's term, `- dxhat.mean(-1, keepdim=True)`")),
    ("FMSELoss", "term dropped: `inp.squeeze(-1)` for", ("the derivative of `torch.nn.functional.mse_loss(inp.squeeze(-1), ",
                                                         "is `2 * inp.squeeze(-1) / inp.squeeze(-1).numel()` where `2 * "
                                                         "(inp.squeeze(-1) - targ) / inp.squeeze(-1).numel()` belongs")),
    ("FSmoothL1", "out for inp", ("smooth_l1_loss(inp.squeeze(-1), targ)` (",
                                  "has `out - targ` where `inp.squeeze(-1) - targ` belongs")),
    ("FBCELogits", "term dropped: `-torch.sigmoid(targ)`", "has `-torch.sigmoid(targ)` where `torch.sigmoid(inp.squeeze(-1)) "
                                                           "- torch.sigmoid(targ)` belongs"),
    ("FHuber", "constant doubled", "has `(inp.squeeze(-1) - targ).abs() <= 1.0` where `(inp.squeeze(-1) - targ).abs() <= 0.5` "
                                   "belongs"),
    ("SoftMargin", "factor dropped: `-y` for `-y * inp.squeeze(-1)`", "has `-torch.sign(targ)` where `-torch.sign(targ) * "
                                                                        "inp.squeeze(-1)` belongs"),
    ("AddmmLinear", "`self.w` for `self.w.t()`", ("the derivative of `torch.addmm(self.b, inp, self.w)` (",
                                                  "is missing a transpose: `out.g @ w` where `out.g @ w.T` belongs")),
    ("MaximumFloor", "> → <", "has its mask inverted: each operand takes the gradient where the other one is chosen"),
    ("BatchSoftmax", "factor dropped: `out.g` for `out.g * out`", ("the derivative of `e / e.sum(0)`",
                                                                   "is missing the factor out inside its sum")),
    ("SigRecompute", "out for inp", "is `torch.sigmoid(out) * (1 - torch.sigmoid(inp))` where `torch.sigmoid(inp) * (1 - "
                                    "torch.sigmoid(inp))` belongs"),
    ("SoftplusExp", "term dropped: `1` for `1 + torch.exp(inp)`", "is `torch.exp(inp)` where `torch.exp(inp) / (1 + "
                                                                  "torch.exp(inp))` belongs"),
    ("BCEQuotient", "term dropped: `1` for `1 - self.p`", "is `(p - torch.sigmoid(targ)) / p / p.numel()` where `(p - "
                                                          "torch.sigmoid(targ)) / (p * (1 - p)) / p.numel()` belongs"),
    ("StdScale", "axis: `inp.mean(0, keepdim=True)`", ("the derivative of `self.s = inp.std(-1, keepdim=True)` (",
                                                       "centres by the mean over axis 0: x - x.mean(0) where x - x.mean(-1) "
                                                       "belongs")),
    ("FBatchNorm", "sum ↔ mean: `dxhat.mean(0)`", "averages the mean's term twice: `out.g.mean(0)` where `out.g.sum(0)` "
                                                  "belongs (in its `(n * out.g - …) / n` form)"),
    ("FHardswish", "term dropped: `3` for `2 * x + 3`", "has `3` where `2 * (inp * 3) + 3` belongs"),
    ("FELUHalf", "sign: `out - 0.5`", "is `torch.where(inp > 0, 1.0, out - 0.5)` where `torch.where(inp > 0, 1.0, out + 0.5)` "
                                      "belongs"),
    ("FLayerNorm", "out for inp", "recomputes its mean from the output, `out.mean()`, where the input's belongs"),
    ("FLayerNorm", "out for inp#2", "recomputes its normalised x from the output: `(out - mean) * rstd` where `(x - mean) * "
                                    "rstd` belongs"),
    ("FNormalize", "division dropped", ("the derivative of `torch.nn.functional.normalize(inp, dim=-1)` (",
                                        "is missing its division by the norm, `/ inp.norm(dim=-1, keepdim=True)`")),
    ("PowerScale", "factor dropped: `out.g * a ** self.p` for", "towards `p` is missing its log: `inp.abs()**p` where "
                                                                 "`inp.abs()**p * log(inp.abs())` belongs"),
    ("PowerScale", "power dropped: `a` for `a ** (self.p - 1)`", "towards `inp.abs()` is missing its power: `p * inp.abs()`"),
    ("PowerScale", "sum ↔ mean", "a mean where the sum over the axes it was broadcast along belongs"),
    ("TwoClassCE", "term dropped: `p` for", (
        "the derivative of the log_softmax inside `torch.nn.functional.cross_entropy(self.z, self.lab)`",
        "is missing its first term", "the one-hot left out")),
    ("TwoClassCE", "sign: `p + ", "the one-hot added where it is subtracted"),
    ("FrobLinear", ".sum() dropped: `gwn * self.wn`", ("the derivative of `self.wn = self.w / self.w.norm()`",
                                                        "is not summed over the axes it was broadcast along")),
    ("QuickGELU", "constant doubled: `3.404` for `1.702`", ("the derivative of `torch.sigmoid(1.702 * inp)` in ",
                                                              "and every derivative after it that reads its value, reads "
                                                              "`torch.sigmoid(3.404 * inp)` where `torch.sigmoid(1.702 * inp)` "
                                                              "belongs")),
    ("NewGELU", "constant doubled: `0.08943` for `0.044715`", ("and every derivative after it that reads its value, reads ",
                                                                "0.08943", "where `torch.tanh(")),
    ("DiceLoss", "term dropped: `p.sum()` for `p.sum() + y.sum()`",
     "reads `self.p.sum() + 1` where `self.p.sum() + self.y.sum() + 1` belongs"),
    ("LlamaRMSNorm", ".mean() dropped: `dx * xhat`", ("the derivative of `x * self.r` in `return (x * self.r).type_as(inp)",
                                                       "does not average the mean square's term")),
    ("LogSoftmaxBatch", "out for out.g", "takes `out` where `out.g` belongs in its first term"),
    ("LogSoftmaxBatch", "sign: `out.g + out.exp()", "has its second term's sign flipped"),
    ("ErfGELU", "constant doubled: `4` for `2`", ("the derivative of `0.5 * inp * (1 + torch.erf(inp * 0.7071067811865476))`",
                                                  "has `inp ** 4` where `inp ** 2` belongs")),
    ("NewGELU", "constant doubled: `4.0` for `2.0`", ("the derivative of `0.5 * inp * (1.0 + torch.tanh(",
                                                      "where `2 / math.pi` belongs")),
    ("SiLUByExp", "sign: `1 + s` for `1 - s`", ("the derivative of `inp / (1 + torch.exp(-inp))`",
                                                "is `torch.sigmoid(inp) * (1 + inp * (1 + torch.sigmoid(inp)))` where "
                                                "`torch.sigmoid(inp) * (1 + inp * (1 - torch.sigmoid(inp)))` belongs")),
    ("TanhBySigmoid", "sign: `1 - torch.exp(-2 * inp)`", ("the derivative of `2 / (1 + torch.exp(-2 * inp)) - 1`", "reads "
                                                          "`2 / (1 - torch.exp(-2 * inp)) - 1` where `2 / (1 + torch.exp("
                                                          "-2 * inp)) - 1` belongs")),
    ("TanhBySigmoid", "constant doubled: `4` for `2`", "made again with 4 in place of 2 in `2 / (1 + torch.exp(-2 * inp))`"),
    ("TanhBySigmoid", "sign: `1 + torch.pow(", "has the sign of its out**2 flipped: `1 + out**2` where `1 - out**2` belongs"),
    ("StagedLN", "constant doubled: `6` for `3`", ("the derivative of `self.ivar = 1. / torch.sqrt(self.var + 1e-5)`",
                                                  "is `-0.5 * ivar ** 6` where `-0.5 * ivar ** 3` belongs")),
    ("StagedLN", "factor dropped: `torch.sum(dxhat * self.xmu, 1, keepdim=True)` for",
     "is missing its -1/2: out**3 where -0.5 * out**3 belongs"),
    ("SoftplusByLog", "term dropped: `1` for `1 + torch.exp(-inp)`", "l1.g is out.g passed on unchanged: the derivative "
                                                                     "of the layer's forward is never multiplied in"),
    ("SquareLossHalf", "out for inp", ("the derivative of `(targ - inp.squeeze(-1)) ** 2`", "reads `targ - out` where "
                                                                                          "`targ - inp.squeeze(-1)` belongs")),
    ("ELUFromOut", "term dropped: `self.o` for `self.o + 0.1`", "l1.g is out.g × (the layer's derivative − 0.1) where inp < 0"),
    ("ELUFromOut", "sign: `self.o - 0.1` for", "l1.g is out.g × (the layer's derivative − 0.2) where inp < 0"),
    ("StagedLN", "factor dropped: `-dxhat` for `-dxhat * self.ivar`", ("by a constant in each row", "the mean term "
                                                                      "`- dxhat.sum(1)` is wrong (written in steps: dmean)")),
    ("CompactBN", "factor dropped: `self.xc * self.si ** 2` for", ("by a multiple of xhat in each feature", "the variance term "
                                                                 "`- xhat * (dxhat * xhat).sum(0)` is wrong")),
    ("SigmoidCalled", "factor dropped: `out.g` for `out.g * self.s`", ("is missing its factor out: `1 - out` where "
                                                                        "`out * (1 - out)` belongs; or, with the same "
                                                                        "numbers, it is missing its square: `-out` where "
                                                                        "`-out ** 2` belongs")),
    ("TokenMix", "keepdim dropped: `(da * self.a).sum(-1)`",
     "sums `(da * a)` without keepdim=True: each row's sum is laid along the last axis, where `(da * a).sum(-1, keepdim=True)` "
     "belongs"),
    ("SoftsignScaled", "factor dropped: `out.g` for `out.g * -inp`", "towards `den` is missing `-inp`: g / b**2 where "
                                                                     "-g * a / b**2 belongs"),
    ("LabelSmoothCE", "sign: `torch.softmax(self.z, 1) + self.q`", "has its first term's sign flipped (in a cross-entropy's"),
    ("LogitNorm", "term dropped: `inp` for `inp - self.lse`", "is `exp(inp)`, not divided by the sum: `exp(inp)` where "
                                                              "`exp(inp - lse)` belongs"),
    ("ScaleNormEps", "division dropped: `-(dy * inp).sum(1, keepdim=True)` for", "is missing the division by "
                                                                              "`(self.n + 1e-5) ** 2`"),
    ("ScaleNormEps", "factor dropped: `dn` for `dn * inp`", "is missing its factor `inp`: `g / n` where `g * inp / n` belongs"),
    ("ScaleNormEps", "division dropped: `dn * inp` for", "is missing its division by `n`: `g * inp` where `g * inp / n` belongs"),
    ("StdNorm", "term dropped: `self.s` for `self.s - 0.001`", ("the derivative of `inp.std(1, keepdim=True)` in `self.s = "
                                                                "inp.std(1, keepdim=True) + 1e-3` (", ") is taken from `s` where "
                                                                "its own value belongs")),
    ("StdNorm", "factor dropped: `self.s - 0.001` for", "is not divided by the count, 11: (x - x.mean()) / "),
    ("RNNLayer", "term dropped: `out.g[:, 4 * t:4 * t + 4]` for", (
        "l1.g: the path through `h @ self.wh` in `h = torch.tanh(inp[:, 4 * t:4 * t + 4] @ self.wx + h @ self.wh + "
        "self.b)` (", ") is missing, in each of the 3 passes of its loop")),
    ("RNNLayer", "sign: `out.g[:, 4 * t:4 * t + 4] - dh_next`", "(towards `h`) is sign-flipped, in each of the 3 passes"),
    ("RNNLayer", "term dropped: `t` for `t - 1`", (
        "rnnlayer1.wh.g: the derivative of `h @ self.wh` in `h = torch.tanh(inp[",
        ") uses `h` as this pass of its loop makes it where the pass before's `h` belongs, in each pass after the first")),
    ("PolyLoop", "factor dropped: `self.c[k]` for `k * self.c[k]`", (
        "the derivative of `inp ** k` in `out = out + self.c[k] * inp ** k` (",
        "is missing its 3: `inp**2` where `3 * inp**2` belongs, in each of the 4 passes of its loop")),
    ("ResidualStack", "term dropped: `da @ self.ws[i].t()`", (
        "the path through `h` in `h = h + torch.tanh(h @ self.ws[i])` (", ") is missing, in each of the 2 passes")),
    ("CentreDist", ".sum() dropped: `dd` for `dd.sum(1)`",
     "(towards `inp[:, None, :]`) is not summed over the axes it was broadcast along (.sum(1) missing)"),
    ("LSEShift", "factor dropped: `gs` for `p * gs`", (
        "the derivative of `self.lse = torch.logsumexp(self.s, 1, keepdim=True)` (",
        ") is left out (the gradient passes through it unchanged)")),
    ("Rotary", "factor dropped: `x2` for `x2 * c`", (
        "rotary1.theta.g: the derivative of `torch.sin(self.theta)` in `c, s = torch.cos(self.theta), torch.sin(self.theta)` (",
        ") on its path through `x2 * s` (", "is left out (the gradient passes through it unchanged): its derivative, "
                                            "`torch.cos(theta)`, is never multiplied in")),
    ("AxisSoftmax", "keepdim dropped: `(out.g * self.p).sum()`",
     "sums over every element (`.sum()`) where the sum over axis -1 (the softmax's, keepdim=True) belongs"),
    ("SDPAHead", "factor dropped: `dp - (dp * p).sum(-1, keepdim=True)` for", (
        "the derivative of the softmax inside `torch.nn.functional.scaled_dot_product_attention(x, x, x)` in `return ",
        "is missing its leading factor out")),
    ("CDistRBF", "sign: `inp[:, None, :] + self.c[None, :, :]`", (
        "l1.g: the derivative of `(inp.unsqueeze(-2) - c.unsqueeze(-3)) ** 2` inside `self.d = torch.cdist(inp, self.c)` (",
        "reads `inp.unsqueeze(-2) + c.unsqueeze(-3)` where `inp.unsqueeze(-2) - c.unsqueeze(-3)` belongs")),
    ("MixerTokens", "axis: `(g @ self.x.transpose(1, 2)).sum(-1)`", (
        "mixertokens1.w.g: the derivative of `self.w @ self.x` in `return (self.x + self.w @ self.x).reshape(inp.shape)` (",
        "is .sum(2) where .sum(0) belongs (the axes it was broadcast along)")),
    ("AtanGain", "factor dropped: `out.g` for `out.g * (inp * d", "atangain1.a.g is out.g summed to its shape: the "
     "derivative of the layer's forward is never multiplied in"),
    ("GlobalMaxNorm", "factor dropped: `inp.sign()`", (
        "l1.g: the derivative of `self.m = inp.abs().amax()` (", "is left out (the gradient passes through it unchanged): "
        "its derivative, `(inp.abs() == m)`, is never multiplied in")),
    ("VarShift", "term dropped: `-inp.mean(0)` for", (
        "l1.g: the derivative of `inp.var(0, keepdim=True)` in `return inp + self.lam * inp.var(0, keepdim=True)` (",
        "is missing x: -x.mean() alone where x - x.mean() belongs")),
    ("VarShift", "sum ↔ mean: `(out.g * inp.var(0)).mean()`",
     "varshift1.lam.g is divided by 768: a mean where the sum over the axes it was broadcast along belongs"),
    ("MaxoutCat", "out for out.g: `out` for `out.g`#1",
     ("l1.g: the derivative of `torch.cat([self.m, self.m, self.m], 1)` (", ") towards its second piece, `out.g[:, 4:8]`, "
      "is computed from the layer's output `out` where its gradient `out.g` belongs")),
    ("MaxoutCat", "term dropped: `out.g[:, :4] + out.g[:, 4:8]` for",
     "towards its third piece, `out.g[:, 8:]`, is missing: the path through it is left out"),
    ("MaxoutCat", "sign: `out.g[:, :4] - out.g[:, 4:8]`", "towards its second piece, `out.g[:, 4:8]`, is sign-flipped"),
    ("InstanceNormTokens", "sum ↔ mean: `g.mean(1, keepdim=True)`",
     ("l1.g: the derivative of `instance_norm` in `self.xh = (self.x - self.mu) / self.sd` (",
      "averages the mean's term twice: `dxh.mean(1, keepdim=True)` where `dxh.sum(1, keepdim=True)` belongs")),
    ("LogCoshAct", "out for inp", "l1.g is the backward read at the layer's output: `out` where `inp` belongs, in every "
                                   "derivative that reads it"),
    ("SincAct", "term dropped: `-torch.sin(px)` for",
     ("l1.g: the derivative of `torch.sinc(inp)` (", ") has `-torch.sin(math.pi * inp)` where `torch.cos(math.pi * inp) * "
      "math.pi * inp - torch.sin(math.pi * inp)` belongs")),
    ("MinMaxNorm", "out for out.g: `out` for `out.g`#1",
     ("l1.g: the derivative of `(inp - self.lo) / self.r` (", ") towards `r` is computed from the layer's output `out` where "
      "its gradient `out.g` belongs, on its path to `lo` through `self.hi - self.lo` in `self.r = self.hi - self.lo + 1` (",
      ") only")),
    ("InstanceNormTokens", "factor dropped: `g` for `g * self.xh`",
     "has `dxh.mean(1, keepdim=True)` where `(dxh * xh).mean(1, keepdim=True)` belongs in the variance's term"),
], ids=["a-batched-products-axis", "softmax-sum-without-its-gradient", "closed-form-sum-left-out", "closed-form-xhat-alone",
        "a-division-by-a-forward-tensor", "an-operand-made-again-sign", "an-operand-made-again-out", "a-broadcasts-mean",
        "tanh-squared-twice", "a-power-raised", "an-operands-constant-doubled", "a-closed-forms-square-too-many",
        "a-chunks-pieces-named", "a-normalisations-first-term", "a-normalisations-term-over-another-axis",
        "an-l2-normalisations-projection-not-summed", "an-l2-normalisations-projection-alone", "a-clamps-comparison-turned",
        "a-clamps-bound-left-out", "a-targets-expression-made-again", "recomputed-statistics-mean-summed",
        "a-closed-forms-term-sign-flipped", "a-fused-gains-sum-over-the-last-axis", "softplus-beta-left-out",
        "log1p-as-log", "a-term-left-out-one-value-per-row", "an-operands-mean-over-another-axis",
        "a-standardisation-over-n-1s-closed-form", "a-cumsum", "a-broadcasts-sum-left-out-above-an-operation",
        "a-broadcasts-sum-over-another-axis-above-an-operation", "a-powers-power-left-out",
        "an-unbiased-closed-forms-variance-term-not-summed", "a-softmaxs-output-for-its-gradient",
        "a-maxs-broadcast-not-summed", "a-broadcast-not-summed-above-a-mean", "a-broadcast-summed-over-another-axis-above-a-mean",
        "a-divisors-gradient-without-the-numerator", "a-divisors-gradient-without-its-square",
        "a-reductions-statement-left-out", "an-expression-left-out-as-a-whole", "exp-evaluated-at-the-output",
        "an-unnamed-operations-derivative-said-as-its-code", "sqrts-derivative-without-its-division",
        "a-parameter-summed-over-the-features", "a-gain-multiplied-in-first-left-out",
        "a-gain-multiplied-in-first-a-path-without-the-gradient-from-above", "a-bias-summed-over-every-axis",
        "a-constant-tensor-operand", "a-factor-with-no-name-of-its-own-named-by-its-operation",
        "an-l2-normalisations-gain-multiplied-in-first", "a-hyperbolic-functions-derivative-written-out",
        "a-variances-mean-sign-flipped", "an-operands-power-doubled", "exps-own-value-made-again-a-power-left-out-inside",
        "exps-own-value-made-again-a-number-alone-inside", "a-losss-exp-made-again-its-power-left-out",
        "an-operand-made-again-its-number-alone", "expm1s-own-value-made-again-a-division-left-out",
        "a-norms-own-value-taken-from-another-tensor", "a-roll-rolled-back-the-wrong-way",
        "a-statements-derivative-towards-one-input-left-out", "a-statements-derivative-towards-one-input-without-g",
        "one-path-of-three-kept", "a-parameter-read-twice-its-mean-for-its-sum", "a-fused-silus-derivative-sign-flipped",
        "a-fused-gelus-constant-doubled-said-by-its-part", "a-fused-mishs-softplus-of-out-everywhere",
        "a-fused-elus-comparison-turned", "a-selus-alpha-doubled-its-scale-kept", "a-celus-alpha-left-out",
        "an-operation-inside-a-call-said-by-its-own-code", "bessels-correction-with-n-plus-1",
        "a-decomposed-functions-halves-said-as-slices", "hypots-numerator-left-out", "var-means-mean-a-path-left-out",
        "mse-losss-target-left-out", "smooth-l1s-difference-from-out", "bce-with-logits-term-left-out",
        "hubers-delta-doubled-in-its-bound", "soft-margins-input-left-out", "addmms-weight-not-transposed",
        "maximums-mask-inverted", "a-softmax-over-the-batch-its-factor-left-out", "a-sigmoids-derivative-from-its-input",
        "a-softplus-derivative-by-exp", "a-binary-cross-entropys-derivative-as-a-quotient", "a-stds-mean-over-another-axis",
        "a-batch-norms-mean-term-averaged-twice", "hardswishs-middle-term-left-out", "an-elus-derivative-from-its-output",
        "a-layer-norms-mean-made-again-from-its-output", "a-layer-norms-xhat-made-again-from-its-output",
        "f-normalizes-division-left-out", "a-learned-exponents-log-left-out", "a-learned-exponents-power-left-out",
        "a-learned-exponents-mean-for-sum", "a-cross-entropys-one-hot-left-out", "a-cross-entropys-one-hot-added",
        "a-frobenius-norms-sum-left-out", "a-value-made-again-everywhere-its-number-doubled",
        "a-tanh-made-again-everywhere-a-constant-doubled", "a-scalar-read-twice-made-again-a-term-left-out",
        "a-normalisation-cast-to-float32-by-hand", "a-log-softmaxs-output-for-its-gradient", "a-log-softmaxs-sign",
        "gelu-by-erf-written-out-a-power-doubled", "gelu-by-tanh-written-out-a-constant-doubled",
        "silu-by-exp-written-out-a-sign", "tanh-by-sigmoid-made-again-a-sign",
        "tanh-by-sigmoid-made-again-a-number-doubled", "tanh-by-sigmoid-its-square-s-sign", "a-staged-rsqrts-power-doubled",
        "a-staged-rsqrts-minus-half-left-out", "a-whole-derivative-left-out-before-a-swap-that-cancels",
        "a-losss-value-for-its-input", "an-elus-derivative-from-its-output-its-constant-left-out",
        "an-elus-derivative-from-its-output-its-constants-sign", "a-staged-layer-norms-mean-term",
        "a-compact-batch-norms-variance-term", "a-second-story-of-the-same-operation-said-as-it",
        "an-attentions-softmax-sum-without-keepdim", "a-divisors-gradient-without-minus-numerator",
        "a-label-smoothings-one-hot-made-by-full-like-added", "logsumexps-derivative-not-divided-by-the-sum",
        "a-compound-divisors-square-in-parentheses", "a-norms-derivative-without-its-input", "a-norms-derivative-undivided",
        "a-stds-own-value-taken-with-its-epsilon", "a-stds-derivative-not-divided-by-n-1",
        "an-rnns-recurrent-path-left-out-in-every-step", "an-rnns-recurrent-sign-in-every-step",
        "an-rnns-step-for-the-step-before",
        "a-polynomial-loops-power-factor-in-every-pass",
        "a-residual-stacks-path-in-every-block", "a-3d-broadcast-not-summed-back-through-an-unsqueeze",
        "a-logsumexps-whole-derivative-left-out", "a-derivative-left-out-on-one-path-of-a-value-read-twice",
        "a-softmaxs-sum-over-every-element", "the-softmax-inside-scaled-dot-product-attention",
        "cdist-written-out-its-difference-sign-flipped", "a-weight-broadcast-over-a-batch-of-tokens-summed-over-another-axis",
        "a-scalar-gains-derivative-left-out-whole", "a-maxs-mask-left-out", "a-variances-x-left-out",
        "a-gains-mean-over-the-whole-output-through-two-broadcasts", "a-cats-piece-from-out",
        "a-cats-piece-left-out", "a-cats-piece-sign-flipped", "a-token-norms-mean-term-averaged-twice",
        "a-closed-form-read-at-the-output", "sincs-derivative-written-out-a-term-left-out",
        "a-slip-on-one-path-of-a-gradient-written-a-term-per-path", "a-token-norms-variance-term-without-xhat"])
def test_a_generated_mutant_in_code_written_as_users_write_it_is_named(tmp_path, layer, edit, words):
    """Mutants of benchmarks/any_layer_mutants.py whose slip is no plain edit of one derivative: a
    weight's per-sample products summed over the wrong axis, a batch norm's closed form in its
    `(n * d - d.sum(0) - …) / n` form, a closed form's division left out, an operand the derivative
    makes again with a sign, a tensor or a constant changed, a scalar gain's mean for its sum, tanh's
    square taken twice, a power raised where the derivative lowers it; a chunk's pieces by their names,
    a group norm's closed form through a view, an L2 normalisation's, a clamp's comparisons, a loss's
    target made again; a backward that recomputes F.layer_norm's statistics, or sums its gain's
    gradient over the features; softplus's beta, log1p as log; one value per row where a row belongs;
    a standardisation by `x.std(0)` in its closed form over n − 1; a cumulative sum; a broadcast's
    gradient summed back wrongly where an operation lies between it and the leaf (`r` of `inp.pow(2)
    .mean(-1)`, `1 + self.g`), or above a max or a mean; a power's derivative without its power; a
    divisor's gradient without its numerator or its square; a reduction, or an expression inside a
    statement, whose derivative is left out as a whole; exp evaluated at the output; sqrt's derivative
    without its division; a parameter's gradient summed over the features; an RMS norm's gain
    multiplied in before the norm (`w * x * rsqrt(…)`), its backward written as `dy = out.g * w`; a
    bias summed over every axis; a forward that multiplies by a tensor made from no input (a mask of
    `torch.arange`); a whole gradient off by a constant with no name (1/4), named by the operation
    whose constant it is; an L2 normalisation's gain multiplied in first (`g0 * x / x.norm(…)`); log
    cosh's derivative left out, written out; a variance's mean subtracted with its sign flipped; an
    operand the derivative reads made again with its power doubled; exp's own value made again with
    one edit inside its exponent (a power or a number left out), in a layer and in a loss; `0.5` where
    `0.5 * inp` belongs; expm1's own value made again, a norm's taken from `n = norm + 1`; a roll's
    gradient rolled the forward's way; a statement's derivative towards one of the tensors it reads
    left out, or without the gradient from above (a highway's gate); a tensor read three times with
    one path kept; a parameter read twice whose gradient is a mean where the sum belongs; one edit
    inside the derivative of an operation that runs a closed form (`F.silu`, `F.gelu` by tanh, said
    by the part it changes, `F.mish` with `out` in its softplus, made everywhere the code reads it,
    `F.elu`, SELU's (an ELU with a scale), CELU's); tanh inside `F.tanhshrink(x)` said as
    `torch.tanh(inp)`, not as the call; Bessel's correction with n + 1 for n − 1; `F.glu`, run as torch
    decomposes it, its halves said as the slices they are; hypot's numerator left out; a layer norm by
    `torch.var_mean`, its mean's path left out; one edit inside a loss's derivative (`F.mse_loss`,
    `F.smooth_l1_loss`, `F.huber_loss`, `F.binary_cross_entropy_with_logits`, `F.soft_margin_loss`, each
    run as one operation), its target among what it reads; `torch.addmm`'s weight not transposed;
    `torch.maximum`'s mask inverted; a softmax over the batch by hand; one edit of a derivative in another
    form than the table's own (a sigmoid's made again from its input, a softplus's by exp, a binary
    cross-entropy's as a quotient, an ELU's from its output, `F.hardswish`'s); a std's mean over another
    axis; `F.batch_norm`'s closed form with its mean's term averaged twice; `F.layer_norm`'s statistics
    made again from its output; `F.normalize`'s division left out; a learned exponent's derivative without
    its log, without its power, or a mean where its broadcast's sum belongs; `F.cross_entropy`'s
    `softmax - one_hot` without the one-hot or with it added; a division by `w.norm()` whose gradient is
    not summed back; a sigmoid's or a tanh's value made again with one slip and read by every derivative
    after it (QuickGELU's `sigmoid(3.404 x)`, minGPT's GELU); a scalar a loss reads twice (a Dice loss's
    denominator) made again with a term left out; an RMS norm by hand through a float32 cast, said by its
    expression; a log-softmax's output for its gradient, its second term's sign; GELU written out by erf
    or by tanh (minGPT's), and SiLU as `x / (1 + exp(-x))`, each searched as the one function it is, one
    edit inside its derivative as written; tanh as `2 / (1 + exp(-2x)) - 1` (a from-scratch library's), its
    value made again in the backward by hand with one edit; `1 / sqrt(var + eps)` of a staged layer norm, whose
    backward writes its derivative as `-0.5 * ivar ** 3`, with its power doubled or its -1/2 left out; a
    softplus's whole derivative left out, said so before exp evaluated at the output (the same numbers); a
    loss's own value where its input belongs; a softmax's sum without keepdim in an attention's square
    scores; a divisor's gradient without its `-a`; a cross-entropy whose smoothed one-hot is made by
    `full_like` and written into (a constant, not a value of the input); logsumexp's derivative not
    divided by the sum; a divisor that is an expression, squared in parentheses; a norm's derivative
    without its input or its division; a std's derivative that reads `std + eps` for the std, or is not
    divided by n − 1; a slip written once in a backward that loops as its forward does (an RNN's backward
    through time, a polynomial summed in a loop, a stack of residual blocks), made in every pass; a
    logsumexp's whole derivative left out, its gradient spread back over the row as it came; distances to
    centres through `inp[:, None, :]`, its broadcast's gradient not summed back (`.sum(1)`, the axis gone); a
    value read by two terms whose derivative one term leaves out (a rotary's `sin(theta)`, its `cos` not
    multiplied into `x2 * s`'s term); a softmax's sum over every element; the softmax inside
    `F.scaled_dot_product_attention`, said as such; `torch.cdist` by its definition, its difference's sign; a token
    mixer's weight, broadcast over the batch by `w @ x`, its gradient summed over another axis; a scalar gain whose
    whole derivative is left out (its gradient out.g summed); the max's mask left out of a division by the largest |x|;
    a variance's derivative with its x left out; a gain broadcast over the output through two operations, its mean
    over the whole output for its sum; one piece of a cat of one tensor three times (a maxout spread back), its
    slice of out.g taken from `out`, left out, or sign-flipped; a normalisation over the tokens of a 3-D view in its
    closed form, said in that form's terms over its own axis; a closed form (log cosh's `tanh(inp)`) read at the output;
    `torch.sinc`'s derivative written out, a term left out; a min-max normalisation's `dlo` written a term per path,
    `out` for `out.g` in the term through `hi - lo`: one edit on one path only.
    `words`: what the hint says, or the parts it says."""
    edit, nth = edit.split("#") if "#" in edit else (edit, 0)  # `#1`: its second mutant of those words
    found = ((i, e, backward) for i, (e, backward) in enumerate(generated.mutants(generated.LAYERS[layer])) if edit in e)
    i, said_edit, backward = next(itertools.islice(found, int(nth), None))  # (the mutants after it are not made)
    outcome = generated.run(generated.LAYERS[layer], "module", said_edit, backward, tmp_path, i)
    assert outcome.kind == "named" and outcome.placed, outcome.said
    assert all(part in outcome.said for part in ([words] if isinstance(words, str) else words)), outcome.said


def test_a_right_backward_through_hardsigmoid_passes_in_float64(tmp_path):
    """Autograd's own float64 hardsigmoid backward multiplies by 1/6 rounded to float32 (3e-8 off): a right
    backward through it is judged from there on with float32's tolerance, in a float64 run and in the float64
    replay of a float32 one, and passes."""
    path = tmp_path / "mine.py"
    path.write_text("import torch\nfrom gradtui.layers import Lin, Module, Mse\n\n\nclass HardSigmoid3(Module):\n"
                    "    def forward(self, inp):\n        return torch.nn.functional.hardsigmoid(inp * 3)\n\n"
                    "    def bwd(self, out, inp):\n        inside = (inp * 3 > -3) & (inp * 3 < 3)\n"
                    "        inp.g = out.g * inside * 3 / 6\n\n\nclass Model:\n    def __init__(self, w1, b1, w2, b2):\n"
                    "        self.layers, self.loss = [Lin(w1, b1), HardSigmoid3(), Lin(w2, b2)], Mse()\n")
    for dtype in ("float32", "float64"):
        report = gradtui.check(layers=str(path), dtype=dtype, init="random", batch=256)
        assert report.ok, (dtype, report.first_mismatch)


def test_a_right_backward_is_said_right_in_every_tenth_layer_of_the_mutant_benchmark(tmp_path):
    """Nothing false on code that is right: the layers' own backwards (every tenth of benchmarks/any_layer_mutants.py's
    layers; `--right` runs them all), in both styles, in float32 (and its float64 replay) and in float64, all pass."""
    names = list(generated.LAYERS)[::10]
    assert generated.false_verdicts(names, tmp_path) == []
