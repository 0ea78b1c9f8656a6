"""The reference layers, as in the lesson: each forward beside its hand-written backward.

`Module.__call__` keeps the inputs and the output; `backward()` hands them to `bwd`,
which sets `.g` on the inputs from `out.g` (the chain rule, one factor per layer). Lin, Relu and
Mse are the lesson's; Tanh, BatchNorm and CrossEntropy follow the course on.
"""

import torch

from gradtui.kinds import BATCHNORM_EPS


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
        # The lesson's mask, inp > 0 (at exactly 0 ReLU has no derivative: any value between 0 and
        # out.g is right, and gradtui accepts either), as a where, not a product with the mask
        # (0 × NaN is NaN: where the ReLU is off, a NaN from above stops here).
        inp.g = torch.where(inp > 0, out.g, 0.0)


class Lin(Module):
    """inp @ w + b. The weight's and the bias's gradients sum over every row: a batch of sequences,
    (N, T, n_in), is flattened to its N·T rows first (a batch of rows, (N, n_in), is left as it is)."""

    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
        return inp @ self.w + self.b

    def bwd(self, out, inp):
        inp.g = out.g @ self.w.t()
        self.w.g = inp.flatten(0, -2).t() @ out.g.flatten(0, -2)
        self.b.g = out.g.flatten(0, -2).sum(0)


class Mse(Module):
    def forward(self, inp, targ):
        return (inp.squeeze(-1) - targ).pow(2).mean()

    def bwd(self, out, inp, targ):
        # the lesson's (N, 1) output against (N,) targets; a row of targets per row, (N, C), the same way
        inp.g = 2.0 * (inp.squeeze(-1) - targ).reshape(inp.shape) / targ.numel()


class Tanh(Module):
    def forward(self, inp):
        return inp.tanh()

    def bwd(self, out, inp):
        # d tanh(x)/dx = 1 - tanh(x)², from the output the forward already computed
        inp.g = (1 - out * out) * out.g


class BatchNorm(Module):
    """Training mode: each feature normalised with the batch's mean and biased variance."""

    def __init__(self, g, b, eps=BATCHNORM_EPS):
        self.g, self.b, self.eps = g, b, eps

    def forward(self, inp):
        self.std = (inp.var(0, unbiased=False) + self.eps).sqrt()
        self.xhat = (inp - inp.mean(0)) / self.std
        return self.g * self.xhat + self.b

    def bwd(self, out, inp):
        n, dxhat = inp.shape[0], out.g * self.g
        # the batch mean and variance depend on every row: two terms beside dxhat itself
        inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)
        self.g.g = (out.g * self.xhat).sum(0)
        self.b.g = out.g.sum(0)


class CrossEntropy(Module):
    """The mean over the batch of −log softmax at the target class; targ holds class indices."""

    def forward(self, inp, targ):
        top = inp.max(1, keepdim=True).values  # log-sum-exp: exp never sees a logit above 0
        log_sum_exp = top.squeeze(1) + (inp - top).exp().sum(1).log()
        return (log_sum_exp - inp.gather(1, targ.unsqueeze(1)).squeeze(1)).mean()

    def bwd(self, out, inp, targ):
        softmax = (inp - inp.max(1, keepdim=True).values).exp()
        softmax = softmax / softmax.sum(1, keepdim=True)
        one_hot = torch.zeros_like(inp).scatter_(1, targ.unsqueeze(1), 1.0)
        inp.g = (softmax - one_hot) / inp.shape[0]
