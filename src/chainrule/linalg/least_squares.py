"""``linalg.lstsq``: least-squares solutions with the values of PyTorch's LAPACK drivers.

The solution, residuals, rank and singular values are what PyTorch's CPU drivers give
(``gelsy`` by default: ``_lstsq_drivers.py``; ``gels``/``gelsd``/``gelss`` from one SVD
here), checked in PyTorch's order and words; the solution's gradient is PyTorch's, that of
``pinv(A) @ B`` whatever the driver (one ``LstsqSolution`` node, ``lstsq_node.py``). Split
from ``norms.py``, which re-exports :func:`lstsq` and ``LstsqResult``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.state import LOCAL
from ..autograd.tensor import Tensor
from ..backend import get_array_module, host
from ..meta.results import refuse_meta
from ..ops._result_layout import column_major  # PyTorch's layouts
from ..ops._tensor_args import first_not_tensor
from ..qtypes import scalar_type_name
from ._common import LinAlgError, check_float, tensor_arg
from ._lstsq_drivers import gelsy_solve, svd_rank_threshold
from .lstsq_node import LstsqSolution
from .pseudo_inverse import finite_for_svd

__all__ = ["LstsqResult", "lstsq"]


LstsqResult = return_types.linalg_lstsq  # torch.return_types.linalg_lstsq


def _svd_solve(svd: tuple, b: np.ndarray, thr: Any) -> tuple[np.ndarray, np.ndarray]:
    """``V diag(1/s) U^H b`` over the singular values above ``thr`` (per matrix: (..., 1)),
    from ``svd = (u, s, vh)`` (reduced, broadcast to b's batch), and the squared norms of
    ``b``'s columns off the span of U (the residuals of a full-rank tall A, taken from b
    itself as LAPACK does, not from A x - b)."""
    u, s, vh = svd
    keep = s > thr
    inv = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    ub = u.conj().mT @ b
    off = b - u @ ub
    return vh.conj().mT @ (inv[..., None] * ub), (off.conj() * off).real.sum(-2)


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")
_LSTSQ_DTYPES = ("float32", "float64", "complex64", "complex128")  # PyTorch's kernels


def _lstsq_batches(sa: tuple, sb: tuple) -> tuple:
    """The broadcast of two batch shapes, or PyTorch's error for them, its words (its
    ``infer_size``: the last dim that differs, counted in the broadcast shape)."""
    try:
        return np.broadcast_shapes(tuple(sa), tuple(sb))
    except ValueError:
        pass
    n = max(len(sa), len(sb))
    for i in range(n - 1, -1, -1):
        x = sa[i - n + len(sa)] if i - n + len(sa) >= 0 else 1
        y = sb[i - n + len(sb)] if i - n + len(sb) >= 0 else 1
        if x != y and x != 1 and y != 1:
            break
    raise RuntimeError(
        f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
        f"dimension {i}"
    )


@autocast_float32_op
def lstsq(
    A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None
) -> LstsqResult:
    """The least-squares solution of ``A X = B`` (minimum norm when rank-deficient).

    As in PyTorch on the CPU: the default driver is ``gelsy``; ``residuals`` (squared
    residual norms) are returned for tall problems by ``gels`` and, when every matrix has
    full rank, by ``gelsd``/``gelss``; ``rank`` by all but ``gels``, ``singular_values`` by
    ``gelsd``/``gelss``; the others are empty tensors. The values are the LAPACK driver's,
    rank and ``rcond`` rules included (linalg/_lstsq_drivers.py); the solution's gradient is
    PyTorch's, that of ``pinv(A) @ B`` whatever the driver and ``rcond``. Real or complex
    ``A``, ``B`` (residuals and singular values are real).
    """
    if not isinstance(A, Tensor) or not isinstance(B, Tensor):  # PyTorch's parser: TypeError
        raise first_not_tensor("linalg_lstsq", (("input", A), ("b", B)))
    if LOCAL.state.vmap:  # inside cr.func.vmap: PyTorch's batching rule, on physical tensors
        from ..func._rules_lstsq import lstsq_batched  # noqa: PLC0415 - func imports linalg

        res = lstsq_batched(lstsq, A, B, rcond, driver)
        if res is not NotImplemented:
            return res  # (a LstsqResult of batched tensors)
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise RuntimeError(
            f"torch.linalg.lstsq: parameter `driver` should be one of {_DRIVERS}, got {driver!r}"
        )
    if isinstance(A, Tensor) and A.ndim < 2:  # PyTorch's checks, their order and words
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if isinstance(A, Tensor) and isinstance(B, Tensor) and A.dtype != B.dtype:
        raise RuntimeError(  # PyTorch promotes nothing here
            "torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
            f"input's dtype {scalar_type_name(A.dtype)} and other's dtype "
            f"{scalar_type_name(B.dtype)}"
        )
    if isinstance(A, Tensor) and A._data.dtype.name not in _LSTSQ_DTYPES:  # PyTorch's words
        raise RuntimeError("This function doesn't handle types other than float and double")
    a = check_float(A, "linalg.lstsq", complex_ok=True)
    b = tensor_arg(B, "linalg.lstsq", complex_ok=True)
    if not 0 <= a.ndim - b.ndim <= 1:
        raise RuntimeError(
            "torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
            "(input.dim() - other.dim()) <= 1"
        )
    # PyTorch reads other as a vector only when it is 1-d or input's shape without its last
    # dim; any other is a batch of matrices (one dim fewer than input: a shorter batch)
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))
    if (b.shape[-1] if vector else b.shape[-2]) != a.shape[-2]:
        raise RuntimeError(
            f"torch.linalg.lstsq: input.size(-2) should match other.size({-1 if vector else -2})"
        )
    if b.ndim == a.ndim - 1 and not vector:
        # PyTorch first broadcasts input's batch with other's shape less its last dim (the
        # batch other would have as vectors), then reads other as matrices (its batch with
        # a leading 1 here, as the solution node reads one dim fewer as vectors)
        _lstsq_batches(a.shape[:-2], b.shape[:-1])
        b = b.unsqueeze(0)
    b_given = b
    if vector:
        b = b.unsqueeze(-1)
    refuse_meta("linalg_lstsq.out", a, b)  # PyTorch has no meta kernel for it
    finite_for_svd(a._data, "linalg.lstsq")
    xp = get_array_module(a._data)
    if bool(xp.isnan(b._data).any()):  # PyTorch's LAPACK call fails on it (an internal assert)
        raise LinAlgError("linalg.lstsq: the right-hand side B contains NaN (finite or inf only)")
    real = a._data.real.dtype  # residuals and singular values are real
    m, n = a.shape[-2], a.shape[-1]
    rc = float(rcond) if rcond is not None else float(np.finfo(real).eps) * max(m, n)
    batch = _lstsq_batches(a.shape[:-2], b.shape[:-2])
    ah = host(a._data)
    ab = np.broadcast_to(ah, batch + (m, n))
    bb = np.broadcast_to(host(b._data), batch + tuple(b.shape[-2:]))
    empty = Tensor._new(xp.zeros(0, dtype=real))
    if driver == "gelsy":
        xv, rank_arr = gelsy_solve(ab, bb, rc)
        if ab.shape != ah.shape:  # the rank is A's, over A's own batch
            rank_arr = gelsy_solve(ah, np.ones(ah.shape[:-1] + (1,), ah.dtype), rc)[1]
        rank, svals = Tensor._new(xp.asarray(rank_arr)), empty
    else:  # one SVD of A (its own batch) for the rank, the values and the solution
        u, s, vh = np.linalg.svd(ah, full_matrices=False)
        svd = (
            np.broadcast_to(u, batch + u.shape[-2:]),
            np.broadcast_to(s, batch + s.shape[-1:]),
            np.broadcast_to(vh, batch + vh.shape[-2:]),
        )
        if driver == "gels":  # no rank: the least-squares solution of a full-rank A
            xv, res = _svd_solve(svd, bb, 0.0)
            rank, svals = Tensor._new(xp.zeros(0, dtype=np.int64)), empty
        else:
            smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
            thr = svd_rank_threshold(driver, rc, smax, real)
            rank_arr = (s > thr).sum(-1).astype(np.int64)
            xv, res = _svd_solve(svd, bb, np.broadcast_to(thr, batch + (1,)))
            rank, svals = Tensor._new(xp.asarray(rank_arr)), Tensor._new(xp.asarray(s))
    x = Tensor._make(
        column_major(xp.asarray(xv, np.result_type(a._data, b._data)), max(m, n)), False, None, 0
    )
    dual = a._fw_tangent is not None or b._fw_tangent is not None  # forward mode too
    xs = None
    if dual or is_grad_enabled() and (a.requires_grad or b.requires_grad):
        # PyTorch differentiates the solution as pinv(A) @ B (its default tolerance)
        # whatever the driver and rcond; the values stay the driver's: one node
        xs = LstsqSolution.apply(a, b_given, solution=x._data[..., 0] if vector else x._data)
        x = xs.unsqueeze(-1) if vector else xs
    residuals = empty
    full_rank = driver == "gels" or bool(np.all(host(rank._data) == n))  # gels: no rank
    if driver != "gelsy" and m > n and full_rank:
        residuals = Tensor._new(xp.asarray(res, dtype=real))
        if dual or x.requires_grad or b.requires_grad:  # the gradient of |A x - b|^2
            r = a @ x - b
            sq = ((r.conj() * r).real if r.dtype.kind == "c" else r * r).sum(-2)
            residuals = residuals + (sq - sq.detach())
    if vector:  # the residuals keep their trailing dim of 1, as PyTorch's
        x = x.squeeze(-1) if xs is None else xs
    return LstsqResult(x, residuals, rank, svals)
