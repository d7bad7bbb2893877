"""MAML on sine-wave regression, as the MAML tutorials and repositories write it: a small MLP,
an inner loop that adapts "fast weights" with ``torch.autograd.grad(..., create_graph=True)``
and applies them functionally, once through ``torch.func.functional_call`` on the module and
once through an explicit ``F.linear`` forward over an ``OrderedDict`` of weights, and an outer
Adam step on the mean query loss, whose gradient is second order (it flows back through the
inner gradient steps). The functorch form of the same algorithm (``torch.func.grad`` for the
inner step, ``vmap`` over the stacked tasks) and the two functional forms must all give the
same meta-gradient; a first-order (FOMAML) variant, ``create_graph=False``, gives another.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

HIDDEN, TASKS, SHOTS, INNER_STEPS, INNER_LR, META_STEPS = 16, 3, 5, 2, 0.05, 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        OrderedDict(
            [
                ("l1", nn.Linear(1, HIDDEN)),
                ("relu1", nn.ReLU()),
                ("l2", nn.Linear(HIDDEN, HIDDEN)),
                ("relu2", nn.ReLU()),
                ("l3", nn.Linear(HIDDEN, 1)),
            ]
        )
    )


def functional_forward(torch_like: Any, x: Any, weights: dict) -> Any:
    """The MLP written over explicit weights (the MAML repositories' ``forward(x, weights)``)."""
    F = torch_like.nn.functional
    x = F.relu(F.linear(x, weights["l1.weight"], weights["l1.bias"]))
    x = F.relu(F.linear(x, weights["l2.weight"], weights["l2.bias"]))
    return F.linear(x, weights["l3.weight"], weights["l3.bias"])


def sample_tasks(rng: np.random.Generator) -> list[tuple[np.ndarray, ...]]:
    tasks = []
    for _ in range(TASKS):
        amplitude, phase = rng.uniform(0.1, 5.0), rng.uniform(0, math.pi)
        xs = rng.uniform(-5.0, 5.0, (2 * SHOTS, 1))
        ys = amplitude * np.sin(xs + phase)
        tasks.append((xs[:SHOTS], ys[:SHOTS], xs[SHOTS:], ys[SHOTS:]))
    return tasks


def adapt(torch_like: Any, model: Any, x: Any, y: Any, *, use_func: bool, second: bool) -> dict:
    """Fast weights after ``INNER_STEPS`` SGD steps on the support set."""
    F = torch_like.nn.functional
    fast = OrderedDict(model.named_parameters())
    for _ in range(INNER_STEPS):
        if use_func:
            pred = torch_like.func.functional_call(model, fast, (x,))
        else:
            pred = functional_forward(torch_like, x, fast)
        loss = F.mse_loss(pred, y)
        grads = torch_like.autograd.grad(loss, list(fast.values()), create_graph=second)
        fast = OrderedDict(
            (name, w - INNER_LR * g) for (name, w), g in zip(fast.items(), grads, strict=True)
        )
    return fast


def meta_loss(torch_like: Any, model: Any, tasks: list, *, use_func: bool, second: bool) -> Any:
    F = torch_like.nn.functional
    total = 0.0
    for xs, ys, xq, yq in tasks:
        xs_t, ys_t = as_tensor(torch_like, xs), as_tensor(torch_like, ys)
        xq_t, yq_t = as_tensor(torch_like, xq), as_tensor(torch_like, yq)
        fast = adapt(torch_like, model, xs_t, ys_t, use_func=use_func, second=second)
        if use_func:
            pred = torch_like.func.functional_call(model, fast, xq_t)
        else:
            pred = functional_forward(torch_like, xq_t, fast)
        total = total + F.mse_loss(pred, yq_t)
    return total / len(tasks)


def vmapped_meta_loss(torch_like: Any, model: Any, tasks: list) -> Any:
    """The functorch MAML recipe: ``func.grad`` for the inner step, ``vmap`` over the tasks."""
    func = torch_like.func
    F = torch_like.nn.functional

    def loss_fn(params: dict, x: Any, y: Any) -> Any:
        return F.mse_loss(func.functional_call(model, params, (x,)), y)

    def task_loss(params: dict, xs: Any, ys: Any, xq: Any, yq: Any) -> Any:
        for _ in range(INNER_STEPS):
            grads = func.grad(loss_fn)(params, xs, ys)
            params = {k: params[k] - INNER_LR * grads[k] for k in params}
        return loss_fn(params, xq, yq)

    stacked = [as_tensor(torch_like, np.stack([task[i] for task in tasks])) for i in range(4)]
    params = dict(model.named_parameters())
    losses = func.vmap(task_loss, in_dims=(None, 0, 0, 0, 0))(params, *stacked)
    return losses.mean()


def run(torch_like: Any, init: dict) -> list[float]:
    rng = np.random.default_rng(23)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    meta_optim = torch_like.optim.Adam(model.parameters(), lr=1e-3)
    values: list[float] = []
    for _meta_step in range(META_STEPS):
        tasks = sample_tasks(rng)
        # the same meta-gradient through functional_call and through explicit F.linear
        loss_f = meta_loss(torch_like, model, tasks, use_func=False, second=True)
        grads_f = torch_like.autograd.grad(loss_f, list(model.parameters()))
        loss_fo = meta_loss(torch_like, model, tasks, use_func=True, second=False)
        grads_fo = torch_like.autograd.grad(loss_fo, list(model.parameters()))
        loss_v = vmapped_meta_loss(torch_like, model, tasks)
        grads_v = torch_like.autograd.grad(loss_v, tuple(model.parameters()))
        meta_optim.zero_grad()
        loss = meta_loss(torch_like, model, tasks, use_func=True, second=True)
        loss.backward()
        grad_gap = max((p.grad - g).abs().max().item() for p, g in zip(model.parameters(), grads_f))
        fo_gap = sum((p.grad - g).abs().sum().item() for p, g in zip(model.parameters(), grads_fo))
        vmap_gap = max((p.grad - g).abs().max().item() for p, g in zip(model.parameters(), grads_v))
        meta_optim.step()
        values += [loss.item(), loss_f.item(), loss_fo.item(), grad_gap, fo_gap]
        values += [loss_v.item(), vmap_gap]
        values += [g.norm().item() for g in grads_fo]
    with torch_like.no_grad():
        probe = torch_like.linspace(-5, 5, 7).unsqueeze(1)
        values += model(probe).squeeze(1).tolist()
    return values


def check(values: list[float]) -> None:
    width = 7 + 6
    for step in range(META_STEPS):
        row = values[width * step : width * step + 7]
        loss, loss_f, _loss_fo, grad_gap, fo_gap, loss_v, vmap_gap = row
        assert abs(loss - loss_f) <= 1e-10 * max(1.0, abs(loss))
        assert abs(loss - loss_v) <= 1e-10 * max(1.0, abs(loss))
        assert vmap_gap < 1e-10  # vmap over func.grad gives the same second-order gradient
        assert grad_gap < 1e-10  # functional_call and F.linear give the same meta-gradient
        assert fo_gap > 1e-8  # the second-order terms matter
