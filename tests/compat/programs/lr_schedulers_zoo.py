"""The learning-rate schedules real training scripts use, logged step by step as they log them
(``optimizer.param_groups[0]['lr']`` and ``scheduler.get_last_lr()``): timm/fastai-style
``OneCycleLR``, SGDR's ``CosineAnnealingWarmRestarts`` stepped per batch, the warm-up-then-
cosine ``SequentialLR`` of Hugging Face-style scripts, Detectron2/MMDetection ``MultiStepLR``,
Keras-style ``ReduceLROnPlateau`` on a validation metric, Smith's ``CyclicLR``, size-reduced to
a small regression model so that every schedule drives real optimizer steps.

The idioms: ``OneCycleLR(optimizer, max_lr=[...], total_steps=..., pct_start=...,
anneal_strategy='cos' | 'linear', div_factor=..., final_div_factor=..., three_phase=True)``
with ``cycle_momentum`` on SGD's ``momentum`` and on Adam's ``betas``;
``CosineAnnealingWarmRestarts(optimizer, T_0=..., T_mult=2, eta_min=...)`` stepped fractionally
``scheduler.step(epoch + i / iters)``; ``SequentialLR(optimizer,
schedulers=[LinearLR(start_factor=..., total_iters=...), CosineAnnealingLR(T_max=...)],
milestones=[...])``; ``ChainedScheduler([ConstantLR(...), ExponentialLR(...)])``;
``ReduceLROnPlateau(optimizer, mode='max', factor=..., patience=..., threshold=...,
threshold_mode='abs', cooldown=..., min_lr=[...])`` stepped with ``scheduler.step(val_acc)``;
``CyclicLR(optimizer, base_lr, max_lr, step_size_up=..., mode='triangular2' | 'exp_range',
gamma=..., cycle_momentum=True)``; ``PolynomialLR(total_iters=..., power=...)``;
``MultiStepLR(milestones=[...], gamma=...)``; parameter groups with different learning rates;
``scheduler.state_dict()`` / ``load_state_dict()`` round trips in the middle of a run (a fresh
optimizer and scheduler resumed from the saved states must continue the same schedule); and the
warning when ``scheduler.step()`` is called before ``optimizer.step()``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1))


class Trainer:
    """A model, its data and one optimizer step, as every training loop has them."""

    def __init__(self, torch_like: Any, init: dict) -> None:
        self.torch = torch_like
        self.init = init
        rng = np.random.default_rng(4)
        self.x = as_tensor(torch_like, rng.standard_normal((16, 4)))
        self.y = as_tensor(torch_like, rng.standard_normal((16, 1)))

    def fresh(self) -> Any:
        model = make_model(self.torch)
        load_numpy_state(self.torch, model, self.init)
        return model

    def groups(self, model: Any, lrs: tuple[float, float] = (0.1, 0.01)) -> list[dict]:
        return [
            {"params": model[0].parameters(), "lr": lrs[0]},
            {"params": model[2].parameters(), "lr": lrs[1]},
        ]

    def step(self, model: Any, optimizer: Any) -> float:
        optimizer.zero_grad()
        loss = self.torch.nn.functional.mse_loss(model(self.x), self.y)
        loss.backward()
        optimizer.step()
        return loss.item()


def lrs(optimizer: Any) -> list[float]:
    return [group["lr"] for group in optimizer.param_groups]


def one_cycle(t: Trainer) -> list[float]:
    torch = t.torch
    sched = torch.optim.lr_scheduler
    values: list[float] = []
    model = t.fresh()
    sgd = torch.optim.SGD(t.groups(model), lr=0.1, momentum=0.9, nesterov=True)
    scheduler = sched.OneCycleLR(
        sgd, max_lr=[0.2, 0.05], total_steps=8, pct_start=0.25, anneal_strategy="linear"
    )
    for _ in range(8):
        values += [t.step(model, sgd), *lrs(sgd), sgd.param_groups[0]["momentum"]]
        scheduler.step()
    adam = torch.optim.Adam(t.fresh().parameters(), lr=1e-3)
    scheduler = sched.OneCycleLR(
        adam, max_lr=0.01, epochs=2, steps_per_epoch=4, div_factor=10.0, final_div_factor=100.0
    )
    for _ in range(2):
        for _ in range(4):
            adam.step()
            scheduler.step()
            values += [scheduler.get_last_lr()[0], *adam.param_groups[0]["betas"]]
    model = t.fresh()
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = sched.OneCycleLR(sgd, max_lr=0.3, total_steps=9, three_phase=True)
    for _ in range(9):
        values += [t.step(model, sgd), sgd.param_groups[0]["lr"], sgd.param_groups[0]["momentum"]]
        scheduler.step()
    values += [sgd.param_groups[0]["initial_lr"], sgd.param_groups[0]["max_lr"]]
    return values


def warm_restarts(t: Trainer) -> list[float]:
    torch = t.torch
    model = t.fresh()
    optimizer = torch.optim.SGD(t.groups(model), lr=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=2, T_mult=2, eta_min=1e-4
    )
    values: list[float] = []
    iters = 3
    for epoch in range(5):
        for i in range(iters):
            values += [t.step(model, optimizer)]
            scheduler.step(epoch + i / iters)
            values += [*lrs(optimizer), scheduler.T_cur, float(scheduler.T_i)]
    return values


def sequential_and_chained(t: Trainer) -> list[float]:
    torch = t.torch
    sched = torch.optim.lr_scheduler
    model = t.fresh()
    optimizer = torch.optim.AdamW(t.groups(model, (1e-2, 5e-3)), weight_decay=0.05)
    warmup = sched.LinearLR(optimizer, start_factor=0.1, end_factor=1.0, total_iters=3)
    cosine = sched.CosineAnnealingLR(optimizer, T_max=5, eta_min=1e-5)
    scheduler = sched.SequentialLR(optimizer, schedulers=[warmup, cosine], milestones=[3])
    values: list[float] = []
    for _ in range(9):
        values += [t.step(model, optimizer), *scheduler.get_last_lr()]
        scheduler.step()
    optimizer = torch.optim.SGD(t.fresh().parameters(), lr=1.0)
    chained = sched.ChainedScheduler(
        [
            sched.ConstantLR(optimizer, factor=0.5, total_iters=2),
            sched.ExponentialLR(optimizer, 0.9),
        ]
    )
    for _ in range(5):
        optimizer.step()
        chained.step()
        values += [*chained.get_last_lr(), optimizer.param_groups[0]["lr"]]
    return values


def plateau(t: Trainer) -> list[float]:
    torch = t.torch
    model = t.fresh()
    optimizer = torch.optim.SGD(t.groups(model), lr=0.1, momentum=0.5)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="max",
        factor=0.5,
        patience=1,
        threshold=0.01,
        threshold_mode="abs",
        cooldown=1,
        min_lr=[0.02, 0.004],
    )
    accuracies = [0.5, 0.6, 0.605, 0.61, 0.6, 0.59, 0.7, 0.69, 0.69, 0.68, 0.68, 0.67]
    values: list[float] = []
    for val_acc in accuracies:
        values += [t.step(model, optimizer)]
        scheduler.step(val_acc)
        values += [*lrs(optimizer), *scheduler.get_last_lr(), float(scheduler.num_bad_epochs)]
        values += [float(scheduler.cooldown_counter), scheduler.best]
    state = scheduler.state_dict()
    values += [float(state["last_epoch"]), float(len(state["min_lrs"]))]
    return values


def cyclic_poly_multistep(t: Trainer) -> list[float]:
    torch = t.torch
    sched = torch.optim.lr_scheduler
    values: list[float] = []
    model = t.fresh()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = sched.CyclicLR(
        optimizer, base_lr=0.01, max_lr=0.1, step_size_up=2, mode="triangular2"
    )
    for _ in range(10):
        values += [t.step(model, optimizer), optimizer.param_groups[0]["lr"]]
        values += [optimizer.param_groups[0]["momentum"]]
        scheduler.step()
    optimizer = torch.optim.SGD(t.groups(model), lr=0.1, momentum=0.9)
    scheduler = sched.CyclicLR(
        optimizer,
        base_lr=[0.01, 0.001],
        max_lr=[0.1, 0.01],
        step_size_up=2,
        step_size_down=3,
        mode="exp_range",
        gamma=0.9,
        base_momentum=0.8,
        max_momentum=0.95,
    )
    for _ in range(8):
        values += [t.step(model, optimizer), *scheduler.get_last_lr()]
        values += [optimizer.param_groups[1]["momentum"]]
        scheduler.step()
    optimizer = torch.optim.SGD(t.groups(model), lr=0.1)
    poly = sched.PolynomialLR(optimizer, total_iters=4, power=2.0)
    for _ in range(6):
        values += [t.step(model, optimizer), *lrs(optimizer)]
        poly.step()
    optimizer = torch.optim.SGD(t.groups(model), lr=0.1)
    multi = sched.MultiStepLR(optimizer, milestones=[2, 4, 4], gamma=0.1)
    for _ in range(6):
        values += [t.step(model, optimizer), *multi.get_last_lr()]
        multi.step()
    values += [float(multi.milestones[4]), float(sum(multi.state_dict()["milestones"].values()))]
    return values


def resume_mid_run(t: Trainer) -> list[float]:
    """Save optimizer and scheduler states mid-run, resume in fresh objects, continue."""
    torch = t.torch
    sched = torch.optim.lr_scheduler

    def build(model: Any) -> tuple[Any, Any]:
        optimizer = torch.optim.SGD(t.groups(model), lr=0.1, momentum=0.9)
        scheduler = sched.OneCycleLR(optimizer, max_lr=[0.3, 0.03], total_steps=10)
        return optimizer, scheduler

    model = t.fresh()
    optimizer, scheduler = build(model)
    straight: list[float] = []
    for _ in range(10):
        straight += [t.step(model, optimizer), *lrs(optimizer)]
        scheduler.step()
    model = t.fresh()
    optimizer, scheduler = build(model)
    resumed: list[float] = []
    for _ in range(4):
        resumed += [t.step(model, optimizer), *lrs(optimizer)]
        scheduler.step()
    opt_state, sched_state = optimizer.state_dict(), scheduler.state_dict()
    optimizer, scheduler = build(model)
    optimizer.load_state_dict(opt_state)
    scheduler.load_state_dict(sched_state)
    for _ in range(6):
        resumed += [t.step(model, optimizer), *lrs(optimizer)]
        scheduler.step()
    same = float(np.allclose(straight, resumed, rtol=1e-12, atol=0))
    return [same, *resumed, float(sched_state["last_epoch"]), float(sched_state["total_steps"])]


def step_order_warning(t: Trainer) -> list[float]:
    torch = t.torch
    model = t.fresh()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scheduler.step()  # before any optimizer.step(): warned
        t.step(model, optimizer)
        scheduler.step()  # in the right order: silent
    messages = [str(w.message) for w in caught]
    warned = [m for m in messages if "lr_scheduler.step()" in m and "optimizer.step()" in m]
    return [float(len(warned)), float(len(messages)), *scheduler.get_last_lr()]


def run(torch_like: Any, init: dict) -> list[float]:
    t = Trainer(torch_like, init)
    values: list[float] = []
    for part in (
        one_cycle,
        warm_restarts,
        sequential_and_chained,
        plateau,
        cyclic_poly_multistep,
        resume_mid_run,
        step_order_warning,
    ):
        values += part(t)
    return values
