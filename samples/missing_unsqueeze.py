"""BUG: the MSE gradient drops the trailing dimension: (N,) instead of (N, 1), the shape of inp.
Nothing was reduced, so keepdim is no fix; the reference lin2 after it cannot use it.

    gradtui check --layers samples/missing_unsqueeze.py   # step 4, mse, out.g: "unsqueeze(-1)"
"""

from gradtui.layers import Module


class Mse(Module):
    def forward(self, inp, targ):
        return (inp.squeeze(-1) - targ).pow(2).mean()

    def bwd(self, out, inp, targ):
        inp.g = 2 * (inp.squeeze(-1) - targ) / targ.shape[0]  # BUG: .unsqueeze(-1) is missing
