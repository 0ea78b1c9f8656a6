"""The derivative of an elementwise forward as code, in the forward's own names: what a fix multiplies
in where a backward left a derivative out (a GELU's `inp.g = out.g`), or adds where it left a path
out. Forward mode over the recorded operations, from the tensor differentiated by to the result,
each operation's derivative as the table writes it (`Rule.written`), the arithmetic's by the
rules of sums, products and quotients. Only where every operation on the way is elementwise in that
tensor (a mean or a matrix product spreads it over others: no single factor says that)."""

from __future__ import annotations

import ast
from collections.abc import Callable

from gradtui.derivatives import NO_GRADIENT, RULES
from gradtui.formatting import binding
from gradtui.graph import Graph, Leaf, Node, Ref

ONE = "1"
UNSAID = object()  # a derivative this cannot say: what depends on it cannot either
ARITHMETIC = frozenset({"add", "sub", "rsub", "mul", "div", "neg", "pow", "where"})


def derivative_code(graph: Graph, of: Ref, by: Leaf | Ref, operand_code: Callable[[Node, int], str],
                    placeholders: Callable[[Node], dict[str, str]], only: tuple[int, Leaf | Ref] | None = None
                    ) -> str | None:
    """d`of`/d`by`, elementwise, as code: `operand_code(node, position)` says an operand as the code
    writes it, `placeholders(node)` fills a table entry's `{out}` and `{left}`. `only` (node,
    operand): at that node, the path through that operand alone. None: not elementwise all the way,
    an operation without a written derivative, or `of` does not depend on `by`."""
    if graph.value(by).shape != graph.value(of).shape:
        return None
    found: dict = {by: ONE}
    for node in graph.nodes[by.node + 1 if isinstance(by, Ref) else 0:of.node + 1]:
        operands = [(i, a) for i, a in enumerate(node.args) if isinstance(a, (Leaf, Ref)) and found.get(a) is not None]
        if only is not None and node.index == only[0]:
            operands = [(i, a) for i, a in operands if a == only[1]]
            if not operands or node.op in NO_GRADIENT:
                return None  # no gradient runs that way (a where's mask)
        if not operands or node.op in NO_GRADIENT:  # (a mask: `inp > 0`)
            continue
        code = UNSAID if any(graph.value(a).shape != node.outputs[0].shape or found[a] is UNSAID for _, a in operands) \
            or node.kwargs.get("alpha", 1) != 1 else \
            _node(node, {i: found[a] for i, a in operands}, lambda i, n=node: operand_code(n, i), placeholders)
        if only is not None and node.index == only[0]:
            found = {}  # below it, only what runs through it
        found[Ref(node.index)] = code  # (unsaid: spread over other elements, or no derivative written for it)
    said = found.get(of)
    return None if said is UNSAID else said


def local_derivative_code(node: Node, position: int, operand_code: Callable[[Node, int], str],
                          placeholders: Callable[[Node], dict[str, str]]) -> str | None:
    """The derivative of one operation towards its operand at `position`, elementwise over its result,
    as code (a broadcast operand's gradient is it times the gradient from above, summed back); None
    where no derivative is written for it."""
    code = _node(node, {position: ONE}, lambda i: operand_code(node, i), placeholders)
    return None if code is UNSAID else code


def _node(node: Node, d: dict[int, str], operand: Callable[[int], str], placeholders) -> str | None | bool:
    """The derivative of one operation's result, given its operands' (`d`: position -> code; absent: 0).
    UNSAID: no derivative written for it."""
    name = node.name
    if name in ("add", "sub"):
        return _plus(d.get(0), _negated(d.get(1)) if name == "sub" else d.get(1))
    if name == "rsub":  # `1 - x`
        return _negated(d.get(0))
    if name == "neg":
        return _negated(d.get(0))
    if name == "mul":
        return _plus(times(d.get(0), operand(1)) if 0 in d else None, times(operand(0), d.get(1)) if 1 in d else None)
    if name == "div":
        over = _over(d.get(0), operand(1)) if 0 in d else None
        under = _negated(times(operand(0), _over(d[1], f"{_tight(operand(1), POWER + 1)} ** 2"))) if 1 in d else None
        return _plus(over, under)
    if name == "pow" and 0 in d and isinstance(node.args[1], (int, float)):
        power, base = node.args[1], _tight(operand(0), POWER + 1)
        return times(f"{power:g} * {base}" if power == 2 else f"{power:g} * {base} ** {power - 1:g}", d[0])
    if name == "where" and 0 not in d:
        return f"torch.where({operand(0)}, {d.get(1, '0.0')}, {d.get(2, '0.0')})"
    if name == "lerp" and 2 not in d and isinstance(node.args[2], (int, float)):  # start + w (end - start), w a number
        weight = node.args[2]
        return _plus(times(f"{1 - weight:g}", d[0]) if 0 in d else None, times(f"{weight:g}", d[1]) if 1 in d else None)
    if name in ("maximum", "minimum") and all(isinstance(a, (Leaf, Ref)) for a in node.args[:2]):
        # the operand chosen (ties, autograd's halves, aside); a tensor held as a constant has no name to say it by
        chosen = {0: f"({operand(0)} {'>' if name == 'maximum' else '<'} {operand(1)})",
                  1: f"({operand(1)} {'>' if name == 'maximum' else '<'} {operand(0)})"}
        return _plus(*(times(chosen[i], d[i]) if i in d else None for i in (0, 1)))
    written = RULES[node.op].written(node.args, node.kwargs) if node.op in RULES and name not in ARITHMETIC else ""
    if not written or set(d) != {0}:
        return UNSAID
    return times(written.format(**placeholders(node)), d[0])


PRODUCT, POWER = binding("a * b"), binding("a ** b")


def _tight(code: str, than: float = PRODUCT) -> str:
    """Code as an operand where an operation binding `than` stands: parenthesised where it binds looser
    (a sum in a product; a product, or a minus, as a power's base)."""
    return code if binding(code) >= than else f"({code})"


def times(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return None
    if a == ONE or b == ONE:
        return b if a == ONE else a
    if a == f"-{ONE}" or b == f"-{ONE}":  # `1 - t`'s -1 times x: `-x`
        return _negated(b if a == f"-{ONE}" else a)
    if b.startswith(f"{ONE} / ") and binding(b) == PRODUCT:  # `x * 1 / d` as `x / d`
        return f"{_tight(a)} / {b[len(ONE) + 3:]}"
    return f"{_tight(a)} * {_tight(b)}"


def _over(a: str | None, b: str) -> str | None:
    if a is None:
        return None
    return f"{ONE if a == ONE else _tight(a)} / {_tight(b, PRODUCT + 1)}"


def _plus(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return b if a is None else a
    negated = ast.parse(b, mode="eval").body
    if isinstance(negated, ast.UnaryOp) and isinstance(negated.op, ast.USub):  # `a + -(x * y)` as `a - x * y`
        subtracted = ast.unparse(negated.operand) if not isinstance(negated.operand, ast.BinOp) or isinstance(
            negated.operand.op, (ast.Mult, ast.Div, ast.Pow)) else f"({ast.unparse(negated.operand)})"
        return f"{a} - {subtracted}"
    return f"{a} + {b}"


def _negated(a: str | None) -> str | None:
    if a is None:
        return None
    return f"-{_tight(a, PRODUCT + 1)}"
