"""The backprop-ninja notebook with one slip at a time: flagged at the line it was made in, no other
line blamed, and named.

samples/backprop_ninja.ipynb is the exercise of makemore part 4 ("becoming a backprop ninja") drawn
again: a character MLP whose forward is ~20 named steps, a gradient written by hand for each
(exercise 1), the cross-entropy's and the batch norm's backward in one expression (exercises 2 and
3), each checked with the notebook's `cmp(s, dt, t)`. Here its `cmp` cell is replaced by
`from gradtui import cmp`, and each slip rewrites one line of exercises 1–3. The notebook runs as
Jupyter would run it, cell by cell in one IPython shell, up to exercise 4 (training, no cmp).

For each slip: placed (the cmp of the tensor whose line holds the slip is `.here`, and no other
is), named (its hint has the words expected), false (a hint that names a slip the words do not
fit, though the slip was placed: never wanted). A keepdim left out is placed where the shape it
leaves first breaks a gradient (the line that left it out is right by value, as the notebook's own
cmp judges it); for that slip the batch is made as large as the vocabulary, where it broadcasts
without an error.

    python benchmarks/ninja_slips.py [-v]
    python benchmarks/ninja_slips.py --generated [-v] [--notebook PATH]   # every one-edit mutant of every backward line
    python benchmarks/ninja_slips.py --notebook makemore_part4_backprop.ipynb   # any such notebook, as written
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parent.parent / "samples" / "backprop_ninja.ipynb"
# For a notebook that reads makemore's names.txt: a few names of our own in its place.
NAMES = ["ada", "alan", "alma", "anna", "ari", "bea", "ben", "cleo", "dora", "eli", "emil", "eva", "finn", "gia",
         "hugo", "ida", "ines", "ivo", "jan", "juno", "kai", "lea", "leo", "lina", "liv", "luca", "mila", "nico", "noa",
         "ola", "otto", "pia", "remi", "rosa", "sami", "tea", "theo", "uma", "vera", "wim", "yara", "zoe"]
READS_NAMES = re.compile(r"open\(\s*['\"]names\.txt['\"][^)]*\)\.read\(\)\.splitlines\(\)")
LAST_CELL = "Exercise 4"  # the cells from here on train for minutes and compare nothing


@dataclass(frozen=True)
class Slip:
    line: str  # a line of the notebook, as written (stripped); its first occurrence is rewritten
    new: str  # the line written wrong ("" drops it)
    at: str  # the label of the cmp it must be flagged at; "#2": the second cmp of that label
    words: str  # what the hint must say, alternatives split by " | "
    setting: tuple[str, str] | None = None  # a setting changed with it (the batch, for a keepdim slip)


FALLBACK = "no single slip"  # the hint that places a slip without naming it
SQUARE_BATCH = ("n = 24  # the batch", "n = vocab_size  # the batch")
SLIPS = (
    Slip("dprobs = dlogprobs / probs", "dprobs = dlogprobs * probs", "probs", "multiplies by `probs`"),
    Slip("dprobs = dlogprobs / probs", "dprobs = -dlogprobs / probs", "probs", "sign | minus"),
    Slip("dcounts_sum_inv = (dprobs * counts).sum(1, keepdim=True)",
         "dcounts_sum_inv = (dprobs * counts).sum(0, keepdim=True)", "counts_sum_inv", ".sum(1, keepdim=True)"),
    Slip("dcounts_sum_inv = (dprobs * counts).sum(1, keepdim=True)",
         "dcounts_sum_inv = (dprobs * counts).sum(1)", "counts_sum", "keepdim", SQUARE_BATCH),
    Slip("dcounts_sum_inv = (dprobs * counts).sum(1, keepdim=True)",
         "dcounts_sum_inv = (dprobs * counts_sum_inv).sum(1, keepdim=True)", "counts_sum_inv", "wrong operand"),
    Slip("dcounts = dprobs * counts_sum_inv", "dcounts = dprobs * counts_sum", "counts", "counts_sum"),
    Slip("dcounts_sum = -counts_sum ** -2 * dcounts_sum_inv", "dcounts_sum = counts_sum ** -2 * dcounts_sum_inv",
         "counts_sum", "-1 | minus | sign"),
    Slip("dcounts_sum = -counts_sum ** -2 * dcounts_sum_inv", "dcounts_sum = -counts_sum ** -1 * dcounts_sum_inv",
         "counts_sum", "-2"),
    Slip("dcounts += dcounts_sum.expand_as(counts)", "", "counts", "path through `counts_sum`"),
    Slip("dnorm_logits = dcounts * counts", "dnorm_logits = dcounts * norm_logits", "norm_logits", "exp"),
    Slip("dnorm_logits = dcounts * counts", "dnorm_logits = dcounts", "norm_logits", "exp | left out"),
    Slip("dh = dlogits @ W2.T", "dh = dlogits @ W2.T * 2", "h", "twice"),
    Slip("dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h", "W2", "transposed"),
    Slip("db2 = dlogits.sum(0)", "db2 = dlogits.mean(0)", "b2", "24"),
    Slip("db2 = dlogits.sum(0)", "db2 = dlogits.sum(1)", "b2", ".sum(0)"),
    Slip("dhpreact = dh * (1 - h ** 2)", "dhpreact = dh * (1 - h)", "hpreact", "square"),
    Slip("dhpreact = dh * (1 - h ** 2)", "dhpreact = dh * (1 - hpreact ** 2)", "hpreact",
         "is taken from its input: `1 - hpreact**2` where `1 - h**2` belongs"),
    Slip("dhpreact = dh * (1 - h ** 2)", "dhpreact = dh * (1 + h ** 2)", "hpreact", "sign | minus"),
    Slip("dbngain = (dhpreact * bnraw).sum(0, keepdim=True)", "dbngain = (dhpreact * bnraw).sum(1, keepdim=True)",
         "bngain", ".sum(0, keepdim=True)"),
    Slip("dbngain = (dhpreact * bnraw).sum(0, keepdim=True)", "dbngain = dhpreact * bnraw", "bngain", ".sum(0"),
    Slip("dbngain = (dhpreact * bnraw).sum(0, keepdim=True)", "dbngain = (dhpreact * hpreact).sum(0, keepdim=True)",
         "bngain", "`hpreact` where `bnraw`"),
    Slip("dbnbias = dhpreact.sum(0, keepdim=True)", "dbnbias = dhpreact.sum(0, keepdim=True) / n", "bnbias", "24"),
    Slip("dbnraw = dhpreact * bngain", "dbnraw = dhpreact", "bnraw", "bngain"),
    Slip("dbnvar_inv = (dbnraw * bndiff).sum(0, keepdim=True)", "dbnvar_inv = (dbnraw * bnraw).sum(0, keepdim=True)",
         "bnvar_inv", "`bnraw` where `bndiff`"),
    Slip("dbndiff = dbnraw * bnvar_inv", "dbndiff = dbnraw * bnvar", "bndiff", "`bnvar` where `bnvar_inv`"),
    Slip("dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv", "dbnvar = 0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv",
         "bnvar", "minus"),
    Slip("dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv", "dbnvar = -0.5 * (bnvar + 1e-5) ** -0.5 * dbnvar_inv",
         "bnvar", "-1.5"),
    Slip("dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv", "dbnvar = (bnvar + 1e-5) ** -1.5 * dbnvar_inv",
         "bnvar", "-0.5 | minus"),
    Slip("dbndiff2 = dbnvar.expand_as(bndiff2) / (n - 1)", "dbndiff2 = dbnvar.expand_as(bndiff2) / n", "bndiff2",
         "Bessel"),
    Slip("dbndiff += 2 * bndiff * dbndiff2", "dbndiff += bndiff * dbndiff2", "bndiff", "its 2"),
    Slip("dbndiff += 2 * bndiff * dbndiff2", "", "bndiff", "path through `bndiff2`"),
    Slip("dbnmeani = -dbndiff.sum(0)", "dbnmeani = dbndiff.sum(0)", "bnmeani", "minus"),
    Slip("dbnmeani = -dbndiff.sum(0)", "dbnmeani = -dbndiff.mean(0)", "bnmeani", "24"),
    Slip("dhprebn = dbndiff + dbnmeani / n", "dhprebn = dbndiff + dbnmeani", "hprebn", "`n`"),
    Slip("dhprebn = dbndiff + dbnmeani / n", "dhprebn = dbndiff.clone()", "hprebn", "path through `hprebn`"),
    Slip("dembcat = dhprebn @ W1.T", "dembcat = dhprebn @ W1.T / n", "embcat", "24"),
    Slip("dW1 = embcat.T @ dhprebn", "dW1 = (dhprebn.T @ embcat).T.T", "W1", "transposed"),
    Slip("db1 = dhprebn.sum(0)", "db1 = dhprebn.sum(1)", "b1", ".sum(0)"),
    Slip("dC.index_add_(0, Xb.view(-1), demb.view(-1, n_embd))", "dC[Xb.view(-1)] = demb.view(-1, n_embd)", "C",
         "add up"),
    Slip("dlogprobs[torch.arange(n), Yb] = -1.0 / n", "dlogprobs[torch.arange(n), Yb] = -1.0", "logprobs", "mean"),
    Slip("dlogprobs[torch.arange(n), Yb] = -1.0 / n", "dlogprobs[torch.arange(n), Yb] = 1.0 / n", "logprobs", "minus"),
    Slip("dprobs = dlogprobs / probs", "dprobs = dlogprobs / probs ** 2", "probs", "squared"),
    Slip("dcounts = dprobs * counts_sum_inv", "dcounts = dprobs", "counts", "counts_sum_inv"),  # dprobs changes too
    Slip("dcounts_sum = -counts_sum ** -2 * dcounts_sum_inv", "dcounts_sum = -counts_sum ** -2", "counts_sum",
         "from above"),
    Slip("dnorm_logits = dcounts * counts", "dnorm_logits = dcounts * counts * counts", "norm_logits",
         "times `counts`"),
    Slip("dlogit_maxes = -dnorm_logits.sum(1, keepdim=True)", "dlogit_maxes = -dnorm_logits.sum(0, keepdim=True)",
         "logit_maxes", ".sum(1, keepdim=True)"),
    Slip("dW2 = h.T @ dlogits", "dW2 = h.T @ dlogits / n", "W2", "24"),
    Slip("dhpreact = dh * (1 - h ** 2)", "dhpreact = dh * (1 - torch.tanh(h) ** 2)", "hpreact", "tanh once more"),
    Slip("dhpreact = dh * (1 - h ** 2)", "dhpreact = 1 - h ** 2", "hpreact", "from above"),
    Slip("dbngain = (dhpreact * bnraw).sum(0, keepdim=True)", "dbngain = (dh * bnraw).sum(0, keepdim=True)", "bngain",
         "tanh"),
    Slip("dbnbias = dhpreact.sum(0, keepdim=True)", "dbnbias = dhpreact.sum(1, keepdim=True)", "bnbias", ".sum(0"),
    Slip("dbnraw = dhpreact * bngain", "dbnraw = dhpreact * bnbias", "bnraw", "`bnbias` where `bngain`"),
    Slip("dbndiff = dbnraw * bnvar_inv", "dbndiff = dbnraw * bnvar_inv ** 2", "bndiff", "once more"),
    Slip("dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv", "dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5", "bnvar",
         "from above"),
    Slip("dbndiff2 = dbnvar.expand_as(bndiff2) / (n - 1)", "dbndiff2 = dbnvar.expand_as(bndiff2)", "bndiff2",
         "`n - 1`"),
    Slip("dbndiff += 2 * bndiff * dbndiff2", "dbndiff += 2 * dbndiff2", "bndiff",
         "is missing its bndiff: `2` where `2 * bndiff` belongs"),
    Slip("dhprebn = dbndiff + dbnmeani / n", "dhprebn = dbndiff - dbnmeani / n", "hprebn", "-24"),
    Slip("demb = dembcat.view(emb.shape)", "demb = dembcat.view(n, n_embd, block_size)", "emb", FALLBACK),
    Slip("dC.index_add_(0, Xb.view(-1), demb.view(-1, n_embd))",
         "dC.index_add_(0, Xb.view(-1), demb.view(-1, n_embd) / n)", "C", "24"),
    Slip("dprobs = dlogprobs / probs", "dprobs = logprobs / probs", "probs", "`logprobs` itself where `dlogprobs`"),
    Slip("dlogits += F.one_hot(logits.argmax(1), num_classes=vocab_size) * dlogit_maxes",
         "dlogits += F.one_hot(logits.argmax(1), num_classes=vocab_size) * logit_maxes", "logits",
         "`logit_maxes` itself where `dlogit_maxes`"),
    Slip("dbngain = (dhpreact * bnraw).sum(0, keepdim=True)", "dbngain = bnraw.sum(0, keepdim=True)", "bngain",
         "does not multiply in the gradient"),  # (bnraw's sum is 0 but for rounding: dbngain too)
    Slip("dbnmeani = -dbndiff.sum(0)", "dbnmeani = -bndiff.sum(0)", "bnmeani", "`bndiff` itself where `dbndiff`"),
    Slip("dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv", "dbnvar = -0.5 * (bnvar + 1e-5) ** 1.5 * dbnvar_inv",
         "bnvar", "minus sign dropped"),
    # exercise 2: the cross-entropy's backward in one expression
    Slip("dlogits = dlogits / n", "", "logits#2", "mean"),
    Slip("dlogits[torch.arange(n), Yb] -= 1", "", "logits#2", "path through `counts`"),
    Slip("dlogits[torch.arange(n), Yb] -= 1", "dlogits[torch.arange(n), Yb] += 1", "logits#2", "sign-flipped"),
    Slip("dlogits = dlogits / n", "dlogits = dlogits / (n - 1)", "logits#2", "23 | 24"),
    Slip("dlogits = F.softmax(logits, 1)", "dlogits = F.softmax(logits, 0)", "logits#2", FALLBACK),
    Slip("dlogits = dlogits / n", "dlogits = dlogits * n", "logits#2", "`dlogits * n` where `dlogits / n` belongs"),
    # exercise 3: the batch norm's backward in one expression
    Slip("dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * "
         "(bnraw * dhpreact).sum(0))",
         "dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - bnraw * (bnraw * dhpreact).sum(0))",
         "hprebn#2", "Bessel"),
    Slip("dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * "
         "(bnraw * dhpreact).sum(0))",
         "dhprebn = bngain * bnvar_inv / n * (n * dhpreact - n / (n - 1) * bnraw * (bnraw * dhpreact).sum(0))",
         "hprebn#2", "path through `hprebn`"),
    Slip("dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * "
         "(bnraw * dhpreact).sum(0))",
         "dhprebn = bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (bnraw * dhpreact).sum(0))",
         "hprebn#2", "bngain"),
    Slip("dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * "
         "(bnraw * dhpreact).sum(0))",
         "dhprebn = bngain * bnvar_inv / n * (n - dhpreact.sum(0) - n / (n - 1) * bnraw * (bnraw * dhpreact).sum(0))",
         "hprebn#2", "`n` where `n * dhpreact` belongs"),  # no one derivative's slip: said by the one edit that mends it
)


# -- running a notebook as Jupyter would -------------------------------------------------------------

@dataclass
class Run:
    compared: list = field(default_factory=list)  # (label, or label#k for the k-th cmp of that label; Judgement)
    output: str = ""
    error: str | None = None  # the notebook's own code raised: what


def code_cells(path: Path) -> list[str]:
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]


def with_gradtui_cmp(source: str) -> str:
    """The cell with its `def cmp(...)` replaced by `from gradtui import cmp`, every other line as it was."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a cell of magics: not the helper's
        return source
    lines = source.splitlines()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "cmp":
            return "\n".join(lines[:node.lineno - 1] + ["from gradtui import cmp"] + lines[node.end_lineno:])
    return source


def _shell():
    """The one IPython shell of this process (IPython allows one)."""
    from IPython.core.interactiveshell import InteractiveShell

    class Shell(InteractiveShell):
        def enable_gui(self, gui=None):  # `%matplotlib inline` with no front end to draw in
            pass

    return InteractiveShell.instance() if InteractiveShell.initialized() else Shell.instance()


def run_notebook(path: Path, rewrites: tuple[tuple[str, str], ...] = (), own_cmp: bool = False,
                 until: str | None = LAST_CELL) -> Run:
    """The notebook's code cells in one fresh IPython shell, up to the cell that has `until` (None:
    all of them), each line `old` of `rewrites` (its first occurrence) written as `new`; gradtui's
    cmp in place of its own unless `own_cmp`. The comparisons gradtui made, in order, and
    everything the cells printed."""
    import gradtui.compared

    shell = _shell()
    shell.reset(new_session=True)
    gradtui.compared.cmp.notebook.__init__()
    pending, run, out = list(rewrites), Run(), io.StringIO()
    for source in code_cells(path):
        if until is not None and until in source:
            break
        source = READS_NAMES.sub(repr(NAMES), source if own_cmp else with_gradtui_cmp(source))
        lines = source.splitlines()
        for old, new in list(pending):
            found = next((i for i, line in enumerate(lines) if line.strip() == old), None)
            if found is not None:
                indent = lines[found][:len(lines[found]) - len(lines[found].lstrip())]
                lines[found] = indent + (new or "pass")
                pending.remove((old, new))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            result = shell.run_cell("\n".join(lines), store_history=True)
        if not result.success:
            run.error = repr(result.error_in_exec or result.error_before_exec)
            break
    if pending and run.error is None:
        run.error = f"no line {pending[0][0]!r} in the notebook"
    seen: dict[str, int] = {}
    for judgement in gradtui.compared.cmp.notebook.judgements:
        seen[judgement.label] = seen.get(judgement.label, 0) + 1
        key = judgement.label if seen[judgement.label] == 1 else f"{judgement.label}#{seen[judgement.label]}"
        run.compared.append((key, judgement))
    run.output = out.getvalue()
    return run


# -- the corpus --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    slip: Slip
    placed: bool
    named: bool
    false: bool
    said: str
    blamed: tuple[str, ...]
    error: str | None = None
    corrected: str | None = None  # the flagged line corrected by one edit and run (Compared.fix)


def judge(slip: Slip, notebook: Path = NOTEBOOK) -> Outcome:
    rewrites = ((slip.line, slip.new),) + ((slip.setting,) if slip.setting else ())
    run = run_notebook(notebook, rewrites)
    if run.error is not None:
        return Outcome(slip, False, False, False, "", (), run.error)
    blamed = tuple(key for key, judgement in run.compared if judgement.here)
    flagged = dict(run.compared).get(slip.at)
    placed = blamed == (slip.at,)
    said = (flagged.hint or "") if flagged is not None else ""
    fits = any(words in said for words in slip.words.split(" | "))
    named = placed and fits and FALLBACK not in said
    false = placed and not fits and FALLBACK not in said
    return Outcome(slip, placed, named, false, said, blamed, corrected=flagged.fix if placed else None)


# -- generated: every one-edit mutant of every backward line ------------------------------------------

@dataclass(frozen=True)
class Generated:
    edit: str  # the edit in words
    line: str  # the line as written
    new: str  # the line with the edit
    at: str  # the label of the cmp it must be flagged at
    kind: str  # right | raised | named | fallback | misplaced
    said: str = ""
    corrected: str | None = None


def _mutation(forward: set[str]):
    """any_layer_mutants' edits of an expression, and one a notebook has: a value for its gradient
    (`probs` for `dprobs`)."""
    import any_layer_mutants

    def edits_of(node: ast.AST) -> list:
        found = any_layer_mutants.edits(node)
        if isinstance(node, ast.Name) and not getattr(node, "assigned", False) and node.id[1:] in forward \
                and node.id.startswith("d"):
            found.append((ast.Name(node.id[1:], ast.Load()), "value for its gradient"))
        return found
    return any_layer_mutants.one_edit_mutants, edits_of


def backward_lines(notebook: Path = NOTEBOOK) -> list[tuple[str, str]]:
    """(the line, the label of the cmp that judges it) for each line of the cells that call cmp which
    writes a gradient `dX` (`dX = …`, `dX += …`, `dX[…] = …`, `dX.index_add_(…)`)."""
    found, compared = [], {}
    for source in code_cells(notebook):
        if LAST_CELL in source:
            break
        if "cmp(" not in source:
            continue
        labels = re.findall(r"^cmp\('(\w+)'", source, re.MULTILINE)
        for label in labels:
            compared[label] = compared.get(label, 0) + 1
        for line in source.splitlines():
            written = re.match(r"d(\w+?)(?:\[.*\])?\s*(?:[-+*/]?=|\.index_add_\()", line.strip())
            if written and written.group(1) in labels:
                label = written.group(1)
                found.append((line.strip(), label if compared[label] == 1 else f"{label}#{compared[label]}"))
    return found


def _assigned(notebook: Path) -> set[str]:
    """The names the notebook's cells assign (a cell of magics, which is no Python, aside)."""
    found = set()
    for source in code_cells(notebook):
        with contextlib.suppress(SyntaxError):
            found |= {target.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Assign)
                      for target in node.targets if isinstance(target, ast.Name)}
    return found


def generated(notebook: Path = NOTEBOOK) -> list[Generated]:
    one_edit_mutants, edits_of = _mutation(_assigned(notebook))
    outcomes = []
    for line, at in backward_lines(notebook):
        for edit, new in one_edit_mutants(line, edits_of):
            run = run_notebook(notebook, ((line, new),))
            if run.error is not None:
                outcomes.append(Generated(edit, line, new, at, "raised", run.error))
                continue
            if all(judgement.ok for _, judgement in run.compared):
                outcomes.append(Generated(edit, line, new, at, "right"))
                continue
            blamed = tuple(key for key, judgement in run.compared if judgement.here)
            flagged = dict(run.compared).get(at)
            said = (flagged.hint or "") if flagged is not None else ""
            kind = "misplaced" if blamed != (at,) else "fallback" if FALLBACK in said else "named"
            outcomes.append(Generated(edit, line, new, at, kind, said, flagged.fix if kind != "misplaced" else None))
    return outcomes


SHOWN = SLIPS[0]  # the slip the README shows, before and after


def before_and_after(slip: Slip = SHOWN) -> tuple[list[str], list[str]]:
    """What exercise 1's comparisons print with the slip: with the notebook's own cmp, then with gradtui's."""
    outputs = []
    for own_cmp in (True, False):
        run = run_notebook(NOTEBOOK, ((slip.line, slip.new),), own_cmp=own_cmp)
        outputs.append([line.rstrip() for line in run.output.splitlines()])
    return outputs[0], outputs[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebook", type=Path, help="run this notebook as written (its cmp replaced) and report "
                                                       "every comparison, instead of the slip corpus")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each slip's hint")
    parser.add_argument("--generated", action="store_true",
                        help="every one-edit mutant of every backward line of exercises 1–3, in place of the corpus "
                             "(of --notebook's, with it)")
    parser.add_argument("--before-after", action="store_true",
                        help="print what the README shows: one slip with the notebook's own cmp, then gradtui's")
    options = parser.parse_args()
    if options.before_after:
        before, after = before_and_after()
        print(f"# {SHOWN.new}\n# with the notebook's own cmp:", *before, "# with `from gradtui import cmp`:", *after,
              sep="\n")
        return 0
    if options.generated:
        return _report_generated(options.notebook or NOTEBOOK, options.verbose)
    if options.notebook:
        run = run_notebook(options.notebook)
        print(run.output)
        ok = sum(judgement.ok for _, judgement in run.compared)
        print(f"{ok} of {len(run.compared)} comparisons match autograd" + (f"; stopped: {run.error}" if run.error else ""))
        return 0 if run.error is None and ok == len(run.compared) else 1
    correct = run_notebook(NOTEBOOK)
    if correct.error or not all(judgement.ok for _, judgement in correct.compared):
        print(f"the notebook as written does not pass: {correct.error}", file=sys.stderr)
        return 1
    started, outcomes = time.perf_counter(), []
    for slip in SLIPS:
        outcome = judge(slip)
        outcomes.append(outcome)
        mark = "named" if outcome.named else "placed" if outcome.placed else "MISSED"
        print(f"{mark:7s} {slip.at:15s} {slip.new or '(dropped) ' + slip.line}")
        if outcome.error:
            print(f"        the notebook raised: {outcome.error}")
        elif options.verbose or not outcome.named:
            print(f"        blamed {', '.join(outcome.blamed) or 'nothing'}: {outcome.said}")
        if options.verbose and outcome.corrected:
            print(f"        corrected, and run: {outcome.corrected}")
    total = len(outcomes)
    placed, named, false = (sum(getattr(o, field) for o in outcomes) for field in ("placed", "named", "false"))
    corrected = sum(bool(o.corrected) for o in outcomes)
    print(f"\n{total} slips in exercises 1–3 of {NOTEBOOK.name}: {placed} placed ({100 * placed / total:.0f}%), "
          f"{named} named ({100 * named / total:.0f}%), {false} false, {corrected} with the line corrected and run; "
          f"{len(correct.compared)} comparisons of the notebook as written all match "
          f"({time.perf_counter() - started:.0f} s)")
    return 0


def _report_generated(notebook: Path, verbose: bool) -> int:
    started, outcomes = time.perf_counter(), generated(notebook)
    wrong = [o for o in outcomes if o.kind in ("named", "fallback", "misplaced")]
    for o in wrong:
        if verbose or o.kind != "named":
            print(f"{o.kind:9s} {o.at:15s} {o.new}   [{o.edit}]\n          {o.said}")
            if o.corrected:
                print(f"          corrected, and run: {o.corrected}")
    placed = sum(o.kind != "misplaced" for o in wrong)
    named = sum(o.kind == "named" for o in wrong)
    corrected = sum(bool(o.corrected) for o in wrong)
    raised = sum(o.kind == "raised" for o in outcomes)
    print(f"\n{len(outcomes)} one-edit mutants of the backward lines of exercises 1–3 of {notebook.name}: {len(wrong)} "
          f"wrong, {placed} placed "
          f"({100 * placed / len(wrong):.0f}%), {named} named ({100 * named / len(wrong):.0f}%), {corrected} with the line "
          f"corrected and run; {raised} raised, {len(outcomes) - len(wrong) - raised} right "
          f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
