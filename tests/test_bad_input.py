"""Every row of docs/ci.md's bad-input table: one clear line and exit 2 for bad input, a failed
or mismatched step (exit 1) for bad user code, and never a crash or a traceback."""

import gzip
import os
import pickle

import numpy as np
import pytest
import torch
from conftest import check_json, run_cli


def one_line_exit_2(capsys, *argv, words):
    code, out, err = run_cli(capsys, "check", *argv)
    assert code == 2, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for word in words if isinstance(words, tuple) else (words,):
        assert word in err, err
    return err


# -- options ------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["--batch", "1000000000"], ("needs about", "free on cpu", "smaller --batch")),
    (["--step-timeout", "0"], "--step-timeout"),
    (["--device", "cuda:x"], "--device"),
])
def test_bad_values(capsys, argv, words):
    one_line_exit_2(capsys, *argv, words=words)


def test_a_cuda_index_the_machine_lacks(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    one_line_exit_2(capsys, "--device", "cuda:7", words="this machine has 1 CUDA device(s), cuda:0..cuda:0")


def test_float16_on_cpu_runs_with_half_precision_tolerances(capsys):
    code, report = check_json(capsys, "--dtype", "float16", "--batch", "300")
    assert code == 0 and (report["config"]["rtol"], report["config"]["atol"]) == (1e-2, 1e-3)


# -- data files ---------------------------------------------------------------------------

def npz(tmp_path, name="data.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def csv(tmp_path, text: str):
    path = tmp_path / "d.csv"
    path.write_text(text)
    return path


X, Y = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32), np.arange(40) % 10


@pytest.mark.parametrize("make, words", [
    (lambda tmp: tmp / "missing.npz", "no such file"),
    (lambda tmp: (tmp / "dir.npz").mkdir() or tmp / "dir.npz", "no such file"),
    (lambda tmp: (tmp / "empty.npz").write_bytes(b"") and None or tmp / "empty.npz", "cannot read it"),
    (lambda tmp: (tmp / "empty.csv").write_text("") and None or tmp / "empty.csv", "header line"),
    (lambda tmp: (tmp / "empty.pt").write_bytes(b"") and None or tmp / "empty.pt", "cannot read it"),
    (lambda tmp: (tmp / "empty.pkl.gz").write_bytes(b"") and None or tmp / "empty.pkl.gz", "cannot read it"),
    (lambda tmp: (tmp / "data.txt").write_text("1,2\n") and None or tmp / "data.txt", "unknown file type"),
    (lambda tmp: npz(tmp, features=X, labels=Y), "expected an .npz with arrays x and y"),
    (lambda tmp: npz(tmp, x=X.reshape(-1), y=Y), "x must be 2-D"),
    (lambda tmp: npz(tmp, x=X.reshape(2, 2, 10, 6), y=Y), "x must be 2-D"),
    (lambda tmp: npz(tmp, x=X, y=np.stack([Y, Y], 1)), "y must be 1-D"),
    (lambda tmp: npz(tmp, x=X, y=Y[:30]), "x has 40 rows but y has 30"),
    (lambda tmp: npz(tmp, x=X.astype(str), y=Y), "x must be numeric"),
    (lambda tmp: npz(tmp, x=X.astype(np.complex64), y=Y), "x must be numeric"),
    (lambda tmp: npz(tmp, x=X[:0], y=Y[:0]), "no data"),
    (lambda tmp: csv(tmp, "a,b,t\n1,2,3\n4,five,6\n"), "d.csv:3: a value that is not a number"),
    (lambda tmp: csv(tmp, "a,b,t\n1,2,3\n4,5\n"), "d.csv:3: 2 columns, the header has 3"),
], ids=["missing", "directory", "empty-npz", "empty-csv", "empty-pt", "empty-pkl", "unknown-suffix", "wrong-keys",
        "x-1d", "x-4d", "y-2d", "mismatched-length", "strings", "complex", "no-rows", "csv-not-a-number", "csv-ragged"])
def test_bad_data_file(tmp_path, capsys, make, words):
    path = make(tmp_path)
    err = one_line_exit_2(capsys, "--data", str(path), words=words)
    assert str(path) in err


def test_a_hostile_pickle_never_runs(tmp_path, capsys):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as file:
        pickle.dump(((Payload(), np.zeros(3)), None, None), file)
    one_line_exit_2(capsys, "--data", str(path), words=("refused to load", "system", "only NumPy arrays"))
    assert not marker.exists()


def test_a_pt_file_with_arbitrary_objects_is_refused(tmp_path, capsys):
    path = tmp_path / "data.pt"
    torch.save({"x": torch.zeros(3, 2), "y": torch.zeros(3), "model": torch.nn.Linear(2, 1)}, path)
    err = one_line_exit_2(capsys, "--data", str(path), words="holds more than tensors and arrays")
    assert "\x1b" not in err  # no terminal escapes in a pipe


@pytest.mark.parametrize("protocol", [2, 5])
def test_the_course_pickle_format_loads(tmp_path, capsys, protocol):
    rng = np.random.default_rng(1)

    def split(n):
        return (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n))

    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as file:
        pickle.dump((split(120), split(30), split(30)), file, protocol=protocol)
    code, report = check_json(capsys, "--data", str(path), "--normalize")
    assert code == 0 and report["config"]["batch"] == 120 and report["config"]["sizes"] == [784, 50, 1]


@pytest.mark.parametrize("suffix", ["npz", "pt", "csv"])
def test_every_format_loads_images_and_integer_labels(tmp_path, capsys, suffix):
    images, labels = np.random.default_rng(2).random((30, 4, 5), dtype=np.float32), np.arange(30) % 10
    path = tmp_path / f"data.{suffix}"
    if suffix == "npz":
        np.savez(path, x_train=images, y_train=labels)
    elif suffix == "pt":
        torch.save((torch.from_numpy(images), torch.from_numpy(labels)), path)
    else:
        rows = np.concatenate([images.reshape(30, -1), labels[:, None]], 1)
        np.savetxt(path, rows, delimiter=",", header=",".join(f"c{i}" for i in range(21)), comments="")
    code, report = check_json(capsys, "--data", str(path))
    assert code == 0 and report["config"]["sizes"] == [20, 50, 1] and report["config"]["batch"] == 30


def test_batch_larger_than_the_file_uses_every_row_and_says_so_once(tmp_path, capsys):
    path = npz(tmp_path, x=X, y=Y)
    code, out, err = run_cli(capsys, "check", "--json", "--data", str(path), "--batch", "100")
    assert code == 0
    assert err.count("\n") == 1 and "--batch 100 is larger than" in err and "gradtui uses all 40" in err


def test_nan_in_the_data_runs_with_one_warning_and_shows_where_it_spreads(tmp_path, capsys):
    x = X.copy()
    x[3, 2] = np.nan
    path = npz(tmp_path, x=x, y=Y)
    code, out, err = run_cli(capsys, "check", "--json", "--data", str(path))
    assert err.count("\n") == 1 and "1 NaN/Inf value(s) in the data" in err
    import json
    report = json.loads(out)
    assert report["steps"][0]["tensors"][0]["stats"]["nan"] == 50  # row 3 of l1: NaN in every hidden unit
    assert report["first_nonfinite"] == {"index": 0, "layer": "lin1", "tensor": "l1"}


# -- layer files --------------------------------------------------------------------------

def layer_file(tmp_path, source: str):
    path = tmp_path / "mine.py"
    path.write_text(source)
    return path


LIN_HEAD = "from gradtui.layers import Module\n\nclass Lin(Module):\n    def bwd(self, out, inp):\n        pass\n\n"


def test_a_layer_file_that_cannot_load_is_said_before_the_synthetic_rows_are_waited_for(tmp_path, capsys, monkeypatch):
    """Half a second of drawing at the default 50,000 rows: a file with a syntax error is said first."""
    import gradtui.data

    asked = []
    monkeypatch.setattr(gradtui.data, "drawn", lambda *key: asked.append(key))
    path = layer_file(tmp_path, "def broken(:\n")
    one_line_exit_2(capsys, "--layers", str(path), words="SyntaxError at line 1")
    assert asked == []


def test_a_constructor_with_the_wrong_signature_is_bad_input(tmp_path, capsys):
    path = layer_file(tmp_path, "class Lin:\n    def __init__(self):\n        pass\n\n    def backward(self):\n        pass\n")
    one_line_exit_2(capsys, "--layers", str(path), words=("Lin(w1, b1) failed", "TypeError"))


def test_a_lin_built_from_sizes_is_told_the_protocol_in_one_line(tmp_path, capsys):
    """torch's own message for randn(tensor, tensor) is many lines; gradtui's is one, with the way out."""
    path = layer_file(tmp_path, "import torch\n\nclass Lin:\n    def __init__(self, n_in, n_out):\n"
                                "        self.w = torch.randn(n_in, n_out)\n\n    def backward(self):\n        pass\n")
    one_line_exit_2(capsys, "--layers", str(path), words=("Lin(w1, b1) failed: TypeError: randn()",
                                                           "builds Lin(w1, b1) with the tensors themselves",
                                                           "Model(784, 50, 1)"))


@pytest.mark.parametrize("source, index, words", [
    (LIN_HEAD + "    def __init__(self, w, b): self.w, self.b = w, b\n    def forward(self): return 1\n",
     0, "TypeError"),
    (LIN_HEAD + "    def __init__(self, w, b): self.w, self.b = w, b\n"
     "    def forward(self, inp): return (inp @ self.w + self.b).numpy()\n", 0, "returned a ndarray, not a tensor"),
    ("class Mse:\n    def __call__(self, inp, targ): return float(((inp.squeeze(-1) - targ) ** 2).mean())\n"
     "    def backward(self): pass\n", 3, "returned a float, not a tensor"),
    ("class Relu:\n    def __call__(self, inp): return None\n    def backward(self): pass\n",
     1, "returned a NoneType, not a tensor"),
], ids=["wrong-forward-signature", "returns-numpy", "returns-float", "returns-none"])
def test_user_forward_that_breaks_the_protocol_is_a_failed_step(tmp_path, capsys, source, index, words):
    code, report = check_json(capsys, "--layers", str(layer_file(tmp_path, source)), "--batch", "50")
    assert code == 1
    assert report["first_mismatch"] == {"index": index, "layer": report["steps"][index]["layer"], "tensor": None}
    error = report["steps"][index]["error"]
    assert words in f"{error['type']}: {error['message']}"
    assert all(s["error"]["type"] == "NotRun" for s in report["steps"][index + 1:])


LIN_OUT_IN = ("class Lin:\n    def __init__(self, w, b): self.w, self.b = w, b\n"
              "    def __call__(self, inp):\n        self.inp = inp\n        self.out = inp @ self.w.t() + self.b\n"
              "        return self.out\n    def backward(self):\n        self.inp.g = self.out.g @ self.w\n"
              "        self.w.g = self.out.g.t() @ self.inp\n        self.b.g = self.out.g.sum(0)\n")


@pytest.mark.parametrize("source, index, words, unsaid", [
    (LIN_OUT_IN, 0, ("was handed x (50, 784), w1 (784, 20), b1 (20,)", "w1 is (n_in, n_out), the lesson's layout",
                     "nn.Linear's"), ()),
    (LIN_OUT_IN.replace("@ self.w.t()", "@ self.w").replace("self.out.g.t() @ self.inp", "self.inp @ self.out.g")
     .replace("self.out.g @ self.w\n", "self.out.g @ self.w.t()\n"),
     5, ("was handed out.g (50, 1), l2 (50, 20), w2 (20, 1), b2 (1,)",), ("nn.Linear",)),
    (LIN_OUT_IN.replace("@ self.w.t()", "@ self.w").replace("self.out.g @ self.w\n", "self.out.g / 0 @ undefined\n"),
     5, ("NameError",), ("was handed",)),
], ids=["nn.Linear's layout", "a backward's matmul", "not about shapes"])
def test_an_error_about_shapes_says_what_the_step_was_handed(tmp_path, capsys, source, index, words, unsaid):
    code, report = check_json(capsys, "--layers", str(layer_file(tmp_path, source)), "--batch", "50",
                              "--hidden", "20")
    error = report["steps"][index]["error"]
    said = f"{error['type']}: {error['message']}"
    assert code == 1 and report["first_mismatch"]["index"] == index
    assert all(word in said for word in words) and not any(word in said for word in unsaid), said


@pytest.mark.parametrize("source, index, words", [
    ("class Relu:\n    def __call__(self, inp):\n        self.inp = inp\n        self.out = inp.clamp_min(0.)\n"
     "        return self.out\n\n    def backward(self, dout):\n        return dout * (self.inp > 0)\n",
     7, "gradtui calls backward() with no argument, as the notes' version 3"),
    ("from gradtui.layers import Module\n\nclass Relu(Module):\n    def forward(self, inp):\n"
     "        return inp.clamp_min(0.)\n\n    def bwd(self, dout):\n        return dout * (self.out > 0)\n",
     7, "gradtui's Module calls bwd(out, inp), as the notes' version 4"),
], ids=["backward(dout)", "bwd(dout)"])
def test_a_backward_written_for_another_protocol_is_told_the_notes(tmp_path, capsys, source, index, words):
    """A backward that takes the gradient from above and returns the input's fails before its code runs:
    said at its own line, with how gradtui calls it, never at gradtui's file."""
    code, report = check_json(capsys, "--layers", str(layer_file(tmp_path, source)), "--batch", "50")
    error = report["steps"][6]["error"]
    assert code == 1 and error["type"] == "TypeError" and words in error["message"]
    assert error["file"].endswith("mine.py") and error["line"] == index


RELU_SETTING = ("class Relu:\n    def __call__(self, inp):\n        self.inp = inp\n        self.out = inp.clamp_min(0.)\n"
                "        return self.out\n    def backward(self):\n        self.inp.{}\n")


@pytest.mark.parametrize("sets, words", [
    ("g = ((self.inp > 0) * self.out.g).tolist()", "is a list, not a torch tensor"),
    ("grad = (self.inp > 0) * self.out.g", "l1.g was not set, but l1.grad was: gradtui reads .g"),
    ("g = self.inp > 0", "l1.g is bool, autograd's is float32: a mask or an index is no gradient; as numbers, l1.g is "
                         "ReLU's input gradient without the factor `out.g`"),
    ("g = (self.inp > 0).long()", "l1.g is int64, autograd's is float32: a mask or an index is no gradient"),
], ids=["a list", "as .grad", "a bool mask", "an integer mask"])
def test_a_gradient_set_as_no_tensor_or_under_another_name_is_a_mismatch(tmp_path, capsys, sets, words):
    code, report = check_json(capsys, "--layers", str(layer_file(tmp_path, RELU_SETTING.format(sets))), "--batch", "50")
    assert code == 1 and report["first_mismatch"] == {"index": 6, "layer": "relu1", "tensor": "l1.g"}
    assert words in report["steps"][6]["tensors"][0]["hint"]


def test_a_step_that_runs_forever_times_out(tmp_path, capsys, gate):
    # a backward that does not return (a forgotten `while True`) until the test is over and opens the gate
    source = ("import gradtui_test_gate\n\nclass Relu:\n    def __call__(self, inp):\n        self.inp = inp\n"
              "        self.out = inp.clamp_min(0.)\n        return self.out\n    def backward(self):\n"
              "        gradtui_test_gate.opened.wait()\n")
    code, report = check_json(capsys, "--layers", str(layer_file(tmp_path, source)), "--batch", "50",
                              "--step-timeout", "0.5")
    assert code == 1
    assert report["first_mismatch"] == {"index": 6, "layer": "relu1", "tensor": None}
    assert report["steps"][6]["error"]["type"] == "Timeout"
    assert "0.5 s" in report["steps"][6]["error"]["message"]
    assert report["steps"][7]["error"]["type"] == "NotRun"


@pytest.mark.parametrize("options", [(), ("--normalize",)])
def test_the_real_sample_data_set_checks_clean(capsys, options):
    from conftest import SAMPLES

    code, out, err = run_cli(capsys, "check", "--json", "--data", str(SAMPLES / "digits.npz"), *options)
    import json
    report = json.loads(out)
    assert code == 0 and err == "" and report["ok"] is True
    assert report["config"]["batch"] == 1797 and report["config"]["sizes"] == [64, 50, 1]


def test_a_class_without_a_backward_has_nothing_to_check(tmp_path, capsys):
    """makemore's Tanh (a forward only: autograd is its backward) had raised 'unexpected AttributeError'."""
    forward_only = "class Tanh:\n    def __call__(self, x):\n        self.out = x.tanh()\n        return self.out\n"
    one_line_exit_2(capsys, "--layers", str(layer_file(tmp_path, forward_only)), "--net", "lin,tanh,lin,mse",
                    words="defines none of Lin, Relu, Tanh, BatchNorm, Mse, CrossEntropy with a backward of its own "
                          "(Tanh has none: autograd is its backward)")
    with_relu = forward_only + "\n\nfrom gradtui.layers import Relu as Reference\n\n\nclass Relu(Reference):\n    pass\n"
    code, out, err = run_cli(capsys, "check", "--batch", "32", "--net", "lin,tanh,relu,lin,mse",
                             "--layers", str(layer_file(tmp_path, with_relu)))
    assert code == 0 and "the layer file's Tanh has no backward of its own" in err and "reference Tanh steps" in err


ALLOCATION_FAILS = ("import torch\nfrom gradtui.layers import Module\n\n\nclass Mse(Module):\n"
                    "    def forward(self, inp, targ):\n"
                    "        n = len(targ)  # as torch's CPU allocator says it for (inp - targ)\n"
                    "        raise RuntimeError('[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can\\'t '\n"
                    "                           f'allocate memory: you tried to allocate {n * n * 4} bytes. Error code 12')\n\n"
                    "    def bwd(self, out, inp, targ):\n"
                    "        inp.g = 2 * (inp.squeeze(-1) - targ).unsqueeze(-1) / len(targ)\n")


def test_an_allocation_of_n_by_n_numbers_that_fails_is_said_to_be_an_n_by_n_broadcast(tmp_path, capsys):
    code, report = check_json(capsys, "--layers", str(layer_file(tmp_path, ALLOCATION_FAILS)), "--batch", "300")
    error = report["steps"][3]["error"]
    assert code == 1 and report["first_mismatch"]["index"] == 3
    assert error["message"].endswith("that is a 300×300 tensor of float32, N×N for the batch's N = 300 rows: an (N, 1) "
                                     "tensor broadcast against an (N,) one? (`inp.squeeze(-1) - targ`)")


def test_under_the_memory_bound_an_allocation_past_it_fails_and_the_limit_is_set_back():
    """The check runs the user's code so: an N×N broadcast at 50,000 rows (10 GB a tensor) is a failed step,
    where the kernel killed the whole check on a machine of 24 GB."""
    resource = pytest.importorskip("resource")
    import torch

    from gradtui.memory import bounded_memory, free_bytes_on_cpu

    before = resource.getrlimit(resource.RLIMIT_AS)
    if before[0] != resource.RLIM_INFINITY:
        pytest.skip("this process's address space is limited already")
    with bounded_memory(torch.device("cpu")), pytest.raises(RuntimeError, match="allocate"):
        torch.empty(free_bytes_on_cpu() // 4 * 3 // 4)  # three quarters of what is free: past half of it
    assert resource.getrlimit(resource.RLIMIT_AS) == before
