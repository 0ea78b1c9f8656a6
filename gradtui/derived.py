"""The backward derived from the forward, and the slips searched on it.

`backward(graph, g)` is the chain rule over a layer's recorded operations (gradtui.graph), each
operation's derivative from gradtui.derivatives' table. A slip is one `Edit` of that backward:
one operation's derivative written wrong as its entry says people write it (log's derivative
multiplied, a mean's 1/n left out), or as any derivative can be (left out, scaled by 2, N, 1/N,
n/(n−1), sign-flipped, transposed, the gradient from above not multiplied in), one path of a
tensor used twice dropped (batch norm's mean, read by the variance and by xhat), or the gradient
from above taken wrong (`out` for `out.g`). A slip is named only when the edited backward gives
the user's gradient within the verdict's own tolerance, and the hint names the forward line whose
derivative is wrong, in the user's code.

`Probe` runs the user's layer on the first rows in float64 (as the float64 replay does): its
forward recorded, its backward run, and autograd's gradient beside them, so that the derived
backward is trusted only where it agrees with autograd.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import torch

from gradtui.compare import ALL_BUT_ZERO, as_numbers, close
from gradtui.derivative_code import ONE, derivative_code, local_derivative_code, times
from gradtui.derivatives import NO_GRADIENT, RULES, Ctx, Slip, rule_of, unbroadcast
from gradtui.formatting import binding, place
from gradtui.graph import (
    WRITTEN_OUT,
    Graph,
    Leaf,
    Node,
    Ref,
    Source,
    fused,
    numeric,
    reassociated,
    record,
    replayed,
    same_operand,
)
from gradtui.reference import autograd_nodes
from gradtui.running import numbers_made_in
from gradtui.written_slips import apart, as_written, evaluate, in_numbers, variants

PROBE_ROWS = 256
WHOLE_FORMULA = 70  # a derivative longer than this is said by the part a slip changes
# The kinds of edit, by how likely a story each is when two give the same numbers: the table's own
# slips first, then a term (a path) dropped, a factor left out, the layer's whole derivative left out (a
# backward that multiplies nothing in, before a swap that cancels to the same numbers), one tensor for
# another, ….
KINDS_OF_EDIT = ("rule", "path", "drop", "identity", "swap", "swap-out", "reduce", "scale", "transpose", "g-T", "ones",
                 "g-out", "g-own", "recompute", "written", "line", "part", "only", "root-ones", "root-out", "at-output")
RANK = {kind: rank for rank, kind in enumerate(KINDS_OF_EDIT)}
RANK["g-T"] = RANK["transpose"]  # g transposed is a transpose


class Unsupported(Exception):
    """An operation of the forward that gradtui has no derivative for (or cannot follow)."""


@dataclass(frozen=True)
class Edit:
    """One slip in the derived backward."""

    kind: str  # one of KINDS_OF_EDIT
    node: int | None = None  # None: at the gradient from above; for "scale", the whole gradient of `value`, a leaf
    operand: int | None = None  # which operand's gradient it changes (drop, scale, transpose, and ones, g-out or g-own
    # at one operand only: None there is all of them), or whose value it swaps
    slip: Slip | None = None  # the table's own slip (kind "rule")
    factor: float = 1.0
    factor_words: str = ""
    said_factor: float | None = None  # "scale": the factor on the user's whole batch (None: `factor`)
    value: Leaf | Ref | None = None  # "path": the tensor whose path through `node` is dropped; "swap": the one used;
    # "line": the statement's one input, which its result's gradient reaches unchanged; "identity": the output, when
    # it is `out` itself that is passed on (None: out.g)
    axes: tuple[int, ...] | None = None  # "reduce": the axes summed (None: not summed), keepdim in `factor` (1: kept)
    transposed: bool = False  # "swap": `value` transposed is what is used
    variant: tuple = ()  # "recompute": how the operand is made again, wrongly: ("flip", order) `a + b` for `a - b`;
    # ("alone", i) only its i-th operand, `-targ` of `inp - targ`; ("with", i) its i-th tensor `value` (`3 * out`);
    # ("number", i, n) its i-th operand, a number, as n (`6 * inp`); ("reduced", i, op, axis) its i-th operand, a
    # mean or sum, redone as `op` over its own axes (axis None) or over `axis`. "written": (the derivative as the
    # slip writes it, as the table writes it), templates of gradtui.written_slips
    everywhere: bool = False  # "recompute" of an operation's own value (tanh's `t`): every derivative that reads a
    # value made from it reads it as made again (the forward run again from it), not its own derivative alone
    at: int | None = None  # "recompute": the operation inside the operand's expression that the variant remakes
    # (`2 * s` of `exp(-d ** 2 / (2 * s ** 2))`); None: the operand's own. "part": the statement's first operation
    # (its derivative towards `value`, from `node` down to `at`, is what the slip changes: variant ("line",) left
    # out, ("ones",) without the gradient from above, ("g-out",) from `out` for out.g); "only": the last operation
    # that reads `value` (its paths but the one through `node` are dropped)
    passes: tuple[int, ...] = ()  # the same operation in the other passes of the loop that ran it: edited alike (a
    # backward that loops as its forward does writes the slip once, and makes it in every pass)
    via: int | None = None  # "drop": only the gradient that arrives from this reader of the node's result is edited (a
    # derivative written out term by term, `g1 * x2 * c`, the chain factor of `s = sin(theta)` left out in one term)
    member: int | None = None  # a cat's or a stack's piece (the index in its list of tensors) the edit is at, alone: its
    # path dropped, its share of the gradient sign-flipped or scaled, or taken from `out` or 1 (the backward slices it)

    def edits_node(self, index: int) -> bool:
        return index == self.node or index in self.passes


# -- the chain rule ------------------------------------------------------------------------------

def _resolve(graph: Graph, value, changed: dict | None = None):
    """An operation's argument as a value: a tensor for a Leaf or Ref, `changed[i]` for node i's output
    made again where `changed` has it."""
    if isinstance(value, Ref) and changed and value.node in changed:
        return changed[value.node]
    if isinstance(value, (Leaf, Ref)):
        return graph.value(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve(graph, item, changed) for item in value)
    return value


def _context(graph: Graph, node: Node, g: torch.Tensor) -> Ctx:
    return Ctx(tuple(_resolve(graph, a) for a in node.args), {k: _resolve(graph, v) for k, v in node.kwargs.items()},
               node.outputs, g, node.op)


NOT_ELEMENTWISE = frozenset({"t", "transpose", "permute", "_softmax", "_log_softmax", "cumsum", "flip", "roll"})


def _spread_by_the_slip(graph: Graph, node: Node, g: torch.Tensor) -> torch.Size | None:
    """The shape a gradient spread by a slip above (one not summed back, or summed over another axis)
    takes an elementwise operation to: over axes of size 1 of its result. None: not so."""
    out = node.outputs[0]
    if g.shape == out.shape or g.dim() != out.dim() or node.name in NOT_ELEMENTWISE:
        return None
    try:
        operands = torch.broadcast_shapes(*(graph.value(a).shape for _, a in graph.tensor_args(node)))
        spread = torch.broadcast_shapes(g.shape, out.shape)
    except RuntimeError:
        return None
    return spread if operands == out.shape else None


def _local(graph: Graph, node: Node, g: torch.Tensor, edit: Edit | None) -> tuple:
    """The node's gradients for its positional operands, edited where the edit is at this node."""
    rule = rule_of(node.op)
    mine = edit is not None and edit.edits_node(node.index)
    wrong_g = None  # the gradient from above as the slip has it: 1, or the layer's output for out.g
    if mine and edit.kind == "ones":
        wrong_g = torch.ones_like(g)
    elif mine and edit.kind == "g-out":
        wrong_g = graph.value(graph.output)
    elif mine and edit.kind == "g-own":  # `probs` for `dprobs`: a value in its gradient's place
        wrong_g = node.outputs[0]
    if wrong_g is not None and edit.operand is None:
        g = wrong_g
    ctx = _context(graph, node, g)
    spread = _spread_by_the_slip(graph, node, g)
    if spread is not None:  # (N, C) where an (N, 1) gradient belongs: `m = a.mean(-1, keepdim=True) + 1` takes it
        ctx.args = tuple(a.expand(spread) if isinstance(a, torch.Tensor) and a.shape == node.outputs[0].shape else a
                         for a in ctx.args)  # elementwise, as the user's code does, not summed back
        ctx.outs = [o.expand(spread) if o.shape == node.outputs[0].shape else o for o in ctx.outs]
        ctx.g = g = g.expand(spread)
    if mine and edit.kind == "swap":  # one tensor taken for another inside the derivative
        value = graph.value(Ref(dict(edit.variant[1])[node.index]) if edit.variant[:1] == ("next",) else edit.value)
        value = value.mT if edit.transposed else value
        ctx.args = tuple((value if value.shape == a.shape else value.reshape(a.shape)) if i == edit.operand else a
                         for i, a in enumerate(ctx.args))  # (a (64, 1) inp for a (64,) `inp.squeeze(-1) - targ`)
        if node.name in OWN_VALUE and edit.value == graph.output:  # exp's derivative, its own value, made from the
            ctx.outs = [node.op(*ctx.args, **ctx.kwargs), *ctx.outs[1:]]  # layer's output taken for its input: `exp(out)`
    elif mine and edit.kind == "recompute":  # an operand made again inside the derivative, one edit away
        made = _operand_made_again(graph, node, edit, ctx.args[edit.operand].shape,
                                   one_number=node.name not in OWN_VALUE and edit.at is None)
        ctx.args = tuple(made if i == edit.operand else a for i, a in enumerate(ctx.args))
        if node.name in OWN_VALUE:  # exp's derivative reads its own value: made again from the operand made again
            ctx.outs = [node.op(*ctx.args, **ctx.kwargs), *ctx.outs[1:]]
    elif mine and edit.kind == "swap-out":  # the operation's own value taken from another tensor
        ctx.outs = [graph.value(edit.value), *ctx.outs[1:]]
    elif mine and edit.kind == "reduce" and node.name != "mm":  # the gradient before it is summed back to its shape
        ctx.args = tuple(torch.broadcast_to(a, node.outputs[0].shape) if i == edit.operand else a
                         for i, a in enumerate(ctx.args))
    if mine and edit.kind == "written":  # one edit inside the derivative the table writes (towards the first operand)
        target = ctx.args[1] if len(ctx.args) > 1 and isinstance(ctx.args[1], torch.Tensor) else None
        others = rule.vjp(ctx)[1:] if target is not None else ()  # (a loss's target's own, as the table has it)
        return (g * evaluate(edit.variant[0], ctx.args[0], ctx.out, target), *others)
    if mine and edit.kind == "rule":
        grads = tuple(edit.slip.vjp(ctx))
        if not any(grad is None and isinstance(a, (Leaf, Ref)) and graph.value(a).is_floating_point()
                   for a, grad in zip(node.args, grads)):
            return grads
        if node.index == edit.node:  # the slip has no form at these shapes: no path dropped for it
            raise Unsupported(f"{node.op}'s slip does not apply here")
        # (in an earlier pass of its loop, its derivative as written: `x ** 0` of a polynomial, which the
        # backward's loop leaves out)
    try:
        grads = list(rule.vjp(ctx))
    except RuntimeError as error:
        if node.op in RULES:
            raise
        raise Unsupported(f"gradtui has no derivative for {node.op}, nor can autograd give one ({error})") from error
    if mine and edit.member is not None:  # at one piece of a cat or a stack only
        pieces = list(grads[edit.operand])
        if edit.kind == "scale":
            pieces[edit.member] = pieces[edit.member] * edit.factor
        elif wrong_g is not None:
            ctx.g = wrong_g
            pieces[edit.member] = rule.vjp(ctx)[edit.operand][edit.member]
        grads[edit.operand] = pieces
        return tuple(grads)
    if mine and edit.kind == "g-T" and edit.operand < len(grads):  # one operand's gradient from g transposed
        ctx.g = g.mT
        grads[edit.operand] = rule.vjp(ctx)[edit.operand]
    elif wrong_g is not None and edit.operand is not None and edit.operand < len(grads):  # on one path only
        ctx.g = wrong_g
        grads[edit.operand] = rule.vjp(ctx)[edit.operand]
    if mine and edit.kind in ("drop", "scale", "transpose", "reduce") and edit.operand < len(grads):
        grad = grads[edit.operand]
        if edit.kind == "drop":
            operand, grad = ctx.args[edit.operand], unbroadcast(g, ctx.args[edit.operand])
            if grad is not None and grad.shape != operand.shape and _broadcasts(grad.shape, operand.shape):
                grad = grad.expand(operand.shape)  # a reduction's (kept dims): its gradient spread back as it came
            grads[edit.operand] = grad
        elif grad is not None and edit.kind == "reduce":
            grad = _per_sample(graph, node, g) if node.name == "mm" else grad  # (B, C, HS) of a batched `x @ w`
            grads[edit.operand] = grad if edit.axes is None else grad.sum(edit.axes, keepdim=edit.factor == 1)
        elif grad is not None and edit.kind == "scale":
            grads[edit.operand] = grad * edit.factor
        elif grad is not None and grad.dim() >= 2:
            grads[edit.operand] = grad.mT
    return tuple(grads)


REMADE = frozenset({"add", "sub", "rsub", "mul", "div", "pow"})  # what a derivative makes again as it reads it (`1 + t`)
READS_OPERANDS = frozenset({  # the operations whose derivative reads an operand's value (a product's, sin's)
    "mul", "div", "pow", "abs", "sin", "cos", "log", "log1p", "erf", "gelu", "silu", "softplus", "elu", "reciprocal",
    "clamp", "clamp_min", "clamp_max", "relu", "leaky_relu", "hardtanh", "maximum", "minimum", "mm", "bmm"})


def _recomputed(graph: Graph, made: Node, edit: Edit) -> torch.Tensor | None:
    """The operand `made` as the slip makes it again: its sign between terms flipped, one term
    alone, one tensor in it taken for another, or its number doubled or halved."""
    args = list(_resolve(graph, made.args[:2]))
    how = edit.variant
    if how[0] == "flip":  # add(a, b): a - b, or b - a (the code may have written `1 + t`); sub(a, b): a + b
        a, b = args if made.name != "rsub" else args[::-1]
        return (a - b if how[1] == 0 else b - a) if made.name == "add" else a + b
    if how[0] == "alone":
        term = args[how[1]]
        term = term if torch.is_tensor(term) else torch.as_tensor(term, dtype=made.outputs[0].dtype)
        alone = -term if how[1] == 1 and made.name == "sub" or how[1] == 0 and made.name == "rsub" else term
        return torch.broadcast_to(alone, made.outputs[0].shape)
    if how[0] in ("with", "number"):
        args[how[1]] = graph.value(edit.value) if how[0] == "with" else how[2]
        return made.op(*args, *_resolve(graph, made.args[2:]), **_resolve(graph, made.kwargs))
    if how[0] == "reduced":  # ("reduced", i, "sum" or "mean", axis or None): its i-th operand, a reduction, redone
        reduction = graph.nodes[made.args[how[1]].node]
        args[how[1]] = getattr(graph.value(reduction.args[0]), how[2])(
            reduction.args[1] if how[3] is None else [how[3]], keepdim=len(reduction.args) > 2 and bool(reduction.args[2]))
        return made.op(*args, *_resolve(graph, made.args[2:]), **_resolve(graph, made.kwargs))
    return None


def _remade(graph: Graph, operand: Node, edit: Edit) -> torch.Tensor | None:
    """The operand as the slip makes it again: the variant at the operand's own operation, or at one
    inside its expression (`edit.at`), the operations between run again on what it changed."""
    if edit.at is None:
        return _recomputed(graph, operand, edit)
    made = _recomputed(graph, graph.nodes[edit.at], edit)
    changed = _run_on(graph, {edit.at: made}, operand.index) if made is not None else None
    return changed.get(operand.index) if changed is not None else None


def _run_on(graph: Graph, changed: dict, until: int | None = None) -> dict | None:
    """`changed` (an operation's index → its value made again) with every operation after it (up to
    `until`) that reads what changed run again on it; None where an operation of several results reads it."""
    for node in graph.nodes[min(changed) + 1:None if until is None else until + 1]:
        if any(isinstance(a, Ref) and a.node in changed for _, a in graph.tensor_args(node)):
            if len(node.outputs) != 1:
                return None
            changed[node.index] = node.op(*_resolve(graph, node.args, changed), **_resolve(graph, node.kwargs))
    return changed


def _operand_made_again(graph: Graph, node: Node, edit: Edit, shape: torch.Size | None = None,
                        one_number: bool = False) -> torch.Tensor:
    """The operand `edit` makes again, of the operand's `shape` (as the derivative reads it); one number
    everywhere only where `one_number` allows (else it is its derivative left out, a story told as such)."""
    made = _remade(graph, graph.nodes[node.args[edit.operand].node], edit)
    if made is None or made.shape != (shape or graph.value(node.args[edit.operand]).shape):
        raise Unsupported("the operand made again has another shape")
    if not one_number and made.numel() > 1 and bool((made == made.flatten()[0]).all()):
        raise Unsupported("made again as one number: its derivative left out, a story told as such")
    return made


def _at_the_output(graph: Graph, leaf: Leaf) -> Graph:
    """The graph run again with the layer's output where its input `leaf` stood (of one shape): a backward
    whose every derivative reads `out` for `inp` (`torch.tanh(out)` for log cosh's `torch.tanh(inp)`)."""
    leaves, nodes = {**graph.leaves, leaf.name: graph.value(graph.output).detach()}, []
    for node in graph.nodes:
        done = Graph(leaves, nodes, graph.output, graph.unsupported)
        try:
            value = node.op(*_resolve(done, node.args), **_resolve(done, {k: v for k, v in node.kwargs.items()
                                                                          if k != WRITTEN_OUT}))
        except (RuntimeError, TypeError, ValueError, IndexError) as error:
            raise Unsupported(f"{node.op} does not run again at the output ({error})") from error
        outputs = list(value) if isinstance(value, (tuple, list)) else [value]
        if len(outputs) != len(node.outputs) or any(
                not isinstance(o, torch.Tensor) or o.shape != r.shape for o, r in zip(outputs, node.outputs)):
            raise Unsupported(f"{node.op} gives other values again at the output")
        nodes.append(replace(node, outputs=outputs))
    return Graph(leaves, nodes, graph.output, graph.unsupported)


def _run_again(graph: Graph, edit: Edit) -> Graph:
    """The graph whose operation `edit.node` (one of OWN_VALUE) has its value made again as the edit makes
    its operand, and every operation after it that reads what changed run again on it."""
    node = graph.nodes[edit.node]
    if edit.operand is None:  # its own value, written by hand (tanh as `2 / (1 + exp(-2 * x)) - 1`), made again so
        own = _written_made_again(graph, node, edit)
    else:
        operand = _operand_made_again(graph, node, edit)
        args = tuple(operand if i == edit.operand else _resolve(graph, a) for i, a in enumerate(node.args))
        own = node.op(*args, **_resolve(graph, node.kwargs))
    if own is None or own.shape != node.outputs[0].shape:
        raise Unsupported("the value made again has another shape")
    changed, nodes = _run_on(graph, {node.index: own}), list(graph.nodes)
    if changed is None:
        raise Unsupported("an operation of several results reads the value made again")
    for index, value in changed.items():
        nodes[index] = replace(nodes[index], outputs=[value])
    return Graph(graph.leaves, nodes, graph.output, graph.unsupported)


def _written_made_again(graph: Graph, node: Node, edit: Edit) -> torch.Tensor | None:
    """The value of a fused operation as its steps by hand make it with the edit at one of them."""
    steps = Graph(graph.leaves, [*graph.nodes[:node.index], node.written], graph.output, graph.unsupported)
    made = _recomputed(steps, steps.nodes[edit.at], edit)
    changed = _run_on(steps, {edit.at: made}, node.index) if made is not None else None
    return changed.get(node.index) if changed is not None else None


def _own_expression(graph: Graph, node: Node, operand: Leaf | Ref) -> bool:
    """Is `node`'s operand an expression of the user's code of its own, not a step inside the same call
    (F.rms_norm's own rsqrt of its own mean)?"""
    made = graph.nodes[operand.node] if isinstance(operand, Ref) else None
    return made is not None and made.source is not None and node.source is not None and \
        made.source.expression != node.source.expression


def _made_inside(graph: Graph, made: Node) -> list[Node]:
    """The operations of the statement that made `made` that its value is made from, through values
    the code does not name (a derivative that makes `exp(-d ** 2 / (2 * s ** 2))` again reads `d` and
    `s`, and makes the rest again)."""
    names, inside, stack = graph.names(), [], [made]
    while stack:
        for _, value in graph.tensor_args(stack.pop()):
            node = graph.nodes[value.node] if isinstance(value, Ref) else None
            if node is not None and value not in names and _same_statement(node, made) and node not in inside:
                inside.append(node)
                stack.append(node)
    return inside


def _recomputations(graph: Graph, node: Node, position: int, named: list) -> Iterator[Edit]:
    """An operand that the derivative reads (`1 + t` of `0.5 * inp * (1 + t)`, `inp - targ` of
    `(inp - targ).abs()`; exp's own value, made from its operand) made again, one edit away: its sign,
    a term, a tensor or a number in it, or in an operation inside it (`2 * s` for `2 * s ** 2` in
    `exp(-d ** 2 / (2 * s ** 2))`)."""
    operand = node.args[position]
    made = graph.nodes[operand.node] if isinstance(operand, Ref) else None
    if made is None:
        return
    # a number left out of the operand is a scale of the gradient, said as one; not so where the derivative
    # reads it through another operation (exp's own value), nor inside the operand
    through = node.name in OWN_VALUE
    for site in (made, *_made_inside(graph, made)):
        at = None if site is made else site.index
        yield from _remakings(graph, node, position, site, at, named, numbers_alone=through or at is not None)


def _remakings(graph: Graph, node: Node, position: int, made: Node, at: int | None, named: list,
               numbers_alone: bool) -> Iterator[Edit]:
    """The one-edit variants of the operation `made`, in the operand that `node`'s derivative reads."""
    if made.name not in REMADE or len(made.args) < 2:
        return
    if made.name in ("add", "sub", "rsub"):
        for order in (0, 1) if made.name == "add" else (0,):
            yield Edit("recompute", node.index, position, variant=("flip", order), at=at)
    # a term alone; a factor alone (`w` of `w * x`), or the dividend, of two tensors; the number of `0.5 * x` alone
    tensors = [isinstance(a, (Leaf, Ref)) for a in made.args[:2]]
    for side in (0, 1) if made.name != "div" else (0,):
        if made.name in ("add", "sub", "rsub") or all(tensors) or (made.name == "mul" and not tensors[side]) or (
                numbers_alone and tensors[side]):
            yield Edit("recompute", node.index, position, variant=("alone", side), at=at)
    for side, number in enumerate(made.args[:2]):  # `6 * inp` for `3 * inp`, `d ** 4` for `d ** 2`: doubled or halved
        if made.name in ("mul", "div", "pow") and numeric(number) and number:
            for wrong in (number * 2, number / 2):
                if not (wrong == 1 and numbers_alone):  # `d ** 1`, `1 * s`: the power or factor left out, said so
                    yield Edit("recompute", node.index, position, variant=("number", side, wrong), at=at)
    for side, tensor in enumerate(made.args[:2]):  # `inp - inp.sum(-1, keepdim=True)` for its mean, or over axis 0
        reduction = graph.nodes[tensor.node] if isinstance(tensor, Ref) else None
        if reduction is not None and reduction.name in ("mean", "sum") and len(reduction.args) > 1 and isinstance(
                reduction.args[1], (list, tuple)):
            x = graph.value(reduction.args[0])
            own = [axis % x.dim() for axis in reduction.args[1]]
            yield Edit("recompute", node.index, position,
                       variant=("reduced", side, "sum" if reduction.name == "mean" else "mean", None), at=at)
            for axis in range(x.dim()) if len(own) == 1 else ():
                if axis not in own:
                    yield Edit("recompute", node.index, position, variant=("reduced", side, reduction.name, axis), at=at)
    for side, tensor in enumerate(made.args[:2]):
        if not isinstance(tensor, (Leaf, Ref)) or not graph.value(tensor).is_floating_point():
            continue
        own_inputs = {a for _, a in graph.tensor_args(graph.nodes[tensor.node])} if isinstance(tensor, Ref) else set()
        for value in named:  # (not `s` for `s ** 2` inside the operand: that is its power left out, said so)
            fits = graph.value(value).shape == graph.value(tensor).shape or (
                value == graph.output and graph.value(value).dim() == 0)  # a loss's own value for its input
            if value not in (tensor, Ref(made.index)) and fits and not (at is not None and value in own_inputs):
                yield Edit("recompute", node.index, position, value=value, variant=("with", side), at=at)


def _batched_input(graph: Graph, node: Node) -> torch.Tensor | None:
    """The 3-D x of `x @ w`, which runs as mm(x.view(B * T, C), w): None for any other mm."""
    flat = node.args[0]
    made = graph.nodes[flat.node] if isinstance(flat, Ref) else None
    if made is None or made.name not in ("view", "_unsafe_view", "reshape") or not isinstance(made.args[0], (Leaf, Ref)):
        return None
    x = graph.value(made.args[0])
    return x if x.dim() == 3 else None


def _per_sample(graph: Graph, node: Node, g: torch.Tensor) -> torch.Tensor:
    """The weight's gradient of a batched `x @ w` before it is summed over the batch: x_b^T @ g_b, (B, C, HS)."""
    x = _batched_input(graph, node)
    return x.mT @ g.reshape(*x.shape[:-1], g.shape[-1])


def gradients(graph: Graph, g: torch.Tensor | None, edit: Edit | None = None, cut: frozenset = frozenset(),
              given: dict | None = None, resume: tuple[int, dict] | None = None, down_to: int = 0,
              loose: frozenset = frozenset()) -> dict:
    """The gradient of Σ out·g (of the loss itself, when g is None) for every value of the graph, by
    the chain rule backwards over its nodes; none flows into a value of `cut`. A value of `given`
    takes that gradient in place of the one the chain rule reaches it with (the user's own, in a
    notebook that writes one line per tensor). `resume=(index, grads)` starts at node `index` with
    the gradients as they were before it (`states`); nodes below `down_to` are left unvisited. Under
    an edit, a leaf's gradient, or one of `loose`, may come out of another shape than its tensor, and so
    may the one a broadcast's gradient summed back wrongly flows into (the operations below take it as
    they can)."""
    if graph.unsupported:
        raise Unsupported(graph.unsupported)
    if edit is not None and edit.kind == "at-output":  # every derivative read at the output: the right ones there
        return gradients(_at_the_output(graph, edit.value), g, None, cut, given, down_to=down_to, loose=loose)
    given = given or {}
    if resume is None:
        out = graph.value(graph.output)
        root = torch.ones_like(out) if g is None else g
        if edit is not None and edit.kind == "identity":  # the layer's derivative never multiplied in
            given_as = root if edit.value is None else out
            # (a parameter broadcast over the batch, a gain or a scalar: it summed back to the parameter's shape)
            return {graph.output: root} | {Leaf(name): unbroadcast(given_as, t) for name, t in graph.leaves.items()
                                           if t.is_floating_point() and _spread_over(t.shape, root.shape)}
        if edit is not None and edit.kind == "root-ones":
            root = torch.ones_like(out)
        elif edit is not None and edit.kind == "root-out":
            root = out.detach().clone()
        grads: dict = {graph.output: given.get(graph.output, root)}
        first = len(graph.nodes)
    else:
        first, grads = resume[0] + 1, dict(resume[1])
    for node in reversed(graph.nodes[down_to:first]):
        if Ref(node.index) in given and Ref(node.index) in grads:
            grads[Ref(node.index)] = given[Ref(node.index)]
        if node.op in NO_GRADIENT:
            continue
        flowing = [Ref(node.index, k) for k in range(len(node.outputs)) if Ref(node.index, k) in grads]
        if not flowing:
            continue
        if any(ref.output for ref in flowing):
            raise Unsupported(f"{node.op}'s second result is used")
        if any(isinstance(v, (Leaf, Ref)) for v in node.kwargs.values()):
            raise Unsupported(f"{node.op} takes a tensor by keyword")
        if edit is not None and edit.kind == "line" and edit.node == node.index:  # the statement's derivative left out
            grad = grads[flowing[0]].expand(graph.value(edit.value).shape)  # (a mean's (N, 1) spread over its (N, C))
            grads[edit.value] = grads[edit.value] + grad if edit.value in grads else grad
            continue
        if edit is not None and edit.kind == "part" and edit.node == node.index:
            part = _part(graph, node, grads[flowing[0]], edit)
            grads[edit.value] = grads[edit.value] + part if edit.value in grads else part
        if edit is not None and edit.via is not None and edit.node == node.index:
            part = _arriving_from(graph, edit.via, node.index, grads)
            local = _summed(_local(graph, node, grads[flowing[0]] - part, None), _local(graph, node, part, edit))
        else:
            local = _local(graph, node, grads[flowing[0]], edit)
        for position, value, grad, member in _sent(node, local):
            if not isinstance(value, (Leaf, Ref)) or grad is None or value in cut \
                    or not graph.value(value).is_floating_point():
                continue
            if edit is not None and edit.kind == "path" and edit.node == node.index and edit.member is not None:
                if edit.member == member:  # one piece of a cat (of a tensor it joins more than once, as often)
                    continue
                grads[value] = grads[value] + grad if value in grads else grad
                continue
            if edit is not None and edit.kind == "path" and node.index in edit.passes and position == edit.operand:
                continue  # (in an earlier pass of its loop)
            if edit is not None and edit.value == value and (
                    (edit.kind == "path" and edit.node == node.index)
                    or (edit.kind == "only" and edit.node != node.index)
                    or (edit.kind == "part" and edit.at <= node.index <= edit.node)):
                continue
            if grad.shape != graph.value(value).shape and not (edit is not None and (
                    isinstance(value, Leaf) or value in loose or edit.kind == "reduce")):
                raise ValueError("a gradient of another shape than its tensor")  # a leaf's may be, in a slip
            grads[value] = grads[value] + grad if value in grads else grad
    if edit is not None and edit.kind == "scale" and edit.node is None and edit.value in grads and down_to == 0:
        grads[edit.value] = grads[edit.value] * edit.factor  # a leaf's whole gradient
    return grads


def _sent(node: Node, local: tuple) -> Iterator[tuple[int, object, torch.Tensor | None, int | None]]:
    """(position, operand, its gradient, its index in a list) for each operand a node's gradients go to (a
    cat's list, item by item; None: no list)."""
    for position, operand in enumerate(node.args[:len(local)]):
        if isinstance(operand, (list, tuple)) and isinstance(local[position], (list, tuple)):
            yield from ((position, value, grad, member) for member, (value, grad) in enumerate(zip(operand,
                                                                                               local[position])))
        else:
            yield position, operand, local[position], None


def _arriving_from(graph: Graph, reader: int, index: int, grads: dict) -> torch.Tensor:
    """The share of node `index`'s gradient that its reader `reader` sends it (by the right chain rule: an
    edit at `index` changes nothing above it)."""
    if Ref(reader) not in grads:
        raise Unsupported("no gradient reaches the reader")
    node, share = graph.nodes[reader], None
    for _, value, grad, _ in _sent(node, _local(graph, node, grads[Ref(reader)], None)):
        if value == Ref(index) and grad is not None:
            share = grad if share is None else share + grad
    if share is None or share.shape != graph.nodes[index].outputs[0].shape:
        raise Unsupported("the reader sends no gradient of the node's shape")
    return share


def _summed(one: tuple, other: tuple) -> tuple:
    """Two nodes' gradients for their operands, added operand by operand (a cat's lists item by item)."""
    def add(a, b):
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            return type(a)(add(x, y) for x, y in zip(a, b))
        return b if a is None else a if b is None else a + b
    return tuple(add(a, b) for a, b in zip(one, other))


def _part(graph: Graph, root: Node, g: torch.Tensor, edit: Edit) -> torch.Tensor:
    """What a "part" edit sends to its value from the statement that `root` ends, in place of that
    statement's derivative towards it."""
    variant = edit.variant[0]
    if variant == "line":
        return g.expand(graph.value(edit.value).shape)
    seed = torch.ones_like(g) if variant == "ones" else graph.value(graph.output)
    grads = gradients(graph, None, resume=(root.index, {Ref(root.index): seed}), down_to=edit.at)
    if edit.value not in grads:
        raise Unsupported("the statement's derivative does not reach the value")
    return grads[edit.value]


ONE_PATH_KINDS = frozenset({"g-out", "ones", "drop", "scale", "transpose", "rule", "swap"})  # (made on one path only)
ONE_PATH_TRIES = 300  # edits tried so, each with every (value, reader) pair below it: a search only where none names


def on_one_path(graph: Graph, g: torch.Tensor | None, edit: Edit, reader: int, value: Leaf | Ref, before: dict,
                wrong: dict) -> dict[str, torch.Tensor | None]:
    """The leaves' gradients with `edit` made on one path only: what reaches `value` from its reader `reader` as the
    edit makes it, every other share right (`before`: the right gradients before each node, `states`; `wrong`: the
    gradients with the edit)."""
    right = before["right"]
    node = graph.nodes[reader]

    def share(grads: dict, local_edit: Edit | None) -> torch.Tensor:
        if Ref(reader) not in grads:
            raise Unsupported("no gradient reaches the reader")
        sent = [grad for _, sent_to, grad, _ in _sent(node, _local(graph, node, grads[Ref(reader)], local_edit))
                if sent_to == value and grad is not None]
        if not sent:
            raise Unsupported("the reader sends the value nothing")
        return sum(sent[1:], sent[0])

    delta = share(wrong, edit if edit.edits_node(reader) else None) - share(right, None)
    if delta.shape != right[value].shape:
        raise Unsupported("the edit sends the value a gradient of another shape")
    grads = {**right, value: right[value] + delta} if isinstance(value, Leaf) else gradients(
        graph, g, given={value: right[value] + delta}, resume=(value.node, before[value.node]))
    return {name: grads.get(Leaf(name)) for name in graph.leaves}


def _first_visited(graph: Graph, edit: Edit) -> int:
    """The node the chain rule under an edit differs from the right one at, first."""
    return edit.at if edit.kind == "only" else max((edit.node, *edit.passes))


def backward(graph: Graph, g: torch.Tensor | None, edit: Edit | None = None,
             cut: frozenset = frozenset(), before: dict | None = None) -> dict[str, torch.Tensor | None]:
    """The gradient of Σ out·g (of the loss itself, when g is None) for each leaf of the graph; with
    `before` (`states`), an edit at a node runs the chain rule from that node down only."""
    grads = _all_gradients(graph, g, edit, cut, before)
    return {name: grads.get(Leaf(name)) for name in graph.leaves}


def _all_gradients(graph: Graph, g: torch.Tensor | None, edit: Edit | None, cut: frozenset, before: dict | None) -> dict:
    """`backward`'s gradients, of every value the chain rule reaches."""
    if edit is not None and edit.everywhere:  # the forward run again from the value made again, its backward right
        return gradients(_run_again(graph, edit), g, cut=cut)
    if before is not None and edit is not None and edit.node is not None and edit.kind not in ROOT_EDITS:
        start = _first_visited(graph, edit)
        return gradients(graph, g, edit, cut, resume=(start, before[start]))
    return gradients(graph, g, edit, cut)


ROOT_EDITS = frozenset({"identity", "root-ones", "root-out", "at-output"})  # edits of the whole: the whole runs


def states(graph: Graph, g: torch.Tensor | None, cut: frozenset = frozenset(), given: dict | None = None) -> dict:
    """The right chain rule's gradients before each node is visited (from `given` where it gives
    one): a search of one edit at node k resumes from them; under "right", the gradients once all are."""
    found, grads = {}, gradients(graph, g, cut=cut, given=given, down_to=len(graph.nodes))
    for node in reversed(graph.nodes):
        found[node.index] = grads
        grads = gradients(graph, g, cut=cut, given=given, resume=(node.index, grads), down_to=node.index)
    found["right"] = grads
    return found


def backward_to(graph: Graph, g: torch.Tensor | None, index: int) -> torch.Tensor | None:
    """The gradient that reaches node `index`'s result, by the right backward."""
    return gradients(graph, g).get(Ref(index))


def zero_paths(graph: Graph, g: torch.Tensor | None, grads: dict | None = None) -> frozenset:
    """The values whose right gradient is zero, though they are computed from the inputs: a softmax's
    max, subtracted only to keep exp from overflowing. A hand-written backward leaves such a path
    out, and rightly; the slips are searched with it cut. (`grads`: gradients(graph, g), if at hand.)"""
    grads = gradients(graph, g) if grads is None else grads
    scale = max((float(v.abs().max()) for v in grads.values() if v.numel()), default=0.0)
    return frozenset(value for value, grad in grads.items() if isinstance(value, Ref) and grad.numel()
                     and float(grad.abs().max()) <= 1e-10 * scale)


# -- the edits ------------------------------------------------------------------------------------

def factors(graph: Graph, batch: int, full: int | None = None) -> list[tuple[float, float, str]]:
    """The constants a derivative is wrongly scaled by: the sign, 2, and the sizes the forward
    reduces over (N, 1/N, n/(n−1), (n−1)/n, (n−1)/(n+1)), each with its words. Each is (the factor on these rows,
    the factor on the user's `full` batch, words): a size over the batch axis is said as the run has
    it, not as the probe's first rows do."""
    sizes = {batch: full or batch}
    for node in graph.nodes:
        n = _reduced_size(graph, node)
        if n is not None:
            sizes.setdefault(n, _as_run(n, batch, full) if _spans_batch(graph, node, batch) else n)
    found = [(-1.0, -1.0, "sign-flipped"), (2.0, 2.0, "twice what it should be"), (0.5, 0.5, "half what it should be")]
    for n, said in sorted(sizes.items()):
        if n in (0, 1) or said in (0, 1):
            continue
        size = "N" if n == batch else "the size reduced over"
        found += [(float(n), float(said), f"{said} × what it should be ({size} = {said}, a division by it left out)"),
                  (1 / n, 1 / said, f"divided by {said} ({size}) once too often"),
                  (n / (n - 1), said / (said - 1), f"n/(n−1) × what it should be (Bessel's correction, n = {said})"),
                  ((n - 1) / n, (said - 1) / said,
                   f"(n−1)/n × what it should be (Bessel's correction inverted, n = {said})"),
                  ((n - 1) / (n + 1), (said - 1) / (said + 1),
                   f"(n−1)/(n+1) × what it should be (Bessel's correction with n + 1 for n − 1, n = {said})")]
    return found


def _as_run(count: int, rows: int, full: int | None) -> int:
    """A count over the batch axis on the probe's first `rows`, as the user's `full` batch has it."""
    return count if not full or full == rows else count // rows * full


REDUCTIONS = frozenset({"sum", "mean", "var", "std", "amax", "amin", "max", "min", "prod", "linalg_vector_norm",
                        "logsumexp", "_softmax", "_log_softmax", "native_layer_norm", "native_batch_norm", "mse_loss",
                        "nll_loss_forward"})


def _reduced_size(graph: Graph, node: Node) -> int | None:
    """How many values a reduction (sum, mean, var, …) puts into each of its results."""
    if node.name not in REDUCTIONS:
        return None
    x = graph.value(node.args[0]) if isinstance(node.args[0], (Leaf, Ref)) else None
    out = node.outputs[0]
    if x is None or not out.numel():
        return None
    return x.numel() // out.numel() if out.numel() < x.numel() else None


def _spans_batch(graph: Graph, node: Node, rows: int) -> bool:
    """Does the reduction run over the batch axis (its first, `rows` long)? Read from its shapes: its
    result keeps no axis of `rows` in front."""
    x, out = graph.value(node.args[0]), node.outputs[0]
    return bool(x.dim()) and x.shape[0] == rows and not (out.dim() and out.shape[0] == rows)


REPEATED = frozenset({"rule", "drop", "scale", "transpose", "written", "ones", "g-out", "swap", "path"})


def edits(graph: Graph, batch: int, upstream: torch.Tensor | None = None, grads: dict | None = None,
          full: int | None = None, own_gradients: bool = False) -> Iterator[Edit]:
    """Every slip of the backward one edit away (`_edits`); each of those at an operation a loop ran, made in
    every pass alike (a backward that loops as its forward does writes it once); and a value of the pass
    before read where the pass's own belongs (`_recurrences`)."""
    passes = _passes(graph)
    for edit in _edits(graph, batch, upstream, grads, full, own_gradients):
        yield edit
        if edit.node not in passes or edit.kind not in REPEATED or edit.via is not None:
            continue
        if edit.kind == "path":  # the path through the operand in the same place, each pass its own
            position = next((i for i, a in enumerate(graph.nodes[edit.node].args) if a == edit.value), None)
            if position is not None and all(isinstance(graph.nodes[i].args[position], (Leaf, Ref))
                                            for i in passes[edit.node]):
                yield replace(edit, passes=passes[edit.node], operand=position)
        elif edit.kind == "swap" or not isinstance(edit.value, Ref):  # (not a value of the pass's own)
            yield replace(edit, passes=passes[edit.node])
    yield from _recurrences(graph)


def _passes(graph: Graph) -> dict[int, tuple[int, ...]]:
    """For the last pass of each operation a loop ran, the same operation in its earlier passes."""
    return {passes[-1][place].index: tuple(nodes[place].index for nodes in passes[:-1])
            for passes in graph.passes() for place in range(len(passes[0]))}


def _recurrences(graph: Graph) -> Iterator[Edit]:
    """A value of the pass before read where this pass's own belongs, in every pass that reads one: an RNN's
    `h` of step t for the `h` of step t - 1 (`self.hs[t]` for `self.hs[t - 1]`), a `swap` whose value is each
    pass's own (`variant` ("next", (node, the value it reads there)…))."""
    place = {node.index: (statement, k, at) for statement, passes in enumerate(graph.passes())
             for k, nodes in enumerate(passes) for at, node in enumerate(nodes)}
    nodes_at = {where: index for index, where in place.items()}
    for index, (statement, last, at) in place.items():
        node = graph.nodes[index]
        if last == 0 or (statement, last + 1, at) in nodes_at or node.op in NO_GRADIENT:
            continue  # (each operation once: from its last pass)
        for position, operand in enumerate(node.args):
            made = place.get(operand.node) if isinstance(operand, Ref) else None
            if made is None or made[1] != last - 1:
                continue
            reads = []
            for k in range(1, last + 1):  # the pass's node, and the same value made in its own pass
                here, before, own = (nodes_at.get((statement, k, at)), nodes_at.get((made[0], k - 1, made[2])),
                                     nodes_at.get((made[0], k, made[2])))
                if None not in (here, before, own) and graph.nodes[here].args[position] == Ref(before):
                    reads.append((here, own))
            if len(reads) == last and graph.value(Ref(reads[-1][1])).shape == graph.value(operand).shape:
                yield Edit("swap", index, position, value=Ref(reads[-1][1]), passes=tuple(h for h, _ in reads[:-1]),
                           variant=("next", tuple(reads)))


def _edits(graph: Graph, batch: int, upstream: torch.Tensor | None = None, grads: dict | None = None,
           full: int | None = None, own_gradients: bool = False) -> Iterator[Edit]:
    """Every slip of the backward one edit away. With the gradient from above (and the right
    gradients it gives, `grads`), `out` for `out.g` is tried only where out.g is what arrives (the
    last operation, and what passes it on unchanged). `full`: the user's batch, where the graph runs
    on its first `batch` rows (its sizes are said as the run has them). `own_gradients`: the code
    names the gradient of each value it names (a notebook's `dprobs` of `probs`), so a value taken
    for its gradient is a slip it can make."""
    reached, users = graph.reaches(), graph.users()
    arrives_as_is = _receives_upstream(grads, upstream)
    nodes = [n for n in graph.nodes if Ref(n.index) in reached and n.op not in NO_GRADIENT]
    named = _named_values(graph)
    constants = factors(graph, batch, full)
    for node in nodes:
        for slip in rule_of(node.op).slips:
            if not ((slip.drops_a_path or slip.drops_a_factor) and node.kwargs.get(WRITTEN_OUT)):
                yield Edit("rule", node.index, slip=slip)
        operands = [(i, a) for i, a in enumerate(node.args) if isinstance(a, (Leaf, Ref)) and a in reached]
        for position, operand in operands:
            yield Edit("drop", node.index, position)
            for factor, said, words in constants:
                yield Edit("scale", node.index, position, factor=factor, said_factor=said, factor_words=words)
            yield Edit("transpose", node.index, position)
            if node.name == "mm" and position == 1 and _batched_input(graph, node) is not None:
                for axes in (None, (1,), (2,)):  # the per-sample products summed over another axis than the batch's
                    for kept in (0.0, 1.0) if axes else (0.0,):
                        yield Edit("reduce", node.index, position, factor=kept, axes=axes)
            if node.outputs[0].shape != graph.value(operand).shape and (node.name in BROADCASTING or node.name == "expand"):
                spread, said = _broadcast_spread(graph, node, operand, batch, full)
                if spread > 1:  # `(g * x).mean(0)` for a parameter's `(g * x).sum(0)`
                    yield Edit("scale", node.index, position, factor=1 / spread, said_factor=1 / said,
                               factor_words=MEAN_FOR_SUM.format(said))
                yield Edit("reduce", node.index, position, axes=None)  # a broadcast's gradient not summed back
                for axes in _axis_choices(node.outputs[0].dim()):
                    for kept in (0.0, 1.0):
                        yield Edit("reduce", node.index, position, factor=kept, axes=axes)
        for position, operand in enumerate(node.args):  # a tensor used where another belongs (inp for xhat)
            if isinstance(operand, (Leaf, Ref)) and graph.value(operand).is_floating_point():
                shape = graph.value(operand).shape
                # not a normalisation's own output for its input: that reads statistics fixed at 0 and 1,
                # which is its division by the user's std or norm left out, said so (tensor_factor)
                for value in (v for v in named if not (node.kwargs.get(WRITTEN_OUT) and v == Ref(node.index))):
                    if value != operand and graph.value(value).shape == shape:
                        yield Edit("swap", node.index, position, value=value)
                    elif value != operand and graph.value(value).dim() >= 2 and graph.value(value).mT.shape == shape:
                        yield Edit("swap", node.index, position, value=value, transposed=True)
                    elif value != operand and shape.numel() > 1 and tuple(graph.value(value).squeeze().shape) == tuple(
                            size for size in shape if size != 1):  # the same values but for a size-1 axis
                        yield Edit("swap", node.index, position, value=value)
        if node.name in READS_OPERANDS or node.name in OWN_VALUE:
            for position, _ in operands:
                yield from _recomputations(graph, node, position, named)
        if node.name in OWN_VALUE and Ref(node.index) in users and operands and _own_expression(graph, node, operands[0][1]):
            for edit in _recomputations(graph, node, operands[0][0], named):  # (tanh's `t`, read by what follows too)
                yield replace(edit, everywhere=True)
        if node.name in OWN_VALUE and node.written is not None:  # tanh by hand, its value made again by hand wrongly
            for site in (node.written, *_made_inside(graph, node.written)):
                for edit in _remakings(graph, node, None, site, site.index, named, numbers_alone=True):
                    yield replace(edit, everywhere=True)
        for written in rule_of(node.op).forms(node.args, node.kwargs):  # in each form people write it in
            if operands and operands[0][0] == 0 and (len(operands) == 1 or "{targ}" in written) and (
                    node.outputs[0].shape == graph.value(operands[0][1]).shape or "{targ}" in written):
                # a closed form run as one operation (`F.silu`, `F.mse_loss`): one edit inside it
                for variant in variants(written):
                    yield Edit("written", node.index, variant=(variant, written))
        if node.name in OWN_VALUE:  # tanh's derivative from the input where its own value belongs
            for value in named:
                if value != Ref(node.index) and graph.value(value).shape == node.outputs[0].shape:
                    yield Edit("swap-out", node.index, value=value)
        g_out = node.outputs[0].shape == graph.value(graph.output).shape and (
            arrives_as_is is None or node.index in arrives_as_is)
        # a value the code names, taken where its gradient belongs (`dprobs = logprobs / probs`)
        g_own = own_gradients and Ref(node.index) in named and Ref(node.index) != graph.output
        if Ref(node.index) != graph.output:  # where it receives the gradient from above: the root's edits below
            yield Edit("ones", node.index)
            if g_out:
                yield Edit("g-out", node.index)
            if g_own:
                yield Edit("g-own", node.index)
        for position, members in enumerate(node.args):  # one piece of a cat or a stack (the backward slices out.g)
            if not isinstance(members, (list, tuple)) or len(members) < 2:
                continue
            for member, value in enumerate(members):
                if isinstance(value, (Leaf, Ref)) and value in reached:
                    yield Edit("path", node.index, position, value=value, member=member)
                    for factor, said, words_of_it in constants[:3]:  # its sign, 2 and 1/2 (not the sizes: rarely)
                        yield Edit("scale", node.index, position, factor=factor, said_factor=said,
                                   factor_words=words_of_it, member=member)
                    yield Edit("ones", node.index, position, member=member)
                    if g_out:
                        yield Edit("g-out", node.index, position, member=member)
        if len(operands) > 1:  # on one path only (`out` for `out.g` in one of two terms that read it)
            for position, _ in operands:
                yield Edit("ones", node.index, position)
                if g_out:
                    yield Edit("g-out", node.index, position)
                if g_own:
                    yield Edit("g-own", node.index, position)
        if node.outputs[0].dim() >= 2 and node.outputs[0].shape[-1] == node.outputs[0].shape[-2]:
            for position, _ in operands:
                yield Edit("g-T", node.index, position)
    for ref in graph.names():  # a statement of several operations whose derivative is left out as a whole
        statement = [n for n in nodes if _same_statement(n, graph.nodes[ref.node])]
        made = {Ref(n.index, k) for n in statement for k in range(len(n.outputs))}
        inputs = {a for n in statement for _, a in graph.tensor_args(n) if a not in made and a in reached
                  and graph.value(a).is_floating_point()}
        if len(statement) > 1 and len(inputs) == 1 and _spreads_to(graph.value(ref).shape,
                                                                   graph.value(next(iter(inputs))).shape):
            yield Edit("line", ref.node, value=next(iter(inputs)))
    yield from _statement_parts(graph, nodes, reached, arrives_as_is)
    searched = {n.index for n in nodes}
    for value in users:  # a leaf read twice or more, its whole gradient scaled (`.mean()`)
        readers = [graph.nodes[r] for r in _paths_of(graph, users[value], searched)]
        if isinstance(value, Leaf) and len(readers) > 1 and value in reached and graph.value(value).is_floating_point():
            for factor, said, words_of_it in constants:
                yield Edit("scale", value=value, factor=factor, said_factor=said, factor_words=words_of_it)
            spreads = {_broadcast_spread(graph, r, value, batch, full) for r in readers if r.name in BROADCASTING}
            if len(spreads) == 1 and len(readers) == sum(r.name in BROADCASTING for r in readers):
                spread, said = next(iter(spreads))
                if spread > 1:
                    yield Edit("scale", value=value, factor=1 / spread, said_factor=1 / said,
                               factor_words=MEAN_FOR_SUM.format(said))
    output = graph.value(graph.output)
    for value in users:  # a parameter broadcast over the whole output, through several operations: its mean
        shape = graph.value(value).shape
        if isinstance(value, Leaf) and value in reached and graph.value(value).is_floating_point() and \
                shape != output.shape and _spread_over(shape, output.shape):
            spread = output.numel() // max(graph.value(value).numel(), 1)
            over_batch = output.dim() and output.shape[0] == batch and (len(shape) < output.dim() or shape[0] == 1)
            said = _as_run(spread, batch, full) if over_batch else spread
            yield Edit("scale", value=value, factor=1 / spread, said_factor=1 / said, factor_words=MEAN_FOR_SUM.format(said))
    for value in users:  # a tensor read three times or more, one path kept (`+ a + b` dropped)
        readers = _paths_of(graph, users[value], searched)
        if len(readers) > 2 and value in reached and graph.value(value).is_floating_point():
            for kept in readers:
                yield Edit("only", kept, value=value, at=max(readers))
    named_nodes = {ref.node for ref in graph.names()}
    for node in nodes:  # so for an expression inside one (`torch.where(pos, x, a * (x.exp() - 1))` of `1.05 * …`)
        inputs = _expression_inputs(graph, node, reached)
        if node.index not in named_nodes and len(inputs) == 1 and \
                _spreads_to(node.outputs[0].shape, graph.value(next(iter(inputs))).shape):
            yield Edit("line", node.index, value=next(iter(inputs)))
    for node in nodes:  # a term dropped: one operand's path through a node (each said by what it runs through)
        members = [a for arg in node.args for a in (arg if isinstance(arg, (list, tuple)) else [arg])]  # cat's too
        for operand in dict.fromkeys(a for a in members if isinstance(a, (Leaf, Ref)) and a in reached):
            yield Edit("path", node.index, value=operand)
    for node in nodes:  # a value read by several operations, its derivative left out on one path only
        readers = _paths_of(graph, users.get(Ref(node.index), []), searched)
        if len(readers) > 1:
            for reader in readers:
                for position, operand in enumerate(node.args):
                    if isinstance(operand, (Leaf, Ref)) and operand in reached:
                        yield Edit("drop", node.index, position, via=reader)
    yield Edit("root-ones")
    yield Edit("root-out")
    output = graph.value(graph.output)
    for name, value in graph.leaves.items():  # the whole backward read at the output where the input belongs
        if output.dim() and value.is_floating_point() and value.shape == output.shape and Leaf(name) in reached:
            yield Edit("at-output", value=Leaf(name))
    if graph.value(graph.output).dim():  # a layer, not a loss: its gradient from above passed on as it came, or
        yield Edit("identity")  # its output given as the gradient
        yield Edit("identity", value=graph.output)


def _spread_over(shape: torch.Size, root: torch.Size) -> bool:
    """Is a tensor of `shape` the same as the output's, or one broadcast over it (a gain, a scalar)?"""
    try:
        return torch.broadcast_shapes(shape, root) == root
    except RuntimeError:
        return False


def _paths_of(graph: Graph, readers: list[int], searched: set[int] | None = None) -> list[int]:
    """Of the operations that read a value (`Graph.users()`), those a gradient reaches it through (not a
    mask's `x > 0`), among `searched`."""
    return [r for r in dict.fromkeys(readers) if graph.nodes[r].op not in NO_GRADIENT
            and (searched is None or r in searched)]


def _statement_parts(graph: Graph, nodes: list[Node], reached: set, arrives_as_is: set[int] | None) -> Iterator[Edit]:
    """A statement of several operations that reads several tensors: its derivative towards one of
    them left out, or without the gradient from above, or from `out` for out.g (`dt = out.g * t * (1 -
    t)` where `return t * h + (1 - t) * x` gives t the gradient `out.g * (h - x)`)."""
    layer = graph.value(graph.output).dim() > 0  # (a loss's own statement: its slips are the root's, 1 or `out`)
    for ref in (ref for ref in dict.fromkeys([*graph.names(), graph.output]) if layer or ref != graph.output):
        root = graph.nodes[ref.node]
        statement = [n for n in nodes if _same_statement(n, root) and n.index <= root.index]
        made = {Ref(n.index, k) for n in statement for k in range(len(n.outputs))}
        inputs = dict.fromkeys(a for n in statement for _, a in graph.tensor_args(n) if a not in made and a in reached
                               and graph.value(a).is_floating_point())
        if len(statement) < 2 or len(inputs) < 2 or root not in statement:
            continue
        first = min(n.index for n in statement)
        g_out = root.outputs[0].shape == graph.value(graph.output).shape and (
            arrives_as_is is None or root.index in arrives_as_is)
        for value in inputs:
            if _spreads_to(root.outputs[0].shape, graph.value(value).shape):
                yield Edit("part", root.index, value=value, at=first, variant=("line",))
            yield Edit("part", root.index, value=value, at=first, variant=("ones",))
            if g_out:
                yield Edit("part", root.index, value=value, at=first, variant=("g-out",))


MEAN_FOR_SUM = "divided by {}: a mean where the sum over the axes it was broadcast along belongs"


def _broadcast_spread(graph: Graph, node: Node, operand: Leaf | Ref, batch: int, full: int | None) -> tuple[int, int]:
    """How many of the node's results each value of a broadcast operand reaches: on these rows, and
    on the user's `full` batch where the broadcast runs along the batch."""
    spread = node.outputs[0].numel() // max(graph.value(operand).numel(), 1)
    shape = graph.value(operand).shape
    over_batch = node.outputs[0].dim() and node.outputs[0].shape[0] == batch and (
        len(shape) < node.outputs[0].dim() or shape[0] == 1)
    return spread, _as_run(spread, batch, full) if over_batch else spread


def _expression_inputs(graph: Graph, node: Node, reached: set) -> set:
    """The floating tensors an expression of several operations of one statement reads from outside
    itself (empty: it is one operation)."""
    inside, stack, inputs = set(), [node], set()
    while stack:
        current = stack.pop()
        inside.add(current.index)
        for _, value in graph.tensor_args(current):
            made_here = isinstance(value, Ref) and _same_statement(graph.nodes[value.node], node) and \
                value not in graph.names()
            if made_here and value.node not in inside:
                stack.append(graph.nodes[value.node])
            elif not made_here and value in reached and graph.value(value).is_floating_point():
                inputs.add(value)
    return inputs if len(inside) > 1 else set()


def _spreads_to(shape: torch.Size, to: torch.Size) -> bool:
    """Whether a gradient of this shape broadcasts to that one unchanged in rank (an (N, 1) to (N, C))."""
    try:
        return len(shape) == len(to) and torch.broadcast_shapes(shape, to) == to
    except RuntimeError:
        return False


def _same_statement(node: Node, other: Node) -> bool:
    return node.source is not None and other.source is not None and (node.source.file, node.source.line) == (
        other.source.file, other.source.line)


def _receives_upstream(grads: dict | None, upstream: torch.Tensor | None) -> set[int] | None:
    """The nodes whose result's right gradient is the gradient from above itself; None: not known."""
    if upstream is None or grads is None:
        return None
    return {ref.node for ref, grad in grads.items() if isinstance(ref, Ref) and grad.shape == upstream.shape
            and bool(torch.equal(grad, upstream))}


BROADCASTING = frozenset({"add", "sub", "mul", "div", "rsub", "where", "maximum", "minimum", "addmm", "pow", "atan2",
                          "hypot", "lerp", "logaddexp", "addcmul"})
OWN_VALUE = frozenset({"tanh", "sigmoid", "exp", "expm1", "exp2", "tan", "sqrt", "rsqrt", "reciprocal", "linalg_vector_norm",
                       "_softmax", "_log_softmax", "std"})


def _axis_choices(dims: int) -> list[tuple[int, ...]]:
    """The axes a broadcast's gradient may be summed over: each one, and all."""
    return [(d,) for d in range(dims)] + ([tuple(range(dims))] if dims > 1 else [])


def _named_values(graph: Graph) -> list[Leaf | Ref]:
    """The tensors the user's code has a name for: the layer's input and parameters, what a statement
    assigns, and the output."""
    values = [Leaf(name) for name, t in graph.leaves.items() if t.is_floating_point()]
    values += [ref for ref in graph.names() if graph.value(ref).is_floating_point()]
    if graph.output not in values:
        values.append(graph.output)
    return values


# -- what an edit is, in the user's words --------------------------------------------------------

def _where(node: Node) -> str:
    if node.source is None:
        return ""
    return f" in `{node.source.code}` ({place(node.source.file, node.source.line)})"


def _at(graph: Graph, node: Node, leaf_names: dict[str, str]) -> str:
    """The operation as code, and where: "`(x - mu) ** 2` in `var = ((x - mu) ** 2).mean(0)` (ln.py:14)"; the
    statement alone where the operation is all it computes, "`var = x.var(0)` (ln.py:14)"; an operation inside
    one call of the user's code said as such, "the softmax inside `F.scaled_dot_product_attention(q, k, v)` …"."""
    expression = _expression(graph, node)
    if node.source is not None and _statement_value(node.source.code) == expression:
        whole = expression if node.source.code.startswith("return") else node.source.code
        said = f"`{whole}` ({place(node.source.file, node.source.line)})"
    else:
        said = f"`{expression}`{_where(node)}"
    if not _inside_a_call(graph, node):
        return said
    mark = RULES[node.op].said(_context(graph, node, node.outputs[0])) if node.op in RULES else ""
    if re.fullmatch(r"[a-z_]+", mark) and mark not in LAYOUT_MARKS:
        return f"the {mark} inside {said}"
    code = _code_inside_a_call(graph, node, leaf_names) if mark not in LAYOUT_MARKS else None
    return f"`{code}` inside {said}" if code and len(code) <= SHORT_CODE else said


SHORT_CODE = 60  # (an operation inside a call said as code up to this long: beyond, the call alone says it better)


LAYOUT_MARKS = frozenset({"reshape", "permute", "flip", "transpose", "clone", "to", "pad", "expand", "cat", "stack", "repeat",
                          "tril", "triu", "roll", "gather", "index_select", "where", "masked_fill"})  # (moving, not computing)


def _statement_value(code: str) -> str | None:
    """The code of what a statement returns, or assigns to one name (`x @ w` of `h = x @ w`); else None."""
    try:
        statement = ast.parse(code).body
    except SyntaxError:
        return None
    if len(statement) != 1 or not (isinstance(statement[0], ast.Return) or (
            isinstance(statement[0], ast.Assign) and len(statement[0].targets) == 1
            and not isinstance(statement[0].targets[0], (ast.Tuple, ast.List)))):
        return None
    value = statement[0].value
    return ast.get_source_segment(code, value) if value is not None else None


def _expression(graph: Graph, node: Node) -> str:
    """The code that ran the operation: `(x - mu) ** 2`; the operation's own mark where that is unknown."""
    if node.source is not None and node.source.expression:
        return node.source.expression
    return RULES[node.op].said(_context(graph, node, node.outputs[0])) if node.op in RULES else node.name


def _side(graph: Graph, node: Node, position: int, leaf_names: dict[str, str]) -> str | None:
    """How the code writes a number operand of a binary operation (`C` of `x.sum(-1) / C`): the side
    of the expression that is not its tensor operand (`0.5 * x` runs as mul(x, 0.5): sides and
    operands need not be in one order). None when that is not clear."""
    if node.source is None or not node.source.expression or len(node.args) < 2:
        return None
    try:
        expression = ast.parse(node.source.expression, mode="eval").body
    except SyntaxError:
        return None
    tensor = node.args[1 - position] if position < 2 else None
    if not isinstance(expression, ast.BinOp) or not isinstance(tensor, (Leaf, Ref)):
        return None
    sides = [ast.get_source_segment(node.source.expression, side) or ast.unparse(side)
             for side in (expression.left, expression.right)]
    named = value_name(graph, tensor, leaf_names)
    said = {named, f"self.{named}"} if named else set()
    if isinstance(tensor, Ref) and graph.nodes[tensor.node].source is not None:
        said.add(graph.nodes[tensor.node].source.expression)
    others = [side for side in sides if side not in said]
    return others[0] if len(others) == 1 else None


def value_name(graph: Graph, value: Leaf | Ref, leaf_names: dict[str, str]) -> str | None:
    """The user's own name for a tensor: a leaf's (inp, w), or what a statement assigns it to."""
    if isinstance(value, Leaf):
        return leaf_names.get(value.name, value.name)
    return graph.names().get(value)


def name_of(graph: Graph, value: Leaf | Ref, leaf_names: dict[str, str]) -> str:
    """How to say a tensor: its name; else the nearest name it was made from (`1 + t` is said `t`);
    else the code that made it. The layer's output unnamed is `out`, as its backward calls it."""
    if value == graph.output and value_name(graph, value, leaf_names) is None:
        return "out"
    seen, queue = set(), [value]
    while queue:
        current = queue.pop(0)
        named = value_name(graph, current, leaf_names)
        if named is not None and (current == value or not isinstance(current, Leaf)):
            return named
        if isinstance(current, Ref) and current not in seen:
            seen.add(current)
            queue.extend(a for _, a in graph.tensor_args(graph.nodes[current.node]))
    return _expression(graph, graph.nodes[value.node]) if isinstance(value, Ref) else value.name


def _operand(graph: Graph, node: Node, position: int, leaf_names: dict[str, str]) -> str:
    """An operand as the user's code writes it: its name, else its own code (`1 + self.t`), a number as itself."""
    operand = node.args[position]
    if not isinstance(operand, (Leaf, Ref)):  # a number: as the code writes it (`C`), else its value
        return _side(graph, node, position, leaf_names) or (f"{operand:g}" if isinstance(operand, float) else str(operand))
    named = value_name(graph, operand, leaf_names)
    source = graph.nodes[operand.node].source if isinstance(operand, Ref) else None
    if not named and isinstance(operand, Ref) and _inside_a_call(graph, graph.nodes[operand.node]):
        code = _code_inside_a_call(graph, graph.nodes[operand.node], leaf_names)
        if code is not None:  # half of `h` inside `F.glu(h, -1)`: `h[:, 32:]`, not `h`
            return code
    if named or source is None or not source.expression or source == node.source:  # a matmul's own reshaping: its name
        return named or name_of(graph, operand, leaf_names)
    return source.expression


def _code_inside_a_call(graph: Graph, made: Node, leaf_names: dict[str, str]) -> str | None:
    """A value a function makes inside one call of the user's code (`F.glu(h, -1)`'s halves and their
    sigmoid) as code that makes it: `h[:, 32:]`, `torch.sigmoid(h[:, 32:])`; None where there is none
    this short."""
    if made.name in ("slice", "select") and isinstance(made.args[0], (Leaf, Ref)):
        base = _operand(graph, made, 0, leaf_names)
        base = base if re.fullmatch(r"[\w.]+(?:\[[^\[\]]*\])?", base) else f"({base})"
        dim = made.args[1] % max(graph.value(made.args[0]).dim(), 1) if len(made.args) > 1 else 0
        if made.name == "select":
            index = str(made.args[2])
        else:
            start, end = (list(made.args[2:4]) + [None, None])[:2]
            end = None if end is None or end >= graph.value(made.args[0]).shape[dim] else end
            index = f"{start or ''}:{'' if end is None else end}"
        return f"{base}[{', '.join([':'] * dim + [index])}]"
    operands = [_operand(graph, made, i, leaf_names) if isinstance(a, (Leaf, Ref)) else a for i, a in enumerate(made.args)]
    if made.name == "unsqueeze":  # (the steps of a function torch or gradtui writes out: cdist's `(x1 - x2) ** 2`)
        return f"{_bound(operands[0], 7)}.unsqueeze({made.args[1]})"
    if made.name in ARITHMETIC and len(made.args) == 2 and isinstance(made.args[0], (Leaf, Ref)):
        symbol, tight = ARITHMETIC[made.name]
        other = operands[1] if isinstance(made.args[1], (Leaf, Ref)) else f"{operands[1]:g}"
        return f"{_bound(operands[0], tight)} {symbol} {_bound(other, tight + 0.5)}"
    if made.name == "pow" and isinstance(made.args[0], (Leaf, Ref)) and isinstance(made.args[1], (int, float)):
        return f"{_bound(operands[0], 7)} ** {made.args[1]:g}"
    if made.name in ("sum", "mean") and len(made.args) > 1 and isinstance(made.args[1], (list, tuple)) and isinstance(
            made.args[0], (Leaf, Ref)):
        axes = ", ".join(str(d) for d in made.args[1])
        return f"{_bound(operands[0], 7)}.{made.name}({axes}{', keepdim=True' if len(made.args) > 2 and made.args[2] else ''})"
    code = RULES[made.op].said(_context(graph, made, made.outputs[0])) if made.op in RULES else ""
    # a function of its one operand alone (`torch.sigmoid(h)`); not a view or copy of it (a 3-D matmul's
    # reshape of `k`), which is said by the name it reshapes
    if len(made.args) == 1 and isinstance(made.args[0], (Leaf, Ref)) and not made.kwargs and made.name != "clone" \
            and re.fullmatch(r"[a-z_]+", code or "") and hasattr(torch, code):
        return f"torch.{code}({_operand(graph, made, 0, leaf_names)})"
    return None


ARITHMETIC = {"add": ("+", 3), "sub": ("-", 3), "mul": ("*", 4), "div": ("/", 4)}  # (symbol, how tightly it binds)


def _bound(code: str, tight: float) -> str:
    """`code` as an operand where an operator binding `tight` stands: parenthesised where it binds more loosely."""
    return code if binding(code) >= tight else f"({code})"


def words(graph: Graph, edit: Edit, target: str, leaf_names: dict[str, str], rows: tuple[int, int] | None = None,
          role: str | None = None, gradient_names: dict | None = None) -> str:
    """The slip in a sentence: "w.g: the derivative of `(x - mu) ** 2` in `var = ((x - mu) ** 2).mean(0)`
    (layernorm.py:14) is missing its 2". `rows`: (the graph's rows, the user's batch), where the graph
    ran on the first rows only. `role`: the leaf whose gradient it is, to say as code what a
    derivative or a path left out comes to, where the forward is elementwise in it. `gradient_names`: the
    code's own names of the gradients of some values (a notebook's `dprobs` of `probs`)."""
    if edit.kind == "root-ones":
        return f"{target} does not multiply in the gradient from above, out.g"
    if edit.kind == "root-out" and not graph.value(graph.output).dim():
        return f"{target} is multiplied by the loss itself, `out`, where a loss's backward starts from 1"
    if edit.kind == "root-out":
        return f"{target} is computed from the layer's output `out` where its gradient `out.g` belongs"
    if edit.kind == "identity" and edit.value is not None:
        code = _derivative_said(graph, graph.output, Leaf(role), leaf_names) if role else None
        right = f" (`out` where `{times('out.g', code)}` belongs)" if code else ""
        return f"{target} is the layer's output `out` itself, where a gradient belongs: no derivative is multiplied " \
               f"into `out.g`{right}"
    if edit.kind == "identity":
        code = _derivative_said(graph, graph.output, Leaf(role), leaf_names) if role else None
        summed = role in graph.leaves and graph.leaves[role].shape != graph.value(graph.output).shape
        return (f"{target} is out.g {'summed to its shape' if summed else 'passed on unchanged'}: the derivative of the "
                f"layer's forward is never multiplied in{f'; it comes to `{code}`' if code and code != ONE else ''}")
    if edit.kind == "scale" and edit.node is None:
        return f"{target} is {edit.factor_words}"
    if edit.kind == "at-output":
        return (f"{target} is the backward read at the layer's output: `out` where `{name_of(graph, edit.value, leaf_names)}`"
                " belongs, in every derivative that reads it")
    node = graph.nodes[edit.node]
    if edit.kind == "line":
        code = _derivative_said(graph, Ref(node.index), edit.value, leaf_names)
        factor = f"; its derivative comes to `{code}`" if code and code != ONE else ""
        if Ref(node.index) in graph.names():
            return (f"{target}: the derivative of `{node.source.code}` ({place(node.source.file, node.source.line)}) is "
                    f"left out: the gradient of `{name_of(graph, Ref(node.index), leaf_names)}` reaches "
                    f"`{name_of(graph, edit.value, leaf_names)}` unchanged{factor}")
        return (f"{target}: the derivative of {_at(graph, node, leaf_names)} is left out as a whole: the "
                f"gradient reaches `{name_of(graph, edit.value, leaf_names)}` through it unchanged{factor}")
    if edit.kind == "part":
        return _part_said(graph, node, edit, target, leaf_names)
    if edit.kind == "only":
        dropped = [graph.nodes[i] for i in _paths_of(graph, graph.users()[edit.value]) if i != node.index]
        paths = " and ".join(f"`{_expression(graph, other)}`" for other in dropped)
        return (f"{target} keeps only the path of `{name_of(graph, edit.value, leaf_names)}` through "
                f"{_at(graph, node, leaf_names)}: its paths through {paths} are missing")
    if edit.member is not None:
        operation = f"the derivative of {_at(graph, node, leaf_names)} towards its {_piece(graph, node, edit, leaf_names)},"
        if edit.kind == "path":
            return f"{target}: {operation} is missing: the path through it is left out"
        if edit.kind == "ones":
            return f"{target}: {operation} does not multiply in the gradient coming from above"
        if edit.kind == "g-out":
            return f"{target}: {operation} is computed from the layer's output `out` where its gradient `out.g` belongs"
        return f"{target}: {operation} is {edit.factor_words}"
    if edit.kind == "path":
        path = _derivative_said(graph, graph.output, Leaf(role), leaf_names, (node.index, edit.value)) \
            if role and graph.value(graph.output).dim() else None
        term = f": the term it adds comes to `{times('out.g', path)}`" if path else ""
        return f"{target}: the path through `{path_through(graph, node, edit.value, leaf_names)[0]}`{_where(node)} " \
               f"is missing{term}"
    operation = f"the derivative of {_at(graph, node, leaf_names)}"
    if edit.kind == "rule":
        said = edit.slip.said(_context(graph, node, node.outputs[0]))
        return f"{target}: {operation} {said.format(**_placeholders(graph, node, leaf_names)) if '{' in said else said}"
    tensors = [i for i, a in enumerate(node.args) if isinstance(a, (Leaf, Ref))]
    if edit.kind in ("ones", "g-out", "g-own") and edit.operand is not None:
        operation += f" towards `{_operand(graph, node, edit.operand, leaf_names)}`"
    if edit.kind == "ones":
        above = _derivative_said(graph, graph.output, Ref(node.index), leaf_names) \
            if graph.value(graph.output).dim() else None  # (what reaches it, as code)
        return f"{target}: {operation} does not multiply in the gradient coming from above" + (
            f"; it comes to `{times('out.g', above)}`" if above and above != ONE else "")
    if edit.kind == "g-out":
        return f"{target}: {operation} is computed from the layer's output `out` where its gradient `out.g` belongs"
    if edit.kind == "g-own":
        own = name_of(graph, Ref(node.index), leaf_names)
        gradient = f"`{gradient_names[Ref(node.index)]}`" if Ref(node.index) in (gradient_names or {}) else \
            f"the gradient of `{own}`"
        return f"{target}: {operation} is computed from `{own}` itself where {gradient} belongs"
    if edit.kind == "g-T":
        towards = f" towards `{_operand(graph, node, edit.operand, leaf_names)}`" if len(tensors) > 1 else ""
        return f"{target}: {operation}{towards} takes the gradient coming from above transposed"
    if edit.kind == "recompute" and edit.everywhere and edit.operand is None:
        return f"{target}: {operation} {_written_remade_said(graph, node, edit, leaf_names)}"
    if edit.kind == "recompute" and edit.everywhere:
        return f"{target}: {operation}, and every derivative after it that reads its value, " \
               f"{_recompute_said(graph, node, edit, leaf_names)}"
    if edit.kind == "recompute":
        return f"{target}: {operation} {_recompute_said(graph, node, edit, leaf_names)}"
    if edit.kind == "written":
        wrong, right = (code.format(**_placeholders(graph, node, leaf_names)) for code in (
            edit.variant[0], as_written(edit.variant[1])))
        part = apart(wrong, right) if len(right) > WHOLE_FORMULA else None  # (a long one said by the part that differs)
        said = f"has `{part[0]}` where `{part[1]}` belongs" if part else f"is `{wrong}` where `{right}` belongs"
        # the layer's own function of its input (`return F.gelu(inp)`): its whole gradient written out, as a kind's is
        whole = Ref(node.index) == graph.output and role is not None and node.args[0] == Leaf(role)
        return f"{target}: {operation} {said}" + (f"; fix: {role}.g = out.g * ({in_numbers(right)})" if whole else "")
    if edit.kind == "swap-out":
        own = graph.names().get(Ref(node.index))
        return (f"{target}: {operation} is taken from `{name_of(graph, edit.value, leaf_names)}` where its own value"
                f"{f' `{own}`' if own else ''} belongs")
    if edit.kind == "swap" and edit.variant[:1] == ("next",):
        return (f"{target}: {operation} uses `{name_of(graph, edit.value, leaf_names)}` as this pass of its loop makes "
                f"it where the pass before's `{_operand(graph, node, edit.operand, leaf_names)}` belongs")
    if edit.kind == "swap":
        return (f"{target}: {operation} uses `{name_of(graph, edit.value, leaf_names)}` where "
                f"`{_operand(graph, node, edit.operand, leaf_names)}` belongs")
    towards = f" (towards `{_operand(graph, node, edit.operand, leaf_names)}`)" if len(tensors) > 1 else ""
    if edit.via is not None:
        reader = graph.nodes[edit.via]
        towards += f" on its path through `{_expression(graph, reader)}`" + (
            f" ({place(reader.source.file, reader.source.line)})" if reader.source is not None else "")
    if edit.kind == "drop":
        others = [i for i, a in enumerate(node.args[:2]) if i != edit.operand and isinstance(a, (Leaf, Ref, float, int))]
        if node.name in ("mul", "div") and others:
            how = "the factor" if node.name == "mul" else "the division by"
            return f"{target}: {operation}{towards} is missing {how} `{_operand(graph, node, others[0], leaf_names)}`"
        if (node.name == "sub" and edit.operand == 1) or node.name in ("neg", "rsub"):
            return f"{target}: {operation}{towards} is missing its minus sign"
        written = rule_of(node.op).written(node.args, node.kwargs) if len(tensors) == 1 else ""
        if written:  # `tanh`'s: the fix multiplies it in, in the code's names
            written = written.format(**_placeholders(graph, node, leaf_names))
            return f"{target}: {operation}{towards} is left out (the gradient passes through it unchanged): its " \
                   f"derivative, `{written}`, is never multiplied in"
        local = _local_derivative_said(graph, node, edit.operand, leaf_names) if len(tensors) > 1 else None
        if local and local != ONE:  # (of an operation of two tensors, towards one: `torch.lerp`'s `0.75`)
            return f"{target}: {operation}{towards} is left out (the gradient passes through it unchanged): its " \
                   f"derivative, `{local}`, is never multiplied in"
        return f"{target}: {operation}{towards} is left out (the gradient passes through it unchanged)"
    if edit.kind == "reduce" and node.name == "mm":
        x, w = _batched_input(graph, node), graph.value(node.args[1])
        product = f"its per-sample products, `{_operand(graph, graph.nodes[node.args[0].node], 0, leaf_names)}" \
                  f".transpose(-2, -1) @ g` (batch × {x.shape[-1]} × {w.shape[-1]}),"
        if edit.axes is None:
            return f"{target}: {operation}{towards} keeps {product} not summed over the batch: .sum(0) missing"
        kept = ", keepdim=True" if edit.factor == 1 else ""
        return (f"{target}: {operation}{towards} sums {product} over axis {edit.axes[0]} (or {edit.axes[0] - 3}) "
                f"with .sum({edit.axes[0]}{kept}) where .sum(0), the batch, belongs")
    if edit.kind == "reduce":
        right = _broadcast_sum(node.outputs[0].shape, graph.value(node.args[edit.operand]).shape)
        made = node.args[edit.operand]
        made = graph.nodes[made.node] if isinstance(made, Ref) else None
        while made is not None and made.name == "slice" and made.outputs[0].shape == graph.value(made.args[0]).shape:
            made = graph.nodes[made.args[0].node] if isinstance(made.args[0], Ref) else None  # (a whole slice: as it is)
        if made is not None and made.name == "unsqueeze" and right == f".sum({made.args[1] % node.outputs[0].dim()}, " \
                                                                         "keepdim=True)":
            right = right.removesuffix(", keepdim=True)") + ")"  # (`inp[:, None, :]`: summed back to inp, the axis gone)
        if edit.axes is None:
            return f"{target}: {operation}{towards} is not summed over the axes it was broadcast along ({right} missing)"
        kept = ", keepdim=True" if edit.factor == 1 else ""
        if len(edit.axes) == node.outputs[0].dim() and not kept:
            return f"{target}: {operation}{towards} is summed over every axis, .sum(), where {right} belongs (the axes " \
                   "it was broadcast along)"
        summed = f".sum({_axes_code(edit.axes)}{kept})"
        return f"{target}: {operation}{towards} is {summed} where {right} belongs (the axes it was broadcast along)"
    if edit.kind == "scale":
        constant = _constant_scaled(graph, node, edit, rows)
        if constant is not None:
            return f"{target}: {constant}"
        return f"{target}: {operation}{towards} is {edit.factor_words}"
    return f"{target}: {operation}{towards} is transposed"


def _part_said(graph: Graph, root: Node, edit: Edit, target: str, leaf_names: dict[str, str]) -> str:
    towards = name_of(graph, edit.value, leaf_names)
    code = root.source.code if root.source is not None else _expression(graph, root)
    where = f" ({place(root.source.file, root.source.line)})" if root.source is not None else ""
    operation = f"the derivative of `{code}`{where} towards `{towards}`"
    if edit.variant[0] == "line":
        derivative = _derivative_said(graph, Ref(root.index), edit.value, leaf_names)
        factor = f"; its derivative comes to `{derivative}`" if derivative and derivative != ONE else ""
        return f"{target}: {operation} is left out: the gradient reaches `{towards}` unchanged{factor}"
    if edit.variant[0] == "ones":
        return f"{target}: {operation} does not multiply in the gradient coming from above"
    return f"{target}: {operation} is computed from the layer's output `out` where its gradient `out.g` belongs"


def _derivative_said(graph: Graph, of: Ref, by: Leaf | Ref, leaf_names: dict[str, str],
                     only: tuple[int, Leaf | Ref] | None = None) -> str | None:
    """d`of`/d`by` as code in the forward's names, where the forward is elementwise in `by`; None where
    it would read a value made inside a call of the code's (`F.softsign(x)`'s `1 + abs(x)`), which the
    code has no words for."""
    if isinstance(by, Leaf) and by.name not in graph.leaves:
        return None
    looped = {node.index for passes in graph.passes() for nodes in passes for node in nodes}
    if any(index in looped for index in range(by.node if isinstance(by, Ref) else 0, of.node + 1)):
        return None  # (a loop's code names each pass's value alike, `h`, and reads its variable, `k`: no code for one)
    try:
        return derivative_code(graph, of, by, *_sayers(graph, leaf_names), only)
    except _Unsayable:
        return None


def _local_derivative_said(graph: Graph, node: Node, position: int, leaf_names: dict[str, str]) -> str | None:
    """The derivative of one operation towards one operand, elementwise over its result, as code in the
    forward's names (`0.75` of `torch.lerp(inp, w, 0.25)` towards inp; `(w > inp)` of `torch.maximum(inp,
    w)` towards w, which a broadcast w's gradient sums back); None where it cannot be said."""
    try:
        return local_derivative_code(node, position, *_sayers(graph, leaf_names))
    except _Unsayable:
        return None


def _sayers(graph: Graph, leaf_names: dict[str, str]) -> tuple:
    """How derivative_code says an operand and fills a table entry's placeholders, in the forward's
    names; _Unsayable where that reads a value made inside a call of the code's."""
    def operand(node: Node, position: int) -> str:
        made = node.args[position]
        if isinstance(made, Ref) and made not in graph.names() and _inside_a_call(graph, graph.nodes[made.node]):
            raise _Unsayable
        return _operand(graph, node, position, leaf_names)

    def placeholders(node: Node) -> dict[str, str]:
        sides = _placeholders(graph, node, leaf_names)
        if sides["out"] == "out" and _inside_a_call(graph, node) and "{out}" in rule_of(node.op).written(node.args,
                                                                                                    node.kwargs):
            raise _Unsayable
        return sides

    return operand, placeholders


class _Unsayable(Exception):
    """A value the derivative as code would read that the user's code has no words for."""


def _placeholders(graph: Graph, node: Node, leaf_names: dict[str, str]) -> dict[str, str]:
    """What a slip's words say the operation's operands and value as: `{left}`, `{right}` and `{third}` as
    the code writes them, `{inp}` its operand so too (in parentheses where it is an expression), `{out}` its
    own value by the name the code gives it (`t` of `t = torch.tanh(u)`), else its code (`torch.exp(x)`
    inside `a * (torch.exp(x) - 1)`), else `out`, and `{dout}` that value's gradient as a backward names
    it (`dt`; the layer's `out.g`; `g`, one the code has no name for)."""
    sides = {key: _operand(graph, node, i, leaf_names) for i, key in enumerate(("left", "right", "third"))
             if i < len(node.args)}
    operand, target = sides.get("left", "x"), sides.get("right", "targ")
    sides["inp"], sides["targ"] = (_as_factor(code) for code in (operand, target))  # `inp.abs()` as is
    # each operand as a factor, a base or a divisor is written (`(self.n + 1e-5) ** 2`, `-(a + b)`)
    sides |= {f"{key}_factor": _as_factor(sides[key]) for key in ("left", "right") if key in sides}
    own = graph.names().get(Ref(node.index)) if Ref(node.index) != graph.output else None
    sides["out"], sides["dout"] = (own, f"d{own}") if own else ("out", "out.g")  # its gradient, as code names it
    written = node.source.expression if node.source is not None else None
    if not own and _inside_a_call(graph, node):  # tanh inside `F.tanhshrink(x)`: the code has no words for it
        sides["out"], sides["dout"] = _code_inside_a_call(graph, node, leaf_names) or "out", "g"
    elif not own and Ref(node.index) != graph.output and written:  # `torch.exp(x)` inside `a * (torch.exp(x) - 1)`
        sides["out"], sides["dout"] = _as_factor(written), "g"
    return sides


def _as_factor(code: str) -> str:
    """Code as it is written inside a larger expression: a name or a call as it is, else in parentheses."""
    return code if re.fullmatch(r"[\w.]+(?:\([^()]*\))?", code) else f"({code})"


def _inside_a_call(graph: Graph, node: Node) -> bool:
    """An operation a function runs inside one call of the user's code (`F.softsign(x)`'s abs and add):
    the code's expression there is the call's, not the operation's own."""
    return node.source is not None and bool(node.source.expression) and any(
        other.source == node.source for other in graph.nodes[node.index + 1:])


def _recompute_said(graph: Graph, node: Node, edit: Edit, leaf_names: dict[str, str]) -> str:
    """What the derivative reads, made again wrongly, and what belongs: "reads `torch.exp(-d ** 2 / (2 *
    s))` where `torch.exp(-d ** 2 / (2 * s ** 2))` belongs"."""
    right = _operand(graph, node, edit.operand, leaf_names)
    made = graph.nodes[node.args[edit.operand].node]
    if edit.at is None and node.name not in OWN_VALUE:
        return f"reads `{_remade_code(graph, made, edit, right, leaf_names)}` where `{right}` belongs"
    whole = _expression(graph, node) if node.name in OWN_VALUE else right  # exp's own value, as the code makes it
    return _made_again_said(graph, whole, made if edit.at is None else graph.nodes[edit.at], edit, leaf_names)


def _written_remade_said(graph: Graph, node: Node, edit: Edit, leaf_names: dict[str, str]) -> str:
    """A fused operation's own value as its steps by hand make it again, one edit away: "reads `2 / (1 +
    torch.exp(-4 * inp)) - 1` where `2 / (1 + torch.exp(-2 * inp)) - 1` belongs"."""
    site = node.written if edit.at == node.index else graph.nodes[edit.at]
    return _made_again_said(graph, _expression(graph, node), site, edit, leaf_names)


def _made_again_said(graph: Graph, whole: str, site: Node, edit: Edit, leaf_names: dict[str, str]) -> str:
    """`whole` as a derivative reads it, made again with the edit at the operation `site` inside it."""
    said = _expression(graph, site)
    remade = _remade_code(graph, site, edit, said, leaf_names)
    if "`" not in remade and whole.count(said) == 1:
        grouped = whole.find(f"({said})")  # `(2 * s ** 2)` made again as `2`: its parentheses go (not a call's)
        if grouped >= 0 and binding(remade) == 7 and not (grouped and (whole[grouped - 1].isalnum() or
                                                                        whole[grouped - 1] in "_)]")):
            said = f"({said})"
        return f"reads `{whole.replace(said, remade)}` where `{whole}` belongs"
    if "`" not in remade:
        return f"reads `{whole}` made again with `{remade}` where `{said}` belongs"
    if "` with " in remade:  # "2 / (1 + e)` with 4 in place of 2": where the code has no words for the number
        part, change = remade.split("` with ", 1)
        return f"reads `{whole}` made again with {change}{'`' * (change.count('`') % 2)} in `{part}`"
    return f"reads `{whole}` made again with its `{said}` wrong"


def _remade_code(graph: Graph, made: Node, edit: Edit, right: str, leaf_names: dict[str, str]) -> str:
    """The operation `made` as a "recompute" slip makes it again, in the code's own words where they
    can be found (`inp.squeeze(-1) + targ` for `inp.squeeze(-1) - targ`)."""
    try:
        expression = ast.parse(right, mode="eval").body
    except SyntaxError:
        expression = None
    # a call of two operands (`torch.pow(inp, 3.0)`) is said by its arguments as an operator is by its sides
    called = expression if isinstance(expression, ast.Call) and len(expression.args) >= 2 and not expression.keywords \
        else None
    if not isinstance(expression, ast.BinOp):
        expression = None
    sides = [ast.get_source_segment(right, side) for side in (
        (expression.left, expression.right) if expression else called.args[:2] if called else ())]

    def named_side(position: int) -> int | None:
        operand = made.args[position]
        if not isinstance(operand, (Leaf, Ref)):
            return None
        names = {name_of(graph, operand, leaf_names), _operand(graph, made, position, leaf_names)}
        said = [i for i, side in enumerate(sides) if side in names | {f"self.{n}" for n in names}]
        return said[0] if len(said) == 1 else None

    def side_of(position: int) -> int | None:  # which side of the code is the operation's operand `position`
        mine, other = named_side(position), named_side(1 - position)
        return mine if mine is not None else (1 - other if other is not None and len(sides) == 2 else None)

    how = edit.variant
    if how[0] == "flip" and expression is not None and isinstance(expression.op, (ast.Add, ast.Sub)):
        first = 1 if made.name == "rsub" else 0  # the side a flip's value starts from (a of a - b)
        left = side_of(first if how[1] == 0 else 1 - first)
        if left is not None:
            return f"{sides[left]} {'+' if made.name != 'add' else '-'} {sides[1 - left]}"
    if how[0] == "alone" and (expression or called) is not None and (side := side_of(how[1])) is not None:
        negated = expression is not None and side == 1 and isinstance(expression.op, ast.Sub)
        return f"-{sides[side]}" if negated else sides[side]
    if how[0] == "reduced" and expression is not None and (side := side_of(how[1])) is not None:
        call = re.search(r"\.(mean|sum)\(([^,)]*)", sides[side])
        if call is not None:
            said = f".{how[2]}({call[2] if how[3] is None else how[3]}"
            return right.replace(sides[side], sides[side][:call.start()] + said + sides[side][call.end():], 1)
    if how[0] == "reduced":
        return f"{right}` with its {graph.nodes[made.args[how[1]].node].name} redone as a {how[2]}" + (
            "" if how[3] is None else f" over axis {how[3]}")
    new = _as_the_code_names(graph, edit.value, leaf_names) if edit.value is not None else (
        _fraction(how[-1]) or f"{how[-1]:g}") if how[0] == "number" else None
    if new and how[0] == "with" and re.search(rf"\bself\.{re.escape(new)}\b", right):  # as the code reads it
        new = f"self.{new}"
    if how[0] in ("with", "number") and (expression or called) is not None and new and (side := side_of(how[1])) is not None:
        # the operand as the slip has it, in its place (`6 * inp`, `torch.pow(inp, 6.0)`, `k * (inp)`)
        operand = called.args[side] if called is not None else (expression.left, expression.right)[side]
        code = right.encode()  # (ast's offsets count bytes)
        return (code[:operand.col_offset] + new.encode() + code[operand.end_col_offset:]).decode()
    replaced = made.args[how[1]] if how[0] in ("with", "alone", "number") else None
    old = name_of(graph, replaced, leaf_names) if isinstance(replaced, (Leaf, Ref)) else None
    if how[0] == "number":
        return f"{right}` with {new} in place of {_fraction(replaced) or f'{replaced:g}'}"
    if how[0] == "with":
        return f"{right}` with `{new}` in place of `{old}"
    if how[0] == "alone" and old is not None:
        return f"{old}` alone, of `{right}"
    if how[0] == "alone":
        return f"one term alone, of `{right}"
    return f"{right}` with its sign flipped"


def _as_the_code_names(graph: Graph, value: Leaf | Ref, leaf_names: dict[str, str]) -> str:
    """A value's name as the code spells it where it reads it: `self.em`, not `em`."""
    source = graph.nodes[value.node].source if isinstance(value, Ref) else None
    name = name_of(graph, value, leaf_names)
    return source.name if source is not None and source.name == f"self.{name}" else name


def _constant_scaled(graph: Graph, node: Node, edit: Edit, rows: tuple[int, int] | None = None) -> str | None:
    """A scale slip at a constant the code writes, said as that constant written wrong: "the `(n - 1)`
    of `var = d2.sum(0) / (n - 1)` (nb.py:8) is 32 here, where 31 belongs (Bessel's correction)"."""
    position = 1 - edit.operand if edit.operand in (0, 1) and len(node.args) > 1 else None
    number = node.args[position] if position is not None else None
    if node.name not in ("mul", "div") or not numeric(number) or not number:
        return None
    number = _number_as_run(number, rows)
    factor = edit.factor if edit.said_factor is None else edit.said_factor
    wrong = number * factor if node.name == "mul" else number / factor  # as the code would write it
    said_wrong, said_right, side = _fraction(wrong), _fraction(number), _side(graph, node, position, {})
    if said_wrong is None or said_right is None or side is None:
        return None
    divisors = [1 / v if node.name == "mul" else v for v in (number, wrong)]
    whole = all(abs(d - round(d)) <= 1e-6 * abs(d) for d in divisors)
    bessel = " (Bessel's correction)" if whole and abs(round(divisors[0]) - round(divisors[1])) == 1 else ""
    return f"the `{side}` of `{node.source.code}` ({place(node.source.file, node.source.line)}) is {said_wrong} here, " \
           f"where {said_right} belongs{bessel}"


def _number_as_run(number: float, rows: tuple[int, int] | None) -> float:
    """A number the code made from the batch's size (`n - 1`, `1 / n`) on the probe's first rows, as
    it is on the user's whole batch: (probe rows, the batch's)."""
    if rows is None or rows[0] == rows[1]:
        return number
    for offset in (-1, 0, 1):
        if number == rows[0] + offset:
            return rows[1] + offset
        if math.isclose(number, 1 / (rows[0] + offset), rel_tol=1e-9):
            return 1 / (rows[1] + offset)
    return number


def _fraction(value: float) -> str | None:
    """0.03125 -> 1/32, 2.0 -> 2, -1.0 -> -1; None for a number that is neither a whole nor 1/whole."""
    sign, size = ("-" if value < 0 else ""), abs(value)
    if size and abs(size - round(size)) <= 1e-6 * size:
        return f"{sign}{round(size)}"
    if size and abs(1 / size - round(1 / size)) <= 1e-6 / size:
        return f"{sign}1/{round(1 / size)}"
    return None


ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _piece(graph: Graph, node: Node, edit: Edit, leaf_names: dict[str, str]) -> str:
    """A cat's or a stack's piece as its backward slices the gradient: "second piece, `out.g[:, 4:8]`"."""
    members, out = node.args[edit.operand], node.outputs[0]
    dim = node.args[edit.operand + 1] if len(node.args) > edit.operand + 1 else node.kwargs.get("dim", 0)
    dim = int(dim) % out.dim()
    if node.name == "stack":
        index = str(edit.member)
    else:
        start = sum(graph.value(m).shape[dim] for m in members[:edit.member] if isinstance(m, (Leaf, Ref)))
        stop = start + graph.value(members[edit.member]).shape[dim]  # (as slices are written: `:4`, `8:`)
        index = f"{start or ''}:{stop if stop < out.shape[dim] else ''}"
    index = f"..., {index}" if dim == out.dim() - 1 and dim > 1 else ":, " * dim + index
    dout = _placeholders(graph, node, leaf_names)["dout"]
    order = ORDINALS[edit.member] if edit.member < len(ORDINALS) else f"{edit.member + 1}th"
    return f"{order} piece, `{dout}[{index}]`"


def path_through(graph: Graph, node: Node, value: Leaf | Ref, leaf_names: dict[str, str]) -> tuple[str, int]:
    """What a dropped path runs through, as the user names it, and how well (0: what the statement
    names, 1: a named tensor it reads, 2: an input, 3: an expression): what the node makes, when it
    reads one tensor and its expression is named (`mu = x.mean(0)`: the path through mu); else what it
    reads (`xhat = (x - mu) * rstd`, rstd dropped: the path through rstd)."""
    readers = [a for a in node.args if isinstance(a, (Leaf, Ref))]
    own = node.source.name if node.source is not None and Ref(node.index) != graph.output else None
    if len(readers) == 1 and own:
        return own.removeprefix("self."), 0
    named = value_name(graph, value, leaf_names)
    expression = node.source.expression if node.source is not None else None
    if named is not None and not (expression and _read_twice_in_statement(graph, node, value)):
        return named, 2 if isinstance(value, Leaf) else 1
    if named is not None and len(readers) == 1:  # `inp` of `where(inp >= 0, inp, alpha * inp)`: which use? this one
        return expression, 3
    made = graph.nodes[value.node].source if isinstance(value, Ref) else None
    if made is not None and made.expression and made.expression != expression:  # `inp - mu` of `(inp - mu) / std`
        return made.expression, 3
    if len(readers) == 1 and expression and Ref(node.index) != graph.output:  # `e.sum(-1)` in `e / e.sum(-1)`
        return expression, 3
    return name_of(graph, value, leaf_names), 3


def _read_twice_in_statement(graph: Graph, node: Node, value: Leaf | Ref) -> bool:
    """Whether another operation of the node's statement reads the value too: its name alone then does not
    say which path is meant."""
    return any(other is not node and _same_statement(node, other) and any(read == value for _, read in graph.tensor_args(other))
               for other in graph.nodes)


def _broadcast_sum(shape: torch.Size, operand: torch.Size) -> str:
    """The sum that takes a gradient of `shape` back to a broadcast operand's: ".sum(0)", and, where the
    operand also has size-1 axes of its own, a second sum that keeps them: ".sum(0).sum(0, keepdim=True)"."""
    lead = len(shape) - len(operand)
    kept = [i for i, size in enumerate(operand) if size == 1 and shape[lead + i] != 1]
    sums = ([f".sum({_axes_code(range(lead))})"] if lead else []) + (
        [f".sum({_axes_code(kept)}, keepdim=True)"] if kept else [])
    return "".join(sums) or ".sum()"


def _axes_code(axes) -> str:
    axes = list(axes)
    return str(axes[0]) if len(axes) == 1 else f"({', '.join(map(str, axes))})"


# -- numerical guards: a small constant the forward adds before a log, a division, a square root ------

GUARD_MOST = 1e-3  # a constant added this small, or smaller, is a guard, not part of the function's meaning
GUARDS_EFFECT = 2  # a difference up to this many times what taking the guards out makes is theirs
GUARDS_SHARE = 0.1  # a guard left out in one place of several makes at least this share of its whole effect


@dataclass(frozen=True)
class Guard:
    node: int
    position: int  # of the constant among the node's operands
    constant: float
    said: str  # "+ 1e-09 in `loss = -torch.log(p + 1e-9).mean()` (mlp.py:12)"


def guards(graph: Graph) -> list[Guard]:
    """The forward's guards: `x + 1e-9`, `x - 1e-9` and `x.clamp(min=1e-12)` with a constant so small
    that it only keeps a log, a division or a square root away from 0."""
    found = []
    for node in graph.nodes:
        bound = 1 if node.name in ("add", "sub", "clamp", "clamp_min") and len(node.args) > 1 else None
        constant = node.args[bound] if bound is not None else None
        if numeric(constant) and 0 < abs(constant) <= GUARD_MOST:
            sign = {"add": "+ ", "sub": "- "}.get(node.name, "clamp(min=")
            written = f"{sign}{constant:g}{')' if sign.startswith('clamp') else ''}"
            found.append(Guard(node.index, bound, float(constant), f"`{written}`{_where(node)}"))
    return found


def unguarded(graph: Graph, found: list[Guard]) -> Graph:
    """The forward again with every guard taken out (its constant 0; a clamp's bound −∞)."""
    args_of = {}
    for guard in found:
        args = list(graph.nodes[guard.node].args)
        args[guard.position] = 0.0 if graph.nodes[guard.node].name in ("add", "sub") else -math.inf
        args_of[guard.node] = tuple(args)
    return replayed(graph, args_of)


# -- the user's layer on the first rows ------------------------------------------------------------

TARGET = "targ"  # a loss's target, in the probe's graph: a leaf held constant
SEARCH_FAILS = (Unsupported, RuntimeError, ValueError, IndexError, TypeError, AttributeError, ZeroDivisionError)  # (a slip's)
KEPT_BYTES = 64 * 2 ** 20  # a layer's search results kept for its other gradients: a wide layer's are run again instead


@dataclass
class ProbeRun:
    graph: Graph
    upstream: torch.Tensor | None
    yours: dict[str, object]  # leaf -> the user's .g on these rows (None: not set)
    derived: dict[str, torch.Tensor | None]
    batch: int
    trusted: bool  # the derived backward agrees with autograd through the same forward (where autograd can follow)
    whole: Graph | None | bool = False  # the graph with what it writes out by hand fused (False: not looked for yet)
    regrouped: Graph | None | bool = False  # the graph with a normalisation's gain taken after it (False: as above)
    # what a search of one of the layer's gradients computed, kept for its others, within KEPT_BYTES in all:
    searched: list | None = None  # every edit of the search with its gradients (None: not run yet, or too big to keep)
    edited: dict = field(default_factory=dict)  # the one-path search's edits' gradients, by the edit's place in it
    one_path: dict = field(default_factory=dict)  # and as made on one path only, by (edit's place, reader, value)
    kept: int = 0  # the bytes they hold

    def keeps(self, grads: dict) -> bool:
        """Whether `grads` fits in what is left of KEPT_BYTES (and, if so, counted in)."""
        size = _bytes(grads)
        if self.kept + size > KEPT_BYTES:
            return False
        self.kept += size
        return True


def _bytes(grads: dict) -> int:
    return sum(t.numel() * t.element_size() for t in grads.values() if isinstance(t, torch.Tensor))


@dataclass
class Probe:
    """The user's layer run again on the first rows in float64: `build(params)` makes a layer object
    over the given parameter tensors, `call(layer, inp, targ)` runs its forward; `leaves` are its
    input and parameters by role, `upstream` the out.g its backward reads (None for a loss)."""

    build: Callable[[dict[str, torch.Tensor]], object]
    call: Callable[[object, torch.Tensor, torch.Tensor], torch.Tensor]  # (layer, inp, targ) -> out
    leaves: dict[str, torch.Tensor]
    upstream: torch.Tensor | None
    targ: torch.Tensor
    leaf_names: dict[str, str] = field(default_factory=dict)  # role -> how the hint says it
    rows: int = PROBE_ROWS
    _run: ProbeRun | None = None
    _tried: bool = False

    def run(self) -> ProbeRun | None:
        """The run in float64; where the user's code cannot run so (a `.float()` meeting a float64
        tensor), in the run's own dtype; None where neither runs."""
        if not self._tried:
            self._tried = True
            for self._dtype in (torch.float64, None):
                try:
                    with numbers_made_in(self._dtype):
                        self._run = self._probe()
                    break
                except (Exception, SystemExit):  # the user's code, moved: if it cannot run so, no name
                    self._run = None
        return self._run

    _dtype: torch.dtype | None = torch.float64  # what the rows are run in (None: their own dtype)

    def _rows(self, t: torch.Tensor) -> torch.Tensor:
        t = t.detach()
        part = t[:self.rows] if t.dim() and self.rows < len(t) and self._batched(t) else t
        return part.to(self._dtype or part.dtype).clone() if part.is_floating_point() else part.clone()

    def _full_batch(self) -> int:
        """The user's batch: the rows of the run the probe takes its first rows from."""
        inp = self.leaves["inp"]
        return len(inp) if inp.dim() else 1

    def _batched(self, t: torch.Tensor) -> bool:
        inp = self.leaves["inp"]
        return t is inp or (inp.dim() and t.dim() and t.shape[0] == inp.shape[0] and t.dim() >= 1)

    def _probe(self) -> ProbeRun:
        inp = self._rows(self.leaves["inp"])
        params = {role: self._rows(t) for role, t in self.leaves.items() if role != "inp"}
        layer, targ = self.build(params), self._rows(self.targ)
        # a loss's target is a leaf too, held constant: what the forward makes of it (`targ.abs() + 1`)
        # is then in the graph, for a derivative that reads it made again
        held = {TARGET: targ} if isinstance(targ, torch.Tensor) and targ.is_floating_point() else {}
        leaves = {"inp": inp, **params, **held}
        graph, out = record(lambda: self.call(layer, inp, targ), leaves)
        upstream = None if self.upstream is None else self._rows(self.upstream)
        if upstream is not None and isinstance(out, torch.Tensor) and upstream.shape != out.shape:
            raise ValueError("the gradient from above does not fit the output on these rows")
        if upstream is not None:
            out.g = upstream
        layer.backward()
        yours = {role: as_numbers(t.__dict__.get("g"), t) for role, t in leaves.items()}
        derived = backward(graph, upstream)
        return ProbeRun(graph, upstream, yours, derived, len(inp), self._agrees(graph, derived, upstream, targ))

    def _agrees(self, graph: Graph, derived: dict, upstream, targ: torch.Tensor) -> bool:
        """Autograd through the user's forward, on fresh copies: the derived backward is trusted only
        where it gives the same (where autograd cannot follow, the table's own tests vouch for it)."""
        leaves = {role: t.detach().clone().requires_grad_(t.is_floating_point()) for role, t in graph.leaves.items()
                  if role != TARGET}
        layer = self.build({role: t for role, t in leaves.items() if role != "inp"})
        with torch.enable_grad():
            out = self.call(layer, leaves["inp"], targ)
            wanted = [t for t in leaves.values() if t.requires_grad]
            if not isinstance(out, torch.Tensor) or not out.requires_grad or out.grad_fn is None:
                return True
            if any(isinstance(node, torch.autograd.function.BackwardCFunction) for node in autograd_nodes(out)):
                return True  # a torch.autograd.Function: its backward is the user's own
            grads = torch.autograd.grad(out, wanted, upstream if upstream is not None else torch.ones_like(out),
                                        allow_unused=True)
        mine = [derived.get(role) for role, t in leaves.items() if t.requires_grad]
        return all((a is None and b is None) or (a is not None and b is not None and a.shape == b.shape and
                                                 bool(torch.allclose(a, b.to(a.dtype), rtol=1e-7, atol=1e-10)))
                   for a, b in zip(grads, mine))

    def alike(self, role: str) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(the user's gradient of `role`, the derived backward's) on these rows, where both are there, of one
        shape, and the derived backward is trusted; None otherwise."""
        run = self.run()
        if run is None or not run.trusted:
            return None
        yours, right = run.yours.get(role), run.derived.get(role)
        if not isinstance(yours, torch.Tensor) or not isinstance(right, torch.Tensor) or yours.shape != right.shape \
                or not yours.is_floating_point():
            return None
        return yours, right

    def disagreements(self, role: str, tolerance: tuple[float, float], most: int = 8) -> list[int]:
        """Where, on these rows, the user's gradient of `role` is farthest from the derived backward's
        (flat indices, the farthest first; [] where they agree, or cannot be compared): the elements finite
        differences should look at, for a slip in a few elements only."""
        pair = self.alike(role)
        if pair is None:
            return []
        yours, right = pair
        gap = (yours.to(right.dtype) - right).abs().reshape(-1)
        bound = tolerance[1] + tolerance[0] * float(right.abs().max())
        far = torch.nonzero(gap > bound).reshape(-1)
        return far[gap[far].argsort(descending=True)][:most].tolist()

    def slips(self, role: str, target: str, tolerance: tuple[float, float]) -> list[tuple[str, Source | None]]:
        """The slips of the derived backward that give the user's gradient of `role` on these rows, in
        words, each with the forward statement whose derivative it breaks; [] when none does, when the
        rows do not show the difference, or when the derived backward cannot be trusted."""
        run = self.run()
        if run is None or not run.trusted:
            return []
        yours, right = run.yours.get(role), run.derived.get(role)
        if not isinstance(yours, torch.Tensor) or right is None or not yours.is_floating_point():
            return []
        tolerance = _loosest(tolerance, yours)
        if yours.shape == right.shape and close(yours, right, tolerance):
            return []
        # one value where autograd has a row of them (`-d.mean(-1, keepdim=True)` alone): searched as it
        # broadcasts, and said with its shape
        spread = yours.shape if yours.shape != right.shape and yours.numel() < right.numel() and _broadcasts(
            yours.shape, right.shape) else None
        own, yours = yours, yours.expand(right.shape) if spread is not None else yours
        found: list[tuple[tuple, str]] = []  # ((fewer of the layer's other gradients broken, kind's rank, …), words)
        whole = self._fused(run)
        rows, right_max = (run.batch, self._full_batch()), float(right.abs().max()) if right.numel() else 0.0
        for graph, cut, edit, grads in self._searched(run):
            value = grads.get(role)
            exact = spread is not None and value is not None and value.shape == spread  # `out.g.sum()`, as it is
            mine = own if exact else yours
            if value is None or value.shape != mine.shape or (value.shape == right.shape and close(
                    value, right, tolerance)):
                continue
            if close(mine, value, tolerance) or (not exact and self._fits(run, graph, edit, role, yours, tolerance)):
                if (edit.kind != "scale" and _lost(value, right_max)) or self._as_if_dropped(
                        run, graph, edit, cut, role, mine, tolerance):
                    continue  # (an edit that loses the gradient is no story: many do; a factor is)
                said = words(graph, edit, target, self.leaf_names, rows, role) + (
                    f", in each of the {len(edit.passes) + 1} passes of its loop" if edit.passes and
                    edit.variant[:1] != ("next",) else ", in each pass after the first" if edit.passes else "") + (
                    "" if spread is None or exact else f" (and what is left is {tuple(spread)} where autograd's is "
                                                       f"{tuple(right.shape)}: the same values, broadcast)")
                named = path_through(graph, graph.nodes[edit.node], edit.value, self.leaf_names)[1] \
                    if edit.kind == "path" else 0
                # a closed-form slip of an operation written out step by step comes after a path of those
                # steps: with the same numbers, the steps' own names are the likelier story (so does a whole
                # term of a softmax by hand left out); a value made again everywhere after the one place
                kind = RANK["path"] + 0.5 if edit.kind == "rule" and (graph.nodes[edit.node].kwargs.get(
                    WRITTEN_OUT) or (edit.slip.drops_a_path and graph.nodes[edit.node].name in (
                        "_softmax", "_log_softmax") and _by_hand(graph, run.graph, edit.node))) \
                    else RANK[edit.kind] + 0.5 * edit.everywhere
                rank = (-self._agreeing(run, grads, role, tolerance), kind, graph is not whole, graph is run.graph,
                        named, edit.node if edit.node is not None else len(graph.nodes))
                if all(said != other for _, other, _ in found):
                    at = graph.nodes[edit.node].source if edit.node is not None else None
                    found.append((rank, said, at))
        if not found or all(rank[1] == RANK["at-output"] for rank, _, _ in found):
            # (a factor is no story for a gradient of another shape; and it is the likelier one where the backward read
            # at the output gives the same numbers: a normalisation's `/ n` left out, whose output has a norm of 1)
            factor = self._tensor_factor(run, role, target, yours, right, tolerance) if spread is None else []
            if factor or not found:
                return factor
        found.sort(key=lambda item: item[0])
        best = found[0][0][:2]  # what else gives the same numbers, as likely a story, at another operation: said beside it
        told = {}
        for rank, said, at in found:
            if rank[:2] == best:
                told.setdefault(rank[-1], (said, at))  # two slips of one operation's derivative, the same numbers: one
        return list(told.values())[:2]

    def _searched(self, run: ProbeRun) -> Iterator[tuple[Graph, frozenset, Edit, dict]]:
        """Every edit of the search, on each view of the graph, with the gradients it gives all the layer's
        leaves: run once, for whichever of its gradients is asked first, and read for the others (where they
        fit in KEPT_BYTES)."""
        if run.searched is not None:
            yield from run.searched
            return
        kept: list | None = []
        for found in self._search(run):
            if kept is not None and run.keeps(found[3]):
                kept.append(found)
            elif kept is not None:  # (too big to keep whole: what was kept so far is let go)
                run.kept -= sum(_bytes(earlier[3]) for earlier in kept)
                kept = None
            yield found
        run.searched = kept

    def _search(self, run: ProbeRun) -> Iterator[tuple[Graph, frozenset, Edit, dict]]:
        # a softmax or sigmoid written by hand is also searched as the one function it is, first (a backward
        # from its own derivative is the likelier story); a max's path kept or cut
        whole = self._fused(run)
        views = []
        for graph in filter(None, (whole, self._regrouped(run), run.graph)):
            try:  # the right gradients before each node, once a view; with every value's at the end
                uncut = states(graph, run.upstream)
                right_here = uncut["right"]
                views += [(graph, right_here, cut, uncut if not cut else states(graph, run.upstream, cut))
                          for cut in dict.fromkeys((frozenset(), zero_paths(graph, run.upstream, right_here)))]
            except (Unsupported, RuntimeError, ValueError, IndexError, TypeError):
                continue
        recorded_searched = any(view[0] is run.graph for view in views)
        for graph, right_here, cut, before in views:
            for edit in edits(graph, run.batch, run.upstream, right_here, self._full_batch()):
                if edit.value in cut or (edit.kind == "drop" and graph is whole and Ref(edit.node) == graph.output
                                         and _by_hand(graph, run.graph, edit.node)) or (
                        edit.kind in ROOT_EDITS and graph is not run.graph and recorded_searched):
                    continue  # (a layer's whole function by hand, its derivative left out: the root's story, in its
                    # steps; and the root's stories are the same on every view: said in the code's own steps)
                try:
                    grads = backward(graph, run.upstream, edit, cut, before)
                except SEARCH_FAILS:
                    continue
                yield graph, cut, edit, grads

    def one_path_slips(self, role: str, target: str, tolerance: tuple[float, float]) -> list[tuple[str, Source | None]]:
        """Asked where nothing else names the mismatch: one edit made on one path only, the share of a value's
        gradient that one of its readers sends it (`on_one_path`): a backward that writes that value's gradient
        a term per reader (a min-max normalisation's `dlo`, through `x - lo` and through `hi - lo`) with the
        slip in one term. In the code's own steps, at most ONE_PATH_TRIES edits."""
        run = self.run()
        if run is None or not run.trusted:
            return []
        yours, right = run.yours.get(role), run.derived.get(role)
        if not isinstance(yours, torch.Tensor) or right is None or not yours.is_floating_point() or \
                yours.shape != right.shape or close(yours, right, _loosest(tolerance, yours)):
            return []
        return self._on_one_path(run, role, target, yours, _loosest(tolerance, yours), (run.batch, self._full_batch()))

    def _on_one_path(self, run: ProbeRun, role: str, target: str, yours: torch.Tensor, tolerance, rows
                     ) -> list[tuple[str, Source | None]]:
        graph = run.graph
        try:
            before = states(graph, run.upstream)
        except (Unsupported, RuntimeError, ValueError, IndexError, TypeError):
            return []
        right = before["right"]
        right_max = float(right[Leaf(role)].abs().max()) if Leaf(role) in right and right[Leaf(role)].numel() else 0.0
        shared = {value: _paths_of(graph, readers) for value, readers in graph.users().items()}
        # (a value the code names before an input, and the reader nearest the edit first: "on its path to `lo`
        # through `hi - lo`", not the same numbers said as a path to `inp` through the min that makes `lo`)
        shared = {value: sorted(readers, reverse=True) for value, readers in sorted(
            shared.items(), key=lambda item: isinstance(item[0], Leaf)) if len(readers) > 1 and value in right}
        tried = 0
        for edit in edits(graph, run.batch, run.upstream, right, rows[1]):
            if tried >= ONE_PATH_TRIES:
                break
            if edit.node is None or edit.kind not in ONE_PATH_KINDS:
                continue
            tried += 1
            wrong = self._with_edit(run, before, tried, edit)
            for value, readers in shared.items() if wrong is not None else ():
                for reader in (r for r in readers if r <= edit.node):
                    grads = self._one_path(run, before, (tried, reader, value), edit, wrong)
                    mine = grads.get(role) if grads is not None else None
                    if mine is None or mine.shape != yours.shape or _lost(mine, right_max) or not close(
                            yours, mine, tolerance) or close(right[Leaf(role)], mine, tolerance):
                        continue
                    node = graph.nodes[reader]
                    said = (f"{words(graph, edit, target, self.leaf_names, rows, role)}, on its path to "
                            f"`{name_of(graph, value, self.leaf_names)}` through {_at(graph, node, self.leaf_names)} only")
                    return [(said, graph.nodes[edit.node].source)]
        return []

    @staticmethod
    def _with_edit(run: ProbeRun, before: dict, place: int, edit: Edit) -> dict | None:
        """Every value's gradient with `edit`, the one-path search's `place`-th (None where it cannot be made)."""
        if place in run.edited:
            return run.edited[place]
        try:
            wrong = _all_gradients(run.graph, run.upstream, edit, frozenset(), before)
        except SEARCH_FAILS:
            wrong = None
        if wrong is None or run.keeps(wrong):
            run.edited[place] = wrong
        return wrong

    @staticmethod
    def _one_path(run: ProbeRun, before: dict, place: tuple, edit: Edit, wrong: dict) -> dict | None:
        """The leaves' gradients with `edit` made on the path `place` names only (None where it cannot be made so):
        made once, for whichever of the layer's gradients asks first (where it fits in KEPT_BYTES)."""
        if place in run.one_path:
            return run.one_path[place]
        try:
            grads = on_one_path(run.graph, run.upstream, edit, place[1], place[2], before, wrong)
        except SEARCH_FAILS:
            grads = None
        if grads is None or run.keeps(grads):
            run.one_path[place] = grads
        return grads

    def _tensor_factor(self, run: ProbeRun, role: str, target: str, yours: torch.Tensor, right: torch.Tensor,
                       tolerance) -> list[tuple[str, Source | None]]:
        found = tensor_factor(run.graph, yours, right, tolerance, f"{target} is autograd's", self.leaf_names,
                              skip={Leaf(role)}, rows=(run.batch, self._full_batch()))
        return [found] if found is not None else []

    @staticmethod
    def _fused(run: ProbeRun) -> Graph | None:
        """The run's graph with what it writes out by hand fused, where that keeps its derivative
        (found once a run: the search and the closed form's term both ask)."""
        if run.whole is False:
            whole = fused(run.graph)
            run.whole = whole if whole is not None and _same_derivative(whole, run.derived, run.upstream) else None
        return run.whole

    @staticmethod
    def _regrouped(run: ProbeRun) -> Graph | None:
        """The run's graph with a normalisation's gain multiplied in after it (graph.reassociated)."""
        if run.regrouped is False:
            regrouped = reassociated(run.graph)
            run.regrouped = regrouped if regrouped is not None and _same_derivative(regrouped, run.derived,
                                                                                     run.upstream) else None
        return run.regrouped

    def closed_form_term(self, role: str, tolerance: tuple[float, float]) -> str | None:
        """The term a normalisation written out by hand lacks, as its closed-form backward writes it,
        where leaving that term out gives the user's gradient of `role` (a path through `var` left
        out is the variance's term, `- xhat * (dxhat * xhat).mean(-1, keepdim=True)`); else None."""
        run = self.run()
        whole = self._fused(run) if run is not None and run.trusted else None
        yours = run.yours.get(role) if whole is not None else None
        if not isinstance(yours, torch.Tensor) or not yours.is_floating_point():
            return None
        for node in whole.nodes:
            for slip in rule_of(node.op).slips if node.kwargs.get(WRITTEN_OUT) else ():
                if not slip.drops_a_path:
                    continue
                try:
                    value = backward(whole, run.upstream, Edit("rule", node.index, slip=slip)).get(role)
                except (Unsupported, RuntimeError, ValueError, IndexError, TypeError):
                    continue
                if value is not None and value.shape == yours.shape and close(yours, value, _loosest(tolerance, yours)):
                    ctx = _context(whole, node, node.outputs[0])
                    said = slip.said(ctx).format(**_placeholders(whole, node, self.leaf_names))
                    return f"{RULES[node.op].said(ctx)}'s closed form, the backward {said}"
        return None

    def left_out_guards(self, role: str, tolerance: tuple[float, float]) -> list[Guard]:
        """The forward's guards, when the user's gradient of `role` on these rows is the derivative of
        the forward without them (a backward that leaves out the `+ 1e-9` of a log), or differs from
        autograd's as taking them out does, and by no more than twice that: [] otherwise."""
        run = self.run()
        found = [] if run is None or not run.trusted else guards(run.graph)
        yours, right = (run.yours.get(role), run.derived.get(role)) if found else (None, None)
        if not isinstance(yours, torch.Tensor) or right is None or yours.shape != right.shape:
            return []
        try:
            without = backward(unguarded(run.graph, found), run.upstream).get(role)
        except (Unsupported, RuntimeError, ValueError):
            return []
        if without is None:
            return []
        if close(yours, without, _loosest(tolerance, yours)):
            return found
        # left out in one place only (a batch norm's `sqrt(var)` beside the forward's own xhat): within its effect,
        # and along it; or in one place of several (`dx_norm / sqrt(var)`, where dvar keeps `var + eps`): a good
        # share of its effect, leaning its way (a cast's rounding is far smaller, and goes every way)
        effect, off = (without - right).flatten(), (yours - right).flatten()
        along = float(torch.nn.functional.cosine_similarity(off, effect, 0))
        share = float(off.abs().max()) / float(effect.abs().max()) if float(effect.abs().max()) else math.inf
        return found if 0 < share <= GUARDS_EFFECT and (along >= 0.9 or (share >= GUARDS_SHARE and along >= 0.5)) else []

    @staticmethod
    def _fits(run: ProbeRun, graph: Graph, edit: Edit, role: str, yours: torch.Tensor, tolerance) -> bool:
        """A slip of the table whose numbers are not one value (which write to a row is kept), tried by its
        own test, where it reads the leaf itself."""
        if edit.kind != "rule" or edit.slip.fits is None:
            return False
        node = graph.nodes[edit.node]
        if not same_operand(node.args[0], Leaf(role)) or Ref(edit.node) not in graph.reaches():
            return False
        gradient = backward_to(graph, run.upstream, edit.node)
        return gradient is not None and edit.slip.fits(_context(graph, node, gradient), yours, tolerance)

    @staticmethod
    def _as_if_dropped(run: ProbeRun, graph: Graph, edit: Edit, cut: frozenset, role: str, yours: torch.Tensor,
                       tolerance) -> bool:
        """A slip of the table that fits only because what it changes cancels on the way down (a square's
        derivative taken as a constant, under a mean that is subtracted again): the path left out is
        the story, and is found as itself."""
        if edit.kind != "rule":
            return False
        for operand in [a for a in graph.nodes[edit.node].args if isinstance(a, (Leaf, Ref))]:
            try:
                value = backward(graph, run.upstream, Edit("path", edit.node, value=operand), cut).get(role)
            except (Unsupported, RuntimeError, ValueError, IndexError, TypeError):
                continue
            if value is not None and value.shape == yours.shape and close(yours, value, tolerance):
                return True
        return False

    @staticmethod
    def _agreeing(run: ProbeRun, grads: dict, role: str, tolerance) -> int:
        """How many of the layer's other gradients an edit leaves as the user's code has them: a slip
        that changes only what the user's code got wrong is the likelier story."""
        return sum(1 for other, yours in run.yours.items() if other != role and isinstance(yours, torch.Tensor)
                   and isinstance(grads.get(other), torch.Tensor) and grads[other].shape == yours.shape
                   and close(yours, grads[other], _loosest(tolerance, yours)))


def tensor_factor(graph: Graph, yours: torch.Tensor, right: torch.Tensor, tolerance, said: str,
                  leaf_names: dict[str, str], skip=(), rows: tuple[int, int] | None = None
                  ) -> tuple[str, Source | None] | None:
    """The user's gradient as the right one times, or divided by, one of the forward's tensors (named,
    or an expression within a statement), its square, or it times the batch size N (a closed form's
    `/ std` or `/ (n * std)` left out, where no one edit of the derived backward is that): said
    (`said`: "l1.g is autograd's") as that factor or division, at the line that makes the tensor;
    None when it is no such thing. `rows`: (the graph's rows, the user's batch), N said as the
    batch's."""
    if yours.shape != right.shape:
        return None
    batch, full = rows or (None, None)
    named = _named_values(graph)
    unnamed = [Ref(n.index) for n in graph.nodes if Ref(n.index) not in named and n.source is not None
               and n.source.expression and n.outputs and n.outputs[0].is_floating_point()  # `torch.sqrt(var + eps)`
               and not _inside_a_call(graph, n)]  # (not one a call runs inside: the call's code is not its value)
    for value in named + unnamed:
        v = graph.value(value)
        if value in skip or v.dtype != right.dtype or not v.numel() or bool((v == 1).all()):
            continue
        try:
            if torch.broadcast_shapes(v.shape, right.shape) != right.shape:
                continue
        except RuntimeError:
            continue
        name = name_of(graph, value, leaf_names) if value in named else graph.nodes[value.node].source.expression
        node = graph.nodes[value.node] if isinstance(value, Ref) else None
        where = _where(node) if node is not None else ""
        at = node.source if node is not None else None
        divisible = bool((v != 0).all())
        scales = [(1, 1, ""), (1, 2, ""), *([(batch, 1, f"{full} × "), (1 / batch, 1, f"1/{full} × ")] if batch else [])]
        for count, power, scaled in scales:  # (`/ d ** 4` for a closed form's `/ d ** 2`: a square too many)
            factor = f"{scaled}`{name}`{'**2' if power == 2 else ''}"
            if close(yours, right * v ** power * count, tolerance):
                return f"{said} times {factor}{where}: a factor {factor} too many, or a division by {factor} " \
                       "left out", at
            if divisible and close(yours, right / (v ** power * count), tolerance):
                return f"{said} divided by {factor}{where}: a factor {factor} left out, or a division by {factor} " \
                       "too many", at
    return None


def _lost(value: torch.Tensor, right_max: float) -> bool:
    """A gradient all but zero where the right one (whose largest |value| is `right_max`) is not."""
    return value.numel() > 0 and float(value.abs().max()) <= ALL_BUT_ZERO * right_max


def _broadcasts(shape: torch.Size, to: torch.Size) -> bool:
    try:
        return torch.broadcast_shapes(shape, to) == to
    except RuntimeError:
        return False


def _by_hand(whole: Graph, recorded: Graph, index: int) -> bool:
    """Is the fused graph's node `index` one operation the recorded one runs as steps (a softmax by hand)?"""
    return whole.nodes[index].op != recorded.nodes[index].op


def _same_derivative(graph: Graph, theirs: dict, upstream: torch.Tensor | None) -> bool:
    """Does the graph (a forward with operations fused) give every leaf the gradient `theirs` (the
    recorded graph's) gives it?"""
    try:
        mine = backward(graph, upstream)
    except (Unsupported, RuntimeError, ValueError, IndexError, TypeError):
        return False
    # (a forward that casts to float32 inside a float64 run: the two orders of its float32 steps differ by their rounding)
    resolution = max((64 * torch.finfo(out.dtype).eps for node in graph.nodes for out in node.outputs
                      if isinstance(out, torch.Tensor) and out.is_floating_point()), default=0.0)
    rtol, atol = (1e-6, 1e-9) if resolution <= 1e-6 else (resolution, resolution)  # (atol: of the largest gradient)
    for name, value in theirs.items():
        fused_value = mine.get(name)
        if (value is None) != (fused_value is None):
            return False
        scale = float(value.abs().max()) if value is not None and value.numel() else 0.0
        if value is not None and (value.shape != fused_value.shape or not bool(torch.allclose(
                fused_value, value, rtol=rtol, atol=atol * scale + 1e-12))):
            return False
    return True


def _loosest(tolerance: tuple[float, float], value: torch.Tensor) -> tuple[float, float]:
    """The user's code cast to a narrower dtype: judged with that dtype's tolerance."""
    from gradtui.config import DEFAULT_TOLERANCES

    dtype = str(value.dtype).removeprefix("torch.")
    return max(tolerance, DEFAULT_TOLERANCES.get(dtype, tolerance))
