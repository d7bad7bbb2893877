"""``torch.sparse.addmm``'s rules for its dense ``mat`` and its scalars, in PyTorch's terms:
``mat`` dense and broadcastable to the product (:func:`check_mat`), the rank errors of a
non-2-d operand (:func:`addmm_rank_error`), a float ``beta`` with integer operands
(:func:`check_integer_beta`) and ``beta``/``alpha`` converted to an integer product's type
(:func:`integer_scalar`). Split out of :mod:`.sparse_products` (which builds the product and
re-exports these names) so that the product code and its argument rules stay apart; also
used by ``cr.addmm`` with a sparse ``mat1`` and by :mod:`.sparse_smm`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ._util import DtypeError, ShapeError
from .sparse_nodense import unsupported
from .sparse_product_checks import COMPRESSED, hybrid_error
from .sparse_tensor import SparseTensor

__all__ = ["addmm_rank_error", "check_integer_beta", "check_mat", "integer_scalar"]


def check_mat(mat: Tensor, prod: Tensor) -> None:
    """``addmm``'s ``mat``: dense, broadcastable to the product's shape."""
    if isinstance(mat, SparseTensor):
        raise unsupported("addmm with a sparse mat")
    try:
        shape = _broadcast_shape(tuple(mat.shape), tuple(prod.shape))
    except ValueError:
        shape = None
    if shape != tuple(prod.shape):
        raise ShapeError(
            f"addmm: mat of shape {tuple(mat.shape)} cannot be broadcast to the product's "
            f"shape {tuple(prod.shape)}"
        )


def addmm_rank_error(mat1: Tensor, mat2: Tensor) -> RuntimeError | None:
    """PyTorch's error for ``addmm`` of a non-2-d operand, one sparse (else ``None``)."""
    if type(mat1) is SparseTensor and mat1.dense_dim() and isinstance(mat2, Tensor):
        return hybrid_error("addmm", mat1, mat2)
    if type(mat1) is SparseTensor and mat1.ndim != 2:
        return RuntimeError(f"addmm: matrices expected, got {mat1.ndim}D tensor")
    if getattr(mat1, "layout", None) in COMPRESSED or getattr(mat2, "layout", None) in COMPRESSED:
        name, t = ("mat1", mat1) if mat1.ndim != 2 else ("mat2", mat2)
        return RuntimeError(f"{name} must be a matrix, got {t.ndim}-D tensor")
    return None


def check_integer_beta(op: str, prod: Tensor, beta: Any) -> None:
    """Refuse a float ``beta`` that does not truncate to 0 or 1 for an integer sparse
    product ``prod`` (or its sparse operand), as PyTorch does: it scales ``mat`` by it in
    float64 (0 and 1 are its skip and copy cases) and cannot write that into the integer
    result."""
    kind = getattr(prod, "_sp_values", prod)._data.dtype.kind
    if kind not in "iu" or not isinstance(beta, (float, np.floating)):
        return
    if not math.isfinite(beta) or int(beta) not in (0, 1):
        raise RuntimeError(
            f"{op}: result type Double can't be cast to the desired output type "
            f"{prod.dtype} (a float beta={beta!r} with integer sparse operands; pass an "
            "integer beta or convert the operands with .float())"
        )


def integer_scalar(prod: Tensor, name: str, value: Any) -> int:
    """``beta`` or ``alpha`` of an integer product, as PyTorch takes it: converted to the
    product's integer type, a float truncated toward zero (0.5 -> 0, -2.7 -> -2); a value
    that does not fit (inf, NaN, out of range, complex) is refused. Bool has no kernel."""
    dtype = prod._data.dtype
    if dtype.kind == "b":
        raise DtypeError(f"addmm: not implemented for bool operands (got {name}={value!r})")
    if (
        isinstance(value, (complex, np.complexfloating))
        and value.imag != 0
        or (isinstance(value, (float, np.floating)) and not math.isfinite(value))
    ):
        raise RuntimeError(
            f"addmm: {name}={value!r} cannot be converted to the operands' type {dtype} "
            "without overflow"
        )
    as_int = int(getattr(value, "real", value))
    info = np.iinfo(dtype)
    if not info.min <= as_int <= info.max:
        raise RuntimeError(
            f"addmm: {name}={value!r} cannot be converted to the operands' type {dtype} "
            f"without overflow (valid: {info.min} to {info.max})"
        )
    return as_int


def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    """The shape ``a`` and ``b`` broadcast to (``ValueError`` when they do not)."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x, y = (a[-i] if i <= len(a) else 1), (b[-i] if i <= len(b) else 1)
        if x != y and 1 not in (x, y):
            raise ValueError("shapes do not broadcast")
        out.append(y if x == 1 else x)
    return tuple(reversed(out))
