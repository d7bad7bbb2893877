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
from ..autograd.lower_precision import without_autocast
from ..autograd.tensor import Tensor
from ..backend import get_array_module, host
from ..ops.keywords import write_out
from ..ops.linalg_out import with_out
from ._common import batch_failure, batch_shape, check_square, mH, tensor_arg
from ._lu_kernels import LUFactor, _getf2, _split, permutation_from_pivots
from ._vmap_per_sample import per_sample_under_vmap
from .lu_nodes import LinalgLu, LuSolve, LuUnpack, unpacked_p
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


LUFactorResult = return_types.linalg_lu_factor  # torch.return_types.linalg_lu_factor


LUFactorExResult = return_types.linalg_lu_factor_ex  # torch.return_types.linalg_lu_factor_ex


LUResult = return_types.linalg_lu  # torch.return_types.linalg_lu


ZERO_PIVOT = (
    "U[{info},{info}] is zero and using it on lu_solve would result in a division by zero. If "
    "you still want to perform the factorization, consider calling linalg.lu(A, pivot) or "
    "linalg.lu_factor_ex(A, pivot)"
)  # PyTorch's words (lu_factor and lu_factor_ex(check_errors=True)); info: 1-based


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
@per_sample_under_vmap
def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> LUFactorExResult:
    """``(LU, pivots, info)``: the packed LU factorization of ``A`` (..., m, n) with partial
    pivoting; ``info`` (int32) is 0, or the 1-based index of the first zero on U's diagonal."""
    op = "linalg.lu_factor_ex"
    lu_, piv, info = _factor(A, op, pivot)
    if check_errors and np.any(info._data):
        raise batch_failure(f"torch.{op}", host(info._data), lu_.shape[:-2], ZERO_PIVOT)
    return LUFactorExResult(lu_, piv, info)


@with_out("linalg.lu_factor")
@per_sample_under_vmap
def lu_factor(A: Tensor, *, pivot: bool = True) -> LUFactorResult:
    """``(LU, pivots)`` as :func:`lu_factor_ex`, raising ``LinAlgError`` for a singular
    matrix (a zero on U's diagonal would divide by zero in ``lu_solve``)."""
    op = "linalg.lu_factor"
    lu_, piv, info = _factor(A, op, pivot)
    if np.any(info._data):
        raise batch_failure(f"torch.{op}", host(info._data), lu_.shape[:-2], ZERO_PIVOT)
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
@per_sample_under_vmap
def lu(A: Tensor, *, pivot: bool = True) -> LUResult:
    """``(P, L, U)`` with ``A = P L U``: L (..., m, k) unit lower, U (..., k, n) upper."""
    a = tensor_arg(A, "linalg.lu", complex_ok=True)
    if pivot and a.ndim >= 2 and a.numel():  # PyTorch's one LinalgLuBackward0 node
        lu_, piv, _ = _getf2(a._data)
        p = unpacked_p(a, Tensor._make(piv, False, None, 0), True)
        return LUResult(p, *LinalgLu.apply(a, lu_, piv, p._data))
    lu_, piv, _ = _factor(a, "linalg.lu", pivot)
    return unpack_lu(lu_, piv, True, bool(pivot))  # pivot=False: P is an empty tensor


@with_out("linalg.lu_solve")
@per_sample_under_vmap
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
    if n and b.numel():  # PyTorch's one LinalgLuSolveBackward0 node
        batch = batch_shape(op, lu_, b)
        if tuple(b.shape[:-2]) != batch:
            b = b.expand(*batch, *b.shape[-2:])
        if tuple(lu_.shape[:-2]) != batch:
            lu_ = lu_.expand(*batch, *lu_.shape[-2:])
            pivots = pivots.expand(*batch, n)
        return without_autocast(LuSolve.apply, lu_, pivots, b, bool(left), bool(adjoint))
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


@per_sample_under_vmap
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
    if lu_.numel() and (unpack_data or unpack_pivots):  # PyTorch's one LuUnpackBackward0
        p = unpacked_p(lu_, LU_pivots, bool(unpack_pivots))
        if unpack_data:
            parts = (p, *LuUnpack.apply(lu_))
        else:
            parts = (p, *unpack_lu(lu_, LU_pivots, False, False)[1:])
    else:
        parts = unpack_lu(lu_, LU_pivots, bool(unpack_data), bool(unpack_pivots))
    result = return_types.lu_unpack(*parts)
    return result if out is None else return_types.lu_unpack(*write_out(op, tuple(result), out))
