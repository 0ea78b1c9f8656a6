"""BUG: the softmax gradient is not divided by the batch size (the loss is a mean).

    gradtui check --net lin,relu,lin,cross_entropy --layers samples/ce_no_mean.py   # step 4, out.g: "off by the batch size"
"""

from gradtui.layers import CrossEntropy as Reference


class CrossEntropy(Reference):
    def bwd(self, out, inp, targ):
        softmax = inp.softmax(1)
        softmax[range(inp.shape[0]), targ] -= 1
        inp.g = softmax  # BUG: / inp.shape[0]
