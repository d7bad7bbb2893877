"""The product of two sparse matrices (``s @ t``, ``mm``, ``torch.sparse.mm``), as PyTorch's.

PyTorch multiplies two sparse COO matrices into a coalesced COO matrix, and two CSR/CSC
matrices (in any mix) into a CSR matrix (each row's columns in the order PyTorch's kernel first
meets them: row ``i`` of ``a`` entry by entry, each entry's row of ``b`` in order; its CSC
results of ``torch.sparse.mm`` list them ascending); a COO operand with a compressed one is refused
(``addmm: computation on CPU is not implemented for ...``), as are block layouts. The result's
pattern is the symbolic product: an entry wherever some ``a[i, k] * b[k, j]`` is formed, kept
even when the sum cancels to zero.

The product is built from ops on the values that already have gradients: every pair of
entries ``(i, k)`` of ``a`` and ``(k, j)`` of ``b`` that meet on ``k`` is listed with integer
array arithmetic (sort ``b``'s entries by row, find each ``a`` entry's run of them), the
pair products ``a_e * b_f`` are one gather and one multiply of the values tensors, and the
entries that land on the same ``(i, j)`` are summed by coalescing. Backward and double
backward are those of gather, multiply and coalesce, and the work is the number of pairs
(the flops of the product), never a dense matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..qtypes import scalar_type_name
from . import sparse_functions as fn
from .sparse_csr import make_csr
from .sparse_nodense import unsupported
from .sparse_pattern import SparsePattern
from .sparse_tensor import SparseTensor, make_sparse
from .tensor_queries import sparse_bsc, sparse_bsr, sparse_csc, sparse_csr

__all__ = ["sparse_sparse_matmul"]

# PyTorch's C++ names of the layouts, as its addmm error prints them
_KERNEL_NAMES = {sparse_csr: "SparseCsr", sparse_csc: "SparseCsc"}


def _layout_name(t: SparseTensor) -> str:
    return _KERNEL_NAMES.get(t.layout, "Sparse")


def _check(op: str, a: SparseTensor, b: SparseTensor) -> None:
    if a.layout in (sparse_bsr, sparse_bsc) or b.layout in (sparse_bsr, sparse_bsc):
        raise unsupported(f"{op} of two sparse matrices ({a.layout} @ {b.layout})")
    if (type(a) is SparseTensor) != (type(b) is SparseTensor):
        na = _layout_name(a)
        raise RuntimeError(
            f"addmm: computation on CPU is not implemented for {na} + {na} @ {_layout_name(b)}"
        )
    for t in (a, b):
        if t.ndim != 2 or t.dense_dim():
            raise RuntimeError(
                f"{op}: a product of two sparse tensors needs 2-d matrices with no dense dims, "
                f"got sizes {tuple(a.shape)} and {tuple(b.shape)} (dense dims {a.dense_dim()} "
                f"and {b.dense_dim()})"
            )
    (m, k), (k2, n) = a.shape, b.shape
    if k != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {k2}x{n})")
    if a.dtype != b.dtype:
        da, db = (scalar_type_name(t._sp_values._data.dtype) for t in (a, b))
        if type(a) is SparseTensor:
            raise RuntimeError(f"mat1 dtype {da} does not match mat2 dtype {db}")
        raise RuntimeError(f"expected scalar type {db} but found {da}")


def _pairs(pa: SparsePattern, pb: SparsePattern) -> tuple[Any, Any]:
    """The entries ``e`` of ``a`` and ``f`` of ``b`` with ``col(e) == row(f)``, as two index
    arrays (for each ``e`` in order, its partners in ``b``'s row order)."""
    xp = get_array_module(pa.indices)
    ka, kb = pa.indices[1], pb.indices[0]
    order = xp.argsort(kb, kind="stable")
    sorted_kb = kb[order]
    starts = xp.searchsorted(sorted_kb, ka, side="left")
    counts = xp.searchsorted(sorted_kb, ka, side="right") - starts
    e = xp.repeat(xp.arange(pa.nnz), counts)
    first = xp.repeat(starts - (xp.cumsum(counts) - counts), counts)
    f = order[first + xp.arange(e.shape[0])]
    return e, f


def sparse_sparse_matmul(
    op: str, a: SparseTensor, b: SparseTensor, sparse_mm: bool = False
) -> SparseTensor:
    """``a @ b`` of two sparse matrices: COO @ COO -> coalesced COO, CSR/CSC @ CSR/CSC -> CSR
    (``torch.sparse.mm``, ``sparse_mm``: the layout of ``b``, which PyTorch's kernel cannot
    make for CSR @ CSC); differentiable in both operands' values (see the module docstring)."""
    _check(op, a, b)
    compressed = type(a) is not SparseTensor
    if sparse_mm and a.layout is sparse_csr and b.layout is sparse_csc:
        raise RuntimeError(
            "addmm: computation on CPU is not implemented for SparseCsc + SparseCsr @ SparseCsc"
        )
    a_coo = (a.to_sparse() if compressed else a).coalesce()
    b_coo = (b.to_sparse() if compressed else b).coalesce()
    pa, pb = a_coo._sp_pattern, b_coo._sp_pattern
    e, f = _pairs(pa, pb)
    xp = get_array_module(pa.indices)
    rows, cols = pa.indices[0][e], pb.indices[1][f]
    products = (
        a_coo._sp_values[Tensor._make(e, False, None, 0)]
        * b_coo._sp_values[Tensor._make(f, False, None, 0)]
    )
    indices = xp.stack([rows, cols]).astype(np.int64)
    out = make_sparse(products, SparsePattern(indices, (a.shape[0], b.shape[1]), False)).coalesce()
    if not compressed:  # PyTorch's nodes: torch.sparse.mm's own, else mm's
        node = "SparseSparseMatmulBackward0" if sparse_mm else "MmBackward0"
        return make_sparse(fn.named(out._sp_values, node), out._sp_pattern)
    node = "SparseAddmmBackward0" if sparse_mm else "MmBackward0"
    if sparse_mm and b.layout is sparse_csc:
        csc = out.to_sparse_csc()
        return csc._with_values(fn.named(csc._sp_values, node))
    # PyTorch's kernel lists each row's columns in the order it first meets them (row i of a
    # in order, each entry's row of b in order): the pairs' order, which is that walk
    keys = rows * b.shape[1] + cols
    _, first = xp.unique(keys, return_index=True)
    order = xp.argsort(first)
    pattern = out._sp_pattern
    if not bool(xp.all(order == xp.arange(order.shape[0]))):
        values = out._sp_values[Tensor._make(order, False, None, 0)]
        pattern = SparsePattern(
            xp.ascontiguousarray(pattern.indices[:, order]), pattern.shape, False
        )
        out = make_sparse(values, pattern)
    return make_csr(fn.named(out._sp_values, node), out._sp_pattern)
