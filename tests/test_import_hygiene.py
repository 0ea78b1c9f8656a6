"""The engine is a plain library: nothing outside gradtui/ui/ and cli.py imports Textual."""

import pkgutil
import subprocess
import sys

import gradtui

ENGINE = sorted(
    module.name for module in pkgutil.walk_packages(gradtui.__path__, "gradtui.")
    if not module.name.startswith("gradtui.ui") and module.name not in ("gradtui.cli", "gradtui.__main__")
)


def test_engine_modules_do_not_import_textual():
    assert {"gradtui.session", "gradtui.stats", "gradtui.reference", "gradtui.model"} <= set(ENGINE)
    code = "import sys\n" + "".join(f"import {name}\n" for name in ENGINE) + (
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "assert not bad, bad\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_app_paints_its_first_frame_before_torch_is_imported():
    """The app module and its widgets import no torch: the first frame comes at once, and torch
    loads in a worker while the header says so."""
    code = ("import sys\nimport gradtui.cli, gradtui.ui.app\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
