"""The lesson's functions (version 1), with the notebook's shifted ReLU `clamp_min(0.) - 0.5`.
gradtui's layer protocol takes classes, so three thin classes call the lesson's functions.
Correct: the shift is reported as a forward deviation (≠) and every gradient matches autograd.

    gradtui check --layers samples/lesson_functions.py --batch 1000   # exit 0, ≠ at step 1
"""


def lin(x, w, b):
    return x @ w + b


def relu(x):
    return x.clamp_min(0.) - 0.5


def mse(output, targ):
    return (output.squeeze(-1) - targ).pow(2).mean()


def mse_grad(inp, targ):
    # grad of loss with respect to output of previous layer
    inp.g = 2. * (inp.squeeze() - targ).unsqueeze(-1) / inp.shape[0]


def relu_grad(inp, out):
    # grad of relu with respect to input activations
    inp.g = (inp > 0).float() * out.g


def lin_grad(inp, out, w, b):
    # grad of matmul with respect to input
    inp.g = out.g @ w.t()
    w.g = (inp.unsqueeze(-1) * out.g.unsqueeze(1)).sum(0)
    b.g = out.g.sum(0)


class Lin:
    def __init__(self, w, b):
        self.w, self.b = w, b

    def __call__(self, inp):
        self.inp, self.out = inp, lin(inp, self.w, self.b)
        return self.out

    def backward(self):
        lin_grad(self.inp, self.out, self.w, self.b)


class Relu:
    def __call__(self, inp):
        self.inp, self.out = inp, relu(inp)
        return self.out

    def backward(self):
        relu_grad(self.inp, self.out)


class Mse:
    def __call__(self, inp, targ):
        self.inp, self.targ = inp, targ
        return mse(inp, targ)

    def backward(self):
        mse_grad(self.inp, self.targ)
