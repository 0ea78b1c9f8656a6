"""What a step found, as plain data: statistics, histograms, difference maps, comparisons and step
reports. No torch here: the app reads these from a session run in another process (gradtui.ui.ahead),
and a module that imports torch would cost the screen the second that torch takes to load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gradtui.running import StepError
from gradtui.steps import Step

NO_KNOWN_SLIP = "fits no known slip"  # a hint's fallback's words: what follows them is where to look


@dataclass(frozen=True)
class TensorStats:
    shape: tuple[int, ...]
    dtype: str
    device: str
    numel: int
    mean: float  # mean, std, min, max and norm are over the finite values
    std: float
    min: float
    max: float
    norm: float
    zeros: float | None  # fraction of elements exactly 0; None: not counted (a reference's, shown nowhere)
    nan: int
    inf: int

    @property
    def finite(self) -> bool:
        return self.nan == 0 and self.inf == 0

    @property
    def absmax(self) -> float:
        """The largest finite magnitude (0 when nothing is finite)."""
        if not self.numel or math.isnan(self.min):
            return 0.0
        return max(abs(self.min), abs(self.max))


@dataclass(frozen=True)
class Histogram:
    """Counts of a tensor's finite values and of its reference's, over one shared range."""

    low: float
    high: float
    counts: tuple[int, ...]
    ref_counts: tuple[int, ...] | None
    every: int = 1  # 1: every value counted; k: one value in k (evenly strided), for big tensors


@dataclass(frozen=True)
class DifferenceMap:
    """|yours − reference| on the tensor's own layout, pooled to a small grid keeping each cell's
    largest value (one wrong element still shows); for tensors of different shapes, just the shapes."""

    shape: tuple[int, ...]
    ref_shape: tuple[int, ...]
    cells: tuple[tuple[float, ...], ...] = ()  # rows of the grid (1 for a vector); () for different shapes
    scale: float = 0.0  # the largest difference


@dataclass(frozen=True)
class Diff:
    max_abs: float  # max |a - r|, NaN/Inf at the same places on both sides counting as equal
    max_rel: float  # max_abs / max |r|
    cosine: float
    worst: tuple[int, ...]  # index of the largest difference


@dataclass(frozen=True)
class Comparison:
    """One tensor of a step against its reference (autograd's gradient, or the reference layer's output)."""

    name: str
    stats: TensorStats | None  # None: the tensor is missing or not a tensor
    ref: TensorStats | None  # None: the reference has no value for it
    diff: Diff | None  # None: shapes differ, or a side is missing
    match: bool
    hint: str | None = None
    tolerance: tuple[float, float] = field(default=(0.0, 0.0))
    # A forward output that differs from the reference layer's: reported (≠), not failed.
    deviation: bool = False
    scale: float = 0.0  # the least scale of the tolerance (a bias gradient's sum over the batch)
    where: str | None = None  # on a mismatch: where the difference is, when the places say something
    map: DifferenceMap | None = None  # on a mismatch: the difference drawn on the tensor's layout (or the two shapes)
    slip_at: tuple[str, int, str] | None = None  # (file, line, code) of the forward line whose derivative the hint names

    @property
    def ref_shape(self) -> tuple[int, ...] | None:
        return self.ref.shape if self.ref else None

    @property
    def ok(self) -> bool:
        """Does not fail the run: a match, or a forward deviation."""
        return self.match or self.deviation

    @property
    def mark(self) -> str:
        return "✓" if self.match else ("≠" if self.deviation else "✗")


@dataclass(frozen=True)
class StepReport:
    step: Step
    tensors: tuple[Comparison, ...] = ()
    error: StepError | None = None
    fed: tuple[str, ...] = ()  # gradients from above taken from autograd (--isolate, or missing)
    notes: tuple[str, ...] = ()  # what the step did that is worth knowing but is no verdict
    output: str = ""  # what the user's code printed during the step

    @property
    def ok(self) -> bool:
        """Nothing fails: no error, and every tensor matches or only deviates (a forward difference)."""
        return self.error is None and all(t.ok for t in self.tensors)

    @property
    def failing_tensor(self) -> Comparison | None:
        """The first of the step's tensors that fails the run."""
        return next((t for t in self.tensors if not t.ok), None)

    @property
    def deviating_tensor(self) -> Comparison | None:
        """A forward output unlike the reference layer's (under --strict-forward too)."""
        if self.step.direction != "forward":
            return None
        return next((t for t in self.tensors if not t.match), None)

    @property
    def mark(self) -> str:
        """✓ all match, ✗ a mismatch, ≠ a forward deviation only, ! the step raised."""
        if self.error is not None:
            return "!"
        if not self.ok:
            return "✗"
        return "≠" if self.deviating_tensor is not None else "✓"


@dataclass(frozen=True)
class Location:
    """Where something first happened: a step, its layer, and the tensor (None: the step raised)."""

    index: int
    layer: str
    tensor: str | None


def first_mismatch(reports: list[StepReport]) -> Location | None:
    """The first tensor of these steps that fails the run (a step that raised: tensor None)."""
    for report in reports:
        if not report.ok:
            bad = report.failing_tensor
            return Location(report.step.index, report.step.layer, bad.name if bad and not report.error else None)
    return None


def first_deviation(reports: list[StepReport]) -> Location | None:
    """The first forward output of these steps that differs from the reference layer's."""
    for report in reports:
        deviation = report.deviating_tensor
        if deviation is not None:
            return Location(report.step.index, report.step.layer, deviation.name)
    return None


def first_nonfinite(reports: list[StepReport]) -> Location | None:
    """The first tensor of these steps that holds a NaN or an Inf: where bad numbers are born."""
    for report in reports:
        for tensor in report.tensors:
            if tensor.stats is not None and not tensor.stats.finite:
                return Location(report.step.index, report.step.layer, tensor.name)
    return None


@dataclass(frozen=True)
class ReplayVerdict:
    """What the float64 replay of a matching pass found (gradtui.replay), as the app receives it."""

    rows: int
    mismatch: Location | None
    hint: str | None
    note: str | None
    seen_only: str  # "seen in float64 only", "seen only with b1 off 0"
    briefly: str  # the same, for the pipeline panel
