"""Stochastic weight averaging and EMA (``torch.optim.swa_utils``).

:class:`AveragedModel` keeps a running average of a model's parameters (equal weights:
SWA; or exponential: EMA via :func:`get_ema_multi_avg_fn`), :class:`SWALR` anneals each
group's lr to a constant ``swa_lr``, and :func:`update_bn` recomputes batch-norm statistics
for the averaged weights with one pass over the data. Formulas and state follow PyTorch.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..creation import tensor
from ..dtypes import get_default_dtype
from ..nn.layers.normalization import _BatchNorm
from ..nn.module import Module
from .optimizer import Optimizer
from .scheduler_base import LRScheduler, _per_group, warn_get_lr_outside_step

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """``avg_fn`` for an exponential moving average: ``decay * avg + (1 - decay) * new``.

    Raises:
        ValueError: for a decay outside [0, 1] (PyTorch's check and text).
    """
    if not 0.0 <= decay <= 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )

    def ema_update(averaged: Tensor, current: Tensor, num_averaged: Any) -> Tensor:
        return decay * averaged + (1 - decay) * current

    return ema_update


def get_swa_avg_fn() -> Callable:
    """``avg_fn`` for the equal-weight average: ``avg + (new - avg) / (n + 1)``."""

    def swa_update(averaged: Tensor, current: Tensor, num_averaged: Any) -> Tensor:
        return averaged + (current - averaged) / (num_averaged + 1)

    return swa_update


def _lerp_(averaged: Tensor, current: Tensor, weight: float) -> None:
    """``averaged += weight * (current - averaged)`` in place, rounded as ``torch.lerp``."""
    a, c = averaged._data, current._data
    if weight < 0.5:
        a += weight * (c - a)
    else:
        a[...] = c - (c - a) * (1 - weight)
    averaged._vc[0] += 1


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """``multi_avg_fn`` for EMA over lists of tensors, updated in place (PyTorch's lerp).

    Raises:
        ValueError: for a decay outside [0, 1].
    """
    if not 0.0 <= decay <= 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )

    def ema_update(averaged: list, current: list, num_averaged: Any) -> None:
        with no_grad():
            for a, c in zip(averaged, current):
                if a.dtype.kind in "fcV":  # V: bfloat16
                    _lerp_(a, c, 1 - decay)
                else:  # integer buffers: computed in float, truncated back (as PyTorch)
                    _assign(a, a._data * decay + c._data * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """``multi_avg_fn`` for the equal-weight average over lists, updated in place.

    Raises:
        RuntimeError: for integer tensors (e.g. ``num_batches_tracked`` with
            ``use_buffers=True``), which PyTorch refuses too.
    """

    def swa_update(averaged: list, current: list, num_averaged: Any) -> None:
        weight = _swa_weight(num_averaged)
        with no_grad():
            for a, c in zip(averaged, current):
                if a.dtype.kind not in "fcV":  # V: bfloat16
                    raise RuntimeError(
                        f"get_swa_multi_avg_fn: cannot average integer tensors "
                        f"(dtype {a.dtype}) by division; use avg_fn="
                        "get_swa_avg_fn() or use_buffers=False"
                    )
                _lerp_(a, c, weight)

    return swa_update


def _swa_weight(num_averaged: Any) -> float:
    """``1 / (num_averaged + 1)`` as PyTorch computes it: a Python number exactly; a tensor
    in its own floating dtype, an integer one (``AveragedModel``'s ``n_averaged``) in the
    default dtype, so float32's 1/3 (0.33333334) by default, in float64 parameters too."""
    if not isinstance(num_averaged, Tensor):
        return 1 / (num_averaged + 1)
    dt = num_averaged.dtype
    dt = dt if dt.kind in "fV" else get_default_dtype()
    one = np.asarray(1, dtype=dt)
    return float(one / (np.asarray(num_averaged.item(), dtype=dt) + one))


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are the average of those it was updated with.

    Args:
        model: the model to average (deep-copied).
        device: accepted for compatibility; the copy stays on the model's device.
        avg_fn: ``avg_fn(averaged, current, num_averaged) -> new_average`` per tensor.
        multi_avg_fn: updates lists of averaged tensors in place (takes precedence).
        use_buffers: average the buffers too (else they are copied from ``model``).
    """

    def __init__(
        self,
        model: Module,
        device: Any = None,
        avg_fn: Callable | None = None,
        multi_avg_fn: Callable | None = None,
        use_buffers: bool = False,
    ):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def _tensors(self, model: Module) -> list:
        if self.use_buffers:
            return [
                t for t in itertools.chain(model.parameters(), model.buffers()) if t is not None
            ]
        return list(model.parameters())

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters into the average (the first call copies)."""
        averaged = self._tensors(self.module)
        current = [t.detach() for t in self._tensors(model)]
        if len(averaged) != len(current):
            raise ValueError(
                f"AveragedModel.update_parameters: the model has {len(current)} "
                f"tensors to average, the averaged copy {len(averaged)}"
            )
        n = int(self.n_averaged.item())
        with no_grad():
            if n == 0:
                for a, c in zip(averaged, current):
                    _assign(a, c._data)
            elif self.multi_avg_fn is not None:  # called once per dtype, as PyTorch groups
                for dtype in dict.fromkeys(a.dtype for a in averaged):
                    pairs = [(a, c) for a, c in zip(averaged, current) if a.dtype == dtype]
                    self.multi_avg_fn([a for a, _ in pairs], [c for _, c in pairs], tensor(n))
            else:
                avg_fn = self.avg_fn or get_swa_avg_fn()
                for a, c in zip(averaged, current):
                    new = avg_fn(a.detach(), c, tensor(n))
                    _assign(a, new._data if isinstance(new, Tensor) else new)
            if not self.use_buffers:  # keep the buffers in sync with the source model
                for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                    if b_avg is not None and b_model is not None:
                        _assign(b_avg, b_model._data)
        self.n_averaged._data[...] = n + 1


def _assign(target: Tensor, value: Any) -> None:
    target._data[...] = value
    target._vc[0] += 1


@no_grad()
def update_bn(loader: Iterable, model: Module, device: Any = None) -> None:
    """Recompute the running statistics of every batch-norm layer with one pass over
    ``loader`` (a cumulative average over its batches), as needed after SWA.

    Each batch is the input itself, or the first element of a list/tuple batch.
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    for batch in loader:
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        if device is not None:
            batch = batch.to(device)
        model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr from its current value to ``swa_lr`` over ``anneal_epochs``
    steps (cosine or linear), then hold it there.

    Args:
        swa_lr: the target lr (a number or one per group).
        anneal_epochs: steps of annealing (0: jump to ``swa_lr``).
        anneal_strategy: ``'cos'`` or ``'linear'``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: Any,
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ):
        for lr, group in zip(
            _per_group("swa_lr", optimizer, swa_lr, "SWALR"), optimizer.param_groups
        ):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        if (
            isinstance(anneal_epochs, bool)
            or not isinstance(anneal_epochs, int)
            or anneal_epochs < 0
        ):
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        # (``_anneal_strategy``: the state-dict key PyTorch saves, so checkpoints load both
        # ways)
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t: float) -> float:
        """The fraction of the way to ``swa_lr`` at progress ``t`` in [0, 1]."""
        return (1 - math.cos(math.pi * t)) / 2 if self._anneal_strategy == "cos" else t

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        warn_get_lr_outside_step(self)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        groups = self.optimizer.param_groups
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev_lrs)]
