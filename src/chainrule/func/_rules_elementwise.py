"""Batching rules for elementwise and shape ops.

Physical values carry the batch dim first, so

- a unary elementwise op runs unchanged on the physical value;
- a binary (or ternary, ``where``) op aligns logical ranks by inserting singleton dims
  right after the batch dim of each batched operand (so NumPy's right-aligned broadcasting
  never pairs the batch dim with a logical dim), and leaves unbatched operands as they are;
- a shape op shifts its dims by one and prepends the batch size to its shapes.

Every rule is one call of the same op on the physical value: one array operation for the
whole batch, never a loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..ops.cast import Cast, ToDevice
from ..ops.elementwise import BinaryElementwise, UnaryElementwise
from ..ops.fused_pointwise import Addcdiv, Addcmul, LerpScalar, LerpTensor
from ..ops.gather_scatter import Gather
from ..ops.index_selection import IndexSelect
from ..ops.indexing import GetItem
from ..ops.joining import Stack, Unbind
from ..ops.masked_selection import MaskedSelect
from ..ops.matrix_trace import Trace
from ..ops.rearranging import Repeat
from ..ops.reduction import Sum
from ..ops.selected_values import SelectedValues
from ..ops.shape import BroadcastTo, Cat, Contiguous, Copy, Flip, Permute, Reshape, Roll, SumTo
from ..ops.statistics import SafeSqrt
from ._batched import BatchedTensor, Level, physical, unwrap_level, wrap
from ._dispatch import register
from ._logical import MASKED_SELECT_MESSAGE

__all__ = ["align", "logical_ndim"]


def logical_ndim(x: Any) -> int:
    """Rank of an operand as the op sees it (tensors: logical rank; scalars: 0)."""
    if isinstance(x, Tensor):
        return x.ndim
    return int(np.ndim(x)) if hasattr(x, "ndim") else 0


def align(x: Any, level: Level, rank: int) -> Any:
    """The physical value of ``x`` with singleton dims after the batch dim up to logical
    rank ``rank``; unbatched operands pass through (they broadcast from the right)."""
    v, batched = unwrap_level(x, level)
    if not batched:
        return x
    r = x.ndim
    if r < rank:
        return Reshape.apply(v, (level.size,) + (1,) * (rank - r) + tuple(x.shape))
    return v


def _no_batched_kwargs(kwargs: dict) -> bool:
    return not any(type(v) is BatchedTensor for v in kwargs.values())


@register(UnaryElementwise, Cast, ToDevice, Copy, Contiguous, SafeSqrt)
def _unary(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    if not _no_batched_kwargs(kwargs) or any(type(a) is BatchedTensor for a in args[1:]):
        return NotImplemented
    return wrap(cls.apply(args[0]._value, *args[1:], **kwargs), level)


@register(BinaryElementwise)
def _binary(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    ops = list(args)
    keys = [k for k, v in kwargs.items() if isinstance(v, Tensor)]
    rank = max([logical_ndim(a) for a in ops] + [kwargs[k].ndim for k in keys])
    ops = [align(a, level, rank) for a in ops]
    kw = dict(kwargs)
    for k in keys:
        kw[k] = align(kwargs[k], level, rank)
    return wrap(cls.apply(*ops, **kw), level)


# the fused elementwise ops of more than two operands batch the same way
register(LerpScalar, LerpTensor, Addcmul, Addcdiv)(_binary)


def _shift(axes: Any, ndim: int) -> Any:
    """Logical axes (int, tuple or None = all) as physical axes."""
    if axes is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axes, (int, np.integer)):
        return int(axes) % max(ndim, 1) + 1
    return tuple(int(a) % max(ndim, 1) + 1 for a in axes)


@register(Reshape)
def _reshape(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, shape = args
    return wrap(Reshape.apply(x._value, (level.size,) + tuple(shape)), level)


@register(BroadcastTo)
def _broadcast_to(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, shape = args
    v = align(x, level, len(shape))
    return wrap(BroadcastTo.apply(v, (level.size,) + tuple(shape)), level)


@register(SumTo)
def _sum_to(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, shape = args
    v = x._value
    lead = x.ndim - len(shape)
    if lead > 0:
        v = Sum.apply(v, tuple(range(1, lead + 1)), False)
    return wrap(SumTo.apply(v, (level.size,) + tuple(shape)), level)


@register(Permute)
def _permute(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, axes = args
    return wrap(Permute.apply(x._value, (0,) + tuple(int(a) + 1 for a in axes)), level)


@register(Flip)
def _flip(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, dims = args
    return wrap(Flip.apply(x._value, _shift(dims, x.ndim)), level)


@register(Roll)
def _roll(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, shifts, dims = args
    if dims is None:  # rolls the flattened tensor: per sample
        return NotImplemented
    return wrap(Roll.apply(x._value, shifts, _shift(dims, x.ndim)), level)


@register(Repeat)
def _repeat(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, sizes = args  # the sample's dims padded to len(sizes), the batch dim repeated once
    return wrap(Repeat.apply(align(x, level, len(sizes)), (1,) + tuple(sizes)), level)


@register(Cat)
def _cat(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    d = int(kwargs["dim"]) % args[0].ndim
    vs = [physical(a, level) for a in args]
    return wrap(Cat.apply(*vs, dim=d + 1), level)


@register(Stack)
def _stack(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    d = int(kwargs["dim"]) % (args[0].ndim + 1)  # a new dim of the samples' result
    vs = [physical(a, level) for a in args]
    return wrap(Stack.apply(*vs, dim=d + 1), level)


@register(Unbind)
def _unbind(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, d = args
    return tuple(wrap(o, level) for o in Unbind.apply(physical(x, level), int(d) + 1))


def _is_basic(i: Any) -> bool:
    return (
        i is None
        or i is Ellipsis
        or isinstance(i, slice)
        or (isinstance(i, (int, np.integer)) and not isinstance(i, bool))
    )


def _is_advanced(i: Any) -> bool:
    return hasattr(i, "ndim") and not isinstance(i, Tensor)


@register(GetItem)
def _getitem(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, idx = args[0], args[1]
    if type(x) is not BatchedTensor or x._level is not level or len(args) > 2:
        return NotImplemented
    items = idx if isinstance(idx, tuple) else (idx,)
    kinds = ["b" if _is_basic(i) else "a" if _is_advanced(i) else "?" for i in items]
    if "?" in kinds:
        return NotImplemented
    if "a" in kinds:
        # NumPy moves separated advanced indices to the front, which the prepended batch
        # slice would change: batch only when the advanced indices are adjacent.
        first, last = kinds.index("a"), len(kinds) - 1 - kinds[::-1].index("a")
        if "b" in kinds[first : last + 1]:
            return NotImplemented
    return wrap(GetItem.apply(x._value, (slice(None),) + tuple(items), **kwargs), level)


@register(MaskedSelect)
def _masked_select(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, mask = args  # a constant mask: one boolean subscript behind the batch dim
    if type(mask) is BatchedTensor:  # each sample's result would have its own length
        raise RuntimeError(MASKED_SELECT_MESSAGE)
    if type(x) is not BatchedTensor or x._level is not level:
        return NotImplemented
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    shape = tuple(np.broadcast_shapes(tuple(x.shape), m.shape))
    xv = x._value
    if tuple(x.shape) != shape:
        lead = (level.size,) + (1,) * (len(shape) - x.ndim) + tuple(x.shape)
        xv = BroadcastTo.apply(Reshape.apply(xv, lead), (level.size,) + shape)
    m = m if m.shape == shape else np.broadcast_to(m, shape)
    return wrap(GetItem.apply(xv, (slice(None), m)), level)


@register(Gather)
def _gather(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, dim, index = args
    xv, iv = physical(x, level), physical(index, level)
    return wrap(Gather.apply(xv, int(dim) % max(x.ndim, 1) + 1, iv), level)


@register(IndexSelect)
def _index_select(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, dim, index = args  # the index a constant vector: one selection along the shifted dim
    if type(x) is not BatchedTensor or x._level is not level or x.ndim == 0:
        return NotImplemented
    if type(index) is BatchedTensor:
        return NotImplemented
    return wrap(IndexSelect.apply(x._value, int(dim) + 1, index), level)


@register(Trace)
def _trace(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    (x,) = args  # each sample's diagonal summed: one diagonal view and one sum for the batch
    xv = physical(x, level)
    integral = xv._data.dtype.kind in "biu"  # summed in int64, as trace (and sum) do
    return wrap(xv.diagonal(0, 1, 2).sum(-1, dtype=np.int64 if integral else None), level)


@register(SelectedValues)
def _selected_values(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, dim, index = args  # max(dim), sort, topk, median, ...: their own node, keepdim or not
    xv, iv = physical(x, level), physical(index, level)
    return wrap(cls.apply(xv, int(dim) % max(x.ndim, 1) + 1, iv, **kwargs), level)
