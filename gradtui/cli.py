"""The command line: `gradtui` (the app), `gradtui check`, `gradtui bench`.

The only module that prints for the headless commands. Exit codes: 0 every gradient
matches, 1 a gradient mismatches or a step raised, 2 bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich_argparse import RichHelpFormatter

from gradtui import __version__
from gradtui.config import (
    DTYPES,
    INITS,
    InputError,
    RunConfig,
    parse_hidden,
    parse_net,
    parse_versions,
)
from gradtui.fixing import FixError
from gradtui.report import (
    BENCH_COLUMNS,
    bench_json,
    bench_row,
    check_json,
    check_renderable,
    fix_json,
    fix_renderable,
    floor_rows,
    rich_text,
)

if TYPE_CHECKING:  # torch-free at import: the app's command runs from here
    from gradtui.replay import Replay
    from gradtui.session import DebugSession

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
# Options of every command that bench has no use for: refused, never silently ignored.
BENCH_REFUSES = ("isolate", "strict_forward", "step_timeout", "net", "classes", "replay")


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr (and exit 2), not usage plus error."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _common_options() -> argparse.ArgumentParser:
    # SUPPRESS: an option given before the subcommand is not overwritten by the subcommand's default.
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("run options")

    def add(*names, **kw):
        group.add_argument(*names, default=argparse.SUPPRESS, **kw)

    add("--device", metavar="auto|cpu|cuda[:N]", help="where tensors live (auto: cuda when available)")
    add("--dtype", choices=DTYPES, help="float32 (default), float64, bfloat16 or float16")
    add("--batch", type=int, metavar="N", help="rows of data (default: 50000 synthetic rows, or every row of --data)")
    add("--net", type=_option_type(parse_net, "--net"), metavar="KINDS",
        help="the layers, comma-separated: lin relu tanh batchnorm, then a loss, mse or cross_entropy "
             "(default lin,relu,lin,mse; with --hidden 50,20 the lesson's deeper net)")
    add("--hidden", type=_option_type(parse_hidden, "--hidden"), metavar="H[,H...]",
        help="widths of the lin layers but the last: 50 (default) or 50,20 for a deeper net")
    add("--classes", type=int, metavar="C", help="classes for cross_entropy: the last lin's width (default 10)")
    add("--seed", type=int, metavar="S", help="seed of the synthetic data and the weights (default 0)")
    add("--init", choices=INITS, help="notes: zero biases, as in the lesson; random: small random biases")
    add("--data", type=Path, metavar="FILE", help="data file (.npz, .pt, .pkl.gz, .csv) instead of synthetic data")
    add("--layers", type=Path, metavar="FILE",
        help="a Python file (or a Jupyter notebook) defining your own Lin, Relu, Tanh, BatchNorm, Mse and/or "
             "CrossEntropy, or a Model (.layers and .loss, any layer among them)")
    add("--normalize", action="store_true", help="standardise x with its own mean and std, as the notes do")
    add("--step-timeout", type=float, metavar="SECONDS", help="report a step that runs longer as timed out (default: off)")
    add("--isolate", action="store_true", help="feed each backward step autograd's gradient, to judge every layer alone")
    add("--no-replay", dest="replay", action="store_false",
        help="do not replay a matching run in float64 on its first 256 rows, nor with its zero biases and "
             "unit gains moved (the replays find slips of order 1/N that rounding hides, and slips that a "
             "bias of 0 or a gain of 1 hides)")
    add("--strict-forward", action="store_true",
        help="a forward output that deviates from the reference layer (≠) fails the run too (default: reported only)")
    add("--rtol", type=float, metavar="R", help="relative tolerance (default by dtype: 1e-4 for float32)")
    add("--atol", type=float, metavar="A", help="absolute tolerance (default by dtype: 1e-7 for float32)")
    add("--debug", action="store_true", help="show the traceback of an unexpected error")
    return parent


def _option_type(parse, option: str):
    """An argparse type from a config parser: its InputError becomes argparse's one-line error."""
    def convert(text: str):
        try:
            return parse(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{option} {text!r}: ")) from None
    return convert


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = _OneLineParser(
        prog="gradtui", parents=[common], formatter_class=RichHelpFormatter,
        description="A terminal debugger for backpropagation: run a hand-written backward pass one layer "
                    "at a time and compare every .g with PyTorch autograd.",
        epilog="With no command, gradtui opens the debugger: n steps, p steps back, m runs to the first "
               "mismatch, t times the versions, ? lists every key. Exit codes: 0 all gradients match, "
               "1 a mismatch or an error in a step, 2 bad input.")
    parser.add_argument("--version", action="version", version=f"gradtui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "check", parents=[common], formatter_class=RichHelpFormatter,
        help="run every step headless and print a table per step",
        description="Run the forward and backward pass step by step, compare every tensor with autograd, "
                    "and name the first gradient that disagrees (and the first forward that deviates from the reference "
                    "layer). Exit 0 when every gradient matches, 1 on a mismatch or an error, 2 on bad input.")
    check.add_argument("--json", action="store_true", help="print the report as JSON (format in docs/design.md)")
    check.add_argument("--fix", action="store_true",
                       help="on a mismatch, look for an edit of your layer file that makes it match, run the check "
                            "with it, and print it as a diff only if it does (a series, when one slip hides another)")
    check.add_argument("--write", action="store_true",
                       help="with --fix: write the verified edit into the layer file (a notebook keeps its outputs)")
    bench = commands.add_parser(
        "bench", parents=[common], formatter_class=RichHelpFormatter,
        help="time the lesson's six versions of the backward pass, and a tuned seventh",
        description="Verify each version's gradients against autograd, then time it with torch.utils.benchmark "
                    "(median and IQR), with its GFLOP/s, its measured peak memory, and the time of the bare "
                    "matrix products as the floor. A version whose estimated peak exceeds the free memory is "
                    "skipped. Exit 0 when every version timed matches autograd, 1 otherwise, 130 on Ctrl-C.")
    bench.add_argument("--json", action="store_true", help="print the results as JSON (format in docs/design.md)")
    bench.add_argument("--versions", type=_option_type(parse_versions, "--versions"), metavar="V[,V...]",
                       default=argparse.SUPPRESS, help="which versions to run, e.g. 1,5,7 (default: all seven)")
    bench.add_argument("--min-time", type=float, metavar="SECONDS", default=argparse.SUPPRESS,
                       help="least time spent timing each version (default 1.0)")
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
    if args.command == "bench":
        for option in BENCH_REFUSES:
            if hasattr(args, option):
                flag = "--" + option.replace("_", "-")
                why = ("bench times the lesson's network, lin and relu layers with an MSE loss" if option in ("net", "classes")
                       else "bench times whole passes")
                err.print(f"gradtui bench: {flag} means nothing to bench: {why} (use it with gradtui check or the app)")
                return EXIT_BAD_INPUT
    if getattr(args, "write", False) and not getattr(args, "fix", False):
        err.print("gradtui check: --write writes what --fix finds: give both (gradtui check --fix --write)")
        return EXIT_BAD_INPUT
    try:
        config = config_from(args)
        if args.command is None:
            return _app(config, err)
        from gradtui.synthetic import draw_ahead  # NumPy: not for --help or a bad option

        draw_ahead(config)  # the synthetic data, on a thread of its own while torch loads
        if args.command == "bench":
            return _bench(config, args, err)
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


# -- the app ------------------------------------------------------------------------------

def _app(config: RunConfig, err: Console) -> int:
    """No torch before the first frame: what can be checked without it (the options, that the
    files exist) is checked here; the rest (the device, the files' contents) while the app loads,
    which then leaves with the same one line and exit 2."""
    for option, path in (("--layers", config.layers), ("--data", config.data)):
        if path is not None and not path.is_file():
            raise InputError(f"{option} {path}: no such file")
    from gradtui.ui.session_process import InProcess

    ahead = InProcess(config)  # torch loads there, and the steps run, while Textual loads here
    try:
        from gradtui.ui.app import GradTUI

        app = GradTUI(config, ahead)
        app.run()
    finally:
        ahead.close()
    return app.return_code or 0


# -- check --------------------------------------------------------------------------------

def _check(config: RunConfig, args: argparse.Namespace, err: Console) -> int:
    from gradtui.fixing import digest_of
    from gradtui.memory import bounded_memory
    from gradtui.replay import needs_replay, replay_in_float64  # torch loads here, after the arguments are checked
    from gradtui.session import DebugSession

    digest = digest_of(config.layers)  # the file as the check reads it: a fix is of this, and written only onto it
    session = DebugSession(config)
    for warning in (*session.data.warnings, *session.network.notes):
        err.print(f"gradtui: warning: {escape(warning)}")
    with bounded_memory(session.data.x.device):  # the user's code: a MemoryError, a failed step, not the kernel's kill
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
        replay = replay_in_float64(session) if needs_replay(session) else None
        found = session.first_mismatch is not None or (replay is not None and replay.mismatch is not None)
        try:
            named = _name_by_an_edit(session, replay, digest, err) if found else None
            # (an edit after which every gradient matches is the fix itself: not searched for twice)
            fix = (named if named is not None and named.passes else _fix(session, replay, digest, err)) \
                if args.fix and found else None
        except FixError as exc:
            err.print(f"gradtui: {escape(str(exc))}")
            return EXIT_BAD_INPUT
    if getattr(args, "json", False):
        document = check_json(session, replay)
        if args.fix:
            document["fix"] = fix_json(fix) if found else None  # (null: nothing to fix)
        print(json.dumps(document, indent=2))
    else:
        out = _stdout()
        # Piped output is not cut at 80 columns: the table needs about 100.
        print_check(session, out, replay)
        if args.fix and found:
            out.print(fix_renderable(fix))
    if fix is not None and args.write:
        try:
            written = fix.write(config.layers)
        except FixError as exc:
            err.print(f"gradtui: {escape(str(exc))}")
            return EXIT_BAD_INPUT
        err.print(f"gradtui: wrote {fix.edits} edit{'s' if fix.edits > 1 else ''} into {escape(str(written))}; "
                  f"the diff above undoes with `patch -R {escape(str(written))}`")
    return EXIT_MISMATCH if found else EXIT_OK


def _name_by_an_edit(session: DebugSession, replay: Replay | None, digest: str | None, err: Console):
    from gradtui.fixing import named_by_an_edit

    with err.status("no known slip fits: trying one edit of the line, and running the check with it", spinner="dots") \
            if err.is_terminal else contextlib.nullcontext():
        return named_by_an_edit(session, replay, digest)


def _fix(session: DebugSession, replay: Replay | None, digest: str | None, err: Console):
    from gradtui.fixing import fix_for

    with err.status("looking for an edit that makes it match, and running the check with it", spinner="dots") \
            if err.is_terminal else contextlib.nullcontext():
        return fix_for(session, replay, digest)


def _stdout(width: int = 120) -> Console:
    """Piped output is `width` columns, not 80: the check tables need about 100, the bench table
    about 130. soft_wrap keeps a verdict or a hint on one line, whatever the width, for grep and
    for CI logs."""
    out = Console(highlight=False, soft_wrap=True)
    return out if out.is_terminal else Console(highlight=False, soft_wrap=True, width=width)


def print_check(session: DebugSession, out: Console, replay: Replay | None = None) -> None:
    out.print(check_renderable(session, replay))


# -- bench --------------------------------------------------------------------------------

def _bench(config: RunConfig, args: argparse.Namespace, err: Console) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from gradtui.bench.runner import BenchRunner, Roofline
    from gradtui.bench.versions import VERSIONS

    runner = BenchRunner(config)
    rows, roofline, interrupted = [], None, False
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)
    # The floor is measured first (each row is compared with it) and reported last.
    upcoming = ["the floor: the GEMMs alone"] + [f"v{n} {VERSIONS[n].name}" for n in runner.versions]
    if runner.yours is not None:
        upcoming.append(f"yours: {runner.yours.source}")
    try:
        with progress:
            task = progress.add_task(upcoming[0], total=len(upcoming))
            for done, result in enumerate(runner.results(), start=1):
                if isinstance(result, Roofline):
                    roofline = result
                else:
                    rows.append(result)
                progress.update(task, advance=1, description=upcoming[min(done, len(upcoming) - 1)])
    except KeyboardInterrupt:
        interrupted = True
    if args.json:
        print(json.dumps(bench_json(runner, rows, roofline), indent=2))
    else:
        print_bench(runner, rows, roofline, _stdout(width=140))
    if interrupted:
        err.print(f"gradtui: interrupted after {len(rows)} of {len(upcoming) - 1} versions")
        return EXIT_INTERRUPTED
    return EXIT_OK if all(row.match is not False for row in rows) else EXIT_MISMATCH


def print_bench(runner, rows, roofline, out: Console) -> None:
    out.print(Text.assemble(("gradtui bench ", "bold"), runner.network.describe(),
                            f"  ·  {runner.device} {runner.config.dtype}  ·  batch {runner.n}"
                            f"  ·  {runner.threads} threads  ·  min time {runner.config.min_time:g} s"))
    table = Table(box=None, pad_edge=False, header_style="dim")
    for column in BENCH_COLUMNS:
        table.add_column(column, justify="left" if column in ("what it is", "") else "right", no_wrap=True)
    for row in rows:
        table.add_row(*(rich_text(cell) for cell in bench_row(row)))
    for row in floor_rows(roofline) if roofline is not None else []:
        table.add_row(*(rich_text(cell) for cell in row))
    out.print(table)
