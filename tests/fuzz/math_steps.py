"""Step kinds for :mod:`tests.fuzz.programs`: the elementwise math and the reductions the
other tables leave out: special functions (``erf`` and its inverse, gamma functions,
Bessel functions, ``special.*``), inverse trig and hyperbolic functions, rounding,
two-operand math (``xlogy``, ``hypot``, ``logaddexp``, ``copysign``, ``fmax``,
``float_power``, ``heaviside``, bitwise and gcd on integers), NaN-aware reductions and
quantiles, distances, searching and counting (``searchsorted``, ``bucketize``, ``histc``,
``unique``, ``nonzero``, ``bincount``), rearrangements that copy (``rot90``, ``take``,
``block_diag``, ``cartesian_prod``, ``tensor_split``) and float16/bfloat16 round trips.

As the other tables: every kind is valid for every slot; a function with a restricted
domain gets a floating operand mapped into it (integer and bool operands are used as they
are: where torch refuses them or returns NaN, chainrule must too).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .extra_steps import no_nan
from .more_steps import _dim, _joint, near_zero
from .nn_step_parts import _filled

__all__ = ["MATH", "math_step"]

MATH = ("special_fn", "binary_fn", "nan_reduce", "search", "rearrange", "half", "small_int")

# (name, domain): the floating operand is mapped into the domain first
_UNARY = (
    ("erf", None), ("erfc", None), ("erfinv", "open1"), ("lgamma", None), ("digamma", "pos"),
    ("i0", None), ("sinc", None), ("logit", "unit"), ("frac", None), ("trunc", None),
    ("ceil", None), ("floor", None), ("rsqrt", "pos"), ("reciprocal", "pos"),
    ("expm1", None), ("log1p", "pos"), ("log2", "pos"), ("log10", "pos"), ("asinh", None),
    ("acosh", "ge1"), ("atanh", "open1"), ("asin", "open1"), ("acos", "open1"),
    ("atan", None), ("sinh", None), ("cosh", None), ("tan", "open1"), ("exp2", None),
    ("sign", None), ("sgn", None), ("deg2rad", None), ("special.ndtr", None),
    ("special.ndtri", "unit"), ("special.log_ndtr", None), ("special.i0e", None),
    ("special.i1", None), ("special.i1e", None), ("special.erfcx", None),
    ("special.entr", "pos"), ("special.expit", None), ("nan_to_num", None),
    ("polygamma", "pos"), ("mvlgamma", "ge1"), ("round", None), ("signbit", None),
)  # fmt: skip


def _into(lib: Any, x: Any, domain: str | None) -> Any:
    if domain is None or not x.is_floating_point():
        return x
    if domain == "open1":
        return x.tanh() * 0.9
    if domain == "unit":
        return x.sigmoid() * 0.9 + 0.05
    if domain == "pos":
        return x.abs() + 0.5
    return x.abs() + 1.5  # ge1


def _fn(lib: Any, name: str) -> Any:
    mod = lib
    for part in name.split("."):
        mod = getattr(mod, part)
    return mod


def math_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One out-of-place step of kind ``kind`` on ``x`` (``other``/``third``: other slots)."""
    if kind == "special_fn":
        name, domain = _UNARY[(ints[2] * 12 + ints[3]) % len(_UNARY)]
        y = _into(lib, x, domain)
        if name == "polygamma":
            return lib.polygamma(ints[4] % 3, y)
        if name == "mvlgamma":
            return lib.mvlgamma(y + 1.0 if y.is_floating_point() else y, p=1 + ints[4] % 3)
        if name == "round" and ints[4] % 2:
            return y.round(decimals=ints[4] % 3 - 1)
        if name == "nan_to_num":
            z = y / (y.abs() < 0.3) if y.is_floating_point() else y  # infinities, NaNs
            # posinf not the default (the dtype's largest value): later steps overflow on it
            # (a mean of 1.8e308s: inf in torch, exact in chainrule), not a difference to fuzz
            return lib.nan_to_num(z, nan=val, posinf=(1e30, 3.0)[ints[4] % 2])
        return _fn(lib, name)(y)
    if kind == "binary_fn":
        return _binary_fn(lib, x, _joint(other, tuple(x.shape)), ints, val)
    if kind == "nan_reduce":
        return _nan_reduce(lib, x, other, ints, val)
    if kind == "search":
        return _search(lib, x, other, ints)
    if kind == "rearrange":
        return _rearrange(lib, x, other, ints)
    if kind == "half":
        return _half(lib, x, other, ints, val)
    if kind == "small_int":
        return _small_int(lib, x, other, ints, val)
    raise AssertionError(kind)


def _binary_fn(lib: Any, x: Any, y: Any, ints: tuple, val: float) -> Any:
    which = ints[4] % 16
    if which == 0:
        return lib.xlogy(x, y.abs() + 0.5 if y.is_floating_point() else y)
    if which == 1:
        return lib.hypot(x, y)
    if which == 2:
        return lib.logaddexp(x, y) if ints[3] % 2 else lib.logaddexp2(x, y)
    if which == 3:
        if x.is_floating_point():
            # no zeros: torch's gradient of copysign, where(x == 0, 0, result / x), has a NaN
            # second derivative at 0 (0/0 through the masked branch), chainrule's 0 (as norms
            # at 0, a known kind of difference), steered around
            x = x + 0.125 * near_zero(x)
        return lib.copysign(x, y if ints[3] % 2 else val)
    if which == 4:
        return lib.fmax(x, y) if ints[3] % 2 else lib.fmin(x, y)
    if which == 5:
        base = x.abs() + 0.5 if x.is_floating_point() else x
        return lib.float_power(base, y if ints[3] % 2 else val)
    if which == 6:
        return lib.heaviside(x, y)
    if which == 7:
        # not a bool y: torch's backward negates it for x's gradient and fails (a torch bug)
        return lib.atan2(x.long() if x.dtype == lib.bool else x, y)
    if which == 8:
        return lib.special.xlog1py(x, y.abs() if y.is_floating_point() else y)
    if which == 9:
        return lib.bitwise_and(x, y) if ints[3] % 2 else lib.bitwise_xor(x, y)
    if which == 10:
        return lib.gcd(x, y) if ints[3] % 2 else lib.lcm(x, y)
    if which == 11:
        return lib.isclose(x, y, rtol=0.5, atol=abs(val)).to(lib.float64)
    if which == 12:
        return lib.ldexp(x, y.round().to(lib.int64) if y.is_floating_point() else y)
    if which == 13:
        return lib.logical_xor(x, y) if ints[3] % 2 else lib.logical_and(x > 0, y)
    if which == 14:
        return lib.special.zeta(x.abs() + 1.5 if x.is_floating_point() else x, 2.0)
    return lib.clamp_min(x, y) if ints[3] % 2 else lib.clamp_max(x, val)


def _with_nans(lib: Any, x: Any) -> Any:
    if not x.is_floating_point():
        return x
    return lib.where(x > 1.0, float("nan"), x)


def _nan_reduce(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    n = x.dim()
    d = _dim(x, ints[1])
    which = ints[2] % 12
    keep = bool(ints[3] % 2)
    if which == 0:
        return lib.nansum(_with_nans(lib, x), d if n else None, keepdim=keep)
    if which == 1:
        return lib.nanmean(_with_nans(lib, x), d if n else None, keepdim=keep)
    if which == 2:
        z = _with_nans(lib, x)
        if bool(z.isnan().all()) and z.is_floating_point():
            # all NaN: torch's tangent of the whole-tensor nanmedian is NaN (0/0 from its
            # count of elements equal to the NaN result), chainrule's the NaN element's own
            # tangent (where torch's backward sends the gradient too): steered around
            z = x
        return z.nanmedian() if ints[4] % 2 or not n else z.nanmedian(d, keepdim=keep)[0]
    if which in (3, 4):
        mode = ("linear", "lower", "higher", "midpoint", "nearest")[ints[4] % 5]
        q = (0.25, 0.5, 1.0)[ints[3] % 3] if ints[0] % 2 else lib.tensor([0.1, 0.75], dtype=x.dtype)
        f = lib.quantile if which == 3 else lib.nanquantile
        z = x if which == 3 else _with_nans(lib, x)
        return f(z, q, dim=d if n and ints[0] % 3 else None, interpolation=mode)
    if which == 5:
        return lib.count_nonzero(x, d if n and ints[4] % 2 else None)
    if which == 6:
        lo, hi = lib.aminmax(x, dim=d if n and ints[4] % 2 else None, keepdim=keep)
        return hi - lo if x.dtype != lib.bool else hi
    if which == 7:
        ramp = 0.37 * lib.arange(x.numel()).reshape(tuple(x.shape))
        s, m = lib.std_mean(x + ramp, d if n else None)
        return s * m
    if which == 8:
        y = _filled(lib, other, tuple(x.shape))
        if ints[4] % 2:
            return lib.trapezoid(x, dim=d if n else -1) if n else x
        if n == 0:
            return x
        if y.dtype != x.dtype:
            # no x=None: torch's parser has no overload taking None for x (a TypeError),
            # chainrule reads it as absent (a lenient signature, not mirrored)
            return lib.cumulative_trapezoid(x, dim=d)
        return lib.cumulative_trapezoid(x, y, dim=d)
    if which == 9:
        y = _filled(lib, other, tuple(x.shape))
        # not p=0: torch 2.13's backward of dist(x, y, 0) fails ("Expected a proper Tensor
        # but got None"), chainrule's gradient is 0 (the count of nonzeros is constant)
        p = (2.0, 1.0, 0.5, float("inf"), 3.0)[ints[4] % 5]
        if x.is_floating_point() and bool(near_zero(x - y.to(x.dtype)).any()):
            y = y + 0.5  # no zero differences: norms' derivatives at 0 differ (known)
        return lib.dist(x, y, p=p)
    if which == 10:
        if n == 0:
            return x
        y = _filled(lib, other, tuple(x.shape))
        y = y.to(x.dtype) if x.is_floating_point() and y.is_floating_point() else y
        if ints[4] % 2:
            return lib.nn.functional.cosine_similarity(x, y, dim=d)
        return lib.nn.functional.pairwise_distance(x, y + 0.5)
    if n < 2:
        return lib.renorm(x.reshape(1, -1), 2.0, 0, 1.0) if n else x
    return lib.renorm(x, (1.0, 2.0, 3.0)[ints[4] % 3], d, abs(val))


def _search(lib: Any, x: Any, other: Any, ints: tuple) -> Any:
    which = ints[4] % 9
    flat = x.reshape(-1)
    if which in (0, 1):
        # no NaN in the sorted sequence: torch's binary search reads NaN as above every value
        # from the left (searchsorted([0.7, nan], 0.7) is 2), chainrule's NumPy one as the
        # largest (0): reported (ops/search.py is another helper's), steered around
        flat = no_nan(lib, flat)
    if which == 0:
        srt = flat.sort()[0]
        v = other if other.dtype == x.dtype else other.to(x.dtype)
        return lib.searchsorted(srt, v.detach(), right=bool(ints[3] % 2))
    if which == 1:
        srt = flat.sort()[0].detach()
        return lib.bucketize(other, srt, right=bool(ints[3] % 2))
    if which == 2:
        return lib.histc(x, bins=1 + ints[3] % 4, min=0, max=0 if ints[2] % 2 else 2)
    if which == 3:
        # floats on a grid of 1/1024 first: values an earlier step computed differ by an
        # ulp between the libraries (seed 989: pinv's two off-diagonal entries, equal to
        # 1e-16, in opposite order), which unique's inverse tells apart
        r = (x * 1024).round() if x.is_floating_point() else x
        u, inv, counts = lib.unique(r, return_inverse=True, return_counts=True)
        return (inv * 10 + counts.sum()).to(lib.int64)
    if which == 4:
        r = (x * 2).round() if x.is_floating_point() else x
        u, counts = lib.unique_consecutive(r, return_counts=True)
        return counts
    if which == 5:
        return lib.nonzero(x > 0) if ints[3] % 2 else x[x > 0]
    if which == 6:
        return x.argsort(dim=_dim(x, ints[1]), stable=True, descending=bool(ints[3] % 2))
    if which == 7:
        w = flat.abs() if flat.is_floating_point() and ints[3] % 2 else None
        return lib.bincount((flat.abs() * 2).to(lib.int64) if flat.is_floating_point() else
                            flat.abs().to(lib.int64), weights=w)  # fmt: skip
    return lib.masked_select(x, _joint(other, tuple(x.shape)) > 0)


def _rearrange(lib: Any, x: Any, other: Any, ints: tuple) -> Any:
    n = x.dim()
    which = ints[4] % 8
    if which == 0:
        return lib.rot90(x, ints[2] % 4 - 1, (0, 1)) if n >= 2 else x.flip(0) if n else x
    if which == 1:
        idx = np.random.default_rng(ints[2]).integers(0, max(x.numel(), 1), (1 + ints[3] % 4,))
        return lib.take(x, lib.tensor(idx)) if x.numel() else x
    if which == 2:
        y = other if other.dtype == x.dtype else other.to(x.dtype)
        return lib.block_diag(x if n <= 2 else x.reshape(x.shape[0], -1), y.reshape(1, -1))
    if which == 3:
        a = x.reshape(-1)[:3]
        return lib.cartesian_prod(a, other.reshape(-1)[:2].to(a.dtype))
    if which == 4:
        a = x.reshape(-1)[:4]
        return lib.combinations(a, r=1 + ints[3] % 2, with_replacement=bool(ints[2] % 2))
    if which == 5:
        if n == 0:
            return x
        parts = lib.tensor_split(x, 1 + ints[3] % 3, dim=_dim(x, ints[1]))
        return parts[ints[2] % len(parts)] * 2
    if which == 6:
        return lib.diagflat(x.reshape(-1)[:4], offset=ints[3] % 3 - 1)
    a = x.reshape(-1)[:3]
    return lib.vander(a, N=1 + ints[3] % 4, increasing=bool(ints[2] % 2))


def _half(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """Through float16 or bfloat16 and back: elementwise ops that round once."""
    dt = (lib.float16, lib.bfloat16)[ints[3] % 2]
    h = x.to(dt)
    which = ints[4] % 6
    if which == 0:
        r = h.exp() if x.is_floating_point() else h * 2
    elif which == 1:
        r = h.sigmoid() * val
    elif which == 2:
        r = h + _joint(other, tuple(x.shape)).to(dt)
    elif which == 3:
        r = h.tanh()
    elif which == 4:
        r = lib.where(h > 0, h, h * 0.5)
    else:
        r = h * h
    return r.to(x.dtype) if ints[2] % 2 and x.is_floating_point() else r.double()


def _small_int(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """Through int8/int16/int32/uint8 (the leaves are only int64 and bool): promotion with
    the other slots and Python numbers, integer reductions and wrap-around."""
    dt = (lib.int32, lib.uint8, lib.int16, lib.int8)[ints[3] % 4]
    # values that fit every one of them (a float -> uint8 cast of a negative is undefined)
    h = ((x * 3).round().clamp(0, 100) if x.is_floating_point() else x.abs().clamp(0, 100)).to(dt)
    y = _joint(other, tuple(x.shape))
    which = ints[4] % 12
    if which == 0:
        return h + y
    if which == 1:
        return h * val
    if which == 2:
        return h // (y.abs() + 1) if not y.dtype == lib.bool else h // 2
    if which == 3:
        return h.sum(ints[1] % max(h.dim(), 1)) if h.dim() else h.sum()
    if which == 4:
        return h.cumsum(0) if h.dim() else h.cumsum(0) + 0
    if which == 5:
        return -h if dt != lib.uint8 else h - 200  # wraps around
    if which == 6:
        return h.to(lib.float32) / 3 + h.prod()
    if which == 7:
        return h > y
    if which == 8:
        return (h << 2) | (h >> 1)
    if which == 9:
        return lib.remainder(h, 7) + lib.maximum(h, lib.tensor(3, dtype=dt))
    if which == 10:
        return h.mean() if ints[0] % 2 else h.float().mean()
    return lib.where(h > 5, h, y)
