"""Batched and hybrid compressed sparse tensors: the conversions that make them and the ops
PyTorch runs on them.

A batched compressed tensor (``dense.to_sparse_csr()`` of a 3-d or larger ``dense``) holds one
compressed matrix per batch, each with the same number of specified elements (or blocks);
a hybrid one (``to_sparse_csr(dense_dim=k)``) holds a dense ``k``-d slab per element, which
is specified when any number of its slab is non-zero. Both are kept as
:class:`~.sparse_compressed.SparseCompressedTensor`: the element pattern has the batch dims as
leading sparse dims and its flat values keep the dense dims.
:func:`~.sparse_compressed.compressed_from_pattern` builds one from a coalesced COO pattern of
(batch, row, column) entries, which a dense tensor's non-zero elements, a hybrid COO tensor or
another compressed tensor provide, differentiably in the source (PyTorch's node names).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from . import sparse_functions as fn
from .sparse_compressed import INFO, _build, compressed_from_pattern, layout_name
from .sparse_csr import SparseCsrTensor
from .sparse_pattern import SparsePattern
from .sparse_tensor import SPARSE_TYPES, make_sparse
from .tensor_queries import sparse_bsc, sparse_bsr, sparse_coo

__all__ = ["is_batched_or_hybrid", "refuse_compressed_bmm", "select_batch", "to_batched_compressed"]


def is_batched_or_hybrid(t: Any) -> bool:
    """Whether a compressed tensor has batch or dense dims (it is not a plain matrix)."""
    return t.ndim != 2


def _dense_dim(op: str, self: Tensor, dense_dim: Any) -> int:
    """``dense_dim`` checked against PyTorch's range ``[0, ndim - 2]``."""
    top = self.ndim - 2
    if dense_dim is None:
        return 0
    if not 0 <= int(dense_dim) <= top:
        raise RuntimeError(
            f"{op}: dense_dim argument must be in [0,{top}] range, but {dense_dim} is given"
        )
    return int(dense_dim)


def to_batched_compressed(
    self: Tensor, layout: Any, block: tuple, dense_dim: Any, op: str, node: str
) -> SparseCsrTensor:
    """``self`` (dense, hybrid COO, or compressed) as a batched and/or hybrid tensor of
    ``layout`` (the blocksize checked by the caller), with PyTorch's refusals."""
    target = layout._name[7:]
    if type(self) not in SPARSE_TYPES:
        dd = _dense_dim(op, self, dense_dim)
        arr = self._data
        xp = get_array_module(arr)
        sparse_shape = tuple(arr.shape[: arr.ndim - dd])
        mask = arr != 0
        if dd:
            mask = mask.reshape(sparse_shape + (-1,)).any(axis=-1)
        indices = xp.ascontiguousarray(xp.stack(xp.nonzero(mask)).astype(np.int64, copy=False))
        pattern = SparsePattern(indices.reshape(len(sparse_shape), -1), sparse_shape, True)
        return compressed_from_pattern(None, pattern, layout, block, np.int64, node, dense=self)
    if dense_dim is not None:
        prefix = "coo" if self.layout is sparse_coo else "sparse_compressed"
        if self.layout is layout:
            prefix = ""
        raise RuntimeError(
            f"{prefix + '_' if prefix else ''}to_sparse_{target}: conversion from "
            f"{layout_name(self)} to {INFO[layout][0]} with dense_dim argument given is not "
            "supported"
        )
    if self.layout is sparse_coo:
        if self.sparse_dim() != 2:
            raise RuntimeError(
                f"coo_to_sparse_{target}: conversion from Sparse to {INFO[layout][0]} for input "
                "tensors with sparse_dim()!=2 is not supported"
            )
        coo, index_dtype = self.coalesce(), np.int64
    else:
        if len(self._sp_pattern.shape) > 2 and INFO[layout][4] > INFO[self.layout][4]:
            raise RuntimeError(
                f"sparse_compressed_to_sparse_{target}: conversion from {layout_name(self)} to "
                f"{INFO[layout][0]} for batched inputs is not supported"
            )
        coo = make_sparse(self._sp_values, self._sp_pattern).coalesce()
        index_dtype = self._sc_compressed.dtype
    values, pattern = coo._sp_values, coo._sp_pattern
    return compressed_from_pattern(values, pattern, layout, block, index_dtype, node)


def select_batch(self: Any, dim: int, index: int) -> Any:
    """``select`` along a batch dim of a batched compressed tensor: that batch's tensor (of
    the same layout); PyTorch refuses a sparse dim of a batched tensor."""
    shape = self._sp_pattern.shape
    nb = len(shape) - 2
    if dim >= nb:
        if dim < nb + 2:
            raise RuntimeError(
                "select(): selecting sparse dimensions is not supported for batched sparse "
                "compressed tensors."
            )
        raise NotImplementedError(
            f"select of a dense dim of a batched sparse {layout_name(self)} tensor; call "
            ".to_dense() first"
        )
    size = shape[dim]
    if not -size <= index < size:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
            f"dimension {dim}"
        )
    i = int(index) % size
    xp = get_array_module(self._sc_compressed)
    compressed = xp.take(self._sc_compressed, i, axis=dim)
    plain = xp.take(self._sc_plain, i, axis=dim)
    values = self._sp_values
    keep = xp.nonzero(self._sp_pattern.indices[dim] == i)[0]
    picked = fn.named(values[Tensor._make(keep, False, None, 0)], "SelectBackward0")
    new_shape = shape[:dim] + shape[dim + 1 :]
    return _build(self._sc_layout, compressed, plain, picked, new_shape, self._sc_block)


_NON_BLOCK = "sparse compressed (non-block) tensor layout"


def refuse_compressed_bmm(input: Any, mat2: Any) -> None:  # noqa: A002 - PyTorch's name
    """``bmm`` with a compressed operand: PyTorch's size errors, then its missing kernel's."""
    for name, t in (("batch1", input), ("batch2", mat2)):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    want, got = [input.shape[0], input.shape[2]], [mat2.shape[0], mat2.shape[1]]
    if want != got:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: {want} but got: {got}."
        )
    if input.layout not in INFO and mat2.layout in (sparse_bsr, sparse_bsc):
        got = "SparseBsr" if mat2.layout is sparse_bsr else "SparseBsc"
        raise RuntimeError(f"empty_sparse_compressed expected {_NON_BLOCK} but got {got}")
    raise NotImplementedError(
        "Could not run 'aten::bmm.out' with arguments from the 'SparseCsrCPU' backend (PyTorch "
        "has no CPU kernel of a batched compressed product); use .to_dense()"
    )
