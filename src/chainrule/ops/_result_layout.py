"""Memory layouts of op results, chosen as PyTorch chooses them.

A result's strides are observable: ``y.view(...)`` works or fails on them, ``y.reshape(...)``
returns a view or a copy by them, and so an in-place write through that reshape reaches
``y`` or not. chainrule therefore allocates each result in PyTorch's layout. Three rules
cover the ops (learnt by running PyTorch 2.13, see ``tests/ops/test_result_layouts.py``):

- *contiguous*: reductions, scans (``cummax``, ``logcumsumexp``), ``index_select``,
  ``median``, ``tril``: a row-major result whatever the input (``contiguous``);
- *preserve format*: ``sort``, ``flip``: the input's own strides when it is dense
  and non-overlapping, else a dense layout with its dims in the input's stride order
  (``like_layout``), what ``torch.empty_like`` gives;
- *elementwise*: the dims ordered by the operands' strides, the first operand that tells
  two dims apart deciding (``elementwise_layout``).

The stride order of several operands is an insertion sort of the dims, fastest first, where
an operand tells two dims apart only when both have a nonzero stride (a dim it is broadcast
along carries no order; a size-1 dim's stride counts, as in PyTorch); equal strides put the
larger dim outside. A pair no operand tells apart keeps the row-major order. This rule
reproduces ``torch.empty_like`` and PyTorch's binary ops on thousands of random layouts.
Every helper returns its argument untouched when it already has the layout, so a contiguous
input costs no copy.
"""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module

__all__ = ["contiguous", "elementwise_layout", "has_own_layout", "like_layout", "stride_order"]


def _compare(shape: tuple, strides: tuple, a: int, b: int) -> int:
    """1 when dim ``a`` goes outside dim ``b``, -1 when inside, 0 when no operand says
    (``strides``: each operand's strides over the result's ``shape``)."""
    for st in strides:
        sa, sb = st[a], st[b]
        if sa == 0 or sb == 0:
            continue
        if sa != sb:
            return 1 if sa > sb else -1
        if shape[a] > shape[b]:
            return 1
    return 0


def stride_order(shape: tuple, *strides: tuple) -> list[int]:
    """The dims of a result of ``shape`` from the fastest-varying to the slowest, given its
    operands' ``strides`` over that shape (0 along a dim an operand is broadcast on)."""
    n = len(shape)
    order = list(range(n - 1, -1, -1))
    for i in range(1, n):
        j = i
        for k in range(i - 1, -1, -1):
            c = _compare(shape, strides, order[k], order[j])
            if c > 0:
                order[k], order[j] = order[j], order[k]
                j = k
            elif c < 0:
                break
    return order


def _broadcast_strides(arr: Any, shape: tuple) -> tuple:
    """``arr``'s strides over the broadcast ``shape``: 0 along new dims and dims it is
    broadcast on; a size-1 dim that stays size 1 keeps its stride (NumPy's
    ``broadcast_to`` zeroes it, PyTorch's order counts it)."""
    lead = len(shape) - arr.ndim
    own = tuple(
        0 if n == 1 and shape[lead + i] != 1 else s
        for i, (n, s) in enumerate(zip(arr.shape, arr.strides))
    )
    return (0,) * lead + own


def _has_order(arr: Any, order: list[int]) -> bool:
    """Whether ``arr`` is dense with its dims laid out in ``order`` (size-1 dims aside)."""
    expected = arr.itemsize
    shape, strides = arr.shape, arr.strides
    for d in order:
        if shape[d] != 1:
            if strides[d] != expected:
                return False
            expected *= shape[d]
    return True


def _relaid(arr: Any, order: list[int]) -> Any:
    """``arr`` copied into a dense layout whose dims run ``order``, fastest first."""
    if _has_order(arr, order):
        return arr
    xp = get_array_module(arr)
    outer_first = order[::-1]
    buf = xp.empty([arr.shape[d] for d in outer_first], dtype=arr.dtype)
    out = buf.transpose([outer_first.index(d) for d in range(arr.ndim)])
    out[...] = arr
    return out


def has_own_layout(arr: Any) -> bool:
    """Whether ``arr`` is a strided array that is not row-major: False for a row-major one
    and for a ``cr.func.vmap`` per-sample array (its layout is the batch's, not its own)."""
    if getattr(type(arr), "vmap_raw_array", False):
        return False
    return not arr.flags.c_contiguous


def contiguous(arr: Any) -> Any:
    """``arr`` row-major: itself when it already is (or is a vmap per-sample array, whose
    layout is the batch's), else a row-major copy."""
    if getattr(type(arr), "vmap_raw_array", False) or arr.flags.c_contiguous:
        return arr
    return get_array_module(arr).ascontiguousarray(arr)


def like_layout(arr: Any, like: Any) -> Any:
    """``arr`` (shaped as ``like``) in the layout ``torch.empty_like(like)`` would have: the
    strides of ``like`` when dense, else a dense layout in ``like``'s stride order."""
    if like.ndim < 2 or like.flags.c_contiguous:
        return contiguous(arr)
    return _relaid(arr, stride_order(like.shape, like.strides))


def elementwise_layout(y: Any, *operands: Any) -> Any:
    """The result ``y`` of an elementwise op in PyTorch's layout for its ``operands``
    (arrays broadcast to ``y``'s shape inside; Python numbers and 0-d arrays carry no
    order). Callers skip this when every operand is row-major: the result then is too."""
    strides = tuple(_broadcast_strides(o, y.shape) for o in operands if getattr(o, "ndim", 0) > 0)
    if not strides:
        return y
    return _relaid(y, stride_order(y.shape, *strides))
