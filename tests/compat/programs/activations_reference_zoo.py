"""The rarely used activation modules of ``torch.nn`` from their reference pages
(https://pytorch.org/docs/stable/nn.html#non-linear-activations-weighted-sum-nonlinearity), in a
trained MLP: ``nn.Threshold(0.1, 20)``, ``nn.Hardshrink(lambd=0.3)``, ``nn.Softshrink(0.2)``,
``nn.Tanhshrink()``, ``nn.Softsign()``, ``nn.LogSigmoid()``, ``nn.Softmin(dim=1)``,
``nn.RReLU(0.1, 0.3)`` (in ``eval()``, where it is the fixed leaky slope ``(lower+upper)/2``, and
in training with its random slopes drawn under ``torch.manual_seed``), ``nn.CELU(alpha=0.5)``,
``nn.Hardtanh(-2, 2)``, ``nn.ReLU6``, ``nn.Hardsigmoid``, ``nn.Hardswish``, ``nn.Mish``,
``nn.SELU`` with ``nn.AlphaDropout`` and ``nn.GLU(dim=-1)``; and the functional forms
``F.threshold``, ``F.rrelu(training=False)``, ``F.softmin`` and ``F.hardtanh_``.

Changed: the pages' random inputs replaced by a 6-feature regression batch, all modules
chained into one network trained for three Adam steps in each mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(6, 12),
        nn.Threshold(0.1, 20),
        nn.Linear(12, 12),
        nn.Hardshrink(lambd=0.3),
        nn.Softshrink(0.2),
        nn.Tanhshrink(),
        nn.Linear(12, 12),
        nn.Softsign(),
        nn.RReLU(0.1, 0.3),
        nn.CELU(alpha=0.5),
        nn.Linear(12, 12),
        nn.Hardtanh(-2, 2),
        nn.ReLU6(),
        nn.Hardsigmoid(),
        nn.Linear(12, 12),
        nn.Hardswish(),
        nn.Mish(),
        nn.SELU(),
        nn.AlphaDropout(0.0),
        nn.Linear(12, 8),
        nn.GLU(dim=-1),
        nn.LogSigmoid(),
        nn.Linear(4, 3),
        nn.Softmin(dim=1),
    )


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    rng = np.random.default_rng(5)
    values: list[float] = []
    torch.manual_seed(1)
    for step in range(6):
        model.train(step >= 3)
        x = as_tensor(torch_like, rng.standard_normal((5, 6)) * 2)
        y = as_tensor(torch_like, rng.dirichlet(np.ones(3), 5))
        out = model(x)
        extra = F.threshold(x, 0.5, -1.0).sum() + F.rrelu(x, training=False).sum()
        extra = extra + F.softmin(x, dim=0)[0].sum() + F.hardtanh_(x.clone(), -0.5, 0.5).sum()
        loss = F.mse_loss(out, y) + 1e-3 * extra
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.extend([loss.item(), out[:, 0].sum().item()])
    return values
