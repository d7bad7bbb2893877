"""The learning-rate range test of davidtvs/pytorch-lr-finder (``torch_lr_finder/lr_finder.py``:
``LRFinder.range_test``, ``ExponentialLR``, ``LinearLR``, ``StateCacher``), size-reduced.

The idioms: custom schedulers subclassing ``torch.optim.lr_scheduler._LRScheduler`` (and its
public name ``LRScheduler``) whose ``get_lr`` reads ``self.last_epoch`` and ``self.base_lrs``
(``r = curr_iter / self.num_iter``; ``[base_lr * (self.end_lr / base_lr) ** r for base_lr in
self.base_lrs]`` and the linear ``base_lr + r * (self.end_lr - base_lr)``), constructed with
``last_epoch=-1`` and stepped once per iteration, ``get_last_lr()[0]``; ``_set_learning_rate``'s
``for param_group in self.optimizer.param_groups: param_group["lr"] = new_lr`` (with a list of
lrs, one per group, checked with ``len(new_lrs) != len(self.optimizer.param_groups)``); the
``StateCacher`` keeping ``copy.deepcopy(state_dict)`` of the model and optimizer in memory and
``reset()`` restoring them with ``load_state_dict``; gradient accumulation over sub-batches
(``loss = loss / accumulation_steps``, ``loss.backward()`` per sub-batch, one
``optimizer.step()``); ``torch.nn.utils.clip_grad_value_``; the smoothed loss
(``loss = smooth_f * loss + (1 - smooth_f) * self.history["loss"][-1]``), the divergence stop
(``loss > diverge_th * self.best_loss``), ``history["lr"]`` / ``history["loss"]`` and the
suggestion by the steepest gradient (``np.gradient(np.array(losses)).argmin()``).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_IN, HIDDEN, BATCH, ACCUM = 4, 8, 12, 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(N_IN, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 1))


def _schedulers(torch_like: Any) -> tuple[type, type]:
    lr_scheduler = torch_like.optim.lr_scheduler
    _LRScheduler = lr_scheduler._LRScheduler
    LRScheduler = lr_scheduler.LRScheduler

    class LinearLR(_LRScheduler):
        """Linearly increases the learning rate between two boundaries over iterations."""

        def __init__(
            self, optimizer: Any, end_lr: float, num_iter: int, last_epoch: int = -1
        ) -> None:
            self.end_lr = end_lr
            if num_iter <= 1:
                raise ValueError("`num_iter` must be larger than 1")
            self.num_iter = num_iter
            super().__init__(optimizer, last_epoch)

        def get_lr(self) -> list[float]:
            curr_iter = self.last_epoch
            r = curr_iter / (self.num_iter - 1)
            return [base_lr + r * (self.end_lr - base_lr) for base_lr in self.base_lrs]

    class ExponentialLR(LRScheduler):
        """Exponentially increases the learning rate between two boundaries over iterations."""

        def __init__(
            self, optimizer: Any, end_lr: float, num_iter: int, last_epoch: int = -1
        ) -> None:
            self.end_lr = end_lr
            if num_iter <= 1:
                raise ValueError("`num_iter` must be larger than 1")
            self.num_iter = num_iter
            super().__init__(optimizer, last_epoch)

        def get_lr(self) -> list[float]:
            curr_iter = self.last_epoch
            r = curr_iter / (self.num_iter - 1)
            return [base_lr * (self.end_lr / base_lr) ** r for base_lr in self.base_lrs]

    return LinearLR, ExponentialLR


class StateCacher:
    """Keeps ``copy.deepcopy`` of state dicts in memory (``cache_dir`` unused: in memory)."""

    def __init__(self, in_memory: bool = True) -> None:
        self.in_memory = in_memory
        self.cached: dict[str, Any] = {}

    def store(self, key: str, state_dict: dict) -> None:
        self.cached.update({key: copy.deepcopy(state_dict)})

    def retrieve(self, key: str) -> dict:
        if key not in self.cached:
            raise KeyError(f"Target {key} was not cached.")
        return self.cached.get(key)


class LRFinder:
    def __init__(self, torch_like: Any, model: Any, optimizer: Any, criterion: Any) -> None:
        self.torch = torch_like
        self.optimizer = optimizer
        self.model = model
        self.criterion = criterion
        self.history: dict[str, list[float]] = {"lr": [], "loss": []}
        self.best_loss: float | None = None
        self.state_cacher = StateCacher()
        self.state_cacher.store("model", self.model.state_dict())
        self.state_cacher.store("optimizer", self.optimizer.state_dict())

    def reset(self) -> None:
        self.model.load_state_dict(self.state_cacher.retrieve("model"))
        self.optimizer.load_state_dict(self.state_cacher.retrieve("optimizer"))

    def _set_learning_rate(self, new_lrs: Any) -> None:
        if not isinstance(new_lrs, list):
            new_lrs = [new_lrs] * len(self.optimizer.param_groups)
        if len(new_lrs) != len(self.optimizer.param_groups):
            raise ValueError(
                "Length of `new_lrs` is not equal to the number of parameter groups "
                + "in the given optimizer"
            )
        for param_group, new_lr in zip(self.optimizer.param_groups, new_lrs, strict=True):
            param_group["lr"] = new_lr

    def _train_batch(self, batches: list, accumulation_steps: int) -> float:
        self.model.train()
        total_loss = None
        self.optimizer.zero_grad()
        for inputs, labels in batches[:accumulation_steps]:
            outputs = self.model(inputs)
            loss = self.criterion(outputs, labels)
            loss /= accumulation_steps
            loss.backward()
            total_loss = loss if total_loss is None else total_loss + loss
        self.torch.nn.utils.clip_grad_value_(self.model.parameters(), clip_value=1.0)
        self.optimizer.step()
        return total_loss.item()

    def range_test(
        self,
        data: list,
        start_lr: float | None = None,
        end_lr: float = 10.0,
        num_iter: int = 12,
        step_mode: str = "exp",
        smooth_f: float = 0.05,
        diverge_th: float = 5.0,
        accumulation_steps: int = 1,
    ) -> None:
        self.history = {"lr": [], "loss": []}
        self.best_loss = None
        if start_lr:
            self._set_learning_rate(start_lr)
        linear, exponential = _schedulers(self.torch)
        if step_mode.lower() == "exp":
            lr_schedule = exponential(self.optimizer, end_lr, num_iter)
        elif step_mode.lower() == "linear":
            lr_schedule = linear(self.optimizer, end_lr, num_iter)
        else:
            raise ValueError(f"expected one of (exp, linear), got {step_mode}")
        if smooth_f < 0 or smooth_f >= 1:
            raise ValueError("smooth_f is outside the range [0, 1[")
        for iteration in range(num_iter):
            batches = data[iteration % len(data)]
            loss = self._train_batch(batches, accumulation_steps)
            self.history["lr"].append(lr_schedule.get_last_lr()[0])
            lr_schedule.step()
            if iteration == 0:
                self.best_loss = loss
            else:
                if smooth_f > 0:
                    loss = smooth_f * loss + (1 - smooth_f) * self.history["loss"][-1]
                if loss < self.best_loss:
                    self.best_loss = loss
            self.history["loss"].append(loss)
            if loss > diverge_th * self.best_loss:
                break

    def suggestion(self, skip_start: int = 1, skip_end: int = 1) -> float:
        lrs = self.history["lr"][skip_start:-skip_end]
        losses = self.history["loss"][skip_start:-skip_end]
        min_grad_idx = int(np.gradient(np.array(losses)).argmin())
        return lrs[min_grad_idx]


def _data(torch_like: Any, rng: np.random.Generator, n_batches: int) -> list:
    w = np.array([[1.5], [-2.0], [0.5], [1.0]])
    data = []
    for _ in range(n_batches):
        subs = []
        for _ in range(ACCUM):
            x = rng.standard_normal((BATCH // ACCUM, N_IN))
            y = np.tanh(x @ w) + 0.05 * rng.standard_normal((BATCH // ACCUM, 1))
            subs.append((as_tensor(torch_like, x), as_tensor(torch_like, y)))
        data.append(subs)
    return data


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(5)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    data = _data(torch_like, rng, 4)
    optimizer = torch.optim.SGD(
        [
            {"params": model[0].parameters()},
            {"params": model[2].parameters(), "momentum": 0.5},
        ],
        lr=1e-3,
        momentum=0.9,
    )
    criterion = torch.nn.MSELoss()
    finder = LRFinder(torch_like, model, optimizer, criterion)
    before = [p.detach().clone() for p in model.parameters()]

    values: list[float] = []
    finder.range_test(data, start_lr=1e-4, end_lr=10.0, num_iter=12, accumulation_steps=ACCUM)
    values += finder.history["lr"] + finder.history["loss"]
    values += [len(finder.history["loss"]), finder.best_loss, finder.suggestion()]
    values += [g["lr"] for g in optimizer.param_groups]
    values += [float(optimizer.param_groups[0]["initial_lr"])]

    finder.reset()
    after_reset = [p.detach() for p in model.parameters()]
    values += [max((a - b).abs().max().item() for a, b in zip(after_reset, before, strict=True))]
    values += [optimizer.param_groups[0]["lr"], float(len(optimizer.state))]

    finder.range_test(data, end_lr=0.5, num_iter=8, step_mode="linear", smooth_f=0.0)
    values += finder.history["lr"] + finder.history["loss"]
    finder.reset()

    # the optimizer used for real afterwards, with the suggested learning rate
    optimizer.param_groups[0]["lr"] = 0.05
    optimizer.param_groups[1]["lr"] = 0.05
    for batches in data:
        values.append(finder._train_batch(batches, ACCUM))
    values += [sum(p.detach().sum().item() for p in model.parameters())]
    return values
