"""The lesson's layers as classes (version 3), with the notebook's shifted ReLU
`clamp_min(0.) - 0.5` and the giant outer product for the weight gradient.
Correct: the shift is reported as a forward deviation (≠) and every gradient matches autograd.

    gradtui check --layers samples/lesson_classes.py --batch 1000   # exit 0, ≠ at step 1
"""


class Relu():
    def __call__(self, inp):
        self.inp = inp
        self.out = inp.clamp_min(0.) - 0.5
        return self.out

    def backward(self): self.inp.g = (self.inp > 0).float() * self.out.g


class Lin():
    def __init__(self, w, b): self.w, self.b = w, b

    def __call__(self, inp):
        self.inp = inp
        self.out = inp @ self.w + self.b
        return self.out

    def backward(self):
        self.inp.g = self.out.g @ self.w.t()
        # Creating a giant outer product, just to sum it, is inefficient!
        self.w.g = (self.inp.unsqueeze(-1) * self.out.g.unsqueeze(1)).sum(0)
        self.b.g = self.out.g.sum(0)


class Mse():
    def __call__(self, inp, targ):
        self.inp = inp
        self.targ = targ
        self.out = (inp.squeeze() - targ).pow(2).mean()
        return self.out

    def backward(self):
        self.inp.g = 2. * (self.inp.squeeze() - self.targ).unsqueeze(-1) / self.targ.shape[0]
