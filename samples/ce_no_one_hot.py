"""BUG: the gradient of softmax + cross-entropy without the one-hot subtracted.

    gradtui check --net lin,relu,lin,cross_entropy --layers samples/ce_no_one_hot.py   # step 4, out.g: "one-hot"
"""

from gradtui.layers import CrossEntropy as Reference


class CrossEntropy(Reference):
    def bwd(self, out, inp, targ):
        inp.g = inp.softmax(1) / inp.shape[0]  # BUG: (softmax - one_hot(targ)) / N
