"""The reference layers, as in the lesson: each forward beside its hand-written backward.

`Module.__call__` keeps the inputs and the output; `backward()` hands them to `bwd`,
which sets `.g` on the inputs from `out.g` (the chain rule, one factor per layer).
"""

import torch


class Module:
    def __call__(self, *args):
        self.args = args
        self.out = self.forward(*args)
        return self.out

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def backward(self):
        self.bwd(self.out, *self.args)

    def bwd(self, out, *args):
        raise NotImplementedError(f"{type(self).__name__} must define bwd")


class Relu(Module):
    def forward(self, inp):
        return inp.clamp_min(0.0)

    def bwd(self, out, inp):
        # As autograd's clamp_min: >= 0, not the lesson's > 0 (at exactly 0 ReLU has no
        # derivative; autograd passes out.g there), and a where, not a product with the mask
        # (0 × NaN is NaN: where the ReLU is off, a NaN from above stops here).
        inp.g = torch.where(inp >= 0, out.g, 0.0)


class Lin(Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
        return inp @ self.w + self.b

    def bwd(self, out, inp):
        inp.g = out.g @ self.w.t()
        self.w.g = inp.t() @ out.g
        self.b.g = out.g.sum(0)


class Mse(Module):
    def forward(self, inp, targ):
        return (inp.squeeze(-1) - targ).pow(2).mean()

    def bwd(self, out, inp, targ):
        inp.g = 2.0 * (inp.squeeze(-1) - targ).unsqueeze(-1) / targ.shape[0]
