"""BUG: the bias gradient is summed over the features (axis 1) instead of the batch (axis 0).

    gradtui check --layers samples/bias_wrong_axis.py   # step 5, lin2, b2.g: "sum over the batch only"
"""

from gradtui.layers import Module


class Lin(Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
        return inp @ self.w + self.b

    def bwd(self, out, inp):
        inp.g = out.g @ self.w.t()
        self.w.g = inp.t() @ out.g
        self.b.g = out.g.sum(1)  # BUG: out.g.sum(0)
