"""Products and distances PyTorch names separately: ``inner``, ``vdot``, ``ger``,
``addbmm``, ``dist``, ``renorm``.

Each is composed from existing differentiable ops (``matmul``, ``bmm``, ``outer``,
``linalg.vector_norm``, ``where``), so its gradient, double backward and forward-mode rule
are theirs; errors raised by those inner ops are restated under the public name.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd.lower_precision import without_autocast
from ..autograd.saved_fields import given  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..linalg.norms import vector_norm
from ._tensor_args import first_not_tensor
from ._util import (
    NAMED_ERRORS,
    ShapeError,
    as_tensor,
    check_broadcast,
    lead_with,
    norm_dim,
    torch_words,
)
from .binary import where
from .binding import tensor_method
from .dist_node import Dist, dist_node_ok
from .linalg import MatMul, bmm, matmul, outer
from .memory_format import contiguous_format
from .number_arguments import parser_int, parser_number
from .renorm_node import Renorm, renorm_dtype_ok
from .scaled_products import _plus_product

__all__ = ["addbmm", "dist", "ger", "inner", "renorm", "vdot"]


def _same_dtype(op: str, a: Tensor, b: Tensor) -> None:
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"{op}(): both inputs should have the same dtype, got {a.dtype} and {b.dtype}"
        )


@tensor_method(keywords=True)
def inner(input: Tensor, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """Sum of products over the last dims of ``input`` and ``other`` (the output has shape
    ``input.shape[:-1] + other.shape[:-1]``); a product when either is 0-d."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):  # PyTorch's TypeError
        raise first_not_tensor("inner", (("input", input), ("other", other)))
    a, b = input, other
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    _same_dtype("inner", a, b)
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(
            f"inner(): the last dimension must match on both input tensors but got shapes "
            f"{list(a.shape)} and {list(b.shape)}"
        )
    if a.ndim == 1 and b.ndim == 1:  # a dot product: PyTorch's CPU autocast leaves it alone
        return without_autocast(matmul, a, b)
    k = a.shape[-1]
    # the row counts are explicit: ``-1`` is ambiguous when k == 0
    rows_a, rows_b = math.prod(a.shape[:-1]), math.prod(b.shape[:-1])
    prod = matmul(a.reshape(rows_a, k), b.reshape(rows_b, k).mT)
    return prod.reshape(tuple(a.shape[:-1]) + tuple(b.shape[:-1]))


@tensor_method(keywords=True)
def vdot(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """The dot product of two 1-d tensors (the first conjugated: real tensors here)."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):  # PyTorch's TypeError
        raise first_not_tensor("vdot", (("input", input), ("other", other)))
    a, b = input, other
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"vdot(): 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    _same_dtype("vdot", a, b)
    if a.shape != b.shape:
        raise ShapeError(
            f"vdot(): inconsistent tensor size, expected tensors of the same length, got "
            f"{a.shape[0]} and {b.shape[0]} elements"
        )
    if not a.is_complex():  # one VdotBackward0, as PyTorch's (its CPU autocast leaves it)
        return Vdot.apply(a, b)
    # PyTorch's CPU autocast does not cast vdot (nor dot)
    return without_autocast(matmul, a.conj(), b)


class Vdot(MatMul):
    """``vdot`` of two real vectors: the dot product's rules (:class:`MatMul` on 1-d
    operands) under PyTorch's ``VdotBackward0`` and its saved names."""

    node_name = ("VdotBackward0", (0, 1))  # both inputs listed (None without a gradient)
    saved_fields = {"other": 1, "self": 0}  # grad_fn._saved_* as PyTorch's


@tensor_method(keywords=True)
def ger(input: Tensor, vec2: Tensor) -> Tensor:  # noqa: A002
    """The outer product of two 1-d tensors (the older name of :func:`outer`)."""
    if not isinstance(input, Tensor) or not isinstance(vec2, Tensor):  # PyTorch's TypeError
        raise first_not_tensor("ger", (("input", input), ("vec2", vec2)))
    try:
        return outer(input, vec2)
    except NAMED_ERRORS as err:
        lead_with("ger", err)
        raise


def _summed_bmm(b1: Tensor, b2: Tensor) -> Tensor:
    """The sum over the batch of ``b1[b] @ b2[b]``."""
    return bmm(b1, b2).sum(0)


@tensor_method(inplace=True, keywords=True)
def addbmm(
    input: Any,  # noqa: A002
    batch1: Tensor,
    batch2: Tensor,
    *,
    beta: Any = 1,
    alpha: Any = 1,
) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])`` for 3-d batches."""
    if not (
        isinstance(input, Tensor) and isinstance(batch1, Tensor) and isinstance(batch2, Tensor)
    ):
        raise first_not_tensor("addbmm", (("input", input), ("batch1", batch1), ("batch2", batch2)))
    b1, b2 = batch1, batch2
    if b1.ndim != 3 or b2.ndim != 3:
        raise ShapeError(
            f"addbmm(): batch1 and batch2 must be 3D tensors, got shapes {tuple(b1.shape)} "
            f"and {tuple(b2.shape)}"
        )
    return _plus_product("addbmm", input, _summed_bmm, (b1, b2), beta, alpha)


@tensor_method
def dist(input: Tensor, other: Any, p: float = 2) -> Tensor:  # noqa: A002
    """The ``p``-norm of ``input - other`` (broadcast), over all elements."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):  # PyTorch's TypeError
        raise first_not_tensor("dist", (("input", input), ("other", other)))
    try:
        a, b = input, other
        if dist_node_ok(a, b, p):  # one DistBackward0, as PyTorch's
            check_broadcast("dist", a, b)
            if (p < 0 or p == math.inf) and not (a._data.size and b._data.size):
                raise torch_words(  # PyTorch's words (the norm's), unprefixed
                    RuntimeError(
                        f"linalg.vector_norm cannot compute the {float(p):g} norm on an empty "
                        "tensor because the operation does not have an identity"
                    )
                )
            return Dist.apply(a, b, p, p)
        return vector_norm(a - b, p)
    except NAMED_ERRORS as err:
        lead_with("dist", err)
        raise


@tensor_method(inplace=True, keywords=True)
def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:  # noqa: A002
    """Each slice of ``input`` along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down
    to norm ``maxnorm`` (PyTorch's ``maxnorm / (norm + 1e-7)``); other slices unchanged.
    The result is row-major, as PyTorch's."""
    if type(p) not in (int, float) or type(dim) is not int or type(maxnorm) not in (int, float):
        p = parser_number("renorm", "p", 2, p)  # PyTorch's parser, in its order
        dim = parser_int("renorm", "dim", 3, dim)
        maxnorm = parser_number("renorm", "maxnorm", 4, maxnorm)
    x = as_tensor(input)
    if x.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {x.ndim} dimensions")
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported (p = {p})")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = norm_dim(dim, x.ndim, "renorm")[0]
    if renorm_dtype_ok(x, p):  # one RenormBackward0, as PyTorch's
        out = Renorm.apply(x, float(p), d, float(maxnorm))
        return given(out, p=p, dim=dim, maxnorm=maxnorm)
    # The norm and the product save their operand: a private copy, so that ``renorm_``
    # (which overwrites ``x``) leaves what backward reads intact, as PyTorch's fused rule;
    # row-major, as PyTorch's result is whatever the input's layout
    x = x.clone(memory_format=contiguous_format)
    try:
        norm = vector_norm(x, p, tuple(i for i in range(x.ndim) if i != d), True)
    except NAMED_ERRORS as err:
        lead_with("renorm", err)
        raise
    factor = where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)
    return x * factor.to(x.dtype)
