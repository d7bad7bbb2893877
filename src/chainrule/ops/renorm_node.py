"""``renorm``'s one node, as PyTorch's ``RenormBackward0``.

Each slice along ``dim`` whose ``p``-norm ``n`` (over the other dims) exceeds ``maxnorm`` is
scaled by ``s = maxnorm / (n + 1e-7)``; the others keep ``s = 1``. The gradient is the exact
derivative of ``x * s(x)``::

    dx = g s + [n > maxnorm] (-maxnorm / (n + 1e-7)^2) sum(g x) dn/dx,
    dn/dx = sgn(x) |x|^(p-1) / n^(p-1)      (0 where x = 0)

computed in NumPy (float32 / float64, finite ``p``); under ``create_graph`` the same formula
in differentiable tensor ops, so double backward works. ``products.renorm`` keeps the composed
form for the other dtypes and ``p = inf``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.saved_fields import given_dim, given_value  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .binary import where

__all__ = ["Renorm", "renorm_dtype_ok"]

_EPS = 1e-7  # PyTorch's: maxnorm / (norm + 1e-7)


def _norm(xp: Any, x: Any, p: float, axes: tuple) -> Any:
    if p == 2.0:
        return xp.sqrt((x * x).sum(axis=axes, keepdims=True))
    if p == 1.0:
        return xp.abs(x).sum(axis=axes, keepdims=True)
    return (xp.abs(x) ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)


def _dnorm(xp: Any, x: Any, n: Any, p: float) -> Any:
    """d n / d x (broadcast over a slice), 0 where x = 0 or n = 0 (PyTorch's convention)."""
    safe = xp.where(n == 0, 1, n)
    if p == 2.0:
        return xp.where(n == 0, 0, x / safe)
    if p == 1.0:
        return xp.sign(x)
    ax = xp.abs(x)
    num = xp.where(x == 0, 0, xp.sign(x) * xp.where(x == 0, 1, ax) ** (p - 1.0))
    return xp.where(n == 0, 0, num / safe ** (p - 1.0))


class Renorm(Function):
    """``x * where(n > maxnorm, maxnorm / (n + 1e-7), 1)`` per slice along ``dim``; real
    float32 / float64 ``x``, finite ``p > 0``. The result is a new C-ordered array."""

    raw = True
    node_name = "RenormBackward0"
    saved_fields = {  # grad_fn._saved_* as PyTorch's, the arguments as given
        "dim": lambda n: given_dim(n),
        "maxnorm": lambda n: given_value(n, "maxnorm"),
        "p": lambda n: given_value(n, "p"),
        "self": 0,
    }

    @staticmethod
    def forward(ctx, x, p, d, maxnorm):
        xp = get_array_module(x)
        axes = tuple(i for i in range(x.ndim) if i != d)
        n = _norm(xp, x, p, axes)
        s = xp.where(n > maxnorm, maxnorm / (n + _EPS), 1.0).astype(x.dtype, copy=False)
        ctx.save_for_backward(x)
        ctx.args = (p, axes, maxnorm)
        return xp.ascontiguousarray(x * s)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        p, axes, maxnorm = ctx.args
        if ctx.create_graph:
            return _backward_graph(x, grad, p, axes, maxnorm), None, None, None
        xp = get_array_module(x._data)
        xa, g = x._data, grad._data
        n = _norm(xp, xa, p, axes)
        above = n > maxnorm
        s = xp.where(above, maxnorm / (n + _EPS), 1.0)
        coef = xp.where(above, -maxnorm / (n + _EPS) ** 2, 0.0) * (g * xa).sum(axes, keepdims=True)
        gx = g * s + coef * _dnorm(xp, xa, n, p)
        return Tensor._make(gx.astype(xa.dtype, copy=False), False, None, 0), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        p, axes, maxnorm = ctx.args
        xp = get_array_module(x)
        n = _norm(xp, x, p, axes)
        above = n > maxnorm
        s = xp.where(above, maxnorm / (n + _EPS), 1.0)
        dn = (_dnorm(xp, x, n, p) * t).sum(axes, keepdims=True)
        ds = xp.where(above, -maxnorm / (n + _EPS) ** 2, 0.0) * dn
        return (t * s + x * ds).astype(x.dtype, copy=False)


def _backward_graph(x: Tensor, g: Tensor, p: float, axes: tuple, maxnorm: float) -> Tensor:
    """The gradient in differentiable tensor ops (``create_graph``)."""
    n = (x.abs() ** p).sum(axes, keepdim=True) ** (1.0 / p) if p != 2.0 else None
    if n is None:
        n = (x * x).sum(axes, keepdim=True).sqrt()
    above = Tensor._make(n._data > maxnorm, False, None, 0)
    zero = Tensor._make(n._data == 0, False, None, 0)
    s = where(above, maxnorm / (n + _EPS), 1.0)
    coef = where(above, -maxnorm / (n + _EPS) ** 2, 0.0) * (g * x).sum(axes, keepdim=True)
    xzero = Tensor._make(x._data == 0, False, None, 0)
    num = where(xzero, 0.0, x.sign() * where(xzero, 1.0, x.abs()) ** (p - 1.0))
    dn = where(zero, 0.0, num / where(zero, 1.0, n) ** (p - 1.0))
    return g * s + coef * dn


def renorm_dtype_ok(x: Tensor, p: float) -> bool:
    """Whether :class:`Renorm` takes ``x`` and ``p`` (real float32 / float64, finite p)."""
    return x._data.dtype.char in "fd" and p != np.inf
