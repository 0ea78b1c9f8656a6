"""BUG: the bias gradient keeps the batch dimension: out.g is (N, n_out), b is (n_out,).

    gradtui check --layers samples/missing_sum.py     # step 5, lin2, b2.g: "extra batch dimension"
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
        self.b.g = out.g  # BUG: should be out.g.sum(0)
