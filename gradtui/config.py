"""RunConfig: every knob of a run, validated once, shared by the CLI, the app and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gradtui.kinds import KINDS
from gradtui.steps import check_kinds, network_kinds


class InputError(ValueError):
    """Bad input from the user (an option, a file, a device): exit code 2, one line."""


# No torch import at module level: `gradtui --help` and a bad option answer at once, without
# the 1.5 s that importing torch costs.
DTYPES = ("float32", "float64", "bfloat16", "float16")

# (rtol, atol) by dtype: one scale for the whole tensor, see docs/design.md.
DEFAULT_TOLERANCES = {
    "float64": (1e-9, 1e-12),
    "float32": (1e-4, 1e-7),
    "float16": (1e-2, 1e-3),
    "bfloat16": (1e-2, 1e-3),
}

INITS = ("notes", "random")
DEFAULT_WIDTH = 50  # of each hidden lin when --hidden is not given
DEFAULT_CLASSES = 10
VERSION_NUMBERS = range(1, 8)  # the timing versions of gradtui.bench.versions
N_FEATURES = 784  # MNIST's 28 x 28, the lesson's input width
DEFAULT_BATCH = 50_000  # rows of synthetic data when --batch is not given
N_OUT = 1


def parse_hidden(text: str) -> tuple[int, ...]:
    """'50,20' -> (50, 20); every width a positive integer."""
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise InputError(f"--hidden {text!r}: expected positive integers separated by commas, e.g. 50,20") from None
    if not widths or any(width <= 0 for width in widths):
        raise InputError(f"--hidden {text!r}: every hidden width must be a positive integer, e.g. 50,20")
    return widths


def parse_net(text: str) -> tuple[str, ...]:
    """'lin,batchnorm,tanh,lin,cross_entropy' -> its kinds, checked."""
    kinds = tuple(part.strip() for part in text.split(","))
    problem = check_kinds(kinds, typed=True)
    if problem:
        raise InputError(f"--net {text!r}: {problem}")
    return kinds


def parse_versions(text: str) -> tuple[int, ...]:
    """'1,5,7' -> (1, 5, 7)."""
    try:
        numbers = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise InputError(f"--versions {text!r}: expected version numbers separated by commas, e.g. 1,5,7") from None
    unknown = [n for n in numbers if n not in VERSION_NUMBERS]
    if unknown:
        raise InputError(f"--versions {text!r}: no version {', '.join(map(str, unknown))}; choose from 1 to 7")
    return numbers


def _width_changing(kinds: tuple[str, ...]) -> int:
    """How many of these layers take a width of their own (lin): --hidden gives all of theirs but the last's."""
    return sum(KINDS[kind].changes_width for kind in kinds)


@dataclass(frozen=True)
class RunConfig:
    device: str = "auto"
    dtype: str = "float32"
    batch: int | None = None  # None: DEFAULT_BATCH synthetic rows, or every row of a --data file
    net: tuple[str, ...] | None = None  # None: the lesson's, Lin and ReLU per hidden width, Lin, MSE
    hidden: tuple[int, ...] | None = None  # None: 50 for each lin but the last
    classes: int = DEFAULT_CLASSES  # outputs of the last lin for cross_entropy
    seed: int = 0
    init: str = "notes"
    isolate: bool = False
    strict_forward: bool = False  # a forward deviation from the reference layer fails the run
    data: Path | None = None
    normalize: bool = False  # standardise x with its own mean and std, as the notes do
    step_timeout: float | None = None  # seconds a step may run before it is reported as timed out
    replay: bool = True  # a matching float32/16 run is replayed in float64 on its first rows (gradtui.replay)
    layers: Path | None = None
    rtol: float | None = None
    atol: float | None = None
    # bench only
    versions: tuple[int, ...] | None = None
    min_time: float = 1.0

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise InputError(f"--dtype {self.dtype!r}: choose one of {', '.join(DTYPES)}")
        if self.init not in INITS:
            raise InputError(f"--init {self.init!r}: choose one of {', '.join(INITS)}")
        if self.batch is not None and self.batch <= 0:
            raise InputError(f"--batch {self.batch}: the batch must be a positive number of rows")
        if self.hidden is not None and (not self.hidden or any(width <= 0 for width in self.hidden)):
            raise InputError(f"--hidden {self.hidden}: every hidden width must be a positive integer")
        if self.net is not None:
            problem = check_kinds(self.net)
            if problem:
                raise InputError(f"--net {','.join(self.net)}: {problem}")
            lins = _width_changing(self.net)
            if self.hidden is not None and len(self.hidden) != lins - 1:
                raise InputError(f"--hidden {','.join(map(str, self.hidden))}: --net {','.join(self.net)} has {lins} "
                                 f"lin layers, so it takes {lins - 1} hidden width(s) (the last lin gives the loss "
                                 "its input)")
        if self.classes < 2:
            raise InputError(f"--classes {self.classes}: cross_entropy needs at least 2 classes")
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise InputError(f"--{name} {value}: a tolerance must be a number >= 0")
        if self.versions is not None:
            unknown = sorted(set(self.versions) - set(VERSION_NUMBERS))
            if unknown or not self.versions:
                raise InputError(f"--versions: no version {', '.join(map(str, unknown))}; choose from 1 to 7")
        if self.step_timeout is not None and not self.step_timeout > 0:
            raise InputError(f"--step-timeout {self.step_timeout}: must be a positive number of seconds")
        if not self.min_time > 0:
            raise InputError(f"--min-time {self.min_time}: must be a positive number of seconds")

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.net if self.net is not None else network_kinds(self.widths)

    @property
    def widths(self) -> tuple[int, ...]:
        """The output widths of every lin but the last."""
        if self.hidden is not None:
            return self.hidden
        return (DEFAULT_WIDTH,) * (_width_changing(self.net) - 1 if self.net is not None else 1)

    @property
    def loss(self) -> str:
        return self.kinds[-1]

    @property
    def n_out(self) -> int:
        """The width of the last lin: 1 for mse, --classes for cross_entropy."""
        return self.classes if self.loss == "cross_entropy" else N_OUT

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)

    @property
    def tolerances(self) -> tuple[float, float]:
        rtol, atol = DEFAULT_TOLERANCES[self.dtype]
        return (rtol if self.rtol is None else self.rtol, atol if self.atol is None else self.atol)

    def resolve_device(self):
        """The torch.device this run uses; InputError when it is not available here."""
        import torch

        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            device = torch.device(self.device)
        except RuntimeError:
            raise InputError(f"--device {self.device!r}: expected auto, cpu, cuda or cuda:N") from None
        if device.type == "cpu":
            return device
        if device.type != "cuda":
            raise InputError(f"--device {self.device!r}: expected auto, cpu, cuda or cuda:N")
        if not torch.cuda.is_available():
            raise InputError(f"--device {self.device}: CUDA is not available on this machine; use --device cpu")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise InputError(f"--device {self.device}: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}")
        return device
