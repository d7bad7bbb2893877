"""``torch.linalg`` functions composed of chainrule's differentiable linalg ops: ``vecdot``,
``vander``, ``tensorinv``, ``tensorsolve``, ``inv_ex``, ``solve_ex``, ``cond``,
``householder_product`` and ``diagonal`` (``torch.diagonal`` over the last two dims).

Each is written with differentiable ops (``inv``, ``solve``, ``svdvals``, ``matrix_norm``,
matmul, ``where``), so backward, forward mode and double backward come from those ops:

    vecdot(x, y)       sum_i conj(x_i) y_i              (real: grad_x = g y, grad_y = g x)
    vander(x)          [1, x, x^2, ..., x^(N-1)]        (repeated products, exact at x = 0)
    tensorinv(A)       inv(A as a p x p matrix), reshaped
    tensorsolve(A, B)  solve(A as a matrix, B as a vector), reshaped
    cond(A, 2)         s_max / s_min (singular values); cond(A, p) = |A|_p |A^-1|_p
    householder_product(A, tau)  H_1 ... H_k [I_n; 0], H_i = I - tau_i v_i v_i^H

Complex matrices go through the same compositions (their ops carry complex rules).

The ``_ex`` forms report singular matrices in ``info`` (int32, LAPACK's ``getrf`` code: the
1-based index of the first zero pivot of the LU factorization) instead of raising.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import return_types
from ..autograd import grad_mode
from ..autograd.lower_precision import autocast_float32_op, autocast_lower_precision
from ..autograd.tensor import Tensor
from ..backend import errstate, get_array_module, host
from ..dtypes import is_bfloat16
from ..meta.array import follow
from ..ops._util import as_tensor, dim_range_error, no_dims_error, torch_words
from ..ops.binary import where
from ..ops.cumulative import cumprod
from ..ops.joining import cat
from ..ops.linalg_out import with_out
from ..ops.reshape_graph import ReshapeAlias, torch_reshape
from ..ops.structural import diagonal as _diagonal
from ._common import (
    SINGULAR_INVERSE,
    SINGULAR_SOLVE,
    LinAlgError,
    batch_failure,
    check_float,
    check_square,
    mH,
    tensor_arg,
)
from ._vmap_per_sample import per_sample_under_vmap
from .decompositions import svdvals
from .lu import lu_factor_ex
from .norms import matrix_norm
from .solve import inv, solve

__all__ = [
    "cond",
    "diagonal",
    "householder_product",
    "inv_ex",
    "solve_ex",
    "tensorinv",
    "tensorsolve",
    "vander",
    "vecdot",
]


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:  # noqa: N803
    """``torch.linalg.diagonal``: :func:`chainrule.diagonal` (a differentiable view) whose
    dims default to the last two, so that a batch of matrices gives its batch of diagonals;
    everything after ``A`` is keyword-only, as in PyTorch."""
    return _diagonal(A, offset, dim1, dim2)


@with_out("linalg.vecdot")
def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """``torch.linalg.vecdot``: the dot product ``sum(conj(x) * y, dim)`` of two batches of
    vectors (broadcast together); floating or complex tensors of one dtype."""
    op = "linalg.vecdot"
    x, y = autocast_lower_precision(as_tensor(x), as_tensor(y))  # on autocast's list
    if x.dtype != y.dtype:
        raise RuntimeError(
            f"{op}: Expected x and y to have the same dtype, but found x of type {x.dtype} "
            f"and y of type {y.dtype} instead"
        )
    tensor_arg(x, op, complex_ok=True)
    try:
        shape = np.broadcast_shapes(tuple(x.shape), tuple(y.shape))
    except ValueError:
        raise RuntimeError(
            f"{op}: x of shape {tuple(x.shape)} and y of shape {tuple(y.shape)} cannot be "
            "broadcast together"
        ) from None
    if not -max(len(shape), 1) <= dim < max(len(shape), 1):  # 0-d: dim 0 or -1
        raise dim_range_error(dim, max(len(shape), 1))
    return (x.conj() * y).sum(dim) if x.dtype.kind == "c" else (x * y).sum(dim)


def vander(x: Tensor, *, N: int | None = None) -> Tensor:  # noqa: N803 - PyTorch's name
    """``torch.linalg.vander``: the Vandermonde matrix ``[..., i, j] = x[..., i] ** j`` for
    ``j < N`` (default ``N = x.shape[-1]``; a 0-d ``x`` counts as one element). Built as
    repeated products ``1, x, x*x, ...`` (not ``pow``), so the gradient is exact at ``x = 0``
    and integer inputs stay integer, as in PyTorch; one ``cumprod`` of ``x`` repeated along a
    new last dim, as PyTorch builds it (not a tensor per column)."""
    x = as_tensor(x)
    if x.dtype.kind == "b" or x.dtype == np.float16 or is_bfloat16(x.dtype):
        raise RuntimeError(  # PyTorch refuses these three (torch.vander takes them)
            f"linalg.vander: supports floating point (float32, float64), complex and integer "
            f"tensors, but got {x.dtype}"
        )
    if x.ndim == 0:
        x = x.reshape(1)
    n = x.shape[-1] if N is None else N
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"linalg.vander: N must be an int, got {type(n).__name__}")
    if n <= 1:
        raise RuntimeError(f"linalg.vander: N must be greater than 1, got N={n}")
    powers = cumprod(x.unsqueeze(-1).expand(*x.shape, n - 1), -1)  # x, x*x, ... (as torch)
    return cat([x.new_ones((*x.shape, 1)), powers], -1)


@with_out("linalg.tensorinv", "castable")
@autocast_float32_op
def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """``torch.linalg.tensorinv``: the tensor ``X`` with ``tensordot(X, A, ind) = I``: the
    inverse of ``A`` seen as a ``prod(shape[:ind]) x prod(shape[ind:])`` matrix, reshaped to
    ``shape[ind:] + shape[:ind]``. Singular input raises :class:`LinAlgError`."""
    op = "linalg.tensorinv"
    a = tensor_arg(A, op, complex_ok=True)
    if isinstance(ind, bool) or not isinstance(ind, (int, np.integer)) or ind <= 0:
        raise RuntimeError(f"{op}: Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = tuple(a.shape[:ind]), tuple(a.shape[ind:])
    p, q = math.prod(rows), math.prod(cols)
    if p != q:
        raise RuntimeError(
            f"{op}: Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {q} != {p}"
        )
    try:
        y = inv(a.reshape(p, q))
    except LinAlgError as err:  # PyTorch's words: its tensorinv calls ``inverse`` ("inv: ")
        raise torch_words(LinAlgError(str(err).replace("linalg.inv: ", "inv: ", 1))) from None
    # PyTorch's inverse is column-major: its reshape is a _reshape_alias (n > 1)
    return ReshapeAlias.apply(y, cols + rows) if p > 1 else y.reshape(*cols, *rows)


@with_out("linalg.tensorsolve", "castable")
@autocast_float32_op
@per_sample_under_vmap
def tensorsolve(A: Tensor, B: Tensor, dims: Any = None) -> Tensor:
    """``torch.linalg.tensorsolve``: ``X`` with ``tensordot(A, X, X.ndim) = B``. The dims
    ``dims`` of ``A`` are first moved to the end; then ``A`` is a ``B.numel() x n`` matrix
    (``n`` the product of ``A.shape[B.ndim:]``), solved against ``B`` flattened, and ``X``
    has shape ``A.shape[B.ndim:]``."""
    op = "linalg.tensorsolve"
    a, b = tensor_arg(A, op, complex_ok=True), tensor_arg(B, op, complex_ok=True)
    if dims is not None:
        dims = [int(d) for d in dims]
        a = a.movedim(dims, list(range(a.ndim - len(dims), a.ndim)))
    out_shape = tuple(a.shape[b.ndim :])
    p, n = math.prod(a.shape[: b.ndim]), math.prod(out_shape)
    if p != n or b.numel() != p:
        raise RuntimeError(
            f"{op}: Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
            f"prod(self.shape[:other.ndim]), but got {n} != {p} (A of shape "
            f"{tuple(a.shape)}, B of shape {tuple(b.shape)})"
        )
    x = solve(torch_reshape(a, (p, n)), b.reshape(p))  # singular: PyTorch's solve's words
    return x.reshape(*out_shape)


def _lu_info(a: Tensor, op: str) -> Tensor:
    """int32 ``info`` per matrix of the square ``a``: LAPACK ``getrf``'s code (0: invertible;
    k: U[k, k] of the LU factorization is exactly zero, 1-based), read off chainrule's LU."""
    with grad_mode.no_grad():
        return lu_factor_ex(a.detach()).info


def _singular_error(op: str, info: Tensor, text: str = SINGULAR_INVERSE) -> LinAlgError:
    bad = host(info._data)  # the error's index: metadata
    return batch_failure(op, bad, bad.shape, text)


def _patch_failed(a: Tensor, info: Tensor) -> tuple[Tensor, Tensor | None]:
    """``a`` with its singular matrices replaced by the identity (so that the batch can be
    solved and differentiated), and the (..., 1, 1) mask of those matrices (None if none)."""
    failed = info._data != 0
    if not failed.any():
        return a, None
    mask = Tensor._make(failed.reshape(failed.shape + (1, 1)), False, None, 0)
    eye = get_array_module(a._data).eye(a.shape[-1], dtype=a._data.dtype)
    return where(mask, Tensor._make(eye, False, None, 0), a), mask


InvExResult = return_types.linalg_inv_ex  # torch.return_types.linalg_inv_ex


SolveExResult = return_types.linalg_solve_ex  # torch.return_types.linalg_solve_ex


@with_out("linalg.inv_ex")
@autocast_float32_op
def inv_ex(A: Tensor, *, check_errors: bool = False) -> InvExResult:
    """``(inverse, info)``: ``linalg.inv`` without raising for a singular matrix; ``info``
    (int32, one per matrix) is 0 where the matrix is invertible, else LAPACK's ``getrf``
    code. ``check_errors=True`` raises :class:`LinAlgError` instead.

    Deliberate difference: a singular matrix's inverse is all NaN (PyTorch leaves what
    LAPACK's partial inversion computed, inf/NaN, and calls it unspecified); it gets no
    gradient, the invertible matrices of the batch get theirs."""
    op = "linalg.inv_ex"
    a = check_square(A, "linalg.inv", complex_ok=True)
    info = _lu_info(a, op)
    if check_errors and np.any(info._data):
        raise _singular_error(op, info)
    patched, mask = _patch_failed(a, info)
    out = inv(patched)
    if mask is not None:
        out = where(mask, math.nan, out)
    return InvExResult(out, info)


@with_out("linalg.solve_ex")
def solve_ex(
    A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False
) -> SolveExResult:
    """``(result, info)``: ``linalg.solve`` without raising for a singular ``A``; ``info``
    (int32, shaped as ``A``'s batch) as in :func:`inv_ex`. The solutions of singular
    systems are NaN (see :func:`inv_ex`); ``check_errors=True`` raises instead."""
    op = "linalg.solve_ex"
    if isinstance(A, Tensor) and isinstance(B, Tensor) and A.dtype != B.dtype:
        raise RuntimeError(  # PyTorch promotes nothing here
            f"{op}: Expected A and B to have the same dtype, but found A of type {A.dtype} "
            f"and B of type {B.dtype}; convert one with .to({A.dtype}) (or .to({B.dtype}))"
        )
    a = check_square(A, "linalg.solve", complex_ok=True)
    info = _lu_info(a, op)
    if check_errors and np.any(info._data):
        raise _singular_error(f"torch.{op}", info, SINGULAR_SOLVE)
    patched, mask = _patch_failed(a, info)
    out = solve(patched, B, left=left)
    if mask is not None:
        b = as_tensor(B)
        if b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1])):
            mask = mask.squeeze(-1)  # B a batch of vectors: the result has one dim less
        out = where(mask, math.nan, out)
    return SolveExResult(out, info)


_NORM_ORDS = ("fro", "nuc", math.inf, -math.inf, 1, -1)


@with_out("linalg.cond", "castable")
@autocast_float32_op
def cond(A: Tensor, p: Any = None) -> Tensor:
    """``torch.linalg.cond``: the condition number of each matrix in ``A``.

    ``p`` None, 2 or -2: ``s_max / s_min`` (or its inverse) of the singular values, for any
    m x n matrix; ``'fro'``, ``'nuc'``, inf, -inf, 1, -1: ``|A|_p |A^-1|_p`` for square
    matrices, ``inf`` for a singular one (as PyTorch, which fills the inverse with inf);
    ``'nuc'`` is computed from the singular values, as PyTorch does.
    Differentiable through ``svdvals`` / ``inv`` and ``matrix_norm``."""
    op = "linalg.cond"
    valid = (
        p is None
        or (isinstance(p, str) and p in ("fro", "nuc"))
        or (isinstance(p, (int, float)) and p in (2, -2, math.inf, -math.inf, 1, -1))
    )
    if not valid:
        raise RuntimeError(f"{op} got an invalid norm type: {p}")
    if p is None or (not isinstance(p, str) and p in (2, -2)):
        a = check_float(A, op, complex_ok=True)
        s = svdvals(a)
        if s.shape[-1] == 0:
            return s.sum(-1)
        # (PyTorch's graph narrows both to width 1 and squeezes the quotient: one node more,
        # slower here, so the two selects stay)
        big, small = s[..., 0], s[..., -1]
        return small / big if p == -2 else big / small
    if p in _NORM_ORDS[2:]:  # PyTorch returns zeros for an empty batch of any shape here
        a = check_float(A, op, complex_ok=True)
        if a.numel() == 0:  # real, as every norm (a.real: the complex input's real dtype)
            return a.real.new_zeros(a.shape[:-2])
    a = check_square(A, f"{op}(ord={p})", complex_ok=True)
    if a.numel() == 0:
        return a.real.new_zeros(a.shape[:-2])
    if p == "nuc":  # as PyTorch: from the singular values, |A|_* |A^-1|_* = sum s sum 1/s
        s = svdvals(a)
        xp = get_array_module(s._data)
        with errstate(xp, divide="ignore", invalid="ignore"):  # singular: inf (or nan), quietly
            return s.sum(-1) * s.reciprocal().sum(-1)
    info = _lu_info(a, op)
    patched, mask = _patch_failed(a, info)
    out = matrix_norm(a, p) * matrix_norm(inv(patched), p)
    if mask is not None:
        out = where(mask.squeeze((-2, -1)), math.inf, out)
    return out


@with_out("linalg.householder_product", "castable")
@autocast_float32_op
def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """``torch.linalg.householder_product`` (LAPACK's ``orgqr``): the first ``n`` columns of
    ``H_1 H_2 ... H_k`` with ``H_i = I - tau_i v_i v_i^T``, where ``v_i`` is column ``i`` of
    ``A`` (m x n, m >= n >= k) below the diagonal with an implicit 1 on it. The reflectors are
    applied to ``[I_n; 0]`` from the last, each a rank-1 update ``Q - tau_i v_i (v_i^T Q)``,
    so the gradient (PyTorch's) and double backward come from matmul."""
    op = "torch.linalg.householder_product"
    a = check_float(A, op, complex_ok=True)
    t = as_tensor(tau)
    if t.ndim == 0:
        raise no_dims_error(-1)  # (tau's last dim)
    if t.ndim != a.ndim - 1:
        raise RuntimeError(
            f"{op}: Expected tau to have one dimension less than input, but got tau.ndim "
            f"equal to {t.ndim} and input.ndim is equal to {a.ndim}"
        )
    m, n, k = a.shape[-2], a.shape[-1], t.shape[-1]
    if m < n:
        raise RuntimeError(
            f"{op}: input.shape[-2] must be greater than or equal to input.shape[-1], got {m} < {n}"
        )
    if n < k:
        raise RuntimeError(
            f"{op}: input.shape[-1] must be greater than or equal to tau.shape[-1], got {n} < {k}"
        )
    if tuple(t.shape[:-1]) != tuple(a.shape[:-2]):
        raise RuntimeError(
            f"{op}: Expected batch dimensions of tau to be equal to input.shape[:-2], but "
            f"got {tuple(t.shape[:-1])} and {tuple(a.shape[:-2])}"
        )
    if t.dtype != a.dtype:
        raise RuntimeError(f"{op}: tau dtype {t.dtype} does not match input dtype {a.dtype}")
    eye = get_array_module(a._data).eye(m, n, dtype=a._data.dtype)
    eye = Tensor._make(follow(eye, a._data), False, None, 0)  # (meta a: a meta identity)
    v = a.tril(-1) + eye  # unit lower trapezoid: the reflectors' vectors
    q = eye.expand(*a.shape)
    if k == 0 and a.requires_grad:  # no reflectors: PyTorch's [I; 0] is still in A's graph
        q = where(Tensor._new(get_array_module(a._data).zeros((), dtype=bool)), a, q)
    for i in range(k - 1, -1, -1):
        vi = v[..., :, i : i + 1]
        q = q - (t[..., i : i + 1].unsqueeze(-1) * vi) @ (mH(vi) @ q)
    return q
