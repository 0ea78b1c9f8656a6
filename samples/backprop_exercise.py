"""Correct: batch norm, tanh and cross-entropy as the best-known hand-backprop exercise writes
them (makemore, "becoming a backprop ninja"), ported to the layer protocol.

Its batch norm divides the variance by n−1 (Bessel's correction) in the forward and carries
the matching n/(n−1) in its backward, so the backward is right for its own forward: exit 0,
with the forward's deviation from the reference batch norm (which divides by n) named.

    gradtui check --net lin,batchnorm,tanh,lin,cross_entropy --batch 1000 --layers samples/backprop_exercise.py
"""

import torch
import torch.nn.functional as F


class BatchNorm:
    def __init__(self, bngain, bnbias):
        self.bngain, self.bnbias = bngain, bnbias

    def __call__(self, hprebn):
        n = hprebn.shape[0]
        self.hprebn = hprebn
        bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
        bndiff = hprebn - bnmeani
        bnvar = 1 / (n - 1) * (bndiff**2).sum(0, keepdim=True)  # Bessel's correction
        self.bnvar_inv = (bnvar + 1e-5) ** -0.5
        self.bnraw = bndiff * self.bnvar_inv
        self.hpreact = self.bngain * self.bnraw + self.bnbias
        return self.hpreact

    def backward(self):
        n, dhpreact = self.hprebn.shape[0], self.hpreact.g
        self.bngain.g = (self.bnraw * dhpreact).sum(0)
        self.bnbias.g = dhpreact.sum(0)
        self.hprebn.g = self.bngain * self.bnvar_inv / n * (
            n * dhpreact - dhpreact.sum(0) - n / (n - 1) * self.bnraw * (dhpreact * self.bnraw).sum(0))


class Tanh:
    def __call__(self, hpreact):
        self.hpreact = hpreact
        self.h = torch.tanh(hpreact)
        return self.h

    def backward(self):
        self.hpreact.g = (1.0 - self.h**2) * self.h.g


class CrossEntropy:
    def __call__(self, logits, Yb):
        self.logits, self.Yb = logits, Yb
        self.loss = F.cross_entropy(logits, Yb)
        return self.loss

    def backward(self):
        n = self.logits.shape[0]
        dlogits = F.softmax(self.logits, 1)
        dlogits[range(n), self.Yb] -= 1
        self.logits.g = dlogits / n
