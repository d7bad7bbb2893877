"""A whole public function run once per sample under ``cr.func.vmap``.

Most ops batch inside ``Function.apply`` (:mod:`._dispatch`). A few compute on their
arguments' raw arrays *before* any ``Function.apply`` (a bounds check, a result built
with NumPy when nothing needs a gradient: ``scatter_reduce``, ``searchsorted``,
``select_scatter``'s region shape), where a batched tensor's raw array is only a
:class:`~._logical.LogicalArray` that refuses per-sample work. Those functions call
:func:`per_sample` first while a vmap is active: the function once per sample of the
innermost level among its batched arguments (slices of their physical values), the
results stacked as batched tensors of that level, as the dispatcher's fallback does for
a single op (PyTorch's ``BatchedFallback``). Slices are views, so autograd (``vmap(grad)``)
and in-place writes reach the physical tensors; nested levels peel one at a time (a slice
of an inner level is still batched at the outer ones and comes back here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.state import LOCAL
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.indexing import getitem
from ..ops.shape import stack
from ._batched import BatchedTensor, Level, wrap
from ._dispatch import STATS
from ._logical import BOOL_MASK_MESSAGE, inplace_unbatched
from ._random import lift_draw

__all__ = [
    "batch_levels",
    "batch_sizes",
    "full_array",
    "index_batched",
    "innermost_level",
    "is_batched",
    "per_sample",
    "per_sample_write",
]


def is_batched(x: Any) -> bool:
    """Whether ``x`` holds per-sample values of an active vmap level: a batched tensor, or a
    plain one computed on a batched tensor's raw array (``x._data > 0``)."""
    return type(lift_draw(x)) is BatchedTensor


def _items(args: tuple, kwargs: dict) -> list:
    out = []
    for a in (*args, *kwargs.values()):
        if isinstance(a, (tuple, list)):  # (an index tuple: its tensors)
            out.extend(a)
        else:
            out.append(a)
    return out


def innermost_level(args: tuple, kwargs: dict | None = None) -> Level | None:
    """The innermost vmap level batching any argument (one level of tuples/lists looked
    into), or None: then the caller runs as usual."""
    level = None
    for a in _items(args, kwargs or {}):
        if type(a) is BatchedTensor and (level is None or a._level.id > level.id):
            level = a._level
    return level


def batch_levels(*args: Any) -> list:
    """The active vmap levels batching any of ``args`` (each tensor's nested wrappers walked),
    outermost first: the batch dims PyTorch's batch rules put in front of the physical
    tensors an op then checks (``ensure_has_bdim``: an argument a level does not batch gets
    that dim too)."""
    found: dict = {}
    for a in args:
        a = lift_draw(a)
        while type(a) is BatchedTensor:
            found[a._level.id] = a._level
            a = a._value
    return [found[i] for i in sorted(found)]


def batch_sizes(*args: Any) -> tuple:
    """The sizes of :func:`batch_levels` (outermost first): the prefix of the physical shapes
    PyTorch's words name under vmap."""
    return tuple(lv.size for lv in batch_levels(*args))


def full_array(x: Any, levels: list) -> Any:
    """The raw array of ``x`` with one leading dim per level of ``levels`` (outermost first,
    as :func:`batch_levels` gives them): its physical values, broadcast along a level that
    does not batch it. For checks that read values (index bounds) in PyTorch's physical
    order, before the op runs once per sample."""
    x = lift_draw(x)
    if not levels:
        return x._data
    last, outer = levels[-1], levels[:-1]
    if type(x) is BatchedTensor and x._level is last:
        return full_array(x._value, outer)  # (its logical dim 0 is last's batch dim)
    arr = full_array(x, outer)
    xp = get_array_module(arr)
    k = len(outer)
    arr = xp.expand_dims(arr, k)
    return xp.broadcast_to(arr, arr.shape[:k] + (last.size,) + arr.shape[k + 1 :])


def index_batched(index: Any) -> bool:
    """Whether an index (a tensor, or a tuple/list of them) holds per-sample positions; a
    per-sample boolean mask is refused with PyTorch's words (each sample's result would
    have its own length)."""
    lifted = _lift(index)
    if innermost_level((lifted,), {}) is None:
        return False
    items = lifted if isinstance(lifted, (tuple, list)) else (lifted,)
    if any(type(i) is BatchedTensor and i.dtype == np.bool_ for i in items):
        raise RuntimeError(BOOL_MASK_MESSAGE)
    return True


def _lift(x: Any) -> Any:
    if isinstance(x, (tuple, list)):
        return type(x)(lift_draw(a) for a in x)
    return lift_draw(x)


def per_sample_write(fn: Callable, x: Any, index: Any, *rest: Any) -> Any:
    """``x[index] = value``-like writes (``setitem``, ``index_put_``) under vmap: once per
    sample when the index is batched (each sample its own positions); PyTorch's refusal when
    ``x`` is not batched at the level of the index or value; NotImplemented otherwise (a
    batched ``x`` with a constant index has its own batched path)."""
    if not LOCAL.state.vmap:
        return NotImplemented
    index, rest = _lift(index), tuple(_lift(r) for r in rest)
    level = innermost_level((x, index, *rest), {})
    if level is None:
        return NotImplemented
    if not (type(x) is BatchedTensor and x._level is level):
        # PyTorch's words: x[i] = v is index_put_ for an advanced index, copy_ otherwise
        raise inplace_unbatched("index_put_" if _advanced(index) else "inplace arithmetic")
    if innermost_level((index,), {}) is not level:
        return NotImplemented
    return per_sample(fn, x, index, *rest, inplace=True)


def _advanced(index: Any) -> bool:
    """Whether an index holds a tensor, list or array (PyTorch's ``index_put_``)."""
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (Tensor, list, np.ndarray)) for i in items)


def _slice(x: Any, level: Level, b: int) -> Any:
    if type(x) is BatchedTensor and x._level is level:
        return getitem(x._value, b)
    if isinstance(x, (tuple, list)):
        return type(x)(_slice(a, level, b) for a in x)
    return x


def per_sample(fn: Callable, *args: Any, inplace: bool = False, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` once per sample of the innermost vmap level batching an
    argument, the results (a tensor or a tuple of tensors) stacked and batched at that
    level; NotImplemented when no argument is batched (or no vmap is active).
    ``inplace``: ``fn`` writes into ``args[0]`` (each sample's slice is a view of it), which
    is returned, as in-place ops return their target."""
    if not LOCAL.state.vmap:
        return NotImplemented
    args = tuple(_lift(a) for a in args)  # a mask computed on a batched raw array
    kwargs = {k: _lift(v) for k, v in kwargs.items()}
    level = innermost_level(args, kwargs)
    if level is None:
        return NotImplemented
    if inplace and not (type(args[0]) is BatchedTensor and args[0]._level is level):
        raise inplace_unbatched()  # per-sample values into one tensor: PyTorch refuses
    STATS["fallback"] += 1
    STATS["last"] = getattr(fn, "__name__", repr(fn))
    outs = []
    for b in range(level.size):
        a_b = tuple(_slice(a, level, b) for a in args)
        kw_b = {k: _slice(v, level, b) for k, v in kwargs.items()}
        outs.append(fn(*a_b, **kw_b))
    if inplace:
        return args[0]
    if isinstance(outs[0], tuple):
        first = outs[0]
        parts = [wrap(_stacked([o[i] for o in outs]), level) for i in range(len(first))]
        return type(first)(parts) if type(first) is tuple else type(first)(*parts)
    return wrap(_stacked(outs), level)


def _stacked(outs: list) -> Any:
    """The samples' results stacked; results of other shapes (``argwhere``, ``bincount``:
    each sample's length its own) refused in the words of PyTorch's fallback, which stacks
    them with ``torch.stack``."""
    first = tuple(outs[0].shape)
    for i, o in enumerate(outs):
        if tuple(o.shape) != first:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 "
                f"and {list(o.shape)} at entry {i}"
            )
    return stack(outs, 0)
