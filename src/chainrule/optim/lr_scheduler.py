"""Learning-rate schedules (``cr.optim.lr_scheduler``), mirroring ``torch.optim.lr_scheduler``.

Each schedule's values match PyTorch's step for step (the same recursive "chainable" forms).
The lectures' time-based decay is :class:`InverseTimeLR`. ``ReduceLROnPlateau`` and
``OneCycleLR`` live in their own files and are re-exported here.
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ._more_schedulers import (
    ChainedScheduler,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    MultiplicativeLR,
    PolynomialLR,
    check_scheduler_sequence,
)
from ._one_cycle import OneCycleLR
from ._plateau import ReduceLROnPlateau
from .optimizer import Optimizer
from .scheduler_base import (
    LambdaScheduler,
    LRScheduler,
    _check_optimizer,
    load_nested_state_dict,
    nested_state_dict,
    set_group_lr,
    warn_get_lr_outside_step,
)

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "InverseTimeLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


class _LRScheduler(LRScheduler):
    """PyTorch's pre-2.0 name of :class:`LRScheduler`, a subclass adding nothing: what the
    custom schedulers of older code subclass (pytorch-lr-finder's ``ExponentialLR``,
    warm-up schedules), so it stays importable, outside ``__all__`` as in PyTorch."""


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` steps:
    ``lr_k = initial_lr * gamma ** (k // step_size)``."""

    def __init__(
        self, optimizer: Optimizer, step_size: float, gamma: float = 0.1, last_epoch: int = -1
    ):
        # PyTorch takes any positive real step (the tutorials' ``StepLR(optimizer, 1.0, ...)``)
        # and keeps it as given, so the state dict reads ``'step_size': 1.0``; a fractional one
        # decays where ``last_epoch % step_size == 0``, as there. A step that is no number
        # (None, a string) is kept as PyTorch keeps it: the first step() fails with Python's
        # "unsupported operand type(s) for %" there and here
        step = step_size
        if isinstance(step, Tensor) and step.ndim == 0:
            step = step.item()
        if isinstance(step, numbers.Real) and not 0 < step < math.inf:  # (a 0-d tensor too)
            raise ValueError(f"StepLR: step_size must be a positive number, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_outside_step(self)
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


def _json_step(key: Any) -> Any:
    """A milestone key read back from a JSON state dict (``"3"`` -> 3); any other key as is."""
    if isinstance(key, str) and key.lstrip("-").isdigit():
        return int(key)
    return key


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone step (a repeated milestone counts twice)."""

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ):
        self.milestones = Counter(milestones)  # a Counter, as PyTorch's (and its state dict)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _milestone_counts(self) -> Counter:
        """The milestones as a Counter of steps: a Counter as it is (a string milestone,
        ``['2', '4']``, never matches a step, as in PyTorch); a plain dict (a state dict read
        back from JSON, digit-string keys) or a list (an older state dict) as int steps."""
        if isinstance(self.milestones, Counter):
            return self.milestones
        counts = Counter(self.milestones)
        return Counter({_json_step(k): n for k, n in counts.items()})

    def get_lr(self) -> list[float]:
        warn_get_lr_outside_step(self)
        hits = self._milestone_counts()[self.last_epoch]
        if hits == 0:
            return self._current_lrs()
        return [lr * self.gamma**hits for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        n = bisect_right(sorted(self._milestone_counts().elements()), self.last_epoch)
        return [base * self.gamma**n for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """Multiply the lr by ``factor`` for the first ``total_iters`` steps (a simple warm-up)."""

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        if not 0 <= factor <= 1.0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_outside_step(self)
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current_lrs()]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [lr * (1.0 / self.factor) for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        f = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [base * f for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the lr by a factor moving linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps, then hold it (the usual linear warm-up)."""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        if not 0 < start_factor <= 1.0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less or "
                "equal to 1."
            )
        if not 0 <= end_factor <= 1.0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        if int(total_iters) != total_iters or total_iters < 1:
            raise ValueError(
                f"LinearLR: total_iters must be a positive integer, got {total_iters!r}"
            )
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters  # as given (``3.0`` stays a float in the state dict)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_outside_step(self)
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        span = self.end_factor - self.start_factor
        ratio = 1.0 + span / (self.total_iters * self.start_factor + (self.last_epoch - 1) * span)
        return [lr * ratio for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        f = (
            self.start_factor
            + (self.end_factor - self.start_factor)
            * min(self.total_iters, self.last_epoch)
            / self.total_iters
        )
        return [base * f for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every step: :math:`\\gamma_k = \\gamma_0\\,\\text{gamma}^k`.

    The lectures' exponential decay :math:`\\alpha_k = \\alpha_0 e^{-\\tau k}` is
    ``gamma = math.exp(-tau)``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_outside_step(self)
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class InverseTimeLR(LRScheduler):
    """Time-based decay from the lectures: :math:`\\alpha_k = \\alpha_0 / (1 + \\tau k)`.

    The steps still sum to infinity while shrinking to zero, the classical condition for
    SGD to converge. (The slide writes :math:`\\alpha_{k-1}/(1+\\tau k)`; that recursion
    decays like :math:`1/k!` and stalls, so this closed form, as in Keras'
    ``InverseTimeDecay``, is used.) Chainable: each step multiplies the current lr by
    :math:`(1+\\tau(k-1))/(1+\\tau k)`.

    Args:
        optimizer: the optimizer to schedule.
        decay_rate: :math:`\\tau \\ge 0`.
        last_epoch: as for :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, decay_rate: float, last_epoch: int = -1):
        if not decay_rate >= 0:
            raise ValueError(f"InverseTimeLR: decay_rate must be >= 0, got {decay_rate!r}")
        self.decay_rate = decay_rate
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_outside_step(self)
        k = self.last_epoch
        if self._is_initial or k == 0:
            return self._current_lrs()
        ratio = (1 + self.decay_rate * (k - 1)) / (1 + self.decay_rate * k)
        return [lr * ratio for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base / (1 + self.decay_rate * self.last_epoch) for base in self.base_lrs]


class LambdaLR(LambdaScheduler):
    """Set the lr to ``initial_lr * lr_lambda(step)`` (one function, or one per group).

    ``state_dict`` never holds the functions: for a plain function it stores None, for a
    callable object a copy of its ``__dict__`` (as PyTorch does)."""

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ):
        _check_optimizer(optimizer, "LambdaLR", reads_groups=True)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            if not callable(lr_lambda):
                kind = type(lr_lambda)  # Python's tp_name: a C type's with its module
                heap = kind.__flags__ & (1 << 9) or kind.__module__ == "builtins"
                name = kind.__name__ if heap else f"{kind.__module__}.{kind.__name__}"
                raise TypeError(f"'{name}' object is not callable")  # PyTorch's first step
            self.lr_lambdas = [lr_lambda] * n
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_outside_step(self)
        out = []
        for i, (fn, base) in enumerate(zip(self.lr_lambdas, self.base_lrs)):
            factor = fn(self.last_epoch)
            if isinstance(factor, bool) or not isinstance(
                factor, (int, float, np.integer, np.floating)
            ):
                raise TypeError(
                    f"LambdaLR: lr_lambda for parameter group {i} must return a "
                    f"number, but at epoch {self.last_epoch} it returned "
                    f"{factor!r} of type {type(factor).__name__}"
                )
            out.append(base * factor)
        return out


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the initial lr to ``eta_min`` over ``T_max`` steps:
    :math:`\\eta_k = \\eta_{min} + (\\eta_0 - \\eta_{min})(1 + \\cos(\\pi k / T_{max}))/2`.

    Computed with PyTorch's recursive form (so values match it, and other schedulers can
    change the lr in between); past ``T_max`` the lr rises again (a cosine, not a restart)."""

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ):
        # a T_max that is no number (None, a string) fails at the first step() as in PyTorch
        if isinstance(T_max, numbers.Real | Tensor) and not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be > 0, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_outside_step(self)
        k, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and k > 0:
            return [
                eta_min + (base - eta_min) * (1 + math.cos(k * math.pi / t_max)) / 2
                for base in self.base_lrs
            ]
        if (k - 1 - t_max) % (2 * t_max) == 0:
            return [
                lr + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
                for base, lr in zip(self.base_lrs, self._current_lrs())
            ]
        ratio = (1 + math.cos(math.pi * k / t_max)) / (1 + math.cos(math.pi * (k - 1) / t_max))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [
            self.eta_min
            + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
            for base in self.base_lrs
        ]


def _recursive_undo(sched: Any) -> None:
    """PyTorch's ``SequentialLR.recursive_undo``: one step back for every scheduler under
    ``sched``, into nested ``SequentialLR`` / ``ChainedScheduler`` members (a composite's own
    ``last_epoch`` is left alone; a ChainedScheduler has none)."""
    if hasattr(sched, "_schedulers"):
        for s in sched._schedulers:
            _recursive_undo(s)
    elif hasattr(sched, "last_epoch"):
        sched.last_epoch -= 1


class SequentialLR(LRScheduler):
    """Run ``schedulers[i]`` between ``milestones[i-1]`` and ``milestones[i]`` (e.g. a
    LinearLR warm-up, then a CosineAnnealingLR). At a milestone the next schedule restarts
    from its step 0."""

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ):
        if len(schedulers) < 1:  # PyTorch's order: the schedulers, then the optimizer
            raise ValueError("SequentialLR expects at least one scheduler, but got no scheduler.")
        check_scheduler_sequence("SequentialLR", schedulers, optimizer)
        _check_optimizer(optimizer, "SequentialLR")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                f"than the number of milestone points, but got number of schedulers "
                f"{len(schedulers)} and the number of milestones to be equal to {len(milestones)}"
            )
        self._schedulers = list(schedulers)
        self._milestones = [int(m) for m in milestones]
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            set_group_lr(group, group["initial_lr"])
        _recursive_undo(self)  # undo the initial step each scheduler took
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def step(self) -> None:  # type: ignore[override]
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        return nested_state_dict(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        load_nested_state_dict(self, state_dict)
