"""BUG: the MSE gradient forgets to squeeze inp: (N, 1) - (N,) broadcasts to (N, N), and the
unsqueeze makes it (N, N, 1). The forward is right.

    gradtui check --layers samples/mse_no_squeeze.py --batch 1000   # step 4, mse, out.g: "N×N broadcast"
"""

from gradtui.layers import Module


class Mse(Module):
    def forward(self, inp, targ):
        return (inp.squeeze(-1) - targ).pow(2).mean()

    def bwd(self, out, inp, targ):
        inp.g = 2 * (inp - targ).unsqueeze(-1) / targ.shape[0]  # BUG: inp.squeeze(-1) - targ
