"""One edit of an operation's derivative as the table writes it (`Rule.written`): the slips inside
a closed form that the recorded forward runs as one operation (`F.silu(x)`, whose backward a user
writes as `s * (1 + x * (1 - s))`), where no edit of the graph reaches them.

The written derivative is parsed once, its placeholders (`{left}`, `{inp}`: the operand; `{out}`: the
operation's own value) taken as names, and each variant is one edit of its syntax tree: a term of a
sum or a factor of a product left out, a sum's sign flipped, `*` for `/` or `/` for `*`, a power left
out, a minus left out, a function left out (its argument alone), a number doubled or halved, the
operand for the operation's own value or the other way round. A variant is a template again, said
in the code's own names as the table's slips are (`derived.words`), and evaluated on the operand
and the value (`evaluate`).
"""

from __future__ import annotations

import ast
import math
import pickle
from collections.abc import Iterator
from functools import cache

PLACEHOLDERS = {"left": "_left_", "inp": "_operand_", "out": "_value_", "targ": "_target_"}
LEFT, OPERAND, VALUE, TARGET = "_left_", "_operand_", "_value_", "_target_"  # (`{left}` as the code writes the
# operand, `{inp}` in parentheses where it is an expression: both the operand; `{targ}`, so written, a loss's target,
# its second operand, held: the derivative is the first's)
MOST_VARIANTS = 200  # per operation: a derivative of a dozen tokens has about thirty, GELU's tanh form a hundred


@cache
def variants(written: str) -> tuple[str, ...]:
    """The templates one edit away from `written` (placeholders kept), without repeats or itself: one
    edit at one place, then one edit of a sub-expression written more than once, made everywhere it
    stands (what the code computes once, `s = torch.sigmoid(x)`, and reads twice)."""
    try:
        tree = ast.parse(written.format(**PLACEHOLDERS), mode="eval")
    except (SyntaxError, KeyError, IndexError, ValueError):
        return ()
    itself = ast.unparse(tree)
    found = dict.fromkeys(ast.unparse(edited) for edited in _one_edit(tree.body))
    repeated: dict[str, list[tuple]] = {}
    for path in _places(tree.body):
        node = _at(tree.body, path)
        if not isinstance(node, (ast.Name, ast.Constant)):
            repeated.setdefault(ast.dump(node), []).append(path)
    for paths in (paths for paths in repeated.values() if len(paths) > 1):
        for edited in _one_edit(_at(tree.body, paths[0])):
            everywhere = tree
            for path in paths:  # (an edit keeps the tree's shape around it: the other places stay where they were)
                everywhere = _with(everywhere, path, edited)
            found.setdefault(ast.unparse(everywhere))
    found.pop(itself, None)
    return tuple(_as_template(code) for code in list(found)[:MOST_VARIANTS])


def _one_edit(root: ast.expr) -> Iterator[ast.expr]:
    """`root` with one edit at one of its places."""
    holder = ast.Expression(root)
    for path in _places(root):
        parent = _at(root, path[:-1]) if path else None
        exponent = bool(path) and path[-1][0] == "right" and isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Pow)
        for replaced in _edits(_at(root, path), exponent):
            yield _with(holder, path, replaced).body


def as_written(written: str) -> str:
    """The written derivative as its variants are written (spaces as `ast.unparse` puts them)."""
    return _as_template(ast.unparse(ast.parse(written.format(**PLACEHOLDERS), mode="eval")))


def evaluate(template: str, operand, value, target=None):
    """A template's value at the operand, the operation's own value and a loss's target, tensors
    (ValueError: it does not evaluate)."""
    import torch  # (here: the app imports the fix search, and its `differing`, before torch, to paint sooner)

    names = {LEFT: operand, OPERAND: operand, VALUE: value, TARGET: target, "torch": torch, "math": math}
    try:
        result = eval(_compiled(template), {"__builtins__": {}}, names)
    except (ArithmeticError, RuntimeError, TypeError, NameError, AttributeError) as error:
        raise ValueError(str(error)) from error
    return torch.as_tensor(result, dtype=operand.dtype, device=operand.device)


@cache
def _compiled(template: str):
    """A template's code, compiled once (a search evaluates each variant on every view of the graph)."""
    return compile(template.format(**PLACEHOLDERS), "<derivative>", "eval")


def differing(wrong: str, right: str) -> list[tuple[str, str]]:
    """The smallest parts in which a hint's two pieces of code differ, where they are smaller than the
    whole: `self.s` and `self.s ** 2` of "`2 * self.s` where `2 * self.s ** 2` belongs" (the code may
    have the part in a form of its own, `self.d / self.s`)."""
    try:
        a, b = ast.parse(wrong.strip(), mode="eval").body, ast.parse(right.strip(), mode="eval").body
    except SyntaxError:
        return []
    whole = a
    while type(a) is type(b) and same_but_children(a, b):
        apart = [(x, y) for x, y in zip(ast.iter_child_nodes(a), ast.iter_child_nodes(b)) if ast.dump(x) != ast.dump(y)]
        if len(apart) != 1 or len(list(ast.iter_child_nodes(a))) != len(list(ast.iter_child_nodes(b))):
            break
        a, b = apart[0]
    return [] if a is whole or not isinstance(a, ast.expr) else [(ast.unparse(a), ast.unparse(b))]


def same_but_children(a: ast.AST, b: ast.AST) -> bool:
    """Do two nodes of one type agree in all but their child expressions (one operator, one attribute)?"""
    fields = [name for name, value in ast.iter_fields(a) if not isinstance(value, (ast.AST, list))]
    operators = [name for name, value in ast.iter_fields(a) if isinstance(value, (ast.operator, ast.unaryop, ast.cmpop))]
    return all(getattr(a, f) == getattr(b, f) for f in fields) and all(
        type(getattr(a, f)) is type(getattr(b, f)) for f in operators)


def apart(wrong: str, right: str) -> tuple[str, str] | None:
    """The part a variant changes, as a reader finds it: the smallest sub-expressions in which the two
    differ, where that is one change (made everywhere the part stands, as an edit of a part written
    twice is), widened until the right one stands in `right` only where it changed (`x ** 4` where
    `x ** 2` belongs, not `4` where one of three 2s belongs); None where they differ in more than one way."""
    try:
        a, b = ast.parse(wrong.strip(), mode="eval").body, ast.parse(right.strip(), mode="eval").body
    except SyntaxError:
        return None
    found: list[tuple[ast.AST, ast.AST, list]] = []

    def walk(x: ast.AST, y: ast.AST, above: list) -> None:
        if ast.dump(x) == ast.dump(y):
            return
        pairs = list(zip(ast.iter_child_nodes(x), ast.iter_child_nodes(y)))
        if type(x) is type(y) and same_but_children(x, y) and len(pairs) == len(list(ast.iter_child_nodes(y))):
            for child_x, child_y in pairs:
                walk(child_x, child_y, [*above, (x, y)])
        else:
            found.append((x, y, above))

    walk(a, b, [])
    if not found or len({(ast.dump(x), ast.dump(y)) for x, y, _ in found}) != 1:
        return None
    x, y, above = found[0]
    while above and sum(ast.dump(n) == ast.dump(y) for n in ast.walk(b)) > len(found):
        x, y = above.pop()
    if x is a or not isinstance(x, ast.expr):
        return None
    return ast.unparse(x), ast.unparse(y)


def in_numbers(code: str) -> str:
    """`code` with what it computes from numbers and `math` alone written as the number (`math.sqrt(2)`
    as 1.4142135623730951): code that runs where `math` is not imported."""
    tree = ast.parse(code, mode="eval")

    class Numbers(ast.NodeTransformer):
        def generic_visit(self, node: ast.AST) -> ast.AST:
            number = _number(node) if isinstance(node, ast.expr) and not isinstance(node, ast.Constant) else None
            return ast.Constant(number) if number is not None else super().generic_visit(node)

    return ast.unparse(Numbers().visit(tree))


def _number(node: ast.expr) -> float | None:
    """The value of a sub-expression made of numbers and `math` alone (None: it reads a tensor)."""
    if any(isinstance(n, ast.Name) and n.id != "math" for n in ast.walk(node)):
        return None
    try:
        value = eval(compile(ast.Expression(node), "<number>", "eval"), {"__builtins__": {}}, {"math": math})
    except (ArithmeticError, TypeError, NameError, AttributeError, ValueError):
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _as_template(code: str) -> str:
    escaped = code.replace("{", "{{").replace("}", "}}")
    return escaped.replace(LEFT, "{left}").replace(OPERAND, "{inp}").replace(VALUE, "{out}").replace(TARGET, "{targ}")


def _places(node: ast.AST, path: tuple = ()) -> Iterator[tuple]:
    """Every sub-expression's path (field names and indices from the root), outermost first."""
    yield path
    for name, value in ast.iter_fields(node):
        if isinstance(value, ast.expr):
            yield from _places(value, (*path, (name, None)))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, ast.expr):
                    yield from _places(item, (*path, (name, i)))


def _at(node: ast.AST, path: tuple) -> ast.AST:
    for name, index in path:
        node = getattr(node, name) if index is None else getattr(node, name)[index]
    return node


def copied_tree(tree: ast.AST) -> ast.AST:
    """A deep copy of a syntax tree, marks set on its nodes kept: through pickle, three times faster than
    copy.deepcopy (a copy for each variant tried)."""
    return pickle.loads(pickle.dumps(tree))


def _with(tree: ast.Expression, path: tuple, new: ast.expr) -> ast.Expression:
    edited = copied_tree(tree)
    if not path:
        edited.body = new
        return edited
    parent = _at(edited.body, path[:-1])
    name, index = path[-1]
    if index is None:
        setattr(parent, name, new)
    else:
        getattr(parent, name)[index] = new
    return edited


TURNED = {ast.Gt: ast.Lt, ast.Lt: ast.Gt, ast.GtE: ast.LtE, ast.LtE: ast.GtE}


def _edits(node: ast.expr, exponent: bool) -> Iterator[ast.expr]:
    """One slip at this sub-expression (`exponent`: it is a power's; its 1 is the power left out)."""
    number = _number(node)
    if number is not None and not isinstance(node, ast.Constant):  # `math.sqrt(2 / math.pi)`, as a number is written
        yield from (ast.Constant(number * 2), ast.Constant(number / 2))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in TURNED:
        yield ast.Compare(node.left, [TURNED[type(node.ops[0])]()], node.comparators)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, (ast.Add, ast.Sub)):
            yield node.left  # the right term left out
            yield node.right if isinstance(node.op, ast.Add) else ast.UnaryOp(ast.USub(), node.right)
            yield ast.BinOp(node.left, ast.Sub() if isinstance(node.op, ast.Add) else ast.Add(), node.right)
        elif isinstance(node.op, (ast.Mult, ast.Div)):
            yield node.left
            yield node.right if isinstance(node.op, ast.Mult) else ast.BinOp(ast.Constant(1), ast.Div(), node.right)
            yield ast.BinOp(node.left, ast.Div() if isinstance(node.op, ast.Mult) else ast.Mult(), node.right)
        elif isinstance(node.op, ast.Pow):
            yield node.left  # the power left out
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield node.operand
    elif isinstance(node, ast.Call) and node.args:
        yield node.args[0]  # the function left out: its argument alone
    elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and node.value not in (0, 1):
        yield ast.Constant(node.value * 2)
        half = node.value / 2 if isinstance(node.value, float) or node.value % 2 else node.value // 2
        if not (exponent and half == 1):
            yield ast.Constant(half)
    elif isinstance(node, ast.Name) and node.id in (LEFT, OPERAND):
        yield ast.Name(VALUE, ast.Load())
    elif isinstance(node, ast.Name) and node.id == VALUE:
        yield ast.Name(OPERAND, ast.Load())
