"""Op specs for activation extra (appended to the central table in tests/ops/op_specs.py).

``F.glu``, ``F.hardshrink``, ``F.softshrink``, ``F.rrelu`` in eval mode (its training mode
draws random slopes, which cannot match PyTorch's draws: tests/nn/test_activation_extra.py
checks it statistically) and ``nn.Softmax2d``. The shrink functions and rrelu use the
"nokink" domain: their inputs stay away from 0 and from +-lambd.
"""

from __future__ import annotations

from .op_specs import OpSpec, _unary, bad_call, lib, nnf

__all__ = ["SPECS"]

_SHRINK_SHAPES = (((3, 4),), ((),), ((2, 3, 5),))  # no value lands on +-0.5 or +-0.3


def _softmax2d(a):
    return lib(a).nn.Softmax2d()(a)


SPECS: list = [
    OpSpec(
        "F_glu",
        "nn.functional.glu",
        (((3, 4),), ((2, 6, 2),), ((2,),)),
        bad=(
            bad_call("odd_dim", lambda a: nnf(a).glu(a, 0)),
            bad_call("dim_out_of_range", lambda a: nnf(a).glu(a, 2)),
            bad_call("dim_out_of_range_neg", lambda a: nnf(a).glu(a, -3)),
            bad_call("scalar", lambda a: nnf(a).glu(a[0, 0])),
        ),
    ),
    OpSpec("F_glu_dim0", lambda a: nnf(a).glu(a, 0), (((4, 3),), ((2, 3, 5),))),
    OpSpec("F_glu_dim1", lambda a: nnf(a).glu(a, dim=1), (((2, 6, 3),),)),
    _unary(
        "F_hardshrink",
        "nn.functional.hardshrink",
        "nokink",
        shapes=_SHRINK_SHAPES,
        bad=(
            bad_call("negative_lambd", lambda a: nnf(a).hardshrink(a, -1.0)),
            bad_call("nan_input", lambda a: nnf(a).hardshrink(a * float("nan"))),
        ),
    ),
    _unary("F_hardshrink_lambd", lambda a: nnf(a).hardshrink(a, 0.3), "nokink"),
    _unary("F_hardshrink_zero", lambda a: nnf(a).hardshrink(a, lambd=0.0), "nokink"),
    _unary(
        "F_softshrink",
        "nn.functional.softshrink",
        "nokink",
        shapes=_SHRINK_SHAPES,
        bad=(
            bad_call("negative_lambd", lambda a: nnf(a).softshrink(a, -1.0)),
            bad_call("huge_lambd", lambda a: nnf(a).softshrink(a.float(), 1e39)),
            bad_call("nan_lambd", lambda a: nnf(a).softshrink(a, float("nan"))),
            bad_call("nan_input", lambda a: nnf(a).softshrink(a * float("nan"))),
            bad_call("zero_lambd", lambda a: nnf(a).softshrink(a, 0.0)),
        ),
    ),
    _unary("F_softshrink_lambd", lambda a: nnf(a).softshrink(a, 0.3), "nokink"),
    _unary(
        "F_rrelu",
        "nn.functional.rrelu",
        "nokink",
        bad=(
            bad_call("lower_above_upper", lambda a: nnf(a).rrelu(a, 0.5, 0.1)),
            bad_call("lower_above_upper_train", lambda a: nnf(a).rrelu(a, 0.5, 0.1, True)),
        ),
    ),
    _unary("F_rrelu_bounds", lambda a: nnf(a).rrelu(a, 0.2, 0.9, training=False), "nokink"),
    OpSpec(
        "Softmax2d",
        _softmax2d,
        (((3, 4, 5),), ((2, 3, 2, 2),)),
        bad=(bad_call("rank_5", lambda a: _softmax2d(a.reshape(1, 1, 3, 4, 5))),),
    ),
]
