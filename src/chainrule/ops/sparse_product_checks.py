"""The operand checks of the sparse products (``mm``, ``@``, ``spmm``, ``torch.sparse.mm``,
``bmm``): which operands a product takes (a 2-d sparse matrix without dense dims, a dense
matrix or vector), one dtype and one device for both, and PyTorch's first line for
operands whose sizes do not fit, each followed by chainrule's detail."""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..qtypes import scalar_type_name
from ._raw_checks import RankError
from ._util import dim_range_error, no_dims_error
from .sparse_nodense import unsupported
from .sparse_tensor import SparseTensor
from .tensor_queries import sparse_bsc, sparse_bsr, sparse_csc, sparse_csr

__all__ = [
    "COMPRESSED",
    "check_dtype_device",
    "check_operands",
    "hybrid_error",
    "mismatch_words",
    "mm_rank_error",
    "mv_rank_error",
]

COMPRESSED = (sparse_csr, sparse_csc, sparse_bsr, sparse_bsc)


def check_operands(
    op: str, sparse: SparseTensor, dense: Any, vector: bool = False, left: bool = True
) -> None:
    """``vector``: a 1-d sparse operand (no dense dims) is allowed, as ``matmul`` allows it;
    ``left``: the sparse operand is the left one (``dense @ sparse``: the right one)."""
    if isinstance(dense, SparseTensor):
        raise unsupported(f"{op} of two sparse tensors (sparse @ sparse)")
    if not isinstance(dense, Tensor):
        raise TypeError(f"{op}: expected a dense Tensor operand, got {type(dense).__name__}")
    if sparse.dense_dim() > 0:  # PyTorch's kernels refuse hybrid operands too
        raise hybrid_error(op, sparse, dense, left) or RuntimeError(
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


def hybrid_error(op: str, sparse: SparseTensor, dense: Tensor, left: bool = True) -> Any:
    """PyTorch's error for a product of a hybrid COO tensor (dense dims): where its kernels
    fail, by op and operand sizes (session 46, torch 2.13); None where chainrule's own text
    stands (more than 2 sparse dims). ``op``: ``mm``, ``spmm`` (``torch.spmm``,
    ``torch.sparse.mm``), ``addmm``, ``matmul`` (``@``) or ``mv``."""
    sd, dd, nd = sparse.sparse_dim(), sparse.dense_dim(), sparse.ndim
    dn = dense.ndim
    if not left:  # dense @ sparse: PyTorch transposes the sparse operand first
        return RuntimeError(
            f"sparse transpose: transposed dimensions must be sparse Got sparse_dim: {sd}, "
            f"d0: {nd - 2}, d1: {nd - 1}"
        )
    matrices = RuntimeError(f"addmm: matrices expected, got {sd}D tensor")
    if op == "mv":
        if nd == 2 and dn == 1:
            return matrices
        return RuntimeError(
            f"mv: two tensor dim should be 2 and 1, but got SparseTensor Dim: {nd}Tensor Dim: {dn}"
        )
    if op == "matmul":
        return RuntimeError("reshape is not implemented for sparse tensors") if nd > 2 else matrices
    if sd == 1:
        if dn == 1:
            return RankError(
                "Dimension out of range (expected to be in range of [-1, 0], but got 1)"
            )
        return matrices
    if sd != 2:
        return None
    m, k = sparse.shape[:2]
    if op in ("mm", "spmm") and dd == 1 and dn == 2 and m != k and k != 1:
        n = dense.shape[1]
        return RuntimeError(
            f"The expanded size of the tensor ({m}) must match the existing size ({k}) at "
            f"non-singleton dimension 0.  Target sizes: [{m}, {n}].  Tensor sizes: [{k}, {n}]"
        )
    return RuntimeError(f"addmm: scalar values expected, got {dd}D values")


def mm_rank_error(op: str, a: Any, b: Any, right: bool, masked: bool) -> Exception | None:
    """torch 2.13's error for ``mm(a, b)`` (``mm``, ``spmm``, ``Tensor.mm``; ``masked``:
    ``torch.sparse.mm``) of a sparse matrix and a dense operand that is not 2-d (``b`` if
    ``right``, else ``a``): the dim check of the kernel it reaches first (session 47), then
    chainrule's line naming ``op``. None for a hybrid COO operand times a 3-d tensor
    (chainrule's own text)."""
    dense, sparse = (b, a) if right else (a, b)
    nd = dense.ndim
    detail = f"\n{op}: expects 2-d operands, got shape {tuple(dense.shape)}"
    if type(sparse) is SparseTensor:  # COO
        if nd == 0:
            return IndexError(str(no_dims_error(-1 if right else -2)) + detail)
        if nd == 1:
            return IndexError(str(dim_range_error(1 if right else -2, 1)) + detail)
        if sparse.dense_dim():
            return None
        return RuntimeError(f"addmm: matrices expected, got {nd}D tensor" + detail)
    if getattr(sparse, "layout", None) not in COMPRESSED:
        return None
    if nd == 0:
        return IndexError(str(no_dims_error((-1 if masked else 1) if right else 0)) + detail)
    if nd == 1 and right and not masked:
        return IndexError(str(dim_range_error(1, 1)) + detail)
    return RuntimeError(f"mat{2 if right else 1} must be a matrix, got {nd}-D tensor" + detail)


def mv_rank_error(mat: Any, vec: Any) -> Exception:
    """torch 2.13's error for ``mv(sparse, vec)`` with ``vec`` not 1-d, or a hybrid COO
    ``mat`` (session 47): the COO kernel's dims text, a compressed one's addmv check."""
    if type(mat) is SparseTensor:
        return RuntimeError(
            f"mv: two tensor dim should be 2 and 1, but got SparseTensor Dim: {mat.ndim}Tensor "
            f"Dim: {vec.ndim}"
        )
    return RuntimeError(f"vector + matrix @ vector expected, got 1, {mat.ndim}, {vec.ndim}")
