"""Correct: a leaky ReLU (slope 0.1 below 0) whose forward runs through NumPy. Autograd cannot
follow it and its output is not the reference ReLU's (a deviation, ≠), so its backward is judged
by central finite differences of this forward, in float64, at sampled elements: exit 0.

    gradtui check --batch 1000 --layers samples/numpy_leaky_relu.py
"""

import numpy as np
import torch


class Relu:
    def __call__(self, inp):
        self.inp = inp
        a = inp.detach().cpu().numpy()
        self.out = torch.from_numpy(np.where(a > 0, a, 0.1 * a)).to(inp.device)
        return self.out

    def backward(self):
        self.inp.g = torch.where(self.inp > 0, self.out.g, 0.1 * self.out.g)
