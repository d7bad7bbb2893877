"""``HistogramObserver`` (``torch.ao.quantization.observer``): the activation observer of
PyTorch's x86 / fbgemm default qconfig. It keeps a histogram (``bins`` = 2048, float32
counts) of everything it saw over ``[min_val, max_val]`` and chooses the quantization range
that minimizes the L2 error of quantizing that histogram to ``2 ** 8`` levels.

- The first batch is binned over its own range (``histc``: bin ``(x - min) * bins /
  (max - min)`` in float32, the maximum in the last bin).
- A later batch within the range adds to the counts. One that widens the range is binned
  over the new range, and the old histogram is moved into it: each old bin is split into 16
  equal parts whose midpoints are assigned to the new bins (``bucketize``).
- ``calculate_qparams`` walks inwards from both ends, each step moving the end whose next
  cumulative-count quantile (steps of 1e-5) is further, while the quantization error of the
  histogram restricted to ``[start_bin, end_bin]`` does not grow; the kept range then gives
  the scale and zero point as ``MinMaxObserver``'s do.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...creation import tensor as _tensor
from ...creation import zeros
from ...qtypes import per_tensor_affine, quint8
from .observer import _EPS, UniformQuantizationObserverBase

__all__ = ["HistogramObserver"]

_F32 = np.float32
_WARNING_GAP = 36  # the spaces in PyTorch's message (its source line's indentation)


def _histc(x: np.ndarray, bins: int, lo: np.float32, hi: np.float32) -> np.ndarray:
    """``torch.histc`` of float32 ``x`` over ``[lo, hi]`` (float32 counts)."""
    if lo == hi:
        lo, hi = _F32(lo - 1), _F32(hi + 1)
    keep = (x >= lo) & (x <= hi)
    v = x[keep]
    with np.errstate(all="ignore"):
        pos = ((v - lo) * _F32(bins) / (hi - lo)).astype(_F32)
    idx = np.minimum(pos.astype(np.int64), bins - 1)
    return np.bincount(idx, minlength=bins).astype(_F32)


def _linspace(start: float, end: float, steps: int) -> np.ndarray:
    """float32 ``torch.linspace``: ``fma(step, i, start)`` up to the middle and
    ``fma(-step, steps - 1 - i, end)`` after it (the float64 products are exact)."""
    start, end = _F32(start), _F32(end)
    step = np.float64(_F32((end - start) / _F32(steps - 1)))
    i = np.arange(steps, dtype=np.float64)
    half = steps // 2
    out = np.where(i < half, np.float64(start) + step * i, np.float64(end) - step * (steps - 1 - i))
    return out.astype(_F32)


class HistogramObserver(UniformQuantizationObserverBase):
    """A histogram of the values seen; qparams that minimize the quantization error."""

    def __init__(
        self,
        bins: int = 2048,
        dtype: Any = quint8,
        qscheme: Any = per_tensor_affine,
        reduce_range: bool = False,
        quant_min: int | None = None,
        quant_max: int | None = None,
        factory_kwargs: Any = None,
        eps: float = _EPS,
        is_dynamic: bool = False,
        **kwargs: Any,
    ) -> None:
        if is_dynamic:
            raise NotImplementedError("HistogramObserver doesn't support dynamic quantization")
        super().__init__(
            dtype, qscheme, reduce_range, quant_min, quant_max, factory_kwargs, eps, is_dynamic,
            **kwargs,
        )  # fmt: skip
        if type(bins) is not int:  # PyTorch's ``torch.zeros(self.bins)``: its parser's error
            zeros(bins)
        self.bins = bins
        self.register_buffer("histogram", _tensor(np.zeros(bins, _F32)))
        self.register_buffer("min_val", _tensor(float("inf"), dtype=np.float32))
        self.register_buffer("max_val", _tensor(float("-inf"), dtype=np.float32))
        self.dst_nbins = 2 ** (8 * dtype.itemsize)
        self.upsample_rate = 16

    # ------------------------------------------------------------------ observing
    def _upscale(self, hist: np.ndarray, lo: float, hi: float, new_lo: float, new_hi: float):
        """The histogram ``hist`` over ``[lo, hi]`` moved onto ``bins`` bins of
        ``[new_lo, new_hi]``."""
        rate = self.upsample_rate
        fine = (np.repeat(hist, rate) / _F32(rate)).astype(_F32)
        bin_size = (hi - lo) / (self.bins * rate)
        mids = (_linspace(lo, hi, self.bins * rate + 1)[:-1] + _F32(0.5 * bin_size)).astype(_F32)
        edges = _linspace(new_lo, new_hi, self.bins + 1)
        bucket = np.searchsorted(edges, mids, side="right") - 1
        bucket = np.clip(bucket, 0, self.bins - 1)
        return np.bincount(bucket, weights=fine, minlength=self.bins).astype(_F32)

    def forward(self, x_orig: Tensor) -> Tensor:
        """Add ``x_orig``'s values to the histogram (infinities left out) and return it."""
        if x_orig.numel() == 0:
            return x_orig
        x = np.asarray(x_orig.detach()._data, _F32).ravel()
        finite = x[np.isfinite(x)] if not np.isfinite(x).all() else x
        if finite.size == 0:
            return x_orig
        x_min, x_max = finite.min(), finite.max()
        cur_min, cur_max = _F32(self.min_val._data), _F32(self.max_val._data)
        if cur_min == np.inf and cur_max == -np.inf:
            self.histogram._data = _histc(finite, self.bins, x_min, x_max)
            self.min_val._data = np.asarray(x_min, _F32)
            self.max_val._data = np.asarray(x_max, _F32)
            return x_orig
        new_min, new_max = min(cur_min, x_min), max(cur_max, x_max)
        update = _histc(finite, self.bins, new_min, new_max)
        old = self.histogram._data
        if new_min == cur_min and new_max == cur_max:
            combined = (old + update).astype(_F32)
        elif cur_min == cur_max:
            one = _histc(np.array([cur_min], _F32), self.bins, new_min, new_max)
            combined = (one * _F32(old.sum(dtype=_F32)) + update).astype(_F32)
        else:
            moved = self._upscale(old, float(cur_min), float(cur_max), new_min, new_max)
            combined = (update + moved).astype(_F32)
        self.histogram._data = combined
        self.min_val._data = np.asarray(new_min, _F32)
        self.max_val._data = np.asarray(new_max, _F32)
        return x_orig

    # ------------------------------------------------------------------ qparams
    def _quantization_error(self, start: int, end: int) -> float:
        """L2 error of quantizing the histogram's bins ``[start, end]`` to ``dst_nbins``
        levels (each bin's mass spread uniformly over it)."""
        bins, dst = self.bins, self.dst_nbins
        bin_width = (float(self.max_val._data) - float(self.min_val._data)) / bins
        dst_width = bin_width * (end - start + 1) / dst
        if dst_width == 0.0:
            return 0.0
        bw, dw = _F32(bin_width), _F32(dst_width)
        src = np.arange(bins)
        begin = ((src - start).astype(_F32) * bw).astype(_F32)
        end_ = (begin + bw).astype(_F32)
        of_begin = np.clip(np.floor(begin / dw), 0, dst - 1).astype(_F32)
        of_begin_center = ((of_begin + _F32(0.5)) * dw).astype(_F32)
        of_end = np.clip(np.floor(end_ / dw), 0, dst - 1).astype(_F32)
        density = (self.histogram._data / bw).astype(_F32)
        half = _F32(dst_width / 2)

        def norm(d0: Any, d1: Any) -> np.ndarray:
            return (density * ((d1 * d1 * d1 - d0 * d0 * d0) / _F32(3))).astype(_F32)

        total = norm((begin - of_begin_center).astype(_F32), np.full(bins, half, _F32))
        total = total + (of_end - of_begin - _F32(1)) * norm(-half, half)
        of_end_center = (of_end * dw + half).astype(_F32)
        total = total + norm(-half, (end_ - of_end_center).astype(_F32))
        return float(total.astype(_F32).sum(dtype=_F32))

    def _non_linear_param_search(self) -> tuple[np.float32, np.float32]:
        """The ``[min, max]`` kept by the error-minimizing search over the histogram."""
        hist = self.histogram._data
        lo, hi = _F32(self.min_val._data), _F32(self.max_val._data)
        bin_width = _F32((hi - lo) / _F32(self.bins))
        total = float(hist.sum(dtype=_F32))
        csum = np.cumsum(hist, dtype=_F32)
        stepsize, alpha, beta = 1e-5, 0.0, 1.0
        start_bin, end_bin = 0, self.bins - 1
        norm_min = float("inf")
        while alpha < beta:
            next_alpha, next_beta = alpha + stepsize, beta - stepsize
            left, right = start_bin, end_bin
            a_bound, b_bound = _F32(next_alpha * total), _F32(next_beta * total)
            while left < end_bin and csum[left] < a_bound:
                left += 1
            while right > start_bin and csum[right] > b_bound:
                right -= 1
            next_start, next_end = start_bin, end_bin
            if (left - start_bin) > (end_bin - right):
                next_start, alpha = left, next_alpha
            else:
                next_end, beta = right, next_beta
            if next_start == start_bin and next_end == end_bin:
                continue
            norm = self._quantization_error(next_start, next_end)
            if norm > norm_min:
                break
            norm_min = norm
            start_bin, end_bin = next_start, next_end
        new_min = _F32(lo + _F32(bin_width * _F32(start_bin)))
        new_max = _F32(lo + _F32(bin_width * _F32(end_bin + 1)))
        return new_min, new_max

    def calculate_qparams(self) -> tuple[Tensor, Tensor]:
        """The scale and zero point of the error-minimizing range (PyTorch's defaults 1.0
        and 0, with its warning, before anything was seen)."""
        if float(self.min_val._data) == np.inf and float(self.max_val._data) == -np.inf:
            warnings.warn(
                "must run observer before calling calculate_qparams."
                + " " * _WARNING_GAP
                + "Returning default scale and zero point ",
                UserWarning,
                stacklevel=2,
            )
            return _tensor([1.0], dtype=np.float32), _tensor([0])
        if self.histogram._data.shape[0] != self.bins:
            raise AssertionError("bins mismatch. Make sure self.bins == self.histogram.size()[0]")
        new_min, new_max = self._non_linear_param_search()
        return self._calculate(np.asarray(new_min), np.asarray(new_max))

    def extra_repr(self) -> str:
        return f"min_val={float(self.min_val._data)}, max_val={float(self.max_val._data)}"
