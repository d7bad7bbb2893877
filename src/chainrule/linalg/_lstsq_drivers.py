"""The values ``linalg.lstsq`` gets from LAPACK's drivers on PyTorch's CPU, in NumPy.

``gelsd`` / ``gelss`` (SVD): singular values above a threshold are inverted, the rest
dropped; the two drivers read ``rcond`` differently (LAPACK's rules, as PyTorch passes
``rcond`` through):

* ``gelsd``: ``rcond <= 0`` or ``rcond >= 1`` means the relative machine precision
  (``eps / 2``); the rank counts ``s > rcond * s_max``.
* ``gelss``: ``rcond < 0`` means ``eps``; the rank counts ``s > max(rcond * s_max, tiny)``
  (so ``rcond = 0`` keeps every singular value above the smallest normal number, and
  ``rcond >= 1`` keeps none).

``gelsy`` (complete orthogonal factorization: QR with column pivoting, the rank from
LAPACK's incremental condition estimate of the leading triangular block, ``rcond`` as
given): LAPACK's own ``xGELSY`` through SciPy (``scipy.linalg.lstsq(lapack_driver="gelsy")``,
an optional dependency: ``pip install scipy`` or ``chainrule[all]``), one call per matrix.
PyTorch 2.13's own result on rank-deficient input varies from call to call (observed:
pivoted on some calls, unpivoted on others), so the documented, pivoted behaviour is the
reference. Without SciPy it falls back to an SVD with the same ``rcond``: the same solution
for full-rank input; for rank-deficient input the minimum-norm solution of the
SVD-truncated problem, whose rank may differ from the condition estimate's near the
threshold.

The gradient is not these functions' concern: PyTorch differentiates ``lstsq`` as
``pinv(A) @ B`` whatever the driver (see ``norms.lstsq``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["gelsy_solve", "svd_rank_threshold"]


def _lapack_eps(dtype: Any) -> float:
    """LAPACK's relative machine precision ``xLAMCH('E')``: half of NumPy's ``eps``."""
    return float(np.finfo(dtype).eps) / 2


def svd_rank_threshold(driver: str, rcond: float, s_max: Any, dtype: Any) -> Any:
    """The threshold the singular values must exceed to count (``gelsd`` / ``gelss``)."""
    info = np.finfo(dtype)
    if driver == "gelsd":
        if rcond <= 0 or rcond >= 1:
            rcond = _lapack_eps(dtype)
        return rcond * s_max
    if rcond < 0:  # gelss
        rcond = float(info.eps)
    return np.maximum(rcond * s_max, info.tiny)


def gelsy_solve(a: np.ndarray, b: np.ndarray, rcond: float) -> tuple[np.ndarray, np.ndarray]:
    """``(solution, rank)`` of xGELSY for batches ``a`` (..., m, n) and ``b`` (..., m, k) of
    one batch shape (LAPACK through SciPy, else the SVD fallback: see the module doc)."""
    batch, (m, n), k = a.shape[:-2], a.shape[-2:], b.shape[-1]
    dtype = np.result_type(a, b)
    x = np.zeros(batch + (n, k), dtype=dtype)
    ranks = np.zeros(batch, dtype=np.int64)
    if min(m, n, k) == 0:  # LAPACK's quick return: rank 0
        return x, ranks
    try:
        from scipy.linalg import lstsq as lapack_lstsq  # noqa: PLC0415 - SciPy is optional
    except ImportError:
        return _svd_fallback(a.astype(dtype), b.astype(dtype), rcond)
    flat_x, flat_r = x.reshape((-1, n, k)), ranks.reshape(-1)
    pairs = zip(a.reshape((-1, m, n)), b.reshape((-1, m, k)))
    for i, (ai, bi) in enumerate(pairs):
        xi, _, rank, _ = lapack_lstsq(
            ai.astype(dtype),
            bi.astype(dtype),
            cond=rcond,
            lapack_driver="gelsy",
            check_finite=False,
        )
        flat_x[i], flat_r[i] = xi, rank
    return x, ranks


def _svd_fallback(a: np.ndarray, b: np.ndarray, rcond: float) -> tuple[np.ndarray, np.ndarray]:
    """gelsy without SciPy: singular values above ``rcond * s_max`` inverted, the rest
    dropped (every nonzero one kept for ``rcond < 0``)."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    thr = np.maximum(rcond, 0.0) * s.max(axis=-1, keepdims=True)
    keep = s > thr if rcond >= 0 else s > 0
    inv = np.where(keep, 1.0 / np.where(keep & (s != 0), s, 1.0), 0.0)
    x = vh.conj().mT @ (inv[..., None] * (u.conj().mT @ b))
    return x, keep.sum(-1).astype(np.int64)
