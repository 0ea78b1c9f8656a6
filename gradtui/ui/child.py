"""A child process of gradtui's own, spoken to in pickles both ways: the timing pane's
(bench_process) and the session's (session_process).

A plain subprocess, not multiprocessing: that hands the child sys.stderr's descriptor, which a
UI capturing stdio does not have. The child's stderr goes nowhere: the screen is Textual's.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import BinaryIO

READER_JOIN_S = 2.0  # a reader thread ends on the pipe's EOF once the child is gone


def spawn(module: str) -> subprocess.Popen:
    """A fresh Python running `module`'s child_main(), its stdin and stdout piped to us."""
    return subprocess.Popen([sys.executable, "-c", f"from {module} import child_main; child_main()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def channel() -> BinaryIO:
    """In the child: its stdout, kept for pickles alone; whatever else prints to stdout (a warning,
    a library) goes to stderr instead, so that it cannot corrupt the channel."""
    kept = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return kept


def send(stream: BinaryIO, payload) -> None:
    pickle.dump(payload, stream)
    stream.flush()


def pickles(stream: BinaryIO) -> Iterator:
    """What the other side sent, until it ends (our own child's, or our own parent's: trusted)."""
    try:
        while True:
            yield pickle.load(stream)
    except (EOFError, OSError, pickle.UnpicklingError):
        return


def end(process: subprocess.Popen, reader: threading.Thread | None) -> None:
    """Kill the child if it still runs, and close its pipe once the reader has seen the end:
    closing it under a pickle.load in progress raised ValueError in the reader thread."""
    if process.poll() is None:
        process.kill()
    process.wait()
    if process.stdin is not None:
        with contextlib.suppress(OSError):  # the child is gone with data unread
            process.stdin.close()
    if reader is not None:
        reader.join(READER_JOIN_S)
        if reader.is_alive():
            return
    process.stdout.close()
