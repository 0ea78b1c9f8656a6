"""What each layer kind's backward is, as formulas the diagnosis can vary: one entry per kind.

Each entry writes the kind's correct gradient of every tensor its backward sets (its input's,
then its parameters') in the notes' names (`inp`, `out`, `out.g`, `w`, `b`), the names a
person may confuse (`out` for `out.g`, `inp` for `xhat`), and the named quantities the
formulas use (batch norm's `xhat`, `std`, `dxhat`). The slips the hints name are derived from
these formulas alone: adding a kind here gives it its hints.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradtui.formula import (
    Formula,
    Mask,
    MatMul,
    Method,
    Name,
    Num,
    Pow,
    Prod,
    Reduce,
    Said,
    Softmax,
    Sum,
    Swaps,
    T,
    Term,
)
from gradtui.layers import BATCHNORM_EPS

N = Name("N", off="off by the batch size")
OUT_G = Name("out.g", "the gradient from above, the chain rule's factor")


@dataclass(frozen=True)
class Family:
    """The gradients of one forward a kind may have: `env` options say how its named quantities are
    computed (batch norm's variance divided by n, or by n−1), `says` how the hint names it."""

    grads: dict[str, Formula]  # role -> the formula of its gradient: inp, w, b, gamma, beta
    says: str = ""  # "" for the reference layer's own forward
    env: tuple[tuple[str, object], ...] = ()  # options of formula_env


@dataclass(frozen=True)
class KindFormulas:
    title: str  # as a person writes the layer: Lin, ReLU, BatchNorm
    families: tuple[Family, ...]  # the reference layer's forward first

    def formula(self, role: str) -> Formula | None:
        return self.families[0].grads.get(role)


def _bias(target: str) -> Formula:
    return Formula(target, Reduce(OUT_G, 0), Swaps({"out.g": ("out",)}))


_XHAT, _DXHAT = Name("xhat"), Name("dxhat")
_BESSEL = Said(Prod((N,), (Sum((Term(1, N), Term(-1, Num(1)))),)), "Bessel's correction")


def _batchnorm(bessel: bool) -> dict[str, Formula]:
    """Batch norm's gradients, for a forward whose variance divides by n (the reference's) or by n−1."""
    variance = Prod(((_BESSEL,) if bessel else ()) + (_XHAT, Reduce(Prod((_DXHAT, _XHAT)), 0)))
    scalings = () if bessel else ((_BESSEL, "n/(n−1) (Bessel's correction, for a forward that divides the variance "
                                           "by n−1)"),)
    defs = (("dxhat", "out.g * gamma"), ("xhat", "(inp - inp.mean(0)) / std"),
            ("std", f"(inp.var(0, unbiased={bessel}) + eps).sqrt()"), ("var", f"inp.var(0, unbiased={bessel})"))
    return {
        "inp": Formula(
            "inp.g",
            Prod((Sum((Term(1, Prod((N, _DXHAT))), Term(-1, Reduce(_DXHAT, 0), "the mean term"),
                       Term(-1, variance, "the variance term")), scalings),), (N, Name("std"))),
            Swaps({"xhat": ("inp",), "dxhat": ("out.g", Prod((Name("out"), Name("gamma")))), "std": ("var",),
                   "out.g": ("out",)}),
            defs),
        "gamma": Formula("gamma.g", Reduce(Prod((OUT_G, _XHAT)), 0), Swaps({"xhat": ("inp", "out"), "out.g": ("out",)}),
                         defs),
        "beta": _bias("beta.g"),
    }


def _single(grads: dict[str, Formula]) -> tuple[Family, ...]:
    return (Family(grads),)


KINDS: dict[str, KindFormulas] = {
    "lin": KindFormulas("Lin", _single({
        "inp": Formula("inp.g", MatMul(OUT_G, T(Name("w"))), Swaps({"out.g": ("out",)})),
        "w": Formula("w.g", MatMul(T(Name("inp")), OUT_G), Swaps({"out.g": ("out",), "inp": ("out",)})),
        "b": _bias("b.g"),
    })),
    "relu": KindFormulas("ReLU", _single({
        "inp": Formula("inp.g", Prod((Mask(Name("inp")), OUT_G)), Swaps({"inp": ("out", "out.g"), "out.g": ("out",)})),
    })),
    "tanh": KindFormulas("Tanh", _single({
        "inp": Formula("inp.g", Prod((Sum((Term(1, Num(1)), Term(-1, Pow(Name("out"))))), OUT_G)),
                       Swaps({"out": ("inp",), "out.g": ("out",)})),
    })),
    "batchnorm": KindFormulas("BatchNorm", (
        Family(_batchnorm(bessel=False)),
        Family(_batchnorm(bessel=True), " (for your forward, whose variance divides by n−1: Bessel's correction)",
               (("unbiased", True),)),
    )),
    "mse": KindFormulas("MSE", _single({
        "inp": Formula("inp.g", Prod((Num(2, "off by 2"), Method(Sum((Term(1, Method(Name("inp"), "squeeze", -1)),
                                                                     Term(-1, Name("targ")))), "unsqueeze", -1)), (N,))),
    })),
    "cross_entropy": KindFormulas("CrossEntropy", _single({
        "inp": Formula("inp.g", Prod((Sum((Term(1, Softmax(Name("inp"))), Term(-1, Name("one_hot")))),), (N,)),
                       defs=(("one_hot", "torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0)"),)),
    })),
}

ROLE_WORDS = {"inp": "input gradient", "w": "weight gradient", "b": "bias gradient", "gamma": "gain gradient",
              "beta": "shift gradient"}


def formula_env(kind: str, tensors: dict, unbiased: bool = False) -> dict:
    """The names the kind's formulas use, from the layer's tensors (detached): inp, out, out.g,
    targ, its parameters, N, and the kind's own quantities (batch norm's xhat, with the variance
    divided by n, or by n−1 when `unbiased`; the one-hot)."""
    import torch

    env = {("out.g" if key == "out_g" else key): value.detach() for key, value in tensors.items()
           if isinstance(value, torch.Tensor)}
    inp = env.get("inp")
    if inp is None or inp.dim() == 0:
        return env
    n = inp.shape[0]
    env["N"] = n
    if kind == "batchnorm" and inp.dim() == 2 and n > 1:
        env["var"] = inp.var(0, unbiased=unbiased)
        env["std"] = (env["var"] + BATCHNORM_EPS).sqrt()
        env["xhat"] = (inp - inp.mean(0)) / env["std"]
        if "out.g" in env and "gamma" in env:
            env["dxhat"] = env["out.g"] * env["gamma"]
    if kind == "cross_entropy" and inp.dim() == 2 and "targ" in env:
        env["one_hot"] = torch.zeros_like(inp).scatter_(1, env["targ"].long().unsqueeze(1), 1.0)
    return env
