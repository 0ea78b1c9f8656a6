"""Every layer kind in one place: one entry per kind, read by steps, model, reference, session,
hints, the app and the CLI (as PyTorch's OpInfo is one entry per operator).

An entry holds what a kind is: the reference class of `gradtui.layers` (and the name a layer
file defines), its parameters and their roles, their initial values, whether it is the loss
(called with the targets too), the formula text the app shows, and its gradients as formulas
(`formula.Expr`) that the hints vary one slip at a time: the terms the hints are derived from.
Adding a kind is one entry here, its reference class, and its tests.

No torch at import: the app names its steps from this file before torch has loaded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

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

BATCHNORM_EPS = 1e-5
N = Name("N", off="off by the batch size")
OUT_G = Name("out.g", "the gradient from above, the chain rule's factor")


@dataclass(frozen=True)
class Family:
    """The gradients of one forward a kind may have: `env` options say how its named quantities are
    computed (batch norm's variance divided by n, or by n−1), `says` how the hint names it."""

    grads: dict[str, Formula]  # role -> the formula of its gradient: inp, w, b, gamma, beta
    says: str = ""  # "" for the reference layer's own forward
    env: tuple[tuple[str, object], ...] = ()  # options of formula_env


Init = Callable[[int, int, bool, object], tuple]  # (fan_in, fan_out, notes, draw) -> the parameters


@dataclass(frozen=True)
class Kind:
    name: str  # lin: the word of --net, and the layers' names (lin1, lin2)
    title: str  # as a person writes the layer: Lin, ReLU, BatchNorm
    reference: str | None  # the class in gradtui.layers, and the name a layer file defines (None: any layer)
    forward_text: str  # the formula the app shows, with {inp} {out} {w} {b} for the step's names
    families: tuple[Family, ...]  # the gradients' formulas, the reference layer's forward first
    params: tuple[str, ...] = ()  # the parameters' roles, in the constructor's order (numbered: w1 b1)
    bias: tuple[str, ...] = ()  # roles whose gradient is out.g summed over the batch
    loss: bool = False  # called as loss(inp, targ), and last
    init: Init | None = field(default=None, repr=False)  # the parameters' first values, as the notes'
    changes_width: bool = False  # its output width is the next --hidden width (lin)
    qualified: bool = False  # parameters named <layer>.<attribute> (lin1 has w1; layernorm1 has layernorm1.weight)
    said_backward: str = ""  # what the app shows of a backward that has no formulas (a layer of the user's own class)

    def formula(self, role: str) -> Formula | None:
        return self.families[0].grads.get(role)

    @property
    def backward_text(self) -> str:
        """The backward the app shows, written from the kind's own formulas (the ones the hints vary),
        with {inp} {out} {w} {b} for the step's names."""
        grads = self.families[0].grads
        if not grads:
            return self.said_backward
        return "    ".join(f"{{{_PLACES.get(role, role)}}}.g = {_shown(formula.expr.code())}"
                           for role, formula in grads.items())

    @property
    def class_key(self) -> str:
        """How a network's classes are looked up: the reference class's name, or any layer's own."""
        return self.reference or self.title

    def args(self, inp, targ) -> tuple:
        """What the layer is called with: the loss takes the targets too."""
        return (inp, targ) if self.loss else (inp,)


def _lin_init(fan_in: int, fan_out: int, notes: bool, draw) -> tuple:
    """The notes' w = randn(n_in, n_out) / sqrt(n_in), b = 0 (--init random: small random biases)."""
    w = draw.randn(fan_in, fan_out) / math.sqrt(fan_in)
    return w, draw.zeros(fan_out) if notes else 0.1 * draw.randn(fan_out)


def _batchnorm_init(fan_in: int, fan_out: int, notes: bool, draw) -> tuple:
    """Gain 1 and shift 0 (--init random: around them)."""
    gain = draw.ones(fan_out) if notes else 1 + 0.1 * draw.randn(fan_out)
    return gain, draw.zeros(fan_out) if notes else 0.1 * draw.randn(fan_out)


def _bias(target: str) -> Formula:
    return Formula(target, Reduce(OUT_G, 0), Swaps({"out.g": ("out",)}))


_OUT = Name("out")
_RELU_CONFUSIONS = ((_OUT, "with the ReLU's output `out` where its derivative, the mask `(inp > 0)`, belongs"),)
_TANH_CONFUSIONS = (  # what a person writes for tanh's 1 - out**2
    (Prod((_OUT, Sum((Term(1, Num(1)), Term(-1, _OUT))))),
     "with sigmoid's derivative `out * (1 - out)` where tanh's `1 - out**2` belongs"),
    (Pow(Sum((Term(1, Num(1)), Term(-1, _OUT)))), "with the power 2 on `(1 - out)`, where it belongs on `out` alone"),
    (Pow(Sum((Term(1, Num(1)), Term(-1, Pow(_OUT)))), 0.5),
     "with `1 / cosh(inp)` where `1 / cosh(inp)**2 = 1 - out**2` belongs (the square left out)"),
)
_XHAT, _DXHAT = Name("xhat"), Name("dxhat")
_BESSEL = Said(Prod((N,), (Sum((Term(1, N), Term(-1, Num(1)))),)), "Bessel's correction")


_STEP_BY_STEP = (
    (N, "N (a division by N left out: off by the batch size)"),
    (Num(-2), "-2 (in steps, the -0.5 of d(var + eps)**-0.5 left out)"),
    (Name("std"), "`std` (a power of `var + eps` off by a half: `**-0.5` where `**-1` belongs, say)"),
    (Pow(Name("std")), "`std**2` (in steps, `(var + eps)**-0.5` where `(var + eps)**-1.5` belongs)"),
    (Prod((Num(1),), (Name("std"),)), "`1 / std` (in steps, a division by `var + eps` where `std` belongs)"),
)
_INP = Name("inp")
_NOT_NORMALISED = (Prod((_INP,), (Name("std"),)), Sum((Term(1, _INP), Term(-1, Reduce(_INP, 0, op="mean")))))
_GAMMA = Name("gamma")
# dxhat = out.g * gamma with its operator mistyped (in steps, the line of dbnraw or dx_norm): every
# term of the input gradient carries it
_DXHAT_MISTYPED = (Sum((Term(1, OUT_G), Term(1, _GAMMA))), Sum((Term(1, OUT_G), Term(-1, _GAMMA))),
                   Sum((Term(1, _GAMMA), Term(-1, OUT_G))), Prod((OUT_G,), (_GAMMA,)), Prod((_GAMMA,), (OUT_G,)))


def _batchnorm(bessel: bool) -> dict[str, Formula]:
    """Batch norm's gradients, for a forward whose variance divides by n (the reference's) or by n−1."""
    variance = Prod(((_BESSEL,) if bessel else ()) + (_XHAT, Reduce(Prod((_DXHAT, _XHAT)), 0)))
    # A term carrying a factor of its own: what a slip in one line of the gradient written step by
    # step (dxhat, dvar, dmean, then dx) leaves in the formula.
    scalings = (() if bessel else ((_BESSEL, "n/(n−1) (Bessel's correction, for a forward that divides the variance "
                                             "by n−1)"),)) + _STEP_BY_STEP
    defs = (("dxhat", "out.g * gamma"), ("xhat", "(inp - inp.mean(0)) / std"),
            ("std", f"(inp.var(0, unbiased={bessel}) + eps).sqrt()"), ("var", f"inp.var(0, unbiased={bessel})"))
    return {
        "inp": Formula(
            "inp.g",
            Prod((Sum((Term(1, Prod((N, _DXHAT))), Term(-1, Reduce(_DXHAT, 0), "the mean term"),
                       Term(-1, variance, "the variance term")), scalings),), (N, Name("std"))),
            Swaps({"xhat": ("inp", *_NOT_NORMALISED), "dxhat": ("out.g", Prod((Name("out"), _GAMMA)), _GAMMA,
                                                               *_DXHAT_MISTYPED),
                   "std": ("var",), "out.g": ("out",)}),
            defs),
        "gamma": Formula("gamma.g", Reduce(Prod((OUT_G, _XHAT)), 0),
                         Swaps({"xhat": ("inp", "out", *_NOT_NORMALISED), "out.g": ("out",)}), defs),
        "beta": _bias("beta.g"),
    }


def _single(grads: dict[str, Formula]) -> tuple[Family, ...]:
    return (Family(grads),)


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("lin", "Lin", "Lin", "{out} = {inp} @ {w} + {b}", _single({
             "inp": Formula("inp.g", MatMul(OUT_G, T(Name("w"))), Swaps({"out.g": ("out",)})),
             "w": Formula("w.g", MatMul(T(Name("inp")), OUT_G), Swaps({"out.g": ("out",), "inp": ("out",)})),
             "b": _bias("b.g"),
         }),
         params=("w", "b"), bias=("b",), init=_lin_init, changes_width=True),
    Kind("relu", "ReLU", "Relu", "{out} = max({inp}, 0)", _single({
        "inp": Formula("inp.g", Prod((Mask(Name("inp"), confusions=_RELU_CONFUSIONS), OUT_G)),
                       Swaps({"inp": ("out", "out.g"), "out.g": ("out",)})),
    })),
    Kind("tanh", "Tanh", "Tanh", "{out} = tanh({inp})", _single({
        "inp": Formula("inp.g", Prod((Sum((Term(1, Num(1)), Term(-1, Pow(_OUT))), confusions=_TANH_CONFUSIONS), OUT_G)),
                       Swaps({"out": ("inp", Method(_OUT, "tanh", elementwise=True)), "out.g": ("out",)})),
    })),
    Kind("batchnorm", "BatchNorm", "BatchNorm", "{out} = {w} · ({inp} − mean) / √(var + ε) + {b}", (
          Family(_batchnorm(bessel=False)),
          Family(_batchnorm(bessel=True), " (for your forward, whose variance divides by n−1: Bessel's correction)",
                 (("unbiased", True),))),
         params=("gamma", "beta"), bias=("beta",), init=_batchnorm_init),
    Kind("mse", "MSE", "Mse", "loss = mean(({inp} − y)²)", _single({
        "inp": Formula("inp.g", Prod((Num(2, "off by 2"), Method(Sum((Term(1, Method(Name("inp"), "squeeze", -1)),
                                                                     Term(-1, Name("targ")))), "unsqueeze", -1)), (N,))),
    }), loss=True),
    Kind("cross_entropy", "CrossEntropy", "CrossEntropy", "loss = mean(logsumexp({inp}) − {inp}[y])", _single({
             "inp": Formula("inp.g", Prod((Sum((Term(1, Softmax(Name("inp"))), Term(-1, Name("one_hot")))),), (N,)),
                            Swaps({"one_hot": (Num(1),)}),
                            defs=(("one_hot", "torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0)"),)),
         }), loss=True),
)}
LAYERS = tuple(name for name, kind in KINDS.items() if not kind.loss)  # the kinds --net knows
LOSSES = tuple(name for name, kind in KINDS.items() if kind.loss)


def any_layer(cls: type, params: tuple[str, ...], loss: bool = False) -> Kind:
    """The kind of a layer class gradtui has no entry for (a LayerNorm, a GELU written by hand, an
    L1 loss), entered in KINDS under its lower-case name: stepped like the others, its forward
    compared with nothing, its backward judged against autograd through its forward; no formulas,
    so its hints are the hand-written patterns'. A loss is called with the targets too."""
    name = cls.__name__.lower()
    kind = KINDS.get(name)
    if (kind is None or kind.reference is not None or kind.params != params or kind.loss != loss
            or kind.title != cls.__name__):  # GELU and Gelu, met in one process, are each said as written
        kind = Kind(name, cls.__name__, None, "{out} = " + cls.__name__ + ("({inp}, targ)" if loss else "({inp})"),
                    (Family({}),), params=params, loss=loss, qualified=True,
                    said_backward="{inp}.g (and its parameters' .g) as its backward sets them")
        KINDS[name] = kind
    return kind


def remember(kind: Kind) -> None:
    """A kind made in another process (the session's, for the app): its steps are named by it here too."""
    KINDS.setdefault(kind.name, kind)


_PLACES = {"gamma": "w", "beta": "b"}  # the step panel's placeholders for a kind's parameters: {w} {b}
_SHOWN = ((r"\binp\b", "{inp}"), (r"\bout\b", "{out}"), (r"\bw\b", "{w}"), (r"\bb\b", "{b}"), (r"\bgamma\b", "{w}"),
          (r"\.t\(\)", "ᵀ"), (r"\*\*2\b", "²"), (r"\bdxhat\b", "dx̂"), (r"\bxhat\b", "x̂"), (r" \* ", "·"), (r" - ", " − "))


def _shown(code: str) -> str:
    """A formula's code as the step panel shows it: the step's names, ᵀ, ², x̂, · and −."""
    for pattern, replacement in _SHOWN:
        code = re.sub(pattern, replacement, code)
    return code


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
