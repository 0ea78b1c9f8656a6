"""BUG: the exercise's batch norm backward, with its n/(n−1), under a forward that divides the
variance by n: the backward differentiates a forward it does not have. The difference is of
order 1/n: float32 hides it at a batch of 1000, the float64 replay on the first 256 rows shows it.

    gradtui check --net lin,batchnorm,tanh,lin,mse --batch 1000 --layers samples/batchnorm_bessel_backward.py
"""

from gradtui.layers import BatchNorm as Reference


class BatchNorm(Reference):  # the reference forward: the variance divided by n
    def bwd(self, out, inp):
        n, dhpreact = inp.shape[0], out.g
        self.g.g = (self.xhat * dhpreact).sum(0)
        self.b.g = dhpreact.sum(0)
        inp.g = self.g / self.std / n * (
            n * dhpreact - dhpreact.sum(0) - n / (n - 1) * self.xhat * (dhpreact * self.xhat).sum(0))  # BUG: n/(n−1)
