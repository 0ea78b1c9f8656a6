"""Sharper than float32: a matching run replayed in float64 on its first rows.

float32 resolves about 1e-7 of a tensor's largest value, so a slip of order 1/N (a backward
that multiplies by n/(n−1) where the forward divides by n) vanishes in the rounding at a
large batch. The replay runs the same layers, on the first REPLAY_ROWS rows of the same data
and the same weights, in float64, where the verdict's tolerance is 1e-9; a mismatch there is
one that rounding hid. What only the replay causes is not a mismatch: a step that raises
(a float32 cast meeting a float64 tensor), or a dtype the user's code casts to (judged with
that dtype's tolerance, as is everything after it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from gradtui.compare import Comparison
from gradtui.data import Dataset
from gradtui.session import DebugSession, Location

REPLAY_ROWS = 256


@dataclass(frozen=True)
class Replay:
    rows: int
    session: DebugSession  # the float64 session, run to its end
    mismatch: Location | None = None  # the first mismatch that rounding hid
    note: str | None = None  # why the replay says nothing (it raised where the run did not)

    @property
    def comparison(self) -> Comparison | None:
        if self.mismatch is None:
            return None
        report = self.session.reports[self.mismatch.index]
        return next(t for t in report.tensors if t.name == self.mismatch.tensor)


def needs_replay(session: DebugSession) -> bool:
    """A run in float32, float16 or bfloat16 that reached its end with every gradient matching."""
    config = session.config
    return config.replay and config.dtype != "float64" and session.done and session.first_mismatch is None


def replay_in_float64(session: DebugSession) -> Replay:
    """The session's pass again, in float64, on its first REPLAY_ROWS rows."""
    rows = min(REPLAY_ROWS, len(session.data.x))
    x, y = session.data.x[:rows], session.data.y[:rows]
    data = Dataset(x.to(torch.float64), y.to(torch.float64) if y.is_floating_point() else y, session.data.source)
    config = replace(session.config, dtype="float64", batch=rows, rtol=None, atol=None)
    params = {name: t.to(torch.float64) for name, t in session.params.items()}
    replayed = DebugSession(config, data, network=session.network, replay=True, params=params)
    replayed.run_to_end()
    mismatch = replayed.first_mismatch
    if mismatch is not None and mismatch.tensor is None:
        error = replayed.reports[mismatch.index].error
        note = (f"the float64 replay stopped at step {mismatch.index} ({mismatch.layer}), where the run did not: "
                f"{error.type}: {error.message}")
        return Replay(rows, replayed, None, note)
    return Replay(rows, replayed, mismatch)
