"""``glu`` (the gated linear unit) as one graph node, PyTorch's ``GluBackward0``.

It was a composition (two ``narrow`` views, a sigmoid and a product: four nodes). As one node
it saves the input alone, as PyTorch's. With ``a``, ``b`` the two halves of ``x`` along
``dim`` and ``s = sigmoid(b)``: ``y = a * s``, ``dy/da = s``, ``dy/db = a * s * (1 - s)``; the
gradient is the two halves joined again along ``dim``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.saved_fields import given_dim  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..threads import elementwise
from ._result_layout import elementwise_layout
from .joining import cat
from .unary import Sigmoid, sigmoid

__all__ = ["Glu"]


def _halves(x: Any, dim: int) -> tuple:
    half = x.shape[dim] // 2
    lead = (slice(None),) * dim
    return x[lead + (slice(0, half),)], x[lead + (slice(half, None),)]


class Glu(Function):
    """``a * sigmoid(b)`` for the halves ``a``, ``b`` of ``x`` along ``dim`` (even size)."""

    raw = True
    node_name = "GluBackward0"
    # grad_fn._saved_* as PyTorch's (saved_fields.py): the dim as F.glu was given it
    saved_fields = {"dim": lambda n: given_dim(n, default=n.dim), "self": 0}

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        ctx.save_for_backward(x)
        a, b = _halves(x, dim)
        y = elementwise(np.multiply, a, Sigmoid.f(b))
        y = get_array_module(x).asarray(y).astype(x.dtype, copy=False)
        if hasattr(x, "flags") and not x.flags.c_contiguous:
            y = elementwise_layout(y, a, b)  # PyTorch's: the halves' elementwise layout
        return y

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        dim = ctx.dim
        if not ctx.create_graph and type(x._data) is np.ndarray and type(grad._data) is np.ndarray:
            a, b = _halves(x._data, dim)
            g = grad._data
            out = np.empty(x.shape, np.result_type(g, x._data))
            ga, gb = _halves(out, dim)
            s = Sigmoid.f(b)
            np.multiply(g, s, out=ga)  # d/da = s (the halves of out may be strided views)
            one_minus = elementwise(np.subtract, 1, s)
            s = elementwise(np.multiply, s, one_minus)  # s (1 - s)
            s = elementwise(np.multiply, s, a)
            np.multiply(s, g, out=gb)  # d/db = a s (1 - s)
            return Tensor._make(out, False, None, 0), None
        half = x.shape[dim] // 2
        a, b = x.narrow(dim, 0, half), x.narrow(dim, half, half)
        s = sigmoid(b)
        return cat([grad * s, grad * a * s * (1 - s)], dim), None

    @staticmethod
    def jvp(ctx, t, _dim):
        x, dim = ctx.primals[0], ctx.dim
        a, b = _halves(x, dim)
        ta, tb = _halves(t, dim)
        s = Sigmoid.f(b)
        return get_array_module(x).asarray(ta * s + a * s * (1 - s) * tb).astype(x.dtype)
