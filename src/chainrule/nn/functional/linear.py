"""Affine maps: ``linear`` (y = x Wᵀ + b) and ``bilinear`` (y_k = x1ᵀ A_k x2 + b_k).

``linear`` is one fused op: forward is a single matmul plus an in-place bias add, and the
backward is two matmuls and a column sum (dx = G W, dW = Gᵀ x, db = Σ_rows G), all written
with Tensor ops so double backward works. Leading batch dimensions are flattened into
one so every product is a single 2-d BLAS call.
"""
from __future__ import annotations

import numpy as np

from ..._kernels import eligible
from ..._kernels.embedding import scatter_add_rows
from ...autograd.function import Function
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...ops._util import ShapeError
from ...ops.linalg import matmul
from ...ops.reduction import sum as _sum
from ...ops.shape import reshape, transpose

__all__ = ["bilinear", "embedding", "linear"]


class _Linear(Function):
    """y = x Wᵀ + b for x of shape (*, in), W (out, in), b (out,) or None."""

    raw = True

    @staticmethod
    def forward(ctx, x, w, b):
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        y = x2 @ w.T
        if b is not None:
            y += b
        ctx.save_for_backward(x, w)
        if x.ndim != 2:
            y = y.reshape(x.shape[:-1] + (w.shape[0],))
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if not ctx.create_graph:  # plain backward: raw arrays, no recorded reshapes/matmuls
            return _linear_backward_arrays(x._data, w._data, grad._data, needs)
        g2 = grad if grad.ndim == 2 else reshape(grad, (-1, grad.shape[-1]))
        gx = gw = gb = None
        if needs[0]:
            gx = matmul(g2, w)
            if x.ndim != 2:
                gx = reshape(gx, x.shape)
        if needs[1]:
            x2 = x if x.ndim == 2 else reshape(x, (-1, x.shape[-1]))
            gw = matmul(transpose(g2, 0, 1), x2)
        if len(needs) > 2 and needs[2]:
            gb = _sum(g2, 0)
        return gx, gw, gb

    @staticmethod
    def jvp(ctx, tx, tw, tb):
        x, w, _ = ctx.primals
        out = None if tx is None else tx @ w.T
        if tw is not None:
            out = x @ tw.T if out is None else out + x @ tw.T
        if tb is not None:
            out = tb if out is None else out + tb
        return out


def _linear_backward_arrays(x, w, g, needs):
    """(dx, dW, db) = (G W, Gᵀ x, Σ_rows G) on raw arrays, leading dims flattened (each a
    single BLAS call reading the transposed operand in place)."""
    g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
    gx = gw = gb = None
    if needs[0]:
        gx = g2 @ w
        if x.ndim != 2:
            gx = gx.reshape(x.shape)
    if needs[1]:
        gw = g2.T @ (x if x.ndim == 2 else x.reshape(-1, x.shape[-1]))
    if len(needs) > 2 and needs[2]:
        gb = g2.sum(0)
    return tuple(None if a is None else Tensor._make(a, False, None, 0) for a in (gx, gw, gb))


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Apply y = x Wᵀ + b.

    Args:
        input: (*, in_features).
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Returns:
        (*, out_features).
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"linear: input and weight must be Tensors, got "
                        f"{type(input).__name__} and {type(weight).__name__}")
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-d (out_features, in_features), got shape "
                         f"{weight.shape}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input of shape {input.shape} does not match weight of shape "
                         f"{weight.shape}: the last input dimension must be "
                         f"in_features={weight.shape[1]}")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    if input.dtype != weight.dtype:
        raise TypeError(f"linear: input dtype {input.dtype} differs from weight dtype "
                        f"{weight.dtype}; convert one, e.g. x.to({weight.dtype})")
    if input.ndim == 1:
        return reshape(_Linear.apply(reshape(input, (1, -1)), weight, bias), (-1,))
    return _Linear.apply(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """y[..., k] = Σ_ij x1[..., i] A[k, i, j] x2[..., j] + b[k].

    Shapes: input1 (*, in1), input2 (*, in2), weight (out, in1, in2), bias (out,).
    """
    from ...ops.linalg import einsum

    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or \
            input2.shape[-1] != weight.shape[2] or input1.shape[:-1] != input2.shape[:-1]:
        raise ShapeError(f"bilinear: incompatible shapes input1 {input1.shape}, input2 "
                         f"{input2.shape}, weight {weight.shape} (expected (*, in1), (*, in2), "
                         "(out, in1, in2))")
    y = einsum("...i,kij,...j->...k", input1, weight, input2)
    return y if bias is None else y + bias


class _Embedding(Function):
    """out = weight[idx]; dweight = scatter-add of grad rows (rows at padding_idx get 0)."""

    raw = True

    @staticmethod
    def forward(ctx, weight, idx, padding_idx, scale_grad_by_freq=False):
        ctx.shape, ctx.idx, ctx.padding_idx = weight.shape, idx, padding_idx
        ctx.scale_grad_by_freq = scale_grad_by_freq
        ctx.save_for_backward(idx)  # version-checked: modifying the indices in place raises
        return weight[idx]

    @staticmethod
    def backward(ctx, grad):
        ctx.saved_tensors  # noqa: B018 - raises if the indices were modified in place
        keep = None
        if ctx.padding_idx is not None:
            keep = (ctx.idx != ctx.padding_idx).astype(grad.dtype)[..., None]
        if ctx.scale_grad_by_freq:  # divide each row's gradient by its index's frequency
            xp = get_array_module(ctx.idx)
            _, inverse, counts = xp.unique(ctx.idx, return_inverse=True, return_counts=True)
            inv_freq = (1.0 / counts[inverse.reshape(ctx.idx.shape)]).astype(grad.dtype)
            keep = inv_freq[..., None] if keep is None else keep * inv_freq[..., None]
        if keep is not None:
            grad = grad * Tensor._make(keep, False, None, 0)
        if get_array_module(ctx.idx) is not np:  # pragma: no cover - cupy
            from ...ops.indexing import IndexAdd

            return IndexAdd.apply(grad, ctx.shape, ctx.idx), None, None, None
        return _ScatterRows.apply(grad, ctx.shape, ctx.idx), None, None, None

    @staticmethod
    def jvp(ctx, tw, *_):
        """The looked-up rows of the weight's tangent (the lookup is linear in the weight)."""
        return None if tw is None else tw[ctx.idx]


class _ScatterRows(Function):
    """zeros(shape) with the rows of ``g`` (*idx.shape, D) added at ``idx``: the embedding's
    gradient. One compiled pass or a sort + ``reduceat`` (``_kernels/embedding.py``) instead
    of ``np.add.at``. Linear in g; its backward is the lookup ``gg[idx]`` (an embedding)."""

    raw = True

    @staticmethod
    def forward(ctx, g, shape, idx):
        ctx.idx = idx
        flat = np.ascontiguousarray(idx.reshape(-1), dtype=np.intp)
        g2 = np.ascontiguousarray(g.reshape(-1, shape[1]))
        if eligible(g2, min_size=1):
            return scatter_add_rows(g2, flat, shape[0])
        return scatter_add_rows.fallback(g2, flat, shape[0])

    @staticmethod
    def backward(ctx, gg):
        return _Embedding.apply(gg, ctx.idx, None), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return None if t is None else _ScatterRows.forward(ctx, t, ctx.primals[1], ctx.idx)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows of ``weight`` (num_embeddings, dim) at integer indices ``input``.

    Returns shape input.shape + (dim,). Rows at ``padding_idx`` receive no gradient.
    """
    idx = input._data if isinstance(input, Tensor) else input
    if getattr(idx, "dtype", None) is None or idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got "
                        f"{getattr(idx, 'dtype', type(idx).__name__)}")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"embedding: index out of range: indices span [{int(idx.min())}, "
                         f"{int(idx.max())}] but there are only {n} embeddings")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += n
    if max_norm is not None:  # renormalise looked-up rows in place, as PyTorch
        xp = get_array_module(weight._data)
        rows = xp.unique(idx)
        norms = (xp.abs(weight._data[rows]) ** norm_type).sum(-1) ** (1.0 / norm_type)
        scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight._data[rows] *= scale[:, None].astype(weight.dtype)
    if sparse:
        raise NotImplementedError("embedding: sparse=True is not supported (chainrule has no "
                                  "sparse gradients); use sparse=False")
    return _Embedding.apply(weight, input if isinstance(input, Tensor) else idx, padding_idx,
                            bool(scale_grad_by_freq))
