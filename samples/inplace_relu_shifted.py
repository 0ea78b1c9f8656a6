"""BUG: the lesson's shifted ReLU computed in place: inp now holds the output, so the mask
(inp > 0) is taken where the output is positive (inp > 0.5), not where the input was.

    gradtui check --layers samples/inplace_relu_shifted.py   # step 6, relu1, l1.g: "changed l1 in place"
"""

from gradtui.layers import Module


class Relu(Module):
    def forward(self, inp):
        return inp.clamp_min_(0.).sub_(0.5)  # BUG: in place, so inp is lost

    def bwd(self, out, inp):
        inp.g = (inp > 0).float() * out.g
