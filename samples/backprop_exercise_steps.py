"""Correct: batch norm, tanh and cross-entropy backpropagated one variable at a time, as the
first exercise of the best-known hand-backprop notebook (makemore, "becoming a backprop ninja")
writes it, ported to the layer protocol. Its batch norm divides the variance by n−1 (Bessel's
correction), and so does its backward: exit 0, with the forward's deviation named.

    gradtui check --net lin,batchnorm,tanh,lin,cross_entropy --batch 1000 --layers samples/backprop_exercise_steps.py
"""

import torch
import torch.nn.functional as F


class BatchNorm:
    def __init__(self, bngain, bnbias):
        self.bngain, self.bnbias = bngain, bnbias

    def __call__(self, hprebn):
        n = hprebn.shape[0]
        self.hprebn = hprebn
        self.bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
        self.bndiff = hprebn - self.bnmeani
        self.bndiff2 = self.bndiff**2
        self.bnvar = 1 / (n - 1) * (self.bndiff2).sum(0, keepdim=True)
        self.bnvar_inv = (self.bnvar + 1e-5) ** -0.5
        self.bnraw = self.bndiff * self.bnvar_inv
        self.hpreact = self.bngain * self.bnraw + self.bnbias
        return self.hpreact

    def backward(self):
        n, dhpreact = self.hprebn.shape[0], self.hpreact.g
        self.bngain.g = (self.bnraw * dhpreact).sum(0)
        self.bnbias.g = dhpreact.sum(0)
        dbnraw = self.bngain * dhpreact
        dbndiff = self.bnvar_inv * dbnraw
        dbnvar_inv = (self.bndiff * dbnraw).sum(0, keepdim=True)
        dbnvar = (-0.5 * (self.bnvar + 1e-5) ** -1.5) * dbnvar_inv
        dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(self.bndiff2) * dbnvar
        dbndiff += (2 * self.bndiff) * dbndiff2
        dhprebn = dbndiff.clone()
        dbnmeani = (-dbndiff).sum(0)
        dhprebn += 1.0 / n * (torch.ones_like(self.hprebn) * dbnmeani)
        self.hprebn.g = dhprebn


class Tanh:
    def __call__(self, hpreact):
        self.hpreact = hpreact
        self.h = torch.tanh(hpreact)
        return self.h

    def backward(self):
        self.hpreact.g = (1.0 - self.h**2) * self.h.g


class CrossEntropy:
    def __call__(self, logits, Yb):
        n = logits.shape[0]
        self.logits, self.Yb = logits, Yb
        self.logit_maxes = logits.max(1, keepdim=True).values
        norm_logits = logits - self.logit_maxes
        self.counts = norm_logits.exp()
        self.counts_sum = self.counts.sum(1, keepdims=True)
        self.counts_sum_inv = self.counts_sum**-1
        self.probs = self.counts * self.counts_sum_inv
        self.logprobs = self.probs.log()
        self.loss = -self.logprobs[range(n), Yb].mean()
        return self.loss

    def backward(self):
        n = self.logits.shape[0]
        dlogprobs = torch.zeros_like(self.logprobs)
        dlogprobs[range(n), self.Yb] = -1.0 / n
        dprobs = (1.0 / self.probs) * dlogprobs
        dcounts_sum_inv = (self.counts * dprobs).sum(1, keepdim=True)
        dcounts = self.counts_sum_inv * dprobs
        dcounts_sum = (-self.counts_sum**-2) * dcounts_sum_inv
        dcounts += torch.ones_like(self.counts) * dcounts_sum
        dnorm_logits = self.counts * dcounts
        dlogits = dnorm_logits.clone()
        dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
        dlogits += F.one_hot(self.logits.max(1).indices, num_classes=self.logits.shape[1]) * dlogit_maxes
        self.logits.g = dlogits
