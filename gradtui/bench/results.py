"""What a timing run finds, as plain data with no torch: the timing pane reads these from its child
process, and a face that imported torch to read them would stall for most of a second."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VersionResult:
    version: int | str  # 1..7, or "yours"
    name: str
    median_s: float | None = None
    iqr_s: float | None = None
    runs: int | None = None
    ratio_to_autograd: float | None = None
    gflops: float | None = None
    peak_bytes: int | None = None
    max_abs_err: float | None = None
    match: bool | None = None
    skipped: str | None = None
    ratio_to_floor: float | None = None  # median / the floor of the GEMMs this version does
    timed_rows: int | None = None  # timed on these first rows, its time and memory scaled to the batch


@dataclass(frozen=True)
class Roofline:
    """The floor: the matrix products of a forward and backward pass alone, with x.g's and without."""

    median_s: float
    gflops: float
    what: str = "the forward and backward GEMMs alone"
    params_only_s: float | None = None  # without the GEMM of x.g, which version 7 skips
    params_only_gflops: float | None = None
