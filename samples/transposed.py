"""BUG: the weight gradient is transposed: out.g.t() @ inp is (n_out, n_in), w is (n_in, n_out).

    gradtui check --layers samples/transposed.py      # step 5, lin2, w2.g: "transposed"
"""

from gradtui.layers import Module


class Lin(Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
        return inp @ self.w + self.b

    def bwd(self, out, inp):
        inp.g = out.g @ self.w.t()
        self.w.g = out.g.t() @ inp  # BUG: should be inp.t() @ out.g
        self.b.g = out.g.sum(0)
