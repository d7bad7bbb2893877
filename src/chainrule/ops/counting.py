"""Counting and locating: ``aminmax``, ``argwhere``, ``bincount`` and ``unique_consecutive``.

Only ``aminmax`` is differentiable (it is ``amin`` and ``amax``, whose gradient is shared
among tied extremes); the others return integer positions or counts computed on raw arrays,
as PyTorch (``bincount``'s weighted sums are not differentiable there either).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import return_types
from .._layout import is_vmap_batched
from ..autograd.saved_fields import given  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..float8 import refuse as _refuse_float8
from ._util import (
    NAMED_ERRORS,
    DtypeError,
    as_tensor,
    constant,
    int_dim,
    lead_with,
    refuse_complex_order,
)
from .aminmax_node import Aminmax
from .binding import tensor_method
from .extremes import amax, amin
from .no_derivative import record_no_derivative

__all__ = ["aminmax", "argwhere", "bincount", "unique_consecutive"]

"""``aminmax``'s result, with PyTorch's field names (``torch.return_types.aminmax``)."""


class _EmptyReductionDim(IndexError, RuntimeError):
    """A reduction without identity over a size-0 dim: PyTorch raises ``IndexError`` (this
    is both, so ``except RuntimeError`` written for the no-dim case catches it too)."""


@tensor_method(keywords=True)
def aminmax(input: Any, *, dim: int | None = None, keepdim: bool = False) -> return_types.aminmax:  # noqa: A002
    """(min, max) over all elements or along ``dim``.

    Raises:
        RuntimeError: the reduced elements are empty (no identity); for an empty ``dim`` an
            ``IndexError`` as PyTorch's (a RuntimeError too).
    """
    x = as_tensor(input)
    refuse_complex_order("aminmax", x, error=NotImplementedError)
    d = None if dim is None else int_dim(dim, x.ndim, "aminmax")
    empty = x._data.size == 0 if d is None else (x.ndim > 0 and x.shape[d] == 0)
    if empty:
        raise (RuntimeError if d is None else _EmptyReductionDim)(
            "aminmax(): cannot compute aminmax over an empty dimension as the operation has "
            f"no identity (got shape {tuple(x.shape)}, dim={dim})"
        )
    if x.dtype.kind == "f":  # one AminmaxBackward0, as PyTorch's
        lo, hi = Aminmax.apply(x, d, bool(keepdim))
        given(lo, dim=dim)  # grad_fn._saved_dim as given
        return return_types.aminmax(lo, hi)
    try:
        if d is None:
            lo, hi = amin(x), amax(x)
            if keepdim:
                lo, hi = (t.reshape((1,) * x.ndim) for t in (lo, hi))
            return return_types.aminmax(lo, hi)
        return return_types.aminmax(amin(x, d, keepdim), amax(x, d, keepdim))
    except NAMED_ERRORS as err:
        lead_with("aminmax", err)
        raise


@tensor_method
def argwhere(input: Any) -> Tensor:  # noqa: A002
    """The indices of the non-zero elements, one row per element: shape (count, ndim)."""
    x = as_tensor(input)
    if type(x._data) is not np.ndarray and is_vmap_batched(x._data):
        from ..func._per_sample import per_sample  # noqa: PLC0415 - func imports the ops

        # cr.func.vmap: once per sample, as PyTorch's fallback (other lengths: stack refuses)
        return per_sample(argwhere, x)
    xp = get_array_module(x._data)
    return constant(xp.argwhere(x._data).astype(np.int64))


@tensor_method
def bincount(input: Any, weights: Any = None, minlength: int = 0) -> Tensor:  # noqa: A002
    """Counts (or sums of ``weights``) of each non-negative integer value in 1-d ``input``;
    the length is ``max(input) + 1`` or ``minlength`` if larger. Counts are int64; weighted
    sums keep a float32/float64 weights dtype (other weights give float64), as PyTorch.

    Raises:
        RuntimeError: ``input`` not 1-d, negative values, bad ``minlength`` or ``weights``.
        NotImplementedError: a float or bool ``input``.
    """
    x = as_tensor(input)
    a = x._data
    if (type(a) is not np.ndarray or weights is not None) and (  # (plain arrays: no vmap)
        is_vmap_batched(a) or is_vmap_batched(getattr(weights, "_data", None))
    ):
        from ..func._per_sample import per_sample  # noqa: PLC0415 - func imports the ops

        # cr.func.vmap: once per sample, as PyTorch's fallback (other lengths: stack refuses)
        return per_sample(bincount, x, weights, minlength)
    if a.dtype.kind not in "iu":
        raise DtypeError(f"bincount: not implemented for {x.dtype} input (integers only)")
    if isinstance(minlength, bool) or not isinstance(minlength, (int, np.integer)):
        raise TypeError(f"bincount(): argument 'minlength' must be int, not {minlength!r}")
    if minlength < 0:
        raise RuntimeError(f"bincount: minlength should be >= 0 (got {minlength})")
    if a.ndim != 1 or (a.size and int(a.min()) < 0):
        raise RuntimeError(
            "bincount only supports 1-d non-negative integral inputs."  # PyTorch's words
        )
    xp = get_array_module(a)
    if weights is None:
        return constant(xp.bincount(a, minlength=int(minlength)).astype(np.int64))
    w = as_tensor(weights)
    if w.ndim != 1 or w.shape[0] != a.shape[0]:
        raise RuntimeError(
            "bincount: weights should be 1-d and have the same length as input (got "
            f"weights {tuple(w.shape)}, input {tuple(x.shape)})"
        )
    if w.dtype.kind == "c":
        raise DtypeError(f"bincount: complex weights are not supported (got {w.dtype})")
    dtype = w.dtype if w.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    out = xp.bincount(a, weights=w._data.astype(np.float64), minlength=int(minlength))
    return record_no_derivative("bincount", constant(out.astype(dtype)), w)


@tensor_method
def unique_consecutive(
    input: Any,  # noqa: A002
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """Collapse each run of equal consecutive elements (of the flattened input; with ``dim``,
    of the slices along ``dim``, compared whole) to one; optionally also the run each element
    (slice) belongs to - input's shape, or its length along ``dim`` - and each run's length.

    Raises:
        IndexError: ``dim`` given for a 0-d tensor, or out of range.
        RuntimeError: ``dim`` given while another dimension has size 0 (no slices to compare).
    """
    x = as_tensor(input)
    refuse_complex_order("unique_consecutive", x, error=NotImplementedError)  # as PyTorch
    _refuse_float8("unique", x)
    if is_vmap_batched(x._data):  # cr.func.vmap: PyTorch refuses
        from ..func._logical import dynamic_shape  # noqa: PLC0415 - func imports the ops

        raise dynamic_shape("aten::unique_consecutive")
    xp = get_array_module(x._data)
    if dim is None:
        data = x._data.reshape(-1)
        starts = data[1:] != data[:-1]
    else:
        if x.ndim == 0:
            raise IndexError(
                f"unique_consecutive: dim={dim!r} given for a 0-d tensor (it has no dimensions)"
            )
        d = int_dim(dim, x.ndim, "unique_consecutive")
        if x.shape[d] and 0 in x.shape:
            raise RuntimeError(
                f"unique_consecutive: input of shape {tuple(x.shape)} has 0-sized dimensions "
                f"other than dim={dim}, so its slices along dim cannot be compared"
            )
        data = xp.moveaxis(x._data, d, 0)
        rows = data.reshape(data.shape[0], math.prod(data.shape[1:]))
        starts = (rows[1:] != rows[:-1]).any(axis=1)
    if data.shape[0]:
        starts = xp.concatenate([xp.ones(1, bool), starts])
    else:
        starts = xp.zeros(0, bool)
    values = data[starts]
    out = [constant(values if dim is None else xp.moveaxis(values, 0, d))]
    if return_inverse:
        inverse = (xp.cumsum(starts) - 1).astype(np.int64)
        out.append(constant(inverse.reshape(x.shape) if dim is None else inverse))
    if return_counts:
        edges = xp.concatenate([xp.flatnonzero(starts), xp.asarray([data.shape[0]])])
        out.append(constant(xp.diff(edges).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)
