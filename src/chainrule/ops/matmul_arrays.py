"""The array side of ``MatMul`` (``linalg.py``): its product on arrays and its first-order
gradients computed on arrays, with PyTorch's mm rule for a column-major operand (its
gradient computed as a transposed product, column-major too; session 43). Split out of
``linalg.py`` to keep that file under ~500 lines.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._kernels import pool_gemm
from .._kernels.blas import matmul_stack
from .._kernels.half_gemm import half_matmul, is_host_half
from ..autograd.tensor import Tensor
from ._first_order import unmarked

__all__ = [
    "ROW_MAJOR",
    "column_major",
    "first_order_grads",
    "fold_grads",
    "fold_layout",
    "fold_recorded",
    "plain_operands",
    "product",
]


def product(a: Any, b: Any) -> Any:
    """``a @ b`` on arrays as MatMul's forward computes it (the backward's products too)."""
    if a.dtype.char == "e" and is_host_half(a):  # no half BLAS: float32, rounded once
        return half_matmul(a, b)
    if a.ndim > 2:  # stacks of small matrices: the batch over threads, 1 BLAS thread each
        return matmul_stack(a, b)
    if a.ndim == 2 and b.ndim == 2:  # on the compiled pool where it applies
        out = pool_gemm.matmul_2d(a, b)
        if out is not None:
            return out
    return a @ b


def column_major(x: Any) -> bool:
    """Whether the matrix array ``x`` is column-major by PyTorch's test in its mm backward
    (``strides[0] == 1 && strides[1] == sizes[0]``): PyTorch then computes that operand's
    gradient as a transposed product, column-major too (``mm_mat2_backward``:
    ``grad.t().mm(mat1).t()``), so a leaf reached through ``.t()`` takes it as its
    ``.grad`` without a copy (version 0)."""
    s, n = x.strides, x.itemsize
    return s[0] == n and s[1] == n * x.shape[0]


# MatMul's ctx.cols where it has none (neither operand column-major, or no mm)
ROW_MAJOR = (False, False)


def first_order_grads(
    g: Any, a: Tensor | None, b: Tensor | None, needs: tuple, cols: tuple = ROW_MAJOR
) -> tuple | None:
    """First order, matrices (not vectors): ``G Bᵀ`` and ``Aᵀ G`` as the arrays that
    ``MatMul.apply(grad, _mT(b))`` and ``MatMul.apply(_mT(a), grad)`` compute (the same
    transposed views and products), without four ``Function.apply`` calls (8x8 matmul forward
    + backward -6 us, thread_time, min of 9 x 2000, under load). ``g``: the gradient's
    NumPy array (``_first_order.grad_view``: first order, outside autocast, no profiler, no
    layout mark on it). None (the recorded path) for other operands (CuPy, vmap, a layout
    mark on their memory), bfloat16 (computed in float32 by ``apply``) and complex; float16
    is ``product``'s own rule either way."""
    if g.dtype.kind != "f":
        return None
    ga = gb = None
    if needs[0]:
        bd = b._data
        if type(bd) is not np.ndarray or bd.dtype.kind != "f" or not unmarked(bd):
            return None
        if cols[0]:  # column-major a: (B Gᵀ)ᵀ, column-major as PyTorch's (column_major)
            ga = product(bd, g.swapaxes(-1, -2)).swapaxes(-1, -2)
        else:
            ga = product(g, bd.swapaxes(-1, -2))
    if needs[1]:
        ad = a._data
        if type(ad) is not np.ndarray or ad.dtype.kind != "f" or not unmarked(ad):
            return None
        if cols[1]:  # column-major b: (Gᵀ A)ᵀ
            gb = product(g.swapaxes(-1, -2), ad).swapaxes(-1, -2)
        else:
            gb = product(ad.swapaxes(-1, -2), g)
    return (
        None if ga is None else Tensor._make(np.asarray(ga), False, None, 0),
        None if gb is None else Tensor._make(np.asarray(gb), False, None, 0),
    )


def plain_operands(grad: Tensor, a: Tensor | None, b: Tensor | None) -> bool:
    """Whether the gradient and the saved operands are plain Tensors over host float arrays
    without a layout mark (what :func:`fold_grads` and :func:`fold_recorded` compute on)."""
    for t in (grad, a, b):
        if t is not None:
            d = t._data
            if (
                type(t) is not Tensor
                or type(d) is not np.ndarray
                or d.dtype.kind != "f"
                or not unmarked(d)
            ):
                return False
    return True


def fold_layout(a: Any, b: Any, needs: tuple) -> tuple | None:
    """PyTorch's matmul folds a batch times a matrix into one ``mm`` (``should_fold``) when
    the matrix operand requires grad: ``a (..., m, k) @ b (k, n)`` as ``a.reshape(-1, k)
    .mm(b)`` ("A"), and ``a (m, k) @ b (..., k, n)`` as ``b.mT().reshape(-1, k).mm(a.t())``
    then transposed back ("B"). Its gradients are then mm's, a column-major operand's
    computed column-major (:func:`column_major`), so leaves reached through ``.t()`` take
    them without a copy (version 0), and the matrix's gradient is one product (no per-batch
    products summed). Returns (side, first column-major, second column-major) for
    :func:`fold_grads`, or None where PyTorch keeps the unfolded product or the layout is
    the unfolded one's anyway (session 44)."""
    n = a.itemsize
    if b.ndim == 2 and a.ndim > 2:
        cols_a = False
        if needs[0] and a.strides[-2] == n:  # the folded input may be column-major
            a2 = a.reshape(-1, a.shape[-1]) if a.shape[-1] else None
            cols_a = a2 is not None and np.shares_memory(a2, a) and column_major(a2)
        if needs[1] or cols_a:
            return ("A", cols_a, needs[1] and column_major(b))
    elif a.ndim == 2 and b.ndim > 2 and needs[0]:
        cols_b = False
        if needs[1] and b.strides[-1] == n and b.shape[-2]:
            t1 = b.swapaxes(-1, -2).reshape(-1, b.shape[-2])
            cols_b = np.shares_memory(t1, b) and column_major(t1)
        return ("B", column_major(a.swapaxes(0, 1)), cols_b)
    elif a.ndim == 1 and b.ndim > 2 and (needs[0] or _batch_folds(b)):
        return ("V", False, False)  # p @ b3 as b3.mT.reshape(-1, k).mv(p): _vector_fold
    return None


def _batch_folds(b: Any) -> bool:
    """PyTorch's ``should_fold`` for a vector (not requiring grad) times a batch ``b``:
    ``b.mT``'s leading dims fold into its rows without a copy (or ``b`` is empty)."""
    if not b.size:
        return True
    shape = b.shape[:-2] + (b.shape[-1], b.shape[-2])
    strides = b.strides[:-2] + (b.strides[-1], b.strides[-2])
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(b.ndim - 2))


def _blas(x: Any) -> Any:
    """``x`` (a matrix) as BLAS reads it: NumPy's matmul falls back to a slow loop for a
    matrix without a unit stride (a sum's broadcast gradient: strides 0), so such a matrix
    is copied row-major first."""
    s0, s1 = x.strides
    n = x.itemsize
    if (s1 == n and s0 >= x.shape[1] * n) or (s0 == n and s1 >= x.shape[0] * n):
        return x
    return np.ascontiguousarray(x)


def fold_grads(g: Any, a: Tensor | None, b: Tensor | None, needs: tuple, fold: tuple) -> tuple:
    """:func:`first_order_grads` for a product PyTorch folds into one mm
    (:func:`fold_layout`): the same values, laid out as PyTorch's mm backward lays them
    (``mm_mat1_backward`` / ``mm_mat2_backward``), viewed back to the operands' shapes."""
    side, c0, c1 = fold
    ga = gb = None
    if side == "V":
        return _vector_fold(g, a, b, needs)
    if side == "A":  # a.reshape(rows, k) @ b
        rows = math.prod(g.shape[:-1])
        g2 = _blas(g.reshape(rows, g.shape[-1]))
        if needs[0]:
            bd = _blas(b._data)
            ga2 = product(bd, g2.T).T if c0 else product(g2, bd.T)
            ga = ga2.reshape(g.shape[:-1] + (bd.shape[0],))
        if needs[1]:
            ad = a._data
            a2 = _blas(ad.reshape(rows, ad.shape[-1]))
            gb = product(g2.T, a2).T if c1 else product(a2.T, g2)
    else:  # t1 = b.mT().reshape(rows, k); t1 @ a.t(), transposed back
        m = g.shape[-2]
        g2 = _blas(g.swapaxes(-1, -2).reshape(-1, m))
        if needs[0]:  # through mat2 = a.t(): column-major when a is row-major
            bd = b._data
            t1 = _blas(bd.swapaxes(-1, -2).reshape(-1, bd.shape[-2]))
            ga = product(g2.T, t1) if c0 else product(t1.T, g2).T
        if needs[1]:
            ad = _blas(a._data)
            gt1 = product(ad.T, g2.T).T if c1 else product(g2, ad)
            gb = gt1.reshape(g.shape[:-2] + (g.shape[-1], ad.shape[1])).swapaxes(-1, -2)
    return (
        None if ga is None else Tensor._make(np.asarray(ga), False, None, 0),
        None if gb is None else Tensor._make(np.asarray(gb), False, None, 0),
    )


def _vector_fold(g: Any, a: Tensor | None, b: Tensor | None, needs: tuple) -> tuple:
    """A vector ``a`` (k) times a batch ``b`` (..., k, n) as PyTorch folds it: ``t1 =
    b.mT.reshape(-1, k)``, then ``t1.mv(a)`` (MvBackward0): ``a``'s gradient is one product
    ``t1ᵀ g`` over the whole batch, ``b``'s the outer product ``g aᵀ`` viewed back through
    the reshape and the ``mT``, so it is transposed: a row-major leaf's ``.grad`` is a copy
    (version 1), a leaf reached through ``.mT`` takes it (version 0)."""
    ga = gb = None
    flat = g.reshape(-1)
    if needs[0]:
        bd = b._data
        t1 = bd.swapaxes(-1, -2).reshape(-1, bd.shape[-2])
        ga = product(_blas(t1).T, flat)
    if needs[1]:
        gb = np.multiply.outer(flat, a._data).reshape(g.shape + a.shape).swapaxes(-1, -2)
    return (
        None if ga is None else Tensor._make(np.asarray(ga), False, None, 0),
        None if gb is None else Tensor._make(np.asarray(gb), False, None, 0),
    )


def _blas_t(x: Tensor) -> Tensor:
    """:func:`_blas` for a recorded operand: a contiguous copy (recorded) where needed."""
    return x if _blas(x._data) is x._data else x.contiguous()


def fold_recorded(
    apply: Any, grad: Tensor, a: Tensor, b: Tensor, needs: tuple, fold: tuple
) -> tuple:
    """:func:`fold_grads` recorded (``create_graph``, forward mode): the same products on the
    same arrays through ``apply`` (``MatMul.apply``), so the two paths agree bit for bit."""
    side, c0, c1 = fold
    ga = gb = None
    if side == "V":  # _vector_fold's products, recorded
        flat = grad.reshape(-1)
        if needs[0]:
            t1 = _blas_t(b.transpose(-1, -2).reshape(-1, b.shape[-2]))
            ga = apply(t1.t(), flat)
        if needs[1]:
            gb = (flat.unsqueeze(1) * a).reshape(tuple(grad.shape) + tuple(a.shape))
            gb = gb.transpose(-1, -2)
        return ga, gb
    if side == "A":
        rows = math.prod(grad.shape[:-1])
        g2 = _blas_t(grad.reshape(rows, grad.shape[-1]))
        if needs[0]:
            bt = _blas_t(b)
            ga2 = apply(bt, g2.t()).t() if c0 else apply(g2, bt.t())
            ga = ga2.reshape(tuple(grad.shape[:-1]) + (bt.shape[0],))
        if needs[1]:
            a2 = _blas_t(a.reshape(rows, a.shape[-1]))
            gb = apply(g2.t(), a2).t() if c1 else apply(a2.t(), g2)
    else:
        g2 = _blas_t(grad.transpose(-1, -2).reshape(-1, grad.shape[-2]))
        if needs[0]:
            t1 = _blas_t(b.transpose(-1, -2).reshape(-1, b.shape[-2]))
            ga = apply(g2.t(), t1) if c0 else apply(t1.t(), g2).t()
        if needs[1]:
            at = _blas_t(a)
            gt1 = apply(at.t(), g2.t()).t() if c1 else apply(g2, at)
            shape = tuple(grad.shape[:-2]) + (grad.shape[-1], at.shape[1])
            gb = gt1.reshape(shape).transpose(-1, -2)
    return ga, gb
