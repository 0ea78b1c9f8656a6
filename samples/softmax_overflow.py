"""BUG: a softmax without the max subtracted: exp() of a logit above about 11 is Inf in float16
(above about 88 in float32). Unnormalised pixels (0 to 16) give such logits.

    gradtui check --net lin,relu,lin,cross_entropy --data samples/digits.npz --dtype float16 --layers samples/softmax_overflow.py
    # ≠ step 3, loss: "the softmax overflows"; step 4, cross_entropy, out.g
"""

from gradtui.layers import Module


class CrossEntropy(Module):
    def forward(self, inp, targ):
        softmax = inp.exp() / inp.exp().sum(1, keepdim=True)  # BUG: exp(inp - inp.max(1, keepdim=True).values)
        return -softmax[range(inp.shape[0]), targ].log().mean()

    def bwd(self, out, inp, targ):
        softmax = inp.exp() / inp.exp().sum(1, keepdim=True)  # BUG: the same overflow
        softmax[range(inp.shape[0]), targ] -= 1
        inp.g = softmax / inp.shape[0]
