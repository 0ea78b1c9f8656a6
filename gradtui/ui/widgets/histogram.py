"""The selected tensor's values beside its reference's (autograd's gradient, or the reference
layer's output), as two sparklines over one shared range; and, when it does not match, where it
differs: |yours − reference| on the tensor's own layout, its largest value in each cell."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import Sparkline, Static

from gradtui.formatting import number, shape

if TYPE_CHECKING:
    from gradtui.findings import DifferenceMap
    from gradtui.ui.views import HistogramView

SHADES = " ·░▒▓█"  # 0, then up to 1/8, 1/4, 1/2, 3/4 and all of the largest difference


def shade(value: float, scale: float) -> str:
    if value == 0 or not scale:
        return SHADES[0]
    if not math.isfinite(value):
        return SHADES[-1]
    share = value / scale
    return next(mark for mark, top in zip(SHADES[1:], (1 / 8, 1 / 4, 1 / 2, 3 / 4, math.inf)) if share <= top)


def map_lines(difference: DifferenceMap, name: str, reference: str, width: int) -> list[str]:
    """The map of tensor `name` as markup lines for `width` columns: a title with its scale, and
    the grid (columns pooled again to the width, keeping each cell's largest)."""
    if not difference.cells:
        return _shapes_side_by_side(difference, name, reference)
    columns = len(difference.cells[0])
    out = min(columns, max(1, width))
    edges = [i * columns // out for i in range(out + 1)]
    size, largest = shape(difference.shape), number(difference.scale)
    titles = (f"|Δ| of {name} on its {size} · largest {largest}", f"|Δ| of {name} · {size} · largest {largest}",
              f"|Δ| · {size} · largest {largest}", f"|Δ| ≤ {largest}")
    lines = [escape(next((title for title in titles if len(title) <= width), titles[-1]))]  # one line, never wrapped
    for row in difference.cells:
        pooled = [max(row[edges[i]:edges[i + 1]]) for i in range(out)]
        lines.append("[$error]" + escape("".join(shade(value, difference.scale) for value in pooled)) + "[/]")
    return lines


def _block(dims: tuple[int, ...]) -> tuple[int, int]:
    """A shape as a block of (lines, columns) that grows with the log of its sizes: 1 to 4 lines."""
    rows, cols = (dims[-2] if len(dims) > 1 else 1), (dims[-1] if dims else 1)
    return 1 + min(3, int(math.log10(max(rows, 1)))), 2 + min(14, 3 * int(math.log10(max(cols, 1))))


def _shapes_side_by_side(difference: DifferenceMap, name: str, reference: str) -> list[str]:
    """Yours and the reference's shapes, drawn as blocks side by side: different shapes have
    nothing to lay over each other."""
    labels = [f"{name}: yours {shape(difference.shape)}", f"{reference} {shape(difference.ref_shape)}"]
    blocks = [_block(difference.shape), _block(difference.ref_shape)]
    width = max(len(labels[0]), blocks[0][1]) + 3
    lines = [f"[b]{escape(labels[0]):<{width}}{escape(labels[1])}[/]"]
    for line in range(max(lines_ for lines_, _ in blocks)):
        cells = ["█" * columns if line < lines_ else "" for lines_, columns in blocks]
        lines.append(f"[$error]{cells[0]:<{width}}[/][$success]{cells[1]}[/]")
    return lines


class DifferenceMapView(Static):
    """The map, drawn for the width it has (it draws again when that changes)."""

    difference: DifferenceMap | None = None
    name: str = ""
    reference: str = "autograd"

    def show(self, difference: DifferenceMap | None, name: str, reference: str) -> None:
        self.difference, self.name, self.reference = difference, name, reference
        self.refresh(layout=True)

    def render(self) -> str:
        if self.difference is None:
            return ""
        return "\n".join(map_lines(self.difference, self.name, self.reference, max(8, self.size.width)))


class HistogramPanel(Vertical):
    showing: str | None = None  # the tensor on show

    def compose(self) -> ComposeResult:
        with Horizontal(id="hist-row"):
            with Vertical(id="hist-bars"):
                yield Static(id="hist-yours-label")
                yield Sparkline([], id="hist-yours")
                yield Static(id="hist-ref-label")
                yield Sparkline([], id="hist-ref")
            with Vertical(id="diff"):
                yield DifferenceMapView(id="diff-map")
                yield Static(id="diff-where")

    def show(self, view: HistogramView) -> None:
        yours, ref = self.query_one("#hist-yours", Sparkline), self.query_one("#hist-ref", Sparkline)
        yours_label, ref_label = self.query_one("#hist-yours-label", Static), self.query_one("#hist-ref-label", Static)
        name, histogram, reference = view.name, view.histogram, view.reference
        self.showing = name
        # A short terminal shows the panel only for a map, and the map alone (gradtui.tcss).
        self.set_class(view.difference is not None, "-map")
        self.query_one("#diff").display = view.difference is not None
        self.query_one(DifferenceMapView).show(view.difference, name or "", reference)
        self.query_one("#diff-where", Static).update(f"[dim]{escape(view.where)}[/]" if view.where else "")
        self.border_title = view.title
        if histogram is None:
            yours.data, ref.data = [], []
            yours_label.update(f"[dim]{view.empty}[/]" if view.empty else "")
            ref_label.update("")
            return
        yours.data = list(histogram.counts)
        yours_label.update(f"{escape(name)} [dim](yours)[/]")
        ref.data = list(histogram.ref_counts or [])
        ref_label.update(reference if histogram.ref_counts else f"[dim]{reference}: none[/]")
