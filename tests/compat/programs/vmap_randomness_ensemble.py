"""Ensembles with dropout under ``torch.func.vmap``'s ``randomness`` flag, as the torch.func
"Model ensembling" tutorial and the ``vmap`` reference page describe it
(https://pytorch.org/docs/stable/generated/torch.func.vmap.html, "Randomness"):
``stack_module_state(models)`` and a stateless ``base_model = copy.deepcopy(models[0]).to(
'meta')``, ``functional_call(base_model, (params, buffers), (x,))`` vmapped with
``in_dims=(0, 0, None)`` and ``randomness="different"`` (each member draws its own dropout
mask) or ``randomness="same"`` (one mask shared across the ensemble), ``vmap(...,
randomness="error")`` raising on a random op (caught), ``torch.func.grad_and_value`` inside
the vmap for per-member gradients of a loss with ``has_aux``-free form; the members trained by
subtracting the vmapped gradients (``p.sub_(lr * g)`` on the stacked parameters).

Changed: four members of a 3-8-1 MLP with ``nn.Dropout(0.25)``, batch of 6, four steps.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["init_state", "run"]

M = 4


def _member(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.25), nn.Linear(8, 1))


def init_state(tmp_path: Any) -> list:
    import torch

    torch.manual_seed(0)
    with torch.device("cpu"):
        models = [_member(torch).double() for _ in range(M)]
    return [{k: v.detach().numpy().copy() for k, v in m.state_dict().items()} for m in models]


def run(torch_like: Any, init: list) -> list[float]:
    torch = torch_like
    func = torch.func
    models = []
    for state in init:
        m = _member(torch_like)
        load_numpy_state(torch_like, m, state)
        models.append(m)
    params, buffers = func.stack_module_state(models)
    base_model = copy.deepcopy(models[0]).to("meta")

    def fmodel(params: dict, buffers: dict, x: Any) -> Any:
        return func.functional_call(base_model, (params, buffers), (x,))

    def loss_fn(params: dict, buffers: dict, x: Any, y: Any) -> Any:
        return torch.nn.functional.mse_loss(fmodel(params, buffers, x), y)

    rng = np.random.default_rng(17)
    torch.manual_seed(3)
    values: list[float] = []
    for step in range(4):
        x = as_tensor(torch_like, rng.standard_normal((6, 3)))
        y = as_tensor(torch_like, rng.standard_normal((6, 1)))
        randomness = "different" if step % 2 == 0 else "same"
        preds = func.vmap(fmodel, in_dims=(0, 0, None), randomness=randomness)(params, buffers, x)
        values.extend(preds.sum((1, 2)).tolist())
        grads, losses = func.vmap(
            func.grad_and_value(loss_fn), in_dims=(0, 0, None, None), randomness=randomness
        )(params, buffers, x, y)
        values.extend(losses.tolist())
        with torch.no_grad():
            for name, p in params.items():
                p.sub_(0.1 * grads[name])
    try:
        func.vmap(fmodel, in_dims=(0, 0, None), randomness="error")(params, buffers, x)
        values.append(0.0)
    except RuntimeError:
        values.append(1.0)
    return values
