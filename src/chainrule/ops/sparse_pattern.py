"""Where a sparse COO tensor's values sit, and the array kernels that use it.

A :class:`SparsePattern` is the value-free half of a sparse COO tensor: its ``indices``
(an int64 array of shape ``(sparse_dim, nnz)``), its ``shape`` and whether it is known to be
coalesced (sorted in row-major order with no duplicate). It never changes, so everything
derived from it is computed once and cached on it: the row-major keys, the plan that sums
duplicates (:meth:`SparsePattern.coalesce_plan`), the row-sorted (CSR) layout that the
sparse-dense product reads (:meth:`SparsePattern.csr`) and the transposed pattern. A GCN
multiplies the same adjacency matrix by new features every step; with the cache each
product costs one gather of the values plus the product itself.

The kernels take raw arrays (NumPy; CuPy where noted) and a pattern: :func:`to_dense`,
:func:`gather`, :func:`segment_sum`, :func:`spmm` (SciPy's CSR product when SciPy is
importable, else a NumPy row-segment sum with ``np.add.reduceat``) and :func:`sampled_dot`.
None of them uses ``np.add.at``, which is slow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import get_array_module

__all__ = [
    "CoalescePlan",
    "SparsePattern",
    "gather",
    "sampled_dot",
    "segment_sum",
    "spmm",
    "to_dense",
]

_INT32_MAX = np.iinfo(np.int32).max


class CoalescePlan:
    """How to sum a pattern's duplicate entries: ``order`` sorts the entries by key,
    ``starts`` marks where each run of equal keys begins in that order, ``inverse[k]`` is
    the coalesced position of entry ``k`` and ``pattern`` is the coalesced pattern."""

    __slots__ = ("order", "starts", "inverse", "pattern", "identity")

    def __init__(self, order: Any, starts: Any, inverse: Any, pattern: SparsePattern) -> None:
        self.order, self.starts, self.inverse, self.pattern = order, starts, inverse, pattern
        # True when the entries are already sorted and unique: coalescing copies nothing.
        self.identity = pattern.nnz == inverse.shape[0] and bool(
            get_array_module(order).all(order == get_array_module(order).arange(order.shape[0]))
        )


class SparsePattern:
    """The indices, shape and coalesced flag of a sparse COO tensor, with cached plans.

    Attributes:
        indices: int64 array ``(sparse_dim, nnz)``, read-only.
        shape: the tensor's size, a tuple of ints.
        coalesced: True if the entries are sorted row-major with no duplicate.
    """

    __slots__ = ("indices", "shape", "coalesced", "_keys", "_plan", "_csr", "_t")

    def __init__(self, indices: Any, shape: tuple, coalesced: bool) -> None:
        if isinstance(indices, np.ndarray):
            indices.flags.writeable = False  # shared by every tensor made from this one
        self.indices = indices
        self.shape = tuple(int(n) for n in shape)
        self.coalesced = bool(coalesced)
        self._keys = self._plan = self._csr = self._t = None

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[1])

    def keys(self) -> Any:
        """Each entry's row-major position in the dense tensor (int64, shape ``(nnz,)``)."""
        if self._keys is None:
            xp = get_array_module(self.indices)
            if self.indices.shape[0] == 0 or self.nnz == 0:
                self._keys = xp.zeros(self.nnz, dtype=np.int64)
            else:
                self._keys = xp.ravel_multi_index(tuple(self.indices), self.shape)
        return self._keys

    def coalesce_plan(self) -> CoalescePlan:
        """The plan that sums duplicates and sorts the entries (computed once)."""
        if self._plan is None:
            xp = get_array_module(self.indices)
            keys = self.keys()
            order = xp.argsort(keys, kind="stable") if xp is np else xp.argsort(keys)
            sorted_keys = keys[order]
            new_run = xp.ones(keys.shape[0], dtype=bool)
            new_run[1:] = sorted_keys[1:] != sorted_keys[:-1]
            starts = xp.flatnonzero(new_run)
            inverse = xp.empty(keys.shape[0], dtype=np.int64)
            inverse[order] = xp.cumsum(new_run) - 1
            unique = self.indices[:, order[starts]]
            pattern = SparsePattern(xp.ascontiguousarray(unique), self.shape, True)
            pattern._keys = sorted_keys[starts]
            self._plan = CoalescePlan(order, starts, inverse, pattern)
        return self._plan

    def coalesced_pattern(self) -> SparsePattern:
        return self if self.coalesced else self.coalesce_plan().pattern

    def transposed(self, dim0: int = 0, dim1: int = 1) -> SparsePattern:
        """The pattern with two sparse dims swapped (the common 2-d case cached)."""
        if (dim0, dim1) in ((0, 1), (1, 0)) and self._t is not None:
            return self._t
        rows = list(range(len(self.shape)))
        rows[dim0], rows[dim1] = rows[dim1], rows[dim0]
        shape = tuple(self.shape[r] for r in rows)
        xp = get_array_module(self.indices)
        same = dim0 == dim1 or self.nnz <= 1
        out = SparsePattern(
            xp.ascontiguousarray(self.indices[rows]), shape, same and self.coalesced
        )
        if (dim0, dim1) in ((0, 1), (1, 0)) and len(self.shape) == 2:
            self._t, out._t = out, self
        return out

    def csr(self) -> tuple[Any, Any, Any]:
        """``(order, indptr, cols)`` of a 2-d pattern: entries sorted by row (stable), the
        CSR row pointers and the column of each sorted entry."""
        if self._csr is None:
            xp = get_array_module(self.indices)
            rows, cols = self.indices
            order = xp.argsort(rows, kind="stable") if xp is np else xp.argsort(rows)
            counts = xp.bincount(rows, minlength=self.shape[0])
            indptr = xp.zeros(self.shape[0] + 1, dtype=np.int64)
            xp.cumsum(counts, out=indptr[1:])
            small = self.nnz <= _INT32_MAX and self.shape[1] <= _INT32_MAX
            itype = np.int32 if small else np.int64
            self._csr = (order, indptr.astype(itype), cols[order].astype(itype))
        return self._csr


# ----------------------------------------------------------------------------- kernels
def segment_sum(values: Any, plan: CoalescePlan) -> Any:
    """Sum the entries of ``values`` (along axis 0) that share a key: the coalesced values."""
    if plan.identity:
        return values.copy()
    xp = get_array_module(values)
    n = plan.pattern.nnz
    if values.shape[0] == 0:
        return xp.zeros((n,) + values.shape[1:], dtype=values.dtype)
    if xp is np:
        # in the values' dtype: NumPy's add promotes bool and small integers to int64 (a
        # bool sum is then a logical or, as PyTorch's coalesce)
        return np.add.reduceat(values[plan.order], plan.starts, axis=0, dtype=values.dtype)
    out = xp.zeros((n,) + values.shape[1:], dtype=values.dtype)  # CuPy: atomic adds
    xp.add.at(out, plan.inverse, values)
    return out


def to_dense(values: Any, pattern: SparsePattern) -> Any:
    """The dense array of a sparse tensor (duplicates summed); a hybrid tensor's values
    (``(nnz, *rows)``) fill whole rows."""
    xp = get_array_module(values)
    rows = values.shape[1:]
    out = xp.zeros(pattern.shape + rows, dtype=values.dtype)
    if not pattern.coalesced:
        plan = pattern.coalesce_plan()
        values, pattern = segment_sum(values, plan), plan.pattern
    out.reshape((-1,) + rows)[pattern.keys()] = values
    return out


def gather(dense: Any, pattern: SparsePattern) -> Any:
    """The entries of a dense array at the pattern's positions (shape ``(nnz,)``, or
    ``(nnz, *rows)`` for a hybrid tensor's dense rows)."""
    rows = dense.shape[len(pattern.shape) :]
    return dense.reshape((-1,) + rows)[pattern.keys()]


def _scipy_sparse(xp: Any) -> Any:
    """SciPy's sparse module for NumPy arrays (CuPy's for GPU arrays), or None."""
    if xp is not np:
        import cupyx.scipy.sparse as csp  # noqa: PLC0415 - CuPy is optional

        return csp
    try:
        import scipy.sparse as sp  # noqa: PLC0415 - SciPy is optional (NumPy path below)
    except ImportError:
        return None
    return sp


def spmm(values: Any, dense: Any, pattern: SparsePattern) -> Any:
    """``A @ dense`` for the 2-d sparse matrix ``A`` of ``values`` on ``pattern``;
    ``dense`` is ``(k, n)``, the result ``(m, n)`` (duplicates sum, as in ``to_dense``)."""
    xp = get_array_module(dense)
    m, k = pattern.shape
    n = dense.shape[1]
    dtype = np.result_type(values.dtype, dense.dtype)
    if pattern.nnz == 0 or m == 0 or n == 0:
        return xp.zeros((m, n), dtype=dtype)
    order, indptr, cols = pattern.csr()
    data = values[order]
    sp = _scipy_sparse(xp)
    if sp is not None and dtype.kind in "fc":
        matrix = sp.csr_matrix((data, cols, indptr), shape=(m, k))
        return xp.asarray(matrix @ dense, dtype=dtype)
    # NumPy: each entry's product row, summed over the entries of each matrix row.
    products = data[:, None] * dense[cols]
    out = xp.zeros((m, n), dtype=dtype)
    nonempty = xp.flatnonzero(indptr[1:] > indptr[:-1])
    out[nonempty] = np.add.reduceat(products, indptr[:-1][nonempty], axis=0)
    return out


def sampled_dot(a: Any, b: Any, pattern: SparsePattern) -> Any:
    """``out[e] = a[row_e] · b[col_e]`` for each entry ``e`` of a 2-d pattern: the values
    of ``(a @ b.T)`` at the pattern's positions, without forming ``a @ b.T``."""
    rows, cols = pattern.indices
    xp = get_array_module(a)
    return xp.einsum("ij,ij->i", a[rows], b[cols])
