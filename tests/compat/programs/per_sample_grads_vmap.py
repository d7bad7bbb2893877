"""Per-sample gradients with ``vmap`` (the recipe of PyTorch's per-sample-gradients tutorial,
written here in our own words): a small CNN, its parameters and buffers as dicts of detached
tensors, ``compute_loss(params, buffers, sample, target)`` running the model on one sample
through ``functional_call``, and ``vmap(grad(compute_loss), in_dims=(None, None, 0, 0))`` for
the whole batch at once. The run returns the vmapped per-sample gradients followed by the same
gradients from a loop of ordinary per-sample backward passes; ``check`` asserts the two agree,
and the harness compares everything with PyTorch's run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

BATCH = 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(1, 3, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3 * 2 * 2, 4),
        nn.Tanh(),
        nn.Linear(4, 3),
    )


def _data(torch_like: Any) -> tuple[Any, Any]:
    rng = np.random.default_rng(11)
    return (
        as_tensor(torch_like, rng.standard_normal((BATCH, 1, 6, 6))),
        as_tensor(torch_like, rng.integers(0, 3, BATCH)),
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    F = torch_like.nn.functional
    func = torch_like.func
    data, targets = _data(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params: dict, buffers: dict, sample: Any, target: Any) -> Any:
        batch = sample.unsqueeze(0)  # the model expects a batch: make one of a single sample
        predictions = func.functional_call(model, (params, buffers), (batch,))
        return F.cross_entropy(predictions, target.unsqueeze(0))

    per_sample = func.vmap(func.grad(compute_loss), in_dims=(None, None, 0, 0))(
        params, buffers, data, targets
    )
    values = [v for k in sorted(per_sample) for v in per_sample[k].flatten().tolist()]

    looped: dict = {k: [] for k in params}
    for i in range(BATCH):  # the slow reference: one backward pass per sample
        model.zero_grad()
        F.cross_entropy(model(data[i : i + 1]), targets[i : i + 1]).backward()
        for k, p in model.named_parameters():
            looped[k].append(p.grad.detach().clone())
    for k in sorted(looped):
        values += torch_like.stack(looped[k]).flatten().tolist()
    return values


def check(values: list[float]) -> None:
    half = len(values) // 2
    np.testing.assert_allclose(values[:half], values[half:], rtol=1e-9, atol=1e-12)
