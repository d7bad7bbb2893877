"""Pre-1.0 style still found in older examples: the typed constructors ``FloatTensor`` /
``LongTensor`` / ``DoubleTensor``, ``torch.Tensor(rows, cols)`` allocation filled in place with
``uniform_``, ``x.type(torch.DoubleTensor)``/``x.type()`` strings, ``new_tensor``/``new_zeros``,
``requires_grad_()`` on a leaf, a manual gradient step under ``no_grad`` and ``grad.zero_()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["run"]


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(13)
    x = torch_like.FloatTensor(rng.standard_normal((8, 3)).tolist()).type(torch_like.DoubleTensor)
    labels = torch_like.LongTensor(rng.integers(0, 2, 8).tolist())
    assert x.type() == "torch.DoubleTensor" and labels.type() == "torch.LongTensor"
    y = labels.double().unsqueeze(1)

    w = torch_like.DoubleTensor(3, 1)
    assert tuple(w.shape) == (3, 1)
    w.uniform_(-1, 1)
    w.copy_(torch_like.DoubleTensor(rng.uniform(-1, 1, (3, 1)).tolist()))  # same start in both
    w.requires_grad_()
    b = x.new_zeros(1).requires_grad_()
    scale = x.new_tensor([0.5])
    losses = []
    for _step in range(4):
        pred = torch_like.sigmoid(x.mm(w) + b)
        loss = -(y * torch_like.log(pred) + (1 - y) * torch_like.log(1 - pred)).mean()
        loss.backward()
        with torch_like.no_grad():
            w -= scale * w.grad
            b -= scale * b.grad
            w.grad.zero_()
            b.grad.zero_()
        losses.append(loss.item())
    return [*losses, *w.detach().flatten().tolist()]
