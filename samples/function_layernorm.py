"""BUG: a layer norm whose forward is a torch.autograd.Function, a kernel's usual shape. Autograd
through the Function would run this same wrong backward and agree with it, so gradtui judges it by
finite differences of the forward, and names the slip on the backward derived from the Function's
own forward: the path through the mean is missing.

    gradtui.check([Lin(w1, b1), LayerNorm(gain, shift), Lin(w2, b2), Mse()], x, y)   # layernorm1, l1.g
"""

import torch


class LayerNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        rstd = (var + 1e-5) ** -0.5
        xhat = (x - mu) * rstd
        ctx.save_for_backward(xhat, rstd, w)
        return w * xhat + b

    @staticmethod
    def backward(ctx, dout):
        return layer_norm_grads(*ctx.saved_tensors, dout)


def layer_norm_grads(xhat, rstd, w, dout):
    dxhat = dout * w
    dx = rstd * (dxhat - xhat * (dxhat * xhat).mean(-1, keepdim=True))  # BUG: the mean's term left out
    return dx, (dout * xhat).sum(0), dout.sum(0)


class LayerNorm:
    def __init__(self, w, b):
        self.w, self.b = w, b

    def __call__(self, inp):
        self.inp = inp
        self.out = LayerNormFunction.apply(inp, self.w, self.b)
        return self.out

    def backward(self):
        mu = self.inp.mean(-1, keepdim=True)
        rstd = (((self.inp - mu) ** 2).mean(-1, keepdim=True) + 1e-5) ** -0.5
        self.inp.g, self.w.g, self.b.g = layer_norm_grads((self.inp - mu) * rstd, rstd, self.w, self.out.g)
