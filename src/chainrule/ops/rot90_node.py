"""``rot90(x, k, dims)`` as one node, PyTorch's ``Rot90Backward0`` (``structural.rot90``
checks the arguments and calls it).

It was composed of ``flip`` and ``transpose`` (two nodes, one for ``k = 2``, a clone for
``k = 0``); as one node it saves ``k`` and ``dims`` as given, as PyTorch's. The value is the
same: a copy in the input's layout, flipped, then transposed for odd ``k`` (PyTorch's
strides). A rotation is linear, so its adjoint is the rotation back (``4 - k`` quarter
turns in the same plane, itself a ``Rot90`` node: double backward) and its tangent the
rotated tangent; real-linear, so complex gradients pass as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout import like_layout, strides_exactly_row_major
from .._layout_marks import C_MARKED
from ..autograd.function import Function
from ..autograd.saved_fields import as_uint64, given_dim, given_value  # grad_fn._saved_*
from ..backend import get_array_module

__all__ = ["Rot90"]


def _rot90(x: Any, k: int, d0: int, d1: int) -> Any:
    """``x`` rotated ``k`` (0..3) quarter turns in the plane (d0, d1): a copy in ``x``'s
    layout, flipped, then transposed for odd ``k`` (PyTorch's strides, a broadcast input's
    too). PyTorch's transpose is in place on the flipped copy, so its result is no view: a
    transposed result here is in memory of its own where NumPy's order-K copy gives it the
    same strides (else the transposed copy, a view: ``autograd.grad`` shows a ``_base``)."""
    xp = get_array_module(x)
    if k == 0:  # PyTorch's clone(MemoryFormat::Contiguous): row-major whatever x's layout
        return x.copy(order="C")
    axis = (d1,) if k == 1 else (d0,) if k == 3 else (d0, d1)
    if k != 2 and xp is np and not C_MARKED and strides_exactly_row_major(x) and x.ndim:
        own = xp.flip(x, axis=axis).swapaxes(d0, d1).copy(order="K")  # one copy
        want = list(_row_major_strides(x.shape, x.itemsize))
        want[d0], want[d1] = want[d1], want[d0]
        if own.strides == tuple(want):
            return own
    flipped = like_layout(xp.flip(x, axis=axis), x, copy=True)
    if k == 2:
        return flipped
    rotated = flipped.swapaxes(d0, d1)
    if xp is np:
        own = rotated.copy(order="K")
        if own.strides == rotated.strides:
            return own
    return rotated


def _row_major_strides(shape: tuple, itemsize: int) -> tuple:
    """The strides (in bytes) of a row-major array of ``shape``."""
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


class Rot90(Function):
    """``rot90(x, k, dims)`` as one node (PyTorch's ``Rot90Backward0``); its adjoint is the
    rotation back, ``4 - k`` quarter turns in the same plane."""

    raw = True
    complex_grad = True  # real-linear: PyTorch's convention passes through unchanged
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): k and dims as given
        "dims": lambda n: tuple(as_uint64(int(d)) for d in given_value(n, "dims", (n.d0, n.d1))),
        "k": lambda n: given_dim(n, "k", default=n.k),
    }

    @staticmethod
    def forward(ctx, x, k, d0, d1):
        ctx.k, ctx.d0, ctx.d1 = k, d0, d1
        return _rot90(x, k, d0, d1)

    @staticmethod
    def backward(ctx, grad):
        return Rot90.apply(grad, (4 - ctx.k) % 4, ctx.d0, ctx.d1), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return _rot90(t, ctx.k, ctx.d0, ctx.d1)
