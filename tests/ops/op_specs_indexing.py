"""Op specs: indexing, gather/scatter, index_*, masked_*, take/select, scatter_reduce and
segment_reduce, sort/topk, triu/tril.

Part of the central op-spec table; tests/ops/op_specs.py assembles it, and
tests/ops/op_specs_core.py holds :class:`OpSpec` and the helpers used here. A pure move out
of the former single-file op_specs.py (session 35): no case changed.
"""

from __future__ import annotations

from .op_specs_core import (
    _GATHER_IDX,
    _IDX_REP,
    _MASK,
    _SCATTER_IDX,
    _TAKE_IDX,
    OpSpec,
    _fit,
    _unary,
    bad_call,
    const,
    lib,
)

__all__ = ["SPECS"]

SPECS: list = [
    # ---------------------------------------------------------------- indexing
    _unary("getitem_int", lambda a: a[1], shapes=(((3, 4),),)),
    _unary("getitem_slice", lambda a: a[1:, ::2], shapes=(((3, 4),),)),
    _unary("getitem_neg", lambda a: a[-1, -2], shapes=(((3, 4),),)),
    _unary("getitem_none_ellipsis", lambda a: a[None, ..., 1], shapes=(((2, 3, 4),),)),
    _unary("getitem_mask", lambda a: a[const(a, _MASK)], shapes=(((3, 4),),)),
    _unary("getitem_intarray_rep", lambda a: a[const(a, _IDX_REP)], shapes=(((3, 4),),)),
    _unary("getitem_list_rep", lambda a: a[:, [0, 0, 3]], shapes=(((3, 4),),)),
    _unary("getitem_two_arrays", lambda a: a[[0, 2, 2], [1, 1, 3]], shapes=(((3, 4),),)),
    _unary(
        "gather",
        lambda a: a.gather(1, const(a, _GATHER_IDX)),
        shapes=(((3, 4),),),
        bad=(
            bad_call("dim_out_of_range", lambda a: a.gather(2, const(a, _GATHER_IDX))),
            bad_call("index_too_large", lambda a: a.gather(1, const(a, _GATHER_IDX + 4))),
            bad_call("index_negative", lambda a: a.gather(1, const(a, _GATHER_IDX - 5))),
            bad_call("float_index", lambda a: a.gather(1, const(a, _GATHER_IDX * 1.0))),
        ),
    ),
    OpSpec("scatter", lambda a, s: a.scatter(1, const(a, _SCATTER_IDX), s), (((3, 4), (3, 2)),)),
    OpSpec(
        "scatter_add", lambda a, s: a.scatter_add(1, const(a, _GATHER_IDX), s), (((3, 4), (3, 4)),)
    ),
    _unary(
        "index_select",
        lambda a: a.index_select(1, const(a, _IDX_REP[:4])),
        shapes=(((3, 4),),),
        bad=(bad_call("index_too_large", lambda a: a.index_select(1, const(a, _IDX_REP[:4] + 4))),),
    ),
    _unary(
        "index_select_dim0",
        lambda a: lib(a).index_select(a, 0, const(a, [2, 2, 0])),
        shapes=(((3, 4),), ((3,),)),
    ),
    _unary("index_select_0d", lambda a: a.sum().index_select(0, const(a, [0])), shapes=(((3,),),)),
    _unary("masked_fill", lambda a: a.masked_fill(const(a, _MASK), 2.5), shapes=(((3, 4),),)),
    _unary(
        "masked_fill_bcast", lambda a: a.masked_fill(const(a, _MASK[0]), -1.0), shapes=(((3, 4),),)
    ),
    _unary(
        "take_along_dim",
        lambda a: lib(a).take_along_dim(a, const(a, _TAKE_IDX), 1),
        shapes=(((3, 4),),),
    ),
    _unary("masked_select", lambda a: a.masked_select(const(a, _MASK)), shapes=(((3, 4),),)),
    _unary("sort", lambda a: a.sort(1)[0], "distinct", shapes=(((3, 4),),)),
    _unary("sort_desc", lambda a: a.sort(0, descending=True)[0], "distinct", shapes=(((3, 4),),)),
    _unary(
        "topk",
        lambda a: a.topk(2, 1)[0],
        "distinct",
        shapes=(((3, 4),),),
        bad=(bad_call("k_too_large", lambda a: a.topk(5, 1)),),
    ),
    _unary(
        "topk_smallest", lambda a: a.topk(2, 0, largest=False)[0], "distinct", shapes=(((3, 4),),)
    ),
    _unary("triu", lambda a: a.triu(1), shapes=(((3, 4),), ((2, 3, 3),))),
    _unary("tril", lambda a: lib(a).tril(a), shapes=(((3, 4),),)),
    # ----------------------------------------------- wave 2: indexing, shapes, linear algebra
    _unary(
        "index_add",
        lambda a: a.index_add(1, const(a, [3, 0, 3]), a[:, :3] * 0.5 + 1.0, alpha=2.0),
        shapes=(((3, 4),),),
        bad=(
            bad_call("dim_out_of_range", lambda a: a.index_add(2, const(a, [0]), a[:, :1])),
            bad_call("index_too_large", lambda a: a.index_add(1, const(a, [4]), a[:, :1])),
            bad_call("float_index", lambda a: a.index_add(1, const(a, [1.0]), a[:, :1])),
        ),
    ),
    OpSpec(
        "index_add_src",
        lambda a, s: lib(a).index_add(a, 0, const(a, [1, 1, 0]), s),
        (((2, 3), (3, 3)), ((3,), (3,))),
    ),
    OpSpec(
        "index_copy",
        lambda a, s: a.index_copy(1, const(a, [3, 0]), s),
        (((3, 4), (3, 2)),),
        bad=(bad_call("index_negative", lambda a, s: a.index_copy(1, const(a, [-1, 0]), s)),),
    ),
    _unary(
        "index_fill",
        lambda a: a.index_fill(1, const(a, [3, 1]), 1.5),
        shapes=(((3, 4),),),
        bad=(bad_call("index_too_large", lambda a: a.index_fill(1, const(a, [4]), 1.5)),),
    ),
    OpSpec(
        "index_fill_tensor",
        lambda a, v: lib(a).index_fill(a, 0, const(a, [2, 0, 2]), v),
        (((3, 4), ()),),
    ),
    OpSpec(
        "masked_scatter",
        lambda a, s: a.masked_scatter(_fit(_MASK, a), s),
        (((3, 4), (7,)),),
    ),
    OpSpec(
        "masked_scatter_bcast",
        lambda a, s: lib(a).masked_scatter(a, const(a, _MASK[0]), s),
        (((3, 4), (2, 3)),),
    ),
    OpSpec(
        "masked_scatter_bcast_self",
        lambda a, s: lib(a).masked_scatter(a, const(a, _MASK), s),
        (((4,), (2, 5)),),
    ),
    _unary(
        "take",
        lambda a: lib(a).take(a, const(a, [[-1, 0], [5, 5]])),
        shapes=(((3, 4),),),
        bad=(bad_call("index_out_of_range", lambda a: lib(a).take(a, const(a, [12]))),),
    ),
    _unary(
        "select",
        lambda a: lib(a).select(a, 1, -1),
        shapes=(((3, 4),),),
        bad=(bad_call("index_out_of_range", lambda a: a.select(1, 4)),),
    ),
    OpSpec("select_scatter", lambda a, s: lib(a).select_scatter(a, s, 1, 2), (((3, 4), (3,)),)),
    OpSpec(
        "slice_scatter",
        lambda a, s: lib(a).slice_scatter(a, s, 1, 0, None, 2),
        (((3, 4), (3, 2)),),
    ),
    OpSpec(
        "slice_scatter_dim0",
        lambda a, s: a.slice_scatter(s, start=-2),
        (((3, 4), (2, 4)),),
    ),
    OpSpec(
        "scatter_reduce_sum",
        lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "sum"),
        (((3, 4), (3, 4)),),
        bad=(
            bad_call(
                "bad_reduce", lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "max")
            ),
        ),
    ),
    OpSpec(
        "segment_reduce_sum",
        lambda a: lib(a).segment_reduce(a, "sum", lengths=const(a, [2, 0, 3])),
        (((5, 3),),),
    ),
    OpSpec(
        "segment_reduce_mean_offsets_axis1",
        lambda a: lib(a).segment_reduce(
            a, "mean", offsets=const(a, [[0, 1, 4], [0, 2, 4]]), axis=1
        ),
        (((2, 4),),),
    ),
    OpSpec(
        "segment_reduce_max_initial",
        lambda a: lib(a).segment_reduce(a, "max", lengths=const(a, [3, 2]), initial=-1.0),
        (((5, 2),),),
        domain="distinct",
    ),
    OpSpec(
        "scatter_reduce_sum_noself",
        lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "sum", include_self=False),
        (((3, 4), (3, 4)),),
    ),
    OpSpec(
        "scatter_reduce_mean",
        lambda a, s: lib(a).scatter_reduce(a, 1, const(a, _GATHER_IDX), s, "mean"),
        (((3, 4), (3, 4)),),
    ),
    OpSpec(
        "scatter_reduce_mean_noself",
        lambda a, s: a.scatter_reduce(
            0, const(a, _SCATTER_IDX[:2] % 3), s, "mean", include_self=False
        ),
        (((3, 4), (2, 2)),),
    ),
    OpSpec(
        "scatter_reduce_amax",
        lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "amax"),
        (((3, 4), (3, 4)),),
        "distinct",
    ),
    OpSpec(
        "scatter_reduce_amin_noself",
        lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "amin", include_self=False),
        (((3, 4), (3, 4)),),
        "distinct",
    ),
    OpSpec(
        "scatter_reduce_prod",
        lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "prod"),
        (((3, 4), (3, 4)),),
        "nokink",
    ),
    OpSpec(
        "scatter_reduce_prod_noself",
        lambda a, s: a.scatter_reduce(1, const(a, _GATHER_IDX), s, "prod", include_self=False),
        (((3, 4), (3, 4)),),
        "nokink",
    ),
]
