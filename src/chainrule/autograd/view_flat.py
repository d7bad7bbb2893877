"""Where a view's elements lie in its base: flat C-order positions computed from strides,
and the three Functions on flat positions that the view rules are built from.

Split from ``view_replay.py`` (session 38). A view is described to autograd by the flat
positions of its elements in its base (:func:`flat_index_map`), so one rule covers slices,
transposes, diagonals and overlapping windows; :class:`GatherFlat`, :class:`ScatterFlat`
and :class:`ZeroFlat` (each other's adjoints) are the gradients of ``AsStrided`` and
``CopySlices`` (:mod:`.view_replay`), written as Functions so that they can be
differentiated again. :func:`no_self_overlap` tells a view whose elements share memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import get_array_module
from .function import Function
from .saved import memory_root

__all__ = [
    "GatherFlat",
    "ScatterFlat",
    "ZeroFlat",
    "as_real_array",
    "byte_offsets",
    "data_pointer",
    "flat_index_map",
    "no_self_overlap",
]


def data_pointer(arr: Any) -> int:
    """The address of an array's first element (NumPy or CuPy)."""
    iface = getattr(arr, "__array_interface__", None)
    if iface is not None:
        return iface["data"][0]
    return arr.data.ptr  # pragma: no cover - cupy


def byte_offsets(shape: tuple, strides: tuple) -> np.ndarray:
    """The byte offset of every element of an array of ``shape``/``strides`` (C order)."""
    off = np.zeros(shape, dtype=np.int64)
    for k, (n, s) in enumerate(zip(shape, strides)):
        if n > 1 and s != 0:
            axis = [1] * len(shape)
            axis[k] = n
            off += (np.arange(n, dtype=np.int64) * s).reshape(axis)
    return off


def flat_index_map(base: Any, view: Any) -> Any:
    """For each element of ``view`` (an array sharing ``base``'s memory), its flat C-order
    position in ``base``: ``base.reshape(-1)[index] == view`` elementwise. A view left in
    its base's old memory (``a.data = t`` since) keeps its place by its storage offset and
    strides, as PyTorch's view replay (``as_strided`` on the base's new storage) does."""
    pos, ok = _positions(base, view, data_pointer(view) - data_pointer(base))
    if not ok.all():  # (the method: np.all's Python wrappers cost ~1 us)
        start = _moved_start(base, view)
        if start is not None:
            pos, ok = _positions(base, view, start)
    if not ok.all():
        raise RuntimeError(
            f"view replay: a view of shape {tuple(view.shape)} does not lie inside the memory of "
            f"its base of shape {tuple(base.shape)}"
        )
    xp = get_array_module(base)
    return pos if xp is np else xp.asarray(pos)  # pragma: no branch


def _positions(base: Any, view: Any, start: int) -> tuple:
    """The flat positions in ``base`` of ``view``'s elements, ``view`` starting ``start``
    bytes after ``base``'s first element, and where each one is an element of ``base``."""
    voff = byte_offsets(view.shape, view.strides) + start
    itemsize = base.itemsize
    if base.flags.c_contiguous:
        pos = voff // itemsize
        return pos, (voff % itemsize == 0) & (pos >= 0) & (pos < base.size)
    if not base.size:
        return voff, np.zeros(voff.shape, bool)
    boff = byte_offsets(base.shape, base.strides).reshape(-1)
    order = np.argsort(boff, kind="stable")
    sorted_off = boff[order]
    j = np.clip(np.searchsorted(sorted_off, voff), 0, base.size - 1)
    return order[j], sorted_off[j] == voff


def _moved_start(base: Any, view: Any) -> int | None:
    """Where ``view`` starts relative to ``base`` by storage offsets (bytes from the start of
    each one's memory) when the two no longer share memory (the base's was replaced:
    ``a.data = t``); None while they share it, or when a memory is not an array's."""
    if get_array_module(base).may_share_memory(base, view):
        return None
    roots = memory_root(view), memory_root(base)
    if not all(hasattr(r, "__array_interface__") for r in roots):
        return None  # (memory owned by another kind of object)
    return (data_pointer(view) - data_pointer(roots[0])) - (
        data_pointer(base) - data_pointer(roots[1])
    )


def _scatter_add(g: Any, size: int, index: Any) -> Any:
    """A flat array of ``size`` zeros with ``g`` added at ``index`` (repeats summed)."""
    xp = get_array_module(g)
    if xp is np and g.dtype.kind == "f":
        return np.bincount(index.reshape(-1), weights=g.reshape(-1), minlength=size).astype(
            g.dtype, copy=False
        )
    out = xp.zeros(size, dtype=g.dtype)
    xp.add.at(out, index.reshape(-1), g.reshape(-1))  # cupy.add.at on the GPU
    return out


class GatherFlat(Function):
    """``x.reshape(-1)[index]``: the elements of ``x`` at flat positions ``index``."""

    raw = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        return x.reshape(-1)[index]

    @staticmethod
    def backward(ctx, grad):
        return ScatterFlat.apply(grad, ctx.shape, ctx.index), None

    @staticmethod
    def jvp(ctx, t, _):
        return t.reshape(-1)[ctx.index]


class ScatterFlat(Function):
    """zeros(``shape``) with ``g`` added at flat positions ``index`` (GatherFlat's adjoint)."""

    raw = True

    @staticmethod
    def forward(ctx, g, shape, index):
        ctx.index = index
        return _scatter_add(g, int(np.prod(shape, dtype=np.int64)), index).reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return GatherFlat.apply(grad, ctx.index), None, None

    @staticmethod
    def jvp(ctx, t, _s, _i):
        return ScatterFlat.forward(ctx, t, ctx.primals[1], ctx.index)


class ZeroFlat(Function):
    """A copy of ``g`` with the flat positions ``index`` set to zero (self-adjoint)."""

    raw = True

    @staticmethod
    def forward(ctx, g, index):
        ctx.index = index
        out = get_array_module(g).array(g, copy=True, order="C")
        out.reshape(-1)[index] = 0
        return out

    @staticmethod
    def backward(ctx, grad):
        return ZeroFlat.apply(grad, ctx.index), None

    @staticmethod
    def jvp(ctx, t, _):
        return ZeroFlat.forward(ctx, t, ctx.index)


def as_real_array(arr: Any) -> Any:
    """A complex array's memory as floats, shape ``(..., 2)`` (a view, any strides)."""
    return arr[..., None].view(arr.real.dtype)


def no_self_overlap(arr: Any) -> bool:
    """Whether each element of ``arr`` has its own memory (checked on the strides: each
    dim, in increasing stride order, steps past everything the smaller dims span). An
    overlapping view (``unfold`` windows) written by anything but an in-place op keeps
    ``value``'s history in :func:`.view_replay.record_view_write`: replaying it from its
    base would count shared elements twice. In-place ops ask it of every non-contiguous view
    they write, so two dims (most views) take a short path."""
    extent = arr.itemsize
    if arr.ndim == 2:
        (n0, n1), (s0, s1) = arr.shape, arr.strides
        s0, s1 = (abs(s0), abs(s1)) if n0 > 1 else (0, abs(s1))
        if n1 <= 1:
            n1, s1 = n0, s0
            n0 = 1
        if n0 > 1 and s0 < s1:
            n0, s0, n1, s1 = n1, s1, n0, s0  # n1/s1: the dim of the smaller stride
        if n1 > 1:
            if s1 < extent:
                return False
            extent += s1 * (n1 - 1)
        return n0 <= 1 or s0 >= extent
    for st, n in sorted((abs(st), n) for n, st in zip(arr.shape, arr.strides) if n > 1):
        if st < extent:
            return False
        extent = st * (n - 1) + extent
    return True
