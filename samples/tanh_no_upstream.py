"""BUG: tanh's local derivative alone, without the gradient from above.

    gradtui check --net lin,tanh,lin,mse --layers samples/tanh_no_upstream.py   # step 6, tanh1, l1.g
"""

from gradtui.layers import Module


class Tanh(Module):
    def forward(self, inp):
        return inp.tanh()

    def bwd(self, out, inp):
        inp.g = 1 - out**2  # BUG: (1 - out**2) * out.g
