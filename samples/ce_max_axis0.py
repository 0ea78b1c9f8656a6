"""BUG: a stable softmax that subtracts the max over the batch (axis 0), not each row's.

    gradtui check --net lin,relu,lin,cross_entropy --layers samples/ce_max_axis0.py   # step 4, out.g
"""

from gradtui.layers import CrossEntropy as Reference


class CrossEntropy(Reference):
    def bwd(self, out, inp, targ):
        e = (inp - inp.max(0, keepdim=True).values).exp()  # BUG: inp.max(1, keepdim=True)
        probs = e / e.sum(1, keepdim=True)
        probs[range(inp.shape[0]), targ] -= 1
        inp.g = probs / inp.shape[0]
