"""BUG: samples/layernorm.py with its backward's variance term left out. gradtui has no entry for a
layer norm; it names the slip on the backward derived from the forward's own operations, at the
forward line whose derivative is missing: the path through `std`, the variance's.

    gradtui check --layers samples/layernorm_slip.py   # step 8, layernorm1, l1.g
"""

import torch

from gradtui.layers import Lin, Mse, Relu


class LayerNorm:
    """Normalised over the features of each row, with a gain and a shift."""

    def __init__(self, dim, eps=1e-5, seed=1):
        g = torch.Generator().manual_seed(seed)
        self.weight, self.bias, self.eps = 1 + 0.1 * torch.randn(dim, generator=g), 0.1 * torch.randn(dim, generator=g), eps

    def __call__(self, inp):
        self.inp = inp
        self.std = (inp.var(1, keepdim=True, unbiased=False) + self.eps).sqrt()
        self.xhat = (inp - inp.mean(1, keepdim=True)) / self.std
        self.out = self.weight * self.xhat + self.bias
        return self.out

    def backward(self):
        dxhat, d = self.out.g * self.weight, self.inp.shape[1]
        self.inp.g = (d * dxhat - dxhat.sum(1, keepdim=True)) / (d * self.std)  # BUG: the variance term left out
        self.weight.g = (self.out.g * self.xhat).sum(0)
        self.bias.g = self.out.g.sum(0)


class Model:
    """The lesson's Model with a layer norm after the first Lin; gradtui gives it its weights."""

    def __init__(self, w1, b1, w2, b2):
        self.layers = [Lin(w1, b1), LayerNorm(w1.shape[1]), Relu(), Lin(w2, b2)]
        self.loss = Mse()

