"""BUG: the ReLU gradient is its local derivative alone; the chain rule needs "* out.g".

    gradtui check --layers samples/relu_no_upstream.py   # step 6, relu1, l1.g: "missing * out.g"
"""

from gradtui.layers import Module


class Relu(Module):
    def forward(self, inp):
        return inp.clamp_min(0.0)

    def bwd(self, out, inp):
        inp.g = (inp > 0).float()  # BUG: * out.g is missing
