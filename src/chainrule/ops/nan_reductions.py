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
from ..autograd.saved_fields import given, given_dim  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import is_floating
from ._util import NAMED_ERRORS, DtypeError, as_tensor, lead_with, norm_dim
from .binding import tensor_method
from .dim_arguments import dim_type_error
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


class NanSum(Function):
    """``nansum`` of a floating ``x`` as one node (PyTorch's ``NansumBackward0``, saving
    ``self``, ``dim`` and ``keepdim``): the sum of ``x`` with its NaN entries as 0, computed
    by ``sum`` itself (its accumulation and ``dtype``); the gradient ``grad * ~isnan(x)``
    (a product, as :class:`_ZeroNans`), written with Tensor ops (double backward)."""

    raw = True
    node_name = "NansumBackward0"
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): dim as given
        "dim": lambda n: _shown_dims(n),
        "keepdim": lambda n: n.keepdim,
        "self": 0,
    }

    @staticmethod
    def forward(ctx, x, dim, keepdim, dtype):
        xp = get_array_module(x)
        zeroed = Tensor._make(xp.where(xp.isnan(x), xp.zeros((), x.dtype), x), False, None, 0)
        out = _sum(zeroed, dim, keepdim, dtype)._data  # sum's checks, accumulation, dtype
        every = tuple(range(x.ndim))
        axes = every if dim is None or x.ndim == 0 else tuple(norm_dim(dim, x.ndim, "nansum"))
        ctx.keepdim, ctx.axes = keepdim, axes or every
        ctx.kshape = tuple(1 if i in ctx.axes else n for i, n in enumerate(x.shape))
        ctx.save_for_backward(x)
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xd = x._data
        xp = get_array_module(xd)
        if not ctx.create_graph:  # on raw arrays: nothing to record
            g = grad._data.reshape(ctx.kshape).astype(xd.dtype, copy=False)
            return Tensor._make(g * ~xp.isnan(xd), False, None, 0), None, None, None
        keep = Tensor._make(~xp.isnan(xd), False, None, 0)
        g = grad.reshape(ctx.kshape).expand(tuple(x.shape))
        if g.dtype != x.dtype:
            g = g.to(x.dtype)
        return g * keep, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        xp = get_array_module(x)
        masked = xp.where(xp.isnan(x), xp.zeros((), t.dtype), t)
        out = masked.sum(axis=ctx.axes, keepdims=True).reshape(ctx.out.shape)
        return out.astype(ctx.out.dtype, copy=False)


def _shown_dims(node: Any) -> tuple | None:
    """``_saved_dim``: the dims as given, one dim as a 1-tuple; None where none was given."""
    v = given_dim(node)
    return v if v is None or type(v) is tuple else (v,)


def _zero_nans(x: Tensor) -> tuple[Tensor, Tensor]:
    """``x`` with NaN entries replaced by 0 (:class:`_ZeroNans`), and the NaN mask."""
    nan = isnan(x)
    return _ZeroNans.apply(x), nan


def _tensor_dim(op: str, dim: Tensor) -> int:
    """A one-element integer or bool tensor given as ``dim``, as PyTorch's int list parser
    reads it (the int: ``x.nansum(cr.tensor([1]))``); any other tensor is its TypeError
    (``nansum(): argument 'dim' (position 1) must be tuple of ints, not Tensor``)."""
    if dim.numel() == 1 and dim.dtype.kind in "biu":
        return int(dim.item())
    raise dim_type_error(dim) or TypeError(
        f"{op}(): argument 'dim' (position 1) must be tuple of ints, not Tensor"
    )


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
    if isinstance(dim, Tensor):  # read before the node, which would see its array
        dim = _tensor_dim("nansum", dim)
    try:
        if x.dtype.kind == "f":  # one NansumBackward0, as PyTorch's
            return given(NanSum.apply(x, dim, keepdim, dtype), dim=dim)
        if x.dtype.kind in "fcV":
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
    if isinstance(dim, Tensor):
        dim = _tensor_dim("nanmean", dim)
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
        if x.dtype.kind == "f":  # a NansumBackward0 under the division, as PyTorch's
            total = given(NanSum.apply(x, dim, keepdim, None), dim=dim)
            nan = isnan(x)
        else:
            x0, nan = _zero_nans(x)
            total = _sum(x0, dim, keepdim)
        count = _sum(logical_not(nan), dim, keepdim)
    except NAMED_ERRORS as err:
        lead_with("nanmean", err)
        raise
    return total / count  # 0 / 0: NaN for a slice with no number
