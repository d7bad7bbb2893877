"""Adaptive pooling: the output size is given and the windows follow from it.

PyTorch's bins for output index i of n over a size-``size`` dimension are
[floor(i * size / n), ceil((i + 1) * size / n)). Evenly divisible sizes are plain
pooling; otherwise average pooling is two matrix products with bin-averaging matrices
(linear and exact) and max pooling a max per bin. Composed from other ops, so no rules here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..autograd.tensor_conversions import in_float32_rounded_once
from ..backend import get_array_module
from ..quantized_ops import adaptive_avg_pool2d_quantized
from ._util import no_integer_kernel
from .pooling import _one, _to_2d, avg_pool2d, max_pool2d
from .shape import cat, stack

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool2d"]


def _bins(size: int, n: int):
    return [(math.floor(i * size / n), math.ceil((i + 1) * size / n)) for i in range(n)]


def _avg_matrix(size: int, n: int, dtype, xp_) -> Any:
    a = np.zeros((n, size))
    for i, (s, e) in enumerate(_bins(size, n)):
        a[i, s:e] = 1.0 / (e - s)
    return Tensor._make(xp_.asarray(a.astype(dtype)), False, None, 0)


def _bin_means(x: Tensor, axis: int, n: int) -> Tensor:
    """The means of ``x`` over PyTorch's ``n`` adaptive bins along ``axis``, one slice each.

    The averaging-matrix product is faster but multiplies every element by every bin's
    weight, so one inf or NaN input makes 0 * inf = NaN in bins that do not hold it; this
    form is used when the input is not all finite."""
    axis %= x.ndim
    parts = []
    for s, e in _bins(x.shape[axis], n):
        index = (slice(None),) * axis + (slice(s, e),)
        parts.append(x[index].mean(axis, keepdim=True))
    return cat(parts, axis)


def _adaptive_size(op: str, input: Tensor, output_size: Any) -> tuple:
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        raise ValueError(
            f"{op}: expected (N, C, H, W) or (C, H, W) input, got "
            f"{getattr(input, 'shape', type(input).__name__)}"
        )
    h, w = input.shape[-2:]
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    oh, ow = output_size
    oh, ow = (h if oh is None else int(oh)), (w if ow is None else int(ow))
    if oh < 0 or ow < 0:
        raise RuntimeError(
            f"{op}: elements of output_size must be greater than or equal to 0 "
            f"but received {output_size}"
        )
    return oh, ow


def _empty_adaptive(input: Tensor, oh: int, ow: int) -> Tensor | None:
    """A size-0 output_size gives an empty result (as PyTorch), still linked to the graph."""
    if oh and ow:
        return None
    return (input.sum((-2, -1), keepdim=True) * 0).expand(*input.shape[:-2], oh, ow)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive bins [floor(i H / oh), ceil((i+1) H / oh)).

    1x1 output is a mean; evenly divisible sizes are a plain avg_pool2d; otherwise the
    pooling is written as A_h @ x @ A_w^T with bin-averaging matrices (linear, exact).
    bfloat16 is computed in float32 and rounded once; CPU autocast casts nothing here (the
    op is on none of its lists, so float32 stays float32 although the matmuls are cast).
    """
    if isinstance(input, Tensor) and input.is_quantized:  # rounded integer bin means
        oh, ow = _adaptive_size("adaptive_avg_pool2d", input, output_size)
        return adaptive_avg_pool2d_quantized(input, oh, ow)
    return in_float32_rounded_once(_adaptive_avg_pool2d, input, output_size)


def _adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """:func:`adaptive_avg_pool2d` in the input's dtype, outside autocast."""
    oh, ow = _adaptive_size("adaptive_avg_pool2d", input, output_size)
    no_integer_kernel("adaptive_avg_pool2d", input)
    h, w = input.shape[-2:]
    empty = _empty_adaptive(input, oh, ow)
    if empty is not None:
        return empty
    if oh == 1 and ow == 1:
        return input.mean((-2, -1), keepdim=True)
    if h % oh == 0 and w % ow == 0:
        return avg_pool2d(input, (h // oh, w // ow))
    xp_ = get_array_module(input._data)
    if not bool(xp_.isfinite(input._data).all()):  # see _bin_means; one pass, uneven bins only
        return _bin_means(_bin_means(input, -2, oh), -1, ow)
    ah = _avg_matrix(h, oh, input.dtype, xp_)
    aw = _avg_matrix(w, ow, input.dtype, xp_)
    return ah.matmul(input).matmul(aw.transpose(0, 1))


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """1-D adaptive average pooling over (N, C, L)."""
    return adaptive_avg_pool2d(
        _to_2d("adaptive_avg_pool1d", input), (1, _one(output_size))
    ).squeeze(-2)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False):
    """Max over PyTorch's adaptive bins (see :func:`adaptive_avg_pool2d`)."""
    oh, ow = _adaptive_size("adaptive_max_pool2d", input, output_size)
    h, w = input.shape[-2:]
    empty = _empty_adaptive(input, oh, ow)
    if empty is not None:
        if return_indices:
            xp_ = get_array_module(input._data)
            idx = Tensor._make(xp_.zeros(empty.shape, "int64"), False, None, 0)
            return empty, idx
        return empty
    if h % oh == 0 and w % ow == 0:
        return max_pool2d(input, (h // oh, w // ow), return_indices=return_indices)
    if return_indices:
        raise NotImplementedError(
            "adaptive_max_pool2d: return_indices is only supported when "
            "the input size is divisible by the output size"
        )
    rows = []
    for hs, he in _bins(h, oh):
        cols = [input[..., hs:he, ws:we].amax((-2, -1)) for ws, we in _bins(w, ow)]
        rows.append(stack(cols, -1))
    return stack(rows, -2)
