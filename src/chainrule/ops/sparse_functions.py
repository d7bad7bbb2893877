"""The differentiable ops of sparse COO tensors, all applied to the *values* tensor.

A sparse tensor's gradient lives in its values: every op here takes the values (a dense
1-d Tensor with one entry per stored element) and the tensor's
:class:`~.sparse_pattern.SparsePattern` (a non-tensor argument), so ``backward`` reaches
the values and whatever produced them. The rules come in adjoint pairs, each the other's
backward (:class:`~.linear_maps.LinearMap`), so double backward and forward mode work
throughout:

- :class:`SparseToDense` (scatter the values into a dense array, duplicates summed) and
  :class:`SparseGather` (read a dense array at the pattern's positions);
- :class:`CoalesceValues` (sum the values of duplicate entries) and
  :class:`ExpandDuplicates` (copy each coalesced value back to its entries);
- :class:`Spmm` (``Y = A X``) and :class:`SampledDot` (``v_e = G[row_e] · X[col_e]``):
  with ``A`` the sparse matrix of values ``v``, ``dX = Aᵀ G`` is again an ``Spmm`` (on the
  transposed pattern) and ``dv = SampledDot(G, X)``; the rules of ``SampledDot`` are two
  ``Spmm``.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.state import is_grad_enabled
from . import sparse_pattern as kernels
from .linear_maps import LinearMap, adjoint_pair

__all__ = [
    "CoalesceValues",
    "ExpandDuplicates",
    "FunctionInputEdge",
    "SampledDot",
    "SparseGather",
    "SourceSpmm",
    "SourceToDense",
    "SparseToDense",
    "Spmm",
    "named",
    "spmm_backward",
    "spmm_jvp",
]


class SparseToDense(LinearMap):
    """dense = Σ_e v_e · onehot(position_e); d/dv_e = the gradient at position_e."""

    complex_grad = "holomorphic"  # linear
    node_name = "ToDenseBackward0"  # PyTorch's node of to_dense
    map = staticmethod(kernels.to_dense)


class SparseGather(LinearMap):
    """v_e = dense[position_e]; the adjoint scatters (sums) back: :class:`SparseToDense`."""

    complex_grad = "holomorphic"
    map = staticmethod(kernels.gather)


class CoalesceValues(LinearMap):
    """The values of the coalesced tensor: c_u = Σ_{e: inverse_e = u} v_e (d/dv_e = g_u)."""

    complex_grad = "holomorphic"
    map = staticmethod(kernels.segment_sum)


class ExpandDuplicates(LinearMap):
    """v_e = c_{inverse_e}: each coalesced value copied to its entries (adjoint of
    :class:`CoalesceValues`)."""

    complex_grad = "holomorphic"

    @staticmethod
    def map(coalesced, plan):
        return coalesced[plan.inverse]


adjoint_pair(SparseToDense, SparseGather)
adjoint_pair(CoalesceValues, ExpandDuplicates)


class Spmm(Function):
    """Y = A X for the sparse (m, k) matrix A of values ``v`` and a dense (k, n) ``X``.

    Bilinear: dX = Aᵀ G (an ``Spmm`` on the transposed pattern) and
    dv_e = G[row_e] · X[col_e] (:class:`SampledDot`). Shown as PyTorch's ``MmBackward0``
    (``mm``, ``@``, ``spmm`` of a sparse first operand) listing both operands, one without a
    gradient as ``None``, as PyTorch's."""

    raw = True
    node_name = ("MmBackward0", (0, 1))

    @staticmethod
    def forward(ctx, values, dense, pattern):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(values if needs[1] else None, dense if needs[0] else None)
        ctx.pattern = pattern
        return kernels.spmm(values, dense, pattern)

    @staticmethod
    def backward(ctx, grad):
        values, dense = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (*spmm_backward(values, dense, ctx.pattern, grad, needs[0], needs[1]), None)

    @staticmethod
    def jvp(ctx, tv, tx, _):
        values, dense, pattern = ctx.primals
        return spmm_jvp(values, dense, pattern, tv, tx)


def spmm_backward(values, dense, pattern, grad, need_values: bool, need_dense: bool) -> tuple:
    """The gradients of ``A X`` (A: ``values`` on ``pattern``) for the values and ``X``
    (None where not needed): :class:`SampledDot` and an :class:`Spmm` of Aᵀ. Shared by
    ``Spmm`` and the ``torch.sparse.mm`` node."""
    gv = SampledDot.apply(grad, dense, pattern) if need_values else None
    gx = Spmm.apply(values, grad, pattern.transposed()) if need_dense else None
    return gv, gx


def spmm_jvp(values, dense, pattern, tv, tx):
    """The tangent of ``A X`` from the values' tangent ``tv`` and ``X``'s ``tx`` (either
    None): bilinear, one product per tangent given."""
    out = None if tv is None else kernels.spmm(tv, dense, pattern)
    if tx is not None:
        term = kernels.spmm(values, tx, pattern)
        out = term if out is None else out + term
    return out


def _spmm_side(values, dense, pattern, right):
    """``A @ dense`` (``dense @ A`` where ``right``) of raw arrays, for the sparse matrix
    ``A`` of ``values`` on ``pattern``; ``dense @ A`` is ``(Aᵀ denseᵀ)ᵀ``, column-major as
    PyTorch's result is."""
    if not right:
        return kernels.spmm(values, dense, pattern)
    return kernels.spmm(values, dense.T, pattern.transposed()).T


class SourceToDense(Function):
    """``to_dense(masked_grad=False)`` of a sparse tensor converted from the dense ``source``
    (``x.to_sparse()``, kept through ``* c``, ``t``, ``coalesce``...): the value from the
    stored ``values`` (:class:`SparseToDense`'s), while ``source`` gets the whole gradient,
    unmasked, as PyTorch's unmasked ``ToDenseBackward0`` sends it back through
    ``ToSparseBackward0``; ``values`` (read from ``source``) get none of their own."""

    raw = True
    complex_grad = "holomorphic"  # linear
    node_name = "ToDenseBackward0"

    @staticmethod
    def forward(ctx, source, values, pattern):
        ctx.pattern = pattern
        return kernels.to_dense(values, pattern)

    @staticmethod
    def backward(ctx, grad):
        return grad, None, None

    @staticmethod
    def jvp(ctx, _ts, tv, _pattern):
        return None if tv is None else kernels.to_dense(tv, ctx.pattern)


class SourceSpmm(Function):
    """``A @ X`` (``X @ A`` where ``right``) for a sparse ``A`` converted from the dense
    ``source`` (``mm``, ``@``, ``bmm``): the value is :class:`Spmm`'s, from the stored
    ``values`` only (a non-finite entry of ``X`` meets no unstored zero of ``A``: NaN only
    where PyTorch has it), while ``source`` gets PyTorch's full gradient (``G Xᵀ`` or
    ``Xᵀ G``, not only on the pattern), to any order: ``X``'s gradient is again a
    ``SourceSpmm`` (of ``Aᵀ``). ``values`` (read from ``source``) get no gradient of their
    own: theirs reaches ``source``. Shown as PyTorch's ``MmBackward0`` listing its operands in
    order, the sparse one by its own node (``ToSparseBackward1``), one without a gradient as
    ``None``."""

    raw = True
    node_name = staticmethod(lambda node: ("MmBackward0", (2, 1) if node.right else (1, 2)))

    @staticmethod
    def forward(ctx, source, values, dense, pattern, right=False):
        needs = ctx.needs_input_grad
        keep = needs[2] or None
        ctx.save_for_backward(keep and source, keep and values, dense if needs[0] else None)
        ctx.pattern = pattern
        ctx.right = right
        ctx.source_shape = source.shape  # (batch, n, m) for bmm's block-diagonal pattern
        return _spmm_side(values, dense, pattern, right)

    @staticmethod
    def backward(ctx, grad):
        source, values, dense = ctx.saved_tensors
        needs = ctx.needs_input_grad
        gs = gx = None
        if needs[0] and ctx.right:
            gs = dense.t() @ grad
        elif needs[0] and len(ctx.source_shape) == 2:
            gs = grad @ dense.t()
        elif needs[0]:  # bmm: the blocks' gradients G_b X_bᵀ
            batch, n, m = ctx.source_shape
            p = grad.shape[1]
            gs = grad.reshape(batch, n, p) @ dense.reshape(batch, m, p).transpose(1, 2)
        if needs[2]:  # Aᵀ G (G Aᵀ), again from the stored values
            source_t = source.transpose(-2, -1)
            pattern_t = ctx.pattern.transposed()
            gx = SourceSpmm.apply(source_t, values, grad, pattern_t, ctx.right)
        return gs, None, gx, None, None

    @staticmethod
    def jvp(ctx, _ts, tv, tx, _pattern, _right):
        _source, values, dense, pattern, right = ctx.primals
        out = None if tv is None else _spmm_side(tv, dense, pattern, right)
        if tx is not None:
            term = _spmm_side(values, tx, pattern, right)
            out = term if out is None else out + term
        return out


class SampledDot(Function):
    """v_e = a[row_e] · b[col_e] (the entries of a bᵀ on a 2-d pattern).

    Bilinear: da = S b and db = Sᵀ a, with S the sparse matrix of the incoming gradient on
    the pattern (two :class:`Spmm`)."""

    raw = True

    @staticmethod
    def forward(ctx, a, b, pattern):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(a if needs[1] else None, b if needs[0] else None)
        ctx.pattern = pattern
        return kernels.sampled_dot(a, b, pattern)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        pattern = ctx.pattern
        ga = Spmm.apply(grad, b, pattern) if needs[0] else None
        gb = Spmm.apply(grad, a, pattern.transposed()) if needs[1] else None
        return ga, gb, None

    @staticmethod
    def jvp(ctx, ta, tb, _):
        a, b, pattern = ctx.primals
        out = None if ta is None else kernels.sampled_dot(ta, b, pattern)
        if tb is not None:
            term = kernels.sampled_dot(a, tb, pattern)
            out = term if out is None else out + term
        return out


# ----------------------------------------------------------------- PyTorch's node names
# The sparse tensor's ``grad_fn`` is its values' node (``make_sparse``), so the ops that make
# a sparse tensor record their values under PyTorch's name for the op: the same rules,
# renamed (to_sparse, coalesce), and an identity where PyTorch records a node and chainrule
# has no op (a constructor given values that require grad).
class SparseValuesAlias(LinearMap):
    """v -> v (a NumPy view): the node a sparse constructor records on its values."""

    complex_grad = "holomorphic"
    node_name = "SparseCooTensorWithDimsAndTensorsBackward0"

    @staticmethod
    def map(x, const):
        return x.view()


class CompressedValuesAlias(SparseValuesAlias):
    node_name = "SparseCompressedTensorBackward0"


class ToSparseCsrAlias(SparseValuesAlias):
    node_name = "ToSparseCsrBackward0"  # a COO tensor's entries as a CSR matrix


class ToSparse(SparseGather):
    node_name = "ToSparseBackward1"


class ToSparseDim(SparseGather):
    node_name = "ToSparseBackward0"  # to_sparse(sparse_dim)


class ToSparseCsr(SparseGather):
    node_name = "ToSparseCsrBackward0"


class Coalesce(CoalesceValues):
    node_name = "CoalesceBackward0"


class NamedValues(SparseValuesAlias):
    """An alias recorded under the name it is given (its ``const``): see :func:`named`."""

    @staticmethod
    def node_name(node):
        return node.const


SparseValuesAlias.adjoint = SparseValuesAlias
NamedValues.adjoint = NamedValues


def named(values, name):
    """``values``, recorded as PyTorch's node ``name`` when they are in a graph (one alias
    node, so that the sparse tensor made of them shows PyTorch's ``grad_fn``)."""
    if values.requires_grad and is_grad_enabled():
        return NamedValues.apply(values, name)
    return values


class FunctionInputEdge(Function):
    """The graph edge of a sparse tensor whose values require grad, passed to a custom
    ``autograd.Function`` (``SparseMM.apply(L, x)``): the Function's ``backward`` returns a
    gradient of the sparse tensor's full size, dense or sparse, and this node turns it into
    the values' gradient: the gradient at each entry's position (each duplicate entry gets
    it whole; a sparse gradient read as its dense sum), as PyTorch's
    ``SparseCooTensorWithDimsAndTensorsBackward0`` projects it.

    Nothing is computed forward: the output (only its node is used) is a read-only zero of
    the full size, broadcast from one element."""

    raw = True

    @staticmethod
    def node_name(node):
        """The name of the node that made the sparse tensor, which PyTorch links to."""
        return node.public_name

    @staticmethod
    def forward(ctx, values, pattern, public_name):
        ctx.pattern = pattern  # the entries' positions: constant (no tensor of the graph)
        ctx.public_name = public_name
        return np.broadcast_to(np.zeros((), values.dtype), pattern.shape + values.shape[1:])

    @staticmethod
    def backward(ctx, grad):
        if grad.is_sparse:
            grad = grad.to_dense()
        return SparseGather.apply(grad, ctx.pattern), None, None
