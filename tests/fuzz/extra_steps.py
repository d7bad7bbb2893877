"""Yet more step kinds for :mod:`tests.fuzz.programs`: scatters with tensor sources and
reductions, masked_scatter, index_copy, scans with extremes, order statistics (topk,
kthvalue, median), var/std with dims and corrections, p-norms over dims, pow with tensor
exponents, addcmul/lerp, tile/unfold/as_strided, casts and comparisons that make integer
and bool slots, integer division, and in-place ops on views of views.

As in :mod:`tests.fuzz.more_steps`, every kind is valid for every shape: dims and indices
are taken modulo the sizes and an operand that does not broadcast is replaced by its sum.
Integer and bool operands are allowed everywhere: where torch refuses them, chainrule must
refuse too (errors are compared by presence).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

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
