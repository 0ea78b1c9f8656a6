"""BUG: an SGD step taken inside backward, before the input gradient is computed: inp.g then
uses the updated weights.

    gradtui check --layers samples/update_in_backward.py   # step 5, lin2, l2.g: "w2 changed in place"
"""

from gradtui.layers import Module

LR = 0.5


class Lin(Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
        return inp @ self.w + self.b

    def bwd(self, out, inp):
        self.w.g = inp.t() @ out.g
        self.b.g = out.g.sum(0)
        self.w -= LR * self.w.g  # BUG: update after the whole backward pass, not inside it
        inp.g = out.g @ self.w.t()
