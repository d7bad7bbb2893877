"""Triangular systems and the error-reporting Cholesky: ``solve_triangular``, ``cholesky_ex``.

    X = T^-1 B with T = tril(A) (upper: triu(A); unitriangular: its diagonal set to 1)

Real and complex: the ops it is composed of carry complex rules (``solve`` is holomorphic),
so complex gradients come in PyTorch's conjugate convention. The solve runs in ``A``'s dtype,
as PyTorch's: a real ``B`` meets a complex ``A`` as complex, a complex ``B`` with a real
``A`` loses its imaginary part (with a warning, as PyTorch's).

``solve_triangular`` is composed of differentiable ops (``tril``/``triu`` and
:func:`~chainrule.linalg.solve`), so the gradient with respect to ``A`` is the one of the
triangle it reads (PyTorch masks it the same way), forward mode and double backward come
from those ops. NumPy has no triangular solver, hence the general LU solve of the
triangle: O(n^3) instead of O(n^2), and backward stable all the same.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import return_types
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.tensor import Tensor
from ..backend import get_array_module, host
from ..ops.binary import where
from ..ops.cast import cast
from ..ops.linalg_out import with_out
from ..ops.structural import diag_embed, diagonal
from ._common import LinAlgError, batch_shape, check_square, mH, tensor_arg
from .decompositions import _potrf_info, cholesky
from .solve import solve

__all__ = ["cholesky_ex", "solve_triangular", "triangle"]


def triangle(a: Tensor, upper: bool, unitriangular: bool = False) -> Tensor:
    """The triangle of ``a`` a triangular solver reads: ``triu``/``tril``, with ones on the
    diagonal instead of ``a``'s when ``unitriangular``."""
    if not unitriangular:
        return a.triu() if upper else a.tril()
    strict = a.triu(1) if upper else a.tril(-1)
    return strict + diag_embed(diagonal(a, 0, -2, -1) * 0.0 + 1.0)


def _as_a_dtype(a: Tensor, b: Tensor, op: str) -> Tensor:
    """``b`` in ``a``'s dtype: PyTorch's solver computes (and returns) in ``A``'s dtype. A
    complex ``b`` with a real ``a`` loses its imaginary part there, with a warning (as in
    PyTorch, whose copy warns the same)."""
    if b.dtype == a.dtype:
        return b
    if b._data.dtype.kind == "c" and a._data.dtype.kind != "c":
        warnings.warn(
            f"{op}: B is {b.dtype} but A is {a.dtype}; the system is solved in A's dtype, so "
            "casting complex values to real discards the imaginary part of B (as in "
            "PyTorch). Pass a complex A to keep it.",
            UserWarning,
            stacklevel=3,
        )
        b = b.real
    return cast(b, a.dtype)


@with_out("linalg.solve_triangular")
def solve_triangular(
    A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False
) -> Tensor:
    """The solution ``X`` of ``T X = B`` (``left=False``: ``X T = B``) with ``T`` the upper
    (``upper=True``) or lower triangle of the square ``A``; ``unitriangular``: ``T``'s diagonal
    is taken to be all ones (``A``'s is not read). Batch dims broadcast. Complex ``A``/``B``
    are solved in ``A``'s dtype, as in PyTorch (a complex ``B`` with a real ``A`` warns and
    loses its imaginary part there); the gradient is PyTorch's conjugate convention.

    Raises:
        LinAlgError: ``T`` is singular (a zero on its diagonal). RuntimeError: shapes.
    """
    op = "linalg.solve_triangular"
    a = check_square(A, op, complex_ok=True)
    b = B if isinstance(B, Tensor) and B.dtype.kind in "iub" else tensor_arg(B, op, True)
    # an integer or bool B is solved in A's dtype (below), as PyTorch's
    if b.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor B must have at least 2 dimensions.")
    n = a.shape[-1]
    rows = b.shape[-2] if left else b.shape[-1]
    if rows != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(
            f"{op}: Incompatible shapes of A and B for the equation {eq} "
            f"({a.shape[-2]}x{a.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})"
        )
    b = _as_a_dtype(a, b, op)
    # Same batch dims on both: linalg.solve would read a B of shape A.shape[:-1] as a vector.
    batch = batch_shape(op, a, b)
    if tuple(a.shape[:-2]) != batch:
        a = a.expand(*batch, *a.shape[-2:])
    if tuple(b.shape[:-2]) != batch:
        b = b.expand(*batch, *b.shape[-2:])
    t = triangle(a, bool(upper), bool(unitriangular))
    xp = get_array_module(t._data)
    if not unitriangular and n and bool((xp.diagonal(t._data, 0, -2, -1) == 0).any()):
        raise LinAlgError(f"{op}: The diagonal of A has a zero: the triangular system is singular")
    try:
        return solve(t, b, left=left)
    except LinAlgError as err:
        raise LinAlgError(str(err).replace("linalg.solve", op, 1)) from None


CholeskyExResult = return_types.linalg_cholesky_ex  # torch.return_types.linalg_cholesky_ex


def _failed_minor(a: np.ndarray) -> int:
    """1-based order of the first leading minor of the symmetric ``a`` (lower triangle read)
    that is not positive-definite; 0 when ``a`` is positive-definite."""
    for k in range(1, a.shape[-1] + 1):
        try:
            np.linalg.cholesky(a[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return 0


def _partial_factor(a: np.ndarray, info: int) -> np.ndarray:
    """What LAPACK's unblocked ``potf2`` (what PyTorch returns for small matrices) leaves for
    a matrix whose minor of order ``info`` fails: columns ``< info - 1`` factored, the failed
    pivot ``a_jj - l_j . conj(l_j)`` stored unrooted, the rest of the lower triangle
    untouched (``L21 = A21 L11^-H``)."""
    low = np.tril(a).copy()
    j = info - 1
    if j > 0:
        low[:j, :j] = np.linalg.cholesky(a[:j, :j])
        low[j:, :j] = np.linalg.solve(low[:j, :j], a[j:, :j].conj().T).conj().T
    low[j, j] = a[j, j] - low[j, :j] @ low[j, :j].conj()
    return low


@with_out("linalg.cholesky_ex")
@autocast_float32_op
def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> CholeskyExResult:
    """``(L, info)``: the Cholesky factor without raising for a matrix that is not
    positive-definite; ``info`` (int32, one per matrix) is 0 where the factorization
    succeeded, else the order of the first leading minor that is not positive-definite.

    ``check_errors=True`` raises :class:`LinAlgError` instead, as ``linalg.cholesky`` does.
    Gradients flow through the matrices that succeeded; a failed matrix's ``L`` is the
    partial factor LAPACK's unblocked routine leaves (PyTorch's for small matrices; PyTorch
    calls its content unspecified) and gets no gradient (PyTorch's is not finite there).
    """
    op = "linalg.cholesky_ex"
    a = check_square(A, op, complex_ok=True)
    batch = tuple(a.shape[:-2])
    flat = a._data.reshape((int(np.prod(batch)),) + tuple(a.shape[-2:]))  # -1: ambiguous at 0x0
    xp = get_array_module(flat)  # infos and failed factors are found on the host (metadata)
    try:
        factors = xp.linalg.cholesky(flat)
        infos = np.zeros(len(flat), dtype=np.int32)
        # NaN pivots: NumPy does not raise, LAPACK does; CuPy neither raises nor need
        # leave a non-finite factor where a pivot fails, so there the pivots are replayed
        if xp is not np or not np.isfinite(factors).all():
            infos = np.asarray(host(_potrf_info(flat)), dtype=np.int32)
    except np.linalg.LinAlgError:
        flat_h = host(flat)
        infos = np.array([_failed_minor(m) for m in flat_h], dtype=np.int32)
        nonfinite = ~np.isfinite(flat_h).all(axis=(-2, -1))
        if nonfinite.any():
            infos[nonfinite] = np.asarray(_potrf_info(flat_h[nonfinite]))
    info = Tensor._make(xp.asarray(infos.reshape(batch)), False, None, 0)
    failed = infos != 0
    if check_errors and failed.any():
        k = int(infos[failed][0])
        raise LinAlgError(
            f"{op}: The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {k} is not positive-definite)."
        )
    if not failed.any():
        return CholeskyExResult(cholesky(a, upper=upper), info)
    eye = xp.eye(a.shape[-1], dtype=a._data.dtype)
    mask = np.broadcast_to(failed.reshape(batch + (1, 1)), a.shape)
    mask_t = Tensor._make(xp.asarray(np.ascontiguousarray(mask)), False, None, 0)
    patched = where(mask_t, Tensor._make(xp.broadcast_to(eye, a.shape).copy(), False, None, 0), a)
    low = cholesky(patched)
    partial = flat.copy()
    for i in np.flatnonzero(failed):  # LAPACK's partial factor, replayed on the host
        partial[i] = xp.asarray(_partial_factor(host(flat[i]), int(infos[i])))
    const = Tensor._make(partial.reshape(a.shape), False, None, 0)
    low = where(mask_t, const, low)
    return CholeskyExResult(mH(low) if upper else low, info)
