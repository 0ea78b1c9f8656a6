"""`from gradtui import cmp`: the backprop-ninja notebook's `cmp(s, dt, t)`, judged where it was written.

A face over gradtui.handwritten, as the CLI and the app are over the session. `cmp` prints the
notebook's own line (name, exact, approximate, maxdiff, against `t.grad`) and, when the gradient is
wrong, gradtui's verdict on the line after it: ✗ and the slip where it was made, ↑ and where the
slip is on a line that is right given the gradients it was computed from. It returns a `Compared`
(`.ok`, `.here`, `.hint`). In Jupyter the lines are HTML; in a script, text. `cmp.summary()`
prints every comparison of the last forward pass, judged again given all the others.
"""

from __future__ import annotations

import html
import sys

from gradtui.formatting import place
from gradtui.handwritten import Judgement, Notebook, source_files

OK, HERE, UPSTREAM = "✓", "✗", "↑"
INDENT = " " * 18  # under the notebook's line, past its 15-character name and " | "


class Compared:
    """One comparison. `ok`: dt is autograd's gradient, within gradtui's tolerance for its dtype;
    `here`: the slip is in dt's own line; `hint`: what is wrong (None when ok); `upstream`: on a
    line right given the gradients it was computed from, the tensors whose lines hold the slip;
    `at`: (file, line) of the forward statement whose derivative the hint names; `fix`: the line
    that wrote the gradient, corrected by one edit and run (it gives what the line must give), or None."""

    def __init__(self, judgement: Judgement):
        self.judgement = judgement
        self._shown = False

    label = property(lambda self: self.judgement.label)
    ok = property(lambda self: self.judgement.ok)
    here = property(lambda self: self.judgement.here)
    hint = property(lambda self: self.judgement.hint)
    note = property(lambda self: self.judgement.note)
    upstream = property(lambda self: self.judgement.upstream)
    fix = property(lambda self: self.judgement.fix)
    exact = property(lambda self: self.judgement.exact)
    approximate = property(lambda self: self.judgement.approximate)
    maxdiff = property(lambda self: self.judgement.maxdiff)

    @property
    def at(self) -> tuple[str, int] | None:
        source = self.judgement.at
        return None if source is None else (source.file, source.line)

    @property
    def mark(self) -> str:
        return OK if self.ok else HERE if self.here else UPSTREAM

    def lines(self) -> list[str]:
        """The notebook's own line, then gradtui's."""
        j = self.judgement
        maxdiff = "(shapes do not broadcast)" if j.maxdiff is None else j.maxdiff
        own = f"{j.label:15s} | exact: {str(j.exact):5s} | approximate: {str(j.approximate):5s} | maxdiff: {maxdiff}"
        if j.ok:
            return [own, *([f"{INDENT}note: {j.note}"] if j.note else [])]
        return [own, f"{INDENT}{self.mark} {j.hint}", *([f"{INDENT}  fix, run: {j.fix}"] if j.fix else [])]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        state = "ok" if self.ok else "the slip is here" if self.here else f"wrong upstream ({', '.join(self.upstream)})"
        return f"<Compared {self.label}: {state}>"

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ok else "#cf222e" if self.here else "#9a6700"
        own, *ours = self.lines()
        said = "".join(f'\n<span style="color: {colour}">{html.escape(line)}</span>' for line in ours)
        return f'<pre class="gradtui-cmp" style="margin: 0">{html.escape(own)}{said}</pre>'

    def _ipython_display_(self) -> None:
        """Shown once, by cmp itself: a cell that ends in a cmp does not echo its value again."""
        if self._shown:
            if not _in_jupyter():  # a terminal shell has already written "Out[n]:"; end it with the value
                print(repr(self))
            return
        self._shown = True
        if _in_jupyter():
            from IPython.display import HTML, display

            display(HTML(self._repr_html_()))
        else:
            print(self)


def _ipython():
    module = sys.modules.get("IPython")
    return module.get_ipython() if module is not None else None


def _in_jupyter() -> bool:
    return type(_ipython()).__name__ == "ZMQInteractiveShell"


class Cmp:
    """cmp(s, dt, t): the notebook's helper, each gradient judged where it was written."""

    def __init__(self):
        self.notebook = Notebook()

    def __call__(self, s, dt, t) -> Compared:
        frame = sys._getframe(1)
        namespace = {**frame.f_globals, **frame.f_locals}
        judgement = self.notebook.judge(str(s), dt, t, namespace, source_files(frame.f_code.co_filename),
                                        (frame.f_code.co_filename, frame.f_lineno))
        compared = Compared(judgement)
        if _ipython() is not None:
            compared._ipython_display_()
        else:
            print(compared)
            compared._shown = True
        return compared

    def summary(self) -> list[Compared]:
        """Print the latest comparison of each tensor of the last forward pass, each judged again
        given all the others (calls may come in any order), its mark and the first slip; return them."""
        compared = [Compared(judgement) for judgement in self.notebook.summary()]
        if not compared:
            print("cmp: nothing compared yet")
            return compared
        counts = {mark: sum(c.mark == mark for c in compared) for mark in (OK, HERE, UPSTREAM)}
        print(f"cmp: {len(compared)} compared in this pass: " + ", ".join(f"{n} {mark}" for mark, n in counts.items()))
        for c in compared:
            print(f"  {c.mark} {c.label:15s} {'' if c.ok else c.hint}".rstrip())
        first = next((c for c in compared if c.here), None)
        if first is not None:
            written = first.judgement.written_at
            print(f"the first slip: {first.label}" + (f", in {first.judgement.target} ({place(*written)})" if written else ""))
        return compared


cmp = Cmp()
