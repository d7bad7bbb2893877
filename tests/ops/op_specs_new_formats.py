"""Op specs for memory formats (ops/memory_format.py) and the ``F.interpolate`` modes beyond
bilinear (nn/functional/interpolate.py, ops/interp_taps.py), appended to tests/ops/op_specs.py.

A memory format changes no value: the specs check that ``ToMemoryFormat`` passes values,
gradients (reverse and forward mode, any order) through, for inputs in every layout the
harness makes (a transposed or strided view is relaid out too). tests/test_memory_format.py
checks the strides themselves.

The interpolation specs cover each resampling path: the tap gathers of ``Resample``
(linear, bicubic, trilinear, with and without ``align_corners``), the matrices of 'area' and
of the antialiased filters (shrinking, so the filter widens, and growing), and the
index gathers of the nearest modes.
"""

from __future__ import annotations

from .op_specs import OpSpec, bad_call, lib, nnf


def _fmt(x, name: str):
    """The memory format ``name`` of ``x``'s library."""
    return getattr(lib(x), name)


def _interp(**kw):
    return lambda a: nnf(a).interpolate(a, **kw)


_NCHW = (((2, 3, 4, 5),), ((1, 2, 3, 1),))
_SMALL_2D = (((1, 2, 3, 4),),)
_BIG_2D = (((1, 2, 6, 7),),)

SPECS: list = [
    # ----------------------------------------------------------- memory formats
    OpSpec(
        "contiguous_channels_last",
        lambda x: x.contiguous(memory_format=_fmt(x, "channels_last")),
        _NCHW,
        bad=(bad_call("not_a_format", lambda x: x.contiguous(memory_format=x.dtype)),),
    ),
    OpSpec("to_channels_last", lambda x: x.to(memory_format=_fmt(x, "channels_last")), _NCHW),
    OpSpec(
        "to_channels_last_3d",
        lambda x: x.to(memory_format=_fmt(x, "channels_last_3d")),
        (((2, 3, 2, 3, 4),),),
    ),
    OpSpec(
        "to_channels_last_and_back",
        lambda x: x.to(memory_format=_fmt(x, "channels_last")).contiguous() * 2.0,
        _NCHW,
    ),
    OpSpec(
        "clone_channels_last",
        lambda x: x.clone(memory_format=_fmt(x, "channels_last")),
        (((2, 3, 4, 5),),),
    ),
    OpSpec(
        "channels_last_tanh_mul",  # elementwise ops on a channels-last input
        lambda x, y: x.to(memory_format=_fmt(x, "channels_last")).tanh() * y,
        (((2, 3, 4, 5), (2, 3, 4, 5)), ((2, 3, 4, 5), (5,))),
    ),
    OpSpec(
        "F_conv2d_channels_last",
        lambda x, w: nnf(x).conv2d(x.to(memory_format=_fmt(x, "channels_last")), w, padding=1),
        (((2, 3, 4, 5), (2, 3, 3, 3)),),
    ),
    # ------------------------------------------------------------- interpolate
    OpSpec(
        "F_interpolate_area_shrink",
        _interp(size=(2, 3), mode="area"),
        (((1, 2, 5, 7),), ((2, 1, 4, 6),)),
        bad=(
            bad_call(
                "align_corners", lambda a: _interp(mode="area", size=2, align_corners=True)(a)
            ),
        ),
    ),
    OpSpec("F_interpolate_area_grow", _interp(size=(5, 7), mode="area"), _SMALL_2D),
    OpSpec("F_interpolate_area_1d", _interp(size=3, mode="area"), (((2, 3, 7),),)),
    OpSpec("F_interpolate_area_3d", _interp(size=(2, 1, 3), mode="area"), (((1, 2, 3, 2, 5),),)),
    OpSpec(
        "F_interpolate_area_frac",  # scale factors recomputed from the floored sizes, as torch
        _interp(scale_factor=(1.5, 0.45), mode="area"),
        (((1, 2, 5, 7),),),
    ),
    OpSpec(
        "F_interpolate_area_recompute",
        _interp(scale_factor=0.7, mode="area", recompute_scale_factor=True),
        (((2, 2, 3, 4, 5),),),
    ),
    OpSpec("F_interpolate_area_same", _interp(size=(4, 6), mode="area"), (((1, 2, 4, 6),),)),
    OpSpec("F_interpolate_bicubic", _interp(size=(5, 6), mode="bicubic"), _SMALL_2D),
    OpSpec(
        "F_interpolate_bicubic_align",
        _interp(scale_factor=1.5, mode="bicubic", align_corners=True),
        (((1, 2, 4, 4),),),
    ),
    OpSpec(
        "F_interpolate_bicubic_aa_shrink",
        _interp(size=(3, 4), mode="bicubic", antialias=True),
        _BIG_2D,
        bad=(
            bad_call(
                "antialias_3d",
                lambda a: _interp(size=3, mode="bicubic", antialias=True)(a[0]),
            ),
        ),
    ),
    OpSpec(
        "F_interpolate_bicubic_aa_grow",
        _interp(size=(5, 6), mode="bicubic", antialias=True),
        _SMALL_2D,
    ),
    OpSpec(
        "F_interpolate_bilinear_aa_shrink",
        _interp(size=(4, 3), mode="bilinear", antialias=True),
        _BIG_2D,
    ),
    OpSpec(
        "F_interpolate_bilinear_aa_align",
        _interp(size=(2, 5), mode="bilinear", antialias=True, align_corners=True),
        _BIG_2D,
    ),
    OpSpec(
        "F_interpolate_bilinear_align",
        _interp(size=(5, 7), mode="bilinear", align_corners=True),
        _SMALL_2D,
    ),
    OpSpec(
        "F_interpolate_linear",
        _interp(scale_factor=2.5, mode="linear"),
        (((2, 3, 4),),),
        bad=(bad_call("wrong_rank", lambda a: _interp(size=3, mode="linear")(a[None])),),
    ),
    OpSpec(
        "F_interpolate_linear_align_shrink",
        _interp(size=3, mode="linear", align_corners=True),
        (((2, 3, 7),),),
    ),
    OpSpec(
        "F_interpolate_trilinear",
        _interp(size=(3, 2, 4), mode="trilinear"),
        (((1, 2, 2, 3, 2),),),
    ),
    OpSpec("F_interpolate_nearest", _interp(scale_factor=(1.5, 0.5), mode="nearest"), _BIG_2D),
    OpSpec(
        "F_interpolate_nearest_exact",
        _interp(size=(5, 3), mode="nearest-exact"),
        _SMALL_2D,
        bad=(
            bad_call(
                "size_and_scale",
                lambda a: nnf(a).interpolate(a, size=2, scale_factor=2.0),
            ),
            bad_call("wrong_size_len", lambda a: _interp(size=(2, 2, 2))(a)),
        ),
    ),
    # the nearest node's two paths: repeats (every dim an integer factor) and gathers
    OpSpec("F_interpolate_nearest_repeat", _interp(scale_factor=(2, 3)), _SMALL_2D),
    OpSpec("F_interpolate_nearest_1d", _interp(size=7), (((2, 3, 4),),)),
    OpSpec("F_interpolate_nearest_3d", _interp(size=(3, 2, 5)), (((1, 2, 2, 3, 2),),)),
    OpSpec(
        "F_interpolate_nearest_exact_3d",
        _interp(scale_factor=(2, 1.5, 0.7), mode="nearest-exact"),
        (((1, 1, 2, 3, 4),),),
    ),
]
