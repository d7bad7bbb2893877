"""PyTorch's sparse-result products of a sparse COO matrix and a dense one:
``cr.hspmm``, ``cr.smm``, ``cr.sspaddmm`` (and its alias ``cr.saddmm``), plus ``cr.dsmm``
(the dense-result product, ``mm``).

With ``A`` the sparse (m, k) matrix and ``D`` a dense (k, n) one, the product rows that
can be non-zero are the rows of ``A`` holding an entry (sorted). ``hspmm`` returns them as a
hybrid COO tensor (one sparse dim, each entry a dense row of n values), ``smm`` as a plain
COO tensor with an entry per (row, column) of those rows, zeros included, and
``sspaddmm(S, A, D)`` as the entries of ``beta * S`` (as stored) followed by those of
``alpha * (A @ D)``: the result is uncoalesced, as PyTorch's.

PyTorch has no derivative for ``hspmm`` and ``sspaddmm`` (``smm``): their results record a
node whose backward raises its RuntimeError, so a graph through them fails at
``backward()``, as PyTorch's does, never with a silently missing gradient. ``dsmm`` is
``mm`` and differentiable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .sparse_pattern import SparsePattern
from .sparse_pattern import spmm as _spmm_kernel
from .sparse_products import _integer_scalar, sparse_mm
from .sparse_tensor import SparseTensor, make_sparse
from .tensor_queries import sparse_coo

__all__ = ["dsmm", "hspmm", "saddmm", "smm", "sspaddmm"]


class _NoDerivative(Function):
    """The values of an op PyTorch has no derivative for: ``forward`` computes them with
    ``kernel`` (raw arrays), ``backward`` raises PyTorch's error naming the op."""

    raw = True
    complex_grad = True
    node_name = "NotImplemented"  # PyTorch's grad_fn of these results

    @staticmethod
    def forward(ctx, *args):
        *arrays, kernel, name = args
        ctx.op_name = name
        return kernel(*arrays)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(f"derivative for aten::{ctx.op_name} is not implemented")


def _layout_name(t: Any) -> str:
    """PyTorch's name of a tensor's layout in its messages (``Strided``, ``Sparse``, ...)."""
    layout = str(getattr(t, "layout", "strided")).rsplit(".", 1)[-1]
    return {"sparse_coo": "Sparse"}.get(layout, layout.title().replace("_", ""))


def _check_mats(op: str, mat1: Any, mat2: Any, arg: int = 2) -> tuple[int, int, int]:
    """PyTorch's checks of a sparse COO ``mat1`` and a dense ``mat2`` (argument numbers
    ``arg`` and ``arg + 1``); the product's (m, k, n)."""
    if not isinstance(mat2, Tensor):
        raise TypeError(f"{op}: expected a dense Tensor mat2, got {type(mat2).__name__}")
    if mat2.is_sparse:
        raise RuntimeError(
            f"{op}: expected 'mat2' to have strided layout, got 'mat2' with layout "
            f"{_layout_name(mat2)}"
        )
    if type(mat1) is not SparseTensor:
        raise RuntimeError(
            f"{op}: expected 'mat1' to have sparse (COO) layout, got 'mat1' with layout "
            f"{_layout_name(mat1)}"
        )
    if mat1.sparse_dim() == 2 and mat1.dense_dim():  # PyTorch's words (session 46)
        raise RuntimeError(
            f"{op}: Argument #{arg}: scalar values expected, got {mat1.dense_dim()}D values"
        )
    if mat1.sparse_dim() != 2 or mat1.dense_dim() != 0:
        raise RuntimeError(
            f"{op}: Argument #{arg}: matrices expected, got {mat1.ndim}D tensor "
            f"({mat1.sparse_dim()} sparse and {mat1.dense_dim()} dense dims)"
        )
    if mat2.ndim != 2:
        raise RuntimeError(f"{op}: Argument #{arg + 1}: matrices expected, got {mat2.ndim}D tensor")
    m, k = mat1.shape
    if mat2.shape[0] != k:
        raise RuntimeError(
            f"{op}: Argument #{arg + 1}: Expected dim 0 size {k}, got {mat2.shape[0]}"
        )
    if mat1.dtype != mat2.dtype:
        raise RuntimeError(
            f"{op}: expected scalar type {_scalar_name(mat1.dtype)} but found "
            f"{_scalar_name(mat2.dtype)} (mat1 and mat2 must have one dtype)"
        )
    if mat1.device != mat2.device:
        raise RuntimeError(
            f"{op}: expected all tensors on the same device, got {mat1.device} and {mat2.device}"
        )
    return m, k, mat2.shape[1]


def _scalar_name(dtype: Any) -> str:
    return {
        "float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
        "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
        "complex64": "ComplexFloat", "complex128": "ComplexDouble", "bfloat16": "BFloat16",
    }.get(str(dtype).replace("chainrule.", "").replace("torch.", ""), str(dtype))  # fmt: skip


def _rows(pattern: SparsePattern) -> Any:
    """The sorted rows of a 2-d pattern that hold an entry."""
    xp = get_array_module(pattern.indices)
    return xp.unique(pattern.indices[0])


def _product_rows(values: Any, dense: Any, pattern: SparsePattern, rows: Any) -> Any:
    """``(A @ dense)[rows]``: the product rows that can be non-zero."""
    return _spmm_kernel(values, dense, pattern)[rows]


def _record(name: str, kernel: Any, *tensors: Tensor) -> Tensor:
    """``kernel`` of the tensors' arrays, as a Tensor that records ``_NoDerivative`` when
    one of them requires grad (PyTorch's result requires grad and its backward raises)."""
    if is_grad_enabled() and any(t.requires_grad for t in tensors):
        return _NoDerivative.apply(*tensors, kernel, name)
    return Tensor._make(kernel(*(t._data for t in tensors)), False, None, 0)


def hspmm(mat1: Any, mat2: Any, *, out: Any = None) -> SparseTensor:
    """``torch.hspmm``: ``mat1 @ mat2`` (sparse COO times dense) as a hybrid COO tensor:
    one sparse dim listing the rows of ``mat1`` that hold an entry, each with its dense
    product row. Not differentiable (as in PyTorch: ``backward`` raises)."""
    if out is not None:
        raise NotImplementedError("hspmm: out= is not supported")
    if isinstance(mat1, Tensor) and mat1.layout is not sparse_coo:
        raise NotImplementedError(
            f"hspmm: mat1 must be a sparse COO matrix, got layout {_layout_name(mat1)}; use "
            "chainrule.mm for a dense one, or convert it with .to_sparse_coo()"
        )
    if isinstance(mat2, Tensor) and mat2.is_sparse:
        raise RuntimeError(
            f"hspmm: mat2 must be a dense (strided) matrix, got layout {mat2.layout}"
        )
    m, _, n = _check_mats("hspmm", mat1, mat2)
    if mat1._sp_values._data.dtype.kind == "b" and mat1._sp_values.shape[0]:
        raise NotImplementedError(  # PyTorch's: with stored elements only
            "hspmm: not implemented for torch.bool (PyTorch's 'addmm_sparse_dense' has no Bool "
            "kernel); convert mat1 and mat2 with .int() or .float()"
        )
    pattern = mat1._sp_pattern
    rows = _rows(pattern)

    def kernel(values: Any, dense: Any) -> Any:
        return _product_rows(values, dense, pattern, rows)

    values = _record("hspmm", kernel, mat1._sp_values, mat2)
    indices = get_array_module(rows).ascontiguousarray(rows[None, :].astype(np.int64))
    return make_sparse(values, SparsePattern(indices, (m,), indices.shape[1] <= 1))


def sspaddmm(
    input: Any,  # noqa: A002 - PyTorch's parameter name
    mat1: Any,
    mat2: Any,
    *,
    beta: Any = 1,
    alpha: Any = 1,
    out: Any = None,
) -> SparseTensor:
    """``torch.sspaddmm``: ``beta * input + alpha * (mat1 @ mat2)`` as a sparse COO tensor,
    with ``input`` and ``mat1`` sparse COO and ``mat2`` dense. The result lists the entries
    of ``input`` as stored, then one entry per (row of ``mat1`` holding an entry, column):
    uncoalesced, as PyTorch's. Not differentiable (as in PyTorch: ``backward`` raises)."""
    if out is not None:
        raise NotImplementedError("sspaddmm: out= is not supported")
    if not isinstance(input, SparseTensor) or type(input) is not SparseTensor:
        raise RuntimeError(
            "sspaddmm: input must be a sparse COO tensor (tensor.sspaddmm(...) can only be "
            f"called on sparse tensors), got layout {getattr(input, 'layout', type(input))}"
        )
    m, _, n = _check_mats("sspaddmm", mat1, mat2)
    if input.sparse_dim() != 2 or input.dense_dim() != 0:
        raise RuntimeError(f"sspaddmm: Argument #1: matrices expected, got {input.ndim}D tensor")
    for axis, size in enumerate((m, n)):
        if input.shape[axis] != size:
            raise RuntimeError(
                f"sspaddmm: Argument #1: Expected dim {axis} size {size}, got {input.shape[axis]}"
            )
    if input.dtype != mat1.dtype:
        raise RuntimeError(
            f"sspaddmm: expected scalar type {_scalar_name(mat1.dtype)} but found "
            f"{_scalar_name(input.dtype)} (input, mat1 and mat2 must have one dtype)"
        )
    if np.dtype(mat1._sp_values._data.dtype).kind in "iub":
        if isinstance(beta, (float, np.floating)) and input._nnz() > 0:
            raise RuntimeError(
                f"sspaddmm: result type Float can't be cast to the desired output type "
                f"{_scalar_name(input.dtype)} (beta={beta!r} with integer operands)"
            )
        prod = Tensor._make(mat2._data[:0, :0], False, None, 0)
        beta = _integer_scalar(prod, "beta", beta)
        alpha = _integer_scalar(prod, "alpha", alpha)
    pattern = mat1._sp_pattern
    rows = _rows(pattern)
    xp = get_array_module(rows)

    def kernel(own: Any, values: Any, dense: Any) -> Any:
        product = _product_rows(values, dense, pattern, rows).reshape(-1) * alpha
        return xp.concatenate([own * beta, product.astype(own.dtype, copy=False)])

    values = _record("sspaddmm", kernel, input._sp_values, mat1._sp_values, mat2)
    product_idx = xp.stack([xp.repeat(rows, n), xp.tile(xp.arange(n, dtype=np.int64), len(rows))])
    indices = xp.concatenate([input._sp_pattern.indices, product_idx.astype(np.int64)], axis=1)
    indices = xp.ascontiguousarray(indices)
    return make_sparse(values, SparsePattern(indices, (m, n), indices.shape[1] <= 1))


saddmm = sspaddmm  # PyTorch's other name for it (torch.saddmm)


def smm(input: Any, mat2: Any) -> SparseTensor:  # noqa: A002 - PyTorch's parameter name
    """``torch.smm``: ``input @ mat2`` (sparse COO times dense) as a sparse COO tensor
    with an entry per (row of ``input`` holding an entry, column), zeros included; as
    PyTorch's, ``sspaddmm`` of an empty sparse tensor. Not differentiable (PyTorch's
    ``backward`` raises)."""
    if not isinstance(input, SparseTensor) or type(input) is not SparseTensor:
        raise RuntimeError(
            "smm: input must be a sparse COO tensor (tensor.sspaddmm(...) can only be called "
            f"on sparse tensors), got layout {getattr(input, 'layout', type(input))}"
        )
    m, _, n = _check_mats("sspaddmm", input, mat2, arg=2)
    xp = get_array_module(input._sp_pattern.indices)
    empty = make_sparse(
        Tensor._make(xp.zeros(0, dtype=input._sp_values._data.dtype), False, None, 0),
        SparsePattern(xp.zeros((2, 0), dtype=np.int64), (m, n), True),
    )
    return sspaddmm(empty, input, mat2)


def dsmm(input: Any, mat2: Any) -> Tensor:  # noqa: A002 - PyTorch's parameter name
    """``torch.dsmm``: ``input @ mat2`` as a dense matrix (``mm``; ``input`` sparse COO or
    dense); differentiable as ``mm``."""
    if isinstance(input, SparseTensor) or isinstance(mat2, SparseTensor):
        return sparse_mm(input, mat2, "dsmm")
    if not isinstance(input, Tensor):
        raise TypeError(f"dsmm: expected a Tensor input, got {type(input).__name__}")
    return input.mm(mat2)


def _bind() -> None:
    """The methods of a sparse COO tensor PyTorch has: ``s.smm(d)`` and
    ``s.sspaddmm(mat1, mat2)`` (``hspmm`` and ``dsmm`` are functions only)."""
    SparseTensor.smm = lambda self, mat2: smm(self, mat2)
    SparseTensor.sspaddmm = lambda self, mat1, mat2, *, beta=1, alpha=1: sspaddmm(
        self, mat1, mat2, beta=beta, alpha=alpha
    )


_bind()
