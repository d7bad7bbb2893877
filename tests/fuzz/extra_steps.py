"""Yet more step kinds for :mod:`tests.fuzz.programs`: scatters with tensor sources and
reductions, masked_scatter, index_copy, scans with extremes, order statistics (topk,
kthvalue, median), var/std with dims and corrections, p-norms over dims, pow with tensor
exponents, addcmul/lerp, tile/unfold/as_strided, casts and comparisons that make integer
and bool slots, integer division, and in-place ops on views of views.

As in :mod:`tests.fuzz.more_steps`, every kind is valid for every shape: dims and indices
are taken modulo the sizes and an operand that does not broadcast is replaced by its sum.
Integer and bool operands are allowed everywhere: where torch refuses them, chainrule must
refuse too (errors are compared by presence).

The view and in-place kinds live in :mod:`tests.fuzz.extra_inplace_steps` and the operand
and argument helpers in :mod:`tests.fuzz.extra_step_args` (both re-exported here).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .extra_inplace_steps import extra_inplace, extra_view
from .extra_step_args import (
    _DTYPES,
    _any_index,
    _count,
    _dims,
    _float_pair,
    _index_shape,
    _list_index,
    _sized,
    _unique_index,
    no_nan,
)
from .more_steps import _dim, _fit, _joint, near_zero

__all__ = [
    "EXTRA",
    "EXTRA_VIEWS",
    "EXTRA_INPLACE",
    "extra_step",
    "extra_inplace",
    "extra_view",
    "no_forward_rule",
    "no_nan",
]

EXTRA = (
    "scatter", "scatter_add", "scatter_reduce", "index_add", "index_copy", "masked_scatter",
    "logcumsumexp", "cummax", "topk", "kthvalue", "median", "var", "std", "var_mean",
    "norm_p", "amax_dims", "max_all", "sum_dims", "pow_t", "rpow", "addcmul", "lerp",
    "tile", "repeat_interleave", "tril", "diff", "cast", "compare", "argmax", "floor_div",
    "where_s", "softmax_neg", "mean_dims",
)  # fmt: skip
EXTRA_VIEWS = ("unfold", "as_strided", "view_of_view")
EXTRA_INPLACE = (
    "view_view_add_", "addcmul_", "lerp_", "scatter_src_", "scatter_add_", "scatter_reduce_",
    "masked_scatter_", "index_copy_", "pow_", "div_mode_", "copy_cast_", "transpose_",
    "unfold_add_",
)  # fmt: skip


def no_forward_rule(kind: str, ints: tuple) -> bool:
    """Whether torch has no forward-mode rule for the step (no tangent, no error):
    scatter_reduce with reduce='prod'; or a wrong one: cholesky_inverse (torch 2.13's tangent
    is off by a finite difference's whole size, chainrule's matches it; linalg_steps
    cholesky step 2), triangular_solve with ``transpose=True`` (0.5 off, chainrule's 1e-10;
    s40_steps householder step 4)."""
    if kind == "cholesky":
        return ints[1] % 3 == 2
    if kind == "householder":
        return ints[4] % 5 == 4 and ints[2] % 2 == 1
    return kind == "scatter_reduce" and ints[2] % 5 == 1


def extra_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One out-of-place step of kind ``kind`` on ``x`` (``other``/``third``: other slots)."""
    shape = tuple(x.shape)
    n = x.dim()
    d = _dim(x, ints[1])
    size = shape[d] if n else 1
    if kind == "scatter":
        idx = _unique_index(lib, x, d, ints)
        if ints[3] % 3 == 0:
            return x.scatter(d, idx, val)
        return x.scatter(d, idx, _sized(lib, other, tuple(idx.shape)).to(x.dtype))
    if kind == "scatter_add":
        idx = _any_index(lib, x, d, ints)
        return x.scatter_add(d, idx, _sized(lib, other, tuple(idx.shape)).to(x.dtype))
    if kind == "scatter_reduce":
        idx = _any_index(lib, x, d, ints)
        reduce = ("sum", "prod", "mean", "amax", "amin")[ints[2] % 5]
        src = _sized(lib, other, tuple(idx.shape)).to(x.dtype)
        if x.is_complex():
            # detached: both refuse a complex scatter_reduce in reverse mode, but under
            # forward AD torch computes it (no tangent), chainrule refuses: not mirrored
            x, src = x.detach(), src.detach()
        if reduce in ("amax", "amin"):
            x, src = no_nan(lib, x), no_nan(lib, src)
        return x.scatter_reduce(d, idx, src, reduce, include_self=bool(ints[0] % 2))
    if kind in ("index_add", "index_copy"):
        k = 1 + ints[4] % max(size, 1)
        idx = _list_index(lib, size, ints, 1 if n == 0 else k, unique=kind == "index_copy")
        src = _sized(lib, other, _index_shape(x, d, len(idx))).to(x.dtype)
        if kind == "index_copy":
            return x.index_copy(d, idx, src)
        return x.index_add(d, idx, src, alpha=val) if ints[0] % 2 else x.index_add(d, idx, src)
    if kind == "masked_scatter":
        mask = _fit(third, shape) > 0
        return x.masked_scatter(mask, _sized(lib, other, shape).to(x.dtype))
    if kind == "logcumsumexp":
        if x.is_floating_point() and not bool(x.isfinite().all()):
            # torch's tangent of logcumsumexp over a NaN or inf is wrong where the value is
            # finite ([1, inf] gives the tangent [0, nan], not [t0, nan]: it shifts by the
            # whole line's maximum); the gradients agree: steered around
            x = lib.where(x.isfinite(), x, 0.0)
        return x.logcumsumexp(d)
    if kind == "cummax":
        return getattr(x, "cummax" if ints[4] % 2 else "cummin")(d)[0]
    if kind == "topk":
        k = ints[2] % (size + 1)
        return x.topk(k, d, largest=bool(ints[4] % 2))[0]
    if kind == "kthvalue":
        x = x.real if x.is_complex() else x  # torch orders complex values here: not mirrored
        return x.kthvalue(1 + ints[2] % max(size, 1), d, keepdim=bool(ints[4] % 2))[0]
    if kind == "median":
        if ints[4] % 2:
            return x.median()
        if 0 in x.stride():  # torch 2.13's median(dim) of an expanded tensor (stride 0)
            x = x.contiguous()  # returns uninitialised memory: steered around
        return x.median(d, keepdim=bool(ints[3] % 2))[0]
    if kind in ("var", "std", "var_mean"):
        dims = _dims(x, ints)
        # below the number N of elements reduced: with N - correction <= 0 torch's backward
        # divides by N - correction where its forward clamps it at 0 (a NaN value with a
        # finite gradient), and at 0 the gradient's infinities take the signs of rounding
        # residues of x - mean: not mirrored
        correction = min(ints[4] % 3, max(_count(shape, dims) - 1, 0))
        keep = bool(ints[0] % 2)
        if kind == "std" and x.is_floating_point():
            # no zero deviations: the second derivative of a square root at 0 is NaN in
            # torch and 0 in chainrule (as norms at 0), steered around
            if _count(shape, dims) < 2:
                kind = "var"
            else:
                x = x + lib.tensor(np.arange(x.numel()).reshape(shape) * 0.37, dtype=x.dtype)
        if kind == "var_mean":
            v, m = lib.var_mean(x, dims, correction=correction, keepdim=keep)
            return v + m
        if ints[2] % 5 == 4:
            return getattr(x, kind)(unbiased=bool(correction))
        return getattr(x, kind)(dims, correction=correction, keepdim=keep)
    if kind == "norm_p":
        if bool(near_zero(x).any()):
            # second derivatives of norms at 0 differ (a known difference,
            # test_found_cases.py, xfail): steered around
            x = x + 0.125 * near_zero(x)
        p = (1, 2, 3, math.inf, -math.inf, 0.5)[ints[4] % 6]
        return x.norm(p=p, dim=_dims(x, ints), keepdim=bool(ints[0] % 2))
    if kind == "amax_dims":
        x = no_nan(lib, x)
        dims = _dims(x, ints)
        f = "amax" if ints[4] % 2 else "amin"
        if dims is None:
            return getattr(x, f)()
        return getattr(x, f)(dims, keepdim=bool(ints[0] % 2))
    if kind == "max_all":  # ties share the gradient
        return x.max() if ints[4] % 2 else x.min()
    if kind == "sum_dims":
        dims = _dims(x, ints)
        if ints[4] % 3 == 0:
            return x.sum(dims, keepdim=bool(ints[0] % 2), dtype=lib.float32)
        return x.sum(dims, keepdim=bool(ints[0] % 2)) if dims is not None else x.sum()
    if kind == "mean_dims":
        dims = _dims(x, ints)
        return x.mean(dims, keepdim=bool(ints[0] % 2)) if dims is not None else x.mean()
    if kind == "pow_t":
        # no zero bases: pow's second derivative at 0 ** e is NaN in torch and finite in
        # chainrule (a singular point, as norms at 0: test_found_cases_forward.py), steered around
        # (an integer or bool 0 base too: 1 instead, keeping the dtype)
        x = x + 0.125 * near_zero(x) if x.is_floating_point() else x.masked_fill(x == 0, 1)
        e = _joint(other, shape)
        if e.is_complex() and x.is_floating_point():
            # a complex base: torch's tangent of a real base to a complex power is the real
            # part of the true one (its backward's real-input projection, a torch bug)
            x = x.to(e.dtype)
        if e.is_floating_point() and lib.float32 in (x.dtype, e.dtype):
            # a float32 exponent kept to [-4, 4]: the libraries may round an exponent an ulp
            # or two apart (a float32 sum of six elements, 33.56: an accepted difference), and
            # x ** e turns that into a relative difference of |e ln x| ulps (1.2e-5 at 5 **
            # 33.56), past the float32 tolerance
            e = e.clamp(-4.0, 4.0)
        if ints[4] % 3 == 0:  # negative bases to fractional powers: NaNs to spread
            if e.is_floating_point():
                # an exponent an ulp from an integer (a solve's 1 - 1e-16 in one library,
                # 1 in the other) is NaN or not for a negative base: snapped to it
                e = lib.where((e - e.round()).abs() < 1e-6, e.round(), e)
            return x.pow(e)
        if ints[4] % 3 == 1:
            b = x.abs() + 0.5
            return (b.to(e.dtype) if e.is_complex() and b.is_floating_point() else b).pow(e)
        return x.pow(e.round() if e.is_floating_point() else e)
    if kind == "rpow":  # a number to a tensor power
        if ints[4] % 2:
            return lib.pow(abs(val), x)
        return val**x
    if kind == "addcmul":
        t1, t2 = _float_pair(_joint(other, shape), _joint(third, shape))
        if ints[4] % 2:
            return lib.addcdiv(x, t1, t2.abs() + 1, value=val)
        return lib.addcmul(x, t1, t2, value=val)
    if kind == "lerp":
        end = _joint(other, shape)
        if ints[4] % 2:
            return lib.lerp(x, end, val)
        w = _joint(third, np.broadcast_shapes(shape, tuple(end.shape)))
        if w.dtype == lib.bool and w.dim() == 0:
            # both read a 0-d bool weight as a number, but torch's backward then fails on
            # its own bool arithmetic: compared as the number it stands for
            w = w.to(x.dtype) if x.is_floating_point() else w.float()
        return lib.lerp(x, end, w)
    if kind == "tile":
        reps = tuple(1 + (ints[2] >> i) % 2 for i in range(ints[3] % 4))
        return x.tile(reps)
    if kind == "repeat_interleave":
        if ints[4] % 2 or n == 0:
            return x.repeat_interleave(1 + ints[2] % 3, dim=d if ints[3] % 2 else None)
        reps = lib.tensor(np.array([(ints[2] + j) % 3 for j in range(size)], dtype=np.int64))
        return x.repeat_interleave(reps, dim=d)
    if kind == "tril":
        return getattr(x, "tril" if ints[4] % 2 else "triu")(ints[2] % 3 - 1)
    if kind == "diff":
        return lib.diff(x, n=1 + ints[4] % 2, dim=d)
    if kind == "cast":
        return x.to(getattr(lib, _DTYPES[ints[4] % 4]))
    if kind == "compare":
        y = _joint(other, shape)
        op = ("gt", "le", "eq", "ne")[ints[4] % 4]
        return getattr(x, op)(y if ints[3] % 2 else val)
    if kind == "argmax":
        f = "argmax" if ints[4] % 2 else "argmin"
        if n and ints[2] % 2:
            i = getattr(x, f)(d, keepdim=True)
            return x.gather(d, i) if x.is_floating_point() else i
        i = getattr(x, f)()
        # for floating x the value there: rounding may order near-ties differently
        return x.reshape(-1)[i] if x.is_floating_point() else i
    if kind == "floor_div":  # integer semantics on negative operands and zero divisors
        y = _joint(other, shape)
        if x.is_floating_point() and y.is_floating_point():
            # finite operands on a 1/64 grid, straight through (seed 39461: quotients 1 +- ulp
            # of earlier steps' rounding floored to either side); +-inf and NaN kept
            x, y = (
                lib.where(t.isfinite(), t + ((t * 64).round() / 64 - t).detach(), t) for t in (x, y)
            )
        op = ("floor_divide", "remainder", "fmod", "div_floor", "div_trunc")[ints[4] % 5]
        if op.startswith("div_"):
            return lib.div(x, y, rounding_mode=op[4:])
        return getattr(lib, op)(x, y)
    if kind == "where_s":  # a number as one branch
        cond = _joint(other, shape) > 0
        return lib.where(cond, val, x) if ints[4] % 2 else lib.where(cond, x, val)
    if kind == "softmax_neg":
        f = "softmax" if ints[4] % 2 else "log_softmax"
        if x.numel() == 0 and not x.is_floating_point():
            x = x.float()  # as more_steps' softmax: torch runs no kernel on an empty tensor
        if ints[3] % 2:
            return getattr(x, f)(d - max(n, 1), dtype=lib.float32)
        return getattr(x, f)(d - max(n, 1))
    raise AssertionError(kind)
