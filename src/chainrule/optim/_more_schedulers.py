"""More of ``torch.optim.lr_scheduler``: polynomial, multiplicative, cyclic, warm restarts,
and chaining. Each follows PyTorch's formulas (recursive where PyTorch is recursive), so
the learning rates match PyTorch's step for step; re-exported by :mod:`.lr_scheduler`.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Sequence
from typing import Any

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
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "MultiplicativeLR",
    "PolynomialLR",
]


class PolynomialLR(LRScheduler):
    """Decay to zero over ``total_iters`` steps:
    :math:`\\eta_k = \\eta_0 (1 - \\min(k, T)/T)^{p}` (PyTorch's recursive form).

    ``total_iters`` is not checked, as in PyTorch: with 0 (or less) ``step()`` never changes
    the learning rates, and with 0 the closed form (``step(epoch)``, or a ``step()`` after
    ``last_epoch`` was set back to -1) raises ZeroDivisionError, PyTorch's error."""

    def __init__(
        self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1
    ):
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_outside_step(self)
        k, t = self.last_epoch, self.total_iters
        if self._is_initial or k > t:
            return self._current_lrs()
        factor = ((1.0 - k / t) / (1.0 - (k - 1) / t)) ** self.power
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        k, t = self.last_epoch, self.total_iters
        return [base * (1.0 - min(t, k) / t) ** self.power for base in self.base_lrs]


class MultiplicativeLR(LambdaScheduler):
    """Multiply each group's lr by ``lr_lambda(epoch)`` at every step after the first.

    Args:
        lr_lambda: a function of the epoch, or one per parameter group.
    """

    def __init__(
        self, optimizer: Optimizer, lr_lambda: Callable | Sequence[Callable], last_epoch: int = -1
    ):
        _check_optimizer(optimizer, "MultiplicativeLR", reads_groups=True)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_outside_step(self)
        # only the step made at construction keeps the lrs; a later step to epoch 0
        # (``step(0)``, or SequentialLR restarting it at a milestone) multiplies, as PyTorch
        if self._is_initial:
            return self._current_lrs()
        return [lr * fn(self.last_epoch) for fn, lr in zip(self.lr_lambdas, self._current_lrs())]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing restarted every ``T_i`` steps, ``T_i`` growing by ``T_mult``:
    :math:`\\eta = \\eta_{min} + (\\eta_0 - \\eta_{min})(1 + \\cos(\\pi T_{cur}/T_i))/2`
    (SGDR). ``step(epoch)`` accepts fractional epochs, as in PyTorch."""

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,  # noqa: N803
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ):
        if isinstance(T_0, bool) or not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if isinstance(T_mult, bool) or not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(
                f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}"
            )
        self.T_0, self.T_i, self.T_mult = T_0, T_0, T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_outside_step(self)
        cos = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base - self.eta_min) * cos for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one step, or jump to (possibly fractional) ``epoch``.

        As PyTorch's, it leaves ``_step_count`` alone, and a restart wraps ``T_cur`` modulo
        the period that ends (so a scheduler made with ``last_epoch=k`` starts at
        ``(k + 1) % T_0`` into a period of ``T_0 * T_mult`` steps)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ValueError(
                    f"CosineAnnealingWarmRestarts: expected non-negative epoch, but got {epoch}"
                )
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._get_lr_called_within_step = True
        try:
            values = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            set_group_lr(group, lr)
        self._last_lr = self._copied_lrs()


class CyclicLR(LRScheduler):
    """Cycle the lr between ``base_lr`` and ``max_lr`` (Smith's cyclical learning rates),
    and the momentum (or Adam's beta1) inversely between ``max_momentum`` and
    ``base_momentum``. Step it after every batch.

    Args:
        base_lr, max_lr: the cycle's bounds (a number or one per group).
        step_size_up, step_size_down: steps in the rising and falling halves.
        mode: ``'triangular'``, ``'triangular2'`` (halve the amplitude each cycle) or
            ``'exp_range'`` (scale by ``gamma**step``); ignored when ``scale_fn`` is given.
        scale_fn, scale_mode: a custom amplitude scaling of the cycle number (``'cycle'``)
            or of the step (``'iterations'``).
        cycle_momentum, base_momentum, max_momentum: cycle the momentum too.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: Any,
        max_lr: Any,
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: Any = 0.8,
        max_momentum: Any = 0.9,
        last_epoch: int = -1,
    ):
        _check_optimizer(optimizer, "CyclicLR")
        base_lrs = _format("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                set_group_lr(group, lr)
        self.max_lrs = _format("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = (
            scale_mode
            if scale_fn is not None
            else ("iterations" if mode == "exp_range" else "cycle")
        )
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            defaults = optimizer.defaults
            if "momentum" not in defaults and "betas" not in defaults:
                raise ValueError(
                    "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"
                )
            self.use_beta1 = "betas" in defaults
            self.base_momentums = _format("base_momentum", optimizer, base_momentum)
            self.max_momentums = _format("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for m_max, m_base, group in zip(
                    self.max_momentums, self.base_momentums, optimizer.param_groups
                ):
                    self._set_momentum(group, m_max)
                    group["max_momentum"], group["base_momentum"] = m_max, m_base
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The amplitude scaling at cycle (or step) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def get_lr(self) -> list[float]:
        warn_get_lr_outside_step(self)
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            factor = x / self.step_ratio
        else:
            factor = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [
            base + (top - base) * factor * scale for base, top in zip(self.base_lrs, self.max_lrs)
        ]
        if self.cycle_momentum:
            for group, m_base, m_max in zip(
                self.optimizer.param_groups, self.base_momentums, self.max_momentums
            ):
                self._set_momentum(group, m_max - (m_max - m_base) * factor * scale)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """The schedule's state, as PyTorch's: a custom ``scale_fn`` is saved under
        ``_scale_fn_custom`` only as a callable object's attributes (``__dict__``), None for a
        plain function or none, since a function cannot be pickled reliably."""
        state = super().state_dict()
        fn = self._scale_fn_custom
        custom = None if fn is None or isinstance(fn, types.FunctionType) else fn.__dict__.copy()
        state["_scale_fn_custom"] = custom
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state; a saved callable object's attributes update this scheduler's
        own ``scale_fn`` object (the callable itself is never replaced). As PyTorch's, it
        pops ``_scale_fn_custom`` from the dict it is given."""
        custom = state_dict.pop("_scale_fn_custom", None)
        super().load_state_dict(state_dict)
        if custom is not None:
            if self._scale_fn_custom is None:  # PyTorch's AttributeError, with a message
                raise AttributeError(
                    "CyclicLR.load_state_dict: the state holds a custom scale_fn's attributes "
                    "but this scheduler has no scale_fn to restore them into"
                )
            self._scale_fn_custom.__dict__.update(custom)


def _format(name: str, optimizer: Optimizer, value: Any) -> list:
    groups = optimizer.param_groups
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(  # PyTorch's _format_param text
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has {len(groups)}."
            )
        return list(value)
    return [value] * len(groups)


def check_scheduler_sequence(
    owner: str, schedulers: Sequence[Any], optimizer: Optimizer | None
) -> None:
    """PyTorch's checks (and texts) of SequentialLR's and ChainedScheduler's schedulers:
    each has an ``optimizer``, none is a ReduceLROnPlateau, all share ``optimizer``."""
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{owner} at index {i} should have `optimizer` as its attribute.")
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(  # noqa: TRY004 - PyTorch raises ValueError
                f"{owner} does not support `ReduceLROnPlateau` scheduler as it "
                "requires additional kwargs to be specified when calling `step`, "
                f"but got one at index {i} in the given schedulers sequence."
            )
        if s.optimizer is not optimizer:
            raise ValueError(
                f"{owner} expects all schedulers to belong to the same optimizer, but "
                f"got scheduler {type(s).__name__} at index {i} has {s.optimizer}, "
                f"which is different from {type(optimizer).__name__}."
            )


class ChainedScheduler(LRScheduler):
    """Step several schedulers of one optimizer together; their effects multiply."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None):
        if len(schedulers) < 1:  # PyTorch's len(): a generator or None is a TypeError
            raise ValueError(
                "ChainedScheduler expects at least one scheduler to be chained, but got no "
                "scheduler."
            )
        schedulers = list(schedulers)
        optimizer = optimizer or schedulers[0].optimizer
        check_scheduler_sequence("ChainedScheduler", schedulers, optimizer)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = self._copied_lrs()

    def step(self) -> None:  # type: ignore[override]
        """Step every scheduler in order (no ``epoch``: PyTorch's takes none either)."""
        for s in self._schedulers:
            s.step()
        self._last_lr = self._copied_lrs()

    def state_dict(self) -> dict[str, Any]:
        return nested_state_dict(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        load_nested_state_dict(self, state_dict)
