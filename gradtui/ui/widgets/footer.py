"""Textual's footer, rebuilt only when what it shows changes.

The screen announces its bindings on every focus change and every refresh_bindings, and the
footer rebuilds its keys each time: about 25 ms of the UI thread, four times at start-up while
torch loads beside it (the same GIL), and again after a key whenever anything is refreshed.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    _shown: tuple | None = None  # the keys the footer was last rebuilt with

    def bindings_changed(self, screen: Screen) -> None:
        shown = tuple((key, binding.action, binding.description, binding.show, enabled, tooltip)
                      for key, (_, binding, enabled, tooltip) in screen.active_bindings.items())
        if shown == self._shown:
            return
        super().bindings_changed(screen)
        if screen.app.app_focus and self.is_attached and screen is self.screen:  # a rebuild is on its way
            self._shown = shown
