"""BUG: d(x²)/dx is 2x; the 2 is missing.

    gradtui check --layers samples/off_by_two.py      # step 4, mse, out.g: "off by 2"
"""

from gradtui.layers import Module


class Mse(Module):
    def forward(self, inp, targ):
        return (inp.squeeze(-1) - targ).pow(2).mean()

    def bwd(self, out, inp, targ):
        inp.g = (inp.squeeze(-1) - targ).unsqueeze(-1) / targ.shape[0]  # BUG: 2.0 * is missing
