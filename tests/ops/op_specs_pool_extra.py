"""Op specs for pool extra (appended to the central table in tests/ops/op_specs.py):
``max_unpool1d/2d``, ``lp_pool1d/2d``, ``channel_shuffle``, ``pixel_(un)shuffle``, and the
one-node pooling ops of session 32 (avg_pool3d, max_pool3d, adaptive max pooling; unbatched
inputs of each)."""

from __future__ import annotations

import numpy as np
import torch

from .op_specs import BadInput, _unary, bad_call, const, nnf

# Flat argmax indices of a fixed max pool of a constant array (PyTorch's own, captured by the
# lambdas below): (1, 2, 4, 4) pooled by 2 -> (1, 2, 2, 2); (2, 2, 6) pooled by 2, stride 2,
# padding 1 -> (2, 2, 4), unpooled to the default length 6. The windows are disjoint, so no
# index repeats (a repeated index keeps one value, and finite differences disagree there).


def _pool_indices(pool, array: np.ndarray, *args) -> np.ndarray:
    """The flat argmax indices PyTorch's ``pool`` returns for ``array``."""
    return pool(torch.tensor(array), *args, return_indices=True)[1].numpy()


_PLANES = np.random.default_rng(7).permutation(32).astype(np.float64).reshape(1, 2, 4, 4)
_UNPOOL2D_IDX = _pool_indices(torch.nn.functional.max_pool2d, _PLANES, 2)
_SIGNAL = np.random.default_rng(8).permutation(24).astype(np.float64).reshape(2, 2, 6)
_UNPOOL1D_IDX = _pool_indices(torch.nn.functional.max_pool1d, _SIGNAL, 2, 2, 1)


def _unpool2d(a, idx=_UNPOOL2D_IDX, **kw):
    return nnf(a).max_unpool2d(a, const(a, idx), 2, **kw)


def _unpool1d(a, idx=_UNPOOL1D_IDX, **kw):
    return nnf(a).max_unpool1d(a, const(a, idx), 2, 2, 1, **kw)


SPECS: list = [
    _unary(
        "F_max_unpool2d",
        _unpool2d,
        shapes=(((1, 2, 2, 2),),),
        bad=(
            bad_call("index_out_of_range", lambda a: _unpool2d(a, _UNPOOL2D_IDX + 16)),
            bad_call("int32_indices", lambda a: _unpool2d(a, _UNPOOL2D_IDX.astype(np.int32))),
            bad_call("output_size_too_big", lambda a: _unpool2d(a, output_size=(6, 4))),
            bad_call("output_size_length", lambda a: _unpool2d(a, output_size=(4,))),
        ),
    ),
    _unary(
        "F_max_unpool2d_output_size",
        lambda a: _unpool2d(a, output_size=(1, 2, 5, 4)),
        shapes=(((1, 2, 2, 2),),),
    ),
    _unary(
        "F_max_unpool1d",
        _unpool1d,
        shapes=(((2, 2, 4),),),
        bad=(
            bad_call("index_out_of_range", lambda a: _unpool1d(a, _UNPOOL1D_IDX - 3)),
            bad_call("output_size_too_small", lambda a: _unpool1d(a, output_size=(4,))),
        ),
    ),
    _unary(
        "F_max_unpool1d_output_size",
        lambda a: _unpool1d(a, output_size=[2, 2, 7]),
        shapes=(((2, 2, 4),),),
    ),
    _unary(
        "F_lp_pool2d",
        lambda a: nnf(a).lp_pool2d(a, 2, (2, 3), stride=(1, 2)),
        shapes=(((1, 2, 4, 5),), ((2, 4, 5),)),
        bad=(bad_call("norm_type_zero", lambda a: nnf(a).lp_pool2d(a, 0, 2)),),
    ),
    _unary(
        "F_lp_pool2d_p3_ceil",
        lambda a: nnf(a).lp_pool2d(a, 3, 2, ceil_mode=True),
        "positive",
        shapes=(((1, 2, 5, 5),),),
    ),
    _unary(
        "F_lp_pool2d_p1_5",
        lambda a: nnf(a).lp_pool2d(a, 1.5, 2),
        "positive",
        shapes=(((1, 2, 4, 4),),),
    ),
    _unary(
        "F_lp_pool2d_inf",
        lambda a: nnf(a).lp_pool2d(a, float("inf"), 2),
        "distinct",
        shapes=(((1, 2, 4, 4),),),
    ),
    _unary(
        "F_lp_pool1d",
        lambda a: nnf(a).lp_pool1d(a, 2, 3, stride=2),
        shapes=(((2, 3, 7),), ((3, 7),)),
        bad=(bad_call("tuple_kernel", lambda a: nnf(a).lp_pool1d(a, 2, (3,))),),
    ),
    _unary(
        "F_lp_pool1d_p3_ceil",
        lambda a: nnf(a).lp_pool1d(a, 3, 2, ceil_mode=True),
        "positive",
        shapes=(((2, 3, 7),),),
    ),
    # one-node pooling (session 32): AvgPool3DBackward0, MaxPool3DWithIndicesBackward0,
    # AdaptiveMaxPool2D/3DBackward0, and unbatched inputs as one node
    _unary(
        "F_avg_pool3d_tiles",
        lambda a: nnf(a).avg_pool3d(a, 2),
        shapes=(((1, 2, 4, 4, 5),), ((2, 4, 5, 4),)),
    ),
    _unary(
        "F_avg_pool3d_ceil_pad",
        lambda a: nnf(a).avg_pool3d(a, (3, 2, 2), (2, 1, 2), (1, 1, 0), ceil_mode=True),
        shapes=(((1, 2, 5, 4, 5),), ((2, 5, 4, 5),)),
    ),
    _unary(
        "F_avg_pool3d_divisor_unbatched",
        lambda a: nnf(a).avg_pool3d(a, 2, 1, 1, count_include_pad=False, divisor_override=5),
        shapes=(((2, 3, 3, 4),),),
    ),
    _unary(
        "F_max_pool3d_overlap",
        lambda a: nnf(a).max_pool3d(a, 3, 1, 1),
        "distinct",
        shapes=(((1, 2, 3, 3, 4),), ((2, 3, 4, 3),)),
    ),
    _unary(
        "F_avg_pool2d_unbatched",
        lambda a: nnf(a).avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        shapes=(((2, 5, 6),),),
    ),
    _unary(
        "F_max_pool2d_unbatched",
        lambda a: nnf(a).max_pool2d(a, 3, 2, 1),
        "distinct",
        shapes=(((2, 5, 6),),),
    ),
    _unary(
        "F_avg_pool1d_unbatched",
        lambda a: nnf(a).avg_pool1d(a, 3, 2, 1),
        shapes=(((2, 7),), ((1, 2, 7),)),
    ),
    _unary(
        "F_max_pool1d_unbatched",
        lambda a: nnf(a).max_pool1d(a, 3, 2, 1),
        "distinct",
        shapes=(((2, 7),),),
    ),
    _unary(
        "F_adaptive_max_pool2d_uneven",
        lambda a: nnf(a).adaptive_max_pool2d(a, (3, 2)),
        "distinct",
        shapes=(((1, 2, 5, 5),), ((2, 5, 5),)),
    ),
    _unary(
        "F_adaptive_max_pool2d_even",
        lambda a: nnf(a).adaptive_max_pool2d(a, 2),
        "distinct",
        shapes=(((1, 2, 4, 4),), ((2, 4, 6),)),
    ),
    _unary(
        "F_adaptive_max_pool3d_even",
        lambda a: nnf(a).adaptive_max_pool3d(a, 2),
        "distinct",
        shapes=(((1, 2, 4, 2, 4),), ((2, 4, 4, 2),)),
    ),
    _unary(
        "F_channel_shuffle",
        lambda a: nnf(a).channel_shuffle(a, 3),
        shapes=(((2, 6, 2, 3),), ((1, 6, 4),)),
        bad=(
            bad_call("groups_not_dividing", lambda a: nnf(a).channel_shuffle(a, 4)),
            bad_call("groups_zero", lambda a: nnf(a).channel_shuffle(a, 0)),
            BadInput("two_dims", arrays=lambda arrays: [arrays[0][:, :, 0, 0]]),
        ),
    ),
    # pixel_shuffle / pixel_unshuffle: one node each (PixelShuffleBackward0, ...)
    _unary("F_pixel_unshuffle", lambda a: nnf(a).pixel_unshuffle(a, 2), shapes=(((2, 4, 2),),)),
    _unary(
        "F_pixel_shuffle_batched",
        lambda a: nnf(a).pixel_shuffle(a, 2),
        shapes=(((2, 1, 4, 2, 1),),),
    ),
]

__all__ = ["SPECS"]
