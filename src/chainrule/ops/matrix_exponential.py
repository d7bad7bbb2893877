"""``matrix_exp`` as one graph node, PyTorch's ``LinalgMatrixExpBackward0`` (saving the input).

It was a composition: a degree-18 Taylor polynomial in Horner form and ``s`` squarings,
some 40 ``mm`` / ``div`` / ``add`` nodes. The node computes the same values (scaling and
squaring: ``exp(A) = exp(A / 2^s)^(2^s)`` with ``s`` chosen so that ``||A / 2^s||_1 <= 1/2``,
then the Taylor polynomial) on arrays, and differentiates that same algorithm:

* backward (a plain one): reverse mode through the squarings and the Horner steps on arrays,
  two products per step (``G_x += G p^H / k``, ``G_p = x^H G / k``), in PyTorch's conjugate
  convention for complex inputs;
* backward with ``create_graph``: PyTorch's own rule, the upper right block of
  ``exp([[A^H, G], [0, A^H]])`` (the Fréchet derivative at ``A^H`` in direction ``G``),
  recorded through this op, so it differentiates again (and again);
* forward mode: the tangent carried through the same steps (``dp = (dx p + x dp) / k``,
  ``dq = dq q + q dq``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module

__all__ = ["MatrixExp"]


def _const(array: Any) -> Tensor:
    return Tensor._make(array, False, None, 0)


TAYLOR_DEGREE = 18  # with ||A / 2^s||_1 <= 1/2 the truncation error is below 1e-22


def _h(a: Any) -> Any:
    """The conjugate transpose of the last two dims."""
    a = a.swapaxes(-1, -2)
    return a.conj() if a.dtype.kind == "c" else a


def squarings(a: Any) -> int:
    """``s`` with ``||a / 2^s||_1 <= 1/2`` (the largest column sum over the batch)."""
    norm = float(np.abs(a).sum(axis=-2).max()) if a.size else 0.0
    return max(0, math.ceil(math.log2(norm / 0.5))) if norm > 0.5 and math.isfinite(norm) else 0


def _expm(a: Any, keep: bool = False) -> tuple:
    """(exp(a), s, x, the Horner values p before each step, the squared values q)."""
    xp = get_array_module(a)
    s = squarings(a)
    x = a / a.dtype.type(2**s) if s else a
    eye = xp.eye(a.shape[-1], dtype=a.dtype)
    p = xp.broadcast_to(eye, a.shape)
    ps, qs = [], []
    for k in range(TAYLOR_DEGREE, 0, -1):
        if keep:
            ps.append(p)
        p = eye + xp.matmul(x, p) / a.dtype.type(k)
    for _ in range(s):
        if keep:
            qs.append(p)
        p = xp.matmul(p, p)
    return xp.ascontiguousarray(p), s, x, ps, qs


def _expm_backward(a: Any, g: Any) -> Any:
    """The gradient of ``sum(Re(conj(g) exp(a)))`` for ``a`` (PyTorch's convention)."""
    xp = get_array_module(a)
    _, s, x, ps, qs = _expm(a, keep=True)
    g = g.astype(a.dtype, copy=False)
    for q in reversed(qs):
        qh = _h(q)
        g = xp.matmul(g, qh) + xp.matmul(qh, g)
    gx = xp.zeros(a.shape, a.dtype)
    xh = _h(x)
    # the Horner steps in reverse: the last one (k = 1) first
    for k, p in reversed(list(zip(range(TAYLOR_DEGREE, 0, -1), ps))):
        gk = g / a.dtype.type(k)
        gx += xp.matmul(gk, _h(p))
        g = xp.matmul(xh, gk)
    return gx / a.dtype.type(2**s) if s else gx


def _expm_tangent(a: Any, t: Any) -> Any:
    xp = get_array_module(a)
    s = squarings(a)
    scale = a.dtype.type(2**s)
    x, dx = (a / scale, t / scale) if s else (a, t)
    eye = xp.eye(a.shape[-1], dtype=a.dtype)
    p = xp.broadcast_to(eye, a.shape)
    dp = xp.zeros(np.broadcast_shapes(a.shape, t.shape), a.dtype)
    for k in range(TAYLOR_DEGREE, 0, -1):
        inv = a.dtype.type(k)
        dp = (xp.matmul(dx, p) + xp.matmul(x, dp)) / inv
        p = eye + xp.matmul(x, p) / inv
    for _ in range(s):
        dp = xp.matmul(dp, p) + xp.matmul(p, dp)
        p = xp.matmul(p, p)
    return dp


class MatrixExp(Function):
    """``exp(A)`` of a (batch of) square floating or complex matrix."""

    raw = True
    complex_grad = True  # the rules above are PyTorch's (conjugate) convention
    node_name = "LinalgMatrixExpBackward0"
    saved_fields = {"self": 0}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(over="ignore", invalid="ignore"):
            return _expm(a)[0]

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if not ctx.create_graph:
            with np.errstate(over="ignore", invalid="ignore"):
                return _const(_expm_backward(a._data, grad._data))
        from .joining import cat  # noqa: PLC0415

        n = a.shape[-1]
        ah = a.mH
        g = grad.to(a.dtype)
        top = cat([ah, g], -1)
        bottom = cat([ah.new_zeros(ah.shape), ah], -1)
        big = MatrixExp.apply(cat([top, bottom], -2))
        return big[..., :n, n:]

    @staticmethod
    def jvp(ctx, t):
        with np.errstate(over="ignore", invalid="ignore"):
            return _expm_tangent(ctx.primals[0], t)
