"""How figures read on screen, the same in `check`/`bench` tables and in the app."""

from __future__ import annotations

import ast
import math
import re
import sys
from pathlib import Path


def number(value: float | None) -> str:
    """Three significant digits; — for nothing, nan/inf as such, 0 and never -0."""
    if value is None:
        return "—"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.3g}" if value else "0"


def shape(dims: tuple[int, ...]) -> str:
    """For a table cell: 300×50, or scalar."""
    return "×".join(str(d) for d in dims) if dims else "scalar"


def shape_in_words(dims: tuple[int, ...]) -> str:
    """For a sentence, as Python writes it: (300, 50), (300,), ()."""
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def seconds(value: float) -> str:
    """Three significant digits: 8.30 ms, 142 ms, 3.91 s."""
    if value >= 1:
        return f"{value:.3g} s"
    milliseconds = value * 1000
    return f"{milliseconds:.3g} ms" if milliseconds >= 1 else f"{milliseconds:.2f} ms"


def size(value: int | None) -> str:
    """Bytes in the largest unit that keeps a digit before the point."""
    if value is None:
        return "—"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value} B"


def short_path(path: str) -> str:
    """A path relative to the working directory when it is under it, as the user typed it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


NOTEBOOK_CELL = re.compile(r"(?P<path>.*) \(cell (?P<cell>\d+)\)$")  # notebook.cell_filename's form
ALSO = "; or, with the same numbers, "  # a second story a hint says beside the first
IPYTHON_CELL = re.compile(r"^<ipython-input-(?P<count>\d+)-[0-9a-f]+>$")  # a cell IPython ran, by its In [N]
IPYKERNEL_CELL = re.compile(r".*[/\\]ipykernel_\d+[/\\]\d+\.py$")  # a cell Jupyter's kernel ran


def place(file: str, line: int | None) -> str:
    """file:line relative to the working directory when under it; a notebook's by cell and line."""
    cell = NOTEBOOK_CELL.match(file)
    if cell:
        return f"{short_path(cell['path'])}, cell {cell['cell']}, line {line}"
    if IPYTHON_CELL.match(file) or IPYKERNEL_CELL.match(file):
        return f"{_cell_number(file)}, line {line}"
    return f"{short_path(file)}:{line}"


def _cell_number(file: str) -> str:
    """In [6]: the prompt of the IPython cell that ran as `file` (IPython keeps the map)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    try:
        named = shell.compile.format_code_name(file) if shell is not None else None
    except (AttributeError, TypeError):
        named = None
    if named:
        return named[1].replace("In[", "In [")
    ran = IPYTHON_CELL.match(file)
    return f"In [{ran['count']}]" if ran else "its cell"


# How tightly an expression binds (Python's precedence): a tighter one needs no parentheses where a looser stood.
BINDING = {ast.Pow: 6, ast.Mult: 4, ast.Div: 4, ast.MatMult: 4, ast.FloorDiv: 4, ast.Mod: 4, ast.Add: 3, ast.Sub: 3}


def binding(expression: ast.expr | str) -> float:
    """How tightly code binds, as Python's precedence has it (7: a name, a call, a parenthesised whole;
    6: a power; 5: a unary minus; 4: a product; 3: a sum): a tighter one needs no parentheses where a
    looser stood."""
    if isinstance(expression, str):
        if expression.startswith("(") and expression.endswith(")") and wrapped(expression):
            return 7  # parenthesized: as tight as a name
        try:  # (inside parentheses: an expression over several lines, as it stood in the code's own)
            expression = ast.parse(f"({expression.strip()})", mode="eval").body
        except SyntaxError:
            return 0
    if isinstance(expression, ast.BinOp):
        return BINDING.get(type(expression.op), 2)
    if isinstance(expression, ast.UnaryOp):
        return 1 if isinstance(expression.op, ast.Not) else 5
    if isinstance(expression, (ast.Compare, ast.BoolOp, ast.IfExp, ast.Lambda, ast.NamedExpr)):
        return 1
    return 7  # a name, a call, an attribute, a subscript, a literal


def wrapped(code: str) -> bool:
    """Is `(…)` one pair of parentheses around the whole of it (not `(a) * (b)`)?"""
    depth = 0
    for position, char in enumerate(code):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and position < len(code) - 1:
            return False
    return True
