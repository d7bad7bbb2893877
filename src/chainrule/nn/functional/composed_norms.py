"""``normalize`` and ``rms_norm``, as in ``torch.nn.functional``: the norms composed from
ops rather than run as one fused node.

``normalize`` divides by the clamped p-norm along a dim (PyTorch's ``ClampMinBackward0`` then
``ExpandBackward0`` in the graph); ``rms_norm`` scales by the reciprocal root mean square over
the trailing ``normalized_shape`` dims, so double backward and forward mode come from the
ops it is built of. The checks and dtype rules they share with the other norms are
``_norm_shared.py``'s; ``normalization.py`` re-exports both under their old import path.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from numpy import finfo

from ..._user_warnings import warn_once
from ...autograd.tensor import Tensor
from ...dtypes import is_bfloat16, is_floating
from ...ops._util import NAMED_ERRORS, DtypeError, ShapeError, lead_with
from ...ops.keywords import write_out
from ...ops.margin_losses import clamp_min_number
from ...ops.reduction import norm
from ._arg_types import as_float
from ._norm_shared import _input_dtype, _is_half, _normalized_shape, _suggested

__all__ = ["normalize", "rms_norm"]


def _eps(dtype: Any) -> float:
    """The machine epsilon of a floating dtype, bfloat16's (2⁻⁷) included."""
    return 2.0**-7 if is_bfloat16(dtype) else float(finfo(dtype).eps)


def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None
) -> Tensor:
    """x / max(‖x‖_p, eps) along ``dim`` (written into ``out`` when given, as PyTorch)."""
    try:
        n = norm(input, p, dim, keepdim=True)
    except NAMED_ERRORS as err:
        lead_with("normalize", err)
        raise
    # PyTorch's input / norm.clamp_min(eps).expand_as(input): ClampMinBackward0, then
    # ExpandBackward0 (the clamp a plain one for a complex norm's real result)
    denom = clamp_min_number(n, eps) if n.dtype.kind in "fV" else n.clamp(eps, None)
    result = input / denom.expand_as(input)
    return result if out is None else write_out("normalize", result, out)


def rms_norm(
    input: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """y = x / √(mean(x²) + ε) · γ over the trailing ``normalized_shape`` dims (RMSNorm).

    Composed from primitives (square, mean, rsqrt), so double backward and forward mode come
    for free. ``eps=None`` uses the machine epsilon of the dtype computed in (the input's;
    float32 for float16 and bfloat16), as PyTorch.
    """
    shape = _normalized_shape("rms_norm", normalized_shape)
    k = len(shape)
    if input.ndim < k:  # PyTorch's ValueError (a ShapeError is one, and a RuntimeError)
        raise ShapeError(
            f"rms_norm: Input tensor must have at least {k} dimensions, but got {input.ndim}"
        )
    if k == 0 or tuple(input.shape[-k:]) != shape:
        raise RuntimeError(
            f"rms_norm: given normalized_shape={list(shape)}, expected an input "
            f"with shape [*, {', '.join(map(str, shape))}], but got input of "
            f"size {list(input.shape)}"
        )
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(f"rms_norm: weight must have shape {shape}, got {tuple(weight.shape)}")
    if not (is_floating(input.dtype) or input.dtype.kind == "c"):
        # complex too: PyTorch's composite runs as written, with x.pow(2) (not |x|^2)
        raise DtypeError(f"rms_norm: expected a floating-point input, got {input.dtype}")
    dims = tuple(range(input.ndim - k, input.ndim))
    # float16 and bfloat16 are normalised in float32, rounded once at the end (PyTorch)
    x = input.float() if _is_half(input.dtype) else input
    # eps=None is the epsilon of the dtype computed in: float32's for a half input, as
    # PyTorch (the half dtype's own, 2^-10 or 2^-7, would swamp a small mean square)
    e = _eps(x.dtype) if eps is None else as_float("rms_norm", "eps", eps, 4)
    # x.pow(2), as PyTorch's composite (one PowBackward0: x's two gradients summed once,
    # so x.grad's version is PyTorch's 1, not the 2 of x * x's two)
    y = x * (x.pow(2).mean(dims, keepdim=True) + e).rsqrt()
    if weight is None:
        return _suggested(_input_dtype(y, input), input)
    if weight.dtype.kind == "c" and input.dtype.kind != "c":
        # PyTorch multiplies by the complex weight, then casts back to the real input's
        # dtype with a warning: Re(y * w) = y * Re(w) for a real y
        warnings.warn(
            "rms_norm: casting complex values to real discards the imaginary part (a complex "
            "weight with a real input gives a result in the input's dtype, as PyTorch)",
            UserWarning,
            stacklevel=2,
        )
        weight = weight.real
    if weight.dtype != input.dtype:  # PyTorch's TORCH_WARN_ONCE, then the composite path
        names = {
            "float32": "float",
            "float64": "double",
            "float16": "c10::Half",
            "bfloat16": "c10::BFloat16",
        }
        a, b = (
            names.get(str(t).split(".")[-1], str(t).split(".")[-1])
            for t in (input.dtype, weight.dtype)
        )
        warn_once(
            "rms_norm_mismatch_dtype",
            f"Mismatch dtype between input and weight: input dtype = {a}, weight dtype = {b}, "
            "Cannot dispatch to fused implementation.",
        )
    # PyTorch keeps the input's dtype whatever the weight's: it does not promote
    return _suggested(_input_dtype(y * weight, input), input)
