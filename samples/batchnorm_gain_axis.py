"""BUG: batch norm's gain gradient summed over the features instead of the batch.

    gradtui check --net lin,batchnorm,relu,lin,mse --layers samples/batchnorm_gain_axis.py   # step 7, gamma1.g
"""

from gradtui.layers import BatchNorm as Reference


class BatchNorm(Reference):
    def bwd(self, out, inp):
        super().bwd(out, inp)
        self.g.g = (out.g * self.xhat).sum(1)  # BUG: .sum(0), one value per feature
