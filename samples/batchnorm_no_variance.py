"""BUG: batch norm's input gradient without its variance term (the batch variance depends on every row).

    gradtui check --net lin,batchnorm,relu,lin,mse --init random --layers samples/batchnorm_no_variance.py   # step 8, l1.g
"""

from gradtui.layers import BatchNorm as Reference


class BatchNorm(Reference):
    def bwd(self, out, inp):
        n, dxhat = inp.shape[0], out.g * self.g
        inp.g = (n * dxhat - dxhat.sum(0)) / (n * self.std)  # BUG: - xhat * (dxhat * xhat).sum(0)
        self.g.g = (out.g * self.xhat).sum(0)
        self.b.g = out.g.sum(0)
