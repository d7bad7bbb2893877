"""A training checkpoint round trip: ``torch_like.save`` of a dict holding the epoch, the model's
and the optimizer's (Adam, with its per-parameter state) and the scheduler's state dicts and the
last loss; ``torch_like.load(path, weights_only=True)`` into a fresh model and optimizer; and
training continued from there must give the losses of an uninterrupted run.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

STEPS, RESUME_AT = 5, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))


def _setup(torch_like: Any, init: dict | None) -> tuple[Any, Any, Any]:
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch_like.optim.Adam(model.parameters(), lr=0.05, weight_decay=1e-3)
    scheduler = torch_like.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def _train(torch_like: Any, parts: tuple, batches: list, epochs: range) -> list[float]:
    model, optimizer, scheduler = parts
    losses = []
    for epoch in epochs:
        x, y = batches[epoch]
        optimizer.zero_grad()
        loss = torch_like.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(8)
    batches = [
        (
            as_tensor(torch_like, rng.standard_normal((8, 4))),
            as_tensor(torch_like, rng.standard_normal((8, 2))),
        )
        for _ in range(STEPS)
    ]
    straight = _train(torch_like, _setup(torch_like, init), batches, range(STEPS))

    parts = _setup(torch_like, init)
    resumed = _train(torch_like, parts, batches, range(RESUME_AT))
    model, optimizer, scheduler = parts
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "checkpoint.pt")
        torch_like.save(
            {
                "epoch": RESUME_AT,
                "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(),
                "scheduler_state_dict": scheduler.state_dict(),
                "loss": resumed[-1],
            },
            path,
        )
        del model, optimizer, scheduler, parts
        checkpoint = torch_like.load(path, weights_only=True)
    model, optimizer, scheduler = parts = _setup(torch_like, None)
    model.load_state_dict(checkpoint["model_state_dict"])
    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    scheduler.load_state_dict(checkpoint["scheduler_state_dict"])
    assert checkpoint["epoch"] == RESUME_AT and checkpoint["loss"] == resumed[-1]
    model.train()
    resumed += _train(torch_like, parts, batches, range(checkpoint["epoch"], STEPS))
    return [*straight, *resumed, optimizer.param_groups[0]["lr"]]


def check(values: list[float]) -> None:
    """Resuming from the checkpoint is exact: the same losses as the uninterrupted run."""
    assert values[:STEPS] == values[STEPS : 2 * STEPS], values
