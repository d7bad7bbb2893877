"""``aminmax`` as one node, PyTorch's ``AminmaxBackward0`` (``counting.aminmax`` checks the
arguments and calls it for floating input).

It was ``amin`` and ``amax`` side by side (two nodes); as one node it saves ``self``, both
results, ``dim`` (as given) and ``keepdim``, as PyTorch's. The rules are amin's and amax's
(``extremes.py``): each result's gradient is shared evenly among the tied extremes of its
slice (a NaN takes it), the two summed; the tangent of each result is the extremes' share
of the tangent (a NaN or inf tangent elsewhere stays out).
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..autograd.saved_fields import given_dim  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._result_layout import contiguous, reduced_layout
from .extremes import _extreme_mask, _tie_shares

__all__ = ["Aminmax"]


def _shares(ctx: Any, x: Any, y: Any, dtype: Any) -> Any:
    """Each element's share of its slice's gradient for the result ``y`` (any shape)."""
    return _tie_shares(_extreme_mask(x, y.reshape(ctx.kshape)), ctx.axes, dtype)


class Aminmax(Function):
    """``(min, max)`` over ``axis`` (an int, or None: all elements), one node."""

    raw = True
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        "dim": lambda n: given_dim(n),
        "keepdim": lambda n: n.keepdim,
        "max": 2,
        "min": 1,
        "self": 0,
    }

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        axes = None if axis is None or x.ndim == 0 else (axis,)
        lo = contiguous(x.min(axis=axes, keepdims=True))
        hi = contiguous(x.max(axis=axes, keepdims=True))
        ctx.axes, ctx.keepdim, ctx.kshape = axes, keepdim, lo.shape
        if keepdim and not x.flags.c_contiguous:  # (the kept dim's stride too: PyTorch's)
            lo, hi = reduced_layout(lo), reduced_layout(hi)
        if not keepdim:
            shape = [s for i, s in enumerate(lo.shape) if not (axes is None or i in axes)]
            lo, hi = lo.reshape(shape), hi.reshape(shape)
        ctx.save_for_backward(x, lo, hi)  # the outputs themselves: version-checked
        return lo, hi

    @staticmethod
    def backward(ctx, g_lo, g_hi):
        x, lo, hi = ctx.saved_tensors
        total = None
        for g, y in ((g_lo, lo), (g_hi, hi)):
            if g is None:
                continue
            w = Tensor._make(_shares(ctx, x._data, y._data, g.dtype), False, None, 0)
            term = g.reshape(ctx.kshape) * w
            total = term if total is None else total + term
        return total, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        xp = get_array_module(t)
        outs = []
        for y in ctx.out:
            w = _shares(ctx, x, y, t.dtype)
            tw = xp.where(w != 0, t * w, 0).astype(t.dtype, copy=False)
            outs.append(tw.sum(axis=ctx.axes, keepdims=True).reshape(y.shape))
        return tuple(outs)
