"""Op specs for more ``nn.functional`` pooling (appended to the central table in
tests/ops/op_specs.py): ``adaptive_max_pool1d``, the ``*_with_indices`` forms,
``max_unpool3d``, ``lp_pool3d`` and ``fractional_max_pool2d/3d`` (with fixed
``_random_samples``, so both libraries pick the same windows)."""

from __future__ import annotations

import numpy as np
import torch

from .op_specs import BadInput, _unary, bad_call, const, nnf

# Flat argmax indices PyTorch's max_pool3d returns for a fixed volume (disjoint 2x2x2 windows,
# so no index repeats): (1, 2, 4, 4, 4) pooled by 2 -> (1, 2, 2, 2, 2).
_VOL = np.random.default_rng(11).permutation(128).astype(np.float64).reshape(1, 2, 4, 4, 4)
_UNPOOL3D_IDX = torch.nn.functional.max_pool3d(torch.tensor(_VOL), 2, return_indices=True)[1]
_UNPOOL3D_IDX = _UNPOOL3D_IDX.numpy()

# window samples in [0, 1): (N, C, 2) for 2-D (width, height), (N, C, 3) for 3-D
_U2 = np.random.default_rng(12).random((2, 3, 2))
_U3 = np.random.default_rng(13).random((2, 2, 3))


def _unpool3d(a, idx=_UNPOOL3D_IDX, **kw):
    return nnf(a).max_unpool3d(a, const(a, idx), 2, **kw)


def _frac2d(a, u=_U2, **kw):
    kw.setdefault("output_size", (3, 4))
    return nnf(a).fractional_max_pool2d(a, 2, _random_samples=const(a, u[: len(a)]), **kw)


def _frac3d(a, u=_U3, **kw):
    kw.setdefault("output_size", (2, 3, 2))
    return nnf(a).fractional_max_pool3d(a, 2, _random_samples=const(a, u), **kw)


SPECS: list = [
    _unary(
        "F_adaptive_max_pool1d",
        lambda a: nnf(a).adaptive_max_pool1d(a, 3),
        "distinct",
        shapes=(((2, 3, 7),), ((3, 8),)),
        bad=(
            bad_call("two_sizes", lambda a: nnf(a).adaptive_max_pool1d(a, (2, 2))),
            BadInput("one_dim", arrays=lambda arrays: [arrays[0][0, 0]]),
        ),
    ),
    _unary(
        "F_adaptive_max_pool1d_indices",
        lambda a: nnf(a).adaptive_max_pool1d(a, 4, return_indices=True)[0] * 2.0,
        "distinct",
        shapes=(((2, 2, 9),),),
    ),
    _unary(
        "F_adaptive_max_pool2d_with_indices",
        lambda a: nnf(a).adaptive_max_pool2d_with_indices(a, (3, 2))[0],
        "distinct",
        shapes=(((1, 2, 7, 5),), ((2, 5, 5),)),
    ),
    _unary(
        "F_adaptive_max_pool3d_with_indices",
        lambda a: nnf(a).adaptive_max_pool3d_with_indices(a, (2, 2, 3))[0],
        "distinct",
        shapes=(((1, 2, 3, 5, 4),),),
    ),
    _unary(
        "F_max_pool1d_with_indices",
        lambda a: nnf(a).max_pool1d_with_indices(a, 3, 2, 1)[0],
        "distinct",
        shapes=(((2, 3, 8),),),
    ),
    _unary(
        "F_max_pool2d_with_indices",
        lambda a: nnf(a).max_pool2d_with_indices(a, 2, 1)[0],
        "distinct",
        shapes=(((1, 2, 4, 5),),),
    ),
    _unary(
        "F_max_pool3d_with_indices",
        lambda a: nnf(a).max_pool3d_with_indices(a, 2, 2, 1)[0],
        "distinct",
        shapes=(((1, 2, 3, 4, 3),),),
    ),
    _unary(
        "F_max_unpool3d",
        _unpool3d,
        shapes=(((1, 2, 2, 2, 2),),),
        bad=(
            bad_call("index_out_of_range", lambda a: _unpool3d(a, _UNPOOL3D_IDX + 64)),
            bad_call("int32_indices", lambda a: _unpool3d(a, _UNPOOL3D_IDX.astype(np.int32))),
            bad_call("output_size_too_big", lambda a: _unpool3d(a, output_size=(6, 4, 4))),
        ),
    ),
    _unary(
        "F_max_unpool3d_output_size",
        lambda a: _unpool3d(a, output_size=(1, 2, 5, 4, 5)),
        shapes=(((1, 2, 2, 2, 2),),),
    ),
    _unary(
        "F_lp_pool3d",
        lambda a: nnf(a).lp_pool3d(a, 2, (2, 3, 2), stride=(1, 2, 1)),
        shapes=(((1, 2, 3, 4, 3),), ((2, 3, 4, 3),)),
        bad=(bad_call("norm_type_zero", lambda a: nnf(a).lp_pool3d(a, 0, 2)),),
    ),
    _unary(
        "F_lp_pool3d_p3_ceil",
        lambda a: nnf(a).lp_pool3d(a, 3, 2, ceil_mode=True),
        "positive",
        shapes=(((1, 2, 3, 5, 3),),),
    ),
    _unary(
        "F_lp_pool3d_inf",
        lambda a: nnf(a).lp_pool3d(a, float("inf"), 2),
        "distinct",
        shapes=(((1, 2, 2, 4, 4),),),
    ),
    _unary(
        "F_fractional_max_pool2d",
        _frac2d,
        "distinct",
        shapes=(((2, 3, 6, 7),), ((3, 5, 6),)),
        bad=(
            bad_call("pool_too_large", lambda a: _frac2d(a, output_size=(6, 4))),
            bad_call("samples_last_dim", lambda a: _frac2d(a, u=np.zeros((2, 3, 3)))),
        ),
    ),
    _unary(
        "F_fractional_max_pool2d_indices",
        lambda a: _frac2d(a, return_indices=True)[0],
        "distinct",
        shapes=(((2, 3, 5, 6),),),
    ),
    _unary(
        "F_fractional_max_pool3d",
        _frac3d,
        "distinct",
        shapes=(((2, 2, 4, 5, 4),),),
        bad=(bad_call("pool_too_large", lambda a: _frac3d(a, output_size=(3, 3, 2))),),
    ),
]

__all__ = ["SPECS"]
