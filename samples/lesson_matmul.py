"""The lesson's own Module with the weight gradient as a matrix product (version 5), with the
notebook's shifted ReLU `clamp_min(0.) - 0.5`. Correct: the shift is a forward deviation (≠),
every gradient matches autograd. In bfloat16 the `.float()` mask promotes l1.g to float32:
a mismatch at step 6, with the cast named.

    gradtui check --layers samples/lesson_matmul.py                    # exit 0, ≠ at step 1
    gradtui check --layers samples/lesson_matmul.py --dtype bfloat16   # exit 1, step 6 relu1 l1.g: dtype
"""


class Module():
    def __call__(self, *args):
        self.args = args
        self.out = self.forward(*args)
        return self.out

    def forward(self): raise Exception('not implemented')
    def backward(self): self.bwd(self.out, *self.args)


class Relu(Module):
    def forward(self, inp): return inp.clamp_min(0.) - 0.5
    def bwd(self, out, inp): inp.g = (inp > 0).float() * out.g


class Lin(Module):
    def __init__(self, w, b): self.w, self.b = w, b

    def forward(self, inp): return inp @ self.w + self.b

    def bwd(self, out, inp):
        inp.g = out.g @ self.w.t()
        self.w.g = inp.t() @ out.g
        self.b.g = out.g.sum(0)


class Mse(Module):
    def forward(self, inp, targ): return (inp.squeeze() - targ).pow(2).mean()
    def bwd(self, out, inp, targ): inp.g = 2 * (inp.squeeze() - targ).unsqueeze(-1) / targ.shape[0]
