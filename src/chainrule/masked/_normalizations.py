"""``torch.masked``'s shape-keeping functions on dense tensors: ``cumsum``, ``cumprod``,
``softmax``, ``log_softmax``, ``softmin``, ``normalize`` and ``logaddexp``.

Each sees only the elements in ``mask`` (the others take the identity of the operation:
0 for a running sum, 1 for a running product, -inf for the softmaxes), and returns a tensor
of the input's shape. A softmax slice with no element in is NaN (0 / 0), as torch's; the
masked-out elements of a slice with some are 0 (``log_softmax``: -inf).
"""

from __future__ import annotations

import math
from typing import Any

from .. import ops
from ..autograd.tensor import Tensor
from ..qtypes import scalar_type_name
from ._common import check_input, dims_of, identity, input_mask, masked_fill, prepare, split_masked
from ._reductions import norm

__all__ = ["cumprod", "cumsum", "log_softmax", "logaddexp", "normalize", "softmax", "softmin"]


def _running_dtype(input: Any, dtype: Any) -> Any:
    """``dtype``, or the input's own (torch.masked's running sums and products keep an
    int32 input int32, where ``cr.cumsum`` promotes it to int64)."""
    if dtype is None and isinstance(input, Tensor):
        return input.dtype
    return dtype


def _check_dim(x: Tensor, dim: Any) -> None:
    """An int ``dim`` out of range: torch's IndexError ("Dimension out of range ...")."""
    if isinstance(dim, int) and not isinstance(dim, bool):
        dims_of(x, dim)


def cumsum(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.cumsum``: the running sum along ``dim`` of the elements in ``mask``
    (a masked-out element adds 0, so it repeats the sum before it)."""
    x, m = prepare("cumsum", input, _running_dtype(input, dtype), mask)
    _check_dim(x, dim)
    return ops.cumsum(masked_fill(x, m, 0), dim, dtype=x.dtype)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.cumprod``: the running product along ``dim`` of the elements in
    ``mask`` (a masked-out element multiplies by 1)."""
    x, m = prepare("cumprod", input, _running_dtype(input, dtype), mask)
    _check_dim(x, dim)
    return ops.cumprod(masked_fill(x, m, 1), dim, dtype=x.dtype)


def _softmax_input(
    op: str, input: Any, dim: Any, dtype: Any, mask: Any, negate: bool = False
) -> tuple[Tensor, int]:
    """The input of the softmax kernel: the masked-out elements filled with the identity of
    ``amax`` (``amin`` for softmin) in the input's own dtype, then cast to ``dtype``, as
    torch's (an integer input filled with its type's minimum, then cast to a float dtype,
    gives a slice with no element in equal weights, not NaN)."""
    input, mask = split_masked(input, mask)
    x = check_input(op, input)
    m = input_mask(op, x, mask)
    # a bool input: NotImplementedError (identity of amax on torch.bool input), as torch's
    filled = masked_fill(x, m, identity("amin" if negate else "amax", x.dtype))
    if dtype is not None:
        filled = filled.to(dtype)
    if not (filled.dtype.is_floating_point or filled.dtype.is_complex):
        kernel = "log_softmax" if op == "log_softmax" else "softmax"
        raise NotImplementedError(
            f'"{kernel}_lastdim_kernel_impl" not implemented for '
            f"'{scalar_type_name(filled.dtype)}' (torch.masked.{op}(): pass a floating dtype= "
            "or a floating input)"
        )
    return (-filled if negate else filled), _softmax_dim(op, x, dim)


def _softmax_dim(op: str, x: Tensor, dim: Any) -> int:
    """The dim torch.masked's softmaxes read: the first of ``_canonical_dim(dim)`` (a bool
    is an int, None or a tuple its first dim), after its checks (:func:`dims_of`)."""
    if isinstance(dim, float):  # torch iterates over it
        raise TypeError(f"torch.masked.{op}(): dim must be an int, got {dim!r}")
    dims = dims_of(x, dim)
    if not dims:  # a 0-d input with dim=None: torch's IndexError
        raise IndexError(f"torch.masked.{op}(): dim=None of a 0-d input names no dim")
    return dims[0]


def softmax(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.softmax``: exp(x_i) / sum(exp(x_j)) over the elements in ``mask``
    along ``dim``; masked-out elements give 0, a slice with none NaN."""
    return ops.softmax(*_softmax_input("softmax", input, dim, dtype, mask))


def log_softmax(
    input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None
) -> Tensor:
    """``torch.masked.log_softmax``: log of :func:`softmax` (masked-out elements -inf)."""
    return ops.log_softmax(*_softmax_input("log_softmax", input, dim, dtype, mask))


def softmin(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.softmin``: :func:`softmax` of ``-input``."""
    return ops.softmax(*_softmax_input("softmin", input, dim, dtype, mask, negate=True))


def normalize(
    input: Tensor,
    ord: float,
    dim: int,
    *,
    eps: float = 1e-12,
    dtype: Any = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.normalize``: x / max(norm_ord(x over ``mask`` along ``dim``), eps)
    for the elements in ``mask``; masked-out elements give 0."""
    # dtype goes to the norm of the input, as torch's: an integer input, or a narrowing
    # dtype, is the norm's RuntimeError (DtypeError)
    data = split_masked(input, None)[0]
    target = dtype if dtype is not None or not isinstance(data, Tensor) else data.dtype
    if target is not None and not (target.is_floating_point or target.is_complex):
        raise RuntimeError(  # torch's vector_norm error, naming this function
            "linalg.vector_norm: Expected a floating point or complex tensor as input. "
            f"Got {scalar_type_name(target)} (torch.masked.normalize())"
        )
    n = norm(input, ord, dim, keepdim=True, dtype=dtype, mask=mask)
    x, m = prepare("normalize", input, dtype, mask)
    return masked_fill(x, m, 0) / ops.clamp(n, min=eps)


def logaddexp(
    input: Tensor,
    other: Tensor,
    *,
    dtype: Any = None,
    input_mask: Tensor | None = None,
    other_mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.logaddexp``: log(exp(input) + exp(other)) where each operand's
    masked-out elements count as -inf (exp of them is 0)."""
    a, ma = prepare("logaddexp", input, dtype, input_mask)
    b, mb = prepare("logaddexp", other, dtype, other_mask)
    if not any(t.dtype.is_floating_point or t.dtype.is_complex for t in (a, b)):
        # torch's kernel refuses integer operands (its -inf fill promotes a mixed pair)
        raise NotImplementedError(
            f"\"logaddexp_cpu\" not implemented for '{scalar_type_name(a.dtype)}' "
            "(torch.masked.logaddexp(): pass a floating dtype= or floating inputs)"
        )
    return ops.logaddexp(masked_fill(a, ma, -math.inf), masked_fill(b, mb, -math.inf))
