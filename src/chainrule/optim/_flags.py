"""torch.optim's implementation-selection flags: what chainrule accepts, stores and refuses.

PyTorch optimizers take up to four flags that choose *how* a step is computed, never *what*
it computes:

- ``foreach`` (None/False/True): the multi-tensor kernels (``True``), the per-parameter loop
  (``False``) or PyTorch's pick for the device (``None``);
- ``fused`` (None/False/True, on SGD, Adam, AdamW, Adagrad): one fused kernel per step;
- ``capturable`` (CUDA graph capture: step counters kept on the device);
- ``differentiable`` (autograd through ``step``, for meta-learning).

In PyTorch the ``foreach`` and ``fused`` implementations apply the same update rule as the
loop; their results agree up to float rounding. chainrule has one implementation: a
per-parameter loop over arrays (with compiled kernels for the hot rules), whose results are
the update rule's. So every value of ``foreach`` and ``fused`` is accepted and stored in the
parameter groups as PyTorch stores them (a checkpoint round-trips, ``param_groups`` carry
PyTorch's keys), and none of them selects anything else in chainrule. What PyTorch refuses
about these two flags on CPU, chainrule refuses the same way (:func:`check_fused_options`,
:func:`check_fused_param`, :func:`check_foreach_tensor_options`,
:func:`check_foreach_tensor_lr`).

``capturable=True`` and ``differentiable=True`` ask for something chainrule does not have (CUDA
graphs; a step recorded on the autograd graph): they raise ``NotImplementedError`` naming the
flag, at construction and, for a parameter group that asks for them, at ``step``
(:func:`check_flags`); never accepted and ignored. ``False`` (the default) is accepted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtype_objects import public_dtype
from ..meta.array import MetaArray

__all__ = [
    "check_flags",
    "check_foreach_tensor_lr",
    "check_foreach_tensor_options",
    "check_fused_options",
    "check_fused_param",
]

# What chainrule's fused=True accepts (PyTorch lists its fused-kernel device types here).
_FUSED_DEVICES = ["cpu", "cuda"]


def check_flags(name: str, group: dict[str, Any]) -> None:
    """Raise NotImplementedError if ``group`` asks for ``capturable`` or ``differentiable``.

    Called on the defaults at construction and on each parameter group at ``step`` (a group
    dict may set its own flags). ``foreach`` and ``fused`` are accepted with every value:
    chainrule's one implementation computes the update rule they all compute.
    """
    if group.get("capturable"):
        raise NotImplementedError(
            f"{name}: capturable=True (CUDA graph capture) is not supported; pass False"
        )
    if group.get("differentiable"):
        raise NotImplementedError(
            f"{name}: differentiable=True (autograd through step()) is not supported; pass False"
        )


def check_fused_options(fused: bool | None, foreach: bool | None, differentiable: bool) -> None:
    """PyTorch's construction-time checks of ``fused=True`` (SGD, Adam, AdamW, Adagrad).

    Raises RuntimeError with PyTorch's messages: ``fused`` with ``differentiable``, and
    ``fused`` with ``foreach=True`` (two implementations asked for at once).
    """
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def check_foreach_tensor_options(
    lr: Any, betas: tuple[Any, Any], foreach: bool | None, capturable: bool
) -> None:
    """Adam's check: a Tensor ``lr`` or ``betas`` with ``foreach=True`` (and not
    ``capturable``) raises ValueError, as PyTorch's multi-tensor Adam cannot take them."""
    if not foreach or capturable:
        return
    if isinstance(lr, Tensor):
        raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
    for i, beta in enumerate(betas):
        if isinstance(beta, Tensor):
            raise ValueError(
                f"betas[{i}] as a Tensor is not supported for capturable=False and foreach=True"
            )


def check_foreach_tensor_lr(group: dict[str, Any]) -> None:
    """Adam's check at ``step``: a parameter group with a Tensor ``lr`` and ``foreach=True``
    (and not ``capturable``) raises RuntimeError, as in PyTorch."""
    if group.get("foreach") and not group.get("capturable") and isinstance(group["lr"], Tensor):
        raise RuntimeError("lr as a Tensor is not supported for capturable=False and foreach=True")


def check_fused_param(param: Any, group: dict[str, Any]) -> None:
    """PyTorch's check of a parameter under ``fused=True`` (when its state starts): the
    fused kernels take real floating-point parameters only, so e.g. a complex parameter
    raises RuntimeError with PyTorch's message."""
    if not group.get("fused"):
        return
    data = param._data if isinstance(param, Tensor) else param
    meta = type(data) is MetaArray  # no fused kernel on meta: PyTorch refuses every dtype
    if data.dtype.kind in "fV" and not meta:  # V: bfloat16
        return
    device = "meta" if meta else "cpu" if get_array_module(data) is np else "cuda"
    raise RuntimeError(
        "`fused=True` requires all the params to be floating point Tensors of "
        f"supported devices: {_FUSED_DEVICES} but {public_dtype(data.dtype)} and {device}"
    )
