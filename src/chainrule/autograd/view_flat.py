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
    position in ``base``: ``base.reshape(-1)[index] == view`` elementwise."""
    start = data_pointer(view) - data_pointer(base)
    voff = byte_offsets(view.shape, view.strides) + start
    itemsize = base.itemsize
    if base.flags.c_contiguous:
        pos = voff // itemsize
        ok = (voff % itemsize == 0) & (pos >= 0) & (pos < base.size)
    else:
        boff = byte_offsets(base.shape, base.strides).reshape(-1)
        order = np.argsort(boff, kind="stable")
        sorted_off = boff[order]
        j = np.clip(np.searchsorted(sorted_off, voff), 0, max(base.size - 1, 0))
        ok = sorted_off[j] == voff if base.size else np.zeros(voff.shape, bool)
        pos = order[j] if base.size else j
    if not np.all(ok):
        raise RuntimeError(
            f"view replay: a view of shape {tuple(view.shape)} does not lie inside the memory of "
            f"its base of shape {tuple(base.shape)}"
        )
    xp = get_array_module(base)
    return pos if xp is np else xp.asarray(pos)  # pragma: no branch


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
