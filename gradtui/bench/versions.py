"""The lesson's six versions of forward + backward, and a tuned seventh.

Each `build(x, y, params)` returns a function that runs one forward and backward pass and
returns the gradients it computed, by name ("x", "w1", "b1", ...). Every version gets its own
tensor objects (`detach()` shares the storage, not the `.g` attributes), so no version sees
another's gradients. The code follows the lesson: names, lines and all, generalised from two
Lin layers to `len(params) // 2`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from gradtui import layers


@dataclass(frozen=True)
class Version:
    key: int | str  # 1 to 7 as the notes number them, or "yours" for the user's own layers (bench --layers)
    name: str
    build: Callable[[torch.Tensor, torch.Tensor, dict], Callable[[], dict]]
    outer_product: bool = False  # materialises N × n_in × n_out: the memory guard must know
    input_grad: bool = True  # computes x.g (v7 does not: training needs only the parameters')


def _own(x, params):
    """Fresh tensor objects over the same storage: .g set by one version stays with it."""
    return x.detach(), [(params[f"w{k}"].detach(), params[f"b{k}"].detach()) for k in range(1, len(params) // 2 + 1)]


def _named(x, wbs, attribute="g") -> dict:
    grads = {"x": getattr(x, attribute)} if getattr(x, attribute, None) is not None else {}
    for k, (w, b) in enumerate(wbs, start=1):
        grads[f"w{k}"], grads[f"b{k}"] = getattr(w, attribute), getattr(b, attribute)
    return grads


# -- 1. functions, with the outer product ---------------------------------------------------

def lin(x, w, b): return x @ w + b
def relu(x): return x.clamp_min(0.)
def mse(output, targ): return (output.squeeze(-1) - targ).pow(2).mean()


def mse_grad(inp, targ):
    # grad of loss with respect to output of previous layer
    inp.g = 2. * (inp.squeeze(-1) - targ).unsqueeze(-1) / inp.shape[0]


def relu_grad(inp, out):
    # grad of relu with respect to input activations
    inp.g = (inp > 0).to(out.g.dtype) * out.g


def lin_grad(inp, out, w, b):
    # grad of matmul with respect to input
    inp.g = out.g @ w.t()
    w.g = (inp.unsqueeze(-1) * out.g.unsqueeze(1)).sum(0)
    b.g = out.g.sum(0)


def build_functions(x, y, params):
    inp, wbs = _own(x, params)

    def forward_and_backward():
        # forward pass: l1 = inp @ w1 + b1; l2 = relu(l1); out = l2 @ w2 + b2, for any depth
        acts = [inp]
        for k, (w, b) in enumerate(wbs):
            acts.append(lin(acts[-1], w, b))
            if k < len(wbs) - 1:
                acts.append(relu(acts[-1]))
        out = acts[-1]
        # we don't actually need the loss in backward!
        loss = mse(out, y)  # noqa: F841 (the lesson computes it, unused)
        # backward pass: mse_grad(out, targ); lin_grad(l2, out, w2, b2); relu_grad(l1, l2); lin_grad(inp, l1, w1, b1)
        mse_grad(out, y)
        for k in reversed(range(len(wbs))):
            lin_grad(acts[2 * k], acts[2 * k + 1], *wbs[k])
            if k > 0:
                relu_grad(acts[2 * k - 1], acts[2 * k])
        return _named(inp, wbs)

    return forward_and_backward


# -- 2. torch autograd ---------------------------------------------------------------------

def build_autograd(x, y, params):
    xt2 = x.detach().requires_grad_(True)
    wbs = [(w.clone().requires_grad_(True), b.clone().requires_grad_(True)) for w, b in _own(x, params)[1]]

    def forward(inp, targ):
        for k, (w, b) in enumerate(wbs):
            inp = lin(inp, w, b)
            if k < len(wbs) - 1:
                inp = relu(inp)
        return mse(inp, targ)

    def forward_and_backward():
        for t in (xt2, *(t for wb in wbs for t in wb)):
            t.grad = None
        loss = forward(xt2, y)
        loss.backward()
        return _named(xt2, wbs, "grad")

    return forward_and_backward


# -- 3. layers as classes, __call__ and backward -------------------------------------------

class Relu:
    def __call__(self, inp):
        self.inp = inp
        self.out = inp.clamp_min(0.)
        return self.out

    def backward(self): self.inp.g = (self.inp > 0).to(self.out.g.dtype) * self.out.g


class Lin:
    def __init__(self, w, b): self.w, self.b = w, b

    def __call__(self, inp):
        self.inp = inp
        self.out = inp @ self.w + self.b
        return self.out

    def backward(self):
        self.inp.g = self.out.g @ self.w.t()
        # Creating a giant outer product, just to sum it, is inefficient!
        self.w.g = (self.inp.unsqueeze(-1) * self.out.g.unsqueeze(1)).sum(0)
        self.b.g = self.out.g.sum(0)


class Mse:
    def __call__(self, inp, targ):
        self.inp = inp
        self.targ = targ
        self.out = (inp.squeeze(-1) - targ).pow(2).mean()
        return self.out

    def backward(self):
        self.inp.g = 2. * (self.inp.squeeze(-1) - self.targ).unsqueeze(-1) / self.targ.shape[0]


class Model:
    def __init__(self, wbs, lin=Lin, relu=Relu, loss=Mse):
        self.layers = []
        for k, (w, b) in enumerate(wbs):
            self.layers.append(lin(w, b))
            if k < len(wbs) - 1:
                self.layers.append(relu())
        self.loss = loss()

    def __call__(self, x, targ):
        for l in self.layers: x = l(x)
        return self.loss(x, targ)

    def backward(self):
        self.loss.backward()
        for l in reversed(self.layers): l.backward()


def _build_model(x, y, params, **layer_classes):
    inp, wbs = _own(x, params)
    model = Model(wbs, **layer_classes)

    def forward_and_backward():
        model(inp, y)
        model.backward()
        return _named(inp, wbs)

    return forward_and_backward


def build_classes(x, y, params):
    return _build_model(x, y, params)


def build_yours(classes: dict[str, type]):
    """The user's own Lin, Relu and Mse (from --layers), in the lesson's Model."""
    def build(x, y, params):
        return _build_model(x, y, params, lin=classes["Lin"], relu=classes["Relu"], loss=classes["Mse"])
    return build


# -- 4. Module with forward / bwd, weight grad by einsum ------------------------------------

class LinEinsum(layers.Lin):
    def bwd(self, out, inp):
        inp.g = out.g @ self.w.t()
        self.w.g = torch.einsum("bi,bj->ij", inp, out.g)
        self.b.g = out.g.sum(0)


def build_module_einsum(x, y, params):
    return _build_model(x, y, params, lin=LinEinsum, relu=layers.Relu, loss=layers.Mse)


# -- 5. as 4, weight grad by inp.t() @ out.g: gradtui's own reference layers ----------------

def build_module_matmul(x, y, params):
    return _build_model(x, y, params, lin=layers.Lin, relu=layers.Relu, loss=layers.Mse)


# -- 6. nn.Linear and nn.Module with autograd ----------------------------------------------

class NnModel(nn.Module):
    def __init__(self, wbs):
        super().__init__()
        mods = []
        for k, (w, b) in enumerate(wbs):
            linear = nn.Linear(*w.shape, dtype=w.dtype, device=w.device)
            with torch.no_grad():
                linear.weight.copy_(w.t())  # nn.Linear keeps weight as (out, in)
                linear.bias.copy_(b)
            mods.append(linear)
            if k < len(wbs) - 1:
                mods.append(nn.ReLU())
        self.layers = nn.ModuleList(mods)
        self.loss = mse

    def __call__(self, x, targ):
        for l in self.layers: x = l(x)
        return self.loss(x, targ)


def build_nn_module(x, y, params):
    xt = x.detach().requires_grad_(True)
    model = NnModel(_own(x, params)[1])
    linears = [m for m in model.layers if isinstance(m, nn.Linear)]

    def forward_and_backward():
        xt.grad = None
        model.zero_grad(set_to_none=True)
        loss = model(xt, y)
        loss.backward()
        grads = {"x": xt.grad}
        for k, linear in enumerate(linears, start=1):
            grads[f"w{k}"], grads[f"b{k}"] = linear.weight.grad.t(), linear.bias.grad
        return grads

    return forward_and_backward


# -- 7. tuned: parameter gradients only, buffers reused, fused GEMMs -------------------------

def build_tuned(x, y, params):
    """What training needs and nothing more.

    No x.g (the data needs no gradient), so the first layer's backward is one GEMM. Every
    activation and gradient lives in a buffer allocated once and reused by every call
    (`out=`), `addmm` adds the bias inside the GEMM, ReLU and its mask work in place, and
    the loss gradient is written straight into the output's buffer.
    """
    _, wbs = _own(x, params)
    n, depth = x.shape[0], len(wbs)

    def new(*shape):
        return torch.empty(*shape, dtype=x.dtype, device=x.device)

    acts = [new(n, w.shape[1]) for w, _ in wbs]  # pre-ReLU becomes post-ReLU in place
    grads = [new(n, w.shape[1]) for w, _ in wbs]  # d loss / d acts[k]
    w_g = [new(*w.shape) for w, _ in wbs]
    b_g = [new(*b.shape) for _, b in wbs]
    targ = y.unsqueeze(-1)
    scale = 2.0 / n

    def forward_and_backward():
        inp = x
        for k, (w, b) in enumerate(wbs):
            torch.addmm(b, inp, w, out=acts[k])
            if k < depth - 1:
                acts[k].clamp_min_(0.0)
            inp = acts[k]
        torch.sub(acts[-1], targ, out=grads[-1]).mul_(scale)  # mse_grad
        for k in reversed(range(depth)):
            below = acts[k - 1] if k else x
            torch.mm(below.t(), grads[k], out=w_g[k])
            torch.sum(grads[k], 0, out=b_g[k])
            if k:
                torch.mm(grads[k], wbs[k][0].t(), out=grads[k - 1])
                grads[k - 1].masked_fill_(below == 0, 0.0)  # relu_grad: below is post-ReLU
        return {name: g for k in range(depth) for name, g in ((f"w{k + 1}", w_g[k]), (f"b{k + 1}", b_g[k]))}

    return forward_and_backward


VERSIONS = {
    1: Version(1, "functions, outer product", build_functions, outer_product=True),
    2: Version(2, "torch autograd", build_autograd),
    3: Version(3, "classes, outer product", build_classes, outer_product=True),
    4: Version(4, "Module + einsum", build_module_einsum),
    5: Version(5, "Module + matmul", build_module_matmul),
    6: Version(6, "nn.Linear + nn.Module", build_nn_module),
    7: Version(7, "tuned: params only, buffers, addmm", build_tuned, input_grad=False),
}
