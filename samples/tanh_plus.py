"""BUG: tanh's derivative with a plus: 1 + tanh², where it is 1 − tanh².

    gradtui check --net lin,tanh,lin,mse --layers samples/tanh_plus.py   # step 6, tanh1, l1.g
"""

from gradtui.layers import Module


class Tanh(Module):
    def forward(self, inp):
        return inp.tanh()

    def bwd(self, out, inp):
        inp.g = (1 + out**2) * out.g  # BUG: (1 - out**2)
