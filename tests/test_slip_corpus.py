"""The slip corpus of benchmarks/slip_coverage.py, every third slip (the whole corpus is the
benchmark's): found, placed at the right tensor, and named with the expected words (or, two edits
away, given the fallback rather than a wrong name)."""

import pytest
from conftest import benchmark

from gradtui.config import RunConfig
from gradtui.session import DebugSession

corpus = benchmark("slip_coverage")

CASES = [(kind, role, corpus.layer_file(kind, role, slip, "module"), corpus.NETS[kind], words)
         for kind, role, slip, words in corpus.SLIPS]
CASES += [(kind, role, code, net, words) for kind, role, code, net, _, words, _ in corpus.file_cases()]
SOME = CASES[::3]


@pytest.mark.parametrize("kind, role, code, net, words", SOME, ids=[f"{c[0]}-{i}" for i, c in enumerate(SOME)])
def test_a_slip_written_as_code_is_found_placed_and_named(tmp_path, kind, role, code, net, words):
    layers = tmp_path / "slip.py"
    layers.write_text(code)
    session = DebugSession(RunConfig(device="cpu", net=net, batch=64, layers=layers, init="random", seed=1))
    session.run_to_end()
    mismatch = session.first_mismatch
    assert mismatch is not None and mismatch.tensor == corpus.expected_tensor(kind, role, session)
    hint = session.reports[mismatch.index].failing_tensor.hint
    assert any(alternative in hint for alternative in words.split(" | ")), hint


def test_a_step_left_out_of_a_normalisation_written_step_by_step_is_said_in_its_steps_names(tmp_path):
    """The staged batch norm of the exercise (its variance over n − 1) is also one normalisation, and a
    slip of its closed form can give the same numbers as a step left out; the step, in the code's own
    names, is the story (`=` where `+=` adds the path through bnraw)."""
    case = next(c for c in CASES if c[0] == "batchnorm" and "dbndiff = (2 * self.bndiff) * dbndiff2" in c[2])
    kind, role, code, net, words = case
    layers = tmp_path / "slip.py"
    layers.write_text(code)
    session = DebugSession(RunConfig(device="cpu", net=net, batch=64, layers=layers, init="random", seed=1))
    session.run_to_end()
    hint = session.reports[session.first_mismatch.index].failing_tensor.hint
    assert "the path through `bndiff` in `self.bnraw = self.bndiff * self.bnvar_inv`" in hint, hint
