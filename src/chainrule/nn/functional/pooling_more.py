"""More of ``torch.nn.functional``'s pooling: ``adaptive_max_pool1d``, the ``*_with_indices``
forms, ``max_unpool3d`` and ``lp_pool3d`` (fractional max pooling is in
``pooling_fractional.py``).

All are compositions of differentiable chainrule ops, so gradients of every order and forward
mode come from the ops used:

* adaptive and fractional max pooling find each output cell's source element with the index
  kernels of :mod:`chainrule.ops._pooling_indices` (first maximum in scan order, last NaN
  if any, as PyTorch's CPU kernels) and gather it with ``take_along_dim``, whose gradient is
  PyTorch's: the upstream gradient scatter-added at the indices;
* ``max_pool{1,2,3}d_with_indices`` / ``adaptive_max_pool{1,2,3}d_with_indices`` are
  PyTorch's ``boolean_dispatch`` halves: they always return ``(output, indices)``;
* ``max_unpool3d`` scatters into zero volumes at the flat D*H*W indices;
* ``lp_pool3d`` is PyTorch's ``(k * avg_pool3d(x ** p)) ** (1 / p)``, with ``+-inf`` as max
  (min) pooling of ``|x|``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._layout import is_vmap_batched
from ...autograd.lower_precision import autocast_float32_op
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...ops._pooling_indices import (
    adaptive_max_indices,
)
from ...ops._util import ShapeError
from ...ops.adaptive_pooling import EmptyAdaptiveMax, check_size_elements
from ...ops.pooling import max_pool2d
from ...ops.pooling1d import max_pool1d
from ...ops.pooling_index import IndexPool
from ...ops.unpool_node import max_unpool
from .pooling3d import adaptive_max_pool3d, avg_pool3d, max_pool3d
from .pooling_extra import (
    _check_norm,
    _geometry_errors,
    _ints,
    _lp_finish,
    _unpool_ints,
    _unpool_numbers,
    _unpool_output_size,
)

__all__ = [
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices",
    "lp_pool3d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_pool3d_with_indices",
    "max_unpool3d",
]


def _const(arr: Any) -> Tensor:
    return Tensor._make(arr, False, None, 0)


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


# ----------------------------------------------------------------------------- adaptive max
def _adaptive_max(op: str, input: Any, output_size: Any, nd: int) -> tuple[Tensor, Tensor]:
    """(values, indices) of an ``nd``-d adaptive max pool over (N, C, *S) or (C, *S)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{op}: expected {nd + 1}D or {nd + 2}D input, but got a "
            f"{input.ndim}-dimensional tensor of shape {list(input.shape)}"
        )
    for d in range(1 if input.ndim == nd + 2 else 0, input.ndim):
        if input.shape[d] == 0:
            raise RuntimeError(
                f"{op}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"input has sizes {list(input.shape)} with dimension {d} being empty"
            )
    if input.dtype.kind not in "fV":  # V: bfloat16
        raise NotImplementedError(f'"{op}" not implemented for {input.dtype}')
    sizes = tuple(input.shape[-nd:])
    if nd == 1:  # the element types before the length, as PyTorch's parser
        check_size_elements(op, output_size, one_d=True)
        if isinstance(output_size, Tensor):  # a 0-d integer tensor: the int it holds
            output_size = int(output_size.item())
    if _is_int(output_size):
        out = (int(output_size),) * nd
    elif isinstance(output_size, Sequence) and len(output_size) == nd:
        if not all(o is None and nd > 1 or _is_int(o) for o in output_size):
            # PyTorch's 1-d pool takes no None (it keeps an input size in 2-d and 3-d only)
            valid = "ints" if nd == 1 else "ints or None"
            raise TypeError(f"{op}: output_size must hold {valid}, got {output_size!r}")
        out = tuple(s if o is None else int(o) for o, s in zip(output_size, sizes))
    elif isinstance(output_size, Sequence):
        raise RuntimeError(
            f"{op}() argument 'output_size' should contain {'one int' if nd == 1 else f'{nd} ints'}"
            f" (got {len(output_size)})"
        )
    else:
        raise TypeError(
            f"{op}: output_size must be an int or a sequence of {nd} ints, got {output_size!r}"
        )
    if min(out) < 0:
        raise RuntimeError(
            f"{op}: elements of output_size must be greater than or equal to 0, got {out}"
        )
    if is_vmap_batched(input._data):  # cr.func.vmap: it reads the values, once per sample
        from ...func._per_sample import per_sample  # noqa: PLC0415 - func imports nn

        return per_sample(_adaptive_max, op, input, output_size, nd)  # type: ignore[no-any-return]
    batched = input.ndim == nd + 2
    data = input._data if batched else input._data[None]
    n, c = data.shape[:2]
    flat = data.reshape(n, c, int(np.prod(sizes)))
    idx = adaptive_max_indices(flat, sizes, out, get_array_module(data)).reshape(n, c, *out)
    if not batched:
        idx = idx[0]
    # one AdaptiveMaxPool2D/3DBackward0 node gathering at the indices, as PyTorch's (1-d:
    # the 2-d node on the input's (.., 1, L) view, PyTorch's Unsqueeze -> pool -> Squeeze)
    if 0 in out:  # an empty result: PyTorch's node refuses its gradient (EmptyAdaptiveMax)
        if nd == 1:
            u = input.unsqueeze(-2)
            vals = EmptyAdaptiveMax.apply(u, (*u.shape[:-1], 0), 2).squeeze(-2)
        else:
            vals = EmptyAdaptiveMax.apply(input, (*input.shape[:-nd], *out), nd)
        return vals, _const(idx)
    if nd == 1:
        node = "AdaptiveMaxPool2DBackward0"
        vals = IndexPool.apply(input.unsqueeze(-2), idx[..., None, :], 2, node, False)
        return vals.squeeze(-2), _const(idx)
    vals = IndexPool.apply(input, idx, nd, f"AdaptiveMaxPool{nd}DBackward0", False)
    return vals, _const(idx)


def adaptive_max_pool1d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """1-D adaptive max pooling of (N, C, L) or (C, L), always returning ``(output,
    indices)``; each output takes the maximum over PyTorch's bin
    [floor(i L / n), ceil((i + 1) L / n)) and its index into L."""
    return _adaptive_max("adaptive_max_pool1d", input, output_size, 1)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """1-D adaptive max pooling (``torch.nn.functional.adaptive_max_pool1d``): the output
    alone, or ``(output, indices)`` when ``return_indices``."""
    out, idx = adaptive_max_pool1d_with_indices(input, output_size)
    return (out, idx) if return_indices else out


def adaptive_max_pool2d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """2-D adaptive max pooling of (N, C, H, W) or (C, H, W), always returning
    ``(output, indices)`` with indices into each H*W plane (any sizes, divisible or not)."""
    if _is_int(output_size) or output_size is None:
        output_size = (output_size, output_size)
    return _adaptive_max("adaptive_max_pool2d", input, output_size, 2)


def adaptive_max_pool3d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """3-D adaptive max pooling, always returning ``(output, indices)`` (indices into each
    D*H*W volume)."""
    return adaptive_max_pool3d(input, output_size, return_indices=True)


# ----------------------------------------------------------------------------- max with indices
def _check_rank(op: str, input: Any, nd: int) -> None:
    """PyTorch's error for an input that is not (N, C, *S) or (C, *S): a RuntimeError (a
    :class:`ShapeError`, which is also the ValueError chainrule's pooling ops raise)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if input.ndim not in (nd + 1, nd + 2):
        raise ShapeError(
            f"{op}: expected a {nd + 1}D or {nd + 2}D input, got shape {tuple(input.shape)}"
        )


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """:func:`max_pool1d` that always returns ``(output, indices)`` (PyTorch's alias)."""
    _check_rank("max_pool1d_with_indices", input, 1)
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """:func:`max_pool2d` that always returns ``(output, indices)`` (PyTorch's alias)."""
    _check_rank("max_pool2d_with_indices", input, 2)
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """:func:`max_pool3d` that always returns ``(output, indices)`` (PyTorch's alias)."""
    _check_rank("max_pool3d_with_indices", input, 3)
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ----------------------------------------------------------------------------- max_unpool3d
@autocast_float32_op
def max_unpool3d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """Partial inverse of :func:`max_pool3d`: (N, C, D, H, W) or (C, D, H, W) values go to
    the flat (d * H_out * W_out + h * W_out + w) positions ``indices`` of zero volumes of
    size ``output_size`` (default ``(D - 1) * stride + kernel_size - 2 * padding`` per dim).
    The gradient is the gather of the upstream gradient at ``indices`` (scatter's rule).

    Raises:
        ValueError: ``output_size`` of the wrong length or more than a stride off the default.
        RuntimeError: a non-4d/5d input, non-int64 ``indices``, a shape mismatch or an index
            out of range.
    """
    op = "max_unpool3d"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if not isinstance(indices, Tensor):
        raise TypeError(f"{op}: indices must be a Tensor, got {type(indices).__name__}")
    if input.ndim not in (4, 5):
        raise RuntimeError(
            f"Input to {op} should be a 4d or 5d Tensor, but got a tensor with "
            f"{input.ndim} dimensions."
        )
    # PyTorch's Python arithmetic on the sizes first, then its kernel's checks
    k = _unpool_numbers(kernel_size, 3, "kernel_size", op)
    s = k if stride is None else _unpool_numbers(stride, 3, "stride", op, len(k))
    p = _unpool_numbers(padding, 3, "padding", op, len(k))
    od, oh, ow = _unpool_ints(op, _unpool_output_size(op, input, k, s, p, output_size), 3)
    for pos, name, t in ((4, "stride", s), (5, "padding", p)):  # the 3-d kernel reads them
        for i, e in enumerate(t):  # PyTorch's parser: ints (a bool only after the first)
            if (i == 0 and isinstance(e, bool)) or not isinstance(e, (int, np.integer)):
                raise TypeError(
                    f"{op}(): argument '{name}' (position {pos}) must be tuple of ints, but "
                    f"found element of type {type(e).__name__} at pos {i}"
                )
    if min(s) <= 0:  # PyTorch's 3-d unpool checks the strides (the 2-d one does not)
        raise RuntimeError(f"{op}: strides should be greater than zero, but got stride: {list(s)}")
    if indices.dtype != np.dtype(np.int64):
        raise RuntimeError(
            f"{op}: elements in indices should be type int64 but got: {indices.dtype}"
        )
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(
            f"{op}: expected shape of indices to be same as that of the input tensor "
            f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}"
        )
    if input.dtype.kind not in "fcV":  # V: bfloat16
        raise NotImplementedError(f'"{op}" not implemented for input dtype {input.dtype}')
    vol = od * oh * ow
    if vol == 0:  # an empty output (kernel_size=0): PyTorch checks no index
        lead = tuple(input.shape[:-3])
        return input.reshape(*lead, -1)[..., :0].reshape(*lead, od, oh, ow)  # in the graph
    idx = indices._data
    bad = (idx < 0) | (idx >= vol)
    if bool(bad.any()):
        first = int(idx[bad].reshape(-1)[0])
        raise RuntimeError(
            f"{op}: found an invalid max index {first} (output volumes are of size {od}x{oh}x{ow})"
        )
    return max_unpool(input, indices, (od, oh, ow))  # one MaxUnpool3DBackward0, as PyTorch's


# ----------------------------------------------------------------------------- lp_pool3d
def lp_pool3d(
    input: Tensor,
    norm_type: float,
    kernel_size: Any,
    stride: Any = None,
    ceil_mode: bool = False,
) -> Tensor:
    """Power-average pooling over (N, C, D, H, W) or (C, D, H, W):
    ``(sum_window x ** p) ** (1 / p)``; ``p = inf`` is max pooling of ``|x|``, ``-inf`` its
    min. Where a window's sum is exactly zero the gradient is zero (PyTorch's guard).

    Raises:
        ValueError: ``kernel_size`` not an int or 3 ints (PyTorch unpacks three).
        ZeroDivisionError: ``norm_type == 0``.
    """
    op = "lp_pool3d"
    p = _check_norm(op, norm_type)
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if _is_int(kernel_size):
        kd = kh = kw = int(kernel_size)
    elif isinstance(kernel_size, Sequence) and len(kernel_size) == 3:
        kd, kh, kw = _ints(kernel_size, 3, "kernel_size", op)
    elif isinstance(kernel_size, (Sequence, str)):  # PyTorch unpacks three
        raise ValueError(f"{op}: kernel_size must be an int or 3 ints, got {kernel_size!r}")
    else:  # PyTorch's avg_pool3d parser (a bool, a float, None)
        raise TypeError(
            f"avg_pool3d(): argument 'kernel_size' (position 2) must be tuple of ints, not "
            f"{type(kernel_size).__name__}"
        )
    if p == math.inf:
        return max_pool3d(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if p == -math.inf:
        return -max_pool3d(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    avg = _geometry_errors(op, avg_pool3d, input.pow(norm_type), kernel_size, stride, ceil_mode)
    return _lp_finish(op, avg, p, kd * kh * kw)
