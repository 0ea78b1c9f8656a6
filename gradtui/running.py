"""Running the user's code: a time limit, what it prints, and where it failed.

Whatever the user's forward or backward does, gradtui goes on: an exception, a `sys.exit()`
and a `--step-timeout` overrun are failed steps at the user's line, and what the code prints
(students debug with `print`) is kept for the step instead of reaching gradtui's own output
(`check --json` stays JSON).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

OUTPUT_LIMIT = 4000  # characters of a step's output kept: its end, where the last print is


class StepTimeout(Exception):
    """The user's code ran past --step-timeout."""


@dataclass(frozen=True)
class StepError:
    type: str
    message: str
    file: str | None = None
    line: int | None = None


class _Kept(io.StringIO):
    """An output stream that keeps the last OUTPUT_LIMIT characters and counts the rest."""

    def __init__(self):
        super().__init__()
        self.cut = 0

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.tell() > 2 * OUTPUT_LIMIT:
            kept = self.getvalue()[-OUTPUT_LIMIT:]
            self.cut += self.tell() - len(kept)
            self.seek(0)
            self.truncate()
            super().write(kept)
        return written

    def text(self) -> str:
        value = self.getvalue()
        if self.cut or len(value) > OUTPUT_LIMIT:
            cut = self.cut + max(0, len(value) - OUTPUT_LIMIT)
            return f"… ({cut} characters before) " + value[-OUTPUT_LIMIT:]
        return value


@contextlib.contextmanager
def captured():
    """What the code in the block prints, to stdout or stderr, kept instead of printed."""
    kept = _Kept()
    with contextlib.redirect_stdout(kept), contextlib.redirect_stderr(kept):
        yield kept


# torch's default dtype is the process's, not a thread's: a load of the app that a new load overtook
# still runs its step, and a float64 run beside another float64 run set it back to float64 for good
# (the first saved float32, the second float64, and they ended in that order). One run at a time sets it.
_default_dtype_held = threading.RLock()


@contextlib.contextmanager
def numbers_made_in(dtype):
    """torch's default dtype while the user's code runs in a float64 run (the replay's too): float64, so that
    what it makes of Python numbers (`torch.where(x >= 0, 1., self.alpha)`, `torch.zeros(n)`) is float64 as
    the run's tensors are, as a gradient check in float64 is run. A run in another dtype keeps float32's: a
    float32 factor in a bfloat16 run changes the gradient's dtype, which the run names. Runs on other threads
    wait (a float32 run beside a float64 one would make float64 tensors)."""
    import torch  # here, not at the top: the app's face imports this module and never torch

    with _default_dtype_held:
        if dtype != torch.float64:
            yield
            return
        before = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            yield
        finally:
            torch.set_default_dtype(before)


@dataclass(frozen=True)
class Outcome:
    value: object = None
    error: BaseException | None = None
    output: str = ""  # what the code printed


def run_user_code(function, timeout: float | None) -> Outcome:
    """The user's forward or backward, its output captured. With a timeout it runs in a thread
    abandoned if it overruns (Python cannot stop a thread: it runs on in the background, and the
    error is a StepTimeout). SystemExit is an error like any other; KeyboardInterrupt goes through."""
    with captured() as kept:
        if timeout is None:
            try:
                return Outcome(function(), output=kept.text())
            except (Exception, SystemExit) as exc:
                return Outcome(error=_as_error(exc), output=kept.text())
        outcome = {}

        def run():
            try:
                outcome["value"] = function()
            except BaseException as exc:  # handed to the session's thread below
                outcome["error"] = exc

        thread = threading.Thread(target=run, daemon=True, name="gradtui-step")
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            return Outcome(error=StepTimeout(f"did not finish within {timeout:g} s (--step-timeout)"), output=kept.text())
        error = outcome.get("error")
        if isinstance(error, KeyboardInterrupt):
            raise error
        return Outcome(outcome.get("value"), None if error is None else _as_error(error), kept.text())


def _as_error(exc: BaseException) -> BaseException:
    return UserExit(exc) if isinstance(exc, SystemExit) else exc


class UserExit(Exception):
    """The user's code called sys.exit(): a failed step, not the end of gradtui."""

    def __init__(self, exit_: SystemExit):
        super().__init__(f"the code called sys.exit({exit_.code!r}); gradtui went on")
        self.__traceback__ = exit_.__traceback__


def step_error(exc: BaseException, layer, direction: str) -> StepError:
    """The exception, located at the deepest line of the layer's own code (the user's, usually); one
    raised before that code ran (a method called with arguments it does not take) at the method."""
    files = {str(Path(function.__code__.co_filename).resolve()) for klass in type(layer).__mro__
             if not klass.__module__.startswith("gradtui.")  # the user's classes, not the Module they subclass
             for function in vars(klass).values() if inspect.isfunction(function)}
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [frame for frame in frames if str(Path(frame.filename).resolve()) in files]
    name = "SystemExit" if isinstance(exc, UserExit) else type(exc).__name__
    if ours:
        return StepError(name, first_line(exc), ours[-1].filename, ours[-1].lineno)
    return StepError(name, first_line(exc) + _protocol(exc, layer, direction), *source_location(type(layer), direction))


def _protocol(exc: BaseException, layer, direction: str) -> str:
    """For a backward called with arguments it does not take: how gradtui calls it (the notes' protocol)."""
    if direction != "backward" or not isinstance(exc, TypeError) or "positional argument" not in str(exc):
        return ""
    if method_for(type(layer), "backward").__name__ == "bwd":
        return ("; gradtui's Module calls bwd(out, inp), as the notes' version 4: it reads out.g and sets inp.g (and "
                "the parameters' .g), and returns nothing")
    return ("; gradtui calls backward() with no argument, as the notes' version 3: it reads the gradient from above "
            "from its output (self.out.g) and sets inp.g and its parameters' .g, and returns nothing")


def method_for(cls: type, direction: str):
    """The method that runs for a step: forward/bwd for a Module subclass (version 4), else
    __call__/backward (version 3)."""
    names = ("forward", "__call__") if direction == "forward" else ("bwd", "backward")
    for klass in cls.__mro__:
        for name in names:
            if name in klass.__dict__:
                return klass.__dict__[name]
    return getattr(cls, names[-1])


def source_location(cls: type, direction: str) -> tuple[str | None, int | None]:
    """Where the method that runs for a step in this direction starts (the user's forward/bwd)."""
    try:
        method = method_for(cls, direction)
        file = inspect.getsourcefile(method)
    except (TypeError, OSError):
        return None, None
    code = getattr(inspect.unwrap(method), "__code__", None)
    if file is None or code is None:
        return None, None
    return file, code.co_firstlineno  # (its first decorator's line, as inspect's source lines start)


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)


def quietly(function):
    """`function()` with anything it prints dropped (autograd's pass through the user's forward)."""
    with captured():
        return function()

