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
from typing import Any

import numpy as np

from .. import return_types
from .._layout import relaid_tensor
from ..autograd.function import Function
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.tensor import Tensor
from ..backend import get_array_module, host
from ..ops.binary import where
from ..ops.cast import cast
from ..ops.linalg_out import with_out
from ..ops.structural import diag_embed, diagonal
from ._common import (
    NOT_POSITIVE_DEFINITE,
    LinAlgError,
    batch_failure,
    batch_shape,
    check_square,
    mH,
    raise_singular,
    tensor_arg,
)
from ._vmap_per_sample import per_sample_under_vmap
from .decompositions import _potrf_info, cholesky
from .solve import raw_solve, solve

__all__ = [
    "SolveTriangular",
    "TriangularSolveNode",
    "cholesky_ex",
    "solve_triangular",
    "triangle",
    "triangular_node",
]


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
@per_sample_under_vmap
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
    return triangular_node(op, a, b, bool(upper), bool(left), bool(unitriangular), False)


def _solution(t: Any, b: Any, left: bool) -> Any:
    """The raw solution of ``T X = B`` (``left``; else ``X T = B``) in PyTorch's layout: its
    triangular solve returns a column-major solution from either side (``linalg.solve``'s
    right-hand solve is row-major there, hence not ``raw_solve``'s layout). From the right
    ``T^T X^T = B^T``: NumPy's row-major ``X^T`` is ``X`` column-major, with no copy (session
    44; ``raw_solve``'s row-major ``X`` laid out column-major again copied twice)."""
    if left:
        return raw_solve(t, b, True)
    xp = get_array_module(t)
    try:
        return xp.swapaxes(xp.linalg.solve(xp.swapaxes(t, -1, -2), xp.swapaxes(b, -1, -2)), -1, -2)
    except np.linalg.LinAlgError as e:
        raise_singular("linalg.solve", e)


def triangular_node(
    op: str,
    a: Tensor,
    b: Tensor,
    upper: bool,
    left: bool,
    unit: bool,
    trans: bool,
    legacy: bool = False,
) -> Any:
    """``X`` with ``M X = B`` (``left``; else ``X M = B``), ``M`` the triangle of ``a``
    (:func:`triangle`), transposed when ``trans``: one node, :class:`SolveTriangular`
    (``LinalgSolveTriangularBackward0``); with ``legacy`` ``(X, a.clone())`` from one
    :class:`TriangularSolveNode` (``torch.triangular_solve``'s ``TriangularSolveBackward0``).
    ``a`` and ``b``: one batch shape, ``a``'s dtype.

    Raises:
        LinAlgError: a zero on the diagonal of a triangle that is not ``unit``."""
    n = a.shape[-1]
    xp = get_array_module(a._data)
    if not unit and n and bool((xp.diagonal(a._data, 0, -2, -1) == 0).any()):
        raise LinAlgError(f"{op}: The diagonal of A has a zero: the triangular system is singular")
    if left and b.shape[-1] == 0 or not left and b.shape[-2] == 0 or n == 0:
        t = triangle(a, upper, unit)  # empty: the composite's shapes
        x = solve(t.mT if trans else t, b, left=left)
        return (x, a.clone()) if legacy else x
    cls = TriangularSolveNode if legacy else SolveTriangular
    try:
        return cls.apply(a, b, upper, left, unit, trans)
    except LinAlgError as err:
        raise LinAlgError(str(err).replace("linalg.solve", op, 1)) from None


def _part(a: Any, upper: bool, strict: bool) -> Any:
    """The upper or lower triangle of raw ``a`` (without the diagonal when ``strict``)."""
    xp = get_array_module(a)
    return xp.triu(a, 1 if strict else 0) if upper else xp.tril(a, -1 if strict else 0)


def _raw_triangle(a: Any, upper: bool, unit: bool, trans: bool) -> Any:
    """The matrix ``M`` a triangular node solves with, on raw arrays (:func:`triangle`)."""
    xp = get_array_module(a)
    t = _part(a, upper, unit)
    if unit:
        t = t + xp.eye(a.shape[-1], dtype=a.dtype)
    return xp.swapaxes(t, -1, -2) if trans else t


def _mask(g: Any, upper: bool, unit: bool, trans: bool) -> Any:
    """A gradient with respect to ``M`` as one with respect to ``a``: the triangle ``M``
    reads (transposed back when ``trans``)."""
    return _part(get_array_module(g).swapaxes(g, -1, -2) if trans else g, upper, unit)


class SolveTriangular(Function):
    """A triangular solve as one node, PyTorch's ``LinalgSolveTriangularBackward0`` (saving
    ``self``, ``result``, ``upper``, ``left``, ``unitriangular``). PyTorch's rules, in its
    conjugate convention for complex: ``gB = M^-H G`` (``G M^-H``), ``gM = -gB X^H``
    (``-X^H gB``) masked to the triangle read; under ``create_graph`` the same with Tensor
    ops (a triangular solve of ``a^H`` and the saved ``X``), so every order is recorded."""

    raw = True
    complex_grad = True
    node_name = ("LinalgSolveTriangularBackward0", (0, 1))
    saved_fields = {
        "left": lambda n: n.left,
        "result": 1,
        "self": 0,
        "unitriangular": lambda n: n.unit,
        "upper": lambda n: n.upper,
    }

    @staticmethod
    def forward(ctx, a, b, upper, left, unit, trans):
        ctx.upper, ctx.left, ctx.unit, ctx.trans = upper, left, unit, trans
        x = _solution(_raw_triangle(a, upper, unit, trans), b, left)
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors[:2]
        needs = ctx.needs_input_grad
        upper, left, unit, trans = ctx.upper, ctx.left, ctx.unit, ctx.trans
        if ctx.create_graph:
            # M^H is the other triangle of a^H (transposed back when trans)
            gb = triangular_node(
                "linalg.solve_triangular", a.mH, grad, not upper, left, unit, trans
            )
            if not needs[0]:
                return None, gb, None, None, None, None
            gm = -(gb @ x.mH) if left else -(x.mH @ gb)
            gm = gm.mT if trans else gm
            ga = gm.triu(1 if unit else 0) if upper else gm.tril(-1 if unit else 0)
            return ga, gb, None, None, None, None
        ad, xd, g = a._data, x._data, grad._data
        m = _raw_triangle(ad, upper, unit, trans)
        gbd = _solution(m.conj().swapaxes(-1, -2), g, left)  # (column-major, as PyTorch's)
        ga = None
        if needs[0]:
            xh = xd.conj().swapaxes(-1, -2)
            ga = Tensor._make(
                _mask(-(gbd @ xh if left else xh @ gbd), upper, unit, trans), False, None, 0
            )
        gb = Tensor._make(gbd, False, None, 0) if needs[1] else None
        return ga, gb, None, None, None, None

    @staticmethod
    def jvp(ctx, ta, tb, *_):
        a = ctx.primals[0]
        return _solve_tangent(ctx, a._data if isinstance(a, Tensor) else a, ctx.out, ta, tb)


def _solve_tangent(ctx: Any, a: Any, x: Any, ta: Any, tb: Any) -> Any:
    """The tangent of a triangular node's solution: ``M^-1 (dB - dM X)`` (``left``; else
    ``(dB - X dM) M^-1``), on raw arrays."""
    upper, left, unit, trans = ctx.upper, ctx.left, ctx.unit, ctx.trans
    xp = get_array_module(x)
    rhs = xp.zeros(x.shape, x.dtype) if tb is None else tb
    if ta is not None:
        dm = _part(ta, upper, unit)
        dm = xp.swapaxes(dm, -1, -2) if trans else dm
        rhs = rhs - (dm @ x if left else x @ dm)
    return _solution(_raw_triangle(a, upper, unit, trans), rhs, left)  # (PyTorch's layout)


class TriangularSolveNode(SolveTriangular):
    """``torch.triangular_solve`` as one node with two outputs, the solution and the copy of
    ``A`` (PyTorch's ``TriangularSolveBackward0``, saving ``self`` (B), ``A``, ``solution``,
    ``upper``, ``transpose``, ``unitriangular``): :class:`SolveTriangular`'s rules, the
    copy's gradient added to ``A``'s."""

    node_name = ("TriangularSolveBackward0", (1, 0))
    saved_fields = {
        "A": 0,
        "self": 2,
        "solution": 1,
        "transpose": lambda n: n.trans,
        "unitriangular": lambda n: n.unit,
        "upper": lambda n: n.upper,
    }

    @staticmethod
    def forward(ctx, a, b, upper, left, unit, trans):
        ctx.upper, ctx.left, ctx.unit, ctx.trans = upper, left, unit, trans
        x = _solution(_raw_triangle(a, upper, unit, trans), b, left)
        ctx.save_for_backward(a, x, b)  # PyTorch's _saved_A, _saved_solution, _saved_self
        return x, a.copy()

    @staticmethod
    def backward(ctx, grad, grad_copy):
        ga, gb, *rest = SolveTriangular.backward(ctx, grad)
        if ga is not None and grad_copy is not None:
            ga = ga + grad_copy
        return (ga, gb, *rest)

    @staticmethod
    def jvp(ctx, ta, tb, *_):
        a = ctx.primals[0]
        xp = get_array_module(ctx.out[0])
        # (PyTorch's forward rule here takes all of A's tangent, not only the triangle read:
        # not the derivative, nor the transpose of its own backward; this one is both)
        tx = _solve_tangent(ctx, a._data if isinstance(a, Tensor) else a, ctx.out[0], ta, tb)
        return tx, (xp.zeros(ctx.out[1].shape, ctx.out[1].dtype) if ta is None else ta.copy())


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
@per_sample_under_vmap
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
        raise batch_failure(op, infos, batch, NOT_POSITIVE_DEFINITE)
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
    low = where(mask_t, const, low)  # (row-major: L^H is column-major, as PyTorch's; L is laid so)
    cols = [low.ndim - 2, low.ndim - 1, *range(low.ndim - 3, -1, -1)]  # (fastest first)
    return CholeskyExResult(mH(low) if upper else relaid_tensor(low, cols), info)
