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
from ._common import masked_fill, prepare
from ._reductions import norm

__all__ = ["cumprod", "cumsum", "log_softmax", "logaddexp", "normalize", "softmax", "softmin"]


def _running_dtype(input: Any, dtype: Any) -> Any:
    """``dtype``, or the input's own (torch.masked's running sums and products keep an
    int32 input int32, where ``cr.cumsum`` promotes it to int64)."""
    if dtype is None and isinstance(input, Tensor):
        return input.dtype
    return dtype


def cumsum(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.cumsum``: the running sum along ``dim`` of the elements in ``mask``
    (a masked-out element adds 0, so it repeats the sum before it)."""
    x, m = prepare("cumsum", input, _running_dtype(input, dtype), mask)
    return ops.cumsum(masked_fill(x, m, 0), dim, dtype=x.dtype)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.cumprod``: the running product along ``dim`` of the elements in
    ``mask`` (a masked-out element multiplies by 1)."""
    x, m = prepare("cumprod", input, _running_dtype(input, dtype), mask)
    return ops.cumprod(masked_fill(x, m, 1), dim, dtype=x.dtype)


def _softmax_input(
    op: str, input: Any, dim: Any, dtype: Any, mask: Any, negate: bool = False
) -> Tensor:
    x, m = prepare(op, input, dtype, mask)
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        kernel = "log_softmax" if op == "log_softmax" else "softmax"
        raise NotImplementedError(
            f'torch.masked.{op}(): "{kernel}_lastdim_kernel_impl" not implemented for '
            f"{x.dtype} inputs; pass a floating dtype= or a floating input"
        )
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"torch.masked.{op}(): dim must be an int, got {dim!r}")
    lo, hi = (-1, 0) if x.dim() == 0 else (-x.dim(), x.dim() - 1)
    if dim < lo or dim > hi:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return masked_fill(-x if negate else x, m, -math.inf)


def softmax(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.softmax``: exp(x_i) / sum(exp(x_j)) over the elements in ``mask``
    along ``dim``; masked-out elements give 0, a slice with none NaN."""
    return ops.softmax(_softmax_input("softmax", input, dim, dtype, mask), dim)


def log_softmax(
    input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None
) -> Tensor:
    """``torch.masked.log_softmax``: log of :func:`softmax` (masked-out elements -inf)."""
    return ops.log_softmax(_softmax_input("log_softmax", input, dim, dtype, mask), dim)


def softmin(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.softmin``: :func:`softmax` of ``-input``."""
    return ops.softmax(_softmax_input("softmin", input, dim, dtype, mask, negate=True), dim)


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
    x, m = prepare("normalize", input, dtype, mask)
    # an integer input: the norm's RuntimeError (DtypeError), as torch's
    n = norm(x, ord, dim, keepdim=True, mask=m)
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
    return ops.logaddexp(masked_fill(a, ma, -math.inf), masked_fill(b, mb, -math.inf))
