"""BUG: inp is (N, 1) and targ is (N,): inp - targ broadcasts to (N, N), N² numbers.
At N = 50 000 that is 10 GB, so try it with a small batch.

    gradtui check --layers samples/nxn_broadcast.py --batch 1000   # step 3, mse, loss: "N×N broadcast"
"""

from gradtui.layers import Module


class Mse(Module):
    def forward(self, inp, targ):
        return (inp - targ).pow(2).mean()  # BUG: should be inp.squeeze(-1) - targ

    def bwd(self, out, inp, targ):
        inp.g = 2.0 * (inp - targ) / targ.shape[0]  # BUG: the same broadcast
