"""A tiny hand-built classifier and data set for trainer tests (no nn layers needed)."""

from __future__ import annotations

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.nn import Module, Parameter
from chainrule.utils.data import DataLoader, TensorDataset


class TinyMLP(Module):
    """x -> tanh(x W1 + b1) W2 + b2, built from Parameters only."""

    def __init__(self, d_in: int = 4, hidden: int = 8, classes: int = 3, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.w1 = Parameter(cr.tensor(rng.normal(0, 0.5, (d_in, hidden)).astype(np.float32)))
        self.b1 = Parameter(cr.zeros(hidden))
        self.w2 = Parameter(cr.tensor(rng.normal(0, 0.5, (hidden, classes)).astype(np.float32)))
        self.b2 = Parameter(cr.zeros(classes))

    def forward(self, x):
        h = (x @ self.w1 + self.b1).tanh()
        if self.training and getattr(self, "drop", 0.0):
            h = F.dropout(h, self.drop, True)
        return h @ self.w2 + self.b2


def cross_entropy(logits, target):
    onehot = cr.tensor(np.eye(logits.shape[1], dtype=np.float32)[target.data])
    return -(F.log_softmax(logits, dim=1) * onehot).sum(dim=1).mean()


def blobs(n: int = 96, d: int = 4, classes: int = 3, seed: int = 0):
    """Gaussian blobs: an easy, separable classification problem."""
    centers = np.random.default_rng(1234).normal(0, 2, (classes, d))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = centers[y] + rng.normal(0, 1, (n, d))
    return cr.tensor(x.astype(np.float32)), cr.tensor(y.astype(np.int64))


def loaders(batch_size: int = 16, seed: int = 0, generator=None):
    x, y = blobs(seed=seed)
    xv, yv = blobs(n=48, seed=seed + 1)
    train = DataLoader(
        TensorDataset(x, y), batch_size=batch_size, shuffle=True, generator=generator
    )
    val = DataLoader(TensorDataset(xv, yv), batch_size=32)
    return train, val
