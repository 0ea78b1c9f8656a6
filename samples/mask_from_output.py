"""BUG: with the lesson's shifted ReLU, the mask is taken from the output: out > 0 where
inp > 0.5. The shift itself is fine (a deviation, ≠); the mask is the bug.

    gradtui check --layers samples/mask_from_output.py   # ≠ step 1; step 6, relu1, l1.g: "from the output"
"""

from gradtui.layers import Module


class Relu(Module):
    def forward(self, inp):
        return inp.clamp_min(0.) - 0.5

    def bwd(self, out, inp):
        inp.g = (out > 0).float() * out.g  # BUG: (inp > 0)
