"""The scaled products ``beta * input + alpha * (product)``: ``addmm``, ``addmv`` and
``baddbmm`` here, sharing one sum (:func:`_scaled_sum`) and one error-ordering wrapper
(:func:`_plus_product`) with ``addbmm`` (``products.py``) and ``addr`` (``linalg_more.py``).
A valid call is one node (:mod:`.fused_products`: ``AddmmBackward0``, ...); a call the node
does not take (mixed dtypes, a number or sparse argument, bad shapes) is composed from
:mod:`.linalg`'s products, which raise its errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd.grad_mode import no_grad
from ..autograd.lower_precision import (
    AUTOCAST,
    autocast_lower_precision,
    computing_in_float32,
    without_autocast,
)
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import is_bfloat16
from ._tensor_args import first_not_tensor
from ._util import NAMED_ERRORS, ShapeError, as_tensor, lead_with
from .binding import tensor_method
from .fused_products import Addbmm, Addmm, Addmv, Baddbmm
from .linalg import _check_out_dtype, _matmul, bmm
from .linalg_out import with_out
from .sparse_product_nodes import addmm_node, addmm_one_node
from .sparse_products import addmm_rank_error, check_integer_beta
from .sparse_tensor import SPARSE_TYPES

__all__ = ["addmm", "addmv", "baddbmm"]


def _scaled_sum(op: str, input: Any, prod: Tensor, beta: Any, alpha: Any) -> Tensor:  # noqa: A002
    """beta * input + alpha * prod; ``input`` is ignored when beta == 0 (NaN in it does not
    propagate, as PyTorch)."""
    inp = as_tensor(input, prod)
    try:
        target = get_array_module(prod._data).broadcast_shapes(inp.shape, prod.shape)
    except ValueError:
        target = None
    if target != tuple(prod.shape):
        raise ShapeError(
            f"{op}: input of shape {tuple(inp.shape)} cannot be broadcast to the "
            f"product's shape {tuple(prod.shape)}"
        )
    if prod.dtype.kind != "c" and (isinstance(alpha, complex) or isinstance(beta, complex)):
        raise RuntimeError(  # PyTorch's message: a real product takes no complex scale
            f"{op}: value cannot be converted to type {prod.dtype} without overflow (a "
            f"complex alpha={alpha!r} or beta={beta!r} for real tensors)"
        )
    if prod.dtype.kind in "iu":  # PyTorch truncates float scalars for integer tensors
        alpha, beta = int(alpha), int(beta)
    out = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return out
    return out + (inp if beta == 1 else inp * beta)


def _plus_product(
    op: str,
    input: Any,  # noqa: A002
    product: Callable[..., Tensor],
    operands: tuple,
    beta: Any,
    alpha: Any,
    lower: bool = True,
) -> Tensor:
    """``beta * input + alpha * product(*operands)`` for ``addmm``/``addmv``/``baddbmm``/
    ``addbmm``: the product's errors lead with ``op``, and the added term must have the
    product's dtype (PyTorch promotes nothing there and raises RuntimeError; ``addr``, which
    promotes, calls :func:`_scaled_sum` directly).

    CPU autocast: an op of PyTorch's lower-precision list (``lower``: addmm, baddbmm, addbmm)
    casts ``input`` with the operands, so float32 arguments give bfloat16; ``addmv``, on no
    list, runs in its arguments' dtype (its matmul is not cast). bfloat16 arguments are
    computed in float32 and rounded once, as PyTorch's CPU kernels do."""
    if not lower:
        return without_autocast(_rounded_once, op, input, product, operands, beta, alpha)
    if AUTOCAST[0]:
        input, *rest = autocast_lower_precision(input, *operands)  # noqa: A001
        operands = tuple(rest)
    return _rounded_once(op, input, product, operands, beta, alpha)


def _rounded_once(
    op: str,
    input: Any,  # noqa: A002
    product: Callable[..., Tensor],
    operands: tuple,
    beta: Any,
    alpha: Any,
) -> Tensor:
    """:func:`_plus_product` once autocast has cast: all-bfloat16 arguments computed in
    float32 and the sum rounded once."""
    first = operands[0]
    if (
        isinstance(first, Tensor)
        and is_bfloat16(first.dtype)
        and all(isinstance(t, Tensor) and t.dtype == first.dtype for t in (input, *operands))
    ):
        with computing_in_float32():
            ups = tuple(t.float() for t in operands)
            out = _sum_of_product(op, input.float(), product, ups, beta, alpha)
        return out.to(first.dtype)
    return _sum_of_product(op, input, product, operands, beta, alpha)


def _sum_of_product(
    op: str,
    input: Any,  # noqa: A002
    product: Callable[..., Tensor],
    operands: tuple,
    beta: Any,
    alpha: Any,
) -> Tensor:
    """``beta * input + alpha * product(*operands)`` in the arguments' dtype: one node
    (:mod:`.fused_products`) where the arguments are valid, else composed (which raises the
    errors of a bad call)."""
    fused = _fused(op, input, operands, beta, alpha)
    if fused is not None:
        return fused
    try:
        prod = product(*operands)
    except NAMED_ERRORS as err:
        lead_with(op, err)
        raise
    if isinstance(input, Tensor) and input.dtype != prod.dtype:
        raise RuntimeError(
            f"{op}: expected input and the matrices to have the same dtype, but input has "
            f"{input.dtype} and the product {prod.dtype}; convert input with .to({prod.dtype})"
        )
    return _scaled_sum(op, input, prod, beta, alpha)


_FUSED = {"addmm": Addmm, "addmv": Addmv, "baddbmm": Baddbmm, "addbmm": Addbmm}


def _product_shape(op: str, a: Tensor, b: Tensor) -> tuple | None:
    """The product's shape for valid operands of ``op``, else None (the composed path then
    raises the product's own error)."""
    sa, sb = tuple(a.shape), tuple(b.shape)
    if op in ("addmm", "addmv"):
        if len(sa) == 2 and len(sb) in (1, 2) and sa[1] == sb[0]:
            return sa[:1] + sb[1:]
        return None
    if len(sa) == 3 and len(sb) == 3 and sa[0] == sb[0] and sa[2] == sb[1]:
        return (sa[0], sa[1], sb[2]) if op == "baddbmm" else (sa[1], sb[2])
    return None


def _fused(op: str, input: Any, operands: tuple, beta: Any, alpha: Any) -> Tensor | None:  # noqa: A002
    """``op`` as its single node (:mod:`.fused_products`), or None where the arguments need
    the composed path: a non-tensor or sparse argument, mixed or boolean dtypes, a tensor or
    complex scale of a real product, or shapes that do not fit (its errors)."""
    fn = _FUSED.get(op)
    a, b = operands
    args = (input, a, b)
    if fn is None or not all(isinstance(t, Tensor) and type(t) not in SPARSE_TYPES for t in args):
        return None
    dtype = a._data.dtype
    if dtype.kind not in "fciu" or b._data.dtype != dtype or input._data.dtype != dtype:
        return None
    scales = (int, float, complex) if dtype.kind == "c" else (int, float)
    if not (isinstance(beta, scales) and isinstance(alpha, scales)):
        return None
    shape = _product_shape(op, a, b)
    if shape is None:
        return None
    try:
        if get_array_module(a._data).broadcast_shapes(tuple(input.shape), shape) != shape:
            return None
    except ValueError:
        return None
    if dtype.kind in "iu":  # PyTorch truncates float scalars for integer tensors
        alpha, beta = int(alpha), int(beta)
    return fn.apply(input, a, b, beta, alpha)


@tensor_method(inplace=True)
@with_out("addmm")
def addmm(
    input: Any,  # noqa: A002
    mat1: Tensor,
    mat2: Tensor,
    out_dtype: Any = None,
    *,
    beta: Any = 1,
    alpha: Any = 1,
) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2) for 2-d ``mat1``, ``mat2``."""
    _check_out_dtype("addmm", out_dtype)
    if not (isinstance(input, Tensor) and isinstance(mat1, Tensor) and isinstance(mat2, Tensor)):
        raise first_not_tensor("addmm", (("input", input), ("mat1", mat1), ("mat2", mat2)))
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise addmm_rank_error(mat1, mat2) or ShapeError(
            f"addmm: mat1 and mat2 must be 2-d, got shapes {tuple(mat1.shape)} "
            f"and {tuple(mat2.shape)}"
        )
    if type(mat1) in SPARSE_TYPES:  # an integer one refuses some float betas (as PyTorch)
        check_integer_beta("addmm", mat1, beta)
        if not AUTOCAST[0] and addmm_one_node(input, mat1, mat2, beta, alpha):
            with no_grad():  # the sum and its checks, recorded as PyTorch's one AddmmBackward0
                out = _plus_product("addmm", input, _matmul, (mat1, mat2), beta, alpha)
            return addmm_node(input, mat1, mat2, beta, alpha, out._data)
    return _plus_product("addmm", input, _matmul, (mat1, mat2), beta, alpha)


@tensor_method(inplace=True)
@with_out("addmv")
def addmv(
    input: Any,
    mat: Tensor,
    vec: Tensor,
    *,
    beta: Any = 1,  # noqa: A002
    alpha: Any = 1,
) -> Tensor:
    """beta * input + alpha * (mat @ vec) for a 2-d ``mat`` and 1-d ``vec``."""
    if not (isinstance(input, Tensor) and isinstance(mat, Tensor) and isinstance(vec, Tensor)):
        raise first_not_tensor("addmv", (("input", input), ("mat", mat), ("vec", vec)))
    if mat.ndim != 2 or vec.ndim != 1:
        raise ShapeError(
            f"addmv: expects a 2-d matrix and a 1-d vector, got shapes "
            f"{tuple(mat.shape)} and {tuple(vec.shape)}"
        )
    if mat.shape[1] != vec.shape[0]:
        raise ShapeError(
            f"addmv: size mismatch: matrix {tuple(mat.shape)} and vector {tuple(vec.shape)}"
        )
    return _plus_product("addmv", input, _matmul, (mat, vec), beta, alpha, lower=False)


@tensor_method(inplace=True)
@with_out("baddbmm")
def baddbmm(
    input: Any,  # noqa: A002
    batch1: Tensor,
    batch2: Tensor,
    out_dtype: Any = None,
    *,
    beta: Any = 1,
    alpha: Any = 1,
) -> Tensor:
    """beta * input + alpha * bmm(batch1, batch2) for 3-d batches of matrices."""
    _check_out_dtype("baddbmm", out_dtype)
    if not (
        isinstance(input, Tensor) and isinstance(batch1, Tensor) and isinstance(batch2, Tensor)
    ):
        raise first_not_tensor(
            "baddbmm", (("input", input), ("batch1", batch1), ("batch2", batch2))
        )
    operands = (batch1, batch2)
    return _plus_product("baddbmm", input, bmm, operands, beta, alpha)
