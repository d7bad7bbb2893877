"""Fused first-order gradient kernels for activations, each itself differentiable.

``tanh``'s backward ``g * (1 - y^2)`` written with Tensor ops is three recorded ops; as one
Function it is one NumPy expression per backward step (the per-op Python overhead dominates
small models). Each states its partial derivatives once (:mod:`.elementwise`), so double
backward and forward mode follow from the same lines:

    TanhGrad(g, y)    = g (1 - y^2):  d/dg = 1 - y^2,  d/dy = -2 g y
    SigmoidGrad(g, y) = g y (1 - y):  d/dg = y (1 - y), d/dy = g (1 - 2y)
"""

from __future__ import annotations

import numpy as np

from .._kernels import dispatch as _fast
from ..autograd.function import Function
from ..backend import get_array_module
from ..threads import elementwise
from ._result_layout import in_elementwise_layout
from .elementwise import BinaryElementwise
from .input_first_grads import plain_layout

__all__ = ["mask_first_grad", "relu_grad", "relu_grad_array", "sigmoid_grad", "tanh_grad"]


class TanhGrad(BinaryElementwise):
    saves_a = "b"
    saves_b = "ab"

    @staticmethod
    def f(g, y):
        out = _fast.tanh_grad(g, y)  # compiled one-pass kernel (chainrule._kernels)
        if out is not None:
            return out
        if g.dtype == np.float16 == y.dtype:  # in float32, rounded once, as PyTorch
            g32, y32 = g.astype(np.float32), y.astype(np.float32)
            return (g32 * (1 - y32 * y32)).astype(np.float16)
        return g * (1 - y * y)

    @staticmethod
    def derivative_a(ctx, g, y, out):
        return 1 - y * y

    @staticmethod
    def derivative_b(ctx, g, y, out):
        return g * y * -2.0

    @staticmethod
    def chain_a(ctx, gg, g, y, out):  # fused again: the same speed one order up
        return tanh_grad(gg, y)


class SigmoidGrad(BinaryElementwise):
    saves_a = "b"
    saves_b = "ab"

    @staticmethod
    def f(g, y):
        out = _fast.sigmoid_grad(g, y)  # compiled one-pass kernel (chainrule._kernels)
        if out is not None:
            return out
        return g * (1 - y) * y  # PyTorch's order, (g (1 - y)) y: bit-equal in float32/16

    @staticmethod
    def derivative_a(ctx, g, y, out):
        return y * (1 - y)

    @staticmethod
    def derivative_b(ctx, g, y, out):
        return g * (1 - y * 2.0)

    @staticmethod
    def chain_a(ctx, gg, g, y, out):
        return sigmoid_grad(gg, y)


def tanh_grad(g, y):
    """g * (1 - y^2): the gradient of tanh given its output y."""
    return TanhGrad.apply(g, y)


def sigmoid_grad(g, y):
    """g * y * (1 - y): the gradient of sigmoid given its output y."""
    return SigmoidGrad.apply(g, y)


class MaskGrad(Function):
    """g where a constant boolean mask holds, else 0 (the gradient of ReluGrad w.r.t. g, of
    clamp, of nan_to_num). A masked-out inf or NaN gives 0, as PyTorch's ``where``-based
    rules do (``g * mask`` would give NaN: ``sqrt(clamp(x, min=0))`` at ``x < 0``).

    Linear in g with a constant mask, so it is its own gradient and its own tangent rule.
    """

    raw = True
    complex_grad = True

    @staticmethod
    def forward(ctx, g, mask):
        ctx.save_for_backward(mask)
        return _where_mask(g, mask)

    @staticmethod
    def backward(ctx, gg):
        return MaskGrad.apply(gg, ctx.saved_tensors[0]._data), None

    @staticmethod
    def jvp(ctx, tg, _):
        return None if tg is None else _where_mask(tg, ctx.saved_arrays[0])


class MaskFirstGrad(MaskGrad):
    """:class:`MaskGrad` laid out as PyTorch's ``where(mask, g, 0)``: the mask is the first
    operand of its elementwise order (clamp's backward: a channels-last input gives a
    channels-last gradient whatever ``g``'s layout; session 45). A row-major mask and ``g``
    cost one flag test each."""

    @staticmethod
    def forward(ctx, g, mask):
        ctx.save_for_backward(mask)
        return in_elementwise_layout(_where_mask(g, mask), mask, g)

    @staticmethod
    def backward(ctx, gg):
        return MaskFirstGrad.apply(gg, ctx.saved_tensors[0]._data), None

    @staticmethod
    def jvp(ctx, tg, _):
        if tg is None:
            return None
        mask = ctx.saved_arrays[0]
        return in_elementwise_layout(_where_mask(tg, mask), mask, tg)


def mask_first_grad(g, mask):
    """``where(mask, g, 0)`` in PyTorch's layout for that call (:class:`MaskFirstGrad`)."""
    return MaskFirstGrad.apply(g, mask)


def _where_mask(g, mask):
    xp = get_array_module(g)
    return xp.where(mask, g, xp.zeros((), g.dtype))


def mask_grad(g, mask):
    """``g`` where the boolean array ``mask`` holds, else 0 (recorded: differentiable)."""
    return MaskGrad.apply(g, mask)


class ReluGrad(MaskGrad):
    """g where y > 0 or y is NaN, else 0 (PyTorch's threshold_backward): one pass instead of
    building a float mask and multiplying.

    d/dg = the same mask (MaskGrad's rules); y enters only through the mask, whose derivative
    is zero almost everywhere. The compiled kernel (chainrule._kernels) builds no mask; the
    rules below then build it from y only if they are called (double backward, forward mode).
    Saved: (mask, None) without the kernel, (None, y) with it.
    """

    @staticmethod
    def forward(ctx, g, y):
        # laid out as PyTorch's threshold_backward(grad, y): y first (session 46), unless a
        # layout mark is on y or g (input_first_grads.py); the double backward's too
        ctx.y_first = plain = plain_layout(y, g)
        out = _fast.relu_grad(g, y)
        if out is None:
            mask = _positive(y)
            ctx.save_for_backward(mask, None)
            out = _where_mask(g, mask)
        else:
            ctx.save_for_backward(None, y)
        if plain and out.ndim > 1 and not y.flags.c_contiguous:  # (a row-major y: row-major)
            return in_elementwise_layout(out, y, g)
        return out

    @staticmethod
    def backward(ctx, gg):
        mask, y = ctx.saved_tensors
        mask = _positive(y._data) if mask is None else mask._data
        return (MaskFirstGrad if ctx.y_first else MaskGrad).apply(gg, mask), None

    @staticmethod
    def jvp(ctx, tg, _):
        mask, y = ctx.saved_arrays
        return None if tg is None else tg * (_positive(y) if mask is None else mask)


def relu_grad_array(g, y):
    """``ReluGrad``'s forward on arrays (the compiled kernel, else ``g`` where ``y`` is
    positive or NaN): what ``relu_grad(g, y)`` computes, for the first-order array path."""
    out = _fast.relu_grad(g, y)
    return _where_mask(g, _positive(y)) if out is None else out


def _positive(y):
    """ReluGrad's mask not (y <= 0): y > 0 or NaN, where PyTorch's threshold_backward passes
    the gradient (built only when a rule needs it, if the kernel skipped it)."""
    xp = get_array_module(y)
    m = elementwise(xp.less_equal, y, 0)
    return xp.logical_not(m, out=m) if isinstance(m, xp.ndarray) else xp.logical_not(m)


def relu_grad(g, y):
    """g where not y <= 0, else 0: the gradient of relu given its output y."""
    return ReluGrad.apply(g, y)
