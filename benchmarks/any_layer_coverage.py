"""Slips in layers gradtui has no entry for: found, placed and named by the backward derived from
the forward's own operations.

Eleven layers, each with its correct forward and backward: LayerNorm, RMSNorm, GELU (tanh form),
SiLU, softmax as a layer, a residual block, an attention head over a (batch, sequence, features)
input, an embedding over integer ids, a sigmoid and a log-softmax written out by hand, and an L1
loss. Each is written in both of the lesson's
styles (a `Module` with forward/bwd; `__call__`/`backward` keeping its tensors), and each slip is
one edit of one line of its backward. The ground truth is computed apart from gradtui: the
slipped layer alone, run in float64 against torch.autograd, says which of its gradients is
wrong (the first, in the step's order: its input, then its parameters).

For each slip: found (the check fails), placed (at that layer's step and that tensor), named
(the hint has the words expected for that edit), false (a hint that names a slip, but not this
one: said of the fallback's "fits no known slip" and of the shapes in words, never counted).

    python benchmarks/any_layer_coverage.py [--style module|call] [--layer NAME] [-v]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import torch

import gradtui
from gradtui.layers import Lin, Mse, Relu

FALLBACK = "fits no known slip"
WORDS_OF_A_SHAPE = ("is (", "has the transposed shape")  # other_shape's and transposed's bare facts


@dataclass(frozen=True)
class Layer:
    name: str  # the class
    forward: str  # its body: reads `inp` (and `targ` for a loss), ends in `return …`
    backward: str  # its body: reads `inp`, `out`, `out.g` (and `targ`), sets `.g`
    params: tuple[str, ...] = ()  # its parameters: the constructor's arguments, kept as attributes of these names
    loss: bool = False


@dataclass(frozen=True)
class Slip:
    layer: str
    old: str  # a piece of one line of the backward
    new: str
    words: str  # what the hint must say, alternatives split by " | "
    dtype: torch.dtype = torch.float32


LAYERS = {layer.name: layer for layer in (
    Layer("LayerNorm", """
self.mu = inp.mean(-1, keepdim=True)
self.var = ((inp - self.mu) ** 2).mean(-1, keepdim=True)
self.rstd = (self.var + 1e-5) ** -0.5
self.xhat = (inp - self.mu) * self.rstd
return self.w * self.xhat + self.b
""", """
dxhat = out.g * self.w
self.w.g = (out.g * self.xhat).sum(0)
self.b.g = out.g.sum(0)
inp.g = self.rstd * (dxhat - dxhat.mean(-1, keepdim=True) - self.xhat * (dxhat * self.xhat).mean(-1, keepdim=True))
""", ("w", "b")),
    Layer("RMSNorm", """
self.ms = (inp ** 2).mean(-1, keepdim=True)
self.rrms = (self.ms + 1e-6) ** -0.5
self.xhat = inp * self.rrms
return self.w * self.xhat
""", """
dxhat = out.g * self.w
self.w.g = (out.g * self.xhat).sum(0)
inp.g = self.rrms * (dxhat - self.xhat * (dxhat * self.xhat).mean(-1, keepdim=True))
""", ("w",)),
    Layer("GELU", """
self.t = torch.tanh(0.7978845608 * (inp + 0.044715 * inp ** 3))
return 0.5 * inp * (1 + self.t)
""", """
dt = (1 - self.t ** 2) * 0.7978845608 * (1 + 3 * 0.044715 * inp ** 2)
inp.g = out.g * (0.5 * (1 + self.t) + 0.5 * inp * dt)
"""),
    Layer("SiLU", """
self.s = torch.sigmoid(inp)
return inp * self.s
""", """
ds = self.s * (1 - self.s)
inp.g = out.g * (self.s + inp * ds)
"""),
    Layer("Softmax", """
e = (inp - inp.max(-1, keepdim=True).values).exp()
return e / e.sum(-1, keepdim=True)
""", """
inp.g = out * (out.g - (out.g * out).sum(-1, keepdim=True))
"""),
    Layer("Residual", """
self.h = inp @ self.w
self.a = self.h.clamp_min(0.)
return inp + self.a
""", """
dh = out.g * (self.h > 0)
self.w.g = inp.t() @ dh
inp.g = out.g + dh @ self.w.t()
""", ("w",)),
    Layer("Attention", """
self.q, self.k, self.v = inp @ self.wq, inp @ self.wk, inp @ self.wv
self.scale = self.q.shape[-1] ** -0.5
causal = torch.ones(inp.shape[1], inp.shape[1]).tril() == 0
self.p = torch.softmax((self.q @ self.k.transpose(-2, -1) * self.scale).masked_fill(causal, float("-inf")), -1)
return self.p @ self.v
""", """
dp = out.g @ self.v.transpose(-2, -1)
dv = self.p.transpose(-2, -1) @ out.g
ds = self.p * (dp - (dp * self.p).sum(-1, keepdim=True)) * self.scale
dq = ds @ self.k
dk = ds.transpose(-2, -1) @ self.q
self.wq.g = (inp.transpose(-2, -1) @ dq).sum(0)
self.wk.g = (inp.transpose(-2, -1) @ dk).sum(0)
self.wv.g = (inp.transpose(-2, -1) @ dv).sum(0)
inp.g = dq @ self.wq.t() + dk @ self.wk.t() + dv @ self.wv.t()
""", ("wq", "wk", "wv")),
    Layer("Embedding", """
return self.weight[inp]
""", """
self.weight.g = torch.zeros_like(self.weight).index_add_(0, inp.reshape(-1), out.g.reshape(-1, self.weight.shape[1]))
""", ("weight",)),
    Layer("Sigmoid", """
return 1 / (1 + torch.exp(-inp))
""", """
inp.g = out.g * out * (1 - out)
"""),
    Layer("LogSoftmax", """
m = inp.max(-1, keepdim=True).values
return inp - m - (inp - m).exp().sum(-1, keepdim=True).log()
""", """
inp.g = out.g - out.exp() * out.g.sum(-1, keepdim=True)
"""),
    Layer("L1Loss", """
return (inp.squeeze(-1) - targ).abs().mean()
""", """
inp.g = torch.sign(inp.squeeze(-1) - targ).unsqueeze(-1) / targ.numel()
""", loss=True),
)}

OUT_FOR_G = "`out` where its gradient `out.g` belongs"
UPSTREAM = "does not multiply in the gradient | without the factor `out.g`"
SLIPS = [
    Slip("LayerNorm", "dxhat = out.g * self.w", "dxhat = out * self.w", OUT_FOR_G),
    Slip("LayerNorm", "dxhat = out.g * self.w", "dxhat = out.g", "is missing the factor `w`"),
    Slip("LayerNorm", "(dxhat - dxhat.mean(-1, keepdim=True) - ", "(dxhat - ",
         "the path through `mu` | is missing the mean's term, - dxhat.mean()"),
    Slip("LayerNorm", " - self.xhat * (dxhat * self.xhat).mean(-1, keepdim=True))", ")",
         "the path through `var` | the path through `rstd` | is missing the variance's term"),
    Slip("LayerNorm", " - self.xhat * (dxhat", " + self.xhat * (dxhat", "sign-flipped"),
    Slip("LayerNorm", "self.w.g = (out.g * self.xhat).sum(0)", "self.w.g = (out.g * inp).sum(0)",
         "uses `inp` where `xhat` belongs"),
    Slip("LayerNorm", "self.w.g = (out.g * self.xhat).sum(0)", "self.w.g = (out * self.xhat).sum(0)", OUT_FOR_G),
    Slip("LayerNorm", "self.b.g = out.g.sum(0)", "self.b.g = out.g.sum(1)", "is .sum(1) where .sum(0) belongs"),
    Slip("LayerNorm", "self.b.g = out.g.sum(0)", "self.b.g = out.g",
         "not summed over the batch | .sum(0) missing | extra batch dimension"),
    Slip("LayerNorm", "inp.g = self.rstd * (", "inp.g = self.rstd ** 2 * (",
         "is multiplied by `rstd` once more"),
    Slip("LayerNorm", "inp.g = self.rstd * (dxhat", "inp.g = self.rstd.float() * (dxhat",
         "the cast `.float()` (", torch.float64),
    Slip("RMSNorm", "dxhat = out.g * self.w", "dxhat = out * self.w", OUT_FOR_G),
    Slip("RMSNorm", "dxhat = out.g * self.w", "dxhat = self.w", UPSTREAM),
    Slip("RMSNorm", " - self.xhat * (dxhat * self.xhat).mean(-1, keepdim=True))", ")",
         "the path through `ms` | the path through `rrms` | is missing the mean square's term"),
    Slip("RMSNorm", " - self.xhat * (dxhat", " + self.xhat * (dxhat", "sign-flipped"),
    Slip("RMSNorm", "(dxhat * self.xhat).mean(-1, keepdim=True)", "(dxhat * self.xhat).sum(-1, keepdim=True)",
         "× what it should be | is missing its division by the number of values averaged"),
    Slip("RMSNorm", "self.w.g = (out.g * self.xhat).sum(0)", "self.w.g = (out.g * inp).sum(0)",
         "uses `inp` where `xhat` belongs"),
    Slip("RMSNorm", "self.w.g = (out.g * self.xhat).sum(0)", "self.w.g = (out.g * self.xhat).sum(1)",
         "is .sum(1) where .sum(0) belongs"),
    Slip("GELU", "dt = (1 - self.t ** 2)", "dt = (1 - self.t)", "is missing its square"),
    Slip("GELU", "dt = (1 - self.t ** 2)", "dt = (1 + self.t ** 2)", "has the sign of its t**2 flipped"),
    Slip("GELU", "(1 + 3 * 0.044715 * inp ** 2)", "(1 + 0.044715 * inp ** 2)", "is missing its 3"),
    Slip("GELU", " + 0.5 * inp * dt)", ")", "the path through `t`"),
    Slip("GELU", "inp.g = out.g * (", "inp.g = (", UPSTREAM),
    Slip("GELU", "inp.g = out.g * (", "inp.g = out * (", OUT_FOR_G),
    Slip("GELU", "(0.5 * (1 + self.t) +", "((1 + self.t) +", "is missing the factor `0.5` | is missing `0.5`"),
    Slip("GELU", "dt = (1 - self.t ** 2)", "dt = (1 - inp ** 2)", "is taken from `inp` where its own value `t` belongs"),
    Slip("GELU", "inp.g = out.g * (0.5 * (1 + self.t) + 0.5 * inp * dt)", "inp.g = out.g",
         "is out.g passed on unchanged | is left out (the gradient passes through it unchanged): its derivative"),
    Slip("GELU", "0.5 * inp * dt)", "0.5 * inp)", "the derivative of `self.t = torch.tanh("),
    Slip("GELU", "0.044715 * inp ** 2", "0.044715 * inp", "lowers the power twice"),
    Slip("GELU", "dt = (1 - self.t ** 2)", "dt = (-self.t ** 2)", "is missing its 1"),
    Slip("SiLU", "ds = self.s * (1 - self.s)", "ds = 1 - self.s", "is missing its factor s: `1 - s` where `s * (1 - s)` belongs"),
    Slip("SiLU", "(self.s + inp * ds)", "(self.s)", "the path through `s`"),
    Slip("SiLU", "(self.s + inp * ds)", "(self.s - inp * ds)", "sign-flipped"),
    Slip("SiLU", "inp.g = out.g * (", "inp.g = (", UPSTREAM),
    Slip("SiLU", "inp.g = out.g * (", "inp.g = out * (", OUT_FOR_G),
    Slip("SiLU", "ds = self.s * (1 - self.s)", "ds = inp * (1 - inp)", "is taken from its input: `inp * (1 - inp)`"),
    Slip("Softmax", " - (out.g * out).sum(-1, keepdim=True))", ")",
         "is missing its second term | the Jacobian's diagonal | the path through `e.sum(-1, keepdim=True)`"),
    Slip("Softmax", "(out.g * out).sum(-1, keepdim=True)", "(out.g * out).sum(0, keepdim=True)",
         "sums over axis 0 where axis -1"),
    Slip("Softmax", "(out.g - (out.g", "(out.g + (out.g", "has its second term's sign flipped | sign-flipped | "
                                                          "is missing the minus of the divisor's gradient"),
    Slip("Softmax", "(out.g * out).sum(-1", "out.g.sum(-1", "is missing the factor out inside its sum"),
    Slip("Softmax", "inp.g = out * (", "inp.g = (", "is missing its leading factor out"),
    Slip("Softmax", "inp.g = out * (out.g -", "inp.g = out * (out -", "towards `e` is computed from the layer's output | "
                                                                    "takes `out` where `out.g` belongs in its first term"),
    Slip("Softmax", "inp.g = out * (out.g - (out.g * out).sum(-1, keepdim=True))", "inp.g = out",
         "is the layer's output `out` itself"),
    Slip("Residual", "inp.g = out.g + dh", "inp.g = dh", "the path through `inp` in `"),
    Slip("Residual", "inp.g = out.g + dh", "inp.g = out + dh", "towards `inp` is computed from the layer's output"),
    Slip("Residual", "self.w.g = inp.t() @ dh", "self.w.g = dh.t() @ inp", "transposed"),
    Slip("Residual", "dh @ self.w.t()", "dh @ self.w", "is missing a transpose"),
    Slip("Residual", "(self.h > 0)", "(self.h < 0)", "has its mask inverted"),
    Slip("Residual", "dh = out.g * (self.h > 0)", "dh = (self.h > 0).float()", UPSTREAM),
    Slip("Residual", "dh = out.g * (self.h > 0)", "dh = out * (self.h > 0)", OUT_FOR_G),
    Slip("Attention", ")) * self.scale", "))", "is missing the factor `self.scale` | is missing `self.scale`"),
    Slip("Attention", "self.p * (dp - (dp * self.p).sum(-1, keepdim=True))", "self.p * dp",
         "is missing its second term | the Jacobian's diagonal"),
    Slip("Attention", "dk = ds.transpose(-2, -1) @ self.q", "dk = ds @ self.q",
         "transposed | operands swapped | is missing a transpose"),
    Slip("Attention", "dv = self.p.transpose(-2, -1) @ out.g", "dv = self.p @ out.g", "is missing a transpose"),
    Slip("Attention", "(inp.transpose(-2, -1) @ dq).sum(0)", "(inp.transpose(-2, -1) @ dq)",
         "not summed over the axes it was broadcast along | .sum(0) missing | extra batch dimension"),
    Slip("Attention", " + dk @ self.wk.t()", "", "the path through `k`"),
    Slip("Attention", "(dp - (dp * self.p)", "(dp + (dp * self.p)", "has its second term's sign flipped"),
    Slip("Attention", "dq = ds @ self.k", "dq = ds @ self.q", "uses `q` where `k` belongs"),
    Slip("Attention", "inp.g = dq @ self.wq.t() + dk @ self.wk.t() + dv @ self.wv.t()", "inp.g = dv @ self.wv.t()",
         "keeps only the path of `inp` through `inp @ self.wv`"),
    Slip("Attention", "(dp * self.p).sum(-1, keepdim=True)", "(dp * self.p).mean(-1, keepdim=True)",
         "a mean where the sum belongs"),
    Slip("Sigmoid", "(1 - out)", "(1 + out)", "has the sign in (1 - out) flipped"),
    Slip("Sigmoid", "out.g * out * (1 - out)", "out.g * (1 - out)", "is missing its factor out"),
    Slip("Sigmoid", "out.g * out * (1 - out)", "out.g * out", "is missing its factor (1 - out)"),
    Slip("LogSoftmax", ".sum(-1, keepdim=True)", ".mean(-1, keepdim=True)", "a mean where the sum belongs"),
    Slip("LogSoftmax", "out.g.sum(-1, keepdim=True)", "out.g", "does not sum out.g over the axis"),
    Slip("LogSoftmax", "out.exp() * out.g.sum", "out.g.sum", "is missing the factor `out.exp()`"),
    Slip("LogSoftmax", " - out.exp() * out.g.sum(-1, keepdim=True)", "", "is missing its second term | the path through"),
    Slip("Embedding", ".index_add_(0, inp.reshape(-1), out.g", ".index_add_(0, inp.reshape(-1), out", OUT_FOR_G),
    Slip("Embedding", "self.weight.g = torch.zeros_like(self.weight).index_add_(0, inp.reshape(-1), out.g.reshape(-1, "
                      "self.weight.shape[1]))",
         "self.weight.g = torch.zeros_like(self.weight); self.weight.g[inp.reshape(-1)] = out.g.reshape(-1, "
         "self.weight.shape[1])", "must add up its gradients, not be overwritten"),
    Slip("Embedding", "out.g.reshape(-1, self.weight.shape[1]))", "2 * out.g.reshape(-1, self.weight.shape[1]))",
         "2 × autograd's | twice what it should be"),
    Slip("L1Loss", " / targ.numel()", "", "N (the batch size) × autograd's"),
    Slip("L1Loss", "torch.sign(inp.squeeze(-1) - targ)", "torch.sign(targ - inp.squeeze(-1))", "sign flipped"),
    Slip("L1Loss", "torch.sign(inp.squeeze(-1) - targ)", "(inp.squeeze(-1) - targ)",
         "multiplies by its input where its sign belongs"),
    Slip("L1Loss", ".unsqueeze(-1) / targ.numel()", " / targ.numel()", "the right values in the shape"),
]


# -- the layer files -------------------------------------------------------------------------

def source(layer: Layer, style: str, backward: str) -> str:
    """The layer as a class in one of the lesson's styles, with this backward."""
    args = "inp, targ" if layer.loss else "inp"
    params = ", ".join(layer.params)
    own = ", ".join(f"self.{p}" for p in layer.params)
    init = f"    def __init__(self, {params}):\n        {own} = {params}\n\n" if layer.params else ""
    forward = textwrap.indent(layer.forward.strip(), " " * 8)
    body = textwrap.indent(backward.strip(), " " * 8)
    if style == "module":
        return (f"class {layer.name}(Module):\n{init}    def forward(self, {args}):\n{forward}\n\n"
                f"    def bwd(self, out, {args}):\n{body}\n")
    keep = "self.inp, self.targ = inp, targ" if layer.loss else "self.inp = inp"
    returned = forward.rsplit("return ", 1)
    call = f"{returned[0]}self.out = {returned[1]}\n        return self.out"
    unpack = "inp, out, targ = self.inp, self.out, self.targ" if layer.loss else "inp, out = self.inp, self.out"
    return (f"class {layer.name}:\n{init}    def __call__(self, {args}):\n        {keep}\n{call}\n\n"
            f"    def backward(self):\n        {unpack}\n{body}\n")


HEADER = "import torch\nfrom gradtui.layers import Module\n\n\n"


def loaded(code: str, directory: Path, name: str):
    path = directory / f"{name}.py"
    path.write_text(HEADER + code)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- a network around each layer, and its data ---------------------------------------------------

N, T, C, HS, VOCAB = 64, 5, 12, 4, 9


def draw(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return lambda *shape: torch.randn(*shape, generator=g)


def network(layer: Layer, cls, dtype: torch.dtype):
    """(model, x, y, the layer's position, its parameters) for a check of this layer."""
    r = draw()
    if layer.name == "L1Loss":
        w1, w2 = r(C, 8) / C ** 0.5, r(8, 1) / 8 ** 0.5
        return [Lin(w1, 0.1 * r(8)), Relu(), Lin(w2, 0.1 * r(1)), cls()], r(N, C), r(N), 3, ()
    if layer.name == "Attention":
        weights = (r(C, HS) / C ** 0.5, r(C, HS) / C ** 0.5, r(C, HS) / C ** 0.5)
        return [cls(*weights), Lin(r(HS, 1), 0.1 * r(1)), Mse()], r(N, T, C), r(N, T), 0, weights
    if layer.name == "Embedding":
        weight = r(VOCAB, C)
        ids = torch.randint(0, VOCAB, (N, T), generator=torch.Generator().manual_seed(1))
        return [cls(weight), Lin(r(C, 1) / C ** 0.5, 0.1 * r(1)), Mse()], ids, r(N, T), 0, (weight,)
    params = {"LayerNorm": (1 + 0.1 * r(C), 0.1 * r(C)), "RMSNorm": (1 + 0.1 * r(C),), "Residual": (r(C, C) / C ** 0.5,)}
    own = params.get(layer.name, ())
    return [Lin(r(C, C) / C ** 0.5, 0.1 * r(C)), cls(*own), Lin(r(C, 1) / C ** 0.5, 0.1 * r(1)), Mse()], r(N, C), r(N), \
        1, own


def ground_truth(layer: Layer, cls, dtype: torch.dtype, build=None, every: bool = False) -> int | list[int] | None:
    """Which of the layer's gradients (0: its input, then its parameters) is the first wrong, by
    torch.autograd on the slipped layer alone, apart from gradtui (max|yours − autograd's| within
    1e-4 of autograd's largest value, 1e-9 in float64, in the slip's dtype); None: all right. A backward
    that raises is wrong at its first gradient. `build` makes the network and its data (default:
    `network`). `every`: the list of all the wrong ones (empty: all right)."""
    model, x, y, position, params = (build or network)(layer, cls, dtype)
    r = draw(7)
    inp = x if position == 0 else r(N, 1) if layer.loss else r(N, C)
    inp = inp.to(dtype) if inp.is_floating_point() else inp
    targ, upstream = r(N).to(dtype), None
    weights = [w.to(dtype).clone().requires_grad_() for w in params]
    leaf = inp.clone().requires_grad_(inp.is_floating_point())
    out = cls(*weights)(leaf, targ) if layer.loss else cls(*weights)(leaf)
    if not layer.loss:
        upstream = r(*out.shape).to(dtype)
    differentiable = [t for t in [leaf, *weights] if t.requires_grad]
    expected = torch.autograd.grad(out, differentiable, upstream)
    copies = [t.detach().clone() for t in differentiable]
    mine_inp = copies[0] if inp.is_floating_point() else inp.clone()
    mine_weights = copies[1:] if inp.is_floating_point() else copies
    with torch.no_grad():
        obj = cls(*mine_weights)
        out2 = obj(mine_inp, targ) if layer.loss else obj(mine_inp)
        if upstream is not None:
            out2.g = upstream
        try:
            obj.backward()
        except Exception:
            first = 0 if inp.is_floating_point() else 1
            return [first] if every else first
    offset = 0 if inp.is_floating_point() else 1
    wrong = [i + offset for i, (t, b) in enumerate(zip([mine_inp, *mine_weights][offset:], expected))
             if not isinstance(a := getattr(t, "g", None), torch.Tensor) or a.shape != b.shape or a.dtype != b.dtype
             or float((a.double() - b.double()).abs().max()) > (1e-9 if dtype == torch.float64 else 1e-4) * float(
                 b.abs().max()) + 1e-12]
    return wrong if every else wrong[0] if wrong else None


def names(layer: Layer, position: int) -> list[str]:
    """gradtui's names of the layer's gradients: its input's, then its parameters'."""
    inp = "x" if position == 0 else f"l{position}" if not layer.loss else "out"
    return [f"{inp}.g", *(f"{layer.name.lower()}1.{p}.g" for p in layer.params)]


# -- one run -----------------------------------------------------------------------------------

@dataclass
class Outcome:
    slip: Slip
    style: str
    found: bool
    placed: bool
    named: bool
    false: bool
    hint: str
    seconds: float


def run(slip: Slip, style: str, directory: Path, index: int) -> Outcome:
    layer = LAYERS[slip.layer]
    assert slip.old in layer.backward, (slip.layer, slip.old)
    code = source(layer, style, layer.backward.replace(slip.old, slip.new, 1))
    cls = getattr(loaded(code, directory, f"slip_{index}_{style}"), layer.name)
    wrong = ground_truth(layer, cls, slip.dtype)
    model, x, y, position, _ = network(layer, cls, slip.dtype)
    x = x.to(slip.dtype) if x.is_floating_point() else x
    started = time.perf_counter()
    report = gradtui.check([*model[:-1], model[-1]] if not layer.loss else model, x, y.to(slip.dtype))
    seconds = time.perf_counter() - started
    mismatch = report.first_mismatch
    hint = (mismatch.hint or "") if mismatch else ""
    expected = None if wrong is None else names(layer, position)[wrong]
    placed = mismatch is not None and mismatch.tensor == expected and mismatch.layer.startswith(layer.name.lower())
    named = any(words in hint for words in slip.words.split(" | "))
    generic = FALLBACK in hint or any(hint.startswith(f"{mismatch.tensor} {w}") for w in WORDS_OF_A_SHAPE) \
        if mismatch else True
    return Outcome(slip, style, mismatch is not None, placed, named, not named and not generic, hint, seconds)


def run_all(styles=("module", "call"), only: str | None = None) -> list[Outcome]:
    outcomes = []
    with tempfile.TemporaryDirectory() as directory:
        for index, slip in enumerate(SLIPS):
            if only and slip.layer != only:
                continue
            for style in styles:
                outcomes.append(run(slip, style, Path(directory), index))
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", choices=("module", "call"))
    parser.add_argument("--layer", choices=sorted(LAYERS))
    parser.add_argument("-v", "--verbose", action="store_true", help="print every hint")
    args = parser.parse_args()
    torch.set_num_threads(1)
    outcomes = run_all((args.style,) if args.style else ("module", "call"), args.layer)
    print(f"{'layer':<11}{'slips':>6}{'found':>7}{'placed':>8}{'named':>12}{'false':>7}")
    for name in [*LAYERS, "all"]:
        group = [o for o in outcomes if name in ("all", o.slip.layer)]
        if not group:
            continue
        found, placed = sum(o.found for o in group), sum(o.placed for o in group)
        named, false = sum(o.named for o in group), sum(o.false for o in group)
        print(f"{name:<11}{len(group):>6}{found:>7}{placed:>8}{f'{named} ({named / len(group):.0%})':>12}{false:>7}")
    seconds = sorted(o.seconds for o in outcomes)
    print(f"a check with a slip, at these sizes: median {seconds[len(seconds) // 2] * 1000:.0f} ms, "
          f"slowest {seconds[-1] * 1000:.0f} ms")
    for o in outcomes:
        if args.verbose or not (o.found and o.placed and o.named):
            print(f"{'' if o.named else 'NOT NAMED '}{'FALSE ' if o.false else ''}[{o.slip.layer} {o.style}] "
                  f"{o.slip.new or '(removed)'}\n    {o.hint}")
    sys.exit(0 if all(o.found and o.placed and not o.false for o in outcomes) else 1)


if __name__ == "__main__":
    main()
