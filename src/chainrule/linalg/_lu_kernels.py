"""LU with partial pivoting, the kernels and the packed factorization's node: ``getf2``
(LAPACK's unblocked LU over a batch, in NumPy / CuPy), the pivots' permutation, the packed
LU's ``L`` / ``U`` and :class:`LUFactor` (``LinalgLuFactorExBackward0``) with PyTorch's
``linalg_lu_backward`` / ``linalg_lu_jvp`` (the formulas: ``lu.py``'s module doc), shared by
``lu.py`` and ``lu_nodes.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops._result_layout import column_major  # LAPACK's layout, PyTorch's
from ..ops.joining import cat
from .triangular import solve_triangular

__all__ = [
    "LUFactor",
    "lu_backward",
    "lu_jvp",
    "permutation_from_pivots",
]


def _getf2(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Packed LU, int32 pivots and int32 info of a batch ``a`` (..., m, n)."""
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    k = min(m, n)
    b = int(np.prod(batch))
    xp = get_array_module(a)  # the same column steps on NumPy or CuPy arrays
    lu_ = xp.array(a, copy=True).reshape((b, m, n))
    rows = xp.arange(b)
    piv = xp.zeros((b, k), dtype=np.int32)
    info = xp.zeros(b, dtype=np.int32)
    for j in range(k):
        col = lu_[:, j:, j]
        size = xp.abs(col.real) + xp.abs(col.imag) if col.dtype.kind == "c" else xp.abs(col)
        p = j + xp.argmax(size, axis=1)  # first largest, as i?amax (complex: |re| + |im|)
        piv[:, j] = p + 1
        row_j = lu_[rows, j].copy()
        lu_[rows, j] = lu_[rows, p]
        lu_[rows, p] = row_j
        pivot = lu_[:, j, j]
        zero = pivot == 0
        info[(info == 0) & zero] = j + 1
        safe = xp.where(zero, 1, pivot)
        lu_[:, j + 1 :, j] /= safe[:, None]
        lu_[:, j + 1 :, j + 1 :] -= lu_[:, j + 1 :, j, None] * lu_[:, j, None, j + 1 :]
    return (
        lu_.reshape(a.shape),
        piv.reshape(batch + (k,)),
        info.reshape(batch),
    )


def _perm(piv: np.ndarray, m: int) -> np.ndarray:
    """Row order ``perm`` (..., m) with ``A[perm] = L U`` from LAPACK pivots (..., k)."""
    xp = get_array_module(piv)
    flat = piv.reshape((int(np.prod(piv.shape[:-1])), piv.shape[-1])) - 1
    perm = xp.tile(xp.arange(m), (flat.shape[0], 1))
    rows = xp.arange(flat.shape[0])
    for i in range(flat.shape[1]):
        tgt = flat[:, i]
        pi = perm[rows, i].copy()
        perm[rows, i] = perm[rows, tgt]
        perm[rows, tgt] = pi
    return perm.reshape(piv.shape[:-1] + (m,))


def permutation_from_pivots(pivots: Tensor, m: int, dtype: Any) -> Tensor:
    """The permutation matrix ``P`` (..., m, m) with ``A = P L U`` (a constant)."""
    xp = get_array_module(pivots._data)
    perm = _perm(pivots._data, m)
    eye = xp.eye(m, dtype=np.dtype(dtype))  # a chainrule dtype, as NumPy's for CuPy
    pt = eye[perm]  # P^T: row i of P^T A is row perm[i] of A
    return Tensor._make(xp.ascontiguousarray(xp.swapaxes(pt, -1, -2)), False, None, 0)


def _split(lu_: Any, m: int, n: int) -> tuple[Any, Any]:
    """L (unit lower, (m, k)) and U (upper, (k, n)) from a packed LU (Tensors or arrays)."""
    k = min(m, n)
    if isinstance(lu_, Tensor):
        eye = get_array_module(lu_._data).eye(m, k, dtype=lu_._data.dtype)
        low = lu_[..., :, :k].tril(-1) + Tensor._make(eye, False, None, 0)
        return low, lu_[..., :k, :].triu()
    xp = get_array_module(lu_)
    low = xp.tril(lu_[..., :, :k], -1) + xp.eye(m, k, dtype=lu_.dtype)
    return low, xp.triu(lu_[..., :k, :])


class LUFactor(Function):
    """Packed ``LU`` (differentiable) and int32 ``pivots``, ``info`` (not). For a fixed
    pivot order the factors are rational functions of ``A``, so complex ``A`` takes the same
    rule as a holomorphic op (the engine conjugates it into PyTorch's convention)."""

    raw = True
    complex_grad = "holomorphic"
    node_name = "LinalgLuFactorExBackward0"  # PyTorch's name for the node
    # grad_fn._saved_* as PyTorch's (only pivoting LU is computed here)
    saved_fields = {"LU": 0, "pivot": lambda n: True, "pivots": 1}

    @staticmethod
    def forward(ctx, a):
        lu_, piv, info = _getf2(a)
        lu_ = column_major(lu_)
        ctx.mark_non_differentiable(piv, info)
        ctx.save_for_backward(lu_, piv)  # both outputs: version-checked, as in PyTorch
        return lu_, piv, info

    @staticmethod
    def backward(ctx, grad, _gpiv, _ginfo):
        lu_, piv = ctx.saved_tensors
        m, n = lu_.shape[-2:]
        k = min(m, n)
        low, up = _split(lu_, m, n)
        return lu_backward(low, up, piv._data, grad[..., :, :k], grad[..., :k, :])

    @staticmethod
    def jvp(ctx, t):
        return lu_jvp(ctx.out[0], ctx.out[1], t), None, None


def lu_backward(low: Tensor, up: Tensor, piv: Any, g_low: Tensor, g_up: Tensor) -> Tensor:
    """The gradient of ``A`` = ``P L U`` from those of ``L`` (m, k) and ``U`` (k, n) (only
    their strict lower / upper triangles read), PyTorch's ``linalg_lu_backward`` (module
    doc), written with Tensor ops (double backward); holomorphic convention."""
    m, n = low.shape[-2], up.shape[-1]
    k = min(m, n)
    g_low = g_low.tril(-1)
    g_up = g_up.triu()
    tail = None
    if m > n:  # tall: L2 = Pb2 U^-1
        l2, g_l2 = low[..., k:, :], g_low[..., k:, :]
        tail = solve_triangular(up.mT, g_l2, upper=False, left=False)
        g_up = g_up - (l2.mT @ tail).triu()
        low, g_low = low[..., :k, :], g_low[..., :k, :]
    elif m < n:  # wide: U2 = L^-1 Pb2
        u2, g_u2 = up[..., :, k:], g_up[..., :, k:]
        tail = solve_triangular(low.mT, g_u2, upper=True, unitriangular=True)
        g_low = g_low - (tail @ u2.mT).tril(-1)
        up, g_up = up[..., :, :k], g_up[..., :, :k]
    phi = (low.mT @ g_low).tril(-1) + (g_up @ up.mT).triu()
    x = solve_triangular(up.mT, phi, upper=False, left=False)
    g_a = solve_triangular(low.mT, x, upper=True, unitriangular=True)
    if tail is not None:
        g_a = cat([g_a, tail], dim=-2 if m > n else -1)
    p = permutation_from_pivots(Tensor._make(piv, False, None, 0), m, low.dtype)
    return p @ g_a


def lu_jvp(lu_: Any, piv: Any, t: Any) -> Any:
    """The tangent of the packed LU for ``A``'s tangent ``t`` (raw arrays, PyTorch's
    ``linalg_lu_jvp``: module doc)."""
    m, n = lu_.shape[-2:]
    k = min(m, n)
    low, up = _split(lu_, m, n)
    xp = get_array_module(lu_, t)
    perm = _perm(piv, m)
    pb = xp.take_along_axis(t, perm[..., None], axis=-2)  # P^T dA
    l1, u1 = low[..., :k, :], up[..., :, :k]
    x = xp.linalg.solve(l1, pb[..., :k, :k])
    x = xp.swapaxes(xp.linalg.solve(xp.swapaxes(u1, -1, -2), xp.swapaxes(x, -1, -2)), -1, -2)
    d_l1 = l1 @ xp.tril(x, -1)
    d_u1 = xp.triu(x) @ u1
    out = xp.zeros_like(lu_)
    out[..., :k, :k] = d_l1 + d_u1
    if m > n:  # dL2 = (dPb2 - L2 dU) U^-1
        rhs = pb[..., k:, :] - low[..., k:, :] @ d_u1
        out[..., k:, :] = xp.swapaxes(
            xp.linalg.solve(xp.swapaxes(u1, -1, -2), xp.swapaxes(rhs, -1, -2)), -1, -2
        )
    elif m < n:  # dU2 = L^-1 (dPb2 - dL U2)
        out[..., :, k:] = xp.linalg.solve(l1, pb[..., :, k:] - d_l1 @ up[..., :, k:])
    return out
