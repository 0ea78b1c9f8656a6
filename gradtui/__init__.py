"""gradtui: a terminal debugger for backpropagation.

The Python API: `gradtui.check(model, x, y)` returns a Report (gradtui.api); torch loads on the
first call, so that `import gradtui` and the command line's --help stay instant.
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
