"""BUG: a "clever" mask out / out: where the ReLU is off, out is 0 and 0 / 0 is NaN.

    gradtui check --layers samples/relu_nan.py        # step 6, relu1, l1.g: "NaN introduced at this step"
"""

from gradtui.layers import Module


class Relu(Module):
    def forward(self, inp):
        return inp.clamp_min(0.0)

    def bwd(self, out, inp):
        inp.g = (out / out) * out.g  # BUG: 0 / 0 = NaN; use (inp > 0)
