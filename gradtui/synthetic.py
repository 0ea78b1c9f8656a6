"""The seeded synthetic data, drawn with NumPy so that it can be drawn while torch imports.

At the default size x is 39 million normal numbers: 160 ms of one core with torch's generator,
more with NumPy's. Importing torch takes about a second of the other core, so the CLI and the
app start the draw on a thread of its own (`draw_ahead`) before they import torch, and the
session takes the result (`drawn`) when it needs it: the data is ready as torch is. NumPy's
bulk draws release the GIL; NumPy itself loads in 50 ms and torch would load it anyway.

x and y come from streams of their own, each drawn in order, so a smaller batch is the first
rows of a larger one.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import Future

import numpy as np

from gradtui.config import DEFAULT_BATCH, N_FEATURES, RunConfig
from gradtui.copy_on_write import shareable
from gradtui.memory import free_bytes_on_cpu

Key = tuple[int, int, int]  # (batch, seed, classes)

_ahead: dict[Key, Future] = {}
_lock = threading.Lock()


def draw(batch: int, seed: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """x ~ N(0, 1) of shape (batch, 784) in float32, y = integer labels 0..classes-1 (as float32)."""
    x = shareable((batch, N_FEATURES), np.float32)  # the user's copy of x shares its pages
    np.random.default_rng([seed, 0]).standard_normal(dtype=np.float32, out=x)
    y = np.random.default_rng([seed, 1]).integers(0, classes, batch).astype(np.float32)
    return x, y


def draw_ahead(config: RunConfig) -> None:
    """Start drawing the run's synthetic data on a daemon thread, for `drawn` to take. Not for a
    --data file, nor when the draw would take more than a quarter of the free memory: the
    session's own check then says what does not fit."""
    key = (config.batch or DEFAULT_BATCH, config.seed, config.classes)
    if config.data is not None or 2 * key[0] * N_FEATURES * 4 > free_bytes_on_cpu() // 4:
        return
    with _lock:
        if key in _ahead:
            return
        future: Future = Future()
        _ahead[key] = future

    def run() -> None:
        try:
            _yield_to_the_import()
            future.set_result(draw(*key))
        except BaseException as exc:  # MemoryError, say: `drawn` draws again and says it
            future.set_exception(exc)

    threading.Thread(target=run, name="gradtui-draw", daemon=True).start()


def _yield_to_the_import() -> None:
    """The draw has time to spare and torch's import has none: at nice 19 the draw gives way
    whenever the two meet on one core (Linux; elsewhere the draw keeps its priority). Over ten
    cold starts each, the app's load had every step ready 18 ms sooner, and within a narrower
    range (1.30–1.33 s against 1.27–1.37 s)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def drawn(batch: int, seed: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The draw started ahead for these arguments (once: it is not kept), or a draw now."""
    with _lock:
        future = _ahead.pop((batch, seed, classes), None)
    if future is not None and future.exception() is None:
        return future.result()
    return draw(batch, seed, classes)

