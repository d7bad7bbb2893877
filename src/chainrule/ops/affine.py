"""The affine map y = x Wᵀ + b as one fused op: the derivative rule behind ``F.linear``.

Forward is a single matmul plus an in-place bias add; the backward is two matmuls and a
column sum,

    dx = G W,   dW = Gᵀ x,   db = Σ_rows G,

written with Tensor ops when a graph is being built (so double backward works) and on raw
arrays otherwise (no recorded reshapes or matmuls). Leading batch dimensions are flattened
into one so that every product is a single 2-d GEMM: on chainrule's compiled thread pool
when it applies (:mod:`chainrule._kernels.pool_gemm`), else NumPy's matmul. ``F.linear``
(``nn/functional/linear.py``) checks the arguments and calls :class:`LinearFn`.
"""

from __future__ import annotations

import math

import numpy as np

from .._kernels import pool_gemm
from .._kernels.half_gemm import half_matmul, is_host_half
from ..autograd.function import Function
from ..autograd.lower_precision import AUTOCAST
from ..autograd.saved_fields import product_fields  # grad_fn._saved_* helpers
from ..autograd.tensor import Tensor
from ._first_order import autocast_products
from .linalg import matmul
from .reduction import sum as _sum
from .shape import reshape, transpose

__all__ = ["LinearFn"]


def _rows(shape: tuple) -> int:
    """The rows of ``shape`` with its leading dims flattened: explicit, since ``-1`` is
    ambiguous when the last dim is 0 (``F.linear`` with ``in_features == 0``)."""
    return math.prod(shape[:-1])


class LinearFn(Function):
    """y = x Wᵀ + b for x of shape (*, in), W (out, in), b (out,) or None."""

    raw = True

    @staticmethod
    def node_name(ctx):  # PyTorch's F.linear on 2-d input: addmm(bias, x, w.t()) or x @ w.t()
        edges = ctx.next_edges  # (x, w, b); fewer on a bfloat16 cast node with this name
        if len(edges) < 3 or edges[2] is None:
            return "MmBackward0", (0, 1)
        return "AddmmBackward0", (2, 0, 1)

    @staticmethod
    def saved_fields(node):  # grad_fn._saved_* as PyTorch's addmm(b, x, w.t()) / mm
        if node.name() == "MmBackward0":
            return product_fields(("self", "mat2"), (0, 1), transposed=True)
        fields = product_fields(("mat1", "mat2"), (0, 1), transposed=True)
        return {"alpha": lambda n: 1, "beta": lambda n: 1, **fields}

    @staticmethod
    def forward(ctx, x, w, b):
        x2 = x.reshape(_rows(x.shape), x.shape[-1]) if x.ndim != 2 else x
        y = pool_gemm.matmul(x2, w, trans_b=True)  # on the compiled pool, or None
        if y is None:
            if b is not None and x2.dtype.char == "e":  # float16: x Wᵀ + b rounded once
                y = (x2.astype(np.float32) @ w.T.astype(np.float32) + b).astype(x2.dtype)
                b = None
            else:
                y = half_matmul(x2, w.T) if is_host_half(x2) else x2 @ w.T
        if b is not None:
            y += b
        # each matrix only where the other's gradient reads it, as PyTorch's addmm/mm: a
        # probe on frozen features keeps no weight, so stepping it in place between two
        # backwards of one graph is allowed (torch's ``_saved_mat2`` is None there too)
        needs = ctx.needs_input_grad
        ctx.save_for_backward(x if needs[1] else None, w if needs[0] else None)
        if x.ndim != 2:
            y = y.reshape(x.shape[:-1] + (w.shape[0],))
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if AUTOCAST[0]:  # inside an autocast block: PyTorch's mm operands are cast
            gc, xc, wc = autocast_products(grad, x, w)
            if gc is not grad:  # the bias's column sum is of the gradient as it came
                gx, gw, _ = _recorded_backward(gc, xc, wc, needs[:2])
                gb = None
                if len(needs) > 2 and needs[2]:
                    gb = _recorded_backward(grad, None, None, (False, False, True))[2]
                return gx, gw, gb
        if not ctx.create_graph:  # plain backward: raw arrays, no recorded reshapes/matmuls
            xa, wa = (None if t is None else t._data for t in (x, w))
            return _linear_backward_arrays(xa, wa, grad._data, needs)
        return _recorded_backward(grad, x, w, needs)

    @staticmethod
    def jvp(ctx, tx, tw, tb):
        x, w, _ = ctx.primals
        out = None if tx is None else tx @ w.T
        if tw is not None:
            out = x @ tw.T if out is None else out + x @ tw.T
        if tb is not None:
            out = tb if out is None else out + tb
        return out


def _recorded_backward(grad: Tensor, x: Tensor | None, w: Tensor | None, needs: tuple) -> tuple:
    """(dx, dW, db) with Tensor ops (recorded under ``create_graph``; a bfloat16 product
    computed in float32 and rounded once, as ``MatMul``'s): the entries ``needs`` asks for,
    ``x`` read only for dW and ``w`` only for dx."""
    g2 = grad if grad.ndim == 2 else reshape(grad, (_rows(grad.shape), grad.shape[-1]))
    gx = gw = gb = None
    if needs[0]:
        gx = matmul(g2, w)
        if grad.ndim != 2:  # x's shape: the gradient's leading dims, W's input size
            gx = reshape(gx, grad.shape[:-1] + (w.shape[1],))
    if needs[1]:
        x2 = x if x.ndim == 2 else reshape(x, (_rows(x.shape), x.shape[-1]))
        gw = matmul(transpose(g2, 0, 1), x2)
    if len(needs) > 2 and needs[2]:
        gb = _sum(g2, 0)
    return gx, gw, gb


def _linear_backward_arrays(x, w, g, needs):
    """(dx, dW, db) = (G W, Gᵀ x, Σ_rows G) on raw arrays, leading dims flattened (each a
    single GEMM reading the transposed operand in place; dx and dW in one launch of the
    compiled pool when it applies). ``x`` is None unless dW is needed, ``w`` unless dx is."""
    g2 = g if g.ndim == 2 else g.reshape(_rows(g.shape), g.shape[-1])
    gx = gw = gb = None
    x2 = None if x is None or x.ndim == 2 else x.reshape(_rows(x.shape), x.shape[-1])
    x2 = x if x2 is None else x2
    both = None
    if needs[0] and needs[1]:  # equal work: one launch, one whole GEMM per thread
        both = pool_gemm.matmul_pair((g2, w, False, False), (g2, x2, True, False))
    x_shape = None if w is None else g.shape[:-1] + (w.shape[1],)
    if both is not None:
        gx, gw = both
        gx = gx.reshape(x_shape) if g.ndim != 2 else gx
    elif needs[0]:
        gx = pool_gemm.matmul(g2, w)
        if gx is None:
            gx = half_matmul(g2, w) if is_host_half(g2) else g2 @ w
        if g.ndim != 2:
            gx = gx.reshape(x_shape)
    if needs[1] and gw is None:
        gw = pool_gemm.matmul(g2, x2, trans_a=True)
        if gw is None:
            gw = half_matmul(g2.T, x2) if is_host_half(g2) else g2.T @ x2
    if len(needs) > 2 and needs[2]:  # (float16: summed in float32, rounded once)
        gb = g2.sum(0) if g2.dtype.char != "e" else g2.sum(0, np.float32).astype(g2.dtype)
    return tuple(None if a is None else Tensor._make(a, False, None, 0) for a in (gx, gw, gb))
