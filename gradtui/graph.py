"""A layer's forward as the operations it ran: recorded, then differentiated by gradtui.derivatives.

The forward runs once more, on copies, under a `TorchDispatchMode`: every tensor operation reaches
it as an aten operator (the level PyTorch's own derivatives.yaml is written at) with its operands,
its result and the user's source line, whatever the forward's style: plain torch, tensor methods,
`torch.nn.functional`, `einsum`, a `torch.autograd.Function`'s forward. (A `TorchFunctionMode`
would see the Python calls as written, hundreds of them, composites included; `torch.fx` traces
would import torch._dynamo, most of a second, at the first mismatch.) A composite such as
`F.linear` or `einsum` arrives as the few operators it is made of, so one table of derivatives
covers every style; an operator the table has no entry for is recorded as torch decomposes it, where
the steps are the table's (`F.glu`, `F.smooth_l1_loss`), else whole, its product then autograd's.

What the graph cannot hold is said, not guessed: an in-place change through a view, an operator
returning several tensors that are all used (but a split's pieces, each recorded as its own slice), a
forward that leaves PyTorch (NumPy, `.item()`).
"""

from __future__ import annotations

import ast
import linecache
import sys
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch._decomp import decomposition_table
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes
from torch.utils._pytree import tree_flatten, tree_map

from gradtui.derivatives import MADE_LIKE, NO_GRADIENT, RULES, UNBIASED, l2_normalize, norm_over

TORCH_DIR = str(Path(torch.__file__).resolve().parent)
GRADTUI_DIR = str(Path(__file__).resolve().parent)


@dataclass(frozen=True)
class Source:
    """The user's code that ran an operation: its statement (file, line, code), the expression within
    it that ran the operation, and the name the statement gives the operation's result, if it does."""

    file: str
    line: int
    code: str  # the whole statement, on one line: "var = ((x - mu)**2).mean(0)"
    name: str | None = None  # what the statement assigns this operation's result to: "var", "self.xhat"
    expression: str | None = None  # the expression that ran it: "(x - mu)**2" (None before Python 3.11)
    assigns: str | None = None  # what the statement (or its tuple's element holding this) assigns at all

    @property
    def short_name(self) -> str | None:
        return None if self.name is None else self.name.removeprefix("self.")


@dataclass(frozen=True)
class Leaf:
    """An input of the layer (`inp`, its parameters by role, `targ`)."""

    name: str


@dataclass(frozen=True)
class Ref:
    """Output `output` of node `node`."""

    node: int
    output: int = 0


def numeric(operand) -> bool:
    """Is the operand a Python number? (Not a bool, nor a tensor the forward makes from no input,
    `torch.arange(n) % 2`, which is an operand as it is, and `==` on which is a tensor.)"""
    return isinstance(operand, (int, float)) and not isinstance(operand, bool)


def is_number(operand, number: float) -> bool:
    """Is the operand that number?"""
    return numeric(operand) and operand == number


def same_operand(a, b) -> bool:
    """Are two operands the same input or result? (Either may be a tensor held as it is: see is_number.)"""
    return isinstance(a, (Leaf, Ref)) and isinstance(b, (Leaf, Ref)) and a == b


@dataclass
class Node:
    index: int
    op: torch._ops.OpOverload
    args: tuple  # tensors replaced by Leaf / Ref (or kept, as constants); everything else as given
    kwargs: dict
    outputs: list  # the tensors it returned, as they were then (a clone where it was later changed in place)
    source: Source | None
    written: Node | None = None  # fused: the last of the steps written by hand that this one operation stands for

    @property
    def name(self) -> str:
        """aten.mean.dim -> mean"""
        return self.op.overloadpacket.__name__.removesuffix("_")


@dataclass
class Graph:
    leaves: dict[str, torch.Tensor]  # name -> value (as it was before any in-place change)
    nodes: list[Node] = field(default_factory=list)
    output: Leaf | Ref | None = None
    unsupported: str | None = None  # why this graph cannot stand for the forward

    def value(self, ref) -> torch.Tensor:
        if isinstance(ref, Leaf):
            return self.leaves[ref.name]
        return self.nodes[ref.node].outputs[ref.output]

    def tensor_args(self, node: Node) -> list[tuple[int, Leaf | Ref]]:
        """(position among the flattened arguments, reference) of each recorded tensor operand."""
        flat, _ = tree_flatten((node.args, node.kwargs))
        return [(i, a) for i, a in enumerate(flat) if isinstance(a, (Leaf, Ref))]

    def names(self) -> dict[Ref, str]:
        """The tensors the user's code names: the last operation of each named expression (`mu`, `k`
        of `q, k = x @ wq, x @ wk`; a 3-D matmul is three operations, and its result the last), in
        each pass of a loop that ran it (`h` of `h = torch.tanh(x[:, t] @ wx + h @ wh)`)."""
        pass_of = {node.index: k for passes in self.passes() for k, nodes in enumerate(passes) for node in nodes}
        last = {}
        for node in self.nodes:
            if node.source is not None and node.source.name:
                last[node.source, pass_of.get(node.index)] = node.index
        return {Ref(index): self.nodes[index].source.name.removeprefix("self.") for index in sorted(last.values())}

    def passes(self) -> list[list[list[Node]]]:
        """Each statement that ran several times, the same operations each time (a loop's body, a
        helper called twice): its passes, each its operations in order."""
        statements: dict[tuple, list[Node]] = {}
        for node in self.nodes:
            if node.source is not None and node.source.expression is not None:  # (two of one expression: one pass)
                statements.setdefault((node.source.file, node.source.line), []).append(node)
        found = []
        for nodes in statements.values():
            ops = [(node.op, node.source.expression) for node in nodes]
            # where other statements ran in between, a pass ends there (else the shortest period of its operations)
            breaks = {i for i in range(1, len(nodes)) if nodes[i].index != nodes[i - 1].index + 1}
            for size in range(1, len(nodes) // 2 + 1):
                ends = set(range(size, len(nodes), size))
                if len(nodes) % size == 0 and (not breaks or ends == breaks) and all(
                        op == ops[i % size] for i, op in enumerate(ops)):
                    found.append([nodes[start:start + size] for start in range(0, len(nodes), size)])
                    break
        return found

    def users(self) -> dict[Leaf | Ref, list[int]]:
        """Each value, the nodes that read it (a value read by two nodes has two paths back)."""
        readers: dict = {}
        for node in self.nodes:
            for _, ref in self.tensor_args(node):
                readers.setdefault(ref, []).append(node.index)
        return readers

    def reaches(self) -> set:
        """The values the output depends on (through recorded operations)."""
        wanted, stack = set(), [self.output]
        while stack:
            ref = stack.pop()
            if ref in wanted or ref is None:
                continue
            wanted.add(ref)
            if isinstance(ref, Ref):
                stack.extend(r for _, r in self.tensor_args(self.nodes[ref.node]))
        return wanted


class Recorder(TorchDispatchMode):
    """Records every aten operation run while it is active, tracing tensors to the layer's leaves."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        """No: torch would wrap __torch_dispatch__ in dynamo's `disable`, whose first call imports
        torch._dynamo (a second, at the first mismatch), for compiling that never happens here."""
        return False

    def __init__(self, leaves: dict[str, torch.Tensor]):
        super().__init__()
        self.graph = Graph(dict(leaves))
        self.producer: dict[int, Leaf | Ref] = {id(t): Leaf(name) for name, t in leaves.items()}
        self.alive: list[torch.Tensor] = list(leaves.values())  # ids stay unique while the graph lives

    def ref(self, t: torch.Tensor) -> Leaf | Ref | None:
        return self.producer.get(id(t))

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        schema = func._schema
        mutated = None
        if schema.is_mutable and args and isinstance(args[0], torch.Tensor):
            mutated = args[0]
            self._before_change(mutated)
        elif "out" in kwargs:
            self.graph.unsupported = self.graph.unsupported or f"{func} writes into an out= tensor"
        inputs = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        traced = func not in MADE_LIKE and any(self.ref(t) is not None for t in inputs)
        if traced and mutated is None and func in _TWO_STATISTICS:
            return self._statistics(func, args, kwargs)
        if traced and func is _SAFE_SOFTMAX and _as_plain_softmax(*args, **kwargs):
            func, args, kwargs = torch.ops.aten._softmax.default, (args[0], args[1], False), {}
        if traced and mutated is None:
            decomposed = self._decomposed(func, args, kwargs)
            if decomposed is not None:
                return decomposed[0]
        result = func(*args, **kwargs)
        outputs = [t for t in tree_flatten(result)[0] if isinstance(t, torch.Tensor)]
        if not traced:  # a constant: made here, or read from elsewhere
            return result
        op = func if mutated is None else _functional(func)
        if op is None:
            self.graph.unsupported = self.graph.unsupported or f"no out-of-place form of {func}"
            return result
        recorded_args, recorded_kwargs = tree_map(self._operand, (args, kwargs))
        if func.overloadpacket in _SPLITS and mutated is None:
            self._record_pieces(func, recorded_args, args, kwargs, outputs, self._source())
            return result
        if mutated is not None:  # the operand's value before the change (kept by _before_change)
            recorded_args = (self.producer.get(id(mutated), recorded_args[0]),) + tuple(recorded_args[1:])
        node = Node(len(self.graph.nodes), op, recorded_args, recorded_kwargs, outputs, self._source())
        self.graph.nodes.append(node)
        for position, t in enumerate(outputs):
            self.producer[id(t)] = Ref(node.index, position)
            self.alive.append(t)
        return result

    def _decomposed(self, func, args, kwargs) -> tuple | None:
        """An operation the table has no entry for, run as torch decomposes it (`F.smooth_l1_loss` as its
        abs, where and mean), each step recorded with the user's line, where every step is one the table
        has: the slip search works on those steps as on any. (result,), or None where torch has no such
        decomposition (what it recorded is taken back, and the operation is recorded whole)."""
        decomposition = None if func in RULES or func in NO_GRADIENT or func.overloadpacket in _SPLITS else \
            _DECOMPOSED_HERE.get(func) or decomposition_table.get(func) or _composite(func)
        if decomposition is None:
            return None
        recorded, unsupported = len(self.graph.nodes), self.graph.unsupported
        producer, leaves = dict(self.producer), dict(self.graph.leaves)
        try:
            with self, warnings.catch_warnings():  # (torch's words on its own decomposition are not the user's)
                warnings.simplefilter("ignore")
                result = decomposition(*args, **kwargs)
        except Exception:  # noqa: BLE001 (one that cannot run here)
            result = None
        steps = self.graph.nodes[recorded:]
        if result is not None and self.graph.unsupported == unsupported and all(
                step.op in RULES or step.op in NO_GRADIENT for step in steps):
            return (result,)
        del self.graph.nodes[recorded:]
        self.graph.unsupported, self.producer, self.graph.leaves = unsupported, producer, leaves
        return None

    def _statistics(self, func, args, kwargs) -> tuple:
        """`var, mean = torch.var_mean(x, -1)` as two operations, var and mean, each its own value with
        its own derivative (and name), as the split's pieces are: the table has an entry for each."""
        source, recorded = self._source(), len(self.graph.nodes)
        with self:
            result = _TWO_STATISTICS[func](*args, **kwargs)
        names = _unpacked(source, 2) or (None, None)  # (`stats = torch.var_mean(x)` names neither tensor)
        for node, name in zip(self.graph.nodes[recorded:], names):
            node.source = source and replace(source, name=name, assigns=name or source.assigns)
        return result

    def _record_pieces(self, func, recorded_args, args, kwargs, pieces: list[torch.Tensor], source: Source | None) -> None:
        """A split, chunk or unbind as one slice (or select) per piece: each piece its own value, with
        its own path back (`a, b = x.chunk(2, -1)` uses both)."""
        unbind = func.overloadpacket is torch.ops.aten.unbind
        position = 1 if unbind else 2  # unbind(x, dim), split(x, sizes, dim)
        dim = kwargs.get("dim", args[position] if len(args) > position else 0) % max(args[0].dim(), 1)
        start = 0
        names = _unpacked(source, len(pieces))
        for k, t in enumerate(pieces):
            said = source if names is None or source is None else replace(source, name=names[k], assigns=names[k])
            if unbind:
                op, piece_args = torch.ops.aten.select.int, (recorded_args[0], dim, start)
                start += 1
            else:
                op, piece_args = torch.ops.aten.slice.Tensor, (recorded_args[0], dim, start, start + t.shape[dim], 1)
                start += t.shape[dim]
            node = Node(len(self.graph.nodes), op, piece_args, {}, [t], said)
            self.graph.nodes.append(node)
            self.producer[id(t)] = Ref(node.index)
            self.alive.append(t)

    def _operand(self, value):
        if isinstance(value, torch.Tensor):
            ref = self.ref(value)
            if ref is not None:
                return ref
            self.alive.append(value)
        return value

    def _before_change(self, target: torch.Tensor) -> None:
        """An operation is about to change `target` in place: what it held is kept for the node (or
        leaf) that made it, since the graph must remember values, not tensors."""
        ref = self.ref(target)
        if ref is None:
            return
        if target._base is not None or any(t is not target and _shares(t, target) for t in self.alive):
            self.graph.unsupported = self.graph.unsupported or "an in-place change of a tensor that another one views"
        kept = target.detach().clone()
        if isinstance(ref, Leaf):
            self.graph.leaves[ref.name] = kept
        else:
            self.graph.nodes[ref.node].outputs[ref.output] = kept
        self.alive.append(kept)

    def _source(self) -> Source | None:
        return layer_source(sys._getframe(2))


def layer_source(frame) -> Source | None:
    """The innermost frame, from `frame` out, of the layer's code: the user's, or a reference layer's
    (gradtui/layers.py); never torch's, the standard library's, or gradtui's own running of it."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename == RUNNER and frame.f_code.co_name not in RECORDING:
            return None  # back where gradtui called the forward: no line of the layer's ran it
        if _is_layer_code(filename):
            return source_of(filename, frame.f_lineno, _span(frame))
        frame = frame.f_back
    return None


def _and_mean(statistic):
    def run(x, dim=None, *, correction=None, keepdim=False):
        return statistic(x, dim, correction=correction, keepdim=keepdim), torch.ops.aten.mean.dim(x, dim, keepdim)
    return run


_TWO_STATISTICS = {torch.ops.aten.var_mean.correction: _and_mean(torch.ops.aten.var.correction),
                   torch.ops.aten.std_mean.correction: _and_mean(torch.ops.aten.std.correction)}


def _euclidean_distances(x1: torch.Tensor, x2: torch.Tensor, p: float = 2.0, compute_mode: int | None = None) -> torch.Tensor:
    """`torch.cdist(x1, x2)` as its definition (torch has no decomposition of it): each step then has its derivative
    in the table, and a backward written from the definition is searched step by step."""
    if p != 2:
        raise NotImplementedError("only the Euclidean distance is written out")
    distances = ((x1.unsqueeze(-2) - x2.unsqueeze(-3)) ** 2).sum(-1).sqrt()
    with _disable_current_modes():  # (a look at the value, not a step of the forward)
        if bool((distances == 0).any()):  # sqrt's derivative is infinite there, where cdist's own is 0
            raise NotImplementedError("a distance of 0: recorded whole")
    return distances


def _composite(func):
    """An operator written in terms of others (CompositeImplicitAutograd) that reaches the recorder whole, as one
    a decomposition calls does (`_scaled_dot_product_attention_math` of SDPA's CPU kernel's, torch 2.14): its own
    steps, where it has them; else None."""
    if not torch._C._dispatch_has_kernel_for_dispatch_key(func.name(), "CompositeImplicitAutograd"):
        return None

    def composite_steps(*args, **kwargs):
        result = func.decompose(*args, **kwargs)
        if result is NotImplemented:
            raise NotImplementedError(f"{func} has no steps of its own")
        return result
    return composite_steps


_DECOMPOSED_HERE = {torch.ops.aten._cdist_forward.default: _euclidean_distances,
                    torch.ops.aten._euclidean_dist.default: _euclidean_distances}  # (cdist's way on many rows)

# scaled_dot_product_attention's softmax (torch 2.5 on): a softmax that gives 0, not NaN, for a row masked whole
_SAFE_SOFTMAX = getattr(torch.ops.aten, "_safe_softmax", None) and torch.ops.aten._safe_softmax.default


def _as_plain_softmax(x: torch.Tensor, dim: int, dtype: torch.dtype | None = None) -> bool:
    """Whether a safe softmax gives what the plain one does (no row masked whole, no cast): it is recorded as
    that, whose derivative and slips the table has."""
    return dtype is None and not bool((x == float("-inf")).all(dim).any())


_SPLITS = frozenset({torch.ops.aten.split, torch.ops.aten.split_with_sizes, torch.ops.aten.unsafe_split,
                     torch.ops.aten.unsafe_split_with_sizes, torch.ops.aten.tensor_split, torch.ops.aten.unbind})
STDLIB_DIR = str(Path(ast.__file__).resolve().parent)
REFERENCE_LAYERS = str(Path(GRADTUI_DIR) / "layers.py")
# the recorder's own functions, which run the user's operations' steps: a frame of this file not among them is where
# gradtui called the forward
RECORDING = frozenset({"__torch_dispatch__", "_decomposed", "_euclidean_distances", "composite_steps"})
RUNNER = str(Path(__file__).resolve())  # record() below: the forward is called from this file


def _is_layer_code(filename: str) -> bool:
    if " (cell " in filename:  # a notebook's cell, as gradtui.notebook names it
        return True
    if filename.startswith("<"):  # an IPython cell has its lines in linecache; <frozen …>, <string> have none
        return not filename.startswith("<frozen") and bool(linecache.getlines(filename))
    resolved = str(Path(filename).resolve())
    return resolved == REFERENCE_LAYERS or not resolved.startswith((TORCH_DIR, GRADTUI_DIR, STDLIB_DIR))


def _shares(a: torch.Tensor, b: torch.Tensor) -> bool:
    try:
        return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr() and a.numel() and b.numel()
    except RuntimeError:
        return False


def _functional(func):
    """aten.add_.Tensor -> aten.add.Tensor: the out-of-place form of an in-place operator."""
    name = func.overloadpacket.__name__
    packet = getattr(torch.ops.aten, name.removesuffix("_"), None) if name.endswith("_") else None
    return None if packet is None else getattr(packet, func._overloadname, None)


def record(forward, leaves: dict[str, torch.Tensor]) -> tuple[Graph, object]:
    """Run `forward()` (which reads the leaves) under the recorder: its graph and its result."""
    recorder = Recorder(leaves)
    with torch.no_grad(), recorder:
        out = forward()
    graph = recorder.graph
    graph.output = recorder.ref(out) if isinstance(out, torch.Tensor) else None
    if graph.output is None and graph.unsupported is None:
        graph.unsupported = "its output is no tensor made by torch from its inputs"
    return graph, out


def replayed(graph: Graph, args_of: dict[int, tuple]) -> Graph:
    """The recorded forward run again from its leaves, node by node, with some nodes' operands
    changed (`args_of`: node index -> its new args): a guard's constant set to 0, say."""
    again = Graph(dict(graph.leaves), output=graph.output, unsupported=graph.unsupported)
    for node in graph.nodes:
        args = args_of.get(node.index, node.args)
        values, kwargs = tree_map(lambda a: again.value(a) if isinstance(a, (Leaf, Ref)) else a, (args, node.kwargs))
        result = node.op(*values, **kwargs)
        outputs = [t for t in tree_flatten(result)[0] if isinstance(t, torch.Tensor)]
        again.nodes.append(Node(node.index, node.op, args, node.kwargs, outputs, node.source))
    return again


WRITTEN_OUT = "written_out"  # a fused node's keyword: the operation was written out by hand, step by step


def fused(graph: Graph) -> Graph | None:
    """The graph with each softmax, log-softmax, sigmoid, softplus and normalisation written by hand (`e =
    (x - c).exp(); e / e.sum(dim, keepdim=True)`, `x - x.logsumexp(dim, keepdim=True)`, `1 / (1 +
    torch.exp(-x))`, `log(1 + exp(x))`, `(x - mu) * rstd`, `w * x * rstd` as `w * (x * rstd)`) as the one operation it
    is, so that a backward written from
    that function's own derivative (softmax's Jacobian, out * (1 - out), a layer norm's three terms)
    is searched in its own terms (the sum over the wrong axis, its second term, the 1 - out, the
    variance term's xhat); None when there is none."""
    readers, nodes, found = _readers(graph), list(graph.nodes), False
    for node in graph.nodes:
        whole = _softmax_by_hand(graph, node, readers) or _log_softmax_by_hand(graph, node) \
            or _sigmoid_by_hand(graph, node) or _softplus_by_hand(graph, node) or _gelu_by_hand(graph, node) \
            or _tanh_by_hand(graph, node)
        if whole is not None:
            op, args, *kwargs = whole
            nodes[node.index] = Node(node.index, op, args, kwargs[0] if kwargs else {}, node.outputs, node.source, node)
            found = True
        elif (normalised := _normalised_by_hand(graph, node) or _l2_normalised_by_hand(graph, node)) is not None:
            nodes[node.index] = normalised if not _one_call(graph, node, normalised.args[0]) else replace(
                normalised, kwargs={k: v for k, v in normalised.kwargs.items() if k != WRITTEN_OUT}, source=node.source)
            # (F.normalize's own steps: the one function it is, said as the call the code writes)
            found = True
        elif (gained := _gain_taken_first(graph, node, readers)) is not None:
            _, normalised, gain = gained
            nodes[normalised.index], nodes[gain.index] = normalised, gain
            found = True
    return Graph(graph.leaves, nodes, graph.output, graph.unsupported) if found else None


def _one_call(graph: Graph, node: Node, x: Leaf | Ref) -> bool:
    """Is every step from x to `node` run by one call of the user's code (F.normalize's own steps), not
    written out by the user?"""
    stack, seen = [Ref(node.index)], set()
    while stack:
        value = stack.pop()
        if value == x or not isinstance(value, Ref) or value in seen:
            continue
        seen.add(value)
        step = graph.nodes[value.node]
        if step.source is None or step.source != node.source:
            return False
        stack.extend(ref for _, ref in graph.tensor_args(step))
    return True


def reassociated(graph: Graph) -> Graph | None:
    """The graph grouped as a backward written step by step may group it: each normalisation's gain
    multiplied in after it (`w * x * rstd` as `w * (x * rstd)`), its own product kept as a product (a
    backward written as `dy = out.g * w`, then from `x` and `rstd`, differentiates that order, and one slip
    in it is one edit of it); `1 / sqrt(v)` as the one rsqrt it is (a staged batch norm's `ivar`, whose
    derivative its backward writes as `-0.5 * ivar ** 3`), its statistics kept as steps. None when there is
    neither."""
    readers, nodes, found = _readers(graph), list(graph.nodes), False
    for node in graph.nodes:
        if (gained := _gain_taken_first(graph, node, readers)) is not None:
            product, _, gain = gained
            nodes[product.index], nodes[gain.index] = product, gain
            found = True
        elif (root := _rsqrt_by_hand(graph, node, readers)) is not None:
            nodes[node.index] = Node(node.index, torch.ops.aten.rsqrt.default, (root,), {}, node.outputs, node.source, node)
            found = True
    return Graph(graph.leaves, nodes, graph.output, graph.unsupported) if found else None


def _rsqrt_by_hand(graph: Graph, node: Node, readers: dict) -> Leaf | Ref | None:
    """What `1 / sqrt(v)` (or `sqrt(v) ** -1`) takes the reciprocal square root of: v; else None. `1 / t` runs
    as reciprocal(t) * 1: the product is the rsqrt, the value the statement names."""
    times_one = node.name == "mul" and isinstance(node.args[0], Ref) and _is_times_one(node, node.args[0])
    reciprocal = graph.nodes[node.args[0].node] if times_one else node
    if not (reciprocal.name == "reciprocal" or (reciprocal.name == "pow" and len(reciprocal.args) == 2
                                                and is_number(reciprocal.args[1], -1))):
        return None
    if reciprocal is node and any(_is_times_one(graph.nodes[i], Ref(node.index)) for i in readers.get(Ref(node.index), ())):
        return None  # (the product after it is the rsqrt)
    root = graph.nodes[reciprocal.args[0].node] if isinstance(reciprocal.args[0], Ref) else None
    return root.args[0] if root is not None and root.name == "sqrt" else None


def _is_times_one(node: Node, value: Ref) -> bool:
    return node.name == "mul" and len(node.args) == 2 and isinstance(node.args[0], Ref) and node.args[0] == value \
        and is_number(node.args[1], 1)


def _readers(graph: Graph) -> dict:
    """value -> the indices of the nodes that read it."""
    readers: dict = {}
    for node in graph.nodes:
        for _, ref in graph.tensor_args(node):
            readers.setdefault(ref, set()).add(node.index)
    return readers


def _gain_taken_first(graph: Graph, node: Node, readers: dict) -> tuple[Node, Node, Node] | None:
    """`w * x * rstd`, `w * x / norm`: a normalisation's gain multiplied in before it is normalised.
    The nodes of `w * (x * rstd)` in place of the product's two: `x * rstd` as a product and as the
    normalisation it is, and the gain by it."""
    if node.name not in ("mul", "div") or not isinstance(node.args[0], Ref) or not isinstance(node.args[1], (Leaf, Ref)):
        return None
    inner = graph.nodes[node.args[0].node]
    if inner.name != "mul" or readers.get(Ref(inner.index)) != {node.index}:
        return None
    for side in (0, 1):
        gain, kept = inner.args[side], inner.args[1 - side]
        if not (isinstance(gain, (Leaf, Ref)) or numeric(gain)) or not isinstance(kept, (Leaf, Ref)):
            continue
        value = node.op(graph.value(kept), graph.value(node.args[1]))
        if value.shape != node.outputs[0].shape:
            continue
        said = _regrouped_source(node.source, numeric(gain), 1 - side)
        product = Node(inner.index, node.op, (kept, node.args[1]), {}, [value], said)
        normalised = _normalised_by_hand(graph, product) or _l2_normalised_by_hand(graph, product)
        if normalised is not None and all(made.node < inner.index for _, made in graph.tensor_args(product)
                                          if isinstance(made, Ref)):
            gained = (Ref(inner.index), gain) if numeric(gain) else (gain, Ref(inner.index))  # (a number goes second)
            return product, replace(normalised, source=said), Node(node.index, inner.op, gained, {}, node.outputs,
                                                                   node.source)
    return None


def _regrouped_source(source: Source | None, number: bool, kept: int) -> Source | None:
    """The statement of `w * x * rstd`, saying the code of `x * rstd` as the regrouped product's part
    (`kept`: x's side of `w * x` among the operation's operands; where the gain is a `number`, the side
    the code does not write as a number: `1.5 * x` runs as mul(x, 1.5)); as it is where it is not
    written so."""
    try:
        written = ast.parse(source.expression, mode="eval").body if source and source.expression else None
    except SyntaxError:
        written = None
    if not (isinstance(written, ast.BinOp) and isinstance(written.left, ast.BinOp)):
        return source
    sides = (written.left.left, written.left.right)
    constants = [i for i, side in enumerate(sides) if isinstance(side, ast.Constant)]
    kept = 1 - constants[0] if number and len(constants) == 1 else kept
    expression = f"{ast.unparse(sides[kept])} {'*' if isinstance(written.op, ast.Mult) else '/'} {ast.unparse(written.right)}"
    return replace(source, expression=expression, name=None)


def _normalised_by_hand(graph: Graph, node: Node) -> Node | None:
    """`(x - mu) * rstd`, `(x - mu) / std`, `x * rrms` over the last axis, however the statistics were
    computed: layer_norm, or rms_norm, of x; over the batch (axis 0, of a 2-D x) batch_norm (without a
    gain: what multiplies it after is its own node); over a middle axis (the tokens of a 3-D view), norm_over.
    Known by its values, x found among what it was made from; the caller holds the fused graph's
    derivative to the recorded one's before it is searched."""
    value = node.outputs[0] if node.outputs else None
    if node.name not in ("mul", "div") or value is None or not value.is_floating_point() or value.dim() < 1 \
            or value.shape[-1] < 2:
        return None
    made_from = sorted(_made_from(graph, node, value.shape), key=lambda v: getattr(v, "node", -1))
    axes = [(-1, True), (-1, False)] + ([(0, True)] if value.dim() == 2 and value.shape[0] >= 2 else []) + [
        (axis, True) for axis in range(1, value.dim() - 1) if value.shape[axis] >= 2]  # (a 3-D view's tokens)
    exact = value.to(torch.float64)  # (its statistics found in float64: a float32 cast's sums would blur its eps)
    for x in made_from:  # the first made: x, not x - mu (whose mean's path would stay outside)
        data = graph.value(x).to(value.dtype).to(torch.float64)
        for axis, centred in axes:  # a layer norm, an RMS norm, a batch norm (over the batch, axis 0)
            d = data - data.mean(axis, keepdim=True) if centred else data
            squares = (d * d).sum(axis, keepdim=True)
            if not bool((squares > 0).all()):
                continue
            rstd = (exact * d).sum(axis, keepdim=True) / squares
            scale = float(exact.abs().max()) or 1.0
            if not bool(torch.allclose(exact, d * rstd, rtol=1e-6, atol=1e-9 * scale)) or not bool((rstd > 0).all()):
                continue
            eps = _constant_eps(rstd, squares, value.shape[axis])
            unbiased = eps is None and centred and value.shape[axis] > 2 and \
                (eps := _constant_eps(rstd, squares, value.shape[axis] - 1)) is not None  # `x.std(0)`: over n − 1
            if eps is None:
                continue
            data, rstd = data.to(value.dtype), rstd.to(value.dtype)
            # said by its name; one the code does not name (`(x * r).type_as(x) * w`'s), by its expression, but
            # where it is the layer's output as it is (`(d * rstd).view(n, c)`)
            said = replace(node.source, expression=None) if node.source is not None and (
                node.source.name or _the_output_as_it_is(graph, node)) else node.source
            written = {WRITTEN_OUT: True, **({UNBIASED: True} if unbiased else {})}
            if 0 < axis < value.dim() - 1:
                return Node(node.index, norm_over, (x, axis, eps), written, [value], said)
            if axis == 0:
                return Node(node.index, torch.ops.aten.native_batch_norm.default,
                            (x, None, None, None, None, True, 0.0, eps), written,
                            [value, data.mean(0), rstd.reshape(-1)], said)
            if centred:
                return Node(node.index, torch.ops.aten.native_layer_norm.default, (x, [value.shape[-1]], None, None, eps),
                            written, [value, data.mean(-1, keepdim=True), rstd], said)
            return Node(node.index, torch.ops.aten.rms_norm.default, (x, [value.shape[-1]], None, eps),
                        {WRITTEN_OUT: True}, [value], said)
    return None


AS_IT_IS = frozenset({"view", "_unsafe_view", "reshape", "clone", "_to_copy"})  # a value's shape, memory or dtype only


def _the_output_as_it_is(graph: Graph, node: Node) -> bool:
    """Is the node's value the graph's output, or made into it by views and copies alone (whose gradient
    is the output's, `out.g`)?"""
    readers, value = _readers(graph), Ref(node.index)
    while value != graph.output:
        after = readers.get(value, set())
        if len(after) != 1 or graph.nodes[next(iter(after))].name not in AS_IT_IS:
            return False
        value = Ref(next(iter(after)))
    return True


def _constant_eps(rstd: torch.Tensor, squares: torch.Tensor, count: int) -> float | None:
    """The eps of a normalisation whose variance is `squares / count` (n, or n − 1): one small
    constant for every row (else it is a scale, not a normalisation); None where there is none."""
    spread = squares / count
    eps = 1 / rstd ** 2 - spread
    if not bool((eps - eps.mean()).abs().le(1e-6 * (spread + eps.mean().abs())).all()) \
            or not -1e-9 <= float(eps.mean()) <= 1e-2 * float(spread.median()):
        return None
    return max(float(eps.mean()), 0.0)


def _l2_normalised_by_hand(graph: Graph, node: Node) -> Node | None:
    """`x / x.norm(dim=d, keepdim=True)`, `x * ((x**2).sum(d, keepdim=True) + eps).rsqrt()`: x / ‖x‖ over d
    (F.normalize's, a weight norm's), known by its values as a normalisation is."""
    value = node.outputs[0] if node.outputs else None
    if node.name not in ("mul", "div") or value is None or not value.is_floating_point() or value.dim() < 1:
        return None
    scale = float(value.abs().max()) if value.numel() else 0.0
    for x in sorted(_made_from(graph, node, value.shape), key=lambda v: getattr(v, "node", -1)):
        data = graph.value(x).to(value.dtype)
        for axis in range(value.dim()):
            norm = data.norm(dim=axis, keepdim=True)
            if value.shape[axis] < 2 or not bool((norm > 0).all()) or bool(torch.allclose(value, data)):
                continue
            if bool(torch.allclose(value, data / norm, rtol=1e-6, atol=1e-9 * scale)):
                said = replace(node.source, expression=None) if node.source is not None else None
                said_axis = -1 if axis == value.dim() - 1 else axis  # as code writes it: the last axis, -1
                return Node(node.index, l2_normalize, (x, said_axis), {WRITTEN_OUT: True}, [value], said)
    return None


def _made_from(graph: Graph, node: Node, shape: torch.Size, depth: int = 8) -> list[Leaf | Ref]:
    """The values of this shape that `node` was made from, nearest first, at most `depth` operations up."""
    found, frontier, seen = [], [node], set()
    for _ in range(depth):
        above = []
        for current in frontier:
            for _, value in graph.tensor_args(current):
                if value in seen:
                    continue
                seen.add(value)
                if graph.value(value).shape == shape:
                    found.append(value)
                if isinstance(value, Ref):
                    above.append(graph.nodes[value.node])
        frontier = above
    return found


def _softmax_by_hand(graph: Graph, node: Node, readers: dict):
    """e / e.sum(dim, keepdim=True), e = exp(x): softmax(x, dim)."""
    if node.name != "div" or not all(isinstance(a, Ref) for a in node.args[:2]):
        return None
    numerator, denominator = graph.nodes[node.args[0].node], graph.nodes[node.args[1].node]
    if numerator.name != "exp" or not _summed_in_place(graph, denominator) or not isinstance(denominator.args[0], Ref):
        return None
    summed = graph.nodes[denominator.args[0].node]
    shared = summed is numerator and readers.get(Ref(numerator.index)) == {denominator.index, node.index}
    again = summed.name == "exp" and same_operand(summed.args[0], numerator.args[0])  # x.exp() / x.exp().sum(…)
    if (shared or again) and readers.get(Ref(denominator.index)) == {node.index}:
        return torch.ops.aten._softmax.default, (numerator.args[0], denominator.args[1][0], False)
    return None


def _summed_in_place(graph: Graph, node: Node) -> bool:
    """A sum over one axis that broadcasts back over what it summed: with keepdim, or over the first axis
    (`e / e.sum(0)`: a softmax over the batch)."""
    if node.name != "sum" or len(node.args) < 2 or not isinstance(node.args[1], (list, tuple)) or len(node.args[1]) != 1:
        return False
    return bool(len(node.args) > 2 and node.args[2]) or node.args[1][0] % max(graph.value(node.args[0]).dim(), 1) == 0


def _log_softmax_by_hand(graph: Graph, node: Node):
    """x - log(exp(x).sum(dim, keepdim=True)), or x - x.logsumexp(dim, keepdim=True): log_softmax(x, dim)
    (the exp's operand the same values as x: each may subtract the max on its own)."""
    if node.name != "sub" or not all(isinstance(a, (Leaf, Ref)) for a in node.args[:2]) or len(node.args) > 2 \
            or not isinstance(node.args[1], Ref):
        return None
    x, normaliser = node.args[0], graph.nodes[node.args[1].node]
    if normaliser.name == "logsumexp" and same_operand(normaliser.args[0], x) and len(normaliser.args[1]) == 1 \
            and len(normaliser.args) > 2 and normaliser.args[2]:
        return torch.ops.aten._log_softmax.default, (x, normaliser.args[1][0], False)
    if normaliser.name != "log" or not isinstance(normaliser.args[0], Ref):
        return None
    total = graph.nodes[normaliser.args[0].node]
    if not _summed_in_place(graph, total) or not isinstance(total.args[0], Ref):
        return None
    exp = graph.nodes[total.args[0].node]
    if exp.name != "exp":
        return None
    same = same_operand(exp.args[0], x) or (isinstance(exp.args[0], (Leaf, Ref)) and torch.equal(graph.value(exp.args[0]),
                                                                                  graph.value(x)))
    return (torch.ops.aten._log_softmax.default, (x, total.args[1][0], False)) if same else None


def _sigmoid_by_hand(graph: Graph, node: Node):
    """1 / (1 + exp(-x)) (a reciprocal, a power -1), or exp(x) / (1 + exp(x)): sigmoid(x); x / (1 +
    exp(-x)): silu(x). (What the steps are read by elsewhere keeps its own paths: the fused node's
    derivative is the steps' whole.)"""
    def made(value, name: str) -> Node | None:
        return graph.nodes[value.node] if isinstance(value, Ref) and graph.nodes[value.node].name == name else None

    def exp_plus_one(value) -> Node | None:  # 1 + exp(u): the exp
        add = made(value, "add")
        return made(add.args[0], "exp") if add is not None and len(add.args) == 2 and is_number(add.args[1], 1) else None

    if node.name == "div" and len(node.args) == 2:
        top, below = made(node.args[0], "exp"), exp_plus_one(node.args[1])
        same = top is not None and below is not None and same_operand(top.args[0], below.args[0])
        if same:
            return torch.ops.aten.sigmoid.default, (top.args[0],)
        negated = made(below.args[0], "neg") if below is not None else None  # x / (1 + exp(-x)): SiLU, x's sigmoid
        x = negated.args[0] if negated is not None else None
        return (torch.ops.aten.silu.default, (x,)) if x is not None and same_operand(x, node.args[0]) else None
    if node.name == "mul" and isinstance(node.args[0], Ref) and _is_times_one(node, node.args[0]):  # `1 / t`: 1 * 1/t
        reciprocal = made(node.args[0], "reciprocal")
        denominator = reciprocal.args[0] if reciprocal is not None else None
    elif node.name == "reciprocal" or (node.name == "pow" and len(node.args) == 2 and is_number(node.args[1], -1)):
        denominator = node.args[0]
    else:
        return None
    exp = exp_plus_one(denominator)
    negated = made(exp.args[0], "neg") if exp is not None else None
    return (torch.ops.aten.sigmoid.default, (negated.args[0],)) if negated is not None else None


def _gelu_by_hand(graph: Graph, node: Node):
    """GELU written out, `0.5 * x * (1 + erf(x / sqrt(2)))` or by its tanh (minGPT's, with `torch.pow` or
    `x ** 3`, `math.sqrt(2 / math.pi)` or its number): known by its values, as a normalisation is, for
    its steps are written a dozen ways. (op, args, kwargs) of the one operation, or None."""
    value = node.outputs[0] if node.outputs else None
    if node.name != "mul" or value is None or not value.is_floating_point() or value.numel() < 2:
        return None
    scale = float(value.abs().max()) or 1.0
    for x in _made_from(graph, node, value.shape, depth=3):
        data = graph.value(x).to(value.dtype)
        for approximate in ("none", "tanh"):
            if bool(torch.allclose(value, torch.nn.functional.gelu(data, approximate=approximate), rtol=1e-6,
                                   atol=1e-9 * scale)):
                return torch.ops.aten.gelu.default, (x,), {"approximate": approximate} if approximate != "none" else {}
    return None


def _tanh_by_hand(graph: Graph, node: Node):
    """tanh written out, `2 / (1 + exp(-2x)) - 1`, `2 * sigmoid(2x) - 1`, `(exp(2x) - 1) / (exp(2x) + 1)`: known
    by its values, as GELU is, for it is written many ways. (op, args) of the one operation, or None."""
    value = node.outputs[0] if node.outputs else None
    if node.name not in ("sub", "add", "rsub", "div") or value is None or not value.is_floating_point() or value.numel() < 2:
        return None
    scale = float(value.abs().max()) or 1.0
    for x in _made_from(graph, node, value.shape, depth=7):
        if isinstance(x, Ref) and graph.nodes[x.node].name == "tanh":
            continue
        if bool(torch.allclose(value, torch.tanh(graph.value(x).to(value.dtype)), rtol=1e-6, atol=1e-9 * scale)):
            return torch.ops.aten.tanh.default, (x,)
    return None


def _softplus_by_hand(graph: Graph, node: Node):
    """log(1 + exp(x)), log1p(exp(x)): softplus(x) (Mish's, a BCE's), whose derivative is sigmoid(x)."""
    if node.name not in ("log", "log1p") or not isinstance(node.args[0], Ref):
        return None
    inner = graph.nodes[node.args[0].node]
    if node.name == "log":
        if inner.name != "add" or len(inner.args) != 2 or not is_number(inner.args[1], 1) or not isinstance(inner.args[0], Ref):
            return None
        inner = graph.nodes[inner.args[0].node]
    return (torch.ops.aten.softplus.default, (inner.args[0],)) if inner.name == "exp" else None


# -- the user's statements ---------------------------------------------------------------------

_STATEMENTS: dict[str, tuple[str, list[ast.stmt]]] = {}  # file -> its text and its simple statements


Span = tuple[int, int, int, int]  # (line, end line, column, end column) of an expression


def _span(frame) -> Span | None:
    """Where in its line the frame is now: the expression whose evaluation ran the operation."""
    try:
        span = list(frame.f_code.co_positions())[frame.f_lasti // 2]
    except (AttributeError, IndexError):  # Python 3.10 has no positions
        return None
    return span if None not in span else None


def source_of(filename: str, line: int, span: Span | None = None) -> Source:
    """The innermost simple statement of the file at this line, on one line; the expression `span`
    covers in it; and the name the statement gives that expression's value (`mu = x.mean(0)` names
    the mean `mu`; `q, k = x @ wq, x @ wk` names `x @ wk` k), when the expression is all of it."""
    text, statements = _statements(filename)
    found = [s for s in statements if s.lineno <= line <= (s.end_lineno or s.lineno)]
    statement = min(found, key=lambda s: (s.end_lineno or s.lineno) - s.lineno, default=None)
    if statement is None:
        return Source(filename, line, linecache.getline(filename, line).strip())
    segment = _statement_text(linecache.getlines(filename), statement) or linecache.getline(filename, line)
    expression = _segment(filename, span) if span is not None else None
    assigns, name = None, None
    for target, value in _assignments(statement):
        if span is None or _covers(value, span):
            assigns = ast.unparse(target)
            name = assigns if span is None or span in (_spans(value), _spans(_first_of(value))) else None
            break
    return Source(filename, statement.lineno, " ".join(segment.split()), name, expression, assigns)


def _first_of(value: ast.expr) -> ast.expr:
    """The operation whose first result a value is: `x.max(1)` of `x.max(1).values` or of `x.max(1)[0]`."""
    if isinstance(value, ast.Attribute) and value.attr == "values":
        return value.value
    if isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Constant) and value.slice.value == 0:
        return value.value
    return value


def _assignments(statement: ast.stmt) -> list[tuple[ast.expr, ast.expr]]:
    """(target, value) pairs a statement assigns: one, or one per element of `a, b = x, y`."""
    if not isinstance(statement, (ast.Assign, ast.AnnAssign)) or statement.value is None:
        return []
    target = statement.targets[0] if isinstance(statement, ast.Assign) else statement.target
    if isinstance(target, ast.Tuple) and isinstance(statement.value, ast.Tuple) and len(target.elts) == len(
            statement.value.elts):
        return [(t, v) for t, v in zip(target.elts, statement.value.elts) if isinstance(t, (ast.Name, ast.Attribute))]
    return [(target, statement.value)] if isinstance(target, (ast.Name, ast.Attribute)) else []


def _unpacked(source: Source | None, count: int) -> list[str] | None:
    """The names `a, b = h.chunk(2, -1)` gives its pieces, when the split is the statement's whole value."""
    if source is None or source.expression is None:
        return None
    for statement in _statements(source.file)[1]:
        if statement.lineno == source.line and isinstance(statement, ast.Assign) \
                and isinstance(target := statement.targets[0], ast.Tuple) and len(target.elts) == count \
                and " ".join(ast.unparse(statement.value).split()) == " ".join(ast.unparse(
                    ast.parse(source.expression, mode="eval").body).split()):
            return [ast.unparse(element) for element in target.elts]
    return None


def _spans(node: ast.expr) -> Span:
    return node.lineno, node.end_lineno, node.col_offset, node.end_col_offset


def _covers(node: ast.expr, span: Span) -> bool:
    line, end_line, column, end_column = _spans(node)
    return (line, column) <= (span[0], span[2]) and (span[1], span[3]) <= (end_line, end_column)


def _statement_text(lines: list[str], statement: ast.stmt) -> str:
    """ast.get_source_segment of a statement, from the file's lines as linecache keeps them (that function
    splits the whole file again on every call: milliseconds a statement in a long file)."""
    first, last = statement.lineno - 1, (statement.end_lineno or statement.lineno) - 1
    if last >= len(lines):
        return ""
    head, tail = lines[first].encode(), lines[last].encode()
    if first == last:
        return head[statement.col_offset:statement.end_col_offset].decode()
    return head[statement.col_offset:].decode() + "".join(lines[first + 1:last]) + tail[:statement.end_col_offset].decode()


def _segment(filename: str, span: Span) -> str | None:
    lines = linecache.getlines(filename)[span[0] - 1:span[1]]
    if not lines:
        return None
    if len(lines) == 1:
        return lines[0][span[2]:span[3]].strip() or None
    text = lines[0][span[2]:] + "".join(lines[1:-1]) + lines[-1][:span[3]]
    return " ".join(text.split()) or None


COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.While, ast.With, ast.Try)


def _statements(filename: str) -> tuple[str, list[ast.stmt]]:
    """The file's text and its simple statements, as the file is now: one edited since (a fix written,
    and the check run again in the same process) is read again, by linecache and here."""
    linecache.checkcache(filename)
    text = "".join(linecache.getlines(filename))
    cached = _STATEMENTS.get(filename)
    if cached is None or cached[0] != text:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            tree = ast.Module(body=[], type_ignores=[])
        _STATEMENTS[filename] = text, [node for node in ast.walk(tree)
                                       if isinstance(node, ast.stmt) and not isinstance(node, COMPOUND)]
    return _STATEMENTS[filename]
