"""The layer file, watched: the app asks every LAYERS_POLL_S whether it was saved since, and reloads."""

from __future__ import annotations

from pathlib import Path

LAYERS_POLL_S = 0.5  # how often the --layers file's modification time is looked at


class LayerWatch:
    """Whether the file changed since it was last asked (a save, a fix written, a fix undone)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._mtime = _mtime(path)

    def changed(self) -> bool:
        now = _mtime(self.path)
        if now == self._mtime:
            return False
        self._mtime = now
        return True


def _mtime(path: Path | None) -> float | None:
    try:
        return path.stat().st_mtime if path is not None else None
    except OSError:
        return None
