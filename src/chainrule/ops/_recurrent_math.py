"""Shared pieces of the fused recurrent cells (``ops/recurrent.py``, ``ops/recurrent_lstm.py``).

Each cell writes its gate formulas once, generic over a small math namespace:
``_ArrayMath`` works on raw arrays (the fast backward), ``_TensorMath`` on Tensors (the
differentiable backward used under ``create_graph=True`` or forward-mode AD).
"""

from __future__ import annotations

from ..autograd.state import current
from ..autograd.tensor import Tensor
from ..backend import errstate, get_array_module
from .shape import cat, transpose
from .unary import relu, sigmoid, tanh

__all__: list[str] = []


def sigmoid_(x):
    """σ(x) = 1 / (1 + e^-x) computed in place on an array holding -x.

    One exp is about half the cost of NumPy's float32 tanh. e^-x overflows to inf for very
    negative x and 1 / (1 + inf) = 0 is then the exact limit, so the overflow is expected.
    """
    xp = get_array_module(x)
    with errstate(xp, over="ignore"):
        xp.exp(x, out=x)
    x += 1
    return xp.reciprocal(x, out=x)


class ArrayMath:
    """The few non-operator functions the cell formulas need, on raw arrays."""

    @staticmethod
    def sigmoid(x):
        return sigmoid_(get_array_module(x).negative(x))

    @staticmethod
    def tanh(x):
        return get_array_module(x).tanh(x)

    @staticmethod
    def relu(x):
        return get_array_module(x).maximum(x, 0)

    @staticmethod
    def relu_grad(g, y):
        # PyTorch's threshold_backward: g where y > 0 or NaN, an exact 0 elsewhere, a NaN or
        # inf g too (g * mask gives NaN there: set to 0 only then, a where() costs 3x)
        off = y <= 0
        d = g * ~off
        if not get_array_module(g).isfinite(g).all():
            d[off] = 0
        return d

    @staticmethod
    def cat(xs):
        return get_array_module(xs[0]).concatenate(xs, axis=1)

    @staticmethod
    def t(x):
        return x.T


class TensorMath:
    """The same functions as Tensor ops, so the formulas built with them are differentiable."""

    sigmoid = staticmethod(sigmoid)
    tanh = staticmethod(tanh)
    relu = staticmethod(relu)

    @staticmethod
    def relu_grad(g, y):
        # threshold_backward: the mask is constant (relu's derivative is 0 almost everywhere)
        return g.masked_fill(y <= 0, 0.0)

    @staticmethod
    def cat(xs):
        return cat(xs, 1)

    @staticmethod
    def t(x):
        return transpose(x, 0, 1)


def record_backward() -> bool:
    """Whether the backward being run must itself be differentiable."""
    state = current()
    return state.grad_enabled or state.forward_ad > 0


def wrap(grads: tuple) -> tuple:
    return tuple(None if g is None else Tensor._make(g, False, None, 0) for g in grads)


def data_or_none(x):
    return None if x is None else x._data
