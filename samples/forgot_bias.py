"""BUG: the forward forgets "+ b". With the notes' zero biases nothing shows: use --init random.

    gradtui check --layers samples/forgot_bias.py --init random   # step 0, lin1, l1: "missing the bias"
"""

from gradtui.layers import Module


class Lin(Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
        return inp @ self.w  # BUG: + self.b is missing

    def bwd(self, out, inp):
        inp.g = out.g @ self.w.t()
        self.w.g = inp.t() @ out.g
        self.b.g = out.g.sum(0)
