"""A layer's formula as a small expression: evaluated on the layer's tensors, written as code in
the layer's names, and varied one edit at a time to name a slip.

An expression is a tree of a few node types (a name, a sum of signed terms, a product with a
numerator and a denominator, a matmul, a transpose, a reduction, a mask, a power, a method call,
a softmax). Each node knows the slips a person makes in it: a term dropped or its sign flipped,
a factor dropped, counted twice or moved across the fraction bar, a reduction over another
axis, a mask inverted, a matmul's operands swapped. `variants()` yields every expression one
such edit away from the original, with the edit in words; the diagnosis evaluates them and
names the one that reproduces the user's tensor.

No torch import here: the nodes call tensor methods. `shape()` gives an expression's shape from
its names' shapes alone, by torch's rules, so that a variant of another shape (an N×N broadcast
among them) is never computed. (torch's "meta" device would do it too, but its first
elementwise operation imports torch._dynamo: most of a second.)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

Env = Mapping[str, object]  # a name of the formula -> a tensor or a number
Shape = tuple[int, ...]
Shapes = Mapping[str, Shape]  # a name of the formula -> its shape (a number's is ())


class ShapeError(ValueError):
    """The operands' shapes do not fit (torch would raise)."""


def broadcast(*shapes: Shape) -> Shape:
    """The shape of an elementwise operation on operands of these shapes."""
    result: list[int] = []
    for shape in shapes:
        padded = [1] * (len(shape) - len(result)) + result
        own = [1] * (len(padded) - len(shape)) + list(shape)
        for i, (a, b) in enumerate(zip(padded, own)):
            if a != b and 1 not in (a, b):
                raise ShapeError(f"{shapes} do not broadcast")
            padded[i] = b if a == 1 else a
        result = padded
    return tuple(result)


def _axis(dim: int, ndim: int) -> int:
    if not -ndim <= dim < max(ndim, 1):
        raise ShapeError(f"no axis {dim} in {ndim} dimensions")
    return dim % max(ndim, 1)


@dataclass(frozen=True)
class Swaps:
    """The slips of names a kind allows: `out` where `out.g` belongs, `inp` for `xhat`, …"""

    names: Mapping[str, tuple[str, ...]]

    def of(self, name: str) -> tuple:
        """What `name` may be confused with: other names, or an expression (`out * gamma` for dxhat)."""
        return self.names.get(name, ())


NO_SWAPS = Swaps({})
Variant = tuple["Expr", str]  # an expression one edit away, and the edit in words


class Expr:
    precedence = 9  # binds tightest: a name, a call; lower numbers need parentheses inside higher ones

    def eval(self, env: Env):
        raise NotImplementedError

    def code(self) -> str:
        raise NotImplementedError

    def shape(self, shapes: Shapes) -> Shape:
        """The value's shape, from the names' shapes (ShapeError: torch would raise)."""
        raise NotImplementedError

    def variants(self, swaps: Swaps) -> Iterator[Variant]:
        """Every expression one slip away from this one."""
        return iter(())

    def names(self) -> set[str]:
        return set()

    def wrapped(self, precedence: int) -> str:
        return f"({self.code()})" if self.precedence < precedence else self.code()


# How a person says a confusion of two names (what was used, where what belongs).
SWAP_WORDS = {
    ("out", "out.g"): "built from `out`, the layer's output, where its gradient `out.g` belongs",
    ("inp", "out"): "taken from the input `inp` where the output `out` belongs",
    ("out.tanh()", "out"): "with tanh applied twice: `out.tanh()` where `out`, already tanh(inp), belongs",
    ("out", "inp"): "taken from the output `out` where the input `inp` belongs",
    ("inp", "xhat"): "with the raw input `inp` where the normalised `xhat` belongs",
    ("out", "xhat"): "with the output `out` where the normalised `xhat` belongs",
    ("var", "std"): "with the variance `var` where the standard deviation `std` belongs (a missing .sqrt())",
    ("out.g", "dxhat"): "with `out.g` where `dxhat = out.g * gamma` belongs (the gain gamma left out)",
    ("gamma", "dxhat"): "with `gamma` where `dxhat = out.g * gamma` belongs (the gradient from above, out.g, left out)",
    ("out * gamma", "dxhat"): "with `out * gamma` where `dxhat = out.g * gamma` belongs: built from `out`, the layer's "
                              "output, where its gradient `out.g` belongs",
    ("inp / std", "xhat"): "with `inp / std` where `xhat = (inp - inp.mean(0)) / std` belongs (the input not centred)",
    ("inp - inp.mean(0)", "xhat"): "with `inp - inp.mean(0)` where `xhat = (inp - inp.mean(0)) / std` belongs (not "
                                   "divided by std)",
    ("1", "one_hot"): "with 1 subtracted from every probability, where the one-hot (1 at the target class only) "
                      "belongs",
}


@dataclass(frozen=True)
class Name(Expr):
    """A tensor or a number of the layer: inp, out, out.g, w, N, xhat, …; `says` names it in words,
    `off` names the slip of dropping it as a factor (off by the batch size)."""

    name: str
    says: str = ""
    off: str = ""

    def eval(self, env: Env):
        return env[self.name]

    def shape(self, shapes: Shapes) -> Shape:
        return shapes[self.name]

    def code(self) -> str:
        return self.name

    def names(self) -> set[str]:
        return {self.name}

    def variants(self, swaps: Swaps) -> Iterator[Variant]:
        for other in swaps.of(self.name):
            yield _swap(other, self.name)


def _swap(other, name: str) -> Variant:
    """`other` (a name or an expression) where `name` belongs, and that in words."""
    expr = other if isinstance(other, Expr) else Name(other)
    return expr, SWAP_WORDS.get((expr.code(), name), f"with `{expr.code()}` where `{name}` belongs")


@dataclass(frozen=True)
class Num(Expr):
    value: float
    off: str = ""  # off by 2

    says = ""

    def eval(self, env: Env):
        return self.value

    def shape(self, shapes: Shapes) -> Shape:
        return ()

    def code(self) -> str:
        return f"{self.value:g}"


class Unary(Expr):
    """A node over one expression `x`: its names are x's, and a slip inside x is a slip of it."""

    x: Expr

    def names(self) -> set[str]:
        return self.x.names()

    def shape(self, shapes: Shapes) -> Shape:  # elementwise
        return self.x.shape(shapes)

    def inner_variants(self, swaps: Swaps) -> Iterator[Variant]:
        for variant, words in self.x.variants(swaps):
            yield replace(self, x=variant), words

    def dropped(self) -> str:
        """The slip of leaving this node out (its child alone), in words."""
        raise NotImplementedError

    def variants(self, swaps: Swaps) -> Iterator[Variant]:
        yield self.x, self.dropped()
        yield from self.inner_variants(swaps)


@dataclass(frozen=True)
class Said(Expr):
    """An expression with a name in words: `N / (N - 1)`, Bessel's correction."""

    expr: Expr
    says: str

    @property
    def precedence(self) -> int:
        return self.expr.precedence

    def eval(self, env: Env):
        return self.expr.eval(env)

    def shape(self, shapes: Shapes) -> Shape:
        return self.expr.shape(shapes)

    def code(self) -> str:
        return self.expr.code()

    def names(self) -> set[str]:
        return self.expr.names()


@dataclass(frozen=True)
class Term:
    sign: int  # +1 or -1
    expr: Expr
    label: str = ""  # "the mean term": how a person names it


@dataclass(frozen=True)
class Sum(Expr):
    """Signed terms: a - b + c."""

    terms: tuple[Term, ...]
    scalings: tuple[tuple[Expr, str], ...] = ()  # factors a term may wrongly carry (n/(n−1)), in words
    confusions: tuple[tuple[Expr, str], ...] = ()  # what the whole sum is taken for (sigmoid's derivative), in words
    precedence = 4

    def eval(self, env: Env):
        total = None
        for term in self.terms:
            value = term.expr.eval(env)
            value = value if term.sign > 0 else -value
            total = value if total is None else total + value
        return total

    def code(self) -> str:
        parts = []
        for i, term in enumerate(self.terms):
            text = term.expr.wrapped(5 if i or term.sign < 0 else 4)
            sign = "-" if term.sign < 0 else "+"
            parts.append((f"-{text}" if term.sign < 0 else text) if i == 0 else f"{sign} {text}")
        return " ".join(parts)

    def names(self) -> set[str]:
        return set().union(*(term.expr.names() for term in self.terms))

    def shape(self, shapes: Shapes) -> Shape:
        return broadcast(*(term.expr.shape(shapes) for term in self.terms))

    def _with(self, terms: tuple[Term, ...]) -> Expr:
        if len(terms) == 1 and terms[0].sign > 0:
            return terms[0].expr
        return Sum(terms, self.scalings, self.confusions)

    def _term_code(self, term: Term) -> str:
        text = term.expr.wrapped(5)
        return f"{'-' if term.sign < 0 else '+'} {text}"

    def variants(self, swaps: Swaps) -> Iterator[Variant]:
        for i, term in enumerate(self.terms):
            what = f"{term.label} `{self._term_code(term)}`" if term.label else f"the term `{self._term_code(term)}`"
            before, after = self.terms[:i], self.terms[i + 1:]
            if len(self.terms) > 1:
                yield self._with(before + after), f"without {what}"
            flipped = replace(term, sign=-term.sign)
            yield self._with(before + (flipped,) + after), f"with the sign of {what} flipped (`{self._term_code(flipped)}`)"
            for factor, words in self.scalings:
                inner, sign = term.expr, term.sign
                if isinstance(factor, Num) and factor.value < 0:  # written `+ 2 * …`, not `- -2 * …`
                    factor, sign = replace(factor, value=-factor.value), -sign
                scaled = replace(term, sign=sign, expr=Prod((factor, *inner.num), inner.den) if isinstance(inner, Prod)
                                 else Prod((factor, inner)))
                yield self._with(before + (scaled,) + after), f"with {what} times {words}"
            for variant, words in term.expr.variants(swaps):
                yield self._with(before + (replace(term, expr=variant),) + after), words
        yield from self.confusions
        yield from self._operator_swaps()

    def _operator_swaps(self) -> Iterator[Variant]:
        """`a * b` or `a / b` where `a - b` belongs (what is left of the operator taken whole, as
        Python reads `a - b + c` from the left), or `b` alone: the operator mistyped or its left side lost."""
        for i in range(1, len(self.terms)):
            left, right, rest = self._with(self.terms[:i]), self.terms[i].expr, self.terms[i + 1:]
            written = "-" if self.terms[i].sign < 0 else "+"
            for combined, symbol in ((Prod((left, right)), "*"), (Prod((left,), (right,)), "/")):
                yield self._with((Term(1, combined), *rest)), f"with `{symbol}` where `{written}` belongs"
            yield self._with((Term(1, right), *rest)), (f"with `{right.code()}` where "
                                                        f"`{self._with(self.terms[:i + 1]).code()}` belongs (the "
                                                        f"left side of `{written}` lost, and its sign)")


@dataclass(frozen=True)
class Prod(Expr):
    """num[0] * num[1] * … / (den[0] * den[1] * …)."""

    num: tuple[Expr, ...]
    den: tuple[Expr, ...] = ()
    precedence = 5

    def eval(self, env: Env):
        value = None
        for factor in self.num:
            f = factor.eval(env)
            value = f if value is None else value * f
        value = 1.0 if value is None else value
        for factor in self.den:
            value = value / factor.eval(env)
        return value

    def code(self) -> str:
        top = " * ".join(f.wrapped(6) for f in self.num) or "1"
        if not self.den:
            return top
        bottom = self.den[0].wrapped(7) if len(self.den) == 1 else f"({' * '.join(f.wrapped(6) for f in self.den)})"
        return f"{top} / {bottom}"

    def names(self) -> set[str]:
        return set().union(*(f.names() for f in self.num + self.den))

    def shape(self, shapes: Shapes) -> Shape:
        return broadcast(*(f.shape(shapes) for f in self.num + self.den))

    def variants(self, swaps: Swaps) -> Iterator[Variant]:
        # A confusion inside a factor (`var` for `std`) before the factor's own slips: where both give
        # the same numbers (var ≈ std · std), the name a person confused is the likelier story.
        for i, factor in enumerate(self.num):
            for variant, words in factor.variants(swaps):
                yield self._with(self.num[:i] + (variant,) + self.num[i + 1:], self.den), words
        for i, factor in enumerate(self.den):
            for variant, words in factor.variants(swaps):
                yield self._with(self.num, self.den[:i] + (variant,) + self.den[i + 1:]), words
        for i, factor in enumerate(self.num):
            rest = self.num[:i] + self.num[i + 1:]
            if rest or self.den:
                yield self._with(rest, self.den), _off(factor, f"without the factor {_said(factor)}")
            yield self._with(self.num[:i + 1] + (factor,) + self.num[i + 1:], self.den), _off(
                factor, f"with the factor {_said(factor)} twice")
            if not isinstance(factor, Num):
                yield self._with(rest, self.den + (factor,)), f"divided by {_said(factor)} where it multiplies"
        for i, factor in enumerate(self.den):
            rest = self.den[:i] + self.den[i + 1:]
            yield self._with(self.num, rest), _off(factor, f"without the division by {_said(factor)}")
            yield self._with(self.num, self.den[:i + 1] + (factor,) + self.den[i + 1:]), _off(
                factor, f"divided by {_said(factor)} twice")
            yield self._with(self.num + (factor,), rest), _off(factor, f"multiplied by {_said(factor)} where it divides")

        yield from self._without_parentheses()
        yield from self._operator_swaps()

    def _operator_swaps(self) -> Iterator[Variant]:
        """`a + b` or `a - b` (either way round) where `a * b` or `a / b` belongs: the operator
        mistyped; what follows it in the product applies to the result, as Python reads `a * b / c`."""
        splits = [(self._with(self.num[:k], ()), self.num[k], self.num[k + 1:], self.den, "*")
                  for k in range(1, len(self.num))]
        if self.num and self.den:
            splits.append((self._with(self.num, ()), self._with(self.den, ()), (), (), "/"))
        for left, right, rest_num, rest_den, written in splits:
            for combined, symbol in ((Sum((Term(1, left), Term(1, right))), "+"),
                                     (Sum((Term(1, left), Term(-1, right))), "-"),
                                     (Sum((Term(1, right), Term(-1, left))), "-")):
                yield self._with((combined, *rest_num), rest_den), f"with `{symbol}` where `{written}` belongs"

    def _without_parentheses(self) -> Iterator[Variant]:
        """`1 - out**2 * out.g` for `(1 - out**2) * out.g`: a sum's parentheses left out, so that the
        other factors take one of its terms only: its last when written after it (or any divisor),
        its first when written before it (`out.g * 1 - out**2`)."""
        for i, factor in enumerate(self.num):
            if not isinstance(factor, Sum) or len(factor.terms) < 2:
                continue
            others = self.num[:i] + self.num[i + 1:]
            first, last = factor.terms[0], factor.terms[-1]
            words = f"without the parentheses around `{factor.code()}`"
            if others or self.den:
                last_only = replace(last, expr=self._with((last.expr, *others), self.den))
                yield Sum((*factor.terms[:-1], last_only), factor.scalings, factor.confusions), words
            if others:
                first_only = replace(first, expr=self._with((*others, first.expr), ()))
                terms = (first_only, *factor.terms[1:])
                if self.den:
                    terms = (*terms[:-1], replace(last, expr=self._with((last.expr,), self.den)))
                yield Sum(terms, factor.scalings, factor.confusions), words

    @staticmethod
    def _with(num: tuple[Expr, ...], den: tuple[Expr, ...]) -> Expr:
        return num[0] if len(num) == 1 and not den else Prod(num, den)


def _said(factor: Expr) -> str:
    said = f"`{factor.code()}`"
    return f"{said} ({factor.says})" if getattr(factor, "says", "") else said


def _off(factor: Expr, words: str) -> str:
    """"off by the batch size: without the division by `N`": the name of the slip first, when it has one."""
    off = getattr(factor, "off", "")
    return f"{words} ({off})" if off else words


@dataclass(frozen=True)
class MatMul(Expr):
    a: Expr
    b: Expr
    precedence = 6

    def eval(self, env: Env):
        return self.a.eval(env) @ self.b.eval(env)

    def code(self) -> str:
        return f"{self.a.wrapped(6)} @ {self.b.wrapped(7)}"

    def names(self) -> set[str]:
        return self.a.names() | self.b.names()

    def shape(self, shapes: Shapes) -> Shape:
        a, b = self.a.shape(shapes), self.b.shape(shapes)
        if not a or not b:
            raise ShapeError("@ of a scalar")
        inner_a, inner_b = a[-1], (b[0] if len(b) == 1 else b[-2])
        if inner_a != inner_b:
            raise ShapeError(f"{a} @ {b}")
        if len(a) == 1 and len(b) == 1:
            return ()
        if len(b) == 1:
            return a[:-1]
        if len(a) == 1:
            return b[:-2] + b[-1:]
        return broadcast(a[:-2], b[:-2]) + (a[-2], b[-1])

    def variants(self, swaps: Swaps) -> Iterator[Variant]:
        yield T(self), "transposed"
        yield MatMul(self.b, self.a), "with the operands of @ swapped"
        for variant, words in self.a.variants(swaps):
            yield MatMul(variant, self.b), words
        for variant, words in self.b.variants(swaps):
            yield MatMul(self.a, variant), words
        yield Prod((self.a, self.b)), "with `*` (elementwise) where `@` (a matrix product) belongs"
        yield Sum((Term(1, self.a), Term(1, self.b))), "with `+` where `@` belongs"
        yield Sum((Term(1, self.a), Term(-1, self.b))), "with `-` where `@` belongs"
        yield Prod((self.a,), (self.b,)), "with `/` where `@` belongs"
        if isinstance(self.a, T):  # x.t() @ b is the outer product summed over the batch
            outer = f"({self.a.x.wrapped(9)}.unsqueeze(-1) * {self.b.wrapped(9)}.unsqueeze(1)).sum(0)"
            column, row = Method(Reduce(self.a.x, 0), "unsqueeze", -1), Method(Reduce(self.b, 0), "unsqueeze", 0)
            for sign, symbol in ((1, "+"), (-1, "-")):  # summed as written, that would be N·784·50 numbers
                yield Sum((Term(1, column), Term(sign, row))), f"with `{symbol}` where `*` belongs in the outer product {outer}"


@dataclass(frozen=True)
class T(Unary):
    x: Expr

    def eval(self, env: Env):
        return self.x.eval(env).t()

    def shape(self, shapes: Shapes) -> Shape:
        x = self.x.shape(shapes)
        if len(x) > 2:
            raise ShapeError(".t() of more than 2 dimensions")
        return x[::-1]

    def code(self) -> str:
        return f"{self.x.wrapped(9)}.t()"

    def variants(self, swaps: Swaps) -> Iterator[Variant]:
        if not isinstance(self.x, MatMul):
            yield self.x, f"without the transpose of `{self.x.code()}`"
        yield from self.inner_variants(swaps)


AXES = {0: "the batch (axis 0)", 1: "the features (axis 1)"}


@dataclass(frozen=True)
class Reduce(Unary):
    """x.sum(dim, keepdim) or x.mean(dim); dim None: over every axis."""

    x: Expr
    dim: int | None = 0
    keepdim: bool = False
    op: str = "sum"

    def eval(self, env: Env):
        x = self.x.eval(env)
        reduce = getattr(x, self.op)
        return reduce() if self.dim is None else reduce(self.dim, keepdim=self.keepdim)

    def shape(self, shapes: Shapes) -> Shape:
        x = self.x.shape(shapes)
        if self.dim is None:
            return ()
        if not x:
            _axis(self.dim, 0)
            return ()
        axis = _axis(self.dim, len(x))
        return x[:axis] + ((1,) if self.keepdim else ()) + x[axis + 1:]

    def code(self) -> str:
        args = "" if self.dim is None else f"{self.dim}{', keepdim=True' if self.keepdim else ''}"
        return f"{self.x.wrapped(9)}.{self.op}({args})"

    def variants(self, swaps: Swaps) -> Iterator[Variant]:
        done = "summed" if self.op == "sum" else "averaged"
        if self.dim is not None:
            axis = AXES.get(self.dim, f"axis {self.dim}")
            extra = ", an extra batch dimension" if self.dim == 0 else ""
            yield self.x, f"not {done} over {axis}{extra}"
            yield replace(self, dim=None, keepdim=False), f"{done} over every axis, not over {axis} only"
            yield replace(self, keepdim=not self.keepdim), f"{'with' if not self.keepdim else 'without'} keepdim=True"
            other = 1 if self.dim == 0 else 0
            other_axis = AXES.get(other, f"axis {other}")
            yield replace(self, dim=other), f"{done} over {other_axis} instead of {axis}"
            yield replace(self, dim=other, keepdim=True), f"{done} over {other_axis} (keepdim=True) instead of {axis}"
        other_op = "mean" if self.op == "sum" else "sum"
        off = " (off by the batch size)" if self.dim == 0 else ""
        yield replace(self, op=other_op), f"with a {other_op} where the {self.op} belongs{off}"
        yield from self.inner_variants(swaps)


OPPOSITE = {">": "<", "<": ">", ">=": "<=", "<=": ">="}


@dataclass(frozen=True)
class Mask(Unary):
    """(x > 0) as a mask: a boolean tensor that multiplies."""

    x: Expr
    op: str = ">"
    confusions: tuple[tuple[Expr, str], ...] = ()  # what the mask is taken for (the function itself), in words

    def eval(self, env: Env):
        x = self.x.eval(env)
        mask = {">": x.__gt__, "<": x.__lt__, ">=": x.__ge__, "<=": x.__le__}[self.op](0)
        return mask.to(x.dtype)  # a number, as the user's `(inp > 0).float()` is: `mask - out.g` runs

    def code(self) -> str:
        return f"({self.x.wrapped(9)} {self.op} 0)"

    def variants(self, swaps: Swaps) -> Iterator[Variant]:
        flipped = replace(self, op=OPPOSITE[self.op])
        yield flipped, f"with the mask inverted, `{flipped.code()}`"
        for variant, words in self.x.variants(swaps):
            if isinstance(variant, Name):
                words = f"with the mask taken from `{variant.code()}` instead of `{self.x.code()}`"
            yield replace(self, x=variant), words
        yield from self.confusions


@dataclass(frozen=True)
class Pow(Unary):
    x: Expr
    power: float = 2  # 0.5: a square root

    def eval(self, env: Env):
        return self.x.eval(env) ** self.power

    def code(self) -> str:
        return f"{self.x.wrapped(9)}**{self.power}"

    def dropped(self) -> str:
        return f"without the power {self.power} of `{self.x.code()}`"

    def variants(self, swaps: Swaps) -> Iterator[Variant]:
        yield from super().variants(swaps)
        if self.power >= 1:
            yield replace(self, power=self.power + 1), f"with the power {self.power + 1:g} where {self.power:g} belongs"
        power = Num(self.power)
        for swapped, symbol in ((Prod((self.x, power)), "*"), (Prod((self.x,), (power,)), "/"),
                                (Sum((Term(1, self.x), Term(1, power))), "+"), (Sum((Term(1, self.x), Term(-1, power))), "-")):
            yield swapped, f"with `{symbol} {self.power:g}` where `**{self.power:g}` belongs"


@dataclass(frozen=True)
class Method(Unary):
    """x.squeeze(-1), x.unsqueeze(-1), x.tanh(): a call a slip may leave out (or add); `elementwise`:
    its value has x's shape (tanh applied twice, as kinds.py writes it)."""

    x: Expr
    method: str
    arg: int | None = None
    elementwise: bool = False

    def eval(self, env: Env):
        x = self.x.eval(env)
        return getattr(x, self.method)() if self.arg is None else getattr(x, self.method)(self.arg)

    def shape(self, shapes: Shapes) -> Shape:
        x = self.x.shape(shapes)
        if self.method == "unsqueeze":
            axis = _axis(self.arg, len(x) + 1)
            return x[:axis] + (1,) + x[axis:]
        if self.method == "squeeze":
            if not x:
                return x
            axis = _axis(self.arg, len(x))
            return x[:axis] + x[axis + 1:] if x[axis] == 1 else x
        if self.elementwise:
            return x
        raise ShapeError(f"no shape rule for .{self.method}()")

    def code(self) -> str:
        return f"{self.x.wrapped(9)}.{self.method}({'' if self.arg is None else self.arg})"

    def dropped(self) -> str:
        return f"without .{self.method}({'' if self.arg is None else self.arg})"


@dataclass(frozen=True)
class Softmax(Unary):
    """softmax over `dim`, made stable by subtracting the max over `max_dim` (each row's, when right)."""

    x: Expr
    dim: int = 1
    max_dim: int = 1
    form: str = "softmax"  # softmax, log_softmax, or exp: not normalised

    def shape(self, shapes: Shapes) -> Shape:
        x = self.x.shape(shapes)
        if self.form != "over every axis":
            _axis(self.max_dim, len(x))
            _axis(self.dim, len(x))
        return x

    def eval(self, env: Env):
        x = self.x.eval(env)
        if self.form == "raw exp":
            return x.exp()
        if self.form == "over every axis":  # exp(x) / Σ exp(x) over the whole batch: the global max cancels
            e = (x - x.max()).exp()
            return e / e.sum()
        e = (x - x.max(self.max_dim, keepdim=True).values).exp()
        if self.form == "exp":
            return e
        total = e.sum(self.dim, keepdim=True)
        return e / total if self.form == "softmax" else e.log() - total.log()

    def code(self) -> str:
        x = self.x.wrapped(9)
        if self.form == "raw exp":
            return f"{x}.exp()"
        if self.form == "over every axis":
            return f"{x}.exp() / {x}.exp().sum()"
        if self.form == "exp":
            return f"({x} - {x}.max({self.max_dim}, keepdim=True).values).exp()"
        stable = "" if self.max_dim == self.dim else f" - {x}.max({self.max_dim}, keepdim=True).values"
        inner = f"({x}{stable})" if stable else x
        return f"{inner}.{self.form}({self.dim})"

    def variants(self, swaps: Swaps) -> Iterator[Variant]:
        if self.form == "softmax":
            yield replace(self, form="log_softmax"), "with log-probabilities (log_softmax) where probabilities belong"
            yield replace(self, form="exp"), "with exp() not divided by its row sum (the softmax is not normalised)"
            yield replace(self, form="raw exp"), "with exp() not divided by its row sum (the softmax is not normalised)"
            yield replace(self, form="over every axis"), ("with exp() divided by its sum over the whole batch, where "
                                                          "each row's sum belongs (a .sum() without its axis)")
        if self.form == "softmax":  # exp(max - x): the max minus x, each sign the other way round
            yield replace(self, x=Prod((Num(-1), self.x))), ("with `max - inp` where `inp - max` belongs in the "
                                                             "exponent: the softmax of -inp")
        other = 0 if self.dim == 1 else 1
        yield replace(self, dim=other, max_dim=other), f"with the softmax over axis {other} instead of axis {self.dim}"
        yield replace(self, max_dim=other), f"with the max subtracted over axis {other} instead of each row's"
        yield from self.inner_variants(swaps)


@dataclass(frozen=True)
class Formula:
    """What one tensor of a layer should be: `inp.g = out.g @ w.t()`."""

    target: str  # inp.g, w.g, out
    expr: Expr
    swaps: Swaps = NO_SWAPS
    defs: tuple[tuple[str, str], ...] = ()  # names the code uses, defined: ("dxhat", "out.g * gamma")

    def code(self, expr: Expr | None = None) -> str:
        return f"{self.target} = {(expr or self.expr).code()}"

    def where(self, expr: Expr | None = None) -> str:
        """The definitions of the names the code uses, in words: ", with dxhat = out.g * gamma"."""
        used = (expr or self.expr).names()
        wanted, grew = set(used), True
        while grew:  # a definition may use another
            grew = False
            for name, definition in self.defs:
                if name in wanted:
                    for other, _ in self.defs:
                        if other not in wanted and _mentions(definition, other):
                            wanted.add(other)
                            grew = True
        defined = [f"{name} = {definition}" for name, definition in self.defs if name in wanted]
        return f", with {', '.join(defined)}" if defined else ""

    def variants(self) -> Iterator[Variant]:
        """One edit anywhere in the formula; a name confused everywhere it appears (`out.g` for every
        `dxhat`); a reduction the formula does not have (a per-row gradient summed over the batch)."""
        yield from self.expr.variants(self.swaps)
        counts: dict[str, int] = {}
        _count_names(self.expr, counts)
        for name, count in counts.items():
            if count > 1:
                for other in self.swaps.of(name):
                    expr, words = _swap(other, name)
                    yield substitute(self.expr, name, expr), f"{words}, everywhere it appears"
        yield from _reduced_factors(self.expr)
        for reduced, words in ((Reduce(self.expr, 0), "summed over the batch, where each row keeps its own gradient"),
                               (Reduce(self.expr, None), "summed over every axis, where each element keeps its own "
                                                         "gradient"),
                               (Reduce(self.expr, 0, op="mean"), "averaged over the batch, where each row keeps its own "
                                                                 "gradient")):
            yield reduced, words


def _reduced_factors(expr: Expr) -> Iterator[Variant]:
    """One factor of a per-row product summed or averaged over the batch (`out.g.sum(0)`), in a
    formula that reduces nothing (in one over the batch's statistics, such a variant would alias
    their own reductions)."""
    if not isinstance(expr, Prod) or _contains(expr, Reduce):
        return
    factors = [i for i, f in enumerate(expr.num) if not isinstance(f, Num) and f.names() - {"N"}]
    if len(factors) < 2:
        return
    for i in factors:
        for op, done in (("sum", "summed"), ("mean", "averaged")):
            reduced = Reduce(expr.num[i], 0, op=op)
            yield Prod(expr.num[:i] + (reduced,) + expr.num[i + 1:], expr.den), (
                f"with {_said(expr.num[i])} {done} over the batch, where each row keeps its own")


def _contains(expr: Expr, kind: type) -> bool:
    return isinstance(expr, kind) or any(_contains(child, kind) for child in _children(expr))


def _count_names(expr: Expr, counts: dict[str, int]) -> None:
    if isinstance(expr, Name):
        counts[expr.name] = counts.get(expr.name, 0) + 1
    for child in _children(expr):
        _count_names(child, counts)


def _children(expr: Expr) -> list[Expr]:
    children = []
    for value in vars(expr).values():
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, Term):
                children.append(item.expr)
            elif isinstance(item, Expr):
                children.append(item)
    return children


def substitute(expr: Expr, name: str, new: Expr) -> Expr:
    """The expression with every `name` replaced by `new`."""
    if isinstance(expr, Name):
        return new if expr.name == name else expr

    def swap(value):
        if isinstance(value, tuple):
            return tuple(swap(item) for item in value)
        if isinstance(value, Term):
            return replace(value, expr=substitute(value.expr, name, new))
        return substitute(value, name, new) if isinstance(value, Expr) else value

    return replace(expr, **{key: swap(value) for key, value in vars(expr).items()})


def _mentions(code: str, name: str) -> bool:
    import re

    return re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", code) is not None

