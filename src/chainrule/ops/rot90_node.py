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

from .._layout import like_layout
from ..autograd.function import Function
from ..autograd.saved_fields import as_uint64, given_dim, given_value  # grad_fn._saved_*
from ..backend import get_array_module

__all__ = ["Rot90"]


def _rot90(x: Any, k: int, d0: int, d1: int) -> Any:
    """``x`` rotated ``k`` (0..3) quarter turns in the plane (d0, d1): a copy in ``x``'s
    layout, flipped, then transposed for odd ``k`` (PyTorch's strides, a broadcast input's
    too)."""
    xp = get_array_module(x)
    if k == 0:
        return like_layout(x, x, copy=True)
    flipped = like_layout(
        xp.flip(x, axis=(d1,) if k == 1 else (d0,) if k == 3 else (d0, d1)), x, copy=True
    )
    return flipped if k == 2 else flipped.swapaxes(d0, d1)


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
