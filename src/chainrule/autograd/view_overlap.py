"""In-place writes into a view whose elements overlap in memory (``unfold`` windows, an
``as_strided`` view with small strides), recorded with PyTorch's gradient.

PyTorch runs elementwise in-place ops on such a view without a check (only an *expanded*
tensor is refused), and its ``CopySlices`` backward then *copies* the op's gradient into the
view's elements of the base's gradient: each memory location takes the gradient of the last
element sharing it (C order), not the sum over them. :func:`overlapping_write_input` gives the
in-place op an input with that gradient (:class:`_LastWrite`) in place of the view's own
history; the values are written by ``ops/inplace_overlap.py``.
"""

from __future__ import annotations

from ..backend import get_array_module
from .function import Function
from .tensor import Tensor
from .view_flat import GatherFlat, ScatterFlat, ZeroFlat, flat_index_map

__all__ = ["overlapping_write_input"]


class _LastWrite(Function):
    """An overlapping view (``unfold`` windows, an ``as_strided`` view whose elements share
    memory) re-taken from its base's history as the input of an in-place op on it, with
    PyTorch's gradient for that case: its ``CopySlices`` *copies* the op's gradient into the
    view's elements of the base's gradient, so each memory location takes the gradient of
    the last element (in C order) sharing it, not their sum (:func:`overlapping_write_input`).
    ``forward`` returns the view array itself."""

    raw = True
    node_name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, base, view, index):
        ctx.shape, ctx.index = base.shape, index
        xp = get_array_module(index)
        flat = index.reshape(-1)
        _, first_from_end = xp.unique(flat[::-1], return_index=True)
        shadowed = xp.ones(flat.size, bool)
        shadowed[flat.size - 1 - first_from_end] = False  # the last element at each place
        ctx.shadowed = xp.nonzero(shadowed)[0]  # flat positions (in the view) written over
        return view

    @staticmethod
    def backward(ctx, grad):
        return _CopyIntoPlaces.apply(grad, ctx.shape, ctx.index, ctx.shadowed), None, None

    @staticmethod
    def jvp(ctx, t, _v, _i):
        return None if t is None else t.reshape(-1)[ctx.index]


class _CopyIntoPlaces(Function):
    """``_LastWrite``'s gradient: zeros(``shape``) with ``g`` *copied* to flat positions
    ``index``, element after element (the ``shadowed`` elements, written over by a later one
    at the same place, left out): PyTorch's ``CopySlices`` copying into the base's gradient
    through the overlapping view. Its own gradient is, as PyTorch's derivative of that copy,
    each element's place's gradient (a gather): so a double backward matches PyTorch's,
    which is not the adjoint of the last-write rule."""

    raw = True

    @staticmethod
    def forward(ctx, g, shape, index, shadowed):
        kept = ZeroFlat.forward(ctx, g, shadowed)
        out = ScatterFlat.forward(ctx, kept, shape, index)
        ctx.shape, ctx.index, ctx.shadowed = shape, index, shadowed  # (after theirs)
        return out

    @staticmethod
    def backward(ctx, grad):
        return GatherFlat.apply(grad, ctx.index), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return _CopyIntoPlaces.forward(ctx, t, ctx.shape, ctx.index, ctx.shadowed)


def overlapping_write_input(view: Tensor, base: Tensor) -> Tensor:
    """The tensor an in-place op on ``view`` (a view whose elements overlap in memory, of
    ``base``, the op recorded) computes from: ``view``'s values and memory (its version
    counter too), with PyTorch's gradient for such a write (:class:`_LastWrite`) instead of
    ``view``'s own history, which would sum the gradients of the elements sharing a
    location."""
    proxy = _LastWrite.apply(base, view._data, flat_index_map(base._data, view._data))
    proxy._vc = view._vc
    proxy._view = None  # the op's own input, never re-taken (regenerate_views) nor replayed
    return proxy
