"""BUG: batch norm's input gradient as if the batch mean and variance were constants.

    gradtui check --net lin,batchnorm,relu,lin,mse --layers samples/batchnorm_constants.py   # step 7, l1.g
"""

from gradtui.layers import BatchNorm as Reference


class BatchNorm(Reference):
    def bwd(self, out, inp):
        inp.g = out.g * self.g / self.std  # BUG: the mean and the variance depend on inp too
        self.g.g = (out.g * self.xhat).sum(0)
        self.b.g = out.g.sum(0)
