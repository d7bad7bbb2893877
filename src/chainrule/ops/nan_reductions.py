"""Reductions that skip NaN: ``nansum`` and ``nanmean``.

Both are composed from a NaN-to-zero op and ``sum``: the NaN entries are replaced by 0
before summing, their gradient PyTorch's ``grad * ~isnan(x)`` (0, or NaN where the incoming
gradient is infinite or NaN), and forward mode comes from the same primitives. ``nanmean``
divides by the number of non-NaN entries of each reduced slice (a constant), giving NaN for
a slice that is all NaN, as PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import is_floating
from ._util import NAMED_ERRORS, DtypeError, as_tensor, lead_with
from .binding import tensor_method
from .logical import isnan, logical_not
from .reduction import sum as _sum

__all__ = ["nanmean", "nansum"]


def _no_complex(op: str, x: Tensor) -> None:
    """PyTorch's CPU nansum (and nanmean, a nansum inside) refuses complex input."""
    if x._data.dtype.kind == "c":
        raise RuntimeError(f"{op}: nansum on CPU does not support complex inputs (as PyTorch)")


class _ZeroNans(Function):
    """``x`` with its NaN entries replaced by 0; the gradient is PyTorch's
    ``grad * ~isnan(x)``, a product, so an infinite or NaN incoming gradient (the ``1/0`` of
    an all-NaN slice's mean) gives NaN at the NaN entries as in PyTorch, where a ``where``
    would give 0."""

    raw = True

    @staticmethod
    def forward(ctx, x):
        xp = get_array_module(x)
        keep = ~xp.isnan(x)
        ctx.keep = keep
        return xp.where(keep, x, xp.zeros((), x.dtype))

    @staticmethod
    def backward(ctx, grad):
        return grad * Tensor._make(ctx.keep, False, None, 0)

    @staticmethod
    def jvp(ctx, t):
        return t * ctx.keep


def _zero_nans(x: Tensor) -> tuple[Tensor, Tensor]:
    """``x`` with NaN entries replaced by 0 (:class:`_ZeroNans`), and the NaN mask."""
    nan = isnan(x)
    return _ZeroNans.apply(x), nan


@tensor_method(keywords=True)
def nansum(
    input: Any,  # noqa: A002 - PyTorch's name
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """Sum over ``dim`` (all elements by default) treating NaN as 0; integer and bool inputs
    sum as ``sum`` does (in int64)."""
    x = as_tensor(input)
    _no_complex("nansum", x)
    try:
        if x.dtype.kind in "fcV":  # V: bfloat16
            x, _ = _zero_nans(x)
        return _sum(x, dim, keepdim, dtype)
    except NAMED_ERRORS as err:
        lead_with("nansum", err)
        raise


@tensor_method(keywords=True)
def nanmean(
    input: Any,  # noqa: A002 - PyTorch's name
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """Mean over ``dim`` of the non-NaN entries (NaN where a slice has none).

    Raises:
        RuntimeError: an integer or bool input (PyTorch has no integer nanmean).
    """
    x = as_tensor(input)
    _no_complex("nanmean", x)  # a nansum inside, as PyTorch's
    if not (is_floating(x.dtype) or x.dtype.kind == "c"):  # before ``dtype``, as PyTorch
        raise DtypeError(
            f"nanmean(): expected input to have floating point or complex dtype but got "
            f"{x.dtype}; call .float() first"
        )
    if dtype is not None:
        target = np.dtype(dtype)
        if not (is_floating(target) or target.kind == "c"):  # a mean is never integer
            raise RuntimeError(
                f"nanmean(): could not infer output dtype. Optional dtype must be either a "
                f"floating point or complex dtype. Got: {dtype}"
            )
        x = x.to(dtype)
    try:
        x0, nan = _zero_nans(x)
        total = _sum(x0, dim, keepdim)
        count = _sum(logical_not(nan), dim, keepdim)
    except NAMED_ERRORS as err:
        lead_with("nanmean", err)
        raise
    return total / count  # 0 / 0: NaN for a slice with no number
