"""``addmm``, ``addmv``, ``baddbmm``, ``addbmm`` and ``addr`` as one graph node each, under
PyTorch's names (``AddmmBackward0``, ``AddmvBackward0``, ``BaddbmmBackward0``,
``AddbmmBackward0``, ``AddrBackward0``).

They were compositions (the product, a scale by ``alpha``, a scale by ``beta``, an add: up to
four nodes, and a ``sum`` for ``addbmm``). As single nodes they list ``input`` and the two
operands as PyTorch's do (None for one without a gradient) and save what PyTorch's save: each
operand only when the other one's gradient is wanted. With ``P`` the product:

* ``y = beta * input + alpha * P``, ``input`` ignored where ``beta == 0`` (its NaN does not
  propagate), broadcast to ``P``'s shape;
* ``dy/dinput = beta`` (the engine sums a broadcast input's gradient back to its shape);
* ``addmm`` ``P = A B``: ``dA = alpha G Bᵀ``, ``dB = alpha Aᵀ G``;
* ``addmv`` ``P = A v``: ``dA = alpha outer(G, v)``, ``dv = alpha Aᵀ G``;
* ``baddbmm`` ``P[i] = A[i] B[i]``: the ``addmm`` rules per matrix of the batch;
* ``addbmm`` ``P = sum_i A[i] B[i]``: ``dA[i] = alpha G B[i]ᵀ``, ``dB[i] = alpha A[i]ᵀ G``
  (its forward is one product of the batch laid side by side: ``[A0 .. An] [B0; ..; Bn]``).

The products run on the fast BLAS paths of ``matmul`` (the compiled pool for 2-d, one BLAS
thread per matrix for batches); a plain backward computes on raw arrays, with
``create_graph=True`` the same formulas are written with Tensor ops so they differentiate
again. All four are complex bilinear in the operands (holomorphic rules). The public
functions (``scaled_products.py``, ``products.py``) check arguments, autocast and round
bfloat16 once, and call these when all three tensors share one dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import pool_gemm
from .._kernels.blas import matmul_stack
from ..autograd.function import Function
from ..autograd.saved_fields import input_shape, product_fields  # grad_fn._saved_* helpers
from ..autograd.tensor import Tensor
from ..backend import get_array_module, is_writeable
from ..threads import elementwise
from .linalg import MatMul, outer
from .matmul_arrays import ROW_MAJOR, column_major
from .shape import transpose

__all__ = ["Addbmm", "Addmm", "Addmv", "Addr", "Baddbmm"]


def _mm(a: Any, b: Any) -> Any:
    """``a @ b`` on raw arrays: the compiled pool (2-d) or one BLAS thread per matrix
    (stacks), else NumPy's matmul."""
    if a.ndim == 2 and b.ndim == 2:
        out = pool_gemm.matmul_2d(a, b)
    elif a.ndim > 2:
        return matmul_stack(a, b)
    else:
        out = None
    return a @ b if out is None else out


def _mT(a: Any) -> Any:
    return a.swapaxes(-1, -2)


def _scale(a: Any, s: Any) -> Any:
    """``a * s`` into ``a`` itself (a fresh product) on the intra-op threads; ``a`` when s = 1."""
    if s == 1:
        return a
    if getattr(a, "ndim", 0) and is_writeable(a):
        return elementwise(np.multiply, a, s, out=a)
    return a * s


def _combine(prod: Any, inp: Any, beta: Any, alpha: Any) -> Any:
    """``alpha * prod + beta * inp`` with ``prod`` fresh (written in place); ``inp`` unread
    when ``beta == 0``."""
    out = _scale(prod, alpha)
    if beta == 0:
        return out
    term = inp if beta == 1 else elementwise(np.multiply, inp, beta)
    if getattr(out, "ndim", 0) and is_writeable(out):
        return elementwise(np.add, out, term, out=out)
    return out + term


def _raw_ok(ctx: Any, grad: Tensor, *saved: Any) -> bool:
    """Whether the backward can run on raw NumPy arrays (no graph to record)."""
    return (
        not ctx.create_graph
        and type(grad._data) is np.ndarray
        and all(s is None or type(s._data) is np.ndarray for s in saved)
    )


def _wrap(a: Any) -> Tensor:
    return Tensor._make(a, False, None, 0)


class _AddProduct(Function):
    """``beta * input + alpha * product(a, b)``: the shared forward, save and jvp; each
    subclass gives the product and its two partial rules."""

    raw = True
    complex_grad = "holomorphic"

    @classmethod
    def _product(cls, a: Any, b: Any) -> Any:
        return _mm(a, b)

    @staticmethod
    def forward(ctx, inp, a, b, beta, alpha):
        ctx.beta, ctx.alpha = beta, alpha
        needs = ctx.needs_input_grad
        # dA reads only B and dB only A (as PyTorch): an operand is kept for the other's grad
        ctx.save_for_backward(a if needs[2] else None, b if needs[1] else None)
        dt = a.dtype
        if dt.char == "e":  # float16: the product and sum in float32, rounded once (PyTorch)
            a, b = a.astype(np.float32), b.astype(np.float32)
        prod = ctx._forward_cls._product(a, b)
        out = _combine(prod, inp, beta, alpha)
        return get_array_module(out).asarray(out).astype(dt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs, beta, alpha = ctx.needs_input_grad, ctx.beta, ctx.alpha
        cls = ctx._forward_cls
        gin = (grad if beta == 1 else grad * beta) if needs[0] else None
        if _raw_ok(ctx, grad, a, b):
            g = grad._data
            if alpha != 1 and (needs[1] or needs[2]):  # one scaled copy read by both products
                g = elementwise(np.multiply, g, alpha)
            elif not (g.flags.c_contiguous or g.flags.f_contiguous):  # sum()'s broadcast ones:
                g = np.ascontiguousarray(g)  # BLAS needs real strides (else a slow loop)
            ga = _wrap(cls._grad_a(g, b._data)) if needs[1] else None
            gb = _wrap(cls._grad_b(g, a._data)) if needs[2] else None
            return gin, ga, gb, None, None
        if alpha != 1:
            grad = grad * alpha
        ga = cls._grad_a_t(grad, b) if needs[1] else None
        gb = cls._grad_b_t(grad, a) if needs[2] else None
        return gin, ga, gb, None, None

    @staticmethod
    def jvp(ctx, tin, ta, tb, *_):
        _inp, a, b = ctx.primals[:3]
        cls, beta, alpha = ctx._forward_cls, ctx.beta, ctx.alpha
        out = None
        if ta is not None:
            out = cls._product(ta, b)
        if tb is not None:
            term = cls._product(a, tb)
            out = term if out is None else out + term
        if out is not None and alpha != 1:
            out = out * alpha
        if tin is not None and beta != 0:
            term = tin if beta == 1 else tin * beta
            out = term if out is None else out + term
        xp = get_array_module(ctx.out)
        if out is None:
            return xp.zeros(ctx.out.shape, ctx.out.dtype)
        return xp.broadcast_to(xp.asarray(out, ctx.out.dtype), ctx.out.shape).copy()


class Addmm(_AddProduct):
    """``beta * input + alpha * (mat1 @ mat2)`` for 2-d matrices (``AddmmBackward0``)."""

    node_name = ("AddmmBackward0", (0, 1, 2))
    saved_input_names = ("self", "mat1", "mat2")
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        "alpha": lambda n: n.alpha,
        "beta": lambda n: n.beta,
        **product_fields(("mat1", "mat2"), (1, 2)),
    }

    @staticmethod
    def forward(ctx, inp, a, b, beta, alpha):
        # PyTorch's mm backward computes a column-major operand's gradient as a transposed
        # product, column-major too (mm_mat1_backward / mm_mat2_backward; session 45)
        needs = ctx.needs_input_grad
        if (needs[1] or needs[2]) and type(a) is np.ndarray and type(b) is np.ndarray:
            ctx.cols = (needs[1] and column_major(a), needs[2] and column_major(b))
        else:
            ctx.cols = ROW_MAJOR
        return _AddProduct.forward(ctx, inp, a, b, beta, alpha)

    @staticmethod
    def backward(ctx, grad):
        cols = ctx.cols
        if not (cols[0] or cols[1]):
            return _AddProduct.backward(ctx, grad)
        a, b = ctx.saved_tensors
        needs, beta, alpha = ctx.needs_input_grad, ctx.beta, ctx.alpha
        gin = (grad if beta == 1 else grad * beta) if needs[0] else None
        if alpha != 1:
            grad = grad * alpha
        ga = gb = None
        if _raw_ok(ctx, grad, a, b):
            g = np.ascontiguousarray(grad._data)
            if needs[1]:  # G Bᵀ, as (B Gᵀ)ᵀ for a column-major mat1
                ga = _wrap(_mm(b._data, g.T).T if cols[0] else _mm(g, b._data.T))
            if needs[2]:  # Aᵀ G, as (Gᵀ A)ᵀ for a column-major mat2
                gb = _wrap(_mm(g.T, a._data).T if cols[1] else _mm(a._data.T, g))
            return gin, ga, gb, None, None
        if needs[1]:
            ga = (
                transpose(MatMul.apply(b, transpose(grad, 0, 1)), 0, 1)
                if cols[0]
                else MatMul.apply(grad, transpose(b, 0, 1))
            )
        if needs[2]:
            gb = (
                transpose(MatMul.apply(transpose(grad, 0, 1), a), 0, 1)
                if cols[1]
                else MatMul.apply(transpose(a, 0, 1), grad)
            )
        return gin, ga, gb, None, None

    @staticmethod
    def _grad_a(g: Any, b: Any) -> Any:
        return _mm(g, _mT(b))

    @staticmethod
    def _grad_b(g: Any, a: Any) -> Any:
        return _mm(_mT(a), g)

    @staticmethod
    def _grad_a_t(g: Tensor, b: Tensor) -> Tensor:
        return MatMul.apply(g, transpose(b, -1, -2))

    @staticmethod
    def _grad_b_t(g: Tensor, a: Tensor) -> Tensor:
        return MatMul.apply(transpose(a, -1, -2), g)


class Baddbmm(Addmm):
    """``beta * input + alpha * bmm(batch1, batch2)`` (``BaddbmmBackward0``)."""

    node_name = ("BaddbmmBackward0", (0, 1, 2))
    saved_input_names = ("self", "batch1", "batch2")
    saved_fields = {"alpha": lambda n: n.alpha, "batch1": 0, "batch2": 1, "beta": lambda n: n.beta}
    forward = staticmethod(_AddProduct.forward)  # (no column-major rule: bmm's backward)
    backward = staticmethod(_AddProduct.backward)


class Addmv(_AddProduct):
    """``beta * input + alpha * (mat @ vec)`` for a 2-d ``mat`` and 1-d ``vec``
    (``AddmvBackward0``)."""

    node_name = ("AddmvBackward0", (0, 1, 2))
    saved_input_names = ("self", "mat", "vec")
    saved_fields = {"alpha": lambda n: n.alpha, "beta": lambda n: n.beta, "mat": 0, "vec": 1}

    @classmethod
    def _product(cls, a: Any, b: Any) -> Any:
        return a @ b

    @staticmethod
    def _grad_a(g: Any, b: Any) -> Any:
        return np.multiply.outer(g, b)

    @staticmethod
    def _grad_b(g: Any, a: Any) -> Any:
        return _mT(a) @ g

    @staticmethod
    def _grad_a_t(g: Tensor, b: Tensor) -> Tensor:
        return outer(g, b)

    @staticmethod
    def _grad_b_t(g: Tensor, a: Tensor) -> Tensor:
        return MatMul.apply(transpose(a, -1, -2), g)


class Addbmm(_AddProduct):
    """``beta * input + alpha * sum_i(batch1[i] @ batch2[i])`` (``AddbmmBackward0``)."""

    node_name = ("AddbmmBackward0", (0, 1, 2))
    saved_input_names = ("self", "batch1", "batch2")
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        "alpha": lambda n: n.alpha,
        "batch1": 0,
        "batch1_sym_argsize_0": lambda n: input_shape(n, 1)[0],
        "batch1_sym_argsize_1": lambda n: input_shape(n, 1)[1],
        "batch2": 1,
        "batch2_sym_argsize_2": lambda n: input_shape(n, 2)[2],
        "beta": lambda n: n.beta,
    }

    @classmethod
    def _product(cls, a: Any, b: Any) -> Any:
        batch, n, k = a.shape
        m = b.shape[-1]
        xp = get_array_module(a)
        # the batch side by side: [A0 .. An] (n, batch k) times [B0; ..; Bn] (batch k, m)
        wide = xp.ascontiguousarray(a.transpose(1, 0, 2)).reshape(n, batch * k)
        return _mm(wide, xp.reshape(b, (batch * k, m)))

    @staticmethod
    def _grad_a(g: Any, b: Any) -> Any:
        # G read once per matrix (a broadcast view): the batched path, one BLAS thread each
        return _mm(np.broadcast_to(g, b.shape[:1] + g.shape), _mT(b))

    @staticmethod
    def _grad_b(g: Any, a: Any) -> Any:
        return _mm(_mT(a), np.broadcast_to(g, a.shape[:1] + g.shape))

    @staticmethod
    def _grad_a_t(g: Tensor, b: Tensor) -> Tensor:
        return MatMul.apply(g, transpose(b, -1, -2))

    @staticmethod
    def _grad_b_t(g: Tensor, a: Tensor) -> Tensor:
        return MatMul.apply(transpose(a, -1, -2), g)


class Addr(_AddProduct):
    """``beta * input + alpha * outer(vec1, vec2)`` for 1-d ``vec1``, ``vec2``
    (``AddrBackward0``): ``dvec1 = alpha G vec2``, ``dvec2 = alpha Gᵀ vec1``."""

    node_name = ("AddrBackward0", (0, 1, 2))
    saved_input_names = ("self", "vec1", "vec2")
    saved_fields = {"alpha": lambda n: n.alpha, "beta": lambda n: n.beta, "vec1": 0, "vec2": 1}

    @classmethod
    def _product(cls, a: Any, b: Any) -> Any:
        return get_array_module(a).multiply.outer(a, b)

    @staticmethod
    def _grad_a(g: Any, b: Any) -> Any:
        return g @ b

    @staticmethod
    def _grad_b(g: Any, a: Any) -> Any:
        return _mT(g) @ a

    @staticmethod
    def _grad_a_t(g: Tensor, b: Tensor) -> Tensor:
        return MatMul.apply(g, b)

    @staticmethod
    def _grad_b_t(g: Tensor, a: Tensor) -> Tensor:
        return MatMul.apply(transpose(g, -1, -2), a)
