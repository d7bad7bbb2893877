"""Op specs: reductions, statistics, order statistics, scans and softmax.

Part of the central op-spec table; tests/ops/op_specs.py assembles it, and
tests/ops/op_specs_core.py holds :class:`OpSpec` and the helpers used here. A pure move out
of the former single-file op_specs.py (session 35): no case changed.
"""

from __future__ import annotations

import numpy as np

from .op_specs_core import (
    _ZMASK,
    NO_GG,
    OpSpec,
    _binary,
    _fit,
    _unary,
    bad_call,
    const,
    lib,
)

__all__ = ["SPECS"]

SPECS: list = [
    # ------------------------------------------------------------- reductions
    _unary("sum", lambda a: a.sum(), shapes=(((3, 4),),)),
    _unary(
        "sum_dim",
        lambda a: a.sum(1),
        shapes=(((2, 3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.sum(3)),),
    ),
    _unary("sum_dims_keep", lambda a: a.sum((0, 2), keepdim=True), shapes=(((2, 3, 4),),)),
    _unary("mean", lambda a: a.mean(), shapes=(((3, 4),),)),
    _unary("mean_dim", lambda a: a.mean(-1, keepdim=True), shapes=(((2, 3, 4),),)),
    _unary("prod", lambda a: a.prod(), shapes=(((2, 3),),)),
    _unary("prod_dim", lambda a: a.prod(1), shapes=(((2, 3, 2),),)),
    _unary(
        "prod_with_zeros",
        lambda a: (a * _fit(_ZMASK, a)).prod(1),
        shapes=(((3, 3),),),
        checks=NO_GG,
    ),
    _unary(
        "prod_all_with_zero",
        lambda a: (a * _fit(_ZMASK[0], a)).prod(),
        shapes=(((3,),),),
        checks=NO_GG,
    ),
    _unary("max", lambda a: a.max(), "distinct", shapes=(((3, 4),),)),
    _unary("min", lambda a: a.min(), "distinct", shapes=(((3, 4),),)),
    _unary("max_dim", lambda a: a.max(1)[0], "distinct", shapes=(((3, 4),),)),
    _unary("min_dim_keep", lambda a: a.min(0, keepdim=True)[0], "distinct", shapes=(((3, 4),),)),
    _unary("amax", lambda a: a.amax((0, 2)), "distinct", shapes=(((2, 3, 4),),)),
    _unary("amin", lambda a: a.amin(1, keepdim=True), "distinct", shapes=(((2, 3, 4),),)),
    _unary("var", lambda a: a.var(), shapes=(((3, 4),),)),
    _unary("var_dim", lambda a: a.var(1, keepdim=True), shapes=(((3, 4),),)),
    _unary("var_biased", lambda a: a.var(0, unbiased=False), shapes=(((3, 4),),)),
    _unary("std", lambda a: a.std(), shapes=(((3, 4),),)),
    _unary("std_dim", lambda a: a.std(-1), shapes=(((3, 4),),)),
    _unary(
        "logsumexp",
        lambda a: a.logsumexp(1),
        shapes=(((3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.logsumexp(2)),),
    ),
    _unary(
        "logsumexp_keep", lambda a: lib(a).logsumexp(a, (0, 1), keepdim=True), shapes=(((3, 4),),)
    ),
    _unary("norm", lambda a: a.norm(), shapes=(((3, 4),),)),
    _unary("norm_dim", lambda a: a.norm(dim=1, keepdim=True), shapes=(((3, 4),),)),
    _unary("norm_p1", lambda a: a.norm(p=1), "nokink", shapes=(((3, 4),),)),
    _unary("norm_p3", lambda a: a.norm(p=3), "nokink", shapes=(((3, 4),),)),
    _unary("norm_inf", lambda a: a.norm(p=float("inf")), "distinct", shapes=(((3, 4),),)),
    _unary("std_correction0", lambda a: a.std(1, correction=0), shapes=(((3, 4),),)),
    _binary("max_binary", lambda a, b: lib(a).max(a, b), "distinct"),
    OpSpec(
        "clamp_tensor_bounds",
        lambda a, lo, hi: a.clamp(lo, hi + 1.0),
        (((3, 4), (4,), (3, 1)),),
        "distinct",
    ),
    _unary(
        "cumsum",
        lambda a: a.cumsum(1),
        shapes=(((3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.cumsum(-3)),),
    ),
    _unary("cumsum0", lambda a: a.cumsum(0), shapes=(((3, 4),),)),
    _unary("cumprod", lambda a: a.cumprod(1), shapes=(((3, 4),),)),
    _unary("cumprod_zeros", lambda a: (a * _fit(_ZMASK, a)).cumprod(0), shapes=(((3, 3),),)),
    _unary("diff", lambda a: lib(a).diff(a), shapes=(((3, 4),),)),
    _unary("diff_n2_dim0", lambda a: a.diff(2, 0), shapes=(((4, 3),),)),
    OpSpec(
        "diff_prepend_append",
        lambda a, p, q: lib(a).diff(a, 1, 1, p, q),
        (((3, 4), (3, 1), (3, 2)),),
    ),
    _unary("trace", shapes=(((3, 4),), ((4, 2),))),
    # ----------------------------------------------------------------- softmax
    _unary(
        "softmax",
        lambda a: a.softmax(-1),
        shapes=(((3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.softmax(2)),),
    ),
    _unary("softmax0", lambda a: lib(a).softmax(a, 0), shapes=(((3, 4),),)),
    _unary("log_softmax", lambda a: a.log_softmax(1), shapes=(((3, 4),), ((2, 3, 4),))),
    # ----------------------------------------------- wave 2: reductions, statistics, scans
    # nan-skipping reductions: entries with |a| <= 0.25 become NaN (no gradient flows there)
    _unary(
        "nansum", lambda a: a.where(a.abs() > 0.25, float("nan")).nansum(1), shapes=(((3, 4),),)
    ),
    _unary(
        "nansum_all",
        lambda a: lib(a).nansum(a.where(a.abs() > 0.25, float("nan"))),
        bad=(bad_call("dim_out_of_range", lambda a: a.nansum(2)),),
    ),
    _unary("nansum_plain", lambda a: a.nansum((0, 1), keepdim=True), shapes=(((3, 4),),)),
    _unary(
        "nanmean",
        lambda a: lib(a).nanmean(a.where(a.abs() > 0.25, float("nan")), 0, keepdim=True),
        shapes=(((3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.nanmean(-3)),),
    ),
    _unary(
        "nanmean_all",
        lambda a: a.where(a.abs() > 0.25, float("nan")).nanmean(),
        shapes=(((3, 4),), ((5,),)),
    ),
    # order statistics (distinct values: the selected element is unambiguous)
    _unary(
        "median_dim",
        lambda a: a.median(1)[0],
        "distinct",
        shapes=(((3, 4),), ((2, 5, 3),)),
        bad=(bad_call("dim_out_of_range", lambda a: a.median(2)),),
    ),
    _unary("median_keep", lambda a: a.median(0, keepdim=True)[0], "distinct", shapes=(((3, 4),),)),
    _unary("median_all", lambda a: a.median(), "distinct", shapes=(((3, 4),), ((5,),), ((),))),
    _unary(
        "nanmedian_dim",
        lambda a: a.where(a.abs() > 0.25, float("nan")).nanmedian(1)[0],
        shapes=(((3, 4),),),
    ),
    _unary(
        "nanmedian_all",
        lambda a: lib(a).nanmedian(a.where(a.abs() > 0.25, float("nan"))),
        shapes=(((3, 4),),),
    ),
    _unary(
        "kthvalue",
        lambda a: a.kthvalue(2, 1)[0],
        "distinct",
        shapes=(((3, 4),),),
        bad=(
            bad_call("k_too_large", lambda a: a.kthvalue(5, 1)),
            bad_call("k_zero", lambda a: a.kthvalue(0, 1)),
            bad_call("dim_out_of_range", lambda a: a.kthvalue(1, 2)),
        ),
    ),
    _unary(
        "kthvalue_keep",
        lambda a: lib(a).kthvalue(a, 3, 0, keepdim=True)[0],
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary("mode", lambda a: a.mode(1)[0], "distinct", shapes=(((3, 4),),)),
    _unary("mode_keep", lambda a: lib(a).mode(a, 0, True)[0], "distinct", shapes=(((3, 4),),)),
    _unary(
        "quantile",
        lambda a: a.quantile(0.3, 1),
        "distinct",
        shapes=(((3, 4),),),
        bad=(
            bad_call("q_above_1", lambda a: a.quantile(1.5, 1)),
            bad_call("q_negative", lambda a: a.quantile(-0.1)),
            bad_call("bad_interpolation", lambda a: a.quantile(0.5, interpolation="cubic")),
            bad_call("dim_out_of_range", lambda a: a.quantile(0.5, 2)),
            bad_call("q_2d", lambda a: a.quantile(const(a, [[0.5]]))),
        ),
    ),
    _unary(
        "quantile_vector",
        lambda a: a.quantile(const(a, [0.0, 0.25, 0.6, 1.0]), dim=0, keepdim=True),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary("quantile_all", lambda a: lib(a).quantile(a, 0.7), "distinct", shapes=(((3, 4),),)),
    _unary(
        "quantile_all_keep",
        lambda a: a.quantile(const(a, [0.2, 0.9]), keepdim=True),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary(
        "quantile_lower",
        lambda a: a.quantile(0.4, 1, interpolation="lower"),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary(
        "quantile_higher",
        lambda a: a.quantile(0.4, 1, interpolation="higher"),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary(
        "quantile_midpoint",
        lambda a: a.quantile(const(a, [0.1, 0.5]), 1, interpolation="midpoint"),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary(
        "quantile_nearest",
        lambda a: a.quantile(const(a, [0.1, 0.5, 5 / 6]), 0, interpolation="nearest"),
        "distinct",
        shapes=(((3, 4),),),
    ),
    _unary(
        "nanquantile",
        lambda a: a.where(a.abs() > 0.25, float("nan")).nanquantile(const(a, [0.3, 0.8]), 1),
        shapes=(((3, 4),),),
    ),
    _unary("msort", lambda a: lib(a).msort(a), "distinct", shapes=(((3, 4),), ((5,),))),
    # running extremes and running log-sum-exp
    _unary(
        "cummax",
        lambda a: a.cummax(-1)[0],
        "distinct",
        shapes=(((3, 4),), ((6,),)),
        bad=(bad_call("dim_out_of_range", lambda a: a.cummax(2)),),
    ),
    _unary("cummin", lambda a: lib(a).cummin(a, 0)[0], "distinct", shapes=(((3, 4),),)),
    _unary(
        "logcumsumexp",
        lambda a: a.logcumsumexp(1),
        shapes=(((3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.logcumsumexp(2)),),
    ),
    _unary("logcumsumexp0", lambda a: lib(a).logcumsumexp(a * 30.0, 0), shapes=(((5, 2),), ((),))),
    # aminmax (both outputs differentiable), covariance and correlation
    _unary(
        "aminmax",
        lambda a: lib(a).aminmax(a, dim=1),
        "distinct",
        shapes=(((3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.aminmax(dim=2)),),
    ),
    _unary("aminmax_all", lambda a: a.aminmax(), "distinct", shapes=(((3, 4),),)),
    _unary("cov", lambda a: lib(a).cov(a), shapes=(((3, 5),), ((6,),))),
    _unary("cov_correction0", lambda a: a.cov(correction=0), shapes=(((2, 4),),)),
    _unary(
        "cov_weights",
        lambda a: lib(a).cov(
            a,
            fweights=const(a, np.array([1, 2, 1, 3, 1])[: a.shape[-1]]),
            aweights=const(a, np.array([0.5, 1.0, 2.0, 1.0, 0.3])[: a.shape[-1]]),
        ),
        shapes=(((3, 5),),),
    ),
    _unary("corrcoef", lambda a: lib(a).corrcoef(a), shapes=(((3, 5),),)),
]
