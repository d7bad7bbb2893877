"""Op specs for ``F.grid_sample`` and ``F.affine_grid`` (appended to tests/ops/op_specs.py).

The grid inputs are standard normal, so many points fall outside [-1, 1] (exercising the
padding modes) and none lies on the kinks of the interpolation (integer pixel positions,
clipping bounds) except with probability zero; every mode (bilinear, nearest, bicubic) x
padding_mode x align_corners is one spec. PyTorch 2.13 supports double backward of
``grid_sampler_2d`` but not forward mode: the ``jvp`` check compares chainrule's forward mode
with its own reverse mode.
"""

from __future__ import annotations

import numpy as np

from .op_specs import ALL, OpSpec, bad_call, const, nnf

_SHAPES = (((2, 3, 4, 5), (2, 3, 6, 2)), ((1, 2, 3, 3), (1, 2, 2, 2)))


def _gs(mode: str, padding: str, align: bool):
    def fn(x, g):
        return nnf(x).grid_sample(x, g, mode=mode, padding_mode=padding, align_corners=align)

    return fn


def _gs_call(**kw):
    return lambda x, g: nnf(x).grid_sample(x, g, **{"align_corners": False, **kw})


_BAD = (
    bad_call("grid_last_dim_3", lambda x, g: _gs_call()(x, const(x, np.zeros((2, 3, 6, 3))))),
    bad_call("batch_mismatch", lambda x, g: _gs_call()(x, g[:1])),
    bad_call("input_3d", lambda x, g: _gs_call()(x[0], g)),
    bad_call("grid_3d", lambda x, g: _gs_call()(x, g[0])),
    bad_call("bad_mode", lambda x, g: _gs_call(mode="linear")(x, g)),
    bad_call("bad_padding", lambda x, g: _gs_call(padding_mode="wrap")(x, g)),
    bad_call("empty_spatial", lambda x, g: _gs_call()(x[:, :, :0], g)),
    bad_call("dtype_mismatch", lambda x, g: _gs_call()(x, g.float())),
    bad_call(
        "bicubic_5d",
        lambda x, g: _gs_call(mode="bicubic")(x[..., None], const(x, np.zeros((2, 1, 1, 1, 3)))),
    ),
)

SPECS: list = (
    [
        OpSpec(
            f"F_grid_sample_{mode}_{padding}_{'ac' if align else 'nac'}",
            _gs(mode, padding, align),
            _SHAPES,
            bad=_BAD if (mode, padding, align) == ("bilinear", "zeros", False) else (),
        )
        for mode in ("bilinear", "nearest", "bicubic")
        for padding in ("zeros", "border", "reflection")
        for align in (False, True)
    ]
    + [
        OpSpec(
            f"F_affine_grid_{'ac' if align else 'nac'}",
            lambda t, align=align: nnf(t).affine_grid(
                t, (t.shape[0], 3, 4, 5), align_corners=align
            ),
            (((2, 2, 3),),),
            checks=ALL,
            bad=(
                bad_call("theta_3x3", lambda t: nnf(t).affine_grid(t[:, :1], (2, 3, 4, 5), False)),
                bad_call("size_3d", lambda t: nnf(t).affine_grid(t, (2, 3, 4), False)),
                bad_call("zero_size", lambda t: nnf(t).affine_grid(t, (2, 3, 0, 5), False)),
            )
            if not align
            else (),
        )
        for align in (False, True)
    ]
    + [
        OpSpec(
            "F_affine_grid_3d",
            lambda t: nnf(t).affine_grid(t, (t.shape[0], 1, 3, 4, 2), align_corners=False),
            (((2, 3, 4),),),
        )
    ]
)
