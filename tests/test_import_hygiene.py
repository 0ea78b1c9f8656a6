"""The engine is a plain library: nothing outside gradtui/ui/ and cli.py imports Textual, and
nothing imports more of torch than it uses."""

import json
import pkgutil
import subprocess
import sys

import pytest
from conftest import SAMPLES

import gradtui

ENGINE = sorted(
    module.name for module in pkgutil.walk_packages(gradtui.__path__, "gradtui.")
    if not module.name.startswith("gradtui.ui") and module.name not in ("gradtui.cli", "gradtui.__main__")
)


@pytest.fixture(scope="module")
def engine_run() -> tuple[set[str], dict[str, str]]:
    """One fresh interpreter that imports every engine module and names two slips, as a check does:
    the modules it ended with, and the two hints. Naming a slip finds each variant's shape without
    torch's meta device, whose first elementwise operation imports torch._dynamo (most of a second,
    on the first mismatch of every run); recording a forward under a TorchDispatchMode too (torch
    wraps a mode's __torch_dispatch__ in dynamo's `disable`, which gradtui's recorder declines)."""
    code = ("import json, sys\n" + "".join(f"import {name}\n" for name in ENGINE) +
            "from gradtui.config import RunConfig\nfrom gradtui.session import DebugSession\n"
            "hints = {}\n"
            f"for name, net in (('tanh_plus.py', ('lin', 'tanh', 'lin', 'mse')), ('layernorm_slip.py', None)):\n"
            f"    config = RunConfig(batch=64, layers={str(SAMPLES)!r} + '/' + name, **({{'net': net}} if net else {{}}))\n"
            "    hints[name] = DebugSession(config).run_to_mismatch().failing_tensor.hint\n"
            "print(json.dumps({'modules': sorted(sys.modules), 'hints': hints}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    return set(found["modules"]), found["hints"]


def test_engine_modules_do_not_import_textual(engine_run):
    assert {"gradtui.session", "gradtui.stats", "gradtui.reference", "gradtui.model"} <= set(ENGINE)
    modules, _ = engine_run
    assert not sorted(m for m in modules if m == "textual" or m.startswith("textual."))


def test_a_diagnosis_and_the_any_layer_search_import_no_compiler(engine_run):
    modules, hints = engine_run
    assert "Tanh" in hints["tanh_plus.py"]
    assert "the path through" in hints["layernorm_slip.py"]
    assert "torch._dynamo" not in modules


def test_the_app_paints_its_first_frame_before_torch_is_imported():
    """The app module and its widgets import no torch: the first frame comes at once, and torch
    loads in a worker while the header says so."""
    code = ("import sys\nimport gradtui.cli, gradtui.ui.app\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def imports(path) -> set[str]:
    """The gradtui modules a file imports, anywhere in it (type-only and function-level imports too)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gradtui"):
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("gradtui")}
    return found


def test_the_engine_has_no_import_cycle():
    """No module of the engine imports one that imports it back, not even for a type or in a function."""
    from pathlib import Path

    root = Path(gradtui.__file__).parent
    files = {name: root.joinpath(*name.split(".")[1:]).with_suffix(".py") for name in ENGINE}
    files = {name: path if path.exists() else path.with_suffix("") / "__init__.py" for name, path in files.items()}
    graph = {name: imports(path) & set(files) - {name} for name, path in files.items()}

    def reaches(start: str, target: str, seen: set) -> bool:
        return any(dep == target or (dep not in seen and reaches(dep, target, seen | {dep})) for dep in graph[start])

    assert not [name for name in graph if reaches(name, name, {name})]
