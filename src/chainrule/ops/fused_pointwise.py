"""``lerp``, ``addcmul`` and ``addcdiv`` as one graph node each, under PyTorch's names.

They were compositions of ``sub``/``mul``/``add``/``div`` (and a ``where`` for lerp with a
tensor weight): three to seven nodes, each keeping its own operands. As single nodes they
print as PyTorch's (``LerpBackward0`` / ``LerpBackward1``, ``AddcmulBackward0``,
``AddcdivBackward0``), list all their tensor inputs (None for one without a gradient), and
save what PyTorch's save, only for the gradients that are needed:

* ``lerp(s, e, w) = s + w (e - s)`` for ``|w| < 0.5``, else ``e - (e - s)(1 - w)`` (exact at
  ``w = 1``, and an infinite start does not turn an infinite result into NaN).
  ``d/ds = 1 - w``, ``d/de = w``, ``d/dw = e - s``. A number ``w`` saves nothing; a tensor
  ``w`` saves ``w`` (for ``s``, ``e``) and ``s``, ``e`` (for ``w``).
* ``addcmul(x, t1, t2, value) = x + value t1 t2``: ``d/dx = 1``, ``d/dt1 = value t2``,
  ``d/dt2 = value t1``; saves ``t2`` for ``t1``'s gradient and ``t1`` for ``t2``'s.
* ``addcdiv(x, t1, t2, value) = x + value t1 / t2``: ``d/dt1 = value / t2``,
  ``d/dt2 = -value t1 / t2^2``; saves ``t2`` for ``t1``'s gradient, both for ``t2``'s.

Broadcasting and dtype casts of the gradients are undone by the engine. All three are
holomorphic (the engine conjugates for complex inputs). The public functions
(``linear_interpolation.py``, ``pointwise_extra.py``) check arguments and call these when
the operands share one dtype; mixed dtypes keep the composed form and its promotion.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels.optim import fma32_numpy
from ..autograd.function import Function
from ..autograd.ieee import fp_ignoring
from ..backend import get_array_module
from ..threads import elementwise
from ._result_layout import in_elementwise_layout
from ._util import wide

__all__ = ["Addcdiv", "Addcmul", "LerpScalar", "LerpTensor"]

# np.errstate(<events>="ignore")'s setting, entered in 0.4 us, not 1.1 (ieee.fp_ignoring)
_IGNORE_DIVIDE_INVALID = fp_ignoring("divide", "invalid")


def _zeros_or(t: Any, like: Any) -> Any:
    return get_array_module(like).zeros(like.shape, like.dtype) if t is None else t


def _lerp(s: Any, e: Any, w: Any) -> Any:
    """The lerp formula on raw arrays (``w`` a number or an array), float16 (and bfloat16)
    in float32 and rounded once by the caller, as PyTorch's kernel computes them. A number
    ``w`` is first rounded to float32 for a float32 / half ``s`` and ``1 - w`` is taken in
    float32 (``lerp(1., 0., 0.9)`` is ``1 - float32(0.9)``, 0.10000002, in PyTorch)."""
    s, e, w = wide(s), wide(e), wide(w) if hasattr(w, "dtype") else w
    if isinstance(w, (int, float, complex)):  # on the intra-op threads, as sub and add
        single = isinstance(w, (int, float)) and s.dtype == np.float32
        d = elementwise(np.subtract, e, s)
        if abs(w) < 0.5:
            if single:  # PyTorch's float32 kernel: fma(w, d, s), rounded once
                return fma32_numpy(np.float32(w), d, s)
            return elementwise(np.add, s, _scaled(d, w))
        one_minus = float(np.float32(1) - np.float32(w)) if single else 1 - w
        if single:  # fma(-d, 1 - w, e)
            return fma32_numpy(np.float32(one_minus), np.negative(d), e)
        return elementwise(np.subtract, e, _scaled(d, one_minus))
    d = e - s
    xp = get_array_module(s, e, w)
    return xp.where(xp.abs(w) < 0.5, s + w * d, e - d * (1 - w))


class LerpScalar(Function):
    """``lerp`` with a number weight: a fixed blend, saving nothing (``LerpBackward0``)."""

    raw = True
    complex_grad = "holomorphic"
    node_name = ("LerpBackward0", (0, 1))
    saved_fields = {"weight": lambda n: n.weight}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, start, end, weight):
        ctx.weight = weight
        y = _lerp(start, end, weight).astype(start.dtype, copy=False)
        return in_elementwise_layout(y, start, end) if y.ndim > 1 else y

    @staticmethod
    def backward(ctx, grad):
        w = ctx.weight
        needs = ctx.needs_input_grad
        return (grad * (1 - w) if needs[0] else None, grad * w if needs[1] else None, None)

    @staticmethod
    def jvp(ctx, ts, te, _w):
        w = ctx.weight
        out = None if ts is None else ts * (1 - w)
        if te is not None:
            out = te * w if out is None else out + te * w
        return out


class LerpTensor(Function):
    """``lerp`` with a tensor weight (``LerpBackward1``)."""

    raw = True
    complex_grad = "holomorphic"
    node_name = ("LerpBackward1", (0, 1, 2))
    saved_fields = {"end": 1, "self": 0, "weight": 2}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, start, end, weight):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(
            start if needs[2] else None,
            end if needs[2] else None,
            weight if needs[0] or needs[1] else None,
        )
        y = _lerp(start, end, weight).astype(start.dtype, copy=False)
        return in_elementwise_layout(y, start, end, weight) if y.ndim > 1 else y

    @staticmethod
    def backward(ctx, grad):
        s, e, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (
            grad * (1 - w) if needs[0] else None,
            grad * w if needs[1] else None,
            grad * (e - s) if needs[2] else None,
        )

    @staticmethod
    def jvp(ctx, ts, te, tw):
        s, e, w = ctx.primals
        out = None if ts is None else ts * (1 - w)
        if te is not None:
            out = te * w if out is None else out + te * w
        if tw is not None:
            out = tw * (e - s) if out is None else out + tw * (e - s)
        return out


class Addcmul(Function):
    """``input + value * tensor1 * tensor2`` (``AddcmulBackward0``)."""

    raw = True
    complex_grad = "holomorphic"
    node_name = ("AddcmulBackward0", (0, 1, 2))
    # grad_fn._saved_* as PyTorch's: each tensor where the other's gradient reads it
    saved_fields = {"tensor1": 0, "tensor2": 1, "value": lambda n: n.value}

    @staticmethod
    def forward(ctx, x, t1, t2, value=1):
        ctx.value = value
        needs = ctx.needs_input_grad
        ctx.save_for_backward(t1 if needs[2] else None, t2 if needs[1] else None)
        return _plus_scaled(np.multiply, x, t1, t2, value)

    @staticmethod
    def backward(ctx, grad):
        t1, t2 = ctx.saved_tensors
        needs, v = ctx.needs_input_grad, ctx.value
        if not (needs[1] or needs[2]):
            return grad, None, None
        g = grad if _is_one(v) else grad * v
        return (grad, g * t2 if needs[1] else None, g * t1 if needs[2] else None)

    @staticmethod
    def jvp(ctx, tx, tt1, tt2):
        x, t1, t2 = ctx.primals
        v = ctx.value
        out = tx
        for t, other in ((tt1, t2), (tt2, t1)):
            if t is not None:
                term = t * other if _is_one(v) else t * other * v
                out = term if out is None else out + term
        return _zeros_or(out, ctx.out)


class Addcdiv(Function):
    """``input + value * tensor1 / tensor2`` (``AddcdivBackward0``)."""

    raw = True
    complex_grad = "holomorphic"
    node_name = ("AddcdivBackward0", (0, 1, 2))
    saved_fields = {"tensor1": 0, "tensor2": 1, "value": lambda n: n.value}  # _saved_*

    @staticmethod
    def forward(ctx, x, t1, t2, value=1):
        ctx.value = value
        needs = ctx.needs_input_grad
        ctx.save_for_backward(t1 if needs[2] else None, t2 if needs[1] or needs[2] else None)
        with _IGNORE_DIVIDE_INVALID():  # x/0 is inf/nan, as PyTorch
            return _plus_scaled(np.true_divide, x, t1, t2, value)

    @staticmethod
    def backward(ctx, grad):
        t1, t2 = ctx.saved_tensors
        needs, v = ctx.needs_input_grad, ctx.value
        if not (needs[1] or needs[2]):
            return grad, None, None
        g = grad if _is_one(v) else grad * v
        g1 = g / t2 if needs[1] else None
        g2 = -g * t1 / (t2 * t2) if needs[2] else None
        return grad, g1, g2

    @staticmethod
    def jvp(ctx, tx, tt1, tt2):
        x, t1, t2 = ctx.primals
        v = ctx.value
        out = tx
        with _IGNORE_DIVIDE_INVALID():
            if tt1 is not None:
                term = tt1 / t2 if _is_one(v) else tt1 / t2 * v
                out = term if out is None else out + term
            if tt2 is not None:
                term = -tt2 * t1 / (t2 * t2) * v
                out = term if out is None else out + term
        return _zeros_or(out, ctx.out)


def _plus_scaled(ufunc: np.ufunc, x: Any, t1: Any, t2: Any, value: Any) -> Any:
    """``x + value * ufunc(t1, t2)`` (addcmul's product, addcdiv's quotient) on the
    intra-op threads, as the composed mul/div and add were, in PyTorch's result layout."""
    f32 = type(x) is np.ndarray and x.dtype == np.float32 and type(value) in (int, float)
    if ufunc is np.multiply and f32 and t1.dtype == t2.dtype == np.float32:
        # PyTorch's float32 kernel: fma(value * t1, t2, x), rounded once (_kernels.optim)
        a = t1 if _is_one(value) else np.multiply(t1, np.float32(value))
        y = fma32_numpy(a, t2, x)
        return in_elementwise_layout(y, x, t1, t2) if y.ndim > 1 else y
    if _is_one(value):
        r = elementwise(ufunc, t1, t2)
    elif ufunc is np.true_divide:  # PyTorch's order: (value * t1) / t2
        r = elementwise(ufunc, _scaled(t1.copy(order="K"), value), t2)  # (meta stays meta)
    else:
        r = _scaled(elementwise(ufunc, t1, t2), value)
    y = elementwise(np.add, x, r)
    return in_elementwise_layout(y, x, t1, t2) if y.ndim > 1 else y


def _scaled(a: Any, value: Any) -> Any:
    """``a * value`` for a number ``value``, in place when ``a`` is a fresh array of the
    result's dtype (NumPy gives a scalar, not an array, for 0-d operands)."""
    if type(a) is np.ndarray and a.ndim and np.result_type(a, value) == a.dtype:
        return elementwise(np.multiply, a, value, out=a)
    return a * value


def _is_one(value: Any) -> bool:
    return type(value) in (int, float) and value == 1
