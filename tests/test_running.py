"""User code that prints or calls sys.exit(): its output is kept per step, gradtui's own output
stays whole (check --json is JSON), and an exit is a failed step at the user's line."""

import json
from pathlib import Path

import pytest
from conftest import SAMPLES, check_json, run_cli, settle

from gradtui.config import RunConfig
from gradtui.ui.app import GradTUI

PRINTS = ('import sys\nfrom gradtui.layers import Lin as Reference\n\nprint("loading my layers")\n\n\n'
          'class Lin(Reference):\n    def bwd(self, out, inp):\n'
          '        print("out.g is", tuple(out.g.shape))\n'
          '        print("to stderr", file=sys.stderr)\n'
          '        super().bwd(out, inp)\n')


def layer_file(tmp_path, code: str):
    path = tmp_path / "layers.py"
    path.write_text(code)
    return str(path)


def test_what_a_backward_prints_is_the_steps_output_and_not_on_stdout(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "check", "--json", "--batch", "100", "--layers", layer_file(tmp_path, PRINTS))
    report = json.loads(out)  # nothing else on stdout: not the file's top-level print, not the backward's
    assert code == 0
    outputs = [step["output"] for step in report["steps"]]
    assert outputs[5] == "out.g is (100, 1)\nto stderr\n" and outputs[7] == "out.g is (100, 50)\nto stderr\n"
    assert all(output == "" for i, output in enumerate(outputs) if i not in (5, 7))


def test_the_table_shows_what_a_step_printed(capsys, tmp_path):
    _, out, _ = run_cli(capsys, "check", "--batch", "100", "--layers", layer_file(tmp_path, PRINTS))
    assert "  printed: out.g is (100, 1)\n           to stderr" in out
    assert "loading my layers" not in out


def test_a_flood_of_prints_keeps_its_end(capsys, tmp_path):
    flood = PRINTS.replace('print("out.g is", tuple(out.g.shape))', 'for i in range(20_000): print("row", i)')
    code, report = check_json(capsys, "--batch", "50", "--layers", layer_file(tmp_path, flood))
    output = report["steps"][5]["output"]
    assert code == 0 and output.startswith("… (") and "characters before" in output
    assert output.endswith("row 19999\nto stderr\n") and len(output) < 5000


@pytest.mark.parametrize("timeout", [(), ("--step-timeout", "10")], ids=["no timeout", "step timeout"])
@pytest.mark.parametrize("where, index", [("bwd", 6), ("forward", 1)])
def test_sys_exit_in_user_code_is_a_failed_step(capsys, tmp_path, timeout, where, index):
    args = "self, out, inp" if where == "bwd" else "self, inp"
    exits = (f"import sys\nfrom gradtui.layers import Relu as Reference\n\n\nclass Relu(Reference):\n"
             f"    def {where}({args}):\n        print('bye')\n        sys.exit(3)\n")
    code, report = check_json(capsys, "--batch", "50", "--layers", layer_file(tmp_path, exits), *timeout)
    assert code == 1 and report["first_mismatch"] == {"index": index, "layer": "relu1", "tensor": None}
    step = report["steps"][index]
    assert step["error"]["type"] == "SystemExit" and "sys.exit(3)" in step["error"]["message"]
    assert step["error"]["file"].endswith("layers.py") and step["error"]["line"] == 8
    assert step["output"] == "bye\n"


def test_a_step_that_raised_before_setting_a_gradient_is_its_error_line_alone(capsys, tmp_path):
    exits = ("import sys\nfrom gradtui.layers import Relu as Reference\n\n\nclass Relu(Reference):\n"
             "    def bwd(self, out, inp):\n        sys.exit(3)\n")
    code, out, _ = run_cli(capsys, "check", "--batch", "50", "--layers", layer_file(tmp_path, exits))
    step = out[out.index("step 6 · backward · relu1"):out.index("step 7")]
    assert code == 1 and "raised: SystemExit" in step and "max|Δ|" not in step  # no table header above nothing


async def test_sys_exit_in_a_backward_does_not_close_the_app(tmp_path):
    exits = ("import sys\nfrom gradtui.layers import Relu as Reference\n\n\nclass Relu(Reference):\n"
             "    def bwd(self, out, inp):\n        sys.exit(3)\n")
    app = GradTUI(RunConfig(device="cpu", batch=50, layers=Path(layer_file(tmp_path, exits))))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert app.is_running and app.return_code is None
        assert app.frames[6].report.error.type == "SystemExit"


def test_the_samples_print_nothing_of_their_own(capsys):
    code, out, _ = run_cli(capsys, "check", "--json", "--batch", "50", "--layers", str(SAMPLES / "correct.py"))
    assert code == 0 and all(step["output"] == "" for step in json.loads(out)["steps"])


def test_two_float64_runs_on_two_threads_leave_torchs_default_dtype_as_they_found_it():
    """torch's default dtype is the process's: the app's load that a new load overtook runs its step on,
    and the two used to end in the order that left float64 in place for good (and a notebook that called
    gradtui.debug then made float64 tensors). A float32 run beside them sees float32."""
    import threading

    import torch

    from gradtui.running import numbers_made_in

    first_inside, first_may_leave, second_inside = threading.Event(), threading.Event(), threading.Event()
    seen_by_float32_run = []

    def first():
        with numbers_made_in(torch.float64):
            first_inside.set()
            first_may_leave.wait()

    def second():
        with numbers_made_in(torch.float64):
            second_inside.set()
        with numbers_made_in(torch.float32):
            seen_by_float32_run.append(torch.get_default_dtype())

    before = torch.get_default_dtype()
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    first_inside.wait()
    threads[1].start()
    waited = not second_inside.wait(0.2)  # it waits for the first run to end
    first_may_leave.set()
    for thread in threads:
        thread.join()
    assert waited and second_inside.is_set()
    assert torch.get_default_dtype() == before == torch.float32
    assert seen_by_float32_run == [torch.float32]
