"""``linalg.lu``, ``lu_unpack`` and ``linalg.lu_solve`` as one graph node each, PyTorch's
``LinalgLuBackward0``, ``LuUnpackBackward0`` and ``LinalgLuSolveBackward0``.

``A = P L U`` (``lu.py``): P (m, m), L (m, k) unit lower, U (k, n) upper.

* ``linalg.lu``: one node with outputs ``(P, L, U)`` (P not differentiable), saving ``P``,
  ``L``, ``U``; its gradient is :func:`~chainrule.linalg.lu.lu_backward` (PyTorch's
  ``linalg_lu_backward``), its tangent the packed one of ``lu_jvp`` split into L and U.
* ``lu_unpack``: ``L`` and ``U`` are the packed LU's strict lower part (plus the unit
  diagonal) and upper triangle: the gradient puts ``gL``'s and ``gU``'s triangles back.
* ``linalg.lu_solve``: ``X = A^-1 B`` (``adjoint``: ``A^-H B``; ``left=False``: ``B A^-1``,
  ``B A^-H``), by triangular solves reading the packed LU. PyTorch's rules in its conjugate
  convention: ``gB = lu_solve(G)`` with ``adjoint`` flipped, the gradient of ``A``
  ``gA = -gB X^H`` (adjoint: ``-X gB^H``; right: ``-X^H gB``, ``-gB^H X``), and of the packed
  LU ``tril_-1(P^T gA U^H) + triu(L^H P^T gA)``. The first-order gradient is computed on
  plain arrays; under ``create_graph`` with Tensor ops (a ``lu_solve`` of the saved LU and
  the saved result), so every order is recorded. The tangent: ``dX = A^-1 (dB - dA X)``
  (and its adjoint / right forms) with ``dA = P (dL U + L dU)``.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.joining import cat
from ._lu_kernels import _split, lu_backward, lu_jvp, permutation_from_pivots

__all__ = ["LinalgLu", "LuSolve", "LuUnpack", "unpacked_p"]


def _h(a: Any) -> Any:
    """The conjugate transpose of a batch of matrices (raw or Tensor)."""
    if isinstance(a, Tensor):
        return a.mH
    return get_array_module(a).swapaxes(a, -1, -2).conj()


def _p_matrix(piv: Any, m: int, dtype: Any) -> Any:
    """The permutation matrix ``P`` of raw LAPACK pivots, raw."""
    return permutation_from_pivots(Tensor._make(piv, False, None, 0), m, dtype)._data


def _apply_inverse(lu_: Any, piv: Any, b: Any, adjoint: bool) -> Any:
    """``A^-1 B`` (``adjoint``: ``A^-H B``) on raw arrays from the packed square LU."""
    xp = get_array_module(lu_)
    n = lu_.shape[-1]
    low, up = _split(lu_, n, n)
    p = _p_matrix(piv, n, lu_.dtype)
    if adjoint:  # A^H = U^H L^H P^T
        return p @ xp.linalg.solve(_h(low), xp.linalg.solve(_h(up), b))
    return xp.linalg.solve(up, xp.linalg.solve(low, xp.swapaxes(p, -1, -2) @ b))


def raw_lu_solve(lu_: Any, piv: Any, b: Any, left: bool, adjoint: bool) -> Any:
    """``lu_solve``'s ``X`` on raw arrays (``left=False``: through ``X^H = A^-H B^H``)."""
    if left:
        return _apply_inverse(lu_, piv, b, adjoint)
    return _h(_apply_inverse(lu_, piv, _h(b), not adjoint))


def _grad_a(x: Any, gb: Any, left: bool, adjoint: bool) -> Any:
    """The gradient of ``A`` from ``X`` and ``B``'s gradient (raw or Tensor)."""
    if left:
        return -(x @ _h(gb)) if adjoint else -(gb @ _h(x))
    return -(_h(gb) @ x) if adjoint else -(_h(x) @ gb)


def _grad_lu(lu_: Any, p: Any, ga: Any) -> Any:
    """The packed LU's gradient from ``A``'s (``A = P L U``), raw or Tensor."""
    n = lu_.shape[-1]
    low, up = _split(lu_, n, n)
    pga = p.mT @ ga if isinstance(ga, Tensor) else get_array_module(ga).swapaxes(p, -1, -2) @ ga
    g_low, g_up = pga @ _h(up), _h(low) @ pga
    if isinstance(ga, Tensor):
        return g_low.tril(-1) + g_up.triu()
    xp = get_array_module(ga)
    return xp.tril(g_low, -1) + xp.triu(g_up)


class LuSolve(Function):
    """``linalg.lu_solve`` as one node (PyTorch's ``LinalgLuSolveBackward0``, listing ``LU``
    then ``B``, saving ``LU``, ``pivots``, ``result``, ``left``, ``adjoint``)."""

    raw = True
    complex_grad = True
    node_name = ("LinalgLuSolveBackward0", (0, 2))
    saved_fields = {
        "LU": 0,
        "adjoint": lambda n: n.adjoint,
        "left": lambda n: n.left,
        "pivots": 1,
        "result": 2,
    }

    @staticmethod
    def forward(ctx, lu_, piv, b, left, adjoint):
        ctx.left, ctx.adjoint = left, adjoint
        x = raw_lu_solve(lu_, piv, b, left, adjoint)
        ctx.save_for_backward(lu_, piv, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        lu_, piv, x = ctx.saved_tensors
        left, adjoint, needs = ctx.left, ctx.adjoint, ctx.needs_input_grad
        pd = piv._data
        p = _p_matrix(pd, lu_.shape[-1], lu_._data.dtype)
        if ctx.create_graph:
            gb = LuSolve.apply(lu_, Tensor._make(pd, False, None, 0), grad, left, not adjoint)
            glu = None
            if needs[0]:
                glu = _grad_lu(lu_, Tensor._make(p, False, None, 0), _grad_a(x, gb, left, adjoint))
            return glu, None, (gb if needs[2] else None), None, None
        lud, xd = lu_._data, x._data
        gbd = raw_lu_solve(lud, pd, grad._data, left, not adjoint)
        glu = None
        if needs[0]:
            glu = Tensor._make(_grad_lu(lud, p, _grad_a(xd, gbd, left, adjoint)), False, None, 0)
        return glu, None, (Tensor._make(gbd, False, None, 0) if needs[2] else None), None, None

    @staticmethod
    def jvp(ctx, tlu, _tp, tb, *_):
        lu_, piv = ctx.saved_arrays[:2]
        x, left, adjoint = ctx.out, ctx.left, ctx.adjoint
        xp = get_array_module(x)
        rhs = xp.zeros(x.shape, x.dtype) if tb is None else tb
        if tlu is not None:
            n = lu_.shape[-1]
            low, up = _split(lu_, n, n)
            da = _p_matrix(piv, n, lu_.dtype) @ (xp.tril(tlu, -1) @ up + low @ xp.triu(tlu))
            da = _h(da) if adjoint else da
            rhs = rhs - (da @ x if left else x @ da)
        return raw_lu_solve(lu_, piv, rhs, left, adjoint)


def _unpacked(lu_: Any, piv: Any, unpack_data: bool, unpack_pivots: bool) -> tuple:
    """Raw ``(P, L, U)`` of a packed LU; a part not asked for is an empty array."""
    xp = get_array_module(lu_)
    m, n = lu_.shape[-2:]
    empty = xp.zeros(0, dtype=lu_.dtype)
    p = _p_matrix(piv, m, lu_.dtype) if unpack_pivots else empty
    low, up = _split(lu_, m, n) if unpack_data else (empty, empty.copy())
    return p, low, up


def unpacked_p(lu_: Tensor, piv: Tensor, unpack_pivots: bool) -> Tensor:
    """``P`` (a constant, outside the node: PyTorch's node has ``L`` and ``U`` as its outputs
    0 and 1), or an empty tensor when not asked for."""
    xp = get_array_module(lu_._data)
    if unpack_pivots:
        p = _p_matrix(piv._data, lu_.shape[-2], lu_._data.dtype)
    else:
        p = xp.zeros(0, dtype=lu_._data.dtype)
    return Tensor._make(p, False, None, 0)


class LuUnpack(Function):
    """``lu_unpack``'s ``(L, U)`` as one node (PyTorch's ``LuUnpackBackward0``, saving the
    packed LU's sizes): ``gLU`` = ``tril_-1(gL)`` and ``triu(gU)`` put back in place."""

    raw = True
    complex_grad = True
    node_name = ("LuUnpackBackward0", (0,))
    saved_fields = {
        "LU_data_sym_argsize_minus_1": lambda n: n.sizes[1],
        "LU_data_sym_argsize_minus_2": lambda n: n.sizes[0],
    }

    @staticmethod
    def forward(ctx, lu_):
        ctx.sizes = tuple(lu_.shape[-2:])
        return _split(lu_, *ctx.sizes)

    @staticmethod
    def backward(ctx, g_low, g_up):
        m, n = ctx.sizes
        gl, gu = g_low.tril(-1), g_up.triu()
        xp = get_array_module(gl._data)
        if m > n:  # tall: U's rows are the first k of LU's
            pad = xp.zeros(tuple(gu.shape[:-2]) + (m - n, n), gu._data.dtype)
            gu = cat([gu, Tensor._make(pad, False, None, 0)], dim=-2)
        elif m < n:  # wide: L's columns are the first k of LU's
            pad = xp.zeros(tuple(gl.shape[:-2]) + (m, n - m), gl._data.dtype)
            gl = cat([gl, Tensor._make(pad, False, None, 0)], dim=-1)
        return gl + gu

    @staticmethod
    def jvp(ctx, t):
        m, n = ctx.sizes
        k = min(m, n)
        xp = get_array_module(t)
        return xp.tril(t[..., :, :k], -1), xp.triu(t[..., :k, :])


class LinalgLu(Function):
    """``linalg.lu``'s ``(L, U)`` as one node (PyTorch's ``LinalgLuBackward0``, saving ``P``,
    ``L``, ``U`` and ``pivot``) from the packed LU and pivots computed by the caller
    (``lu.py``'s ``getf2``; ``P`` is a constant there, as PyTorch's is not differentiable)."""

    raw = True
    complex_grad = "holomorphic"
    node_name = "LinalgLuBackward0"
    saved_fields = {"L": 1, "P": 0, "U": 2, "pivot": lambda n: True}

    @staticmethod
    def forward(ctx, a, lu_, piv, p):
        low, up = _split(lu_, *lu_.shape[-2:])
        ctx.piv, ctx.lu = piv, lu_
        ctx.save_for_backward(p, low, up)
        return low, up

    @staticmethod
    def backward(ctx, g_low, g_up):
        _, low, up = ctx.saved_tensors
        return lu_backward(low, up, ctx.piv, g_low, g_up), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        m, n = ctx.lu.shape[-2:]
        k = min(m, n)
        d = lu_jvp(ctx.lu, ctx.piv, t)
        xp = get_array_module(d)
        return xp.tril(d[..., :, :k], -1), xp.triu(d[..., :k, :])
