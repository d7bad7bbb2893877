"""``torch.masked``'s reductions on dense tensors: ``sum``, ``prod``, ``amax``, ``amin``,
``argmax``, ``argmin``, ``mean``, ``median``, ``norm``, ``var``, ``std``, ``logsumexp``.

Each takes ``mask=`` (a bool tensor broadcastable to the input; None: every element is in)
and reduces only the elements the mask keeps. Each is the plain reduction of
``where(mask, input, identity)`` (``_common.identity``), so a slice with no element in gives
the identity: 0 for ``sum`` and ``norm``, 1 for ``prod``, -inf / +inf (or the integer type's
extremes) for ``amax`` / ``amin`` and ``logsumexp``, and NaN for ``mean``, ``median``,
``var`` and ``std`` (0 / 0), as torch's. Gradients flow through chainrule's autograd to the
elements in the mask (``where`` gives the masked-out elements a zero gradient).
"""

from __future__ import annotations

import math
from typing import Any

from .. import ops
from ..autograd.tensor import Tensor
from ..creation import full, full_like
from ..dtype_objects import bool_, float32, float64, int8, int16, int32, int64, uint8
from ..linalg import vector_norm
from ._common import (
    check_input,
    dims_of,
    identity,
    input_mask,
    masked_fill,
    prepare,
    split_masked,
)

__all__ = [
    "amax",
    "amin",
    "argmax",
    "argmin",
    "logsumexp",
    "mean",
    "median",
    "norm",
    "prod",
    "std",
    "sum",
    "var",
]


def sum(  # noqa: A001 - mirrors torch.masked.sum
    input: Tensor,
    dim: int | tuple[int, ...] | None = None,
    *,
    keepdim: bool = False,
    dtype: Any = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.sum``: the sum of the elements in ``mask`` over ``dim`` (all dims when
    None); 0 for a slice with none. Integer and bool inputs sum in int64, as ``cr.sum``."""
    x, m = prepare("sum", input, dtype, mask)
    dims = dims_of(x, dim)
    return ops.sum(masked_fill(x, m, identity("sum", x.dtype)), dim=dims, keepdim=keepdim)


def prod(
    input: Tensor,
    dim: int | tuple[int, ...] | None = None,
    *,
    keepdim: bool = False,
    dtype: Any = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.prod``: the product of the elements in ``mask`` (1 for none); a 0-d
    tensor without a mask reduced over every dim (``dim`` None or empty) is returned as it
    is, as torch's (with a dim named it is a new product), unless its dtype is promoted
    (bool and integers narrower than int64 give an int64 copy, as torch's ``.to``)."""
    if (
        mask is None
        and dtype is None
        and type(input) is Tensor
        and input.dim() == 0
        and (dim is None or (isinstance(dim, (tuple, list)) and not dim))
        and (input.is_floating_point() or input.is_complex() or input.dtype == int64)
    ):
        return input
    x, m = prepare("prod", input, dtype, mask)
    filled = masked_fill(x, m, identity("prod", x.dtype))
    dims = dims_of(x, dim)
    if x.dim() == 0 and not dims:
        # torch's loop over the dims runs over none: ``where(mask, input, 1)`` (the input
        # itself without a mask) cast, no product, so nothing saves the result (an in-place
        # change of it leaves the backward valid, as torch's; seed 9759)
        out = x if mask is None and type(input) is Tensor else filled
        return out.to(int64) if out.dtype in (bool_, uint8, int8, int16, int32) else out
    if x.dim() == 0:  # (a dim named: torch's prod over it, ProdBackward1)
        return ops.prod(filled, 0, keepdim=keepdim)
    out = filled
    for d in reversed(dims):  # cr.prod takes one dim at a time, as torch.prod
        out = ops.prod(out, d, keepdim=keepdim)
    return out


def _filled(op: str, input: Any, dtype: Any, mask: Any) -> Tensor:
    """The input with its masked-out elements set to ``op``'s identity in the input's own
    dtype, then cast to ``dtype``, as torch's (an integer input cast to a float dtype keeps
    its type's extreme, not an infinity, in a slice with no element in)."""
    x, m = prepare(op, input, None, mask)
    filled = masked_fill(x, m, identity(op, x.dtype))
    return filled if dtype is None else filled.to(dtype)


def _extreme(op: str, input: Any, dim: Any, keepdim: bool, dtype: Any, mask: Any) -> Tensor:
    """amax / amin of the input filled with the identity in its own dtype, the result cast
    to ``dtype``, as torch's (an int input cast to float keeps the type's extreme)."""
    plain_bool = mask is None and type(input) is Tensor and input.dtype == bool_
    # (a bool input without a mask: reduced as it is, as torch's; with one, no identity)
    x = input if plain_bool else _filled(op, input, None, mask)
    dims = dims_of(x, dim)
    reduce = ops.amax if op == "amax" else ops.amin
    out = reduce(x, dim=dims, keepdim=keepdim)
    return out if dtype is None else out.to(dtype)


def amax(
    input: Tensor,
    dim: int | tuple[int, ...] | None = None,
    *,
    keepdim: bool = False,
    dtype: Any = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.amax``: the largest element in ``mask`` (-inf, or the integer type's
    minimum, for a slice with none). The gradient is shared among tied maxima."""
    return _extreme("amax", input, dim, keepdim, dtype, mask)


def amin(
    input: Tensor,
    dim: int | tuple[int, ...] | None = None,
    *,
    keepdim: bool = False,
    dtype: Any = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.amin``: the smallest element in ``mask`` (+inf, or the integer type's
    maximum, for a slice with none)."""
    return _extreme("amin", input, dim, keepdim, dtype, mask)


def _arg(op: str, input: Any, dim: Any, keepdim: bool, dtype: Any, mask: Any) -> Tensor:
    if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool)):
        raise TypeError(
            f"{op}(): argument 'dim' (position 2) must be int, not {type(dim).__name__}"
        )
    x, m = prepare(op, input, dtype, mask)
    if dim is not None:
        dims_of(x, dim)  # the range check
    filled = masked_fill(x, m, identity(op, x.dtype))
    reduce = ops.argmax if op == "argmax" else ops.argmin
    # torch.masked's argmax/argmin return the indices in the input's dtype
    return reduce(filled.detach(), dim=dim, keepdim=keepdim).to(x.dtype)


def argmax(
    input: Tensor,
    dim: int | None = None,
    *,
    keepdim: bool = False,
    dtype: Any = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.argmax``: the index of the largest element in ``mask`` along ``dim``
    (of the flattened input when None), in the input's dtype as torch's (0 for a slice with
    no element in)."""
    return _arg("argmax", input, dim, keepdim, dtype, mask)


def argmin(
    input: Tensor,
    dim: int | None = None,
    *,
    keepdim: bool = False,
    dtype: Any = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.argmin``: the index of the smallest element in ``mask`` (see
    :func:`argmax`)."""
    return _arg("argmin", input, dim, keepdim, dtype, mask)


def _count(m: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
    return ops.sum(m.to(int64), dim=dims, keepdim=keepdim)


def mean(
    input: Tensor,
    dim: int | tuple[int, ...] | None = None,
    *,
    keepdim: bool = False,
    dtype: Any = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.mean``: sum / count of the elements in ``mask`` (NaN for none).

    Raises:
        ValueError: an integer or bool input without a floating ``dtype``, as torch's.
    """
    x, m = prepare("mean", input, dtype, mask)
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        which = "Input" if dtype is None else "Optional"
        raise ValueError(
            f"mean(): Could not infer output dtype. {which} dtype must be either a floating "
            f"point or complex dtype. Got: {x.dtype}"
        )
    dims = dims_of(x, dim)
    total = ops.sum(masked_fill(x, m, 0), dim=dims, keepdim=keepdim)
    return total / _count(m, dims, keepdim).to(total.dtype)


def median(
    input: Tensor,
    dim: int = -1,
    *,
    keepdim: bool = False,
    dtype: Any = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.median``: the lower median of the elements in ``mask`` along one dim
    (NaN for a slice with none). As torch's, ``dtype`` is ignored, and a tuple of dims (or
    None) reduces along the first of them only.

    Raises:
        ValueError: a slice with no element in on an integer input.
    """
    input, mask = split_masked(input, mask)
    x = check_input("median", input)
    m = input_mask("median", x, mask)
    d = dims_of(x, dim)[0] if x.dim() else 0
    floating = x.dtype.is_floating_point
    if x.dim() == 0:
        return ops.where(m, x, full_like(x, math.nan)) if floating else x
    if x.shape[d] == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    count = _count(m, (d,), True)
    if not floating and bool((count == 0).any()):
        raise ValueError(
            "masked median expects no fully masked out rows if dtype is not floating point"
        )
    # a bool input sorts as int8 (False < True) and gives bools back
    work = x.to(int8) if x.dtype == bool_ else x
    filled = masked_fill(work, m, identity("median", work.dtype))
    ordered = ops.sort(filled, dim=d).values
    at = ops.clamp((count - 1) // 2, min=0)
    out = ops.gather(ordered, d, at).to(x.dtype)
    if floating:
        out = ops.where(count > 0, out, full_like(out, math.nan))
    return out if keepdim else out.squeeze(d)


def norm(
    input: Tensor,
    ord: float | None = 2.0,
    dim: int | tuple[int, ...] | None = None,
    *,
    keepdim: bool = False,
    dtype: Any = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.norm``: the vector ``ord``-norm of the elements in ``mask`` (0 for a
    slice with none; +inf for ``ord=-inf``); ``ord=0`` counts the nonzero ones."""
    x, m = prepare("norm", input, None, mask)
    dims = dims_of(x, dim)
    p = 2.0 if ord is None else ord
    if p == -math.inf:
        x = x if dtype is None else x.to(dtype)
        # abs of the filled input (abs(inf) = inf): abs saves the filled copy, not the input,
        # so an in-place change of the input after the forward leaves backward valid, as torch's
        return ops.amin(ops.abs(masked_fill(x, m, math.inf)), dim=dims, keepdim=keepdim)
    # dtype goes to vector_norm, which refuses a narrowing one as torch's
    return vector_norm(masked_fill(x, m, 0), p, dim=dims, keepdim=keepdim, dtype=dtype)


def var(
    input: Tensor,
    dim: int | tuple[int, ...] | None = None,
    unbiased: bool | None = None,
    *,
    correction: float | None = None,
    keepdim: bool = False,
    dtype: Any = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.var``: sum((x - mean)^2) / max(count - correction, 0) over the
    elements in ``mask`` (``correction`` 1 by default, 0 with ``unbiased=False``); NaN for
    a slice with none, and integer inputs give the default float type, as torch's."""
    x, m = prepare("var", input, dtype, mask)
    if x.dtype == bool_:
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead. "
            "(torch.masked.var/std of a bool input: pass a floating dtype=)"
        )
    out_dtype = x.dtype if dtype is not None else None  # an integer dtype= gives integers
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        x = x.to(float32)
    if correction is None:
        correction = 0 if unbiased is False else 1
    dims = dims_of(x, dim)
    count = _count(m, dims, True)
    if mask is None and type(input) is Tensor and not x.dtype.is_complex:
        # no mask: PyTorch's graph, the squares of x - sum(x) / count (no where)
        centered = x - ops.sum(x, dim=dims, keepdim=True) / count
        squares = centered * centered
    else:  # the mask before the squares: a slice with no element in keeps a finite gradient
        total = ops.sum(masked_fill(x, m, 0), dim=dims, keepdim=True)
        centered = masked_fill(x - total / count.to(total.dtype), m, 0)
        squares = centered * centered.conj() if x.dtype.is_complex else centered * centered
        if x.dtype.is_complex:
            squares = squares.real
    ssd = ops.sum(squares, dim=dims, keepdim=keepdim)
    dof = ops.clamp(_count(m, dims, keepdim) - correction, min=0)
    out = ssd / dof.to(ssd.dtype)
    if out_dtype is not None and not (out_dtype.is_floating_point or out_dtype.is_complex):
        out = out.to(out_dtype)
    return out


def std(
    input: Tensor,
    dim: int | tuple[int, ...] | None = None,
    unbiased: bool | None = None,
    *,
    correction: float | None = None,
    keepdim: bool = False,
    dtype: Any = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.std``: the square root of :func:`var`."""
    v = var(input, dim, unbiased, correction=correction, keepdim=keepdim, dtype=dtype, mask=mask)
    return ops.sqrt(v)


def logsumexp(
    input: Tensor,
    dim: int | tuple[int, ...] | None = None,
    *,
    keepdim: bool = False,
    dtype: Any = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``torch.masked.logsumexp``: log(sum(exp(x))) over the elements in ``mask`` (-inf for
    a slice with none); its gradient is the masked softmax."""
    if dtype is not None and isinstance(input, Tensor) and not input.dtype.is_floating_point:
        if dtype.is_floating_point or dtype.is_complex:  # the int minimum, cast, as torch's
            x = _filled("logsumexp", input, dtype, mask)
            return ops.logsumexp(x, dims_of(x, dim), keepdim)
    x, m = prepare("logsumexp", input, dtype, mask)
    dims = dims_of(x, dim)
    if x.dtype.is_floating_point or x.dtype.is_complex:
        return ops.logsumexp(masked_fill(x, m, -math.inf), dims, keepdim)
    # an integer input: the float result truncated to its dtype, the type's minimum for a
    # slice with no element in, as torch's
    out = ops.logsumexp(masked_fill(x.to(float64), m, -math.inf), dims, keepdim)
    empty = ops.isinf(out)
    low = full((), identity("logsumexp", x.dtype), dtype=x.dtype)
    return ops.where(empty, low, ops.where(empty, 0.0, out).to(x.dtype))
