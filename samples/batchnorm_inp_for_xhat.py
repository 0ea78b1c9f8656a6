"""BUG: batch norm's gain gradient from the raw input, where the normalised xhat belongs.

    gradtui check --net lin,batchnorm,relu,lin,mse --init random --layers samples/batchnorm_inp_for_xhat.py   # step 8, gamma1.g
"""

from gradtui.layers import BatchNorm as Reference


class BatchNorm(Reference):
    def bwd(self, out, inp):
        super().bwd(out, inp)
        self.g.g = (out.g * inp).sum(0)  # BUG: (out.g * self.xhat).sum(0)
