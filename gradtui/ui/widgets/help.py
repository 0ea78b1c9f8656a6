"""The help screen: every key, from the app's own bindings (declared once)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_NAMES = {"right": "→", "left": "←", "space": "space", "question_mark": "?", "escape": "escape"}


def key_label(binding: Binding) -> str:
    return ", ".join(KEY_NAMES.get(key, key) for key in binding.key.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, bindings: list[Binding], header: str = ""):
        super().__init__()
        self.keys, self.header = bindings, header

    def compose(self) -> ComposeResult:
        lines = [f"[b $accent]{escape(key_label(b)):<16}[/] {escape(b.tooltip or b.description)}" for b in self.keys]
        with Vertical(id="help-box"):
            yield Static(f"[b]{escape(self.header or 'gradtui')}[/]\n\n[b]keys[/]\n\n" + "\n".join(lines) +
                         "\n\n[dim]↑ ↓ choose a tensor for the histogram · ctrl+p: every command · "
                         "escape closes this[/]", id="help-text")
