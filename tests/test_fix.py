"""A fix is an edit of the user's own file that gradtui has run: `check --fix` prints it only when
the check passes (or goes further) with it, `--write` writes it, the JSON and the API carry it, and
writing refuses what it should refuse."""

import json
import shutil
import subprocess
import textwrap

import pytest
import torch
from conftest import SAMPLES, benchmark, check_json, run_cli

import gradtui
from gradtui import fixing
from gradtui.fixing import FixError
from gradtui.report import fix_json


def copy(tmp_path, sample: str):
    path = tmp_path / sample
    shutil.copy(SAMPLES / sample, path)
    return path


def test_check_fix_prints_the_verified_edit_of_the_users_line(tmp_path, capsys):
    path = copy(tmp_path, "transposed.py")
    code, out, _ = run_cli(capsys, "check", "--batch", "300", "--layers", str(path), "--fix")
    assert code == 1  # the check's own verdict: the file still has its slip
    lines = out.splitlines()
    start = lines.index("fix, run and verified: with this edit every gradient matches")
    assert lines[start + 1:start + 3] == [f"--- {path}", f"+++ {path}"]
    assert "-        self.w.g = out.g.t() @ inp  # BUG: should be inp.t() @ out.g" in lines
    assert "+        self.w.g = inp.t() @ out.g  # BUG: should be inp.t() @ out.g" in lines


def test_a_fix_needs_no_batch_given(tmp_path, capsys):
    """Without --batch (every row of a data file, or the default synthetic rows) the search screens
    its edits on the first rows all the same."""
    path = copy(tmp_path, "relu_mask.py")
    code, out, _ = run_cli(capsys, "check", "--layers", str(path), "--data", str(SAMPLES / "digits.npz"), "--fix")
    assert code == 1 and "+        inp.g = (inp > 0) * out.g  # BUG: the mask is (inp > 0)" in out.splitlines()


def test_the_printed_diff_applied_with_patch_makes_the_check_pass(tmp_path, capsys):
    path = copy(tmp_path, "relu_no_upstream.py")
    code, report = check_json(capsys, "--batch", "300", "--layers", str(path), "--fix")
    assert code == 1 and report["fix"]["verified"] and report["fix"]["edits"] == 1 and report["fix"]["passes"]
    assert report["fix"]["fixed"] == ["l1.g (step 6)"]
    (tmp_path / "fix.diff").write_text(report["fix"]["diff"])
    patched = tmp_path / "patched.py"
    done = subprocess.run(["patch", "--silent", "-o", str(patched), str(path), str(tmp_path / "fix.diff")])
    assert done.returncode == 0
    assert "inp.g = (inp > 0).float() * out.g" in patched.read_text()
    assert run_cli(capsys, "check", "--batch", "300", "--layers", str(patched))[0] == 0


def test_write_puts_it_into_the_file_and_then_the_check_passes(tmp_path, capsys):
    path = copy(tmp_path, "missing_sum.py")
    code, _, err = run_cli(capsys, "check", "--batch", "300", "--layers", str(path), "--fix", "--write")
    assert code == 1
    assert f"gradtui: wrote 1 edit into {path}; the diff above undoes with `patch -R {path}`" in err
    assert "self.b.g = out.g.sum(0)" in path.read_text()
    assert run_cli(capsys, "check", "--batch", "300", "--layers", str(path))[0] == 0


def test_write_alone_is_bad_input(capsys):
    code, _, err = run_cli(capsys, "check", "--write", "--layers", str(SAMPLES / "transposed.py"))
    assert code == 2 and "--write writes what --fix finds: give both" in err


def test_two_slips_are_fixed_as_a_series_each_edit_run(tmp_path, capsys):
    path = tmp_path / "two.py"
    path.write_text((SAMPLES / "transposed.py").read_text().replace("self.b.g = out.g.sum(0)", "self.b.g = out.g.sum(1)"))
    code, report = check_json(capsys, "--batch", "300", "--layers", str(path), "--fix")
    fix = report["fix"]
    assert fix["edits"] == 2 and fix["passes"] and fix["verdict"] == "with these 2 edits every gradient matches"
    assert fix["fixed"] == ["w2.g (step 5)", "b2.g (step 5)"]
    assert "+        self.b.g = out.g.sum(0)" in fix["diff"] and "+        self.w.g = inp.t() @ out.g" in fix["diff"]


def test_an_edit_right_only_for_a_layer_one_wide_is_not_a_fix(tmp_path, capsys):
    """`out.g.sum(0).mean(0, keepdim=True)` matches the last Lin's bias (one output) and not the first's."""
    path = tmp_path / "bias.py"
    path.write_text((SAMPLES / "keepdim.py").read_text().replace("out.g.sum(0, keepdim=True)", "out.g.mean(0, keepdim=True)"))
    _, report = check_json(capsys, "--batch", "300", "--layers", str(path), "--fix")
    assert report["fix"]["passes"] and "+        self.b.g = out.g.sum(0)" in report["fix"]["diff"]


def test_a_slip_no_edit_fixes_says_so(tmp_path, capsys):
    path = tmp_path / "zeros.py"
    path.write_text("import torch\nfrom gradtui.layers import Module\n\n\nclass Mse(Module):\n"
                    "    def forward(self, inp, targ):\n        return (inp.squeeze(-1) - targ).pow(2).mean()\n\n"
                    "    def bwd(self, out, inp, targ):\n        inp.g = torch.zeros_like(inp)\n")
    code, out, _ = run_cli(capsys, "check", "--batch", "200", "--layers", str(path), "--fix")
    assert code == 1 and "fix: no verified fix (gradtui found no edit of your layer file that makes the gradient match)" in out
    assert fix_json(None) == {"file": None, "diff": None, "verified": False, "edits": 0, "fixed": [], "passes": False,
                              "verdict": "no verified fix"}  # what --json says then


def test_the_api_gives_the_fix_and_applies_it_and_refuses_a_file_changed_since(tmp_path):
    path = copy(tmp_path, "bias_wrong_axis.py")
    report = gradtui.check(layers=str(path), batch=300)
    assert not report.ok and report.fix.verified and "+        self.b.g = out.g.sum(0)" in str(report.fix)
    stale = gradtui.check(layers=str(path), batch=300)
    assert report.apply_fix() == path
    assert gradtui.check(layers=str(path), batch=300).ok
    with pytest.raises(FixError, match="changed since the check"):
        stale.apply_fix()
    assert gradtui.check(layers=str(SAMPLES / "correct.py"), batch=300).fix is None


def test_a_layer_file_edited_between_two_checks_is_quoted_as_it_is_now(tmp_path):
    """Two checks in one process (a fix applied by hand, the file edited, the check run again): the
    second quotes the file as it is now, not as the first read it."""
    path = tmp_path / "act.py"
    backward = "        inp.g = out.g * torch.sigmoid(inp)"
    path.write_text(layer_file("Act", "        return torch.nn.functional.silu(inp)", backward))
    first = gradtui.check(layers=str(path), batch=300).first_mismatch.hint
    path.write_text(layer_file("Act", "        y = torch.nn.functional.silu(inp)\n        return y", backward))
    second = gradtui.check(layers=str(path), batch=300).first_mismatch.hint
    assert "the derivative of `torch.nn.functional.silu(inp)` (" in first, first
    assert "the derivative of `y = torch.nn.functional.silu(inp)` (" in second, second


def test_a_notebook_is_fixed_in_its_cell_and_keeps_its_outputs(tmp_path, capsys):
    """A cell with a magic in it, as notebooks have."""
    notebook = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# my layers"]},
        {"cell_type": "code", "metadata": {"tags": ["keep"]}, "execution_count": 3,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["hello\n"]}],
         "source": ["%load_ext autoreload\n", "from gradtui.layers import Module\n", "\n", "\n", "class Lin(Module):\n",
                    "    def __init__(self, w, b):\n", "        self.w, self.b = w, b\n", "\n",
                    "    def forward(self, inp):\n", "        return inp @ self.w + self.b\n", "\n",
                    "    def bwd(self, out, inp):\n", "        inp.g = out.g @ self.w.t()\n",
                    "        self.w.g = inp.t() @ out.g\n", "        self.b.g = out.g.sum(1)\n"]}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "mine.ipynb"
    path.write_text(json.dumps(notebook, indent=1))
    code, report = check_json(capsys, "--batch", "300", "--layers", str(path), "--fix")
    assert report["fix"]["file"] == f"{path} (cell 2)" and report["fix"]["passes"]
    assert report["fix"]["diff"].startswith(f"--- {path} (cell 2)\n+++ {path} (cell 2)\n")
    run_cli(capsys, "check", "--batch", "300", "--layers", str(path), "--fix", "--write")
    written = json.loads(path.read_text())
    cell = written["cells"][1]
    assert "".join(cell["source"]).endswith("self.b.g = out.g.sum(0)\n")
    assert cell["outputs"] == notebook["cells"][1]["outputs"] and cell["metadata"] == {"tags": ["keep"]}
    assert written["metadata"] == notebook["metadata"]
    assert run_cli(capsys, "check", "--batch", "300", "--layers", str(path))[0] == 0


def test_the_diff_of_a_file_without_a_last_newline_applies_with_patch(tmp_path, capsys):
    path = tmp_path / "last.py"
    path.write_text((SAMPLES / "bias_wrong_axis.py").read_text().rstrip("\n"))  # the slip is on the last line
    _, report = check_json(capsys, "--batch", "300", "--layers", str(path), "--fix")
    assert report["fix"]["diff"].endswith("\\ No newline at end of file\n")
    (tmp_path / "fix.diff").write_text(report["fix"]["diff"])
    patched = tmp_path / "patched.py"
    assert subprocess.run(["patch", "--silent", "-o", str(patched), str(path), str(tmp_path / "fix.diff")]).returncode == 0
    assert run_cli(capsys, "check", "--batch", "300", "--layers", str(patched))[0] == 0


EMBEDDING = '''import torch
from gradtui.layers import Lin, Module, Mse


class Embedding(Module):
    def __init__(self, weight):
        self.weight = weight

    def forward(self, inp):
        return self.weight[inp]

    def bwd(self, out, inp):
        self.weight.g = torch.zeros_like(self.weight)
{rows}


class Model:
    def __init__(self, *sizes):
        g = torch.Generator().manual_seed(0)
        self.layers = [Embedding(torch.randn(9, 12, generator=g)), Lin(torch.randn(12, 1, generator=g) / 4, torch.zeros(1))]
        self.loss = Mse()
'''


@pytest.mark.parametrize("rows, fixed", [
    ("        self.weight.g[inp.reshape(-1)] = out.g.reshape(-1, 12)",
     "self.weight.g.index_put_((inp.reshape(-1),), out.g.reshape(-1, 12), accumulate=True)"),
    ("        for i, ix in enumerate(inp.reshape(-1)):\n            self.weight.g[ix] = out.g.reshape(-1, 12)[i]",
     "self.weight.g[ix] += out.g.reshape(-1, 12)[i]"),
], ids=["indexed", "looped"])
def test_a_fix_is_run_on_the_callers_own_data_here_integer_ids(tmp_path, rows, fixed):
    """An embedding that overwrites a row used twice: only the caller's integer ids run it (the
    synthetic data is floats), so the fix is searched and verified on them, in this process and in
    the app's child process alike."""
    from gradtui.config import RunConfig
    from gradtui.data import Dataset
    from gradtui.ui.fix_process import fix_in_subprocess

    path = tmp_path / "embedding.py"
    path.write_text(EMBEDDING.format(rows=rows))
    g = torch.Generator().manual_seed(1)
    x, y = torch.randint(0, 9, (64, 5), generator=g), torch.randn(64, 5, generator=g)
    report = gradtui.check(layers=str(path), x=x, y=y)
    assert not report.ok and "must add up" in report.first_mismatch.hint
    assert report.fix.passes and f"+{' ' * (8 if 'index_put_' in fixed else 12)}{fixed}\n" in report.fix.diff
    if "index_put_" in fixed:  # (one child process is enough to show it: each imports torch)
        from_child = fix_in_subprocess(RunConfig(layers=path, batch=len(x)), Dataset(x, y, "your data"))  # gradtui.debug's
        assert from_child.diff == report.fix.diff
    report.apply_fix()
    assert gradtui.check(layers=str(path), x=x, y=y).ok


LAYER_FILE = '''import torch
from gradtui.layers import Lin, Module, Mse, Relu


class {name}(Module):
{init}    def forward(self, inp):
{forward}

    def bwd(self, out, inp):
{backward}


class Model:
    def __init__(self, n_in, nh, n_out):
        g = torch.Generator().manual_seed(0)
        self.layers = [Lin(torch.randn(n_in, nh, generator=g) / n_in ** 0.5, torch.zeros(nh)), {made},
                       Lin(torch.randn(nh, n_out, generator=g) / nh ** 0.5, torch.zeros(n_out))]
        self.loss = Mse()
'''


def layer_file(name: str, forward: str, backward: str, weights: tuple[str, ...] = (), made: str | None = None) -> str:
    """A layer file: the layer after a Lin on the synthetic rows, holding `weights` (nh × nh each), or
    built as `made` says."""
    init = f"    def __init__(self, *weights):\n        {', '.join(f'self.{w}' for w in weights)}, = weights\n\n" \
        if weights else ""
    made = made or f"{name}(*[torch.randn(nh, nh, generator=g) / nh ** 0.5 for _ in range({len(weights)})])"
    return LAYER_FILE.format(name=name, init=init, forward=forward, backward=backward, made=made)


@pytest.mark.parametrize("name, forward, backward, fixed", [
    ("SiLU", "        self.s = torch.sigmoid(inp)\n        return inp * self.s",
     "        ds = self.s * (1 - self.s)\n        inp.g = out.g * (self.s)",
     "inp.g = out.g * (self.s + inp * ds)"),
    ("Softmax", "        e = (inp - inp.max(-1, keepdim=True).values).exp()\n        return e / e.sum(-1, keepdim=True)",
     "        inp.g = out * out.g",
     "inp.g = out * out.g - out * (out.g * out).sum(-1, keepdim=True)"),
    ("ScaledSoftmax", "        self.p = torch.softmax(inp, -1)\n        return 2 * self.p",
     "        dp = 2 * out.g\n        inp.g = self.p * dp",
     "inp.g = self.p * (dp - (dp * self.p).sum(-1, keepdim=True))"),
    ("GELU", "        self.t = torch.tanh(0.7978845608 * (inp + 0.044715 * inp ** 3))\n"
             "        return 0.5 * inp * (1 + self.t)",
     "        dt = (1 - self.t ** 2) * 0.7978845608 * (1 + 3 * 0.044715 * inp ** 2)\n"
     "        inp.g = out.g * (0.5 * (1 + self.t) + 0.5 * inp)",
     "inp.g = out.g * (0.5 * (1 + self.t) + 0.5 * inp * dt)"),
    ("LayerNorm", "        self.mu = inp.mean(-1, keepdim=True)\n"
                  "        self.rstd = ((inp - self.mu) ** 2).mean(-1, keepdim=True).add(1e-5).rsqrt()\n"
                  "        self.xhat = (inp - self.mu) * self.rstd\n        return self.xhat",
     "        inp.g = self.rstd * (out.g - out.g.mean(-1, keepdim=True))",
     "inp.g = self.rstd * (out.g - out.g.mean(-1, keepdim=True) - out * (out.g * out).mean(-1, keepdim=True))"),
    ("GELU", "        self.t = torch.tanh(0.7978845608 * (inp + 0.044715 * inp ** 3))\n"
             "        return 0.5 * inp * (1 + self.t)",
     "        inp.g = out.g",
     "inp.g = out.g * (0.5 * (1 + self.t) + 0.5 * inp * (1 - self.t**2) * (1 + 3 * inp ** 2 * 0.044715) * "
     "0.7978845608)"),
    ("QuickGELU", "        self.s = torch.sigmoid(1.702 * inp)\n        return inp * self.s",
     "        inp.g = out.g * self.s",
     "inp.g = out.g * self.s + out.g * inp * self.s * (1 - self.s) * 1.702"),
    ("SELU", "        self.pos = inp > 0\n        return 1.0507 * torch.where(self.pos, inp, 1.6733 * (torch.exp(inp) - 1))",
     "        inp.g = 1.0507 * out.g",
     "inp.g = 1.0507 * out.g * torch.where(self.pos, 1, torch.exp(inp) * 1.6733)"),
    ("ExactGELU", "        return 0.5 * inp * (1 + torch.erf(inp / 1.4142135623730951))",
     "        inp.g = out.g * 0.5 * (1 + torch.erf(inp / 1.4142135623730951))",
     "inp.g = out.g * 0.5 * (1 + torch.erf(inp / 1.4142135623730951)) + out.g * 0.5 * inp * 1.1283791670955126 * "
     "torch.exp(-(inp / 1.4142135623730951) ** 2) / 1.4142135623730951"),
    ("SELU", "        self.pos = inp > 0\n        return 1.0507 * torch.where(self.pos, inp, 1.6733 * (torch.exp(inp) - 1))",
     "        inp.g = torch.where(self.pos, 1.0, 1.6733 * torch.exp(inp))",
     "inp.g = torch.where(self.pos, 1.0, 1.6733 * torch.exp(inp)) * (out.g * 1.0507)"),
    ("HalfExp", "        return torch.exp(0.5 * inp)", "        inp.g = out", "inp.g = out.g * out * 0.5"),
    ("RowLogSoftmax", "        return inp - inp.logsumexp(-1, keepdim=True)", "        inp.g = out.g",
     "inp.g = out.g - out.exp() * out.g.sum(-1, keepdim=True)"),
    ("RowLogSoftmax", "        return inp - inp.logsumexp(-1, keepdim=True)", "        inp.g = out.g - out.exp()",
     "inp.g = out.g - out.exp() * out.g.sum(-1, keepdim=True)"),
    ("GainFirstRMSNorm",
     "        self.r = torch.rsqrt((inp ** 2).mean(-1, keepdim=True) + 1e-6)\n        return 1.5 * inp * self.r",
     "        dy = out.g * 1.5\n        inp.g = self.r * dy - inp * self.r ** 3 * inp.mean(-1, keepdim=True)",
     "inp.g = self.r * dy - inp * self.r ** 3 * (inp * dy).mean(-1, keepdim=True)"),
    ("FGELUTanh", "        return torch.nn.functional.gelu(inp, approximate='tanh')", "        inp.g = out.g",
     "inp.g = out.g * (0.5 * (1 + torch.tanh(0.7978845608028654 * (inp + 0.044715 * inp ** 3))) + 0.5 * inp * (1 - "
     "torch.tanh(0.7978845608028654 * (inp + 0.044715 * inp ** 3)) ** 2) * 0.7978845608028654 * (1 + 3 * 0.044715 * "
     "inp ** 2))"),
], ids=["a-gradient-computed-and-never-used", "the-term-the-hint-spells-out", "the-term-in-the-codes-own-names",
        "a-derivative-computed-and-never-multiplied-in", "a-layer-norms-closed-form-without-its-variance-term",
        "a-derivative-never-written-written-out", "a-path-left-out-written-out", "an-expressions-derivative-written-out",
        "an-erfs-path-written-out", "the-gradient-from-above-written-out", "the-output-for-its-gradient-written-out",
        "a-log-softmaxs-second-term-in-code", "a-log-softmaxs-sum-in-code",
        "a-path-without-the-gradient-from-above-written-out", "a-fused-derivative-in-numbers-in-a-file-without-math"])
def test_a_term_left_out_is_added_back(tmp_path, capsys, name, forward, backward, fixed):
    """Ways a whole term gets lost: `ds` computed and never used; a softmax's Jacobian taken by its
    diagonal alone, whose hint writes the missing term out, in gradtui's names or the code's own
    (`dp`, `self.p`, where the layer's `out` is not the softmax's); a statement's derivative `dt`
    computed and never multiplied in; a layer norm's closed form without its variance term, added
    inside the parentheses it belongs in (its xhat is the layer's `out`); and where the code has no
    name for what is missing, gradtui's own writing of it, from the forward's operations: a GELU whose
    backward multiplies in no derivative at all, the path through a SiLU's gate, the `torch.where(…)`
    of a SELU, the path through an exact GELU's erf, the gradient from above a SELU's where (out.g
    times its 1.0507), exp's output given as its gradient, a log-softmax's second term or its sum (the
    hint writes them as code), the path through an RMS norm's statistics without the gradient from above
    (a gain multiplied in before the norm: `dy`, the code's own name for what is missing); `F.gelu`'s
    derivative as its table entry writes it, its `math.sqrt(2 / math.pi)` a number in a file that imports
    no math."""
    path = tmp_path / "mine.py"
    path.write_text(layer_file(name, forward, backward))
    _, report = check_json(capsys, "--batch", "300", "--layers", str(path), "--fix")
    assert report["fix"]["passes"], report["first_mismatch"]
    assert f"+        {fixed}\n" in report["fix"]["diff"]


@pytest.mark.parametrize("name, forward, backward, weights, made, fixed", [
    ("Gate", "        self.z = torch.sigmoid(inp @ self.w)\n        return self.z * inp",
     "        dz = out.g * inp\n        dzp = self.z * (1 - self.z)\n        self.w.g = inp.t() @ dzp\n"
     "        inp.g = out.g * self.z + dzp @ self.w.t()", ("w",), "Gate(torch.randn(nh, nh, generator=g) / nh ** 0.5)",
     "dzp = self.z * (1 - self.z) * dz"),
    ("Rotary", "        x1, x2 = inp[:, 0::2], inp[:, 1::2]\n        c, s = torch.cos(self.theta), torch.sin(self.theta)\n"
               "        return torch.cat([x1 * c - x2 * s, x1 * s + x2 * c], 1)",
     "        x1, x2 = inp[:, 0::2], inp[:, 1::2]\n        c, s = torch.cos(self.theta), torch.sin(self.theta)\n"
     "        h = inp.shape[1] // 2\n        g1, g2 = out.g[:, :h], out.g[:, h:]\n"
     "        inp.g = torch.stack([g1 * c + g2 * s, -g1 * s + g2 * c], 2).reshape(inp.shape)\n"
     "        self.theta.g = (g1 * (x1 * s - x2 * c) + g2 * (x1 * c - x2 * s)).sum(0)",
     ("theta",), "Rotary(0.3 * torch.arange(nh // 2) + 0.1)",
     "self.theta.g = (g1 * (-x1 * s - x2 * c) + g2 * (x1 * c - x2 * s)).sum(0)"),
    ("AxisSoftmax", "        e = torch.exp(inp - inp.max(axis=1, keepdims=True).values)\n"
                    "        self.p = e / e.sum(axis=1, keepdims=True)\n        return self.p",
     "        inp.g = self.p * (out.g - (out.g * self.p).sum())", (), "AxisSoftmax()",
     "inp.g = self.p * (out.g - (out.g * self.p).sum(1, keepdim=True))"),
], ids=["a-value-never-read-belongs-where-the-next-lines-make-what-two-gradients-read",
        "a-minus-inside-one-term-of-a-rotary", "a-numpy-style-softmaxs-total-sum"])
def test_a_slip_is_fixed_where_it_was_made(tmp_path, capsys, name, forward, backward, weights, made, fixed):
    """A gate's `dz` computed and never read: an edit where `w.g` and `inp.g` read `dzp` mends `inp.g` alone, so
    the search goes on to the edit that mends both, in the line after `dz`'s own (`dzp = … * dz`); a minus lost
    inside one term of a derivative written term by term (a rotary's angle); a softmax written NumPy's way whose
    backward sums everything where each row's sum belongs."""
    path = tmp_path / "mine.py"
    path.write_text(layer_file(name, forward, backward, weights, made))
    _, report = check_json(capsys, "--batch", "300", "--layers", str(path), "--fix")
    assert report["fix"]["passes"], report["first_mismatch"]
    changed = [line[1:].strip() for line in report["fix"]["diff"].splitlines() if line[:1] == "+" and line[:3] != "+++"]
    assert changed == [fixed], report["fix"]["diff"]


GELU_BY_PARTS = ("        cdf = 0.5 * (1 + torch.erf(inp / 2 ** 0.5))\n"
                 "        pdf = torch.exp(-0.5 * inp ** 2) / (2 * torch.pi) ** 0.5\n"
                 "        inp.g = out.g * (cdf + inp * pdf)")
GATE = "        self.z = torch.sigmoid(inp @ self.w)\n        self.t = torch.tanh(inp)\n        return self.z * self.t"
GATE_BACKWARD = ("        dz = out.g * self.t\n        dt = out.g * self.z\n        dzp = dz * self.z * (1 - self.z)\n"
                 "        self.w.g = inp.t() @ dzp\n        inp.g = dzp @ self.w.t() + dt * (1 - self.t ** 2)")
GATED = "Gate(torch.randn(nh, nh, generator=g) / nh ** 0.5)"


@pytest.mark.parametrize("name, forward, backward, slip, weights, made", [
    ("GELU", "        return torch.nn.functional.gelu(inp)", GELU_BY_PARTS,
     ("cdf = 0.5 * (1 + torch.erf(inp / 2 ** 0.5))", "cdf = 0.5 * torch.erf(inp / 2 ** 0.5)"), (), "GELU()"),
    ("GELU", "        return torch.nn.functional.gelu(inp)", GELU_BY_PARTS,
     ("/ (2 * torch.pi) ** 0.5", "/ (2 * torch.pi)"), (), "GELU()"),
    ("GELU", "        return torch.nn.functional.gelu(inp)", GELU_BY_PARTS, ("-0.5 * inp", "0.5 * inp"), (), "GELU()"),
    ("Gate", GATE, GATE_BACKWARD, ("dz * self.z * (1 - self.z)", "dz * self.z * -self.z"), ("w",), GATED),
    ("Gate", GATE, GATE_BACKWARD, ("dt = out.g * self.z", "dt = out * self.z"), ("w",), GATED),
    ("Scale", "        self.a = torch.tanh(inp)\n        return inp + self.gamma * self.a",
     "        self.gamma.g = (out.g * self.a).sum(0)\n        inp.g = out.g + out.g * self.gamma * (1 - self.a ** 2)",
     ("(out.g * self.a).sum(0)", "out.g.sum(0)"), ("gamma",), "Scale(1 + 0.1 * torch.randn(nh, generator=g))"),
    ("MaxNorm", "        self.m = inp.abs().amax()\n        return inp / self.m",
     "        inp.g = out.g / self.m - (out.g * inp).sum() / self.m ** 2 * (inp.abs() == self.m) * inp.sign()",
     ("(inp.abs() == self.m) * inp.sign()", "inp.sign()"), (), "MaxNorm()"),
    ("LSEGate", "        self.l = torch.logsumexp(inp, 1, keepdim=True)\n        return inp * torch.sigmoid(self.l)",
     "        s = torch.sigmoid(self.l)\n        ds = (out.g * inp).sum(1, keepdim=True) * s * (1 - s)\n"
     "        inp.g = out.g * s + ds * torch.softmax(inp, 1)", ("* s * (1 - s)", "* s * -s"), (), "LSEGate()"),
    ("VarShift", "        return inp + self.lam * inp.var(0, keepdim=True)",
     "        n = inp.shape[0]\n        inp.g = out.g + self.lam * 2 * (inp - inp.mean(0)) / (n - 1) * out.g.sum(0)\n"
     "        self.lam.g = (out.g * inp.var(0)).sum().reshape(self.lam.shape)",
     ("(inp - inp.mean(0))", "inp"), ("lam",), "VarShift(0.3 + 0.1 * torch.randn(1, generator=g))"),
], ids=["a-gelus-1-plus-erf-in-its-own-numbers", "a-gelus-root-of-2-pi-in-torch-pi", "a-gelus-minus-in-its-exp",
        "a-sigmoids-1-minus", "out-for-out-g-in-one-of-two-factors", "a-factor-inside-a-sum", "a-maxs-mask",
        "a-sigmoids-1-minus-of-an-expression-the-code-names", "a-variances-deviation-without-its-mean"])
def test_a_slip_inside_a_derivative_written_in_the_codes_own_pieces_is_mended_there(
        tmp_path, capsys, name, forward, backward, slip, weights, made):
    """A derivative written out in pieces of the code's own (a GELU's `cdf` and `pdf` with `2 ** 0.5` and
    `torch.pi` where gradtui's hint says `math.sqrt(2)` and `math.pi`; a gate's sigmoid and tanh; a gain's
    sum over the batch; the max's mask of a division by the largest |x|; the `1 - s` of a sigmoid the hint
    writes as `torch.sigmoid(self.l)`; a variance's `x - x.mean(0)` without its mean): the one edit of the
    slip is undone in the line it was made in, in the code's own spelling."""
    right, wrong = slip
    assert right in backward
    path = tmp_path / "mine.py"
    init = f"    def __init__(self, *weights):\n        {', '.join(f'self.{w}' for w in weights)}, = weights\n\n" \
        if weights else ""
    path.write_text(LAYER_FILE.format(name=name, init=init, forward=forward, backward=backward.replace(right, wrong),
                                      made=made))
    _, report = check_json(capsys, "--batch", "300", "--layers", str(path), "--fix")
    assert report["fix"]["passes"], report["first_mismatch"]
    removed = [line[1:].strip() for line in report["fix"]["diff"].splitlines() if line[:1] == "-" and line[:3] != "---"]
    assert len(removed) == 1 and wrong in removed[0], report["fix"]["diff"]


CAUCHY_LOSS = '''import torch
from gradtui.layers import Lin, Module, Relu


class Cauchy(Module):
    def forward(self, inp, targ):
        self.d = inp.squeeze(-1) - targ
        return torch.log(1 + (self.d / 0.7) ** 2).mean()

    def bwd(self, out, inp, targ):
        inp.g = ({derivative} / self.d.shape[0]).unsqueeze(-1)


class Model:
    def __init__(self, w1, b1, w2, b2):
        self.layers = [Lin(w1, b1), Relu(), Lin(w2, b2)]
        self.loss = Cauchy()
'''


def test_a_slip_no_search_names_is_named_by_the_one_edit_of_its_line_that_mends_it(tmp_path, capsys, monkeypatch):
    """A loss's derivative written in a closed form of the user's own (`2 d / (0.49 + d²)`, its 0.7² spread
    over the fraction): a power lost in it is no edit of the forward's operations, so no search names it;
    the check tries one edit of the line, runs it, and says the one that mends the gradient, in the
    line's own code and place; nothing is written. Two slips in the line are no one edit: the hint stays
    the honest fallback."""
    path = tmp_path / "cauchy.py"
    path.write_text(CAUCHY_LOSS.format(derivative="2 * self.d / (0.49 + self.d)"))
    before = path.read_text()
    report = gradtui.check(layers=str(path), batch=300)
    assert not report.ok and path.read_text() == before
    assert report.fix.passes and report.fix.edits == 1  # the edit found is the fix: no second search for it
    said = report.first_mismatch.hint
    assert "fits no known slip" not in said, said
    assert ("fits no slip of the forward's operations, but one edit of its line does, run and verified: "
            "`0.49 + self.d ** 2` where `0.49 + self.d` stands in `inp.g = (2 * self.d / (0.49 + self.d) / "
            "self.d.shape[0]).unsqueeze(-1)` (") in said and "cauchy.py:11)" in said, said

    path.write_text(CAUCHY_LOSS.format(derivative="3 * self.d / (0.49 + self.d)"))
    monkeypatch.setattr(fixing, "UNNAMED_CANDIDATES", 40)  # (all of them: no one edit mends two slips; fewer, sooner)
    _, report = check_json(capsys, "--batch", "300", "--layers", str(path))
    assert "fits no known slip; compare the formula" in _first_hint(report)


SQUASH = '''import torch
from gradtui.layers import Lin, Module, Mse, Relu


class Squash(Module):
    def forward(self, inp):
        self.s = (inp ** 2).sum(1, keepdim=True)
        self.n = self.s.sqrt()
        return self.s / (1 + self.s) * inp / self.n

    def bwd(self, out, inp):
        f = self.n / (1 + self.s)
        df = (1 - self.s) / (2 * self.n * (1 + self.s) ** 2)
        inp.g = out.g * f + 2 * inp * df * (out.g * inp).sum(1, keepdim=True)


class Model:
    def __init__(self, w1, b1, w2, b2):
        self.layers = [Lin(w1, b1), Squash(), Relu(), Lin(w2, b2)]
        self.loss = Mse()
'''


@pytest.mark.parametrize("right, wrong, edit", [
    ("(1 + self.s) ** 2)", "(1 - self.s) ** 2)", "`(1 + self.s) ** 2` where `(1 - self.s) ** 2` stands"),  # a sign
    ("(out.g * inp).sum(1", "(out.g * inp).sum(0", "`1` where `0` stands"),  # an axis
], ids=["sign", "axis"])
def test_a_slip_inside_the_users_own_closed_form_is_named_by_the_edit_that_undoes_it(tmp_path, right, wrong, edit):
    """A capsule network's squash, its backward through a closed form of the user's own (`df`, the derivative of
    `n / (1 + s)` by s): a slip inside it is no edit of one forward operation's derivative, so no search names
    it. Where no slip is named, the edit search tries first what undoes the commonest slips of a line (a
    number halved or doubled, an axis, an operator, a sign, the layer's output for its input, a power), within
    its budget; the edit it says is the one it ran."""
    path = tmp_path / "squash.py"
    path.write_text(SQUASH.replace(right, wrong, 1))
    said = gradtui.check(layers=str(path), batch=128).first_mismatch.hint
    assert f"fits no slip of the forward's operations, but one edit of its line does, run and verified: {edit}" in said, said


def test_a_shape_said_alone_gets_the_one_edit_that_mends_it(tmp_path):
    """A weight's gradient of another shape from a matrix product's operands swapped over a batch of tokens,
    which no search names (its hint is the shapes alone): the check says the edit of the line, run."""
    path = tmp_path / "mixer.py"
    path.write_text(layer_file("Mixer", "        self.x = inp.view(-1, 2, inp.shape[1] // 2)\n"
                                        "        return (self.x + self.w @ self.x).reshape(inp.shape)",
                               "        g = out.g.view(-1, 2, inp.shape[1] // 2)\n"
                               "        self.w.g = (self.x.transpose(1, 2) @ g).sum(0)\n"
                               "        inp.g = (g + self.w.t() @ g).reshape(inp.shape)", ("w",),
                               "Mixer(torch.randn(2, 2, generator=g) / 2 ** 0.5)"))
    said = gradtui.check(layers=str(path), batch=300).first_mismatch.hint
    assert said.startswith("mixer1.w.g is (") and "; one edit of its line makes it match, run and verified: " \
        "`self.w.g = (g @ self.x.transpose(1, 2)).sum(0)` where `self.w.g = (self.x.transpose(1, 2) @ g).sum(0)` " \
        "stands (" in said, said


def _first_hint(document: dict) -> str:
    """The hint of a check document's first mismatch."""
    first = document["first_mismatch"]
    step = next(s for s in document["steps"] if s["index"] == first["index"])
    return next(t["hint"] for t in step["tensors"] if t["name"] == first["tensor"])


def test_a_batched_transpose_is_written_as_the_code_writes_it(tmp_path, capsys):
    """A layer on (batch, sequence, features): `.t()` is no transpose of a 3-D tensor, and the fix
    says `.transpose(-2, -1)` as the user's code does."""
    path = tmp_path / "mixer.py"
    path.write_text('''import torch
from gradtui.layers import Lin, Module, Mse


class Mixer(Module):
    def __init__(self, w):
        self.w = w

    def forward(self, inp):
        return inp @ self.w

    def bwd(self, out, inp):
        self.w.g = (out.g.transpose(-2, -1) @ inp).sum(0)
        inp.g = out.g @ self.w.transpose(-2, -1)


class Model:
    def __init__(self, *sizes):
        g = torch.Generator().manual_seed(0)
        self.layers = [Mixer(torch.randn(6, 6, generator=g) / 6 ** 0.5), Lin(torch.randn(6, 1, generator=g), torch.zeros(1))]
        self.loss = Mse()
''')
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(32, 5, 6, generator=g), torch.randn(32, 5, generator=g)
    report = gradtui.check(layers=str(path), x=x, y=y)
    assert report.fix.passes
    added = [line for line in report.fix.diff.splitlines() if line.startswith("+ ")]
    assert len(added) == 1 and added[0].startswith("+        self.w.g = ") and ".transpose(-2, -1)" in added[0]
    assert ".t()" not in added[0] and ".T" not in added[0]


@pytest.mark.parametrize("slip, fixed", [
    ("self.b.g = out.g.mean(0)", "self.b.g = out.g.sum(0)"),
    ("self.w.g = inp.t() @ out.g / inp.shape[0]", "self.w.g = inp.t() @ out.g"),
], ids=["a-mean-for-the-sum", "divided-once-too-often"])
def test_the_fix_is_the_plain_one_not_a_detour_with_the_same_numbers(tmp_path, capsys, slip, fixed):
    """`out.g.sum(0, keepdim=True).mean(0)` and `… / inp.shape[0] * inp.shape[0]` give the same numbers
    and are no fix a person would write: a size is no tensor to edit, a reduction is not summed again,
    and the swap or the removal the hint names comes first."""
    path = tmp_path / "mine.py"
    right = "self.b.g = out.g.sum(0)" if slip.startswith("self.b") else "self.w.g = inp.t() @ out.g"
    path.write_text((SAMPLES / "correct.py").read_text().replace(right, slip))
    _, report = check_json(capsys, "--batch", "300", "--layers", str(path), "--fix")
    assert report["fix"]["passes"]
    assert [line for line in report["fix"]["diff"].splitlines() if line.startswith("+ ")] == [f"+        {fixed}"]


def test_the_softmax_term_the_fix_search_keys_on_is_the_one_the_table_says():
    """_softmax_term is tried only when the hint names softmax's second term in the table's words."""
    import torch

    from gradtui.derivatives import RULES
    from gradtui.fixing import SOFTMAX_SECOND_TERM

    said = [slip.words for slip in RULES[torch.ops.aten._softmax.default].slips if isinstance(slip.words, str)]
    assert any(f"is missing its second term, {SOFTMAX_SECOND_TERM}" in words for words in said)


@pytest.mark.parametrize("name, forward, backward, words, fixed", [
    ("ScaleNorm", "        self.n = inp.norm(dim=-1, keepdim=True)\n        return inp / self.n",
     "        inp.g = out.g - out * (out.g * out).sum(-1, keepdim=True)",
     "l1.g is autograd's times `n` in `self.n = inp.norm(dim=-1, keepdim=True)` (",
     "inp.g = (out.g - out * (out.g * out).sum(-1, keepdim=True)) / self.n"),
    ("ShiftedAbs", "        return (inp - 0.5).abs()", "        inp.g = out.g * torch.sign(inp + 0.5)",
     "reads `inp + 0.5` where `inp - 0.5` belongs", "inp.g = out.g * torch.sign(inp - 0.5)"),
    ("GELU", "        self.t = torch.tanh(0.7978845608 * (inp + 0.044715 * inp ** 3))\n"
             "        return 0.5 * inp * (1 + self.t)",
     "        dt = (1 - self.t ** 2) * 0.7978845608 * (1 + 3 * 0.044715 * inp ** 2)\n"
     "        inp.g = out.g * (0.5 * (1 - self.t) + 0.5 * inp * dt)",
     "reads `1 - self.t` where `1 + self.t` belongs", "inp.g = out.g * (0.5 * (1 + self.t) + 0.5 * inp * dt)"),
    ("Mish", "        self.t = torch.tanh(torch.log(1 + torch.exp(inp)))\n        return inp * self.t",
     "        dsp = torch.sigmoid(out)\n        inp.g = out.g * (self.t + inp * (1 - self.t ** 2) * dsp)",
     "the derivative of `torch.log(1 + torch.exp(inp))` in `self.t = torch.tanh(torch.log(1 + torch.exp(inp)))` (",
     "dsp = torch.sigmoid(inp)"),
    ("BatchNormByHand", "        self.mu = inp.mean(0)\n        self.std = (inp.var(0, unbiased=False) + 1e-5).sqrt()\n"
                        "        self.xhat = (inp - self.mu) / self.std\n        return self.xhat",
     "        n = inp.shape[0]\n        inp.g = n * out.g - out.g.sum(0) - self.xhat * (out.g * self.xhat).sum(0)",
     "l1.g is autograd's times 300 × `std` in `self.std = (inp.var(0, unbiased=False) + 1e-5).sqrt()` (",
     "inp.g = (n * out.g - out.g.sum(0) - self.xhat * (out.g * self.xhat).sum(0)) / (n * self.std)"),
    ("Standardise", "        self.mu = inp.mean(0)\n        self.var = inp.var(0, unbiased=False)\n"
                    "        return (inp - self.mu) / torch.sqrt(self.var + 1e-5)",
     "        n = inp.shape[0]\n        xhat = (inp - self.mu) / torch.sqrt(self.var + 1e-5)\n"
     "        inp.g = (n * out.g - out.g.sum(0) - xhat * (out.g * xhat).sum(0)) / n",
     "l1.g is autograd's times `torch.sqrt(self.var + 1e-5)` in `return (inp - self.mu) / torch.sqrt(self.var + 1e-5)` (",
     "inp.g = (n * out.g - out.g.sum(0) - xhat * (out.g * xhat).sum(0)) / n / torch.sqrt(self.var + 1e-5)"),
    ("LogCosh", "        return torch.log(torch.cosh(inp))", "        inp.g = out.g * torch.tanh(out)",
     "l1.g is the backward read at the layer's output: `out` where `inp` belongs", "inp.g = out.g * torch.tanh(inp)"),
], ids=["a-division-by-a-forward-tensor-left-out", "an-operand-made-again-with-its-sign-flipped",
        "a-term-of-a-factor-made-again-sign-flipped", "a-softplus-by-hand-its-derivative-at-the-output",
        "a-division-by-n-times-a-forward-tensor-left-out", "a-division-by-an-unnamed-expression-left-out",
        "a-closed-form-read-at-the-output"])
def test_a_slip_in_what_a_backward_recomputes_is_named_and_fixed(tmp_path, name, forward, backward, words, fixed):
    """Slips no one edit of the derived backward gives, in code written elsewhere: a closed form's
    `/ n` left out (the gradient is autograd's times a tensor of the forward, named or not), or its
    `/ (n * std)` (N the whole batch's 300, not the search's 256 rows); an operand the
    derivative makes again (`sign(inp + 0.5)` of `(inp - 0.5).abs()`, `1 - t` of `0.5 * inp * (1 +
    t)`); Mish's softplus written as `log(1 + exp(x))`, its derivative sigmoid taken at the output; log cosh's
    `tanh(inp)` read at the output, which no one derivative's edit gives (log's and cosh's both read it).
    Each is named at the forward line, and the fix the hint leads to is verified."""
    path = tmp_path / "mine.py"
    path.write_text(layer_file(name, forward, backward))
    report = gradtui.check(layers=str(path), batch=300)
    hint = report.first_mismatch.hint
    assert report.first_mismatch.tensor == "l1.g" and words in hint, hint
    if name == "Mish":
        assert "uses `out` where `inp` belongs" in hint
    assert report.fix.passes and f"+        {fixed}\n" in report.fix.diff, report.fix.diff


def test_a_scalar_gains_mean_for_its_sum_is_named_as_the_broadcast_it_undoes(tmp_path):
    """A gain of one number multiplies every element: its gradient is the sum over all of them, and
    `.mean()` divides it by their count, said as such (not as a batch size), and counted over the
    whole batch of 300 rows (the search runs on the first 256)."""
    path = tmp_path / "mine.py"
    path.write_text(layer_file("Gain", "        return self.s * inp",
                               "        self.s.g = (out.g * inp).mean().reshape(1)\n        inp.g = out.g * self.s",
                               weights=("s",), made="Gain(torch.full((1,), 1.5))"))
    report = gradtui.check(layers=str(path), batch=300)
    assert report.first_mismatch.tensor == "gain1.s.g"
    assert "is divided by 15000: a mean where the sum over the axes it was broadcast along belongs" in \
        report.first_mismatch.hint
    assert report.fix.passes and "+        self.s.g = (out.g * inp).sum().reshape(1)\n" in report.fix.diff


def test_a_size_over_the_batch_is_said_as_the_run_has_it_not_as_the_searchs_first_rows(tmp_path):
    """The search runs on the first 256 rows; a slip's size over the batch axis is the user's 300."""
    path = tmp_path / "mine.py"
    path.write_text(layer_file("Centre", forward="        return inp - inp.mean(0)",
                               backward="        inp.g = out.g - out.g.sum(0) / (inp.shape[0] - 1)"))
    hint = gradtui.check(layers=str(path), batch=300).first_mismatch.hint
    assert "n/(n−1) × what it should be (Bessel's correction, n = 300)" in hint, hint


RESIDUAL = "        self.h = inp @ self.w\n        return inp + self.h.clamp_min(0.)"
RESIDUAL_BACKWARD = ("        dh = out.g * (self.h > 0)\n        self.w.g = inp.t() @ dh\n"
                     "        inp.g = out.g + dh @ self.w.t()")


BILINEAR = "        self.h = inp @ self.w\n        return self.h * inp"
BILINEAR_BACKWARD = "        self.w.g = inp.t() @ (out.g * inp)\n        inp.g = (out.g * inp) @ self.w.t() + out.g * self.h"
CAUCHY = "        self.d = 1 + inp ** 2\n        return 1 / self.d"
HIGHWAY = ("        self.t = torch.sigmoid(inp @ self.w)\n        self.h = torch.tanh(inp @ self.v)\n"
           "        return self.t * self.h + (1 - self.t) * inp")
HIGHWAY_BACKWARD = ("        dt = out.g * (self.h - inp) * self.t * (1 - self.t)\n"
                    "        dh = out.g * self.t * (1 - self.h ** 2)\n"
                    "        self.w.g = inp.t() @ dt\n        self.v.g = inp.t() @ dh\n"
                    "        inp.g = dt @ self.w.t() + dh @ self.v.t() + out.g * (1 - self.t)")


@pytest.mark.parametrize("name, weights, forward, backward, fixed", [
    ("Residual", ("w",), RESIDUAL, RESIDUAL_BACKWARD.replace("out.g + dh @ self.w.t()", "out.g"),
     "inp.g = out.g + dh @ self.w.t()"),
    ("Residual", ("w",), RESIDUAL, RESIDUAL_BACKWARD.replace("out.g * (self.h > 0)", "out.g"),
     "dh = out.g * (self.h > 0)"),
    ("Residual", ("w",), RESIDUAL, RESIDUAL_BACKWARD.replace("inp.t() @ dh", "dh @ inp.t()"),
     "self.w.g = inp.t() @ dh"),
    ("WeightNorm", ("v",), "        self.n = self.v.norm(dim=0, keepdim=True)\n        self.w = self.v / self.n\n"
                           "        return inp @ self.w",
     "        dw = inp.t() @ out.g\n        self.v.g = dw / self.n\n        inp.g = out.g @ self.w.t()",
     "self.v.g = (dw - self.w * (dw * self.w).sum(0, keepdim=True)) / self.n"),
    ("HardSwish", (), "        self.r = (inp + 3).clamp(0, 6)\n        return inp * self.r / 6",
     "        inside = ((inp > -3) & (inp < 3)).to(inp.dtype)\n        inp.g = out.g * (self.r + inp * inside)",
     "inp.g = out.g * (self.r + inp * inside) / 6"),
    ("Bilinear", ("w",), BILINEAR, BILINEAR_BACKWARD.replace("inp.t() @ (out.g * inp)", "inp.t() @ out.g"),
     "self.w.g = inp.t() @ (out.g * inp)"),
    ("Bilinear", ("w",), BILINEAR, BILINEAR_BACKWARD.replace("(out.g * inp) @", "inp @"),
     "inp.g = (inp * out.g) @ self.w.t() + out.g * self.h"),
    ("Cauchy", (), CAUCHY, "        inp.g = inp * out.g / self.d ** 2", "inp.g = inp * out.g / self.d ** 2 * -2"),
    ("Cauchy", (), CAUCHY, "        inp.g = -2 * inp * out.g", "inp.g = -2 * inp * out.g / self.d ** 2"),
    ("AbsMeanNorm", (), "        self.m = inp.abs().mean(-1, keepdim=True) + 1\n        return inp / self.m",
     "        c = inp.shape[-1]\n        inp.g = out.g / self.m - torch.sign(inp) / c * (out.g * inp).sum(-1, keepdim=True)",
     "inp.g = out.g / self.m - torch.sign(inp) / c * (out.g * inp).sum(-1, keepdim=True) / self.m ** 2"),
    ("SmoothAbs", (), "        return torch.where(inp.abs() < 1, inp ** 2, inp.abs())",
     "        inp.g = out.g * torch.where(inp.abs() < 1, 4 * inp, torch.sign(inp))",
     "inp.g = out.g * torch.where(inp.abs() < 1, 2 * inp, torch.sign(inp))"),
    ("Highway", ("w", "v"), HIGHWAY, HIGHWAY_BACKWARD.replace("dt @ self.w.t() + dh @ self.v.t() + out.g", "out.g"),
     "inp.g = out.g * (1 - self.t) + dt @ self.w.t() + dh @ self.v.t()"),
    ("Highway", ("w", "v"), HIGHWAY, HIGHWAY_BACKWARD.replace(" + out.g * (1 - self.t)", ""),
     "inp.g = dt @ self.w.t() + dh @ self.v.t() + out.g * (1 - self.t)"),
    ("Highway", ("w", "v"), HIGHWAY, HIGHWAY_BACKWARD.replace("out.g * (self.h - inp)", "out.g"),
     "dt = out.g * self.t * (1 - self.t) * (self.h - inp)"),
    ("FSiLU", (), "        return torch.nn.functional.silu(inp)",
     "        s = torch.sigmoid(inp)\n        inp.g = out.g * s * (1 + inp * (1 + s))",
     "inp.g = out.g * s * (1 + inp * (1 - s))"),
    ("FGELU", (), "        return torch.nn.functional.gelu(inp, approximate='tanh')",
     "        k = 0.7978845608028654\n        t = torch.tanh(k * (inp + 0.044715 * inp ** 3))\n"
     "        inp.g = out.g * (0.5 * (1 + t) + 0.5 * inp * (1 - t) * k * (1 + 3 * 0.044715 * inp ** 2))",
     "inp.g = out.g * (0.5 * (1 + t) + 0.5 * inp * (1 - t ** 2) * k * (1 + 3 * 0.044715 * inp ** 2))"),
    ("Lerp", ("w",), "        return torch.lerp(inp, inp @ self.w, 0.25)",
     "        dh = 0.25 * out.g\n        self.w.g = inp.t() @ dh\n        inp.g = out.g + dh @ self.w.t()",
     "inp.g = 0.75 * out.g + dh @ self.w.t()"),
    ("Floor", ("w",), "        self.h = inp @ self.w\n        return torch.maximum(inp, self.h)",
     "        dh = out.g\n        self.w.g = inp.t() @ dh\n        inp.g = out.g * (inp > self.h) + dh @ self.w.t()",
     "dh = out.g * (self.h > inp)"),
    ("ELUFromOut", (), "        self.o = torch.where(inp >= 0, inp, 0.1 * (torch.exp(inp) - 1))\n        return self.o",
     "        inp.g = out.g * torch.where(inp >= 0, 1.0, self.o)", "inp.g = out.g * torch.where(inp >= 0, 1.0, self.o + 0.1)"),
    ("Damped", ("w",), "        self.h = inp @ self.w\n        self.den = 1 + self.h ** 2\n        return inp / self.den",
     "        dden = out.g / self.den ** 2\n        dh = dden * 2 * self.h\n        self.w.g = inp.t() @ dh\n"
     "        inp.g = out.g / self.den + dh @ self.w.t()", "dden = out.g / self.den ** 2 * (-inp)"),
    ("NormScale", (), "        self.n = inp.norm(dim=1, keepdim=True)\n        return inp * self.n",
     "        dn = (out.g * inp).sum(1, keepdim=True)\n        inp.g = out.g * self.n + dn * inp",
     "inp.g = out.g * self.n + dn * inp / self.n"),
], ids=["a-path-through-a-weight-added-back", "a-clamps-mask-multiplied-in", "an-nxn-products-operands-swapped",
        "a-normalisations-projection-added-to-its-numerator", "a-division-by-a-number-put-back",
        "a-factor-inside-a-matrix-products-operand", "the-gradient-from-above-inside-a-matrix-products-operand",
        "minus-a-half-its-sign-and-its-factor", "a-division-by-a-forward-tensors-square-put-back",
        "a-divisors-gradient-divided-by-its-square", "a-constant-doubled-in-a-wheres-branch",
        "the-paths-a-tensor-read-three-times-lost-added-together", "a-path-added-as-the-hint-writes-its-term",
        "a-statements-derivative-towards-one-input-multiplied-in", "a-fused-silus-sign-in-the-codes-own-name",
        "a-fused-gelus-square-put-back", "a-lerps-weight-multiplied-in", "a-maximums-mask-multiplied-in-and-summed-back",
        "an-elus-constant-put-back-in-its-derivative-from-the-output", "a-divisors-gradient-its-minus-numerator-put-back",
        "a-norms-division-put-back"])
def test_a_slip_in_a_layer_with_weights_is_fixed_in_the_codes_own_terms(tmp_path, capsys, name, weights, forward,
                                                                        backward, fixed):
    """Slips of layers gradtui has no entry for, fixed as the hint reads: a residual block's path
    through its weight (`+ dh @ self.w.t()`), the mask of the `clamp_min(0.)` the hint quotes, a
    weight's N×N product put back in order; an L2 normalisation's projection term, put in the
    numerator its closed form divides; a number the hint says the division by is missing; a factor,
    or out.g, missing from a matrix product's operand; "minus 1/2 ×": its sign and its 2 at once; a
    division by a forward tensor's square put back, "`d`**2" as the hint says it; a divisor's gradient
    without its division by the divisor squared; a number doubled inside a call (a where's branch); a
    highway's input gradient with only its skip path (the two through the weights added back in one
    edit), without it (added as the hint writes the term), and its gate's gradient without the
    derivative of the output towards the gate (`self.h - inp`, as the hint writes it); one edit inside
    the derivative of `F.silu` (in the name the code gives the sigmoid, `1 - s`) and of `F.gelu` by tanh
    (its square put back); the derivative of an operation of two tensors left out towards one, multiplied
    in (`torch.lerp`'s weight; `torch.maximum`'s mask, inside the sum a broadcast weight's gradient has); the
    constant of an ELU's derivative written from its output (`out + alpha`) put back; a divisor's gradient
    without its `-a` of `-g * a / b**2`, multiplied in as the hint writes it; a norm's derivative without
    its division by the norm."""
    path = tmp_path / "mine.py"
    path.write_text(layer_file(name, forward, backward, weights))
    _, report = check_json(capsys, "--batch", "300", "--layers", str(path), "--fix")
    assert report["fix"]["passes"], report["first_mismatch"]
    assert f"+        {fixed}\n" in report["fix"]["diff"], report["fix"]["diff"]


RNN = benchmark("any_layer_mutants").LAYERS["RNNLayer"]  # three steps of four features, through time


@pytest.mark.parametrize("right, slip, said", [
    ("da = dh * (1 - self.hs[t] ** 2)", "da = dh * (1 - self.hs[t])", "in each of the 3 passes of its loop"),
    ("da = dh * (1 - self.hs[t] ** 2)", "da = dh * -self.hs[t] ** 2", "in each of the 3 passes of its loop"),
    ("dx.insert(0, da @ self.wx.t())", "dx.insert(0, da @ self.wx)", "in each of the 3 passes of its loop"),
    ("dh = out.g[:, 4 * t:4 * t + 4] + dh_next", "dh = out.g[:, 4 * t:4 * t + 4]",
     "the path through `h @ self.wh` in `h = torch.tanh("),
    ("prev = self.hs[t - 1] if t > 0 else torch.zeros_like(self.hs[0])",
     "prev = self.hs[t] if t > 0 else torch.zeros_like(self.hs[0])",
     "where the pass before's `h` belongs, in each pass after the first"),
], ids=["tanhs-square", "tanhs-one", "a-transpose-in-a-list-of-steps", "the-recurrent-path",
        "the-step-for-the-step-before"])
def test_a_slip_in_a_backward_through_time_is_named_in_every_step_and_fixed_in_the_loop(tmp_path, capsys, right, slip,
                                                                                       said):
    """An RNN of three steps whose backward runs through time: the slip, written once in the loop, is made in
    every step, and said so; its fix is the loop's own line, in the loop's names (`self.hs[t]` for the hint's `h`,
    a step's gradient collected by `dx.insert(0, …)`, the step's `h` for the one before moved a step back, the
    gradient from the step after, computed and never read, added at the top of the loop's body)."""
    path = tmp_path / "rnn.py"
    backward = textwrap.indent(RNN.backward.strip(), " " * 8).replace(right, slip)
    path.write_text(layer_file("RNN", textwrap.indent(RNN.forward.strip(), " " * 8), backward, ("wx", "wh", "b"), made=(
        "RNN(torch.randn(4, 4, generator=g) / 2, torch.randn(4, 4, generator=g) / 2, 0.1 * torch.randn(4, generator=g))")))
    _, report = check_json(capsys, "--batch", "300", "--hidden", "12", "--layers", str(path), "--fix")
    hint = next(t["hint"] for t in report["steps"][report["first_mismatch"]["index"]]["tensors"]
                if t["name"] == report["first_mismatch"]["tensor"])
    assert said in hint, hint
    assert report["fix"]["passes"] and f"+            {right}\n" in report["fix"]["diff"], report["fix"]["diff"]


RBF = "        self.d = inp - self.c\n        return torch.exp(-self.d ** 2 / (2 * self.s ** 2))"
RBF_BACKWARD = ("        e = torch.exp(-self.d ** 2 / (2 * self.s ** 2))\n"
                "        self.c.g = (out.g * e * self.d / self.s ** 2).sum(0)\n"
                "        self.s.g = (out.g * e * self.d ** 2 / self.s ** 3).sum(0)\n"
                "        inp.g = -out.g * e * self.d / self.s ** 2")


@pytest.mark.parametrize("wrong, right", [
    ("(2 * self.s ** 2))", "(2 * self.s))"), ("self.c.g = (out.g * e * self.d / self.s ** 2)", "self.c.g = (out.g * e * "
                                                                                                  "self.d / self.s)")],
    ids=["in-the-exponent-made-again", "in-the-codes-own-closed-form"])
def test_a_power_left_out_where_the_hint_has_it_inside_a_larger_expression_is_put_back(tmp_path, capsys, wrong, right):
    """A radial basis function whose backward makes exp's value again with `2 * self.s` for `2 * self.s ** 2`
    in its exponent; or writes `self.d / self.s` where the hint, in the forward's terms, says "reads
    `2 * self.s` where `2 * self.s ** 2` belongs": the part that differs, `self.s ** 2`, is put back."""
    path = tmp_path / "mine.py"
    made = "RBF(0.1 * torch.randn(nh, generator=g), 1 + 0.1 * torch.randn(nh, generator=g))"
    init = "    def __init__(self, c, s):\n        self.c, self.s = c, s\n\n"
    path.write_text(LAYER_FILE.format(name="RBF", init=init, forward=RBF, backward=RBF_BACKWARD.replace(wrong, right, 1),
                                      made=made))
    _, report = check_json(capsys, "--batch", "200", "--layers", str(path), "--fix")
    first = report["first_mismatch"]
    hint = next(t["hint"] for t in report["steps"][first["index"]]["tensors"] if t["name"] == first["tensor"])
    assert "where `2 * self.s ** 2` belongs" in hint or "where `torch.exp(-self.d ** 2 / (2 * self.s ** 2))` belongs" in hint
    assert report["fix"]["passes"], report["first_mismatch"]
    fixed = next(line for line in RBF_BACKWARD.splitlines() if wrong in line).strip()
    assert f"+        {fixed}\n" in report["fix"]["diff"], report["fix"]["diff"]


LIN = '''import torch

from gradtui.layers import Module


class Lin(Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
{forward}

    def bwd(self, out, inp):
{backward}
'''
RIGHT_LIN_FORWARD = "        return inp @ self.w + self.b"


@pytest.mark.parametrize("forward, backward, options, removed, added", [
    (RIGHT_LIN_FORWARD, "        inp.g = out.g @ self.w.t()\n        self.w.g = inp.t() @ out.g\n        return inp.g", (),
     [], ["        self.b.g = out.g.sum(0)"]),
    (RIGHT_LIN_FORWARD, "        self.w.g = inp.t() @ out.g\n        self.b.g = out.g.sum(0)\n"
                        "        self.w.data -= 0.1 * self.w.g\n        inp.g = out.g @ self.w.t()", (),
     ["        inp.g = out.g @ self.w.t()"], ["        inp.g = out.g @ self.w.t()"]),
    ("        return torch.matmul(inp, self.w)",
     "        inp.g = out.g @ self.w.t()\n        self.w.g = inp.t() @ out.g\n        self.b.g = out.g.sum(0)",
     ("--init", "random"),
     ["        return torch.matmul(inp, self.w)"], ["        return torch.matmul(inp, self.w) + self.b"]),
], ids=["a-gradient-never-set-gets-its-line-before-the-return", "an-update-through-data-moves-after-the-gradients",
        "a-bias-the-forward-leaves-out-is-put-back"])
def test_a_slip_that_is_a_statement_is_fixed_by_a_statement(tmp_path, capsys, forward, backward, options, removed,
                                                             added):
    path = tmp_path / "lin.py"
    path.write_text(LIN.format(forward=forward, backward=backward))
    _, report = check_json(capsys, "--batch", "200", "--layers", str(path), *options, "--fix")
    diff = report["fix"]["diff"].splitlines()
    assert report["fix"]["passes"] and report["fix"]["edits"] == 1
    assert [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")] == removed
    assert [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")] == added
    if "return inp.g" in backward:  # the line added goes before the method's return
        assert diff.index("+        self.b.g = out.g.sum(0)") < diff.index("         return inp.g")


def test_a_forward_computed_in_place_is_made_out_of_place_each_statement_bound(tmp_path, capsys):
    path = tmp_path / "relu.py"
    path.write_text("from gradtui.layers import Module\n\n\nclass Relu(Module):\n    def forward(self, inp):\n"
                    "        inp.clamp_(min=0.)\n        return inp.sub_(0.5)\n\n    def bwd(self, out, inp):\n"
                    "        inp.g = (inp > 0).float() * out.g\n")
    _, report = check_json(capsys, "--batch", "200", "--layers", str(path), "--fix")
    assert report["fix"]["passes"]
    assert "+        inp = inp.clamp(min=0.)\n+        return inp.sub(0.5)\n" in report["fix"]["diff"]


def test_a_gradient_never_set_in_a_layer_gradtui_does_not_know_gets_no_line(tmp_path, capsys):
    """No formula to add: the hint stays, and no edit is tried."""
    path = tmp_path / "swish.py"
    path.write_text(layer_file("Swish", "        self.s = torch.sigmoid(inp)\n        return inp * self.s",
                               "        ds = self.s * (1 - self.s)"))
    _, report = check_json(capsys, "--batch", "200", "--layers", str(path), "--fix")
    assert report["first_mismatch"]["tensor"] == "l1.g" and not report["fix"]["verified"]


def test_a_second_paths_gradient_assigned_where_it_must_add_becomes_plus_equals(tmp_path, capsys):
    path = tmp_path / "silu.py"
    path.write_text(layer_file("SiLU", "        self.s = torch.sigmoid(inp)\n        return inp * self.s",
                               "        dinp = out.g * self.s\n        dinp = out.g * inp * self.s * (1 - self.s)\n"
                               "        inp.g = dinp"))
    _, report = check_json(capsys, "--batch", "200", "--layers", str(path), "--fix")
    assert report["fix"]["passes"]
    assert "+        dinp += out.g * inp * self.s * (1 - self.s)" in report["fix"]["diff"].splitlines()


def test_a_size_of_the_other_axis_is_the_size_it_names(tmp_path, capsys):
    """"divided by inp.shape[1] = 10 where N = inp.shape[0] = 64 belongs": that index, not a factor."""
    path = tmp_path / "ce.py"
    path.write_text("import torch\n\nfrom gradtui.layers import Module\n\n\nclass CrossEntropy(Module):\n"
                    "    def forward(self, inp, targ):\n"
                    "        return -inp.log_softmax(1).gather(1, targ.unsqueeze(1)).mean()\n\n"
                    "    def bwd(self, out, inp, targ):\n        sm = inp.softmax(1)\n"
                    "        one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0)\n"
                    "        inp.g = (sm - one_hot) / inp.shape[1]\n")
    _, report = check_json(capsys, "--batch", "64", "--net", "lin,relu,lin,cross_entropy", "--layers", str(path), "--fix")
    assert report["fix"]["passes"] and "+        inp.g = (sm - one_hot) / inp.shape[0]" in report["fix"]["diff"].splitlines()


def test_a_square_root_the_hint_says_belongs_is_put_back_as_the_code_writes_it(tmp_path, capsys):
    """"a division by `var + eps` where `std` belongs": `torch.sqrt(var + eps)`, as the method's other
    lines write it, tried before the hint's other kinds."""
    path = tmp_path / "staged.py"
    right = "x.g = dx_norm / torch.sqrt(var + eps) + dvar * 2 * (x - mu) / n + dmu / n"
    path.write_text((SAMPLES / "batchnorm_staged.py").read_text().replace(right, right.replace("torch.sqrt(var + eps)",
                                                                                               "(var + eps)")))
    _, report = check_json(capsys, "--net", "lin,batchnorm,tanh,lin,mse", "--batch", "200", "--layers", str(path), "--fix")
    assert report["fix"]["passes"] and f"+        {right}" in report["fix"]["diff"].splitlines()


def test_a_slip_too_small_to_fail_where_it_is_made_is_mended_there(tmp_path, capsys):
    """The exercise's 1/n for Bessel's 1/(n − 1): at a batch of 1000 its batch norm step still matches
    in float32 and the weight below fails. The fix is searched where the float64 check on the first
    rows names it, in the batch norm's own backward, with the batch as the method names it (`n` of
    `n, dhpreact = self.hprebn.shape[0], …`, not a parameter's first dimension)."""
    path = tmp_path / "exercise.py"
    path.write_text((SAMPLES / "backprop_exercise_steps.py").read_text().replace(
        "dbndiff2 = (1.0 / (n - 1))", "dbndiff2 = (1.0 / n)"))
    _, report = check_json(capsys, "--net", "lin,batchnorm,tanh,lin,cross_entropy", "--batch", "1000",
                           "--layers", str(path), "--fix")
    assert report["first_mismatch"]["tensor"] == "w1.g", report["first_mismatch"]
    assert report["fix"]["passes"], report["fix"]
    assert "(n / (n - 1))" in report["fix"]["diff"] and "shape[0] /" not in report["fix"]["diff"]


def test_a_step_that_runs_out_of_memory_on_every_row_is_fixed_from_what_its_first_rows_show(tmp_path, capsys,
                                                                                             monkeypatch):
    """At the default 50,000 rows an N×N gradient is 10 GB: the step raises. On the first rows it is a
    gradient of the wrong shape, and the search starts there: its edits are screened on those rows, and
    only the one that passes them is run on every row (each run of a wrong edit at 50,000 rows would
    try its 10 GB again)."""
    path = tmp_path / "mse.py"
    path.write_text((SAMPLES / "mse_no_squeeze.py").read_text() + (
        "        if inp.g.numel() > 10**6:  # this machine's memory, at 2,000 rows\n"
        "            raise RuntimeError(\"DefaultCPUAllocator: can't allocate memory\")\n"))
    every_row = []
    run_check = fixing.run_check
    monkeypatch.setattr(fixing, "run_check", lambda config, *args, **kwargs: (
        every_row.append(config.batch) if config.batch == 2000 else None, run_check(config, *args, **kwargs))[1])
    _, report = check_json(capsys, "--batch", "2000", "--layers", str(path), "--fix")
    assert report["first_mismatch"] == {"index": 4, "layer": "mse", "tensor": None}
    assert report["fix"]["passes"] and "+        inp.g = 2 * (inp.squeeze(-1) - targ).unsqueeze(-1)" in report["fix"]["diff"]
    assert len(every_row) <= 2, every_row  # the edit's own check, and its replay's


def test_an_operator_flipped_in_an_expression_over_several_lines_is_fixed_on_its_own_line(tmp_path, capsys):
    """A from-scratch library's batch norm backward writes its one expression a term a line; its sign
    slip is one character, and the fix changes that line alone, its layout as it was."""
    path = tmp_path / "bn.py"
    path.write_text('''import torch

class BatchNorm:
    def __init__(self, g, b): self.gamma, self.beta = g, b
    def __call__(self, X):
        self.X, mean, var = X, X.mean(0), X.var(0, unbiased=False)
        self.X_centered = X - mean
        self.stddev_inv = 1 / torch.sqrt(var + 1e-5)
        self.out = self.gamma * (self.X_centered * self.stddev_inv) + self.beta
        return self.out
    def backward(self):
        accum_grad, batch_size = self.out.g, self.out.g.shape[0]
        self.gamma.g = (accum_grad * self.X_centered * self.stddev_inv).sum(0)
        self.beta.g = accum_grad.sum(0)
        self.X.g = (1 / batch_size) * self.gamma * self.stddev_inv * (
            batch_size * accum_grad
            - accum_grad.sum(0)
            + self.X_centered * self.stddev_inv**2 * (accum_grad * self.X_centered).sum(0)
            )
''')
    _, report = check_json(capsys, "--batch", "64", "--net", "lin,batchnorm,relu,lin,mse", "--layers", str(path), "--fix")
    assert report["fix"]["passes"], report["first_mismatch"]
    changed = [line for line in report["fix"]["diff"].splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == ["-            + self.X_centered * self.stddev_inv**2 * (accum_grad * self.X_centered).sum(0)",
                       "+            - self.X_centered * self.stddev_inv**2 * (accum_grad * self.X_centered).sum(0)"]


def test_a_factor_left_out_of_torch_sum_goes_back_inside_it(tmp_path, capsys):
    """A batch norm staged a value a line (a well-known walk through its backward), its sums written
    `torch.sum(x, 0)`: the factor the hint names goes inside the sum, in the code's own form."""
    forward = """        N, D = inp.shape
        mu = 1. / N * torch.sum(inp, 0)
        self.xmu = inp - mu
        self.var = 1. / N * torch.sum(self.xmu ** 2, 0)
        self.sqrtvar = torch.sqrt(self.var + 1e-5)
        self.ivar = 1. / self.sqrtvar
        self.xhat = self.xmu * self.ivar
        return self.g * self.xhat + self.b"""
    backward = """        N = out.g.shape[0]
        self.b.g = torch.sum(out.g, 0)
        self.g.g = torch.sum(out.g * self.xhat, 0)
        dxhat = out.g * self.g
        divar = torch.sum(dxhat, 0)
        dxmu1 = dxhat * self.ivar
        dsqrtvar = -1. / (self.sqrtvar ** 2) * divar
        dvar = 0.5 * 1. / torch.sqrt(self.var + 1e-5) * dsqrtvar
        dxmu2 = 2 * self.xmu * dvar / N
        dmu = -1 * torch.sum(dxmu1 + dxmu2, 0)
        inp.g = dxmu1 + dxmu2 + dmu / N"""
    path = tmp_path / "staged.py"
    path.write_text(layer_file("StagedBN", forward, backward, made="StagedBN(1 + 0.1 * torch.randn(nh, generator=g), "
                                                                  "0.1 * torch.randn(nh, generator=g))").replace(
        "class StagedBN(Module):\n", "class StagedBN(Module):\n    def __init__(self, g, b): self.g, self.b = g, b\n\n"))
    _, report = check_json(capsys, "--batch", "64", "--layers", str(path), "--fix")
    assert report["fix"]["passes"], report["first_mismatch"]
    assert "+        divar = torch.sum(dxhat * self.xmu, 0)\n" in report["fix"]["diff"], report["fix"]["diff"]


VAR_SHIFT = "        return inp + self.lam * inp.var(0, keepdim=True)"
VAR_SHIFT_BACKWARD = ("        n = inp.shape[0]\n"
                      "        inp.g = out.g + self.lam * 2 * (inp - inp.mean(0)) / (n - 1) * out.g.sum(0)\n"
                      "        self.lam.g = (out.g * inp.var(0)).sum().reshape(self.lam.shape)")


@pytest.mark.parametrize("slip, fixed", [
    (("(inp - inp.mean(0))", "-inp.mean(0)"), "(inp - inp.mean(0))"),
    (("(inp - inp.mean(0))", "(inp - inp)"), "(inp - inp.mean(0, keepdim=True))"),
    ((" * (inp - inp.mean(0))", ""), "* (inp - inp.mean(0, keepdim=True))"),
    ((" / (n - 1)", ""), "/ (n - 1)"),
    ((" * out.g.sum(0)", ""), "* out.g.sum(0, keepdim=True)"),
], ids=["the-x-of-its-deviation-left-out", "its-mean-left-out-x-minus-x", "its-deviation-left-out",
        "its-count-left-out", "the-gradient-from-above-summed-left-out"])
def test_a_variances_slip_written_inline_is_mended_in_the_forwards_own_operand_and_axes(tmp_path, slip, fixed):
    """A variance's derivative written out inline, `2 * (inp - inp.mean(0)) / (n - 1)`, whose hint says
    its slip in the table's words (x, x.mean(), the count 63): the fix writes it with the forward's own
    operand, axes and sizes (`inp`, 0, `n - 1` of `n = inp.shape[0]`), and a gradient from above that
    the statistic sums over the rows it spreads to."""
    path = tmp_path / "mine.py"
    path.write_text(layer_file("VarShift", VAR_SHIFT, VAR_SHIFT_BACKWARD.replace(*slip, 1), weights=("lam",),
                               made="VarShift(torch.full((1,), 0.3))"))
    report = gradtui.check(layers=str(path), batch=64)
    assert report.first_mismatch.tensor == "l1.g", report.first_mismatch
    assert report.fix is not None and report.fix.passes, report.first_mismatch.hint
    added = [line for line in report.fix.diff.splitlines() if line.startswith("+ ")]
    assert len(added) == 1 and fixed in added[0], report.fix.diff


def test_a_loops_counter_and_a_module_are_never_taken_for_tensors_by_the_search(tmp_path):
    """`for j in range(3)` binds a number, and `torch.nn.functional` is a module: no edit renames either
    (one that put `torch.nn.functional` for `j` would assign the module in the trial, for the whole process)."""
    path = tmp_path / "mine.py"
    backward = ("        g = out.g.unsqueeze(1)\n"
                "        inp.g = torch.nn.functional.conv_transpose1d(g, self.k.view(1, 1, 3), padding=1).squeeze(1)\n"
                "        xp = torch.nn.functional.pad(inp, (1, 1))\n"
                "        self.k.g = torch.stack([(out.g * xp[:, j:j + inp.shape[1]]).mean() for j in range(3)])")
    path.write_text(layer_file("Conv", "        return torch.nn.functional.conv1d(inp.unsqueeze(1), self.k.view(1, 1, 3), "
                                       "padding=1).squeeze(1)", backward, weights=("k",),
                               made="Conv(torch.tensor([0.3, 0.9, -0.4]))"))
    report = gradtui.check(layers=str(path), batch=64)
    assert report.first_mismatch.tensor == "conv1.k.g"
    assert report.fix.passes and "for j in range(3)])" in report.fix.diff
    assert callable(torch.nn.functional.gelu)
