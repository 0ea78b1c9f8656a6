"""BUG: batch norm's backward written node by node (as samples/batchnorm_staged.py), with the -0.5
of d(var + eps)**-0.5 left out of dvar: in the collapsed formula, the variance term times -2.

    gradtui check --net lin,batchnorm,tanh,lin,mse --layers samples/batchnorm_dvar_half.py   # step 8, l1.g
"""

from gradtui.layers import BatchNorm as Reference


class BatchNorm(Reference):
    def bwd(self, out, inp):
        n, mu, std = inp.shape[0], inp.mean(0), self.std
        dx_norm = out.g * self.g
        dvar = (dx_norm * (inp - mu) * std**-3).sum(0)  # BUG: * -0.5, from d(var + eps)**-0.5
        dmu = (dx_norm * -1 / std).sum(0)
        inp.g = dx_norm / std + dvar * 2 * (inp - mu) / n + dmu / n
        self.g.g = (self.xhat * out.g).sum(0)
        self.b.g = out.g.sum(0)
