"""gradtui: a terminal debugger for backpropagation.

The Python API: `gradtui.check(model, x, y)` returns a Report (gradtui.api); `from gradtui import
cmp` is the backprop-ninja notebook's helper, judged where each gradient was written
(gradtui.compared). torch loads on the first use, so that `import gradtui` and the command line's
--help stay instant.
"""

__version__ = "0.1.0"


def check(model=None, x=None, y=None, **options):
    """Step the model's forward and backward against the reference layers and autograd: a Report
    (`.ok`, `.verdict`, `.first_mismatch`, `.to_json()`; `str(report)` is what `gradtui check` prints). `layers="mine.ipynb"`
    (or a .py file) checks a layer file as `gradtui check --layers` does. See gradtui.api."""
    from gradtui.api import check as run

    return run(model, x, y, **options)


def debug(model=None, x=None, y=None, **options):
    """The debugger on the model, from a terminal Python session; its Report when you quit."""
    from gradtui.api import debug as run

    return run(model, x, y, **options)


def __getattr__(name):
    """`from gradtui import cmp`, loaded (with torch) only when asked for."""
    if name == "cmp":
        from gradtui.compared import cmp

        return cmp
    raise AttributeError(f"module 'gradtui' has no attribute {name!r}")
