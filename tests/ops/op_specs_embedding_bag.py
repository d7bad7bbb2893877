"""Op specs for ``F.embedding_bag`` (appended to the central table in tests/ops/op_specs.py).

The indices and offsets are constants captured by the callables (as ``_EMB_IDX`` is for
``F_embedding``); the differentiable inputs are the weight (and the per-sample weights).
PyTorch 2.13 has no double backward and no forward mode for ``embedding_bag``, so the
``gg`` and ``jvp`` checks (chainrule against itself: finite differences, <Jv, u> = <v, Jᵀu>)
cover chainrule's extra orders while ``fwd``/``bwd`` compare the first order with PyTorch.
"""

from __future__ import annotations

import numpy as np

from .op_specs import OpSpec, bad_call, const, nnf

_IDX2 = np.array([[0, 2, 2], [4, 1, 0], [5, 5, 3]])  # 3 bags of 3 indices, for a (6, 3) weight
_IDX1 = np.array([1, 0, 4, 4, 2, 5, 1, 3])  # 1-d indices
_OFF = np.array([0, 3, 3, 5])  # bag 1 is empty, the last bag runs to the end
_OFF_LAST = np.array([0, 2, 2, 6, 8])  # include_last_offset: 4 bags, bag 1 empty
_PAD = 4  # padding_idx: left out of its bags (bag [4, 4] of _IDX1 / _OFF becomes empty)


def _bag(w, idx, offsets=None, **kw):
    return nnf(w).embedding_bag(
        const(w, idx), w, None if offsets is None else const(w, offsets), **kw
    )


SPECS: list = [
    OpSpec(
        "F_embedding_bag_sum_2d",
        lambda w: _bag(w, _IDX2, mode="sum"),
        (((6, 3),),),
        bad=(
            bad_call("index_out_of_range", lambda w: _bag(w, _IDX2 + 1, mode="sum")),
            bad_call("negative_index", lambda w: _bag(w, _IDX2 - 1, mode="sum")),
            bad_call("offsets_with_2d_input", lambda w: _bag(w, _IDX2, np.array([0, 1]))),
            bad_call("input_3d", lambda w: _bag(w, _IDX2[None], mode="sum")),
            bad_call("input_0d", lambda w: _bag(w, np.array(1), np.array([0]))),
            bad_call("zero_columns", lambda w: _bag(w, _IDX2[:, :0], mode="sum")),
            bad_call("float_indices", lambda w: _bag(w, _IDX2 * 1.0, mode="sum")),
            bad_call("int16_indices", lambda w: _bag(w, _IDX2.astype(np.int16), mode="sum")),
            bad_call("bad_mode", lambda w: _bag(w, _IDX2, mode="min")),
            bad_call(
                "max_scale_grad", lambda w: _bag(w, _IDX2, mode="max", scale_grad_by_freq=True)
            ),
            bad_call("max_sparse", lambda w: _bag(w, _IDX2, mode="max", sparse=True)),
            bad_call("padding_idx_too_large", lambda w: _bag(w, _IDX2, padding_idx=6)),
            bad_call("padding_idx_too_small", lambda w: _bag(w, _IDX2, padding_idx=-7)),
            bad_call(
                "psw_with_mean",
                lambda w: _bag(w, _IDX2, mode="mean", per_sample_weights=const(w, _IDX2 * 0.5)),
            ),
            bad_call(
                "psw_shape",
                lambda w: _bag(w, _IDX2, mode="sum", per_sample_weights=const(w, _IDX2[0] * 0.5)),
            ),
            bad_call(
                "psw_dtype",
                lambda w: _bag(w, _IDX2, mode="sum", per_sample_weights=const(w, _IDX2 + 1)),
            ),
        ),
    ),
    OpSpec(
        "F_embedding_bag_mean_offsets",
        lambda w: _bag(w, _IDX1, _OFF, mode="mean"),
        (((6, 3),), ((6, 1),)),
        bad=(
            bad_call("offsets_missing", lambda w: _bag(w, _IDX1, mode="mean")),
            bad_call("offsets_2d", lambda w: _bag(w, _IDX1, _OFF[None])),
            bad_call("offsets_first_nonzero", lambda w: _bag(w, _IDX1, _OFF + 1)),
            bad_call("offsets_beyond_input", lambda w: _bag(w, _IDX1, np.array([0, 9]))),
            bad_call("float_offsets", lambda w: _bag(w, _IDX1, _OFF * 1.0)),
            bad_call(
                "last_offset_beyond_input",
                lambda w: _bag(w, _IDX1, np.array([0, 9]), include_last_offset=True),
            ),
            bad_call(
                "no_last_offset",
                lambda w: _bag(w, _IDX1, _OFF[:0], include_last_offset=True),
            ),
            bad_call("index_out_of_range", lambda w: _bag(w, _IDX1 + 2, _OFF)),
        ),
    ),
    OpSpec(
        "F_embedding_bag_max_offsets",
        lambda w: _bag(w, _IDX1, _OFF, mode="max"),
        (((6, 3),),),
        "distinct",  # no ties within a bag: the arg-max (and gradcheck) is well defined
    ),
    OpSpec(
        "F_embedding_bag_max_padding_2d",
        lambda w: _bag(w, _IDX2, mode="max", padding_idx=5),  # bag [5, 5, 3] keeps only 3
        (((6, 4),),),
        "distinct",
    ),
    OpSpec(
        "F_embedding_bag_mean_padding",
        lambda w: _bag(w, _IDX1, _OFF, mode="mean", padding_idx=_PAD),
        (((6, 3),),),
    ),
    OpSpec(
        "F_embedding_bag_psw_last_offset",
        lambda w, p: _bag(
            w, _IDX1, _OFF_LAST, mode="sum", per_sample_weights=p, include_last_offset=True
        ),
        (((6, 3), (8,)),),
    ),
    OpSpec(
        "F_embedding_bag_psw_padding_2d",
        lambda w, p: _bag(w, _IDX2, mode="sum", per_sample_weights=p, padding_idx=-1),
        (((6, 3), (3, 3)),),
    ),
]
