"""The table of derivatives (gradtui.derivatives), as PyTorch's OpInfo tests its operators: every
entry, through forwards written in every style (plain torch, methods, torch.nn.functional, einsum,
in place, a 3-D batch, integer indices), gives autograd's gradient; and the recorder keeps what the
user's code wrote (its lines, the names it assigns)."""

import math

import pytest
import torch
import torch.nn.functional as F

from gradtui.derivatives import RULES
from gradtui.derived import backward
from gradtui.graph import fused, record

N, C, T = 7, 6, 5


def rand(*shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def gain(seed=1):
    return 1 + 0.1 * rand(C, seed=seed)


IDS = torch.tensor([[0, 1, 1], [2, 0, 1]])
CAUSAL = torch.tril(torch.ones(T, T)) == 0


def attention(x, wq, wk, wv):
    q, k, v = x @ wq, x @ wk, x @ wv
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    return F.softmax(scores.masked_fill(CAUSAL, float("-inf")), -1) @ v


def layer_norm_steps(x, w, b):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return w * ((x - mu) * (var + 1e-5) ** -0.5) + b


FORWARDS = {
    "layer norm, F": (lambda x, w, b: F.layer_norm(x, (C,), w, b), (rand(N, C), gain(), rand(C, seed=2))),
    "layer norm, by hand": (lambda x, w, b: w * (x - x.mean(-1, keepdim=True)) / torch.sqrt(
        x.var(-1, keepdim=True, unbiased=False) + 1e-5) + b, (rand(N, C), gain(), rand(C, seed=2))),
    "layer norm, in steps": (layer_norm_steps, (rand(N, C), gain(), rand(C, seed=2))),
    "a norm over the tokens of a view, by hand": (lambda x: (lambda t: (t - t.mean(1, keepdim=True)) / (t.var(
        1, keepdim=True, unbiased=False) + 1e-5).sqrt())(x.view(N, 2, 3)).reshape(N, C), (rand(N, C),)),
    "a norm over the tokens of a view by `std` (over n − 1), by hand": (lambda x: (lambda t: (t - t.mean(
        1, keepdim=True)) / (t.std(1, keepdim=True) + 1e-5))(x.view(N, 3, 2)).reshape(N, C), (rand(N, C),)),
    "rms norm": (lambda x, w: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w, (rand(N, C), gain())),
    "batch norm, F": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (rand(N, C), gain(), rand(C))),
    "batch norm, by hand": (lambda x, w, b: w * (x - x.mean(0)) / (x.var(0, unbiased=False) + 1e-5).sqrt() + b,
                            (rand(N, C), gain(), rand(C, seed=2))),
    "gelu": (F.gelu, (rand(N, C),)),
    "gelu, tanh": (lambda x: F.gelu(x, approximate="tanh"), (rand(N, C),)),
    "gelu, by hand": (lambda x: 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
                      (rand(N, C),)),
    "gelu, erf": (lambda x: 0.5 * x * (1 + torch.erf(x / math.sqrt(2))), (rand(N, C),)),
    "hyperbolic": (lambda x: torch.log(torch.cosh(x)) + torch.sinh(0.5 * x) + torch.tan(0.5 * x), (rand(N, C),)),
    "inverse trigonometric": (lambda x: torch.atan(x) + torch.asin(0.5 * torch.tanh(x)) + torch.acos(0.3 * torch.tanh(x)),
                              (rand(N, C),)),
    "other bases": (lambda x: torch.expm1(x) + torch.exp2(x) + torch.log2(x.abs() + 1) + torch.log10(x.abs() + 1),
                    (rand(N, C),)),
    "silu": (F.silu, (rand(N, C),)),
    "silu, by hand": (lambda x: x * torch.sigmoid(x), (rand(N, C),)),
    "silu, exp": (lambda x: x / (1 + torch.exp(-x)), (rand(N, C),)),
    "softmax": (lambda x: F.softmax(x, -1), (rand(N, C),)),
    "softmax, by hand": (lambda x: (lambda e: e / e.sum(1, keepdim=True))(torch.exp(x - x.max(1, keepdim=True).values)),
                         (rand(N, C),)),
    "softmax and log-softmax over the batch, by hand": (lambda x: x.exp() / x.exp().sum(0) + (x - x.exp().sum(0).log()),
                                                        (rand(N, C),)),
    "log_softmax": (lambda x: F.log_softmax(x, 1), (rand(N, C),)),
    "logsumexp": (lambda x: x - x.logsumexp(1, keepdim=True), (rand(N, C),)),
    "cross entropy": (lambda x: F.cross_entropy(x, torch.arange(N) % C), (rand(N, C),)),
    "nll, by hand": (lambda x: -F.log_softmax(x, 1)[torch.arange(N), torch.arange(N) % C].mean(), (rand(N, C),)),
    "l1 loss": (lambda x: (x - rand(N, C, seed=9)).abs().mean(), (rand(N, C),)),
    "mse loss, F": (lambda x: F.mse_loss(x, rand(N, C, seed=9)), (rand(N, C),)),
    "smooth l1, huber, binary cross-entropy with logits, F": (lambda x, t: F.smooth_l1_loss(x, t) + F.huber_loss(
        x, t, delta=0.5) + F.smooth_l1_loss(x, t, beta=0.5, reduction="sum") + F.binary_cross_entropy_with_logits(
        x, torch.sigmoid(t)) + F.binary_cross_entropy_with_logits(x, torch.sigmoid(t), pos_weight=torch.sigmoid(t.detach())),
        (rand(N, C), rand(N, C, seed=1))),
    "soft margin and binary cross-entropy, F": (lambda x, t: F.soft_margin_loss(x, torch.sign(t.detach())) +
                                                F.binary_cross_entropy(torch.sigmoid(x), torch.sigmoid(t), reduction="sum"),
                                                (rand(N, C), rand(N, C, seed=1))),
    "var_mean and std_mean": (lambda x: (lambda vm, sm: (x - vm[1]) * vm[0] + sm[0] * sm[1])(
        torch.var_mean(x, 1, keepdim=True), torch.std_mean(x, 0)), (rand(N, C),)),
    "embedding": (lambda e: e[IDS], (rand(4, C),)),
    "embedding, F": (lambda e: F.embedding(IDS, e), (rand(4, C),)),
    "one_hot": (lambda e: F.one_hot(torch.tensor([0, 1, 1, 3]), 4).double() @ e, (rand(4, C),)),
    "linear, 3-D": (lambda x, w, b: x @ w + b, (rand(N, T, C), rand(C, 4, seed=1), rand(4, seed=2))),
    "F.linear, 3-D": (F.linear, (rand(N, T, C), rand(4, C, seed=1), rand(4, seed=2))),
    "F.linear": (F.linear, (rand(N, C), rand(4, C, seed=1), rand(4, seed=2))),
    "einsum": (lambda x, w: torch.einsum("btc,cd->btd", x, w), (rand(N, T, C), rand(C, 4, seed=1))),
    "attention head": (attention, (rand(N, T, C), rand(C, 4, seed=1), rand(C, 4, seed=2), rand(C, 4, seed=3))),
    "residual": (lambda x, w: x + torch.relu(x @ w), (rand(N, C), rand(C, C, seed=1))),
    "leaky relu, where": (lambda x: torch.where(x > 0, x, 0.01 * x), (rand(N, C),)),
    "leaky relu, F": (lambda x: F.leaky_relu(x, 0.01), (rand(N, C),)),
    "clamp": (lambda x: x.clamp(min=0), (rand(N, C),)),
    "tanh": (torch.tanh, (rand(N, C),)),
    "sigmoid": (torch.sigmoid, (rand(N, C),)),
    "sigmoid, by hand": (lambda x: 1 / (1 + torch.exp(-x)) + torch.exp(x) / (1 + torch.exp(x)), (rand(N, C),)),
    "log_softmax, by hand": (lambda x: x - x.logsumexp(-1, keepdim=True) + (lambda d: d - d.exp().sum(
        -1, keepdim=True).log())(x - x.amax(-1, keepdim=True)), (rand(N, C),)),
    "softplus": (F.softplus, (rand(N, C),)),
    "elu": (F.elu, (rand(N, C),)),
    "selu and celu": (lambda x: F.selu(x) + F.celu(x, 0.5), (rand(N, C),)),
    "cat, slice": (lambda x: torch.cat([x, 2 * x], 1)[:, 1:C + 2], (rand(N, C),)),
    "stack, flatten": (lambda x: torch.stack([x, x ** 2], 2).flatten(1), (rand(N, C),)),
    "select": (lambda x: x[:, 0] * x[:, 1], (rand(N, C),)),
    "gather": (lambda x: x.gather(1, (torch.arange(N) % C).unsqueeze(1)), (rand(N, C),)),
    "index_select": (lambda x: x.index_select(0, torch.tensor([0, 2, 2])), (rand(N, C),)),
    "std": (lambda x: x.std(0), (rand(N, C),)),
    "var, unbiased": (lambda x: x.var(0), (rand(N, C),)),
    "amax": (lambda x: x.amax(0), (rand(N, C),)),
    "max": (lambda x: x.max(), (rand(N, C),)),
    "max over a dim": (lambda x: x.max(1).values, (rand(N, C),)),
    "norm": (lambda x: x.norm(dim=1), (rand(N, C),)),
    "reciprocal": (lambda x: 1 / (x.abs() + 1), (rand(N, C),)),
    "1 - x": (lambda x: 1 - x, (rand(N, C),)),
    "pow": (lambda x: x ** 3, (rand(N, C),)),
    "sqrt": (lambda x: (x ** 2 + 1).sqrt(), (rand(N, C),)),
    "log, guarded": (lambda x: torch.log(x.abs() + 1e-9), (rand(N, C),)),
    "linear, nn.Linear's layout": (lambda x, w, b: x @ w.T + b, (rand(N, C), rand(4, C, seed=1), rand(4, seed=2))),
    "in place": (lambda x: x.clone().mul_(2).add_(1).clamp_min_(0.0), (rand(N, C),)),
    "maximum": (lambda x: torch.maximum(x, torch.zeros(1, dtype=torch.float64)), (rand(N, C),)),
    "a dtype cast": (lambda x: (x.float() * 2).double(), (rand(N, C),)),
    "expand": (lambda x, b: x + b.unsqueeze(0).expand(N, C), (rand(N, C), rand(C, seed=1))),
    "permute": (lambda x: x.permute(0, 2, 1).reshape(N, -1), (rand(N, T, C),)),
    "mean of all": (lambda x: x.mean(), (rand(N, C),)),
    "sum over dims": (lambda x: x.sum((0, 1)), (rand(N, T, C),)),
    "sum of all": (lambda x: x.sum(), (rand(N, C),)),
    "min": (lambda x: x.min() + x.amin(0).sum() + x.min(1).values.sum(), (rand(N, C),)),
    "minimum, clamp_max": (lambda x: torch.minimum(x, x.flip(0)) + x.clamp_max(0.5), (rand(N, C),)),
    "hardtanh": (F.hardtanh, (rand(N, C),)),
    "sin, cos": (lambda x: x.sin() * x.cos(), (rand(N, C),)),
    "log1p": (lambda x: x.abs().log1p(), (rand(N, C),)),
    "dot, mv": (lambda x, w: x[0] @ x[1] + (w @ x[2]).sum(), (rand(N, C), rand(C, C, seed=1))),
    "masked_fill with a tensor": (lambda x: x.masked_fill(x > 1, torch.tensor(0.0, dtype=torch.float64)), (rand(N, C),)),
    "squeeze": (lambda x: x.unsqueeze(1).squeeze(1) + x.unsqueeze(0).squeeze() + x.unsqueeze(2).squeeze((2,)),
                (rand(N, C),)),
    "tril, triu": (lambda x: x.tril() + 2 * x.triu(1), (rand(C, C),)),
    "split, chunk, unbind": (lambda x: (lambda a, b: a * b.exp())(*x.chunk(2, 1)).sum(1) + sum(x.unbind(1))
                             + x.split([1, C - 1], 1)[1].sum(1), (rand(N, C),)),
    "l2 normalise, by hand": (lambda x, v: x / x.norm(dim=-1, keepdim=True) + 0 * (v / (v ** 2).sum(0).sqrt()).sum(),
                              (rand(N, C), rand(C, 3, seed=1))),
    "F.normalize": (lambda x: F.normalize(x, dim=1), (rand(N, C),)),
    "cumsum": (lambda x: x.cumsum(1) + x.cumsum(0) * 2, (rand(N, C),)),
    "roll, repeat, tile, pad": (lambda x: x.roll(1, 1) * x.roll((2, -1), (0, 1)) + x.repeat(1, 2)[:, :C] * x.tile(
        2, 1, 1).sum(0) + F.pad(x, (1, 2))[:, 1:-2] + F.pad(x, (-1, 1)).sum(1, keepdim=True), (rand(N, C),)),
    "prod": (lambda x: x.prod(1) + x.prod(0, keepdim=True).sum() + x[:2, :3].prod() + torch.cat(
        [x[:, :1] * 0, x[:, 1:]], 1).prod(1), (rand(N, C),)),
    "two-operand functions": (lambda x, y: torch.atan2(x, y) + torch.logaddexp(x, y) + torch.lerp(x, y, 0.3) + torch.lerp(
        x, y, torch.sigmoid(y)) + torch.addcmul(x, x, y, value=0.5) + torch.addcdiv(y, x, 1 + y ** 2, value=0.5), (
        rand(N, C), rand(N, C, seed=1))),
    "activations from torch.nn.functional": (lambda x: torch.erfc(x) + F.hardsigmoid(3 * x) + F.hardswish(3 * x) + F.mish(
        x) + F.logsigmoid(x) + torch.logit(torch.sigmoid(x)) + torch.logit(torch.sigmoid(2 * x), eps=0.2), (rand(N, C),)),
    "convolution": (lambda x, w, b: F.conv1d(x.unsqueeze(1), w, b, padding=1).flatten(1) + F.conv2d(
        x.reshape(N, 1, 1, C), w.unsqueeze(2), stride=(1, 2)).sum(), (rand(N, C), rand(2, 1, 3, seed=1), rand(2, seed=2))),
    "standardised over n − 1, by hand": (lambda x: (x - x.mean(0)) / x.std(0) + (x - x.mean(1, keepdim=True)) / x.std(
        1, keepdim=True), (rand(N, C),)),
    # no entry of the table's: run as torch decomposes them, into steps it has
    "inverse hyperbolic functions, hypot, x ** w, shrinks, threshold": (lambda x, w: torch.asinh(x) + torch.atanh(
        torch.tanh(x)) + torch.acosh(x.abs() + 1.5) + torch.hypot(x, w) + x.abs() ** w + F.softshrink(x, 0.3) + F.hardshrink(
        x, 0.3) + F.threshold(x, 0.1, 0.0), (rand(N, C), rand(C, seed=1).abs() + 0.5)),
    "sinc": (lambda x: torch.sinc(x) + torch.sinc(x * 0), (rand(N, C),)),
    "decomposed: glu, prelu, 2 ** x": (lambda x, w: F.glu(x, -1).sum(1) + F.prelu(x, w[:1]).sum(1) + (2 ** x).sum(1),
                                       (rand(N, C), rand(C, seed=1).abs() + 0.5)),
    "decomposed: cross-entropy with label smoothing": (lambda x: F.cross_entropy(x, torch.arange(N) % C, label_smoothing=0.1),
                                                        (rand(N, C),)),
    "decomposed: unfold, an index of whole axes and rows": (lambda x, w: (w @ F.unfold(x.view(N, 1, 2, 3), 2, padding=1)).sum(
        (1, 2)), (rand(N, C), rand(1, 4, seed=1))),
    # nor a decomposition into such steps: autograd's own product of the operation
    "by autograd: cdist, sort, pooling, group norm": (lambda x: torch.cdist(x, x.flip(0)).sum(1) + torch.sort(
        x, -1).values.sum(1) + F.avg_pool1d(x.unsqueeze(1), 2).sum((1, 2)) + F.max_pool1d(x.unsqueeze(1), 2).sum(
        (1, 2)) + F.group_norm(x.unsqueeze(-1), 2).sum((1, 2)), (rand(N, C),)),
}


@pytest.mark.parametrize("forward, args", FORWARDS.values(), ids=FORWARDS.keys())
def test_the_derived_backward_is_autogradss(forward, args):
    leaves = {f"a{i}": a.clone() for i, a in enumerate(args)}
    graph, out = record(lambda: forward(*leaves.values()), leaves)
    g = rand(*out.shape, seed=5)

    copies = [a.clone().requires_grad_() for a in args]
    expected = torch.autograd.grad(forward(*copies), copies, g, allow_unused=True)
    for view in filter(None, (graph, fused(graph))):  # and with what it writes out by hand as one operation
        for (name, mine), theirs in zip(backward(view, g).items(), expected):
            assert (mine is None) == (theirs is None), name
            if mine is not None:
                torch.testing.assert_close(mine, theirs, rtol=1e-8, atol=1e-10)


def test_every_entry_is_met_by_a_forward():
    """An entry no forward here runs is an entry no test checks."""
    met = set()
    for forward, args in FORWARDS.values():
        leaves = {f"a{i}": a.clone() for i, a in enumerate(args)}
        graph = record(lambda f=forward, a=leaves: f(*a.values()), leaves)[0]
        met |= {node.op for view in filter(None, (graph, fused(graph))) for node in view.nodes}
    unchecked = {op for op in RULES if op not in met}
    assert not unchecked, sorted(map(str, unchecked))


def test_the_recorder_keeps_the_users_lines_and_names():
    x, w, b = rand(N, C), gain(), rand(C, seed=2)
    graph, _ = record(lambda: layer_norm_steps(x, w, b), {"x": x, "w": w, "b": b})
    sources = [node.source for node in graph.nodes]
    assert all(s is not None and s.file == __file__ for s in sources)
    assert [s.name for s in sources[:1]] == ["mu"]
    assert {s.code for s in sources} >= {"mu = x.mean(-1, keepdim=True)", "var = ((x - mu) ** 2).mean(-1, keepdim=True)"}


def rows_and_maxes(x):
    row = x[0]
    maxes = x.max(1, keepdim=True).values
    first = x.max(1)[0]
    return row.sum() + maxes.sum() + first.sum()


def test_a_max_value_and_a_row_are_named_as_the_code_names_them():
    x = rand(N, C)
    graph, _ = record(lambda: rows_and_maxes(x), {"x": x})
    assert {"row", "maxes", "first"} <= set(graph.names().values())


def test_an_operation_the_table_has_no_entry_for_is_recorded_as_torch_decomposes_it():
    """F.glu's steps (its halves, a sigmoid, a product), each with the user's line, where torch's
    decomposition runs on steps the table has; the Euclidean cdist, which torch does not decompose, as
    gradtui writes it out, but where a distance is 0 (its sqrt's derivative infinite); cdist with p=1 as one
    operation."""
    x = rand(N, C)
    graph, _ = record(lambda: F.glu(x, -1), {"x": x})
    assert [node.name for node in graph.nodes] == ["slice", "slice", "sigmoid", "mul"]
    assert all(node.source is not None and node.source.file == __file__ for node in graph.nodes)
    for rows in (3, 40):  # (cdist's own way and, on many rows, its matrix product's: each written out alike)
        a, b = rand(rows, C), rand(rows, C) + 1
        graph, _ = record(lambda a=a, b=b: torch.cdist(a, b), {"a": a, "b": b})
        steps = [node.name for node in graph.nodes if node.name not in ("expand", "view")]
        assert steps == ["unsqueeze", "unsqueeze", "sub", "pow", "sum", "sqrt"], steps
        assert all(node.source is not None and node.source.file == __file__ for node in graph.nodes)
    graph, _ = record(lambda: torch.cdist(x, x), {"x": x})
    assert "sqrt" not in [node.name for node in graph.nodes]
    graph, _ = record(lambda: torch.cdist(x, x, p=1), {"x": x})
    assert [str(node.op) for node in graph.nodes] == ["aten._cdist_forward.default"]


def test_an_operation_autograd_has_no_derivative_for_is_said():
    x = rand(N, C)
    graph, out = record(lambda: x * torch.heaviside(x, torch.tensor(0.5, dtype=torch.float64)), {"x": x})
    with pytest.raises(Exception, match="no derivative for aten.heaviside.default, nor can autograd give one"):
        backward(graph, torch.ones_like(out))


def test_what_the_graph_cannot_hold_is_said():
    x = rand(N, C)
    graph, _ = record(lambda: x.t().add_(1), {"x": x})  # an in-place change through a view
    assert graph.unsupported and "view" in graph.unsupported
    graph, _ = record(lambda: torch.tensor(x.numpy() * 2), {"x": x})  # the forward leaves torch
    assert graph.unsupported


# the arguments an entry's derivative depends on (x is drawn from [0.5, 1.5): bounds inside it)
WRITTEN_WITH = {torch.ops.aten.clamp.default: (0.7, 1.2), torch.ops.aten.clamp_min.default: (0.8,),
                torch.ops.aten.clamp_max.default: (1.2,), torch.ops.aten.hardtanh.default: (0.7, 1.2),
                torch.ops.aten.softplus.default: (2.0,), torch.ops.aten.softshrink.default: (0.9,),
                torch.ops.aten.hardshrink.default: (1.1,), torch.ops.aten.threshold.default: (0.8, 0.0),
                torch.ops.aten.amax.default: ([1],), torch.ops.aten.amin.default: ([1], True),  # (max over all: max.default)
                torch.ops.aten.max.dim: (1,), torch.ops.aten.min.dim: (0,)}
WITHIN_ONE = (torch.ops.aten.asin.default, torch.ops.aten.acos.default, torch.ops.aten.logit.default,
              torch.ops.aten.atanh.default)  # x scaled into their domain, (-1, 1) or (0, 1)
ABOVE_ONE = (torch.ops.aten.acosh.default,)  # x moved into its domain, (1, ∞)


A = torch.ops.aten
LOSSES = {  # a loss's arguments, given its input x, its target and its reduction (1: mean, 2: sum)
    A.mse_loss.default: lambda x, r: (x, x.flip(0), r),
    A.soft_margin_loss.default: lambda x, r: (x, torch.sign(x - 1), r),
    A.binary_cross_entropy.default: lambda x, r: (x, x.flip(0), None, r),
    A.binary_cross_entropy_with_logits.default: lambda x, r: (x, x.flip(0) / 2, None, None, r),
    A.smooth_l1_loss.default: lambda x, r: (x, x.flip(0), r, 0.3),
    A.huber_loss.default: lambda x, r: (x, x.flip(0), r, 0.3),
}


@pytest.mark.parametrize("op, averaged", [(op, True) for op, rule in RULES.items() if rule.derivative] + [
    (op, False) for op in LOSSES], ids=lambda a: str(a) if not isinstance(a, bool) else "mean" if a else "sum")
def test_a_derivative_written_as_code_is_the_entrys_own(op, averaged):
    """The code a hint quotes for a function's derivative (`its derivative, `1 - t**2`, is never
    multiplied in`, which the fix multiplies in) is the table's vector-Jacobian product, evaluated, in
    each form it is written in; a loss's (towards its input, `{targ}` its target) whether it averages
    or sums."""
    from gradtui.derivatives import Ctx

    x = torch.rand(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) + 0.5
    x = x / 2 if op in WITHIN_ONE or op == A.binary_cross_entropy.default else x + 1 if op in ABOVE_ONE else x
    args = LOSSES[op](x, 1 if averaged else 2) if op in LOSSES else (x, *WRITTEN_WITH.get(op, ()))
    out = op(*args)
    outs = list(out) if isinstance(out, tuple) else [out]  # (log_sigmoid_forward's buffer beside its value)
    (vjp,) = RULES[op].vjp(Ctx(args, {}, outs, torch.ones_like(outs[0])))[:1]
    names = {"torch": torch, "math": math, "out": outs[0], "x": x, "t": args[1] if op in LOSSES else None}
    for form in RULES[op].forms(args):  # (each form people write it in: sigmoid's from its output and from its input)
        code = form.format(out="out", inp="x", left="x", targ="t")
        assert torch.allclose(torch.ones_like(vjp) * eval(code, names), vjp), code  # (a mask)


@pytest.mark.parametrize("function", [
    lambda x: F.gelu(x), lambda x: F.gelu(x, approximate="tanh"), F.silu, F.mish, F.selu, lambda x: F.celu(x, 0.5),
    lambda x: F.elu(x, 0.3)], ids=["gelu", "gelu-tanh", "silu", "mish", "selu", "celu", "elu"])
def test_a_functions_entry_and_its_derivative_as_written_are_autograds(function):
    """A function the forward runs as one operation (SELU's as an ELU with a scale, GELU's tanh form by
    its keyword): the table's product and its derivative as written (what its slips are one edit
    of) are autograd's, on both sides of 0."""
    from gradtui.derivatives import Ctx
    from gradtui.graph import record
    from gradtui.written_slips import evaluate

    x = torch.linspace(-4, 4, 101, dtype=torch.float64, requires_grad=True)
    out = function(x)
    (autograd,) = torch.autograd.grad(out.sum(), x)
    leaf = x.detach()
    graph, _ = record(lambda: function(leaf), {"x": leaf})
    (node,) = graph.nodes
    args = (leaf, *node.args[1:])
    (vjp,) = RULES[node.op].vjp(Ctx(args, node.kwargs, [out.detach()], torch.ones_like(autograd)))[:1]
    written = RULES[node.op].written(args, node.kwargs)
    assert torch.allclose(vjp, autograd)
    assert torch.allclose(evaluate(written, x.detach(), out.detach()), autograd), written
