"""`from gradtui import cmp`: the backprop-ninja notebook's helper, each gradient judged where it was
written. The notebook runs as Jupyter runs it (benchmarks/ninja_slips.py drives IPython); scripts
run as Python runs them."""

import importlib.util
import os
import re
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, benchmark

needs_ipython = pytest.mark.skipif(importlib.util.find_spec("IPython") is None, reason="the notebook runs in IPython")

ninja = benchmark("ninja_slips")


# -- the notebook -------------------------------------------------------------------------------------

@needs_ipython
def test_the_notebook_runs_top_to_bottom_with_only_its_cmp_replaced_and_every_line_matches():
    run = ninja.run_notebook(ninja.NOTEBOOK, until=None)
    assert run.error is None, run.error
    assert len(run.compared) == 28  # exercise 1's 26, then exercises 2 and 3
    assert all(judgement.ok and judgement.hint is None and not judgement.here for _, judgement in run.compared)
    # the notebook's own columns (whether bnmeani is exact depends on the CPU's rounding)
    assert re.search(r"^bnmeani         \| exact: (True |False) \| approximate: True  \| maxdiff: [0-9.e-]+$", run.output, re.M)
    assert "note: (32,) where the tensor is (1, 32): judged by value" in run.output  # its (32,) dbnmeani is right
    assert " 40: " in run.output  # exercise 4 trained on


@needs_ipython
@pytest.mark.skipif(not os.environ.get("GRADTUI_NINJA_NOTEBOOK"), reason="set GRADTUI_NINJA_NOTEBOOK to the path of "
                    "makemore_part4_backprop.ipynb (karpathy/nn-zero-to-hero) to run it as written")
def test_the_lesson_notebook_as_written():
    run = ninja.run_notebook(Path(os.environ["GRADTUI_NINJA_NOTEBOOK"]))
    assert run.error is None, run.error
    assert len(run.compared) >= 26 and all(judgement.ok for _, judgement in run.compared), run.output


SOME = ninja.SLIPS[::8]  # (the whole corpus is benchmarks/ninja_slips.py's)


@needs_ipython
@pytest.mark.parametrize("slip", SOME, ids=[f"{slip.at}-{i}" for i, slip in enumerate(SOME)])
def test_a_slip_is_flagged_at_its_own_line_only_and_named(slip):
    outcome = ninja.judge(slip)
    assert outcome.error is None, outcome.error
    assert outcome.blamed == (slip.at,), outcome.said
    assert any(words in outcome.said for words in slip.words.split(" | ")), outcome.said


@needs_ipython
def test_a_factor_of_the_forward_too_many_is_named_as_that_tensor():
    """`dcounts * counts * counts`: no one edit of exp's derivative, but what the line's dcounts give
    times `counts`, a tensor of the forward, said with the line that makes it."""
    slip = next(s for s in ninja.SLIPS if s.new == "dnorm_logits = dcounts * counts * counts")
    outcome = ninja.judge(slip)
    assert outcome.blamed == (slip.at,), outcome.said
    assert "dnorm_logits is what your dcounts give times `counts` in `counts = norm_logits.exp()` (" in outcome.said
    assert "a factor `counts` too many, or a division by `counts` left out" in outcome.said


@needs_ipython
@pytest.mark.parametrize("new", ["dprobs = logprobs / probs", "dbngain = bnraw.sum(0, keepdim=True)",
                                 "dhprebn = bngain * bnvar_inv / n * (n - dhpreact.sum(0) - n / (n - 1) * bnraw * "
                                 "(bnraw * dhpreact).sum(0))"])
def test_a_slip_of_a_kind_a_generated_corpus_has_is_named_and_its_line_corrected(new):
    """A value taken for its gradient (`logprobs` for dlogprobs); a sum that cancels to 0 but for its
    float32 rounding (`bnraw.sum(0)`, dhpreact left out); a closed form's factor dropped, which no one
    derivative's slip gives, said by the one edit of the line that mends it, run."""
    slip = next(s for s in ninja.SLIPS if s.new == new)
    outcome = ninja.judge(slip)
    assert outcome.blamed == (slip.at,), outcome.said
    assert slip.words in outcome.said and ninja.FALLBACK not in outcome.said, outcome.said
    assert outcome.corrected == slip.line.replace("dhpreact * bnraw", "bnraw * dhpreact"), outcome.corrected


def _digits_aside(line: str) -> str:
    """A maxdiff's last digits are the build's: another torch rounds a float32 sum another way."""
    return re.sub(r"maxdiff: [0-9.e+-]+", "maxdiff: <number>", line.rstrip())


@needs_ipython
def test_the_readme_shows_the_notebook_before_and_after_as_they_print():
    readme = (ROOT / "README.md").read_text()
    before, after = ninja.before_and_after()
    for marker, printed in (("ninja-before", before), ("ninja-after", after)):
        shown = readme.split(f"<!-- {marker} -->", 1)[1].split("```", 2)[1].splitlines()[1:]
        printed = [_digits_aside(line) for line in printed]
        chunks = [[]]
        for line in shown:
            if line.strip() == "...":
                chunks.append([])
            else:
                chunks[-1].append(_digits_aside(line))
        position = 0
        for chunk in filter(None, chunks):
            found = next((i for i in range(position, len(printed)) if printed[i:i + len(chunk)] == chunk), None)
            assert found is not None, f"{marker}: {chunk[0]!r} not printed in that order:\n" + "\n".join(printed)
            position = found + len(chunk)


@needs_ipython
def test_the_cells_of_a_session_reset_are_not_read_again():
    """IPython's linecache keeps every cell of the process, those of a session reset too (a notebook run
    again from the top in the same kernel): only this session's are where the caller's statements are,
    in the order they last ran."""
    from gradtui.handwritten import source_files

    shell = ninja._shell()
    shell.reset(new_session=True)
    for code in ("dprobs = 1", "dprobs = 2"):
        shell.run_cell(code, store_history=True)
    before = [name for name in source_files("mine.py") if name.startswith("<ipython-input-")]
    shell.reset(new_session=True)
    shell.run_cell("dprobs = 1", store_history=True)  # In [1] again: the same cell name as the first session's
    cells = [name for name in source_files("mine.py") if name.startswith("<ipython-input-")]
    assert cells == before[:1] and before[1] not in cells, (before, cells)


# -- a script, as Python runs it ----------------------------------------------------------------------

FORWARD = """
import torch
import torch.nn.functional as F
from gradtui import cmp

g = torch.Generator().manual_seed(0)
n, vocab, width = 8, 5, 4
C = torch.randn(vocab, width, generator=g, requires_grad=True)
W = torch.randn(2 * width, vocab, generator=g, requires_grad=True)
X = torch.randint(0, vocab, (n, 2), generator=g)
Y = torch.randint(0, vocab, (n,), generator=g)

emb = C[X]
flat = emb.view(n, -1)
logits = flat @ W
probs = F.softmax(logits, 1)
logprobs = probs.log()
loss = -logprobs.gather(1, Y[:, None]).mean()
for t in (emb, flat, logits, probs, logprobs):
    t.retain_grad()
loss.backward()

dlogprobs = torch.zeros_like(logprobs)
dlogprobs[torch.arange(n), Y] = -1.0 / n
dprobs = dlogprobs / probs
dlogits = probs * (dprobs - (dprobs * probs).sum(1, keepdim=True))
dflat = dlogits @ W.T
dW = flat.T @ dlogits
demb = dflat.view(emb.shape)
dC = torch.zeros_like(C).index_add_(0, X.view(-1), demb.view(-1, width))
"""

CALLS = """
results = [cmp('logprobs', dlogprobs, logprobs), cmp('probs', dprobs, probs), cmp('logits', dlogits, logits),
           cmp('flat', dflat, flat), cmp('W', dW, W), cmp('emb', demb, emb), cmp('C', dC, C)]
"""


def run_script(tmp_path, code: str) -> dict:
    """The script run as `python script.py` would run it (its own file, its own globals)."""
    import runpy

    import gradtui.compared

    gradtui.compared.cmp.notebook.__init__()
    path = tmp_path / "backprop.py"
    path.write_text(textwrap.dedent(code))
    return runpy.run_path(str(path), run_name="__main__")


def test_a_script_of_right_gradients_prints_the_notebooks_line_and_each_result_is_ok(tmp_path, capsys):
    namespace = run_script(tmp_path, FORWARD + CALLS)
    results = namespace["results"]
    assert [r.ok for r in results] == [True] * 7 and not any(r.here for r in results)
    assert all(r.hint is None for r in results)
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("logprobs        | exact: ") and "| maxdiff: " in out
    assert "✗" not in out and "↑" not in out


def test_the_slip_is_here_and_named_and_the_lines_computed_from_it_say_where_it_is(tmp_path, capsys):
    slipped = FORWARD.replace("dprobs = dlogprobs / probs", "dprobs = dlogprobs * probs")
    results = run_script(tmp_path, slipped + CALLS)["results"]
    probs, logits, *below = results[1:]
    assert not probs.ok and probs.here
    assert "multiplies by `probs` where the derivative of log divides" in probs.hint
    assert probs.fix == "dprobs = dlogprobs / probs"  # the line corrected, and run: it gives what it must
    assert logits.fix is None  # nothing to correct on a line right given its inputs
    assert probs.at == (str(tmp_path / "backprop.py"), 17)  # logprobs = probs.log()
    assert not logits.ok and not logits.here and logits.upstream == ("probs",)
    assert logits.hint == "right given your dprobs; the slip is upstream, at probs"
    assert all(not r.here and r.upstream == ("probs",) for r in below)
    out = capsys.readouterr().out
    assert "                  ✗ dprobs: the derivative of `logprobs = probs.log()`" in out
    assert "                  ↑ right given your dlogits; the slip is upstream, at probs" in out


def test_a_gradient_through_the_embedding_that_overwrites_is_named(tmp_path):
    slipped = FORWARD.replace("dC = torch.zeros_like(C).index_add_(0, X.view(-1), demb.view(-1, width))",
                              "dC = torch.zeros_like(C)\ndC[X.view(-1)] = demb.view(-1, width)")
    results = run_script(tmp_path, slipped + CALLS)["results"]
    assert [r.here for r in results] == [False] * 6 + [True]
    assert "a row used twice in the batch must add up its gradients, not be overwritten" in results[-1].hint
    assert results[-1].fix == "dC.index_put_((X.view(-1),), demb.view(-1, width), accumulate=True)"


@pytest.mark.parametrize("slip, fixed", [
    ("dlogprobs[torch.arange(n), Y] = -1.0", "dlogprobs[torch.arange(n), Y] = -1.0 / n"),
    ("dC = torch.zeros_like(C)\nfor i, ix in enumerate(X.view(-1)):\n    dC[ix] = demb.view(-1, width)[i]",
     "dC[ix] += demb.view(-1, width)[i]"),
], ids=["written-into-by-index", "written-in-a-loop"])
def test_a_gradient_written_in_place_after_its_line_is_corrected_there(tmp_path, slip, fixed):
    """The line that names the gradient (`dlogprobs = torch.zeros_like(logprobs)`) is right; the
    slip is in a statement after it that writes into it: that one is corrected, and run with it."""
    right = {"dlogprobs": "dlogprobs[torch.arange(n), Y] = -1.0 / n",
             "dC": "dC = torch.zeros_like(C).index_add_(0, X.view(-1), demb.view(-1, width))"}[slip[:slip.index("[") if
                                                                                              slip.startswith("dlog") else 2]]
    results = run_script(tmp_path, FORWARD.replace(right, slip) + CALLS)["results"]
    slipped = next(r for r in results if r.here)
    assert slipped.fix == fixed


@pytest.mark.parametrize("right, slip, fixed", [
    ("dprobs = dlogprobs / probs", "dprobs = 1 / probs", "dprobs = 1 / probs * dlogprobs"),
    ("dC = torch.zeros_like(C).index_add_(0, X.view(-1), demb.view(-1, width))",
     "dC = torch.zeros_like(C)\ndC.index_add_(0, X.view(-1), demb.view(-1, width) / n)",
     "dC.index_add_(0, X.view(-1), demb.view(-1, width))"),
    ("dlogprobs[torch.arange(n), Y] = -1.0 / n", "dlogprobs[torch.arange(n), Y] += 1.0 / n",
     "dlogprobs[torch.arange(n), Y] -= 1.0 / n"),
    ("dflat = dlogits @ W.T", "dflat = dlogits @ W.T\ndflat = dflat / (n - 1)", "dflat = dflat"),
    ("dlogits = probs * (dprobs - (dprobs * probs).sum(1, keepdim=True))",
     "dlogits = F.softmax(logits, 1)\ndlogits[torch.arange(n), Y] += 1\ndlogits /= n", "dlogits[torch.arange(n), Y] -= 1"),
], ids=["the-gradient-from-above-a-name-compared-before", "a-call-that-writes-in-place", "an-augmented-sign",
        "a-line-that-makes-it-again-from-itself", "the-middle-of-three-lines"])
def test_a_slip_in_a_line_of_the_gradients_making_is_corrected(tmp_path, right, slip, fixed):
    results = run_script(tmp_path, FORWARD.replace(right, slip) + CALLS)["results"]
    slipped = next(r for r in results if r.here)
    assert slipped.fix == fixed, slipped.hint


def test_calls_in_any_order_are_judged_again_by_the_summary(tmp_path, capsys):
    slipped = FORWARD.replace("dprobs = dlogprobs / probs", "dprobs = dlogprobs * probs")
    bottom_up = """
results = [cmp('logits', dlogits, logits), cmp('probs', dprobs, probs), cmp('logprobs', dlogprobs, logprobs)]
"""
    namespace = run_script(tmp_path, slipped + bottom_up)
    assert namespace["results"][0].here  # compared first, before the line above it: blamed at the time
    capsys.readouterr()
    summary = namespace["cmp"].summary()
    assert [(c.label, c.mark) for c in summary] == [("logits", "↑"), ("probs", "✗"), ("logprobs", "✓")]
    out = capsys.readouterr().out
    assert "cmp: 3 compared in this pass: 1 ✓, 1 ✗, 1 ↑" in out
    assert "the first slip: probs, in dprobs (" in out


def test_a_new_forward_pass_forgets_the_gradients_compared_before(tmp_path):
    slipped = FORWARD.replace("dprobs = dlogprobs / probs", "dprobs = dlogprobs * probs")
    again = CALLS + "\n" + FORWARD.split("from gradtui import cmp")[1].replace("manual_seed(0)", "manual_seed(1)") + """
second = cmp('logits', dlogits, logits)
"""
    namespace = run_script(tmp_path, slipped + again)
    assert namespace["results"][2].upstream == ("probs",)
    second = namespace["second"]
    assert second.ok and not second.here  # the new pass's right dlogits, judged without the old dprobs
    assert [c.label for c in namespace["cmp"].summary()] == ["logits"]


def test_a_gradient_that_differs_in_size_one_dimensions_is_judged_by_value(tmp_path, capsys):
    code = FORWARD + """
dW_flat = dW.reshape(1, *dW.shape)
result = cmp('W', dW_flat, W)
"""
    result = run_script(tmp_path, code)["result"]
    assert result.ok and result.note == "(1, 8, 5) where the tensor is (8, 5): judged by value"
    assert "note: (1, 8, 5) where the tensor is (8, 5)" in capsys.readouterr().out


def test_a_gradient_that_does_not_broadcast_is_a_finding_not_a_crash(tmp_path, capsys):
    code = FORWARD + """
result = cmp('W', dW.T, W)
"""
    result = run_script(tmp_path, code)["result"]
    assert not result.ok and result.here and result.maxdiff is None
    assert "transposed" in result.hint
    assert "maxdiff: (shapes do not broadcast)" in capsys.readouterr().out


def test_a_tensor_whose_forward_is_out_of_reach_is_still_compared_with_autograd(tmp_path):
    code = FORWARD + """
def hidden():
    x = torch.randn(3, requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    return x
x = hidden()
result = cmp('x', torch.ones(3), x)
"""
    result = run_script(tmp_path, code)["result"]
    assert not result.ok and result.here
    assert result.hint.startswith("dx is not autograd's gradient; gradtui cannot place the slip")


def test_a_wrong_gradient_held_under_two_names_says_it_was_changed_in_place(tmp_path):
    slipped = FORWARD.replace("dflat = dlogits @ W.T", "dflat = dlogits @ W.T\ndlogits2 = dlogits\ndlogits2 *= 2")
    results = run_script(tmp_path, slipped + CALLS)["results"]
    logits = results[2]
    assert not logits.ok and not logits.here
    assert "dlogits is the very tensor dlogits2 is (`dlogits2 = dlogits` copies nothing)" in logits.hint


@needs_ipython
def test_a_cell_that_ends_in_cmp_shows_it_once(capsys):
    shell = ninja._shell()
    shell.reset(new_session=True)
    import gradtui.compared

    gradtui.compared.cmp.notebook.__init__()
    for cell in (FORWARD, "cmp('W', dW, W)"):
        assert shell.run_cell(cell, store_history=True).success
    out = capsys.readouterr().out
    assert out.count("W               | exact:") == 1
    assert "<Compared W: ok>" in out  # a terminal shell's Out[n]: ends in the value's repr, once


@needs_ipython
def test_a_cell_run_again_after_a_fix_is_judged_line_by_line_and_the_summary_keeps_the_latest(capsys):
    import gradtui.compared

    shell = ninja._shell()
    shell.reset(new_session=True)
    gradtui.compared.cmp.notebook.__init__()
    cells = [ninja.with_gradtui_cmp(cell) for cell in ninja.code_cells(ninja.NOTEBOOK)]
    exercise = next(i for i, cell in enumerate(cells) if "Exercise 1" in cell)
    slipped = cells[exercise].replace("dbnraw = dhpreact * bngain", "dbnraw = dhpreact * bngain * 2")
    for cell in [*cells[:exercise], cells[exercise], slipped]:
        assert shell.run_cell(cell, store_history=True).success
    second_run = gradtui.compared.cmp.notebook.judgements[26:]
    assert [j.label for j in second_run if j.here] == ["bnraw"]
    assert "dbnraw: the derivative of `bngain * bnraw`" in next(j.hint for j in second_run if j.here)
    assert shell.run_cell(cells[exercise], store_history=True).success  # fixed, and run again
    capsys.readouterr()
    summary = gradtui.compared.cmp.summary()
    assert len(summary) == 26 and all(c.ok for c in summary)
    assert "cmp: 26 compared in this pass: 26 ✓, 0 ✗, 0 ↑" in capsys.readouterr().out


def test_a_tensor_whose_grad_was_not_kept_is_judged_against_the_derivative_of_the_forward(tmp_path):
    code = FORWARD.replace("for t in (emb, flat, logits, probs, logprobs):", "for t in (emb, flat, probs, logprobs):") + """
right = cmp('logits', dlogits, logits)
wrong = cmp('logits', dlogits * 2, logits)
"""
    namespace = run_script(tmp_path, code)
    right, wrong = namespace["right"], namespace["wrong"]
    assert right.ok and right.note == "`logits.grad` is None: judged against the derivative of the forward"
    assert not wrong.ok and wrong.here


def test_integer_inputs_are_operations_of_the_graph_one_hot_and_index_select_too(tmp_path):
    code = """
import torch
import torch.nn.functional as F
from gradtui import cmp

g = torch.Generator().manual_seed(3)
n, vocab, width = 10, 6, 4
C = torch.randn(vocab, width, generator=g, requires_grad=True)
W = torch.randn(width, vocab, generator=g, requires_grad=True)
X = torch.randint(0, vocab, (n,), generator=g)
Y = torch.randint(0, vocab, (n,), generator=g)

emb = C.index_select(0, X)
logprobs = F.log_softmax(emb @ W, 1)
picked = (F.one_hot(Y, vocab) * logprobs).sum(1)
loss = -picked.mean()
for t in (emb, logprobs, picked):
    t.retain_grad()
loss.backward()

dpicked = torch.full_like(picked, -1.0 / n)
dlogprobs = F.one_hot(Y, vocab) * dpicked[:, None]
probs = logprobs.exp()
dlogits = dlogprobs - probs * dlogprobs.sum(1, keepdim=True)
demb = dlogits @ W.T
dC = torch.zeros_like(C)
dC[X] = demb
results = [cmp('picked', dpicked, picked), cmp('logprobs', dlogprobs, logprobs), cmp('emb', demb, emb),
           cmp('C', dC, C)]
"""
    results = run_script(tmp_path, code)["results"]
    assert [r.ok for r in results] == [True, True, True, False] and results[-1].here
    assert "must add up its gradients, not be overwritten" in results[-1].hint


def test_a_line_inside_a_block_is_corrected_too(tmp_path):
    """A backward written under `with torch.no_grad():`, as training loops write it."""
    head, gradients = FORWARD.split("dlogprobs = torch.zeros_like(logprobs)\n")
    block = "with torch.no_grad():\n" + "".join(f"    {line}\n" for line in
                                                ("dlogprobs = torch.zeros_like(logprobs)\n" + gradients).splitlines())
    slipped = head + block.replace("dprobs = dlogprobs / probs", "dprobs = dlogprobs * probs")
    results = run_script(tmp_path, slipped + CALLS)["results"]
    assert results[1].here and results[1].fix == "dprobs = dlogprobs / probs"
