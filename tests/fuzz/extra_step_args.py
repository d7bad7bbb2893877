"""The operands and arguments that the step kinds of :mod:`tests.fuzz.extra_steps` draw
(split from it): operands sized to a shape, scatter/gather indices (distinct per line where
a scatter needs them), dims and their element counts, the dtypes of casts, and the
steering helpers ``no_nan`` and ``_float_pair`` (each says which torch quirk it avoids).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .more_steps import _dim, _fit

__all__ = ["no_nan"]


def _sized(lib: Any, y: Any, shape: tuple) -> Any:
    """A tensor of ``shape`` made from ``y`` (broadcast where it fits, else its sum), with
    ``y``'s dtype, differentiable in ``y``."""
    return _fit(y, shape) + lib.zeros(shape, dtype=y.dtype)


def _index_shape(x: Any, d: int, k: int) -> tuple:
    shape = tuple(x.shape)
    return shape[:d] + (k,) + shape[d + 1 :] if x.dim() else ()


def _unique_index(lib: Any, x: Any, d: int, ints: tuple) -> Any:
    """An index for scatter along ``d``: per line, distinct positions (a scatter with
    repeated positions has no defined winner)."""
    size = x.shape[d] if x.dim() else 1
    k = 1 + ints[4] % max(size, 1)
    ishape = _index_shape(x, d, k)
    rng = np.random.default_rng(ints[2])
    lines = math.prod(ishape) // max(k, 1) if ishape else 1
    rows = [rng.permutation(max(size, 1))[:k] for _ in range(lines)]
    if not ishape:
        return lib.tensor(np.int64(rows[0][0]))
    # the lines run along the last axis here; move that axis to d
    moved = ishape[:d] + ishape[d + 1 :] + (k,)
    arr = np.array(rows, dtype=np.int64).reshape(moved)
    return lib.tensor(np.ascontiguousarray(np.moveaxis(arr, -1, d)))


def _any_index(lib: Any, x: Any, d: int, ints: tuple) -> Any:
    """An index for gather/scatter_add along ``d`` (repeats allowed)."""
    size = x.shape[d] if x.dim() else 1
    ishape = _index_shape(x, d, 1 + ints[4] % 3)
    idx = np.random.default_rng(ints[3]).integers(0, max(size, 1), ishape)
    return lib.tensor(np.asarray(idx, dtype=np.int64))


def _list_index(lib: Any, size: int, ints: tuple, n: int, unique: bool = False) -> Any:
    if unique:
        idx = list(np.random.default_rng(ints[2]).permutation(max(size, 1))[:n])
    else:
        idx = [(ints[2] + j * ints[3]) % max(size, 1) for j in range(n)]
    return lib.tensor(np.array(idx, dtype=np.int64))


def _dims(x: Any, ints: tuple) -> Any:
    """A dim, a tuple of dims (maybe negative) or None."""
    n = x.dim()
    choice = ints[3] % 4
    if n == 0 or choice == 0:
        return None
    if choice == 1:
        return _dim(x, ints[1])
    if choice == 2:
        return _dim(x, ints[1]) - n  # negative
    dims = tuple(i for i in range(n) if (ints[2] >> i) & 1)
    return dims or (0,)


def _count(shape: tuple, dims: Any) -> int:
    """How many elements a reduction over ``dims`` (None: all) of ``shape`` reduces."""
    if dims is None:
        return math.prod(shape)
    return math.prod(shape[d % len(shape)] for d in {d % len(shape) for d in np.atleast_1d(dims)})


_DTYPES = ("float64", "float32", "int64", "bool")


def no_nan(lib: Any, x: Any) -> Any:
    """``x`` with its NaNs replaced by 0, for amax/amin: where a slice holds a NaN, torch's
    gradient is NaN over the whole slice (0/0 from its tie count), chainrule's goes to the NaNs,
    as torch's max() does (documented, tests/ops/test_reduction_audit.py), steered around."""
    if x.is_floating_point() and bool(x.isnan().any()):
        return lib.where(x.isnan(), 0.0, x)
    return x


def _float_pair(t1: Any, t2: Any) -> tuple:
    """addcmul's/addcdiv's operands, an integer or bool one cast to the other's floating
    dtype: torch computes the gradient of the floating one through ``value * t1`` of the
    integer one in float32 (its default dtype), a float64 gradient off by ~1e-8 where
    chainrule's is exact; the result's dtype is the same either way. Steered around."""
    if t1.is_floating_point() and not t2.is_floating_point():
        return t1, t2.to(t1.dtype)
    if t2.is_floating_point() and not t1.is_floating_point():
        return t1.to(t2.dtype), t2
    return t1, t2
