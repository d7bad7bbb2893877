"""The sparse products as PyTorch records them: one node each, named as its.

``sparse_products`` builds ``dense @ sparse``, ``mv``, ``bmm`` and ``torch.sparse.addmm``
from :class:`~.sparse_functions.Spmm` (``(Sᵀ Dᵀ)ᵀ``, a column reshaped, a block-diagonal
product reshaped, ``beta * mat + alpha * (S @ D)``). The values and gradients are right, but
the result's ``grad_fn`` was the last transpose, reshape or add, where PyTorch shows one
``MmBackward0``, ``MvBackward0``, ``BmmBackward0`` or ``SparseAddmmBackward0`` whose
``next_functions`` are the operands' nodes (``torch.sparse.mm``'s: ``None`` first, its
``addmm`` without a ``mat``). Each op here is that one node: its forward is the
same kernel (:func:`.sparse_pattern.spmm`), its backward the same rules in Tensor ops
(:class:`~.sparse_functions.SampledDot` for the values, a product of the sparse matrix's
transpose for the dense operand), so double backward works, and ``jvp`` gives forward mode.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from . import sparse_pattern as kernels
from .broadcasting import sum_to
from .sparse_csr import SparseCsrTensor
from .sparse_functions import SampledDot, Spmm, spmm_backward, spmm_jvp
from .sparse_tensor import SPARSE_TYPES, SparseTensor

__all__ = [
    "AddmmSourceNode",
    "AddmmSparseNode",
    "DenseSpmm",
    "SparseAddmmNode",
    "SparseBmm",
    "SparseMm",
    "SparseMv",
    "addmm_node",
    "addmm_one_node",
]


def _dense_times_sparse(dense, values, pattern):
    """``dense @ A`` of raw arrays, for the sparse matrix ``A`` of ``values`` on ``pattern``:
    ``(Aᵀ denseᵀ)ᵀ``, column-major as PyTorch's result is."""
    return kernels.spmm(values, dense.T, pattern.transposed()).T


class DenseSpmm(Function):
    """``Y = X A`` for a dense (m, k) ``X`` and the sparse (k, n) matrix ``A`` of ``values``.

    Bilinear: dX = G Aᵀ (again a ``DenseSpmm``, on the transposed pattern) and
    dv_e = Xᵀ[row_e] · Gᵀ[col_e] (:class:`SampledDot`). Shown as PyTorch's ``MmBackward0``
    (``mm``, ``@``; ``torch.sparse.mm`` records ``(Sᵀ Dᵀ)ᵀ`` in PyTorch too)."""

    raw = True
    node_name = ("MmBackward0", (0, 1))  # both listed, as PyTorch

    @staticmethod
    def forward(ctx, dense, values, pattern):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(dense if needs[1] else None, values if needs[0] else None)
        ctx.pattern = pattern
        return _dense_times_sparse(dense, values, pattern)

    @staticmethod
    def backward(ctx, grad):
        dense, values = ctx.saved_tensors
        needs = ctx.needs_input_grad
        pattern = ctx.pattern
        gx = DenseSpmm.apply(grad, values, pattern.transposed()) if needs[0] else None
        gv = SampledDot.apply(dense.t(), grad.t(), pattern) if needs[1] else None
        return gx, gv, None

    @staticmethod
    def jvp(ctx, tx, tv, _pattern):
        dense, values, pattern = ctx.primals
        out = None if tv is None else _dense_times_sparse(dense, tv, pattern)
        if tx is not None:
            term = _dense_times_sparse(tx, values, pattern)
            out = term if out is None else out + term
        return out


class _SparseTimesDense(Function):
    """``product(values, dense, pattern, *extra)``: the sparse matrix ``A`` of ``values`` on
    ``pattern`` times a dense operand (:class:`SparseMv`, :class:`SparseBmm`). Bilinear:
    d(dense) = the same product by ``Aᵀ`` (the class on the transposed pattern, with
    ``back_extra``), dv = :class:`SampledDot` of the gradient's and the operand's ``columns``
    (their 2-d forms); forward mode is the product of each tangent by the other primal."""

    raw = True

    @staticmethod
    def product(values, dense, pattern, *extra):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def columns(t):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def back_extra(dense, *extra):
        """The ``extra`` arguments of the product by ``Aᵀ`` (the gradient's)."""
        return ()

    @classmethod
    def forward(cls, ctx, values, dense, pattern, *extra):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(values if needs[1] else None, dense if needs[0] else None)
        ctx.pattern, ctx.back = pattern, cls.back_extra(dense, *extra)
        return cls.product(values, dense, pattern, *extra)

    @classmethod
    def backward(cls, ctx, grad):
        values, dense = ctx.saved_tensors
        needs = ctx.needs_input_grad
        pattern = ctx.pattern
        gv = SampledDot.apply(cls.columns(grad), cls.columns(dense), pattern) if needs[0] else None
        gx = cls.apply(values, grad, pattern.transposed(), *ctx.back) if needs[1] else None
        return (gv, gx, None) + (None,) * len(ctx.back)

    @classmethod
    def jvp(cls, ctx, tv, tx, *_):
        values, dense, pattern, *extra = ctx.primals
        out = None if tv is None else cls.product(tv, dense, pattern, *extra)
        if tx is not None:
            term = cls.product(values, tx, pattern, *extra)
            out = term if out is None else out + term
        return out


class SparseMv(_SparseTimesDense):
    """``y = A x`` for the sparse (m, k) matrix ``A`` of ``values`` and a dense vector ``x``:
    dx = Aᵀ g (a ``SparseMv`` on the transposed pattern), dv_e = g[row_e] x[col_e]. Shown as
    PyTorch's ``MvBackward0``."""

    node_name = ("MvBackward0", (0, 1))

    @staticmethod
    def product(values, vector, pattern):
        return kernels.spmm(values, vector[:, None], pattern)[:, 0]

    @staticmethod
    def columns(t):
        return t.unsqueeze(1)


class SparseBmm(_SparseTimesDense):
    """``torch.bmm`` of a sparse COO batch (``values`` on the block-diagonal ``pattern``
    that ``sparse_products.sparse_bmm`` builds) and a dense batch: each batch's product.
    dmat2 = the batch of ``Aₖᵀ Gₖ`` (a ``SparseBmm`` on the transposed blocks) and
    dv = :class:`SampledDot` of the flattened batches. Shown as PyTorch's ``BmmBackward0``."""

    node_name = ("BmmBackward0", (0, 1))

    @staticmethod
    def product(values, batch, pattern, n):
        """The (b, n, p) products of the sparse batch with a dense (b, m, p) ``batch``
        (sizes explicit: any of them may be 0)."""
        b, m, p = batch.shape
        out = kernels.spmm(values, batch.reshape(b * m, p), pattern)
        return out.reshape(b, n, p)

    @staticmethod
    def columns(t):
        return t.reshape(-1, t.shape[2])

    @staticmethod
    def back_extra(batch, n):
        return (batch.shape[1],)


class SourceBmm(Function):
    """``torch.bmm(S, batch)`` for a sparse COO batch ``S`` converted from the dense
    ``source`` (``x.to_sparse()``): PyTorch's one ``BmmBackward0`` listing ``(S, batch)``, ``S``
    by its conversion node (session 47; before, a 2-d product between two views). The value
    is :class:`SparseBmm`'s, from the stored ``values`` on the block-diagonal ``pattern``;
    ``source`` gets the full gradient ``G_k X_kᵀ`` of each batch (not only on the pattern),
    ``batch`` gets ``A_kᵀ G_k`` (again a ``SourceBmm``, of the transposed blocks), to any
    order; ``values`` (read from ``source``) get no gradient of their own."""

    raw = True
    node_name = ("BmmBackward0", (1, 2))

    @staticmethod
    def forward(ctx, source, values, batch, pattern, n):
        needs = ctx.needs_input_grad
        keep = needs[2] or None
        ctx.save_for_backward(keep and source, keep and values, batch if needs[0] else None)
        ctx.pattern = pattern
        return SparseBmm.product(values, batch, pattern, n)

    @staticmethod
    def backward(ctx, grad):
        source, values, batch = ctx.saved_tensors
        needs = ctx.needs_input_grad
        gs = grad @ batch.transpose(1, 2) if needs[0] else None
        gx = None
        if needs[2]:
            source_t, pattern_t = source.transpose(1, 2), ctx.pattern.transposed()
            gx = SourceBmm.apply(source_t, values, grad, pattern_t, source.shape[2])
        return gs, None, gx, None, None

    @staticmethod
    def jvp(ctx, _ts, tv, tx, _pattern, _n):
        _source, values, batch, pattern, n = ctx.primals
        out = None if tv is None else SparseBmm.product(tv, batch, pattern, n)
        if tx is not None:
            term = SparseBmm.product(values, tx, pattern, n)
            out = term if out is None else out + term
        return out


class SparseMm(Function):
    """``torch.sparse.mm(S, D)``: :class:`~.sparse_functions.Spmm` as PyTorch records it,
    its ``addmm`` with no ``mat``: ``SparseAddmmBackward0`` of ``(None, sparse, dense)``
    (``_self`` is None: an input without a gradient edge, as PyTorch's)."""

    raw = True
    node_name = ("SparseAddmmBackward0", (0, 1, 2))  # (self, mat1, mat2)

    @staticmethod
    def forward(ctx, _self, values, dense, pattern):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(values if needs[2] else None, dense if needs[1] else None)
        ctx.pattern = pattern
        return kernels.spmm(values, dense, pattern)

    @staticmethod
    def backward(ctx, grad):
        values, dense = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (None, *spmm_backward(values, dense, ctx.pattern, grad, needs[1], needs[2]), None)

    @staticmethod
    def jvp(ctx, _ts, tv, tx, _pattern):
        _, values, dense, pattern = ctx.primals
        return spmm_jvp(values, dense, pattern, tv, tx)


class SparseAddmmNode(Function):
    """``torch.sparse.addmm``: ``beta * mat + alpha * (A @ dense)`` for the sparse matrix
    ``A`` of ``values`` on ``pattern`` (``mat`` broadcast to the product; not read when
    ``beta == 0``, whose gradient is then zeros, as PyTorch's). ``product``: ``A @ dense``,
    computed (and checked) by ``torch.sparse.mm``'s code without recording. Shown as
    PyTorch's ``SparseAddmmBackward0`` of ``(mat, sparse, dense)``."""

    raw = True
    node_name = ("SparseAddmmBackward0", (0, 1, 2))  # (self, mat1, mat2)

    @staticmethod
    def save(ctx: Any, mat: Any, values: Any, dense: Any, pattern: Any, beta: Any, alpha: Any):
        """What the backward reads (``values`` only for ``dense``'s gradient, ``dense`` only
        for ``values``'), shared with :class:`AddmmSparseNode`."""
        needs = ctx.needs_input_grad
        ctx.save_for_backward(values if needs[2] else None, dense if needs[1] else None)
        ctx.pattern, ctx.beta, ctx.alpha, ctx.mat_shape = pattern, beta, alpha, mat.shape

    @staticmethod
    def forward(ctx, mat, values, dense, pattern, beta, alpha, product):
        SparseAddmmNode.save(ctx, mat, values, dense, pattern, beta, alpha)
        out = product if alpha == 1 else product * alpha
        if beta == 0:
            return out
        return out + (mat if beta == 1 else mat * beta)

    @staticmethod
    def backward(ctx, grad):
        values, dense = ctx.saved_tensors
        needs = ctx.needs_input_grad
        pattern, beta, alpha = ctx.pattern, ctx.beta, ctx.alpha
        gm = gv = gx = None
        if needs[0]:
            gm = sum_to(grad if beta == 1 else grad * beta, tuple(ctx.mat_shape))
        g = grad if alpha == 1 else grad * alpha
        if needs[1]:
            gv = SampledDot.apply(g, dense, pattern)
        if needs[2]:
            gx = Spmm.apply(values, g, pattern.transposed())
        return gm, gv, gx, None, None, None, None

    @staticmethod
    def jvp(ctx, tm, tv, tx, *_):
        _mat, values, dense, pattern, beta, alpha, product = ctx.primals
        return _addmm_tangent(tm, tv, tx, values, dense, pattern, beta, alpha, product.shape)


class AddmmSparseNode(SparseAddmmNode):
    """``torch.addmm(mat, sparse, dense)`` (and ``Tensor.addmm``): the same node as
    :class:`SparseAddmmNode`, shown as PyTorch's ``AddmmBackward0`` of ``(mat, sparse,
    dense)``. ``result``: the whole sum, computed (and checked) by the dense ``addmm``'s
    code without recording."""

    node_name = ("AddmmBackward0", (0, 1, 2))  # (self, mat1, mat2)

    @staticmethod
    def forward(ctx, mat, values, dense, pattern, beta, alpha, result):
        SparseAddmmNode.save(ctx, mat, values, dense, pattern, beta, alpha)
        return result


class AddmmSourceNode(Function):
    """``torch.addmm(mat, S, dense)`` for a sparse ``S`` converted from the dense ``source``
    (``x.to_sparse()``, ``x.to_sparse_csr()``): PyTorch's one ``AddmmBackward0`` listing
    ``(mat, S, dense)``, ``S`` by its conversion node, which gives ``source`` the whole
    gradient ``alpha * G @ denseᵀ`` (not masked to the pattern) while ``dense`` gets
    ``alpha * Sᵀ G`` from the stored values (:class:`AddmmSparseNode`'s). ``values`` (read
    from ``source``) get no gradient of their own: theirs reaches ``source``, as in
    :class:`~.sparse_functions.SourceSpmm`. ``result``: the whole sum, computed (and checked)
    by the dense ``addmm``'s code without recording."""

    raw = True
    node_name = ("AddmmBackward0", (0, 2, 3))  # (self, mat1 by its node, mat2)

    @staticmethod
    def forward(ctx, mat, source, values, dense, pattern, beta, alpha, result):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(values if needs[3] else None, dense if needs[1] else None)
        ctx.pattern, ctx.beta, ctx.alpha, ctx.mat_shape = pattern, beta, alpha, mat.shape
        return result

    @staticmethod
    def backward(ctx, grad):
        values, dense = ctx.saved_tensors
        needs = ctx.needs_input_grad
        beta, alpha = ctx.beta, ctx.alpha
        gm = gs = gx = None
        if needs[0]:
            gm = sum_to(grad if beta == 1 else grad * beta, tuple(ctx.mat_shape))
        g = grad if alpha == 1 else grad * alpha
        if needs[1]:
            gs = g @ dense.t()
        if needs[3]:
            gx = Spmm.apply(values, g, ctx.pattern.transposed())
        return gm, gs, None, gx, None, None, None, None

    @staticmethod
    def jvp(ctx, tm, _ts, tv, tx, *_):
        # the value's derivative: the stored values' tangent (the source's, on the pattern)
        _mat, _source, values, dense, pattern, beta, alpha, result = ctx.primals
        return _addmm_tangent(tm, tv, tx, values, dense, pattern, beta, alpha, result.shape)


def addmm_node(mat: Tensor, mat1: Any, mat2: Tensor, beta: Any, alpha: Any, result: Any) -> Any:
    """``torch.addmm(mat, mat1, mat2)`` of a sparse ``mat1`` recorded as PyTorch's one
    ``AddmmBackward0`` (when :func:`addmm_one_node`), its value ``result`` (an array)."""
    values, pattern, source = mat1._sp_values, mat1._sp_pattern, mat1._sp_source
    if source is None:
        return AddmmSparseNode.apply(mat, values, mat2, pattern, beta, alpha, result)
    return AddmmSourceNode.apply(mat, source, values, mat2, pattern, beta, alpha, result)


_ONE_NODE_TYPES = (SparseTensor, SparseCsrTensor)


def addmm_one_node(mat: Any, mat1: Any, mat2: Any, beta: Any, alpha: Any) -> bool:
    """Whether ``torch.sparse.addmm`` is recorded as PyTorch's one node
    (:class:`SparseAddmmNode`): in a graph, a 2-d sparse COO or CSR
    ``mat1`` of float values and a dense ``mat2`` and ``mat`` of its dtype, real Python
    ``beta`` and ``alpha``; other cases (integer or mixed dtypes, no graph) are composed."""
    if not is_grad_enabled() or type(mat1) not in _ONE_NODE_TYPES:
        return False
    if not isinstance(mat, Tensor) or not isinstance(mat2, Tensor) or type(mat2) in SPARSE_TYPES:
        return False
    if type(beta) not in (int, float) or type(alpha) not in (int, float):
        return False
    values = mat1._sp_values
    if not (values.requires_grad or mat.requires_grad or mat2.requires_grad):
        return False
    dt = values._data.dtype
    return dt.kind == "f" and mat._data.dtype == dt == mat2._data.dtype and mat1.ndim == 2


def _addmm_tangent(tm, tv, tx, values, dense, pattern, beta, alpha, shape):
    """``beta * tm + alpha * (tv @ dense + values @ tx)`` on the sparse pattern: the tangent of
    ``addmm(mat, sparse, dense)`` (None when no input has one); a broadcast ``mat``'s tangent
    is broadcast to the result's ``shape``."""
    out = None if tv is None else kernels.spmm(tv, dense, pattern)
    if tx is not None:
        term = kernels.spmm(values, tx, pattern)
        out = term if out is None else out + term
    if out is not None and alpha != 1:
        out = out * alpha
    if tm is not None and beta != 0:
        term = tm if beta == 1 else tm * beta
        out = term if out is None else out + term
    if out is not None and out.shape != shape:  # a broadcast mat's tangent only
        out = get_array_module(out).broadcast_to(out, shape).copy()
    return out
