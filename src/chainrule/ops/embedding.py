"""Embedding lookup and its gradient, the row scatter-add: the derivative rules behind
``F.embedding``.

    out = W[idx]                       (EmbeddingFn)
    dW  = zeros_like(W); dW[idx] += G  (ScatterRowsFn; rows at padding_idx get 0)
    sparse=True: dW = the sparse COO tensor of the rows of G at idx (not summed)

The lookup is linear in W and the scatter-add is linear in G, and each is the other's
adjoint, so each op's backward is the other op: double backward works at any order. The
scatter-add runs one compiled pass or a sort + ``reduceat`` (``_kernels/embedding.py``)
instead of ``np.add.at``. ``F.embedding`` (``nn/functional/linear.py``) checks the indices,
applies ``max_norm`` and calls :class:`EmbeddingFn`.
"""

from __future__ import annotations

import numpy as np

from .._kernels import eligible
from .._kernels.embedding import scatter_add_rows
from ..autograd.function import Function
from ..autograd.saved_fields import as_uint64  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .sparse_pattern import SparsePattern
from .sparse_tensor import make_sparse
from .subscript_read import IndexAdd

__all__ = ["EmbeddingFn", "ScatterRowsFn"]


class EmbeddingFn(Function):
    """out = weight[idx]; dweight = scatter-add of grad rows (rows at padding_idx get 0)."""

    raw = True
    node_name = ("EmbeddingBackward0", (0,))
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py); no padding: -1
        "indices": 0,
        "padding_idx": lambda n: as_uint64(-1 if n.padding_idx is None else n.padding_idx),
        "scale_grad_by_freq": lambda n: n.scale_grad_by_freq,
        "sparse": lambda n: n.sparse,
        "weight_sym_argsize_0": lambda n: n.shape[0],
    }

    @staticmethod
    def forward(ctx, weight, idx, padding_idx, scale_grad_by_freq=False, sparse=False):
        ctx.shape, ctx.padding_idx = weight.shape, padding_idx
        ctx.scale_grad_by_freq, ctx.sparse = scale_grad_by_freq, sparse
        ctx.save_for_backward(idx)  # version-checked: modifying the indices in place raises
        return weight[idx]

    @staticmethod
    def backward(ctx, grad):
        idx = ctx.saved_tensors[0]._data  # raises if the indices were modified in place
        if ctx.sparse:
            return _sparse_grad(ctx, grad, idx), None, None, None, None
        keep = None
        if ctx.padding_idx is not None:
            keep = (idx != ctx.padding_idx).astype(grad.dtype)[..., None]
        if ctx.scale_grad_by_freq:  # divide each row's gradient by its index's frequency
            xp = get_array_module(idx)
            _, inverse, counts = xp.unique(idx, return_inverse=True, return_counts=True)
            inv_freq = (1.0 / counts[inverse.reshape(idx.shape)]).astype(grad.dtype)
            keep = inv_freq[..., None] if keep is None else keep * inv_freq[..., None]
        if keep is not None:
            grad = grad * Tensor._make(keep, False, None, 0)
        if get_array_module(idx) is not np:  # pragma: no cover - cupy
            return IndexAdd.apply(grad, ctx.shape, idx), None, None, None, None
        return ScatterRowsFn.apply(grad, ctx.shape, idx), None, None, None, None

    @staticmethod
    def jvp(ctx, tw, *_):
        """The looked-up rows of the weight's tangent (the lookup is linear in the weight)."""
        return None if tw is None else tw[ctx.saved_arrays[0]]


class ScatterRowsFn(Function):
    """zeros(shape) with the rows of ``g`` (*idx.shape, D) added at ``idx``: the embedding's
    gradient. One compiled pass or a sort + ``reduceat`` (``_kernels/embedding.py``) instead
    of ``np.add.at``. Linear in g; its backward is the lookup ``gg[idx]`` (an embedding)."""

    raw = True
    node_name = "ScatterRowsBackward0"

    @staticmethod
    def forward(ctx, g, shape, idx):
        ctx.save_for_backward(idx)
        return _scatter_rows(g, shape, idx)

    @staticmethod
    def backward(ctx, gg):
        return EmbeddingFn.apply(gg, ctx.saved_tensors[0]._data, None), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return None if t is None else _scatter_rows(t, ctx.primals[1], ctx.saved_arrays[0])


def _sparse_grad(ctx, grad, idx):
    """``sparse=True``: the gradient as PyTorch gives it, an uncoalesced hybrid sparse COO
    tensor (sparse_dim 1, dense_dim 1) with one entry per looked-up index (in input order,
    entries at ``padding_idx`` left out) whose value is that lookup's gradient row."""
    if ctx.scale_grad_by_freq:
        raise RuntimeError(
            "embedding_backward: scale_grad_by_freq not supported with sparse gradients"
        )
    flat = idx.reshape(-1).astype(np.int64)
    values = grad.reshape(flat.size, ctx.shape[1])
    if ctx.padding_idx is not None:
        keep = flat != ctx.padding_idx
        flat = flat[keep]
        values = values[Tensor._make(keep, False, None, 0)]
    coalesced = flat.size <= 1  # one entry or none: coalesced, as PyTorch marks it
    pattern = SparsePattern(np.ascontiguousarray(flat[None, :]), ctx.shape[:1], coalesced)
    return make_sparse(values, pattern)


def _scatter_rows(g, shape, idx):
    """zeros(shape) with the rows of g added at idx (NumPy arrays)."""
    flat = np.ascontiguousarray(idx.reshape(-1), dtype=np.intp)
    g2 = np.ascontiguousarray(g.reshape(flat.size, shape[1]))  # not -1: ambiguous if dim 0
    if eligible(g2, min_size=1):
        return scatter_add_rows(g2, flat, shape[0])
    return scatter_add_rows.fallback(g2, flat, shape[0])
