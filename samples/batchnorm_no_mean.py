"""BUG: batch norm's input gradient without its mean term (the batch mean depends on every row).

    gradtui check --net lin,batchnorm,relu,lin,mse --init random --layers samples/batchnorm_no_mean.py   # step 8, l1.g
"""

from gradtui.layers import BatchNorm as Reference


class BatchNorm(Reference):
    def bwd(self, out, inp):
        n, dxhat = inp.shape[0], out.g * self.g
        inp.g = (n * dxhat - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)  # BUG: - dxhat.sum(0)
        self.g.g = (out.g * self.xhat).sum(0)
        self.b.g = out.g.sum(0)
