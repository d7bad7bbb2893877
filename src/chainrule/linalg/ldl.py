"""The LDL^T factorization of symmetric indefinite matrices: ``ldl_factor``,
``ldl_factor_ex`` and ``ldl_solve`` (``torch.linalg``'s, real and complex matrices).

    P A P^T = L D L^T     L unit lower triangular, D block diagonal (1x1 and 2x2 blocks)

The factorization is LAPACK's unblocked Bunch-Kaufman ``sytf2`` (lower triangle, pivot
threshold alpha = (1 + sqrt 17) / 8) written in NumPy (NumPy has no ``sytrf``), returned
packed as LAPACK's: ``LD`` holds L's strict lower part and D's lower part (the strict upper
triangle is zero, as PyTorch returns it), ``pivots`` (int32, 1-based) is ``k`` where rows
``i`` and ``k`` were swapped for a 1x1 block and ``-k`` on both rows of a 2x2 block. PyTorch
calls ``sytrf``, which runs exactly this unblocked routine for matrices smaller than its
block size (64), so ``LD`` and ``pivots`` agree with PyTorch's there; for larger matrices
the blocked routine may round differently (each is a valid factorization, and
``ldl_solve`` solves with either). ``ldl_solve`` is LAPACK's ``sytrs``.

Complex matrices: with ``hermitian=False`` A is complex symmetric (A = A^T) and the same
routines run with plain transposes (LAPACK's ``zsytf2`` / ``zsytrs``), the pivot search
comparing ``|Re z| + |Im z|`` as LAPACK's complex routines do; with ``hermitian=True`` A is
Hermitian (A = A^H, its diagonal's imaginary parts ignored) and ``ldl_complex.py``'s
``hetf2`` / ``hetrs`` factor it as P A P^T = L D L^H with a real diagonal in ``LD``. For
real input both values of ``hermitian`` give the same factorization, as in PyTorch; a
factorization solved with the other ``hermitian`` gives what PyTorch gives (a wrong answer).
As in PyTorch these functions have no derivative: the forward works on tensors that require
grad, and a backward through their results raises.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import host, to_device
from ..ops.linalg_out import with_out
from ._common import LinAlgError, batch_shape, check_square, tensor_arg
from ._vmap_per_sample import per_sample_under_vmap
from .ldl_complex import ALPHA, cabs1, hetf2, hetrs

__all__ = ["ldl_factor", "ldl_factor_ex", "ldl_solve"]


def _sytf2(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """LAPACK ``dsytf2`` / ``zsytf2`` (UPLO='L') on one real or complex symmetric matrix:
    (packed LD, 1-based pivots, info)."""
    a = np.tril(a).astype(a.dtype, copy=True)
    n = a.shape[0]
    ipiv = np.zeros(n, dtype=np.int32)
    info = 0
    k = 0
    while k < n:
        kstep = 1
        absakk = cabs1(a[k, k])
        if k < n - 1:
            sizes = cabs1(a[k + 1 :, k])
            imax = k + 1 + int(np.argmax(sizes))
            colmax = sizes[imax - k - 1]
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0.0 or np.isnan(absakk):
            info = info or k + 1
            kp = k
        else:
            if absakk >= ALPHA * colmax:
                kp = k
            else:
                rowmax = np.max(cabs1(a[imax, k:imax]))
                if imax < n - 1:
                    rowmax = max(rowmax, np.max(cabs1(a[imax + 1 :, imax])))
                if absakk >= ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif cabs1(a[imax, imax]) >= ALPHA * rowmax:
                    kp = imax
                else:
                    kp, kstep = imax, 2
            kk = k + kstep - 1
            if kp != kk:  # swap rows and columns kk and kp of the trailing lower triangle
                a[kp + 1 :, [kk, kp]] = a[kp + 1 :, [kp, kk]]
                seg = a[kk + 1 : kp, kk].copy()
                a[kk + 1 : kp, kk] = a[kp, kk + 1 : kp]
                a[kp, kk + 1 : kp] = seg
                a[kk, kk], a[kp, kp] = a[kp, kp], a[kk, kk]
                if kstep == 2:
                    a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]
            if kstep == 1:
                if k < n - 1:
                    x = a[k + 1 :, k].copy()
                    a[k + 1 :, k + 1 :] -= np.tril(np.outer(x, x)) / a[k, k]
                    a[k + 1 :, k] = x / a[k, k]
            elif k < n - 2:
                d21 = a[k + 1, k]
                d11 = a[k + 1, k + 1] / d21
                d22 = a[k, k] / d21
                d21 = (1.0 / (d11 * d22 - 1.0)) / d21
                for j in range(k + 2, n):
                    wk = d21 * (d11 * a[j, k] - a[j, k + 1])
                    wkp1 = d21 * (d22 * a[j, k + 1] - a[j, k])
                    a[j:, j] -= a[j:, k] * wk + a[j:, k + 1] * wkp1
                    a[j, k], a[j, k + 1] = wk, wkp1
        if kstep == 1:
            ipiv[k] = kp + 1
        else:
            ipiv[k] = ipiv[k + 1] = -(kp + 1)
        k += kstep
    return a, ipiv, info


def _sytrs(ld: np.ndarray, ipiv: np.ndarray, b: np.ndarray) -> np.ndarray:
    """LAPACK ``dsytrs`` / ``zsytrs`` (UPLO='L'): solve A X = B with A = P^T L D L^T P from
    ``_sytf2``."""
    b = b.copy()
    n = ld.shape[0]
    k = 0
    while k < n:  # L D Y = P B
        if ipiv[k] > 0:
            kp = ipiv[k] - 1
            b[[k, kp]] = b[[kp, k]]
            b[k + 1 :] -= np.outer(ld[k + 1 :, k], b[k])
            b[k] /= ld[k, k]
            k += 1
        else:
            kp = -ipiv[k] - 1
            b[[k + 1, kp]] = b[[kp, k + 1]]
            b[k + 2 :] -= np.outer(ld[k + 2 :, k], b[k]) + np.outer(ld[k + 2 :, k + 1], b[k + 1])
            akm1k = ld[k + 1, k]
            akm1, ak = ld[k, k] / akm1k, ld[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1.0
            bkm1, bk = b[k] / akm1k, b[k + 1] / akm1k
            b[k], b[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:  # L^T P X = Y
        if ipiv[k] > 0:
            b[k] -= ld[k + 1 :, k] @ b[k + 1 :]
            kp = ipiv[k] - 1
            b[[k, kp]] = b[[kp, k]]
            k -= 1
        else:
            b[k] -= ld[k + 1 :, k] @ b[k + 1 :]
            b[k - 1] -= ld[k + 1 :, k - 1] @ b[k + 1 :]
            kp = -ipiv[k] - 1
            b[[k, kp]] = b[[kp, k]]
            k -= 2
    return b


class _NoDerivative(Function):
    """Passes a result computed outside autograd through a node whose derivative raises,
    as PyTorch's ``ldl_factor_ex`` / ``ldl_solve`` (no derivative formula) do at backward."""

    raw = True
    complex_grad = True  # its backward raises for every dtype, so complex inputs may record

    @staticmethod
    def forward(ctx, *inputs, result, name):
        ctx.name = name
        return result

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(f"derivative for {ctx.name} is not implemented")

    @staticmethod
    def jvp(ctx, *tangents):
        raise RuntimeError(f"derivative for {ctx.name} is not implemented (forward mode)")


def _result(result: np.ndarray, name: str, *inputs: Tensor) -> Tensor:
    if grad_mode.is_grad_enabled() and any(
        t.requires_grad or t._fw_tangent is not None for t in inputs
    ):
        return _NoDerivative.apply(*inputs, result=result, name=name)
    return Tensor._make(result, False, None, 0)


def _check_hermitian(hermitian: Any, op: str) -> None:
    if not isinstance(hermitian, bool):
        raise TypeError(f"{op}: hermitian must be a bool, got {type(hermitian).__name__}")


def _singular(op: str, info: np.ndarray) -> LinAlgError:
    k = int(info[info != 0].flat[0])
    return LinAlgError(
        f"{op}: The factorization could not be completed: D[{k}, {k}] (1-based) is exactly "
        "zero (the matrix is singular)"
    )


LDLFactorResult = return_types.linalg_ldl_factor  # torch.return_types.linalg_ldl_factor


LDLFactorExResult = return_types.linalg_ldl_factor_ex  # torch.return_types.linalg_ldl_factor_ex


@with_out("linalg.ldl_factor_ex")
def ldl_factor_ex(
    A: Tensor, *, hermitian: bool = False, check_errors: bool = False
) -> LDLFactorExResult:
    """``(LD, pivots, info)``: the packed Bunch-Kaufman LDL^T factorization of each
    symmetric matrix in ``A`` (..., n, n), only its lower triangle read (LDL^H of a complex
    Hermitian one with ``hermitian=True``, its diagonal's imaginary parts ignored). ``info``
    (int32) is 0, or ``k`` when D[k, k] (1-based) is exactly zero: the factorization is
    complete but D is singular. ``check_errors=True`` raises :class:`LinAlgError` for such a
    matrix."""
    op = "torch.linalg.ldl_factor_ex"
    _check_hermitian(hermitian, op)
    a = check_square(A, op, complex_ok=True)
    count = int(np.prod(a.shape[:-2]))  # not -1: an empty batch or 0x0 matrices reshape too
    # the pivoted factorization is a sequential host algorithm: CuPy input is copied to the
    # host, factored with NumPy, and the results moved back to its device
    flat = host(a._data).reshape((count,) + tuple(a.shape[-2:]))
    factor = hetf2 if hermitian and flat.dtype.kind == "c" else _sytf2
    ld = np.empty_like(flat)
    piv = np.empty(flat.shape[:-1], dtype=np.int32)
    info = np.zeros(len(flat), dtype=np.int32)
    for i, m in enumerate(flat):
        ld[i], piv[i], info[i] = factor(m)
    batch = tuple(a.shape[:-2])
    if check_errors and info.any():
        raise _singular(op, info)
    dev = a.device
    return LDLFactorExResult(
        _result(to_device(ld.reshape(a.shape), dev), "linalg.ldl_factor_ex", a),
        Tensor._make(to_device(piv.reshape(batch + (a.shape[-1],)), dev), False, None, 0),
        Tensor._make(to_device(info.reshape(batch), dev), False, None, 0),
    )


@with_out("linalg.ldl_factor")
@per_sample_under_vmap
def ldl_factor(A: Tensor, *, hermitian: bool = False) -> LDLFactorResult:
    """``(LD, pivots)`` as :func:`ldl_factor_ex`, raising :class:`LinAlgError` where D is
    singular (PyTorch fails there with an internal error)."""
    op = "torch.linalg.ldl_factor"
    _check_hermitian(hermitian, op)
    ld, piv, info = ldl_factor_ex(check_square(A, op, complex_ok=True), hermitian=hermitian)
    if np.any(info._data):
        raise _singular(op, host(info._data))
    return LDLFactorResult(ld, piv)


@with_out("linalg.ldl_solve")
@per_sample_under_vmap
def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False) -> Tensor:  # noqa: N803
    """The solution X of ``A X = B`` from ``A``'s factorization ``(LD, pivots)`` by
    :func:`ldl_factor` (LAPACK's ``sytrs``, ``hetrs`` for complex ``hermitian=True``, which
    should match the factorization's); ``B`` (..., n, k), batch dims broadcast."""
    op = "torch.linalg.ldl_solve"
    _check_hermitian(hermitian, op)
    ld = check_square(LD, op, complex_ok=True)
    b = tensor_arg(B, op, complex_ok=True)
    piv = pivots if isinstance(pivots, Tensor) else Tensor._make(np.asarray(pivots), False, None, 0)
    n = ld.shape[-1]
    if piv.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: Expected pivots to be integers. Got {piv.dtype}")
    if tuple(piv.shape) != tuple(ld.shape[:-1]):
        raise RuntimeError(
            f"{op}: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots "
            f"with shape {tuple(piv.shape)} instead"
        )
    if b.ndim < 2 or b.shape[-2] != n:
        raise RuntimeError(
            f"{op}: Incompatible shapes of A and B for the equation AX = B "
            f"({n}x{n} and {'x'.join(str(s) for s in b.shape[-2:])})"
        )
    if b.dtype != ld.dtype:
        raise RuntimeError(
            f"{op}: Expected LD and B to have the same dtype, but got LD with dtype "
            f"{ld.dtype} and B with dtype {b.dtype} instead"
        )
    p = host(piv._data)  # a host algorithm (see ldl_factor_ex): CuPy input comes to the host
    if p.size and ((p == 0).any() or (np.abs(p) > n).any()):
        raise RuntimeError(f"{op}: pivots must lie in [-{n}, -1] or [1, {n}], got {p.tolist()}")
    batch = batch_shape(op, ld, b)
    count = int(np.prod(batch))  # not -1: an empty batch or n = 0 reshape too
    lds = np.broadcast_to(host(ld._data), batch + (n, n)).reshape(count, n, n)
    ps = np.broadcast_to(p, batch + (n,)).reshape(count, n)
    bs = np.broadcast_to(host(b._data), batch + tuple(b.shape[-2:]))
    flat = bs.reshape((count,) + tuple(b.shape[-2:]))
    out = np.empty_like(flat)
    solve = hetrs if hermitian and flat.dtype.kind == "c" else _sytrs
    with np.errstate(divide="ignore", invalid="ignore"):  # a singular D gives inf/nan
        for i in range(len(flat)):
            out[i] = solve(lds[i], ps[i], flat[i])
    return _result(to_device(out.reshape(bs.shape), ld.device), "linalg.ldl_solve", ld, b)
