"""``F.interpolate``'s argument checks, in PyTorch's order and with its errors: the mode,
``align_corners`` and ``antialias`` against the input's rank (``_check_args``), a tensor
``scale_factor`` where PyTorch's kernel refuses it (``_refuse_tensor_scale``), the output
size from ``size`` or ``scale_factor`` (``_geometry``; 'area' checked as the adaptive
average pooling it is), then the mode's rank and dtype (``_check_mode``).

Split from ``interpolate.py`` (session 38), which calls these before resizing.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...ops._tensor_args import torch_type_name
from ...ops._util import DtypeError
from ...ops.invalid_arguments import format_invalid_args
from ...ops.number_arguments import is_parser_int
from ._arg_types import bad_bool

__all__: list[str] = []  # helpers of interpolate.py; the functional API is there

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _per_dim(value: Any, nd: int, what: str, input: Tensor) -> list:
    """``size`` or ``scale_factor`` (``what``) as one value per spatial dim, after PyTorch's
    length check of a sequence (its ValueError, which prints the sequence as given)."""
    if not isinstance(value, (list, tuple)):
        return [value] * nd  # a list, as PyTorch passes it to its kernel
    if len(value) != nd:
        head, shown, form = (
            ("output", "output size of", "output size in (o1, o2, ...,oK)")
            if what == "size"
            else ("scale_factor", "scale_factor of shape", "scale_factor in (s1, s2, ...,sK)")
        )
        raise ValueError(
            f"Input and {head} must have the same number of spatial dimensions, but got input "
            f"with spatial dimensions of {list(input.shape[2:])} and {shown} {value}. Please "
            f"provide input tensor in (N, C, d1, d2, ...,dK) format and {form} format."
        )
    return value


def _is_integer(value: Any) -> bool:
    """PyTorch's ``_is_integer`` test of a ``size`` element: an int (a bool too), a NumPy
    integer or a tensor that is not floating point."""
    if isinstance(value, Tensor):
        return not value.is_floating_point()
    return isinstance(value, (int, np.integer))


def _geometry(
    input: Tensor,
    size: Any,
    scale_factor: Any,
    mode: str,
    recompute_scale_factor: bool | None,
    align_corners: bool | None,
    antialias: bool,
) -> tuple[tuple, tuple]:
    """Output spatial size and the scale factors used for the coordinate mapping (or None),
    with PyTorch's errors in its order: one of ``size`` / ``scale_factor``, a sequence's
    length, a size sequence's element types, ``recompute_scale_factor``, ``antialias``, then
    what its kernel's parser refuses (``_refuse_kernel_types``)."""
    nd = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None:
        sizes = _per_dim(size, nd, "size", input)
        if isinstance(size, (list, tuple)) and not all(_is_integer(s) for s in sizes):
            raise TypeError(
                "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                f"Tuple[int, int, int], but got size with types {[type(s) for s in sizes]}"
            )
    else:
        factors = _per_dim(scale_factor, nd, "scale_factor", input)
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    _check_antialias(input, mode, antialias)
    recomputed = scale_factor is not None and (bool(recompute_scale_factor) or mode == "area")
    if size is not None:
        _refuse_kernel_types(input, mode, sizes, None, align_corners, antialias)
        _check_rank(input, mode)
        out = tuple(int(s) for s in sizes)  # (PyTorch's parser: a bool after the first as 1)
        scales: tuple = (None,) * nd
    else:
        if not recomputed:
            _refuse_kernel_types(input, mode, None, factors, align_corners, antialias)
        scales = tuple(float(s) for s in factors)
        sizes_f = [float(n) * s for n, s in zip(input.shape[2:], scales)]
        if not all(math.isfinite(n) and abs(n) < 2**63 for n in sizes_f):  # PyTorch's error
            raise RuntimeError(
                f"interpolate: scale_factor {scale_factor!r} gives an output size that cannot "
                "be converted to type int64_t without overflow"
            )
        out = tuple(math.floor(n) for n in sizes_f)
        if recomputed:  # 'area' always recomputes, as PyTorch
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
            "align_corners option can only be set with the "
            "interpolating modes: linear | bilinear | bicubic | trilinear"
        )
    if align_corners is not None and type(align_corners) is not bool:  # PyTorch's parser
        bad_bool("interpolate", "align_corners", align_corners)
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
            f"nearest-exact (got {mode})"
        )


def _check_antialias(input: Tensor, mode: str, antialias: bool) -> None:
    """PyTorch's ValueError for ``antialias=True`` off its modes and rank (checked after the
    size, before the kernel)."""
    if antialias and (mode not in ("bilinear", "bicubic") or input.ndim != 4):
        raise ValueError(
            "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and "
            "requires a 4-D tensor as input"
        )


def _check_rank(input: Tensor, mode: str) -> None:
    """PyTorch's NotImplementedError for a mode that does not fit the input's rank (no
    kernel is called, so the size's own type is not checked)."""
    want = _MODE_DIMS.get(mode)
    if want is not None and input.ndim - 2 != want:
        raise NotImplementedError(
            f"Got {input.ndim}D input, but {mode} mode needs {want + 2}D input"
        )


def _check_mode(input: Tensor, mode: str, out_sz: Any) -> None:
    """The mode's rank and dtype (checked after the size ``out_sz``, in PyTorch's order)."""
    _check_rank(input, mode)
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


_SCALES = {1: "float scales = None", 2: "float scales_h = None, float scales_w = None"}
_SCALES[3] = "float scales_d = None, " + _SCALES[2]


def _is_float(value: Any) -> bool:
    """Whether PyTorch's parser reads ``value`` as a float (a real number, a NumPy one)."""
    return isinstance(value, (Real, np.number, np.bool_)) and not isinstance(value, Tensor)


def _refuse_kernel_types(
    input: Tensor,
    mode: str,
    output_size: Any,
    scale_factors: Any,
    align_corners: bool | None,
    antialias: bool,
) -> None:  # noqa: A002
    """PyTorch's TypeErrors where the kernel ``F.interpolate`` calls refuses its arguments:
    ``output_size`` or ``scale_factors`` (a list or tuple, the other None) whose first
    element is no int / no float fits none of the kernel's overloads ("invalid combination",
    ``upsample_nearest1d``); a later scale factor that is no number is the parser's
    "tuple of floats" error; 'area' is adaptive average pooling, whose ``output_size``
    parser refuses a first element that is no int. Where the mode does not fit the input's
    rank no kernel is called: the mode's own error follows."""
    nd = input.ndim - 2
    if mode == "area":
        first = output_size[0] if output_size is not None else 0
        if not is_parser_int(first):
            raise TypeError(
                f"adaptive_avg_pool{nd}d(): argument 'output_size' (position 2) must be tuple "
                f"of ints, but found element of type {torch_type_name(first)} at pos 0"
            )
        return
    if _MODE_DIMS.get(mode, nd) != nd or mode not in _KERNEL_STEMS:
        return
    kernel = f"{_KERNEL_STEMS[mode]}{nd}d"
    if antialias:
        kernel = f"_{kernel}_aa"
    if output_size is not None:
        if is_parser_int(output_size[0]):
            return
    elif _is_float(scale_factors[0]):
        for i, s in enumerate(scale_factors[1:], start=2):
            if not _is_float(s) and not isinstance(s, Tensor):
                raise TypeError(
                    f"{kernel}(): argument 'scale_factors' must be tuple of floats, but found "
                    f"element of type {torch_type_name(s)} at pos {i}"
                )
        return
    nearest = mode.startswith("nearest")
    corners = "" if nearest else "bool align_corners, "
    args = [input, output_size] + ([] if nearest else [bool(align_corners)]) + [scale_factors]
    options = (
        f"(Tensor input, tuple of ints output_size, {corners}tuple of floats scale_factors)",
        f"(Tensor input, tuple of ints output_size, {corners}{_SCALES[nd]}, *, Tensor out = None)",
    )
    raise TypeError(format_invalid_args(kernel, args, [], options))
