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

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch

from gradtui.compare import close
from gradtui.derivatives import NO_GRADIENT, RULES, Ctx, Slip, unbroadcast
from gradtui.formatting import place
from gradtui.graph import Graph, Leaf, Node, Ref, record, replayed
from gradtui.reference import autograd_nodes

PROBE_ROWS = 256
# The kinds of edit, in the order they are tried (and their words preferred).
FIRST = ("rule", "drop", "swap", "reduce", "scale", "transpose", "ones", "g-out", "path", "root-ones", "root-out")


class Unsupported(Exception):
    """An operation of the forward that gradtui has no derivative for (or cannot follow)."""


@dataclass(frozen=True)
class Edit:
    """One slip in the derived backward."""

    kind: str  # one of FIRST
    node: int | None = None  # None: at the gradient from above
    operand: int | None = None  # which operand's gradient it changes (drop, scale, transpose)
    slip: Slip | None = None  # the table's own slip (kind "rule")
    factor: float = 1.0
    factor_words: str = ""
    value: Leaf | Ref | None = None  # "path": the tensor whose path through `node` is dropped; "swap": the one used
    axes: tuple[int, ...] | None = None  # "reduce": the axes summed (None: not summed), keepdim in `factor` (1: kept)


# -- the chain rule ------------------------------------------------------------------------------

def _resolve(graph: Graph, value):
    if isinstance(value, (Leaf, Ref)):
        return graph.value(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve(graph, item) for item in value)
    return value


def _context(graph: Graph, node: Node, g: torch.Tensor) -> Ctx:
    return Ctx(tuple(_resolve(graph, a) for a in node.args), {k: _resolve(graph, v) for k, v in node.kwargs.items()},
               node.outputs, g)


def _local(graph: Graph, node: Node, g: torch.Tensor, edit: Edit | None) -> tuple:
    """The node's gradients for its positional operands, edited where the edit is at this node."""
    rule = RULES.get(node.op)
    if rule is None:
        raise Unsupported(f"gradtui has no derivative for {node.op}")
    mine = edit is not None and edit.node == node.index
    if mine and edit.kind == "ones":
        g = torch.ones_like(g)
    elif mine and edit.kind == "g-out":
        g = graph.value(graph.output)
    ctx = _context(graph, node, g)
    if mine and edit.kind == "swap":  # one operand's value taken for another's inside the derivative
        ctx.args = tuple(graph.value(edit.value) if i == edit.operand else a for i, a in enumerate(ctx.args))
    if mine and edit.kind == "rule":
        return tuple(edit.slip.vjp(ctx))
    grads = list(rule.vjp(ctx))
    if mine and edit.kind in ("drop", "scale", "transpose", "reduce") and edit.operand < len(grads):
        grad = grads[edit.operand]
        if edit.kind == "drop":
            grads[edit.operand] = unbroadcast(g, ctx.args[edit.operand])
        elif edit.kind == "reduce":
            grads[edit.operand] = g if edit.axes is None else g.sum(edit.axes, keepdim=edit.factor == 1)
        elif grad is not None and edit.kind == "scale":
            grads[edit.operand] = grad * edit.factor
        elif grad is not None and grad.dim() >= 2:
            grads[edit.operand] = grad.mT
    return tuple(grads)


def backward(graph: Graph, g: torch.Tensor | None, edit: Edit | None = None) -> dict[str, torch.Tensor | None]:
    """The gradient of Σ out·g (of the loss itself, when g is None) for each leaf of the graph."""
    if graph.unsupported:
        raise Unsupported(graph.unsupported)
    out = graph.value(graph.output)
    root = torch.ones_like(out) if g is None else g
    if edit is not None and edit.kind == "root-ones":
        root = torch.ones_like(out)
    elif edit is not None and edit.kind == "root-out":
        root = out.detach().clone()
    grads: dict = {graph.output: root}
    for node in reversed(graph.nodes):
        if node.op in NO_GRADIENT:
            continue
        flowing = [Ref(node.index, k) for k in range(len(node.outputs)) if Ref(node.index, k) in grads]
        if not flowing:
            continue
        if any(ref.output for ref in flowing):
            raise Unsupported(f"{node.op}'s second result is used")
        local = _local(graph, node, grads[flowing[0]], edit)
        for position, operand in enumerate(node.args):
            if position >= len(local):
                break
            pairs = zip(operand, local[position]) if isinstance(operand, (list, tuple)) and isinstance(
                local[position], (list, tuple)) else [(operand, local[position])]
            for value, grad in pairs:
                if not isinstance(value, (Leaf, Ref)) or grad is None or not graph.value(value).is_floating_point():
                    continue
                if edit is not None and edit.kind == "path" and edit.node == node.index and edit.value == value:
                    continue
                if grad.shape != graph.value(value).shape and not (isinstance(value, Leaf) and edit is not None):
                    raise ValueError("a gradient of another shape than its tensor")  # a leaf's may be, in a slip
                grads[value] = grads[value] + grad if value in grads else grad
        if any(isinstance(v, (Leaf, Ref)) for v in node.kwargs.values()):
            raise Unsupported(f"{node.op} takes a tensor by keyword")
    return {name: grads.get(Leaf(name)) for name in graph.leaves}


def backward_to(graph: Graph, g: torch.Tensor | None, index: int) -> torch.Tensor | None:
    """The gradient that reaches node `index`'s result, by the right backward."""
    out = graph.value(graph.output)
    grads: dict = {graph.output: torch.ones_like(out) if g is None else g}
    for node in reversed(graph.nodes[index:]):
        if node.index == index:
            return grads.get(Ref(index))
        if node.op in NO_GRADIENT or Ref(node.index) not in grads:
            continue
        local = _local(graph, node, grads[Ref(node.index)], None)
        for operand, grad in zip(node.args, local):
            if isinstance(operand, Ref) and grad is not None and graph.value(operand).is_floating_point():
                grads[operand] = grads[operand] + grad if operand in grads else grad
    return None


# -- the edits ------------------------------------------------------------------------------------

def factors(graph: Graph, batch: int) -> list[tuple[float, str]]:
    """The constants a derivative is wrongly scaled by: the sign, 2, and the sizes the forward
    reduces over (N, 1/N, n/(n−1), (n−1)/n), each with its words."""
    sizes = {batch} | {_reduced_size(graph, node) for node in graph.nodes} - {None, 0, 1}
    found = [(-1.0, "sign-flipped"), (2.0, "twice what it should be"), (0.5, "half what it should be")]
    for n in sorted(sizes):
        found += [(float(n), f"{n} × what it should be (N = {n}, a division by it left out)"),
                  (1 / n, f"divided by {n} (N) once too often"),
                  (n / (n - 1), f"n/(n−1) × what it should be (Bessel's correction, n = {n})"),
                  ((n - 1) / n, f"(n−1)/n × what it should be (Bessel's correction inverted, n = {n})")]
    return found


def _reduced_size(graph: Graph, node: Node) -> int | None:
    """How many values a reduction (sum, mean, var, …) puts into each of its results."""
    if node.name not in ("sum", "mean", "var", "std", "amax", "logsumexp", "_softmax", "_log_softmax", "native_layer_norm",
                         "native_batch_norm", "mse_loss", "nll_loss_forward"):
        return None
    x = graph.value(node.args[0]) if isinstance(node.args[0], (Leaf, Ref)) else None
    out = node.outputs[0]
    if x is None or not out.numel():
        return None
    return x.numel() // out.numel() if out.numel() < x.numel() else None


def edits(graph: Graph, batch: int) -> Iterator[Edit]:
    """Every slip of the backward one edit away, in the order their words are tried."""
    reached = graph.reaches()
    nodes = [n for n in graph.nodes if Ref(n.index) in reached and n.op in RULES]
    constants = factors(graph, batch)
    for node in nodes:
        for slip in RULES[node.op].slips:
            yield Edit("rule", node.index, slip=slip)
    for node in nodes:
        for position, operand in enumerate(node.args):
            if isinstance(operand, (Leaf, Ref)) and operand in reached:
                yield Edit("drop", node.index, position)
    named = _named_values(graph)
    for node in nodes:  # a value used in a derivative where another belongs (inp where xhat belongs)
        for position, operand in enumerate(node.args):
            if isinstance(operand, (Leaf, Ref)) and graph.value(operand).is_floating_point():
                for value in named:
                    if value != operand and graph.value(value).shape == graph.value(operand).shape:
                        yield Edit("swap", node.index, position, value=value)
    for node in nodes:  # a broadcast operand's gradient summed over other axes, or not at all
        out_shape = node.outputs[0].shape
        for position, operand in enumerate(node.args):
            if isinstance(operand, (Leaf, Ref)) and operand in reached and graph.value(operand).shape != out_shape \
                    and len(out_shape) >= 1 and node.name in BROADCASTING:
                yield Edit("reduce", node.index, position, axes=None)
                for axes in _axis_choices(len(out_shape)):
                    for kept in (0.0, 1.0):
                        yield Edit("reduce", node.index, position, factor=kept, axes=axes)
    for node in nodes:
        for position, operand in enumerate(node.args):
            if isinstance(operand, (Leaf, Ref)) and operand in reached:
                for factor, words in constants:
                    yield Edit("scale", node.index, position, factor=factor, factor_words=words)
                yield Edit("transpose", node.index, position)
    for node in nodes:
        if Ref(node.index) == graph.output:  # what it receives is the gradient from above: the root's edits below
            continue
        yield Edit("ones", node.index)
        if node.outputs[0].shape == graph.value(graph.output).shape:
            yield Edit("g-out", node.index)
    for value, readers in graph.users().items():
        if value in reached and len(set(readers)) > 1:
            for reader in sorted(set(readers)):
                if Ref(reader) in reached:
                    yield Edit("path", reader, value=value)
    yield Edit("root-ones")
    yield Edit("root-out")


BROADCASTING = frozenset({"add", "sub", "mul", "div", "rsub", "where", "maximum", "minimum", "addmm"})


def _axis_choices(dims: int) -> list[tuple[int, ...]]:
    """The axes a broadcast's gradient may be summed over: each one, and all."""
    return [(d,) for d in range(dims)] + ([tuple(range(dims))] if dims > 1 else [])


def _named_values(graph: Graph) -> list[Leaf | Ref]:
    """The tensors the user's code has a name for: the layer's input and parameters, what a statement
    assigns, and the output."""
    values = [Leaf(name) for name, t in graph.leaves.items() if t.is_floating_point()]
    for node in graph.nodes:
        last = not any(other.source == node.source for other in graph.nodes[node.index + 1:])
        if node.source is not None and node.source.short_name and last and node.outputs[0].is_floating_point():
            values.append(Ref(node.index))
    if graph.output not in values:
        values.append(graph.output)
    return values


# -- what an edit is, in the user's words --------------------------------------------------------

def _where(node: Node) -> str:
    if node.source is None:
        return ""
    return f" in `{node.source.code}` ({place(node.source.file, node.source.line)})"


def name_of(graph: Graph, value: Leaf | Ref, leaf_names: dict[str, str]) -> str:
    """How the user's code names a tensor: the name its statement assigns (when it is the statement's
    last operation), else the operation that made it."""
    if isinstance(value, Leaf):
        return leaf_names.get(value.name, value.name)
    node = graph.nodes[value.node]
    last = not any(other.source == node.source for other in graph.nodes[node.index + 1:])
    if node.source is not None and node.source.short_name and last:
        return node.source.short_name
    return RULES[node.op].said(_context(graph, node, node.outputs[0])) if node.op in RULES else node.name


def words(graph: Graph, edit: Edit, target: str, leaf_names: dict[str, str]) -> str:
    """The slip in a sentence: "w.g: the derivative of `**2` in `var = ((x - mu)**2).mean(0)`
    (layernorm.py:14) is missing its 2"."""
    if edit.kind == "root-ones":
        return f"{target} does not multiply in the gradient from above, out.g"
    if edit.kind == "root-out" and not graph.value(graph.output).dim():
        return f"{target} is multiplied by the loss itself, `out`, where a loss's backward starts from 1"
    if edit.kind == "root-out":
        return f"{target} is computed from the layer's output `out` where its gradient `out.g` belongs"
    node = graph.nodes[edit.node]
    if edit.kind == "path":  # through the value when it has a name (mu), else through the operation (.mean(1))
        through = Ref(node.index) if isinstance(edit.value, Leaf) else edit.value
        return f"{target}: the path through `{name_of(graph, through, leaf_names)}`{_where(node)} is missing"
    what = RULES[node.op].said(_context(graph, node, node.outputs[0]))
    operation = f"the derivative of `{what}`{_where(node)}"
    if edit.kind == "rule":
        return f"{target}: {operation} {edit.slip.said(_context(graph, node, node.outputs[0]))}"
    if edit.kind == "ones":
        return f"{target}: {operation} does not multiply in the gradient coming from above"
    if edit.kind == "g-out":
        return (f"{target}: {operation} is computed from the layer's output `out` where its gradient `out.g` "
                "belongs")
    operand = node.args[edit.operand]
    if edit.kind == "swap":
        return (f"{target}: {operation} uses `{name_of(graph, edit.value, leaf_names)}` where "
                f"`{name_of(graph, operand, leaf_names)}` belongs")
    towards = f" (towards `{name_of(graph, operand, leaf_names)}`)" if sum(
        isinstance(a, (Leaf, Ref)) for a in node.args) > 1 else ""
    if edit.kind == "reduce":
        right = _broadcast_sum(node.outputs[0].shape, graph.value(operand).shape)
        if edit.axes is None:
            return f"{target}: {operation}{towards} is not summed over the axes it was broadcast along ({right} missing)"
        kept = ", keepdim=True" if edit.factor == 1 else ""
        summed = f".sum({edit.axes[0]}{kept})" if len(edit.axes) == 1 else f".sum({kept.removeprefix(', ')})"
        return f"{target}: {operation}{towards} is {summed} where {right} belongs (the axes it was broadcast along)"
    if edit.kind == "drop":
        others = [name_of(graph, a, leaf_names) for i, a in enumerate(node.args) if i != edit.operand
                  and isinstance(a, (Leaf, Ref))]
        if node.name == "mul" and others:
            return f"{target}: {operation}{towards} is missing the factor `{others[0]}`"
        return f"{target}: {operation}{towards} is left out (the gradient passes through it unchanged)"
    if edit.kind == "scale":
        return f"{target}: {operation}{towards} is {edit.factor_words}"
    return f"{target}: {operation}{towards} is transposed"


def _broadcast_sum(shape: torch.Size, operand: torch.Size) -> str:
    """The sum that takes a gradient of `shape` back to a broadcast operand's: ".sum(0)"."""
    lead = len(shape) - len(operand)
    axes = list(range(lead)) + [lead + i for i, size in enumerate(operand) if size == 1 and shape[lead + i] != 1]
    kept = ", keepdim=True" if any(axis >= lead for axis in axes) else ""
    return f".sum({', '.join(map(str, axes)) if len(axes) > 1 else axes[0] if axes else ''}{kept})"


# -- numerical guards: a small constant the forward adds before a log, a division, a square root ------

GUARD_MOST = 1e-3  # a constant added this small, or smaller, is a guard, not part of the function's meaning


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
        if isinstance(constant, (int, float)) and not isinstance(constant, bool) and 0 < abs(constant) <= GUARD_MOST:
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

@dataclass
class ProbeRun:
    graph: Graph
    upstream: torch.Tensor | None
    yours: dict[str, object]  # leaf -> the user's .g on these rows (None: not set)
    derived: dict[str, torch.Tensor | None]
    batch: int
    trusted: bool  # the derived backward agrees with autograd through the same forward (where autograd can follow)


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
        if not self._tried:
            self._tried = True
            try:
                self._run = self._probe()
            except (Exception, SystemExit):  # the user's code on rows in float64: if it cannot run so, no name
                self._run = None
        return self._run

    def _rows(self, t: torch.Tensor) -> torch.Tensor:
        t = t.detach()
        part = t[:self.rows] if t.dim() and self.rows < len(t) and self._batched(t) else t
        return part.to(torch.float64).clone() if part.is_floating_point() else part.clone()

    def _batched(self, t: torch.Tensor) -> bool:
        inp = self.leaves["inp"]
        return t is inp or (inp.dim() and t.dim() and t.shape[0] == inp.shape[0] and t.dim() >= 1)

    def _probe(self) -> ProbeRun:
        inp = self._rows(self.leaves["inp"])
        params = {role: self._rows(t) for role, t in self.leaves.items() if role != "inp"}
        leaves = {"inp": inp, **params}
        layer, targ = self.build(params), self._rows(self.targ)
        graph, out = record(lambda: self.call(layer, inp, targ), leaves)
        upstream = None if self.upstream is None else self._rows(self.upstream)
        if upstream is not None and isinstance(out, torch.Tensor) and upstream.shape != out.shape:
            raise ValueError("the gradient from above does not fit the output on these rows")
        if upstream is not None:
            out.g = upstream
        layer.backward()
        yours = {role: t.__dict__.get("g") for role, t in leaves.items()}
        derived = backward(graph, upstream)
        return ProbeRun(graph, upstream, yours, derived, len(inp), self._agrees(graph, derived, upstream, targ))

    def _agrees(self, graph: Graph, derived: dict, upstream, targ: torch.Tensor) -> bool:
        """Autograd through the user's forward, on fresh copies: the derived backward is trusted only
        where it gives the same (where autograd cannot follow, the table's own tests vouch for it)."""
        leaves = {role: t.detach().clone().requires_grad_(t.is_floating_point()) for role, t in graph.leaves.items()}
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

    def slips(self, role: str, target: str, tolerance: tuple[float, float]) -> list[str]:
        """The slips of the derived backward that give the user's gradient of `role` on these rows,
        in words; [] when none does, when the rows do not show the difference, or when the derived
        backward cannot be trusted."""
        run = self.run()
        if run is None or not run.trusted:
            return []
        yours, right = run.yours.get(role), run.derived.get(role)
        if not isinstance(yours, torch.Tensor) or right is None or not yours.is_floating_point():
            return []
        tolerance = _loosest(tolerance, yours)
        if yours.shape == right.shape and close(yours, right, tolerance):
            return []
        found: list[tuple[int, str]] = []  # (how many of the layer's other gradients it also gives, words)
        nodes: set = set()  # one story per operation: its first (the table's own slips come first)
        for edit in edits(run.graph, run.batch):
            if edit.node is not None and edit.node in nodes:
                continue
            try:
                grads = backward(run.graph, run.upstream, edit)
            except (Unsupported, RuntimeError, ValueError, IndexError, TypeError, AttributeError, ZeroDivisionError):
                continue
            value = grads.get(role)
            if value is None or value.shape != yours.shape or (value.shape == right.shape and close(value, right,
                                                                                                  tolerance)):
                continue
            if close(yours, value, tolerance) or self._fits(run, edit, role, yours, tolerance):
                said = words(run.graph, edit, target, self.leaf_names)
                nodes.add(edit.node)
                if all(said != other for _, other in found):
                    found.append((self._agreeing(run, grads, role, tolerance), said))
        best = max((score for score, _ in found), default=0)
        return [said for score, said in found if score == best][:2]

    def left_out_guards(self, role: str, tolerance: tuple[float, float]) -> list[Guard]:
        """The forward's guards, when the user's gradient of `role` on these rows is the derivative of
        the forward without them (a backward that leaves out the `+ 1e-9` of a log): [] otherwise."""
        run = self.run()
        found = [] if run is None or not run.trusted else guards(run.graph)
        yours, right = (run.yours.get(role), run.derived.get(role)) if found else (None, None)
        if not isinstance(yours, torch.Tensor) or right is None or yours.shape != right.shape:
            return []
        try:
            without = backward(unguarded(run.graph, found), run.upstream).get(role)
        except (Unsupported, RuntimeError, ValueError):
            return []
        tolerance = _loosest(tolerance, yours)
        return found if without is not None and close(yours, without, tolerance) else []

    @staticmethod
    def _fits(run: ProbeRun, edit: Edit, role: str, yours: torch.Tensor, tolerance) -> bool:
        """A slip of the table whose numbers are not one value (which write to a row is kept), tried by its
        own test, where it reads the leaf itself."""
        if edit.kind != "rule" or edit.slip.fits is None:
            return False
        node = run.graph.nodes[edit.node]
        if node.args[0] != Leaf(role) or Ref(edit.node) not in run.graph.reaches():
            return False
        gradient = backward_to(run.graph, run.upstream, edit.node)
        return gradient is not None and edit.slip.fits(_context(run.graph, node, gradient), yours, tolerance)

    @staticmethod
    def _agreeing(run: ProbeRun, grads: dict, role: str, tolerance) -> int:
        """How many of the layer's other gradients an edit leaves as the user's code has them: a slip
        that changes only what the user's code got wrong is the likelier story."""
        return sum(1 for other, yours in run.yours.items() if other != role and isinstance(yours, torch.Tensor)
                   and isinstance(grads.get(other), torch.Tensor) and grads[other].shape == yours.shape
                   and close(yours, grads[other], _loosest(tolerance, yours)))


def _loosest(tolerance: tuple[float, float], value: torch.Tensor) -> tuple[float, float]:
    """The user's code cast to a narrower dtype: judged with that dtype's tolerance."""
    from gradtui.config import DEFAULT_TOLERANCES

    dtype = str(value.dtype).removeprefix("torch.")
    return max(tolerance, DEFAULT_TOLERANCES.get(dtype, tolerance))
