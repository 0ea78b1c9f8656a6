"""BUG: out.g @ self.w multiplies (N, n_out) by (n_in, n_out): the shapes do not fit, torch raises.

    gradtui check --layers samples/raises.py          # step 5, lin2: RuntimeError at this file's line
"""

from gradtui.layers import Module


class Lin(Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
        return inp @ self.w + self.b

    def bwd(self, out, inp):
        inp.g = out.g @ self.w  # BUG: should be out.g @ self.w.t()
        self.w.g = inp.t() @ out.g
        self.b.g = out.g.sum(0)
