"""``F.interpolate`` / ``F.upsample``: resize the spatial dims of (N, C, *spatial) tensors.

Every mode PyTorch offers for 3-D, 4-D and 5-D input: 'nearest', 'nearest-exact', 'linear',
'bilinear', 'bicubic', 'trilinear' and 'area', and ``antialias=True`` for bilinear/bicubic.

Why one map per axis: linear, bicubic and area resizing are separable linear maps, so the
resize along one spatial axis is ``y = W x`` with a small (n_out, n_in) interpolation matrix W
whose rows hold that output position's tap weights. Linear and bicubic go through
``ops/interp_taps.py``, which applies W as a matrix product (a BLAS call) when the operand
is finite and as a gather of each output's 2 or 4 taps otherwise, so that an inf or NaN
reaches only the outputs that read it, as in PyTorch (a dense product spreads ``0 * inf``
= NaN over the whole row). Area and antialiased resizing take the same path, their taps being
a bin or a filter window of varying length per output. The nearest modes pick one source per
output, so they are one gather, a single ``UpsampleNearest...`` node (ops/upsample_nearest.py).

How the coordinates are computed (PyTorch's, in the input's precision) is in
``_interpolate_taps.py``; the argument checks, in PyTorch's order, in
``_interpolate_checks.py``. This module resizes: it picks each axis's taps and applies them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...autograd.saved_fields import given
from ...autograd.tensor import Tensor
from ...backend import get_array_module, host
from ...ops.area_interpolation import area_resize
from ...ops.interp_taps import resample
from ...ops.upsample_nearest import NearestPlan, UpsampleNearest
from ._interpolate_checks import (
    _check_args,
    _check_mode,
    _geometry,
    _uint8_resampled,
)
from ._interpolate_taps import (
    _antialias_taps,
    _cubic_taps,
    _int_weights,
    _is_identity,
    _linear_taps,
    _nearest_index,
    _opdtype,
)

__all__ = ["interpolate", "upsample", "upsample_bilinear", "upsample_nearest"]


def _resize_nearest(x: Tensor, out_sz: tuple, scales: tuple, exact: bool) -> Tensor:
    """Every spatial dim at once, as one ``UpsampleNearest...`` node (ops/upsample_nearest.py)."""
    op = _opdtype(x)
    idx = tuple(
        _nearest_index(n_in, n_out, sc, op, exact, len(out_sz) == 2)
        for n_in, n_out, sc in zip(x.shape[2:], out_sz, scales)
    )
    return UpsampleNearest.apply(x, NearestPlan(idx, tuple(x.shape[2:]), exact))


def _resize_uint8(
    input: Tensor, out_sz: tuple, scales: tuple, mode: str, ac: bool, antialias: bool
) -> Tensor:
    """Bilinear / bicubic resize of uint8 (N, C, H, W) input, exact to PyTorch's CPU kernels
    (the separable fixed-point resampler PyTorch took from Pillow-SIMD): the width is
    resized first, then the height, each pass in integers on its own (an axis kept at its
    size is not resampled), rounding half up (``(sum + 2**(p-1)) >> p``) and clamping to
    0..255 after each pass. Weights: Keys' A = -0.75 cubic / linear with clamped taps (or
    the antialias filters), computed in float64. Not differentiable (an integer result)."""
    xp = get_array_module(input._data)
    y = host(input._data).astype(np.int64)
    for axis in (3, 2):
        n_in, n_out, sc = input.shape[axis], out_sz[axis - 2], scales[axis - 2]
        if n_in == n_out:
            continue
        if antialias:
            idx, wts = _antialias_taps(n_in, n_out, ac, sc, mode == "bicubic")
        elif mode == "bicubic":
            idx, wts = _cubic_taps(n_in, n_out, ac, sc, np.float64)
        else:
            idx, wts = _linear_taps(n_in, n_out, ac, sc, np.float64)
        w, p = _int_weights(idx, wts, n_in)
        moved = np.moveaxis(y, axis, -1)
        y = np.moveaxis(np.clip((moved @ w.T + (1 << (p - 1))) >> p, 0, 255), -1, axis)
    return Tensor._new(xp.asarray(np.ascontiguousarray(y, dtype=np.uint8)))


def interpolate(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize (N, C, L), (N, C, H, W) or (N, C, D, H, W) input, like ``F.interpolate``.

    Args:
        input: the batch to resize.
        size: output spatial size (an int for every dim, or one per dim), or
        scale_factor: multiplier(s) of the spatial size; output size = floor(n * scale).
            Exactly one of ``size`` and ``scale_factor``.
        mode: 'nearest' | 'nearest-exact' | 'linear' (3-D) | 'bilinear' | 'bicubic' (4-D) |
            'trilinear' (5-D) | 'area'.
        align_corners: for the interpolating modes, map the corner pixels' centres onto each
            other (default False); must be None for the others.
        recompute_scale_factor: if True, map coordinates with the recomputed ratio
            n_in / n_out instead of the given ``scale_factor``.
        antialias: for 'bilinear' / 'bicubic' on 4-D input, widen the filter when shrinking
            so no input pixel is skipped (PyTorch's / PIL's antialiased resize).

    Returns:
        The resized tensor, same dtype; differentiable in ``input`` (any order).

    Raises:
        ValueError: both or neither of size/scale_factor, a size list of the wrong length,
            align_corners with a non-interpolating mode, or antialias outside bilinear/bicubic.
        NotImplementedError: an unknown mode or the wrong input rank for the mode.
    """
    _check_args(input, mode, align_corners, antialias)
    out_sz, scales = _geometry(
        input, size, scale_factor, mode, recompute_scale_factor, align_corners, antialias
    )
    _check_mode(input, mode, out_sz)
    ac = bool(align_corners)
    op = _opdtype(input)
    out = input
    if mode in ("nearest", "nearest-exact"):  # grad_fn._saved_* as PyTorch's (given)
        out = _resize_nearest(input, out_sz, scales, mode == "nearest-exact")
        return given(out, output_size=out_sz, scales=scales)
    if mode == "area":  # recorded as PyTorch's adaptive average pooling (ops/area_interpolation)
        if not input.is_floating_point() and any(int(o) == 0 for o in out_sz):  # (1-d, 2-d)
            return input.new_empty((*input.shape[:2], *out_sz))  # any dtype (empty: no kernel)
        return area_resize(input, out_sz)
    if _uint8_resampled(input, mode):
        return _resize_uint8(input, out_sz, scales, mode, ac, antialias)
    taps = []  # the interpolated axes, resampled together (see ops/interp_taps.py)
    for d, (n_in, n_out, sc) in enumerate(zip(input.shape[2:], out_sz, scales)):
        axis = 2 + d
        if antialias:
            plan = _antialias_taps(n_in, n_out, ac, sc, mode == "bicubic")
            if not _is_identity(plan[0], plan[1], n_in):
                taps.append((axis, *plan))
            continue
        if mode == "bicubic":
            idx, wts = _cubic_taps(n_in, n_out, ac, sc, op)
        else:
            idx, wts = _linear_taps(n_in, n_out, ac, sc, op)
        taps.append((axis, idx, wts))
    if antialias:  # PyTorch (as PIL) resizes the last axis first: it decides inf - inf vs inf
        taps = taps[::-1]
    # an antialiased resize that changes no axis is still one recorded node, as torch's
    out = resample(out, taps, _label(mode, input.ndim - 2, antialias))
    return given(out, output_size=out_sz, scales=scales, align_corners=ac)  # grad_fn._saved_*


def _label(mode: str, nd: int, antialias: bool) -> str | None:
    """PyTorch's node name stem for a tap-resampling mode (None for 'area': PyTorch's is an
    adaptive average pooling there)."""
    kind = {
        "linear": "Linear",
        "bilinear": "Bilinear",
        "bicubic": "Bicubic",
        "trilinear": "Trilinear",
    }
    if mode not in kind:
        return None
    return f"Upsample{kind[mode]}{nd}D{'Aa' if antialias else ''}"


def _deprecated(name: str) -> None:
    warnings.warn(
        f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.",
        UserWarning,
        stacklevel=3,
    )


def upsample(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """Deprecated alias of :func:`interpolate` (kept because PyTorch programs still call it)."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, "bilinear", align_corners=True)
