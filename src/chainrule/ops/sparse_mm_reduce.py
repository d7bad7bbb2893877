"""``torch.sparse.mm(csr, dense, reduce)``: a product whose rows reduce their terms with
``reduce`` instead of summing them (PyTorch's ``_sparse_mm_reduce_impl``, session 46).

For the CSR matrix ``A`` (entries ``v_e`` at ``(row_e, col_e)``) and a dense ``D``::

    out[i, j] = reduce over the entries e of row i of  v_e * D[col_e, j]

``reduce``: ``"sum"``, ``"mean"`` (the sum over the row's number of entries), ``"amax"`` /
``"amin"`` (``"max"``/``"min"`` are read as these, as PyTorch reads them); a row without
entries gives 0. Derivative: a term's gradient is the output's (``/ count`` for ``"mean"``;
for ``"amax"``/``"amin"`` only the terms equal to the row's extreme get it), so
``dv_e = sum_j g'[row_e, j] D[col_e, j]`` and ``dD[col_e] += g'[row_e] v_e``, written with
Tensor ops (a second derivative is recorded). Shown as PyTorch's ``SparseMmReduceImplBackward0``
of ``(values, dense)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..qtypes import scalar_type_name
from .sparse_nodense import dispatcher_error
from .sparse_tensor import SPARSE_TYPES, SparseTensor

__all__ = ["SparseMmReduce", "mm_reduce"]

_READS = {
    "sum": "sum",
    "mean": "mean",
    "amax": "amax",
    "amin": "amin",
    "max": "amax",
    "min": "amin",
}


class SparseMmReduce(Function):
    """The reduced product of the CSR matrix of ``values`` on ``pattern`` and ``dense``
    (see the module doc)."""

    raw = True
    node_name = ("SparseMmReduceImplBackward0", (0, 1))

    @staticmethod
    def forward(ctx, values, dense, pattern, reduce):
        xp = get_array_module(values)
        rows, cols = pattern.indices[0], pattern.indices[1]
        m, n = pattern.shape[0], dense.shape[1]
        terms = values[:, None] * dense[cols]
        count = xp.bincount(rows, minlength=m).astype(terms.dtype)
        if reduce in ("sum", "mean"):
            out = xp.zeros((m, n), terms.dtype)
            xp.add.at(out, rows, terms)
            if reduce == "mean":
                out = out / xp.maximum(count, 1)[:, None]
            mask = None
        else:
            fill = -xp.inf if reduce == "amax" else xp.inf
            out = xp.full((m, n), fill, terms.dtype)
            (xp.maximum if reduce == "amax" else xp.minimum).at(out, rows, terms)
            out[count == 0] = 0
            mask = (terms == out[rows]).astype(terms.dtype)
        scale = 1 / xp.maximum(count, 1) if reduce == "mean" else None
        ctx.save_for_backward(values, dense, mask, scale)
        ctx.pattern = pattern
        return out

    @staticmethod
    def backward(ctx, grad):
        values, dense, mask, scale = ctx.saved_tensors
        needs = ctx.needs_input_grad
        indices = ctx.pattern.indices
        rows = Tensor._make(indices[0], False, None, 0)
        cols = Tensor._make(indices[1], False, None, 0)
        if scale is not None:
            grad = grad * scale.unsqueeze(1)
        per_term = grad.index_select(0, rows)
        if mask is not None:
            per_term = per_term * mask
        gv = gd = None
        if needs[0]:
            gv = (per_term * dense.index_select(0, cols)).sum(1)
        if needs[1]:
            gd = dense.new_zeros(tuple(dense.shape)).index_add(0, cols, per_term * values[:, None])
        return gv, gd, None, None


def mm_reduce(mat1: Any, mat2: Any, reduce: Any) -> Tensor:
    """``torch.sparse.mm(mat1, mat2, reduce)`` for a 2-d CSR ``mat1`` and a dense ``mat2``,
    after PyTorch's checks (its words)."""
    if not isinstance(mat1, SparseTensor):
        raise dispatcher_error("_sparse_mm_reduce_impl", "CPU")
    if type(mat1) is SparseTensor:
        raise dispatcher_error("_sparse_mm_reduce_impl", "SparseCPU")
    name = str(mat1.layout)[13:].capitalize()
    if name != "Csr":
        raise RuntimeError(f"sparse_mm_reduce: expect self to be SparseCsr, got Sparse{name}")
    op = _READS.get(reduce) if isinstance(reduce, str) else None
    if op is None:
        if reduce == "prod":
            raise RuntimeError("sparse_mm_reduce: reduce type of prod has not been enabled.")
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    if not isinstance(mat2, Tensor) or type(mat2) in SPARSE_TYPES:
        raise TypeError(f"sparse.mm: expected a dense Tensor mat2, got {type(mat2).__name__}")
    if mat2.dtype != mat1.dtype:
        raise RuntimeError(
            "Expected tensor for argument #1 'other' to have scalar type "
            f"{scalar_type_name(mat1.dtype)}; but got {mat2.type()} instead (while checking "
            "arguments for sparse_mm_reduce)"
        )
    k = mat1.shape[1]
    if mat2.ndim != 2 or mat2.shape[0] != k:
        raise RuntimeError(
            f"Expected a tensor of dimension 2 and tensor.size[0] == {k} but got: dimension "
            f"{mat2.ndim} and tensor.size[0] = {mat2.shape[0]}"
        )
    if np.dtype(mat1._sp_values._data.dtype).kind not in "f":
        raise NotImplementedError(
            f"\"spmm_reduce_kernel\" not implemented for '{scalar_type_name(mat1.dtype)}'"
        )
    return SparseMmReduce.apply(mat1._sp_values, mat2, mat1._sp_pattern, op)
