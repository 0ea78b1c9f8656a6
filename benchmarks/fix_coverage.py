"""How many named slips get a verified fix, and whether every fix shown passes once applied.

The slips are the two corpora's: benchmarks/slip_coverage.py's 202 in the six kinds (written as
code, in four styles), and benchmarks/any_layer_coverage.py's in the layers gradtui has no entry
for, each in both of the lesson's styles: LayerNorm, RMSNorm, GELU, SiLU, softmax, a residual block
and an L1 loss in a file whose `Model` puts them after a Lin, on the synthetic rows; an attention
head on 3-D x and an embedding on integer ids, first in their `Model`, on the corpus's own data,
given as `gradtui.check(layers=…, x=…, y=…)` gives it. Each
slipped file is checked as `gradtui check` checks it; for a slip gradtui names, `check --fix`'s
search runs; its diff is then applied with `patch` to another copy of the slipped file, and that
copy checked again, apart from the search.

Prints, per corpus: slips, named, with a verified fix (and the share of named), fixes that pass
when applied (must be all of them), and the slips named but without a fix.

    python benchmarks/fix_coverage.py [--corpus kinds|any] [--some K] [-v]
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Case:
    corpus: str
    name: str
    code: str
    net: tuple[str, ...]
    words: str | None  # the hint's expected words: the slip is named when they are in it (None: when it is not the fallback)
    data: tuple | None = None  # the x and y it runs on, when not the synthetic rows
    params: dict | None = None  # tensors the file's Model loads (saved beside it, at PARAMS_PATH)


def kind_cases() -> list[Case]:
    corpus = _module("slip_coverage")
    cases = [Case("six kinds", f"{kind} {style}: {slip}", corpus.layer_file(kind, role, slip, style), corpus.NETS[kind],
                  words)
             for style in ("module", "call") for kind, role, slip, words in corpus.SLIPS
             if style == "module" or kind in corpus.CALL_STYLE]
    cases += [Case("six kinds", f"{kind} {style}: {slip}", code, net, words)
              for kind, role, code, net, slip, words, style in corpus.file_cases()]
    return [case for case in cases if case.words != corpus.GENERIC]


# the layers a batch of rows feeds (not the log-softmax: the ReLU after it would zero all it gives, < 0 everywhere)
ROWS = ("LayerNorm", "RMSNorm", "GELU", "SiLU", "Softmax", "Residual", "Sigmoid", "L1Loss")
MODEL = '''

class Model:
    """The layer after the first Lin (the loss after the last, for a loss); gradtui gives the Lins' weights."""

    def __init__(self, w1, b1, w2, b2):
        g, width = torch.Generator().manual_seed(5), w1.shape[1]
        params = {params}
        layer = {name}(*params)
        self.layers = [Lin(w1, b1), Relu(), Lin(w2, b2)] if {loss} else [Lin(w1, b1), layer, Relu(), Lin(w2, b2)]
        self.loss = layer if {loss} else Mse()
'''
MODEL_FIRST = '''

class Model:
    """The layer first, on 3-D or integer x, then a Lin to one output per position, and MSE."""

    def __init__(self, *sizes):
        g = torch.Generator().manual_seed(5)
        params = {params}
        self.layers = [{name}(*params), Lin(torch.randn({width}, 1, generator=g) / {width} ** 0.5, torch.zeros(1))]
        self.loss = Mse()
'''
FIRST = {"Attention": ("tuple(torch.randn(C, HS, generator=g) / C ** 0.5 for _ in range(3))", "HS"),
         "Embedding": ("(torch.randn(VOCAB, C, generator=g),)", "C")}  # the layers that take x itself
PARAMS = {"LayerNorm": "(1 + 0.1 * torch.randn(width, generator=g), 0.1 * torch.randn(width, generator=g))",
          "RMSNorm": "(1 + 0.1 * torch.randn(width, generator=g),)",
          "Residual": "(torch.randn(width, width, generator=g) / width ** 0.5,)"}


def any_layer_cases() -> list[Case]:
    corpus = _module("any_layer_coverage")
    cases = []
    for slip in corpus.SLIPS:
        layer = corpus.LAYERS[slip.layer]
        if slip.layer not in (*ROWS, *FIRST) or slip.dtype is not corpus.SLIPS[0].dtype:
            continue
        data = None
        if slip.layer in FIRST:  # its x, as the any-layer corpus draws it
            _, x, y, *_ = corpus.network(layer, lambda *params: None, slip.dtype)
            data = (x, y)
        for style in ("module", "call"):
            code = corpus.source(layer, style, layer.backward.replace(slip.old, slip.new, 1))
            if slip.layer in FIRST:
                params, width = FIRST[slip.layer]
                model = MODEL_FIRST.format(params=params, name=layer.name, width=width)
                sizes = "".join(f"{name} = {getattr(corpus, name)}\n" for name in ("C", "HS", "VOCAB"))
            else:
                model = MODEL.format(params=PARAMS.get(slip.layer, "()"), name=layer.name, loss=layer.loss)
                sizes = ""
            header = f"import torch\nfrom gradtui.layers import Lin, Module, Mse, Relu\n\n{sizes}\n"
            cases.append(Case("any layer", f"{slip.layer} {style}: {slip.new.strip()[:60]}", header + code + model,
                              ("lin", "relu", "lin", "mse"), slip.words, data))
    return cases


MUTANT_MODEL = '''

class Model:
    """The mutant benchmark's network around the layer (its loss after two Lins), its parameters as it draws them."""

    def __init__(self, *sizes):
        first, own, last = torch.load(PARAMS_PATH).values()
        self.layers = {layers}
        self.loss = {loss}
'''


def mutant_cases(names: list[str]) -> list[Case]:
    """Every one-edit mutant of these layers of benchmarks/any_layer_mutants.py in the module style, in a file whose
    Model builds the network that benchmark builds (a `.float()` added, a slip of float64 runs, is left out)."""
    mutants = _module("any_layer_mutants")
    corpus = mutants.corpus
    cases = []
    for name in names:
        layer = mutants.LAYERS[name]
        model, x, y, _, own = mutants.network(layer, lambda *params: None, torch.float32)
        params = {"first": (model[0].w, model[0].b), "own": own, "last": (model[2].w, model[2].b)}
        layers, loss = ("[Lin(*first), Relu(), Lin(*last)]", f"{name}()") if layer.loss else \
            (f"[Lin(*first), {name}(*own), Lin(*last)]", "Mse()")
        header = "import torch\nfrom gradtui.layers import Lin, Module, Mse, Relu\n\n"
        for edit, backward in mutants.mutants(layer):
            if ".float() added" not in edit:
                code = header + corpus.source(layer, "module", backward) + MUTANT_MODEL.format(layers=layers, loss=loss)
                cases.append(Case("mutants", f"{name}: {edit}", code, (), None, (x, y), params))
    return cases


@dataclass
class Outcome:
    case: Case
    slip: bool  # the check fails at a gradient (a mutant may compute the right gradients, or raise)
    named: bool
    fixed: bool
    applied: bool | None  # None: no fix to apply
    said: str
    seconds: float
    tried: int = 0


def run(case: Case, folder: Path, number: int) -> Outcome:
    """The slipped file checked as `gradtui.check(layers=…)` checks it, its fix as `Report.fix` finds it, and that
    fix applied with `patch` to another copy and checked again."""
    import gradtui
    from gradtui.findings import NO_KNOWN_SLIP

    code = case.code
    if case.params is not None:
        torch.save(case.params, folder / f"params_{number}.pt")
        code = code.replace("PARAMS_PATH", repr(str(folder / f"params_{number}.pt")))
    path = folder / f"slip_{number}.py"
    path.write_text(code)
    x, y = case.data if case.data is not None else (None, None)
    options = dict(x=x, y=y, init="random", seed=1) | ({"net": case.net} if case.net else {}) | \
        ({} if case.data is not None else {"batch": 64})
    report = gradtui.check(layers=path, **options)
    first = report.first_mismatch
    if first is None or first.tensor is None:
        return Outcome(case, False, False, False, None, "", 0.0)
    hint = first.hint or ""
    if case.words is None:
        named = NO_KNOWN_SLIP not in hint and not re.fullmatch(r"\S+ is \([^)]*\), \S+ is \([^)]*\)", hint)
    else:
        named = any(words in hint for words in case.words.split(" | "))
    if not named:
        return Outcome(case, True, False, False, None, hint, 0.0)
    started = time.perf_counter()
    fix = report.fix
    seconds = time.perf_counter() - started
    if fix is None:
        return Outcome(case, True, True, False, None, hint, seconds)
    patched = folder / f"patched_{number}.py"
    diff = folder / f"fix_{number}.diff"
    diff.write_text(fix.diff)
    done = subprocess.run(["patch", "--silent", "-o", str(patched), str(path), str(diff)], capture_output=True,
                          text=True)
    applied = done.returncode == 0 and gradtui.check(layers=patched, **options).ok
    return Outcome(case, True, True, True, applied, fix.diff, seconds, fix.tried)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=("kinds", "any", "mutants"),
                        help="one corpus only (mutants: only when asked, and best with --some or --layer)")
    parser.add_argument("--layer", action="append", metavar="NAME",
                        help="the mutants of this layer of benchmarks/any_layer_mutants.py (repeatable; default: all it writes)")
    parser.add_argument("--some", type=int, default=1, metavar="K", help="every K-th slip only")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each fix")
    options = parser.parse_args()
    if options.corpus == "mutants":
        written = [layer.name for layer in _module("any_layer_mutants").MORE]
        unknown = sorted(set(options.layer or ()) - set(written))
        if unknown:
            parser.error(f"--layer {unknown[0]}: not one of benchmarks/any_layer_mutants.py's own layers")
        cases = mutant_cases(options.layer or written)
    else:
        cases = ([] if options.corpus == "any" else kind_cases()) + ([] if options.corpus == "kinds" else any_layer_cases())
    cases = cases[::options.some]
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="gradtui-fixes-") as folder:
        for number, case in enumerate(cases):
            outcome = run(case, Path(folder), number)
            outcomes.append(outcome)
            if outcome.named and (options.verbose or not outcome.fixed or not outcome.applied):
                state = "NO FIX" if not outcome.fixed else "APPLIED, FAILS" if not outcome.applied else "fixed"
                print(f"{state:14s} [{case.name}]")
                if options.verbose or not outcome.fixed:
                    print(textwrap.indent(outcome.said.rstrip(), "    "))
    print(f"\n{'corpus':10s} {'slips':>5s} {'named':>5s} {'verified fix':>16s} {'passes applied':>15s} {'median s':>9s} "
          f"{'edits tried (median, most)':>27s}")
    for corpus in dict.fromkeys(case.corpus for case in cases):
        mine = [o for o in outcomes if o.case.corpus == corpus and o.slip]
        named = [o for o in mine if o.named]
        fixed = [o for o in named if o.fixed]
        applied = sum(bool(o.applied) for o in fixed)
        seconds = sorted(o.seconds for o in named) or [0.0]
        share = f"{len(fixed)} ({100 * len(fixed) / max(1, len(named)):.0f}%)"
        tried = sorted(o.tried for o in fixed) or [0]
        print(f"{corpus:10s} {len(mine):5d} {len(named):5d} {share:>16s} {f'{applied} of {len(fixed)}':>15s} "
              f"{seconds[len(seconds) // 2]:9.1f} {f'{tried[len(tried) // 2]}, {tried[-1]}':>27s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
