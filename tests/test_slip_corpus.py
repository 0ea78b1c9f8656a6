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
