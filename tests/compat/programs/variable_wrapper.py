"""The oldest idiom of all: ``torch.autograd.Variable(tensor, requires_grad=True)``, which today
returns the tensor itself (marked as requiring grad when asked), still used by older examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["run"]


def run(torch_like: Any, init: dict | None) -> list[float]:
    Variable = torch_like.autograd.Variable
    rng = np.random.default_rng(14)
    x = Variable(as_tensor(torch_like, rng.standard_normal((6, 2))))
    y = Variable(as_tensor(torch_like, rng.standard_normal((6, 1))), requires_grad=False)
    w = Variable(as_tensor(torch_like, rng.standard_normal((2, 1))), requires_grad=True)
    assert isinstance(w, torch_like.Tensor) and w.requires_grad and not x.requires_grad
    losses = []
    for _step in range(3):
        loss = (x.mm(w) - y).pow(2).mean()
        loss.backward()
        with torch_like.no_grad():
            w -= 0.1 * w.grad
        w.grad.zero_()
        losses.append(loss.item())
    return losses
