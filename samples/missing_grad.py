"""BUG: backward never sets the bias gradient.

    gradtui check --layers samples/missing_grad.py    # step 5, lin2, b2.g: "was not set"
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
        # BUG: self.b.g = out.g.sum(0) is missing
