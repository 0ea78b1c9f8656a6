"""Slips generated, not picked, in layers gradtui has no entry for: every one-edit mutant of the backward
of each layer of benchmarks/any_layer_coverage.py and of three hundred and ninety more written here as
users write them (activations: LeakyReLU and ELU each in two styles, an ELU with a learned alpha, SELU,
softplus, softplus with a beta, squareplus `(x + sqrt(x² + 4)) / 2`, tanh, tanh from its exponentials,
Mish, hardtanh, hard-swish, Swish with a gain per feature, PReLU, a sine, a sine of a learned
frequency, softsign, log-sigmoid, a Gaussian, a signed log, a signed power, a cubic, a polynomial with
learned coefficients, x / (1 + x²), a max of x and a scaled x, a cumulative sum, a hard sigmoid, a
clamp to [0, 1], exp(x / 2), tanhshrink, x times a constant mask, a smoothstep, x sin x, log cosh, x +
γ tanh x, GELU by its tanh approximation, a soft threshold, x·exp(−x²), a radial basis function of
learned centres and widths, a squared ReLU, LeCun's tanh, sin + cos, CELU by expm1, a max of x and x
rolled, a bent identity `(sqrt(x² + 1) − 1) / 2 + x`, x · rsqrt(1 + x²/2), a snake `x + sin²(a x) / a`
of a learned a, a shifted softplus, a maxout of two linears, a tanh of learned gain and slope, a hard
shrink, `torch.nn.functional`'s silu, gelu (exact and by tanh), elu, mish, softplus of beta 2,
tanhshrink, log-sigmoid, softsign, CELU and SELU, a softmin; x gated by a sigmoid of x @ w, a residual
GELU of a linear, a GLU by SiLU, a mix of x and its row's mean; an affine, a FiLM `x * (1 + g) + b`, a
scale `x * exp(w) + b`, a bilinear `(x @ w) * x`, an nn.Linear-style `x @ w.t()`, an einsum linear, a
`torch.mm` linear, a residual MLP block, a GLU (its projection chunked in two), SwiGLU, a linear gated
by a sigmoid of another, a tanh gated by a sigmoid, x gated by x @ w, a weight-normalised linear, an
RMS norm whose gain is multiplied in first (`w * x * rsqrt(…)`), a standardisation over the features, a
scale by the batch's std (no centring), a residual gated by a learned sigmoid, an einsum linear with
nn.Linear's weight, a log-softmax by logsumexp, an L2 and a scale normalisation, a batch norm in its
closed form, a standardisation by `x.std(0)` (over n − 1), F.layer_norm with a backward that recomputes
its statistics, a group norm through a view, a centring, one over the batch, the row's max subtracted,
a division by the row's mean |x| + 1, a gate by the row's mean, a scale by the row's mean square, a
softmax with a temperature, one by `exp(x) / exp(x).sum()`, one per head of a view, halves swapped by
`cat`, a residual layer norm `x + LN(x)`, a gate `x * softmax(x)`, a centring over the batch with a
learned scale, SiLU of a linear, a linear tied to its transpose `x @ w @ w.t()`, a softmax of a learned
temperature, a division by the row's norm + 1, by its L1 norm, a highway `t * tanh(x @ v) + (1 − t) *
x`, a low-rank `x @ u @ v`, a batch norm of the mean only, a cosine linear `(x / |x|) @ w`, a log of 1
+ x² centred over the row, x gated by the tanh of its row's mean, a fixed convolution of rolls, a
linear normalised to unit rows, `F.softshrink`, asinh, |x| ** w of a learned w, `F.glu` of a linear,
`F.prelu`, `torch.hypot` of x and a learned w, a row sorted then scaled; `F.linear` and `torch.addmm`
linears, a softmax in method calls, `torch.logaddexp(x, 0)`, x · sigmoid(1.702 x), `F.normalize`,
`torch.lerp` to a learned w, `torch.maximum` with a learned floor, a `masked_fill`, a layer norm by
`torch.var_mean`, x minus its row's mean square, a mix with its `torch.flip`, a softmax over the
batch, a mean of pairs by `view` and `repeat_interleave`, a gain `exp(w)`; a sigmoid, a tanh and an exp whose
backward makes its value again from the input, a sigmoid's derivative as `exp(-x) / (1 + exp(-x))²`, a softplus's
as `exp(x) / (1 + exp(x))` and as `1 / (1 + exp(-x))`; `F.relu6`, `F.hardsigmoid` and `F.hardswish` of 3x or 4x,
`F.leaky_relu` of slope 0.2, `F.elu` of alpha 0.5 (its derivative from its output), `F.rms_norm` and
`F.batch_norm` with backwards that recompute their statistics, a soft clip `a tanh(x / a)` of a learned a,
an ELU by `expm1`, a division by the row's std (over n − 1), x times its row's norm, a fixed dropout mask,
a GLU by `chunk` and `cat`, a tanh of a `torch.split`, `torch.addcdiv(x, x, 1 + x²)`, a linear of a `torch.triu`
weight, a PReLU of two learned slopes by `torch.where`, `torch.addcmul` as an affine, `x.square() - x`, a division
by `torch.norm`, |x| ** p of a learned scalar p, a linear whose weight is divided by its Frobenius norm, minGPT's
GELU, Llama's RMS norm (its float32 cast), a gate of two experts by a softmax, a linear of a standardised weight,
attention pooling over the batch added back, a clip of the centred row, a log-softmax over the batch, a gain
centred over the features, and ten whose backward makes forward values again (a swish of a learned beta, GELU
by erf, a layer norm, a softmax of x / 2, log-sigmoid, x + exp(−x²), a gained tanh of 2x, softsign, SiLU by
`x / (1 + exp(−x))`, a Student-t loss); and ten ported from a from-scratch NumPy library and a from-scratch
GPT's layer norm (tanh as `2 / (1 + exp(−2x)) − 1` made again in its backward, batch norm's one-expression
backward by `1 / sqrt(var + eps)`, a scaled SELU, softplus by log, ELU's derivative from its output, softmax,
a layer norm whose backward scales in place, a sigmoid by hand, a leaky ReLU's derivative of Python numbers,
a halved squared error); and four staged as a well-known walk through batch norm's backward stages it (batch
norm and layer norm by `1 / sqrt(var + eps)`, its `torch.ones((N, D))`; a softmax loss whose backward subtracts
the one-hot in place; a binary cross-entropy of a sigmoid by the quotient of its derivative); and ten
written after the rest, to try the search on layers it was not tuned on (a group norm of two groups through
`view`, Mish in steps, Welsch's loss, a cubic of learned coefficients, x gated by the sigmoid of a learned
projection of its row, a KL divergence of two classes, x damped by exp of its row's mean square, a linear of
the batch-centred input, attention over the batch's rows `softmax(x wq (x wk)ᵀ / √d) x`, a softsign of a
learned scale) and ten more (a cross-entropy with label smoothing over three logits `cat([x, -x, x / 2])`,
a scale norm `g x / (‖x‖ + ε)`, SwiGLU by hand, a Huber loss by `torch.where`, x minus its softmax-weighted
mean, a convolution of three taps by `F.pad` and slices, a linear times a learned scalar, softplus of beta 2
with its threshold, a cosine distance to the target, logits minus a learned multiple of their logsumexp) and
ten more (attention across three heads of each row by `reshape` and batched products, a division by the
row's max |x| + 1 whose backward scatters to the max, a gate by einsum, a standardisation by `x.std(1)` + ε,
a squared clamp of a linear, x tanh(exp x), a cross-entropy by `F.one_hot`, a leaky ReLU of a learned slope
per feature, x minus its softmax-pooled row, a quantile loss by `torch.maximum`) and ten more, kernels' usual
fusions (a bias and GELU by tanh, a residual and a layer norm, a rotation of halves by `chunk`, a cross-entropy
with a z-loss, a residual and an RMS norm, a dropout of a fixed mask with its scale, a sigmoid of a learned
temperature, an elastic loss, attention over the batch with a learned bias on its diagonal, SwiGLU of one projection by
`chunk`) and ten more written to try it on what it was not tuned on (a dynamic tanh `g tanh(a x) + b`, GEGLU by
erf, a Poisson NLL with its `lgamma` term, a mask of each row's top four by `topk` and `scatter`, squared distances
to learned centres through a 3-D broadcast, a softmax router of two experts, x minus t logsumexp(x / t) of a learned
t, a polynomial summed in a loop, a ReZero residual, `F.conv1d` across the features) and four whose forward loops
(an RNN of three steps whose backward runs through time, three heads gated each in a loop, Horner's rule, two
residual tanh blocks) and twenty-five more written after them, the same way (course22p2's general ReLU, a causal
attention head over 3-D tokens with a `masked_fill`, a rotary rotation of a learned angle, a cosine head of two
`F.normalize`, a GRU step, Barron's loss of α = 3, a clip of each row's norm, a cross-entropy by `gather` and
`scatter_add`, a learned position added before `F.silu`, a batch norm by `torch.var_mean` and `rsqrt`, x minus
t logsumexp(x / t), a convolution by `F.unfold` and `F.fold`, a softmax with NumPy's `axis=` and `keepdims=`,
`F.gelu` of `F.linear`, `F.layer_norm` with its gain and bias, `F.scaled_dot_product_attention`, a mean of pairs
spread back by `repeat_interleave`, a row sorted by `take_along_dim`, a running mean by `cumsum`, a sigmoid's
binary entropy, a causal mean over tokens by `tril`, a learned mix of x and its hard tanh, x averaged with its
row's mean by `expand`, a linear by `diag_embed`, an RBF of `torch.cdist` to learned centres) and eleven more
(atan of a learned gain, a max of pairs spread back, a token mixer `x + w @ x` over 3-D tokens, x gated by the
tanh of a quadratic form by a three-operand einsum, a factorisation machine's pairwise term, an LSTM cell of
chunked gates, attention with ALiBi's learned distance penalty, the wing loss, a layer-scaled GELU whose
backward writes its derivative as `cdf` and `pdf`, log cosh by `torch.logaddexp`, a division by the largest |x|)
and eight more (attention pooling of tokens by a learned query added back, x gated by the sigmoid of its row's
logsumexp, a piecewise linear by nested `torch.where`, a sigmoid of x clamped above, a cubic token interaction
`(x w xᵀ) x`, x plus a learned multiple of the batch's variance (over n − 1), Cauchy's loss of scale 0.7, a division by the
row's mean absolute deviation + 1) and nine more (two heads of attention within each row by `einsum`, a
cumulative product, a standardisation by `torch.var(…, unbiased=False)` and `rsqrt`, sigmoid(2x) as a softmax of
`torch.stack([x, -x])`, a maxout of three by `max(-1)` spread back three times by `cat`, a binary cross-entropy
with a positive weight, x damped by exp of its row's mean |x|, a linear normalised by `sqrt(‖h‖² + 1)`, tanh x ·
tanh 2x) and ten more (a channel shuffle by `view` and `transpose` then a gain, a reversal of the features by an
index and `index_add_`, a normalisation over the tokens of a 3-D view in its closed form, a squared ReLU of a
learned threshold, a division by `sqrt(Σ w x² + 1)` of a learned w, x gated by the sigmoid of its row's power
mean, x erf x, a Laplace NLL whose scale the target sets, a softsign of a learned scale, a logsumexp of pairs and
its negation by `cat`) and ten more (an ELU + 1 feature map normalised over its row, a mix of two sigmoids, `torch.sinc`,
an RMS norm of a learned log-epsilon, a cubic by `torch.stack` of powers and a learned vector, a min-max normalisation
of each row, a log-softmax over pairs, a cross-entropy over three logits `stack([x, 2x, -x])` by `gather`, a bias, GELU
and a fixed mask fused, x cos(x w)) and eleven more (arctan, a capsule network's squash `s / (1 + s) · x / √s` by a
closed form of its own, a Huber loss by `where`, a Poisson loss, attention of three tokens of a row over each other, a
layer-scaled tanh of a linear, x erf(x), an RMS norm of three groups through `view`, a mix with the row rolled, a pair's
max subtracted, BCE with logits by softplus) and ten more (x times its softsign, x minus its row's logsumexp, x gated by
a sigmoid of x @ w, twice a clamp to [-1, 1], a division by the fourth root of the row's mean square, a BerHu loss, a
gain by softplus of a learned vector and a bias, x times its own softmax, x + tanh(x) sigmoid(x), x scaled by its
cosine with a learned vector);
losses: `F.smooth_l1_loss`,
`F.huber_loss`, `F.binary_cross_entropy_with_logits`, `F.mse_loss`, `F.l1_loss`, `F.soft_margin_loss`,
`F.binary_cross_entropy` of a sigmoid, its derivative as `(p - y) / (p (1 - p))`,
a Gaussian NLL of a variance from the target, a focal loss, a Tweedie loss, a Dice loss, a
cross-entropy by logsumexp and gather, `F.cross_entropy` of `cat([x, -x])`, a
squared error halved, squared error in two forms and with a penalty, Huber, BCE with
logits, log-cosh, a relative absolute error, Poisson NLL, squared hinge, quantile, a fourth power, a
logistic loss, |d|^1.5, a squared error weighted by |targ|, log(1 + d²), a root mean square error, the
log of the MSE, 1 − exp(−d²), Geman–McClure, Charbonnier, pseudo-Huber, a hinge, |d|³, exp(d) − d, log
cosh by softplus), its ground truth computed apart from gradtui, as that benchmark computes it.

One edit per mutant, anywhere in the backward's expressions: a term of a sum dropped (either side),
its sign flipped, a factor dropped (either side), a power dropped, a minus dropped, the operands of
a matmul swapped, a `.t()`/`.transpose()`/`.float()`/`.squeeze()`/`.unsqueeze()` dropped, a sum
for a mean or a mean for a sum, a reduction dropped, over another axis or without keepdim, 1 for
2, a constant doubled, `<` for `>`, `out` for `out.g`, `out` for `inp`, a `.float()` added in a
float64 run. A mutant whose backward computes the right gradients, or raises, says nothing of the
search and is left out of the table (the raise is reported as it is, at its step).

For each mutant: placed (the check's first mismatch is one of that layer's wrong gradients: its first, but
where a float32 rounding in a float64 run crosses the bound in one gradient on gradtui's data and in another
on autograd's) and
named (a hint that is not the fallback's "fits no known slip", nor a bare statement of shapes).

With --right, no mutant: each layer's own backward, in both styles, in float32 and float64; gradtui must pass
every one (a false ✗ is printed, and the exit is 1).

With --kernel, each layer is written as an engineer writes a fused kernel instead: its forward inside a
torch.autograd.Function, whose backward and the layer's call one function of the gradient, so that
autograd through it would run the slip itself; gradtui judges it by finite differences and names the slip
on the backward derived from the Function's own forward (the ground truth is the module style's).

    python benchmarks/any_layer_mutants.py [--layer NAME] [--kernel | --right] [-v]
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import sys
import tempfile
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

import gradtui
from gradtui.written_slips import copied_tree


def _corpus():
    """benchmarks/any_layer_coverage.py, as loaded already (a test may have), else loaded here."""
    if "any_layer_coverage" in sys.modules:
        return sys.modules["any_layer_coverage"]
    spec = importlib.util.spec_from_file_location("any_layer_coverage", Path(__file__).with_name("any_layer_coverage.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


corpus = _corpus()
Layer = corpus.Layer

MORE = (  # written here, as a user would, beside the corpus's own
    Layer("LeakyReLU", """
self.mask = inp > 0
return torch.where(self.mask, inp, 0.01 * inp)
""", """
inp.g = out.g * torch.where(self.mask, 1.0, 0.01)
"""),
    Layer("Softplus", """
return torch.log(1 + torch.exp(inp))
""", """
inp.g = out.g * torch.exp(inp) / (1 + torch.exp(inp))
"""),
    Layer("Tanh", """
return torch.tanh(inp)
""", """
inp.g = out.g * (1 - out ** 2)
"""),
    Layer("ELU", """
return torch.where(inp > 0, inp, torch.exp(inp) - 1)
""", """
inp.g = out.g * torch.where(inp > 0, torch.ones_like(inp), out + 1)
"""),
    Layer("Affine", """
return inp * self.w + self.b
""", """
self.w.g = (out.g * inp).sum(0)
self.b.g = out.g.sum(0)
inp.g = out.g * self.w
""", ("w", "b")),
    Layer("L2Normalize", """
self.n = (inp ** 2).sum(-1, keepdim=True).sqrt()
return inp / self.n
""", """
inp.g = (out.g - out * (out.g * out).sum(-1, keepdim=True)) / self.n
"""),
    Layer("SquaredError", """
self.diff = inp.squeeze(-1) - targ
return (self.diff ** 2).mean()
""", """
inp.g = (2 * self.diff / self.diff.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("Mish", """
self.sp = torch.log(1 + torch.exp(inp))
self.t = torch.tanh(self.sp)
return inp * self.t
""", """
dsp = torch.sigmoid(inp)
inp.g = out.g * (self.t + inp * (1 - self.t ** 2) * dsp)
"""),
    Layer("Hardtanh", """
return inp.clamp(-1, 1)
""", """
inp.g = out.g * ((inp > -1) & (inp < 1)).to(inp.dtype)
"""),
    Layer("Huber", """
self.d = inp.squeeze(-1) - targ
return torch.where(self.d.abs() < 1, 0.5 * self.d ** 2, self.d.abs() - 0.5).mean()
""", """
inp.g = (torch.where(self.d.abs() < 1, self.d, self.d.sign()) / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("BCEWithLogits", """
self.z = inp.squeeze(-1)
return (torch.log(1 + torch.exp(self.z)) - targ * self.z).mean()
""", """
inp.g = ((torch.sigmoid(self.z) - targ) / targ.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("Swish", """
self.s = torch.sigmoid(self.beta * inp)
return inp * self.s
""", """
ds = self.s * (1 - self.s)
self.beta.g = (out.g * inp * ds * inp).sum(0)
inp.g = out.g * (self.s + inp * ds * self.beta)
""", ("beta",)),
    Layer("LinearT", """
return inp @ self.w.t() + self.b
""", """
self.w.g = out.g.t() @ inp
self.b.g = out.g.sum(0)
inp.g = out.g @ self.w
""", ("w", "b")),
    Layer("Siren", """
return torch.sin(3 * inp)
""", """
inp.g = out.g * 3 * torch.cos(3 * inp)
"""),
    Layer("PReLU", """
return torch.where(inp > 0, inp, self.a * inp)
""", """
self.a.g = (out.g * torch.where(inp > 0, 0.0, inp)).sum(0)
inp.g = out.g * torch.where(inp > 0, 1.0, self.a)
""", ("a",)),
    Layer("Softsign", """
self.d = 1 + inp.abs()
return inp / self.d
""", """
inp.g = out.g / self.d ** 2
"""),
    Layer("LogCosh", """
self.d = inp.squeeze(-1) - targ
return torch.log(torch.cosh(self.d)).mean()
""", """
inp.g = (torch.tanh(self.d) / self.d.numel()).unsqueeze(-1)
""", loss=True),
    Layer("ScaleNorm", """
self.n = inp.norm(dim=-1, keepdim=True)
return self.g0 * inp / self.n
""", """
y = inp / self.n
dy = out.g * self.g0
self.g0.g = (out.g * y).sum().view(1)
inp.g = (dy - y * (dy * y).sum(-1, keepdim=True)) / self.n
""", ("g0",)),
    Layer("BatchNormByHand", """
self.mu = inp.mean(0)
self.var = inp.var(0, unbiased=False)
self.std = (self.var + 1e-5).sqrt()
self.xhat = (inp - self.mu) / self.std
return self.gamma * self.xhat + self.beta
""", """
n = inp.shape[0]
self.gamma.g = (out.g * self.xhat).sum(0)
self.beta.g = out.g.sum(0)
dxhat = out.g * self.gamma
inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)
""", ("gamma", "beta")),
    Layer("GLU", """
self.h = inp @ self.w
self.a, self.b = self.h.chunk(2, dim=-1)
self.s = torch.sigmoid(self.b)
return self.a * self.s
""", """
da = out.g * self.s
db = out.g * self.a * self.s * (1 - self.s)
dh = torch.cat([da, db], -1)
self.w.g = inp.t() @ dh
inp.g = dh @ self.w.t()
""", ("w",)),
    Layer("LeakyReLUWhere", """
return torch.where(inp > 0, inp, 0.01 * inp)
""", """
inp.g = out.g * torch.where(inp > 0, 1.0, 0.01)
"""),
    Layer("ELUWhere", """
self.e = torch.exp(inp) - 1
return torch.where(inp > 0, inp, self.e)
""", """
inp.g = torch.where(inp > 0, out.g, out.g * (self.e + 1))
"""),
    Layer("HardSwish", """
self.r = (inp + 3).clamp(0, 6)
return inp * self.r / 6
""", """
inside = ((inp > -3) & (inp < 3)).to(inp.dtype)
inp.g = out.g * (self.r + inp * inside) / 6
"""),
    Layer("LogSigmoid", """
self.s = torch.sigmoid(inp)
return torch.log(self.s)
""", """
inp.g = out.g * (1 - self.s)
"""),
    Layer("Cubic", """
return inp ** 3 / 3 + inp
""", """
inp.g = out.g * (inp ** 2 + 1)
"""),
    Layer("ResidualMLP", """
self.h = inp @ self.w + self.b
self.r = self.h.clamp_min(0.)
return inp + self.r
""", """
dh = out.g * (self.h > 0).to(out.g.dtype)
self.w.g = inp.t() @ dh
self.b.g = dh.sum(0)
inp.g = out.g + dh @ self.w.t()
""", ("w", "b")),
    Layer("SwiGLU", """
self.a = inp @ self.w1
self.c = inp @ self.w2
self.s = torch.sigmoid(self.a)
return self.a * self.s * self.c
""", """
da = out.g * self.c * (self.s + self.a * self.s * (1 - self.s))
dc = out.g * self.a * self.s
self.w1.g = inp.t() @ da
self.w2.g = inp.t() @ dc
inp.g = da @ self.w1.t() + dc @ self.w2.t()
""", ("w1", "w2")),
    Layer("WeightNormLin", """
self.n = self.v.norm(dim=0, keepdim=True)
self.w = self.v / self.n
return inp @ self.w
""", """
dw = inp.t() @ out.g
self.v.g = (dw - self.w * (dw * self.w).sum(0, keepdim=True)) / self.n
inp.g = out.g @ self.w.t()
""", ("v",)),
    Layer("GroupNorm", """
self.x = inp.view(inp.shape[0], 3, 4)
self.mu = self.x.mean(-1, keepdim=True)
self.d = self.x - self.mu
self.var = (self.d ** 2).mean(-1, keepdim=True)
self.rstd = (self.var + 1e-5) ** -0.5
return (self.d * self.rstd).view(inp.shape[0], 12)
""", """
dy = out.g.view(inp.shape[0], 3, 4)
xhat = self.d * self.rstd
dx = self.rstd * (dy - dy.mean(-1, keepdim=True) - xhat * (dy * xhat).mean(-1, keepdim=True))
inp.g = dx.view(inp.shape[0], 12)
"""),
    Layer("TempSoftmax", """
self.p = torch.softmax(inp / 2.0, dim=-1)
return self.p
""", """
inp.g = self.p * (out.g - (out.g * self.p).sum(-1, keepdim=True)) / 2.0
"""),
    Layer("TanhByExp", """
self.ep = torch.exp(inp)
self.em = torch.exp(-inp)
self.t = (self.ep - self.em) / (self.ep + self.em)
return self.t
""", """
inp.g = out.g * (1 - self.t ** 2)
"""),
    Layer("SmoothL1Sq", """
self.d = inp.squeeze(-1) - targ
return (self.d ** 2).sum() / (2 * self.d.shape[0])
""", """
inp.g = (self.d / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("MAPE", """
self.d = inp.squeeze(-1) - targ
return (self.d.abs() / (targ.abs() + 1)).mean()
""", """
inp.g = (self.d.sign() / (targ.abs() + 1) / targ.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("MaxScale", """
return torch.maximum(inp, self.w * inp)
""", """
mask = (inp >= self.w * inp).to(inp.dtype)
self.w.g = (out.g * (1 - mask) * inp).sum(0)
inp.g = out.g * (mask + (1 - mask) * self.w)
""", ("w",)),
    Layer("EinsumLinear", """
return torch.einsum("nc,cd->nd", inp, self.w) + self.b
""", """
self.w.g = torch.einsum("nc,nd->cd", inp, out.g)
self.b.g = out.g.sum(0)
inp.g = torch.einsum("nd,cd->nc", out.g, self.w)
""", ("w", "b")),
    Layer("FLayerNorm", """
return torch.nn.functional.layer_norm(inp, (12,), self.w, self.b)
""", """
mu = inp.mean(-1, keepdim=True)
rstd = ((inp - mu) ** 2).mean(-1, keepdim=True).add(1e-5).rsqrt()
xhat = (inp - mu) * rstd
self.w.g = (out.g * xhat).sum(0)
self.b.g = out.g.sum(0)
dx = out.g * self.w
inp.g = rstd * (dx - dx.mean(-1, keepdim=True) - xhat * (dx * xhat).mean(-1, keepdim=True))
""", ("w", "b")),
    Layer("SoftplusBeta", """
return torch.nn.functional.softplus(inp, beta=2.0)
""", """
inp.g = out.g * torch.sigmoid(2.0 * inp)
"""),
    Layer("Gaussian", """
self.e = torch.exp(-inp ** 2)
return self.e
""", """
inp.g = out.g * -2 * inp * self.e
"""),
    Layer("SignedLog", """
return torch.sign(inp) * torch.log1p(inp.abs())
""", """
inp.g = out.g / (1 + inp.abs())
"""),
    Layer("MeanGate", """
self.m = inp.mean(-1, keepdim=True)
return inp * self.m
""", """
inp.g = out.g * self.m + (out.g * inp).sum(-1, keepdim=True) / inp.shape[-1]
"""),
    Layer("Centre", """
return (inp - inp.mean(-1, keepdim=True)) * self.g0
""", """
self.g0.g = (out.g * (inp - inp.mean(-1, keepdim=True))).sum(0)
d = out.g * self.g0
inp.g = d - d.mean(-1, keepdim=True)
""", ("g0",)),
    Layer("PoissonNLL", """
self.z = inp.squeeze(-1)
return (torch.exp(self.z) - targ * self.z).mean()
""", """
inp.g = ((torch.exp(self.z) - targ) / self.z.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("SquaredHinge", """
self.z = inp.squeeze(-1)
self.h = torch.clamp(1 - targ * self.z, min=0)
return (self.h ** 2).mean()
""", """
inp.g = (-2 * self.h * targ / self.z.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("GatedTanh", """
self.t = torch.tanh(inp)
self.s = torch.sigmoid(inp @ self.w)
return self.t * self.s
""", """
ds = out.g * self.t * self.s * (1 - self.s)
self.w.g = inp.t() @ ds
inp.g = out.g * self.s * (1 - self.t ** 2) + ds @ self.w.t()
""", ("w",)),
    Layer("LearnedSine", """
return torch.sin(self.f * inp)
""", """
c = torch.cos(self.f * inp)
self.f.g = (out.g * c * inp).sum(0)
inp.g = out.g * c * self.f
""", ("f",)),
    Layer("Cumsum", """
return torch.cumsum(inp, -1)
""", """
inp.g = out.g.flip(-1).cumsum(-1).flip(-1)
"""),
    Layer("HeadSoftmax", """
self.x = inp.view(inp.shape[0], 3, 4)
self.s = self.x.softmax(-1)
return (self.s * self.x).view(inp.shape[0], 12)
""", """
g = out.g.view(inp.shape[0], 3, 4)
ds = g * self.x
dx = g * self.s + self.s * (ds - (ds * self.s).sum(-1, keepdim=True))
inp.g = dx.view(inp.shape[0], 12)
"""),
    Layer("Poly", """
return self.a * inp ** 2 + self.b * inp
""", """
self.a.g = (out.g * inp ** 2).sum(0)
self.b.g = (out.g * inp).sum(0)
inp.g = out.g * (2 * self.a * inp + self.b)
""", ("a", "b")),
    Layer("Rational", """
self.d = 1 + inp ** 2
return inp / self.d
""", """
inp.g = out.g * (1 - inp ** 2) / self.d ** 2
"""),
    Layer("SelfGate", """
self.h = inp @ self.w
return inp * self.h
""", """
dh = out.g * inp
self.w.g = inp.t() @ dh
inp.g = out.g * self.h + dh @ self.w.t()
""", ("w",)),
    Layer("PenalisedMSE", """
self.z = inp.squeeze(-1)
return ((self.z - targ) ** 2).mean() + 0.01 * (self.z ** 2).mean()
""", """
n = self.z.shape[0]
inp.g = (2 * (self.z - targ) / n + 0.02 * self.z / n).unsqueeze(-1)
""", loss=True),
    Layer("Quantile", """
self.d = targ - inp.squeeze(-1)
return torch.maximum(0.7 * self.d, (0.7 - 1) * self.d).mean()
""", """
dd = torch.where(0.7 * self.d >= (0.7 - 1) * self.d, 0.7, 0.7 - 1)
inp.g = (-dd / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("SwapHalves", """
return torch.cat([inp[:, 6:], inp[:, :6] * 2], -1)
""", """
inp.g = torch.cat([out.g[:, 6:] * 2, out.g[:, :6]], -1)
"""),
    Layer("Standardize", """
self.mu = inp.mean(0)
self.sd = inp.std(0)
self.xhat = (inp - self.mu) / self.sd
return self.xhat
""", """
n = inp.shape[0]
inp.g = (out.g - out.g.mean(0) - self.xhat * (out.g * self.xhat).sum(0) / (n - 1)) / self.sd
"""),
    Layer("ExpNormalize", """
self.e = torch.exp(inp)
self.p = self.e / self.e.sum(-1, keepdim=True)
return self.p
""", """
inp.g = self.p * (out.g - (out.g * self.p).sum(-1, keepdim=True))
"""),
    Layer("RowScale", """
self.r = inp.pow(2).mean(-1, keepdim=True)
return inp * self.r
""", """
c = inp.shape[-1]
inp.g = out.g * self.r + 2 * inp / c * (out.g * inp).sum(-1, keepdim=True)
"""),
    Layer("FiLM", """
return inp * (1 + self.g) + self.b
""", """
self.g.g = (out.g * inp).sum(0)
self.b.g = out.g.sum(0)
inp.g = out.g * (1 + self.g)
""", ("g", "b")),
    Layer("SignedPow", """
self.a = inp.abs()
return self.a ** 1.5 * torch.sign(inp)
""", """
inp.g = out.g * 1.5 * self.a ** 0.5
"""),
    Layer("BatchCenter", """
return inp - inp.mean(0, keepdim=True)
""", """
inp.g = out.g - out.g.mean(0, keepdim=True)
"""),
    Layer("AlphaELU", """
self.e = torch.exp(inp)
return torch.where(inp > 0, inp, self.a * (self.e - 1))
""", """
pos = inp > 0
self.a.g = (out.g * (self.e - 1) * ~pos).sum(0)
inp.g = out.g * torch.where(pos, 1.0, self.a * self.e)
""", ("a",)),
    Layer("SELU", """
self.pos = inp > 0
return 1.0507 * torch.where(self.pos, inp, 1.6733 * (torch.exp(inp) - 1))
""", """
inp.g = 1.0507 * out.g * torch.where(self.pos, 1.0, 1.6733 * torch.exp(inp))
"""),
    Layer("Squareplus", """
self.r = torch.sqrt(inp ** 2 + 4)
return (inp + self.r) / 2
""", """
inp.g = out.g * (1 + inp / self.r) / 2
"""),
    Layer("MaxShift", """
return inp - inp.max(-1, keepdim=True).values
""", """
idx = inp.argmax(-1, keepdim=True)
onehot = torch.zeros_like(inp).scatter(-1, idx, 1.0)
inp.g = out.g - onehot * out.g.sum(-1, keepdim=True)
"""),
    Layer("AbsMeanNorm", """
self.m = inp.abs().mean(-1, keepdim=True) + 1
return inp / self.m
""", """
c = inp.shape[-1]
inp.g = out.g / self.m - torch.sign(inp) / c * (out.g * inp / self.m ** 2).sum(-1, keepdim=True)
"""),
    Layer("ScaleShift", """
return inp * self.w.exp() + self.b
""", """
e = self.w.exp()
self.w.g = (out.g * inp * e).sum(0)
self.b.g = out.g.sum(0)
inp.g = out.g * e
""", ("w", "b")),
    Layer("Bilinear", """
self.h = inp @ self.w
return self.h * inp
""", """
self.w.g = inp.t() @ (out.g * inp)
inp.g = (out.g * inp) @ self.w.t() + out.g * self.h
""", ("w",)),
    Layer("HardSigmoid", """
return torch.clamp(inp / 6 + 0.5, 0, 1)
""", """
inp.g = out.g * ((inp > -3) & (inp < 3)).to(inp.dtype) / 6
"""),
    Layer("LogSoftmaxRow", """
return inp - inp.logsumexp(-1, keepdim=True)
""", """
inp.g = out.g - out.exp() * out.g.sum(-1, keepdim=True)
"""),
    Layer("RMSNormGainFirst", """
self.r = torch.rsqrt((inp ** 2).mean(-1, keepdim=True) + 1e-6)
return self.w * inp * self.r
""", """
dy = out.g * self.w
self.w.g = (out.g * inp * self.r).sum(0)
inp.g = self.r * dy - inp * self.r ** 3 * (dy * inp).mean(-1, keepdim=True)
""", ("w",)),
    Layer("ExpAct", """
return torch.exp(0.5 * inp)
""", """
inp.g = 0.5 * out.g * out
"""),
    Layer("MMLinear", """
return torch.mm(inp, self.w) + self.b
""", """
self.w.g = torch.mm(inp.T, out.g)
self.b.g = out.g.sum(dim=0)
inp.g = torch.mm(out.g, self.w.T)
""", ("w", "b")),
    Layer("InstanceStd", """
mu = inp.mean(1, keepdim=True)
var = ((inp - mu) ** 2).mean(1, keepdim=True)
self.rstd = (var + 1e-5) ** -0.5
self.xhat = (inp - mu) * self.rstd
return self.xhat
""", """
inp.g = self.rstd * (out.g - out.g.mean(1, keepdim=True) - self.xhat * (out.g * self.xhat).mean(1, keepdim=True))
"""),
    Layer("QuarticLoss", """
self.d = inp.squeeze(-1) - targ
return (self.d ** 4).mean()
""", """
inp.g = (4 * self.d ** 3 / targ.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("LogisticLoss", """
self.z = -targ * inp.squeeze(-1)
return torch.log1p(torch.exp(self.z)).mean()
""", """
inp.g = (-targ * torch.sigmoid(self.z) / targ.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("TanhShrink", """
return inp - torch.tanh(inp)
""", """
inp.g = out.g * torch.tanh(inp) ** 2
"""),
    Layer("GatedLinear", """
self.h = inp @ self.w
self.s = torch.sigmoid(inp @ self.v)
return self.h * self.s
""", """
dh = out.g * self.s
ds = out.g * self.h * self.s * (1 - self.s)
self.w.g = inp.T @ dh
self.v.g = inp.T @ ds
inp.g = dh @ self.w.T + ds @ self.v.T
""", ("w", "v")),
    Layer("ReLU1", """
return inp.clamp(min=0, max=1)
""", """
inp.g = out.g * ((inp > 0) & (inp < 1))
"""),
    Layer("AltMask", """
self.m = (torch.arange(inp.shape[1]) % 2).to(inp.dtype)
return inp * self.m * 2
""", """
inp.g = out.g * self.m * 2
"""),
    Layer("LayerScaleTanh", """
return inp + self.gamma * torch.tanh(inp)
""", """
t = torch.tanh(inp)
self.gamma.g = (out.g * t).sum(0)
inp.g = out.g * (1 + self.gamma * (1 - t ** 2))
""", ("gamma",)),
    Layer("SmoothStep", """
self.t = inp.clamp(0, 1)
return self.t * self.t * (3 - 2 * self.t)
""", """
inp.g = out.g * 6 * self.t * (1 - self.t)
"""),
    Layer("XSin", """
return torch.sin(inp) * inp
""", """
inp.g = out.g * (torch.cos(inp) * inp + torch.sin(inp))
"""),
    Layer("LogCoshAct", """
return torch.log(torch.cosh(inp))
""", """
inp.g = out.g * torch.tanh(inp)
"""),
    Layer("VarScale", """
self.s = (inp.var(0, unbiased=False) + 1e-5).sqrt()
return inp / self.s
""", """
n = inp.shape[0]
mu = inp.mean(0)
inp.g = out.g / self.s - (inp - mu) * (out.g * inp).sum(0) / (n * self.s ** 3)
"""),
    Layer("PowLoss", """
self.d = inp.squeeze(-1) - targ
return (self.d.abs() ** 1.5).mean()
""", """
inp.g = (1.5 * self.d.abs() ** 0.5 * self.d.sign() / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("WeightedMSE", """
self.d = inp.squeeze(-1) - targ
return (targ.abs() * self.d ** 2).mean()
""", """
inp.g = (2 * targ.abs() * self.d / targ.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("EinsumT", """
return torch.einsum("ni,oi->no", inp, self.w) + self.b
""", """
self.w.g = torch.einsum("no,ni->oi", out.g, inp)
self.b.g = out.g.sum(0)
inp.g = torch.einsum("no,oi->ni", out.g, self.w)
""", ("w", "b")),
    Layer("CauchyLoss", """
self.d = inp.squeeze(-1) - targ
return torch.log1p(self.d ** 2).mean()
""", """
inp.g = (2 * self.d / (1 + self.d ** 2) / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("GatedResidual", """
self.s = torch.sigmoid(self.g)
self.t = torch.tanh(inp @ self.w)
return inp + self.s * self.t
""", """
dt = out.g * self.s * (1 - self.t ** 2)
self.w.g = inp.T @ dt
self.g.g = (out.g * self.t).sum(0) * self.s * (1 - self.s)
inp.g = out.g + dt @ self.w.T
""", ("g", "w")),
    Layer("GELUTanh", """
self.u = 0.7978845608 * (inp + 0.044715 * inp ** 3)
self.t = torch.tanh(self.u)
return 0.5 * inp * (1 + self.t)
""", """
du = 0.7978845608 * (1 + 3 * 0.044715 * inp ** 2)
inp.g = out.g * (0.5 * (1 + self.t) + 0.5 * inp * (1 - self.t ** 2) * du)
"""),
    Layer("SoftThreshold", """
self.m = (inp.abs() > 0.5).float()
return torch.sign(inp) * torch.relu(inp.abs() - 0.5)
""", """
inp.g = out.g * self.m
"""),
    Layer("RBF", """
self.d = inp - self.c
return torch.exp(-self.d ** 2 / (2 * self.s ** 2))
""", """
e = torch.exp(-self.d ** 2 / (2 * self.s ** 2))
self.c.g = (out.g * e * self.d / self.s ** 2).sum(0)
self.s.g = (out.g * e * self.d ** 2 / self.s ** 3).sum(0)
inp.g = -out.g * e * self.d / self.s ** 2
""", ("c", "s")),
    Layer("GaussGate", """
self.e = torch.exp(-inp ** 2)
return inp * self.e
""", """
inp.g = out.g * self.e * (1 - 2 * inp ** 2)
"""),
    Layer("RMSELoss", """
self.d = inp.squeeze(-1) - targ
self.r = (self.d ** 2).mean().sqrt()
return self.r
""", """
inp.g = (self.d / (self.d.shape[0] * self.r)).unsqueeze(-1)
""", loss=True),
    Layer("LogMSE", """
self.d = inp.squeeze(-1) - targ
self.m = (self.d ** 2).mean()
return torch.log(self.m)
""", """
inp.g = (2 * self.d / (self.d.shape[0] * self.m)).unsqueeze(-1)
""", loss=True),
    Layer("SoftmaxGate", """
self.p = torch.softmax(inp, dim=1)
return inp * self.p
""", """
g = out.g * inp
inp.g = out.g * self.p + self.p * (g - (g * self.p).sum(1, keepdim=True))
"""),
    Layer("ResLayerNorm", """
self.mu = inp.mean(1, keepdim=True)
self.r = 1 / (inp.var(1, keepdim=True, unbiased=False) + 1e-5).sqrt()
self.xh = (inp - self.mu) * self.r
return inp + self.xh
""", """
dxh = out.g
inp.g = out.g + self.r * (dxh - dxh.mean(1, keepdim=True) - self.xh * (dxh * self.xh).mean(1, keepdim=True))
"""),
    Layer("CenterScale", """
self.c = inp - inp.mean(0)
return self.c * self.a
""", """
self.a.g = (out.g * self.c).sum(0)
d = out.g * self.a
inp.g = d - d.mean(0)
""", ("a",)),
    Layer("ExpDecayLoss", """
self.d = inp.squeeze(-1) - targ
return (1 - torch.exp(-self.d ** 2)).mean()
""", """
inp.g = (2 * self.d * torch.exp(-self.d ** 2) / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("SiLUOfLinear", """
self.h = inp @ self.w
return self.h * self.h.sigmoid()
""", """
s = self.h.sigmoid()
dh = out.g * (s + self.h * s * (1 - s))
self.w.g = inp.t() @ dh
inp.g = dh @ self.w.t()
""", ("w",)),
    Layer("SquaredReLU", """
self.r = torch.relu(inp)
return self.r ** 2
""", """
inp.g = out.g * 2 * self.r
"""),
    Layer("LeCunTanh", """
self.t = torch.tanh(2 / 3 * inp)
return 1.7159 * self.t
""", """
inp.g = out.g * 1.7159 * (2 / 3) * (1 - self.t ** 2)
"""),
    Layer("TiedLinear", """
self.h = inp @ self.w
return self.h @ self.w.t()
""", """
dh = out.g @ self.w
self.w.g = inp.t() @ dh + out.g.t() @ self.h
inp.g = dh @ self.w.t()
""", ("w",)),
    Layer("LearnedTempSoftmax", """
self.z = inp * self.tau
self.p = torch.softmax(self.z, dim=1)
return self.p
""", """
dz = self.p * (out.g - (out.g * self.p).sum(1, keepdim=True))
self.tau.g = (dz * inp).sum().reshape(1)
inp.g = dz * self.tau
""", ("tau",)),
    Layer("GemanMcClure", """
self.d = inp.squeeze(-1) - targ
self.q = 1 + self.d ** 2
return (self.d ** 2 / self.q).mean()
""", """
inp.g = (2 * self.d / self.q ** 2 / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("Charbonnier", """
self.d = inp.squeeze(-1) - targ
self.r = torch.sqrt(self.d ** 2 + 1e-2)
return self.r.mean()
""", """
inp.g = (self.d / self.r / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("SinCos", """
return torch.sin(inp) + torch.cos(inp)
""", """
inp.g = out.g * (torch.cos(inp) - torch.sin(inp))
"""),
    Layer("CELU", """
self.pos = inp > 0
return torch.where(self.pos, inp, 0.5 * torch.expm1(inp / 0.5))
""", """
inp.g = out.g * torch.where(self.pos, 1.0, torch.exp(inp / 0.5))
"""),
    Layer("NormPlusOne", """
self.n = inp.norm(dim=1, keepdim=True) + 1
return inp / self.n
""", """
nrm = self.n - 1
inp.g = out.g / self.n - inp * (out.g * inp).sum(1, keepdim=True) / (self.n ** 2 * nrm)
"""),
    Layer("RollMax", """
self.other = inp.roll(1, 1)
self.m = inp >= self.other
return torch.maximum(inp, self.other)
""", """
inp.g = out.g * self.m + (out.g * ~self.m).roll(-1, 1)
"""),    Layer("BentIdentity", """
self.s = torch.sqrt(inp ** 2 + 1)
return (self.s - 1) / 2 + inp
""", """
inp.g = out.g * (inp / (2 * self.s) + 1)
"""),
    Layer("ISRU", """
self.r = torch.rsqrt(1 + 0.5 * inp ** 2)
return inp * self.r
""", """
inp.g = out.g * self.r ** 3
"""),
    Layer("Snake", """
self.s = torch.sin(self.a * inp)
return inp + self.s ** 2 / self.a
""", """
c = torch.cos(self.a * inp)
inp.g = out.g * (1 + 2 * self.s * c)
self.a.g = (out.g * (2 * self.s * c * inp / self.a - self.s ** 2 / self.a ** 2)).sum().reshape(1)
""", ("a",)),
    Layer("L1Normalize", """
self.n = inp.abs().sum(1, keepdim=True)
return inp / self.n
""", """
inp.g = out.g / self.n - torch.sign(inp) * (out.g * inp).sum(1, keepdim=True) / self.n ** 2
"""),
    Layer("Highway", """
self.t = torch.sigmoid(inp @ self.w + self.b)
self.h = torch.tanh(inp @ self.v)
return self.t * self.h + (1 - self.t) * inp
""", """
dt = out.g * (self.h - inp) * self.t * (1 - self.t)
dh = out.g * self.t * (1 - self.h ** 2)
self.w.g = inp.t() @ dt
self.b.g = dt.sum(0)
self.v.g = inp.t() @ dh
inp.g = dt @ self.w.t() + dh @ self.v.t() + out.g * (1 - self.t)
""", ("w", "b", "v")),
    Layer("LowRank", """
self.h = inp @ self.u
return self.h @ self.v
""", """
dh = out.g @ self.v.t()
self.v.g = self.h.t() @ out.g
self.u.g = inp.t() @ dh
inp.g = dh @ self.u.t()
""", ("u", "v")),
    Layer("PseudoHuber", """
self.d = inp.squeeze(-1) - targ
self.q = torch.sqrt(1 + (self.d / 0.5) ** 2)
return (0.25 * (self.q - 1)).mean()
""", """
inp.g = (self.d / self.q / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("ShiftedSoftplus", """
self.e = torch.exp(inp)
return torch.log1p(self.e) - 0.6931471805599453
""", """
inp.g = out.g * self.e / (1 + self.e)
"""),
    Layer("Maxout", """
self.a = inp @ self.w
self.c = inp @ self.v
self.m = self.a > self.c
return torch.where(self.m, self.a, self.c)
""", """
da = out.g * self.m
dc = out.g * ~self.m
self.w.g = inp.t() @ da
self.v.g = inp.t() @ dc
inp.g = da @ self.w.t() + dc @ self.v.t()
""", ("w", "v")),
    Layer("MeanOnlyBN", """
self.mu = inp.mean(0)
return inp - self.mu + self.b
""", """
self.b.g = out.g.sum(0)
inp.g = out.g - out.g.mean(0)
""", ("b",)),
    Layer("CosineLinear", """
self.n = inp.norm(dim=1, keepdim=True)
self.xn = inp / self.n
return self.xn @ self.w
""", """
dxn = out.g @ self.w.t()
self.w.g = self.xn.t() @ out.g
inp.g = (dxn - self.xn * (dxn * self.xn).sum(1, keepdim=True)) / self.n
""", ("w",)),
    Layer("ScaledTanh", """
self.t = torch.tanh(self.b * inp)
return self.a * self.t
""", """
dt = out.g * self.a * (1 - self.t ** 2)
self.a.g = (out.g * self.t).sum().reshape(1)
self.b.g = (dt * inp).sum().reshape(1)
inp.g = dt * self.b
""", ("a", "b")),
    Layer("HardShrink", """
self.keep = inp.abs() > 0.5
return torch.where(self.keep, inp, torch.zeros_like(inp))
""", """
inp.g = out.g * self.keep
"""),
    Layer("LogNormalize", """
self.l = torch.log(inp ** 2 + 1)
return self.l - self.l.mean(1, keepdim=True)
""", """
dl = out.g - out.g.mean(1, keepdim=True)
inp.g = dl * 2 * inp / (inp ** 2 + 1)
"""),
    Layer("TanhMeanGate", """
self.m = inp.mean(1, keepdim=True)
self.t = torch.tanh(self.m)
return inp * self.t
""", """
dm = (out.g * inp).sum(1, keepdim=True) * (1 - self.t ** 2)
inp.g = out.g * self.t + dm / inp.shape[1]
"""),
    Layer("FixedConv", """
return inp + 0.5 * inp.roll(1, 1) + 0.25 * inp.roll(-1, 1)
""", """
inp.g = out.g + 0.5 * out.g.roll(-1, 1) + 0.25 * out.g.roll(1, 1)
"""),
    Layer("NormedLinear", """
self.h = inp @ self.w
self.n = self.h.norm(dim=1, keepdim=True)
return self.h / self.n
""", """
y = self.h / self.n
dh = (out.g - y * (out.g * y).sum(1, keepdim=True)) / self.n
self.w.g = inp.t() @ dh
inp.g = dh @ self.w.t()
""", ("w",)),
    Layer("FSiLU", """
return torch.nn.functional.silu(inp)
""", """
s = torch.sigmoid(inp)
inp.g = out.g * s * (1 + inp * (1 - s))
"""),
    Layer("FSoftplus2", """
return torch.nn.functional.softplus(inp, beta=2)
""", """
inp.g = out.g * torch.sigmoid(2 * inp)
"""),
    Layer("Softmin", """
self.p = torch.softmax(-inp, dim=1)
return self.p
""", """
inp.g = -self.p * (out.g - (out.g * self.p).sum(1, keepdim=True))
"""),
    Layer("HingeLoss", """
self.m = 1 - inp.squeeze(-1) * targ
return torch.relu(self.m).mean()
""", """
inp.g = (-(self.m > 0).float() * targ / self.m.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("CubeAbsLoss", """
self.d = inp.squeeze(-1) - targ
return (self.d.abs() ** 3).mean()
""", """
inp.g = (3 * self.d * self.d.abs() / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("ExpLoss", """
self.d = inp.squeeze(-1) - targ
return (torch.exp(self.d) - self.d).mean()
""", """
inp.g = ((torch.exp(self.d) - 1) / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("FGELU", """
return torch.nn.functional.gelu(inp)
""", """
cdf = 0.5 * (1 + torch.erf(inp / 1.4142135623730951))
pdf = torch.exp(-0.5 * inp ** 2) / 2.5066282746310002
inp.g = out.g * (cdf + inp * pdf)
"""),
    Layer("FGELUTanh", """
return torch.nn.functional.gelu(inp, approximate="tanh")
""", """
k = 0.7978845608028654
t = torch.tanh(k * (inp + 0.044715 * inp ** 3))
inp.g = out.g * (0.5 * (1 + t) + 0.5 * inp * (1 - t ** 2) * k * (1 + 3 * 0.044715 * inp ** 2))
"""),
    Layer("FELU", """
return torch.nn.functional.elu(inp)
""", """
inp.g = out.g * torch.where(inp > 0, 1.0, torch.exp(inp))
"""),
    Layer("FMish", """
return torch.nn.functional.mish(inp)
""", """
sp = torch.nn.functional.softplus(inp)
t = torch.tanh(sp)
inp.g = out.g * (t + inp * (1 - t ** 2) * torch.sigmoid(inp))
"""),
    Layer("FSigmoidGate", """
self.s = torch.sigmoid(inp @ self.w)
return inp * self.s
""", """
ds = out.g * inp * self.s * (1 - self.s)
self.w.g = inp.t() @ ds
inp.g = out.g * self.s + ds @ self.w.t()
""", ("w",)),
    Layer("FTanhshrink", """
return torch.nn.functional.tanhshrink(inp)
""", """
t = torch.tanh(inp)
inp.g = out.g * t ** 2
"""),
    Layer("FLogSigmoid", """
return torch.nn.functional.logsigmoid(inp)
""", """
inp.g = out.g * torch.sigmoid(-inp)
"""),
    Layer("FSoftsign", """
return torch.nn.functional.softsign(inp)
""", """
inp.g = out.g / (1 + inp.abs()) ** 2
"""),
    Layer("FCELU", """
return torch.nn.functional.celu(inp, alpha=0.5)
""", """
inp.g = out.g * torch.where(inp > 0, 1.0, torch.exp(inp / 0.5))
"""),
    Layer("FSELU", """
return torch.nn.functional.selu(inp)
""", """
inp.g = out.g * 1.0507009873554805 * torch.where(inp > 0, 1.0, 1.6732632423543772 * torch.exp(inp))
"""),
    Layer("ResGELU", """
self.h = inp @ self.w
return inp + torch.nn.functional.gelu(self.h)
""", """
cdf = 0.5 * (1 + torch.erf(self.h / 1.4142135623730951))
pdf = torch.exp(-0.5 * self.h ** 2) / 2.5066282746310002
dh = out.g * (cdf + self.h * pdf)
self.w.g = inp.t() @ dh
inp.g = out.g + dh @ self.w.t()
""", ("w",)),
    Layer("SiLUGLU", """
self.a = inp @ self.w
self.b = inp @ self.v
return torch.nn.functional.silu(self.a) * self.b
""", """
s = torch.sigmoid(self.a)
da = out.g * self.b * s * (1 + self.a * (1 - s))
db = out.g * self.a * s
self.w.g = inp.t() @ da
self.v.g = inp.t() @ db
inp.g = da @ self.w.t() + db @ self.v.t()
""", ("w", "v")),
    Layer("LogCoshLoss2", """
self.d = inp.squeeze(-1) - targ
return (self.d + torch.nn.functional.softplus(-2 * self.d) - 0.6931471805599453).mean()
""", """
inp.g = (torch.tanh(self.d) / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("MeanPoolMix", """
self.m = inp.mean(1, keepdim=True)
return inp * 0.5 + self.m * 0.5
""", """
inp.g = 0.5 * out.g + 0.5 * out.g.mean(1, keepdim=True)
"""),
    Layer("FSmoothL1", """
return torch.nn.functional.smooth_l1_loss(inp.squeeze(-1), targ)
""", """
d = inp.squeeze(-1) - targ
inp.g = (torch.where(d.abs() < 1, d, torch.sign(d)) / d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("FHuber", """
return torch.nn.functional.huber_loss(inp.squeeze(-1), targ, delta=0.5)
""", """
d = inp.squeeze(-1) - targ
inp.g = (torch.where(d.abs() <= 0.5, d, 0.5 * torch.sign(d)) / d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("FBCELogits", """
return torch.nn.functional.binary_cross_entropy_with_logits(inp.squeeze(-1), torch.sigmoid(targ))
""", """
inp.g = ((torch.sigmoid(inp.squeeze(-1)) - torch.sigmoid(targ)) / targ.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("FSoftshrink", """
return torch.nn.functional.softshrink(inp, 0.5)
""", """
inp.g = out.g * (inp.abs() > 0.5)
"""),
    Layer("Asinh", """
return torch.asinh(inp)
""", """
inp.g = out.g / torch.sqrt(inp ** 2 + 1)
"""),
    Layer("AbsPow", """
return inp.abs() ** self.w
""", """
inp.g = out.g * self.w * inp.abs() ** (self.w - 1) * torch.sign(inp)
self.w.g = (out.g * out * torch.log(inp.abs())).sum(0)
""", ("w",)),
    Layer("FGLULinear", """
self.h = inp @ self.w
return torch.nn.functional.glu(self.h, -1)
""", """
a, b = self.h.chunk(2, -1)
s = torch.sigmoid(b)
dh = torch.cat([out.g * s, out.g * a * s * (1 - s)], -1)
self.w.g = inp.t() @ dh
inp.g = dh @ self.w.t()
""", ("w",)),
    Layer("FPReLU", """
return torch.nn.functional.prelu(inp, self.a)
""", """
inp.g = out.g * torch.where(inp > 0, 1.0, self.a)
self.a.g = (out.g * torch.where(inp > 0, 0.0, inp)).sum(0)
""", ("a",)),
    Layer("Hypot", """
return torch.hypot(inp, self.w)
""", """
inp.g = out.g * inp / out
self.w.g = (out.g * self.w / out).sum(0)
""", ("w",)),
    Layer("SortRows", """
v, self.idx = torch.sort(inp, -1)
return v * self.w
""", """
self.w.g = (out.g * out / self.w).sum(0)
inp.g = torch.zeros_like(inp).scatter(-1, self.idx, out.g * self.w)
""", ("w",)),
    Layer("FLinear", """
return torch.nn.functional.linear(inp, self.w, self.b)
""", """
self.w.g = out.g.t() @ inp
self.b.g = out.g.sum(0)
inp.g = out.g @ self.w
""", ("w", "b")),
    Layer("AddmmLinear", """
return torch.addmm(self.b, inp, self.w)
""", """
self.w.g = inp.t() @ out.g
self.b.g = out.g.sum(0)
inp.g = out.g @ self.w.t()
""", ("w", "b")),
    Layer("ChainSoftmax", """
self.e = inp.sub(inp.max(-1, keepdim=True).values).exp()
return self.e.div(self.e.sum(-1, keepdim=True))
""", """
inp.g = out.mul(out.g.sub(out.g.mul(out).sum(-1, keepdim=True)))
"""),
    Layer("LogAddExp", """
return torch.logaddexp(inp, torch.zeros_like(inp))
""", """
inp.g = out.g * torch.sigmoid(inp)
"""),
    Layer("QuickGELU", """
return inp * torch.sigmoid(1.702 * inp)
""", """
s = torch.sigmoid(1.702 * inp)
inp.g = out.g * (s + 1.702 * inp * s * (1 - s))
"""),
    Layer("FNormalize", """
return torch.nn.functional.normalize(inp, dim=-1)
""", """
n = inp.norm(dim=-1, keepdim=True)
inp.g = (out.g - out * (out.g * out).sum(-1, keepdim=True)) / n
"""),
    Layer("Lerp", """
return torch.lerp(inp, self.w, 0.25)
""", """
inp.g = 0.75 * out.g
self.w.g = 0.25 * out.g.sum(0)
""", ("w",)),
    Layer("MaximumFloor", """
return torch.maximum(inp, self.w)
""", """
m = inp > self.w
inp.g = out.g * m
self.w.g = (out.g * ~m).sum(0)
""", ("w",)),
    Layer("MaskedFill", """
self.mask = inp.abs() < 0.1
return inp.masked_fill(self.mask, 0.0) * 2
""", """
inp.g = 2 * out.g.masked_fill(self.mask, 0.0)
"""),
    Layer("VarMeanNorm", """
var, mean = torch.var_mean(inp, -1, keepdim=True, unbiased=False)
self.rstd = (var + 1e-5).rsqrt()
self.xhat = (inp - mean) * self.rstd
return self.xhat * self.w
""", """
dxhat = out.g * self.w
self.w.g = (out.g * self.xhat).sum(0)
inp.g = self.rstd * (dxhat - dxhat.mean(-1, keepdim=True) - self.xhat * (dxhat * self.xhat).mean(-1, keepdim=True))
""", ("w",)),
    Layer("MomentCentre", """
return inp - (inp ** 2).mean(1, keepdim=True)
""", """
inp.g = out.g - 2 * inp * out.g.sum(1, keepdim=True) / inp.shape[1]
"""),
    Layer("FMSELoss", """
return torch.nn.functional.mse_loss(inp.squeeze(-1), targ)
""", """
inp.g = (2 * (inp.squeeze(-1) - targ) / targ.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("FL1Loss", """
return torch.nn.functional.l1_loss(inp.squeeze(-1), targ)
""", """
inp.g = (torch.sign(inp.squeeze(-1) - targ) / targ.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("SoftMargin", """
return torch.nn.functional.soft_margin_loss(inp.squeeze(-1), torch.sign(targ))
""", """
y = torch.sign(targ)
inp.g = (-y * torch.sigmoid(-y * inp.squeeze(-1)) / y.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("FlipMix", """
return inp + 0.5 * torch.flip(inp, [1])
""", """
inp.g = out.g + 0.5 * torch.flip(out.g, [1])
"""),
    Layer("BatchSoftmax", """
e = inp.exp()
return e / e.sum(0)
""", """
inp.g = out * (out.g - (out.g * out).sum(0))
"""),
    Layer("PairPool", """
p = inp.view(inp.shape[0], -1, 2).mean(-1)
return p.repeat_interleave(2, dim=-1)
""", """
inp.g = out.g.view(out.g.shape[0], -1, 2).sum(-1).repeat_interleave(2, -1) / 2
"""),
    Layer("ExpGain", """
self.s = torch.exp(self.w)
return inp * self.s
""", """
inp.g = out.g * self.s
self.w.g = (out.g * inp).sum(0) * self.s
""", ("w",)),
    Layer("SigRecompute", """
return torch.sigmoid(inp)
""", """
inp.g = out.g * torch.sigmoid(inp) * (1 - torch.sigmoid(inp))
"""),
    Layer("TanhRecompute", """
return torch.tanh(inp)
""", """
inp.g = out.g * (1 - torch.tanh(inp) ** 2)
"""),
    Layer("SoftplusExp", """
return torch.nn.functional.softplus(inp)
""", """
inp.g = out.g * torch.exp(inp) / (1 + torch.exp(inp))
"""),
    Layer("SoftplusNegExp", """
return torch.nn.functional.softplus(inp)
""", """
inp.g = out.g / (1 + torch.exp(-inp))
"""),
    Layer("BCEQuotient", """
self.p = torch.sigmoid(inp.squeeze(-1))
return torch.nn.functional.binary_cross_entropy(self.p, torch.sigmoid(targ))
""", """
y = torch.sigmoid(targ)
dp = (self.p - y) / (self.p * (1 - self.p)) / y.shape[0]
inp.g = (dp * self.p * (1 - self.p)).unsqueeze(-1)
""", loss=True),
    Layer("SigExpForm", """
return torch.sigmoid(inp)
""", """
inp.g = out.g * torch.exp(-inp) / (1 + torch.exp(-inp)) ** 2
"""),
    Layer("ExpRecompute", """
return torch.exp(0.5 * inp)
""", """
inp.g = out.g * 0.5 * torch.exp(0.5 * inp)
"""),
    Layer("FReLU6", """
return torch.nn.functional.relu6(inp * 4)
""", """
inp.g = 4 * out.g * ((inp * 4 > 0) & (inp * 4 < 6))
"""),
    Layer("FHardsigmoid", """
return torch.nn.functional.hardsigmoid(inp * 3)
""", """
inside = (inp * 3 > -3) & (inp * 3 < 3)
inp.g = out.g * inside * 3 / 6
"""),
    Layer("FHardswish", """
return torch.nn.functional.hardswish(inp * 3)
""", """
x = inp * 3
d = torch.where(x < -3, 0.0, torch.where(x > 3, 1.0, (2 * x + 3) / 6))
inp.g = 3 * out.g * d
"""),
    Layer("FLeaky", """
return torch.nn.functional.leaky_relu(inp, 0.2)
""", """
inp.g = out.g * torch.where(inp > 0, 1.0, 0.2)
"""),
    Layer("FELUHalf", """
return torch.nn.functional.elu(inp, alpha=0.5)
""", """
inp.g = out.g * torch.where(inp > 0, 1.0, out + 0.5)
"""),
    Layer("FRMSNorm", """
return torch.nn.functional.rms_norm(inp, (inp.shape[-1],), self.w, eps=1e-6)
""", """
r = torch.rsqrt(inp.pow(2).mean(-1, keepdim=True) + 1e-6)
xhat = inp * r
self.w.g = (out.g * xhat).sum(0)
dxhat = out.g * self.w
inp.g = r * (dxhat - xhat * (dxhat * xhat).mean(-1, keepdim=True))
""", ("w",)),
    Layer("FBatchNorm", """
return torch.nn.functional.batch_norm(inp, None, None, self.w, self.b, training=True, eps=1e-5)
""", """
n = inp.shape[0]
mu = inp.mean(0)
std = (inp.var(0, unbiased=False) + 1e-5).sqrt()
xhat = (inp - mu) / std
self.w.g = (out.g * xhat).sum(0)
self.b.g = out.g.sum(0)
dxhat = out.g * self.w
inp.g = (n * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (n * std)
""", ("w", "b")),
    Layer("SoftClip", """
self.t = torch.tanh(inp / self.a)
return self.a * self.t
""", """
inp.g = out.g * (1 - self.t ** 2)
self.a.g = (out.g * (self.t - inp / self.a * (1 - self.t ** 2))).sum().reshape(1)
""", ("a",)),
    Layer("Expm1ELU", """
return torch.where(inp > 0, inp, torch.expm1(inp))
""", """
inp.g = out.g * torch.where(inp > 0, 1.0, torch.exp(inp))
"""),
    Layer("StdScale", """
self.s = inp.std(-1, keepdim=True)
return inp / self.s
""", """
n = inp.shape[-1]
d = inp - inp.mean(-1, keepdim=True)
inp.g = out.g / self.s - d * (out.g * inp).sum(-1, keepdim=True) / (self.s ** 3 * (n - 1))
"""),
    Layer("NormGain", """
self.n = inp.pow(2).sum(-1, keepdim=True).sqrt()
return inp * self.n
""", """
inp.g = out.g * self.n + inp * (out.g * inp).sum(-1, keepdim=True) / self.n
"""),
    Layer("FixedDropout", """
g = torch.Generator().manual_seed(0)
self.mask = (torch.rand(inp.shape, generator=g) > 0.1).to(inp.dtype)
return inp * self.mask / 0.9
""", """
inp.g = out.g * self.mask / 0.9
"""),    Layer("ChunkGLU", """
a, b = inp.chunk(2, dim=1)
self.a, self.s = a, torch.sigmoid(b)
return torch.cat([a * self.s, b], dim=1)
""", """
h = inp.shape[1] // 2
ga, gb = out.g[:, :h], out.g[:, h:]
da = ga * self.s
db = ga * self.a * self.s * (1 - self.s) + gb
inp.g = torch.cat([da, db], dim=1)
"""),
    Layer("SplitTanh", """
a, b = torch.split(inp, [4, inp.shape[1] - 4], dim=1)
return torch.cat([torch.tanh(a), 2 * b], 1)
""", """
a = inp[:, :4]
inp.g = torch.cat([out.g[:, :4] * (1 - torch.tanh(a) ** 2), 2 * out.g[:, 4:]], 1)
"""),
    Layer("AddcdivSquash", """
return torch.addcdiv(inp, inp, 1 + inp ** 2, value=0.5)
""", """
q = 1 + inp ** 2
inp.g = out.g * (1 + 0.5 * (q - 2 * inp ** 2) / q ** 2)
"""),
    Layer("MaskedLinear", """
self.m = torch.triu(self.w)
return inp @ self.m
""", """
self.w.g = torch.triu(inp.t() @ out.g)
inp.g = out.g @ self.m.t()
""", ("w",)),
    Layer("TwoSlopePReLU", """
return torch.where(inp > 0, self.a * inp, self.b * inp)
""", """
pos = inp > 0
inp.g = out.g * torch.where(pos, self.a, self.b)
self.a.g = (out.g * inp * pos).sum().reshape(1)
self.b.g = (out.g * inp * ~pos).sum().reshape(1)
""", ("a", "b")),
    Layer("AddcmulAffine", """
return torch.addcmul(self.b, inp, self.w)
""", """
inp.g = out.g * self.w
self.w.g = (out.g * inp).sum(0)
self.b.g = out.g.sum(0)
""", ("w", "b")),
    Layer("SquareMethod", """
return inp.square() - inp
""", """
inp.g = out.g * (2 * inp - 1)
"""),
    Layer("NormDivide", """
self.n = torch.norm(inp, dim=1, keepdim=True)
self.y = inp / self.n
return self.y
""", """
inp.g = (out.g - self.y * (out.g * self.y).sum(1, keepdim=True)) / self.n
"""),
    Layer("PowerScale", """
return inp.abs() ** self.p
""", """
a = inp.abs()
inp.g = out.g * self.p * a ** (self.p - 1) * inp.sign()
self.p.g = (out.g * a ** self.p * torch.log(a)).sum().reshape(1)
""", ("p",)),
    Layer("FrobLinear", """
self.wn = self.w / self.w.norm()
return inp @ self.wn
""", """
nrm = self.w.norm()
gwn = inp.t() @ out.g
self.w.g = (gwn - self.wn * (gwn * self.wn).sum()) / nrm
inp.g = out.g @ self.wn.t()
""", ("w",)),
    Layer("GaussianNLL", """
self.d = inp.squeeze(-1) - targ
self.v = 0.5 + targ ** 2
return (0.5 * (torch.log(self.v) + self.d ** 2 / self.v)).mean()
""", """
inp.g = (self.d / self.v / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("FocalBCE", """
self.p = torch.sigmoid(inp.squeeze(-1))
self.y = (targ > 0).to(inp.dtype)
return -(self.y * (1 - self.p) ** 2 * torch.log(self.p) + (1 - self.y) * self.p ** 2 * torch.log(1 - self.p)).mean()
""", """
p, y = self.p, self.y
dp = -(y * (-2 * (1 - p) * torch.log(p) + (1 - p) ** 2 / p) + (1 - y) * (2 * p * torch.log(1 - p) - p ** 2 / (1 - p)))
inp.g = (dp * p * (1 - p) / p.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("TwoClassCE", """
self.z = torch.cat([inp, -inp], dim=1)
self.lab = (targ > 0).long()
return torch.nn.functional.cross_entropy(self.z, self.lab)
""", """
p = torch.softmax(self.z, dim=1)
d = p - torch.nn.functional.one_hot(self.lab, 2).to(p.dtype)
d = d / self.z.shape[0]
inp.g = d[:, :1] - d[:, 1:]
""", loss=True),
    Layer("CosineToTarget", """
self.u = inp.squeeze(-1)
return ((self.u - targ) ** 2).sum() / (2 * targ.numel())
""", """
inp.g = ((self.u - targ) / targ.numel()).unsqueeze(-1)
""", loss=True),
    Layer("NewGELU", """
return 0.5 * inp * (1.0 + torch.tanh((2.0 / 3.141592653589793) ** 0.5 * (inp + 0.044715 * torch.pow(inp, 3.0))))
""", """
k = (2.0 / 3.141592653589793) ** 0.5
t = torch.tanh(k * (inp + 0.044715 * inp ** 3))
inp.g = out.g * (0.5 * (1 + t) + 0.5 * inp * (1 - t ** 2) * k * (1 + 3 * 0.044715 * inp ** 2))
"""),
    Layer("LlamaRMSNorm", """
x = inp.float()
self.r = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
return (x * self.r).type_as(inp) * self.w
""", """
xhat = inp * self.r
self.w.g = (out.g * xhat).sum(0)
dx = out.g * self.w
inp.g = self.r * (dx - xhat * (dx * xhat).mean(-1, keepdim=True))
""", ("w",)),
    Layer("MoEGate", """
self.a = torch.softmax(inp @ self.q, dim=1)
self.t = torch.tanh(inp)
return self.a[:, :1] * inp + self.a[:, 1:] * self.t
""", """
a0, a1 = self.a[:, :1], self.a[:, 1:]
da = torch.cat([(out.g * inp).sum(1, keepdim=True), (out.g * self.t).sum(1, keepdim=True)], 1)
ds = self.a * (da - (da * self.a).sum(1, keepdim=True))
self.q.g = inp.t() @ ds
inp.g = out.g * a0 + out.g * a1 * (1 - self.t ** 2) + ds @ self.q.t()
""", ("q",)),
    Layer("WeightStd", """
self.mu = self.w.mean(0)
self.sd = self.w.std(0)
self.wh = (self.w - self.mu) / self.sd
return inp @ self.wh
""", """
n = self.w.shape[0]
dwh = inp.t() @ out.g
self.w.g = (dwh - dwh.mean(0) - self.wh * (dwh * self.wh).sum(0) / (n - 1)) / self.sd
inp.g = out.g @ self.wh.t()
""", ("w",)),
    Layer("BatchAttentionPool", """
self.a = torch.softmax(inp @ self.q, dim=0)
self.pooled = (self.a.unsqueeze(1) * inp).sum(0)
return inp + self.pooled
""", """
dp = out.g.sum(0)
da = inp @ dp
ds = self.a * (da - (da * self.a).sum())
self.q.g = inp.t() @ ds
inp.g = out.g + self.a.unsqueeze(1) * dp + ds.unsqueeze(1) * self.q
""", ("q",)),
    Layer("CenteredClip", """
self.c = inp - inp.mean(1, keepdim=True)
return torch.clamp(self.c, -1, 1)
""", """
d = out.g * ((self.c > -1) & (self.c < 1))
inp.g = d - d.mean(1, keepdim=True)
"""),
    Layer("LogSoftmaxBatch", """
return torch.log_softmax(inp, dim=0)
""", """
inp.g = out.g - out.exp() * out.g.sum(0, keepdim=True)
"""),
    Layer("ZeroMeanGain", """
self.g0 = self.w - self.w.mean()
return inp * self.g0
""", """
d = (out.g * inp).sum(0)
self.w.g = d - d.mean()
inp.g = out.g * self.g0
""", ("w",)),
    Layer("TweedieLoss", """
self.z = inp.squeeze(-1)
self.y = targ.abs()
return (2 * self.y * torch.exp(-0.5 * self.z) + 2 * torch.exp(0.5 * self.z)).mean()
""", """
inp.g = ((torch.exp(0.5 * self.z) - self.y * torch.exp(-0.5 * self.z)) / self.z.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("DiceLoss", """
self.p = torch.sigmoid(inp.squeeze(-1))
self.y = (targ > 0).to(inp.dtype)
return 1 - (2 * (self.p * self.y).sum() + 1) / (self.p.sum() + self.y.sum() + 1)
""", """
p, y = self.p, self.y
A = 2 * (p * y).sum() + 1
B = p.sum() + y.sum() + 1
dp = -(2 * y * B - A) / B ** 2
inp.g = (dp * p * (1 - p)).unsqueeze(-1)
""", loss=True),
    Layer("LSECrossEntropy", """
self.z = torch.cat([inp, torch.zeros_like(inp)], 1)
self.lab = (targ > 0).long()
return (torch.logsumexp(self.z, 1) - self.z.gather(1, self.lab.unsqueeze(1)).squeeze(1)).mean()
""", """
p = torch.softmax(self.z, 1)
p[torch.arange(p.shape[0]), self.lab] -= 1
inp.g = p[:, :1] / p.shape[0]
""", loss=True),
    Layer("SwishBeta", """
return inp * torch.sigmoid(self.b * inp)
""", """
s = torch.sigmoid(self.b * inp)
inp.g = out.g * (s + self.b * inp * s * (1 - s))
self.b.g = (out.g * inp * inp * s * (1 - s)).sum().reshape(1)
""", ("b",)),
    Layer("ErfGELU", """
return 0.5 * inp * (1 + torch.erf(inp * 0.7071067811865476))
""", """
cdf = 0.5 * (1 + torch.erf(inp * 0.7071067811865476))
pdf = torch.exp(-0.5 * inp ** 2) * 0.3989422804014327
inp.g = out.g * (cdf + inp * pdf)
"""),
    Layer("LNRecompute", """
mu = inp.mean(-1, keepdim=True)
var = ((inp - mu) ** 2).mean(-1, keepdim=True)
return (inp - mu) / torch.sqrt(var + 1e-5)
""", """
mu = inp.mean(-1, keepdim=True)
var = ((inp - mu) ** 2).mean(-1, keepdim=True)
xhat = (inp - mu) / torch.sqrt(var + 1e-5)
inp.g = (out.g - out.g.mean(-1, keepdim=True) - xhat * (out.g * xhat).mean(-1, keepdim=True)) / torch.sqrt(var + 1e-5)
"""),
    Layer("SoftmaxHalf", """
return torch.softmax(inp / 2, dim=1)
""", """
p = torch.softmax(inp / 2, dim=1)
inp.g = p * (out.g - (out.g * p).sum(1, keepdim=True)) / 2
"""),
    Layer("LogSigmoidNeg", """
return torch.nn.functional.logsigmoid(inp)
""", """
inp.g = out.g * torch.sigmoid(-inp)
"""),
    Layer("GaussBump", """
return inp + torch.exp(-inp ** 2)
""", """
e = torch.exp(-inp ** 2)
inp.g = out.g * (1 - 2 * inp * e)
"""),
    Layer("TanhTwoGain", """
return torch.tanh(2 * inp) * self.a
""", """
t = torch.tanh(2 * inp)
self.a.g = (out.g * t).sum(0)
inp.g = out.g * self.a * 2 * (1 - t ** 2)
""", ("a",)),
    Layer("SoftsignRecompute", """
return inp / (1 + inp.abs())
""", """
d = 1 + inp.abs()
inp.g = out.g / d ** 2
"""),
    Layer("SiLUByExp", """
return inp / (1 + torch.exp(-inp))
""", """
s = 1 / (1 + torch.exp(-inp))
inp.g = out.g * s * (1 + inp * (1 - s))
"""),
    Layer("StudentTLoss", """
self.d = inp.squeeze(-1) - targ
return torch.log1p(self.d ** 2 / 3).mean()
""", """
d = self.d
inp.g = (2 * d / (3 + d ** 2) / d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("TanhBySigmoid", """
return 2 / (1 + torch.exp(-2 * inp)) - 1
""", """
inp.g = out.g * (1 - torch.pow(2 / (1 + torch.exp(-2 * inp)) - 1, 2))
"""),
    Layer("CompactBN", """
mean = inp.mean(0)
var = inp.var(0, unbiased=False)
self.xc = inp - mean
self.si = 1 / torch.sqrt(var + 0.01)
return self.g * (self.xc * self.si) + self.b
""", """
n = out.g.shape[0]
self.g.g = (out.g * self.xc * self.si).sum(0)
self.b.g = out.g.sum(0)
inp.g = (1 / n) * self.g * self.si * (n * out.g - out.g.sum(0) - self.xc * self.si ** 2 * (out.g * self.xc).sum(0))
""", ("g", "b")),
    Layer("ScaledSELU", """
return 1.0507 * torch.where(inp >= 0.0, inp, 1.6733 * (torch.exp(inp) - 1))
""", """
inp.g = out.g * 1.0507 * torch.where(inp >= 0.0, 1.0, 1.6733 * torch.exp(inp))
"""),
    Layer("SoftplusByLog", """
return torch.log(1 + torch.exp(inp))
""", """
inp.g = out.g / (1 + torch.exp(-inp))
"""),
    Layer("ELUFromOut", """
self.o = torch.where(inp >= 0.0, inp, 0.1 * (torch.exp(inp) - 1))
return self.o
""", """
inp.g = out.g * torch.where(inp >= 0.0, 1.0, self.o + 0.1)
"""),
    Layer("SoftmaxCompact", """
e = torch.exp(inp - inp.max(1, keepdim=True).values)
self.p = e / e.sum(1, keepdim=True)
return self.p
""", """
inp.g = self.p * (out.g - (out.g * self.p).sum(1, keepdim=True))
"""),
    Layer("LlmcLayerNorm", """
mean = inp.mean(-1, keepdim=True)
var = ((inp - mean) ** 2).mean(-1, keepdim=True)
self.rstd = (var + 1e-5) ** -0.5
self.norm = (inp - mean) * self.rstd
return self.norm * self.w + self.b
""", """
dnorm = out.g * self.w
self.b.g = out.g.sum(0)
self.w.g = (out.g * self.norm).sum(0)
dx = dnorm - dnorm.mean(-1, keepdim=True) - (dnorm * self.norm).mean(-1, keepdim=True) * self.norm
dx *= self.rstd
inp.g = dx
""", ("w", "b")),
    Layer("SigmoidCalled", """
self.s = 1 / (1 + torch.exp(-inp))
return self.s
""", """
inp.g = out.g * self.s * (1 - self.s)
"""),
    Layer("LeakyWhereNumbers", """
return torch.where(inp >= 0, inp, 0.2 * inp)
""", """
inp.g = torch.where(inp >= 0, 1.0, 0.2) * out.g
"""),
    Layer("SquareLossHalf", """
return (0.5 * (targ - inp.squeeze(-1)) ** 2).mean()
""", """
inp.g = (-(targ - inp.squeeze(-1)) / targ.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("StagedBN", """
N, D = inp.shape
mu = 1. / N * torch.sum(inp, 0)
self.xmu = inp - mu
sq = self.xmu ** 2
self.var = 1. / N * torch.sum(sq, 0)
self.sqrtvar = torch.sqrt(self.var + 1e-5)
self.ivar = 1. / self.sqrtvar
self.xhat = self.xmu * self.ivar
return self.g * self.xhat + self.b
""", """
N, D = out.g.shape
self.b.g = torch.sum(out.g, 0)
self.g.g = torch.sum(out.g * self.xhat, 0)
dxhat = out.g * self.g
divar = torch.sum(dxhat * self.xmu, 0)
dxmu1 = dxhat * self.ivar
dsqrtvar = -1. / (self.sqrtvar ** 2) * divar
dvar = 0.5 * 1. / torch.sqrt(self.var + 1e-5) * dsqrtvar
dsq = 1. / N * torch.ones((N, D)) * dvar
dxmu2 = 2 * self.xmu * dsq
dx1 = dxmu1 + dxmu2
dmu = -1 * torch.sum(dxmu1 + dxmu2, 0)
dx2 = 1. / N * torch.ones((N, D)) * dmu
inp.g = dx1 + dx2
""", ("g", "b")),
    Layer("StagedSoftmaxLoss", """
self.z = torch.cat([inp, -inp], 1)
self.y = (targ > 0).long()
shifted = self.z - self.z.max(1, keepdim=True).values
Z = torch.exp(shifted).sum(1, keepdim=True)
self.log_probs = shifted - torch.log(Z)
return -self.log_probs[torch.arange(self.z.shape[0]), self.y].mean()
""", """
N = self.z.shape[0]
dz = torch.exp(self.log_probs)
dz[torch.arange(N), self.y] -= 1
dz /= N
inp.g = dz[:, :1] - dz[:, 1:]
""", loss=True),
    Layer("StagedLN", """
D = inp.shape[1]
mu = torch.sum(inp, 1, keepdim=True) / D
self.xmu = inp - mu
self.var = torch.sum(self.xmu ** 2, 1, keepdim=True) / D
self.ivar = 1. / torch.sqrt(self.var + 1e-5)
self.xhat = self.xmu * self.ivar
return self.g * self.xhat + self.b
""", """
N, D = out.g.shape
self.b.g = out.g.sum(0)
self.g.g = (out.g * self.xhat).sum(0)
dxhat = out.g * self.g
dvar = torch.sum(dxhat * self.xmu, 1, keepdim=True) * -0.5 * self.ivar ** 3
dmu = torch.sum(-dxhat * self.ivar, 1, keepdim=True) + dvar * torch.mean(-2. * self.xmu, 1, keepdim=True)
inp.g = dxhat * self.ivar + dvar * 2. * self.xmu / D + dmu / D
""", ("g", "b")),
    Layer("SigmoidBCE", """
self.p = 1 / (1 + torch.exp(-inp.squeeze(-1)))
self.t = (targ > 0).float()
return -(self.t * torch.log(self.p) + (1 - self.t) * torch.log(1 - self.p)).mean()
""", """
dp = (-(self.t / self.p) + (1 - self.t) / (1 - self.p)) / self.p.shape[0]
inp.g = (dp * self.p * (1 - self.p)).unsqueeze(-1)
""", loss=True),
    Layer("GroupNormFlat", """
N, C = inp.shape
x = inp.view(N, 2, C // 2)
self.mu = x.mean(-1, keepdim=True)
self.xc = x - self.mu
self.rstd = (self.xc.pow(2).mean(-1, keepdim=True) + 1e-5).rsqrt()
self.xhat = (self.xc * self.rstd).view(N, C)
return self.xhat * self.w + self.b
""", """
N, C = out.g.shape
self.w.g = (out.g * self.xhat).sum(0)
self.b.g = out.g.sum(0)
dxhat = (out.g * self.w).view(N, 2, C // 2)
xhat = self.xhat.view(N, 2, C // 2)
dx = self.rstd * (dxhat - dxhat.mean(-1, keepdim=True) - xhat * (dxhat * xhat).mean(-1, keepdim=True))
inp.g = dx.view(N, C)
""", ("w", "b")),
    Layer("MishStaged", """
self.sp = torch.log1p(torch.exp(inp))
self.t = torch.tanh(self.sp)
return inp * self.t
""", """
dt = out.g * inp
dsp = dt * (1 - self.t ** 2)
inp.g = out.g * self.t + dsp * torch.sigmoid(inp)
"""),
    Layer("WelschLoss", """
self.d = inp.squeeze(-1) - targ
return (1 - torch.exp(-0.5 * self.d ** 2)).mean()
""", """
n = self.d.shape[0]
inp.g = (self.d * torch.exp(-0.5 * self.d ** 2) / n).unsqueeze(-1)
""", loss=True),
    Layer("CubicLearned", """
return self.a * inp ** 3 + self.c * inp
""", """
self.a.g = (out.g * inp ** 3).sum(0)
self.c.g = (out.g * inp).sum(0)
inp.g = out.g * (3 * self.a * inp ** 2 + self.c)
""", ("a", "c")),
    Layer("RowGate", """
self.s = (inp * self.w).sum(1, keepdim=True)
self.gate = torch.sigmoid(self.s)
return inp * self.gate
""", """
ds = (out.g * inp).sum(1, keepdim=True) * self.gate * (1 - self.gate)
self.w.g = (ds * inp).sum(0)
inp.g = out.g * self.gate + ds * self.w
""", ("w",)),
    Layer("KLTwoClass", """
z = torch.cat([inp, -inp], 1)
self.p = torch.softmax(z, 1)
q1 = torch.sigmoid(targ).unsqueeze(-1)
self.q = torch.cat([q1, 1 - q1], 1)
return (self.q * (torch.log(self.q) - torch.log(self.p))).sum(1).mean()
""", """
n = self.p.shape[0]
dz = (self.p - self.q) / n
inp.g = dz[:, :1] - dz[:, 1:]
""", loss=True),
    Layer("ExpDamp", """
self.m = inp.pow(2).mean(1, keepdim=True)
self.e = torch.exp(-self.m)
return inp * self.e
""", """
C = inp.shape[1]
dm = -(out.g * inp * self.e).sum(1, keepdim=True)
inp.g = out.g * self.e + dm * 2 * inp / C
"""),
    Layer("CenteredLinear", """
self.xc = inp - inp.mean(0)
return self.xc @ self.w + self.b
""", """
self.w.g = self.xc.t() @ out.g
self.b.g = out.g.sum(0)
dxc = out.g @ self.w.t()
inp.g = dxc - dxc.mean(0)
""", ("w", "b")),
    Layer("TokenMix", """
self.q = inp @ self.wq
self.k = inp @ self.wk
self.a = torch.softmax(self.q @ self.k.t() / inp.shape[1] ** 0.5, dim=-1)
return self.a @ inp
""", """
scale = inp.shape[1] ** 0.5
da = out.g @ inp.t()
ds = self.a * (da - (da * self.a).sum(-1, keepdim=True)) / scale
dq = ds @ self.k
dk = ds.t() @ self.q
self.wq.g = inp.t() @ dq
self.wk.g = inp.t() @ dk
inp.g = self.a.t() @ out.g + dq @ self.wq.t() + dk @ self.wk.t()
""", ("wq", "wk")),
    Layer("SoftsignScaled", """
self.den = 1 + self.s * inp.abs()
return inp / self.den
""", """
self.s.g = (out.g * -inp * inp.abs() / self.den ** 2).sum(0)
inp.g = out.g / self.den ** 2
""", ("s",)),
    Layer("LabelSmoothCE", """
self.z = torch.cat([inp, -inp, 0.5 * inp], 1)
y = (targ > 0).long()
self.q = torch.full_like(self.z, 0.05)
self.q[torch.arange(len(y)), y] = 0.9
return -(self.q * torch.log_softmax(self.z, 1)).sum(1).mean()
""", """
grad_out = torch.softmax(self.z, 1) - self.q
grad_out = grad_out / self.z.shape[0]
inp.g = grad_out[:, :1] - grad_out[:, 1:2] + 0.5 * grad_out[:, 2:]
""", loss=True),
    Layer("ScaleNormEps", """
self.n = inp.norm(dim=1, keepdim=True)
self.y = inp / (self.n + 1e-5)
return self.g * self.y
""", """
grad_out = out.g
self.g.g = (grad_out * self.y).sum().reshape(self.g.shape)
dy = grad_out * self.g
dn = -(dy * inp).sum(1, keepdim=True) / (self.n + 1e-5) ** 2
inp.g = dy / (self.n + 1e-5) + dn * inp / self.n
""", ("g",)),
    Layer("SwiGLUHand", """
self.a = inp @ self.w1
self.b = inp @ self.w2
self.s = torch.sigmoid(self.a)
return self.a * self.s * self.b
""", """
grad_out = out.g
da = grad_out * self.b * (self.s + self.a * self.s * (1 - self.s))
db = grad_out * self.a * self.s
self.w1.g = inp.t() @ da
self.w2.g = inp.t() @ db
inp.g = da @ self.w1.t() + db @ self.w2.t()
""", ("w1", "w2")),
    Layer("HuberWhere", """
self.d = inp.squeeze(-1) - targ
absd = self.d.abs()
return torch.where(absd < 1.0, 0.5 * self.d ** 2, absd - 0.5).mean()
""", """
n = self.d.numel()
dd = torch.where(self.d.abs() < 1.0, self.d, torch.sign(self.d))
inp.g = (dd / n)[:, None]
""", loss=True),
    Layer("SoftmaxCentre", """
self.a = torch.softmax(inp, dim=1)
self.m = (self.a * inp).sum(1, keepdim=True)
return inp - self.m
""", """
dm = -out.g.sum(1, keepdim=True)
da = dm * inp
dx = out.g + dm * self.a
dx += self.a * (da - (da * self.a).sum(1, keepdim=True))
inp.g = dx
"""),
    Layer("ShiftConv", """
xp = torch.nn.functional.pad(inp, (1, 1))
return self.k[0] * xp[:, :-2] + self.k[1] * xp[:, 1:-1] + self.k[2] * xp[:, 2:]
""", """
dout = out.g
self.k.g = torch.stack([(dout * torch.nn.functional.pad(inp, (1, 1))[:, j:j + inp.shape[1]]).sum() for j in range(3)])
dxp = inp.new_zeros(inp.shape[0], inp.shape[1] + 2)
dxp[:, :-2] += self.k[0] * dout
dxp[:, 1:-1] += self.k[1] * dout
dxp[:, 2:] += self.k[2] * dout
inp.g = dxp[:, 1:-1]
""", ("k",)),
    Layer("ScaledLinear", """
self.h = inp @ self.w
return self.h * self.s
""", """
dh = out.g * self.s
self.s.g = (out.g * self.h).sum().reshape(self.s.shape)
self.w.g = inp.T @ dh
inp.g = dh @ self.w.T
""", ("w", "s")),
    Layer("SoftplusThreshold", """
bx = 2.0 * inp
return torch.where(bx > 4.0, inp, torch.log1p(torch.exp(bx)) / 2.0)
""", """
bx = 2.0 * inp
inp.g = out.g * torch.where(bx > 4.0, torch.ones_like(inp), torch.sigmoid(bx))
"""),
    Layer("CosineLoss", """
v = torch.stack([targ, torch.ones_like(targ)], 1)
self.u = torch.cat([inp, 1 + 0 * inp], 1)
self.v = v / v.norm(dim=1, keepdim=True)
self.un = self.u.norm(dim=1, keepdim=True)
self.c = (self.u * self.v).sum(1, keepdim=True) / self.un
return (1 - self.c).mean()
""", """
N = self.u.shape[0]
dc = -torch.ones_like(self.c) / N
du = dc * (self.v / self.un - self.c * self.u / self.un ** 2)
inp.g = du[:, :1]
""", loss=True),
    Layer("LogitNorm", """
self.lse = torch.logsumexp(inp, dim=1, keepdim=True)
return inp - self.lse * self.t
""", """
p = torch.exp(inp - self.lse)
dl = -(out.g * self.t).sum(1, keepdim=True)
self.t.g = -(out.g * self.lse).sum(0)
inp.g = out.g + dl * p
""", ("t",)),
    Layer("HeadAttention", """
N, C = inp.shape
self.xh = inp.reshape(N, 3, C // 3)
self.att = torch.softmax(self.xh @ self.xh.transpose(-1, -2) / (C // 3) ** 0.5, dim=-1)
return (self.att @ self.xh).reshape(N, C)
""", """
N, C = inp.shape
d = C // 3
dy = out.g.reshape(N, 3, d)
datt = dy @ self.xh.transpose(-1, -2)
ds = self.att * (datt - (datt * self.att).sum(-1, keepdim=True)) / d ** 0.5
dxh = self.att.transpose(-1, -2) @ dy + ds @ self.xh + ds.transpose(-1, -2) @ self.xh
inp.g = dxh.reshape(N, C)
"""),
    Layer("MaxAbsScale", """
self.m = inp.abs().max(dim=1, keepdim=True)
self.den = self.m.values + 1
return inp / self.den
""", """
dden = -(out.g * inp).sum(1, keepdim=True) / self.den ** 2
dabs = torch.zeros_like(inp).scatter(1, self.m.indices, dden)
inp.g = out.g / self.den + dabs * torch.sign(inp)
"""),
    Layer("EinsumGate", """
self.t = torch.einsum('ni,i->n', inp, self.v)[:, None]
self.h = torch.einsum('ni,ij->nj', inp, self.w)
return inp + self.h * self.t
""", """
dh = out.g * self.t
dt = (out.g * self.h).sum(1, keepdim=True)
self.w.g = torch.einsum('ni,nj->ij', inp, dh)
self.v.g = torch.einsum('ni,n->i', inp, dt[:, 0])
inp.g = out.g + torch.einsum('nj,ij->ni', dh, self.w) + dt * self.v
""", ("w", "v")),
    Layer("StdNorm", """
self.xc = inp - inp.mean(1, keepdim=True)
self.s = inp.std(1, keepdim=True) + 1e-3
return self.xc / self.s
""", """
C = inp.shape[1]
dxc = out.g / self.s
ds = -(out.g * self.xc).sum(1, keepdim=True) / self.s ** 2
dx = dxc - dxc.mean(1, keepdim=True) + ds * self.xc / ((C - 1) * (self.s - 1e-3))
inp.g = dx
"""),
    Layer("ClampSq", """
self.h = (inp @ self.w).clamp(-1, 1)
return self.h ** 2
""", """
dh = out.g * 2 * self.h
dh = dh * ((inp @ self.w).abs() < 1)
self.w.g = inp.t() @ dh
inp.g = dh @ self.w.t()
""", ("w",)),
    Layer("TanhExp", """
self.e = torch.exp(inp)
self.t = torch.tanh(self.e)
return inp * self.t
""", """
inp.g = out.g * (self.t + inp * (1 - self.t ** 2) * self.e)
"""),
    Layer("OneHotCE", """
self.z = torch.cat([inp, -inp], 1)
self.y = torch.nn.functional.one_hot((targ > 0).long(), 2).float()
self.lp = torch.log_softmax(self.z, 1)
return -(self.y * self.lp).sum() / len(targ)
""", """
dz = (self.lp.exp() - self.y) / len(self.y)
inp.g = dz[:, 0:1] - dz[:, 1:2]
""", loss=True),
    Layer("LeakyLearned", """
return torch.where(inp >= 0, inp, inp * self.a)
""", """
neg = inp < 0
self.a.g = (out.g * inp * neg).sum(0)
inp.g = out.g * torch.where(neg, self.a, torch.ones_like(inp))
""", ("a",)),
    Layer("RowSoftmaxPool", """
self.p = torch.softmax(inp * self.w, dim=1)
self.pooled = (self.p * inp).sum(1, keepdim=True)
return inp - self.pooled
""", """
dpooled = -out.g.sum(1, keepdim=True)
dp = dpooled * inp
dz = self.p * (dp - (dp * self.p).sum(1, keepdim=True))
self.w.g = (dz * inp).sum(0)
inp.g = out.g + dpooled * self.p + dz * self.w
""", ("w",)),
    Layer("QuantileLoss", """
self.d = targ - inp.squeeze(-1)
return torch.maximum(0.3 * self.d, -0.7 * self.d).mean()
""", """
g = torch.where(self.d > 0, -0.3, 0.7) / self.d.numel()
inp.g = g.unsqueeze(-1)
""", loss=True),
    Layer("BiasGELU", """
self.h = inp + self.b
self.t = torch.tanh(0.7978845608 * (self.h + 0.044715 * self.h ** 3))
return 0.5 * self.h * (1 + self.t)
""", """
dt = (1 - self.t ** 2) * 0.7978845608 * (1 + 3 * 0.044715 * self.h ** 2)
dh = out.g * (0.5 * (1 + self.t) + 0.5 * self.h * dt)
self.b.g = dh.sum(0)
inp.g = dh
""", ("b",)),
    Layer("ResidualLN", """
self.r = inp + inp @ self.w
mu = self.r.mean(-1, keepdim=True)
self.rstd = ((self.r - mu) ** 2).mean(-1, keepdim=True).add(1e-5).rsqrt()
self.xhat = (self.r - mu) * self.rstd
return self.xhat
""", """
dr = self.rstd * (out.g - out.g.mean(-1, keepdim=True) - self.xhat * (out.g * self.xhat).mean(-1, keepdim=True))
self.w.g = inp.t() @ dr
inp.g = dr + dr @ self.w.t()
""", ("w",)),
    Layer("Rotate", """
a, b = inp.chunk(2, dim=-1)
return torch.cat([a * self.c - b * self.s, a * self.s + b * self.c], dim=-1)
""", """
da, db = out.g.chunk(2, dim=-1)
a, b = inp.chunk(2, dim=-1)
self.c.g = (da * a + db * b).sum(0)
self.s.g = (db * a - da * b).sum(0)
inp.g = torch.cat([da * self.c + db * self.s, -da * self.s + db * self.c], dim=-1)
""", ("c", "s")),
    Layer("ZLossCE", """
self.z = torch.cat([inp, -inp], 1)
self.y = (targ > 0).long()
self.lse = torch.logsumexp(self.z, 1)
nll = self.lse - self.z[torch.arange(len(self.y)), self.y]
return (nll + 0.01 * self.lse ** 2).mean()
""", """
n = self.z.shape[0]
p = torch.softmax(self.z, 1)
dz = p * (1 + 0.02 * self.lse[:, None])
dz[torch.arange(n), self.y] -= 1
dz = dz / n
inp.g = dz[:, :1] - dz[:, 1:]
""", loss=True),
    Layer("RMSResidual", """
self.r = inp + self.h
self.rms = (self.r.pow(2).mean(-1, keepdim=True) + 1e-6).sqrt()
return self.r / self.rms * self.g
""", """
C = inp.shape[-1]
dy = out.g * self.g
self.g.g = (out.g * self.r / self.rms).sum(0)
dr = dy / self.rms - self.r * (dy * self.r).sum(-1, keepdim=True) / (C * self.rms ** 3)
self.h.g = dr.sum(0)
inp.g = dr
""", ("g", "h")),
    Layer("FixedDropScale", """
return inp * self.m / 0.8
""", """
self.m.g = (out.g * inp / 0.8).sum(0)
inp.g = out.g * self.m / 0.8
""", ("m",)),
    Layer("TempSigmoid", """
self.s = torch.sigmoid(inp / self.T)
return self.s
""", """
ds = out.g * self.s * (1 - self.s)
self.T.g = (ds * -inp / self.T ** 2).sum().reshape(self.T.shape)
inp.g = ds / self.T
""", ("T",)),
    Layer("ElasticLoss", """
self.d = inp.squeeze(-1) - targ
return (0.5 * self.d.abs() + 0.25 * self.d ** 2).mean()
""", """
n = self.d.numel()
inp.g = ((0.5 * torch.sign(self.d) + 0.5 * self.d) / n).unsqueeze(-1)
""", loss=True),
    Layer("BatchBiasAttn", """
s = inp @ inp.t() / inp.shape[1] ** 0.5 + self.bias * torch.eye(inp.shape[0])
self.a = torch.softmax(s, dim=1)
return self.a @ inp
""", """
da = out.g @ inp.t()
ds = self.a * (da - (self.a * da).sum(1, keepdim=True))
self.bias.g = ds.diagonal().sum().reshape(self.bias.shape)
inp.g = self.a.t() @ out.g + (ds + ds.t()) @ inp / inp.shape[1] ** 0.5
""", ("bias",)),
    Layer("SplitSwiGLU", """
self.u = inp @ self.w
self.a, self.b = self.u.chunk(2, dim=1)
self.sa = self.a * torch.sigmoid(self.a)
return torch.cat([self.sa * self.b, self.sa * self.b], 1)
""", """
d1, d2 = out.g.chunk(2, dim=1)
dy = d1 + d2
sig = torch.sigmoid(self.a)
da = dy * self.b * (sig + self.a * sig * (1 - sig))
db = dy * self.sa
du = torch.cat([da, db], 1)
self.w.g = inp.t() @ du
inp.g = du @ self.w.t()
""", ("w",)),
    Layer("DyT", """
self.t = torch.tanh(self.a * inp)
return self.g * self.t + self.b
""", """
dt = out.g * self.g
du = dt * (1 - self.t ** 2)
self.a.g = (du * inp).sum().reshape(1)
self.g.g = (out.g * self.t).sum(0)
self.b.g = out.g.sum(0)
inp.g = du * self.a
""", ("a", "g", "b")),
    Layer("GeGLUErf", """
self.a = inp @ self.w1
self.c = inp @ self.w2
self.phi = 0.5 * (1 + torch.erf(self.a / 2 ** 0.5))
return self.a * self.phi * self.c
""", """
pdf = torch.exp(-0.5 * self.a ** 2) / (2 * torch.pi) ** 0.5
da = out.g * self.c * (self.phi + self.a * pdf)
dc = out.g * self.a * self.phi
self.w1.g = inp.t() @ da
self.w2.g = inp.t() @ dc
inp.g = da @ self.w1.t() + dc @ self.w2.t()
""", ("w1", "w2")),
    Layer("PoissonNLLFull", """
self.z = inp.squeeze(-1)
self.k = targ.abs()
return (torch.exp(self.z) - self.k * self.z + torch.lgamma(self.k + 1)).mean()
""", """
inp.g = ((torch.exp(self.z) - self.k) / self.z.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("TopKMask", """
_, idx = inp.topk(4, dim=1)
self.mask = torch.zeros_like(inp).scatter(1, idx, 1.0)
return inp * self.mask
""", """
inp.g = out.g * self.mask
"""),
    Layer("CentreDist", """
self.diff = inp[:, None, :] - self.c[None, :, :]
return (self.diff ** 2).sum(-1)
""", """
dd = 2 * out.g[:, :, None] * self.diff
inp.g = dd.sum(1)
self.c.g = -dd.sum(0)
""", ("c",)),
    Layer("SoftRouter", """
self.p = torch.softmax(inp @ self.wg, dim=1)
self.e0 = inp @ self.w0
self.e1 = inp @ self.w1
return self.p[:, :1] * self.e0 + self.p[:, 1:] * self.e1
""", """
dp0 = (out.g * self.e0).sum(1, keepdim=True)
dp1 = (out.g * self.e1).sum(1, keepdim=True)
dp = torch.cat([dp0, dp1], 1)
ds = self.p * (dp - (self.p * dp).sum(1, keepdim=True))
de0 = out.g * self.p[:, :1]
de1 = out.g * self.p[:, 1:]
self.wg.g = inp.t() @ ds
self.w0.g = inp.t() @ de0
self.w1.g = inp.t() @ de1
inp.g = ds @ self.wg.t() + de0 @ self.w0.t() + de1 @ self.w1.t()
""", ("wg", "w0", "w1")),
    Layer("LSEShift", """
self.s = inp / self.t
self.lse = torch.logsumexp(self.s, 1, keepdim=True)
return inp - self.t * self.lse
""", """
p = torch.exp(self.s - self.lse)
gs = out.g.sum(1, keepdim=True)
inp.g = out.g - p * gs
self.t.g = (gs * ((p * self.s).sum(1, keepdim=True) - self.lse)).sum().reshape(1)
""", ("t",)),
    Layer("PolyLoop", """
out = torch.zeros_like(inp)
for k in range(4):
    out = out + self.c[k] * inp ** k
return out
""", """
inp.g = out.g * sum(k * self.c[k] * inp ** (k - 1) for k in range(1, 4))
self.c.g = torch.stack([(out.g * inp ** k).sum() for k in range(4)])
""", ("c",)),
    Layer("ReZero", """
self.h = torch.tanh(inp @ self.w)
return inp + self.alpha * self.h
""", """
dh = out.g * self.alpha * (1 - self.h ** 2)
self.alpha.g = (out.g * self.h).sum().reshape(1)
self.w.g = inp.t() @ dh
inp.g = out.g + dh @ self.w.t()
""", ("w", "alpha")),
    Layer("Conv1dFeat", """
return torch.nn.functional.conv1d(inp.unsqueeze(1), self.k.view(1, 1, 3), padding=1).squeeze(1)
""", """
g = out.g.unsqueeze(1)
inp.g = torch.nn.functional.conv_transpose1d(g, self.k.view(1, 1, 3), padding=1).squeeze(1)
xp = torch.nn.functional.pad(inp, (1, 1))
self.k.g = torch.stack([(out.g * xp[:, j:j + inp.shape[1]]).sum() for j in range(3)])
""", ("k",)),
    Layer("RNNLayer", """
self.hs = []
h = inp.new_zeros(inp.shape[0], 4)
for t in range(3):
    h = torch.tanh(inp[:, 4 * t:4 * t + 4] @ self.wx + h @ self.wh + self.b)
    self.hs.append(h)
return torch.cat(self.hs, 1)
""", """
dh_next = torch.zeros_like(self.hs[0])
dx = []
self.wx.g = torch.zeros_like(self.wx)
self.wh.g = torch.zeros_like(self.wh)
self.b.g = torch.zeros_like(self.b)
for t in reversed(range(3)):
    dh = out.g[:, 4 * t:4 * t + 4] + dh_next
    da = dh * (1 - self.hs[t] ** 2)
    self.wx.g += inp[:, 4 * t:4 * t + 4].t() @ da
    prev = self.hs[t - 1] if t > 0 else torch.zeros_like(self.hs[0])
    self.wh.g += prev.t() @ da
    self.b.g += da.sum(0)
    dh_next = da @ self.wh.t()
    dx.insert(0, da @ self.wx.t())
inp.g = torch.cat(dx, 1)
""", ("wx", "wh", "b")),
    Layer("HeadGates", """
outs = []
for i in range(3):
    x = inp[:, 4 * i:4 * i + 4]
    outs.append(x * torch.sigmoid(x @ self.w[i]))
return torch.cat(outs, 1)
""", """
dxs = []
self.w.g = torch.zeros_like(self.w)
for i in range(3):
    x = inp[:, 4 * i:4 * i + 4]
    s = torch.sigmoid(x @ self.w[i])
    d = out.g[:, 4 * i:4 * i + 4]
    ds = d * x * s * (1 - s)
    self.w.g[i] = x.t() @ ds
    dxs.append(d * s + ds @ self.w[i].t())
inp.g = torch.cat(dxs, 1)
""", ("w",)),
    Layer("PolyHorner", """
out = self.c[3] * torch.ones_like(inp)
for k in (2, 1, 0):
    out = out * inp + self.c[k]
return out
""", """
inp.g = out.g * (3 * self.c[3] * inp ** 2 + 2 * self.c[2] * inp + self.c[1])
self.c.g = torch.stack([out.g.sum(), (out.g * inp).sum(), (out.g * inp ** 2).sum(), (out.g * inp ** 3).sum()])
""", ("c",)),
    Layer("ResidualStack", """
self.hs, h = [], inp
for i in range(2):
    self.hs.append(h)
    h = h + torch.tanh(h @ self.ws[i])
return h
""", """
g = out.g
self.ws.g = torch.zeros_like(self.ws)
for i in reversed(range(2)):
    h = self.hs[i]
    t = torch.tanh(h @ self.ws[i])
    da = g * (1 - t ** 2)
    self.ws.g[i] = h.t() @ da
    g = g + da @ self.ws[i].t()
inp.g = g
""", ("ws",)),
    Layer("GeneralRelu", """
x = torch.nn.functional.leaky_relu(inp, 0.1)
x = x - 0.4
return x.clamp_max(1.0)
""", """
x = torch.nn.functional.leaky_relu(inp, 0.1) - 0.4
d = out.g * (x < 1.0)
inp.g = d * torch.where(inp > 0, torch.ones_like(inp), 0.1 * torch.ones_like(inp))
"""),
    Layer("CausalHead", """
B = inp.shape[0]
self.x = inp.view(B, 3, 4)
self.q, self.k, self.v = self.x @ self.wq, self.x @ self.wk, self.x @ self.wv
s = self.q @ self.k.transpose(1, 2) * 0.5
s = s.masked_fill(torch.triu(torch.ones(3, 3, dtype=torch.bool), 1), float('-inf'))
self.p = s.softmax(-1)
return (self.p @ self.v).reshape(B, 12)
""", """
B = inp.shape[0]
dy = out.g.reshape(B, 3, 4)
dp = dy @ self.v.transpose(1, 2)
dv = self.p.transpose(1, 2) @ dy
ds = self.p * (dp - (dp * self.p).sum(-1, keepdim=True)) * 0.5
dq = ds @ self.k
dk = ds.transpose(1, 2) @ self.q
self.wq.g = (self.x.transpose(1, 2) @ dq).sum(0)
self.wk.g = (self.x.transpose(1, 2) @ dk).sum(0)
self.wv.g = (self.x.transpose(1, 2) @ dv).sum(0)
inp.g = (dq @ self.wq.t() + dk @ self.wk.t() + dv @ self.wv.t()).reshape(B, 12)
""", ("wq", "wk", "wv")),
    Layer("Rotary", """
x1, x2 = inp[:, 0::2], inp[:, 1::2]
c, s = torch.cos(self.theta), torch.sin(self.theta)
return torch.cat([x1 * c - x2 * s, x1 * s + x2 * c], 1)
""", """
x1, x2 = inp[:, 0::2], inp[:, 1::2]
c, s = torch.cos(self.theta), torch.sin(self.theta)
g1, g2 = out.g[:, :6], out.g[:, 6:]
dx1 = g1 * c + g2 * s
dx2 = -g1 * s + g2 * c
inp.g = torch.stack([dx1, dx2], 2).reshape(inp.shape)
self.theta.g = (g1 * (-x1 * s - x2 * c) + g2 * (x1 * c - x2 * s)).sum(0)
""", ("theta",)),
    Layer("CosineHead", """
self.xn = torch.nn.functional.normalize(inp, dim=1)
self.wn = torch.nn.functional.normalize(self.w, dim=0)
return 10 * self.xn @ self.wn
""", """
dxn = 10 * out.g @ self.wn.t()
dwn = 10 * self.xn.t() @ out.g
nx = inp.norm(dim=1, keepdim=True)
nw = self.w.norm(dim=0, keepdim=True)
inp.g = (dxn - self.xn * (dxn * self.xn).sum(1, keepdim=True)) / nx
self.w.g = (dwn - self.wn * (dwn * self.wn).sum(0, keepdim=True)) / nw
""", ("w",)),
    Layer("GRUStep", """
self.z = torch.sigmoid(inp @ self.wz)
self.r = torch.sigmoid(inp @ self.wr)
self.a = (self.r * inp) @ self.wn
self.n = torch.tanh(self.a)
return (1 - self.z) * self.n + self.z * inp
""", """
dn = out.g * (1 - self.z)
dz = out.g * (inp - self.n)
da = dn * (1 - self.n ** 2)
self.wn.g = (self.r * inp).t() @ da
drx = da @ self.wn.t()
dr = drx * inp
dzp = dz * self.z * (1 - self.z)
drp = dr * self.r * (1 - self.r)
self.wz.g = inp.t() @ dzp
self.wr.g = inp.t() @ drp
inp.g = out.g * self.z + drx * self.r + dzp @ self.wz.t() + drp @ self.wr.t()
""", ("wz", "wr", "wn")),
    Layer("BarronLoss", """
self.d = inp[:, 0] - targ
return (((self.d ** 2 + 1) ** 1.5 - 1) / 3).mean()
""", """
inp.g = (self.d * (self.d ** 2 + 1) ** 0.5 / len(targ))[:, None]
""", loss=True),
    Layer("ClipNorm", """
self.n = inp.norm(dim=1, keepdim=True)
self.s = torch.clamp(2.0 / self.n, max=1.0)
return inp * self.s
""", """
clipped = 2.0 / self.n < 1.0
ds = (out.g * inp).sum(1, keepdim=True) * clipped
inp.g = out.g * self.s - ds * 2.0 / self.n ** 3 * inp
"""),
    Layer("GatherCE", """
self.z = torch.cat([inp, 0.5 * inp, -inp], 1)
self.t = (targ > -0.5).long() + (targ > 0.5).long()
self.lse = self.z.logsumexp(1)
return (self.lse - self.z.gather(1, self.t[:, None])[:, 0]).mean()
""", """
p = (self.z - self.lse[:, None]).exp()
dz = p.scatter_add(1, self.t[:, None], -torch.ones_like(self.lse)[:, None]) / len(targ)
inp.g = dz[:, 0:1] + 0.5 * dz[:, 1:2] - dz[:, 2:3]
""", loss=True),
    Layer("PosSiLU", """
return torch.nn.functional.silu(inp.view(-1, 3, 4) + self.pos).flatten(1)
""", """
a = inp.view(-1, 3, 4) + self.pos
s = torch.sigmoid(a)
da = out.g.view(-1, 3, 4) * s * (1 + a * (1 - s))
self.pos.g = da.sum(0)
inp.g = da.reshape(inp.shape)
""", ("pos",)),
    Layer("VarMeanBN", """
self.var, self.mean = torch.var_mean(inp, dim=0, unbiased=False)
self.rstd = torch.rsqrt(self.var + 1e-5)
self.xhat = (inp - self.mean) * self.rstd
return self.xhat * self.gamma + self.beta
""", """
n = inp.shape[0]
self.gamma.g = (out.g * self.xhat).sum(0)
self.beta.g = out.g.sum(0)
dxhat = out.g * self.gamma
inp.g = self.rstd / n * (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0))
""", ("gamma", "beta")),
    Layer("LSEPoolCentre", """
self.s = inp / self.tau
self.lse = torch.logsumexp(self.s, dim=1, keepdim=True)
return inp - self.tau * self.lse
""", """
p = torch.softmax(self.s, dim=1)
dl = -out.g.sum(1, keepdim=True)
inp.g = out.g + dl * p
self.tau.g = (dl * (self.lse - (p * self.s).sum(1, keepdim=True))).sum().reshape(self.tau.shape)
""", ("tau",)),
    Layer("UnfoldConv", """
self.cols = torch.nn.functional.unfold(inp.view(-1, 1, 3, 4), 3, padding=1)
return (self.w @ self.cols).squeeze(1)
""", """
g = out.g.unsqueeze(1)
self.w.g = (g @ self.cols.transpose(1, 2)).sum(0)
dcols = self.w.t() @ g
inp.g = torch.nn.functional.fold(dcols, (3, 4), 3, padding=1).reshape(inp.shape)
""", ("w",)),
    Layer("AxisSoftmax", """
e = torch.exp(inp - inp.max(axis=1, keepdims=True).values)
self.p = e / e.sum(axis=1, keepdims=True)
return self.p
""", """
inp.g = self.p * (out.g - (out.g * self.p).sum(axis=1, keepdims=True))
"""),
    Layer("FLinearGELU", """
self.h = torch.nn.functional.linear(inp, self.w, self.b)
return torch.nn.functional.gelu(self.h, approximate='tanh')
""", """
k = 0.7978845608028654
u = k * (self.h + 0.044715 * self.h ** 3)
t = torch.tanh(u)
dgelu = 0.5 * (1 + t) + 0.5 * self.h * (1 - t ** 2) * k * (1 + 3 * 0.044715 * self.h ** 2)
dh = out.g * dgelu
self.w.g = dh.t() @ inp
self.b.g = dh.sum(0)
inp.g = dh @ self.w
""", ("w", "b")),
    Layer("FLayerNormAffine", """
return torch.nn.functional.layer_norm(inp, (inp.shape[-1],), self.w, self.b, 1e-5)
""", """
mu = inp.mean(-1, keepdim=True)
var = inp.var(-1, keepdim=True, unbiased=False)
rstd = 1 / torch.sqrt(var + 1e-5)
xhat = (inp - mu) * rstd
self.w.g = (out.g * xhat).sum(0)
self.b.g = out.g.sum(0)
dxhat = out.g * self.w
inp.g = rstd * (dxhat - dxhat.mean(-1, keepdim=True) - xhat * (dxhat * xhat).mean(-1, keepdim=True))
""", ("w", "b")),
    Layer("SDPAHead", """
x = inp.view(-1, 3, 4)
return torch.nn.functional.scaled_dot_product_attention(x, x, x).reshape(inp.shape)
""", """
x = inp.view(-1, 3, 4)
s = x @ x.transpose(1, 2) / 2.0
p = s.softmax(-1)
dy = out.g.view(-1, 3, 4)
dp = dy @ x.transpose(1, 2)
ds = p * (dp - (dp * p).sum(-1, keepdim=True)) / 2.0
dx = p.transpose(1, 2) @ dy + ds @ x + ds.transpose(1, 2) @ x
inp.g = dx.reshape(inp.shape)
"""),
    Layer("PoolUnpool", """
return inp.view(-1, 6, 2).mean(-1).repeat_interleave(2, dim=1)
""", """
inp.g = (out.g.view(-1, 6, 2).sum(-1) / 2).repeat_interleave(2, dim=1)
"""),
    Layer("SortedScale", """
self.idx = inp.argsort(1)
return torch.take_along_dim(inp, self.idx, 1) * self.w
""", """
self.w.g = (out.g * torch.take_along_dim(inp, self.idx, 1)).sum(0)
inp.g = torch.zeros_like(inp).scatter(1, self.idx, out.g * self.w)
""", ("w",)),
    Layer("RunningMean", """
return inp.cumsum(1) / torch.arange(1, inp.shape[1] + 1, dtype=inp.dtype)
""", """
d = out.g / torch.arange(1, inp.shape[1] + 1, dtype=inp.dtype)
inp.g = d.flip(1).cumsum(1).flip(1)
"""),
    Layer("BinaryEntropy", """
self.p = torch.sigmoid(inp)
return -(self.p * torch.log(self.p) + (1 - self.p) * torch.log(1 - self.p))
""", """
inp.g = -out.g * inp * self.p * (1 - self.p)
"""),
    Layer("TrilMix", """
B = inp.shape[0]
self.m = torch.tril(torch.ones(3, 3, dtype=inp.dtype)) / torch.arange(1, 4, dtype=inp.dtype)[:, None]
return (self.m @ inp.view(B, 3, 4)).reshape(B, 12)
""", """
B = inp.shape[0]
inp.g = (self.m.t() @ out.g.view(B, 3, 4)).reshape(B, 12)
"""),
    Layer("HardTanhMix", """
self.c = inp.clamp(min=-0.5, max=0.5)
return self.c * self.s + inp * (1 - self.s)
""", """
inside = (inp > -0.5) & (inp < 0.5)
self.s.g = (out.g * (self.c - inp)).sum(0)
inp.g = out.g * (self.s * inside + 1 - self.s)
""", ("s",)),
    Layer("MeanExpand", """
return (inp.mean(1, keepdim=True).expand(-1, inp.shape[1]) + inp) / 2
""", """
inp.g = (out.g.mean(1, keepdim=True) + out.g) / 2
"""),
    Layer("DiagEmbedLinear", """
return (torch.diag_embed(inp) @ self.w).sum(1)
""", """
self.w.g = inp.t() @ out.g
inp.g = out.g @ self.w.t()
""", ("w",)),
    Layer("CDistRBF", """
self.d = torch.cdist(inp, self.c)
return torch.exp(-self.d ** 2)
""", """
dd = out.g * -2 * self.d * torch.exp(-self.d ** 2)
diff = inp[:, None, :] - self.c[None, :, :]
grad = dd[:, :, None] * diff / self.d[:, :, None]
inp.g = grad.sum(1)
self.c.g = -grad.sum(0)
""", ("c",)),
    Layer("AtanGain", """
self.u = self.a * inp
return torch.atan(self.u) / self.a
""", """
d = 1 / (1 + self.u ** 2)
inp.g = out.g * d
self.a.g = (out.g * (inp * d / self.a - torch.atan(self.u) / self.a ** 2)).sum().reshape(self.a.shape)
""", ("a",)),
    Layer("MaxPairs", """
self.m = inp.view(-1, 6, 2).amax(-1)
return self.m.repeat_interleave(2, 1)
""", """
g = out.g.view(-1, 6, 2).sum(-1)
mask = (inp.view(-1, 6, 2) == self.m.unsqueeze(-1)).to(inp.dtype)
inp.g = (mask * g.unsqueeze(-1)).reshape(inp.shape)
"""),
    Layer("MixerTokens", """
self.x = inp.view(-1, 3, 4)
return (self.x + self.w @ self.x).reshape(inp.shape)
""", """
g = out.g.view(-1, 3, 4)
self.w.g = (g @ self.x.transpose(1, 2)).sum(0)
inp.g = (g + self.w.t() @ g).reshape(inp.shape)
""", ("w",)),
    Layer("QuadForm", """
self.q = torch.einsum('bi,ij,bj->b', inp, self.w, inp)
return inp * torch.tanh(self.q).unsqueeze(1)
""", """
t = torch.tanh(self.q)
dq = (out.g * inp).sum(1) * (1 - t ** 2)
self.w.g = (inp * dq.unsqueeze(1)).t() @ inp
inp.g = out.g * t.unsqueeze(1) + dq.unsqueeze(1) * (inp @ (self.w + self.w.t()))
""", ("w",)),
    Layer("FactorMachine", """
self.xv = inp @ self.v
self.s = 0.5 * (self.xv ** 2 - (inp ** 2) @ (self.v ** 2)).sum(1, keepdim=True)
return inp + self.s
""", """
ds = out.g.sum(1, keepdim=True)
inp.g = out.g + ds * (self.xv @ self.v.t() - inp * (self.v ** 2).sum(1))
self.v.g = inp.t() @ (ds * self.xv) - (ds * inp ** 2).sum(0).unsqueeze(1) * self.v
""", ("v",)),
    Layer("LSTMCell", """
z = inp @ self.w
i, f, g, o = z.chunk(4, 1)
self.i, self.f, self.gg, self.o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
self.c = self.f * inp + self.i * self.gg
self.tc = torch.tanh(self.c)
return self.o * self.tc
""", """
do = out.g * self.tc
dc = out.g * self.o * (1 - self.tc ** 2)
di = dc * self.gg
df = dc * inp
dg = dc * self.i
dz = torch.cat([di * self.i * (1 - self.i), df * self.f * (1 - self.f), dg * (1 - self.gg ** 2), do * self.o * (1 - self.o)], 1)
self.w.g = inp.t() @ dz
inp.g = dz @ self.w.t() + dc * self.f
""", ("w",)),
    Layer("ALiBiHead", """
self.x = inp.view(-1, 3, 4)
self.dist = (torch.arange(3.).view(3, 1) - torch.arange(3.).view(1, 3)).abs().to(inp.dtype)
s = self.x @ self.x.transpose(1, 2) / 2.0 - self.m * self.dist
self.p = torch.softmax(s, -1)
return (self.p @ self.x).reshape(inp.shape)
""", """
dy = out.g.view(-1, 3, 4)
dp = dy @ self.x.transpose(1, 2)
ds = self.p * (dp - (dp * self.p).sum(-1, keepdim=True))
self.m.g = -(ds * self.dist).sum().reshape(self.m.shape)
dx = self.p.transpose(1, 2) @ dy + (ds @ self.x + ds.transpose(1, 2) @ self.x) / 2.0
inp.g = dx.reshape(inp.shape)
""", ("m",)),
    Layer("WingLoss", """
self.d = inp.squeeze(-1) - targ
a = self.d.abs()
return torch.where(a < 1, torch.log(1 + a / 0.5), a - 1 + 1.0986122886681098).mean()
""", """
a = self.d.abs()
inp.g = (torch.where(a < 1, 1 / (0.5 + a), torch.ones_like(a)) * self.d.sign() / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("LayerScaleGELU", """
self.h = inp @ self.w
self.a = torch.nn.functional.gelu(self.h)
return inp + self.gamma * self.a
""", """
cdf = 0.5 * (1 + torch.erf(self.h / 2 ** 0.5))
pdf = torch.exp(-0.5 * self.h ** 2) / (2 * torch.pi) ** 0.5
dh = out.g * self.gamma * (cdf + self.h * pdf)
self.gamma.g = (out.g * self.a).sum(0)
self.w.g = inp.t() @ dh
inp.g = out.g + dh @ self.w.t()
""", ("w", "gamma")),
    Layer("LogCoshLAE", """
self.d = inp.squeeze(-1) - targ
return (torch.logaddexp(self.d, -self.d) - 0.6931471805599453).mean()
""", """
inp.g = (torch.tanh(self.d) / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("GlobalMaxNorm", """
self.m = inp.abs().amax()
return inp / self.m
""", """
onehot = (inp.abs() == self.m).to(inp.dtype) * inp.sign()
inp.g = out.g / self.m - (out.g * inp).sum() / self.m ** 2 * onehot
"""),
    Layer("AttnPoolQuery", """
self.x = inp.view(-1, 3, 4)
self.p = torch.softmax(self.x @ self.q, 1)
self.pool = (self.p.unsqueeze(-1) * self.x).sum(1)
return (self.x + self.pool.unsqueeze(1)).reshape(inp.shape)
""", """
g = out.g.view(-1, 3, 4)
dpool = g.sum(1)
dp = (dpool.unsqueeze(1) * self.x).sum(-1)
ds = self.p * (dp - (dp * self.p).sum(1, keepdim=True))
self.q.g = (ds.unsqueeze(-1) * self.x).sum((0, 1))
dx = g + self.p.unsqueeze(-1) * dpool.unsqueeze(1) + ds.unsqueeze(-1) * self.q
inp.g = dx.reshape(inp.shape)
""", ("q",)),
    Layer("LSEGate", """
self.l = torch.logsumexp(inp, 1, keepdim=True)
return inp * torch.sigmoid(self.l)
""", """
s = torch.sigmoid(self.l)
ds = (out.g * inp).sum(1, keepdim=True) * s * (1 - s)
inp.g = out.g * s + ds * torch.softmax(inp, 1)
"""),
    Layer("PiecewiseLinear", """
return torch.where(inp < -1, 0.1 * (inp + 1) - 1, torch.where(inp > 1, 0.1 * (inp - 1) + 1, inp))
""", """
inp.g = out.g * torch.where((inp < -1) | (inp > 1), 0.1, 1.0)
"""),
    Layer("ClampSigmoid", """
self.e = torch.exp(torch.clamp(inp, max=2.0))
return self.e / (1 + self.e)
""", """
inp.g = out.g * out * (1 - out) * (inp < 2.0)
"""),
    Layer("CubicTokens", """
self.x = inp.view(-1, 3, 4)
self.a = self.x @ self.w @ self.x.transpose(1, 2)
return (self.a @ self.x).reshape(inp.shape)
""", """
g = out.g.view(-1, 3, 4)
dA = g @ self.x.transpose(1, 2)
self.w.g = (self.x.transpose(1, 2) @ dA @ self.x).sum(0)
dx = self.a.transpose(1, 2) @ g + dA @ self.x @ self.w.t() + dA.transpose(1, 2) @ self.x @ self.w
inp.g = dx.reshape(inp.shape)
""", ("w",)),
    Layer("VarShift", """
return inp + self.lam * inp.var(0, keepdim=True)
""", """
n = inp.shape[0]
inp.g = out.g + self.lam * 2 * (inp - inp.mean(0)) / (n - 1) * out.g.sum(0)
self.lam.g = (out.g * inp.var(0)).sum().reshape(self.lam.shape)
""", ("lam",)),
    Layer("CauchyScaled", """
self.d = inp.squeeze(-1) - targ
return torch.log(1 + (self.d / 0.7) ** 2).mean()
""", """
inp.g = (2 * self.d / (0.49 + self.d ** 2) / self.d.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("MADNorm", """
self.mad = (inp - inp.mean(1, keepdim=True)).abs().mean(1, keepdim=True)
return inp / (self.mad + 1)
""", """
c = inp - inp.mean(1, keepdim=True)
sg = c.sign()
dm = -(out.g * inp).sum(1, keepdim=True) / (self.mad + 1) ** 2
inp.g = out.g / (self.mad + 1) + dm * (sg - sg.mean(1, keepdim=True)) / inp.shape[1]
"""),
    Layer("EinsumHeads", """
self.q = inp.view(-1, 2, 2, 3)
self.s = torch.einsum('nhtd,nhsd->nhts', self.q, self.q) / 3 ** 0.5
self.p = self.s.softmax(-1)
return torch.einsum('nhts,nhsd->nhtd', self.p, self.q).reshape(inp.shape)
""", """
do = out.g.view(-1, 2, 2, 3)
dp = torch.einsum('nhtd,nhsd->nhts', do, self.q)
ds = self.p * (dp - (dp * self.p).sum(-1, keepdim=True)) / 3 ** 0.5
dq = torch.einsum('nhts,nhtd->nhsd', self.p, do)
dq = dq + torch.einsum('nhts,nhsd->nhtd', ds, self.q) + torch.einsum('nhts,nhtd->nhsd', ds, self.q)
inp.g = dq.reshape(inp.shape)
"""),
    Layer("CumProd", """
self.f = 1 + 0.1 * inp
return torch.cumprod(self.f, 1)
""", """
acc = (out.g * out).flip(1).cumsum(1).flip(1)
inp.g = 0.1 * acc / self.f
"""),
    Layer("VarKeyword", """
self.v = torch.var(inp, dim=1, unbiased=False, keepdim=True)
self.r = torch.rsqrt(self.v + 1e-5)
return (inp - inp.mean(1, keepdim=True)) * self.r
""", """
D = inp.shape[1]
xhat = out
dv = (out.g * (inp - inp.mean(1, keepdim=True))).sum(1, keepdim=True) * -0.5 * self.r ** 3
dx = out.g * self.r + dv * 2 * (inp - inp.mean(1, keepdim=True)) / D
inp.g = dx - dx.mean(1, keepdim=True)
"""),
    Layer("StackSoftmax", """
self.p = torch.stack([inp, -inp], -1).softmax(-1)
return self.p[..., 0]
""", """
p0 = self.p[..., 0]
inp.g = out.g * 2 * p0 * (1 - p0)
"""),
    Layer("MaxoutCat", """
self.z = inp.view(-1, 4, 3)
self.m, self.idx = self.z.max(-1)
return torch.cat([self.m, self.m, self.m], 1)
""", """
dm = out.g[:, :4] + out.g[:, 4:8] + out.g[:, 8:]
dz = torch.zeros_like(self.z)
dz.scatter_(-1, self.idx.unsqueeze(-1), dm.unsqueeze(-1))
inp.g = dz.view(inp.shape)
"""),
    Layer("PosWeightBCE", """
self.p = torch.sigmoid(inp.squeeze(-1))
self.t = torch.sigmoid(targ)
return -(3.0 * self.t * torch.log(self.p) + (1 - self.t) * torch.log(1 - self.p)).mean()
""", """
n = self.p.shape[0]
dp = -(3.0 * self.t / self.p - (1 - self.t) / (1 - self.p)) / n
inp.g = (dp * self.p * (1 - self.p)).unsqueeze(-1)
""", loss=True),
    Layer("ExpAbsGate", """
self.a = inp.abs().mean(1, keepdim=True)
self.e = torch.exp(-self.a)
return inp * self.e
""", """
de = (out.g * inp).sum(1, keepdim=True)
da = -de * self.e
inp.g = out.g * self.e + da * torch.sign(inp) / inp.shape[1]
"""),
    Layer("LinearSqrtNorm", """
self.h = inp @ self.w
self.n = (self.h.pow(2).sum(1, keepdim=True) + 1).sqrt()
return self.h / self.n
""", """
dh = out.g / self.n - self.h * (out.g * self.h).sum(1, keepdim=True) / self.n ** 3
self.w.g = inp.t() @ dh
inp.g = dh @ self.w.t()
""", ("w",)),
    Layer("TwoPathTanh", """
self.a = torch.tanh(inp)
self.b = torch.tanh(2 * inp)
return self.a * self.b
""", """
da = out.g * self.b
db = out.g * self.a
inp.g = da * (1 - self.a ** 2) + db * 2 * (1 - self.b ** 2)
"""),
    Layer("ChannelShuffleScale", """
self.z = inp.view(-1, 3, 4).transpose(1, 2).reshape(inp.shape)
return self.z * self.w
""", """
self.w.g = (out.g * self.z).sum(0)
dz = out.g * self.w
inp.g = dz.view(-1, 4, 3).transpose(1, 2).reshape(inp.shape)
""", ("w",)),
    Layer("PermuteGather", """
self.perm = torch.arange(inp.shape[1] - 1, -1, -1)
self.z = inp[:, self.perm]
return torch.tanh(self.z) + inp
""", """
dz = out.g * (1 - torch.tanh(self.z) ** 2)
dx = torch.zeros_like(inp)
dx.index_add_(1, self.perm, dz)
inp.g = dx + out.g
"""),
    Layer("InstanceNormTokens", """
self.x = inp.view(-1, 3, 4)
self.mu = self.x.mean(1, keepdim=True)
self.sd = (self.x.var(1, keepdim=True, unbiased=False) + 1e-5).sqrt()
self.xh = (self.x - self.mu) / self.sd
return self.xh.reshape(inp.shape)
""", """
g = out.g.view(-1, 3, 4)
T = 3
dx = (T * g - g.sum(1, keepdim=True) - self.xh * (g * self.xh).sum(1, keepdim=True)) / (T * self.sd)
inp.g = dx.reshape(inp.shape)
"""),
    Layer("ReluSqThreshold", """
self.d = inp - self.t
self.r = torch.relu(self.d)
return self.r ** 2
""", """
dd = out.g * 2 * self.r
inp.g = dd
self.t.g = -dd.sum(0)
""", ("t",)),
    Layer("WeightedL2Norm", """
self.s = ((self.w * inp ** 2).sum(1, keepdim=True) + 1.0).sqrt()
return inp / self.s
""", """
k = (out.g * inp).sum(1, keepdim=True) / self.s ** 3
inp.g = out.g / self.s - k * self.w * inp
self.w.g = (-0.5 * k * inp ** 2).sum(0)
""", ("w",)),
    Layer("PowerMeanGate", """
self.m = (inp.abs() ** 3).mean(1, keepdim=True)
self.p = self.m ** (1 / 3)
return inp * torch.sigmoid(self.p)
""", """
sg = torch.sigmoid(self.p)
dp = (out.g * inp).sum(1, keepdim=True) * sg * (1 - sg)
dm = dp * (1 / 3) * self.m ** (-2 / 3)
inp.g = out.g * sg + dm * 3 * inp.abs() ** 2 * torch.sign(inp) / inp.shape[1]
"""),
    Layer("XErf", """
self.e = torch.erf(inp)
return inp * self.e
""", """
pdf = 2 / torch.pi ** 0.5 * torch.exp(-inp ** 2)
inp.g = out.g * (self.e + inp * pdf)
"""),
    Layer("LaplaceNLL", """
self.d = inp.squeeze(-1) - targ
self.b = 1 + 0.5 * targ.abs()
return (self.d.abs() / self.b + torch.log(self.b)).mean()
""", """
n = self.d.shape[0]
inp.g = (torch.sign(self.d) / self.b / n).unsqueeze(-1)
""", loss=True),
    Layer("ScaledSoftsign", """
self.q = 1 + inp.abs() / self.a
return inp / self.q
""", """
inp.g = out.g / self.q ** 2
self.a.g = (out.g * inp * inp.abs() / (self.a ** 2 * self.q ** 2)).sum().reshape(self.a.shape)
""", ("a",)),
    Layer("LSEPairs", """
self.z = inp.view(-1, 6, 2)
self.l = torch.logsumexp(self.z, -1)
return torch.cat([self.l, -self.l], 1)
""", """
dl = out.g[:, :6] - out.g[:, 6:]
p = torch.softmax(self.z, -1)
inp.g = (dl.unsqueeze(-1) * p).reshape(inp.shape)
"""),
    Layer("EluFeatureMap", """
self.phi = torch.nn.functional.elu(inp) + 1
self.s = self.phi.sum(1, keepdim=True)
return self.phi / self.s
""", """
dphi = out.g / self.s - (out.g * self.phi).sum(1, keepdim=True) / self.s ** 2
inp.g = dphi * torch.where(inp > 0, torch.ones_like(inp), self.phi)
"""),
    Layer("LogisticMix", """
self.a = torch.sigmoid(inp)
self.b = torch.sigmoid(3 * inp - 1)
return 0.5 * self.a + 0.5 * self.b
""", """
inp.g = out.g * (0.5 * self.a * (1 - self.a) + 1.5 * self.b * (1 - self.b))
"""),
    Layer("SincAct", """
return torch.sinc(inp)
""", """
px = torch.pi * inp
inp.g = out.g * (torch.cos(px) * px - torch.sin(px)) / (px * inp)
"""),
    Layer("LearnedEpsRMS", """
self.ms = inp.pow(2).mean(-1, keepdim=True)
self.r = torch.rsqrt(self.ms + torch.exp(self.e))
return inp * self.r
""", """
D = inp.shape[-1]
dr = (out.g * inp).sum(-1, keepdim=True)
dms = -0.5 * dr * self.r ** 3
inp.g = out.g * self.r + dms * 2 * inp / D
self.e.g = (dms * torch.exp(self.e)).sum().reshape(self.e.shape)
""", ("e",)),
    Layer("PolyStack", """
self.p = torch.stack([inp, inp ** 2, inp ** 3], -1)
return self.p @ self.c
""", """
self.c.g = torch.einsum('ni,nik->k', out.g, self.p)
inp.g = out.g * (self.c[0] + 2 * self.c[1] * inp + 3 * self.c[2] * inp ** 2)
""", ("c",)),
    Layer("MinMaxNorm", """
self.lo = inp.min(1, keepdim=True).values
self.hi = inp.max(1, keepdim=True).values
self.r = self.hi - self.lo + 1
return (inp - self.lo) / self.r
""", """
dlo = -(out.g / self.r).sum(1, keepdim=True) + (out.g * (inp - self.lo)).sum(1, keepdim=True) / self.r ** 2
dhi = -(out.g * (inp - self.lo)).sum(1, keepdim=True) / self.r ** 2
inp.g = out.g / self.r + dlo * (inp == self.lo) + dhi * (inp == self.hi)
"""),
    Layer("PairLogSoftmax", """
self.z = inp.view(-1, 6, 2)
return self.z.log_softmax(-1).reshape(inp.shape)
""", """
g = out.g.view(-1, 6, 2)
p = self.z.softmax(-1)
inp.g = (g - p * g.sum(-1, keepdim=True)).reshape(inp.shape)
"""),
    Layer("ThreeClassCE", """
self.logits = torch.stack([inp.squeeze(-1), 2 * inp.squeeze(-1), -inp.squeeze(-1)], -1)
self.y = (targ > 0).long() + (targ > 1).long()
self.lp = torch.log_softmax(self.logits, -1)
return -self.lp.gather(1, self.y.unsqueeze(1)).mean()
""", """
n = self.logits.shape[0]
dlogits = torch.softmax(self.logits, -1)
dlogits[torch.arange(n), self.y] -= 1
dlogits = dlogits / n
inp.g = (dlogits[:, 0] + 2 * dlogits[:, 1] - dlogits[:, 2]).unsqueeze(-1)
""", loss=True),
    Layer("FusedBiasGeluMask", """
self.h = inp + self.b
self.m = (torch.arange(inp.shape[1]) % 3 != 0).to(inp.dtype)
return torch.nn.functional.gelu(self.h) * self.m / 0.9
""", """
cdf = 0.5 * (1 + torch.erf(self.h / 2 ** 0.5))
pdf = torch.exp(-0.5 * self.h ** 2) / (2 * torch.pi) ** 0.5
dh = out.g * self.m / 0.9 * (cdf + self.h * pdf)
inp.g = dh
self.b.g = dh.sum(0)
""", ("b",)),
    Layer("CosGate", """
self.z = inp @ self.w
return inp * torch.cos(self.z)
""", """
dz = -(out.g * inp) * torch.sin(self.z)
self.w.g = inp.t() @ dz
inp.g = out.g * torch.cos(self.z) + dz @ self.w.t()
""", ("w",)),
    Layer("AtanAct", """
return torch.atan(inp)
""", """
inp.g = out.g / (1 + inp ** 2)
"""),
    Layer("Squash", """
self.s = (inp ** 2).sum(1, keepdim=True)
self.n = self.s.sqrt()
return self.s / (1 + self.s) * inp / self.n
""", """
f = self.n / (1 + self.s)
df = (1 - self.s) / (2 * self.n * (1 + self.s) ** 2)
inp.g = out.g * f + 2 * inp * df * (out.g * inp).sum(1, keepdim=True)
"""),
    Layer("HuberLoss", """
self.d = inp.squeeze(-1) - targ
self.small = self.d.abs() < 1
return torch.where(self.small, 0.5 * self.d ** 2, self.d.abs() - 0.5).mean()
""", """
n = self.d.shape[0]
inp.g = (torch.where(self.small, self.d, self.d.sign()) / n).unsqueeze(-1)
""", loss=True),
    Layer("PoissonLoss", """
return (torch.exp(inp.squeeze(-1)) - targ * inp.squeeze(-1)).mean()
""", """
inp.g = ((torch.exp(inp.squeeze(-1)) - targ) / targ.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("TokenAttention", """
self.q = inp.view(-1, 3, 4)
self.a = torch.softmax(self.q @ self.q.transpose(1, 2) / 2, -1)
return (self.a @ self.q).reshape(inp.shape)
""", """
g = out.g.view(-1, 3, 4)
da = g @ self.q.transpose(1, 2)
ds = self.a * (da - (da * self.a).sum(-1, keepdim=True)) / 2
dq = self.a.transpose(1, 2) @ g + ds @ self.q + ds.transpose(1, 2) @ self.q
inp.g = dq.reshape(inp.shape)
"""),
    Layer("ResidualTanhLinear", """
self.t = torch.tanh(inp @ self.w)
return inp + self.gamma * self.t
""", """
dh = out.g * self.gamma * (1 - self.t ** 2)
inp.g = out.g + dh @ self.w.t()
self.w.g = inp.t() @ dh
self.gamma.g = (out.g * self.t).sum(0)
""", ("gamma", "w")),
    Layer("ErfGate", """
return inp * torch.erf(inp)
""", """
inp.g = out.g * (torch.erf(inp) + 2 / torch.pi ** 0.5 * inp * torch.exp(-inp ** 2))
"""),
    Layer("GroupRMS", """
self.z = inp.view(-1, 3, 4)
self.r = torch.rsqrt((self.z ** 2).mean(-1, keepdim=True) + 1e-6)
self.zh = (self.z * self.r).reshape(inp.shape)
return self.zh * self.w
""", """
dzh = (out.g * self.w).view(-1, 3, 4)
self.w.g = (out.g * self.zh).sum(0)
dz = self.r * dzh - self.z * self.r ** 3 * (dzh * self.z).mean(-1, keepdim=True)
inp.g = dz.reshape(inp.shape)
""", ("w",)),
    Layer("RollMix", """
self.m = inp + 0.5 * inp.roll(1, 1)
return self.m * self.s
""", """
inp.g = (out.g + 0.5 * out.g.roll(-1, 1)) * self.s
self.s.g = (out.g * self.m).sum().reshape(1)
""", ("s",)),
    Layer("PairMaxShift", """
self.m = inp.view(-1, 6, 2).amax(-1, keepdim=True)
return (inp.view(-1, 6, 2) - self.m).reshape(inp.shape)
""", """
g = out.g.view(-1, 6, 2)
hit = (inp.view(-1, 6, 2) == self.m).to(g.dtype)
inp.g = (g - hit * g.sum(-1, keepdim=True)).reshape(inp.shape)
"""),
    Layer("BCELogitsLoss", """
self.z = inp.squeeze(-1)
self.t = (targ > 0).to(inp.dtype)
return (torch.nn.functional.softplus(self.z) - self.t * self.z).mean()
""", """
inp.g = ((torch.sigmoid(self.z) - self.t) / self.z.shape[0]).unsqueeze(-1)
""", loss=True),
    Layer("SoftsignGate", """
self.a = inp.abs()
return inp * inp / (1 + self.a)
""", """
inp.g = out.g * inp * (2 + self.a) / (1 + self.a) ** 2
"""),
    Layer("LSENorm", """
self.lse = torch.logsumexp(inp, 1, keepdim=True)
return inp - self.lse
""", """
p = torch.exp(inp - self.lse)
inp.g = out.g - p * out.g.sum(1, keepdim=True)
"""),
    Layer("GateByW", """
self.s = torch.sigmoid(inp @ self.w)
return inp * self.s
""", """
ds = (out.g * inp).sum(1, keepdim=True) * self.s * (1 - self.s)
self.w.g = inp.t() @ ds
inp.g = out.g * self.s + ds @ self.w.t()
""", ("w",)),
    Layer("ClampTwice", """
self.m = (inp > -1) & (inp < 1)
return 2 * inp.clamp(-1, 1)
""", """
inp.g = 2 * out.g * self.m
"""),
    Layer("PowerNorm", """
self.q = (inp ** 2).mean(1, keepdim=True)
self.r = self.q ** -0.25
return inp * self.r
""", """
c = inp.shape[1]
dq = (out.g * inp).sum(1, keepdim=True) * -0.25 * self.q ** -1.25
inp.g = out.g * self.r + dq * 2 * inp / c
"""),
    Layer("BerHuLoss", """
self.d = inp.squeeze(-1) - targ
self.small = self.d.abs() <= 1
return torch.where(self.small, self.d.abs(), (self.d ** 2 + 1) / 2).mean()
""", """
n = self.d.shape[0]
inp.g = (torch.where(self.small, self.d.sign(), self.d) / n).unsqueeze(-1)
""", loss=True),
    Layer("SoftplusGain", """
self.gain = torch.nn.functional.softplus(self.a)
return inp * self.gain + self.b
""", """
self.a.g = (out.g * inp).sum(0) * torch.sigmoid(self.a)
self.b.g = out.g.sum(0)
inp.g = out.g * self.gain
""", ("a", "b")),
    Layer("SelfSoftmaxGate", """
self.p = torch.softmax(inp, 1)
return inp * self.p
""", """
gp = out.g * inp
inp.g = out.g * self.p + self.p * (gp - (gp * self.p).sum(1, keepdim=True))
"""),
    Layer("TanhSigProduct", """
self.t, self.s = torch.tanh(inp), torch.sigmoid(inp)
return inp + self.t * self.s
""", """
inp.g = out.g * (1 + (1 - self.t ** 2) * self.s + self.t * self.s * (1 - self.s))
"""),
    Layer("RowCosine", """
self.n = inp.norm(dim=1, keepdim=True)
self.vn = self.v.norm()
self.c = (inp @ self.v).unsqueeze(1) / (self.n * self.vn)
return inp * self.c
""", """
gc = (out.g * inp).sum(1, keepdim=True)
dc_dx = self.v / (self.n * self.vn) - self.c * inp / self.n ** 2
inp.g = out.g * self.c + gc * dc_dx
self.v.g = (gc * (inp / (self.n * self.vn) - self.c * self.v / self.vn ** 2)).sum(0)
""", ("v",))
)
LAYERS = {**corpus.LAYERS, **{layer.name: layer for layer in MORE}}
assert len(LAYERS) == len(corpus.LAYERS) + len(MORE), "two layers of one name: the later one hides the other"
C = corpus.C
PARAMETERS = {
    "GateByW": lambda r: (r(C, 1) / C ** 0.5,),
    "SoftplusGain": lambda r: (0.1 * r(C), 0.1 * r(C)),
    "RowCosine": lambda r: (r(C),),
    "Affine": lambda r: (1 + 0.1 * r(C), 0.1 * r(C)),
    "Swish": lambda r: (1 + 0.1 * r(C),),
    "LinearT": lambda r: (r(C, C) / C ** 0.5, 0.1 * r(C)),
    "PReLU": lambda r: (0.25 + 0.1 * r(C),),
    "ScaleNorm": lambda r: (1 + 0.1 * r(1),),
    "BatchNormByHand": lambda r: (1 + 0.1 * r(C), 0.1 * r(C)),
    "GLU": lambda r: (r(C, 2 * C) / C ** 0.5,),
    "ResidualMLP": lambda r: (r(C, C) / C ** 0.5, 0.1 * r(C)),
    "SwiGLU": lambda r: (r(C, C) / C ** 0.5, r(C, C) / C ** 0.5),
    "WeightNormLin": lambda r: (r(C, C),),
    "MaxScale": lambda r: (0.3 + 0.1 * r(C),),
    "EinsumLinear": lambda r: (r(C, C) / C ** 0.5, 0.1 * r(C)),
    "FLayerNorm": lambda r: (1 + 0.1 * r(C), 0.1 * r(C)),
    "Centre": lambda r: (1 + 0.1 * r(C),),
    "GatedTanh": lambda r: (r(C, C) / C ** 0.5,),
    "LearnedSine": lambda r: (1 + 0.3 * r(C),),
    "Poly": lambda r: (0.5 + 0.1 * r(C), 1 + 0.1 * r(C)),
    "SelfGate": lambda r: (r(C, C) / C ** 0.5,),
    "FiLM": lambda r: (0.1 * r(C), 0.1 * r(C)),
    "AlphaELU": lambda r: (1 + 0.1 * r(C),),
    "ScaleShift": lambda r: (0.1 * r(C), 0.1 * r(C)),
    "Bilinear": lambda r: (r(C, C) / C ** 0.5,),
    "RMSNormGainFirst": lambda r: (1 + 0.1 * r(C),),
    "MMLinear": lambda r: (r(C, C) / C ** 0.5, 0.1 * r(C)),
    "GatedLinear": lambda r: (r(C, C) / C ** 0.5, r(C, C) / C ** 0.5),
    "LayerScaleTanh": lambda r: (0.5 + 0.1 * r(C),),
    "EinsumT": lambda r: (r(C, C) / C ** 0.5, 0.1 * r(C)),
    "GatedResidual": lambda r: (0.1 * r(C), r(C, C) / C ** 0.5),
    "RBF": lambda r: (0.1 * r(C), 1 + 0.1 * r(C)),
    "CenterScale": lambda r: (1 + 0.1 * r(C),),
    "SiLUOfLinear": lambda r: (r(C, C) / C ** 0.5,),
    "TiedLinear": lambda r: (r(C, C) / C ** 0.5,),
    "LearnedTempSoftmax": lambda r: (1 + 0.1 * r(1),),
    "Snake": lambda r: (1 + 0.1 * r(1),),
    "Highway": lambda r: (r(C, C) / C ** 0.5, 0.1 * r(C), r(C, C) / C ** 0.5),
    "LowRank": lambda r: (r(C, 4) / C ** 0.5, r(4, C) / 2),
    "Maxout": lambda r: (r(C, C) / C ** 0.5, r(C, C) / C ** 0.5),
    "MeanOnlyBN": lambda r: (0.1 * r(C),),
    "CosineLinear": lambda r: (r(C, C) / C ** 0.5,),
    "ScaledTanh": lambda r: (1 + 0.1 * r(1), 1 + 0.1 * r(1)),
    "NormedLinear": lambda r: (r(C, C) / C ** 0.5,),
    "FSigmoidGate": lambda r: (r(C, C) / C ** 0.5,),
    "ResGELU": lambda r: (r(C, C) / C ** 0.5,),
    "SiLUGLU": lambda r: (r(C, C) / C ** 0.5, r(C, C) / C ** 0.5),
    "AbsPow": lambda r: (1.5 + 0.2 * r(C),),
    "FGLULinear": lambda r: (r(C, 2 * C) / C ** 0.5,),
    "FPReLU": lambda r: (0.25 + 0.1 * r(C),),
    "Hypot": lambda r: (r(C),),
    "SortRows": lambda r: (1 + 0.1 * r(C),),
    "FLinear": lambda r: (r(C, C) / C ** 0.5, 0.1 * r(C)),
    "AddmmLinear": lambda r: (r(C, C) / C ** 0.5, 0.1 * r(C)),
    "Lerp": lambda r: (0.1 * r(C),),
    "MaximumFloor": lambda r: (0.1 * r(C),),
    "VarMeanNorm": lambda r: (1 + 0.1 * r(C),),
    "ExpGain": lambda r: (0.1 * r(C),),
    "FRMSNorm": lambda r: (1 + 0.1 * r(C),),
    "FBatchNorm": lambda r: (1 + 0.1 * r(C), 0.1 * r(C)),
    "SoftClip": lambda r: (1.5 + 0.1 * r(1),),
    "MaskedLinear": lambda r: (torch.eye(C) + 0.2 * r(C, C),),
    "TwoSlopePReLU": lambda r: (0.9 + 0.1 * r(1), 0.2 + 0.05 * r(1)),
    "AddcmulAffine": lambda r: (1 + 0.1 * r(C), 0.1 * r(C)),
    "PowerScale": lambda r: (1.5 + 0.1 * r(1),),
    "FrobLinear": lambda r: (torch.eye(C) + 0.2 * r(C, C),),
    "LlamaRMSNorm": lambda r: (1 + 0.1 * r(C),),
    "MoEGate": lambda r: (r(C, 2) / C ** 0.5,),
    "WeightStd": lambda r: (r(C, C),),
    "BatchAttentionPool": lambda r: (r(C) / C ** 0.5,),
    "ZeroMeanGain": lambda r: (1 + 0.3 * r(C),),
    "SwishBeta": lambda r: (1.2 + 0.1 * r(1),),
    "TanhTwoGain": lambda r: (1 + 0.1 * r(C),),
    "CompactBN": lambda r: (1 + 0.1 * r(C), 0.1 * r(C)),
    "LlmcLayerNorm": lambda r: (1 + 0.1 * r(C), 0.1 * r(C)),
    "StagedBN": lambda r: (1 + 0.1 * r(C), 0.1 * r(C)),
    "StagedLN": lambda r: (1 + 0.1 * r(C), 0.1 * r(C)),
    "GroupNormFlat": lambda r: (1 + 0.1 * r(C), 0.1 * r(C)),
    "CubicLearned": lambda r: (0.1 * r(C), 1 + 0.1 * r(C)),
    "RowGate": lambda r: (0.3 * r(C),),
    "CenteredLinear": lambda r: (r(C, C) / C ** 0.5, 0.1 * r(C)),
    "TokenMix": lambda r: (r(C, C) / C ** 0.5, r(C, C) / C ** 0.5),
    "SoftsignScaled": lambda r: (1 + 0.1 * r(C).abs(),),
    "ScaleNormEps": lambda r: (1.5 + 0.1 * r(1),),
    "SwiGLUHand": lambda r: (r(C, C) / C ** 0.5, r(C, C) / C ** 0.5),
    "ShiftConv": lambda r: (torch.tensor([0.3, 0.9, -0.4]) + 0.05 * r(3),),
    "ScaledLinear": lambda r: (r(C, C) / C ** 0.5, 1 + 0.1 * r(1)),
    "LogitNorm": lambda r: (0.5 + 0.1 * r(C),),
    "EinsumGate": lambda r: (r(C, C) / C ** 0.5, r(C) / C ** 0.5),
    "ClampSq": lambda r: (r(C, C) / C ** 0.5,),
    "LeakyLearned": lambda r: (0.1 + 0.05 * r(C),),
    "RowSoftmaxPool": lambda r: (1 + 0.2 * r(C),),
    "BiasGELU": lambda r: (0.1 * r(C),),
    "ResidualLN": lambda r: (r(C, C) / C ** 0.5,),
    "Rotate": lambda r: (torch.cos(r(C // 2)), torch.sin(r(C // 2))),
    "RMSResidual": lambda r: (1 + 0.1 * r(C), 0.1 * r(C)),
    "FixedDropScale": lambda r: ((r(C) > -0.8).float() + 0.01 * r(C),),
    "TempSigmoid": lambda r: (1.5 + 0.1 * r(1),),
    "BatchBiasAttn": lambda r: (0.5 + 0.1 * r(1),),
    "SplitSwiGLU": lambda r: (r(C, C) / C ** 0.5,),
    "DyT": lambda r: (0.8 + 0.1 * r(1), 1 + 0.1 * r(C), 0.1 * r(C)),
    "GeGLUErf": lambda r: (r(C, C) / C ** 0.5, r(C, C) / C ** 0.5),
    "CentreDist": lambda r: (r(C, C),),
    "SoftRouter": lambda r: (r(C, 2) / C ** 0.5, r(C, C) / C ** 0.5, r(C, C) / C ** 0.5),
    "LSEShift": lambda r: (1.5 + 0.1 * r(1),),
    "PolyLoop": lambda r: (0.5 * r(4),),
    "ReZero": lambda r: (r(C, C) / C ** 0.5, 0.5 + 0.1 * r(1)),
    "Conv1dFeat": lambda r: (torch.tensor([0.3, 0.9, -0.4]) + 0.05 * r(3),),
    "RNNLayer": lambda r: (r(4, 4) / 2, r(4, 4) / 2, 0.1 * r(4)),
    "HeadGates": lambda r: (r(3, 4, 4) / 2,),
    "PolyHorner": lambda r: (0.5 * r(4),),
    "ResidualStack": lambda r: (r(2, C, C) / C ** 0.5,),
    "CausalHead": lambda r: (r(4, 4) / 2, r(4, 4) / 2, r(4, 4) / 2),
    "Rotary": lambda r: (0.3 * torch.arange(6.) + 0.05 * r(6),),
    "CosineHead": lambda r: (r(C, C),),
    "GRUStep": lambda r: (r(C, C) / C ** 0.5, r(C, C) / C ** 0.5, r(C, C) / C ** 0.5),
    "PosSiLU": lambda r: (0.5 * r(3, 4),),
    "VarMeanBN": lambda r: (1 + 0.1 * r(C), 0.1 * r(C)),
    "LSEPoolCentre": lambda r: (1.5 + 0.1 * r(1),),
    "UnfoldConv": lambda r: (r(1, 9) / 3,),
    "FLinearGELU": lambda r: (r(C, C) / C ** 0.5, 0.1 * r(C)),
    "FLayerNormAffine": lambda r: (1 + 0.1 * r(C), 0.1 * r(C)),
    "SortedScale": lambda r: (1 + 0.3 * r(C),),
    "HardTanhMix": lambda r: (0.5 + 0.2 * r(C),),
    "DiagEmbedLinear": lambda r: (r(C, C) / C ** 0.5,),
    "CDistRBF": lambda r: (0.5 * r(C, C),),
    "AtanGain": lambda r: (1 + 0.1 * r(1),),
    "MixerTokens": lambda r: (r(3, 3) / 3 ** 0.5,),
    "QuadForm": lambda r: (0.3 * r(C, C) / C,),
    "FactorMachine": lambda r: (0.3 * r(C, 3),),
    "LSTMCell": lambda r: (r(C, 4 * C) / C ** 0.5,),
    "ALiBiHead": lambda r: (0.5 + 0.1 * r(1),),
    "LayerScaleGELU": lambda r: (r(C, C) / C ** 0.5, 0.5 + 0.1 * r(C)),
    "AttnPoolQuery": lambda r: (0.5 * r(4),),
    "CubicTokens": lambda r: (0.15 * r(4, 4),),
    "VarShift": lambda r: (0.3 + 0.1 * r(1),),
    "LinearSqrtNorm": lambda r: (r(C, C) / C ** 0.5,),
    "ChannelShuffleScale": lambda r: (1 + 0.1 * r(C),),
    "ReluSqThreshold": lambda r: (0.1 * r(C),),
    "WeightedL2Norm": lambda r: (1 + 0.2 * r(C).abs(),),
    "ScaledSoftsign": lambda r: (1.5 + 0.1 * r(1),),
    "LearnedEpsRMS": lambda r: (-3 + 0.1 * r(1),),
    "PolyStack": lambda r: (0.3 * r(3),),
    "FusedBiasGeluMask": lambda r: (0.1 * r(C),),
    "CosGate": lambda r: (r(C, C) / C ** 0.5,),
    "ResidualTanhLinear": lambda r: (0.5 + 0.1 * r(C), r(C, C) / C ** 0.5),
    "GroupRMS": lambda r: (1 + 0.1 * r(C),),
    "RollMix": lambda r: (1 + 0.1 * r(1),),
}


def network(layer, cls, dtype):
    """The corpus's network around its own layers; around these, as it builds them."""
    if layer.name in corpus.LAYERS:
        return corpus.network(layer, cls, dtype)
    from gradtui.layers import Lin, Mse, Relu

    r, C, N = corpus.draw(), corpus.C, corpus.N
    if layer.loss:
        return [Lin(r(C, 8) / C ** 0.5, 0.1 * r(8)), Relu(), Lin(r(8, 1) / 8 ** 0.5, 0.1 * r(1)), cls()], r(N, C), r(N), \
            3, ()
    own = PARAMETERS.get(layer.name, lambda r: ())(r)
    return [Lin(r(C, C) / C ** 0.5, 0.1 * r(C)), cls(*own), Lin(r(C, 1) / C ** 0.5, 0.1 * r(1)), Mse()], r(N, C), r(N), \
        1, own


# -- the edits -------------------------------------------------------------------------------------

def _call(receiver: ast.expr, method: str, args, keywords) -> ast.Call:
    return ast.Call(ast.Attribute(receiver, method, ast.Load()), list(args), list(keywords))


def _integer(node: ast.expr) -> int | None:
    """The integer an axis argument spells: `0`, `-1`."""
    try:
        value = ast.literal_eval(node)
    except ValueError:
        return None
    return value if type(value) is int else None


def edits(node: ast.AST) -> list[tuple[ast.AST, str]]:
    """The nodes one edit from `node`, each with the edit in words (nothing for what a statement assigns)."""
    if getattr(node, "assigned", False):
        return []
    found: list[tuple[ast.AST, str]] = []
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        right = node.right if isinstance(node.op, ast.Add) else ast.UnaryOp(ast.USub(), node.right)
        flipped = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
        found += [(node.left, "term dropped"), (right, "term dropped"), (ast.BinOp(node.left, flipped, node.right), "sign")]
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        found += [(node.left, "factor dropped"), (node.right, "factor dropped")]
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        found.append((node.left, "division dropped"))
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        found.append((ast.BinOp(node.right, ast.MatMult(), node.left), "operands swapped"))
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        found.append((node.left, "power dropped"))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        found.append((node.operand, "minus dropped"))
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        receiver, method = node.func.value, node.func.attr
        if method in ("t", "transpose", "float", "squeeze", "unsqueeze"):
            found.append((receiver, f".{method}() dropped"))
        if method in ("sum", "mean"):
            found += [(_call(receiver, "mean" if method == "sum" else "sum", node.args, node.keywords), "sum ↔ mean"),
                      (receiver, f".{method}() dropped")]
            axis = _integer(node.args[0]) if node.args else None
            if axis is not None:
                other = 0 if axis in (-1, 1) else -1
                found.append((_call(receiver, method, [ast.Constant(other), *node.args[1:]], node.keywords), "axis"))
            if node.keywords:
                found.append((_call(receiver, method, node.args, []), "keepdim dropped"))
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value not in (0, 1, -1):
        found.append((ast.Constant(node.value * 2), "constant doubled"))
        if node.value == 2:
            found.append((ast.Constant(1), "2 → 1"))
    elif isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.Gt):
        found.append((ast.Compare(node.left, [ast.Lt()], node.comparators), "> → <"))
    elif isinstance(node, ast.Attribute) and node.attr == "g" and isinstance(node.ctx, ast.Load):
        found.append((node.value, "out for out.g"))
    elif isinstance(node, ast.Name) and node.id == "inp":
        found += [(ast.Name("out", ast.Load()), "out for inp"), (_call(node, "float", [], []), ".float() added")]
    elif isinstance(node, ast.Name) and node.id == "out":
        found.append((_call(node, "float", [], []), ".float() added"))
    return found


class Mutant(ast.NodeTransformer):
    """The backward with its `number`-th edit made (in the order `edits_of` and a post-order walk give)."""

    def __init__(self, number: int, edits_of=edits):
        self.number, self.seen, self.edit, self.edits_of = number, 0, None, edits_of

    def generic_visit(self, node):
        node = super().generic_visit(node)
        if self.edit is None:
            for new, words in self.edits_of(node):
                if self.seen == self.number:
                    self.edit = f"{words}: `{ast.unparse(new)}` for `{ast.unparse(node)}`"
                    self.seen += 1
                    return ast.copy_location(new, node)
                self.seen += 1
        return node


def mutants(layer: Layer):
    """(the edit in words, the backward with it) for every one-edit mutant of the layer's backward."""
    yield from one_edit_mutants(layer.backward.strip())


def one_edit_mutants(code: str, edits_of=edits):
    """(the edit in words, the code with it) for every one-edit mutant of `code`'s expressions (what a
    statement assigns, or changes in place, left as it is)."""
    tree = ast.parse(code)
    for statement in ast.walk(tree):
        targets = [*getattr(statement, "targets", []), *([statement.target] if isinstance(statement, ast.AugAssign) else [])]
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and isinstance(
                statement.value.func, ast.Attribute):
            targets.append(statement.value.func.value)  # `dC` of `dC.index_add_(…)`
        for target in targets:
            for node in ast.walk(target):
                node.assigned = True
    number = 0
    while True:
        mutant = Mutant(number, edits_of)
        mutated = ast.unparse(ast.fix_missing_locations(mutant.visit(copied_tree(tree))))
        if mutant.edit is None:
            return
        yield mutant.edit, mutated
        number += 1


# -- one run -----------------------------------------------------------------------------------------

@dataclass
class Outcome:
    layer: str
    style: str
    edit: str
    kind: str  # right | raised | missed (every gradient said to match) | within (a cast's rounding, so) | named | fallback
    placed: bool
    said: str
    search_s: float = 0.0  # the seconds its check spent in the search on the derived backward (main's runs)


def kernel_source(layer: Layer, backward: str) -> str:
    """The layer as a fused kernel's author writes it: its forward inside a torch.autograd.Function, and one
    function of the gradient that the Function's backward and the layer's both call."""
    args = "inp, targ" if layer.loss else "inp"
    params = "".join(f", {p}" for p in layer.params)
    grads = f"(None, args[0].g{', None' if layer.loss else ''}{''.join(f', self.{p}.g' for p in layer.params)})"
    gradients = f"{layer.name.lower()}_gradients"
    return (f"def {gradients}(self, {args}, out):\n{textwrap.indent(backward.strip(), ' ' * 4)}\n\n\n"
            f"class {layer.name}Kernel(torch.autograd.Function):\n    @staticmethod\n"
            f"    def forward(ctx, self, {args}{params}):\n        ctx.layer, ctx.args = self, ({args},)\n"
            f"{textwrap.indent(layer.forward.strip(), ' ' * 8)}\n\n    @staticmethod\n    def backward(ctx, grad):\n"
            f"        self, args, out = ctx.layer, [a.detach() for a in ctx.args], ctx.layer.out.detach()\n"
            f"        out.g = grad\n        {gradients}(self, *args, out)\n        return {grads}\n\n\n"
            f"class {layer.name}:\n"
            + (f"    def __init__(self{params}):\n        {', '.join(f'self.{p}' for p in layer.params)} = {params[2:]}\n\n"
               if layer.params else "")
            + f"    def __call__(self, {args}):\n        self.inp{', self.targ' if layer.loss else ''} = {args}\n"
            f"        self.out = {layer.name}Kernel.apply(self, {args}{''.join(f', self.{p}' for p in layer.params)})\n"
            f"        return self.out\n\n    def backward(self):\n"
            f"        {gradients}(self, self.inp, {'self.targ, ' if layer.loss else ''}self.out)\n")


def run(layer: Layer, style: str, edit: str, backward: str, directory: Path, index: int) -> Outcome:
    """One mutant in one style ("module", "call", or "kernel": judged against the module style's ground truth)."""
    dtype = torch.float64 if ".float() added" in edit else torch.float32
    truth = "module" if style == "kernel" else style
    cls = getattr(corpus.loaded(corpus.source(layer, truth, backward), directory, f"mutant_{index}"), layer.name)
    wrong = corpus.ground_truth(layer, cls, dtype, network, every=True)
    if not wrong:
        return Outcome(layer.name, style, edit, "right", True, "")
    if style == "kernel":
        cls = getattr(corpus.loaded(kernel_source(layer, backward), directory, f"kernel_{index}"), layer.name)
    model, x, y, position, _ = network(layer, cls, dtype)
    report = gradtui.check(model, x.to(dtype) if x.is_floating_point() else x, y.to(dtype))
    mismatch = report.first_mismatch
    if mismatch is None or mismatch.tensor is None:
        # a float32 cast passed: its rounding on gradtui's data is within the float64 verdict's own tolerance, or
        # the run is float32 (an embedding's integer ids make it its table's dtype), where the cast changes nothing
        passed = "within" if ".float() added" in edit else "missed"
        return Outcome(layer.name, style, edit, passed if report.ok else "raised", report.ok is False or passed == "within", "")
    hint = mismatch.hint or ""
    # (the first wrong by gradtui's own verdict: where the slip is a float32 rounding in a float64 run, which
    # of two gradients crosses the 1e-9 bound first depends on the data, and autograd's runs on its own)
    placed = mismatch.tensor in [corpus.names(layer, position)[i] for i in wrong]
    generic = corpus.FALLBACK in hint or any(hint.startswith(f"{mismatch.tensor} {w}") for w in corpus.WORDS_OF_A_SHAPE)
    return Outcome(layer.name, style, edit, "fallback" if generic else "named", placed, hint)


def false_verdicts(names: list[str], directory: Path) -> list[str]:
    """gradtui on each layer's own backward, which is right, in both styles, in float32 and float64: what it
    fails or raises on (nothing, when nothing false is said)."""
    said = []
    for index, name in enumerate(names):
        layer = LAYERS[name]
        for style in ("module", "call"):
            cls = getattr(corpus.loaded(corpus.source(layer, style, layer.backward), directory, f"right_{index}_{style}"),
                          layer.name)
            for dtype in (torch.float32, torch.float64):
                model, x, y, _, _ = network(layer, cls, dtype)
                report = gradtui.check(model, x.to(dtype) if x.is_floating_point() else x, y.to(dtype))
                if not report.ok:
                    said.append(f"[{name} {style} {str(dtype).removeprefix('torch.')}] {report.first_mismatch}")
    return said


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layer", choices=sorted(LAYERS))
    parser.add_argument("--kernel", action="store_true", help="each layer's forward inside a torch.autograd.Function")
    parser.add_argument("--right", action="store_true",
                        help="no mutants: each layer's own backward, which must pass in float32 and in float64")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every mutant and what gradtui said")
    args = parser.parse_args()
    if args.right:
        torch.set_num_threads(1)
        names = [args.layer] if args.layer else list(LAYERS)
        with tempfile.TemporaryDirectory() as directory:
            said = false_verdicts(names, Path(directory))
        print("\n".join(said) + f"\n{len(names)} layers, 2 styles, float32 and float64: {len(said)} false verdicts")
        sys.exit(1 if said else 0)
    from search_clock import SearchClock

    styles = ("kernel",) if args.kernel else ("module", "call")
    torch.set_num_threads(1)
    outcomes, index = [], 0
    with tempfile.TemporaryDirectory() as directory, SearchClock() as clock:
        for layer in LAYERS.values():
            if args.layer and layer.name != args.layer:
                continue
            for edit, backward in mutants(layer):
                for style in styles:
                    index += 1
                    clock.seconds = 0.0
                    outcomes.append(run(layer, style, edit, backward, Path(directory), index))
                    outcomes[-1].search_s = clock.seconds
    width = max(map(len, LAYERS)) + 2
    print(f"{'layer':<{width}}{'mutants':>8}{'wrong':>7}{'placed':>8}{'named':>12}{'fallback':>10}")
    for name in [*LAYERS, "all"]:
        group = [o for o in outcomes if name in ("all", o.layer)]
        wrong = [o for o in group if o.kind in ("named", "fallback")]
        if not wrong:
            continue
        named = sum(o.kind == "named" for o in wrong)
        print(f"{name:<{width}}{len(group):>8}{len(wrong):>7}{sum(o.placed for o in wrong):>8}"
              f"{f'{named} ({named / len(wrong):.0%})':>12}{len(wrong) - named:>10}")
    counts = Counter(o.kind for o in outcomes)
    print(f"(wrong: the mutant's gradient differs and its backward runs; {counts['right']} mutants compute the "
          f"right gradients, {counts['raised']} raise; {counts['missed']} wrong ones passed as right, and {counts['within']} "
          "float32 casts whose rounding on gradtui's data is within the tolerance)")
    searched = sorted((o for o in outcomes if o.kind in ("named", "fallback")), key=lambda o: o.search_s)
    if searched:
        slowest = searched[-1]
        print(f"the search on the derived backward, per wrong mutant's check: median "
              f"{searched[len(searched) // 2].search_s * 1000:.0f} ms, 99% within "
              f"{searched[int(len(searched) * 0.99) - 1].search_s * 1000:.0f} ms, the slowest "
              f"{slowest.search_s * 1000:.0f} ms ({slowest.layer}, {slowest.edit.split(':')[0]}); "
              f"{sum(o.search_s > 0.5 for o in searched)} over 500 ms")
    for o in outcomes:
        if args.verbose or o.kind in ("fallback", "missed") or (o.kind in ("named", "fallback") and not o.placed):
            print(f"{'' if o.placed else 'MISPLACED '}{o.kind} [{o.layer} {o.style}] {o.edit}\n    {o.said}")
    sys.exit(0 if all(o.placed for o in outcomes) else 1)


if __name__ == "__main__":
    main()
