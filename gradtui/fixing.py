"""A slip's fix as an edit of the user's own file, run before it is shown.

For the first mismatch of a check, `find_fix` looks at the method that computed the gradient (the
step's backward, in the user's layer file or notebook cell) and proposes small edits of its
statements, as the user wrote them: a transpose added or taken away, a sum added, removed, or over
another axis, `keepdim` toggled, a sign, a factor (2, N, n/(n−1)) put in or taken out, an operator
for another, an operand dropped, a matrix product's operands swapped, a cast removed, a power, one
of the method's tensors for another, `out` for `out.g`, a term the hint says is missing (a closed
form's, or a path's: a gradient the method has, times a weight the forward multiplies by). The
hint says which kind of edit first. Each edit is screened by the check of a
copy of the file on the first rows in float64, up to the step at fault; one that makes that
gradient match is run through the whole check again on the same data and seed, and only then kept.
When the check then stops at another slip, the search goes on from there: the fix is the series of
edits, and the verdict after the last one. An edit that was not run is never shown.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import inspect
import itertools
import json
import keyword
import math
import re
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from unittest import mock

from gradtui.config import RunConfig
from gradtui.findings import NO_KNOWN_SLIP, Location
from gradtui.formatting import ALSO, NOTEBOOK_CELL, binding, short_path, wrapped
from gradtui.memory import bounded_memory
from gradtui.notebook import as_python
from gradtui.written_slips import differing, same_but_children

SCREEN_ROWS = 128  # the screen's batch: the first rows of the same data (the seed keeps them)
MOST_CANDIDATES = 400  # per slip: the hint's kind of edit comes first, and most slips fall in the first tens
MOST_EDITS = 4  # a series longer than this is more than slips
MORE_AFTER_PARTIAL = 40  # candidates tried after one that mends the gradient at fault but leaves a later one wrong
UNNAMED_CANDIDATES = 150  # a slip no search names, looked for by the check itself as one edit of the user's line


STATEMENT_SLIPS = (  # hints whose slip is a statement, not an expression: only these edits mend them
    ("was not set", ("formula",)),  # a line to add: the kind's own, where the hint gives it
    ("changed in place during this backward", ("move",)),  # an update inside backward: moved after, or dropped
    ("the forward never uses", ("unused",)),  # the forward to mend: the parameter it leaves out put back
)


class FixError(Exception):
    """A fix that cannot be written: the file changed since the check, or it is not the user's."""


@dataclass(frozen=True)
class Source:
    """The user's code a fix edits: a file, or one cell of a notebook."""

    path: Path
    cell: int | None  # 1-based among the notebook's cells (as gradtui.notebook counts them); None: a .py file
    text: str

    @property
    def name(self) -> str:
        path = short_path(str(self.path))
        return path if self.cell is None else f"{path} (cell {self.cell})"

    def python(self) -> str:
        """The text as Python sees it (a cell's magics blank, line for line: the edits' offsets hold)."""
        return self.text if self.cell is None else as_python(self.text)

    def with_text(self, text: str) -> Source:
        return replace(self, text=text)

    def file_text(self, text: str | None = None) -> str:
        """The whole file with this source's text (the cell's, in its notebook) as `text`."""
        text = self.text if text is None else text
        if self.cell is None:
            return text
        notebook = json.loads(self.path.read_text())
        notebook["cells"][self.cell - 1]["source"] = text.splitlines(keepends=True)
        return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Fix:
    """The verified edits: `diff` (unified, of the file or the cell), `edits` (how many), `fixed`
    (the gradients each edit made match, in order), `passes` (the check passes with all of them),
    `verdict` (what the check says after the last)."""

    source: Source
    fixed_text: str
    fixed: tuple[str, ...]
    passes: bool
    verdict: str
    digest: str  # of the file when the check ran: writing refuses if it changed since
    tried: int = 0  # the edits screened to find these

    @property
    def edits(self) -> int:
        return len(self.fixed)

    @property
    def verified(self) -> bool:
        return bool(self.fixed)

    @property
    def diff(self) -> str:
        name = self.source.name
        lines = difflib.unified_diff(self.source.text.splitlines(keepends=True), self.fixed_text.splitlines(keepends=True),
                                     name, name, n=1)
        # a file whose last line has no newline: said as diff says it, or `patch` cannot apply it
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)

    def __str__(self) -> str:
        return self.diff

    def write(self, layer_file: Path | None = None) -> Path:
        """Write the edits into the user's file (a notebook keeps its outputs and metadata); FixError
        when the file changed since the check, or is not `layer_file` (the run's own, when given)."""
        path = self.source.path
        if layer_file is not None and Path(layer_file).resolve() != path.resolve():
            raise FixError(f"the fix is of {path}, not of the layer file {layer_file}: nothing written")
        if file_digest(path) != self.digest:
            raise FixError(f"{path} changed since the check: run it again for a fix of what it is now")
        if self.source.cell is None:
            path.write_text(self.fixed_text)
        else:
            _write_cell(path, self.source.cell, self.fixed_text)
        return path

    def to_dict(self) -> dict:
        return {"file": self.source.name, "diff": self.diff, "verified": self.verified, "edits": self.edits,
                "fixed": list(self.fixed), "passes": self.passes, "verdict": self.verdict}


def file_digest(path: Path) -> str:
    """The file's bytes, hashed: what a fix was made for, and what a write checks."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_cell(path: Path, cell: int, text: str) -> None:
    """One cell's source replaced, through nbformat when it is installed (the notebook's outputs,
    metadata and format kept), else as nbformat writes a notebook (JSON, one-space indent)."""
    try:
        import nbformat
    except ImportError:
        path.write_text(Source(path, cell, text).file_text())
        return
    with warnings.catch_warnings():  # a notebook of cells without ids is the user's, and stays as it was
        warnings.simplefilter("ignore")
        notebook = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
        notebook.cells[cell - 1].source = text
        nbformat.write(notebook, str(path))


# -- where the gradient was computed ------------------------------------------------------------------

def user_source(file: str | None) -> Source | None:
    """The user's file (or notebook cell) a method is in; None for gradtui's own layers and what is
    not a file of the user's (a class typed into a notebook's kernel)."""
    if not file:
        return None
    cell = NOTEBOOK_CELL.match(file)
    path = Path(cell["path"] if cell else file)
    if not path.is_file() or Path(__file__).resolve().parent in path.resolve().parents:
        return None
    if cell is None:
        return Source(path, None, path.read_text()) if path.suffix == ".py" else None
    number = int(cell["cell"])
    cells = json.loads(path.read_text()).get("cells", [])
    if not 0 < number <= len(cells):
        return None
    source = cells[number - 1].get("source", "")
    return Source(path, number, "".join(source) if isinstance(source, list) else source)


def method_at(text: str, line: int) -> tuple[ast.FunctionDef | None, tuple]:
    """The function whose definition starts at `line` (its decorators included), in `text`, and the
    other methods of its class."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None, ()
    classes = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if first <= line <= node.lineno:
                owner = next((c for c in classes if node in c.body), None)
                siblings = tuple(n for n in owner.body if isinstance(n, ast.FunctionDef) and n is not node) if owner else ()
                return node, siblings
    return None, ()


# -- the edits ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """`text[start:end]` replaced by `new`: one edit, of one kind."""

    start: int
    end: int
    new: str
    kind: str
    statement: int  # the rank of the statement it edits (0: the one nearest the gradient at fault)
    plain: bool = True  # a plain form of its kind (`+ dz`, `* dz`), tried in every statement before the rest (`+ x * dz`)

    def apply(self, text: str) -> str:
        return text[:self.start] + self.new + text[self.end:]


GROWN = re.compile(r"from out\.g, but out\.g \(step \d+, backward [^)]+\) already differs")  # hints._right_formula
ASKED_ONLY = ("inplace", "move", "unused", "step")  # edits of a statement, or of the forward: tried only where the hint asks
# a name in code: not an attribute (`.sum`), a function called (`exp(`) or a keyword argument (`keepdim=`)
CODE_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?!\w|\s*\(|\s*=(?!=))")
IN_PLACE = re.compile(r"[a-z]\w*[a-z0-9]_")  # a tensor method that changes its tensor: `clamp_min_`, `index_add_`
LAYING = frozenset({"unsqueeze", "view", "reshape", "expand_as"})  # a tensor laid over another shape
AUGMENTED = {ast.Add: ("+=", "-="), ast.Sub: ("-=", "+="), ast.Mult: ("*=", "/="), ast.Div: ("/=", "*=")}
KINDS = ("formula", "hinted", "step", "unread", "name", "transpose", "axis", "sum", "sign", "reduction", "number", "scale",
         "drop", "operator", "negated", "squeeze", "shape", "cast", "power", "upstream", "mask", "factor", "centre", "accumulate",
         "term", "inplace", "move", "unused", "size", "derived", "constant")
# Where no slip is named: a number doubled or halved, an axis, an operator, a sign, one name for another, a power, a
# factor of the whole, before the rest (each kind's plain forms, then the others).
BLIND = ("number", "axis", "operator", "negated", "sign", "reduction", "name", "power", "scale", "sum")
# What a hint says, and the kinds of edit that fix what it says (tried first, in this order).
SOFTMAX_SECOND_TERM = "- out * (out.g * out).sum(dim)"  # as the table's softmax slip says it (a test holds them one)
HINTED = (
    (r", and shaped \(", ("formula",)),  # two slips in one gradient (its values and its shape): the hint's whole fix
    (r"the layer's derivative [+−] ", ("constant",)),  # its constant, as the hint says it: a few edits
    # one edit inside a derivative written out (GELU's, in the code's `cdf` and `pdf`): a number, an operator, a sign
    (r"(?:has|is) +where +belongs", ("number", "scale", "operator", "sign", "negated", "power", "drop")),
    (r"the forward changed \S+ in place", ("inplace",)),  # (the forward to mend: its output computed out of place)
    (r"where the pass before's", ("step",)),  # (an RNN's h of step t for its h of step t - 1)
    (r"must add", ("accumulate",)),  # (before "twice", which its words say)
    (r"once too often", ("drop", "number", "scale")),  # (before "sum", which "or the forward sums where …" says)
    (r"is left out: the gradient of|left out as a whole", ("term", "factor")),  # a derivative never multiplied in
    (r"passes through it unchanged", ("factor", "upstream")),  # an operation's derivative never multiplied in
    (r"a mean where the sum belongs|a sum where the mean belongs", ("reduction",)),
    (r"is missing the mean: x where|is missing x: ", ("centre",)),  # a variance's deviation without its mean, or its x
    (r"is missing (?:its|the) [\w']+ term|without the \w+ term", ("term",)),
    (r"without the factor `out\.g`|out\.g, left out|does not multiply in|gradient from above, the chain rule", ("upstream",)),
    (r"without the factor", ("factor",)),
    (r"where N = ", ("size",)),  # a size of the other axis: `inp.shape[1]` where `inp.shape[0]` belongs
    (r"the mask|\(inp > 0\)|its derivative, the mask", ("mask", "name")),
    (r"where it multiplies|where it divides|(?:multiplies|divides) by it", ("operator",)),
    # (`the -0.5 of … left out`; not an operation's derivative left out, which a few edits multiply in, "derived")
    (r"missing its \d|missing `\d|times -?\d|(?<!derivative )of .+? left out", ("number", "scale")),
    (r"twice|once more|sqrt|power|its square", ("power", "drop")),
    (r"transpos", ("transpose",)),
    (r"matrix product", ("transpose",)),  # (an N×N product's operands swapped: a few edits, tried first)
    (r"N×N", ("squeeze",)),  # (where an (N, 1) met an (N,): summing the N×N is rarely what fixes it)
    (r"sum|summed|axis|axes|keepdim|broadcast|N×N|batch dimension", ("axis", "sum", "shape")),
    (r"unsqueeze|squeeze|shape|is \(", ("shape", "transpose")),  # (a matrix product's operands swapped: another shape)
    (r"sign|minus", ("sign", "operator", "negated")),
    (r"`out` where|out\.g` belongs|from above|the gradient coming|out\.g", ("name", "upstream")),
    (r"uses `|where `|taken from|for `", ("name",)),
    (r"× what it should be|divided by|twice|half|Bessel|1/N|N =|n−1|division|mean", ("reduction", "number", "scale", "drop")),
    (r"once more", ("drop",)),
    (r"the path through", ("accumulate", "centre", "upstream", "factor", "term")),  # (`=` for `+=`: rare, and the plainest)
    (r"its sign belongs|sign\(", ("signum",)),  # (never otherwise: `.sign()` of anything passes for a mask)
    (r"missing the factor|missing `|is missing|left out\)", ("factor", "drop", "upstream")),
    (r"cast|\.float\(\)|float32|float16|bfloat16", ("cast",)),
    (r"square|power|\*\*", ("power",)),
    (r"mask|> 0|>= 0|kink", ("operator", "name")),
)


class Edits:
    """The edits of one method worth trying for a slip, the hint's kinds first."""

    def __init__(self, text: str, method: ast.FunctionDef, hint: str | None, siblings: tuple = (),
                 names: tuple[str, ...] = (), attributes: dict | None = None, gradients: tuple[str, ...] = ()):
        self.text, self.method, self.siblings, self.hint = text, method, siblings, hint or ""
        self.sets_gradients = bool(gradients)  # (a notebook's lines: each writes a gradient, `dh = …`)
        self.attributes = attributes or {}
        self.offsets = _line_offsets(text)
        # a gradient computed and never read is forgotten where it is read, near the gradient set: those edits keep
        # the statements' plain order; the others try the statements about what the hint names first
        self.plainly = _statements_nearest_last(method, "")
        self.statements = _statements_nearest_last(method, self.hint)
        self.locals = list(dict.fromkeys(t.id for n in ast.walk(method) if isinstance(n, ast.Assign) for t in n.targets
                                         if isinstance(t, ast.Name)))  # the names the method assigns: `dh`, `ds`
        # a transpose as the code writes it, each way it does (a batch's: `.transpose(1, 2)`; a weight's: `.t()`)
        written = [m[0] for m in re.finditer(r"\.transpose\((?:-2, -1|-1, -2|1, 2|2, 1)\)", text)]
        self.transposes = list(dict.fromkeys([*written, *(t for t in (".mT", ".t()") if t in text), ".T"]))
        self.t = self.transposes[0]
        self.sqrt = "torch.sqrt({})" if "torch.sqrt(" in text else "({}).sqrt()"
        self.tensors = list(dict.fromkeys([*self._tensor_names(), *names]))
        read = [self.seg(n) for n in ast.walk(method) if isinstance(n, ast.Attribute) and n.attr == "g"
                and isinstance(n.ctx, ast.Load) and not _is_self(n.value)]  # the gradients the method reads: `out.g`
        returned = [self.seg(n.value) for other in siblings for n in ast.walk(other)
                    if isinstance(n, ast.Return) and isinstance(n.value, (ast.Name, ast.Attribute))]
        outputs = [f"{name}.g" for name in [*returned, *self.tensors] if name in returned or
                   name.split(".")[-1].startswith("out")]  # the forward's output: what it returns, or is called out
        set_before = [self.seg(t) for n in ast.walk(method) if isinstance(n, ast.Assign) for t in n.targets
                      if isinstance(t, ast.Attribute) and t.attr == "g" and not _is_self(t.value)]
        # `out.g`, even where the method forgot to read it; and the gradients it sets, one of them computed from another
        self.gradients = list(dict.fromkeys([*read, *outputs, *set_before, *gradients]))
        self.inputs = [name for name in self.tensors if name.split(".")[-1] in ("inp", "x", "input")]
        self.outputs = [name for name in self.tensors if name in returned or name.split(".")[-1] in ("out", "output")]
        self.batch = self._batch_expression()
        self.axes = list(dict.fromkeys(self.seg(n.args[0]) for n in ast.walk(method) if isinstance(n, ast.Call)
                                       and isinstance(n.func, ast.Attribute) and n.func.attr in ("mean", "sum")
                                       and n.args and isinstance(n.args[0], (ast.Constant, ast.UnaryOp))))
        self.shapes = [f"{self.seg(t.value)}.shape" for n in ast.walk(method) if isinstance(n, ast.Assign)
                       for t in n.targets if isinstance(t, ast.Attribute) and t.attr == "g"]
        self.order = _kinds_for(hint)
        self.blind = NO_KNOWN_SLIP in self.hint  # no slip named: each kind's plain forms first, then the rest
        self.carrying = self._carrying()

    def _carrying(self) -> dict[str, int]:
        """The method's names for a gradient it makes from another (`dq = (out.g * x).sum(1) * …`): each with
        the line that makes it first."""
        found: dict[str, int] = {}
        for node in sorted((n for n in ast.walk(self.method) if isinstance(n, ast.Assign)), key=lambda n: n.lineno):
            reads = {self.seg(n) for n in ast.walk(node.value) if isinstance(n, (ast.Name, ast.Attribute))}
            if any(self.gradient(name) or name in found for name in reads):
                for target in _targets(node):
                    if isinstance(target, ast.Name) and target.id not in found:
                        found[target.id] = node.lineno
        return found

    def spellings(self, name: str) -> list[str]:
        """`name`, and each way the method reads it laid over another shape (`dq.unsqueeze(1)`, `dq[:, None]`)."""
        laid = []
        for node in ast.walk(self.method):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LAYING:
                base = node.func.value
            elif isinstance(node, ast.Subscript):
                base = node.value
            else:
                continue
            if self.seg(base) == name:
                laid.append(self.seg(node))
        return list(dict.fromkeys([name, *laid]))

    def __iter__(self) -> Iterator[Change]:
        found = [*self._formula(), *self._missing_term(), *self._path_terms(), *self._out_of_place(), *self._moved(),
                 *self._put_back(), *self._constant_taken_back(), *self._step_before()]
        found += [change for rank, statement in enumerate(self.statements) for change in self._of(statement, rank)]
        found = [change for change in found if change.kind in self.order]  # a kind only a hint asks for, if it does
        plain = [self.plainly.index(statement) for statement in self.statements]
        carried, after_unread = self._carried(), self._after_unread()

        def rank(change: Change) -> int:
            if change.kind == "unread" and 0 <= change.statement < len(plain):
                statement = self.statements[change.statement]  # (a loop's: from the top of its body, before the rest)
                if statement in carried:
                    return statement.lineno - 10 ** 6
                # the statements after the one that makes it, the nearest first: where it was to be read
                return after_unread[statement] - 10 ** 5 if statement in after_unread else plain[change.statement]
            return change.statement

        def place(change: Change) -> tuple:
            kind = self.order.index(change.kind)
            return (not change.plain, kind, rank(change)) if self.blind else (kind, not change.plain, rank(change))

        seen, ordered = set(), sorted(found, key=place)
        for change in ordered:
            key = (change.start, change.end, change.new)
            if key not in seen:
                seen.add(key)
                yield change

    # -- text --

    def offset(self, line: int, column: int) -> int:
        start = self.offsets[line - 1]
        line_text = self.text[start:self.offsets[line] if line < len(self.offsets) else len(self.text)]
        return start + len(line_text.encode()[:column].decode(errors="ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def seg(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def _tensor_names(self) -> list[str]:
        """The tensors the method reads or sets, as it writes them (`self.inp`, `out.g`, `dxhat`), and
        those it could: its arguments (`out` of `bwd(self, out, inp)`), and what its class keeps on self."""
        found = [a.arg for a in self.method.args.args[1:]]
        for other in self.siblings:  # (`self.q, self.k = …` keeps two)
            found += [self.seg(t) for n in ast.walk(other) if isinstance(n, ast.Assign) for target in n.targets
                      for t in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target])
                      if isinstance(t, ast.Attribute) and _is_self(t.value)]
        counters = {n.id for loop in ast.walk(self.method) if isinstance(loop, (ast.For, ast.comprehension))
                    and isinstance(loop.iter, ast.Call) and ast.unparse(loop.iter.func) == "range"
                    for n in ast.walk(loop.target) if isinstance(n, ast.Name)}  # `j` of `for j in range(3)`: a number
        for node in ast.walk(self.method):
            if isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Name, ast.Attribute)) and not _called(
                    node, self.method) and _root(node) not in MODULES:  # (not `torch.nn.functional`)
                found.append(self.seg(node))
            elif isinstance(node, ast.Name) and node.id not in MODULES and node.id != "self" and not _called(
                    node, self.method) and node.id not in counters:
                found.append(node.id)
        return list(dict.fromkeys(name for name in found if not name.endswith((".shape", ".dtype", ".device"))))

    def _input_and_output(self, name: str, other: str) -> bool:
        return (name in self.inputs and other in self.outputs) or (name in self.outputs and other in self.inputs)

    def gradient(self, name: str) -> bool:
        """`out.g`, `self.inp.g`: a gradient; `self.g`, a layer's gain called g, is not."""
        return name.endswith(".g") and name != "self.g"

    def spelled(self, name: str) -> str | None:
        """How the method writes a tensor a hint names (`xhat` -> `self.xhat`)."""
        last = name.split(".")[-1]
        return next((t for t in self.tensors if t == name), None) or next(
            (t for t in self.tensors if t.split(".")[-1] == last and not self.gradient(t)), None)

    def _batch_expression(self) -> str | None:
        """The batch size as the method writes it: a name it gives it (`n = inp.shape[0]`, `n, d =
        self.x.shape[0], …`), else the first dimension of the layer's input as the method keeps it,
        else of the tensor whose gradient it sets first (`self.inp.shape[0]`; never a parameter's)."""
        for node in ast.walk(self.method):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:  # `n = …` or `n, d = …, …`
                target, value = node.targets[0], node.value
                pairs = zip(target.elts, value.elts) if isinstance(target, ast.Tuple) and isinstance(
                    value, ast.Tuple) and len(target.elts) == len(value.elts) else [(target, value)]
                for name, size in pairs:
                    if isinstance(name, ast.Name) and re.fullmatch(r"[\w.]+\.shape\[0\]|len\([\w.]+\)", self.seg(size)):
                        return name.id
        inp = self.attributes.get("inp")
        if inp is not None and f"self.{inp}" in self.tensors:  # the layer's input, as the method keeps it
            return f"self.{inp}.shape[0]"
        parameters = set(self.attributes.values()) - {inp}
        for node in ast.walk(self.method):
            if isinstance(node, (ast.Assign, ast.AugAssign)):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if not (isinstance(target, ast.Attribute) and target.attr == "g") or _is_self(target.value):
                        continue
                    owner = target.value
                    if isinstance(owner, ast.Attribute) and _is_self(owner.value) and owner.attr in parameters:
                        continue  # `self.w.g`: a parameter's first dimension is no batch
                    return f"{self.seg(owner)}.shape[0]"
        return None

    # -- the edits of one statement --

    def _of(self, statement: ast.stmt, rank: int) -> Iterator[Change]:
        value = statement.value
        if value is None:
            return
        yield from self._accumulated(statement, rank)
        if isinstance(statement, ast.AugAssign) and type(statement.op) in AUGMENTED:  # `+= 1` for `-= 1`
            start, end = self.span(statement)
            text = self.text[start:end]
            at = self.span(statement.target)[1] - start
            mark, other = AUGMENTED[type(statement.op)]
            cut = text.index(mark, at)
            yield Change(start, end, text[:cut] + other + text[cut + len(mark):], "sign", rank)

        def at(node: ast.AST, new: str, kind: str) -> Change:
            node_start, node_end = self.span(node)
            if self._parenthesized(node) and re.fullmatch(r"[\w.]+|torch\.\w+\(.*\)", new) and binding(new) == 7 \
                    and not _in_call(node, value):
                return Change(node_start - 1, node_end + 1, new, kind, rank)  # `(x - mu)` for `x_norm`: no `(x_norm)`
            if self._parenthesized(node) and not _in_call(node, value) and binding(new) < 7 and \
                    binding(new) >= _binding_needed(node, value):  # `(2 * pi) ** 0.5` for `(2 * pi)`: no `((…) ** 0.5)`
                return Change(node_start - 1, node_end + 1, new, kind, rank)
            if new.startswith("(") and new.endswith(")") and wrapped(new) and self.text[node_start - 1:node_start] == "(" \
                    and self.text[node_end:node_end + 1] == ")":
                new = new[1:-1]  # the code's own parentheses are around it already
            elif node is not value and not self._parenthesized(node) and binding(new) < min(binding(node),
                                                                                       _binding_needed(node, value)):
                new = f"({new})"  # `var + eps` for `std` inside `x / std`: it binds less tightly
            return Change(node_start, node_end, new, kind, rank)

        yield from self._hinted(value, at)
        yield from self._softmax_term(value, at)
        yield from self._unused_terms(value, at)
        numbers = re.findall(r"missing (?:its |`)(\d+(?:\.\d+)?)|the (-?\d+(?:\.\d+)?) of .+? left out", self.hint)
        numbers = [a or b for a, b in numbers]  # "missing its 3", "missing `0.5`", "the -0.5 of d(x)**-0.5 left out"
        divisors = [d if re.fullmatch(r"[\w.]+", d) else f"({d})" for d in re.findall(r"the division by `([^`]+)`", self.hint)]
        scaled = [" * 2", " / 2", *(f" * {number}" for number in numbers), *(f" / {d}" for d in divisors)]
        if re.search(r"is minus \S+ ×", self.hint):  # "minus 1/2 × autograd's": its sign and its factor
            scaled += [f" * -{factor.split()[-1]}" if factor.startswith(" *") else f" / -{factor.split()[-1]}"
                       for factor in scaled]
        if self.batch:
            b = self.batch
            scaled += [f" / {b}", f" * {b}", f" * ({b} - 1) / {b}", f" * {b} / ({b} - 1)"]
        groups = [n for n in ast.walk(value) if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub))
                  and n is not value and self._parenthesized(n)]  # `(1 + t)` of `0.5 * (1 + t) + …`: a term too
        whole = [] if isinstance(statement, ast.Expr) else self._unmade([value, *_terms(value), *groups], value)
        made_before = [spelling for name, line in self.carrying.items() if line < statement.lineno
                       for spelling in self.spellings(name)]
        # (the gradient from above of a statistic, `inp.var(0, keepdim=True)`: out.g summed over the rows it spreads to)
        statistic_from_above = "from above" in self.hint and re.search(r"\.(?:var|std|mean|sum)\([^`]*`", self.hint)
        # deeper: a term of a parenthesised sum (`(cdf + h * pdf)`), what a sum reduces (`(out.g * a).sum(0)`)
        received = [n.func.value for n in ast.walk(value) if isinstance(n, ast.Call) and isinstance(
            n.func, ast.Attribute) and n.func.attr in ("sum", "mean") and not _called(n.func.value, value)]
        deeper = [] if isinstance(statement, ast.Expr) else [term for term in dict.fromkeys([*self._unmade(
            [t for node in [*groups, *received] for t in (node, *_terms(node))], value), *_terms(value)])
            if term not in whole]  # (and a name a matrix product reads, `x.T @ (dh * f)`, after where dh is made)
        for term in [*dict.fromkeys(whole), *deeper]:  # the whole, and each term of a sum
            plain = term in whole
            times = f"({self.seg(term)})" if _loose(term) else self.seg(term)  # what `* x` may follow as it is
            for factor in scaled if plain else ():
                yield at(term, f"{times}{factor}", "scale")
            for gradient in self.gradients:
                yield replace(at(term, f"{times} * {gradient}", "upstream"), plain=plain)
                if term is value:  # the path that skips the layer (a residual's `+ out.g`)
                    yield at(term, f"{self.seg(term)} + {gradient}", "upstream")
            for gradient in self.gradients if statistic_from_above else ():  # a statistic's gradient from above: out.g
                for axis in self.axes:  # summed over what the statistic spreads to
                    yield replace(at(term, f"{times} * {gradient}.sum({axis}, keepdim=True)", "upstream"), plain=False)
            for gradient in made_before:  # one the method made from out.g (`dq`), as it writes it (`dq.unsqueeze(1)`)
                yield replace(at(term, f"{times} * {gradient}", "upstream"), plain=False)
            for name in [*self.tensors, *(f"({x} > 0)" for x in [*self.inputs, *self._clamped()])]:
                if not self.gradient(name):
                    yield replace(at(term, f"{times} * {name}", "factor"), plain=plain)
            for name in self.tensors:  # a division left out (`inp * d` where `inp * d / a` belongs)
                if not self.gradient(name) and name not in self.inputs:
                    yield replace(at(term, f"{times} / {name}", "factor"), plain=False)
        names = {self.seg(n) for n in ast.walk(value) if isinstance(n, (ast.Name, ast.Attribute))} & set(self.tensors)
        for name in names:  # one tensor for another everywhere in the statement (`inp * (1 - inp)` for `s * (1 - s)`)
            for other in self.tensors:
                if other != name and not self.gradient(other) and not self.gradient(name):
                    yield from self._everywhere(value, name, other, rank)
        measured = {id(n) for m in ast.walk(value) if isinstance(m, ast.Attribute) and m.attr in SIZES
                    for n in ast.walk(m)}  # `inp.shape[0]`: a size, no tensor to edit
        reduced = {id(m.func.value) for m in ast.walk(value) if isinstance(m, ast.Call) and isinstance(
            m.func, ast.Attribute) and m.func.attr in AXIS_CALLS}  # `x` of `x.mean(0)`: a sum of it is a sum twice
        for node in ast.walk(value):
            if isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value and not _in_args(
                    node, value) and id(node) not in measured:  # `4 * d` where `2 * d` belongs, in a where's branch too
                for scaled in (node.value * 2, node.value / 2):
                    yield at(node, str(int(scaled)) if float(scaled).is_integer() else f"{scaled:g}", "number")
            if not isinstance(node, ast.expr) or isinstance(node, (ast.Constant, ast.Starred, ast.Slice)) or _in_args(
                    node, value) or _called(node, value) or id(node) in measured or isinstance(
                    getattr(node, "ctx", None), ast.Store):  # (nor is `torch.zeros_like`, nor the `j` a loop sets)
                continue
            seg = self.seg(node)
            yield from self._transposes(node, seg, at)
            yield from self._sums(node, seg, at, id(node) in reduced)
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
                yield at(node, self.seg(node.operand), "sign")
                centred = _reduced_operand(node.operand)  # `-x.mean(0)` alone: the deviation `x - x.mean(0)`
                if centred is not None:
                    yield at(node, f"({self.seg(centred)} - {self.seg(node.operand)})", "centre")
            elif node is not value and (isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)) or (
                    isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div, ast.MatMult)))):
                # one factor's sign, inside: after the plainer edits of a sign (an operator turned, a minus taken away)
                yield at(node, f"-{seg if binding(node) >= 4 else f'({seg})'}", "negated")
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and _shape_of(self.seg(node.left)) == \
                    _shape_of(self.seg(node.right)):  # `x - x`, always 0: the mean it subtracts left out
                for axis in self.axes:
                    yield at(node.right, f"{self.seg(node.right)}.mean({axis}, keepdim=True)", "centre")
            if isinstance(node, ast.BinOp):
                yield from self._binary(node, at)
                yield from self._squeezes(node, at)
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "shape" \
                    and isinstance(node.slice, (ast.Constant, ast.UnaryOp)):  # `inp.shape[1]` for `inp.shape[0]`
                for axis in ("0", "1", "-1"):
                    if axis != self.seg(node.slice):
                        yield at(node, f"{self.seg(node.value)}[{axis}]", "size")
            if isinstance(node, ast.Compare) and len(node.ops) == 1:
                for op in COMPARISONS.get(type(node.ops[0]), ()):
                    yield at(node, f"{self.seg(node.left)} {op} {self.seg(node.comparators[0])}", "operator")
            if isinstance(node, (ast.Name, ast.Attribute)) and seg in self.tensors and not _divisor(node, value):
                for gradient in (f"{seg}.g", f"d{seg.split('.')[-1]}"):  # a value for its gradient: `probs` for dprobs
                    if gradient in self.gradients or gradient in self.locals:
                        yield at(node, gradient, "name")
                for other in self.tensors:  # (never into a divisor: a tensor there is 0 somewhere, and 0/0 NaN)
                    if other != seg and (not self.gradient(other) or other in self.gradients):
                        # (the layer's output for its input, or the other way round, before any other two tensors)
                        yield replace(at(node, other, "name"), plain=self._input_and_output(seg, other))
            if isinstance(node, ast.Attribute) and self.gradient(seg) and self.seg(node.value) in self.tensors:
                yield at(node, self.seg(node.value), "name")
            if isinstance(node, ast.BinOp) and (self._parenthesized(node) or _in_call(node, value)):
                yield at(node, self.sqrt.format(seg), "power")  # `(var + eps)` for `torch.sqrt(var + eps)`
            if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
                yield at(node, f"{seg} ** 2", "power")
                yield at(node, f"{seg}.sqrt()", "power")
                for axis in self.axes:  # a mean's path left out: the term centred (`d - d.mean(-1, keepdim=True)`)
                    yield at(node, f"({seg} - {seg}.mean({axis}, keepdim=True))", "centre")
            if isinstance(node, (ast.Name, ast.Attribute, ast.BinOp, ast.Call, ast.Subscript)):
                yield at(node, f"{f'({seg})' if isinstance(node, ast.BinOp) else seg}.sign()", "signum")
                for name in self.inputs:
                    yield at(node, f"({name} > 0)", "mask")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CASTS:
                yield at(node, self.seg(node.func.value), "cast")
            yield from self._reshapes(node, seg, at)
        if not isinstance(statement, ast.Expr):
            start, end = self.span(value)
            yield Change(start, end, f"-({self.text[start:end]})", "sign", rank)

    def _formula(self) -> Iterator[Change]:
        """The hint's own fix (`fix: inp.g = (inp.softmax(1) - one_hot) / N, with one_hot = …`) in the
        method's words: its tensors as the method writes them, N as its batch, a helper it lacks
        defined on the lines before."""
        found = re.search(r"; fix: ([\w.]+) = (.+)$", self.hint)
        if found is None:
            return
        target, rest = found[1], found[2].split(ALSO)[0]  # (not what another story, said beside it, goes on with)
        formula, _, helpers = rest.partition(", with ")
        definitions = dict(part.split(" = ", 1) for part in re.split(r", (?=\w+ = )", helpers) if " = " in part)
        base = target.removesuffix(".g")
        mine = self._formula_name(base)
        statement = next((n for n in self.statements for t in _targets(n) if self.seg(t) == f"{mine}.g"), None)
        if mine is None or (statement is not None and statement.value is None):
            return
        defined, lines = set(), []

        def define(name: str) -> str | None:  # a helper of the formula's, on a line of its own before
            if name in defined:
                return name
            if name not in definitions:
                return None
            defined.add(name)
            helper = self._in_my_words(definitions[name], define)
            if helper is None:
                return None
            lines.append(f"{name} = {helper}")
            return name

        rhs = self._in_my_words(formula, define)
        if rhs is None:
            return
        if statement is None:  # a gradient the method never sets: its line added, before a `return`
            at, indent, lead = self._method_end()
            added = "".join(f"{indent}{line}\n" for line in [*lines, f"{mine}.g = {rhs}"])
            yield Change(at, at, lead + added, "formula", 0)
            return
        start, end = self.span(statement.value)
        line_start = self.offsets[statement.lineno - 1]
        indent = self.text[line_start:len(self.text)][:len(self.text[line_start:]) - len(self.text[line_start:].lstrip())]
        before = "".join(f"{indent}{line}\n" for line in lines)
        yield Change(line_start, end, f"{before}{self.text[line_start:start]}{rhs}", "formula", 0)

    def _missing_term(self) -> Iterator[Change]:
        """The term a hint says is missing (`is missing its second term, - out * (out.g * out).sum(dim)`,
        `is missing the variance's term, `- xhat * (dxhat * xhat).mean(-1, keepdim=True)``) added to a
        gradient's statement, or inside one of its parentheses, in the method's words, over each axis
        the method reduces."""
        found = re.search(r"is missing (?:its \w+|the [\w' ]+) term, `([^`]+)`|is missing its \w+ term, ([^:`]+)|"
                          r"is missing: the term it adds comes to `([^`]+)`", self.hint)
        if found is None:
            return
        term, kind = (found[1] or found[2] or found[3]).strip(), "derived" if found[3] else "term"
        sign, term = (term[0], term[1:].strip()) if term[0] in "+-" else ("+", term)
        said = [term.replace("(dim)", f"({axis}, keepdim=True)") for axis in dict.fromkeys([*self.axes, "-1", "1"])]
        for code in dict.fromkeys(said + [summed for each in said for summed, _ in _as_summed(each, "")[1:]]):
            mine = self._in_my_words(code)  # (the sum form's too: `(n * d - d.sum(0) - xhat * (d * xhat).sum(0)) / n`)
            if mine is None:
                continue
            for rank, statement in enumerate(self.statements):
                if statement.value is not None and any(self.gradient(self.seg(t)) for t in _targets(statement)):
                    groups = [n for n in ast.walk(statement.value) if isinstance(n, ast.expr)
                              and n is not statement.value and self._parenthesized(n)]
                    for where in [statement.value, *groups]:  # the whole, or inside `rstd * (…)`
                        start, end = self.span(where)
                        yield Change(start, end, f"{self.text[start:end]} {sign} {mine}", kind, rank)
                    for division in ast.walk(statement.value):  # or in a closed form's numerator: `(d - …) / n`
                        if isinstance(division, ast.BinOp) and isinstance(division.op, ast.Div):
                            start, end = self.span(division.left)
                            yield Change(start, end, f"({self.text[start:end]} {sign} {mine})", kind, rank)

    def _step_before(self) -> Iterator[Change]:
        """A value of this pass of a loop where the pass before's belongs (the hint says so): an index by the
        loop's variable moved a step (`self.hs[t]` for `self.hs[t - 1]`, either way: a backward loops in reverse)."""
        if "where the pass before's" not in self.hint:
            return
        loops = {target.id for n in ast.walk(self.method) if isinstance(n, ast.For) for target in ast.walk(n.target)
                 if isinstance(target, ast.Name)}
        for node in ast.walk(self.method):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, (ast.Name, ast.BinOp)) and {
                    n.id for n in ast.walk(node.slice) if isinstance(n, ast.Name)} & loops:  # (`hs[t]`, not `x[:, t]`)
                start, end = self.span(node.slice)
                index = self.text[start:end]
                for moved in (f"{index} - 1", f"{index} + 1"):
                    yield Change(start, end, moved, "step", 0)

    def _constant_taken_back(self) -> Iterator[Change]:
        """A derivative the hint says is off by a constant (`l1.g is out.g × (the layer's derivative − 0.1)`), that
        constant taken back where the code writes the derivative: added to a part of a statement that reads no
        gradient (`self.o` of `torch.where(inp >= 0, 1.0, self.o)`: `self.o + 0.1`), or a number moved by it."""
        found = re.search(r"is out\.g × \(the layer's derivative ([+−]) (\d+(?:\.\d*)?(?:e[+-]?\d+)?)\)", self.hint)
        if found is None:
            return
        off = float(found[2]) * (1 if found[1] == "+" else -1)
        gradients = set(self.gradients)
        for rank, statement in enumerate(self.statements):
            if statement.value is None:
                continue
            parents = {child: node for node in ast.walk(statement.value) for child in ast.iter_child_nodes(node)}
            masks = {inside for node in ast.walk(statement.value) if isinstance(node, (ast.Compare, ast.BoolOp))
                     for inside in ast.walk(node)}  # a mask is no term of the derivative
            for node in ast.walk(statement.value):
                if not isinstance(node, ast.expr) or node in masks or any(  # what reads a gradient is more than a derivative
                        isinstance(read, ast.Attribute) and read.attr == "g" or self.seg(read) in gradients
                        for read in ast.walk(node) if isinstance(read, (ast.Name, ast.Attribute))):
                    continue
                code, (start, end) = self.seg(node), self.span(node)
                if isinstance(node, ast.Constant) and type(node.value) in (int, float):
                    yield Change(start, end, f"{node.value - off:g}", "constant", rank)
                    continue
                moved = f"{code} {'-' if off > 0 else '+'} {abs(off):g}"
                alone = isinstance(parents.get(node), (ast.Call, ast.keyword, ast.Tuple, ast.List)) or node is statement.value
                yield Change(start, end, moved if alone or self._parenthesized(node) else f"({moved})", "constant", rank)

    def _clamped(self) -> list[str]:
        """The tensors a hint's forward line clamps at 0 (`self.h` of `self.h.clamp_min(0.)`, of `relu(h)`),
        as the method writes them: a mask `(h > 0)` is their derivative."""
        found = re.findall(r"`([\w.]+)\.clamp(?:_min)?\(0\.?\)|`(?:torch\.|F\.)?relu\(([\w.]+)\)", self.hint)
        return [spelled for a, b in found if (spelled := self.spelled(a or b)) is not None]

    def _out_of_place(self) -> Iterator[Change]:
        """A forward that computes its output in place (`inp.clamp_min_(0.).sub_(0.5)`), where the hint
        says the backward then reads the output for the input: its in-place calls made out of place, in
        one edit (`inp.clamp_min(0.).sub(0.5)`; a statement of its own, `inp.clamp_(min=0)`, binds the
        result: `inp = inp.clamp(min=0)`)."""
        for forward in self.siblings:
            edited = []
            for statement in forward.body:
                calls = [n.func for n in ast.walk(statement) if _in_place(n)]
                if not calls:
                    continue
                start, end = self.span(statement)
                text = self.text[start:end]
                for func in sorted(calls, key=lambda f: self.span(f)[1], reverse=True):
                    at = self.span(func)[1] - start - 1  # the attribute's trailing underscore
                    text = text[:at] + text[at + 1:]
                receiver = statement.value if isinstance(statement, ast.Expr) else None
                while isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute):
                    receiver = receiver.func.value
                if isinstance(receiver, (ast.Name, ast.Attribute)):
                    text = f"{self.seg(receiver)} = {text}"
                edited.append((start, end, text))
            if edited:
                first, last = edited[0][0], edited[-1][1]
                text, at = "", first
                for start, end, new in edited:
                    text, at = text + self.text[at:start] + new, end
                yield Change(first, last, text, "inplace", 0)

    def _method_end(self) -> tuple[int, str, str]:
        """Where a statement added at the end of the method goes (before a last `return`), its indent,
        and the line break it needs first (none, unless the file ends without one)."""
        body = self.method.body
        last = body[-1]
        line = last.lineno if isinstance(last, ast.Return) and len(body) > 1 else last.end_lineno + 1
        at = self.offsets[line - 1] if line <= len(self.offsets) else len(self.text)
        first = self.text[self.offsets[last.lineno - 1]:]
        return at, first[:len(first) - len(first.lstrip())], "" if self.text[:at].endswith("\n") else "\n"

    def _moved(self) -> Iterator[Change]:
        """An update inside backward (`self.w -= lr * self.w.g`, `self.w.sub_(…)`), where the hint says a
        tensor changed in place during it: the statement moved to the end of the method, or dropped."""
        for statement in self.method.body:
            updates = isinstance(statement, ast.AugAssign) or isinstance(statement, ast.Expr) and any(
                _in_place(n) for n in ast.walk(statement))
            if not updates or statement is self.method.body[-1]:
                continue
            start = self.offsets[statement.lineno - 1]
            end = self.offsets[statement.end_lineno] if statement.end_lineno < len(self.offsets) else len(self.text)
            at, _, lead = self._method_end()
            if at > end:
                yield Change(start, at, self.text[end:at] + lead + self.text[start:end], "move", 0)
            yield Change(start, end, "", "move", 0)

    def _put_back(self) -> Iterator[Change]:
        """A parameter the forward never uses (the hint says so): the forward's result plus it (a bias),
        or times it (a gain), for each attribute of the layer's that no statement of the forward reads."""
        for forward in self.siblings:
            read = {self.seg(n) for n in ast.walk(forward) if isinstance(n, ast.Attribute)}
            returned = [n for n in ast.walk(forward) if isinstance(n, ast.Return) and n.value is not None]
            for attribute in self.attributes.values():
                if f"self.{attribute}" in read or len(returned) != 1:
                    continue
                value = returned[0].value
                start, end = self.span(value)
                yield Change(start, end, f"{self.seg(value)} + self.{attribute}", "unused", 0)
                times = f"({self.seg(value)})" if _loose(value) else self.seg(value)
                yield Change(start, end, f"{times} * self.{attribute}", "unused", 0)

    def _path_terms(self) -> Iterator[Change]:
        """A path the hint says is missing (`the path through `inp` in `h = inp @ w + b` is missing`), as
        the term it adds: to a gradient's statement, first what the hint itself gives in the method's
        names (a gradient the method has through the weight the path's statement multiplies by, `dh @
        self.w.t()`; where the hint says a tensor keeps only one of its paths, the others' terms
        together, `dq @ self.wq.t() + dk @ self.wk.t()`), gradtui's own writing of the term where the
        hint gives one (`out.g * (1 - self.t)`, as "derived"), then a gradient the method has, alone,
        times any weight the forward multiplies by, or times a tensor the layer keeps (`+ out.g`, `+
        out.g * self.h`); before one of a statement's parenthesised groups, one of its tensors or a 1
        (`(1 + inp ** 2)` of `(inp ** 2)`)."""
        if "the path through" not in self.hint and "keeps only the path of" not in self.hint:
            return
        multiplied = {self.seg(side) for other in (*self.siblings, self.method) for n in ast.walk(other)
                      if isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult) for side in (n.left, n.right)}
        weights = [t for t in self.tensors if t.startswith("self.") and t in multiplied]  # a forward's `inp @ self.w`

        def through(codes: list[str]) -> list[list[str]]:  # each product's term, by the weight it reads
            spelled = dict.fromkeys(self.spelled(w) for code in codes for w in re.findall(r"@ ([\w.]+)", code))
            return [[*(f"{g} @ {w}{self.t}" for g in self.locals), *(f"{w}{self.t} @ {g}" for g in self.locals)]
                    for w in spelled if w in weights]  # (`x @ w`'s, and a weight that multiplies from the left)

        said = [self._in_my_words(code) for code in re.findall(r"the term it adds comes to `([^`]+)`", self.hint)]
        hinted = [t for ts in through(re.findall(r"the path through `[^`]+` in `([^`]+)`", self.hint)) for t in ts]
        only = re.search(r"keeps only the path of .*: its paths through (.+) are missing", self.hint)
        if only:
            hinted += [" + ".join(terms) for terms in itertools.product(*through(re.findall(r"`([^`]+)`", only[1])))
                       if len(set(terms)) == len(terms)]
        gradients = list(dict.fromkeys([*self.locals, *self.gradients]))
        means = [f"{g} / {self.batch}" for g in gradients] if self.batch else []  # the path through a mean
        added = [*gradients, *means, *(f"{g} @ {w}{self.t}" for g in self.locals for w in weights),
                 *(f"{g} * {t}" for g in gradients for t in self.tensors if t.startswith("self.") and not self.gradient(t))]
        for rank, statement in enumerate(self.statements):
            if statement.value is None:
                continue
            start, end = self.span(statement.value)
            if self.sets_gradients or any(self.gradient(self.seg(t)) for t in _targets(statement)):
                terms = {self.seg(t) for t in _terms(statement.value)}
                for kind, term in [*(("hinted", t) for t in hinted), *(("derived", t) for t in said if t),
                                   *(("term", t) for t in added)]:
                    if term not in terms:
                        yield Change(start, end, f"{self.text[start:end]} + {term}", kind, rank)
            for group in ast.walk(statement.value):
                if isinstance(group, ast.BinOp) and self._parenthesized(group):
                    group_start, group_end = self.span(group)
                    for term in ["1", *(t for t in self.tensors if not self.gradient(t))]:
                        yield Change(group_start, group_end, f"{term} + {self.text[group_start:group_end]}", "term", rank)
                if isinstance(group, ast.Call) and isinstance(group.func, ast.Attribute) and group.func.attr in LAYING:
                    laid_start, laid_end = self.span(group.func.value)  # `(g + w.T @ g).reshape(…)`: the term inside
                    if self._parenthesized(group.func.value):
                        laid_start, laid_end = laid_start - 1, laid_end + 1
                    for kind, term in [*(("hinted", t) for t in hinted), *(("derived", t) for t in said if t)]:
                        inside = self.text[laid_start:laid_end]
                        inside = inside[1:-1] if inside.startswith("(") and wrapped(inside) else inside
                        yield Change(laid_start, laid_end, f"({inside} + {term})", kind, rank)

    def _softmax_term(self, value: ast.expr, at) -> Iterator[Change]:
        """Softmax's second term left out (`p * dp` where `p * (dp - (dp * p).sum(-1, keepdim=True))`
        belongs), in whatever names the statement gives the gradient and the probabilities: each of
        its tensors centred by its sum weighted with another of them."""
        if SOFTMAX_SECOND_TERM not in self.hint:
            return
        operands = list(dict.fromkeys(self.seg(n) for n in ast.walk(value) if isinstance(n, (ast.Name, ast.Attribute))
                                      and self.seg(n) in self.tensors and not _called(n, value)))
        for node in ast.walk(value):
            seg = self.seg(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
            for other in operands if seg in operands else ():
                for axis in dict.fromkeys([*self.axes, "-1"]) if other != seg else ():
                    yield at(node, f"({seg} - ({seg} * {other}).sum({axis}, keepdim=True))", "term")

    def _carried(self) -> list[ast.stmt]:
        """The statements of a loop's body before one that makes a gradient nothing reads (`dh_next = da @
        self.wh.t()` of a backward through time): the next pass is where it was to be read."""
        read = {n.id for n in ast.walk(self.method) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        carried = []
        for loop in (n for n in ast.walk(self.method) if isinstance(n, (ast.For, ast.While))):
            inside = [n for statement in loop.body for n in ast.walk(statement) if n in self.statements]
            made = [n.lineno for n in inside for t in _targets(n) if isinstance(t, ast.Name) and t.id not in read]
            carried += [n for n in inside if made and n.lineno < max(made)]
        return carried

    def _after_unread(self) -> dict[ast.stmt, int]:
        """The statements after one that makes a value nothing reads (`dz`), by how many lines after it (the
        nearest such maker's): the next statements are where it was to be read (`dzp = z * (1 - z)`)."""
        read = {n.id for n in ast.walk(self.method) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        made = [n.lineno for n in self.statements for t in _targets(n) if isinstance(t, ast.Name) and t.id not in read]
        return {statement: min(statement.lineno - line for line in made if line < statement.lineno)
                for statement in self.statements if any(line < statement.lineno for line in made)}

    def _unused_terms(self, value: ast.expr, at) -> Iterator[Change]:
        """A gradient the method computes and never uses (`ds`, `dmu`) added where it was forgotten: as
        it is, over the batch, or times one of the method's tensors or the statement's numbers; or a
        derivative it never multiplies in (a GELU's `dt`), as a factor."""
        read = {n.id for n in ast.walk(self.method) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        unused = [name for name in self.locals if name not in read]
        if not unused:
            return
        kind = "term" if self.sets_gradients else "unread"  # (a notebook's lines each make a gradient no line reads)
        numbers = [self.seg(n) for n in ast.walk(value) if isinstance(n, ast.Constant) and isinstance(n.value, float)]
        for node in ast.walk(value):
            if not isinstance(node, (ast.Name, ast.Attribute, ast.BinOp, ast.Call, ast.Subscript)) or _called(
                    node, value) or _in_args(node, value):
                continue
            seg = self.seg(node)
            for name in unused:
                # a factor it forgot (as it reads it: `g.unsqueeze(-1)`; a reduction's, laid back over its axis)
                for spelling in dict.fromkeys([*self.spellings(name), f"{name}.unsqueeze(-1)"]):
                    yield at(node, f"{f'({seg})' if _loose(node) else seg} * {spelling}", kind)
                added = [f"+ {name}", f"- {name}", *(f"+ {name} / {b}" for b in [self.batch] if b),
                         *(f"+ {x} * {name}" for x in [*self.tensors, *numbers] if not self.gradient(x) and x != name)]
                for term in added:
                    change = at(node, f"{seg} {term}" if node is value else f"({seg} {term})", kind)
                    yield replace(change, plain=term in (f"+ {name}", f"- {name}"))

    def _formula_name(self, name: str) -> str | None:
        """A name of gradtui's formulas as the method writes it: N its batch, a role the attribute that
        holds it (`gamma` -> `self.g`), a tensor by its own name (`xhat` -> `self.xhat`)."""
        if name == "N":
            return self.batch
        if name in self.attributes and name not in ("inp", "out", "targ"):
            return f"self.{self.attributes[name]}"
        found = self.spelled(name)
        if found is not None:
            return found
        if any(t.startswith("self.") for t in self.tensors) and name not in ("inp", "out", "targ", "one_hot", "dxhat"):
            return f"self.{name}"  # kept by a forward the method's class inherits
        return None

    def _unmade(self, terms: list[ast.expr], value: ast.expr) -> list[ast.expr]:
        """The places of `value` a factor may be missing from, but a name the method makes that a matrix
        product reads (`x.T @ dh`): what dh misses, it misses where it is made."""
        made_here = {id(side) for n in ast.walk(value) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult)
                     for side in (n.left, n.right) if isinstance(side, ast.Name) and side.id in self.locals}
        return [term for term in terms if id(term) not in made_here]  # (what dh misses, it misses where it is made)

    def _hinted(self, value: ast.expr, at) -> Iterator[Change]:
        """What the hint says outright: "`hpreact` where `bnraw` belongs" is `bnraw` for `hpreact`;
        "`(var + eps)**-0.5` where `(var + eps)**-1.5` belongs" the one for the other, where the
        code has the first, in its own names."""
        missing = [(operator, code + power.replace("**", " ** "), "hinted") for operator, code, power in re.findall(
            r"a (division by|factor) `([^`]+)`(\*\*\d+)? (?:is )?left out", self.hint)] + [
            ("division by", code, "hinted") for code in re.findall(r"is missing (?:the|its) division by `([^`]+)`",
                                                                   self.hint)] + [
            ("factor", code, "hinted") for code in re.findall(r"(?:is missing|without) (?:the|its) factor `([^`]+)`|"
                                                               r"is missing its factor \((.+?)\): `|its "
                                                               r"derivative, `([^`]+)`, is never multiplied in|is missing "
                                                               r"`([^`]+)`(?: in every gradient through it|:)", self.hint)
            for code in code if code]
        for operator, count, code in re.findall(r"(times|divided by) (\d+|1/\d+) × `([^`]+)`", self.hint):
            if self.batch:  # "times 64 × `std`": N the batch, as the method writes it (`n`, `inp.shape[0]`)
                scaled = f"{code} / {self.batch}" if count.startswith("1/") else f"{self.batch} * {code}"
                missing.append(("division by" if operator == "times" else "factor", scaled, "hinted"))
        statistic = self._statistic()
        if statistic is not None:  # a variance's slips, said as x and x.mean(): in the forward's own operand and axes
            operand, axes = statistic
            if "is missing its factor x - x.mean()" in self.hint:
                missing.append(("factor", f"{operand} - {operand}.mean({axes}, keepdim=True)", "hinted"))
            for count in re.findall(r"is not divided by the count, (\d+):", self.hint):
                over = [f"{operand}.shape[{axes}]"] if re.fullmatch(r"-?\d", axes) else []
                sizes = [*([self.batch] if self.batch and axes == "0" else []), *over]
                missing += [("division by", size, "hinted") for each in sizes for size in (f"{each} - 1", each)]
                missing.append(("division by", count, "hinted"))
        # the derivative a forward comes to, written out by gradtui: after what the code's own names give
        missing += [("factor", code, "derived") for code in re.findall(
            r"(?:its derivative|multiplied in; it|from above; it) comes to `([^`]+)`", self.hint)]
        for operator, code, kind in missing:  # "a division by `std` left out": each term divided by it
            spelled = code if re.fullmatch(r"\d+(?:\.\d*)?", code) else self.spelled(code) if re.fullmatch(
                r"[\w.]+", code) else self._in_my_words(code)
            if spelled is None:
                continue
            # (and read by the name the method gives a call of the same function: `s` of `s = torch.sigmoid(b)`, where
            # the hint's `torch.sigmoid(h[:, 12:])` is a chunk's piece the method names `b`)
            for named in dict.fromkeys([self._named_within(spelled, by_function=True), self._named_within(spelled)]):
                yield from self._multiplied_in(value, at, operator, named, kind)
        if re.search(r"output `[\w.]+` where its gradient `[\w.]+` belongs", self.hint):  # `out` read for `out.g`
            read_for_gradient = {id(n.value) for n in ast.walk(value) if isinstance(n, ast.Attribute) and n.attr == "g"}
            for gradient in self.gradients:
                for node in ast.walk(value):
                    if isinstance(node, (ast.Name, ast.Attribute)) and id(node) not in read_for_gradient and \
                            f"{self.seg(node)}.g" == gradient:
                        yield at(node, gradient, "hinted")
        if "is missing its first term" in self.hint:  # softmax's `p * -(dp * p).sum(-1)`: its `dp` before the minus
            for node in ast.walk(value):
                if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
                    for gradient in [*self.gradients, *(n for n, line in self.carrying.items() if line < value.lineno)]:
                        yield at(node, f"({gradient} - {self.seg(node.operand)})", "hinted")
        for name in re.findall(r"missing the 1 of \(1 - (.+?)\): ", self.hint):  # `s * -s` for `s * (1 - s)`
            spelled = self.spelled(name) if re.fullmatch(r"[\w.]+", name) else self._named_within(
                self._in_my_words(name) or name)  # (`torch.sigmoid(self.l)` as the method names it: `s`)
            for node in ast.walk(value):
                if spelled and isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and \
                        self.seg(node.operand) == spelled:
                    yield at(node, f"(1 - {spelled})", "hinted")
        for code in re.findall(r"towards its \w+ piece, `([^`]+)`, is missing", self.hint):  # a cat's slice of out.g
            mine = self._in_my_words(code)
            base = mine.split("[")[0] if mine else None
            if mine and any(isinstance(n, ast.Subscript) and self.seg(n.value) == base for n in ast.walk(value)):
                yield at(value, f"{self.seg(value)} + {mine}", "hinted")  # (where the statement adds the other slices)
        for code in re.findall(r"is missing its (?:first |second |third )?term, `([^`]+)`", self.hint):
            mine = self._in_my_words(code)  # (a closed form's term, in gradtui's names: `- out.exp() * out.g.sum(…)`)
            if mine is not None:
                yield at(value, f"{self.seg(value)} {mine if mine.startswith(('- ', '+ ')) else f'+ {mine}'}", "hinted")
        for wrong, right in re.findall(r"`([^`]+)`(?: alone)? where `([^`]+)` belongs", self.hint):
            if re.fullmatch(r"[\w.]+", wrong) and re.fullmatch(r"[\w.]+", right):
                new = self.spelled(right)
                for node in ast.walk(value):
                    if new and isinstance(node, (ast.Name, ast.Attribute)) and (
                            self.seg(node) == wrong or self.seg(node).split(".")[-1] == wrong.split(".")[-1]):
                        yield at(node, new, "hinted")
                continue
            for wrong_here, right_here in [*_as_summed(wrong, right), *differing(wrong, right)]:
                mine, new = self._in_my_words(wrong_here), self._in_my_words(right_here)
                if mine is None or new is None:
                    continue
                # (and with what the method names read by its names: `1 + s`; a name whole, `s` read where `s * (1 + a
                # * (1 - s))` belongs, where it is read, as where it is made)
                pairs = [(mine, new), (self._named_within(mine), self._named_within(new))]
                for found, put in dict.fromkeys(pairs):
                    shape = _shape_of(found)
                    for node in ast.walk(value):
                        if isinstance(node, ast.expr) and shape is not None and _shape_of(self.seg(node)) == shape:
                            yield at(node, put, "hinted")
                # the code's numbers in a form of their own (`2 ** 0.5` for `math.sqrt(2)`, `torch.pi` for `math.pi`):
                # the part found by its value, and the right code around the code's own part
                mine, new = self._in_my_words(wrong_here, numbers=False), self._in_my_words(right_here, numbers=False)
                folded = _shape_of(_folded(mine))
                if folded is None or mine not in new or folded == _shape_of(mine):
                    continue
                for node in ast.walk(value):
                    if isinstance(node, ast.expr) and not isinstance(node, ast.Constant) and \
                            _shape_of(_folded(self.seg(node))) == folded:
                        yield at(node, self._math_as_mine(new.replace(mine, self.seg(node))), "hinted")
            yield from self._bound(value, wrong, right, at)

    def _bound(self, value: ast.expr, wrong: str, right: str, at) -> Iterator[Change]:
        """"`1 - h` where `1 - h**2` belongs" in code that writes h as `self.hs[t]` (a value of a loop's
        pass): the hint's code found in the method's, each name the method does not write standing for
        whatever the code has in its place, the same throughout, and the right code written with those."""
        try:
            pattern, written = ast.parse(wrong, mode="eval").body, ast.parse(right, mode="eval").body
        except SyntaxError:
            return
        free = {n.id for n in ast.walk(pattern) if isinstance(n, ast.Name) and n.id not in MODULES and self.spelled(n.id) is None}
        needed = {n.id for n in ast.walk(written) if isinstance(n, ast.Name) and n.id not in MODULES}
        if not free or isinstance(pattern, ast.Name) or not needed <= free | {n for n in needed if self.spelled(n)}:
            return
        for node in ast.walk(value):
            bound: dict[str, str] = {}
            if isinstance(node, ast.expr) and _binds(pattern, node, free, bound, self.seg):
                yield at(node, self._with_bound(right, bound), "hinted")

    def _with_bound(self, code: str, bound: dict[str, str]) -> str:
        """`code` with each name of `bound` written as the code it stands for, the others as the method writes them."""
        def written(name: re.Match) -> str:
            if name[0] not in bound:
                return self.spelled(name[0]) or name[0]
            return bound[name[0]] if binding(bound[name[0]]) >= 7 else f"({bound[name[0]]})"

        code = re.sub(r"\s*\*\*\s*", " ** ", code) if " ** " in self.text else code  # (`h**2` as the code spaces it)
        return CODE_NAME.sub(written, code)

    def _multiplied_in(self, value: ast.expr, at, operator: str, spelled: str, kind: str) -> Iterator[Change]:
        """`spelled` put back as a factor or a divisor the code left out: where the code has one too many, that one
        taken away; else each term (of the statement, of a group, of what a sum reduces) times or divided by it."""
        spelled = spelled if binding(spelled) >= 6 else f"({spelled})"  # `torch.sqrt(v)`, `d ** 2` as they are
        extra = ast.Div if operator == "factor" else ast.Mult  # where the code has one too many, it goes first
        for node in ast.walk(value):
            if isinstance(node, ast.BinOp) and isinstance(node.op, extra) and self.seg(node.right) == spelled:
                yield at(node, self.seg(node.left), kind)
            elif isinstance(node, ast.BinOp) and extra is ast.Mult and isinstance(node.op, ast.Mult) and \
                    self.seg(node.left) == spelled:
                yield at(node, self.seg(node.right), kind)
        groups = [n for n in ast.walk(value) if isinstance(n, ast.BinOp) and self._parenthesized(n)]
        # and what a sum or mean reduces (`x.mean(-1)`): a path's gradient from above belongs inside it
        reduced = [operand for n in ast.walk(value) if (operand := _reduced_operand(n)) is not None and not (
            operand is getattr(n.func, "value", None) and isinstance(operand, ast.Call))]
        # and each piece a cat or a stack joins (`out.g * a * s` of `torch.cat([out.g * s, out.g * a * s], -1)`)
        pieces = [piece for n in ast.walk(value) if isinstance(n, (ast.List, ast.Tuple)) for piece in n.elts]
        # (and a term inside one of those: `x2` of `g1 * (-x1 * s - x2)`, a derivative written term by term)
        inner = [term for group in [*groups, *reduced, *pieces] for term in _terms(group)]
        for term in dict.fromkeys(self._unmade([value, *_terms(value), *groups, *reduced, *pieces, *inner], value)):
            times = f"({self.seg(term)})" if _loose(term) else self.seg(term)
            if operator == "factor" and re.fullmatch(r"\d+(?:\.\d*)?", spelled):  # `2 * x`, as a number is written
                yield at(term, f"{spelled} * {self.seg(term) if binding(term) >= binding('2 * x') else times}", kind)
            yield at(term, f"{times} {'/' if operator == 'division by' else '*'} {spelled}", kind)

    def _named_within(self, code: str, by_function: bool = False) -> str:
        """`code` with each part the method assigns a name to read by that name (`dy` for `out.g * 1.5`,
        where `dy = out.g * 1.5`; `1 + s` for `1 + torch.sigmoid(inp)`, where `s = torch.sigmoid(inp)`).
        `by_function`: a call read by the one name the method gives a call of that function, whatever its
        operand (`s` for `torch.sigmoid(self.h[:, 12:])`, where `s = torch.sigmoid(b)`)."""
        try:
            tree = ast.parse(code, mode="eval")
        except SyntaxError:
            return code
        assigned = [(target.id, value) for n in ast.walk(self.method) if isinstance(n, ast.Assign) and len(n.targets) == 1
                    for target, value in _pairs(n.targets[0], n.value) if isinstance(target, ast.Name)]
        names = {ast.dump(value): name for name, value in assigned}
        if by_function:
            calls: dict[str, list[str]] = {}
            for name, value in assigned:
                if isinstance(value, ast.Call):
                    calls.setdefault(ast.dump(value.func), []).append(name)
            names |= {ast.dump(node): calls[key][0] for node in ast.walk(tree) if isinstance(node, ast.Call) and ast.dump(
                node) not in names and len(calls.get(key := ast.dump(node.func), [])) == 1}

        if not any(ast.dump(node) in names for node in ast.walk(tree)):
            return code  # (as it is: an unparse would respell its characters, `1e-5` as `1e-05`)

        class Named(ast.NodeTransformer):
            def generic_visit(self, node: ast.AST) -> ast.AST:
                name = names.get(ast.dump(node)) if isinstance(node, ast.expr) else None
                return ast.Name(name, ast.Load()) if name else super().generic_visit(node)

        return ast.unparse(Named().visit(tree))

    def _statistic(self) -> tuple[str, str] | None:
        """The operand and the axes of the variance or std whose derivative the hint says is wrong, as the
        forward writes them: (`inp`, `0`) of "the derivative of `inp.var(0, keepdim=True)`"."""
        found = re.search(r"the derivative of `([^`]+)`", self.hint)
        try:
            call = ast.parse(found[1], mode="eval").body if found else None
        except SyntaxError:
            return None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in ("var", "std")):
            return None
        args = list(call.args)
        operand = args.pop(0) if ast.unparse(call.func.value) in MODULES and args else call.func.value
        dims = args[0] if args else next((k.value for k in call.keywords if k.arg in ("dim", "axis")), None)
        return ast.unparse(operand), "" if dims is None else ast.unparse(dims)

    def _in_my_words(self, code: str, define=None, numbers: bool = True) -> str | None:
        """gradtui's `code` with each tensor as the method writes it, its characters otherwise kept
        (None: it names one the method lacks); `define` spells a name the method lacks by a helper
        of its own; `numbers`: `math`'s, in a file that imports none, as their values."""
        missing = []

        def spelled(found: re.Match) -> str:
            name = found[0]
            if name in MODULES or keyword.iskeyword(name) or name == "self":  # (`self.t` as the hint quotes it)
                return name
            spelling = self._formula_name(name) or (define(name) if define else None)
            if spelling is None:
                missing.append(name)
            return spelling or name

        mine = CODE_NAME.sub(spelled, code)
        if numbers and "math." in mine and not re.search(r"^\s*(import math|from math import)", self.text, re.MULTILINE):
            mine = _math_as_numbers(mine)  # (`math.sqrt(2 / math.pi)` in a file that imports no math: its number)
        return None if missing else mine

    def _math_as_mine(self, code: str) -> str:
        """gradtui's `math.sqrt(…)` and `math.pi` in a file that imports no math: `(…) ** 0.5`, and `torch.pi`."""
        if "math." not in code or re.search(r"^\s*(import math|from math import)", self.text, re.MULTILINE):
            return code
        try:
            tree = ast.parse(code, mode="eval")
        except SyntaxError:
            return code

        class Mine(ast.NodeTransformer):
            def visit_Call(self, node: ast.Call) -> ast.AST:
                self.generic_visit(node)
                if ast.unparse(node.func) == "math.sqrt" and len(node.args) == 1:
                    return ast.BinOp(node.args[0], ast.Pow(), ast.Constant(0.5))
                return node

            def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
                if ast.unparse(node) == "math.pi":
                    return ast.Attribute(ast.Name("torch", ast.Load()), "pi", ast.Load())
                return self.generic_visit(node)

        return _math_as_numbers(ast.unparse(Mine().visit(tree)))

    def _accumulated(self, statement: ast.stmt, rank: int) -> Iterator[Change]:
        """A second path's gradient assigned where it must add (`dx = a` after `dx = b`: `dx += a`); `g[ids]
        = v` adding up where an id comes twice: `g.index_put_((ids,), v, accumulate=True)`, or, in a loop
        over the ids one at a time, `g[i] += v`."""
        target = statement.targets[0] if isinstance(statement, ast.Assign) and len(statement.targets) == 1 else None
        if isinstance(target, (ast.Name, ast.Attribute)) and any(
                statement.lineno > other.lineno and any(self.seg(t) == self.seg(target) for t in _targets(other))
                for other in self.statements):  # `dx = a` overwriting the path an earlier `dx = b` computed
            start, end = self.span(statement)
            yield Change(start, end, f"{self.seg(target)} += {self.seg(statement.value)}", "accumulate", rank)
        if not isinstance(target, ast.Subscript):
            return
        start, end = self.span(statement)
        tensor, index, value = self.seg(target.value), self.seg(target.slice), self.seg(statement.value)
        indices = f"({index})" if isinstance(target.slice, ast.Tuple) else f"({index},)"
        edits = [Change(start, end, f"{tensor}.index_put_({indices}, {value}, accumulate=True)", "accumulate", rank),
                 Change(start, end, f"{self.seg(target)} += {value}", "accumulate", rank)]
        looped = any(isinstance(n, (ast.For, ast.While)) and statement in ast.walk(n) for n in ast.walk(self.method))
        yield from reversed(edits) if looped else edits

    def _with_operator(self, node: ast.BinOp, op: str) -> str:
        """The operation as the code writes it, its operator changed and its layout kept (a term on a line of
        its own stays there)."""
        start, end = self.span(node)
        left_end, right_start = self.span(node.left)[1], self.span(node.right)[0]
        between = self.text[left_end:right_start]
        cut = left_end + between.index(OPERATOR_SIGNS[type(node.op)])
        return self.text[start:cut] + op + self.text[cut + 1:end]

    def _operand(self, node: ast.expr) -> str:
        """An operand as the code writes it, with its parentheses (`(var + eps)` of `(var + eps) ** -1.5`)."""
        return f"({self.seg(node)})" if self._parenthesized(node) else self.seg(node)

    def _parenthesized(self, node: ast.expr) -> bool:
        start, end = self.span(node)
        return self.text[start - 1:start] == "(" and self.text[end:end + 1] == ")"

    def _everywhere(self, value: ast.expr, name: str, other: str, rank: int) -> Iterator[Change]:
        start, end = self.span(value)
        nodes = sorted((self.span(n) for n in ast.walk(value) if isinstance(n, (ast.Name, ast.Attribute))
                        and isinstance(n.ctx, ast.Load) and self.seg(n) == name), reverse=True)
        if len(nodes) < 2:
            return
        text = self.text[start:end]
        for node_start, node_end in nodes:
            text = text[:node_start - start] + other + text[node_end - start:]
        yield Change(start, end, text, "name", rank)

    def _transposes(self, node, seg: str, at) -> Iterator[Change]:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):  # (a @ b).T written as b.T @ a.T
            yield at(node, f"{self._transposed(node.right)} @ {self._transposed(node.left)}", "transpose")
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr in ("t", "transpose", "permute") or (
                isinstance(node, ast.Attribute) and node.attr in ("T", "mT")):
            inner = func.value if func is not None else node.value
            yield at(node, self.seg(inner), "transpose")
        elif isinstance(node, (ast.BinOp, ast.Name, ast.Attribute, ast.Call, ast.Subscript)) and not (
                isinstance(node, ast.Name) and (node.id == "self" or node.id in MODULES)):
            for t in self.transposes:
                yield at(node, f"({seg}){t}" if isinstance(node, ast.BinOp) else f"{seg}{t}", "transpose")

    def _reshapes(self, node, seg: str, at) -> Iterator[Change]:
        """A dimension of size 1 added, taken away, or the gradient made its tensor's shape."""
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr in ("squeeze", "unsqueeze", "view", "reshape", "flatten"):
            yield at(node, self.seg(func.value), "shape")
        if isinstance(node, (ast.Name, ast.Attribute, ast.BinOp, ast.Call, ast.Subscript)):
            wrapped = f"({seg})" if isinstance(node, ast.BinOp) else seg
            for call in (".unsqueeze(-1)", ".squeeze(-1)", *(f".reshape({shape})" for shape in self.shapes)):
                yield at(node, wrapped + call, "shape")

    def _squeezes(self, node: ast.BinOp, at) -> Iterator[Change]:
        """An (N, 1) operand squeezed, or an (N,) one unsqueezed, before an elementwise operation
        broadcasts them to (N, N)."""
        if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            return
        operands = [o for o in (node.left, node.right) if isinstance(o, (ast.Name, ast.Attribute, ast.Call, ast.Subscript))
                    and not any(isinstance(n, ast.Attribute) and n.attr in SIZES for n in ast.walk(o))]
        for call in (".squeeze(-1)", ".unsqueeze(-1)"):
            for operand in operands:
                yield at(operand, self.seg(operand) + call, "squeeze")

    def _transposed(self, node: ast.expr) -> str:
        """An operand transposed, as simply as the code allows: `x.t()` becomes `x`, `x` becomes `x.t()`."""
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and (func.attr == "t" and not node.args or func.attr == "transpose" and sorted(
                self.seg(a) for a in node.args) in (["-1", "-2"], ["0", "1"])):
            return self.seg(func.value)
        if isinstance(node, ast.Attribute) and node.attr in ("T", "mT"):
            return self.seg(node.value)
        seg = self.seg(node)
        return f"({seg}){self.t}" if isinstance(node, (ast.BinOp, ast.UnaryOp)) else f"{seg}{self.t}"

    def _sums(self, node, seg: str, at, reduced: bool = False) -> Iterator[Change]:
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr in AXIS_CALLS and func.attr not in ("sum", "mean"):
            cut = seg.rfind(f".{func.attr}(")
            arguments = [self.seg(a) for a in node.args]
            if cut > 0 and arguments:  # `x.max(0, keepdim=True)` over the other axis
                rest = ", ".join([*arguments[1:], *(self.seg(k) for k in node.keywords)])
                for other in ("0", "1", "-1"):
                    if other != arguments[0]:
                        yield at(node, f"{seg[:cut]}.{func.attr}({other}{', ' + rest if rest else ''})", "axis")
        if isinstance(func, ast.Attribute) and func.attr in ("sum", "mean"):
            functional = _reduced_operand(node) not in (None, func.value)
            if functional:  # `torch.sum(x, 0)`: what it reduces is its first argument
                receiver, arguments = self.seg(node.args[0]), [self.seg(a) for a in node.args[1:]]
                call = f"({', '.join([*arguments, *(self.seg(k) for k in node.keywords)])})"
            else:
                cut = seg.rfind(f".{func.attr}")
                receiver, call = seg[:cut], seg[cut + len(func.attr) + 1:]  # `(a * b)` (its parentheses kept) and `(0)`
                arguments = [self.seg(a) for a in node.args]

            def reduced(inner: str, reduction: str, args: str) -> str:  # in the code's own form, method or function
                if functional:
                    return f"torch.{reduction}({inner}{', ' + args[1:-1] if args[1:-1] else ''})"
                return f"{inner}.{reduction}{args}"

            def times(other: str) -> str:
                return f"{receiver} * {other}" if functional and binding(receiver) >= 4 else f"({receiver} * {other})"

            yield at(node, receiver, "sum")
            yield at(node, reduced(receiver, "mean" if func.attr == "sum" else "sum", call), "reduction")
            for name in self.tensors:
                if not self.gradient(name):
                    yield at(node, reduced(times(name), func.attr, call), "factor")
            for gradient in self.gradients:  # `y.sum()` for `(out.g * y).sum()`
                yield at(node, reduced(times(gradient), func.attr, call), "upstream")
            keywords = {k.arg: self.seg(k.value) for k in node.keywords if k.arg}
            axis = arguments[0] if arguments else keywords.get("dim", keywords.get("axis"))  # (NumPy's words too)
            kept = keywords.get("keepdim", keywords.get("keepdims"))
            for other in ("0", "1", "-1", "(0, 1)"):
                if other != axis:
                    yield at(node, reduced(receiver, func.attr, f"({other}{', keepdim=True' if kept else ''})"), "axis")
                if other != axis and axis is None:  # a sum of everything where a row's, kept, belongs
                    yield at(node, reduced(receiver, func.attr, f"({other}, keepdim=True)"), "axis")
            if axis is not None:
                toggled = "" if kept else ", keepdim=True"
                yield at(node, reduced(receiver, func.attr, f"({axis}{toggled})"), "sum")
        elif isinstance(node, (ast.BinOp, ast.Name, ast.Attribute, ast.Call, ast.Subscript)) and not reduced:
            wrapped = f"({seg})" if isinstance(node, ast.BinOp) else seg
            # "(.sum(1) missing)", "(.sum((0, 1)) missing)": that one first
            hinted = re.findall(r"\((\.sum\((?:[^()]|\([^()]*\))*\)) missing\)", self.hint)
            for call in dict.fromkeys([*hinted, ".sum(0)", ".sum(0, keepdim=True)", ".sum(-1, keepdim=True)"]):
                yield at(node, wrapped + call, "sum")

    def _binary(self, node: ast.BinOp, at) -> Iterator[Change]:
        left, right = self._operand(node.left), self._operand(node.right)
        if isinstance(node.op, ast.Sub):  # targ - inp for inp - targ: the sign, where it was lost
            yield at(node, f"{right} - {left}", "sign")
        for op in OPERATORS.get(type(node.op), ()):
            yield at(node, self._with_operator(node, op), "operator")
        if isinstance(node.op, ast.Mult):  # `probs * d` where the derivative divides: `d / probs`
            yield at(node, f"{right} / {left}", "operator")
        if isinstance(node.op, (ast.Mult, ast.Div, ast.Add, ast.Sub, ast.MatMult)):
            yield at(node, left, "drop")
            if not isinstance(node.op, (ast.Div, ast.Sub)):
                yield at(node, right, "drop")
        if isinstance(node.op, ast.MatMult):  # `g @ x.T` for `x.T @ g`: an N×N product
            yield at(node, f"{right} @ {left}", "transpose")
        if isinstance(node.op, ast.Pow):
            yield at(node, left, "power")
            for power in ("2", "3", "-1", "-2", "-0.5", "-1.5", "0.5"):
                if power != right:
                    yield at(node, f"{left} ** {power}", "power")


def _reduced_operand(node: ast.AST) -> ast.expr | None:
    """What a sum or a mean reduces: `x` of `x.sum(0)`, and of `torch.sum(x, 0)`; None for anything else."""
    func = node.func if isinstance(node, ast.Call) else None
    if not isinstance(func, ast.Attribute) or func.attr not in ("sum", "mean"):
        return None
    if isinstance(func.value, ast.Name) and func.value.id == "torch":
        return node.args[0] if node.args else None
    return func.value


AXIS_CALLS = frozenset({"sum", "mean", "max", "min", "amax", "amin", "argmax", "softmax", "log_softmax", "var", "std",
                        "logsumexp", "cumsum"})
MODULES = frozenset({"torch", "F", "np", "numpy", "math", "nn", "einsum"})
SIZES = frozenset({"shape", "ndim", "dtype", "device", "size", "numel", "dim"})
CASTS = frozenset({"float", "double", "half", "bfloat16", "to", "type"})
OPERATORS = {ast.Mult: ("/",), ast.Div: ("*",), ast.Add: ("-",), ast.Sub: ("+",)}
OPERATOR_SIGNS = {ast.Mult: "*", ast.Div: "/", ast.Add: "+", ast.Sub: "-"}
COMPARISONS = {ast.Gt: (">=", "<"), ast.GtE: (">", "<="), ast.Lt: ("<=", ">"), ast.LtE: ("<", ">=")}


def _kinds_for(hint: str | None) -> list[str]:
    statement = next((kinds for words, kinds in STATEMENT_SLIPS if words in (hint or "")), None)
    if statement is not None:
        return list(statement)
    said = _words_of(hint or "")
    first = [kind for pattern, kinds in HINTED if re.search(pattern, said) for kind in kinds]
    if re.search(r"where `[^`]*\b(?:std|sqrt)\b[^`]*` belongs", hint or ""):  # a square root the code left out
        first.insert(0, "power")
    if "comes to `" in (hint or ""):  # gradtui's own writing of what is missing: a few edits, each the whole of it,
        first.insert(1, "derived")  # after the kind the hint's words ask for first, before the many others
    rest = [kind for kind in KINDS if kind not in ASKED_ONLY]
    if NO_KNOWN_SLIP in (hint or ""):  # no slip named: the edits that undo the commonest slips of a line first
        first = [*BLIND, *first]
    # the user's own line, edited as the hint says, first; then a gradient the code computes and never reads
    return list(dict.fromkeys(["hinted", "unread", *first, "formula", *rest]))


def _words_of(hint: str) -> str:
    """A hint's words without its code: "… with the variance term `- xhat * (…).sum(0)` flipped: (N *
    dxhat …); fix: …" says "flipped", not "sum"."""
    said = hint.split("; fix:")[0]
    if re.match(r"^\S+ is ", said):  # a kind's hint: its formula follows the last ": "
        said = said.rsplit("): ", 1)[0] if "): " in said else said.rsplit(": ", 1)[0]
    said = re.sub(r"`[^`]*`|\([^()]*:\d+\)", "", said)  # its code, and where it is (`(layer.py:14)`)
    return "".join(part for part in re.split(r"(: |, )", said) if not _formula_text(part))


def _formula_text(text: str) -> bool:
    """Is `text` a formula (`out * (out.g + (out.g * out).sum(dim))`), not words?"""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return False
    return any(isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call)) for node in ast.walk(tree))


def _as_summed(wrong: str, right: str) -> list[tuple[str, str]]:
    """A hint's pair of code, and the same in the `(n * d - d.sum(0) - …) / n` form a normalisation's
    backward is often written in (a mean the hint says is a sum there, with or without keepdim)."""
    pairs = [(wrong, right)]
    if ".mean(" in wrong + right:
        summed = [code.replace(".mean(", ".sum(") for code in (wrong, right)]
        pairs += [tuple(summed), tuple(code.replace(", keepdim=True", "") for code in summed)]
    return pairs


def _shape_of(code: str) -> str | None:
    """`code`'s tree, spacing and redundant parentheses aside (None: it is no expression)."""
    try:
        return ast.dump(ast.parse(code.strip(), mode="eval").body)
    except SyntaxError:
        return None


def _math_as_numbers(code: str) -> str:
    """`code` with each expression of numbers and `math`'s constants and functions alone written as its
    value: `math.sqrt(2 / math.pi)` as `0.7978845608028654`."""
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError:
        return code

    def constant(node: ast.AST) -> bool:
        if isinstance(node, ast.Attribute):
            return isinstance(node.value, ast.Name) and node.value.id == "math"
        if isinstance(node, ast.Call):
            return constant(node.func) and all(constant(a) for a in node.args) and not node.keywords
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            return all(constant(child) for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr))
        return isinstance(node, ast.Constant) and isinstance(node.value, (int, float))

    class Evaluated(ast.NodeTransformer):
        def visit(self, node: ast.AST) -> ast.AST:
            if isinstance(node, ast.expr) and constant(node) and "math" in ast.unparse(node):
                return ast.Constant(eval(compile(ast.Expression(node), "<math>", "eval"), {"math": math}))
            return self.generic_visit(node)

    return ast.unparse(Evaluated().visit(tree))


CONSTANTS = {"math.pi": math.pi, "torch.pi": math.pi, "np.pi": math.pi, "numpy.pi": math.pi, "math.e": math.e}


def _folded(code: str) -> str:
    """`code` with each part made of numbers alone written as its value, rounded (`self.h / 2 ** 0.5` and `h /
    math.sqrt(2)` alike: `h / 1.4142135624`), to find a part of a hint's code in code that writes its numbers
    its own way."""
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        return code

    def number(node: ast.AST) -> float | None:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.Attribute):
            return CONSTANTS.get(ast.unparse(node))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = number(node.operand)
            return None if inner is None else -inner
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "math.sqrt" and len(node.args) == 1:
            inner = number(node.args[0])
            return None if inner is None or inner < 0 else math.sqrt(inner)
        if isinstance(node, ast.BinOp) and type(node.op) in FOLDABLE:
            left, right = number(node.left), number(node.right)
            try:
                return None if left is None or right is None else FOLDABLE[type(node.op)](left, right)
            except (ArithmeticError, ValueError):
                return None
        return None

    class Folded(ast.NodeTransformer):
        def visit(self, node: ast.AST) -> ast.AST:
            value = number(node) if isinstance(node, ast.expr) else None
            if isinstance(value, (int, float)):  # (not a power's complex root)
                return ast.Constant(float(f"{value:.10g}"))
            return self.generic_visit(node)

    return ast.unparse(Folded().visit(tree))


FOLDABLE = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
            ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b}


def _pairs(target: ast.expr, value: ast.expr) -> list[tuple[ast.expr, ast.expr]]:
    """What an assignment names, each with its value: `p, y = self.p, self.y` names two."""
    if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
        return list(zip(target.elts, value.elts))
    return [(target, value)]


def _line_offsets(text: str) -> list[int]:
    offsets, position = [], 0
    for line in text.splitlines(keepends=True):
        offsets.append(position)
        position += len(line)
    return offsets or [0]


def _statements_nearest_last(method: ast.FunctionDef, hint: str) -> list[ast.stmt]:
    """The method's assignments: those that write or read the gradient of a value the hint names first (`dsq`
    where it names `sq = self.xmu ** 2`: in a backward staged a value a line, the slip is in one of those),
    then those that set a `.g` (the last of them first), then the rest from the last up: the nearer a
    statement is to the gradient set, the likelier the slip."""
    found = [n for n in ast.walk(method) if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign)) or _in_place_call(n)]
    found.sort(key=lambda n: n.lineno, reverse=True)
    sets_g = [n for n in found if any(isinstance(t, ast.Attribute) and t.attr == "g" for t in _targets(n))]
    def gradients(pattern: str) -> set[str]:
        return {f"d{word.removeprefix('self.')}" for code in re.findall(pattern, hint) for word in re.findall(r"[\w.]+", code)
                if word.removeprefix("self.").isidentifier()}

    # the value the gradient reaches unchanged (`towards `t``) before the others a quoted forward line reads
    reached, named = gradients(r"(?:towards|reaches) `([^`]+)`"), gradients(r"`([^`]+)`")
    near = [n for n in found if named & {name.id for name in ast.walk(n) if isinstance(name, ast.Name)}]
    near.sort(key=lambda n: (not reached & {t.id for t in _targets(n) if isinstance(t, ast.Name)},
                             not reached & {name.id for name in ast.walk(n) if isinstance(name, ast.Name)}))
    return near + [n for n in sets_g if n not in near] + [n for n in found if n not in sets_g and n not in near]


def _targets(statement: ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.Expr):  # `g.index_add_(0, ids, v)` writes g
        return [statement.value.func.value]
    return statement.targets if isinstance(statement, ast.Assign) else [statement.target]


def _binds(pattern: ast.AST, node: ast.AST, free: set[str], bound: dict[str, str], seg) -> bool:
    """Is `node` the code `pattern`, a name of `free` in it standing for any code (the same code wherever
    the name comes again)? `bound` takes what each stands for."""
    if isinstance(pattern, ast.Name) and pattern.id in free:
        return isinstance(node, ast.expr) and bound.setdefault(pattern.id, seg(node)) == seg(node)
    if type(pattern) is not type(node):
        return False
    spread = False  # (a call's last argument standing for the rest of its arguments, keywords too)
    for field in pattern._fields:
        mine, theirs = getattr(pattern, field), getattr(node, field, None)
        if field == "ctx":
            continue
        if field == "args" and isinstance(pattern, ast.Call) and not pattern.keywords and node.keywords and mine and len(
                mine) == len(theirs) and isinstance(mine[-1], ast.Name) and mine[-1].id in free:
            # `p.sum(dim)` of a hint stands for `self.p.sum(-1, keepdim=True)` too: its `dim` for `-1, keepdim=True`
            said = ", ".join([seg(theirs[-1]), *map(seg, node.keywords)])
            if not all(_binds(a, b, free, bound, seg) for a, b in zip(mine[:-1], theirs)) or bound.setdefault(
                    mine[-1].id, said) != said:
                return False
            spread = True
            continue
        if field == "keywords" and spread:
            continue
        if isinstance(mine, list):
            if not isinstance(theirs, list) or len(mine) != len(theirs) or not all(
                    _binds(a, b, free, bound, seg) for a, b in zip(mine, theirs)):
                return False
        elif isinstance(mine, ast.AST):
            if not _binds(mine, theirs, free, bound, seg):
                return False
        elif mine != theirs:
            return False
    return True


def _in_place(node: ast.AST) -> bool:
    """A call of a method that changes its tensor in place (`inp.clamp_min_(0.)`)."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and IN_PLACE.fullmatch(node.func.attr) is not None


def _in_place_call(node: ast.AST) -> bool:
    """A statement that is one call writing into what it is called on: a tensor's in-place method
    (`dC.index_add_(0, ids, v)`), or a list's `append` or `insert` (a backward through time collects a
    gradient a step: `dx.insert(0, da @ self.wx.t())`)."""
    return isinstance(node, ast.Expr) and (_in_place(node.value) or (
        isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr in ("append", "insert") and isinstance(node.value.func.value, ast.Name)))


def _root(node: ast.expr) -> str | None:
    """The name an attribute chain starts from: `torch` of `torch.nn.functional`."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def _terms(node: ast.expr) -> list[ast.expr]:
    """The terms of a sum or difference (`a - b + c`: a, b, c), and of one inside a product (`g / n *
    (n * d - d.sum(0))`), and a matrix product's operands, each a place a factor may be missing."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        return [t for term in _additive(node) for t in (term, *_matmul_operands(term))]
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
        return [*_terms(node.left), *_terms(node.right)]
    return _matmul_operands(node)


def _matmul_operands(node: ast.expr) -> list[ast.expr]:
    """`x.T @ g`: its operands, and their terms (g the gradient a factor may be missing from)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return [node.left, node.right, *_terms(node.left), *_terms(node.right)]
    return []


def _additive(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        return [*_additive(node.left), *_additive(node.right)]
    return [node]


def _loose(node: ast.expr) -> bool:
    """Does `node` need parentheses before `* x` (a sum, a comparison, a conditional)?"""
    return isinstance(node, (ast.BoolOp, ast.Compare, ast.IfExp, ast.Lambda, ast.NamedExpr)) or (
        isinstance(node, ast.BinOp) and not isinstance(node.op, (ast.Mult, ast.Div, ast.MatMult, ast.Pow, ast.FloorDiv)))


def _divisor(node: ast.AST, root: ast.AST) -> bool:
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) and n.right is node for n in ast.walk(root))


def _binding_needed(node: ast.AST, root: ast.AST) -> float:
    """How tightly code put where `node` stands must bind: a product may stand as `b` of `a - b`, not as
    `b` of `a / b`, nor where a method is called on it (`(a * b).sum()`); anything may be an argument."""
    for parent in ast.walk(root):
        if isinstance(parent, ast.BinOp) and node in (parent.left, parent.right):
            own = binding(parent)
            if isinstance(parent.op, (ast.Pow, ast.MatMult)):  # `a ** b`; `(a * g) @ w`, as people write it
                return own + 1
            return own + (1 if node is parent.right else 0)  # `a - (b - c)`, `a / (b * c)`: the right side tighter
        if isinstance(parent, ast.UnaryOp) and node is parent.operand:
            return binding(parent)
        if isinstance(parent, ast.Call) and node in parent.args or isinstance(parent, ast.keyword) and node is parent.value:
            return 0
    return 7  # a receiver (`(…).sum()`), a subscript's value, or unknown: as tight as a name


def _in_call(node: ast.AST, root: ast.AST) -> bool:
    """Is `node` an argument of a call (`var + eps` of `f(var + eps)`: its parentheses are the call's)?"""
    return any(isinstance(n, ast.Call) and node in n.args for n in ast.walk(root))


def _called(node: ast.AST, root: ast.AST) -> bool:
    """Is `node` the function of a call (`x.sum` of `x.sum(0)`, `torch.zeros_like`)?"""
    return any(isinstance(n, ast.Call) and n.func is node for n in ast.walk(root))


def _in_args(node: ast.AST, root: ast.AST) -> bool:
    """Is `node` a number-like argument of a call (an axis, a size): never a tensor to edit."""
    return any(isinstance(n, ast.Call) and any(a is node and isinstance(a, (ast.Constant, ast.UnaryOp, ast.Tuple))
                                               for a in n.args) for n in ast.walk(root))


def statement_edits(text: str, lines: tuple[int, ...], hint: str | None, names: tuple[str, ...] = (),
                    batch: str | None = None, gradients: tuple[str, ...] = ()) -> Iterator[tuple[int, int, str]]:
    """The assignments at `lines` of `text` (notebook lines that write one tensor: `dbndiff = …` then
    `dbndiff += …`) written otherwise, one edit of one of them at a time, the hint's kind first over
    all of them: (where the statement edited starts and ends in `text`, its new text). `names` are
    the tensors it may use, `gradients` the gradients it may use (those compared before: `dh`),
    `batch` the name that holds the batch size."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return
    statements = [next((node for node in ast.walk(tree) if (isinstance(node, (ast.Assign, ast.AugAssign)) or _in_place_call(
        node)) and node.lineno == line), None) for line in lines]
    statements = [statement for statement in statements if statement is not None]
    if not statements:
        return
    body = []
    for statement in statements:
        loops = [n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While)) and statement in ast.walk(n)]
        body.append(min(loops, key=lambda n: n.end_lineno - n.lineno) if loops else statement)  # (a `+=` in a loop)
    holder = ast.FunctionDef(name="_", args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[],
                                                          defaults=[]), body=body, decorator_list=[])
    edits = Edits(text, holder, hint, names=names, gradients=gradients)
    edits.batch = edits.batch or batch
    spans = [edits.span(statement) for statement in statements]
    for change in edits:
        for start, end in spans:
            if start <= change.start and change.end <= end:
                yield start, end, text[start:change.start] + change.new + text[change.end:end]
                break


# -- running an edit ---------------------------------------------------------------------------------

@dataclass
class Checked:
    """A check of a copy of the user's file: where it stops, and which gradients matched."""

    first: Location | None
    hint: str | None
    matched: frozenset[str]  # the gradients (and outputs) that matched, by name
    method: tuple[str | None, int | None]  # the first mismatch's method: file, line
    role: str | None = None  # the failing tensor's role in its layer: inp, w, gamma, …
    attributes: dict | None = None  # role -> the attribute of the user's layer that holds it (gamma -> g)

    @property
    def passes(self) -> bool:
        return self.first is None


def run_check(config: RunConfig, screen: bool = False, data=None, past: Checked | None = None, network=None,
              params=None) -> Checked:
    """The check of `config` (its layer file a copy), stepped to the end and replayed in float64 as
    `gradtui check` is; or, as a screen, with no hint and no replay (it asks only what matches).
    `data`: the caller's Dataset, in place of what the config loads. `past`: the check an edit screened
    must get past; a screen whose first mismatch does not stops there (most edits tried mend nothing, and
    the steps after would not change what the screen says). `network`, `params`: the caller's objects and
    weights, in place of what the config's layer file builds."""
    from gradtui.replay import needs_replay, replay_in_float64
    from gradtui.session import DebugSession

    session = DebugSession(config, data, network, params=params, hints=not screen)
    if past is None or session.run_to_mismatch() is None or _past(checked(session), past):
        session.run_to_end()
    replay = replay_in_float64(session) if not screen and needs_replay(session) else None
    return checked(session, replay)


def checked(session, replay=None) -> Checked:
    """What a check that ran (a session, and its float64 replay if one ran) says a fix needs."""
    from gradtui.running import source_location

    first, owner = session.first_mismatch, session
    if first is None and replay is not None and replay.mismatch is not None:
        first, owner = replay.mismatch, replay.session
    matched = frozenset(t.name for r in session.reports for t in r.tensors if t.match)
    if first is None:
        return Checked(None, None, matched, (None, None))
    report = owner.reports[first.index]
    hint = next((t.hint for t in report.tensors if t.name == first.tensor), None)
    spec = report.step.spec
    method = source_location(owner.network.class_for(spec), report.step.direction)
    tensors = {spec.inp: "inp", **dict(zip(spec.params, spec.roles[1:]))}
    role = tensors.get((first.tensor or "").removesuffix(".g"))
    layer = owner.layers[owner.network.specs.index(spec)]
    attributes = {}
    for name, named_role in tensors.items():
        value = owner.values.get(name)
        attribute = next((a for a, v in vars(layer).items() if v is value), None) if value is not None else None
        if attribute is not None:
            attributes[named_role] = attribute
    return Checked(first, hint, matched, method, role, attributes)


def fix_for(session, replay=None, digest: str | None = None) -> Fix | None:
    """The verified fix of a check that ran on a layer file (None: it passed, it ran on objects of the
    caller's and not a file, or no edit was verified), each edit checked on the rows the check ran on;
    `digest`: the layer file's when it ran."""
    if session.config.layers is None:
        return None
    found = checked(session, replay)
    # the options as asked: the trials build the file's Model again from them, as the check did
    return None if found.passes else find_fix(session.asked, found, digest, session.data)


def digest_of(path: Path | None) -> str | None:
    """The layer file as it is now, to tell later whether it changed."""
    return file_digest(Path(path)) if path is not None and Path(path).is_file() else None


def named_by_an_edit(session, replay=None, digest: str | None = None) -> Fix | None:
    """Where no slip of the searches fits the first mismatch (its hint the fallback's, or the bare fact of its
    shape), the one edit of the user's line that makes it match, run and verified, said in its hint in place
    of where to look
    (`gradtui check` and `gradtui.check` ask it; the app shows the fix itself). None: the hint names a
    slip, the code at fault is in no file of the user's (or, on objects, not the code that ran), or no one edit
    among the first `UNNAMED_CANDIDATES` does it."""

    found = checked(session, replay)
    if found.passes or found.first.tensor is None:
        return None
    shapes_alone = re.fullmatch(r"\S+ is \([^)]*\), \S+ is \([^)]*\)", found.hint or "")  # (other_shape's bare fact)
    if NO_KNOWN_SLIP not in (found.hint or "") and not shapes_alone:
        return None
    fix = find_fix(session.asked, found, digest, session.data, most_edits=1, most_candidates=UNNAMED_CANDIDATES) \
        if session.config.layers is not None else _one_edit_on_objects(session, found)
    if fix is None:
        return None
    changed = _one_line_changed(fix.source.text, fix.fixed_text)
    if changed is None:
        return None  # (an edit over several lines is shown as the fix, not said in a sentence)
    line, old, new = changed
    owner = session if session.first_mismatch is not None else replay.session
    report = owner.reports[found.first.index]
    where = f"{fix.source.name}:{line}" if fix.source.cell is None else f"{fix.source.name}, line {line}"
    parts = _parts_changed(old, new)
    edit = f"`{parts[1]}` where `{parts[0]}` stands in `{old}`" if parts else f"`{new}` where `{old}` stands"
    said = f"run and verified: {edit} ({where})"
    hint = f"{found.hint}; one edit of its line makes it match, {said}" if shapes_alone else \
        found.hint.split(f" and {NO_KNOWN_SLIP};")[0] + f" and fits no slip of the forward's operations, but one edit " \
        f"of its line does, {said}"
    tensors = tuple(replace(t, hint=hint) if t.name == found.first.tensor and t.hint else t for t in report.tensors)
    owner.reports[found.first.index] = replace(report, tensors=tensors)
    return fix


def _one_edit_on_objects(session, found: Checked) -> Fix | None:
    """named_by_an_edit's search where the check ran on the caller's own objects: the class at fault is in a
    file of the user's, and each edit of its method is run on those objects, the method replaced in its class
    for the run (the file is not written)."""
    source = user_source(found.method[0])
    if source is None or source.cell is not None:
        return None
    spec = session.steps[found.first.index].spec
    trials = _ObjectTrials(session, session.network.class_for(spec), found.method[1])
    if not trials.runs_the_file(source) or not trials.shows_the_slip(source, found):
        return None
    with bounded_memory(session.config.resolve_device()):
        result = trials.search(source, found, UNNAMED_CANDIDATES)
    if result is None:
        return None
    text, after, said = result
    verdict = "with this edit every gradient matches" if after.passes else \
        f"with this edit, {_said(after.first)} still mismatches"
    return Fix(source, text, (said,), after.passes, verdict, file_digest(source.path), trials.tried)


def _parts_changed(old: str, new: str) -> tuple[str, str] | None:
    """The smallest parts in which two versions of a statement differ (`self.d` and `self.d ** 2`), where
    they are smaller than its value."""
    try:
        before, after = (ast.parse(line).body for line in (old, new))
    except SyntaxError:
        return None
    if len(before) != 1 or len(after) != 1 or not all(isinstance(s, (ast.Assign, ast.AugAssign)) for s in (*before, *after)):
        return None
    a, b = before[0].value, after[0].value
    old_code, new_code = ast.unparse(a), ast.unparse(b)
    chain = _one_change(a, b)
    for x, y in reversed(chain or []):  # the smallest part that changed, widened till each stands once in its line
        if old_code.count(ast.unparse(x)) == 1 and new_code.count(ast.unparse(y)) == 1:
            return None if x is a else (ast.unparse(x), ast.unparse(y))
    return None


def _one_change(a: ast.AST, b: ast.AST) -> list[tuple[ast.AST, ast.AST]] | None:
    """The pairs of expressions from the two trees' roots down to the one place they differ (None: they
    differ in more than one place, or not at all)."""
    if ast.dump(a) == ast.dump(b):
        return None
    children = list(zip(ast.iter_child_nodes(a), ast.iter_child_nodes(b)))
    if type(a) is type(b) and same_but_children(a, b) and len(children) == len(list(ast.iter_child_nodes(b))):
        apart_here = [(x, y) for x, y in children if ast.dump(x) != ast.dump(y)]
        if len(apart_here) != 1:
            return None
        below = _one_change(*apart_here[0])
        return None if below is None else [(a, b), *below] if isinstance(a, ast.expr) else below
    return [(a, b)] if isinstance(a, ast.expr) else None


def _one_line_changed(before: str, after: str) -> tuple[int, str, str] | None:
    """The line an edit changes, where it changes one: (its number, counted from 1; it before; it after)."""
    old, new = before.splitlines(), after.splitlines()
    changes = [c for c in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes() if c[0] != "equal"]
    if len(changes) != 1:
        return None
    kind, i, i_end, j, j_end = changes[0]
    if kind != "replace" or i_end - i != 1 or j_end - j != 1:
        return None
    return i + 1, old[i].strip(), new[j].strip()


def find_fix(config: RunConfig, checked: Checked, digest: str | None = None, data=None,
             most_edits: int = MOST_EDITS, most_candidates: int = MOST_CANDIDATES) -> Fix | None:
    """The verified edits that take the check of `config` past its first mismatch (`checked`), one
    slip after another (at most `most_edits`, each among its first `most_candidates`); None when the
    first has none (or is not in a file of the user's). `digest`: the file's when the check ran
    (FixError if it changed since); `data`: the caller's Dataset, each edit checked on it (None: on
    what `config` loads, as the check did)."""
    grown = checked.first is not None and GROWN.search(checked.hint or "")
    if grown or (checked.first is not None and checked.first.tensor is None):
        # a slip too small to fail where it is made (1/n for 1/(n−1)) fails there in float64 on the first rows; a step
        # that raised on every row (its N×N tensor out of memory) shows there the gradient it makes wrong
        sharper = run_check(_screen(config), data=None if data is None else data.first_rows_in_float64(SCREEN_ROWS))
        if sharper.first is not None and (grown or (sharper.first.index, sharper.first.tensor is None) == (
                checked.first.index, False)):
            checked = sharper
    source = user_source(checked.method[0])
    if source is None or checked.first is None:
        return None
    if digest is not None and file_digest(source.path) != digest:
        raise FixError(f"{source.path} changed since the check: run it again for a fix of what it is now")
    digest, original = digest or file_digest(source.path), source
    fixed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gradtui-fix-") as scratch, bounded_memory(config.resolve_device()):
        trial = _Trials(config, source, Path(scratch), data)
        while checked.first is not None and len(fixed) < most_edits:
            if user_source(checked.method[0]) is None or Path(user_source(checked.method[0]).path) != source.path:
                break
            found = trial.search(source, checked, most_candidates)
            if found is None:
                break
            source, checked = source.with_text(found[0]), found[1]
            fixed.append(found[2])
    if not fixed:
        return None
    if checked.passes:
        verdict = f"with {'this edit' if len(fixed) == 1 else f'these {len(fixed)} edits'} every gradient matches"
    else:
        verdict = (f"with {'this edit' if len(fixed) == 1 else f'these {len(fixed)} edits'}, "
                   f"{_said(checked.first)} still {'mismatches' if checked.first.tensor else 'raises'}: no verified "
                   "fix for it")
    return Fix(original, source.text, tuple(fixed), checked.passes, verdict, digest, trial.tried)


def _screen(config: RunConfig) -> RunConfig:
    """The check on its first rows in float64, where a slip of order 1/N is no longer hidden."""
    return replace(config, batch=min(config.batch or SCREEN_ROWS, SCREEN_ROWS), dtype="float64", replay=False)


class _Trials:
    """Copies of the user's file with one edit each, checked."""

    def __init__(self, config: RunConfig, source: Source, scratch: Path, data=None):
        if data is None:  # loaded once for every trial: at the default 50,000 rows a draw is half a second
            from gradtui.data import load_data

            data = load_data(config, config.resolve_device())
        self.config, self.scratch, self.count, self.tried, self.data = config, scratch, 0, 0, data
        self.screen = _screen(config)
        self.screen_data = data.first_rows_in_float64(self.screen.batch)

    def copy(self, source: Source, text: str) -> Path:
        self.count += 1
        folder = self.scratch / str(self.count)
        folder.mkdir()
        path = folder / source.path.name
        path.write_text(source.file_text(text))
        return path

    def search(self, source: Source, checked: Checked, most: int = MOST_CANDIDATES) -> tuple[str, Checked, str] | None:
        """An edit of the method at fault, among its first `most`, that the whole check verifies: (the
        text with it, the check after it, the gradient it fixed)."""
        method, siblings = method_at(source.python(), checked.method[1] or 0)
        if method is None:
            return None
        screen, before = self._screen(source, checked)
        tried, partial = 0, None
        for change in Edits(source.python(), method, checked.hint, siblings, attributes=checked.attributes):
            if tried >= most or (partial is not None and tried >= partial[3] + MORE_AFTER_PARTIAL):
                break
            text = change.apply(source.text)
            try:
                with warnings.catch_warnings():  # `1.0.sum(0)`, `n[0]`: Python's warning says it is no code to try
                    warnings.simplefilter("error", SyntaxWarning)
                    compile(change.apply(source.python()), "<fix>", "exec")
            except (SyntaxError, SyntaxWarning, ValueError):
                continue
            tried += 1
            self.tried += 1
            if not self._screened(source, text, screen, checked, before):
                continue
            after = self._checked(source, text, (self.config, self.data))
            if after is not None and _past(after, checked) and after.passes:
                return text, after, _said(checked.first)
            if after is not None and _past(after, checked) and (partial is None or _past(after, partial[1])):
                # past this gradient, not past the others: the edit may mend one reader of a value whose making is
                # the slip (`(dzp * dz) @ w.t()` where `dzp = dz * z * (1 - z)` belongs); a few more are tried
                partial = (text, after, _said(checked.first), tried)
        return partial[:3] if partial is not None else None

    def _screen(self, source: Source, checked: Checked) -> tuple[tuple, Checked]:
        """The screen's options and data, and what it says of the file as it is: the first rows in
        float64 when they show the same slip, else the run's own rows and dtype."""
        screen = (self.screen, self.screen_data)
        seen = self._checked(source, source.text, screen, screen=True)
        if seen is not None and seen.first is not None and (seen.first.index, seen.first.tensor) == (
                checked.first.index, checked.first.tensor):
            return screen, seen
        own = (replace(self.config, replay=False), self.data)
        return own, run_check(replace(own[0], layers=self.copy(source, source.text)), screen=True, data=self.data)

    def _screened(self, source: Source, text: str, screen: tuple, checked: Checked, before: Checked) -> bool:
        seen = self._checked(source, text, screen, screen=True, past=checked)
        return seen is not None and _past(seen, checked) and before.matched <= seen.matched

    def _checked(self, source: Source, text: str, run: tuple, screen: bool = False,
                 past: Checked | None = None) -> Checked | None:
        """The check of the file with `text`, with `run`'s options and data (None: what they load); `past`:
        the check of the file as it is, whose slip the edit must get past."""
        config, data = run
        copy = self.copy(source, text)
        try:
            with warnings.catch_warnings():  # (what an edit tried says, `x.T` of a vector, is no word of the user's code)
                warnings.simplefilter("ignore")
                found = run_check(replace(config, layers=copy), screen, data, past)
        except Exception:  # the edit made the user's file unloadable: not a fix
            return None
        file, line = found.method
        if file is not None and file.startswith(str(copy)):  # the copy's method is the user's file's, at that line
            found.method = (str(source.path) + file[len(str(copy)):], line)
        return found


class _ObjectTrials(_Trials):
    """The caller's objects, with their class's method at fault (the one whose definition starts at `line`)
    replaced, for each run, by the method as an edit of its file writes it; screened on their first rows."""

    def __init__(self, session, cls: type, line: int | None):
        self.config, self.data, self.count, self.tried = session.asked, session.data, 0, 0
        self.network, self.params, self.cls, self.line = session.network, session.params, cls, line or 0

    def shows_the_slip(self, source: Source, checked: Checked) -> bool:
        """The screen, the first rows in the run's own dtype, shows the check's slip: else no edit is searched for (a
        search screened on all of a caller's 50,000 rows would take minutes in `gradtui.check`, for a hint)."""
        rows = min(len(self.data.x), SCREEN_ROWS)
        self._first_rows = (replace(self.config, replay=False, batch=rows), self.data.first_rows(rows))
        self._seen = self._checked(source, source.text, self._first_rows, screen=True)
        return self._seen is not None and self._seen.first is not None and (
            self._seen.first.index, self._seen.first.tensor) == (checked.first.index, checked.first.tensor)

    def _screen(self, source: Source, checked: Checked) -> tuple[tuple, Checked]:
        return self._first_rows, self._seen

    def runs_the_file(self, source: Source) -> bool:
        """The method as the file writes it is the one that runs (not a file edited since its module was
        imported): else an edit of the file says nothing of the code that ran."""
        compiled = self._compiled(source, source.text)
        if compiled is None:
            return False
        owner, name, function = compiled
        codes = [getattr(inspect.unwrap(getattr(f, "__func__", f)), "__code__", None) for f in (function, vars(owner)[name])]
        if None in codes:
            return False
        return _code_key(codes[0]) == _code_key(codes[1])

    def _compiled(self, source: Source, text: str) -> tuple[type, str, object] | None:
        """(the class that defines the method, its name, the method as `text` writes it); None where it cannot be
        defined."""
        method, _ = method_at(text, self.line)
        owner = next((klass for klass in self.cls.__mro__ if method is not None and method.name in vars(klass)), None)
        if owner is None:
            return None
        # the globals the method reads: its module's, as its own function has them (a module loaded from a path
        # need not be in sys.modules)
        running = vars(owner)[method.name]
        module_globals = getattr(getattr(running, "__func__", running), "__globals__", None)
        if module_globals is None:
            return None
        scope: dict = {}
        try:  # (the node keeps the file's lines: a step that raises in it is said at the file's line)
            exec(compile(ast.Module(body=[method], type_ignores=[]), str(source.path), "exec"), dict(module_globals), scope)
        except Exception:
            return None
        return owner, method.name, scope[method.name]

    def _checked(self, source: Source, text: str, run: tuple, screen: bool = False,
                 past: Checked | None = None) -> Checked | None:
        compiled = self._compiled(source, text)
        if compiled is None:
            return None
        config, data = run
        try:
            with warnings.catch_warnings(), mock.patch.object(*compiled):
                warnings.simplefilter("ignore")
                return run_check(config, screen, data, past, self.network, self.params)
        except Exception:  # a method the session cannot run
            return None


def _code_key(code) -> tuple:
    """What a function's code does and where it is written (not code objects' ==: one compiled alone has no
    class in its qualified name, nor have the comprehensions inside it)."""
    consts = tuple(_code_key(c) if hasattr(c, "co_code") else c for c in code.co_consts)
    return code.co_code, consts, code.co_names, code.co_varnames, code.co_firstlineno, code.co_linetable


def _said(location: Location) -> str:
    """w2.g (step 5), or step 3 (lin2) for a step that raised."""
    return f"{location.tensor} (step {location.index})" if location.tensor else f"step {location.index} ({location.layer})"


def _past(after: Checked, before: Checked) -> bool:
    """The check of the edited file gets past the slip: it passes, or stops at a later step (not at
    the same gradient of another layer of the same class: an edit right only for a layer one wide),
    or at the same step at another gradient, the one at fault now matching (a step that raised must
    not stop the check at all)."""
    if after.first is None:
        return True
    if after.first.index != before.first.index:
        same_slip = after.method == before.method and after.role == before.role and after.role is not None
        return after.first.index > before.first.index and not same_slip
    return None not in (after.first.tensor, before.first.tensor) and after.first.tensor != before.first.tensor and (
        before.first.tensor in after.matched)
