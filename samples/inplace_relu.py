"""Correct: a ReLU computed in place. Its output is its input (they share storage), and the
mask (inp > 0) reads the same either way. gradtui notes the aliasing and passes it.

    gradtui check --layers samples/inplace_relu.py   # exit 0, a note at step 1
"""

from gradtui.layers import Module


class Relu(Module):
    def forward(self, inp):
        return inp.clamp_min_(0.)

    def bwd(self, out, inp):
        inp.g = (inp > 0).float() * out.g
