"""The command line: `gradtui` (the app), `gradtui check`, `gradtui bench`.

The only module that prints for the headless commands. Exit codes: 0 every gradient
matches, 1 a gradient mismatches or a step raised, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich_argparse import RichHelpFormatter

from gradtui import __version__
from gradtui.config import DTYPES, INITS, InputError, RunConfig, parse_hidden

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr (and exit 2), not usage plus error."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _common_options() -> argparse.ArgumentParser:
    # SUPPRESS: an option given before the subcommand is not overwritten by the subcommand's default.
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("run options")
    add = lambda *names, **kw: group.add_argument(*names, default=argparse.SUPPRESS, **kw)  # noqa: E731
    add("--device", metavar="auto|cpu|cuda[:N]", help="where tensors live (auto: cuda when available)")
    add("--dtype", choices=list(DTYPES), help="float32 (default), float64, bfloat16 or float16")
    add("--batch", type=int, metavar="N", help="rows of data (default 50000)")
    add("--hidden", type=_hidden, metavar="H[,H...]", help="hidden widths: 50 (default) or 50,20 for a deeper net")
    add("--seed", type=int, metavar="S", help="seed of the synthetic data and the weights (default 0)")
    add("--init", choices=INITS, help="notes: zero biases, as in the lesson; random: small random biases")
    add("--data", type=Path, metavar="FILE", help="data file (.npz, .pt, .pkl.gz, .csv) instead of synthetic data")
    add("--layers", type=Path, metavar="FILE", help="a Python file defining your own Lin, Relu and/or Mse")
    add("--isolate", action="store_true", help="feed each backward step autograd's gradient, to judge every layer alone")
    add("--rtol", type=float, metavar="R", help="relative tolerance (default by dtype: 1e-4 for float32)")
    add("--atol", type=float, metavar="A", help="absolute tolerance (default by dtype: 1e-7 for float32)")
    add("--debug", action="store_true", help="show the traceback of an unexpected error")
    return parent


def _hidden(text: str) -> tuple[int, ...]:
    try:
        return parse_hidden(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--hidden {text!r}: ")) from None


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = _OneLineParser(
        prog="gradtui", parents=[common], formatter_class=RichHelpFormatter,
        description="A terminal debugger for backpropagation: run a hand-written backward pass one layer "
                    "at a time and compare every .g with PyTorch autograd.",
        epilog="With no command, gradtui runs `check` (the interactive debugger is still to come). "
               "Exit codes: 0 all gradients match, 1 a mismatch or an error in a step, 2 bad input.")
    parser.add_argument("--version", action="version", version=f"gradtui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "check", parents=[common], formatter_class=RichHelpFormatter,
        help="run every step headless and print a table per step",
        description="Run the forward and backward pass step by step, compare every tensor with autograd, "
                    "and name the first gradient that disagrees. Exit 0 when all match, 1 otherwise.")
    check.add_argument("--json", action="store_true", help="print the report as JSON (format in README)")
    for sub in (check,):
        sub.error = parser.error.__func__.__get__(sub)  # one-line errors from subcommands too
    return parser


def config_from(args: argparse.Namespace) -> RunConfig:
    fields = {name: getattr(args, name) for name in RunConfig.__dataclass_fields__ if hasattr(args, name)}
    return RunConfig(**fields)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a bad option (already reported)
        return exit_.code if isinstance(exit_.code, int) else EXIT_BAD_INPUT
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        config = config_from(args)
        return _check(config, args, err)
    except InputError as exc:
        err.print(f"gradtui: {escape(str(exc))}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        err.print("gradtui: interrupted")
        return EXIT_INTERRUPTED
    except MemoryError:
        err.print("gradtui: out of memory; try a smaller --batch")
        return EXIT_BAD_INPUT
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        err.print(f"gradtui: unexpected {type(exc).__name__}: {escape(str(exc).splitlines()[0] if str(exc) else '')} "
                  "(run with --debug for the traceback)")
        return EXIT_MISMATCH


# -- check --------------------------------------------------------------------------------

def _check(config: RunConfig, args: argparse.Namespace, err: Console) -> int:
    from gradtui.session import DebugSession  # torch loads here, after the arguments are checked

    session = DebugSession(config)
    for warning in session.data.warnings:
        err.print(f"gradtui: warning: {escape(warning)}")
    if err.is_terminal and not getattr(args, "json", False):
        from rich.progress import Progress

        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("checking", total=len(session.steps))
            while not session.done:
                step = session.steps[session.cursor]
                progress.update(task, description=f"step {step.index} {step.direction} {step.layer}")
                session.step()
                progress.advance(task)
    else:
        session.run_to_end()
    if getattr(args, "json", False):
        print(json.dumps(check_report(session), indent=2))
    else:
        # Piped output is not cut at 80 columns: the table needs about 100.
        # soft_wrap: a verdict or a hint stays one line, whatever the width, for grep and for CI logs
        out = Console(highlight=False, soft_wrap=True)
        print_check(session, out if out.is_terminal else Console(highlight=False, soft_wrap=True, width=120))
    return EXIT_OK if session.first_mismatch is None else EXIT_MISMATCH


def _number(value: float | None):
    """JSON has no NaN or Inf: those statistics are written as null (the nan/inf counts say why)."""
    return value if value is None or math.isfinite(value) else None


def check_report(session) -> dict:
    rtol, atol = session.tolerance
    config = session.config
    mismatch = session.first_mismatch
    return {
        "config": {"device": str(session.device), "dtype": config.dtype, "batch": len(session.data.x),
                   "sizes": list(session.network.sizes), "seed": config.seed, "data": session.data.source,
                   "layers": session.network.source, "rtol": rtol, "atol": atol, "isolate": config.isolate,
                   "init": config.init},
        "loss": _number(session.loss),
        "steps": [_step_dict(report) for report in session.reports],
        "first_mismatch": None if mismatch is None else
            {"index": mismatch.index, "layer": mismatch.layer, "tensor": mismatch.tensor},
        "ok": mismatch is None,
    }


def _step_dict(report) -> dict:
    error = report.error
    return {
        "index": report.step.index, "direction": report.step.direction, "layer": report.step.layer,
        "tensors": [_tensor_dict(t) for t in report.tensors],
        "fed_from_autograd": list(report.fed),
        "error": None if error is None else
            {"type": error.type, "message": error.message, "file": error.file, "line": error.line},
    }


def _tensor_dict(comparison) -> dict:
    stats, diff = comparison.stats, comparison.diff
    return {
        "name": comparison.name,
        "shape": list(stats.shape) if stats else None,
        "dtype": stats.dtype if stats else None,
        "device": stats.device if stats else None,
        "stats": None if stats is None else {
            key: _number(getattr(stats, key)) for key in ("mean", "std", "min", "max", "norm", "zeros")
        } | {"nan": stats.nan, "inf": stats.inf},
        "ref_shape": list(comparison.ref_shape) if comparison.ref_shape is not None else None,
        "diff": None if diff is None else {"max_abs": _number(diff.max_abs), "max_rel": _number(diff.max_rel),
                                           "cosine": _number(diff.cosine), "worst": list(diff.worst)},
        "match": comparison.match,
        "hint": comparison.hint,
    }


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.3g}"


def _shape_text(shape) -> str:
    return "×".join(str(s) for s in shape) if shape else "scalar"


def print_check(session, out: Console) -> None:
    rtol, atol = session.tolerance
    out.print(Text.assemble(("gradtui check ", "bold"), session.network.describe(),
                            f"  ·  {session.device} {session.config.dtype}  ·  batch {len(session.data.x)}"
                            f"  ·  layers: {session.network.source}  ·  rtol {rtol:g}, atol {atol:g}"))
    for report in session.reports:
        out.print(step_view(report))
    mismatch = session.first_mismatch
    if mismatch is None:
        out.print(Text(f"✓ all {len(session.reports)} steps match autograd; loss {_fmt(session.loss)}", style="bold green"))
        return
    report = session.reports[mismatch.index]
    what = report.error if report.error else report.first_mismatch.hint
    tensor = f", {mismatch.tensor}" if mismatch.tensor else ""
    out.print(Text(f"✗ first mismatch: step {mismatch.index} ({report.step.direction} {mismatch.layer}{tensor}): {what}",
                   style="bold red"))


def step_view(report) -> Group:
    """A step's tensors as a table, then its hints and its error, each on a line of its own."""
    step = report.step
    mark = "[green]✓[/]" if report.ok else "[red]✗[/]"
    fed = f"  [dim](fed autograd's {', '.join(report.fed)})[/]" if report.fed else ""
    table = Table(title=f"{mark} step {step.index} · {step.direction} · {step.layer}{fed}", title_justify="left",
                  box=None, pad_edge=False, header_style="dim")
    for column in ("tensor", "shape", "mean", "std", "min", "max", "norm", "zeros", "nan/inf", "max|Δ|", ""):
        table.add_column(column, justify="left" if column in ("tensor", "shape", "") else "right", no_wrap=True)
    lines = []
    for t in report.tensors:
        s = t.stats
        alarms = f"[red]{s.nan}/{s.inf}[/]" if s and not s.finite else ("0" if s else "—")
        row = [t.name, _shape_text(s.shape) if s else "[red]missing[/]"]
        row += [_fmt(getattr(s, key)) if s else "—" for key in ("mean", "std", "min", "max", "norm")]
        row += [f"{s.zeros:.0%}" if s else "—", alarms, _fmt(t.diff.max_abs) if t.diff else "—",
                "[green]✓[/]" if t.match else "[red]✗[/]"]
        table.add_row(*row)
        if t.hint:
            lines.append(Text(f"  ↳ {t.name}: {t.hint}", style="yellow"))
    if report.error:
        lines.append(Text(f"  ↳ raised {report.error}", style="red"))
    return Group(table, *lines)
