"""Rosenblatt's perceptron learning rule (no gradients): w_i <- w_i + eta (t - o) x_i.

A linear threshold unit o = [w . x + b >= 0] learns AND and OR in a few passes, because
they are linearly separable, but never learns XOR (Minsky and Papert, 1969): the loop
runs out of epochs with mistakes left.

Run: ``python examples/perceptron.py``.
"""

from __future__ import annotations

import chainrule as cr

X = cr.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
TARGETS = {
    "AND": cr.tensor([0.0, 0.0, 0.0, 1.0]),
    "OR": cr.tensor([0.0, 1.0, 1.0, 1.0]),
    "XOR": cr.tensor([0.0, 1.0, 1.0, 0.0]),
}


def train_perceptron(x, t, eta=1.0, epochs=20):
    """Returns (w, b, epochs used, mistakes in the last epoch)."""
    w = cr.zeros(x.shape[1])
    b = cr.tensor(0.0)
    for epoch in range(1, epochs + 1):
        mistakes = 0
        for xi, ti in zip(x, t):
            o = ((w * xi).sum() + b >= 0).float()  # the threshold unit's output
            if o.item() != ti.item():
                w = w + eta * (ti - o) * xi  # the perceptron learning rule
                b = b + eta * (ti - o)
                mistakes += 1
        if mistakes == 0:
            return w, b, epoch, 0
    return w, b, epochs, mistakes


for name, t in TARGETS.items():
    w, b, epochs, mistakes = train_perceptron(X, t)
    outputs = ((X * w).sum(dim=1) + b >= 0).float()
    status = "learned" if mistakes == 0 else f"NOT learned ({mistakes} mistakes per epoch)"
    print(
        f"{name:3s}: {status} after {epochs} epochs; w = {w.tolist()}, b = {b.item():.0f}, "
        f"outputs = {outputs.tolist()}"
    )
