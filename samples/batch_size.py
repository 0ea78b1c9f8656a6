"""BUG: the loss is a mean over N rows, but its gradient forgets to divide by N.

    gradtui check --layers samples/batch_size.py      # step 4, mse, out.g: "off by the batch size"
"""

from gradtui.layers import Module


class Mse(Module):
    def forward(self, inp, targ):
        return (inp.squeeze(-1) - targ).pow(2).mean()

    def bwd(self, out, inp, targ):
        inp.g = 2.0 * (inp.squeeze(-1) - targ).unsqueeze(-1)  # BUG: / targ.shape[0] is missing
