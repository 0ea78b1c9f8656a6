"""BUG: the ReLU mask is taken from out.g instead of the layer's input.

    gradtui check --layers samples/relu_mask.py       # step 6, relu1, l1.g: "mask taken from the wrong tensor"
"""

from gradtui.layers import Module


class Relu(Module):
    def forward(self, inp):
        return inp.clamp_min(0.0)

    def bwd(self, out, inp):
        inp.g = (out.g > 0).float() * out.g  # BUG: the mask is (inp > 0)
