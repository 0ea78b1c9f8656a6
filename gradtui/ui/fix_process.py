"""The fix panel's search: `gradtui check --fix`'s, in a child process of its own (gradtui.ui.child).

The search runs the check once per edit it tries: torch's work, kept out of the face's process
(which never imports torch) as the session's and the timing's are.
"""

from __future__ import annotations

import sys

from gradtui.config import RunConfig
from gradtui.fixing import Fix
from gradtui.ui.child import channel, end, pickles, send, spawn

PASSES = "passes"  # the check passed: nothing to fix


def fix_here(config: RunConfig, data=None) -> Fix | str | None:
    """The verified fix of the check of `config` (on `data`, the caller's Dataset, if given), found in
    this process (the child's work; a test's); "passes" when the check passes."""
    from gradtui.fixing import digest_of, fix_for
    from gradtui.replay import needs_replay, replay_in_float64
    from gradtui.session import DebugSession

    digest = digest_of(config.layers)
    session = DebugSession(config, data)
    session.run_to_end()
    replay = replay_in_float64(session) if needs_replay(session) else None
    if session.first_mismatch is None and (replay is None or replay.mismatch is None):
        return PASSES
    return fix_for(session, replay, digest)


def child_main() -> None:
    """A pickled RunConfig and Dataset (or None) on stdin; ("fix", Fix | None) or ("error", message)
    on stdout."""
    out = channel()
    config, data = next(pickles(sys.stdin.buffer))
    try:
        send(out, ("fix", fix_here(config, data)))
    except BaseException as exc:  # reported to the parent
        send(out, ("error", f"{type(exc).__name__}: {exc}"))


def fix_in_subprocess(config: RunConfig, data=None) -> Fix | str | None:
    """The verified fix of the check of `config` (on `data`, gradtui.debug's caller's Dataset, if
    given), found by a child process (None: no verified fix; "passes": nothing to fix)."""
    process = spawn(__name__)
    try:
        send(process.stdin, (config, data))
        process.stdin.close()
        for kind, payload in pickles(process.stdout):
            if kind == "error":
                raise RuntimeError(payload)
            return payload
        raise RuntimeError(f"the fix's process ended unexpectedly (exit code {process.wait()})")
    finally:
        end(process, None)
