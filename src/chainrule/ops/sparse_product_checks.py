"""The operand checks of the sparse products (``mm``, ``@``, ``spmm``, ``torch.sparse.mm``,
``bmm``): which operands a product takes (a 2-d sparse matrix without dense dims, a dense
matrix or vector), one dtype and one device for both, and PyTorch's first line for
operands whose sizes do not fit, each followed by chainrule's detail."""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..qtypes import scalar_type_name
from ._raw_checks import RankError
from .sparse_nodense import unsupported
from .sparse_tensor import SparseTensor
from .tensor_queries import sparse_bsc, sparse_bsr, sparse_csc, sparse_csr

__all__ = ["COMPRESSED", "check_dtype_device", "check_operands", "mismatch_words"]

COMPRESSED = (sparse_csr, sparse_csc, sparse_bsr, sparse_bsc)


def check_operands(op: str, sparse: SparseTensor, dense: Any, vector: bool = False) -> None:
    """``vector``: a 1-d sparse operand (no dense dims) is allowed, as ``matmul`` allows it."""
    if isinstance(dense, SparseTensor):
        raise unsupported(f"{op} of two sparse tensors (sparse @ sparse)")
    if not isinstance(dense, Tensor):
        raise TypeError(f"{op}: expected a dense Tensor operand, got {type(dense).__name__}")
    if sparse.dense_dim() > 0:  # PyTorch's kernels refuse hybrid operands too
        raise RuntimeError(
            f"{op}: the sparse operand must have no dense dims, got a hybrid sparse tensor "
            f"of {sparse.sparse_dim()} sparse and {sparse.dense_dim()} dense dims (size "
            f"{tuple(sparse.shape)}); use .to_dense() first"
        )
    is_vector = sparse.ndim == 1 and sparse.sparse_dim() == 1
    if sparse.sparse_dim() != 2 and not (vector and is_vector):
        # too few dimensions: PyTorch's IndexError, too many: its RuntimeError; RankError
        # is both
        error = RankError if sparse.sparse_dim() < 2 else RuntimeError
        raise error(
            f"{op}: the sparse operand must be a 2-d matrix, got a {sparse.sparse_dim()}-d "
            f"sparse tensor of size {tuple(sparse.shape)}"
        )
    check_dtype_device(op, sparse, dense)


def check_dtype_device(op: str, sparse: SparseTensor, dense: Tensor) -> None:
    """PyTorch's product kernels take one dtype and one device for both operands (and its
    CSR kernels only floating and complex ones, its COO kernels no bool one: refused, as
    PyTorch's, when the sparse operand stores elements)."""
    kind = sparse._sp_values._data.dtype.kind
    if kind == "b" and sparse.layout not in COMPRESSED and sparse._sp_values.shape[0]:
        raise NotImplementedError(
            f"{op}: products of a sparse COO tensor are not implemented for torch.bool "
            "(PyTorch's 'addmm_sparse_dense' has no Bool kernel); convert it with .int() or "
            ".float()"
        )
    if sparse.layout in COMPRESSED and kind not in "fcV":
        raise NotImplementedError(
            f"{op}: products of a sparse {str(sparse.layout)[13:].upper()} matrix are not "
            f"implemented for {sparse.dtype} (as in PyTorch); convert it with .float() or "
            ".double()"
        )
    if sparse.dtype != dense.dtype:
        raise RuntimeError(
            f"expected scalar type {scalar_type_name(sparse.dtype)} but found "
            f"{scalar_type_name(dense.dtype)}\n{op}: expected the sparse and dense operands to "
            "have one dtype, got "
            f"{sparse.dtype} and {dense.dtype}; convert one with .to(dtype)"
        )
    if sparse.device != dense.device:
        raise RuntimeError(
            f"{op}: expected all tensors on the same device, got {sparse.device} and "
            f"{dense.device}; move one with .to(device)"
        )


def mismatch_words(sparse: SparseTensor, dense: Tensor) -> str:
    """PyTorch's first line for ``sparse @ dense`` of mismatched sizes (its kernel's check),
    followed by a newline; empty where its words are not known."""
    m, k = sparse.shape
    if dense.ndim == 1 and sparse.layout not in COMPRESSED:
        return "mv: expected self.size(-1) == vec.size(-1)\n"
    if dense.ndim != 2:
        return ""
    if sparse.layout in COMPRESSED:
        r, c = dense.shape
        return f"mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {r}x{c})\n"
    return f"addmm: Argument #3 (dense): Expected dim 0 size {k}, got {dense.shape[0]}\n"
