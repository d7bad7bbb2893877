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

Coordinates follow PyTorch exactly. With ``align_corners=False`` output index i maps to source
``s * (i + 0.5) - 0.5`` (half-pixel centres; clamped at 0 except for bicubic), with
``s = 1 / scale_factor`` when a scale factor is given (and not recomputed), else
``n_in / n_out``. With ``align_corners=True`` it maps to ``i * (n_in - 1) / (n_out - 1)``.
Bicubic uses Keys' kernel with A = -0.75 and clamps taps at the border; the antialiased
path uses PIL's filters (triangle, or cubic with A = -0.5) stretched by the downscale
factor. Coordinates are computed in the input's precision (float32 for float32 input), as
PyTorch's CPU kernels do.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...autograd.saved_fields import given
from ...autograd.tensor import Tensor
from ...backend import get_array_module, host
from ...ops._util import DtypeError
from ...ops.area_interpolation import area_resize
from ...ops.interp_taps import resample
from ...ops.upsample_nearest import NearestPlan, UpsampleNearest
from ._arg_types import bad_bool, scale_factors

__all__ = ["interpolate", "upsample", "upsample_bilinear", "upsample_nearest"]

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_CUBIC_A = -0.75


def _per_dim(value: Any, nd: int, what: str, input: Tensor) -> tuple:
    if isinstance(value, (list, tuple)):
        if len(value) != nd:
            raise ValueError(
                f"interpolate: input and output must have the same number of spatial "
                f"dimensions, but got input with spatial dimensions of "
                f"{list(input.shape[2:])} and {what} of {list(value)}. Please provide input "
                f"tensor in (N, C, d1, d2, ...,dK) format and {what} in (o1, o2, ...,oK) format."
            )
        if what == "scale_factor":  # PyTorch's parser: numbers
            scale_factors("interpolate", value)
        return tuple(value)
    if what == "scale_factor" and isinstance(value, str):  # (a number, a 0-d tensor pass)
        scale_factors("interpolate", (value,))
    return (value,) * nd


def _geometry(
    input: Tensor, size: Any, scale_factor: Any, mode: str, recompute_scale_factor: bool | None
) -> tuple[tuple, tuple]:
    """Output spatial size and the scale factors used for the coordinate mapping (or None)."""
    nd = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError(
            "interpolate: recompute_scale_factor is not meaningful with an explicit size."
        )
    if size is not None:
        sizes = _per_dim(size, nd, "output size", input)
        try:  # ints only, as PyTorch: a float size was truncated before (a bool is refused)
            if any(isinstance(s, (bool, np.bool_)) for s in sizes):
                raise TypeError
            out = tuple(operator.index(s) for s in sizes)
        except TypeError:
            raise TypeError(
                "interpolate: expected size to be one of int or Tuple[int] or Tuple[int, int] "
                f"or Tuple[int, int, int], but got size with types {[type(s) for s in sizes]}"
            ) from None
        scales: tuple = (None,) * nd
    else:
        scales = tuple(float(s) for s in _per_dim(scale_factor, nd, "scale_factor", input))
        sizes_f = [float(n) * s for n, s in zip(input.shape[2:], scales)]
        if not all(math.isfinite(n) and abs(n) < 2**63 for n in sizes_f):  # PyTorch's error
            raise RuntimeError(
                f"interpolate: scale_factor {scale_factor!r} gives an output size that cannot "
                "be converted to type int64_t without overflow"
            )
        out = tuple(math.floor(n) for n in sizes_f)
        if recompute_scale_factor or mode == "area":  # 'area' always recomputes, as PyTorch
            scales = (None,) * nd
    if mode == "area":
        _check_area_sizes(input, out)
    elif any(n < 1 for n in out) or any(n < 1 for n in input.shape[2:]):
        raise RuntimeError(
            f"interpolate: input and output sizes should be greater than 0, but "
            f"got input {list(input.shape[2:])} output {list(out)}"
        )
    return out, scales


def _check_area_sizes(input: Tensor, out: tuple) -> None:
    """'area' is PyTorch's adaptive average pooling (a length pooled as a 1-row plane): its
    checks, not interpolate's, so an empty output is taken (its backward refuses it) and a
    negative one or an empty 1-D / 2-D input is refused with that op's message."""
    nd = len(out)
    op = "adaptive_avg_pool3d" if nd == 3 else "adaptive_avg_pool2d"
    pooled = (1, *out) if nd == 1 else out
    if min(pooled) < 0:
        raise RuntimeError(
            f"{op}: elements of output_size must be greater than or equal to 0 but received "
            f"{{{', '.join(map(str, pooled))}}}"
        )
    shape = list(input.shape)
    planes = shape[:2] + [1] + shape[2:] if nd == 1 else shape
    if nd < 3 and 0 in planes[2:]:
        dim = 2 + planes[2:].index(0)
        raise RuntimeError(
            f"{op}(): Expected input to have non-zero size for non-batch dimensions, but input "
            f"has sizes {planes} with dimension {dim} being empty"
        )


def _opdtype(x: Tensor) -> type:
    return np.float64 if x.dtype == np.float64 else np.float32


def _coord_scale(n_in: int, n_out: int, align_corners: bool, scale: float | None, op: type) -> Any:
    """PyTorch's area_pixel_compute_scale: source step per output step."""
    if align_corners:
        return op(n_in - 1) / op(n_out - 1) if n_out > 1 else op(0)
    if scale is not None and scale > 0:
        return op(1.0 / scale)
    return op(n_in) / op(n_out)


def _source_coords(
    n_in: int, n_out: int, align_corners: bool, scale: float | None, op: type, cubic: bool
) -> np.ndarray:
    s = _coord_scale(n_in, n_out, align_corners, scale, op)
    dst = np.arange(n_out, dtype=op)
    if align_corners:
        return s * dst
    src = s * (dst + op(0.5)) - op(0.5)
    return src if cubic else np.maximum(src, op(0))


def _floor_and_frac(src: np.ndarray, n_in: int, op: type) -> tuple[np.ndarray, np.ndarray]:
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    t = np.clip(src - i0.astype(op), op(0), op(1))
    return i0, t


def _linear_taps(
    n_in: int, n_out: int, align_corners: bool, scale: float | None, op: type
) -> tuple[np.ndarray, np.ndarray]:
    """Each output's two source indices and weights (n_out, 2), as PyTorch's linear kernels.

    An axis kept at its size reads one source twice (weights 1 and 0), as PyTorch does: there
    an inf input gives NaN (inf * 1 + inf * 0) and its neighbours stay finite."""
    if n_in == n_out:
        idx = np.repeat(np.arange(n_in)[:, None], 2, axis=1)
        return idx, np.stack([np.ones(n_in, op), np.zeros(n_in, op)], axis=1)
    src = _source_coords(n_in, n_out, align_corners, scale, op, cubic=False)
    i0, t = _floor_and_frac(src, n_in, op)
    i1 = i0 + (i0 < n_in - 1)
    return np.stack([i0, i1], axis=1), np.stack([op(1) - t, t], axis=1)


def _cubic_coeffs(t: np.ndarray, op: type) -> list[np.ndarray]:
    a = op(_CUBIC_A)

    def near(x):  # |x| <= 1
        return ((a + op(2)) * x - (a + op(3))) * x * x + op(1)

    def far(x):  # 1 < |x| < 2
        return ((a * x - op(5) * a) * x + op(8) * a) * x - op(4) * a

    return [far(t + op(1)), near(t), near(op(1) - t), far(op(2) - t)]


def _cubic_taps(
    n_in: int, n_out: int, align_corners: bool, scale: float | None, op: type
) -> tuple[np.ndarray, np.ndarray]:
    """Each output's four source indices (clamped at the border) and Keys weights (n_out, 4)."""
    src = _source_coords(n_in, n_out, align_corners, scale, op, cubic=True)
    i0, t = _floor_and_frac(src, n_in, op)
    idx = np.stack([np.clip(i0 + j - 1, 0, n_in - 1) for j in range(4)], axis=1)
    return idx, np.stack(_cubic_coeffs(t, op), axis=1)


def _aa_filter(x: np.ndarray, cubic: bool) -> np.ndarray:
    """PIL's filters, as PyTorch's antialias path: triangle, or Keys cubic with A = -0.5."""
    x = np.abs(x)
    if not cubic:
        return np.where(x < 1, 1 - x, 0.0)
    a = -0.5
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _windows(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-output input ranges ``[lo, hi)`` as (n_out, k) tap indices, the shorter windows
    padded with absent taps (index -1, see ops/interp_taps.py), and the mask of real taps."""
    idx = lo[:, None] + np.arange(max(int((hi - lo).max()), 1))
    present = idx < hi[:, None]
    return np.where(present, idx, -1), present


def _antialias_taps(
    n_in: int, n_out: int, align_corners: bool, scale: float | None, cubic: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Antialiased resize: when shrinking, the filter is stretched by the scale so every input
    pixel contributes (no aliasing); each window is normalised to sum to one. A window holds
    every input of its range, zero weights included, as PyTorch's (and PIL's) kernel reads
    them: an inf there gives NaN (0 * inf) in PyTorch too."""
    s = float(_coord_scale(n_in, n_out, align_corners, scale, np.float64))
    support = (4 if cubic else 2) * 0.5 * max(s, 1.0)
    inv = 1.0 / s if s >= 1.0 else 1.0
    center = s * (np.arange(n_out) + 0.5)
    lo = np.maximum(np.trunc(center - support + 0.5).astype(np.int64), 0)
    hi = np.minimum(np.trunc(center + support + 0.5).astype(np.int64), n_in)
    idx, present = _windows(lo, hi)
    taps = np.where(present, _aa_filter((idx - center[:, None] + 0.5) * inv, cubic), 0.0)
    total = taps.sum(axis=1, keepdims=True)
    return idx, taps / np.where(total != 0, total, 1.0)


def _is_identity(idx: np.ndarray, wts: np.ndarray, n_in: int) -> bool:
    """Whether the taps copy the axis unchanged (every output reads its own input with weight
    1 and the rest with weight 0): PyTorch skips such an axis, so no 0 * inf arises there."""
    if idx.shape[0] != n_in:
        return False
    own = idx == np.arange(n_in)[:, None]
    return bool(np.all(np.where(own, wts == 1, wts == 0)))


def _nearest_index(
    n_in: int, n_out: int, scale: float | None, op: type, exact: bool, two_d: bool = False
) -> np.ndarray:
    if two_d and not exact and n_out in (n_in, 2 * n_in):
        # PyTorch's 2-D 'nearest' kernel (forward and backward) copies when the output size
        # equals the input's and halves the index when it doubles, whatever scale_factor
        # says (scale_factor=1.2 on 4 rows keeps all 4; 2.08 on 3 gives rows 0,0,1,1,2,2)
        return np.arange(n_out, dtype=np.int64) // (n_out // n_in)
    s = _coord_scale(n_in, n_out, False, scale, op)
    dst = np.arange(n_out, dtype=op)
    src = s * (dst + op(0.5)) if exact else s * dst
    return np.minimum(np.floor(src).astype(np.int64), n_in - 1)


def _resize_nearest(x: Tensor, out_sz: tuple, scales: tuple, exact: bool) -> Tensor:
    """Every spatial dim at once, as one ``UpsampleNearest...`` node (ops/upsample_nearest.py)."""
    op = _opdtype(x)
    idx = tuple(
        _nearest_index(n_in, n_out, sc, op, exact, len(out_sz) == 2)
        for n_in, n_out, sc in zip(x.shape[2:], out_sz, scales)
    )
    return UpsampleNearest.apply(x, NearestPlan(idx, tuple(x.shape[2:]), exact))


def _check_args(input: Any, mode: str, align_corners: bool | None, antialias: bool) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: expected input to be a Tensor, got {type(input).__name__}")
    if mode not in _MODES:
        raise NotImplementedError(
            f"interpolate: mode={mode!r} is not supported; valid modes: {', '.join(_MODES)}"
        )
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        raise ValueError(
            "interpolate: align_corners option can only be set with the "
            "interpolating modes: linear | bilinear | bicubic | trilinear"
        )
    if align_corners is not None and type(align_corners) is not bool:  # PyTorch's parser
        bad_bool("interpolate", "align_corners", align_corners)
    if antialias and (mode not in ("bilinear", "bicubic") or input.ndim != 4):
        raise ValueError(
            f"interpolate: anti-alias option is restricted to bilinear and "
            f"bicubic modes and requires a 4-D tensor as input, got mode={mode!r} "
            f"and a {input.ndim}-D input"
        )
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(
            f"interpolate: input Error: Only 3D, 4D and 5D input Tensors "
            f"supported (got {input.ndim}D) for the modes: "
            f"{' | '.join(_MODES)} (got {mode})"
        )


def _check_mode(input: Tensor, mode: str, out_sz: Any) -> None:
    """The mode's rank and dtype (checked after the size ``out_sz``, in PyTorch's order)."""
    want = _MODE_DIMS.get(mode)
    if want is not None and input.ndim - 2 != want:
        raise NotImplementedError(
            f"interpolate: got {input.ndim}D input, but {mode} mode needs {want + 2}D input"
        )
    kind = input._data.dtype.kind
    if mode in ("nearest", "nearest-exact") and (
        kind in "bc" or kind in "iu" and input.dtype != np.uint8
    ):
        raise DtypeError(  # PyTorch 2.13's CPU kernels: NotImplementedError (not for 'Long')
            f"interpolate: mode={mode!r} is not implemented for {input.dtype} input; the "
            "nearest modes take floating-point or uint8 tensors"
        )
    if _uint8_resampled(input, mode):
        return
    if mode == "area" and kind == "c" and all(int(o) == 1 for o in out_sz):
        return  # PyTorch's adaptive average pooling to one element: a mean, complex too
    if mode not in ("nearest", "nearest-exact") and not input.is_floating_point():
        raise DtypeError(
            f"interpolate: mode={mode!r} needs a floating-point input, got "
            f"{input.dtype}; convert with .float() first"
        )


def _uint8_resampled(input: Tensor, mode: str) -> bool:
    """Whether PyTorch's CPU uint8 resampler takes this call: bilinear / bicubic on 4-D
    uint8 input (antialiased or not)."""
    return input.dtype == np.uint8 and mode in ("bilinear", "bicubic") and input.ndim == 4


def _int_weights(idx: np.ndarray, wts: np.ndarray, n_in: int) -> tuple[np.ndarray, int]:
    """The (n_out, n_in) tap matrix in fixed point, as PyTorch's uint8 kernels hold it: taps
    that read the same (border-clamped) input merged into one weight, every weight rounded
    to ``round(w * 2**p)`` (int16), with the largest precision ``p <= 22`` that keeps the
    largest merged weight inside int16."""
    rows = np.repeat(np.arange(idx.shape[0])[:, None], idx.shape[1], axis=1)
    real = idx >= 0  # antialias windows pad with absent taps (index -1)
    dense = np.zeros((idx.shape[0], n_in))
    np.add.at(dense, (rows[real], idx[real]), np.asarray(wts, dtype=np.float64)[real])
    top = float(np.abs(dense).max()) if dense.size else 0.0
    p = 0
    while p < 22 and round(top * (1 << (p + 1))) < (1 << 15):
        p += 1
    return np.floor(dense * (1 << p) + 0.5).astype(np.int64), p


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
    _refuse_tensor_scale(input, mode, scale_factor, recompute_scale_factor, antialias)
    out_sz, scales = _geometry(input, size, scale_factor, mode, recompute_scale_factor)
    _check_mode(input, mode, out_sz)
    ac = bool(align_corners)
    op = _opdtype(input)
    out = input
    if mode in ("nearest", "nearest-exact"):  # grad_fn._saved_* as PyTorch's (given)
        out = _resize_nearest(input, out_sz, scales, mode == "nearest-exact")
        return given(out, output_size=out_sz, scales=scales)
    if mode == "area":  # recorded as PyTorch's adaptive average pooling (ops/area_interpolation)
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


_KERNEL_STEMS = {
    "nearest": "upsample_nearest",
    "nearest-exact": "_upsample_nearest_exact",
    "linear": "upsample_linear",
    "bilinear": "upsample_bilinear",
    "bicubic": "upsample_bicubic",
    "trilinear": "upsample_trilinear",
}


def _refuse_tensor_scale(
    input: Any, mode: str, scale_factor: Any, recompute: Any, antialias: bool
) -> None:  # noqa: A002
    """PyTorch's TypeError for a tensor ``scale_factor`` (or tensors in a sequence) where
    its upsampling kernel receives it as is: every mode but 'area' (adaptive pooling) unless
    ``recompute_scale_factor`` turns it into an output size first."""
    items = scale_factor if isinstance(scale_factor, (list, tuple)) else (scale_factor,)
    if mode == "area" or recompute or not any(isinstance(v, Tensor) for v in items):
        return
    stem = _KERNEL_STEMS.get(mode)
    if stem is None or not isinstance(input, Tensor) or input.ndim not in (3, 4, 5):
        return  # the mode's own error
    kernel = f"{stem}{input.ndim - 2}d{'_aa' if antialias else ''}"
    kernel = "_" + kernel if antialias and not kernel.startswith("_") else kernel
    kind = "tuple" if isinstance(scale_factor, tuple) else "list"
    got = "Tensor, NoneType, " + ("" if mode.startswith("nearest") else "bool, ") + kind
    raise TypeError(
        f"{kernel}() received an invalid combination of arguments - got ({got}), but "
        "expected one of: (Tensor input, tuple of ints output_size, tuple of floats "
        "scale_factors) - a scale_factor of numbers (a tensor one only with mode='area' or "
        "recompute_scale_factor=True)"
    )


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
