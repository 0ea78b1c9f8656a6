"""BUG: the input gradient without the transpose: out.g @ w. Where w is square (50 × 50 with
--hidden 50,50) the shapes fit and the numbers are silently wrong; where it is not, the
product raises. --isolate judges every layer on autograd's gradient, so both show.

    gradtui check --layers samples/no_transpose.py --hidden 50,50 --isolate
    # step 7, lin3: RuntimeError at the BUG line; step 9, lin2, l2.g: "the transpose is missing"
"""

from gradtui.layers import Module


class Lin(Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
        return inp @ self.w + self.b

    def bwd(self, out, inp):
        inp.g = out.g @ self.w  # BUG: out.g @ self.w.t()
        self.w.g = inp.t() @ out.g
        self.b.g = out.g.sum(0)
