"""``cholesky_solve`` and ``cholesky_inverse`` as one graph node each, PyTorch's
``CholeskySolveBackward0`` and ``CholeskyInverseBackward0``.

    cholesky_solve(B, L)   X = (L L^H)^-1 B   (upper: (U^H U)^-1 B)
    cholesky_inverse(L)    X = (L L^H)^-1     (upper: (U^H U)^-1)

The value reads the factor's triangle only (two solves, as before). The rules are PyTorch's,
in its conjugate convention for complex: with ``A = L L^H``,

    cholesky_solve    gB = A^-1 G,  C = gB X^H + X gB^H,  gL = -C L  (upper: -U C)
    cholesky_inverse  C = X (G + G^H) X,                  gL = -C L  (upper: -U C)

and the tangents ``dX = A^-1 (dB - dA X)`` / ``dX = -X dA X`` with ``dA = dL L^H + L dL^H``
(``dU^H U + U^H dU``). One documented difference stays (``tests/test_linalg_more.py``):
PyTorch's ``gL`` is dense (it differentiates ``L L^H`` with all of ``L``), chainrule's is that
of the triangle the solve reads (``gL`` and ``dL`` masked to it); they agree there. The
first-order gradient is computed on plain arrays; under ``create_graph`` the same formulas
run as Tensor ops (a ``cholesky_solve`` of the saved factor and the saved result), so every
order is recorded.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._common import substitute

__all__ = ["CholeskyInverse", "CholeskySolve", "raw_cholesky_solve"]


def _h(a: Any) -> Any:
    """The conjugate transpose of a raw batch of matrices."""
    return get_array_module(a).swapaxes(a, -1, -2).conj()


def raw_cholesky_solve(b: Any, factor: Any, upper: bool) -> Any:
    """``(L L^H)^-1 B`` (``upper``: ``(U^H U)^-1 B``) on raw arrays, reading the factor's
    triangle only."""
    xp = get_array_module(factor)
    t = xp.triu(factor) if upper else xp.tril(factor)
    first, second = (_h(t), t) if upper else (t, _h(t))
    if t.shape[-1] and bool((xp.diagonal(t, 0, -2, -1) == 0).any()):  # inf/NaN, as PyTorch
        return substitute(second, substitute(first, b, True), False)  # lower, then upper
    return xp.linalg.solve(second, xp.linalg.solve(first, b))


def _triangle(a: Any, upper: bool) -> Any:
    """The factor's triangle the solve reads (raw)."""
    xp = get_array_module(a)
    return xp.triu(a) if upper else xp.tril(a)


def _factor_gradient(c: Any, factor: Any, upper: bool) -> Any:
    """``-C L`` (``upper``: ``-U C``) masked to the factor's triangle, raw or Tensor."""
    g = -(factor @ c) if upper else -(c @ factor)
    if isinstance(g, Tensor):
        return g.triu() if upper else g.tril()
    xp = get_array_module(g)
    return xp.triu(g) if upper else xp.tril(g)


def _d_a(factor: Any, t: Any, upper: bool) -> Any:
    """The tangent of ``A`` = ``L L^H`` (``U^H U``) for the factor's tangent ``t`` (raw; the
    triangle of both read)."""
    xp = get_array_module(t)
    factor, t = (xp.triu(factor), xp.triu(t)) if upper else (xp.tril(factor), xp.tril(t))
    k = _h(t) @ factor if upper else factor @ _h(t)
    return k + _h(k)


class CholeskySolve(Function):
    """``X = (L L^H)^-1 B`` as one node (PyTorch's ``CholeskySolveBackward0``, listing ``B``
    then the factor, saving ``self``, ``input2``, ``result``, ``upper``)."""

    raw = True
    complex_grad = True
    node_name = ("CholeskySolveBackward0", (0, 1))
    saved_fields = {"input2": 1, "result": 2, "self": 0, "upper": lambda n: n.upper}

    @staticmethod
    def forward(ctx, b, factor, upper):
        ctx.upper = upper
        x = raw_cholesky_solve(b, factor, upper)
        ctx.save_for_backward(b, factor, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        _, factor, x = ctx.saved_tensors
        upper, needs = ctx.upper, ctx.needs_input_grad
        if ctx.create_graph:
            gb = CholeskySolve.apply(grad, factor, upper)
            gl = None
            if needs[1]:
                c = gb @ x.mH
                gl = _factor_gradient(c + c.mH, factor.triu() if upper else factor.tril(), upper)
            return (gb if needs[0] else None), gl, None
        fd, xd = _triangle(factor._data, upper), x._data
        gbd = raw_cholesky_solve(grad._data, fd, upper)
        gl = None
        if needs[1]:
            c = gbd @ _h(xd)
            gl = Tensor._make(_factor_gradient(c + _h(c), fd, upper), False, None, 0)
        return (Tensor._make(gbd, False, None, 0) if needs[0] else None), gl, None

    @staticmethod
    def jvp(ctx, tb, tl, _):
        factor, x = ctx.saved_arrays[1], ctx.out
        xp = get_array_module(x)
        rhs = xp.zeros(x.shape, x.dtype) if tb is None else tb
        if tl is not None:
            rhs = rhs - _d_a(factor, tl, ctx.upper) @ x
        return raw_cholesky_solve(rhs, factor, ctx.upper)


class CholeskyInverse(Function):
    """``X = (L L^H)^-1`` as one node (PyTorch's ``CholeskyInverseBackward0``, saving
    ``self``, ``result``, ``upper``); ``X`` exactly Hermitian, as PyTorch's (LAPACK's
    ``potri`` computes one triangle, mirrored)."""

    raw = True
    complex_grad = True
    node_name = "CholeskyInverseBackward0"
    saved_fields = {"result": 1, "self": 0, "upper": lambda n: n.upper}

    @staticmethod
    def forward(ctx, factor, upper):
        ctx.upper = upper
        xp = get_array_module(factor)
        eye = xp.broadcast_to(xp.eye(factor.shape[-1], dtype=factor.dtype), factor.shape)
        x = raw_cholesky_solve(eye, factor, upper)
        x = xp.tril(x) + _h(xp.tril(x, -1))  # exactly Hermitian (mirrored lower triangle)
        ctx.save_for_backward(factor, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        factor, x = ctx.saved_tensors
        if ctx.create_graph:
            c = x @ (grad + grad.mH) @ x
            t = factor.triu() if ctx.upper else factor.tril()
            return _factor_gradient(c, t, ctx.upper), None
        xd, g = x._data, grad._data
        c = xd @ (g + _h(g)) @ xd
        fd = _triangle(factor._data, ctx.upper)
        return Tensor._make(_factor_gradient(c, fd, ctx.upper), False, None, 0), None

    @staticmethod
    def jvp(ctx, tl, _):
        factor, x = ctx.saved_arrays[0], ctx.out
        return -(x @ _d_a(factor, tl, ctx.upper) @ x)
