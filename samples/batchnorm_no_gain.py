"""BUG: batch norm's input gradient without its gain: dxhat = out.g, not out.g * gamma. At the
notes' gain of 1 the two are the same number, so the run matches; the replay moves the gain
off 1 and finds it.

    gradtui check --net lin,batchnorm,relu,lin,mse --layers samples/batchnorm_no_gain.py   # step 8, l1.g
"""

from gradtui.layers import BatchNorm as Reference


class BatchNorm(Reference):
    def bwd(self, out, inp):
        n, dxhat = inp.shape[0], out.g  # BUG: out.g * self.g
        inp.g = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)
        self.g.g = (out.g * self.xhat).sum(0)
        self.b.g = out.g.sum(0)
