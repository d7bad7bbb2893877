"""The arithmetic every update rule shares, on raw arrays: the gradient a rule sees
(``maximize``, L2 weight decay), AdamW's decoupled decay, and complex parameters updated as
pairs of real ones (PyTorch's ``view_as_real``); and how many in-place writes a step makes
into the parameters, state buffers and gradients (their version counters)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._array_math import fma_into

__all__ = ["decay_weights_", "regularized_grad", "step_writes"]


def regularized_grad(param: Any, grad: Any, group: dict[str, Any]) -> Any:
    """The gradient an update rule sees, as PyTorch computes it: negated under ``maximize``,
    then plus the L2 penalty ``weight_decay * param`` - unless the group's weight decay is
    ``decoupled_weight_decay`` (AdamW's), which :func:`decay_weights_` applies to the
    parameter instead. A new array: neither ``param`` nor ``grad`` is modified. Always an
    array: NumPy turns arithmetic on 0-d arrays into scalars, on which the rules' in-place
    updates (``buf *= momentum`` of a state entry made from it) would silently rebind."""
    if group.get("maximize"):
        grad = -grad
    wd = group.get("weight_decay", 0)
    if wd != 0 and not group.get("decoupled_weight_decay"):
        if isinstance(param, np.ndarray) and param.dtype == np.float32:
            # PyTorch's grad.add(param, alpha=weight_decay): one fused multiply-add
            out = np.empty(np.broadcast_shapes(param.shape, np.shape(grad)), np.float32)
            grad = fma_into(np.float32(wd), param, grad, out)
        else:
            grad = grad + wd * param
    return np.asarray(grad) if isinstance(grad, np.generic) else grad


def decay_weights_(param: Any, group: dict[str, Any]) -> None:
    """Decoupled weight decay (AdamW's rule): shrink ``param`` in place by the factor
    ``1 - lr * weight_decay`` when the group asks for it (``decoupled_weight_decay``);
    otherwise do nothing. Call it before the update, as PyTorch does."""
    wd = group.get("weight_decay", 0)
    if wd != 0 and group.get("decoupled_weight_decay"):
        param *= 1 - float(group["lr"]) * wd  # float: lr may be a Tensor


def _update_as_real(update: Callable, param: Any, grad: Any, state: dict, group: dict) -> None:
    """A complex parameter is updated as PyTorch does (``view_as_real``): its real and
    imaginary parts are separate real parameters, each with its own moments. The state
    keeps the parameter's complex dtype and shape (as in PyTorch's ``state_dict``); the
    update sees real views of the parameter, the gradient and every complex state array."""
    real = param.real.dtype

    def as_real(a: Any) -> Any:  # a 0-d complex array is viewed as shape (1,) first
        return (a.reshape(1) if a.ndim == 0 else a).view(real)

    views = {
        k: as_real(v) if isinstance(v, np.ndarray) and v.dtype.kind == "c" else v
        for k, v in state.items()
    }
    real_param = as_real(param)
    update(real_param, as_real(np.ascontiguousarray(grad)), views, group)
    for k, v in views.items():  # numbers (step counts), new and rebound arrays come back
        if isinstance(v, np.ndarray) and v.dtype == real and v.shape == real_param.shape:
            # a buffer like the param
            state[k] = np.ascontiguousarray(v).view(param.dtype).reshape(param.shape)
        else:
            state[k] = v


def step_writes(opt: Any, group: dict[str, Any]) -> tuple[int, tuple, int]:
    """How many in-place writes PyTorch's step of ``group`` makes (each moves a version
    counter by one): into each parameter (``opt._param_writes``), into each state buffer
    (``opt._state_buffer_writes``: (key, version after the first step, writes per later
    step)) and into each dense ``p.grad`` (``opt._grad_writes`` where the class has one:
    SGD's multi-tensor Nesterov step). PyTorch's fused kernels (``_fused_adam_``,
    ``_fused_sgd_``, ``_fused_adagrad_``; ``opt._has_fused`` and the group's ``fused``)
    write the parameters and buffers without bumping their versions: none there. Read
    once per group and step."""
    writes, buffers = opt._param_writes(group), opt._state_buffer_writes(group)
    if opt._has_fused and group.get("fused"):
        writes, buffers = 0, tuple((key, 0, 0) for key, _, _ in buffers)
    grad_writes = getattr(opt, "_grad_writes", None)
    return writes, buffers, grad_writes(group) if grad_writes is not None else 0
