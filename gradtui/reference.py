"""What the user's layers are judged against.

Backward: autograd through the *same* forward code, on detached copies of the same weights
and data, so a mismatch says "this backward is inconsistent with this forward".
Forward: the reference layers of `gradtui.layers` applied to the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gradtui import layers as reference_layers
from gradtui.formatting import shape_in_words
from gradtui.model import KIND_CLASS, Network
from gradtui.stats import TensorStats, tensor_stats
from gradtui.steps import LOSSES, LayerSpec


@dataclass(frozen=True)
class Reference:
    grads: dict[str, torch.Tensor | None] = field(default_factory=dict)  # "w1" -> d loss / d w1
    error: str | None = None  # why autograd could not run the forward, if it could not
    stats: dict[str, TensorStats] = field(default_factory=dict)  # of each gradient, taken once
    note: str | None = None  # what autograd differentiated, when it is not the loss itself


def autograd_reference(network: Network, params: dict[str, torch.Tensor], x: torch.Tensor,
                       y: torch.Tensor) -> Reference:
    """The user's forward under autograd, with layer objects of its own: a fresh import of the
    user's file, so that not even a class attribute is shared with the session's layers."""
    leaves = {name: p.detach().clone().requires_grad_() for name, p in params.items()}
    # x is not copied (157 MB at the default size): autograd refuses in-place changes to a leaf.
    values = {"x": x.detach().requires_grad_(), **leaves}
    targ, note = y.detach().clone(), None
    try:
        with torch.enable_grad():
            for spec, layer in zip(network.specs, network.build(leaves, network.isolated_classes())):
                inp = values[spec.inp]
                # Each layer gets a copy of its input: an in-place forward changes the copy, and the
                # activation keeps the gradient of its own value.
                inp = inp if inp.is_leaf else inp.clone()
                out = layer(*((inp, targ) if spec.kind in LOSSES else (inp,)))
                if isinstance(out, torch.Tensor) and out.requires_grad and not out.is_leaf:
                    out.retain_grad()
                values[spec.out] = out
            loss = values["loss"]
            if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
                return Reference(error="the loss does not depend on the weights through autograd")
            if loss.numel() != 1:
                note = f"the loss is {shape_in_words(tuple(loss.shape))}, not a scalar: autograd differentiated its mean"
                loss = loss.mean()
            loss.backward()
    except Exception as exc:  # the user's forward, under autograd
        return Reference(error=f"autograd could not run the forward: {type(exc).__name__}: {exc}")
    grads = {name: (t.grad if isinstance(t, torch.Tensor) else None) for name, t in values.items() if name != "loss"}
    return Reference(grads, stats={name: tensor_stats(g) for name, g in grads.items() if g is not None}, note=note)


def reference_output(spec: LayerSpec, values: dict, y: torch.Tensor) -> torch.Tensor:
    """The reference layer's forward on exactly the inputs the user's layer received."""
    cls = getattr(reference_layers, KIND_CLASS[spec.kind])
    layer = cls(*(values[name] for name in spec.params))
    with torch.no_grad():
        return layer(*((values[spec.inp], y) if spec.kind in LOSSES else (values[spec.inp],)))
