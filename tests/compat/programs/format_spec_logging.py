"""Logging with format specs applied to tensors directly, as training scripts do:
``print(f"loss: {loss:>7f}")``, ``format(loss, ".4f")`` on a one-element tensor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def make_model(torch_like: Any) -> Any:
    return torch_like.nn.Linear(3, 1)


def run(torch_like: Any, init: dict | None) -> list[float]:
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(12)
    x = as_tensor(torch_like, rng.standard_normal((6, 3)))
    y = as_tensor(torch_like, rng.standard_normal((6, 1)))
    optimizer = torch_like.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for step in range(3):
        optimizer.zero_grad()
        loss = torch_like.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        line = f"step {step} loss: {loss:>7f} ({format(loss, '.4f')})"
        assert line == f"step {step} loss: {loss.item():>7f} ({loss.item():.4f})", line
        losses.append(loss.item())
    return losses
