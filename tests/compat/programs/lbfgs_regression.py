"""L-BFGS on a small polynomial regression with a ``closure``, with the strong-Wolfe line search
and with fixed steps: the pattern of the optimisation tutorials (``optimizer.step(closure)``
returns the closure's first loss).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def make_model(torch_like: Any) -> Any:
    return torch_like.nn.Linear(3, 1)


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(5)
    t = rng.uniform(-1, 1, (30, 1))
    features = as_tensor(torch_like, np.concatenate([t, t**2, t**3], axis=1))
    target = as_tensor(torch_like, 0.5 - 2 * t + t**3 + 0.05 * rng.standard_normal((30, 1)))
    losses = []
    for line_search_fn, lr in (("strong_wolfe", 1.0), (None, 0.5)):
        losses += _fit(torch_like, init, features, target, line_search_fn, lr)
    return losses


def _fit(
    torch_like: Any,
    init: dict | None,
    features: Any,
    target: Any,
    line_search_fn: str | None,
    lr: float,
) -> list[float]:
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    criterion = torch_like.nn.MSELoss()
    optimizer = torch_like.optim.LBFGS(
        model.parameters(), lr=lr, max_iter=5, history_size=4, line_search_fn=line_search_fn
    )

    def closure() -> Any:
        optimizer.zero_grad()
        loss = criterion(model(features), target)
        loss.backward()
        return loss

    losses = [optimizer.step(closure).item() for _step in range(3)]
    with torch_like.no_grad():
        losses.append(criterion(model(features), target).item())
    return losses
