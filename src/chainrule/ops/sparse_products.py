"""Products and reductions of sparse COO tensors: ``cr.spmm``, the sparse branch of
``cr.mm``/``cr.matmul``/``@``, ``cr.sparse.mm``, ``cr.sparse.addmm`` and
``cr.sparse.sum``.

``sparse @ dense`` is one :class:`~.sparse_functions.Spmm` on the values (SciPy's CSR
product, the row-sorted layout cached on the pattern); ``dense @ sparse`` is its transpose,
``(Sᵀ Dᵀ)ᵀ``. Both are differentiable in the values and the dense operand, to any order.
``matmul`` also takes a 1-d sparse vector with a dense matrix (read as a one-row sparse
matrix) and a dense vector with a sparse matrix, as PyTorch does; ``mm``/``spmm`` refuse any
1-d operand with PyTorch's ``IndexError``. ``cr.bmm`` of a 3-d sparse batch and a dense batch
is one ``Spmm`` of the block-diagonal matrix the batch forms (:func:`sparse_bmm`).
``addmm``'s argument rules are in :mod:`.sparse_addmm`, ``sparse.sum`` in :mod:`.sparse_sum`
(both re-exported here, their import path).
"""

from __future__ import annotations

from typing import Any

from ..autograd.grad_mode import no_grad
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..qtypes import scalar_type_name
from ._raw_checks import RankError
from ._util import ShapeError
from .permutations import transpose
from .sparse_addmm import (
    addmm_rank_error,
    check_integer_beta,
    check_mat,
    integer_scalar,
)
from .sparse_batched import refuse_compressed_bmm
from .sparse_functions import SourceSpmm, Spmm, named
from .sparse_meta import refuse_sparse_meta
from .sparse_mm_reduce import mm_reduce
from .sparse_nodense import unsupported
from .sparse_pattern import SparsePattern
from .sparse_product_checks import (
    COMPRESSED,
    check_dtype_device,
    check_operands,
    mismatch_words,
    mm_rank_error,
    mv_rank_error,
)
from .sparse_product_nodes import (
    DenseSpmm,
    SourceBmm,
    SparseAddmmNode,
    SparseBmm,
    SparseMm,
    SparseMv,
    addmm_one_node,
)
from .sparse_spgemm import sparse_sparse_matmul
from .sparse_sum import sparse_sum_method, sum  # noqa: A004 - torch.sparse.sum
from .sparse_tensor import SparseTensor
from .tensor_queries import sparse_bsc, sparse_bsr, sparse_csc, sparse_csr
from .views import reshape, unsqueeze

__all__ = [
    "addmm",
    "addmm_rank_error",
    "check_integer_beta",
    "mm",
    "sparse_bmm",
    "sparse_matmul",
    "sparse_mm",
    "spmm",
    "sum",
]

_integer_scalar = integer_scalar  # the name sparse_smm imports from here


def _row_pattern(vector: SparseTensor) -> SparsePattern:
    """The pattern of a 1-d sparse vector of length k read as the (1, k) matrix of one row."""
    idx = vector._sp_pattern.indices
    rows = get_array_module(idx).zeros_like(idx)
    return SparsePattern(
        get_array_module(idx).concatenate([rows, idx]),
        (1, vector.shape[0]),
        vector._sp_pattern.coalesced,
    )


def _vector_products(op: str, a: Any, b: Any, masked: bool = False) -> Tensor:
    """``matmul`` with a 1-d sparse vector ``v`` (k,) and a dense matrix ``D``, as PyTorch:
    ``v @ D`` (k, n) -> (n,) and ``D @ v`` (m, k) -> (m,), each one :class:`Spmm` of v as a
    (1, k) row: ``v @ D`` directly, ``D @ v`` as ``v @ Dᵀ``. A dense vector with a sparse
    vector is PyTorch's unsupported sparse ``dot``."""
    vector, dense = (a, b) if isinstance(a, SparseTensor) else (b, a)
    check_operands(op, vector, dense, vector=True)
    (k,) = vector.shape
    if dense.ndim == 1:
        raise unsupported(f"{op} of a 1-d sparse and a 1-d dense tensor (a sparse dot product)")
    if dense.ndim != 2:
        raise ShapeError(
            f"{op}: a 1-d sparse operand takes a 2-d dense operand, got shape {tuple(dense.shape)}"
        )
    rows = dense.shape[0] if vector is a else dense.shape[1]
    if rows != k:
        raise ShapeError(
            f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} are not aligned: the sparse "
            f"vector has {k} entries, the dense matrix {rows} "
            f"{'rows' if vector is a else 'columns'}"
        )
    src = _dense_source(vector, masked)
    if src is not None:
        return src @ dense if vector is a else dense @ src
    mat = dense if vector is a else transpose(dense, 0, 1)
    out = Spmm.apply(vector._sp_values, mat, _row_pattern(vector))
    return reshape(out, (out.shape[1],))


def _sparse_dense(op: str, sparse: SparseTensor, dense: Tensor, masked: bool = False) -> Tensor:
    """``sparse @ dense`` for a 2-d sparse matrix and a 1-d or 2-d dense operand."""
    check_operands(op, sparse, dense)
    m, k = sparse.shape
    if dense.ndim not in (1, 2) or dense.shape[0] != k:
        raise ShapeError(
            mismatch_words(sparse, dense)
            + f"{op}: shapes {tuple(sparse.shape)} (sparse) and {tuple(dense.shape)} are not "
            f"aligned: expected a dense operand of {k} rows"
        )
    src = _dense_source(sparse, masked)
    pattern = sparse._sp_pattern
    if dense.ndim == 1:
        if src is None:  # PyTorch's MvBackward0
            return SparseMv.apply(sparse._sp_values, dense, pattern)
        return reshape(_spmm(sparse, src, unsqueeze(dense, 1), pattern), (m,))
    return _spmm(sparse, src, dense, pattern, SparseMm if masked else Spmm)


def _dense_sparse(op: str, dense: Tensor, sparse: SparseTensor, masked: bool = False) -> Tensor:
    """``dense @ sparse`` = ``(sparseᵀ @ denseᵀ)ᵀ`` for a 2-d dense operand; a 1-d dense
    operand (only ``matmul`` takes one) is ``sparseᵀ @ dense``."""
    check_operands(op, sparse, dense, left=False)
    k, n = sparse.shape
    vector = op == "matmul" and dense.ndim == 1
    if not (dense.ndim == 2 or vector) or dense.shape[-1] != k:
        raise ShapeError(
            f"{op}: shapes {tuple(dense.shape)} and {tuple(sparse.shape)} (sparse) are not "
            f"aligned: expected a 2-d dense operand of {k} columns"
        )
    src = _dense_source(sparse, masked)
    if src is not None and not vector:  # PyTorch's MmBackward0, its full source gradient
        return SourceSpmm.apply(src, sparse._sp_values, dense, sparse._sp_pattern, True)
    if src is None and not vector and not masked:  # PyTorch's one MmBackward0
        return DenseSpmm.apply(dense, sparse._sp_values, sparse._sp_pattern)
    src_t = None if src is None else transpose(src, 0, 1)
    pattern_t = sparse._sp_pattern.transposed()
    if vector:
        return reshape(_spmm(sparse, src_t, unsqueeze(dense, 1), pattern_t), (n,))
    node = SparseMm if masked else Spmm  # torch.sparse.mm: PyTorch's (Sᵀ Dᵀ)ᵀ, as here
    return transpose(_spmm(sparse, src_t, transpose(dense, 0, 1), pattern_t, node), 0, 1)


def _spmm(
    sparse: SparseTensor, src: Any, dense: Tensor, pattern: SparsePattern, node: type = Spmm
) -> Tensor:
    """``A @ dense`` for the sparse matrix ``A`` of ``sparse``'s values on ``pattern``: with
    a dense source ``src`` (``A``'s, on ``pattern``'s side) the source gets PyTorch's full
    gradient while the value still comes from the stored elements only (``SourceSpmm``).
    ``node``: :class:`Spmm` or its ``torch.sparse.mm`` form :class:`SparseMm` (PyTorch's
    node and inputs; a masked product has no source)."""
    if node is SparseMm:  # torch.sparse.mm: its addmm's node, (None, sparse, dense)
        values = sparse._sp_values
        if pattern is not sparse._sp_pattern:  # the transposed operand: PyTorch's node
            values = named(values, "TransposeBackward0")
        return SparseMm.apply(None, values, dense, pattern)
    if src is None:
        return node.apply(sparse._sp_values, dense, pattern)
    return SourceSpmm.apply(src, sparse._sp_values, dense, pattern)


def sparse_matmul(a: Any, b: Any, op: str = "matmul", masked: bool = False) -> Tensor:
    """The product when ``a`` or ``b`` is sparse (``cr.matmul``/``cr.mm``/``@`` call it).

    ``masked``: ``torch.sparse.mm``'s gradient, only on the sparse operand's pattern; else
    (``mm``, ``@``) the gradient of a dense source of the sparse operand is dense."""
    refuse_sparse_meta("addmm" if masked else "mm", a, b)  # torch.sparse.mm runs addmm
    _check_batched_compressed(op, a, b)
    if isinstance(a, SparseTensor) and isinstance(b, SparseTensor) and a.ndim == b.ndim == 2:
        return sparse_sparse_matmul(op, a, b, masked)  # sparse (ops/sparse_spgemm.py)
    _check_block_layouts(op, a, b)
    if op == "matmul" and any(isinstance(t, SparseTensor) and t.ndim == 1 for t in (a, b)):
        if not all(isinstance(t, Tensor) for t in (a, b)):
            raise TypeError(
                f"{op}: expected Tensor operands, got {type(a).__name__} and {type(b).__name__}"
            )
        return _vector_products(op, a, b, masked)
    if isinstance(a, SparseTensor):
        return _sparse_dense(op, a, b, masked)
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor operand, got {type(a).__name__}")
    return _dense_sparse(op, a, b, masked)


def _check_batched_compressed(op: str, a: Any, b: Any) -> None:
    """PyTorch's CPU errors for a product with a batched or hybrid compressed operand
    (it has no kernel for one)."""
    for t, other, left in ((a, b, True), (b, a, False)):
        if getattr(t, "layout", None) not in COMPRESSED or t.ndim == 2:
            continue
        if op in ("mm", "spmm", "addmm"):
            raise RuntimeError(f"mat{1 if left else 2} must be a matrix, got {t.ndim}-D tensor")
        if op == "mv":
            raise RuntimeError(
                f"vector + matrix @ vector expected, got 1, {t.ndim}, {getattr(other, 'ndim', 0)}"
            )
        if not left or getattr(other, "ndim", 0) > 2:
            name = {sparse_csr: "Csr", sparse_csc: "Csc", sparse_bsr: "Bsr"}.get(t.layout, "Bsc")
            raise RuntimeError(f"expand is unsupported for Sparse{name} tensors")
        raise RuntimeError("Sparse CSR tensors do not have strides")


def _dense_source(sparse: SparseTensor, masked: bool) -> Any:
    """The dense tensor ``sparse`` was converted from, when a product must give it PyTorch's
    full gradient (``G @ Xᵀ`` everywhere, not only on the pattern): multiplying the source
    itself does, to any order. None for ``torch.sparse.mm``/``addmm`` (``masked``)."""
    src = getattr(sparse, "_sp_source", None)
    return None if masked or src is None or not is_grad_enabled() else src


def _check_block_layouts(op: str, a: Any, b: Any) -> None:
    """PyTorch's CPU kernels multiply a BSR matrix only on the left of a dense one and a
    BSC matrix only on its right (``dense @ bsc``); the other products raise its errors."""
    la, lb = getattr(a, "layout", None), getattr(b, "layout", None)
    if la is sparse_bsc and not isinstance(b, SparseTensor):
        if op == "mv" or (op == "matmul" and getattr(b, "ndim", 2) == 1):
            raise RuntimeError("torch.addmv: operation not supported for mat with SparseBsc layout")
        raise RuntimeError(
            "addmm: computation on CPU is not implemented for Strided + SparseBsc @ Strided"
        )
    if lb is sparse_bsr and not isinstance(a, SparseTensor):
        raise RuntimeError(
            "addmm: computation on CPU is not implemented for Strided + Strided @ SparseBsr"
        )
    if la is sparse_bsr and len(set(a.values().shape[1:])) != 1:
        raise RuntimeError("MKL Sparse doesn't support matrices with non-square blocks.")
    if la in COMPRESSED[1:] and lb in COMPRESSED:
        raise unsupported(f"{op} of two sparse compressed matrices ({la} @ {lb})")


def spmm(input: Any, mat2: Any) -> Tensor:  # noqa: A002 - PyTorch's parameter name
    """``torch.spmm``: ``input @ mat2`` with a sparse COO ``input`` (dense ``mat2``); the
    result is dense. Differentiable in ``input``'s values and in ``mat2``.

    >>> import chainrule as cr
    >>> a = cr.sparse_coo_tensor([[0, 1], [1, 0]], [2.0, 3.0], (2, 2))
    >>> cr.spmm(a, cr.ones(2, 1))
    tensor([[2.],
            [3.]])
    """
    if isinstance(input, SparseTensor) or isinstance(mat2, SparseTensor):
        return sparse_mm(input, mat2, "spmm")
    return input.mm(mat2)  # two dense matrices: torch.spmm is mm


def sparse_mm(a: Any, b: Any, op: str = "mm", masked: bool = False) -> Tensor:
    """``a @ b`` of two matrices, one sparse COO (``cr.spmm``, ``cr.sparse.mm`` and
    ``Tensor.mm`` of a sparse tensor call it; ``cr.mm`` should too). Unlike ``matmul`` a 1-d
    operand, sparse or dense, is refused with PyTorch's ``IndexError`` (``RankError``)."""
    for t in (a, b):
        if isinstance(t, Tensor) and not isinstance(t, SparseTensor) and t.ndim != 2:
            found = mm_rank_error(op, a, b, t is b, masked)  # torch's words (session 47)
            if found is not None:
                raise found
            error = RankError if t.ndim < 2 else ShapeError  # as the sparse check above
            raise error(f"{op}: expects 2-d operands, got shape {tuple(t.shape)}")
    return sparse_matmul(a, b, op, masked)


def sparse_bmm(input: Any, mat2: Any) -> Tensor:  # noqa: A002 - PyTorch's parameter name
    """``torch.bmm`` of a sparse COO batch ``input`` (b, n, m) and a dense batch ``mat2``
    (b, m, p): the dense (b, n, p) of each batch's product, as PyTorch's ``bmm_sparse``
    (batched graph convolutions ``torch.bmm(adj, x)`` on a sparse adjacency).

    The batch is one :class:`Spmm` of the block-diagonal (b·n, b·m) matrix in which entry
    (k, i, j) sits at (k·n + i, k·m + j), on ``mat2`` read as (b·m, p); the values are the
    same tensor, so the product is differentiable in them and in ``mat2`` to any order (the
    gradient of the values lands in ``values.grad``, as for ``mm``). A coalesced batch keeps
    its row-major order in the block layout. Only ``sparse @ dense`` exists, as in PyTorch.
    """
    if getattr(input, "layout", None) in COMPRESSED or getattr(mat2, "layout", None) in COMPRESSED:
        refuse_compressed_bmm(input, mat2)
    if isinstance(mat2, SparseTensor):
        raise RuntimeError(
            "bmm: mat2 must be dense, got a sparse tensor (of a sparse batch only sparse @ "
            "dense is supported, as in PyTorch)"
        )
    if not isinstance(input, SparseTensor):
        raise TypeError(f"sparse_bmm: expected a sparse COO input, got {type(input).__name__}")
    if not isinstance(mat2, Tensor):
        raise TypeError(f"bmm: expected a dense Tensor mat2, got {type(mat2).__name__}")
    if input.sparse_dim() != 3 or input.dense_dim() != 0:
        raise RuntimeError(
            f"bmm: the sparse operand must have 3 sparse dims and no dense dims, got "
            f"{input.sparse_dim()} sparse and {input.dense_dim()} dense dims (size "
            f"{tuple(input.shape)})"
        )
    if mat2.ndim != 3:
        raise RuntimeError(f"bmm: mat2 must have 3 dims, got shape {tuple(mat2.shape)}")
    batch, n, m = input.shape
    if mat2.shape[0] != batch or mat2.shape[1] != m:
        raise ShapeError(
            f"bmm: shapes {tuple(input.shape)} (sparse) and {tuple(mat2.shape)} do not match: "
            f"expected mat2 of shape ({batch}, {m}, p)"
        )
    check_dtype_device("bmm", input, mat2)
    src = _dense_source(input, False)  # with one, it gets PyTorch's full gradient
    pattern = input._sp_pattern
    xp = get_array_module(pattern.indices)
    k, i, j = pattern.indices
    block = SparsePattern(
        xp.stack([k * n + i, k * m + j]), (batch * n, batch * m), pattern.coalesced
    )
    if src is None:  # PyTorch's BmmBackward0
        return SparseBmm.apply(input._sp_values, mat2, block, n)
    return SourceBmm.apply(src, input._sp_values, mat2, block, n)  # (its one node too)


def mm(mat1: Any, mat2: Any, reduce: Any = None) -> Tensor:
    """``torch.sparse.mm``: ``mm``, but a sparse operand's dense source gets its gradient on
    the pattern only, as PyTorch's; ``reduce``: :mod:`.sparse_mm_reduce`."""
    if reduce is not None:
        return mm_reduce(mat1, mat2, reduce)
    if isinstance(mat1, SparseTensor) or isinstance(mat2, SparseTensor):
        return sparse_mm(mat1, mat2, "spmm", masked=True)
    return mat1.mm(mat2)


def addmm(mat: Any, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``torch.sparse.addmm``: ``beta * mat + alpha * (mat1 @ mat2)`` with a sparse
    ``mat1``; ``mat`` broadcasts to the product's shape and is ignored when ``beta == 0``.
    For integer operands ``beta`` and ``alpha`` become integers first (truncated toward
    zero, as PyTorch), so the result keeps the operands' integer dtype; a float ``beta``
    that does not truncate to 0 or 1 is refused there, as PyTorch does."""
    if addmm_one_node(mat, mat1, mat2, beta, alpha):  # PyTorch's SparseAddmmBackward0
        with no_grad():
            prod = mm(mat1, mat2)  # its checks and its product, not recorded
        check_mat(mat, prod)
        values, pattern = mat1._sp_values, mat1._sp_pattern
        return SparseAddmmNode.apply(mat, values, mat2, pattern, beta, alpha, prod._data)
    prod = mm(mat1, mat2)
    if isinstance(mat, Tensor) and mat._data.dtype != prod._data.dtype:  # PyTorch's check
        raise RuntimeError(
            f"expected scalar type {scalar_type_name(prod._data.dtype)} but found "
            f"{scalar_type_name(mat._data.dtype)}"
        )
    check_integer_beta("addmm", prod, beta)
    if prod._data.dtype.kind in "iub":
        beta, alpha = (
            integer_scalar(prod, name, v) for name, v in (("beta", beta), ("alpha", alpha))
        )
    out = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return out
    mat = mat if isinstance(mat, Tensor) else Tensor._new(mat, dtype=prod.dtype)
    check_mat(mat, prod)
    return out + (mat if beta == 1 else mat * beta)


def _mv_method(self: SparseTensor, vec: Any) -> Tensor:
    """``s.mv(v)``: the sparse matrix times a dense vector (as ``cr.mv``)."""
    if not isinstance(vec, Tensor):
        raise ShapeError(f"mv: expects a vector, got {type(vec).__name__}")
    if vec.ndim != 1:
        raise mv_rank_error(self, vec)
    return sparse_matmul(self, vec, "mv")


def _bind() -> None:
    """The product and sum methods of a sparse tensor (its other methods are in its class)."""
    T = SparseTensor
    T.matmul = T.__matmul__ = lambda self, other: sparse_matmul(self, other)
    T.mm = lambda self, other: sparse_mm(self, other)
    T.bmm = lambda self, other: sparse_bmm(self, other)
    T.__rmatmul__ = lambda self, other: sparse_matmul(other, self)
    T.mv = _mv_method
    T.sum = sparse_sum_method


_bind()
