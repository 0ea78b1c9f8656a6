"""The selected tensor's values beside its reference's (autograd's gradient, or the reference
layer's output), as two sparklines over one shared range."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import Sparkline, Static

if TYPE_CHECKING:
    from gradtui.stats import Histogram


class HistogramPanel(Vertical):
    showing: str | None = None  # the tensor on show

    def compose(self) -> ComposeResult:
        yield Static(id="hist-yours-label")
        yield Sparkline([], id="hist-yours")
        yield Static(id="hist-ref-label")
        yield Sparkline([], id="hist-ref")

    def show(self, name: str | None, histogram: Histogram | None, reference: str = "autograd") -> None:
        yours, ref = self.query_one("#hist-yours", Sparkline), self.query_one("#hist-ref", Sparkline)
        yours_label, ref_label = self.query_one("#hist-yours-label", Static), self.query_one("#hist-ref-label", Static)
        self.showing = name
        if name is None or histogram is None:
            self.border_title = "histogram"
            yours.data, ref.data = [], []
            yours_label.update("[dim]no finite values to show[/]" if name else "")
            ref_label.update("")
            return
        sampled = f" · counts of 1 value in {histogram.every}" if histogram.every > 1 else ""
        self.border_title = f"histogram · {name} · [{histogram.low:.3g}, {histogram.high:.3g}]{sampled}"
        yours.data = list(histogram.counts)
        yours_label.update(f"{escape(name)} [dim](yours)[/]")
        ref.data = list(histogram.ref_counts or [])
        ref_label.update(reference if histogram.ref_counts else f"[dim]{reference}: none[/]")
