"""Gradients written by hand, one line per tensor, each judged where it was written: the engine of
`from gradtui import cmp`, for notebooks such as makemore's "becoming a backprop ninja".

Such a notebook runs its forward as named statements (`probs = counts * counts_sum_inv`), keeps
every intermediate's `.grad` (`retain_grad()`), calls `loss.backward()`, and then checks each
hand-written gradient against autograd's, top down: `cmp('probs', dprobs, probs)`. By then
autograd's graph is freed, so gradtui records the forward again: it finds the loss in the caller's
namespace, the statement that made each tensor the loss depends on in the source the caller ran
(its file, or every IPython cell run so far), and runs those statements once more, on copies of what
they read, in float64, under gradtui.graph's recorder. A statement is taken only when, run again,
it gives the very value the namespace holds; the recording is trusted only when its derived
gradient of the compared tensor is autograd's.

On that graph each hand-written gradient is judged twice: against autograd's (is it right?) and
against the chain rule run from the user's own gradients of the tensors compared before it (is
its own line right?). Only the line where the slip was made is `here`; a line whose inputs were
wrong says so, and names the line that was. The slip is searched as in gradtui.derived: one edit
of the derivatives between the tensor and the ones compared before it, or, for a gradient written
in one go over many statements, of every derivative between it and the loss.
"""

from __future__ import annotations

import ast
import contextlib
import io
import itertools
import linecache
import warnings
import weakref
from dataclasses import dataclass, field

import torch

from gradtui.compare import close
from gradtui.config import DEFAULT_TOLERANCES
from gradtui.derived import (
    RANK,
    SEARCH_FAILS,
    Edit,
    _context,
    _reduced_size,
    edits,
    gradients,
    states,
    tensor_factor,
    words,
    zero_paths,
)
from gradtui.formatting import IPYKERNEL_CELL, IPYTHON_CELL, NOTEBOOK_CELL, place, shape_in_words
from gradtui.graph import Graph, Leaf, Recorder, Ref, Source, _assignments, _statements, same_operand
from gradtui.running import numbers_made_in
from gradtui.written_slips import apart, differing

SAME_VALUE = {dtype: (rtol / 10, atol / 10) for dtype, (rtol, atol) in DEFAULT_TOLERANCES.items()}
# A line of such a notebook reads named tensors: one written for another (`bnraw` for `bndiff`) is the
# likeliest story, before the derivative table's slips that give the same numbers.
KIND_ORDER = {"swap": -1}
NOT_NAMED = "no single slip in one derivative gives these numbers"  # the fallback's last words
MOST_EDITS_TRIED = 2000  # per flagged line: the hint's kind of edit comes first, over every line that writes the tensor


class NotFollowed(Exception):
    """The forward that made a tensor could not be recorded again: why, in a sentence."""


# -- the forward, recorded again from the user's statements ------------------------------------------

@dataclass(frozen=True)
class Statement:
    """A statement of the user's that assigns a name: `probs = counts * counts_sum_inv`."""

    name: str
    file: str
    line: int
    value: ast.expr  # the expression assigned to `name` (an element of `a, b = x, y`)

    def reads(self) -> list[str]:
        """The names its expression reads, in order."""
        return list(dict.fromkeys(node.id for node in ast.walk(self.value)
                                  if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)))

    def compiled(self):
        return _compiled(self.file, self.value)


_CODE: dict = {}


def _compiled(file: str, value: ast.expr):
    """The expression as code that keeps its place in the file: the recorder reads its line and columns."""
    key = (file, value.lineno, value.col_offset, value.end_lineno, value.end_col_offset)
    if key not in _CODE:
        _CODE[key] = compile(ast.Expression(body=value), file, "eval")
    return _CODE[key]


def source_files(caller_file: str) -> list[str]:
    """Where the caller's statements are: every notebook cell run so far, in the order they last ran
    (IPython keeps each in linecache), and the caller's own file."""
    cells = [name for name in list(linecache.cache) if is_cell(name)]
    ran = _cells_of_this_session(cells)
    if ran is not None:  # linecache keeps a cell run again where it first ran, and the cells of a session reset
        cells = [name for name in cells if NOTEBOOK_CELL.match(name)] + ran
    return list(dict.fromkeys([*cells, caller_file]))


def _cells_of_this_session(cells: list[str]) -> list[str] | None:
    """Those of the IPython (or Jupyter kernel) cells that this session ran, by their code, in the order
    they last ran; None outside IPython, or where its history cannot say."""
    import sys

    shell = sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None
    try:
        inputs = list(shell.history_manager.input_hist_parsed)
    except AttributeError:  # no shell, or one of another make: every cell linecache holds, as it holds them
        return None
    by_code: dict[str, list[str]] = {}
    for name in cells:
        if not NOTEBOOK_CELL.match(name):
            by_code.setdefault("".join(linecache.getlines(name)).rstrip(), []).append(name)
    ran = []
    for number, code in enumerate(inputs):
        for name in by_code.get(code.rstrip(), ()):
            counted = IPYTHON_CELL.match(name)
            if counted is None or int(counted["count"]) == number:
                ran = [other for other in ran if other != name] + [name]
    return ran or None  # (none of them in its history: cells run without it, every one as linecache holds it)


def is_cell(filename: str) -> bool:
    return bool(IPYTHON_CELL.match(filename) or IPYKERNEL_CELL.match(filename) or NOTEBOOK_CELL.match(filename))


@dataclass(frozen=True)
class Writing:
    """The statements of a cell (or script) that make a gradient: the one that assigns its name, then
    those after it that write it in place, each a span of the text; and the lines that write it."""

    spans: tuple[tuple[int, int], ...]
    writers: tuple[int, ...]

    def edited(self, text: str, start: int, end: int, new: str) -> str:
        """The statements, one line of them (text[start:end]) replaced by `new`."""
        return "\n".join(text[a:start] + new + text[end:b] if a <= start and end <= b else text[a:b]
                         for a, b in self.spans)


def _writing(text: str, target: str, line: int, until: int | None) -> Writing | None:
    """`target`'s making in `text`: the top-level statement at `line` that assigns it, and those after
    it (before line `until`) that write it in place; the statement alone when it is not top-level
    (inside a loop, a `with`, a function); None when there is none at `line`."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    offsets = [0]
    for text_line in text.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(text_line))

    def span(node: ast.stmt) -> tuple[int, int]:
        return (offsets[node.lineno - 1] + len(text[offsets[node.lineno - 1]:].encode()[:node.col_offset].decode()),
                offsets[node.end_lineno - 1] + len(text[offsets[node.end_lineno - 1]:].encode()[:node.end_col_offset]
                                                   .decode()))

    made = next((node for node in tree.body if node.lineno == line), None)
    if made is None:
        nested = next((node for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AugAssign))
                       and node.lineno == line), None)
        return None if nested is None else Writing((span(nested),), (line,))
    after = [node for node in tree.body if node.lineno > line and (until is None or node.lineno < until)
             and any(_writes_in_place(inner, target) for inner in ast.walk(node))]
    writers = [made.lineno, *(inner.lineno for node in after for inner in ast.walk(node)
                              if isinstance(inner, (ast.Assign, ast.AugAssign, ast.Expr)) and _writes_in_place(
                                  inner.value if isinstance(inner, ast.Expr) else inner, target))]
    return Writing(tuple(span(node) for node in [made, *after]), tuple(dict.fromkeys(writers)))


def _writes_in_place(node: ast.AST, target: str) -> bool:
    """Does `node` change `target`'s tensor in place (`t[i] = …`, `t += …`, `t[i] += …`, `t.index_add_(…)`),
    or make it again from itself (`t = t / n`)?"""
    def named(expression: ast.AST) -> bool:
        inner = expression.value if isinstance(expression, ast.Subscript) else expression
        return isinstance(inner, ast.Name) and inner.id == target

    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Subscript) and named(t) for t in node.targets) or _remade(node, target)
    if isinstance(node, ast.AugAssign):
        return named(node.target)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.endswith("_") and \
        named(node.func.value)


def _statements_by_line(text: str) -> dict[int, ast.stmt]:
    """Each line's first statement (the outermost), by its line."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    found: dict[int, ast.stmt] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            found.setdefault(node.lineno, node)
    return found


def _remade(node: ast.AST, target: str) -> bool:
    """`t = t / n`: an assignment of `target` that reads it: a step of its making, not a making anew."""
    return isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == target for t in node.targets) and any(
        isinstance(n, ast.Name) and n.id == target for n in ast.walk(node.value))


@dataclass
class Code:
    """The statements of the caller's files: what assigns each name (latest last), and which names
    have `.backward()` called on them."""

    defining: dict[str, list[Statement]] = field(default_factory=dict)
    backwarded: set[str] = field(default_factory=set)

    def assigned_from(self, name: str) -> set[str]:
        """The names a statement `name = other` binds `name` to (the very same tensor)."""
        return {s.value.id for s in self.defining.get(name, []) if isinstance(s.value, ast.Name)}

    @classmethod
    def read(cls, files: list[str]) -> Code:
        found = cls()
        for file in files:
            for statement in sorted(_statements(file)[1], key=lambda s: (s.lineno, s.col_offset)):
                for target, value in _assignments(statement):
                    if isinstance(target, ast.Name):
                        found.defining.setdefault(target.id, []).append(Statement(target.id, file, statement.lineno, value))
                call = statement.value if isinstance(statement, ast.Expr) else None
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "backward"
                        and isinstance(call.func.value, ast.Name)):
                    found.backwarded.add(call.func.value.id)
        return found


@dataclass
class Forward:
    """One forward pass, recorded again in float64: its graph, and where each of the user's tensors is in it."""

    graph: Graph
    root_name: str
    root: torch.Tensor  # the user's loss: the pass is this object
    where: dict[int, Leaf | Ref]  # id(the user's tensor) -> its value in the graph
    names: dict[Leaf | Ref, str]  # the user's name for each value the statements name
    keep: list[torch.Tensor]  # the user's tensors, held so that their ids stay theirs
    batch: int
    _states: dict = field(default_factory=dict)

    def ref(self, t: torch.Tensor) -> Leaf | Ref | None:
        return self.where.get(id(t))

    def gradient(self, given: dict | None = None) -> dict:
        return gradients(self.graph, None, given=given)

    def states(self, given: dict, cut: frozenset = frozenset()) -> dict:
        """The chain rule's gradients before each node is visited, from the loss and `given` (a search
        of one edit at node k resumes from them); under "right", the gradients once all are visited."""
        key = (tuple(sorted((repr(ref), id(value)) for ref, value in given.items())), cut)
        if key not in self._states:
            found = states(self.graph, None, cut, given)
            self._states = {key: found, **{k: v for k, v in self._states.items() if not k[0]}}  # keep the givenless
        return self._states[key]


@contextlib.contextmanager
def _untouched(namespace: dict):
    """The user's statements run again without a trace: their prints swallowed, every random
    generator (torch's own and the namespace's `torch.Generator`s) left where it was."""
    generators = [g for g in namespace.values() if isinstance(g, torch.Generator)]
    states = [g.get_state() for g in generators]
    with torch.random.fork_rng(devices=[]), contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
        try:
            yield
        finally:
            for generator, state in zip(generators, states):
                generator.set_state(state)


def _same(a, b: torch.Tensor) -> bool:
    if not isinstance(a, torch.Tensor) or a.shape != b.shape or a.dtype != b.dtype:
        return False
    if not a.is_floating_point():
        return bool(torch.equal(a, b))
    return close(a, b, SAME_VALUE.get(str(b.dtype).removeprefix("torch."), SAME_VALUE["float32"]))


def _maker(name: str, value: torch.Tensor, namespace: dict, source: Code) -> Statement | None:
    """The statement that made `value`: one that assigns `name`, reads only tensors autograd's graph
    has `value` made from directly (no other named tensor between them: the notebook's chunked
    `bnvar = bndiff2.sum(0) / (n - 1)`, not a later cell's `bnvar = hprebn.var(0)` of the same
    value), and, run again on what it reads now, gives the same value. The latest such."""
    direct = _made_from(value, namespace)
    for statement in reversed(source.defining.get(name, [])):
        reads = statement.reads()
        if name in reads:  # `x = x * 2`: what it read is gone
            continue
        tensors = {read: namespace[read] for read in reads if isinstance(namespace.get(read), torch.Tensor)}
        if any(t.requires_grad and id(t) not in direct for t in tensors.values()):
            continue
        scope = dict(namespace)
        scope.update({read: t.detach().clone() for read, t in tensors.items()})
        try:
            with _untouched(namespace):
                again = eval(statement.compiled(), scope)
        except Exception:  # the user's code, in another scope than it was written for: not this one
            continue
        if _same(again, value):
            return statement
    return None


def _made_from(value: torch.Tensor, namespace: dict) -> set[int]:
    """The ids of the namespace's tensors that autograd's graph makes `value` from directly: the
    nearest named one on each path back, and the parameters reached before any named one."""
    named = {}
    for t in namespace.values():
        if isinstance(t, torch.Tensor) and t is not value and t.grad_fn is not None:
            named.setdefault(t.grad_fn, []).append(id(t))
    found, seen, stack = set(), set(), [value.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if node is not value.grad_fn and node in named:
            found.update(named[node])
            continue
        variable = getattr(node, "variable", None)  # AccumulateGrad: a parameter
        if isinstance(variable, torch.Tensor):
            found.add(id(variable))
        stack.extend(next_node for next_node, _ in node.next_functions)
    return found


def record_forward(root_name: str, namespace: dict, source: Code) -> Forward:
    """The forward that made `namespace[root_name]`, recorded again; NotFollowed when it cannot be."""
    order: list[Statement] = []
    leaves: dict[str, torch.Tensor] = {}
    made: dict[str, Statement] = {}

    def visit(name: str) -> None:
        value = namespace.get(name)
        if name in made or name in leaves or not isinstance(value, torch.Tensor):
            return
        statement = _maker(name, value, namespace, source) if value.grad_fn is not None else None
        if statement is None:
            leaves[name] = value
            return
        made[name] = statement
        for read in statement.reads():
            visit(read)
        order.append(statement)

    visit(root_name)
    if root_name not in made:
        raise NotFollowed(f"no statement that makes `{root_name}` was found in the code run so far")
    copies = {name: (t.detach().to(torch.float64) if t.is_floating_point() else t.detach()).clone()
              for name, t in leaves.items()}
    recorder = Recorder(copies)
    scope = dict(namespace)
    scope.update(copies)
    results: dict[str, torch.Tensor] = {}
    try:
        with _untouched(namespace), recorder, numbers_made_in(torch.float64):  # (`torch.tensor(1e-5)` as float64 too)
            for statement in order:
                results[statement.name] = scope[statement.name] = eval(statement.compiled(), scope)
    except Exception as error:
        raise NotFollowed(f"running `{root_name}`'s statements again failed: {error}") from error
    graph = recorder.graph
    graph.output = recorder.ref(results[root_name])
    if graph.unsupported or graph.output is None:
        raise NotFollowed(graph.unsupported or f"`{root_name}` is not made by torch from the tensors it reads")
    where, names = {}, {}
    for name, value in [*leaves.items(), *((s.name, namespace[s.name]) for s in order)]:
        ref = Leaf(name) if name in leaves else recorder.ref(results[name])
        if ref is not None:
            where[id(value)] = ref
            names.setdefault(ref, name)
    batches = [t.shape[0] for t in leaves.values() if t.dim() and not t.is_floating_point()]
    batch = batches[0] if batches else max((t.shape[0] for t in leaves.values() if t.dim()), default=1)
    return Forward(graph, root_name, namespace[root_name], where, names,
                   [*leaves.values(), *(namespace[s.name] for s in order)], batch)


# -- one comparison --------------------------------------------------------------------------------

@dataclass
class Judgement:
    """What one `cmp(s, dt, t)` found."""

    label: str  # s
    target: str  # the user's name for dt (dprobs)
    exact: bool  # the notebook's own columns, against t.grad
    approximate: bool
    maxdiff: float | None  # None: the shapes do not broadcast
    ok: bool  # dt is autograd's gradient within gradtui's tolerance for its dtype
    here: bool  # the slip is in dt's own line (judged given the gradients compared before)
    hint: str | None  # why, when not ok; None when ok
    at: Source | None = None  # the forward statement whose derivative the hint names
    upstream: tuple[str, ...] = ()  # not here, but wrong: the labels of the tensors where the slip is
    note: str | None = None  # said beside an ok: a shape judged by value, a reference that is not t.grad
    written_at: tuple[str, int] | None = None  # the user's statement that made dt (its name's latest assignment)
    fix: str | None = None  # that statement corrected by one edit, run, and giving what it must


@dataclass(eq=False)
class Entry:
    label: str
    target: str
    ref: Leaf | Ref
    given: torch.Tensor  # dt in float64, in t's shape (the gradient the lines below it are judged from)
    site: tuple[str, int]  # where the cmp was called
    again: bool  # compared before, nothing above it since: a gradient written again in one go
    written: tuple[int, ...]  # dt's shape as the user's code made it
    shape: tuple[int, ...]  # the tensor's
    mine: torch.Tensor  # dt as the user's code made it
    reference: torch.Tensor  # t.grad (or the derived gradient, where t.grad is None)
    note: str | None
    aliases: tuple[str, ...]  # other names of the user's that hold the very tensor dt is
    made_at: tuple[str, int]  # the statement that assigned dt's name last (else the cmp)
    expected: torch.Tensor | None = None  # what dt must be given the gradients compared before it
    judgement: Judgement | None = None
    corrected: tuple[str, str, torch.Tensor] | None = None  # its line as written, one edit from it that gives
    # `expected` (run), and that expected

    @property
    def fits(self) -> bool:
        """dt is of t's shape, or differs from it only by dimensions of size 1."""
        return tuple(self.given.shape) == self.shape

    @property
    def fitted(self) -> bool:
        """dt was taken by value: its shape differs from t's by dimensions of size 1 (keepdim left out)."""
        return self.fits and self.written != self.shape


def _grad(t: torch.Tensor) -> torch.Tensor | None:
    """t.grad, without torch's warning that a non-leaf's is not kept (None then says so)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return t.grad


def _tolerance(t: torch.Tensor) -> tuple[float, float]:
    return DEFAULT_TOLERANCES.get(str(t.dtype).removeprefix("torch."), DEFAULT_TOLERANCES["float32"])


def _columns(dt: torch.Tensor, reference: torch.Tensor) -> tuple[bool, bool, float | None]:
    """The notebook's own cmp: exact, approximate (allclose), maxdiff, on the shapes as given."""
    try:
        with torch.no_grad():
            exact = bool(torch.all(dt == reference))
            approximate = bool(torch.allclose(dt, reference.to(dt.dtype)))
            maxdiff = float((dt - reference).abs().max()) if (dt - reference).numel() else 0.0
    except RuntimeError:
        return False, False, None
    return exact, approximate, maxdiff


def _fitted(dt: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, str | None]:
    """dt in t's shape when the two differ only by dimensions of size 1 (a (64,) gradient of a (1, 64)
    tensor): the notebook's cmp judges such a one by value."""
    if dt.shape == t.shape or dt.numel() != t.numel() or [d for d in dt.shape if d != 1] != [d for d in t.shape if d != 1]:
        return dt, None
    said = f"{shape_in_words(tuple(dt.shape))} where the tensor is {shape_in_words(tuple(t.shape))}: judged by value"
    return dt.reshape(t.shape), said


class Notebook:
    """The comparisons of one forward pass, in the order they were made; a new loss starts a new pass."""

    def __init__(self):
        self.forward: Forward | None = None
        self.calls: list[Entry | Judgement] = []  # every comparison of this pass (a Judgement: one not followed)
        self._failed: dict[int, tuple[weakref.ref, str]] = {}

    @property
    def judgements(self) -> list[Judgement]:
        return [call.judgement if isinstance(call, Entry) else call for call in self.calls]

    @property
    def entries(self) -> list[Entry]:
        return [call for call in self.calls if isinstance(call, Entry)]

    # -- finding the pass --

    def _forward_for(self, t: torch.Tensor, namespace: dict, files: list[str]) -> Forward | str:
        """The recorded forward that `t` is part of (autograd's own gradient of it kept), or why none is."""
        if self.forward is not None and self.forward.ref(t) is not None and namespace.get(
                self.forward.root_name) is self.forward.root:
            return self.forward
        source = Code.read(files)
        roots = [name for name, value in namespace.items() if isinstance(value, torch.Tensor)
                 and value.grad_fn is not None and value.numel() == 1 and not name.startswith("_")]
        roots.sort(key=lambda name: name not in source.backwarded)
        why = "no loss (a one-element tensor with a grad_fn) in the caller's namespace reaches it"
        for name in roots:
            root = namespace[name]
            failed = self._failed.get(id(root))
            if failed is not None and failed[0]() is root:
                why = failed[1]
                continue
            try:
                forward = record_forward(name, namespace, source)
            except NotFollowed as error:
                self._failed[id(root)] = (weakref.ref(root), str(error))
                why = str(error)
                continue
            if forward.ref(t) is None:
                continue
            if self.forward is None or self.forward.root is not forward.root:
                self.calls = []  # a new forward pass: what was compared before is of another
            self.forward = forward
            return forward
        return why

    # -- judging --

    def judge(self, label: str, dt: torch.Tensor, t: torch.Tensor, namespace: dict, files: list[str],
              site: tuple[str, int]) -> Judgement:
        target = _name_of(dt, label, namespace)
        aliases = tuple(name for name, value in namespace.items()
                        if value is dt and name != target and not name.startswith("_"))
        code = Code.read(files)
        if aliases:  # the line that wrote `target = alias` made the alias: the slip is its own, not the alias's
            aliases = () if code.assigned_from(target) & set(aliases) else aliases
        written = code.defining.get(target, [])
        here = [s for s in written if s.file == site[0] and s.line < site[1]]  # the cmp's own cell first
        made = (here or written)[-1] if written else None
        site_of_dt = (made.file, made.line) if made is not None else site
        try:
            judgement = self._judge(label, target, aliases, dt, t, namespace, files, site, site_of_dt)
        except Exception as error:  # gradtui's own failure: the notebook's columns still, and why no more
            return self._unfollowed(label, target, dt, t, f"gradtui failed on it ({type(error).__name__}: {error})")
        if judgement.here and self.entries and self.entries[-1].judgement is judgement:
            entry = self.entries[-1]
            corrected = self._corrected(entry, namespace)
            if corrected is not None:
                entry.corrected = (*corrected, entry.expected)
                judgement.fix = corrected[1]
                self._named_by_fix(judgement, entry)
        return judgement

    def _named_by_fix(self, judgement: Judgement, entry: Entry) -> None:
        """A slip no one derivative's edit gives, in a line one edit mends (a closed form's factor
        dropped, `n - dhpreact.sum(0)` for `n * dhpreact - dhpreact.sum(0)`): said by that edit, which
        was run, where the search said it could not name it."""
        if entry.corrected is None or entry.expected is None or not (judgement.hint or "").endswith(NOT_NAMED) \
                or not torch.equal(entry.corrected[2], entry.expected):
            return  # (judged again given other gradients, the line's one edit was not run for these)
        written, corrected, _ = entry.corrected
        wrong, right = _assigned_value(written), _assigned_value(corrected)
        wrong, right = apart(wrong, right) or next(iter(differing(wrong, right)), (wrong, right))
        judgement.hint = (f"{entry.target} has `{wrong}` where `{right}` belongs: so edited, its line gives the "
                          f"gradient that {self._source_words(entry, self.seen_by(entry))} (run)")
        judgement.fix = corrected

    def _corrected(self, entry: Entry, namespace: dict) -> tuple[str, str] | None:
        """The line that wrote dt, as written and with the one edit that gives what it must be given the
        gradients compared before it, run on copies of what it reads. The statements after it, before the cmp,
        that write dt in place (`dlogprobs[range(n), Yb] = -1.0`, a loop of `dC[ix] += …`) run after
        it, and each of them may be the line edited."""
        from gradtui.fixing import statement_edits

        file, line = entry.made_at
        text = "".join(linecache.getlines(file))
        defining, statements = Code.read([file]).defining.get(entry.target, []), _statements_by_line(text)
        made = [s for s in defining if s.file == file and s.line <= line]
        while len(made) > 1 and _remade(statements.get(made[-1].line), entry.target):
            made.pop()  # `dlogits = dlogits / n`: made from the line that made it before
        line = made[-1].line if made else line
        code = [s for s in defining if s.line >= line and not (s.file == file and _remade(statements.get(s.line),
                                                                                           entry.target))]
        if entry.expected is None or [(s.file, s.line) for s in code] != [(file, line)]:
            return None  # (assigned again after that line: that line alone does not make dt)
        program = _writing(text, entry.target, line, entry.site[1] if entry.site[0] == file else None)
        if program is None:
            return None
        names = tuple(name for name in dict.fromkeys(self.forward.names.values()) if name in namespace)
        batch = min((name for name, value in namespace.items() if type(value) is int and value == self.forward.batch
                     and not name.startswith("_")), key=len, default=None)  # `n`, as the notebook names it
        gradients = tuple(other.target for other in self.entries if other is not entry and other.target in namespace)
        edits = statement_edits(text, program.writers, entry.judgement.hint, names, batch, gradients)
        for start, end, statement in itertools.islice(edits, MOST_EDITS_TRIED):
            if self._gives(program.edited(text, start, end, statement), entry, namespace):
                return text[start:end], statement
        return None

    def _gives(self, program: str, entry: Entry, namespace: dict) -> bool:
        """Does `program` (the line that makes dt, edited, and those that write it in place after it)
        make what dt must be, run on copies of the tensors it reads?"""
        try:
            tree = ast.parse(program)
            reads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
            scope = dict(namespace)
            scope.update({name: namespace[name].detach().clone() for name in reads
                          if isinstance(namespace.get(name), torch.Tensor)})
            with _untouched(namespace), warnings.catch_warnings():  # torch's word on an edit tried is not the user's
                warnings.simplefilter("ignore")
                exec(compile(tree, "<fix>", "exec"), scope)
            value = scope[entry.target]
        except Exception:  # an edit that does not run is no fix
            return False
        if not isinstance(value, torch.Tensor) or tuple(value.shape) not in (entry.shape, entry.written):
            return False  # (a fix's shape is the tensor's, or the user's own when that was judged by value)
        fitted, _ = _fitted(value.detach(), entry.expected)
        return fitted.shape == entry.expected.shape and close(fitted.double(), entry.expected, _tolerance(entry.mine))

    def _judge(self, label: str, target: str, aliases: tuple[str, ...], dt: torch.Tensor, t: torch.Tensor,
               namespace: dict, files: list[str], site: tuple[str, int], site_of_dt: tuple[str, int]) -> Judgement:
        forward = self._forward_for(t, namespace, files) if t.requires_grad else "it does not require grad"
        if isinstance(forward, str):
            return self._unfollowed(label, target, dt, t, forward)
        ref = forward.ref(t)
        right = forward.gradient().get(ref)
        reference, note = _grad(t), None
        if reference is None:
            reference, note = right, f"`{label}.grad` is None: judged against the derivative of the forward"
        if right is None or reference is None or not close(right, reference, _tolerance(t)):
            why = "the forward recorded again does not give autograd's gradient of it"
            return self._unfollowed(label, target, dt, t, why)
        mine, shape_note = _fitted(dt.detach(), t)
        entry = Entry(label, target, ref, mine.to(torch.float64) if mine.is_floating_point() else mine.double(),
                      site, False, tuple(dt.shape), tuple(t.shape), dt.detach().clone(), reference.detach().clone(),
                      note or shape_note, aliases, site_of_dt)
        self.calls.append(entry)
        entry.again = self._in_one_go(entry)
        try:
            entry.judgement = self._judged(entry)
        except Exception:
            self.calls.remove(entry)
            raise
        return entry.judgement

    def _unfollowed(self, label: str, target: str, dt: torch.Tensor, t: torch.Tensor, why: str) -> Judgement:
        reference = _grad(t)
        if reference is None:
            judgement = Judgement(label, target, False, False, None, False, True,
                                  f"`{label}.grad` is None, and gradtui cannot derive it: {why}")
        else:
            exact, approximate, maxdiff = _columns(dt.detach(), reference)
            mine, _ = _fitted(dt.detach(), t)
            ok = close(mine, reference, _tolerance(t))
            judgement = Judgement(label, target, exact, approximate, maxdiff, ok, not ok,
                                  None if ok else f"{target} is not autograd's gradient; gradtui cannot place the slip: "
                                                  f"{why}")
        self.calls.append(judgement)
        return judgement

    def _in_one_go(self, entry: Entry) -> bool:
        """Compared before, and nothing above it compared since: written again in one go from far
        above (exercise 2's `dlogits`), not a cell of line-by-line gradients run again."""
        entries = self.entries
        earlier = [position for position, other in enumerate(entries[:-1]) if other.ref == entry.ref]
        if not earlier:
            return False
        seen = self.seen_by(entry)
        return all(entries.index(seen[ref]) < earlier[-1] for ref in self._frontier(entry.ref, seen))

    def seen_by(self, entry: Entry) -> dict[Leaf | Ref, Entry]:
        """The comparisons a line is judged given: of each other tensor, the latest compared before it
        (the gradient it was computed from), else the first compared after it."""
        entries = self.entries
        position = entries.index(entry)
        seen: dict = {}
        for other in [*entries[position::-1], *entries[position + 1:]]:
            if other.ref != entry.ref:
                seen.setdefault(other.ref, other)
        return seen

    def _judged(self, entry: Entry) -> Judgement:
        forward, reference, note = self.forward, entry.reference, entry.note
        exact, approximate, maxdiff = _columns(entry.mine, reference)
        tolerance = _tolerance(entry.mine)
        seen = self.seen_by(entry)
        frontier = [seen[ref] for ref in self._frontier(entry.ref, seen)]
        # A gradient that sums terms to nearly 0 (a bias before a batch norm) keeps the rounding of its terms.
        ok = close(entry.given, reference, tolerance, _largest(other.reference for other in frontier))
        given = {ref: other.given for ref, other in seen.items() if other.fits}
        expected = entry.expected = forward.gradient(given).get(entry.ref)
        here = expected is None or not close(entry.given, expected, tolerance, _largest(other.given for other in frontier))
        judgement = Judgement(entry.label, entry.target, exact, approximate, maxdiff, ok, here and not ok, None,
                              note=note if ok else None, written_at=entry.made_at)
        if ok:
            return judgement
        misshapen = [other for other in frontier if not other.fits]
        if misshapen and here:  # computed from a gradient of another shape: not judged given it
            judgement.here, judgement.upstream = False, tuple(other.label for other in misshapen)
            judgement.hint = "; ".join(f"computed from your {e.target}, {shape_in_words(e.written)} where {e.label} is "
                                       f"{shape_in_words(e.shape)}: the slip is upstream, at {e.label}" for e in misshapen)
            return judgement
        if not here:
            above = self._above(entry.ref)
            judgement.upstream = tuple(other.label for ref, other in seen.items() if ref in above
                                       and other.judgement is not None and other.judgement.here)
            wrong = [other.target for other in frontier if other.judgement is not None and not other.judgement.ok]
            judgement.hint = (f"right given your {' and '.join(wrong) or 'gradients above it'}; the slip is upstream, "
                              f"at {', '.join(judgement.upstream) or 'a tensor compared before'}")
            return judgement
        if entry.aliases:  # wrong, and a name made from it holds the very same tensor: changed in place through it
            other = entry.aliases[0]
            judgement.here, judgement.upstream = False, ()
            judgement.hint = (f"{entry.target} is the very tensor {other} is (`{other} = {entry.target}` copies "
                              f"nothing): what changes {other} in place (`{other} += …`) changes {entry.target} too; "
                              f"write `{other} = {entry.target}.clone()`")
            return judgement
        broadcast = _broadcast(entry, frontier)
        if broadcast is not None:
            judgement.hint = broadcast
            return judgement
        judgement.hint, judgement.at = self._named(entry, seen, given, tolerance)
        self._named_by_fix(judgement, entry)
        return judgement

    def _frontier(self, ref: Leaf | Ref, seen: dict) -> list[Leaf | Ref]:
        """The compared tensors nearest to `ref` on each of its paths to the loss."""
        readers = self.forward.graph.users()
        found, visited, stack = [], set(), [ref]
        while stack:
            value = stack.pop()
            for index in readers.get(value, []):
                for k in range(len(self.forward.graph.nodes[index].outputs)):
                    out = Ref(index, k)
                    if out in visited:
                        continue
                    visited.add(out)
                    if out in seen:
                        found.append(out)
                    else:
                        stack.append(out)
        return found

    def _above(self, ref: Leaf | Ref) -> set:
        """Every value computed from `ref`."""
        readers = self.forward.graph.users()
        visited, stack = set(), [ref]
        while stack:
            for index in readers.get(stack.pop(), []):
                out = Ref(index)
                if out not in visited:
                    visited.add(out)
                    stack.append(out)
        return visited

    # -- naming the slip --

    def _named(self, entry: Entry, seen: dict, given: dict, tolerance) -> tuple[str, Source | None]:
        """The one slip that gives the user's numbers: searched between the tensor and those compared
        before it, given the user's gradients of them; then over every derivative from the loss down
        (a gradient written in one go, as `dlogits` of cross-entropy), with and without the paths whose
        right gradient is zero (a softmax's max, which such a formula rightly leaves out)."""
        local = (self._span(entry.ref, seen), given, frozenset())
        whole = self._span(entry.ref, {})
        wide = [(whole, {}, cut) for cut in dict.fromkeys((frozenset(), zero_paths(self.forward.graph, None)))]
        searches = [*wide, local] if entry.again else [local, *wide]
        # a sum whose terms cancel to nearly 0 (a normalised tensor's) keeps their rounding, as the verdict does
        scale = _largest(seen[ref].given for ref in self._frontier(entry.ref, seen))
        gradient_names = {ref: other.target for ref, other in seen.items()}  # `dprobs` of `probs`
        for nodes, start, cut in searches:
            found = self._search(entry, nodes, start, cut, tolerance, scale, gradient_names)
            if found is not None:
                return found
        right = self.forward.states(given, frozenset())["right"].get(entry.ref)
        if right is not None and not entry.again:  # a factor of the forward's too many (`dcounts * counts * counts`)
            found = tensor_factor(self.forward.graph, entry.given, right, tolerance,
                                  f"{entry.target} is {self._given_words(entry, seen)}", {}, skip={entry.ref},
                                  rows=(self.forward.batch, self.forward.batch))
            if found is not None:
                return found
        return self._fallback(entry, seen), None

    def _span(self, ref: Leaf | Ref, seen: dict) -> set[int]:
        """The nodes between `ref` and the tensors compared (every node above it, when none are)."""
        graph = self.forward.graph
        reached, span = {ref}, set()
        for node in graph.nodes:
            if any(a in reached and (a == ref or a not in seen) for _, a in graph.tensor_args(node)):
                span.add(node.index)
                reached.update(Ref(node.index, k) for k in range(len(node.outputs)))
        return span

    def _search(self, entry: Entry, nodes: set[int], given: dict, cut: frozenset, tolerance, scale: float,
                gradient_names: dict) -> tuple[str, Source | None] | None:
        forward, graph = self.forward, self.forward.graph
        if not nodes:
            return None
        states = forward.states(given, cut)
        right = states["right"].get(entry.ref)
        mine = entry.given
        down_to = entry.ref.node + 1 if isinstance(entry.ref, Ref) else 0
        found: list[tuple[tuple, str, Source | None]] = []
        for edit in edits(graph, forward.batch, own_gradients=True):
            if (edit.node is not None and edit.node not in nodes) or edit.value in cut:
                continue
            if edit.node is None and graph.output not in {Ref(i) for i in nodes} | {entry.ref}:
                continue
            try:
                if edit.node is None:
                    value = gradients(graph, None, edit, cut, given=given).get(entry.ref)
                else:
                    value = gradients(graph, None, edit, cut, given=given, resume=(edit.node, states[edit.node]),
                                      down_to=down_to, loose=frozenset({entry.ref})).get(entry.ref)
            except SEARCH_FAILS:
                continue
            if value is None or value.shape != mine.shape or (right is not None and value.shape == right.shape
                                                                and close(value, right, tolerance, scale)):
                if not self._fits(edit, entry, states, tolerance):
                    continue
            elif not close(mine, value, tolerance, scale) and not self._cancelled(edit, states, value, entry):
                continue
            rank = (KIND_ORDER.get(edit.kind, RANK[edit.kind]), _story(graph, edit), _distance(graph, edit, entry.ref),
                    edit.node if edit.node is not None else -1)
            said = words(graph, edit, entry.target, {}, gradient_names=gradient_names)
            if all(said != other for _, other, _ in found):
                found.append((rank, said, graph.nodes[edit.node].source if edit.node is not None else None))
        if not found:
            return None
        found.sort(key=lambda item: item[0])
        return found[0][1], found[0][2]

    def _cancelled(self, edit: Edit, states: dict, value: torch.Tensor, entry: Entry) -> bool:
        """The slip's gradient a sum whose terms cancel (`bnraw.sum(0)` of a normalised `bnraw`), and the
        user's numbers that sum in their dtype: both 0 but for its rounding, which no tolerance relative to
        the numbers themselves allows for. The rounding: the count of terms, times the dtype's epsilon,
        times the largest term (the gradient arriving at the operation, times its largest operand)."""
        if edit.node is None or not entry.mine.is_floating_point():
            return False
        node = self.forward.graph.nodes[edit.node]
        above = states[edit.node].get(Ref(edit.node))
        arriving = {"ones": 1.0, "g-own": _largest(node.outputs[:1])}.get(edit.kind) or _largest(
            [] if above is None else [above])
        operands = _largest(self.forward.graph.value(a) for _, a in self.forward.graph.tensor_args(node))
        terms = max(1, node.outputs[0].numel() // max(1, value.numel()))
        rounding = terms * torch.finfo(entry.mine.dtype).eps * arriving * max(1.0, operands)
        return float(value.abs().max()) <= rounding and float(entry.given.abs().max()) <= rounding

    def _fits(self, edit: Edit, entry: Entry, states: dict, tolerance) -> bool:
        """A slip of the table whose numbers are not one value (which write to a row is kept)."""
        if edit.kind != "rule" or edit.slip.fits is None:
            return False
        graph = self.forward.graph
        node = graph.nodes[edit.node]
        if not same_operand(node.args[0], entry.ref):
            return False
        gradient = states["right"].get(Ref(edit.node))
        return gradient is not None and edit.slip.fits(_context(graph, node, gradient), entry.given, tolerance)

    def _given_words(self, entry: Entry, seen: dict) -> str:
        """The gradient a line is judged against, in words: "what your dcounts give"."""
        frontier = self._frontier_names(entry, seen)
        return f"what your {' and '.join(frontier)} give" if frontier else "autograd's"

    def _source_words(self, entry: Entry, seen: dict) -> str:
        """What a line is judged given, in words: "your dcounts give", "the loss gives"."""
        frontier = self._frontier_names(entry, seen)
        return f"your {' and '.join(frontier)} give" if frontier and not entry.again else "the loss gives"

    def _frontier_names(self, entry: Entry, seen: dict) -> list[str]:
        """The user's names of the gradients a line was computed from (`dcounts`)."""
        return [seen[ref].target for ref in self._frontier(entry.ref, seen)]

    def _fallback(self, entry: Entry, seen: dict) -> str:
        statements = [self.forward.graph.nodes[i].source for i in sorted(self._span(entry.ref, seen))]
        code = list(dict.fromkeys(f"`{s.code}`" for s in statements if s is not None))
        through = f" through {code[0]}" if len(code) == 1 else ""
        shape = "" if entry.fits else f" ({shape_in_words(entry.written)} where {entry.label} is " \
                                      f"{shape_in_words(entry.shape)})"
        return f"{entry.target}{shape} is not the gradient that {self._source_words(entry, seen)}{through}, and " \
               f"{NOT_NAMED}"

    def summary(self) -> list[Judgement]:
        """The latest comparison of each tensor of this pass, in the order made, each judged again
        given all the others (calls may come in any order): those nearest the loss first, so that a
        line's verdict can name the slip above it."""
        for entry in sorted(self.entries, key=lambda e: (isinstance(e.ref, Leaf), -getattr(e.ref, "node", 0))):
            entry.judgement = self._judged(entry)
        latest = {}
        for call in self.calls:  # of a tensor compared more than once, its latest comparison stands
            latest.pop(call.ref if isinstance(call, Entry) else id(call), None)
            latest[call.ref if isinstance(call, Entry) else id(call)] = call
        return [call.judgement if isinstance(call, Entry) else call for call in latest.values()]


def _assigned_value(statement: str) -> str:
    """What a statement assigns (`dh @ W1.T` of `dembcat = dh @ W1.T`), as written; the whole, where
    it assigns nothing (`dC.index_add_(…)`)."""
    try:
        node = ast.parse(statement.strip()).body[0]
    except (SyntaxError, IndexError):
        return statement
    value = node.value if isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr)) else None
    return statement.strip() if value is None else ast.get_source_segment(statement.strip(), value)


def _largest(tensors) -> float:
    return max((float(t.detach().abs().max()) for t in tensors if t.numel() and t.is_floating_point()), default=0.0)


def _broadcast(entry: Entry, frontier: list[Entry]) -> str | None:
    """A gradient blown up by broadcasting one compared with keepdim left out ((32,) against a
    (32, 1) makes a (32, 32)): said, with the line that left it out."""
    if entry.fits:
        return None
    for other in frontier:
        try:
            blown = other.fitted and torch.broadcast_shapes(entry.shape, other.written) == entry.written
        except RuntimeError:
            blown = False
        if blown:
            return (f"{entry.target} is {shape_in_words(entry.written)} where {entry.label} is "
                    f"{shape_in_words(entry.shape)}: your {other.target} is {shape_in_words(other.written)} where "
                    f"{other.label} is {shape_in_words(other.shape)} (keepdim=True left out, {place(*other.made_at)}), "
                    f"and against a {shape_in_words(entry.shape)} it broadcasts to {shape_in_words(entry.written)}")
    return None


def _name_of(dt: torch.Tensor, label: str, namespace: dict) -> str:
    """The user's name for their gradient: d<label> when that is it, else any name it has."""
    if namespace.get(f"d{label}") is dt:
        return f"d{label}"
    return next((name for name, value in namespace.items() if value is dt and not name.startswith("_")), f"d{label}")


def _story(graph: Graph, edit: Edit) -> int:
    """0 where a wrong factor has a place to come from (a constant the code writes, a reduction over
    that many values), 1 elsewhere: of the nodes a scale slip fits, the likelier."""
    if edit.kind != "scale":
        return 0
    node = graph.nodes[edit.node]
    numbers = [a for a in node.args if isinstance(a, (int, float)) and not isinstance(a, bool)]
    size = _reduced_size(graph, node)
    return 0 if (node.name in ("mul", "div") and numbers) or size in (round(abs(edit.factor)), round(1 / abs(
        edit.factor))) else 1


def _distance(graph: Graph, edit: Edit, ref: Leaf | Ref) -> int:
    """How far (in nodes) the edit is from the compared tensor: the nearer, the likelier."""
    if edit.node is None:
        return len(graph.nodes)
    return abs(edit.node - (ref.node if isinstance(ref, Ref) else 0))
