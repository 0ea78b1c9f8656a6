import asyncio
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest

# The suite keeps bytecode where the environment says not to (PYTHONDONTWRITEBYTECODE): without it each xdist
# worker compiles gradtui again and pytest rewrites the assertions of every plugin module again, and so does
# every process a test starts (a session process, `gradtui bench`): a sixth of the suite's time here. gradtui
# itself never reads a user's layer file from bytecode (model._SourceAlways).
sys.dont_write_bytecode = False

# The same floating-point results on every x86 CPU of the last decade, whatever its vector units
# (MKL's and ATen's AVX-512 kernels round otherwise than their AVX2 ones), for what the suite checks
# to the digit, a snapshot's statistics. (ATen's unvectorised kernels would hold on any CPU, at a
# fifth more suite time.) Both are read when torch loads, so before it.
os.environ.setdefault("MKL_CBWR", "COMPATIBLE")
os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")
import torch  # noqa: E402

from gradtui.cli import main  # noqa: E402

pytest_plugins = ["pytester"]  # a user's own test of their layers, run by pytest inside the test

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture
def pilot_polls_sooner(monkeypatch):
    """Textual's test pilot waits for the app to go idle in sleeps of 20 ms, two per key and one per
    pause: a third of test_app's time was spent asleep with nothing to wait for. In 5 ms sleeps (the
    same idle test: CPU under a twentieth of the sleep) test_app took 30-32 s here against 40-42 s,
    with no more CPU. For the tests that read the app's state, which `settle` waits for; not for the
    snapshots, whose picture may take one layout pass more than the state does (a panel's class set,
    not yet laid out, was seen in 2 of 12 runs)."""
    try:
        import textual._wait as wait
    except ImportError:  # a Textual without it polls as it does
        return
    monkeypatch.setattr(wait, "SLEEP_GRANULARITY", 0.005)
    monkeypatch.setattr(wait, "SLEEP_IDLE", 0.005 / 20)


def pytest_configure(config):
    """Each xdist worker's torch gets its share of the cores, and so do the processes its tests
    start: two workers of two threads each on two cores spin against each other (OpenMP
    threads wait busily), and the suite took 55 to 60 s here against 47."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = max(1, (os.cpu_count() or 1) // workers)
    os.environ.setdefault("OMP_NUM_THREADS", str(share))
    torch.set_num_threads(min(share, torch.get_num_threads()))

@pytest.fixture(autouse=True)
def default_dtype_left_as_found():
    """A test after which torch's default dtype is not what it was fails, and the dtype is set back: else
    every later test of its worker makes float64 tensors, and fails far from the cause (as a CI run did)."""
    from gradtui.running import numbers_made_in

    before = torch.get_default_dtype()
    yield
    with numbers_made_in(before):  # after any run still under way on another thread (an app's load)
        after = torch.get_default_dtype()
    if after != before:
        torch.set_default_dtype(before)
        pytest.fail(f"torch's default dtype was left {after}, not {before}")


@pytest.fixture
def gate():
    """An event a layer file can wait on (`import gradtui_test_gate; gradtui_test_gate.opened.wait()`):
    the test holds the user's code where it wants it, and opens the gate when it is done, so that
    no thread is left running and nothing waits on a clock."""
    import sys
    import threading
    import types

    module = types.ModuleType("gradtui_test_gate")
    module.opened = threading.Event()
    sys.modules[module.__name__] = module
    yield module.opened
    module.opened.set()
    del sys.modules[module.__name__]


def cuda(test):
    """Marked `cuda` (select them with -m cuda on a GPU machine) and skipped where there is none."""
    return pytest.mark.cuda(pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")(test))


def benchmark(name: str):
    """benchmarks/<name>.py as a module (its corpus, its runner), loaded once: a dataclass looks its
    module up in sys.modules, and two tests share one copy."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_json(capsys, *argv: str) -> tuple[int, dict]:
    code, out, err = run_cli(capsys, "check", "--json", *argv)
    assert out, err
    return code, json.loads(out)


async def settle(pilot) -> None:
    """Until the load has sent all it will and no worker runs, every message they posted has been
    handled, and the step asked for is on screen."""
    app = pilot.app
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:  # (a worker that never ends is said as such, not waited on until the suite's timeout)
            await asyncio.wait_for(app.workers.wait_for_complete(), max(deadline - time.monotonic(), 0.1))
        except asyncio.TimeoutError:
            break
        await pilot.pause()
        if not app.loading and not any(worker.is_running for worker in app.workers) and app.shown_step == app.target:
            return
    running = [worker.name for worker in app.workers if worker.is_running]
    raise AssertionError(f"the app did not settle in 60 s (loading: {app.loading}; workers running: {running})")


async def until(pilot, condition, what: str, seconds: float = 30) -> None:
    """Pause until `condition()` holds; a clear failure, not a hang, when it never does (by the clock: a
    pause under load lasts longer than it asks)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.01)
    if not condition():
        raise AssertionError(f"{what} never came ({seconds:g} s)")


async def drive(pilot, keys) -> None:
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


def fixed_timing_results(config):
    """What a bench run reports, fixed, so that no wall-clock figure reaches a snapshot."""
    from gradtui.bench.results import Roofline, VersionResult
    from gradtui.ui.bench_process import TimingSetup

    yield TimingSetup(threads=1, cores=2)
    yield VersionResult(1, "functions, outer product", 3.91, 0.78, 3, 26.1, 3.0, 8_100_000_000, 1.38e-05, True,
                        ratio_to_floor=3.91 / 0.1388, timed_rows=6847)
    yield VersionResult(2, "torch autograd", 0.15, 0.0083, 7, 1.0, 78.5, 196_700_000, 0.0, True,
                        ratio_to_floor=0.15 / 0.1388)
    yield VersionResult(3, "classes, outer product", None, None, None, None, None, None, None, None,
                        "needs 31.4 GB, 22.9 GB free")
    yield VersionResult(4, "Module + einsum", 0.1475, 0.0047, 7, 0.98, 79.9, 220_900_000, 4.77e-07, True,
                        ratio_to_floor=0.1475 / 0.1388)
    yield VersionResult(5, "Module + matmul", 0.1415, 0.0031, 8, 0.94, 83.2, 220_500_000, 4.77e-07, True,
                        ratio_to_floor=0.1415 / 0.1388)
    yield VersionResult(6, "nn.Linear + nn.Module", 0.1480, 0.006, 7, 0.99, 79.6, 199_300_000, 0.0, True,
                        ratio_to_floor=0.1480 / 0.1388)
    yield VersionResult(7, "tuned: params only, buffers, addmm", 0.0853, 0.0015, 12, 0.57, 92.0, 23_700_000, 0.0, True,
                        ratio_to_floor=0.0853 / 0.0812)
    yield Roofline(0.1388, 82.4, params_only_s=0.0812, params_only_gflops=82.3)
