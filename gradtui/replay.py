"""Sharper than the run: a matching run replayed in float64 on its first rows, then with its
constant parameters moved.

float32 resolves about 1e-7 of a tensor's largest value, so a slip of order 1/N (a backward
that multiplies by n/(n−1) where the forward divides by n) vanishes in the rounding at a
large batch. The replay runs the same layers, on the first REPLAY_ROWS rows of the same data
and the same weights, in float64, where the verdict's tolerance is 1e-9; a mismatch there is
one that rounding hid. What only the replay causes is not a mismatch: a step that raises
(a float32 cast meeting a float64 tensor), or a dtype the user's code casts to (judged with
that dtype's tolerance, as is everything after it; a forward that computes in a narrower dtype
inside is judged so in any run, from that layer's backward on: DebugSession._watched).

The notes' init makes every bias 0 and every batch-norm gain 1, and a slip multiplied by 1 or
added to 0 leaves no trace: a batch norm's input gradient without its gain matches at gain 1.
When that replay matches too (or the run was float64), a second one moves every parameter of
a layer kind whose elements are all 0 or all 1 by 0.1 · N(0, 1), as --init random draws them;
a mismatch there is one that the constant hid.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from gradtui.findings import Comparison, Location
from gradtui.formatting import number
from gradtui.session import DebugSession

REPLAY_ROWS = 256


@dataclass(frozen=True)
class Replay:
    rows: int
    session: DebugSession  # the float64 session, run to its end
    mismatch: Location | None = None  # the first mismatch that rounding (or a constant moved) hid
    note: str | None = None  # why the replay says nothing (it raised where the run did not)
    moved: dict[str, float] = field(default_factory=dict)  # parameter -> the constant it held in the run

    @property
    def moved_words(self) -> str:
        """The parameters moved, by the constant they held: "b1, beta1 off 0 and gamma1 off 1"."""
        names: dict[float, list[str]] = {}
        for name, value in self.moved.items():
            names.setdefault(value, []).append(name)
        return " and ".join(f"{', '.join(group)} off {number(value)}" for value, group in names.items())

    @property
    def seen_only(self) -> str:
        """How the replay saw what the run hid: "seen in float64 only", "seen only with b1 off 0"."""
        return f"seen only with {self.moved_words}" if self.moved else "seen in float64 only"

    @property
    def hidden_by(self) -> str:
        return "the run's rounding" if not self.moved else \
            f"the run's constant {'value' if len(self.moved) == 1 else 'values'} (the notes' init)"

    @property
    def briefly(self) -> str:
        """seen_only for a narrow panel."""
        return "in float64 only" if not self.moved else "with constants moved"

    @property
    def comparison(self) -> Comparison | None:
        if self.mismatch is None:
            return None
        report = self.session.reports[self.mismatch.index]
        return next(t for t in report.tensors if t.name == self.mismatch.tensor)


HIDING = (0.0, 1.0)  # a term added to 0, a factor multiplied by 1: a slip in either leaves no trace


def constant_parameters(session: DebugSession) -> dict[str, float]:
    """The parameters of the run's layers of a known kind whose elements are all 0 or all 1 (the
    notes' zero biases and unit gains), with that value. A layer of any other class keeps its
    tensors: a constant there may be what it means (a mask)."""
    constants = {}
    for spec in session.network.specs:
        if spec.entry.init is None:
            continue
        for name in spec.params:
            flat = session.params[name].detach().reshape(-1)
            for value in HIDING:
                if flat.numel() and flat.is_floating_point() and bool((flat == value).all()):
                    constants[name] = value
    return constants


def needs_replay(session: DebugSession) -> bool:
    """A run that reached its end with every gradient matching, in float32, float16 or bfloat16,
    or with a constant parameter."""
    config = session.config
    return config.replay and session.done and session.first_mismatch is None and (
        config.dtype != "float64" or bool(constant_parameters(session)))


def replay_in_float64(session: DebugSession) -> Replay:
    """The session's pass again, in float64, on its first REPLAY_ROWS rows (unless it ran in
    float64); then, while nothing mismatches, with its constant parameters moved."""
    replay = None if session.config.dtype == "float64" else _replayed(session, {})
    constants = constant_parameters(session)
    if constants and (replay is None or (replay.mismatch is None and replay.note is None)):
        replay = _replayed(session, constants)
    return replay


def _replayed(session: DebugSession, moved: dict[str, float]) -> Replay:
    rows = min(REPLAY_ROWS, len(session.data.x))
    data = session.data.first_rows_in_float64(rows)
    config = replace(session.config, dtype="float64", batch=rows, rtol=None, atol=None)
    params = {name: t.to(torch.float64) for name, t in session.params.items()}
    draw = torch.Generator().manual_seed(3 * config.seed + 1)  # a stream apart from the data's and the weights'
    for name in moved:  # as --init random: 0.1 · N(0, 1) about the constant
        params[name] = params[name] + 0.1 * torch.randn(params[name].shape, generator=draw, dtype=torch.float64)
    replayed = DebugSession(config, data, network=session.network, replay=True, params=params)
    replayed.run_to_end()
    mismatch = replayed.first_mismatch
    if mismatch is not None and mismatch.tensor is None:
        error = replayed.reports[mismatch.index].error
        note = (f"the float64 replay stopped at step {mismatch.index} ({mismatch.layer}), where the run did not: "
                f"{error.type}: {error.message}")
        return Replay(rows, replayed, None, note, moved)
    return Replay(rows, replayed, mismatch, moved=moved)
