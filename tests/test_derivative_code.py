"""What a hint says a left-out derivative comes to (`derivative_code`) is the derivative: on every
layer of the any-layer benchmarks where gradtui writes one out, the code, run with the forward's own
tensors, is autograd's elementwise derivative of the layer's output."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch

from gradtui.derived import _derivative_said
from gradtui.graph import Leaf, record


def _mutants():
    if "any_layer_mutants" in sys.modules:
        return sys.modules["any_layer_mutants"]
    path = Path(__file__).parent.parent / "benchmarks" / "any_layer_mutants.py"
    spec = importlib.util.spec_from_file_location("any_layer_mutants", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


generated = _mutants()
LAYERS = [layer for layer in generated.LAYERS.values() if not layer.loss]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("layers")


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name)
def test_a_derivative_said_as_code_is_autograds(folder, layer):
    cls = getattr(generated.corpus.loaded(generated.corpus.source(layer, "module", layer.backward), folder,
                                          f"d_{layer.name}"), layer.name)
    model, x, _, position, params = generated.network(layer, cls, torch.float64)
    if position != 1 or not x.is_floating_point():
        pytest.skip("the layer is not after a Lin on (N, C) rows")
    instance = cls(*[p.to(torch.float64) for p in params])
    inp = torch.randn(16, x.shape[1], dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    graph, out = record(lambda: instance.forward(inp), {"inp": inp})
    code = None if graph.unsupported or graph.output is None else _derivative_said(graph, graph.output, Leaf("inp"), {})
    if code is None:
        pytest.skip("not elementwise in its input: no derivative written out")
    leaf = inp.clone().requires_grad_()
    (autograd,) = torch.autograd.grad(instance.forward(leaf).sum(), leaf)
    names = {name: graph.value(ref) for ref, name in graph.names().items()}
    said = eval(code, {"torch": torch, "math": math, "inp": inp, "out": out, "self": instance, **names})
    assert torch.allclose(torch.ones_like(autograd) * said, autograd), code


@pytest.mark.parametrize("layer", [layer for layer in LAYERS if layer.name in (
    "GELU", "SiLU", "Mish", "Swish", "Softsign", "Rational", "Poly", "SELU", "Squareplus", "TanhByExp")],
    ids=lambda layer: layer.name)
def test_the_term_a_path_adds_is_what_the_chain_rule_sends_through_it(folder, layer):
    """Each path of an elementwise forward (an operand of one operation), said as code, is what the
    chain rule with that path cut lacks: the term a hint says a backward that dropped it must add."""
    from gradtui.derived import Edit, backward

    cls = getattr(generated.corpus.loaded(generated.corpus.source(layer, "module", layer.backward), folder,
                                          f"p_{layer.name}"), layer.name)
    _, x, _, _, params = generated.network(layer, cls, torch.float64)
    instance = cls(*[p.to(torch.float64) for p in params])
    inp = torch.randn(16, x.shape[1], dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    graph, out = record(lambda: instance.forward(inp), {"inp": inp})
    names = {name: graph.value(ref) for ref, name in graph.names().items()}
    scope = {"torch": torch, "math": math, "inp": inp, "out": out, "self": instance, **names}
    whole = backward(graph, torch.ones_like(out))["inp"]
    said = 0
    for node in graph.nodes:
        for operand in dict.fromkeys(a for a in node.args if isinstance(a, (Leaf, type(graph.output)))):
            code = _derivative_said(graph, graph.output, Leaf("inp"), {}, (node.index, operand))
            if code is None:
                continue
            cut = backward(graph, torch.ones_like(out), Edit("path", node.index, value=operand))["inp"]
            cut = torch.zeros_like(whole) if cut is None else cut  # (its only path)
            assert torch.allclose(torch.ones_like(whole) * eval(code, scope), whole - cut), code
            said += 1
    assert said >= 2, "a layer of two paths or more says each"


@pytest.mark.parametrize("forward", [lambda a, b: torch.lerp(a, b, 0.3), torch.maximum, torch.minimum],
                         ids=["lerp", "maximum", "minimum"])
@pytest.mark.parametrize("position", [0, 1])
def test_one_operations_derivative_towards_one_operand_is_autograds(forward, position):
    """What a hint says an operation of two tensors multiplies in towards one of them, where a backward
    leaves that out (`torch.lerp`'s weight, `torch.maximum`'s mask), is autograd's, elementwise."""
    from gradtui.derived import _local_derivative_said

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 5, dtype=torch.float64, generator=g), torch.randn(6, 5, dtype=torch.float64, generator=g)
    graph, _ = record(lambda: forward(a, b), {"a": a, "b": b})
    code = _local_derivative_said(graph, graph.nodes[-1], position, {})
    leaves = [a.clone().requires_grad_(), b.clone().requires_grad_()]
    (autograd,) = torch.autograd.grad(forward(*leaves).sum(), leaves[position])
    said = eval(code, {"torch": torch, "a": a, "b": b})
    assert torch.allclose(torch.ones_like(autograd) * said, autograd), code
