"""BUG: a Lin whose forward is a torch.autograd.Function, its backward (and the layer's) with the
weight gradient transposed. Autograd through the Function would run this same wrong backward and
agree with it; gradtui sees the Function, and as the output is the reference Lin's, judges the
backward against the reference Lin's autograd gradient instead.

    gradtui check --batch 1000 --layers samples/function_lin.py   # step 5, lin2, w2.g
"""

import torch


def lin_grads(inp, w, grad):
    return grad @ w.t(), (grad.t() @ inp), grad.sum(0)  # BUG: w.g is inp.t() @ grad


class LinFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inp, w, b):
        ctx.save_for_backward(inp, w)
        return inp @ w + b

    @staticmethod
    def backward(ctx, grad):
        inp, w = ctx.saved_tensors
        return lin_grads(inp, w, grad)


class Lin:
    def __init__(self, w, b):
        self.w, self.b = w, b

    def __call__(self, inp):
        self.inp = inp
        self.out = LinFunction.apply(inp, self.w, self.b)
        return self.out

    def backward(self):
        self.inp.g, self.w.g, self.b.g = lin_grads(self.inp, self.w, self.out.g)
