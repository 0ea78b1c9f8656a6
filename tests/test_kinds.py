"""One source per kind: a kind's math is its formulas in gradtui.kinds (the ones the hints vary). The
reference layer's hand-written backward, the formula the step panel shows, autograd through the
reference forward, and the backward gradtui derives from the forward's own operations (the
any-layer search's) are each checked against those formulas here."""

import pytest
import torch

from gradtui.derived import backward
from gradtui.graph import record
from gradtui.kinds import KINDS, formula_env
from gradtui.layers import Module
from gradtui.model import reference_classes

N, WIDTH, CLASSES = 12, 5, 4
KNOWN = [name for name, kind in KINDS.items() if kind.reference]


def tensors(kind: str) -> dict:
    """A layer's input, targets, parameters and gradient from above, in float64."""
    g = torch.Generator().manual_seed(3)
    width = CLASSES if kind == "cross_entropy" else 1 if kind == "mse" else WIDTH
    found = {"inp": torch.randn(N, width, generator=g, dtype=torch.float64)}
    found["targ"] = (torch.randint(0, CLASSES, (N,), generator=g) if kind == "cross_entropy"
                     else torch.randn(N, generator=g, dtype=torch.float64))
    for role in KINDS[kind].params:
        rows = (WIDTH, 3) if role == "w" else (3,) if role == "b" else (WIDTH,)
        found[role] = torch.randn(*rows, generator=g, dtype=torch.float64) + (1 if role == "gamma" else 0)
    return found


def run(kind: str, layer_tensors: dict):
    """The reference layer's forward and its hand-written backward: (out, {role: .g})."""
    entry = KINDS[kind]
    params = [layer_tensors[role].clone() for role in entry.params]
    inp = layer_tensors["inp"].clone()
    layer = reference_classes()[entry.reference](*params)
    out = layer(*entry.args(inp, layer_tensors["targ"]))
    upstream = None if entry.loss else torch.randn(out.shape, generator=torch.Generator().manual_seed(5),
                                                   dtype=torch.float64)
    if upstream is not None:
        out.g = upstream
    layer.backward()
    return out, upstream, {"inp": inp.g, **dict(zip(entry.params, (p.g for p in params)))}


@pytest.mark.parametrize("kind", KNOWN)
def test_the_reference_layer_autograd_and_the_derived_backward_are_the_kinds_formulas(kind):
    entry, layer_tensors = KINDS[kind], tensors(kind)
    out, upstream, written = run(kind, layer_tensors)
    env = formula_env(kind, {**layer_tensors, "out": out, "out_g": upstream})
    formulas = {role: formula.expr.eval(env) for role, formula in entry.families[0].grads.items()}

    leaves = {role: layer_tensors[role].clone().requires_grad_() for role in ("inp", *entry.params)}
    reference = reference_classes()[entry.reference](*(leaves[role] for role in entry.params))
    autograd = dict(zip(leaves, torch.autograd.grad(Module.__call__(reference, *entry.args(
        leaves["inp"], layer_tensors["targ"])), list(leaves.values()), upstream)))

    copies = {role: layer_tensors[role].clone() for role in ("inp", *entry.params)}
    layer = reference_classes()[entry.reference](*(copies[role] for role in entry.params))
    graph, _ = record(lambda: layer(*entry.args(copies["inp"], layer_tensors["targ"])), copies)
    derived = backward(graph, upstream)

    assert set(formulas) == set(written) == {"inp", *entry.params}
    for role in formulas:
        torch.testing.assert_close(written[role], formulas[role])  # the hand-written backward: the formulas
        torch.testing.assert_close(autograd[role], formulas[role])  # the math: autograd agrees
        torch.testing.assert_close(derived[role], formulas[role])  # the any-layer search's backward agrees


@pytest.mark.parametrize("kind", KNOWN)
def test_the_step_panel_shows_the_kinds_own_formulas(kind):
    """What the app shows of a backward is written from the formulas, not kept beside them."""
    text = KINDS[kind].backward_text
    assert text.count(".g =") == len(KINDS[kind].families[0].grads)
    assert "{inp}.g = " in text


def test_widths_are_counted_by_the_kinds_own_property_not_by_its_name():
    """A kind that takes a width of its own says so in its entry (changes_width): nothing counts 'lin'."""
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "gradtui"
    for path in package.rglob("*.py"):
        if path.name in ("kinds.py", "layers.py"):
            continue
        assert not re.search(r"""count\(["']lin["']\)|["']lin["'] *in +""", path.read_text()), path
