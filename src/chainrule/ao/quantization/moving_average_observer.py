"""Moving-average observers (``torch.ao.quantization.MovingAverageMinMaxObserver``,
``MovingAveragePerChannelMinMaxObserver``): what quantization-aware training's fake
quantizers watch. The first batch sets the range; each later batch moves it a fraction
``averaging_constant`` of the way to its own min and max, in float32:
``min += float32(c) * (batch_min - min)`` (likewise ``max``), so the qparams follow the
activations as the weights train instead of keeping the widest range ever seen.
``calculate_qparams`` is the min/max observers' (:mod:`.observer`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...qtypes import per_channel_affine, per_tensor_affine, quint8
from .observer import _EPS, MinMaxObserver, PerChannelMinMaxObserver

__all__ = ["MovingAverageMinMaxObserver", "MovingAveragePerChannelMinMaxObserver"]

_F32 = np.float32


def moving_average(running: np.ndarray, batch: np.ndarray, c: float) -> np.ndarray:
    """``running + float32(c) * (batch - running)`` in float32."""
    with np.errstate(all="ignore"):
        return (running + (_F32(c) * (batch - running).astype(_F32)).astype(_F32)).astype(_F32)


class MovingAverageMinMaxObserver(MinMaxObserver):
    """A per-tensor range that follows the batches (see the module docstring)."""

    def __init__(
        self,
        averaging_constant: float = 0.01,
        dtype: Any = quint8,
        qscheme: Any = per_tensor_affine,
        reduce_range: bool = False,
        quant_min: int | None = None,
        quant_max: int | None = None,
        eps: float = _EPS,
        is_dynamic: bool = False,
        **kwargs: Any,
    ) -> None:
        if is_dynamic:
            raise NotImplementedError(
                "MovingAverageMinMaxObserver doesn't support dynamic quantization for "
                "averaging constant of 0.01"
            )
        super().__init__(
            dtype=dtype, qscheme=qscheme, reduce_range=reduce_range, quant_min=quant_min,
            quant_max=quant_max, eps=eps, is_dynamic=is_dynamic, **kwargs,
        )  # fmt: skip
        self.averaging_constant = averaging_constant

    def forward(self, x_orig: Tensor) -> Tensor:
        if x_orig.numel() == 0:
            return x_orig
        x = np.asarray(x_orig.detach()._data, _F32)
        lo, hi = _F32(x.min()), _F32(x.max())
        run_lo, run_hi = self.min_val._data, self.max_val._data
        if run_lo == np.inf and run_hi == -np.inf:
            new_lo, new_hi = lo, hi
        else:
            new_lo = moving_average(run_lo, lo, self.averaging_constant)
            new_hi = moving_average(run_hi, hi, self.averaging_constant)
        self.min_val._data = np.asarray(new_lo, _F32)
        self.max_val._data = np.asarray(new_hi, _F32)
        return x_orig


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """A range per index of ``ch_axis`` that follows the batches."""

    def __init__(
        self,
        averaging_constant: float = 0.01,
        ch_axis: int = 0,
        dtype: Any = quint8,
        qscheme: Any = per_channel_affine,
        reduce_range: bool = False,
        quant_min: int | None = None,
        quant_max: int | None = None,
        eps: float = _EPS,
        is_dynamic: bool = False,
        **kwargs: Any,
    ) -> None:
        if is_dynamic:
            raise NotImplementedError(
                "MovingAveragePerChannelMinMaxObserver doesn't support dynamic quantization for "
                "averaging constant of 0.01"
            )
        super().__init__(
            ch_axis=ch_axis, dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
            quant_min=quant_min, quant_max=quant_max, eps=eps, is_dynamic=is_dynamic, **kwargs,
        )  # fmt: skip
        self.averaging_constant = averaging_constant

    def forward(self, x_orig: Tensor) -> Tensor:
        if x_orig.numel() == 0:
            return x_orig
        x = np.asarray(x_orig.detach()._data, _F32)
        x = np.moveaxis(x, self.ch_axis, 0).reshape(x.shape[self.ch_axis], -1)
        lo, hi = x.min(axis=1).astype(_F32), x.max(axis=1).astype(_F32)
        if self.min_val._data.size:
            lo = moving_average(self.min_val._data, lo, self.averaging_constant)
            hi = moving_average(self.max_val._data, hi, self.averaging_constant)
        self.min_val._data = lo
        self.max_val._data = hi
        return x_orig
