"""Composed learning-rate schedules and their checkpoints, as fine-tuning scripts and trainers
(Hugging Face-style warm-up + cosine, timm's one-cycle, Lightning's ``lr_scheduler_configs``)
build them, logged with ``scheduler.get_last_lr()`` after every step and resumed from a
checkpoint in the middle of the run.

The idioms: ``OneCycleLR`` with ``anneal_strategy='cos'`` and ``'linear'``, ``three_phase=True``
and ``cycle_momentum`` driving Adam's ``betas[0]`` (``base_momentum``/``max_momentum``), one
``max_lr`` per parameter group; ``SequentialLR([LinearLR(start_factor=...), CosineAnnealingLR(
T_max=..., eta_min=...)], milestones=[warmup])``; ``ChainedScheduler([...], optimizer=...)``;
``CosineAnnealingWarmRestarts(T_0, T_mult=2)`` stepped with fractional epochs
``scheduler.step(epoch + i / iters)``; ``ReduceLROnPlateau(mode='max', patience=..., cooldown=...,
threshold_mode='rel')`` fed a validation accuracy; ``LambdaLR`` with one lambda per parameter
group (a closure and a callable object, whose ``__dict__`` the state dict keeps). Every run is
checkpointed half-way: ``{'optimizer': optimizer.state_dict(), 'scheduler':
scheduler.state_dict()}`` written with ``torch.save`` to a buffer, read back with
``torch.load(weights_only=True)`` into a fresh model, optimizer and scheduler, and continued;
the resumed run must log exactly what the uninterrupted one logs.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

STEPS = 10
RESUME_AT = 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))


class WarmupDecay:
    """A picklable ``lr_lambda`` object (its attributes go into the scheduler's state dict)."""

    def __init__(self, warmup: int, decay: float) -> None:
        self.warmup = warmup
        self.decay = decay

    def __call__(self, epoch: int) -> float:
        if epoch < self.warmup:
            return (epoch + 1) / self.warmup
        return self.decay ** (epoch - self.warmup)


def batch(torch_like: Any) -> tuple[Any, Any]:
    rng = np.random.default_rng(1)
    return as_tensor(torch_like, rng.standard_normal((8, 3))), as_tensor(
        torch_like, rng.standard_normal((8, 2))
    )


class Run:
    """One model + optimizer + scheduler, stepped and logged; checkpointable mid-run."""

    def __init__(
        self, torch_like: Any, init: dict | None, build: Callable[[Any, Any], tuple[Any, Any]]
    ) -> None:
        self.torch = torch_like
        self.init = init
        self.build = build
        self.x, self.y = batch(torch_like)

    def fresh(self) -> tuple[Any, Any, Any]:
        model = make_model(self.torch)
        load_numpy_state(self.torch, model, self.init)
        optimizer, scheduler = self.build(self.torch, model)
        return model, optimizer, scheduler

    def step(self, model: Any, optimizer: Any, scheduler: Any) -> list[float]:
        optimizer.zero_grad()
        loss = self.torch.nn.functional.mse_loss(model(self.x), self.y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        logged = [loss.item(), *scheduler.get_last_lr()]
        for group in optimizer.param_groups:
            logged += [group["lr"], *group.get("betas", ()), group.get("momentum", 0.0)]
        return logged

    def straight_and_resumed(self) -> list[float]:
        model, optimizer, scheduler = self.fresh()
        straight = [v for _ in range(STEPS) for v in self.step(model, optimizer, scheduler)]
        model, optimizer, scheduler = self.fresh()
        resumed = [v for _ in range(RESUME_AT) for v in self.step(model, optimizer, scheduler)]
        buffer = io.BytesIO()
        self.torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
            },
            buffer,
        )
        buffer.seek(0)
        checkpoint = self.torch.load(buffer, weights_only=True)
        model, optimizer, scheduler = self.fresh()
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        resumed += [
            v for _ in range(RESUME_AT, STEPS) for v in self.step(model, optimizer, scheduler)
        ]
        assert np.allclose(straight, resumed, rtol=1e-12, atol=0), (self.build, straight, resumed)
        return [*straight, float(checkpoint["scheduler"].get("last_epoch", -1))]


def groups(model: Any, lrs: tuple[float, float]) -> list[dict]:
    return [
        {"params": model[0].parameters(), "lr": lrs[0]},
        {"params": model[2].parameters(), "lr": lrs[1]},
    ]


def one_cycle_cos(torch: Any, model: Any) -> tuple[Any, Any]:
    optimizer = torch.optim.Adam(groups(model, (1e-3, 1e-4)), betas=(0.9, 0.99))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[0.05, 0.01],
        total_steps=STEPS + 1,
        pct_start=0.3,
        anneal_strategy="cos",
        cycle_momentum=True,
        base_momentum=0.8,
        max_momentum=0.95,
    )
    return optimizer, scheduler


def one_cycle_linear_three_phase(torch: Any, model: Any) -> tuple[Any, Any]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=0.02,
        epochs=2,
        steps_per_epoch=6,
        anneal_strategy="linear",
        three_phase=True,
        div_factor=20.0,
        final_div_factor=50.0,
    )
    return optimizer, scheduler


def warmup_cosine(torch: Any, model: Any) -> tuple[Any, Any]:
    sched = torch.optim.lr_scheduler
    optimizer = torch.optim.SGD(groups(model, (0.1, 0.02)), momentum=0.9, nesterov=True)
    warmup = sched.LinearLR(optimizer, start_factor=0.25, end_factor=1.0, total_iters=3)
    cosine = sched.CosineAnnealingLR(optimizer, T_max=STEPS - 3, eta_min=1e-3)
    return optimizer, sched.SequentialLR(optimizer, schedulers=[warmup, cosine], milestones=[3])


def chained(torch: Any, model: Any) -> tuple[Any, Any]:
    sched = torch.optim.lr_scheduler
    optimizer = torch.optim.SGD(groups(model, (0.05, 0.05)), momentum=0.5)
    parts = [
        sched.LinearLR(optimizer, start_factor=0.5, total_iters=4),
        sched.ExponentialLR(optimizer, gamma=0.9),
        sched.StepLR(optimizer, step_size=3, gamma=0.5),
    ]
    return optimizer, sched.ChainedScheduler(parts, optimizer=optimizer)


def lambdas(torch: Any, model: Any) -> tuple[Any, Any]:
    optimizer = torch.optim.SGD(groups(model, (0.1, 0.03)), momentum=0.9)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda=[WarmupDecay(3, 0.8), lambda epoch: 1.0 / (1.0 + 0.5 * epoch)]
    )
    return optimizer, scheduler


def warm_restarts(torch_like: Any, init: dict | None) -> list[float]:
    """SGDR stepped per batch with a fractional epoch, resumed from its state dict."""
    torch = torch_like
    x, y = batch(torch)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.SGD(groups(model, (0.1, 0.01)), momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=1, T_mult=2, eta_min=1e-4
    )
    out: list[float] = []
    iters = 3
    saved = None
    for epoch in range(4):
        for i in range(iters):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step(epoch + i / iters)
            out += [loss.item(), *scheduler.get_last_lr(), scheduler.T_cur, scheduler.T_i]
        if epoch == 1:
            saved = scheduler.state_dict()
    restored = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=1)
    restored.load_state_dict(saved)
    out += [restored.T_0, restored.T_i, restored.T_mult, restored.T_cur, restored.last_epoch]
    restored.step(2.5)
    out += [*restored.get_last_lr(), restored.T_cur, restored.T_i]
    return out


def plateau(torch_like: Any, init: dict | None) -> list[float]:
    """Keras-style ReduceLROnPlateau on accuracy, with cooldown; its state survives a reload."""
    torch = torch_like
    x, y = batch(torch)
    model = make_model(torch)
    load_numpy_state(torch, model, init)

    def build() -> tuple[Any, Any]:
        optimizer = torch.optim.Adam(groups(model, (0.01, 0.002)))
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=0.5, patience=1, threshold=0.02, cooldown=2, eps=1e-5
        )
        return optimizer, scheduler

    optimizer, scheduler = build()
    accuracy = [0.40, 0.50, 0.505, 0.51, 0.49, 0.52, 0.60, 0.60, 0.61, 0.59, 0.58, 0.58]
    out: list[float] = []
    for epoch, acc in enumerate(accuracy):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step(acc)
        out += [loss.item(), *scheduler.get_last_lr(), scheduler.best]
        out += [scheduler.num_bad_epochs, scheduler.cooldown_counter, scheduler.last_epoch]
        if epoch == 5:
            state_opt, state_sched = optimizer.state_dict(), scheduler.state_dict()
            optimizer, scheduler = build()
            optimizer.load_state_dict(state_opt)
            scheduler.load_state_dict(state_sched)
            out += [float(state_sched["mode"] == "max"), state_sched["cooldown"]]
    return out


def run(torch_like: Any, init: dict | None) -> list[float]:
    out: list[float] = []
    for build in (one_cycle_cos, one_cycle_linear_three_phase, warmup_cosine, chained, lambdas):
        out += Run(torch_like, init, build).straight_and_resumed()
    state = lambdas(torch_like, make_model(torch_like))[1].state_dict()
    warm = state["lr_lambdas"][0]
    out += [warm["warmup"], warm["decay"], float(state["lr_lambdas"][1] is None)]
    out += warm_restarts(torch_like, init)
    out += plateau(torch_like, init)
    return out
