"""Gradient clipping: rescale or clamp ``.grad`` in place before an optimizer step.

PyTorch 2.6 split ``clip_grad_norm_`` into its two halves, both public:
``get_total_norm`` (the norm of a list of tensors, as if concatenated) and
``clip_grads_with_norm_`` (scale the gradients given that norm); ``clip_grad_norm_`` is the
two in a row. ``foreach`` only picks PyTorch's multi-tensor kernels, which compute the same
numbers; chainrule has one implementation, so every value of it gives the same result.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from ...autograd.ieee import quiet_fp
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...dtypes import get_default_dtype, is_floating, promote_types
from ...typeinfo import finfo

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
]


_FLOAT16_MAX = 65504.0


def _as_list(tensors: Any, op: str) -> list[Tensor]:
    if isinstance(tensors, Tensor):
        return [tensors]
    try:
        items = list(tensors)
    except TypeError:
        raise TypeError(
            f"{op}: expected a Tensor or an iterable of Tensors, got {type(tensors).__name__}"
        ) from None
    for t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensors, got an element of type {type(t).__name__}")
    return items


def _grads(parameters: Tensor | Iterable[Tensor], op: str) -> list[Tensor]:
    return [p.grad for p in _as_list(parameters, op) if p.grad is not None]


def _vector_norm(arr: Any, p: float) -> Any:
    """``torch.linalg.vector_norm(arr, p)`` of a raw array, as a 0-d array in its real dtype.

    float16/bfloat16 are accumulated in float32 and the result rounded back, as PyTorch
    does: squaring a half gradient of 300 would otherwise overflow to inf and silently
    zero every gradient in the clip.
    """
    xp = get_array_module(arr)
    if arr.dtype.kind != "c" and not is_floating(arr.dtype):
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. "
            f"Got {arr.dtype} (get_total_norm)"
        )
    if arr.dtype.itemsize == 2:
        return _vector_norm(arr.astype(np.float32), p).astype(arr.dtype)
    a = xp.abs(arr).ravel()
    if p == math.inf or p == -math.inf:
        if a.size == 0:
            raise RuntimeError(
                f"get_total_norm: cannot compute the {p} norm of an empty tensor because the "
                "operation does not have an identity"
            )
        return a.max() if p > 0 else a.min()
    if p == 0:
        return xp.asarray(xp.count_nonzero(a), dtype=a.dtype)
    if p == 2:
        return xp.sqrt(xp.dot(a, a))
    with np.errstate(divide="ignore"):  # p < 0 with zeros: inf terms, a norm of 0, as torch
        return (a**p).sum() ** (1 / p)


def get_total_norm(
    tensors: Tensor | Iterable[Tensor],
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The ``norm_type``-norm of ``tensors`` taken as one concatenated vector
    (``torch.nn.utils.get_total_norm``).

    Computed as PyTorch does: the norm of each tensor, then the norm of those norms (so
    ``norm_type`` may be any order ``vector_norm`` takes: ``inf``, ``-inf``, 0, negative).
    No graph is recorded. The result has the promoted dtype of the tensors (0 in the
    default dtype for an empty list).

    Raises:
        RuntimeError: the norm is NaN/Inf and ``error_if_nonfinite`` is True.
    """
    items = _as_list(tensors, "get_total_norm")
    norm_type = float(norm_type)
    if not items:
        return Tensor._make(np.zeros((), get_default_dtype()), False, None, 0)
    xp = get_array_module(items[0]._data)
    norms = [_vector_norm(t._data, norm_type) for t in items]
    dtype = norms[0].dtype
    for n in norms[1:]:
        dtype = promote_types(dtype, n.dtype)
    total = _vector_norm(xp.stack([xp.asarray(n, dtype=dtype) for n in norms]), norm_type)
    total = xp.asarray(total, dtype=dtype)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._make(total, False, None, 0)


def clip_grads_with_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    """Scale every ``.grad`` by min(1, max_norm / (total_norm + 1e-6)), in place
    (``torch.nn.utils.clip_grads_with_norm_``); ``total_norm`` usually comes from
    :func:`get_total_norm`. As in PyTorch the factor is applied even when it is 1, and a NaN
    ``total_norm`` makes the gradients NaN.
    """
    grads = _grads(parameters, "clip_grads_with_norm_")
    max_norm = float(max_norm)
    if not grads:
        return
    if not isinstance(total_norm, Tensor):
        raise TypeError(
            "clip_grads_with_norm_: total_norm must be a Tensor (e.g. from get_total_norm), "
            f"got {type(total_norm).__name__}"
        )
    if total_norm.ndim != 0:
        raise RuntimeError(
            "clip_grads_with_norm_: total_norm must be a 0-dim tensor (scalar tensor expected "
            f"to be 0 dim), got shape {tuple(total_norm.shape)}"
        )
    xp = get_array_module(total_norm._data)
    coef = xp.minimum(max_norm / (total_norm._data + 1e-6), 1.0)
    with quiet_fp():  # inf * 0 is nan, silently, as in PyTorch
        for g in grads:
            g._data *= g._data.dtype.type(float(coef))
            g._vc[0] += 1


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale all gradients by min(1, max_norm / (total_norm + 1e-6))
    (``torch.nn.utils.clip_grad_norm_``).

    total_norm is the ``norm_type``-norm of all gradients concatenated (``inf`` for the
    largest absolute entry): :func:`get_total_norm` of the gradients, then
    :func:`clip_grads_with_norm_`. Returns the total norm before clipping, as a 0-d Tensor.

    Raises:
        RuntimeError: if the total norm is NaN/Inf and ``error_if_nonfinite`` is True.
    """
    params = _as_list(parameters, "clip_grad_norm_")
    _ = (float(norm_type), float(max_norm))  # PyTorch's conversions first (and their errors)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return Tensor._make(np.zeros((), get_default_dtype()), False, None, 0)
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_norm(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Deprecated alias of :func:`clip_grad_norm_`; warns with PyTorch's FutureWarning."""
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value] in place.

    Raises:
        NotImplementedError: a complex gradient (PyTorch's clamp has no complex version).
        RuntimeError: no parameter has a gradient (PyTorch fails an internal assert).
        RuntimeError: a finite ``clip_value`` beyond a gradient dtype's range (PyTorch's
            overflow check; NumPy would clamp with inf after a warning).
    """
    clip_value = float(clip_value)
    # only a finite value beyond float16's range can overflow a floating dtype (cheap test)
    big = math.isfinite(clip_value) and abs(clip_value) > _FLOAT16_MAX
    grads = _grads(parameters, "clip_grad_value_")
    if not grads:  # PyTorch fails an internal assert (its foreach grouping of no tensors)
        raise RuntimeError(
            "clip_grad_value_: no gradients to clip (none of the parameters has a .grad); "
            "call backward() first, or skip the call when nothing has a gradient"
        )
    for g in grads:
        xp = get_array_module(g._data)
        if g._data.dtype.kind == "c":  # NumPy would clip complex numbers lexicographically
            raise NotImplementedError(
                f"clip_grad_value_: clamp is not supported for complex types (got a {g.dtype} "
                "gradient)"
            )
        if big and abs(clip_value) > finfo(g.dtype).max:
            raise RuntimeError(
                f"clip_grad_value_: clip_value={clip_value} cannot be converted to the "
                f"gradient's dtype {g.dtype} without overflow"
            )
        xp.clip(g._data, -clip_value, clip_value, out=g._data)
        # PyTorch's writes: _foreach_clamp_min_ then _foreach_clamp_max_ (foreach, its CPU
        # default too), or one clamp_ per gradient (foreach=False)
        g._vc[0] += 1 if foreach is False else 2
