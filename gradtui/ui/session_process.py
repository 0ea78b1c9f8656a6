"""The `gradtui` command's loads, run ahead in a child process of its own (`InProcess`).

Why a process: in the app's first second, torch's import and Textual's (and then its first
frame and every step's update of the screen) are all Python, and in one process they take
turns under one GIL. The child is started before Textual is imported, so torch loads and the
steps run beside the app on the other core; the app reads their events (gradtui.ui.ahead:
plain data, no torch) from a pipe, and never imports torch itself.

The child keeps its last good session's data: a reload (`same_data`) runs the layer file
again on the same numbers, and a load sent while another runs stops that one between steps.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from typing import TYPE_CHECKING

from gradtui.config import RunConfig
from gradtui.ui.child import channel, end, pickles, send, spawn

if TYPE_CHECKING:
    from gradtui.ui.ahead import Post


class InProcess:
    """Starts loading `config` at once, in the child; `start` reads its events."""

    can_switch_device = True

    def __init__(self, config: RunConfig):
        self._process = spawn(__name__)
        self._generation = 0
        self._post: Post | None = None
        self._reader: threading.Thread | None = None
        self._closing = False
        self.load(0, config, same_data=False)

    def start(self, post: Post) -> None:
        self._post = post
        self._reader = threading.Thread(target=self._read, args=(self._process,), name="gradtui-session-reader",
                                        daemon=True)
        self._reader.start()

    def _read(self, process) -> None:
        from gradtui.ui.ahead import Ended, Finished

        for generation, event in pickles(process.stdout):
            self._post(generation, event)
        if not self._closing and process is self._process:  # not closed, nor replaced: it died
            self._post(self._generation, Ended(process.wait()))
            self._post(self._generation, Finished())

    def load(self, generation: int, config: RunConfig, same_data: bool) -> None:
        """Runs in the child; a child that has ended (killed, out of memory) is replaced by one that
        draws or reads the data again."""
        if self._process.poll() is not None and self._post is not None:
            dead, self._process = self._process, spawn(__name__)
            end(dead, self._reader)
            self.start(self._post)
        self._generation = generation
        with contextlib.suppress(OSError):  # the child is gone: the reader says so
            send(self._process.stdin, (generation, config, same_data))

    def close(self) -> None:
        self._closing = True
        end(self._process, self._reader)


def child_main() -> None:
    """The session's process: pickled (generation, RunConfig, same_data) loads on stdin, pickled
    (generation, event) on stdout; it ends when stdin does."""
    from gradtui.memory import bounded_memory
    from gradtui.ui.ahead import Finished, build_session, run_steps

    events = channel()
    loads: queue.Queue = queue.Queue()

    def listen() -> None:
        for load in pickles(sys.stdin.buffer):
            loads.put(load)
        loads.put(None)

    threading.Thread(target=listen, name="gradtui-loads", daemon=True).start()
    session = None
    while (load := loads.get()) is not None:
        generation, config, same_data = load

        def post(event, generation=generation) -> None:
            send(events, (generation, event))

        built = build_session(config, session.data if same_data and session is not None else None, None, None, post)
        if built is not None:
            session = built
            with bounded_memory(session.data.x.device):  # an N×N broadcast: a failed step, not this process killed
                run_steps(session, post, lambda: not loads.empty())
        post(Finished())
