"""The array side of ``MatMul`` (``linalg.py``): its product on arrays and its first-order
gradients computed on arrays, with PyTorch's mm rule for a column-major operand (its
gradient computed as a transposed product, column-major too; session 43). Split out of
``linalg.py`` to keep that file under ~500 lines.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import pool_gemm
from .._kernels.blas import matmul_stack
from .._kernels.half_gemm import half_matmul, is_host_half
from ..autograd.tensor import Tensor
from ._first_order import unmarked

__all__ = ["ROW_MAJOR", "column_major", "first_order_grads", "product"]


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
