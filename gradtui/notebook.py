"""A Jupyter notebook as a layer file: its code cells in order, keeping only what defines
something (imports, functions, classes), as the notebook would have them after running top to
bottom (a later definition wins). Magics, `??` help lines, shell lines and every other statement
are skipped, never run. Each kept statement keeps its cell and line, so that an error points at
"cell 12, line 3"."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class Statement:
    cell: int  # 1-based, among every cell of the notebook
    node: ast.stmt
    source: str  # the cell's code as parsed (skipped lines blank): for the line numbers and the source


def cell_filename(path: Path, cell: int) -> str:
    """The file name a cell's code runs under: tracebacks and inspect show it, error_text reads it."""
    return f"{path} (cell {cell})"


def _runnable(line: str) -> str:
    """A line of a code cell as Python sees it: magics, shell and help lines become blank."""
    stripped = line.strip()
    if stripped.startswith(("%", "!")) or (stripped.endswith("?") and not stripped.startswith("#")):
        return ""
    return line


def as_python(source: str) -> str:
    """A code cell as Python sees it, character for character (a magic's line blank, as long as it was)."""
    return "".join(line if _runnable(line) else " " * len(line.rstrip("\n")) + line[len(line.rstrip("\n")):]
                   for line in source.splitlines(keepends=True))


def notebook_statements(path: Path) -> tuple[list[Statement], list[str]]:
    """The kept statements in order, and what was skipped that a user should know (a cell that
    does not parse). ValueError when the file is no notebook."""
    try:
        cells = json.loads(path.read_text())["cells"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a Jupyter notebook ({type(exc).__name__})") from None
    kept, skipped = [], []
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        text = cell.get("source", "")
        text = "".join(text) if isinstance(text, list) else text
        if text.lstrip().startswith("%%"):  # a cell magic: the whole cell is another language
            continue
        source = "\n".join(_runnable(line) for line in text.splitlines())
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            skipped.append(f"cell {number} does not parse as Python (line {exc.lineno}): skipped")
            continue
        kept += [Statement(number, node, source) for node in tree.body if isinstance(node, KEPT)]
    return kept, skipped
