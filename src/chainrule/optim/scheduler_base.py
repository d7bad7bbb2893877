"""``LRScheduler``: the base of every learning-rate schedule (PyTorch's protocol).

A scheduler owns ``last_epoch`` (how many times ``step()`` ran; -1 before the first) and
``base_lrs`` (each group's ``initial_lr``). ``step()`` advances ``last_epoch`` and writes
``get_lr()`` into each ``group["lr"]``. Most schedules are *chainable*: ``get_lr`` changes the
current ``group["lr"]`` multiplicatively, so two schedulers on one optimizer compose.
Schedules with a closed form also give ``_get_closed_form_lr`` (used when ``SequentialLR``
restarts a schedule at a milestone).

``state_dict()`` holds plain numbers and lists only: never the optimizer, never a function.

As PyTorch, the first ``step()`` after creation warns when ``optimizer.step()`` has not run
since the optimizer's first scheduler was made (the schedule would skip its first value), or
when ``optimizer.step`` was replaced on the instance after that. Every optimizer class's
``step`` sets ``optimizer._opt_called`` (``_hooks.hooked_step``); the first scheduler resets
it, so steps taken before any scheduler existed do not count, as in PyTorch.
"""

from __future__ import annotations

import types
from typing import Any

from .._user_warnings import warn_at_caller
from ..autograd.tensor import Tensor
from .optimizer import Optimizer

_STEP_ORDER_DOCS = "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
_SCHEDULER_BEFORE_OPTIMIZER = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. In PyTorch 1.1.0 and "
    "later, you should call them in the opposite order: `optimizer.step()` before "
    "`lr_scheduler.step()`.  Failure to do this will result in PyTorch skipping the first "
    f"value of the learning rate schedule. See more details at {_STEP_ORDER_DOCS}"
)
_OPTIMIZER_STEP_REPLACED = (
    "Seems like `optimizer.step()` has been overridden after learning rate scheduler "
    "initialization. Please, make sure to call `optimizer.step()` before "
    f"`lr_scheduler.step()`. See more details at {_STEP_ORDER_DOCS}"
)
_GET_LR_OUTSIDE_STEP = (
    "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."
)
_EPOCH_DEPRECATED = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated "
    "where possible. Please use `scheduler.step()` to step the scheduler. During the "
    "deprecation, if epoch is different from None, the closed form is used instead of the new "
    "chainable form, where available. Please open an issue if you are unable to replicate "
    "your use case: https://github.com/pytorch/pytorch/issues/new/choose."
)
_UNTRACKED = object()


def warn_epoch_deprecated(epoch: Any) -> None:
    """PyTorch's deprecation warning for ``scheduler.step(epoch)`` (any epoch but None)."""
    if epoch is not None:
        warn_at_caller(_EPOCH_DEPRECATED)


def _check_optimizer(optimizer: Any, name: str, reads_groups: bool = False) -> None:
    """PyTorch's check (and text) that a scheduler is given an Optimizer; ``name`` is the
    scheduler, kept for callers though PyTorch's words do not name it. ``reads_groups``:
    the scheduler reads ``optimizer.param_groups`` before (LambdaLR, MultiplicativeLR), so
    an object without them raises Python's AttributeError first, as there."""
    if not isinstance(optimizer, Optimizer):
        if reads_groups:
            _ = optimizer.param_groups
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _per_group(name: str, optimizer: Optimizer, value: Any, owner: str) -> list:
    """One value per parameter group: a scalar is repeated, a list must match in length."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(  # PyTorch's _format_param text
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has "
                f"{len(optimizer.param_groups)}."
            )
        return list(value)
    return [value] * len(optimizer.param_groups)


def _track_optimizer_steps(optimizer: Optimizer) -> None:
    """Start watching ``optimizer.step()`` for the step-order warning: the first scheduler
    of an optimizer clears ``_opt_called``; every scheduler records the ``step`` attribute
    the instance has now (None: the class's), to notice a later replacement."""
    state = vars(optimizer)
    if "_lr_sched_step" not in state:
        optimizer._opt_called = False  # type: ignore[attr-defined]
    optimizer._lr_sched_step = state.get("step")  # type: ignore[attr-defined]


def warn_get_lr_outside_step(scheduler: LRScheduler) -> None:
    """PyTorch's warning when a built-in schedule's ``get_lr()`` is called by user code: its
    value is the *next* step's chainable update, not the current lr (``get_last_lr()``)."""
    if not getattr(scheduler, "_get_lr_called_within_step", False):
        warn_at_caller(_GET_LR_OUTSIDE_STEP)


def _warn_if_optimizer_not_stepped(optimizer: Optimizer) -> None:
    """PyTorch's warnings at a scheduler's first ``step()``: ``optimizer.step`` replaced
    since the scheduler was made, or not called yet."""
    state = vars(optimizer)
    recorded = state.get("_lr_sched_step", _UNTRACKED)
    if recorded is _UNTRACKED:  # an optimizer unpickled from before tracking: nothing known
        return
    if state.get("step") is not recorded:
        warn_at_caller(_OPTIMIZER_STEP_REPLACED)
    elif not state.get("_opt_called", False):
        warn_at_caller(_SCHEDULER_BEFORE_OPTIMIZER)


def lr_copy(value: Any) -> Any:
    """A snapshot of a learning rate: a Tensor ``lr`` (PyTorch's 0-d tensor lr) is cloned, so
    ``initial_lr``, ``base_lrs`` and ``get_last_lr()`` keep their values while the group's
    tensor is filled in place by later steps (as PyTorch's schedulers keep them)."""
    return value.detach().clone() if isinstance(value, Tensor) else value


def set_group_lr(group: dict[str, Any], value: Any, key: str = "lr") -> None:
    """Write a scheduled lr into a parameter group as PyTorch does: a group whose ``lr`` is a
    Tensor keeps that tensor, filled in place with the new value; otherwise the value is
    stored."""
    current = group.get(key)
    if isinstance(current, Tensor):
        current.fill_(float(value))
    else:
        group[key] = value


class LRScheduler:
    """Base class of learning-rate schedulers.

    Args:
        optimizer: the optimizer whose ``group["lr"]`` values are scheduled.
        last_epoch: index of the last step taken; -1 (the default) starts a new schedule.
            Give another value only to resume, and then every group needs ``initial_lr``.

    Creating a scheduler sets each group's lr to the schedule's value at step 0. Call
    ``scheduler.step()`` after ``optimizer.step()``.
    """

    # a class default, as PyTorch's: an instance sets it in step() only (a ChainedScheduler,
    # whose step() is its own, never does: not in its state dict)
    _get_lr_called_within_step: bool = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        _check_optimizer(optimizer, type(self).__name__)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                if "initial_lr" not in group:
                    group["initial_lr"] = lr_copy(group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(  # PyTorch's text, word for word
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        "resuming scheduler with last_epoch >= 0.\n"
                        "This typically happens when:\n"
                        "1. You're trying to resume training from a checkpoint but haven't "
                        "properly loaded the optimizer state\n"
                        "2. You're using last_epoch >= 0 for a fresh training run "
                        "(not recommended)"
                    )
        self.base_lrs: list[float] = [
            lr_copy(group["initial_lr"]) for group in optimizer.param_groups
        ]
        self.last_epoch = last_epoch
        _track_optimizer_steps(optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        """Take the step that sets the lr for step 0 (flagged so chainable forms keep it)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for the current ``last_epoch`` (called by ``step``)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr")

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance the schedule by one step (or jump to ``epoch`` via the closed form); the
        first call after creation warns if ``optimizer.step()`` has not run yet."""
        if self._step_count == 1:
            _warn_if_optimizer_not_stepped(self.optimizer)
        self._step_count += 1
        warn_epoch_deprecated(epoch)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed = getattr(self, "_get_closed_form_lr", None)
                values = closed() if closed is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        # strict, as PyTorch's: a group added after the scheduler was made (no base lr)
        # raises ValueError
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            set_group_lr(group, lr)
        self._last_lr = self._copied_lrs()

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def _copied_lrs(self) -> list[Any]:
        """The groups' lrs as ``get_last_lr()`` keeps them (tensors cloned)."""
        return [lr_copy(group["lr"]) for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (numbers and lists only)."""
        return {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in self.__dict__.items()
            if k != "optimizer"
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore attributes saved by :meth:`state_dict`."""
        self.__dict__.update(state_dict)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(last_epoch={self.last_epoch}, "
            f"last_lr={getattr(self, '_last_lr', None)})"
        )


def nested_state_dict(scheduler: LRScheduler) -> dict[str, Any]:
    """``state_dict`` of a scheduler made of schedulers (``ChainedScheduler``,
    ``SequentialLR``), as PyTorch's: its own attributes but the optimizer, and the inner
    schedulers' own state dicts, in order, under ``_schedulers``."""
    skip = ("optimizer", "_schedulers")
    state = {k: v for k, v in scheduler.__dict__.items() if k not in skip}
    state["_schedulers"] = [s.state_dict() for s in scheduler._schedulers]
    return state


def load_nested_state_dict(scheduler: LRScheduler, state_dict: dict[str, Any]) -> None:
    """Restore what :func:`nested_state_dict` saved: the attributes, then each inner
    scheduler from its own state dict."""
    state = dict(state_dict)
    saved = state.pop("_schedulers")
    scheduler.__dict__.update(state)
    for s, sd in zip(scheduler._schedulers, saved):
        s.load_state_dict(sd)


class LambdaScheduler(LRScheduler):
    """Base of the schedulers driven by per-group functions ``self.lr_lambdas`` (LambdaLR,
    MultiplicativeLR). As in PyTorch, their state dict keeps no plain functions (they can't be
    saved) but keeps the attributes of callable objects, restored into the objects on load."""

    lr_lambdas: list

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
            for fn in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [])
        super().load_state_dict(state)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(attrs)
