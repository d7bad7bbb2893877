"""Conversions to and between the compressed sparse layouts (``Tensor.to_sparse_csc()``,
``to_sparse_bsr(blocksize)``, ``to_sparse_bsc(blocksize)``, ``to_sparse(layout=...)``) and
the index copies ``cr.crow_indices_copy``, ``col_indices_copy``, ``ccol_indices_copy`` and
``row_indices_copy``, as PyTorch's.

Every conversion is differentiable in the source's values (or the dense source): the new
values are read from them by an op recorded under PyTorch's node name
(``ToSparseCscBackward0``, ...). A BSR/BSC result holds every block with a specified element
(a dense source: a non-zero one), its other elements zero. PyTorch's refusals (a block layout
to CSR/CSC, a changed blocksize between block layouts) raise its errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from . import sparse_functions as fn
from ._util import dim_range_error
from .number_arguments import parser_int
from .sparse_autograd import refuse_vmap
from .sparse_batched import to_batched_compressed
from .sparse_compressed import (
    INFO,
    SparseCompressedTensor,
    compressed_from_pattern,
    compressed_transpose,
    layout_name,
)
from .sparse_compressed import transposed as _transposed
from .sparse_csr import (
    GENERAL_CONVERSION,
    SparseCsrTensor,
    carry_source,
    refuse_complex_grad,
    to_sparse_csr,
)
from .sparse_meta import refuse_dense_meta, refuse_sparse_meta
from .sparse_pattern import SparsePattern
from .sparse_tensor import SPARSE_TYPES, SparseTensor, make_sparse
from .tensor_queries import sparse_bsc, sparse_bsr, sparse_coo, sparse_csc, sparse_csr

__all__ = [
    "ccol_indices_copy",
    "col_indices_copy",
    "crow_indices_copy",
    "row_indices_copy",
    "to_compressed",
    "to_sparse_bsc",
    "to_sparse_bsr",
    "to_sparse_csc",
]

_NODE = {
    sparse_csr: "ToSparseCsrBackward0",
    sparse_csc: "ToSparseCscBackward0",
    sparse_bsr: "ToSparseBsrBackward0",
    sparse_bsc: "ToSparseBscBackward0",
}


def _blocksize(op: str, blocksize: Any, shape: tuple) -> tuple:
    """PyTorch's checks of a BSR/BSC ``blocksize`` (an int is a square block)."""
    if isinstance(blocksize, (int, np.integer)):
        blocksize = (int(blocksize), int(blocksize))
    if blocksize is None:
        raise TypeError(f"{op}() missing required argument 'blocksize' (a tuple of 2 ints)")
    block = tuple(int(b) for b in blocksize)
    if len(block) != 2:
        raise RuntimeError(f"{op}: blocksize needs to be a tuple of size 2, but got {len(block)}")
    if min(block) <= 0:
        raise RuntimeError(f"{op}: blocksize needs to be positive, but got {list(block)}")
    if shape[0] % block[0] or shape[1] % block[1]:
        raise RuntimeError(
            f"{op}: tensor sparse size ({shape[0]},{shape[1]}) must be divisible by given "
            f"blocksize ({block[0]},{block[1]})"
        )
    return block


def _check_matrix(op: str, self: Tensor, blocked: bool) -> None:
    if self.ndim < 2:
        wanted = -2 if blocked else 1
        raise dim_range_error(wanted, max(self.ndim, 1))


def _matrix_size(self: Tensor, dense_dim: Any) -> tuple:
    """The size of the matrices a tensor converts to (its sparse dims, batches aside)."""
    if type(self) in SPARSE_TYPES:
        return tuple(self.shape[: self.sparse_dim()])[-2:]
    dd = 0 if dense_dim is None else int(dense_dim)
    return tuple(self.shape)[: self.ndim - dd][-2:] if 0 <= dd <= self.ndim - 2 else (1, 1)


def to_compressed(
    self: Tensor, layout: Any, blocksize: Any = None, dense_dim: Any = None, node: Any = None
) -> SparseCsrTensor:
    """``self`` (dense, COO or compressed) as a 2-d matrix of a compressed ``layout``."""
    name, _, _, _, blocked = INFO[layout]
    target = layout._name[7:]
    src = type(self) in SPARSE_TYPES
    source = "sparse_compressed" if src and self.layout is not sparse_coo else "dense"
    op = f"{source}_to_sparse_{target}"
    if type(self) is SparseTensor:
        op = f"to_sparse_{target}"
    refuse_sparse_meta(f"_to_sparse_{target}", self)
    refuse_dense_meta(f"_to_sparse_{target}", self)
    if not src:  # (torch: no forward formula; session 47)
        refuse_vmap(target.upper(), self)
    if type(self) is SparseTensor and dense_dim is None and self.sparse_dim() != 2:
        raise RuntimeError(  # before the matrix and blocksize checks, as PyTorch
            f"coo_to_sparse_{target}: conversion from Sparse to {name} for input tensors with "
            "sparse_dim()!=2 is not supported"
        )
    _check_matrix(op, self, blocked)
    block = _blocksize(op, blocksize, _matrix_size(self, dense_dim)) if blocked else (1, 1)
    node = node or _NODE[layout]
    if src and dense_dim is not None:  # PyTorch's error
        return to_batched_compressed(self, layout, block, dense_dim, op, node)
    if src and self.layout in INFO:
        if self.layout is layout and getattr(self, "_sc_block", (1, 1)) == block:
            return self
        src_blocked = INFO[self.layout][4]
        if src_blocked and not blocked:
            raise RuntimeError(
                f"sparse_compressed_to_sparse_{target}: expected SparseCsr or SparseCsc layout "
                f"but got {layout_name(self)}"
            )
        if src_blocked and self._sc_block != block:
            where = f"to_sparse_{target}" if self.layout is layout else op
            raise RuntimeError(
                f"{where}: conversion from {layout_name(self)} to {name} with blocksize changed "
                f"from {list(self._sc_block)} to {list(block)} is not supported"
            )
    if not src:
        refuse_complex_grad(
            self, "_to_sparse" if node == "ToSparseBackward1" else f"_to_sparse_{target}"
        )
    if self.ndim != 2 or dense_dim not in (None, 0):  # batched or hybrid
        return to_batched_compressed(self, layout, block, dense_dim, op, node)
    if not src:
        arr = self._data
        xp = get_array_module(arr)
        indices = xp.ascontiguousarray(xp.stack(xp.nonzero(arr)).astype(np.int64, copy=False))
        pattern = SparsePattern(indices, tuple(arr.shape), True)
        values = fn.SparseGather.apply(self, pattern) if block == (1, 1) else None
        out = compressed_from_pattern(
            values, pattern, layout, block, np.int64, node, self if values is None else None
        )  # fmt: skip
        return carry_source(out, self)
    coo = make_sparse(self._sp_values, self._sp_pattern).coalesce()
    index_dtype = getattr(self, "_csr_index_dtype", np.int64)
    out = compressed_from_pattern(coo._sp_values, coo._sp_pattern, layout, block, index_dtype, node)
    return carry_source(out, self._sp_source)


def to_sparse_csc(self: Tensor, dense_dim: int | None = None) -> SparseCsrTensor:
    """``Tensor.to_sparse_csc()``: the matrix's non-zero elements (a sparse tensor's
    entries) as a CSC matrix, differentiable in them."""
    if dense_dim is not None and type(dense_dim) is not int:  # PyTorch's parser: an int
        dense_dim = parser_int("to_sparse_csc", "dense_dim", 2, dense_dim)
    return to_compressed(self, sparse_csc, None, dense_dim)


def to_sparse_bsr(self: Tensor, blocksize: Any, dense_dim: int | None = None) -> SparseCsrTensor:
    """``Tensor.to_sparse_bsr(blocksize)``: the blocks holding a non-zero element (a
    specified entry) as a BSR matrix, differentiable in the source."""
    if dense_dim is not None and type(dense_dim) is not int:  # PyTorch's parser: an int
        dense_dim = parser_int("to_sparse_bsr", "dense_dim", 3, dense_dim)
    return to_compressed(self, sparse_bsr, blocksize, dense_dim)


def to_sparse_bsc(self: Tensor, blocksize: Any, dense_dim: int | None = None) -> SparseCsrTensor:
    """``Tensor.to_sparse_bsc(blocksize)``: as :func:`to_sparse_bsr`, blocks by columns."""
    if dense_dim is not None and type(dense_dim) is not int:  # PyTorch's parser: an int
        dense_dim = parser_int("to_sparse_bsc", "dense_dim", 3, dense_dim)
    return to_compressed(self, sparse_bsc, blocksize, dense_dim)


def to_sparse_layout(
    self: Tensor, layout: Any, blocksize: Any, dense_dim: Any, node: str
) -> SparseCsrTensor:
    """``to_sparse(layout=..., blocksize=...)`` to a compressed layout (PyTorch's checks)."""
    blocked = INFO[layout][4]
    source = layout_name(self)
    op = {"Strided": "dense_to_sparse", "Sparse": "sparse_coo_to_sparse"}.get(
        source, "sparse_compressed_to_sparse"
    )
    if getattr(self, "layout", None) is layout:
        op = "to_sparse"
    if blocked != (blocksize is not None):
        raise RuntimeError(
            f"{op}: conversion from {source} to {INFO[layout][0]} "
            f"{'without' if blocked else 'with'} blocksize argument given is not supported"
        )
    if layout is sparse_csr and type(self) not in SPARSE_TYPES:
        return to_sparse_csr(self, dense_dim)
    return to_compressed(self, layout, blocksize, dense_dim, node)


# --------------------------------------------------------------------- the index copies
def _copy(name: str) -> Any:
    kind = "row" if name in ("crow_indices", "col_indices") else "column"

    def copy(input: Any) -> Tensor:  # noqa: A002 - PyTorch's parameter name
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{name}_copy(): argument 'input' (position 1) must be Tensor, not "
                f"{type(input).__name__}"
            )
        if input.layout not in INFO:
            raise RuntimeError(
                f"{name} expected sparse {kind} compressed tensor layout but got "
                f"{layout_name(input)}"
            )
        out = getattr(input, name)()
        return Tensor._make(out._data.copy(), False, None, 0)

    copy.__name__ = copy.__qualname__ = f"{name}_copy"
    copy.__doc__ = (
        f"``torch.{name}_copy(input)``: a copy of a compressed matrix's ``{name}()`` (PyTorch's "
        "error for another layout)."
    )
    return copy


crow_indices_copy = _copy("crow_indices")
col_indices_copy = _copy("col_indices")
ccol_indices_copy = _copy("ccol_indices")
row_indices_copy = _copy("row_indices")


# --------------------------------------------------------------------- the sparse methods
def _compressed_to_sparse(
    self: SparseCsrTensor, *args: Any, layout: Any = None, blocksize: Any = None, **kwargs: Any
) -> Any:
    """``to_sparse(...)`` of a compressed matrix: COO by default, or another layout."""
    if layout in INFO:
        if args or kwargs:
            raise NotImplementedError(f"to_sparse(layout={layout!r}): {args}, {kwargs}")
        return to_sparse_layout(self, layout, blocksize, None, "ToSparseBackward1")
    if blocksize is not None:
        raise RuntimeError(
            f"sparse_compressed_to_sparse: conversion from {layout_name(self)} to Sparse with "
            "blocksize argument given is not supported"
        )
    if args and args[0] != 2:
        raise RuntimeError(
            f"sparse_compressed_to_sparse: conversion from {layout_name(self)} to Sparse with "
            "sparse_dim argument !=2 is not supported"
        )
    if layout not in (None, sparse_coo) or kwargs:
        raise NotImplementedError(f"to_sparse: layout={layout!r}, {kwargs}")
    return SparseCsrTensor.to_sparse_coo(self)


def _csr_to_sparse_csr(self: SparseCsrTensor, dense_dim: Any = None) -> SparseCsrTensor:
    if self.layout is sparse_csr and dense_dim is None:
        return self
    return to_compressed(self, sparse_csr, None, dense_dim)


def _coo_to_sparse(self: SparseTensor, *args: Any, layout: Any = None, **kwargs: Any) -> Any:
    if layout in INFO:
        return to_sparse_layout(
            self, layout, kwargs.pop("blocksize", None), None, "ToSparseBackward1"
        )
    return _COO_TO_SPARSE(self, *args, **({"layout": layout} if layout else {}), **kwargs)


def _bind() -> None:
    for cls in (SparseTensor, SparseCsrTensor, SparseCompressedTensor):
        cls.to_sparse_csc = to_sparse_csc
        cls.to_sparse_bsr = to_sparse_bsr
        cls.to_sparse_bsc = to_sparse_bsc
    for cls in (SparseCsrTensor, SparseCompressedTensor):
        cls.to_sparse = _compressed_to_sparse
        cls.to_sparse_csr = _csr_to_sparse_csr
    SparseTensor.to_sparse = _coo_to_sparse
    SparseCsrTensor.t = lambda self: _transposed(self, "TBackward0")
    SparseCsrTensor.transpose = compressed_transpose  # PyTorch's checks of the dims


_COO_TO_SPARSE = SparseTensor.to_sparse
_bind()
GENERAL_CONVERSION["to_compressed"] = to_compressed
