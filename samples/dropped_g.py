"""BUG: a dropped .g: the weight gradient is built from the layer's output, not its gradient.

    gradtui check --layers samples/dropped_g.py   # step 5, lin2, w2.g: "built from out"
"""

from gradtui.layers import Module


class Lin(Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
        return inp @ self.w + self.b

    def bwd(self, out, inp):
        inp.g = out.g @ self.w.t()
        self.w.g = inp.t() @ out  # BUG: inp.t() @ out.g
        self.b.g = out.g.sum(0)
