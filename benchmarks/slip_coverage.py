"""How many slips gradtui finds, places and names, by layer kind.

A corpus of backward passes written the way people write them, each with one slip, in four
styles: the lesson's two (a `Module` subclass with `bwd`, and a class with `__call__`/`backward`),
the hand-backprop exercise's, one variable at a time (samples/backprop_exercise_steps.py,
whose batch norm divides the variance by n−1), and a course assignment's, one node of the graph
at a time (samples/batchnorm_staged.py). None of it comes from gradtui's own formulas:
each slip is code, run by `gradtui check` on a small network that holds the layer, with small
random biases and gains (so that a slip that a zero bias or a unit gain would hide still shows;
`--init notes` runs it with the notes' zero biases and unit gains instead, where such a slip is
left to the replay that moves them, and counts what the replay found).
A slip two edits or more from the right formula is expected to get the fallback's words, not a
name: a hint that names the wrong slip is worse than none.

For each slip: found (the check fails), placed (the first mismatch is the expected tensor),
specific (its hint is not the fallback's "fits no known slip"), named (its hint has the expected
words). Prints a table per kind and the slips not as expected.

    python benchmarks/slip_coverage.py            # the table
    python benchmarks/slip_coverage.py --verbose  # and every hint
    python benchmarks/slip_coverage.py --init notes
"""

from __future__ import annotations

import argparse
import tempfile
import textwrap
from collections import defaultdict
from pathlib import Path

from gradtui.config import RunConfig
from gradtui.replay import needs_replay, replay_in_float64
from gradtui.session import DebugSession

NETS = {
    "lin": ("lin", "relu", "lin", "mse"),
    "relu": ("lin", "relu", "lin", "mse"),
    "tanh": ("lin", "tanh", "lin", "mse"),
    "batchnorm": ("lin", "batchnorm", "relu", "lin", "mse"),
    "mse": ("lin", "relu", "lin", "mse"),
    "cross_entropy": ("lin", "relu", "lin", "cross_entropy"),
}

# Each kind's layer in the Module style, with one line per gradient a slip may replace.
MODULE = {
    "lin": ("Lin", "inp", {"inp": "inp.g = out.g @ self.w.t()", "w": "self.w.g = inp.t() @ out.g",
                           "b": "self.b.g = out.g.sum(0)"}),
    "relu": ("Relu", "inp", {"inp": "inp.g = (inp > 0).float() * out.g"}),
    "tanh": ("Tanh", "inp", {"inp": "inp.g = (1 - out**2) * out.g"}),
    "batchnorm": ("BatchNorm", "inp", {
        "inp": "n = inp.shape[0]; dxhat = out.g * self.g; "
               "inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)",
        "gamma": "self.g.g = (out.g * self.xhat).sum(0)", "beta": "self.b.g = out.g.sum(0)"}),
    "mse": ("Mse", "inp, targ", {"inp": "inp.g = 2. * (inp.squeeze(-1) - targ).unsqueeze(-1) / targ.shape[0]"}),
    "cross_entropy": ("CrossEntropy", "inp, targ", {
        "inp": "sm = inp.softmax(1); one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); "
               "inp.g = (sm - one_hot) / inp.shape[0]"}),
}

GENERIC = "fits no known slip"  # the expected words of a slip two edits or more from the right formula

# (kind, role, the slip's line, the words its hint must have; alternatives separated by " | ")
SLIPS = [
    # lin: the input gradient
    ("lin", "inp", "inp.g = out @ self.w.t()", "built from `out`"),
    ("lin", "inp", "inp.g = -(out.g @ self.w.t())", "sign flipped"),
    ("lin", "inp", "inp.g = out.g @ self.w.t() / inp.shape[0]", "1/N"),
    ("lin", "inp", "inp.g = 2 * out.g @ self.w.t()", "off by 2"),
    # lin: the weight gradient
    ("lin", "w", "self.w.g = out.g.t() @ inp", "transposed"),
    ("lin", "w", "self.w.g = inp.t() @ out", "built from `out`"),
    ("lin", "w", "self.w.g = (inp.unsqueeze(-1) * out.g.unsqueeze(1)).mean(0)", "1/N"),
    ("lin", "w", "self.w.g = inp.t() @ out.g / inp.shape[0]", "1/N"),
    ("lin", "w", "self.w.g = torch.einsum('bi,bj->ji', inp, out.g)", "transposed"),
    ("lin", "w", "self.w.g = -inp.t() @ out.g", "sign flipped"),
    ("lin", "w", "self.w.g = (inp.unsqueeze(-1) * out.g.unsqueeze(1))", "extra batch dimension"),
    ("lin", "w", "self.w.g = inp.t() @ out.g * 2", "off by 2"),
    # lin: the bias gradient
    ("lin", "b", "self.b.g = out.g", "not summed over the batch"),
    ("lin", "b", "self.b.g = out.g.sum()", "summed over every axis"),
    ("lin", "b", "self.b.g = out.g.sum(1)", "summed over the features (axis 1)"),
    ("lin", "b", "self.b.g = out.g.mean(0)", "a mean where the sum belongs"),
    ("lin", "b", "self.b.g = out.g.sum(0, keepdim=True)", "keepdim=True"),
    ("lin", "b", "self.b.g = out.g.mean(0, keepdim=True)", "a mean where the sum belongs"),
    ("lin", "b", "self.b.g = out.sum(0)", "built from `out`"),
    ("lin", "b", "self.b.g = out.g.sum(0) / inp.shape[0]", "a mean where the sum belongs"),
    ("lin", "b", "self.b.g = -out.g.sum(0)", "sign flipped"),
    # relu
    ("relu", "inp", "inp.g = (inp < 0).float() * out.g", "the mask inverted"),
    ("relu", "inp", "inp.g = (out.g > 0).float() * out.g", "mask taken from `out.g`"),
    ("relu", "inp", "inp.g = (inp > 0).float()", "without the factor `out.g`"),
    ("relu", "inp", "inp.g = out.g.clone()", "without the factor `(inp > 0)`"),
    ("relu", "inp", "inp.g = (inp > 0).float() * out", "built from `out`"),
    ("relu", "inp", "inp.g = 2 * (inp > 0).float() * out.g", "off by 2"),
    ("relu", "inp", "inp.g = -(inp > 0).float() * out.g", "sign flipped"),
    ("relu", "inp", "inp.g = (inp > 0).float() * out.g / inp.shape[0]", "1/N"),
    ("relu", "inp", "inp.g = inp * out.g", GENERIC),  # honest: the input itself as the mask
    ("relu", "inp", "inp.g = torch.where(inp > 0, out.g, torch.ones_like(out.g))", GENERIC),
    ("relu", "inp", "inp.g = (inp <= 0).float() * out.g", "the mask inverted"),
    ("relu", "inp", "inp.g = inp.clamp_min(0.) * out.g", "the ReLU's output `out` where its derivative"),
    # tanh
    ("tanh", "inp", "inp.g = 1 - out**2", "without the factor `out.g`"),
    ("tanh", "inp", "inp.g = (1 + out**2) * out.g", "sign of the term `- out**2` flipped"),
    ("tanh", "inp", "inp.g = (1 - out) * out.g", "without the power 2"),
    ("tanh", "inp", "inp.g = (1 - inp**2) * out.g", "taken from the input `inp`"),
    ("tanh", "inp", "inp.g = (1 - out**2) * out", "built from `out`"),
    ("tanh", "inp", "inp.g = -out**2 * out.g", "without the term `+ 1`"),
    ("tanh", "inp", "inp.g = out.g / (1 - out**2)", "divided by `1 - out**2`"),
    ("tanh", "inp", "inp.g = (1 - out**2)**2 * out.g", "twice"),
    ("tanh", "inp", "inp.g = (1 - inp.tanh()) * out.g", "without the power 2"),
    ("tanh", "inp", "inp.g = 2 * (1 - out**2) * out.g", "off by 2"),
    ("tanh", "inp", "inp.g = (out**2 - 1) * out.g", "sign flipped"),
    ("tanh", "inp", "inp.g = (1 - out**2) * out.g / inp.shape[0]", "1/N"),
    ("tanh", "inp", "inp.g = (1 - out**2) * out.g * out.g", "twice"),
    ("tanh", "inp", "inp.g = (1 - out.pow(2)).sum(0) * out.g", "summed over the batch, where each row keeps its own"),
    ("tanh", "inp", "inp.g = 1 - out**2 * out.g", "without the parentheses around `1 - out**2`"),
    ("tanh", "inp", "inp.g = out * (1 - out) * out.g", "sigmoid's derivative `out * (1 - out)`"),
    ("tanh", "inp", "inp.g = (1 - out)**2 * out.g", "the power 2 on `(1 - out)`"),
    ("tanh", "inp", "inp.g = out.g / inp.cosh()", "the square left out"),
    ("tanh", "inp", "inp.g = out.g * 1 - out**2", "without the parentheses around `1 - out**2`"),
    # batch norm: the input gradient
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0) / (n * self.std)",
     "without the parentheses around"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (n * dxhat - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)", "without the mean term"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (n * dxhat - dxhat.sum(0)) / (n * self.std)", "without the variance term"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (n * dxhat + dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)",
     "sign of the mean term"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (n * dxhat - dxhat.sum(0) + self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)",
     "sign of the variance term"),
    # the compact form: one edit inside dxhat (its out.g taken for out, or left out)
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out * self.g; "
     "inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)",
     "built from `out`, the layer's output, where its gradient `out.g` belongs"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = self.g; "
     "inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)",
     "with `gamma` where `dxhat = out.g * gamma` belongs (the gradient from above, out.g, left out)"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (n * dxhat - dxhat.sum(0) - inp * (dxhat * inp).sum(0)) / (n * self.std)", "`inp` where the normalised `xhat` "
     "belongs, everywhere"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (n * dxhat - dxhat.sum(0) - inp * (dxhat * self.xhat).sum(0)) / (n * self.std)",
     "the raw input `inp` where the normalised `xhat` belongs"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g; "
     "inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)", "gain gamma left out"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / self.std", "off by the batch size"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)", "without the factor `N`"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std**2)",
     "`std` twice | a missing .sqrt()"),  # std² is var + eps: the two stories give the same numbers
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; var = inp.var(0, unbiased=False); "
     "inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * var)", "a missing .sqrt()"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = self.g / self.std / n * (n * out.g - out.g.sum(0) - n / (n - 1) * self.xhat * (out.g * self.xhat).sum(0))",
     "Bessel's correction"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (n * dxhat - dxhat.sum(1, keepdim=True) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)",
     "summed over the features (axis 1)"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).mean(0)) / (n * self.std)",
     "a mean where the sum belongs"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out * self.g; "
     "inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)",
     "`out * gamma` where `dxhat = out.g * gamma` belongs"),
    ("batchnorm", "inp", "inp.g = out.g * self.g / self.std", "treats the batch mean and variance as constants"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / ((n - 1) * self.std)",
     "n/(n−1)"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (n * dxhat - dxhat.sum(0) - (dxhat * self.xhat).sum(0)) / (n * self.std)", "without the factor `xhat`"),
    ("batchnorm", "inp", "n = inp.shape[0]; dxhat = out.g * self.g; "
     "inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (out.g * self.xhat).sum(0)) / (n * self.std)",
     "gain gamma left out"),
    # batch norm: the gain and the shift
    ("batchnorm", "gamma", "self.g.g = (out.g * self.xhat).sum(1)", "summed over the features (axis 1)"),
    ("batchnorm", "gamma", "self.g.g = out.g.sum(0)", "without the factor `xhat`"),
    ("batchnorm", "gamma", "self.g.g = (out.g * inp).sum(0)", "the raw input `inp`"),
    ("batchnorm", "gamma", "self.g.g = (out.g * self.xhat).mean(0)", "a mean where the sum belongs"),
    ("batchnorm", "gamma", "self.g.g = out.g * self.xhat", "not summed over the batch"),
    ("batchnorm", "gamma", "self.g.g = (out * self.xhat).sum(0)", "built from `out`"),
    ("batchnorm", "gamma", "self.g.g = (out.g * self.xhat).sum(0, keepdim=True)", "keepdim=True"),
    ("batchnorm", "gamma", "self.g.g = (out.g * out).sum(0)", "the output `out` where the normalised `xhat` belongs"),
    ("batchnorm", "gamma", "self.g.g = (out.g * (inp - inp.mean(0))).sum(0)", "(not divided by std)"),
    ("batchnorm", "gamma", "self.g.g = (out.g * inp / self.std).sum(0)", "(the input not centred)"),
    ("batchnorm", "beta", "self.b.g = out.g.sum(1)", "summed over the features (axis 1)"),
    ("batchnorm", "beta", "self.b.g = out.g.mean(0)", "a mean where the sum belongs"),
    ("batchnorm", "beta", "self.b.g = out.g", "not summed over the batch"),
    ("batchnorm", "beta", "self.b.g = out.g.sum()", "summed over every axis"),
    ("batchnorm", "beta", "self.b.g = (out.g * self.xhat).sum(0)", GENERIC),  # gamma's formula: two edits
    # mse
    ("mse", "inp", "inp.g = 2. * (inp.squeeze(-1) - targ).unsqueeze(-1)", "off by the batch size"),
    ("mse", "inp", "inp.g = (inp.squeeze(-1) - targ).unsqueeze(-1) / targ.shape[0]", "off by 2"),
    ("mse", "inp", "inp.g = 2. * (targ - inp.squeeze(-1)).unsqueeze(-1) / targ.shape[0]", "sign flipped"),
    ("mse", "inp", "inp.g = 2. * inp / targ.shape[0]", "without the term `- targ`"),
    ("mse", "inp", "inp.g = 2. * (inp.squeeze(-1) + targ).unsqueeze(-1) / targ.shape[0]", "sign of the term `- targ`"),
    ("mse", "inp", "inp.g = 2. * (inp.squeeze(-1) - targ).unsqueeze(-1) / targ.shape[0]**2", "divided by `N` twice"),
    ("mse", "inp", "inp.g = 2. * (inp.squeeze(-1) - targ).unsqueeze(-1) * targ.shape[0]", "multiplied by `N`"),
    ("mse", "inp", "inp.g = 2. * (inp.squeeze(-1) - targ) / targ.shape[0]", "without .unsqueeze(-1)"),
    ("mse", "inp", "inp.g = 4. * (inp.squeeze(-1) - targ).unsqueeze(-1) / targ.shape[0]", "off by 2"),
    ("mse", "inp", "inp.g = 2. * (inp - targ) / targ.shape[0]", "N×N broadcast"),
    ("mse", "inp", "inp.g = (inp.squeeze(-1) - targ).pow(2).unsqueeze(-1) / targ.shape[0]", GENERIC),
    ("mse", "inp", "inp.g = 2. * (inp.squeeze(-1) - targ).unsqueeze(-1) / targ.shape[0] * out",
     "multiplied by the loss itself, `out`"),
    ("mse", "inp", "inp.g = 2. * (inp.squeeze(-1) - targ).unsqueeze(-1).mean()", "summed over every axis"),
    # cross-entropy
    ("cross_entropy", "inp", "sm = inp.softmax(1); one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); "
     "inp.g = sm - one_hot", "off by the batch size"),
    ("cross_entropy", "inp", "sm = inp.softmax(1); inp.g = sm / inp.shape[0]", "without the term `- one_hot`"),
    ("cross_entropy", "inp", "sm = inp.exp(); one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); "
     "inp.g = (sm - one_hot) / inp.shape[0]", "not normalised"),
    ("cross_entropy", "inp", "sm = inp.exp() / inp.exp().sum(); "
     "one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); inp.g = (sm - one_hot) / inp.shape[0]",
     "its sum over the whole batch"),
    ("cross_entropy", "inp", "inp.g = (inp.softmax(1) - 1) / inp.shape[0]", "1 subtracted from every probability"),
    # the softmax step by step
    ("cross_entropy", "inp", "m = inp.max(1, keepdim=True).values; e = (m - inp).exp(); p = e / e.sum(1, keepdim=True); "
     "one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); inp.g = (p - one_hot) / inp.shape[0]",
     "with `max - inp` where `inp - max` belongs in the exponent"),
    ("cross_entropy", "inp", "m = inp.max(1, keepdim=True).values; e = (inp - m).exp(); "
     "p = (inp - m) - e.sum(1, keepdim=True).log(); one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); "
     "inp.g = (p - one_hot) / inp.shape[0]", "with log-probabilities (log_softmax) where probabilities belong"),
    ("cross_entropy", "inp", "sm = inp.softmax(1); one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); "
     "inp.g = (sm + one_hot) / inp.shape[0]", "sign of the term `- one_hot`"),
    ("cross_entropy", "inp", "sm = inp.log_softmax(1); one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); "
     "inp.g = (sm - one_hot) / inp.shape[0]", "log-probabilities"),
    ("cross_entropy", "inp", "sm = inp.softmax(0); one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); "
     "inp.g = (sm - one_hot) / inp.shape[0]", "softmax over axis 0"),
    ("cross_entropy", "inp", "e = (inp - inp.max(0, keepdim=True).values).exp(); sm = e / e.sum(1, keepdim=True); "
     "one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); inp.g = (sm - one_hot) / inp.shape[0]",
     "max subtracted over axis 0"),
    ("cross_entropy", "inp", "sm = (inp - inp.max(1, keepdim=True).values).exp(); "
     "one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); inp.g = (sm - one_hot) / inp.shape[0]",
     "not normalised"),
    ("cross_entropy", "inp", "sm = inp.softmax(1); one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); "
     "inp.g = (one_hot - sm) / inp.shape[0]", "sign flipped"),
    ("cross_entropy", "inp", "sm = inp.softmax(1); one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); "
     "inp.g = (sm - one_hot) / inp.shape[0]**2", "divided by `N` twice"),
    ("cross_entropy", "inp", "sm = inp.softmax(1); one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); "
     "inp.g = (sm - one_hot) / inp.shape[1]", "divided by inp.shape[1] = 10 where N = inp.shape[0]"),
    ("cross_entropy", "inp", "sm = inp.softmax(1); one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0); "
     "inp.g = (sm - one_hot).sum(0) / inp.shape[0]", "summed over the batch, where each row keeps its own gradient"),
]

# The hand-backprop exercise's style, one variable at a time (samples/backprop_exercise_steps.py,
# whose batch norm divides the variance by n−1): (kind, role, the line, its slip, the words)
EXERCISE = Path(__file__).resolve().parent.parent / "samples" / "backprop_exercise_steps.py"
EXERCISE_NET = ("lin", "batchnorm", "tanh", "lin", "cross_entropy")
EXERCISE_SLIPS = [
    ("batchnorm", "inp", "dbndiff += (2 * self.bndiff) * dbndiff2", "dbndiff = (2 * self.bndiff) * dbndiff2",
     "the path through `bndiff` in `self.bnraw = self.bndiff * self.bnvar_inv`"),
    ("batchnorm", "inp", "dbnmeani = (-dbndiff).sum(0)", "dbnmeani = dbndiff.sum(0)", "sign of the mean term"),
    ("batchnorm", "inp", "dhprebn += 1.0 / n * (torch.ones_like(self.hprebn) * dbnmeani)", "pass", "without the mean term"),
    ("batchnorm", "inp", "dbnvar = (-0.5 *", "dbnvar = (0.5 *", "sign of the variance term"),
    ("batchnorm", "inp", "dbnraw = self.bngain * dhpreact", "dbnraw = dhpreact", "the gain gamma left out"),
    ("batchnorm", "inp", "dbndiff2 = (1.0 / (n - 1))", "dbndiff2 = (1.0 / n)", "Bessel's correction"),
    ("batchnorm", "inp", "dhprebn += 1.0 / n *", "dhprebn += 1.0 *", "the mean term `- dxhat.sum(0)` times N"),
    ("batchnorm", "inp", "dbndiff = self.bnvar_inv * dbnraw", "dbndiff = dbnraw", "is missing the factor `bnvar_inv`"),
    ("batchnorm", "gamma", "self.bngain.g = (self.bnraw * dhpreact).sum(0)",
     "self.bngain.g = (self.bnraw * dhpreact).sum(0, keepdim=True)", "keepdim=True"),
    ("batchnorm", "gamma", "self.bngain.g = (self.bnraw * dhpreact).sum(0)", "self.bngain.g = dhpreact.sum(0)",
     "without the factor `xhat`"),
    ("batchnorm", "beta", "self.bnbias.g = dhpreact.sum(0)", "self.bnbias.g = dhpreact.mean(0)", "a mean where the sum"),
    ("tanh", "inp", "self.hpreact.g = (1.0 - self.h**2) * self.h.g", "self.hpreact.g = (1.0 - self.h**2)",
     "without the factor `out.g`"),
    ("tanh", "inp", "self.hpreact.g = (1.0 - self.h**2) * self.h.g", "self.hpreact.g = (1.0 - self.hpreact**2) * self.h.g",
     "taken from the input"),
    ("tanh", "inp", "self.hpreact.g = (1.0 - self.h**2) * self.h.g", "self.hpreact.g = 1.0 - self.h**2 * self.h.g",
     "without the parentheses"),
    ("cross_entropy", "inp", "dlogits += F.one_hot", "dlogits = F.one_hot", "all but zero"),
    ("cross_entropy", "inp", "dlogprobs[range(n), self.Yb] = -1.0 / n", "dlogprobs[range(n), self.Yb] = -1.0",
     "off by the batch size"),
    ("cross_entropy", "inp", "dcounts += torch.ones_like(self.counts) * dcounts_sum", "pass",
     "the path through `counts_sum` in `self.counts_sum = self.counts.sum(1, keepdims=True)`"),
    ("cross_entropy", "inp", "dprobs = (1.0 / self.probs) * dlogprobs", "dprobs = self.probs * dlogprobs",
     "multiplies by `probs` where the derivative of log divides by it"),
    ("cross_entropy", "inp", "dcounts_sum = (-self.counts_sum**-2) * dcounts_sum_inv",
     "dcounts_sum = (self.counts_sum**-2) * dcounts_sum_inv", "`self.counts_sum_inv = self.counts_sum**-1` (")  # its -1
]

# The course assignment's form: one node of the graph a line (dxhat, dvar, dmean, dx).
STAGED = Path(__file__).resolve().parent.parent / "samples" / "batchnorm_staged.py"
STAGED_NET = ("lin", "batchnorm", "tanh", "lin", "mse")
_DX = "x.g = dx_norm / torch.sqrt(var + eps) + dvar * 2 * (x - mu) / n + dmu / n"
_DVAR = "dvar = (dx_norm * (x - mu) * -0.5 * (var + eps) ** -1.5).sum(0)"
_DMU = "dmu = (dx_norm * -1 / torch.sqrt(var + eps)).sum(0)"
_DTANH = "self.x.g = self.out.g * (1 - torch.tanh(self.x) ** 2)"
STAGED_SLIPS = [
    ("batchnorm", "inp", "dx_norm = dout * gamma", "dx_norm = dout", "the gain gamma left out"),
    ("batchnorm", "inp", _DVAR, _DVAR.replace("** -1.5", "** -0.5"), "times `std**2`"),
    ("batchnorm", "inp", _DVAR, _DVAR.replace("** -1.5", "** -1.0"), "times `std` (a power of `var + eps` off by a half"),
    ("batchnorm", "gamma", "self.gamma.g = (x_norm * dout).sum(0)", "self.gamma.g = ((x - mu) * dout).sum(0)",
     "(not divided by std)"),
    ("batchnorm", "inp", _DVAR, _DVAR.replace(" * -0.5", ""), "the variance term `- xhat * (dxhat * xhat).sum(0)` times -2"),
    ("batchnorm", "inp", _DVAR, _DVAR.replace("-0.5", "0.5"), "sign of the variance term"),
    ("batchnorm", "inp", _DMU, _DMU.replace("* -1 /", "* 1 /"), "sign of the mean term"),
    ("batchnorm", "inp", _DX, _DX.replace(" + dmu / n", ""), "without the mean term"),
    ("batchnorm", "inp", _DX, _DX.replace("dmu / n", "dmu"), "the mean term `- dxhat.sum(0)` times N"),
    ("batchnorm", "inp", _DX, _DX.replace(" + dvar * 2 * (x - mu) / n", ""), "without the variance term"),
    ("batchnorm", "inp", _DX, _DX.replace("(x - mu) / n", "(x - mu)"),
     "the variance term `- xhat * (dxhat * xhat).sum(0)` times N"),
    ("batchnorm", "inp", _DX, _DX.replace("dx_norm / torch.sqrt(var + eps)", "dx_norm / (var + eps)"),
     "times `1 / std`"),
    ("batchnorm", "gamma", "self.gamma.g = (x_norm * dout).sum(0)", "self.gamma.g = (x * dout).sum(0)",
     "the raw input `inp` where the normalised `xhat` belongs"),
    ("batchnorm", "gamma", "self.gamma.g = (x_norm * dout).sum(0)", "self.gamma.g = (x_norm * dout).mean(0)",
     "a mean where the sum"),
    ("batchnorm", "beta", "self.beta.g = dout.sum(0)", "self.beta.g = dout.mean(0)", "a mean where the sum"),
    ("tanh", "inp", _DTANH, _DTANH.replace("torch.tanh(self.x) ** 2", "self.x ** 2"), "taken from the input"),
    ("tanh", "inp", _DTANH, _DTANH.replace("(1 - torch.tanh(self.x) ** 2)", "(1 - torch.tanh(self.x))"),
     "without the power 2"),
    ("tanh", "inp", _DTANH, "self.x.g = 1 - torch.tanh(self.x) ** 2", "without the factor `out.g`"),
    ("tanh", "inp", _DTANH, _DTANH.replace("1 - ", "1 + "), "sign of the term `- out**2` flipped"),
]


def file_cases() -> list[tuple]:
    """The slips put into a whole file of another style, one at a time: the exercise's and the
    course assignment's."""
    cases = []
    for path, net, slips, style in ((EXERCISE, EXERCISE_NET, EXERCISE_SLIPS, "exercise"),
                                    (STAGED, STAGED_NET, STAGED_SLIPS, "staged")):
        code = path.read_text()
        for kind, role, line, slip, words in slips:
            assert line in code, line
            cases.append((kind, role, code.replace(line, slip, 1), net, slip, words, style))
    return cases


# The lesson's other style: classes with __call__ and backward, keeping what they need.
CALL_STYLE = {
    "lin": '''
class Lin():
    def __init__(self, w, b): self.w, self.b = w, b
    def __call__(self, inp):
        self.inp = inp
        self.out = inp @ self.w + self.b
        return self.out
    def backward(self):
        inp, out = self.inp, self.out
        {lines}
''',
    "relu": '''
class Relu():
    def __call__(self, inp):
        self.inp = inp
        self.out = inp.clamp_min(0.)
        return self.out
    def backward(self):
        inp, out = self.inp, self.out
        {lines}
''',
    "mse": '''
class Mse():
    def __call__(self, inp, targ):
        self.inp, self.targ = inp, targ
        self.out = (inp.squeeze(-1) - targ).pow(2).mean()
        return self.out
    def backward(self):
        inp, targ, out = self.inp, self.targ, self.out
        {lines}
''',
}



def layer_file(kind: str, role: str, slip: str, style: str) -> str:
    cls, args, lines = MODULE[kind]
    body = [slip if r == role else line for r, line in lines.items()]
    if style == "call":
        code = CALL_STYLE[kind].replace("{lines}", "\n        ".join(body))
        return "import torch\n" + textwrap.dedent(code)
    return (f"import torch\nfrom gradtui.layers import {cls} as Reference\n\n\nclass {cls}(Reference):\n"
            f"    def bwd(self, out, {args}):\n" + "".join(f"        {line}\n" for line in body))


def expected_tensor(kind: str, role: str, session: DebugSession) -> str:
    """The tensor the slip is in: the .g of the input or the parameter of the last layer of this
    kind, whose backward runs first."""
    spec = [s for s in session.network.specs if s.kind == kind][-1]
    if role == "inp":
        return f"{spec.inp}.g"
    return f"{spec.params[('w', 'b').index(role) if kind == 'lin' else ('gamma', 'beta').index(role)]}.g"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print every hint")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--init", choices=("random", "notes"), default="random",
                        help="the weights' init: notes gives zero biases and unit gains, where some slips hide "
                             "until the replay moves them")
    args = parser.parse_args()
    cases = [(kind, role, layer_file(kind, role, slip, "module"), NETS[kind], slip, words, "module")
             for kind, role, slip, words in SLIPS]
    cases += [(kind, role, layer_file(kind, role, slip, "call"), NETS[kind], slip, words, "call")
              for kind, role, slip, words in SLIPS if kind in CALL_STYLE]
    cases += file_cases()
    # slips, found, placed, nameable, named, generic said, specific, found by the replay only
    counts = defaultdict(lambda: [0, 0, 0, 0, 0, 0, 0, 0])
    unnamed = []
    with tempfile.TemporaryDirectory() as folder:
        for number, (kind, role, code, net, slip, words, style) in enumerate(cases):
            path = Path(folder) / f"slip_{number}.py"
            path.write_text(code)
            config = RunConfig(net=net, batch=args.batch, layers=path, init=args.init, seed=1)
            session = DebugSession(config)
            session.run_to_end()
            count = counts[kind]
            if needs_replay(session):  # as gradtui check: what the run hid, the replay may find
                replay = replay_in_float64(session)
                count[7] += replay.mismatch is not None
                session = replay.session if replay.mismatch is not None else session
            mismatch = session.first_mismatch
            generic = words == GENERIC
            count[0] += 1
            count[3] += not generic
            if mismatch is None:
                unnamed.append((kind, style, slip, "NOT FOUND"))
                continue
            count[1] += 1
            expected = expected_tensor(kind, role, session)
            if mismatch.tensor != expected:
                unnamed.append((kind, style, slip, f"placed at {mismatch.tensor}, not {expected}"))
                continue
            count[2] += 1
            hint = session.reports[mismatch.index].failing_tensor.hint or ""
            count[6] += bool(hint) and "fits no known" not in hint
            if any(alternative in hint for alternative in words.split(" | ")):
                count[5 if generic else 4] += 1
            else:
                unnamed.append((kind, style, slip, hint))
            if args.verbose:
                print(f"[{kind} {style}] {slip}\n    {hint}")
    print(f"{'kind':<14} {'slips':>5} {'found':>5} {'placed':>6} {'specific':>8} {'named':>9}  two edits or more, said so"
          "  found by the replay")
    total = [0] * 8
    for kind, count in [*((kind, counts[kind]) for kind in NETS), ("all", None)]:
        if count is None:
            count = total
        else:
            total = [a + b for a, b in zip(total, count)]
        print(f"{kind:<14} {count[0]:>5} {count[1]:>5} {count[2]:>6} {count[6]:>8} {count[4]:>4} of {count[3]:<3}  "
              f"{f'{count[5]} of {count[0] - count[3]}':<26}  {count[7]}")
    for kind, style, slip, why in unnamed:
        print(f"not as expected [{kind} {style}] {slip}\n    {why}")


if __name__ == "__main__":
    main()
