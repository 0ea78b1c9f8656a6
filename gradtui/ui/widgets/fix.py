"""The fix beside the step: the verified edit of the layer file (`f` looks for it, in a worker, by a
child process), written on `w` and undone on `u`. The app's watch of the layer file then reloads
it, and the pipeline shows what the edit did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from gradtui.config import RunConfig
from gradtui.fixing import Fix, FixError, file_digest
from gradtui.report import RICH_STYLE, fix_lines
from gradtui.ui.fix_process import PASSES


class FixPanel(VerticalScroll):
    @dataclass
    class Found(Message):
        fix: Fix | None
        error: str | None = None
        passes: bool = False  # the check passed: there was nothing to fix

    fix: Fix | None = None  # the last search's, while the file is as it was searched
    searching = False
    _written: tuple[Path, bytes, str] | None = None  # what `w` wrote over: the file, its bytes before, its digest after

    def compose(self) -> ComposeResult:
        yield Static(id="fix-text")

    def search(self, finder: Callable[[RunConfig], Fix | None], config: RunConfig) -> None:
        self.display, self.searching, self.fix = True, True, None
        self.border_title = "fix"
        self.say(Text("looking for an edit of your layer file that makes it match, and running the check with it…",
                      "dim"))
        self._search_job(finder, config)

    @work(thread=True, group="fix", exclusive=True, exit_on_error=False)
    def _search_job(self, finder: Callable[[RunConfig], Fix | None], config: RunConfig) -> None:
        try:
            found = finder(config)
            self.post_message(self.Found(None if found == PASSES else found, passes=found == PASSES))
        except Exception as exc:
            self.post_message(self.Found(None, f"{type(exc).__name__}: {exc}"))

    def on_fix_panel_found(self, message: Found) -> None:
        self.searching, self.fix = False, message.fix
        if message.error is None and message.fix is None and message.passes:
            self.say(Text("every gradient matches autograd: nothing to fix", "dim"))
            return
        if message.error is not None:
            self.say(Text(f"the search failed: {message.error}", RICH_STYLE["error"]))
            return
        said, *_ = fix_lines(message.fix)  # the verdict; the diff as code, its indentation kept
        parts = [Text.assemble(*((cell.text, RICH_STYLE[cell.style]) for cell in said))]
        if message.fix is not None:
            theme = "ansi_dark" if self.app.current_theme.dark else "ansi_light"
            parts += [Syntax(message.fix.diff.rstrip(), "diff", theme=theme, background_color="default"),
                      Text("w writes it into the file (u undoes it)", "dim")]
        self.say(Group(*parts))

    def say(self, text) -> None:
        self.query_one("#fix-text", Static).update(text)

    @property
    def can_write(self) -> bool:
        return self.fix is not None and self.fix.verified and self._written is None

    @property
    def can_undo(self) -> bool:
        return self._written is not None

    def write(self, layer_file: Path) -> str:
        """Write the fix; what to tell the user."""
        path = self.fix.source.path
        before = path.read_bytes()
        try:
            self.fix.write(layer_file)
        except FixError as exc:
            return str(exc)
        self._written = (path, before, file_digest(path))
        self.say(Text(f"wrote {self.fix.edits} edit{'s' if self.fix.edits > 1 else ''} into {path}; u undoes it", "dim"))
        return f"wrote the fix into {path}"

    def undo(self) -> str:
        path, before, written = self._written
        if file_digest(path) != written:
            return f"{path} changed since the fix was written: not undone"
        path.write_bytes(before)
        self._written, self.fix = None, None
        self.say(Text(f"undone: {path} is as it was", "dim"))
        return f"undid the fix: {path} is as it was"
