"""Op specs for ``F.grid_sample`` and ``F.affine_grid`` (appended to tests/ops/op_specs.py).

The grid inputs are standard normal, so many points fall outside [-1, 1] (exercising the
padding modes) and none lies on the kinks of the interpolation (integer pixel positions,
clipping bounds) except with probability zero; every 2-d mode (bilinear, nearest, bicubic) x
padding_mode x align_corners is one spec, and six well-spread 3-d combinations are. PyTorch
2.13 supports double backward of ``grid_sampler_2d``/``_3d`` but not forward mode: the
``jvp`` check compares chainrule's forward mode with its own reverse mode.

The ``_exact`` 3-d specs pin the grid to fixed points (:data:`_POINTS`): voxel centres, cell
midpoints (ties for 'nearest'), the border (±1) and the clipping and reflection bounds, and
points outside. Their derivatives there are one-sided (PyTorch's floor, clip and rounding
conventions), so they are checked against PyTorch and forward mode against reverse mode, not
against finite differences.
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

# 3-d: input (N, C, D, H, W), grid (N, D_out, H_out, W_out, 3) of (x, y, z) points
_SHAPES_3D = (((1, 2, 2, 2, 3), (1, 1, 2, 3, 3)), ((2, 1, 3, 2, 2), (2, 2, 1, 1, 3)))
_COMBOS_3D = (
    ("bilinear", "zeros", False),
    ("bilinear", "border", True),
    ("bilinear", "reflection", False),
    ("bilinear", "reflection", True),
    ("nearest", "zeros", True),
    ("nearest", "reflection", False),
)

# Fixed (x, y, z) points for an input of spatial size (D, H, W) = (2, 3, 4); multiples of
# 1/4 map to integer or half-integer voxel coordinates along W (align_corners=False), H
# (True) and D (False), so they hit voxel centres, cell midpoints and the bounds exactly.
_POINTS = np.array(
    [
        [0.0, 0.0, 0.0],  # the centre
        [-1.0, -1.0, -1.0],  # the corners: the border in both conventions
        [1.0, 1.0, 1.0],
        [-0.75, 0.0, -0.5],  # a voxel centre (align_corners=False)
        [0.25, -1.0, 0.5],
        [-1 / 3, 0.0, 1.0],  # a voxel centre (align_corners=True)
        [-0.5, 0.5, 0.0],  # cell midpoints: ties for 'nearest'
        [0.5, -0.5, 0.25],
        [1.25, 0.25, -0.75],  # outside along one axis
        [-1.5, 1.5, 0.75],
        [3.0, -3.0, 2.0],  # far outside: several reflections
        [-2.75, 0.75, -1.25],
    ]
).reshape(1, 2, 3, 2, 3)


def _pinned(g):
    """A grid equal to :data:`_POINTS` whose gradient flows to ``g`` unchanged (``g -
    g.detach()`` is exactly 0); ``g`` of another shape (a bad-input case) passes through."""
    if tuple(g.shape) != _POINTS.shape:
        return g
    return g - g.detach() + const(g, _POINTS)


_BAD_3D = (
    bad_call("grid_last_dim_2", lambda x, g: _gs_call()(x, g[..., :2])),
    bad_call("grid_4d", lambda x, g: _gs_call()(x, g[:, 0])),
    bad_call("empty_depth", lambda x, g: _gs_call()(x[:, :, :0], g)),
    bad_call("dtype_mismatch", lambda x, g: _gs_call()(x, g.float())),
    bad_call("bicubic", lambda x, g: _gs_call(mode="bicubic")(x, g)),
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
            f"F_grid_sample_3d_{mode}_{padding}_{'ac' if align else 'nac'}",
            _gs(mode, padding, align),
            _SHAPES_3D,
            bad=_BAD_3D if (mode, padding, align) == ("bilinear", "zeros", False) else (),
        )
        for mode, padding, align in _COMBOS_3D
    ]
    + [
        OpSpec(
            f"F_grid_sample_3d_exact_{mode}_{padding}_{'ac' if align else 'nac'}",
            lambda x, g, mode=mode, padding=padding, align=align: _gs(mode, padding, align)(
                x, _pinned(g)
            ),
            (((1, 2, 2, 3, 4), _POINTS.shape),),
            checks=frozenset({"fwd", "bwd", "jvp"}),
        )
        for mode, padding, align in _COMBOS_3D
    ]
    + [
        OpSpec(
            "F_affine_grid_3d",
            lambda t: nnf(t).affine_grid(t, (t.shape[0], 1, 3, 4, 2), align_corners=False),
            (((2, 3, 4),),),
        )
    ]
)
