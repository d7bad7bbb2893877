"""``F.interpolate``'s argument checks, in PyTorch's order and with its errors: the mode,
``align_corners`` and ``antialias`` against the input's rank (``_check_args``), a tensor
``scale_factor`` where PyTorch's kernel refuses it (``_refuse_tensor_scale``), the output
size from ``size`` or ``scale_factor`` (``_geometry``; 'area' checked as the adaptive
average pooling it is), then the mode's rank and dtype (``_check_mode``).

Split from ``interpolate.py`` (session 38), which calls these before resizing.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...ops._util import DtypeError
from ._arg_types import bad_bool, scale_factors

__all__: list[str] = []  # helpers of interpolate.py; the functional API is there

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


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
    if mode == "area" and input.ndim < 5 and any(int(o) == 0 for o in out_sz):
        return  # an empty result: PyTorch's 1-d/2-d pooling returns before its dtype dispatch
    if mode not in ("nearest", "nearest-exact") and not input.is_floating_point():
        raise DtypeError(
            f"interpolate: mode={mode!r} needs a floating-point input, got "
            f"{input.dtype}; convert with .float() first"
        )


def _uint8_resampled(input: Tensor, mode: str) -> bool:
    """Whether PyTorch's CPU uint8 resampler takes this call: bilinear / bicubic on 4-D
    uint8 input (antialiased or not)."""
    return input.dtype == np.uint8 and mode in ("bilinear", "bicubic") and input.ndim == 4


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
