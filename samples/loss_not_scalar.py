"""BUG: the loss forgets its .mean(): a vector of N squared errors, not a scalar. The backward
is right for the mean, and gradtui judges it against autograd of the mean (and says so): the
run shows the deviation and exits 0; --strict-forward makes it fail.

    gradtui check --layers samples/loss_not_scalar.py   # ≠ step 3, mse, loss: ".mean()"
"""

from gradtui.layers import Module


class Mse(Module):
    def forward(self, inp, targ):
        return (inp.squeeze(-1) - targ).pow(2)  # BUG: .mean() is missing

    def bwd(self, out, inp, targ):
        inp.g = 2.0 * (inp.squeeze(-1) - targ).unsqueeze(-1) / targ.shape[0]
