"""The optimizers of ``torch.optim``'s algorithm table that the drop-in programs had not used,
each constructed as its reference page documents it (https://pytorch.org/docs/stable/optim.html):
``optim.Rprop(params, lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-06, 50))``, ``optim.ASGD(params,
lr=0.01, lambd=1e-4, alpha=0.75, t0=2)`` whose running average lives in
``optimizer.state[p]["ax"]`` (swapped into the model for evaluation, the averaged-SGD recipe of
the AWD-LSTM language model ``main.py``: ``tmp[prm] = prm.data.clone(); prm.data =
optimizer.state[prm]['ax'].clone()``), ``optim.NAdam(..., momentum_decay=4e-3,
decoupled_weight_decay=True)`` and ``optim.RAdam(..., decoupled_weight_decay=True)``; the
optimizer hooks ``register_step_pre_hook`` / ``register_step_post_hook`` (counting steps and
reading ``optimizer.param_groups``) and their ``handle.remove()``; per-parameter-group options
(``[{"params": ..., "lr": ...}, {"params": ...}]``).

Changed: one two-layer regression MLP per optimizer, five steps each.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(2)
    x = as_tensor(torch_like, rng.standard_normal((16, 4)))
    y = as_tensor(torch_like, rng.standard_normal((16, 1)))
    values: list[float] = []
    factories = [
        lambda p: torch.optim.Rprop(p, lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-06, 50)),
        lambda p: torch.optim.ASGD(p, lr=0.05, lambd=1e-4, alpha=0.75, t0=2),
        lambda p: torch.optim.NAdam(
            p, lr=0.02, weight_decay=0.1, momentum_decay=4e-3, decoupled_weight_decay=True
        ),
        lambda p: torch.optim.RAdam(p, lr=0.02, weight_decay=0.1, decoupled_weight_decay=True),
    ]
    for make_opt in factories:
        model = make_model(torch_like)
        load_numpy_state(torch_like, model, init)
        groups = [
            {"params": model[0].parameters(), "lr": 0.03},
            {"params": model[2].parameters()},
        ]
        optimizer = make_opt(groups)
        seen: list[float] = []
        pre = optimizer.register_step_pre_hook(
            lambda opt, args, kwargs, seen=seen: seen.append(opt.param_groups[0]["lr"])
        )
        post = optimizer.register_step_post_hook(
            lambda opt, args, kwargs, seen=seen: seen.append(1.0)
        )
        for step in range(5):
            loss = nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())
            if step == 2:
                pre.remove()
                post.remove()
        values.append(sum(seen) + len(seen))
        if isinstance(optimizer, torch.optim.ASGD):
            tmp = {}
            for prm in model.parameters():
                tmp[prm] = prm.data.clone()
                prm.data = optimizer.state[prm]["ax"].clone()
            values.append(nn.functional.mse_loss(model(x), y).item())
            for prm in model.parameters():
                prm.data = tmp[prm].clone()
            values.append(float(optimizer.state[model[0].weight]["eta"]))
            values.append(float(optimizer.state[model[0].weight]["mu"]))
        values.append(nn.functional.mse_loss(model(x), y).item())
    return values
