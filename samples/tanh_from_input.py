"""BUG: tanh's derivative taken from the input: 1 - inp², where it is 1 - tanh(inp)² = 1 - out².

    gradtui check --net lin,tanh,lin,mse --layers samples/tanh_from_input.py   # step 5, tanh1, l1.g
"""

from gradtui.layers import Module


class Tanh(Module):
    def forward(self, inp):
        return inp.tanh()

    def bwd(self, out, inp):
        inp.g = (1 - inp**2) * out.g  # BUG: (1 - out**2)
