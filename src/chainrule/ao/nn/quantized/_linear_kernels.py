"""The arithmetic of PyTorch's dynamically quantized linear layer (x86/fbgemm engine), found
by experiment against torch so that outputs agree bit for bit.

Per call, the float32 activation ``x`` is quantized to quint8 with a reduced range
``[0, 127]`` (``reduce_range``: the x86 kernels keep 8-bit products from saturating their
16-bit sums): over ``lo = min(min(x), 0)`` and ``hi = max(max(x), 0)``,
``scale = float32((hi - lo) / 127)`` computed in float64 (0.1 when that is 0 or its
reciprocal overflows), and the zero point is ``-lo / scale`` or ``127 - hi / scale``
(whichever end loses less; rounded half to even, clamped). ``x`` is quantized with those
(:func:`~chainrule.quantized_kernels.quantize_per_tensor_array`), the integer products summed
exactly, and the output is ``fma(acc, float32(x_scale * w_scale), bias)`` in float32.
"""

from __future__ import annotations

import numpy as np

from ....qtypes import quint8
from ....quantized_kernels import quantize_per_tensor_array

__all__ = ["choose_activation_qparams", "linear_dynamic_array"]

_F32 = np.float32
_QMIN, _QMAX = 0, 127


def choose_activation_qparams(x: np.ndarray) -> tuple[float, int]:
    """The scale and zero point a dynamic quantized op gives its float32 input ``x``."""
    lo = min(float(x.min()), 0.0) if x.size else 0.0
    hi = max(float(x.max()), 0.0) if x.size else 0.0
    scale = float(_F32((hi - lo) / (_QMAX - _QMIN)))
    with np.errstate(all="ignore"):
        if scale == 0.0 or np.isinf(_F32(1) / _F32(scale)):
            scale = float(_F32(0.1))
    from_min = _QMIN - lo / scale
    from_max = _QMAX - hi / scale
    err_min = abs(_QMIN) - abs(lo / scale)
    err_max = abs(_QMAX) - abs(hi / scale)
    initial = from_min if err_min < err_max else from_max
    if initial < _QMIN:
        zero_point = _QMIN
    elif initial > _QMAX:
        zero_point = _QMAX
    else:
        zero_point = int(np.rint(initial))
    return scale, zero_point


def linear_dynamic_array(
    x: np.ndarray,
    w_int: np.ndarray,
    w_scale: np.ndarray | float,
    w_zero_point: np.ndarray | int,
    bias: np.ndarray | None,
) -> np.ndarray:
    """``x @ W.T + bias`` with ``W`` quantized (int8 rows ``w_int``, one scale/zero point or
    one per output row) and ``x`` quantized per call, as PyTorch's ``linear_dynamic``."""
    scale, zp = choose_activation_qparams(x)
    xq = quantize_per_tensor_array(x, scale, zp, quint8).astype(np.float64) - zp
    w = w_int.astype(np.float64) - np.asarray(w_zero_point, np.float64).reshape(-1, 1)
    # small integers: their products and sums are exact in float64 (BLAS, not an int loop)
    acc = xq.reshape(-1, x.shape[-1]) @ w.T
    mult = (np.float64(scale) * np.asarray(w_scale, np.float64)).astype(_F32)
    out = acc * mult.astype(np.float64)
    if bias is not None:
        out = out + bias.astype(np.float64)
    return out.astype(_F32).reshape(*x.shape[:-1], w_int.shape[0])
