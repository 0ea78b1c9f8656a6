"""BUG: the bias gradient is summed with keepdim=True: (1, n_out) instead of (n_out,).

    gradtui check --layers samples/keepdim.py         # step 5, lin2, b2.g: "wrong keepdim"
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
        self.b.g = out.g.sum(0, keepdim=True)  # BUG: b.g must have the shape of b
