"""BUG: the difference is taken the wrong way round: targ - inp.

    gradtui check --layers samples/sign_flip.py       # step 4, mse, out.g: "sign flipped"
"""

from gradtui.layers import Module


class Mse(Module):
    def forward(self, inp, targ):
        return (inp.squeeze(-1) - targ).pow(2).mean()

    def bwd(self, out, inp, targ):
        inp.g = 2.0 * (targ - inp.squeeze(-1)).unsqueeze(-1) / targ.shape[0]  # BUG: inp - targ
