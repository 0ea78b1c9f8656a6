"""BUG: the softmax gradient from log-probabilities, where the probabilities belong.

    gradtui check --net lin,relu,lin,cross_entropy --layers samples/ce_log_softmax.py   # step 4, out.g
"""

from gradtui.layers import CrossEntropy as Reference


class CrossEntropy(Reference):
    def bwd(self, out, inp, targ):
        probs = inp.log_softmax(1)  # BUG: inp.softmax(1)
        probs[range(inp.shape[0]), targ] -= 1
        inp.g = probs / inp.shape[0]
