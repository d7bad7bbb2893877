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
from .view_replay import ScatterFlat, ZeroFlat, flat_index_map

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
        kept = ZeroFlat.apply(grad, ctx.shadowed)
        return ScatterFlat.apply(kept, ctx.shape, ctx.index), None, None

    @staticmethod
    def jvp(ctx, t, _v, _i):
        return None if t is None else t.reshape(-1)[ctx.index]


def overlapping_write_input(view: Tensor, base: Tensor) -> Tensor:
    """The tensor an in-place op on ``view`` (a view whose elements overlap in memory, of
    ``base``, the op recorded) computes from: ``view``'s values and memory (its version
    counter too), with PyTorch's gradient for such a write (:class:`_LastWrite`) instead of
    ``view``'s own history, which would sum the gradients of the elements sharing a
    location."""
    proxy = _LastWrite.apply(base, view._data, flat_index_map(base._data, view._data))
    proxy._vc = view._vc
    return proxy
