"""Logistic regression: one linear unit, a sigmoid, and the cross-entropy loss.

    p(y=1 | x) = sigmoid(w . x + b),   loss = -[y log p + (1 - y) log(1 - p)]

trained by gradient descent on two Gaussian clouds. The gradient of this loss is simply
``(p - y) x``; we check autograd's gradient against that formula, then train.

Run: ``python examples/logistic_regression.py`` (``--quick`` for fewer steps).
"""

from __future__ import annotations

import sys

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

QUICK = "--quick" in sys.argv
cr.manual_seed(0)

rng = np.random.default_rng(0)
n = 500
x0 = rng.normal([-1.0, -1.0], 1.0, (n, 2))
x1 = rng.normal([1.5, 1.0], 1.0, (n, 2))
x = cr.tensor(np.concatenate([x0, x1]).astype(np.float32))
y = cr.tensor(np.concatenate([np.zeros(n), np.ones(n)]).astype(np.float32))

model = nn.Linear(2, 1)  # w . x + b

# autograd's gradient equals the textbook formula (p - y) x / N
logits = model(x).squeeze(1)
loss = F.binary_cross_entropy_with_logits(logits, y)  # stable: never takes log(0)
loss.backward()
p = F.sigmoid(logits).detach()
by_hand = ((p - y).unsqueeze(1) * x).mean(dim=0)
print("autograd dL/dw:", np.round(model.weight.grad.numpy().ravel(), 5))
print("(p - y) x / N: ", np.round(by_hand.numpy(), 5))

optimizer = cr.optim.SGD(model.parameters(), lr=0.5)
steps = 50 if QUICK else 500
for step in range(steps + 1):
    logits = model(x).squeeze(1)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % (steps // 5) == 0:
        acc = ((logits > 0).float() == y).float().mean().item()
        print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {100 * acc:.1f}%")

w, b = model.weight.detach().numpy().ravel(), model.bias.item()
print(f"decision boundary: {w[0]:.2f} x1 + {w[1]:.2f} x2 + {b:.2f} = 0")
