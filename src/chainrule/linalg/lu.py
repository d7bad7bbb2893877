"""LU with partial pivoting: ``lu_factor``, ``lu_factor_ex``, ``lu``, ``lu_solve`` and the
top-level ``lu_unpack`` (PyTorch has it outside ``torch.linalg``; exported by ops/linalg_more).

    A = P L U      (m, n), k = min(m, n): L (m, k) unit lower, U (k, n) upper

The factorization is LAPACK's ``getf2`` written over the batch in NumPy (NumPy has no LU):
one Python step per column, each a vectorised row swap, scaling and rank-1 update. Its
result is packed as LAPACK's (``LU``: L's strict lower part and U; ``pivots``: int32, the
1-based row swapped with row ``i`` at step ``i``), which is what PyTorch returns.

Derivatives (PyTorch's ``linalg_lu_backward`` / ``linalg_lu_jvp``), with Pb = P^T A:
square  gA = P L^-T [tril_-1(L^T gL) + triu(gU U^T)] U^-T
        dX = L^-1 P^T dA U^-1,  dL = L tril_-1(dX),  dU = triu(dX) U
tall    L = [L1; L2], L2 = Pb2 U^-1: gPb2 = gL2 U^-T and U's gradient gains -L2^T gL2 U^-T
wide    U = [U1, U2], U2 = L^-1 Pb2: gPb2 = L^-T gU2 and L's gradient gains -L^-T gU2 U2^T
The backward is written with differentiable ops, so it can be differentiated again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from ..autograd.function import Function
from ..autograd.lower_precision import without_autocast
from ..autograd.tensor import Tensor
from ..backend import get_array_module, host
from ..ops.joining import cat
from ..ops.keywords import write_out
from ..ops.linalg_out import with_out
from ._common import LinAlgError, check_square, mH, tensor_arg
from .triangular import solve_triangular

__all__ = [
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "lu_unpack",
    "permutation_from_pivots",
    "unpack_lu",
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
        ctx.mark_non_differentiable(piv, info)
        ctx.save_for_backward(lu_, piv)  # both outputs: version-checked, as in PyTorch
        return lu_, piv, info

    @staticmethod
    def backward(ctx, grad, _gpiv, _ginfo):
        lu_, piv = ctx.saved_tensors
        m, n = lu_.shape[-2:]
        k = min(m, n)
        low, up = _split(lu_, m, n)
        g_low = grad[..., :, :k].tril(-1)
        g_up = grad[..., :k, :].triu()
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
        p = permutation_from_pivots(Tensor._make(piv._data, False, None, 0), m, lu_.dtype)
        return p @ g_a

    @staticmethod
    def jvp(ctx, t):
        lu_, piv, _ = ctx.out
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
        return out, None, None


LUFactorResult = return_types.linalg_lu_factor  # torch.return_types.linalg_lu_factor


LUFactorExResult = return_types.linalg_lu_factor_ex  # torch.return_types.linalg_lu_factor_ex


LUResult = return_types.linalg_lu  # torch.return_types.linalg_lu


def _factor(A: Any, op: str, pivot: bool) -> tuple[Tensor, Tensor, Tensor]:
    a = tensor_arg(A, op, complex_ok=True)
    if a.ndim < 2:
        raise RuntimeError(
            f"{op}: Expected tensor with 2 or more dimensions. Got size: {list(a.shape)} instead"
        )
    if not pivot and a.numel():  # an empty input has nothing to pivot: PyTorch returns it
        raise RuntimeError(f"{op}: LU without pivoting is not implemented on the CPU")
    return LUFactor.apply(a)


@with_out("linalg.lu_factor_ex")
def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> LUFactorExResult:
    """``(LU, pivots, info)``: the packed LU factorization of ``A`` (..., m, n) with partial
    pivoting; ``info`` (int32) is 0, or the 1-based index of the first zero on U's diagonal."""
    op = "linalg.lu_factor_ex"
    lu_, piv, info = _factor(A, op, pivot)
    if check_errors and np.any(info._data):
        bad = host(info._data)  # the error's index: metadata
        first = int(bad[bad != 0].flat[0])
        raise LinAlgError(f"{op}: U[{first},{first}] is zero (the matrix is singular)")
    return LUFactorExResult(lu_, piv, info)


@with_out("linalg.lu_factor")
def lu_factor(A: Tensor, *, pivot: bool = True) -> LUFactorResult:
    """``(LU, pivots)`` as :func:`lu_factor_ex`, raising ``LinAlgError`` for a singular
    matrix (a zero on U's diagonal would divide by zero in ``lu_solve``)."""
    op = "linalg.lu_factor"
    lu_, piv, info = _factor(A, op, pivot)
    if np.any(info._data):
        bad = host(info._data)  # the error's index: metadata
        first = int(bad[bad != 0].flat[0])
        raise LinAlgError(
            f"{op}: U[{first},{first}] is zero and using it on lu_solve would result in a "
            "division by zero. If you still want to perform the factorization, consider "
            "calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"
        )
    return LUFactorResult(lu_, piv)


def unpack_lu(lu_: Tensor, pivots: Tensor, unpack_data: bool, unpack_pivots: bool) -> LUResult:
    """``(P, L, U)`` from a packed LU; a part not asked for is an empty tensor."""
    m, n = lu_.shape[-2:]
    empty = Tensor._make(
        get_array_module(lu_._data).zeros(0, dtype=lu_._data.dtype), False, None, 0
    )
    p = permutation_from_pivots(pivots, m, lu_._data.dtype) if unpack_pivots else empty
    low, up = _split(lu_, m, n) if unpack_data else (empty, empty)
    return LUResult(p, low, up)


@with_out("linalg.lu")
def lu(A: Tensor, *, pivot: bool = True) -> LUResult:
    """``(P, L, U)`` with ``A = P L U``: L (..., m, k) unit lower, U (..., k, n) upper."""
    lu_, piv, _ = _factor(A, "linalg.lu", pivot)
    return unpack_lu(lu_, piv, True, bool(pivot))  # pivot=False: P is an empty tensor


@with_out("linalg.lu_solve")
def lu_solve(
    LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False
) -> Tensor:
    """``X`` with ``A X = B`` (``adjoint``: ``A^H X = B``; ``left=False``: ``X A = B``, with
    ``adjoint`` too ``X A^H = B``) from ``A``'s packed LU factorization: triangular solves
    with the permuted ``B``. Real or complex; ``LU`` and ``B`` must share a dtype."""
    op = "linalg.lu_solve"
    lu_ = check_square(LU, op, complex_ok=True)
    b = tensor_arg(B, op, complex_ok=True)
    if b.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor B must have at least 2 dimensions.")
    if not isinstance(pivots, Tensor) or pivots.dtype != np.int32:
        raise RuntimeError(f"{op}: pivots should be a Tensor of scalar type int32")
    if b.dtype != lu_.dtype:
        raise RuntimeError(
            f"{op}: Expected LU and B to have the same dtype, but found LU of type {lu_.dtype} "
            f"and B of type {b.dtype} instead"
        )
    n = lu_.shape[-1]
    if tuple(pivots.shape) != tuple(lu_.shape[:-1]):
        raise RuntimeError(
            f"{op}: Expected pivots of shape {tuple(lu_.shape[:-1])} (LU.shape[:-1]), got "
            f"{tuple(pivots.shape)}"
        )
    piv = pivots._data
    if piv.size and (piv.min() < 1 or piv.max() > n):  # 1-based rows, as lu_factor gives
        bound = "greater or equal to 1" if piv.min() < 1 else f"smaller or equal to {n}"
        raise RuntimeError(
            f"{op}: Pivots given to lu_solve must all be {bound} (LU.size(-2)), got "
            f"values from {int(piv.min())} to {int(piv.max())}. Did you properly pass the "
            "result of lu_factor?"
        )
    if (b.shape[-2] if left else b.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(
            f"{op}: Incompatible shapes of A and B for the equation {eq} "
            f"({n}x{n} and {b.shape[-2]}x{b.shape[-1]})"
        )
    if not left:  # X A = B  <=>  A^H X^H = B^H (and X A^H = B  <=>  A X^H = B^H)
        return mH(lu_solve(lu_, pivots, mH(b), adjoint=not adjoint))
    # one kernel in PyTorch, on none of CPU autocast's lists: its products are not cast
    return without_autocast(_lu_solve_left, lu_, pivots, b, adjoint)


def _lu_solve_left(lu_: Tensor, pivots: Tensor, b: Tensor, adjoint: bool) -> Tensor:
    """``lu_solve`` for ``left=True`` on checked arguments."""
    p, low, up = unpack_lu(lu_, pivots, True, True)
    if adjoint:  # A^H = U^H L^H P^T: X = P L^-H U^-H B
        y = solve_triangular(mH(up), b, upper=False)
        return p @ solve_triangular(mH(low), y, upper=True, unitriangular=True)
    y = solve_triangular(low, p.mT @ b, upper=False, unitriangular=True)
    return solve_triangular(up, y, upper=True)


def lu_unpack(
    LU_data: Tensor,  # noqa: N803 - PyTorch's names
    LU_pivots: Tensor,  # noqa: N803
    unpack_data: bool = True,
    unpack_pivots: bool = True,
    *,
    out: Any = None,
) -> return_types.lu_unpack:
    """``(P, L, U)`` with ``A = P L U`` from ``linalg.lu_factor``'s packed result; a part not
    asked for (``unpack_data`` for L and U, ``unpack_pivots`` for P) is an empty tensor.
    L and U are differentiable functions of ``LU_data`` (its strict lower part and its upper
    triangle)."""
    op = "lu_unpack"
    lu_ = tensor_arg(LU_data, op, complex_ok=True)
    if lu_.ndim < 2:
        raise RuntimeError(
            f"{op}: Expected tensor with 2 or more dimensions. Got size: {list(lu_.shape)} instead"
        )
    k = min(lu_.shape[-2:])
    if not isinstance(LU_pivots, Tensor) or LU_pivots.dtype != np.int32:
        raise RuntimeError(
            f"{op}: LU_pivots is expected to be a contiguous tensor of int32 dtype. Note: this "
            "function is intended to be used with the output produced by linalg.lu_factor"
        )
    if tuple(LU_pivots.shape) != tuple(lu_.shape[:-2]) + (k,):
        raise RuntimeError(
            f"{op}: Expected LU_pivots of shape {tuple(lu_.shape[:-2]) + (k,)}, got "
            f"{tuple(LU_pivots.shape)}"
        )
    piv = LU_pivots._data
    if piv.size and (piv.min() < 1 or piv.max() > lu_.shape[-2]):
        raise RuntimeError(f"{op}: LU_pivots must be in [1, {lu_.shape[-2]}] (1-based rows)")
    result = return_types.lu_unpack(
        *unpack_lu(lu_, LU_pivots, bool(unpack_data), bool(unpack_pivots))
    )
    return result if out is None else return_types.lu_unpack(*write_out(op, tuple(result), out))
