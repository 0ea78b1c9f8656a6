"""The timing versions: each one's gradients, the memory guard, the runner's rows, the CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import SAMPLES, cuda, run_cli

from gradtui.bench import runner as runner_module
from gradtui.bench.runner import (
    BenchRunner,
    Roofline,
    VersionResult,
    estimate_peak_bytes,
    gemm_flops,
)
from gradtui.bench.versions import VERSIONS
from gradtui.config import RunConfig
from gradtui.report import bench_row
from gradtui.ui import bench_process, child

FIELDS = {"version", "name", "median_s", "iqr_s", "runs", "ratio_to_autograd", "gflops", "peak_bytes",
          "max_abs_err", "match", "skipped", "ratio_to_floor"}


def small_net(batch, sizes, seed, device="cpu"):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, sizes[0], generator=generator, dtype=torch.float64)
    y = torch.randn(batch, generator=generator, dtype=torch.float64)
    params = {}
    for k, (a, b) in enumerate(zip(sizes, sizes[1:]), start=1):
        params[f"w{k}"] = torch.randn(a, b, generator=generator, dtype=torch.float64)
        params[f"b{k}"] = torch.randn(b, generator=generator, dtype=torch.float64)
    return x.to(device), y.to(device), {k: v.to(device) for k, v in params.items()}


def autograd_grads(x, y, params):
    leaves = {"x": x.clone().requires_grad_(), **{k: v.clone().requires_grad_() for k, v in params.items()}}
    act = leaves["x"]
    depth = len(params) // 2
    for k in range(1, depth + 1):
        act = act @ leaves[f"w{k}"] + leaves[f"b{k}"]
        if k < depth:
            act = act.relu()
    (act.squeeze(-1) - y).pow(2).mean().backward()
    return {k: v.grad for k, v in leaves.items()}


@pytest.mark.parametrize("number", sorted(VERSIONS))
@pytest.mark.parametrize("batch, sizes, seed", [(1, (3, 2, 1), 0), (17, (9, 6, 1), 1), (33, (7, 5, 4, 1), 2)])
def test_each_version_matches_autograd(number, batch, sizes, seed, device="cpu"):
    x, y, params = small_net(batch, sizes, seed, device)
    expected = autograd_grads(x, y, params)
    run = VERSIONS[number].build(x, y, params)
    for _ in range(2):  # a second call, on reused buffers and earlier .g, gives the same
        grads = run()
        names = set(expected) - ({"x"} if not VERSIONS[number].input_grad else set())
        assert set(grads) == names
        for name in names:
            torch.testing.assert_close(grads[name], expected[name], rtol=1e-9, atol=1e-12)


@cuda
@pytest.mark.parametrize("number", sorted(VERSIONS))
def test_each_version_matches_autograd_on_cuda(number):
    test_each_version_matches_autograd(number, 33, (7, 5, 4, 1), 2, device="cuda")


def test_versions_run_in_float32_and_bfloat16():
    for dtype in (torch.float32, torch.bfloat16):
        x, y, params = small_net(16, (8, 4, 1), 3)
        x, y, params = x.to(dtype), y.to(dtype), {k: v.to(dtype) for k, v in params.items()}
        for version in VERSIONS.values():
            grads = version.build(x, y, params)()
            assert grads["w1"].shape == (8, 4)


def tiny(**overrides) -> RunConfig:
    return RunConfig(**{"device": "cpu", "batch": 64, "hidden": (8,), "min_time": 0.01} | overrides)


def test_runner_yields_one_row_per_version_then_the_roofline():
    results = list(BenchRunner(tiny(versions=(5, 1, 7))).results())
    rows, roofline = results[:-1], results[-1]
    assert [r.version for r in rows] == [1, 5, 7]
    assert isinstance(roofline, Roofline) and roofline.median_s > 0 and roofline.gflops > 0
    for row in rows:
        assert row.match is True and row.skipped is None
        assert row.median_s > 0 and row.iqr_s >= 0 and row.runs >= 1 and row.gflops > 0
        assert row.ratio_to_autograd > 0 and row.max_abs_err < 1e-4
    # each row against the floor of its own work: v7 skips x.g, so its floor is the one without it
    by_version = {row.version: row for row in rows}
    assert by_version[7].ratio_to_floor == pytest.approx(by_version[7].median_s / roofline.params_only_s)
    assert by_version[5].ratio_to_floor == pytest.approx(by_version[5].median_s / roofline.median_s)


def test_the_outer_product_shows_in_the_measured_peak():
    """In a process of its own, as `gradtui bench` runs: a test worker's heap, freed by the tests before, may hold
    the outer product's pages already, and its resident set would not grow."""
    done = subprocess.run([sys.executable, "-m", "gradtui", "bench", "--json", "--batch", "2000", "--versions", "1,5",
                           "--hidden", "8", "--min-time", "0.01"], capture_output=True, text=True, timeout=120)
    outer, matmul = (row["peak_bytes"] for row in json.loads(done.stdout)["versions"])
    if outer is None or matmul is None:
        pytest.skip("this kernel does not let a process reset its memory high-water mark")
    assert outer - matmul >= 0.5 * 2000 * 784 * 8 * 4  # N × n_in × n_hidden float32, built then summed


def test_your_layers_are_a_row_verified_against_autograd_through_their_forward(capsys):
    code, out, _ = run_cli(capsys, "bench", "--json", "--batch", "64", "--hidden", "8", "--min-time", "0.01",
                           "--versions", "2", "--layers", str(SAMPLES / "lesson_einsum.py"))
    assert code == 0
    yours = json.loads(out)["versions"][-1]
    assert yours["version"] == "yours" and yours["name"].endswith("lesson_einsum.py")
    assert yours["match"] is True and yours["max_abs_err"] < 1e-4  # the shifted ReLU is its own forward
    code, out, _ = run_cli(capsys, "bench", "--json", "--batch", "64", "--hidden", "8", "--min-time", "0.01",
                           "--versions", "2", "--layers", str(SAMPLES / "transposed.py"))
    assert code == 1 and json.loads(out)["versions"][-1]["match"] is False
    # A Model in the file (a LayerNorm among the layers) is for check and the app: bench times the
    # file's classes on the lesson's network.
    code, out, _ = run_cli(capsys, "bench", "--json", "--batch", "64", "--hidden", "8", "--min-time", "0.01",
                           "--versions", "2", "--layers", str(SAMPLES / "layernorm.py"))
    assert code == 0 and json.loads(out)["versions"][-1]["match"] is True


@pytest.mark.parametrize("option", [["--isolate"], ["--strict-forward"], ["--step-timeout", "3"]])
def test_options_that_mean_nothing_to_bench_are_refused(capsys, option):
    code, out, err = run_cli(capsys, "bench", *option)
    assert code == 2 and not out
    assert err.count("\n") == 1 and f"{option[0]} means nothing to bench" in err


def test_memory_guard_skips_what_does_not_fit_and_runs_the_rest(monkeypatch):
    config = tiny(versions=(1, 2, 3, 5))
    outer = estimate_peak_bytes(VERSIONS[1], 64, (784, 8, 1), 4)
    plain = estimate_peak_bytes(VERSIONS[5], 64, (784, 8, 1), 4)
    assert outer > 2 * plain
    free = int(outer * 0.9)  # the outer product does not fit (with the margin), the rest does
    monkeypatch.setattr(runner_module, "free_bytes", lambda device: free)
    rows = [r for r in BenchRunner(config).results() if isinstance(r, VersionResult)]
    by_version = {r.version: r for r in rows}
    for skipped in (1, 3):
        row = by_version[skipped]
        assert row.skipped == f"needs {outer / 1e9:.1f} GB, {free / 1e9:.1f} GB free"
        assert row.median_s is None and row.match is None
    assert by_version[2].match is True and by_version[5].match is True


def test_outer_product_estimate_at_the_default_size():
    # N × n_in × n_hidden float32 elements: 7.8 GB, the figure of docs/design.md
    extra = estimate_peak_bytes(VERSIONS[1], 50_000, (784, 50, 1), 4) - estimate_peak_bytes(VERSIONS[5], 50_000, (784, 50, 1), 4)
    assert extra == 50_000 * 784 * 50 * 4


@pytest.mark.parametrize("version", [5, 7])
def test_the_flops_are_what_torch_counts_in_the_versions_gemms(version):
    """GFLOP/s divides gemm_flops by the time: it must be the matrix products the version really runs,
    as torch's own FLOP counter sees them (version 7 computes no x.g)."""
    from torch.utils.flop_counter import FlopCounterMode

    n, sizes = 32, (20, 6, 1)
    g = torch.Generator().manual_seed(0)
    params = {}
    for k, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        params[f"w{k}"], params[f"b{k}"] = torch.randn(fan_in, fan_out, generator=g), torch.zeros(fan_out)
    run = VERSIONS[version].build(torch.randn(n, sizes[0], generator=g), torch.randn(n, generator=g), params)
    with FlopCounterMode(display=False) as counter:
        run()
    assert counter.get_total_flops() == gemm_flops(n, sizes, input_grad=VERSIONS[version].input_grad)


def test_an_outer_product_over_budget_is_timed_on_the_rows_that_fit_and_scaled():
    config = tiny(batch=400, versions=(1, 2, 3), layers=SAMPLES / "correct.py")
    per_row = 784 * 8 * 4  # the N x 784 x 8 outer product of w1.g, float32
    runner = BenchRunner(config, outer_product_budget=100 * per_row)
    rows = {row.version: row for row in runner.results() if hasattr(row, "version")}
    assert rows[1].timed_rows == rows[3].timed_rows == 100
    assert rows[1].match and rows[3].match  # verified against autograd on the same 100 rows
    assert rows[2].timed_rows is None and rows["yours"].timed_rows is None  # only versions 1 and 3
    assert "≈" in bench_row(rows[1])[3].text and "≈" not in bench_row(rows[2])[3].text
    whole = {row.version: row for row in BenchRunner(config).results() if hasattr(row, "version")}
    assert whole[1].timed_rows is None and whole[1].match


def test_bench_json_has_every_field(capsys):
    code, out, _ = run_cli(capsys, "bench", "--json", "--batch", "32", "--hidden", "4", "--min-time", "0.01",
                           "--versions", "2,4,6")
    assert code == 0
    report = json.loads(out)
    assert report["config"] == {"device": "cpu", "dtype": "float32", "batch": 32, "sizes": [784, 4, 1],
                                "threads": torch.get_num_threads(), "min_time": 0.01,
                                "layers": None}
    assert [v["version"] for v in report["versions"]] == [2, 4, 6]
    for row in report["versions"]:
        assert set(row) == FIELDS
        assert row["match"] is True and row["skipped"] is None
    assert report["versions"][0]["ratio_to_autograd"] == 1.0
    assert set(report["roofline"]) == {"median_s", "gflops", "what", "params_only_s", "params_only_gflops"}


def test_bench_table(capsys):
    code, out, _ = run_cli(capsys, "bench", "--batch", "32", "--hidden", "4", "--min-time", "0.01", "--versions", "1,7")
    assert code == 0
    assert "functions, outer product" in out and "tuned" in out and "floor: the GEMMs alone" in out
    assert "floor without x.g" in out


@pytest.mark.parametrize("argv, words", [
    (["--versions", "8"], "no version 8"),
    (["--versions", "1,x"], "--versions"),
    (["--min-time", "0"], "--min-time"),
    (["--min-time", "-1"], "--min-time"),
])
def test_bench_bad_input(capsys, argv, words):
    code, out, err = run_cli(capsys, "bench", *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and words in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_bench_cuda_without_cuda(capsys):
    code, _, err = run_cli(capsys, "bench", "--device", "cuda")
    assert code == 2 and "CUDA is not available" in err


def test_ctrl_c_prints_the_rows_done_and_exits_130(capsys, monkeypatch):
    real = BenchRunner.measure

    def interrupt_at_v5(self, version):
        if version.key == 5:
            raise KeyboardInterrupt
        return real(self, version)

    monkeypatch.setattr(BenchRunner, "measure", interrupt_at_v5)
    code, out, err = run_cli(capsys, "bench", "--json", "--batch", "32", "--hidden", "4", "--min-time", "0.01",
                             "--versions", "2,4,5,6")
    assert code == 130
    assert [v["version"] for v in json.loads(out)["versions"]] == [2, 4]
    assert "interrupted after 2 of 4 versions" in err


def test_subprocess_results_match_the_runner_and_stop_when_closed(monkeypatch):
    config = tiny(versions=(2, 7))
    setup, *rows = [r for r in bench_process.results_in_subprocess(config) if r is not None]
    assert isinstance(setup, bench_process.TimingSetup)
    assert [type(r).__name__ for r in rows] == ["VersionResult", "VersionResult", "Roofline"]
    assert [r.version for r in rows[:2]] == [2, 7] and all(r.match for r in rows[:2])

    started = []
    real_popen = child.subprocess.Popen
    monkeypatch.setattr(child.subprocess, "Popen", lambda *a, **k: started.append(real_popen(*a, **k)) or started[-1])
    results = bench_process.results_in_subprocess(tiny(min_time=5.0))
    next(results)  # a heartbeat, or the first row
    results.close()
    assert started[0].poll() is not None  # the process is gone


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="the OS cannot pin a process to cores")
def test_the_timing_process_leaves_the_first_core_to_the_face():
    probe = ("import os, torch; from gradtui.ui.bench_process import spare_a_core; setup = spare_a_core(); "
             "print(setup.threads, setup.cores, *sorted(os.sched_getaffinity(0)))")
    threads, cores, *pinned = map(int, subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                                      check=True).stdout.split())
    mine = sorted(os.sched_getaffinity(0))
    assert cores == len(mine)
    if cores > 1:
        assert pinned == mine[1:] and 1 <= threads <= cores - 1
    else:
        assert pinned == mine and threads >= 1


def test_subprocess_errors_are_raised_in_the_parent():
    with pytest.raises(RuntimeError, match="--layers|no such file|InputError"):
        list(bench_process.results_in_subprocess(tiny(data=Path("no/such/file.npz"))))


@cuda
def test_bench_json_on_cuda(capsys):
    code, out, _ = run_cli(capsys, "bench", "--json", "--device", "cuda", "--batch", "256", "--hidden", "16",
                           "--min-time", "0.05")
    report = json.loads(out)
    assert code == 0 and report["config"]["device"].startswith("cuda")
    assert [v["version"] for v in report["versions"]] == list(range(1, 8))
    assert all(v["match"] and v["peak_bytes"] is not None for v in report["versions"])
