"""The view and in-place step kinds of :mod:`tests.fuzz.extra_steps` (split from it):
``unfold``, ``as_strided`` and views of views (:data:`~tests.fuzz.extra_steps.EXTRA_VIEWS`),
and the in-place ops of :data:`~tests.fuzz.extra_steps.EXTRA_INPLACE` (on views of views,
scatters with tensor sources, ``pow_``, division modes, casting copies, ``transpose_``).
As there, every kind is valid for every shape.
"""

from __future__ import annotations

from typing import Any

from .extra_step_args import (
    _DTYPES,
    _any_index,
    _float_pair,
    _index_shape,
    _list_index,
    _sized,
    _unique_index,
    no_nan,
)
from .more_steps import _dim, _fit, near_zero

__all__ = ["extra_inplace", "extra_view"]


def extra_view(lib: Any, kind: str, x: Any, ints: tuple) -> Any:
    """A view step (its result is a view of ``x`` or of a fresh copy of it)."""
    shape = tuple(x.shape)
    n = x.dim()
    d = _dim(x, ints[1])
    size = shape[d] if n else 1
    if kind == "unfold":  # overlapping windows where step < size
        w = 1 + ints[2] % max(size, 1)
        return x.unfold(d if n else 0, min(w, size), 1 + ints[3] % 2)
    if kind == "as_strided":
        # on a fresh contiguous copy: the two libraries lay op results out differently, and
        # as_strided reads the memory directly. Rows may overlap (stride 0 or 1).
        flat = x.reshape(-1).clone()
        numel = flat.shape[0]
        if numel == 0:
            return flat.as_strided((0,), (1,))
        k, m = 1 + ints[2] % 3, 1 + ints[3] % 2
        s0, s1 = ints[4] % 3, 1
        while s0 * (k - 1) + s1 * (m - 1) >= numel:
            k, m = (k - 1, m) if k > 1 else (k, m - 1)
        last = s0 * (k - 1) + s1 * (m - 1)
        out = flat.as_strided((k, m), (s0, s1), ints[1] % (numel - last))
        # rows that overlap: a copy, since an in-place op on memory that overlaps itself is
        # undefined in torch (it neither refuses nor writes each element once)
        return out.clone() if k > 1 and s0 < m else out
    if kind == "view_of_view":  # a transposed slice
        if n < 2:
            return x[1:] if n else x[...]
        return x.transpose(0, -1)[ints[2] % max(shape[-1], 1) :]
    raise AssertionError(kind)


def _writable(x: Any) -> bool:
    return not any(st == 0 and k > 1 for st, k in zip(x.stride(), tuple(x.shape)))


def extra_inplace(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One in-place step of kind ``kind`` on ``x`` (``other``/``third``: other slots, not
    aliasing ``x``'s memory)."""
    shape = tuple(x.shape)
    n = x.dim()
    d = _dim(x, ints[1])
    size = shape[d] if n else 1
    if not _writable(x) and kind not in ("transpose_",):
        # into an expanded tensor: known differences (test_found_cases.py), not fuzzed
        x.add_(val)
        return
    if kind == "view_view_add_":  # an in-place op on a view of a view of x
        if n >= 2:
            v = x.transpose(0, 1)[ints[2] % max(shape[1], 1) :]
        elif n == 1:
            v = x.unsqueeze(0)[:, ints[2] % max(size, 1) :]
        else:
            v = x.unsqueeze(0)[0]
        v = v.t() if v.dim() == 2 and ints[3] % 2 else v
        if ints[4] % 2:
            v.add_(_fit(other, tuple(v.shape)), alpha=val)
        else:
            v.mul_(val)
        return
    if kind == "addcmul_":
        t1, t2 = _float_pair(_fit(other, shape), _fit(third, shape))
        x.addcdiv_(t1, t2.abs() + 1, value=val) if ints[4] % 2 else x.addcmul_(t1, t2, value=val)
        return
    if kind == "lerp_":
        end = _fit(other, shape)
        w = val if ints[4] % 2 else _fit(third, shape)
        if isinstance(w, lib.Tensor) and w.dtype == lib.bool and w.dim() == 0:
            # torch takes a 0-d bool weight forward, but its backward to self then fails
            # ("Subtraction ... with two bool tensors": 1 - weight, a torch bug): steered
            w = w.to(x.dtype) if x.is_floating_point() else w
        x.lerp_(end, w)
        return
    if kind == "scatter_src_":
        idx = _unique_index(lib, x, d, ints)
        x.scatter_(d, idx, _sized(lib, other, tuple(idx.shape)).to(x.dtype))
        return
    if kind == "scatter_add_":
        idx = _any_index(lib, x, d, ints)
        src = _sized(lib, other, tuple(idx.shape))  # float into int: rounded (an ulp off 1
        x.scatter_add_(d, idx, (src.round() if src.is_floating_point() > x.is_floating_point()
                                else src).to(x.dtype))  # truncates to 0)  # fmt: skip
        return
    if kind == "scatter_reduce_":
        idx = _any_index(lib, x, d, ints)
        reduce = ("sum", "prod", "mean", "amax", "amin")[ints[2] % 5]
        if (reduce == "mean" and x.dtype == lib.bool) or (
            x.is_complex() and reduce in ("amax", "amin")
        ):
            # torch writes the excluded self's positions and then raises (no bool mean
            # kernel, no complex amax/amin); chainrule raises before writing: not mirrored
            reduce = "sum"
        src = _sized(lib, other, tuple(idx.shape)).to(x.dtype)
        if x.is_complex() and (x.requires_grad or src.requires_grad):
            # torch's scatter_reduce_ records a complex node (its out-of-place form and
            # chainrule refuse: "does not support automatic differentiation for outputs with
            # complex dtype"): a torch inconsistency, not mirrored
            x.mul_(val)
            return
        if reduce in ("amax", "amin"):
            src = no_nan(lib, src)
            if bool(x.isnan().any()):
                x.masked_fill_(x.isnan(), 0.0)  # as no_nan, in place
        x.scatter_reduce_(d, idx, src, reduce, include_self=bool(ints[0] % 2))
        return
    if kind == "masked_scatter_":
        x.masked_scatter_(_fit(third, shape) > 0, _sized(lib, other, shape).to(x.dtype))
        return
    if kind == "index_copy_":
        k = 1 + ints[4] % max(size, 1)
        idx = _list_index(lib, size, ints, 1 if n == 0 else k, unique=True)
        src = _sized(lib, other, _index_shape(x, d, len(idx)))
        if x.dtype == lib.bool and src.is_floating_point():
            # a rounding residue of 0 (torch's cross product of parallel vectors: 1.7e-17,
            # chainrule's exact 0) is True in one library and False in the other
            src = src.masked_fill(near_zero(src), 0.0)
        x.index_copy_(d, idx, src.to(x.dtype))
        return
    if kind == "pow_":
        if x.is_floating_point():  # no zero bases: as pow_t
            x.add_(near_zero(x) * 0.125)
        if ints[4] % 2:
            x.pow_(2 if ints[3] % 2 else val)
        else:
            e = _fit(other, shape)
            x.pow_(e.round() if e.is_floating_point() and ints[3] % 2 else e)
        return
    if kind == "div_mode_":
        y = _fit(other, shape)
        if not y.is_floating_point() and not x.is_floating_point():
            # no integer zero divisors: torch writes part of x before raising
            # ZeroDivisionError, chainrule raises first (not mirrored)
            y = y + (y == 0)
        mode = (None, "floor", "trunc")[ints[4] % 3]
        q = (x / y).detach() if mode and x.is_floating_point() else lib.ones(1) * 0.5
        mode = None if bool(((q - q.round()).abs() < 1e-6).any()) else mode  # an ulp off an
        # integer (torch's linear interpolate of a constant line is off it) rounds 1 apart
        x.div_(y, rounding_mode=mode) if mode else x.div_(y.abs() + 1)
        return
    if kind == "copy_cast_":  # a copy from another dtype
        # other broadcast before the cast: the gradient of a broadcast source of another
        # dtype is summed in each library's own way (a float32 source of a float64 x: torch
        # rounds to float32, then sums; chainrule sums in float64, then rounds, ~2x closer
        # to exact): a float32 order difference, not a bug; with cancellation it exceeds
        # the 1e-5 tolerance, so steered around
        src = _sized(lib, other, shape).to(getattr(lib, _DTYPES[ints[4] % 4]))
        x.copy_(src)
        return
    if kind == "transpose_":  # changes x's own shape in place
        if n >= 2:
            x.transpose_(0, _dim(x, ints[2]))
        else:
            x.t_()
        return
    if kind == "unfold_add_":
        # windows that do not overlap: an in-place op on overlapping windows is undefined
        # in torch (it neither refuses nor adds once per location, as chainrule does)
        w = min(1 + ints[2] % max(size, 1), size)
        x.unfold(d if n else 0, w, max(w, 1) + ints[3] % 2).add_(val)
        return
    raise AssertionError(kind)
