"""A two-layer network trained with the lecture's loop: forward, loss, zero_grad, backward, step.

    f(x) = W2 g(W1 x + b1) + b2,   g = sigmoid

The data are two interleaved spirals: no straight line separates them, so the hidden layer's
non-linearity is what makes learning possible (without g, f would be a linear model).

Run: ``python examples/two_layer_network.py`` (add ``--quick`` for a few-second run).
"""

from __future__ import annotations

import sys

import numpy as np

import chainrule as cr
from chainrule import nn

QUICK = "--quick" in sys.argv
cr.manual_seed(0)

# --- data: two spirals, 200 points each ------------------------------------------------
rng = np.random.default_rng(0)
n = 200
t = np.sqrt(rng.uniform(0, 1, n)) * 3 * np.pi
spiral = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
x = np.concatenate([spiral, -spiral]) + rng.normal(0, 0.02, (2 * n, 2))
y = np.concatenate([np.zeros(n), np.ones(n)])
x, y = cr.tensor(x.astype(np.float32)), cr.tensor(y.astype(np.int64))

# --- model: W1 in R^{h x n}, W2 in R^{d x h} (nn.Linear stores exactly these) ------------
hidden = 64
model = nn.Sequential(
    nn.Linear(2, hidden),  # W1 x + b1
    nn.Sigmoid(),  # g
    nn.Linear(hidden, 2),  # W2 g(...) + b2: one score per class
)
loss_fn = nn.CrossEntropyLoss()
optimizer = cr.optim.Adam(model.parameters(), lr=0.02)

# --- the training loop ---------------------------------------------------------------------
steps = 300 if QUICK else 3000
for step in range(steps + 1):
    scores = model(x)  # 1. forward
    loss = loss_fn(scores, y)  # 2. loss
    optimizer.zero_grad()  # 3. clear the gradients of the previous step
    loss.backward()  # 4. backward: d loss / d every parameter
    optimizer.step()  # 5. update: theta <- theta - lr * (adapted) gradient
    if step % (steps // 5) == 0:
        acc = (scores.argmax(dim=1) == y).float().mean().item()
        print(f"step {step:5d}  loss {loss.item():.4f}  accuracy {100 * acc:.1f}%")

final = (model(x).argmax(dim=1) == y).float().mean().item()
print(f"final training accuracy: {100 * final:.1f}%  (a linear model gets about 50-65%)")
