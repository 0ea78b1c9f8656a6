"""Slips generated, not picked: every one-edit mutant of the backward code of a layer file or a
notebook (code you did not write: the course's own classes), each checked with --isolate, and
replayed as `gradtui check` replays a matching run.

    python benchmarks/mutants.py FILE [--net KINDS] [--batch N] [--verbose]

One edit per mutant, anywhere in a `bwd` or `backward` method: an arithmetic operator for another,
one operand of an operation dropped, a `.t()`, `.float()`, `.squeeze()` or `.unsqueeze()` dropped,
a sum over axis 1, over every axis, a mean, or no sum, `<` for `>`, 1 or 4 for 2, `out` for
`out.g`. Prints how many of them the check passes (an edit that changes no number: `(inp > 0)`
without `.float()`), fails at a step that raised or made no tensor, names, or gives the fallback
("fits no known slip") — and every mutant whose first mismatch is not at a layer of the class
that was edited. A notebook's kept statements (gradtui.notebook) are mutated and run as a
notebook of one cell, so that a failing import stays a warning.
"""

from __future__ import annotations

import argparse
import ast
import json
import tempfile
from collections import Counter
from pathlib import Path

from gradtui.config import RunConfig
from gradtui.notebook import notebook_statements
from gradtui.replay import needs_replay, replay_in_float64
from gradtui.session import DebugSession
from gradtui.written_slips import copied_tree

OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult)
DROPPED_CALLS = ("t", "float", "squeeze", "unsqueeze")


def edits(node: ast.AST) -> list[tuple[ast.AST, str]]:
    """The nodes one edit from `node`, each with the edit in words."""
    found = []
    if isinstance(node, ast.BinOp):
        found += [(ast.BinOp(node.left, op(), node.right), f"{type(node.op).__name__} → {op.__name__}")
                  for op in OPERATORS if not isinstance(node.op, op)]
        found += [(node.left, "right operand dropped"), (node.right, "left operand dropped")]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        receiver, method = node.func.value, node.func.attr
        if method in DROPPED_CALLS:
            found.append((receiver, f".{method}() dropped"))
        if method == "sum":
            def call(name, *args):
                return ast.Call(ast.Attribute(receiver, name, ast.Load()), [ast.Constant(a) for a in args], [])
            found += [(call("sum", 1), "sum(1)"), (call("sum"), "sum()"), (call("mean", 0), "mean(0)"),
                      (receiver, "sum dropped")]
    if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.Gt):
        found.append((ast.Compare(node.left, [ast.Lt()], node.comparators), "> → <"))
    if isinstance(node, ast.Constant) and node.value == 2:
        found += [(ast.Constant(1), "2 → 1"), (ast.Constant(4), "2 → 4")]
    if isinstance(node, ast.Attribute) and node.attr == "g" and isinstance(node.ctx, ast.Load):
        found.append((node.value, ".g dropped (out for out.g)"))
    return found


class Mutant(ast.NodeTransformer):
    """The tree with its `number`-th edit made (in the order edits() and a post-order walk give)."""

    def __init__(self, number: int, tree: ast.Module):
        self.number, self.seen, self.edit, self.cls = number, 0, None, None
        self._class, self._backward = None, False
        # a class defined again later (a notebook's earlier version) is never run: no mutant of it
        self._live = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}

    def visit_ClassDef(self, node):
        if self._live.get(node.name) is not node:
            return node
        self._class = node.name
        return self.generic_visit(node)

    def visit_FunctionDef(self, node):
        if node.name not in ("bwd", "backward"):
            return node
        self._backward = True
        node = self.generic_visit(node)
        self._backward = False
        return node

    def generic_visit(self, node):
        node = super().generic_visit(node)
        if self._backward and self.edit is None:
            for new, words in edits(node):
                if self.seen == self.number:
                    self.edit, self.cls = f"{words}: `{ast.unparse(new)}` for `{ast.unparse(node)}`", self._class
                    self.seen += 1
                    return ast.copy_location(new, node)
                self.seen += 1
        return node


def kept_source(path: Path) -> str:
    """A .py file's code; a notebook's kept statements, in order."""
    if path.suffix != ".ipynb":
        return path.read_text()
    statements, _ = notebook_statements(path)
    return "\n\n".join(ast.get_source_segment(s.source, s.node) for s in statements) + "\n"


def written(code: str, folder: Path, number: int, suffix: str) -> Path:
    path = folder / f"mutant_{number}{suffix}"
    if suffix == ".ipynb":
        code = json.dumps({"cells": [{"cell_type": "code", "source": code}], "nbformat": 4, "nbformat_minor": 5})
    path.write_text(code)
    return path


def outcome(session: DebugSession) -> tuple[str, str, str | None]:
    """(passes | raised | named | fallback, what it said, the class of the layer it stopped at)."""
    where = session.first_mismatch
    if where is None:
        return "passes", "", None
    report = session.reports[where.index]
    cls = session.network.class_for(report.step.spec).__name__
    if report.error is not None:
        return "raised", f"{report.error.type}: {report.error.message}", cls
    hint = report.failing_tensor.hint or ""
    said = f"{where.layer} {where.tensor}: {hint}"
    if "fits no known slip" in hint:
        return "fallback", said, cls
    if "not a torch tensor" in hint or "is a builtins" in hint:
        return "raised", said, cls
    return "named", said, cls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="a layer file (.py) or a notebook (.ipynb)")
    parser.add_argument("--net", help="the network, as gradtui check takes it (default: the lesson's)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--verbose", action="store_true", help="print every mutant and what gradtui said")
    args = parser.parse_args()
    tree = ast.parse(kept_source(args.file))
    net = tuple(args.net.split(",")) if args.net else None
    counts, misplaced, number = Counter(), [], 0
    with tempfile.TemporaryDirectory() as folder:
        while True:
            copied = copied_tree(tree)
            mutant = Mutant(number, copied)
            code = ast.unparse(ast.fix_missing_locations(mutant.visit(copied)))
            if mutant.edit is None:
                break
            path = written(code, Path(folder), number, args.file.suffix)
            session = DebugSession(RunConfig(device="cpu", net=net, batch=args.batch, layers=path, init="random",
                                             seed=1, isolate=True))
            session.run_to_end()
            if needs_replay(session):  # as gradtui check: what the run hid, the replays may find
                replay = replay_in_float64(session)
                session = replay.session if replay.mismatch is not None else session
            kind, said, cls = outcome(session)
            counts[kind] += 1
            if cls is not None and cls != mutant.cls:
                misplaced.append((mutant.cls, mutant.edit, said))
            if args.verbose:
                print(f"[{mutant.cls}: {mutant.edit}] {kind}: {said}")
            number += 1
    print(f"{number} mutants of {args.file.name}: passes {counts['passes']}, raised or no tensor {counts['raised']}, "
          f"named {counts['named']}, fallback {counts['fallback']}; placed at a layer of another class: {len(misplaced)}")
    for cls, edit, said in misplaced:
        print(f"  [{cls}: {edit}] {said}")


if __name__ == "__main__":
    main()
