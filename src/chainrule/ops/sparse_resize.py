"""``sparse_resize_`` and ``sparse_resize_and_clear_`` of sparse COO tensors (PyTorch's).

``s.sparse_resize_(size, sparse_dim, dense_dim)`` changes a COO tensor's size in place. An
empty tensor (no entries) takes any size and split into sparse and dense dims; one with
entries keeps its number of sparse and dense dims and may only grow (PyTorch's errors,
word for word, otherwise). Growing a dense dim of a tensor with entries keeps the values'
elements in row-major order, as PyTorch's ``resize_`` of the values does; the elements it
adds are zeros (PyTorch leaves them uninitialised). ``sparse_resize_and_clear_`` drops the
entries first, so any size is accepted.

``resize_``/``resize_as_`` of a 2-d CSR matrix (PyTorch's ``resize_sparse_csr_``, session 45)
keep its entries: more rows or columns add empty ones; fewer rows keep the first
``min(nnz, rows * cols)`` entries and give the last row every entry past its start (PyTorch
sets the last offset to that count). Fewer columns are refused with PyTorch's error. Where
the kept entries would leave a row's columns unsorted or repeated (an invalid tensor, which
PyTorch builds), chainrule refuses; the other compressed layouts and batched or hybrid CSR
tensors (where PyTorch resizes the index arrays as a CSR matrix's, giving an invalid tensor)
raise NotImplementedError after PyTorch's checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .memory_format import contiguous_format, preserve_format
from .sparse_csr import SparseCsrTensor, make_csr
from .sparse_inplace import move_into
from .sparse_nodense import dispatcher_error, unsupported
from .sparse_pattern import SparsePattern
from .sparse_tensor import SPARSE_TYPES, SparseTensor, make_sparse

__all__ = ["resize_", "resize_as_", "resized", "sparse_resize_", "sparse_resize_and_clear_"]

_ADVICE = (
    " on a non-empty sparse tensor is not supported.\nYou could try the following options:\n"
    "1. If you need an empty sparse tensor of this size, call `x = torch.sparse_coo_tensor("
    "size)`.\n2. If you need to resize this tensor, you have the following options:\n    1. For "
    "both sparse and dense dimensions, keep the number of them constant and the size of them "
    "non-shrinking, and then try the same call again.\n    2. Or, create a new sparse tensor "
    "with the correct indices and values from this sparse tensor."
)


def _checked(size: Sequence[int], sparse_dim: int, dense_dim: int) -> tuple[int, ...]:
    size = tuple(int(n) for n in size)
    if len(size) != sparse_dim + dense_dim:
        raise RuntimeError(
            f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(size)}, "
            f"sparse_dim = {sparse_dim}, dense_dim = {dense_dim}"
        )
    if any(n < 0 for n in size):
        raise RuntimeError(f"sparse_resize_: negative size in {list(size)}")
    return size


def _empty(self: SparseTensor, size: tuple, sparse_dim: int) -> SparseTensor:
    xp = get_array_module(self._sp_pattern.indices)
    values = self._sp_values
    rows = xp.zeros((0, *size[sparse_dim:]), dtype=values._data.dtype)
    indices = xp.zeros((sparse_dim, 0), dtype=np.int64)
    empty = Tensor._make(rows, False, None, 0)
    return make_sparse(empty, SparsePattern(indices, size[:sparse_dim], True))


def sparse_resize_(
    self: SparseTensor, size: Sequence[int], sparse_dim: int, dense_dim: int
) -> SparseTensor:
    """Resize a sparse COO tensor in place (see the module docstring for PyTorch's rules)."""
    return move_into(self, resized(self, size, sparse_dim, dense_dim))


def resized(
    self: SparseTensor, size: Sequence[int], sparse_dim: int, dense_dim: int
) -> SparseTensor:
    """The tensor ``sparse_resize_`` would make of ``self`` (raising its errors)."""
    size = _checked(size, sparse_dim, dense_dim)
    if self._nnz() == 0:
        return _empty(self, size, sparse_dim)
    old_sd, old_dd = self.sparse_dim(), self.dense_dim()
    if sparse_dim != old_sd:
        raise RuntimeError(
            f"changing the number of sparse dimensions (from {old_sd} to {sparse_dim})" + _ADVICE
        )
    if dense_dim != old_dd:
        raise RuntimeError(
            f"changing the number of dense dimensions (from {old_dd} to {dense_dim})" + _ADVICE
        )
    for kind, old, new in (
        ("sparse", self.shape[:old_sd], size[:sparse_dim]),
        ("dense", self.shape[old_sd:], size[sparse_dim:]),
    ):
        if any(b < a for a, b in zip(old, new)):
            raise RuntimeError(
                f"shrinking the size of {kind} dimensions (from {list(old)} to {list(new)})"
                + _ADVICE
            )
    pattern, values = self._sp_pattern, self._sp_values
    if size[sparse_dim:] != tuple(values.shape[1:]):  # row-major elements kept, zeros added
        xp = get_array_module(values._data)
        flat = xp.zeros(values.shape[0] * int(np.prod(size[sparse_dim:])), values._data.dtype)
        flat[: values._data.size] = values._data.reshape(-1)
        values = Tensor._make(flat.reshape((values.shape[0], *size[sparse_dim:])), False, None, 0)
    return make_sparse(values, SparsePattern(pattern.indices, size[:sparse_dim], pattern.coalesced))


def sparse_resize_and_clear_(
    self: SparseTensor, size: Sequence[int], sparse_dim: int, dense_dim: int
) -> SparseTensor:
    """Drop every entry of a sparse COO tensor, then give it ``size`` (any split)."""
    size = _checked(size, sparse_dim, dense_dim)
    return move_into(self, _empty(self, size, sparse_dim))


def _compressed_resized(self: SparseCsrTensor, size: tuple) -> SparseCsrTensor:
    """The CSR matrix ``resize_(size)`` makes of ``self`` (PyTorch's
    ``SparseCsrTensorImpl::resize_``; see the module docstring)."""
    if len(size) < 2:
        raise RuntimeError(
            f"torch.resize_: Only batched sparse CSR matrices are supported, but got size "
            f"{list(size)}"
        )
    if any(n < 0 for n in size):
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {min(size)}: {list(size)}"
        )
    if size[-1] < self.shape[-1]:
        raise RuntimeError(
            "torch.resize_: Resizing columns of sparse CSR tensors to a smaller value is not "
            f"supported. The original number of columns is {self.shape[-1]} while the "
            f"requested new number of columns is {size[-1]}."
        )
    if type(self) is not SparseCsrTensor or len(size) != 2:
        raise NotImplementedError(
            f"resize_ of a {self.layout} tensor to size {list(size)}: chainrule resizes 2-d "
            "CSR matrices only (PyTorch resizes the index arrays as a 2-d CSR matrix's, which "
            "gives an invalid tensor here)"
        )
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    rows, cols = size
    pattern, values = self._sp_pattern, self._sp_values
    indices = pattern.indices
    if rows < self.shape[0]:  # the first min(nnz, rows * cols) entries; the rest in the last row
        kept = min(indices.shape[1], rows * cols)
        indices = indices[:, :kept].copy()
        indices[0] = indices[0].clip(max=max(rows - 1, 0))
        keys = indices[0] * cols + indices[1]
        if kept and bool((keys[1:] <= keys[:-1]).any()):
            raise NotImplementedError(
                f"resize_ of a CSR matrix to {rows} rows: its last row would hold unsorted or "
                "repeated columns (PyTorch builds that invalid tensor; chainrule does not)"
            )
        values = values.detach()[:kept]
    out = make_csr(values, SparsePattern(indices, (rows, cols), True), self._csr_index_dtype)
    return out


def resize_(self: SparseTensor, *size: Any, memory_format: object = None) -> Any:
    """``s.resize_(*size)``: a CSR matrix resized in place (PyTorch's ``resize_sparse_csr_``);
    a COO tensor: PyTorch's dispatcher error (use ``sparse_resize_``)."""
    if memory_format not in (None, contiguous_format, preserve_format):
        raise NotImplementedError(
            f"resize_ of a sparse tensor: memory_format={memory_format} is not supported "
            "(PyTorch ignores it for the compressed layouts)"
        )
    if type(self) is SparseTensor:
        raise dispatcher_error("resize_", "SparseCPU")
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return move_into(self, _compressed_resized(self, tuple(int(n) for n in size)))


def resize_as_(self: SparseTensor, the_template: Tensor, *, memory_format: object = None) -> Any:
    """``s.resize_as_(other)`` of a COO tensor: :func:`sparse_resize_` to a sparse COO
    ``other``'s size and sparse/dense dims (PyTorch's ``resize_as_sparse_``); otherwise
    ``s.resize_(other.shape)`` as PyTorch: a CSR matrix resized, a COO one its dispatcher
    error (no SparseCPU ``resize_``)."""
    if memory_format is not None:
        raise NotImplementedError("resize_as_ of a sparse tensor: memory_format is not supported")
    if type(self) is SparseTensor and type(the_template) is SparseTensor:
        return sparse_resize_(
            self, the_template.shape, the_template.sparse_dim(), the_template.dense_dim()
        )
    if type(self) is SparseTensor:
        raise dispatcher_error("resize_", "SparseCPU")
    if type(the_template) not in SPARSE_TYPES and not isinstance(the_template, Tensor):
        raise unsupported(f"resize_as_ of a {self.layout} tensor to a {type(the_template)}")
    return resize_(self, tuple(the_template.shape))


SparseTensor.sparse_resize_ = sparse_resize_
SparseTensor.sparse_resize_and_clear_ = sparse_resize_and_clear_
SparseTensor.resize_as_ = resize_as_
SparseTensor.resize_ = resize_
