"""``make_tensor``: random test tensors of any shape and dtype, mirroring
``torch.testing.make_tensor`` (same default ranges, clamping and argument checks), drawn
from chainrule's default generator (so ``cr.manual_seed`` makes them reproducible)."""

from __future__ import annotations

import collections.abc
import math
import warnings
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..autograd.tensor import Tensor
from ..creation import empty
from ..creation_random import randint
from ..ops import view_as_complex
from ..typeinfo import finfo, iinfo

__all__ = ["make_tensor"]


def _uniform_random_(t: Tensor, low: float, high: float) -> Tensor:
    """``t.uniform_(low, high)``; a range wider than the dtype's largest value is drawn at
    half scale and doubled (PyTorch's workaround for ``uniform_``'s range limit)."""
    if high - low >= finfo(t.dtype).max:
        return t.uniform_(low / 2, high / 2).mul_(2)
    return t.uniform_(low, high)


def _real_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype of one part of a complex dtype (the dtype itself for real ones)."""
    return np.dtype(f"float{dtype.itemsize * 4}") if dtype.kind == "c" else dtype


def _low_high(
    dtype: np.dtype,
    low: float | None,
    high: float | None,
    *,
    lowest_inclusive: float,
    highest_exclusive: float,
    default_low: float,
    default_high: float,
) -> tuple[float, float]:
    """Fill in the defaults, check and clamp ``[low, high)`` to what ``dtype`` holds (and
    round it up to integers for integral dtypes), as PyTorch does."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low == high and dtype.kind in "fc":
        warnings.warn(
            "Passing `low==high` to `chainrule.testing.make_tensor` for floating or complex "
            "types is deprecated since 2.1 and will be removed in 2.3. "
            "Use `chainrule.full(...)` instead.",
            FutureWarning,
            stacklevel=3,
        )
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest_inclusive or low >= highest_exclusive:
        raise ValueError(
            f"The value interval specified by `low` and `high` is [{low}, {high}), "
            f"but {dtype} only supports [{lowest_inclusive}, {highest_exclusive})"
        )
    low = min(max(low, lowest_inclusive), highest_exclusive)
    high = min(max(high, lowest_inclusive), highest_exclusive)
    if dtype.kind in "biu":
        return math.ceil(low), math.ceil(high)
    return low, high


def make_tensor(
    *shape: int | tuple[int, ...] | list[int],
    dtype: Any,
    device: Any,
    low: float | None = None,
    high: float | None = None,
    requires_grad: bool = False,
    noncontiguous: bool = False,
    exclude_zero: bool = False,
    memory_format: Any = None,
) -> Tensor:
    """A tensor of ``shape`` filled with values drawn uniformly from ``[low, high)``.

    Defaults by dtype (as in PyTorch): bool [0, 2), unsigned integers [0, 10), signed
    integers [-9, 10), floating and complex [-9, 9) (complex: real and imaginary parts).
    ``low``/``high`` outside the dtype's finite range are clamped to it.

    Args:
        shape: integers, or one sequence of integers.
        requires_grad: record operations (floating/complex dtypes only).
        noncontiguous: return a non-contiguous view (tensors of two or more elements).
        exclude_zero: replace zeros by 1 (bool/integers) or the dtype's ``tiny``.
        memory_format: not supported (chainrule tensors have no memory-format flag): any
            value but None raises NotImplementedError.

    Raises:
        ValueError: ``requires_grad`` for an integral dtype, ``low >= high``, a NaN bound,
            a range outside the dtype, or both ``noncontiguous`` and ``memory_format``.
        TypeError: a dtype ``make_tensor`` does not support.
    """
    try:
        dtype = _dt.as_dtype(dtype)
    except TypeError:
        raise TypeError(
            f"The requested dtype '{dtype}' is not supported by chainrule.testing.make_tensor()."
        ) from None
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(
            "The parameters `noncontiguous` and `memory_format` are mutually exclusive, but "
            f"got noncontiguous={noncontiguous} and memory_format={memory_format}"
        )
    if memory_format is not None:
        raise NotImplementedError(
            f"make_tensor: memory_format={memory_format!r} is not supported (chainrule tensors "
            "have no memory-format flag); pass memory_format=None"
        )
    kind = dtype.kind
    if requires_grad and kind in "biu":
        raise ValueError(
            "`requires_grad=True` is not supported for boolean and integral dtypes, "
            f"but got dtype={dtype}"
        )
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:  # twice as wide, then every other element: a strided view
        shape = (*shape[:-1], 2 * shape[-1])

    if kind == "b":
        low, high = _low_high(
            dtype, low, high, lowest_inclusive=0, highest_exclusive=2, default_low=0,
            default_high=2,
        )  # fmt: skip
        result = randint(low, high, shape, dtype=dtype, device=device)
    elif kind in "iu":
        info = iinfo(dtype)
        low, high = _low_high(
            dtype,
            low,
            high,
            lowest_inclusive=info.min,
            # int64's maximum itself cannot be drawn (the exclusive bound would overflow)
            highest_exclusive=info.max + (1 if dtype != np.int64 else 0),
            default_low=-9,
            default_high=10,
        )
        result = randint(low, high, shape, dtype=dtype, device=device)
    elif kind in "fc":
        part = _real_dtype(dtype)
        info = finfo(part)
        low, high = _low_high(
            dtype, low, high, lowest_inclusive=info.min, highest_exclusive=info.max,
            default_low=-9, default_high=9,
        )  # fmt: skip
        if kind == "c":  # real and imaginary parts drawn independently
            parts = empty((*shape, 2), dtype=part, device=device)
            _uniform_random_(parts, low, high)
            result = view_as_complex(parts)
        else:
            result = empty(shape, dtype=dtype, device=device)
            _uniform_random_(result, low, high)
    else:
        raise TypeError(
            f"The requested dtype '{dtype}' is not supported by chainrule.testing.make_tensor()."
        )

    if noncontiguous:
        result = result[..., 1::2]
    if exclude_zero:
        if kind in "biu":
            result[result == 0] = 1
        else:
            result[result == 0] = finfo(_real_dtype(dtype)).tiny
    if kind in "fc":
        result._rg = requires_grad
    return result
