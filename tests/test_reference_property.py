"""The reference layers' hand-written gradients equal autograd's, for any small network."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtui.config import RunConfig
from gradtui.data import Dataset
from gradtui.layers import Lin, Mse, Relu
from gradtui.session import DebugSession

shapes = st.fixed_dictionaries({
    "batch": st.integers(1, 64),
    "n_in": st.integers(1, 32),
    "hidden": st.lists(st.integers(1, 16), min_size=1, max_size=3).map(tuple),
    "seed": st.integers(0, 2**16),
})


def random_net(batch, n_in, hidden, seed):
    generator = torch.Generator().manual_seed(seed)
    sizes = (n_in, *hidden, 1)
    x = torch.randn(batch, n_in, generator=generator, dtype=torch.float64)
    y = torch.randn(batch, generator=generator, dtype=torch.float64)
    params = [(torch.randn(a, b, generator=generator, dtype=torch.float64),
               torch.randn(b, generator=generator, dtype=torch.float64)) for a, b in zip(sizes, sizes[1:])]
    return x, y, params


@settings(max_examples=60, deadline=None)
@given(shapes)
def test_reference_layers_equal_autograd(shape):
    x, y, params = random_net(**shape)
    layers = []
    for w, b in params:
        layers += [Lin(w, b), Relu()]
    layers.pop()  # no ReLU after the last Lin
    loss_layer = Mse()
    out = x
    for layer in layers:
        out = layer(out)
    loss = loss_layer(out, y)
    loss_layer.backward()
    for layer in reversed(layers):
        layer.backward()

    leaves = [x.clone().requires_grad_()] + [t.clone().requires_grad_() for pair in params for t in pair]
    act = leaves[0]
    for k in range(len(params)):
        act = act @ leaves[1 + 2 * k] + leaves[2 + 2 * k]
        if k < len(params) - 1:
            act = act.clamp_min(0)
    ref_loss = (act.squeeze(-1) - y).pow(2).mean()
    ref_loss.backward()

    torch.testing.assert_close(loss, ref_loss.detach(), rtol=1e-9, atol=1e-12)
    manual = [x.g] + [t.g for pair in params for t in pair]
    for mine, leaf in zip(manual, leaves):
        torch.testing.assert_close(mine, leaf.grad, rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(shapes)
def test_session_reports_match_for_reference_layers(shape):
    x, y, _ = random_net(**shape)
    config = RunConfig(device="cpu", dtype="float64", batch=shape["batch"], hidden=shape["hidden"],
                       seed=shape["seed"], init="random")
    session = DebugSession(config, data=Dataset(x, y, "hypothesis"))
    reports = session.run_to_end()
    assert len(reports) == 2 * (2 * len(shape["hidden"]) + 2)
    for report in reports:
        assert report.error is None
        for tensor in report.tensors:
            assert tensor.match, (report.step, tensor)
            assert tensor.stats.shape == tensor.ref.shape
    assert session.first_mismatch is None
