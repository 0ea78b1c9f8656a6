"""Every operation's derivative, written once (as PyTorch's tools/autograd/derivatives.yaml), and
the slips a person makes writing it by hand.

An entry of TABLE is an aten operator's vector-Jacobian product: given the operands' values, the
operation's own result and `g`, the gradient of its result, the gradients of its tensor operands.
`Slip`s are the same product written wrong the way people write it wrong (log's derivative
multiplied where it divides, tanh's from the input where the output belongs, a mean's 1/n left
out, a variance's n−1 written n), each with its words. The slips every operation shares (its
derivative left out, scaled, sign-flipped, transposed, the gradient from above not multiplied
in, a path dropped) are the search's (gradtui.derived), not written here.

gradtui.derived runs the chain rule over a recorded forward (gradtui.graph) with this table.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

aten = torch.ops.aten


@dataclass
class Ctx:
    """What an entry sees of one operation: its operands (values), its results, the gradient `g` of
    its first result, and its position (for the words)."""

    args: tuple
    kwargs: dict
    outs: list
    g: torch.Tensor
    op: object = None  # the aten operator (for an operation the table has no entry for, autograd's own product)

    @property
    def out(self) -> torch.Tensor:
        return self.outs[0]

    def arg(self, i: int, default=None):
        return self.args[i] if len(self.args) > i else default


Vjp = Callable[[Ctx], tuple]  # one gradient per positional operand (None: not a tensor, or no gradient)


@dataclass(frozen=True)
class Slip:
    words: str | Callable[[Ctx], str]  # "multiplies by the input where log's derivative divides by it"
    vjp: Vjp
    # For a slip whose numbers are not one value (which of two writes to a row is kept): does the
    # user's gradient of the first operand fit it? (ctx, the user's gradient, the verdict's (rtol, atol))
    fits: Callable[[Ctx, torch.Tensor, tuple], bool] | None = None
    # A whole term left out (a layer norm's mean term): where the operation was written out by hand,
    # the path through the user's own tensor (`mu`) says it, and this slip is not tried
    drops_a_path: bool = False
    # The whole without a factor the forward written out by hand holds as a tensor of its own (a layer
    # norm's rstd): there the factor story says it in the code's names, and this slip is not tried
    drops_a_factor: bool = False

    def said(self, ctx: Ctx) -> str:
        return self.words(ctx) if callable(self.words) else self.words


@dataclass(frozen=True)
class Rule:
    vjp: Vjp
    slips: tuple[Slip, ...] = ()
    code: Callable[[Ctx], str] | str = ""  # the operation as written: "**2", ".mean(0)", "@"
    # a function of one operand: its derivative as code, `{out}` its value, `{left}` its operand (a function of
    # the operation's arguments and keywords where they change it: softplus's beta, GELU's approximation); or the
    # forms people write it in, the table's own first (sigmoid's `{out} * (1 - {out})`, then from its input)
    derivative: Callable[..., str | tuple[str, ...]] | str | tuple[str, ...] = ""

    def said(self, ctx: Ctx) -> str:
        return self.code(ctx) if callable(self.code) else self.code

    def forms(self, args: tuple, kwargs: dict | None = None) -> tuple[str, ...]:
        """Its derivative as code, in each form it is written in, for an operation run with these
        arguments (none where none is written)."""
        written = self.derivative(args, **(kwargs or {})) if callable(self.derivative) else self.derivative
        return tuple(form for form in ((written,) if isinstance(written, str) else written) if form)

    def written(self, args: tuple, kwargs: dict | None = None) -> str:
        """Its derivative as code, in the table's own form ("" where none is written)."""
        return next(iter(self.forms(args, kwargs)), "")


def unbroadcast(grad: torch.Tensor | None, like) -> torch.Tensor | None:
    """A gradient summed back to the shape of an operand that was broadcast (None: not a tensor)."""
    if grad is None or not isinstance(like, torch.Tensor):
        return None
    shape = like.shape
    while grad.dim() > len(shape):
        grad = grad.sum(0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis, keepdim=True)
    return grad


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _dims(ctx: Ctx, position: int = 1):
    dims = ctx.arg(position)
    if dims is None:
        return list(range(ctx.args[0].dim()))
    return [d % max(ctx.args[0].dim(), 1) for d in ([dims] if isinstance(dims, int) else dims)]


def _kept(g: torch.Tensor, x: torch.Tensor, dims, keepdim: bool) -> torch.Tensor:
    """A reduction's gradient put back where its axes were, ready to broadcast over x (one of x's own shape
    already, where a slip never summed it, as it is)."""
    if not keepdim and g.shape != x.shape:
        for d in sorted(dims):
            g = g.unsqueeze(d)
    return g.expand_as(x)


def _count(x: torch.Tensor, dims) -> int:
    return math.prod(x.shape[d] for d in dims) if dims else x.numel()


# -- elementwise, one operand ---------------------------------------------------------------

def _unary(derivative: Callable[[Ctx], torch.Tensor], code: str, *slips: tuple[str, Callable[[Ctx], torch.Tensor]],
           written: Callable[..., str | tuple[str, ...]] | str | tuple[str, ...] = ""):
    """An elementwise function of one operand: g times its derivative (`written` as code); each slip a
    wrong derivative."""
    return Rule(lambda c: (c.g * derivative(c),), tuple(Slip(words, (lambda c, d=d: (c.g * d(c),))) for words, d in slips),
                code, written)


# The slips of a function of one operand say its formula as code, `{out}` its own value and `{inp}` its
# operand, named as the user's code names them where it does (derived.words): "`1 - t` where `1 - t**2`
# belongs" for `t = torch.tanh(u)`.

def _tanh_slips():
    right = "where `1 - {out}**2` belongs"
    return ((f"is taken from its input: `1 - {{inp}}**2` {right}", lambda c: 1 - c.args[0] ** 2),
            (f"is sigmoid's, `{{out}} * (1 - {{out}})`, {right}", lambda c: c.out * (1 - c.out)),
            (f"is missing its square: `1 - {{out}}` {right}", lambda c: 1 - c.out),
            (f"has the sign of its {{out}}**2 flipped: `1 + {{out}}**2` {right}", lambda c: 1 + c.out ** 2),
            (f"is missing its 1: `-{{out}}**2` {right}", lambda c: -c.out ** 2),
            (f"applies tanh once more: `1 - torch.tanh({{out}})**2` {right}", lambda c: 1 - torch.tanh(c.out) ** 2),
            (f"squares twice: `1 - {{out}}**4` {right}", lambda c: 1 - c.out ** 4))


def _sigmoid_slips():
    right = "where `{out} * (1 - {out})` belongs"
    return ((f"is taken from its input: `{{inp}} * (1 - {{inp}})` {right}", lambda c: c.args[0] * (1 - c.args[0])),
            (f"is missing its factor {{out}}: `1 - {{out}}` {right}", lambda c: 1 - c.out),
            (f"is missing its factor (1 - {{out}}): `{{out}}` {right}", lambda c: c.out),
            (f"is tanh's, `1 - {{out}}**2`, {right}", lambda c: 1 - c.out ** 2),
            (f"has the sign in (1 - {{out}}) flipped: `{{out}} * (1 + {{out}})` {right}", lambda c: c.out * (1 + c.out)),
            (f"is missing the 1 of (1 - {{out}}): `-{{out}}**2` {right}", lambda c: -c.out ** 2))


def _pow(c: Ctx) -> float:
    return c.args[1]


def _x_to(power: float) -> str:
    return "{inp}" if power == 1 else f"{{inp}}**{_number(power)}"


def _pow_rule() -> Rule:
    def power(c: Ctx):
        p = _pow(c)
        return (c.g * p * c.args[0] ** (p - 1),)

    def right(c: Ctx) -> str:
        return f"where `{_number(_pow(c))} * {_x_to(_pow(c) - 1)}` belongs"

    def unless_constant(slip: Slip) -> Slip:  # x ** 0 (a polynomial's first term, in a loop): no slip to make
        return replace(slip, vjp=lambda c: slip.vjp(c) if _pow(c) != 0 else (None,))

    return Rule(power, tuple(map(unless_constant, (
        Slip(lambda c: f"is missing its {_number(_pow(c))}: `{_x_to(_pow(c) - 1)}` {right(c)}",  # d x**2 = 2 * x: the 2 left out
             lambda c: (c.g * c.args[0] ** (_pow(c) - 1),)),
        Slip(lambda c: f"keeps the power {_number(_pow(c))}: `{_number(_pow(c))} * {_x_to(_pow(c))}` {right(c)}",
             lambda c: (c.g * _pow(c) * c.args[0] ** _pow(c),)),
        Slip(lambda c: f"raises the power where it lowers it: `{_number(_pow(c))} * {_x_to(_pow(c) + 1)}` {right(c)}",
             lambda c: (c.g * _pow(c) * c.args[0] ** (_pow(c) + 1),)),
        Slip(lambda c: f"lowers the power twice: `{_number(_pow(c))} * {_x_to(_pow(c) - 2)}` {right(c)}",
             lambda c: (c.g * _pow(c) * c.args[0] ** (_pow(c) - 2),) if _pow(c) not in (1, 2) else (None,)),
        Slip(lambda c: f"is missing its {_x_to(_pow(c) - 1)}: `{_number(_pow(c))}` {right(c)}",
             lambda c: (c.g * _pow(c),) if _pow(c) != 1 else (None,)),
        Slip(lambda c: f"is missing the power of its {_x_to(_pow(c) - 1)}: `{_number(_pow(c))} * {{inp}}` {right(c)}",
             lambda c: (c.g * _pow(c) * c.args[0],) if _pow(c) not in (1, 2, 3) else (None,)),  # (3: lowered twice)
        Slip(lambda c: f"is taken from the result: `{_number(_pow(c))} * {{out}}` {right(c)}",
             lambda c: (c.g * _pow(c) * c.out,)),
        Slip(lambda c: f"has the power {_number(1 - _pow(c))}, its minus sign dropped: `{_number(_pow(c))} * "
                       f"{_x_to(1 - _pow(c))}` {right(c)}",  # `x ** 1.5` where `x ** -1.5` belongs
             lambda c: (c.g * _pow(c) * c.args[0] ** (1 - _pow(c)),) if _pow(c) < 1 else (None,)),
        Slip(lambda c: f"is missing its minus sign: `{_number(-_pow(c))} * {_x_to(_pow(c) - 1)}` {right(c)}"
             if _pow(c) < 0 else "is sign-flipped",
             lambda c: (-c.g * _pow(c) * c.args[0] ** (_pow(c) - 1),)),
    ))), lambda c: f"**{_number(_pow(c))}")


def _sqrt_rule() -> Rule:
    return Rule(lambda c: (c.g / (2 * c.out),), (
        Slip("is missing its 1/2: 1 / sqrt(x) where 1 / (2 * sqrt(x)) belongs", lambda c: (c.g / c.out,)),
        Slip("divides by the input where sqrt's own value belongs: 1 / (2 * x)", lambda c: (c.g / (2 * c.args[0]),)),
        Slip("multiplies where it divides: sqrt(x) / 2 where 1 / (2 * sqrt(x)) belongs", lambda c: (c.g * c.out / 2,)),
        Slip("is missing the division by `{out}`: 1/2 where 1 / (2 * sqrt(x)) belongs", lambda c: (c.g / 2,)),
    ), "sqrt", "1 / (2 * {out})")


def _rsqrt_rule() -> Rule:
    return Rule(lambda c: (-0.5 * c.g * c.out ** 3,), (
        Slip("is missing its -1/2: out**3 where -0.5 * out**3 belongs", lambda c: (c.g * c.out ** 3,)),
        Slip("is missing its minus: 0.5 * out**3", lambda c: (0.5 * c.g * c.out ** 3,)),
        Slip("has the power -0.5 where -1.5 belongs: -0.5 * x**-0.5", lambda c: (-0.5 * c.g * c.out,)),
        Slip("has the power -1 where -1.5 belongs: -0.5 * x**-1", lambda c: (-0.5 * c.g * c.out ** 2,)),
    ), "rsqrt", "-0.5 * {out} ** 3")


def _log_rule() -> Rule:
    return Rule(lambda c: (c.g / c.args[0],), (
        Slip("multiplies by `{left}` where the derivative of log divides by it", lambda c: (c.g * c.args[0],)),
        Slip("divides by log's own value where it divides by the input", lambda c: (c.g / c.out,)),
        Slip("divides by `{left}` squared where the derivative of log divides by it once", lambda c: (c.g / c.args[0] ** 2,)),
    ), "log", "1 / {inp}")


def _exp_rule() -> Rule:
    return Rule(lambda c: (c.g * c.out,), (
        Slip("multiplies by the input where exp's own value belongs", lambda c: (c.g * c.args[0],)),
        Slip("divides by exp's value where it multiplies", lambda c: (c.g / c.out,)),
    ), "exp", "{out}")


def _reciprocal_rule() -> Rule:
    return Rule(lambda c: (-c.g * c.out ** 2,), (
        Slip("is missing its square: `-{out}` where `-{out} ** 2` belongs", lambda c: (-c.g * c.out,)),
    ), "1 /", "-{out} ** 2")


def _where_positive(c: Ctx, x: torch.Tensor, slope: float = 0.0) -> torch.Tensor:
    return torch.where(x > 0, c.g, slope * c.g)


def _relu_rule() -> Rule:
    return Rule(lambda c: (_where_positive(c, c.args[0]),), (
        Slip("takes its mask from the gradient from above (out.g > 0) where the input's (inp > 0) belongs",
             lambda c: (_where_positive(c, c.g),)),
        Slip("has its mask inverted (inp < 0)", lambda c: (torch.where(c.args[0] < 0, c.g, 0.0 * c.g),)),
        Slip("passes the output where the mask belongs: out * out.g", lambda c: (c.out * c.g,)),
    ), "relu", "({left} > 0)")


def _leaky_rule() -> Rule:
    def slope(c: Ctx) -> float:
        return c.arg(1, 0.01)

    return Rule(lambda c: (_where_positive(c, c.args[0], slope(c)),), (
        Slip("is missing its slope where the input is negative (0 there)", lambda c: (_where_positive(c, c.args[0]),)),
        Slip("has its mask inverted", lambda c: (torch.where(c.args[0] < 0, c.g, slope(c) * c.g),)),
    ), "leaky_relu", lambda args, **_: f"torch.where({{left}} > 0, 1.0, {_number(args[1] if len(args) > 1 else 0.01)})")


def _clamp_rule(low: int | None, high: int | None, defaults: tuple = (None, None)) -> Rule:
    """clamp(x, min, max) and its kin: g where x is inside, 0 where it was clamped. `low` and `high`
    are the bounds' positions among the operands (None: the operation has no such bound)."""
    def bounds(c: Ctx) -> tuple:
        return (c.arg(low, defaults[0]) if low is not None else None,
                c.arg(high, defaults[1]) if high is not None else None)

    def inside(c: Ctx, lower: str = ">=", upper: str = "<=") -> torch.Tensor:
        """Where the gradient passes: each bound's comparison as written (a slip's: turned, or "" left out)."""
        x, keep = c.args[0], torch.ones_like(c.args[0], dtype=torch.bool)
        for bound, comparison in zip(bounds(c), (lower, upper)):
            if bound is not None and comparison:
                keep &= {">=": x.__ge__, "<=": x.__le__, "<": x.__lt__, ">": x.__gt__}[comparison](bound)
        return keep

    def both(c: Ctx, **comparisons):
        if None in bounds(c) or not all(isinstance(b, (int, float)) for b in bounds(c)):
            return (None,)
        return (torch.where(inside(c, **comparisons), c.g, 0.0 * c.g),)

    def said(words: str):
        return lambda c: words.format(low=_number(bounds(c)[0]), high=_number(bounds(c)[1]))

    written = _clamp_written(low, high, defaults)

    return Rule(lambda c: (torch.where(inside(c), c.g, 0.0 * c.g),), (
        Slip("has its mask inverted", lambda c: (torch.where(inside(c), 0.0 * c.g, c.g),)),
        Slip(said("has its comparison with {low} turned: `< {low}` where `> {low}` belongs"),
             lambda c: both(c, lower="<")),
        Slip(said("has its comparison with {high} turned: `> {high}` where `< {high}` belongs"),
             lambda c: both(c, upper=">")),
        Slip(said("is missing its lower bound: the gradient passes below {low} too, where `> {low}` belongs"),
             lambda c: both(c, lower="")),
        Slip(said("is missing its upper bound: the gradient passes above {high} too, where `< {high}` belongs"),
             lambda c: both(c, upper="")),
    ), "clamp", written)


def _clamp_written(low: int | None, high: int | None, defaults: tuple) -> Callable[[tuple], str]:
    """A clamp's derivative as code: the mask of where x is inside its bounds (strictly, as a ReLU's `x > 0`
    is written: at a bound itself either side is a subgradient)."""
    def written(args: tuple, **_) -> str:
        found = [(f"{{left}} {comparison} {_number(bound)}") for position, default, comparison in (
            (low, defaults[0], ">"), (high, defaults[1], "<")) if position is not None
            for bound in [args[position] if len(args) > position else default] if bound is not None]
        if not found or not all(isinstance(b, (int, float)) for b in (
                args[p] if p is not None and len(args) > p else d for p, d in ((low, defaults[0]), (high, defaults[1])))
                if b is not None):
            return ""
        return f"({found[0]})" if len(found) == 1 else f"(({found[0]}) & ({found[1]}))"
    return written


def _erf_rule() -> Rule:
    two_over_root_pi = 2 / math.sqrt(math.pi)
    return Rule(lambda c: (c.g * two_over_root_pi * torch.exp(-c.args[0] ** 2),), (
        Slip("is missing its 2/√π", lambda c: (c.g * torch.exp(-c.args[0] ** 2),)),
        Slip("has exp(x**2) where exp(-x**2) belongs", lambda c: (c.g * two_over_root_pi * torch.exp(c.args[0] ** 2),)),
    ), "erf", f"{two_over_root_pi!r} * torch.exp(-{{inp}} ** 2)")


def _gelu_parts(c: Ctx) -> tuple[torch.Tensor, torch.Tensor]:
    """GELU's derivative as its two terms: Φ(x), and x times Φ's own derivative."""
    x = c.args[0]
    if c.kwargs.get("approximate", c.arg(1, "none")) == "tanh":
        k = math.sqrt(2 / math.pi)
        t = torch.tanh(k * (x + 0.044715 * x ** 3))
        return 0.5 * (1 + t), 0.5 * x * (1 - t ** 2) * k * (1 + 3 * 0.044715 * x ** 2)
    return 0.5 * (1 + torch.erf(x / math.sqrt(2))), x * torch.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)


GELU_TANH = "torch.tanh(math.sqrt(2 / math.pi) * ({inp} + 0.044715 * {inp}**3))"


def _gelu_written(args: tuple, approximate: str = "none") -> str:
    if (args[1] if len(args) > 1 else approximate) == "tanh":
        return (f"0.5 * (1 + {GELU_TANH}) + 0.5 * {{inp}} * (1 - {GELU_TANH}**2) * math.sqrt(2 / math.pi) * "
                "(1 + 3 * 0.044715 * {inp}**2)")
    return "0.5 * (1 + torch.erf({left} / math.sqrt(2))) + {inp} * torch.exp(-{inp}**2 / 2) / math.sqrt(2 * math.pi)"


def _gelu_rule() -> Rule:
    # its slips are one edit of the derivative as written (gradtui.written_slips)
    return Rule(lambda c: (c.g * sum(_gelu_parts(c)),), (), "gelu", _gelu_written)


def _silu_rule() -> Rule:
    # a term left out is one edit of the derivative as written (gradtui.written_slips); sigmoid's is not
    return Rule(lambda c: (c.g * torch.sigmoid(c.args[0]) * (1 + c.args[0] * (1 - torch.sigmoid(c.args[0]))),), (
        Slip("is sigmoid's derivative, sigmoid(x) * (1 - sigmoid(x)), where silu's belongs",
             lambda c: (c.g * torch.sigmoid(c.args[0]) * (1 - torch.sigmoid(c.args[0])),)),
    ), "silu", "torch.sigmoid({left}) * (1 + {inp} * (1 - torch.sigmoid({left})))")


# -- elementwise, two operands (broadcast) ---------------------------------------------------------

def _alpha(c: Ctx) -> float:
    return c.kwargs.get("alpha", c.arg(2, 1))


def _binary(da: Callable[[Ctx], torch.Tensor | None], db: Callable[[Ctx], torch.Tensor | None]) -> Vjp:
    return lambda c: (unbroadcast(da(c), c.args[0]), unbroadcast(db(c), c.arg(1)))


def _other(c: Ctx, i: int):
    value = c.arg(i)
    return value if isinstance(value, torch.Tensor) else torch.as_tensor(value, dtype=c.g.dtype)


RULES: dict = {}


def _by_autograd(c: Ctx) -> tuple:
    """An operation the table has no entry for (a pooling, a group norm, `torch.cdist`, a loss of
    torch.nn.functional's): its own vector-Jacobian product, from autograd, on copies of its
    operands. The chain rule goes through it; no slip of its own derivative is searched."""
    wanted = [i for i, a in enumerate(c.args) if isinstance(a, torch.Tensor) and a.is_floating_point()]
    found = [None] * len(c.args)
    try:
        _autograd_grads(c, wanted, found)
    except RuntimeError:  # an operand autograd does not differentiate by (a loss's target): the others, one at a time
        if len(wanted) < 2:
            raise
        for i in wanted:
            with contextlib.suppress(RuntimeError):
                _autograd_grads(c, [i], found)
        if all(grad is None for grad in found):
            raise
    return tuple(found)


def _autograd_grads(c: Ctx, wanted: list[int], found: list) -> None:
    with torch.enable_grad():
        copies = [a.detach().clone().requires_grad_() if i in wanted else a for i, a in enumerate(c.args)]
        out = c.op(*copies, **c.kwargs)
        first = out[0] if isinstance(out, (tuple, list)) else out
        if wanted and first.requires_grad:
            grads = torch.autograd.grad(first, [copies[i] for i in wanted], c.g.to(first.dtype), allow_unused=True)
            for i, grad in zip(wanted, grads):
                found[i] = grad


BY_AUTOGRAD = Rule(_by_autograd)


def rule_of(op) -> Rule:
    """The table's entry for an operator; autograd's own product where it has none."""
    return RULES.get(op, BY_AUTOGRAD)


def rule(*ops):
    def enter(made: Rule) -> Rule:
        for op in ops:
            RULES[op] = made
        return made
    return enter


rule(aten.add.Tensor)(Rule(_binary(lambda c: c.g, lambda c: _alpha(c) * c.g), code="+"))
rule(aten.sub.Tensor)(Rule(_binary(lambda c: c.g, lambda c: -_alpha(c) * c.g), code="-"))
rule(aten.rsub.Scalar)(Rule(_binary(lambda c: -_alpha(c) * c.g, lambda c: c.g), code="-"))
rule(aten.mul.Tensor, aten.mul.Scalar)(Rule(_binary(lambda c: c.g * _other(c, 1), lambda c: c.g * c.args[0]), (
    Slip("multiplies the gradient by the wrong operand (each operand's gradient is the other one times out.g)",
         _binary(lambda c: c.g * c.args[0], lambda c: c.g * _other(c, 1))),
    Slip("is multiplied by `{right}` once more (every gradient through it has it twice)",
         _binary(lambda c: c.g * _other(c, 1) ** 2, lambda c: c.g * c.args[0] * _other(c, 1))),
    Slip("is multiplied by `{left}` once more (every gradient through it has it twice)",
         _binary(lambda c: c.g * _other(c, 1) * c.args[0], lambda c: c.g * c.args[0] ** 2)),
    Slip("is missing `{right}` in every gradient through it",
         _binary(lambda c: c.g, lambda c: c.g * c.args[0] / _other(c, 1))),
    Slip("is missing `{left}` in every gradient through it",
         _binary(lambda c: c.g * _other(c, 1) / c.args[0], lambda c: c.g)),
), "*"))
rule(aten.div.Tensor)(Rule(_binary(lambda c: c.g / _other(c, 1),
                                                    lambda c: -c.g * c.args[0] / _other(c, 1) ** 2), (
    Slip("multiplies by the divisor where it divides", _binary(lambda c: c.g * _other(c, 1),
                                                               lambda c: -c.g * c.args[0] / _other(c, 1) ** 2)),
    Slip("is missing the minus of the divisor's gradient, -a / b**2",
         _binary(lambda c: c.g / _other(c, 1), lambda c: c.g * c.args[0] / _other(c, 1) ** 2)),
    Slip("divides the divisor's gradient by b where b**2 belongs",
         _binary(lambda c: c.g / _other(c, 1), lambda c: -c.g * c.args[0] / _other(c, 1))),
    Slip("divides by `{right}` twice where once belongs",
         _binary(lambda c: c.g / _other(c, 1) ** 2, lambda c: -c.g * c.args[0] / _other(c, 1) ** 3)),
    Slip("towards `{right}` is missing the factor `{left}`: -g / b**2 where -g * a / b**2 belongs",
         _binary(lambda c: c.g / _other(c, 1), lambda c: -c.g / _other(c, 1) ** 2)),
    Slip("towards `{right}` is missing `-{left_factor}`: g / b**2 where -g * a / b**2 belongs",
         _binary(lambda c: c.g / _other(c, 1), lambda c: c.g / _other(c, 1) ** 2)),
    Slip("towards `{right}` is missing the division by `{right_factor} ** 2`: -g * a where -g * a / b**2 belongs",
         _binary(lambda c: c.g / _other(c, 1), lambda c: -c.g * c.args[0])),
), "/"))
rule(aten.hypot.default)(Rule(_binary(lambda c: c.g * c.args[0] / c.out, lambda c: c.g * c.args[1] / c.out), (
    Slip("towards `{left}` is missing its numerator `{left}`: `out.g / out` where `out.g * {left_factor} / out` belongs",
         _binary(lambda c: c.g / c.out, lambda c: c.g * c.args[1] / c.out)),
    Slip("towards `{right}` is missing its numerator `{right}`: `out.g / out` where `out.g * {right_factor} / out` belongs",
         _binary(lambda c: c.g * c.args[0] / c.out, lambda c: c.g / c.out)),
    Slip("towards `{left}` is missing its division by the result: `out.g * {left_factor}` where `out.g * {left_factor} / out` "
         "belongs",
         _binary(lambda c: c.g * c.args[0], lambda c: c.g * c.args[1] / c.out)),
    Slip("towards `{right}` is missing its division by the result: `out.g * {right_factor}` where `out.g * {right_factor} / out` "
         "belongs", _binary(lambda c: c.g * c.args[0] / c.out, lambda c: c.g * c.args[1])),
), code="hypot"))
def _towards_base(c: Ctx) -> torch.Tensor:
    return c.g * c.args[1] * c.args[0] ** (c.args[1] - 1)


def _towards_exponent(c: Ctx, factor: Callable[[Ctx], torch.Tensor] = lambda c: c.out * torch.log(c.args[0])) -> torch.Tensor:
    """0 ** e, e >= 0, has no log's term."""
    return c.g * torch.where((c.args[0] == 0) & (c.args[1] >= 0), 0.0, factor(c))


_BASE = "where `{right_factor} * {left_factor}**({right} - 1)` belongs"
_EXPONENT = "where `{left_factor}**{right_factor} * log({left})` belongs"
rule(aten.pow.Tensor_Tensor)(Rule(_binary(_towards_base, _towards_exponent), (  # base ** exponent, both tensors
    Slip(f"towards `{{left}}` is missing its factor `{{right}}`: `{{left_factor}}**({{right}} - 1)` {_BASE}",
         _binary(lambda c: c.g * c.args[0] ** (c.args[1] - 1), _towards_exponent)),
    Slip(f"towards `{{left}}` keeps the power: `{{right_factor}} * {{left_factor}}**{{right_factor}}` {_BASE}",
         _binary(lambda c: c.g * c.args[1] * c.out, _towards_exponent)),
    Slip(f"towards `{{left}}` is missing its power: `{{right_factor}} * {{left_factor}}` {_BASE}",
         _binary(lambda c: c.g * c.args[1] * c.args[0], _towards_exponent)),
    Slip(f"towards `{{left}}` is missing its `{{left_factor}}**({{right}} - 1)`: `{{right}}` {_BASE}",
         _binary(lambda c: c.g * c.args[1], _towards_exponent)),
    Slip(f"towards `{{right}}` is missing its log: `{{left_factor}}**{{right_factor}}` {_EXPONENT}",
         _binary(_towards_base, lambda c: _towards_exponent(c, lambda c: c.out))),
    Slip(f"towards `{{right}}` is missing its `{{left_factor}}**{{right_factor}}`: `log({{left}})` {_EXPONENT}",
         _binary(_towards_base, lambda c: _towards_exponent(c, lambda c: torch.log(c.args[0])))),
), code="**"))
def _chosen(c: Ctx, position: int) -> torch.Tensor:
    """Where maximum's (minimum's) result is that operand's value: 1, and ½ at a tie (as autograd splits it)."""
    return (c.out == c.args[position]).to(c.g.dtype) * torch.where(c.args[0] == c.args[1], 0.5, 1.0)


rule(aten.maximum.default, aten.minimum.default)(Rule(_binary(lambda c: c.g * _chosen(c, 0), lambda c: c.g * _chosen(c, 1)), (
    Slip("has its mask inverted: each operand takes the gradient where the other one is chosen",
         _binary(lambda c: c.g * _chosen(c, 1), lambda c: c.g * _chosen(c, 0))),
), code="maximum"))
rule(aten.where.self)(Rule(lambda c: (None, unbroadcast(torch.where(c.args[0], c.g, 0.0 * c.g), c.args[1]),
                                      unbroadcast(torch.where(c.args[0], 0.0 * c.g, c.g), c.args[2])), (
    Slip("sends the gradient to the wrong branch of where (the mask inverted)",
         lambda c: (None, unbroadcast(torch.where(c.args[0], 0.0 * c.g, c.g), c.args[1]),
                    unbroadcast(torch.where(c.args[0], c.g, 0.0 * c.g), c.args[2]))),
), "where"))
rule(aten.masked_fill.Scalar, aten.masked_fill.Tensor)(Rule(
    lambda c: (unbroadcast(c.g.masked_fill(c.args[1], 0), c.args[0]),), code="masked_fill"))

rule(aten.neg.default)(Rule(lambda c: (-c.g,), code="-"))
rule(aten.exp.default)(_exp_rule())
rule(aten.log.default)(_log_rule())
rule(aten.log1p.default)(_unary(
    lambda c: 1 / (1 + c.args[0]), "log1p",
    ("is log's, `1 / {inp}`, where `1 / (1 + {inp})` belongs", lambda c: 1 / c.args[0]),
    ("has the sign of its 1 flipped: `1 / (1 - {inp})` where `1 / (1 + {inp})` belongs", lambda c: 1 / (1 - c.args[0])),
    written="1 / (1 + {left})"))
rule(aten.sqrt.default)(_sqrt_rule())
rule(aten.rsqrt.default)(_rsqrt_rule())
rule(aten.reciprocal.default)(_reciprocal_rule())
rule(aten.pow.Tensor_Scalar)(_pow_rule())
rule(aten.tanh.default)(_unary(lambda c: 1 - c.out ** 2, "tanh", *_tanh_slips(), written="1 - {out}**2"))
rule(aten.sigmoid.default)(_unary(lambda c: c.out * (1 - c.out), "sigmoid", *_sigmoid_slips(), written=(
    "{out} * (1 - {out})", "torch.sigmoid({inp}) * (1 - torch.sigmoid({inp}))",
    "torch.exp(-{inp}) / (1 + torch.exp(-{inp}))**2")))
rule(aten.abs.default)(_unary(lambda c: torch.sign(c.args[0]), "abs",
                              ("multiplies by its input where its sign belongs", lambda c: c.args[0]),
                              written="torch.sign({left})"))
rule(aten.relu.default)(_relu_rule())
rule(aten.leaky_relu.default)(_leaky_rule())
rule(aten.clamp.default)(_clamp_rule(1, 2))
rule(aten.clamp_min.default)(_clamp_rule(1, None))
rule(aten.clamp_max.default)(_clamp_rule(None, 1))
rule(aten.hardtanh.default)(_clamp_rule(1, 2, (-1.0, 1.0)))
rule(aten.erf.default)(_erf_rule())
rule(aten.gelu.default)(_gelu_rule())
rule(aten.silu.default)(_silu_rule())
def _beta(c: Ctx) -> str:
    return _number(c.arg(1, 1))


rule(aten.softplus.default)(_unary(
    lambda c: torch.sigmoid(c.arg(1, 1) * c.args[0]), "softplus",
    (lambda c: f"is missing its beta: `torch.sigmoid({{inp}})` where `torch.sigmoid({_beta(c)} * {{inp}})` belongs",
     lambda c: torch.sigmoid(c.args[0])),
    (lambda c: f"has its beta doubled: `torch.sigmoid({_number(2 * c.arg(1, 1))} * {{inp}})` where "
               f"`torch.sigmoid({_beta(c)} * {{inp}})` belongs", lambda c: torch.sigmoid(2 * c.arg(1, 1) * c.args[0])),
    (lambda c: f"takes the sigmoid of its beta alone: `torch.sigmoid({_beta(c)})` where `torch.sigmoid({_beta(c)} * "
               "{inp})` belongs", lambda c: torch.sigmoid(torch.full_like(c.args[0], float(c.arg(1, 1))))),
    written=lambda args, **_: ("torch.sigmoid({left})", "torch.exp({inp}) / (1 + torch.exp({inp}))",
                               "1 / (1 + torch.exp(-{inp}))") if len(args) < 2 or args[1] == 1 else
    f"torch.sigmoid({_number(args[1])} * {{left}})"))


def _exact(value: float) -> str:
    """A number as code that is that number (SELU's 1.6732632423543772 whole, 0.5 as 0.5)."""
    return _number(value) if float(_number(value)) == value else repr(value)


def _elu(c: Ctx) -> torch.Tensor:
    """elu(x; alpha, scale, input_scale): scale above 0, input_scale * (out + scale * alpha) below."""
    alpha, scale, input_scale = c.arg(1, 1.0), c.arg(2, 1.0), c.arg(3, 1.0)
    return torch.where(c.args[0] > 0, scale, input_scale * (c.out + scale * alpha))


def _elu_written(args: tuple, **_) -> str:
    """ELU's derivative as a user writes it, `alpha * exp(x)` below 0; SELU's with its scale before."""
    alpha, scale, input_scale = (list(args[1:]) + [1, 1, 1][len(args) - 1:])[:3]
    if input_scale != 1:
        return ""
    where = f"torch.where({{left}} > 0, 1.0, {'' if alpha == 1 else f'{_exact(alpha)} * '}torch.exp({{left}}))"
    # (and from its own value, `out + alpha` below 0, as a backward that keeps the output writes it)
    return (where, f"torch.where({{left}} > 0, 1.0, {{out}} + {_exact(alpha)})") if scale == 1 else \
        f"{_exact(scale)} * {where}"


def _celu_written(args: tuple, **_) -> str:
    alpha = args[1] if len(args) > 1 else 1
    return f"torch.where({{left}} > 0, 1.0, torch.exp({{left}}{'' if alpha == 1 else f' / {_exact(alpha)}'}))"


rule(aten.elu.default)(_unary(_elu, "elu", written=_elu_written))
rule(aten.celu.default)(_unary(lambda c: torch.where(c.args[0] > 0, 1.0, torch.exp(c.args[0] / c.arg(1, 1.0))), "celu",
                               written=_celu_written))
rule(aten.sin.default)(_unary(lambda c: torch.cos(c.args[0]), "sin", written="torch.cos({left})"))
rule(aten.cos.default)(_unary(lambda c: -torch.sin(c.args[0]), "cos", written="-torch.sin({left})"))
rule(aten.tan.default)(_unary(lambda c: 1 + c.out ** 2, "tan", written="1 + {out}**2"))
rule(aten.sinh.default)(_unary(lambda c: torch.cosh(c.args[0]), "sinh", written="torch.cosh({left})"))
rule(aten.cosh.default)(_unary(
    lambda c: torch.sinh(c.args[0]), "cosh",
    ("has cos's minus: `-torch.sinh({left})` where `torch.sinh({left})` belongs", lambda c: -torch.sinh(c.args[0])),
    written="torch.sinh({left})"))
rule(aten.atan.default)(_unary(lambda c: 1 / (1 + c.args[0] ** 2), "atan", written="1 / (1 + {inp}**2)"))
rule(aten.asin.default)(_unary(lambda c: torch.rsqrt(1 - c.args[0] ** 2), "asin", written="torch.rsqrt(1 - {inp}**2)"))
rule(aten.acos.default)(_unary(lambda c: -torch.rsqrt(1 - c.args[0] ** 2), "acos", written="-torch.rsqrt(1 - {inp}**2)"))
def _sinc(c: Ctx) -> torch.Tensor:
    """d/dx sin(πx)/(πx) = (cos(πx)·πx − sin(πx)) / (πx²), 0 at x = 0 (where sinc is flat)."""
    px = math.pi * c.args[0]
    return torch.where(c.args[0] == 0, torch.zeros_like(px), (torch.cos(px) * px - torch.sin(px)) / (px * c.args[0]))


rule(aten.sinc.default)(_unary(_sinc, "sinc", written="(torch.cos(math.pi * {inp}) * math.pi * {inp} - torch.sin("
                                                      "math.pi * {inp})) / (math.pi * {inp}**2)"))
rule(aten.asinh.default)(_unary(lambda c: torch.rsqrt(c.args[0] ** 2 + 1), "asinh", written="1 / torch.sqrt({inp}**2 + 1)"))
rule(aten.acosh.default)(_unary(lambda c: torch.rsqrt(c.args[0] ** 2 - 1), "acosh", written="1 / torch.sqrt({inp}**2 - 1)"))
rule(aten.atanh.default)(_unary(lambda c: 1 / (1 - c.args[0] ** 2), "atanh", written="1 / (1 - {inp}**2)"))


def _lambd(args: tuple, default: float = 0.5) -> float:
    return args[1] if len(args) > 1 else default


rule(aten.softshrink.default, aten.hardshrink.default)(_unary(
    lambda c: (c.args[0].abs() > _lambd(c.args)).to(c.g.dtype), "shrink",
    written=lambda args, **_: f"(torch.abs({{left}}) > {_number(_lambd(args))})"))
rule(aten.threshold.default)(_unary(lambda c: (c.args[0] > c.args[1]).to(c.g.dtype), "threshold",
                                    written=lambda args, **_: f"({{left}} > {_number(args[1])})"))
rule(aten.expm1.default)(_unary(lambda c: c.out + 1, "expm1", written="{out} + 1"))
rule(aten.exp2.default)(_unary(lambda c: c.out * math.log(2), "exp2", written=f"{{out}} * {math.log(2)!r}"))
rule(aten.log2.default)(_unary(lambda c: 1 / (c.args[0] * math.log(2)), "log2", written=f"1 / ({{inp}} * {math.log(2)!r})"))
rule(aten.log10.default)(_unary(lambda c: 1 / (c.args[0] * math.log(10)), "log10",
                                written=f"1 / ({{inp}} * {math.log(10)!r})"))


# -- reductions ---------------------------------------------------------------------------

def _keepdim(c: Ctx, position: int = 2) -> bool:
    return bool(c.kwargs.get("keepdim", c.arg(position, False)))


def _sum(c: Ctx):
    dims = _dims(c) if c.arg(1) is not None else list(range(c.args[0].dim()))
    return (_kept(c.g, c.args[0], dims, _keepdim(c)),)


def _mean(c: Ctx, wrong_count: Callable[[Ctx, list], float] | None = None):
    dims = _dims(c) if c.arg(1) is not None else list(range(c.args[0].dim()))
    count = _count(c.args[0], dims) if wrong_count is None else wrong_count(c, dims)
    return (_kept(c.g, c.args[0], dims, _keepdim(c)) / count,)


def _axes(c: Ctx) -> str:
    dims = c.arg(1)
    return "" if dims is None else ", ".join(map(str, [dims] if isinstance(dims, int) else dims))


def _other_axis_count(c: Ctx, dims: list) -> float:
    others = [d for d in range(c.args[0].dim()) if d not in dims]
    return _count(c.args[0], others) if others else 1


rule(aten.sum.default, aten.sum.dim_IntList)(Rule(_sum, code=lambda c: f".sum({_axes(c)})"))
rule(aten.mean.default, aten.mean.dim)(Rule(_mean, (
    Slip(lambda c: "is missing its division by the number of values averaged (a sum's gradient where a mean's belongs)",
         lambda c: _mean(c, lambda c, dims: 1)),
    Slip("divides by the size of the other axis, where the averaged axis's belongs",
         lambda c: _mean(c, _other_axis_count)),
), lambda c: f".mean({_axes(c)})"))


def _correction(c: Ctx) -> float:
    correction = c.kwargs.get("correction")
    if correction is None and "unbiased" in c.kwargs:
        correction = 1 if c.kwargs["unbiased"] else 0
    return 1 if correction is None else correction


def _var_keepdim(c: Ctx) -> bool:
    return bool(c.kwargs.get("keepdim", False))


def _var(c: Ctx, **slip):
    """A variance's gradient; a slip's keyword the piece written wrong: its 2, its correction, its mean
    left out, sign-flipped, a sum, or over another `axis`."""
    x, dims = c.args[0], _dims(c)
    n = _count(x, dims)
    correction = slip.get("correction", _correction(c))
    over = dims if slip.get("axis") is None else [slip["axis"]]
    if not all(-x.dim() <= axis < x.dim() for axis in over) or (slip.get("axis") is not None and slip["axis"] % x.dim() in dims):
        return (None,)  # (no other axis there)
    centre = slip.get("centre", 1.0) * (x.sum(over, keepdim=True) if slip.get("summed") else x.mean(over, keepdim=True)) \
        if slip.get("centred", True) else 0
    centred = torch.ones_like(x) if slip.get("uncentred") else -centre if slip.get("mean_alone") else x - centre
    count = 1 if slip.get("undivided") else n - correction
    return (_kept(c.g, x, dims, _var_keepdim(c)) * slip.get("two", 2.0) * centred / count,)


def _centring_slips(gradient: Callable[..., tuple]) -> tuple[Slip, ...]:
    """What a variance's or a std's gradient gets wrong in the x − mean it makes again."""
    return (
        Slip(_bessel_words, lambda c: gradient(c, correction=0 if _correction(c) else 1)),
        Slip("is missing the mean: x where x - x.mean() belongs", lambda c: gradient(c, centred=False)),
        Slip("has the mean's sign flipped: x + x.mean() where x - x.mean() belongs", lambda c: gradient(c, centre=-1.0)),
        Slip("is missing x: -x.mean() alone where x - x.mean() belongs", lambda c: gradient(c, mean_alone=True)),
        Slip("is missing its factor x - x.mean(), the deviation from the mean", lambda c: gradient(c, uncentred=True)),
        Slip("centres by the sum: x - x.sum() where x - x.mean() belongs", lambda c: gradient(c, summed=True)),
        *(Slip(lambda c, axis=axis: f"centres by the mean over axis {axis}: x - x.mean({axis}) where "
                                    f"x - x.mean({_axes(c)}) belongs", lambda c, axis=axis: gradient(c, axis=axis))
          for axis in (0, -1)),
    )


def _bessel_words(c: Ctx) -> str:
    if _correction(c):
        return "divides by n where the forward's variance divides by n−1 (Bessel's correction, unbiased=True)"
    return "divides by n−1 (Bessel's correction) where the forward's variance divides by n (unbiased=False)"


rule(aten.var.correction)(Rule(_var, (
    Slip("is missing its 2", lambda c: _var(c, two=1.0)),
    *_centring_slips(_var),
    Slip(lambda c: f"is not divided by the count, {_count(c.args[0], _dims(c)) - _correction(c)}: 2 * (x - x.mean()) where "
                   f"2 * (x - x.mean()) / {_count(c.args[0], _dims(c)) - _correction(c)} belongs",
         lambda c: _var(c, undivided=True)),
), lambda c: f".var({_axes(c)})"))


def _std(c: Ctx, **slip):
    (grad,) = _var(c, **slip)
    return (None if grad is None else grad / (2 * _kept(c.out, c.args[0], _dims(c), _var_keepdim(c))),)


rule(aten.std.correction)(Rule(_std, (
    *_centring_slips(_std),
    Slip("is missing its division by `{out}`: (x - x.mean()) / (n - 1) where (x - x.mean()) / ((n - 1) * `{out}`) belongs",
         lambda c: (None,) if (grad := _var(c)[0]) is None else (grad / 2,)),
    Slip(lambda c: f"is not divided by the count, {_count(c.args[0], _dims(c)) - _correction(c)}: (x - x.mean()) / `{{out}}` "
                   f"where (x - x.mean()) / ({_count(c.args[0], _dims(c)) - _correction(c)} * `{{out}}`) belongs",
         lambda c: (None,) if (grad := _std(c)[0]) is None else (grad * (_count(c.args[0], _dims(c)) - _correction(c)),)),
), lambda c: f".std({_axes(c)})"))


def _to_winners(c: Ctx, winners: torch.Tensor, dims, keepdim: bool) -> torch.Tensor:
    """g sent to the places that hold the max, shared evenly among ties (as amax does)."""
    share = winners.to(c.g.dtype)
    share = share / share.sum(dims, keepdim=True)
    return _kept(c.g, c.args[0], dims, keepdim) * share


def _amax(c: Ctx):
    dims = _dims(c) if c.arg(1) not in (None, []) else list(range(c.args[0].dim()))
    keepdim = _keepdim(c)
    return (_to_winners(c, c.args[0] == _kept(c.out, c.args[0], dims, keepdim), dims, keepdim),)


def _max_dim(c: Ctx):
    dim, keepdim = c.args[1] % c.args[0].dim(), _keepdim(c)
    index = c.outs[1] if keepdim else c.outs[1].unsqueeze(dim)
    g = c.g if keepdim else c.g.unsqueeze(dim)
    # a mask times g, not a scatter of g: a gradient not summed back to the max's shape keeps its values
    return (torch.zeros_like(c.args[0]).scatter(dim, index, 1.0) * g,)


def _extreme_written(args: tuple, **kwargs) -> str:
    """The mask of the places that hold the max (ties aside), laid over the operand: what a backward that
    left it out multiplies in."""
    dims = args[1] if len(args) > 1 else kwargs.get("dim", ())
    dims = [dims] if isinstance(dims, int) else list(dims)
    if not dims or (args[2] if len(args) > 2 else kwargs.get("keepdim", False)):
        return "({inp} == {out})"
    return f"({{inp}} == {{out}}.unsqueeze({dims[0]}))" if len(dims) == 1 else ""


rule(aten.amax.default, aten.amin.default, aten.max.default, aten.min.default)(Rule(
    _amax, code="max", derivative=_extreme_written))
rule(aten.max.dim, aten.min.dim)(Rule(_max_dim, code=lambda c: f".max({c.args[1]})", derivative=_extreme_written))
def _logsumexp(c: Ctx, derivative: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> tuple:
    """g put back over the reduced axes, times a derivative of x and the result (laid over x): the right one
    is the softmax, exp(x - out)."""
    x, dims, keepdim = c.args[0], _dims(c), _keepdim(c)
    return (_kept(c.g, x, dims, keepdim) * derivative(x, _kept(c.out, x, dims, keepdim)),)


rule(aten.logsumexp.default)(Rule(lambda c: _logsumexp(c, lambda x, out: torch.exp(x - out)), (
    Slip("is `exp({inp})`, not divided by the sum: `exp({inp})` where `exp({inp} - {out})` belongs",
         lambda c: _logsumexp(c, lambda x, out: torch.exp(x))),
    Slip("has the sign of `{out}` flipped: `exp({inp} + {out})` where `exp({inp} - {out})` belongs",
         lambda c: _logsumexp(c, lambda x, out: torch.exp(x + out))),
    Slip("is missing `{inp}`: `exp(-{out})` where `exp({inp} - {out})` belongs",
         lambda c: _logsumexp(c, lambda x, out: torch.exp(-out))),
), code="logsumexp"))


def _norm(c: Ctx, numerator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> tuple:
    """The 2-norm's gradient: g put back over the reduced axes, divided by the norm, times `numerator(x,
    norm)` (the norm laid over x; x, the right one)."""
    if c.arg(1, 2) != 2:
        return (None,)
    x = c.args[0]
    dims, keepdim = _dims(c, 2) if c.arg(2) is not None else list(range(x.dim())), _keepdim(c, 3)
    norm = _kept(c.out, x, dims, keepdim)
    return (_kept(c.g, x, dims, keepdim) / norm * numerator(x, norm),)


rule(aten.linalg_vector_norm.default)(Rule(lambda c: _norm(c, lambda x, norm: x), (
    Slip("is missing its factor `{inp}`: `g / {out}` where `g * {inp} / {out}` belongs",
         lambda c: _norm(c, lambda x, norm: torch.ones_like(x))),
    Slip("is missing its division by `{out}`: `g * {inp}` where `g * {inp} / {out}` belongs",
         lambda c: _norm(c, lambda x, norm: x * norm)),
), code="norm"))


def _softmax(c: Ctx, diagonal_only: bool = False, dim: int | None = None):
    y, dim = c.out, c.args[1] if dim is None else dim
    if diagonal_only:
        return (c.g * y * (1 - y),)
    return (y * (c.g - (c.g * y).sum(dim, keepdim=True)),)


def _log_softmax(c: Ctx, probabilities: bool = True, dim: int | None = None):
    dim = c.args[1] if dim is None else dim
    p = torch.exp(c.out) if probabilities else c.out
    return (c.g - p * c.g.sum(dim, keepdim=True),)


def _summed_flat(c: Ctx, term: torch.Tensor, gradient: Callable[[torch.Tensor], torch.Tensor]) -> tuple:
    """The gradient made of `term.sum(dim)` without keepdim=True, laid against the softmax's output as
    broadcasting lays it: along the last axes, which for a square (T, T) attention is the transposed sums
    (None where it does not broadcast)."""
    summed = term.sum(c.args[1])
    try:
        torch.broadcast_shapes(summed.shape, c.out.shape)
    except RuntimeError:
        return (None,)
    return (gradient(summed),)


def _wrong_axes(rule: Callable[..., tuple]) -> tuple[Slip, ...]:
    """The sum of a softmax's gradient over another axis than the softmax's: one slip per axis."""
    def summed(c: Ctx, axis: int):
        if axis >= c.args[0].dim() or axis == c.args[1] % c.args[0].dim():
            return (None,)
        return rule(c, dim=axis)

    def over_every_element(c: Ctx):  # `.sum()` with the axis left out
        return rule(c, dim=tuple(range(c.args[0].dim()))) if c.args[0].dim() > 1 else (None,)

    return (*(Slip(lambda c, axis=axis: f"sums over axis {axis} where axis {c.args[1]} (the softmax's) belongs",
                   lambda c, axis=axis: summed(c, axis)) for axis in range(4)),
            Slip(lambda c: f"sums over every element (`.sum()`) where the sum over axis {_axis_code(c)} (the softmax's, "
                           "keepdim=True) belongs", over_every_element))


rule(aten._softmax.default)(Rule(_softmax, (
    Slip("is missing its second term, - out * (out.g * out).sum(dim): the Jacobian's diagonal taken alone",
         lambda c: (c.out * c.g,)),
    Slip("is out * (1 - out) * out.g, the Jacobian's diagonal only, where out * (out.g - (out.g * out).sum(dim)) "
         "belongs", lambda c: _softmax(c, diagonal_only=True)),
    *_wrong_axes(_softmax),
    Slip("takes a mean where the sum belongs: out * (out.g - (out.g * out).mean(dim))",
         lambda c: (c.out * (c.g - (c.g * c.out).mean(c.args[1], keepdim=True)),)),
    Slip("does not sum (out.g * out) over the axis: out * (out.g - out.g * out)", lambda c: (c.out * (c.g - c.g * c.out),)),
    Slip(lambda c: f"sums `({{dout}} * {{out}})` without keepdim=True: each row's sum is laid along the last axis, where "
                   f"`({{dout}} * {{out}}).sum({_axis_code(c)}, keepdim=True)` belongs",
         lambda c: _summed_flat(c, c.g * c.out, lambda summed: c.out * (c.g - summed))),
    Slip("is missing its first term, out * out.g: - out * (out.g * out).sum(dim) alone",
         lambda c: (-c.out * (c.g * c.out).sum(c.args[1], keepdim=True),)),
    Slip("has its second term's sign flipped: out * (out.g + (out.g * out).sum(dim))",
         lambda c: (c.out * (c.g + (c.g * c.out).sum(c.args[1], keepdim=True)),)),
    Slip("is missing the factor out inside its sum: out * (out.g - out.g.sum(dim))",
         lambda c: (c.out * (c.g - c.g.sum(c.args[1], keepdim=True)),)),
    Slip("is missing `{dout}` inside its sum: `{out}.sum(dim)` (which is 1) where `({dout} * {out}).sum(dim)` belongs",
         lambda c: (c.out * (c.g - c.out.sum(c.args[1], keepdim=True)),)),
    Slip("is missing its leading factor out: out.g - (out.g * out).sum(dim)",
         lambda c: (c.g - (c.g * c.out).sum(c.args[1], keepdim=True),)),
    Slip("takes `{out}` where `{dout}` belongs in its first term: `{out} * ({out} - ({dout} * {out}).sum(dim))`",
         lambda c: (c.out * (c.out - (c.g * c.out).sum(c.args[1], keepdim=True)),)),
    Slip("takes `{out}` where `{dout}` belongs inside its sum: `({out} * {out}).sum(dim)` where `({dout} * {out}).sum(dim)` "
         "belongs", lambda c: (c.out * (c.g - (c.out * c.out).sum(c.args[1], keepdim=True)),)),
), "softmax"))
def _axis_code(c: Ctx) -> int:
    """The softmax's axis as code writes it: -1 for the last."""
    return c.args[1] - c.args[0].dim() if c.args[1] == c.args[0].dim() - 1 else c.args[1]


def _summed_code(c: Ctx) -> str:
    """`{dout}.sum(-1, keepdim=True)`: the gradient summed over the softmax's axis, as code writes it."""
    return f"{{dout}}.sum({_axis_code(c)}, keepdim=True)"


rule(aten._log_softmax.default)(Rule(_log_softmax, (
    Slip("uses the log-probabilities where the probabilities, exp(out), belong", lambda c: _log_softmax(c, False)),
    Slip(lambda c: f"is missing its second term, `- {{out}}.exp() * {_summed_code(c)}`", lambda c: (c.g,)),
    Slip("takes a mean where the sum belongs: out.g - exp(out) * out.g.mean(dim)",
         lambda c: (c.g - torch.exp(c.out) * c.g.mean(c.args[1], keepdim=True),)),
    Slip("does not sum out.g over the axis: out.g - exp(out) * out.g where out.g - exp(out) * out.g.sum(dim) belongs",
         lambda c: (c.g - torch.exp(c.out) * c.g,)),
    Slip(lambda c: f"is missing the factor `{{out}}.exp()` in its second term: `{{dout}} - {_summed_code(c)}`",
         lambda c: (c.g - c.g.sum(c.args[1], keepdim=True),)),
    Slip(lambda c: f"is missing the factor `{_summed_code(c)}` in its second term: `{{dout}} - {{out}}.exp()`",
         lambda c: (c.g - torch.exp(c.out),)),
    # after nll_loss (a cross-entropy) the first term is the one-hot's −1 of `softmax(x) - one_hot(y)`
    Slip("is missing its first term, the gradient from above (in a cross-entropy's `softmax(x) - one_hot(y)`, the one-hot "
         "left out)",
         lambda c: (-torch.exp(c.out) * c.g.sum(c.args[1], keepdim=True),), drops_a_path=True),
    Slip("has its first term's sign flipped (in a cross-entropy's `softmax(x) - one_hot(y)`, the one-hot added where it is "
         "subtracted)", lambda c: (-c.g - torch.exp(c.out) * c.g.sum(c.args[1], keepdim=True),)),
    Slip(lambda c: f"has its second term's sign flipped: `{{dout}} + {{out}}.exp() * {_summed_code(c)}`",
         lambda c: (c.g + torch.exp(c.out) * c.g.sum(c.args[1], keepdim=True),)),
    Slip(lambda c: f"takes `{{out}}` where `{{dout}}` belongs in its first term: `{{out}} - {{out}}.exp() * {_summed_code(c)}`",
         lambda c: (c.out - torch.exp(c.out) * c.g.sum(c.args[1], keepdim=True),)),
    Slip(lambda c: f"takes `{{out}}` where `{{dout}}` belongs inside its sum: "
                   f"`{{dout}} - {{out}}.exp() * {_summed_code(c).replace('{dout}', '{out}')}`",
         lambda c: (c.g - torch.exp(c.out) * c.out.sum(c.args[1], keepdim=True),)),
    Slip(lambda c: f"sums `{{dout}}` without keepdim=True: each row's sum is laid along the last axis, where "
                   f"`{_summed_code(c)}` belongs",
         lambda c: _summed_flat(c, c.g, lambda summed: c.g - torch.exp(c.out) * summed)),
    *_wrong_axes(_log_softmax),
), "log_softmax"))


def _nll(c: Ctx, mean: bool = True):
    x, target = c.args[0], c.args[1]
    reduction = c.arg(3, 1)
    grad = torch.zeros_like(x)
    rows = torch.arange(len(target), device=x.device)
    grad[rows, target] = -1.0
    if reduction == 1 and mean:
        grad = grad / len(target)
    return (grad * c.g,)


rule(aten.nll_loss_forward.default)(Rule(_nll, (
    Slip("is not divided by the batch size (the loss's mean over the rows)", lambda c: _nll(c, mean=False)),
), "nll_loss"))


def _mse(c: Ctx, two: float = 2.0, mean: bool = True):
    x, target = c.args[0], c.args[1]
    grad = two * (x - target) * c.g / (x.numel() if c.arg(2, 1) == 1 and mean else 1)
    return grad, unbroadcast(-grad, target)


def _loss_averaged(reduction_at: int):
    """`/ {inp}.numel()` where a loss averages (reduction 1, its default, at argument `reduction_at`)."""
    return lambda args: " / {inp}.numel()" if (args[reduction_at] if len(args) > reduction_at else 1) == 1 else ""


rule(aten.mse_loss.default)(Rule(_mse, (
    Slip("is missing its 2", lambda c: _mse(c, two=1.0)),
    Slip("is not divided by the number of values averaged", lambda c: _mse(c, mean=False)),
), "mse_loss", lambda args, **_: "2 * ({inp} - {targ})" + _loss_averaged(2)(args)))


def _loss_mean(c: Ctx, reduction_at: int) -> float:
    """The number of values a loss averages (its input and target as they broadcast); 1 where it sums."""
    return torch.broadcast_shapes(c.args[0].shape, c.args[1].shape).numel() if c.arg(reduction_at, 1) == 1 else 1


def _soft_margin(c: Ctx):
    x, target = c.args[0], c.args[1]
    g = c.g / _loss_mean(c, 2)
    return -target * torch.sigmoid(-target * x) * g, None  # (torch differentiates it by its input only)


rule(aten.soft_margin_loss.default)(Rule(
    _soft_margin, (), "soft_margin_loss",
    lambda args, **_: "-{targ} * torch.sigmoid(-{targ} * {inp})" + _loss_averaged(2)(args)))


def _smooth_l1(c: Ctx, huber: bool = False):
    """smooth_l1_loss(x, t, reduction, beta) and huber_loss(x, t, reduction, delta): d = x − t, its
    derivative d / beta (d) inside the bound, sign(d) (delta · sign(d)) outside it."""
    x, target, bound = c.args[0], c.args[1], c.arg(3, 1.0)
    d = x - target
    inside = d.abs() <= bound if huber else d.abs() < bound
    grad = torch.where(inside, d if huber else d / bound, (bound if huber else 1.0) * torch.sign(d)) * c.g / _loss_mean(c, 2)
    return unbroadcast(grad, x), unbroadcast(-grad, target)


def _smooth_l1_written(args: tuple, huber: bool = False) -> str:
    bound = args[3] if len(args) > 3 else 1.0
    d = "({inp} - {targ})"
    inside = f"{d}.abs() {'<=' if huber else '<'} {_number(bound)}"
    within = d[1:-1] if huber or bound == 1 else f"{d} / {_number(bound)}"
    outside = f"torch.sign{d}" if not huber or bound == 1 else f"{_number(bound)} * torch.sign{d}"
    return f"torch.where({inside}, {within}, {outside})" + _loss_averaged(2)(args)


rule(aten.smooth_l1_loss.default)(Rule(_smooth_l1, (), "smooth_l1_loss", lambda args, **_: _smooth_l1_written(args)))
rule(aten.huber_loss.default)(Rule(lambda c: _smooth_l1(c, huber=True), (), "huber_loss",
                                   lambda args, **_: _smooth_l1_written(args, huber=True)))


def _bce_with_logits(c: Ctx):
    """binary_cross_entropy_with_logits(x, t, weight, pos_weight, reduction): −w (p t log σ(x) + (1 − t) log(1 − σ(x)))."""
    x, target = c.args[0], c.args[1]
    weight = c.arg(2) if c.arg(2) is not None else 1.0
    positive = c.arg(3) if c.arg(3) is not None else 1.0
    g = c.g * weight / _loss_mean(c, 4)
    dx = (torch.sigmoid(x) * (positive * target + 1 - target) - positive * target) * g
    dt = -(positive * torch.nn.functional.logsigmoid(x) - torch.nn.functional.logsigmoid(-x)) * g
    return unbroadcast(dx, x), unbroadcast(dt, target)


rule(aten.binary_cross_entropy_with_logits.default)(Rule(
    _bce_with_logits, (), "binary_cross_entropy_with_logits",  # (with a weight, or pos_weight, no derivative written)
    lambda args, **_: "" if any(a is not None for a in args[2:4]) else
    "torch.sigmoid({inp}) - {targ}" if _loss_averaged(4)(args) == "" else
    "(torch.sigmoid({inp}) - {targ})" + _loss_averaged(4)(args)))


def _binary_cross_entropy(c: Ctx):
    p, target, weight = c.args[0], c.args[1], c.arg(2)
    g = c.g / _loss_mean(c, 3) * (1 if weight is None else weight)
    return (p - target) / (p * (1 - p)).clamp_min(1e-12) * g, unbroadcast((torch.log1p(-p) - torch.log(p)) * g, target)


rule(aten.binary_cross_entropy.default)(Rule(
    _binary_cross_entropy, (), "binary_cross_entropy",  # (a weight's derivative is not written: no slip said of it)
    lambda args, **_: "" if len(args) > 2 and args[2] is not None else
    tuple(form if _loss_averaged(3)(args) == "" else f"({form})" + _loss_averaged(3)(args) for form in (
        "-{targ} / {inp} + (1 - {targ}) / (1 - {inp})", "({inp} - {targ}) / ({inp} * (1 - {inp}))"))))


# -- normalisation, as the one operation F.layer_norm and F.batch_norm run ------------------------

UNBIASED = "unbiased"  # a fused normalisation's keyword: its variance divides by n − 1 (`x.std(0)`'s, torch's default)


def _made_again(x: torch.Tensor, dims: list, centred: bool, eps: float, how: tuple, unbiased: bool = False,
                out: torch.Tensor | None = None) -> tuple | None:
    """x − mean and rstd as a backward that recomputes them, one slip in it (`how`: what, and an axis
    for "mean over", "variance over"): the mean a sum, over another axis, left out or added, or of the
    output; the variance a sum, over another axis, of x uncentred, a fourth power, over n − 1, or of the
    output; std or 1/var for rstd; the normalised x made from the output. None: no such slip here (a mean
    an RMS norm has not; an axis it averages over, or x has not; no output of x's shape)."""
    kind, axis = how
    if (kind.startswith("mean") and not centred) or axis is not None and (
            not -x.dim() <= axis < x.dim() or axis % x.dim() in dims) or (
            kind.endswith("of out") and (out is None or out.shape != x.shape)):
        return None
    mean = (x.sum(dims, keepdim=True) if kind == "mean summed" else x.mean(axis, keepdim=True) if kind == "mean over"
            else out.mean(dims, keepdim=True) if kind == "mean of out"
            else 0.0 if kind == "mean left out" else x.mean(dims, keepdim=True)) if centred else 0.0
    d = x + mean if kind == "mean added" else x - mean
    spread = x if kind == "variance of x" else x + mean if kind == "variance of x + mean" else \
        out - mean if kind == "variance of out" else d
    powers = spread ** (4 if kind == "fourth power" else 2)
    var = powers.sum(dims, keepdim=True) if kind == "variance summed" else powers if kind == "variance not averaged" \
        else powers.mean(axis if kind == "variance over" else dims, keepdim=True)
    d = x if kind == "xhat uncentred" else x + mean if kind == "xhat of x + mean" else out - mean \
        if kind == "xhat of out" else d
    if unbiased != (kind == "over n - 1"):  # the variance over n − 1: the forward's, or the slip's (not both)
        n = _count(x, dims)
        var = var * n / (n - 1)
    rstd = (var + eps).sqrt() if kind == "std" else 1 / (var + eps) if kind == "1/var" else (var + eps).rsqrt()
    return d, rstd


@dataclass(frozen=True)
class NormSlip:
    """One slip in a normalisation's closed form; the default is none. A term (`mean_term`, `var_term`)
    is True, False (left out), or names the one piece of it that is wrong ("summed", "+" its sign
    flipped, "not averaged", "xhat only", …); `first_term` False is the path straight through x left
    out, "over n" the `(n * dxhat - …) / n` form's first term without its n; `mean_over` (`var_over`)
    the one axis a term is wrongly averaged over; `unscaled` the whole without its rstd; `made_again`
    a slip in the statistics the backward recomputes (`_made_again`), or ("xhat unscaled", None): its
    xhat without the rstd; `gain_over` (`bias_over`) the axis the gain's (bias's) gradient is wrongly
    summed over; `gain` False the gain left out of dxhat."""

    mean_term: bool | str = True
    var_term: bool | str = True
    first_term: bool | str = True
    gain: bool = True
    mean_over: int | None = None
    var_over: int | None = None
    made_again: tuple | None = None
    gain_over: int | None = None
    bias_over: int | None = None
    unscaled: bool = False


RIGHT = NormSlip()


def _normalised(c: Ctx, x: torch.Tensor, dims: list, rstd: torch.Tensor, weight, bias, *, slip: NormSlip = RIGHT,
                centred=True, eps=1e-5, unbiased=False):
    """The gradients of w * (x - mean) * rstd + b over `dims` (x * rstd, not centred: an RMS norm): x's
    terms, the gain's, the bias's, with `slip` in them. A term averaged over an axis that is one the
    normalisation averages over, or none of x's, is no slip: (None, None, None). `unbiased`: the
    forward's variance divides by n − 1 (its variance term then too)."""
    if any(axis is not None and (not -x.dim() <= axis < x.dim() or axis % x.dim() in dims)
           for axis in (slip.mean_over, slip.var_over)):
        return None, None, None
    centred_x = (x - x.mean(dims, keepdim=True)) if centred else x
    made_again, mean_term, var_term, first_term = slip.made_again, slip.mean_term, slip.var_term, slip.first_term
    if made_again is not None and made_again[0] != "xhat unscaled":
        made = _made_again(x, dims, centred, eps, made_again, unbiased, c.outs[0])
        if made is None:
            return None, None, None
        centred_x, rstd = made
    xhat = centred_x if made_again is not None and made_again[0] == "xhat unscaled" else centred_x * rstd
    dxhat = c.g * weight if weight is not None and slip.gain else c.g
    n = _count(x, dims)  # the written form `(n * dxhat - dxhat.sum() - …) / n` has its slips / n ("… over n")
    grad = dxhat / n if first_term == "over n" else dxhat if first_term else torch.zeros_like(dxhat)
    sign = {True: -1.0, False: -1.0, "+": 1.0}  # a term's sign as written: "+" the slip that flips it
    if centred and mean_term:
        grad = grad + sign.get(mean_term, -1.0) * (
            dxhat if mean_term == "not averaged" else dxhat / n if mean_term == "not summed, over n"
            else dxhat.sum(dims, keepdim=True) if mean_term == "summed"
            else dxhat.mean(dims, keepdim=True) / n if mean_term == "averaged twice"
            else dxhat.mean(dims if slip.mean_over is None else slip.mean_over, keepdim=True))
    if var_term:
        inner = dxhat if var_term == "no inner xhat" else dxhat * xhat
        over = n - 1 if unbiased else n  # (a closed form of the unbiased variance writes `.sum(0) / (n - 1)`)
        averaged = inner if var_term == "not averaged" else inner / over if var_term == "not summed, over n" \
            else inner.sum(dims, keepdim=True) if var_term == "summed" \
            else inner.mean(dims, keepdim=True) / over if var_term == "averaged twice" \
            else inner.mean(dims if slip.var_over is None else slip.var_over, keepdim=True) * (
                n / (n - 1) if unbiased else 1)
        grad = grad + sign.get(var_term, -1.0) * (
            averaged if var_term == "no outer xhat" else xhat if var_term == "xhat only"
            else xhat / over if var_term == "xhat only, over n" else xhat * averaged)
    dw = None if weight is None else unbroadcast(c.g * xhat, weight) if slip.gain_over is None else (c.g * xhat).sum(
        slip.gain_over)  # summed over where the gain is broadcast
    db = None if bias is None else unbroadcast(c.g, bias) if slip.bias_over is None else c.g.sum(slip.bias_over)
    return grad if slip.unscaled else grad * rstd, dw, db


def _layer_norm(c: Ctx, slip: NormSlip = RIGHT):
    x, shape, weight, bias = c.args[0], c.args[1], c.arg(2), c.arg(3)
    dims = list(range(x.dim() - len(shape), x.dim()))
    dx, dw, db = _normalised(c, x, dims, c.outs[2].reshape(c.outs[1].shape), weight, bias, eps=c.arg(4) or 1e-5,
                             unbiased=bool(c.kwargs.get(UNBIASED)), slip=slip)
    if weight is not None and dw is not None and dw.numel() == weight.numel():
        dw = dw.reshape(weight.shape)
    if bias is not None and db is not None and db.numel() == bias.numel():
        db = db.reshape(bias.shape)
    return dx, None, dw, db


def _batch_norm(c: Ctx, slip: NormSlip = RIGHT):
    x, weight, bias = c.args[0], c.arg(1), c.arg(2)
    dims = [0] + list(range(2, x.dim()))
    shape = [1, -1] + [1] * (x.dim() - 2)
    rstd = c.outs[2].reshape(shape) if c.outs[2].numel() else (x.var(dims, unbiased=False, keepdim=True) + c.arg(7, 1e-5)
                                                                ).rsqrt()
    w = None if weight is None else weight.reshape(shape)
    b = None if bias is None else bias.reshape(shape)
    dx, dw, db = _normalised(c, x, dims, rstd, w, b, eps=c.arg(7, 1e-5), unbiased=bool(c.kwargs.get(UNBIASED)), slip=slip)
    return (dx, *(None if grad is None else grad.reshape(param.shape) if grad.numel() == param.numel() else grad
                  for grad, param in ((dw, weight), (db, bias))))


def _averaged(c: Ctx) -> str:
    """A normalisation's mean over what it normalises, as code writes it: a layer norm's last axes, a batch's 0,
    the one axis of a normalisation over another (a token axis, `.mean(1, keepdim=True)`)."""
    shape = c.args[1]
    if isinstance(shape, int):
        return f".mean({shape}, keepdim=True)"
    if not isinstance(shape, (list, tuple)):
        return ".mean(0, keepdim=True)"
    return f".mean({-1 if len(shape) == 1 else tuple(range(-len(shape), 0))}, keepdim=True)"


def _summed(c: Ctx) -> str:
    """A normalisation's sum over what it normalises, as its `(n * dxhat - dxhat.sum(0) - …) / n` form
    writes it: a batch's `.sum(0)`, a layer norm's last axes kept."""
    return _averaged(c).replace(".mean(", ".sum(").replace(".sum(0, keepdim=True)", ".sum(0)")


def _var_averaged(c: Ctx) -> str:
    """The variance term's average as code writes it: over n − 1 where the forward's variance is unbiased."""
    return f"{_summed(c)} / (n - 1)" if c.kwargs.get(UNBIASED) else _averaged(c)


_OVER_N = "(in its `(n * {dout} - …) / n` form)"


def _second_term_slips(stat: str) -> tuple:
    """The slips of a normalisation's second term (the variance's; the mean square's, of an RMS norm),
    said in the code's names: `{out}` the normalised tensor, `{dout}` its gradient (`dnorm` of `norm`,
    `out.g` of the layer's output)."""
    def whole(c: Ctx) -> str:
        return f"`{{out}} * ({{dout}} * {{out}}){_var_averaged(c)}`"

    return ((lambda c: f"is missing the {stat}'s term, `- {{out}} * ({{dout}} * {{out}}){_var_averaged(c)}`",
             {"var_term": False}),
            (lambda c: f"has `{{dout}}{_var_averaged(c)}` where `({{dout}} * {{out}}){_var_averaged(c)}` belongs in the {stat}'s "
                       "term", {"var_term": "no inner xhat"}),
            (lambda c: f"does not average the {stat}'s term: `{{out}} * ({{dout}} * {{out}})` where {whole(c)} belongs",
             {"var_term": "not averaged"}),
            (lambda c: f"is missing the leading {{out}} of the {stat}'s term: `({{dout}} * {{out}}){_var_averaged(c)}` where "
                       f"{whole(c)} belongs", {"var_term": "no outer xhat"}),
            (lambda c: f"has `{{out}}` alone where {whole(c)} belongs in the {stat}'s term", {"var_term": "xhat only"}),
            (lambda c: f"does not sum the {stat}'s term: `{{out}} * ({{dout}} * {{out}}) / (n - 1)` where {whole(c)} belongs"
             if c.kwargs.get(UNBIASED) else f"does not sum the {stat}'s term: `{{out}} * ({{dout}} * {{out}})` where "
             f"`{{out}} * ({{dout}} * {{out}}){_summed(c)}` belongs {_OVER_N}", {"var_term": "not summed, over n"}),
            (lambda c: f"has `{{out}} / (n - 1)` alone where {whole(c)} belongs in the {stat}'s term"
             if c.kwargs.get(UNBIASED) else f"has `{{out}}` alone where `{{out}} * ({{dout}} * {{out}}){_summed(c)}` "
             f"belongs in the {stat}'s term {_OVER_N}", {"var_term": "xhat only, over n"}),
            (f"is missing the n of its first term: `{{dout}}` where `n * {{dout}}` belongs {_OVER_N}",
             {"first_term": "over n"}))


_UNSCALED = ("is missing the factor rstd, `1 / sqrt(var + eps)`, that multiplies all its terms", {"unscaled": True})
_FIRST_TERM_LEFT_OUT = ("is missing its first term, `{dout}` itself (the path straight through its input)",
                        {"first_term": False})


def _other_axes(over: str, stat: str, averaged: str) -> tuple:
    """A term averaged over another axis than the normalisation's (`.mean(1)` where `.mean(-1)` belongs)."""
    return tuple((lambda c, k=k: f"averages the {stat}'s term over axis {k}: `{averaged}.mean({k}, keepdim=True)` "
                                 f"where `{averaged}{_averaged(c)}` belongs", {over: k}) for k in (0, 1, 2))


def _statistics_slips(centred: bool) -> tuple:
    """A backward that recomputes the statistics (a fused kernel's, one written after F.layer_norm)
    with one slip in them."""
    axes = tuple((lambda c, k=k, what=what: f"recomputes its {what} over axis {k} where {_averaged(c)} belongs",
                  {"made_again": (kind, k)}) for k in (0, 1, 2) for what, kind in (
        (("mean", "mean over"),) if centred else ()) + (("variance", "variance over"),))
    spread = "variance" if centred else "mean square"
    return ((f"recomputes its {spread} as a sum where the mean belongs", {"made_again": ("variance summed", None)}),
            (f"recomputes its {spread} without averaging it: each value's own square where their mean belongs",
             {"made_again": ("variance not averaged", None)}),
            (f"recomputes its {spread} with a fourth power where the square belongs",
             {"made_again": ("fourth power", None)}),
            (lambda c: f"recomputes its {spread} over n where n − 1 (Bessel's correction) belongs" if c.kwargs.get(
                UNBIASED) else f"recomputes its {spread} over n − 1 (Bessel's correction) where n belongs",
             {"made_again": ("over n - 1", None)}),
            ("recomputes its rstd as the std, `sqrt(var + eps)`, where `1 / sqrt(var + eps)` belongs",
             {"made_again": ("std", None)}),
            ("recomputes its rstd as `1 / (var + eps)` where `1 / sqrt(var + eps)` belongs",
             {"made_again": ("1/var", None)}),
            ("recomputes its normalised x without the rstd: `x - mean` where `(x - mean) * rstd` belongs"
             if centred else "recomputes its normalised x without the rrms: `x` where `x * rrms` belongs",
             {"made_again": ("xhat unscaled", None)}),
            (f"recomputes its {spread} from the output `{{out}}` where its input belongs",
             {"made_again": ("variance of out", None)}),
            ("recomputes its normalised x from the output: `({out} - mean) * rstd` where `(x - mean) * rstd` belongs"
             if centred else "recomputes its normalised x from the output: `{out} * rrms` where `x * rrms` belongs",
             {"made_again": ("xhat of out", None)}),
            *axes) + (((("recomputes its mean as a sum where the mean belongs", {"made_again": ("mean summed", None)}),
                        ("recomputes x - mean without its mean: `x` where `x - mean` belongs",
                         {"made_again": ("mean left out", None)}),
                        ("recomputes its mean from the output, `{out}.mean()`, where the input's belongs",
                         {"made_again": ("mean of out", None)}),
                        ("recomputes x - mean as `x + mean`", {"made_again": ("mean added", None)}),
                        ("recomputes its variance from x where x - mean belongs",
                         {"made_again": ("variance of x", None)}),
                        ("recomputes its variance from `x + mean` where `x - mean` belongs",
                         {"made_again": ("variance of x + mean", None)}),
                        ("recomputes its normalised x from x uncentred: `x * rstd` where `(x - mean) * rstd` belongs",
                         {"made_again": ("xhat uncentred", None)}),
                        ("recomputes its normalised x as `(x + mean) * rstd` where `(x - mean) * rstd` belongs",
                         {"made_again": ("xhat of x + mean", None)}))) if centred else ())


def _term_slips(stat: str, key: str, term: Callable[[Ctx], str]) -> tuple:
    """A term of the closed form summed where it is averaged, or its sign flipped (`term`: it as code)."""
    return ((lambda c: f"sums the {stat}'s term where it averages: "
                       f"`{term(c).replace(_averaged(c), _summed(c)).replace(' / (n - 1)', '')}` where "
                       f"`{term(c)}` belongs", {key: "summed"}),
            (lambda c: f"has the {stat}'s term's sign flipped: `+ {term(c)}` where `- {term(c)}` belongs", {key: "+"}))


_NORM_SLIPS = ((lambda c: f"is missing the mean's term, `- {{dout}}{_averaged(c)}`", {"mean_term": False}),
               *_term_slips("mean", "mean_term", lambda c: f"{{dout}}{_averaged(c)}"),
               ("sums the gain's gradient over the last axis, `.sum(-1)`, where the batch's, `.sum(0)`, belongs",
                {"gain_over": -1}),
               ("sums the bias's gradient over the last axis, `.sum(-1)`, where the batch's, `.sum(0)`, belongs",
                {"bias_over": -1}),
               *_term_slips("variance", "var_term", lambda c: f"{{out}} * ({{dout}} * {{out}}){_var_averaged(c)}"),
               *_statistics_slips(centred=True),
               _FIRST_TERM_LEFT_OUT, _UNSCALED, *_other_axes("mean_over", "mean", "{dout}"),
               *_other_axes("var_over", "variance", "({dout} * {out})"),
               *_second_term_slips("variance"),
               (lambda c: f"does not average the mean's term: `- {{dout}}` where `- {{dout}}{_averaged(c)}` belongs",
                {"mean_term": "not averaged"}),
               *((lambda c, stat=stat, term=term: f"averages the {stat}'s term twice: `{term(c).replace('.sum(', '.mean(')}` "
                                                  f"where `{term(c)}` belongs {_OVER_N}", {key: "averaged twice"})
                 for stat, key, term in (("mean", "mean_term", lambda c: f"{{dout}}{_summed(c)}"),
                                         ("variance", "var_term", lambda c: f"({{dout}} * {{out}}){_summed(c)}"))),
               (lambda c: f"does not sum the mean's term: `- {{dout}}` where `- {{dout}}{_summed(c)}` belongs {_OVER_N}",
                {"mean_term": "not summed, over n"}),
               ("treats the mean and the variance as constants (both terms missing)",
                {"mean_term": False, "var_term": False}),
               ("is missing the gain: dxhat = out.g where out.g * weight belongs", {"gain": False}))


def _norm_slips(vjp: Callable[..., tuple], slips: tuple) -> tuple[Slip, ...]:
    return tuple(Slip(words, (lambda c, s=s: vjp(c, NormSlip(**s))), drops_a_path=s.get("mean_term") is False or s.get(
        "var_term") is False, drops_a_factor="unscaled" in s) for words, s in slips)


rule(aten.native_layer_norm.default)(Rule(_layer_norm, _norm_slips(_layer_norm, _NORM_SLIPS), "layer_norm"))
rule(aten.native_batch_norm.default)(Rule(_batch_norm, _norm_slips(_batch_norm, _NORM_SLIPS), "batch_norm"))



def _rms_norm(c: Ctx, slip: NormSlip = RIGHT):
    x, shape, weight, eps = c.args[0], c.args[1], c.arg(2), c.arg(3) or torch.finfo(c.args[0].dtype).eps
    dims = list(range(x.dim() - len(shape), x.dim()))
    rrms = (x.pow(2).mean(dims, keepdim=True) + eps).rsqrt()
    dx, dw, _ = _normalised(c, x, dims, rrms, weight, None, slip=slip, centred=False, eps=eps)
    return dx, None, None if dw is None else dw.reshape(weight.shape)


rule(aten.rms_norm.default)(Rule(_rms_norm, _norm_slips(_rms_norm, (
    *_second_term_slips("mean square"), _FIRST_TERM_LEFT_OUT, _UNSCALED,
    *_other_axes("var_over", "mean square", "({dout} * {out})"),
    *_statistics_slips(centred=False),
    ("is missing the gain: dxhat = out.g where out.g * weight belongs", {"gain": False}))),
    "rms_norm"))


# -- x / ‖x‖: the operation F.normalize and a weight norm write, which aten has no one operator for ---

class Composite:
    """An operation made of several aten operators, with one derivative of its own: what a forward
    that writes it out by hand is fused into (gradtui.graph.fused), so that a backward written from
    its closed form is searched in that form's terms. Called, and named, as an aten operator is."""

    def __init__(self, name: str, function: Callable):
        self.__name__, self.function = name, function

    @property
    def overloadpacket(self) -> Composite:
        return self

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"gradtui.{self.__name__}"


l2_normalize = Composite("normalize", lambda x, dim: x / x.norm(dim=dim, keepdim=True))


def _l2_normalize(c: Ctx, *, projection=True, inner="g y", outer=True, summed="sum", axis=None, first_term=True,
                  divided=True):
    """The gradient of y = x / ‖x‖ over `dim`: (g - y (g·y)) / ‖x‖. A slip's keyword names the one
    piece written wrong: the projection term left out, sign-flipped ("+"), its inner product without
    g or without y, its leading y left out (or y "alone" for the whole term), not summed (None) or
    averaged ("mean"), or summed over another `axis`; the first term left out; the division by ‖x‖
    left out (F.normalize's: where the code writes the division out, its own norm tensor says it)."""
    x, dim, y = c.args[0], c.args[1], c.out
    if axis is not None and (not -x.dim() <= axis < x.dim() or axis % x.dim() == dim % x.dim()):
        return (None, None)
    inside = {"g y": c.g * y, "y": y, "g": c.g}[inner]
    over = dim if axis is None else axis
    reduced = inside if summed is None else getattr(inside, summed)(over, keepdim=True)
    term = y * reduced if outer is True else y if outer == "alone" else reduced
    grad = c.g if first_term else torch.zeros_like(c.g)
    if projection:
        grad = grad + term if projection == "+" else grad - term
    return (grad / x.norm(dim=dim, keepdim=True) if divided else grad, None)


def _projection(c: Ctx) -> str:
    return f"({{dout}} * {{out}}).sum({c.args[1]}, keepdim=True)"


rule(l2_normalize)(Rule(_l2_normalize, tuple(Slip(words, (lambda c, s=s: _l2_normalize(c, **s)),
                                                  drops_a_path=s == {"projection": False},
                                                  drops_a_factor=s == {"divided": False}) for words, s in (
    (lambda c: f"is missing its projection term, `- {{out}} * {_projection(c)}`", {"projection": False}),
    (lambda c: f"has the sign of its projection term flipped: `+ {{out}} * {_projection(c)}` where `- …` belongs",
     {"projection": "+"}),
    (lambda c: f"has `{{out}}.sum({c.args[1]}, keepdim=True)` where `{_projection(c)}` belongs in its projection term",
     {"inner": "y"}),
    (lambda c: f"has `{{dout}}.sum({c.args[1]}, keepdim=True)` where `{_projection(c)}` belongs in its projection term",
     {"inner": "g"}),
    (lambda c: f"is missing the leading {{out}} of its projection term: `{_projection(c)}` where `{{out}} * "
               f"{_projection(c)}` belongs", {"outer": False}),
    (lambda c: f"has `{{out}}` alone where `{{out}} * {_projection(c)}` belongs in its projection term",
     {"outer": "alone"}),
    (lambda c: f"does not sum its projection term: `{{out}} * ({{dout}} * {{out}})` where `{{out}} * {_projection(c)}` "
               "belongs", {"summed": None}),
    (lambda c: f"averages its projection term: `.mean({c.args[1]}, keepdim=True)` where `.sum({c.args[1]}, "
               "keepdim=True)` belongs", {"summed": "mean"}),
    *((lambda c, k=k: f"sums its projection term over axis {k}: `({{dout}} * {{out}}).sum({k}, keepdim=True)` where "
                      f"`{_projection(c)}` belongs", {"axis": k}) for k in (0, 1, 2)),
    ("is missing its first term, `{dout}` itself (the path straight through its input)", {"first_term": False}),
    (lambda c: f"is missing its division by the norm, `/ {{inp}}.norm(dim={c.args[1]}, keepdim=True)`", {"divided": False}),
)), "normalize"))


def _norm_over(x: torch.Tensor, dim: int, eps: float = 1e-5, **written) -> torch.Tensor:
    """(x − mean) / sqrt(var + eps) over one axis that is neither the last nor a 2-D batch's (the tokens of
    `x.view(n, t, c)`, normalised per sample and feature): no aten operator is it."""
    var = x.var(dim, unbiased=bool(written.get(UNBIASED)), keepdim=True)
    return (x - x.mean(dim, keepdim=True)) * (var + eps).rsqrt()


norm_over = Composite("norm_over", _norm_over)


def _normalised_over(c: Ctx, slip: NormSlip = RIGHT):
    x, dim, eps = c.args[0], c.args[1], c.arg(2, 1e-5)
    unbiased = bool(c.kwargs.get(UNBIASED))
    rstd = (x.var(dim, unbiased=unbiased, keepdim=True) + eps).rsqrt()
    dx, _, _ = _normalised(c, x, [dim % x.dim()], rstd, None, None, eps=eps, unbiased=unbiased, slip=slip)
    return dx, None, None


rule(norm_over)(Rule(_normalised_over, _norm_slips(_normalised_over, tuple(
    (words, slip) for words, slip in _NORM_SLIPS if not {"gain", "gain_over", "bias_over"} & set(slip))),
    "instance_norm"))  # (F.instance_norm's: one axis per sample and feature, the tokens here)



# -- matrix products ------------------------------------------------------------------------

def _mm(c: Ctx, a_transposed: bool = True, b_transposed: bool = True):
    a, b = c.args[0], c.args[1]
    return (c.g @ (b.mT if b_transposed else b), (a.mT if a_transposed else a) @ c.g)


rule(aten.mm.default, aten.bmm.default)(Rule(_mm, (
    Slip("is missing a transpose: out.g @ b where out.g @ b.T belongs", lambda c: _mm(c, b_transposed=False)),
    Slip("is missing a transpose: a @ out.g where a.T @ out.g belongs", lambda c: _mm(c, a_transposed=False)),
    Slip("has its operands swapped: b.T @ out.g and out.g @ a.T",
         lambda c: (c.args[1].mT @ c.g if c.args[1].mT.shape[-1] == c.g.shape[-2] else None,
                    c.g @ c.args[0].mT if c.g.shape[-1] == c.args[0].mT.shape[-2] else None)),
), "@"))


def _addmm(c: Ctx, bias_reduced: bool = True, a_transposed: bool = True, b_transposed: bool = True):
    bias, a, b = c.args[0], c.args[1], c.args[2]
    beta, alpha = c.kwargs.get("beta", 1), c.kwargs.get("alpha", 1)
    return (unbroadcast(beta * c.g, bias) if bias_reduced else beta * c.g, alpha * c.g @ (b.mT if b_transposed else b),
            alpha * (a.mT if a_transposed else a) @ c.g)


rule(aten.addmm.default)(Rule(_addmm, (
    Slip("does not sum the bias's gradient over the batch", lambda c: _addmm(c, bias_reduced=False)),
    Slip("is missing a transpose: `{dout} @ {third}` where `{dout} @ {third}.T` belongs",
         lambda c: _addmm(c, b_transposed=False)),
    Slip("is missing a transpose: `{right_factor} @ {dout}` where `{right_factor}.T @ {dout}` belongs",
         lambda c: _addmm(c, a_transposed=False)),
), "@ … +"))
rule(aten.mv.default)(Rule(lambda c: (torch.outer(c.g, c.args[1]), c.args[0].mT @ c.g), code="@"))
rule(aten.dot.default)(Rule(lambda c: (c.g * c.args[1], c.g * c.args[0]), code="@"))


# -- indexing, gathering, scattering ---------------------------------------------------------

def _index(c: Ctx, accumulate: bool = True):
    x, indices = c.args[0], c.args[1]
    # (aten's own index_put: an index of None, a whole axis, as `x[:, :, rows, cols]` is recorded, is one it takes)
    return (aten.index_put.default(torch.zeros_like(x), list(indices), c.g, accumulate), None)


def _embedding(c: Ctx, accumulate: bool = True):
    weight, indices = c.args[0], c.args[1]
    flat, rows = indices.reshape(-1), c.g.reshape(-1, weight.shape[1])
    grad = torch.zeros_like(weight)
    return (grad.index_add(0, flat, rows) if accumulate else grad.index_put((flat,), rows), None)


def _written_once(rows_of: Callable[[Ctx], tuple[torch.Tensor, torch.Tensor] | None]):
    """Does the user's gradient keep, for each row the lookup read, one of the gradients that row got
    (one write kept, whichever) where their sum belongs? Rows read once are as they should be. Each
    element is judged alone: writes to one row on several threads may leave it part one write and
    part another."""
    def fits(c: Ctx, yours: torch.Tensor, tolerance: tuple) -> bool:
        found = rows_of(c)
        if found is None or yours.shape != c.args[0].shape:
            return False
        flat, given = found
        rtol, atol = tolerance
        bound = atol + rtol * float(given.abs().max()) if given.numel() else atol
        counts = torch.bincount(flat, minlength=len(yours))
        kept = (yours[flat] - given).abs() <= bound  # each write, element by element: is it what the row kept?
        some = torch.zeros(yours.shape, dtype=torch.bool, device=yours.device).index_put((flat,), kept, accumulate=True)
        unread = (counts == 0) & (yours.flatten(1).abs().amax(1) > bound)
        return bool(some[counts > 0].all()) and not bool(unread.any()) and bool((counts > 1).any())
    return fits


def _index_rows(c: Ctx):
    indices = c.args[1]
    if len(indices) != 1 or indices[0] is None or indices[0].dtype == torch.bool:
        return None
    return indices[0].reshape(-1), c.g.reshape(-1, *c.args[0].shape[1:])


def _embedding_rows(c: Ctx):
    return c.args[1].reshape(-1), c.g.reshape(-1, c.args[0].shape[1])


_OVERWRITTEN = "sets each row where it must add: a row used twice in the batch must add up its gradients, not be overwritten"
rule(aten.index.Tensor)(Rule(_index, (Slip(_OVERWRITTEN, lambda c: _index(c, accumulate=False),
                                           _written_once(_index_rows)),), "[…]"))
rule(aten.erfc.default)(_unary(lambda c: -2 / math.sqrt(math.pi) * torch.exp(-c.args[0] ** 2), "erfc",
                              ("is missing its minus sign: `2 / sqrt(pi) * torch.exp(-{inp}**2)` where "
                               "`-2 / sqrt(pi) * torch.exp(-{inp}**2)` belongs",
                               lambda c: 2 / math.sqrt(math.pi) * torch.exp(-c.args[0] ** 2)),
                              written=f"{-2 / math.sqrt(math.pi)!r} * torch.exp(-{{inp}}**2)"))
# ATen's hardsigmoid_backward multiplies by 1/6 in float32 whatever the dtype: autograd's numbers, to the digit
SIXTH_AS_ATEN = float(torch.tensor(1 / 6, dtype=torch.float32))
rule(aten.hardsigmoid.default)(_unary(lambda c: ((c.args[0] > -3) & (c.args[0] < 3)).to(c.g.dtype) * SIXTH_AS_ATEN,
                                      "hardsigmoid",
                                      ("is missing its 1/6: the mask of -3 < x < 3 alone",
                                       lambda c: ((c.args[0] > -3) & (c.args[0] < 3)).to(c.g.dtype)),
                                      written="(({inp} > -3) & ({inp} < 3)) / 6"))
rule(aten.hardswish.default)(_unary(lambda c: torch.where(c.args[0] < -3, 0.0, torch.where(
    c.args[0] > 3, 1.0, (2 * c.args[0] + 3) / 6)), "hardswish", (
    "is missing its 2 in the middle: `({inp} + 3) / 6` where `(2 * {inp} + 3) / 6` belongs",
    lambda c: torch.where(c.args[0] < -3, 0.0, torch.where(c.args[0] > 3, 1.0, (c.args[0] + 3) / 6))),
    written="torch.where({inp} < -3, 0.0, torch.where({inp} > 3, 1.0, (2 * {inp} + 3) / 6))"))


def _mish_parts(c: Ctx) -> tuple[torch.Tensor, torch.Tensor]:
    """tanh(softplus(x)), and x times its derivative: the product rule's two terms."""
    t = torch.tanh(torch.nn.functional.softplus(c.args[0]))
    return t, c.args[0] * torch.sigmoid(c.args[0]) * (1 - t ** 2)


MISH_TANH = "torch.tanh(torch.nn.functional.softplus({left}))"
# its slips, a term left out among them, are one edit of the derivative as written (gradtui.written_slips)
rule(aten.mish.default)(_unary(lambda c: sum(_mish_parts(c)), "mish", written=f"{MISH_TANH} + {{inp}} * (1 - "
                                                                             f"{MISH_TANH}**2) * torch.sigmoid({{left}})"))
def _logit(c: Ctx) -> torch.Tensor:
    """1 / (x (1 - x)); with an eps, 0 where x is clamped to [eps, 1 - eps]."""
    x, eps = c.args[0], c.arg(1)
    derivative = 1 / (x * (1 - x))
    return derivative if eps is None else torch.where((x < eps) | (x > 1 - eps), 0.0, derivative)


rule(aten.logit.default)(_unary(_logit, "logit", (
    "is sigmoid's, `{inp} * (1 - {inp})`, where its reciprocal, `1 / ({inp} * (1 - {inp}))`, belongs",
    lambda c: c.args[0] * (1 - c.args[0])), written=lambda args, **_: "1 / ({inp} * (1 - {inp}))" if len(args) < 2 or
    args[1] is None else ""))
rule(aten.log_sigmoid_forward.default)(_unary(lambda c: torch.sigmoid(-c.args[0]), "logsigmoid", (
    "is sigmoid's own value, `torch.sigmoid({left})`, where `torch.sigmoid(-{left})` belongs",
    lambda c: torch.sigmoid(c.args[0])), written="torch.sigmoid(-{left})"))
rule(aten.atan2.default)(Rule(_binary(lambda c: c.g * c.args[1] / (c.args[0] ** 2 + c.args[1] ** 2),
                                      lambda c: -c.g * c.args[0] / (c.args[0] ** 2 + c.args[1] ** 2)), code="atan2"))
rule(aten.logaddexp.default)(Rule(_binary(lambda c: c.g * torch.sigmoid(c.args[0] - c.args[1]),
                                          lambda c: c.g * torch.sigmoid(c.args[1] - c.args[0])), (
    Slip("gives each operand the other's share: sigmoid(b - a) where sigmoid(a - b) belongs",
         _binary(lambda c: c.g * torch.sigmoid(c.args[1] - c.args[0]), lambda c: c.g * torch.sigmoid(c.args[0] - c.args[1]))),
), "logaddexp"))


def _lerp(c: Ctx):
    weight = _other(c, 2)
    return (unbroadcast(c.g * (1 - weight), c.args[0]), unbroadcast(c.g * weight, c.args[1]),
            unbroadcast(c.g * (c.args[1] - c.args[0]), weight) if isinstance(c.arg(2), torch.Tensor) else None)


rule(aten.lerp.Scalar, aten.lerp.Tensor)(Rule(_lerp, (
    Slip("gives the start the weight and the end 1 - weight (the two swapped)",
         lambda c: (unbroadcast(c.g * _other(c, 2), c.args[0]), unbroadcast(c.g * (1 - _other(c, 2)), c.args[1]),
                    _lerp(c)[2])),
), "lerp"))


def _addcmul(c: Ctx):
    value = c.kwargs.get("value", c.arg(3, 1))
    return (unbroadcast(c.g, c.args[0]), unbroadcast(c.g * value * c.args[2], c.args[1]),
            unbroadcast(c.g * value * c.args[1], c.args[2]))


rule(aten.addcmul.default)(Rule(_addcmul, code="addcmul"))

rule(aten.embedding.default)(Rule(_embedding, (Slip(_OVERWRITTEN, lambda c: _embedding(c, accumulate=False),
                                                    _written_once(_embedding_rows)),), "[…]"))
rule(aten.index_select.default)(Rule(lambda c: (torch.zeros_like(c.args[0]).index_add(c.args[1], c.args[2], c.g),
                                                None, None), (
    Slip(_OVERWRITTEN, lambda c: (torch.zeros_like(c.args[0]).index_copy(c.args[1], c.args[2], c.g), None, None)),
), "index_select"))
rule(aten.gather.default)(Rule(lambda c: (torch.zeros_like(c.args[0]).scatter_add(c.args[1], c.args[2], c.g), None,
                                          None), (
    Slip(_OVERWRITTEN, lambda c: (torch.zeros_like(c.args[0]).scatter(c.args[1], c.args[2], c.g), None, None)),
), "gather"))
rule(aten.select.int)(Rule(lambda c: (torch.zeros_like(c.args[0]).select_scatter(c.g, c.args[1], c.args[2]),),
                           code="[…]"))
def _sliced(c: Ctx):
    """A slice's: its gradient put back in a zero tensor of the input's shape; a whole slice's (`x[:, None, :]`
    runs as slices of every row on some torch versions) is the gradient as it is, whatever a slip above made of it."""
    if c.out.shape == c.args[0].shape:
        return (c.g,)
    return (torch.zeros_like(c.args[0]).slice_scatter(c.g, c.arg(1, 0), c.arg(2), c.arg(3), c.arg(4, 1)),)


rule(aten.slice.Tensor)(Rule(_sliced, code="[…]"))


# -- shapes: views, copies, joins ----------------------------------------------------------------

def _shaped(c: Ctx):
    return (c.g.reshape(c.args[0].shape),)


def _permuted(c: Ctx):
    order = [d % c.args[0].dim() for d in c.args[1]]
    return (c.g.permute([order.index(d) for d in range(len(order))]),)


def _unsqueezed(c: Ctx):
    """unsqueeze's: the gradient in its input's shape; one that a slip above spread along the new axis (a
    broadcast's gradient not summed back, `inp[:, None, :] - c`) passes as it is, as the code that keeps it does."""
    if c.g.numel() != c.args[0].numel() and c.g.dim() == c.out.dim():
        return (c.g,)
    return _shaped(c)


rule(aten.view.default, aten._unsafe_view.default, aten.squeeze.dim, aten.squeeze.dims,
     aten.squeeze.default)(Rule(_shaped, code="reshape"))
rule(aten.unsqueeze.default)(Rule(_unsqueezed, code="reshape"))
rule(aten.permute.default)(Rule(_permuted, code="permute"))
rule(aten.t.default)(Rule(lambda c: (c.g.t(),), code=".t()"))
rule(aten.flip.default)(Rule(lambda c: (c.g.flip(c.args[1]),), code="flip"))


def _cumsum(c: Ctx, from_the_end: bool = True):
    """Each x feeds every later sum: its gradient is g summed from its own place to the end."""
    dim = c.args[1]
    return ((c.g.flip(dim).cumsum(dim).flip(dim) if from_the_end else c.g.cumsum(dim)),)


rule(aten.cumsum.default)(Rule(_cumsum, (
    Slip("sums the gradient from the start where each value's sum runs from it to the end (a cumsum not reversed)",
         lambda c: _cumsum(c, from_the_end=False)),
), code="cumsum"))
rule(aten.transpose.int)(Rule(lambda c: (c.g.transpose(c.args[1], c.args[2]),), code="transpose"))
rule(aten.expand.default)(Rule(lambda c: (unbroadcast(c.g, c.args[0]),), (
    Slip("is not summed back over the broadcast axes", lambda c: (c.g,)),
), "expand"))
rule(aten.clone.default)(Rule(lambda c: (c.g,), code="clone"))
rule(aten._to_copy.default)(Rule(lambda c: (c.g.to(c.args[0].dtype),), code="to"))
rule(aten.tril.default)(Rule(lambda c: (c.g.tril(c.arg(1, 0)),), code="tril"))
rule(aten.triu.default)(Rule(lambda c: (c.g.triu(c.arg(1, 0)),), code="triu"))


rule(aten.roll.default)(Rule(lambda c: (c.g.roll([-shift for shift in _listed(c.args[1])], c.arg(2, [])),), (
    Slip("rolls the gradient the way the forward rolls its input, where the opposite shift belongs",
         lambda c: (c.g.roll(c.args[1], c.arg(2, [])),)),
), "roll"))


def _listed(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _repeat(c: Ctx, reduce: str = "sum"):
    """Each value is in every tile: its gradient is g summed over the tiles."""
    x, repeats = c.args[0], list(c.args[1])
    shape = [1] * (len(repeats) - x.dim()) + list(x.shape)
    tiles = c.g.reshape([size for r, s in zip(repeats, shape) for size in (r, s)])
    return (getattr(tiles, reduce)(tuple(range(0, 2 * len(repeats), 2))).reshape(x.shape),)


rule(aten.repeat.default)(Rule(_repeat, (
    Slip("averages the gradient over the tiles where their sum belongs", lambda c: _repeat(c, "mean")),
), "repeat"))
rule(aten.constant_pad_nd.default)(Rule(lambda c: (torch.constant_pad_nd(c.g, [-p for p in c.args[1]]),), code="pad"))


def _others_product(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Each value's gradient of a product along `dim`: the product of the others (zeros included,
    where out / x cannot say it), from the products before it and after it."""
    ones = torch.ones_like(x.narrow(dim, 0, 1))
    before = torch.cat([ones, x.narrow(dim, 0, x.shape[dim] - 1)], dim).cumprod(dim)
    after = torch.cat([x.narrow(dim, 1, x.shape[dim] - 1), ones], dim).flip(dim).cumprod(dim).flip(dim)
    return before * after


def _prod(c: Ctx, slip: bool = False):
    x = c.args[0]
    if len(c.args) == 1 or not isinstance(c.args[1], int):  # the product of everything
        others = _others_product(x.reshape(-1), 0).reshape(x.shape)
        return (c.g * (c.out if slip else others),)
    dim = c.args[1] % x.dim()
    g = c.g if _keepdim(c, 2) else c.g.unsqueeze(dim)
    out = c.out if _keepdim(c, 2) else c.out.unsqueeze(dim)
    return (g * (out if slip else _others_product(x, dim)),)


rule(aten.prod.default, aten.prod.dim_int)(Rule(_prod, (
    Slip("is missing the division by the value it differentiates: `out` where `out / x` (the others' product) belongs",
         lambda c: _prod(c, slip=True)),
), "prod"))


def _convolution(c: Ctx):
    """torch's own convolution_backward, as derivatives.yaml has it."""
    x, weight, bias = c.args[0], c.args[1], c.args[2]
    stride, padding, dilation, transposed, output_padding, groups = c.args[3:9]
    grads = torch.ops.aten.convolution_backward(c.g, x, weight, None if bias is None else list(bias.shape), stride,
                                                padding, dilation, transposed, output_padding, groups,
                                                [True, True, bias is not None])
    return grads[0], grads[1], grads[2] if bias is not None else None


rule(aten.convolution.default)(Rule(_convolution, code="conv"))


def _cat(c: Ctx):
    dim = c.arg(1, 0)
    sizes = [t.shape[dim] if t.dim() else 0 for t in c.args[0]]
    return (list(c.g.split(sizes, dim)),)


rule(aten.cat.default)(Rule(_cat, code="cat"))
rule(aten.stack.default)(Rule(lambda c: (list(c.g.unbind(c.arg(1, 0))),), code="stack"))


# Tensors made of another's shape, dtype and device alone: constants, as `torch.zeros(n)` is (the recorder
# does not trace them, nor what is written into them: a smoothed one-hot made by `full_like(z, eps)`).
MADE_LIKE = frozenset({
    aten.zeros_like.default, aten.ones_like.default, aten.full_like.default, aten.empty_like.default,
    aten.rand_like.default, aten.randn_like.default, aten.new_zeros.default, aten.new_ones.default,
    aten.new_full.default, aten.new_empty.default,
})
# What gives no gradient: comparisons, masks, indices, shapes, constants made from a tensor, and a
# value taken out of torch (.item()); autograd gives none through them either.
NO_GRADIENT = MADE_LIKE | frozenset({
    aten.gt.Scalar, aten.gt.Tensor, aten.lt.Scalar, aten.lt.Tensor, aten.ge.Scalar, aten.ge.Tensor, aten.le.Scalar,
    aten.le.Tensor, aten.eq.Scalar, aten.eq.Tensor, aten.ne.Scalar, aten.ne.Tensor, aten.argmax.default,
    aten.argmin.default, aten.sign.default, aten.floor.default, aten.ceil.default, aten.round.default,
    aten.detach.default, aten.lift_fresh.default,
    aten._local_scalar_dense.default, aten.logical_not.default, aten.logical_and.default, aten.isnan.default,
    aten.isinf.default, aten.isfinite.default, aten.one_hot.default, aten.bitwise_not.default, aten.sym_size.int,
    aten.scalar_tensor.default, aten.is_nonzero.default, aten.any.default, aten.all.default, aten.nonzero.default,
})
