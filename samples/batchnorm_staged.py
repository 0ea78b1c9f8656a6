"""Correct: batch norm and tanh with the backward written the other common way, one node of the
graph at a time (dbeta, dgamma, dxhat, dvar, dmean, then dx), each line the chain rule through
one intermediate of the forward, as a course assignment derives it.

    gradtui check --net lin,batchnorm,tanh,lin,mse --layers samples/batchnorm_staged.py

`benchmarks/slip_coverage.py` puts one slip at a time into these lines: a slip in one line of
this form can be several edits of the formula gradtui's hints vary (a -0.5 left out of dvar is
the variance term times -2), and the hints name it in both.
"""

import torch


class BatchNorm:
    def __init__(self, gamma, beta, eps=1e-5):
        self.gamma, self.beta, self.eps = gamma, beta, eps

    def __call__(self, x):
        self.x = x
        self.mu = x.mean(0)
        self.var = x.var(0, unbiased=False)
        self.x_norm = (x - self.mu) / torch.sqrt(self.var + self.eps)
        self.out = self.gamma * self.x_norm + self.beta
        return self.out

    def backward(self):
        x, x_norm, mu, var, gamma, eps, dout = self.x, self.x_norm, self.mu, self.var, self.gamma, self.eps, self.out.g
        n = x.shape[0]
        self.beta.g = dout.sum(0)
        self.gamma.g = (x_norm * dout).sum(0)
        dx_norm = dout * gamma
        dvar = (dx_norm * (x - mu) * -0.5 * (var + eps) ** -1.5).sum(0)
        dmu = (dx_norm * -1 / torch.sqrt(var + eps)).sum(0) + dvar * (-2 * (x - mu)).mean(0)
        x.g = dx_norm / torch.sqrt(var + eps) + dvar * 2 * (x - mu) / n + dmu / n


class Tanh:
    def __call__(self, x):
        self.x = x
        self.out = torch.tanh(x)
        return self.out

    def backward(self):
        self.x.g = self.out.g * (1 - torch.tanh(self.x) ** 2)
