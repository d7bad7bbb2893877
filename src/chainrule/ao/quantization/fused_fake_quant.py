"""``fused_moving_avg_obs_fake_quant`` (``torch.fused_moving_avg_obs_fake_quant``): one step
of the fake quantizer PyTorch's default QAT qconfigs use (``FusedMovingAvgObsFakeQuantize``):
update the running min/max by a moving average, choose the qparams from them, fake-quantize.

Its qparams are not the observers' ``calculate_qparams`` (which ``convert`` still uses) but
those of torch's C++ ``choose_qparams``, found to agree bit for bit by experiment:

- with ``symmetric`` and a range across 0, the range is made symmetric on the integer grid
  first: ``s = max(|min| / (h + 1), max / h)`` with ``h = (qmax - qmin) // 2``, then
  ``min = -(h + 1) s``, ``max = h s``;
- ``min = min(min, 0)``, ``max = max(max, 0)``, ``scale = (max - min) / (qmax - qmin)`` in
  float64 (0.1 when it is 0 in float32 or its float32 inverse overflows), kept as float32;
- the zero point is ``qmin - min / scale`` or ``qmax - max / scale``, whichever end's
  integer is further from 0 (the middle ``(qmin + qmax) / 2`` in the symmetric case),
  rounded half to even and clamped to ``[qmin, qmax]``.

The qparams are recomputed on every call (from the running range, which only moves while
the observer is enabled) and written into the ``scale``/``zero_point`` buffers.
"""

from __future__ import annotations

import numpy as np

from ...autograd.tensor import Tensor
from ...ops.fake_quantize import FusedMovingAvgObsFq
from .moving_average_observer import moving_average

__all__ = ["choose_qparams_fused", "fused_moving_avg_obs_fake_quant"]

_F32 = np.float32


def choose_qparams_fused(
    lo: float, hi: float, qmin: int, qmax: int, symmetric: bool
) -> tuple[np.float32, int]:
    """The (float32 scale, zero point) torch's fused op chooses for the range ``[lo, hi]``."""
    lo, hi = float(lo), float(hi)
    across = lo < 0 < hi
    if symmetric and across:
        half = (qmax - qmin) // 2
        s = max(abs(lo / -(half + 1)), abs(hi / half))
        lo, hi = s * -(half + 1), s * half
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / (qmax - qmin)
    with np.errstate(all="ignore"):
        if _F32(scale) == 0 or np.isinf(_F32(1) / _F32(scale)):
            scale = 0.1
    from_min, from_max = qmin - lo / scale, qmax - hi / scale
    err_min, err_max = abs(qmin) - abs(lo / scale), abs(qmax) - abs(hi / scale)
    zp = from_min if err_min < err_max else from_max
    if symmetric and across:
        zp = (qmin + qmax) / 2
    zp = qmin if zp < qmin else qmax if zp > qmax else int(np.rint(zp))
    return _F32(scale), int(zp)


def _update_range(
    x: np.ndarray, run_min: Tensor, run_max: Tensor, c: float, ch_axis: int, per_channel: bool
) -> None:
    if per_channel:
        rows = np.moveaxis(x, ch_axis, 0).reshape(x.shape[ch_axis], -1)
        lo, hi = rows.min(axis=1).astype(_F32), rows.max(axis=1).astype(_F32)
        if run_min._data.size:
            lo = moving_average(run_min._data, lo, c)
            hi = moving_average(run_max._data, hi, c)
    else:
        lo, hi = _F32(x.min()), _F32(x.max())
        if not (run_min._data == np.inf and run_max._data == -np.inf):
            lo = moving_average(run_min._data, lo, c)
            hi = moving_average(run_max._data, hi, c)
    run_min._data = np.asarray(lo, _F32)
    run_max._data = np.asarray(hi, _F32)


def fused_moving_avg_obs_fake_quant(
    self: Tensor,
    observer_on: Tensor,
    fake_quant_on: Tensor,
    running_min: Tensor,
    running_max: Tensor,
    scale: Tensor,
    zero_point: Tensor,
    averaging_const: float,
    quant_min: int,
    quant_max: int,
    ch_axis: int,
    per_row_fake_quant: bool = False,
    symmetric_quant: bool = False,
) -> Tensor:
    """Observe ``self`` into the running range (when ``observer_on``), choose and store the
    qparams, and fake-quantize ``self`` with them (when ``fake_quant_on``); the buffers
    ``running_min``/``running_max``/``scale``/``zero_point`` are updated in place."""
    x = np.asarray(self.detach()._data, _F32)
    if int(np.asarray(observer_on._data).reshape(-1)[0]) and x.size:
        _update_range(x, running_min, running_max, averaging_const, ch_axis, per_row_fake_quant)
    lo = np.atleast_1d(running_min._data)
    hi = np.atleast_1d(running_max._data)
    pairs = [
        choose_qparams_fused(a, b, quant_min, quant_max, symmetric_quant)
        for a, b in zip(lo, hi, strict=True)
    ]
    scale._data = np.array([p[0] for p in pairs], _F32)
    zero_point._data = np.array([p[1] for p in pairs], np.int32)
    shape = [1] * x.ndim
    if per_row_fake_quant:
        shape[ch_axis] = -1
    s = scale._data.astype(np.float64).reshape(shape)
    z = zero_point._data.astype(np.float64).reshape(shape)
    enabled = bool(int(np.asarray(fake_quant_on._data).reshape(-1)[0]))
    return FusedMovingAvgObsFq.apply(self, s, z, int(quant_min), int(quant_max), enabled)
