"""The shape and pooling ops that PyTorch runs on per-tensor quantized tensors, the ones a
quantized CNN needs between its quantized layers: ``max_pool2d``, ``adaptive_avg_pool2d``
and ``cat`` (``reshape``/``flatten``/``view`` are methods of :class:`QuantizedTensor`).
The dense functions (``ops/pooling.py``, ``ops/adaptive_pooling.py``, ``ops/joining.py``,
``ops/views.py``) hand a quantized input to these.

The rules, found by experiment against torch's CPU kernels:

- ``max_pool2d``: the max of the stored integers over each window (padding never wins);
  the scale and zero point are kept. ``return_indices`` is refused as in torch.
- ``adaptive_avg_pool2d``: over each of torch's adaptive bins ``[floor(i H / oh),
  ceil((i + 1) H / oh))`` with ``n`` elements, the scale and zero point kept, rounded half
  to even, in one of two ways as torch's kernels do. A contiguous input (from
  ``quantize_per_tensor``): ``rint(float32(sum) * float32(1 / n))``; a channels-last one
  (what torch's quantized convolutions output, and what ReLU, pooling and adds keep):
  ``rint(fma(float32(sum - n zero_point), float32(1 / n), zero_point))``. They differ only
  at exact halves with ``n`` even and not a power of two; chainrule's integers are always
  contiguous and the tensor records which torch would hold (``_q_cl``).
- ``avg_pool2d``: with ``n`` the window's elements inside the input (padding counts as the
  zero point, the value 0) and ``d`` torch's divisor (``divisor_override``, or the window
  size with or without padding), ``rint(float32(sum - n zero_point) * float32(1 / d) +
  zero_point)`` in float32 steps (no fma), clamped; both memory layouts round alike.
- ``cat``: the result takes the first tensor's scale and zero point; the others are
  dequantized and quantized again with them (``quantize_per_tensor``'s rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .autograd.tensor import Tensor
from .ops._util import dim_range_error
from .quantized_kernels import dequantize_array, quantize_per_tensor_array
from .quantized_tensor import QuantizedTensor, _make

__all__ = [
    "adaptive_avg_pool2d_quantized",
    "avg_pool2d_quantized",
    "cat_quantized",
    "max_pool2d_quantized",
]

_F32 = np.float32


def _per_tensor(op: str, x: QuantizedTensor) -> None:
    if x._q_axis is not None:
        raise RuntimeError(
            "Expected quantizer->qscheme() == kPerTensorAffine to be true, but got false. "
            f"({op} of a per-channel quantized tensor)"
        )


def max_pool2d_quantized(
    x: QuantizedTensor, pool: Callable[[Tensor], Tensor], return_indices: bool
) -> QuantizedTensor:
    """``quantized::max_pool2d``: ``pool`` (the dense max pooling with the caller's
    arguments) run on the stored integers held exactly in float64, then stored back."""
    if return_indices:
        raise NotImplementedError(
            "Could not run 'aten::max_pool2d_with_indices.out' with arguments from the "
            "'QuantizedCPU' backend (max_pool2d of a quantized tensor: return_indices=True)"
        )
    _per_tensor("max_pool2d", x)
    ints = Tensor._make(x._q_int.astype(np.float64), False, None, 0)
    out = pool(ints)._data.astype(x._q_int.dtype)
    return _like(x, np.ascontiguousarray(out))


def _like(x: QuantizedTensor, q: np.ndarray) -> QuantizedTensor:
    """Integers ``q`` with ``x``'s dtype, qparams and (torch's) memory format."""
    out = _make(q, x._q_dtype, x._q_scale, x._q_zp, None)
    out._q_cl = x._q_cl
    return out


def avg_pool2d_quantized(
    x: QuantizedTensor, pool: Callable[[Tensor, int | None], Tensor], divisor_override: Any
) -> QuantizedTensor:
    """``quantized::avg_pool2d``: ``pool(t, divisor)`` (the dense average pooling with the
    caller's window arguments) gives the exact integer window sums (divisor 1), the count
    of input elements in each window and, from the mean of ones, torch's divisor; the
    scale and zero point are kept."""
    _per_tensor("avg_pool2d", x)
    q, zp = x._q_int, x._q_zp

    def dense(a: np.ndarray, divisor: int | None) -> np.ndarray:
        return pool(Tensor._make(a, False, None, 0), divisor)._data

    ones = np.ones(q.shape)
    sums, counts = dense(q.astype(np.float64), 1), dense(ones, 1)
    if divisor_override:
        divisor = np.float64(divisor_override)
    else:
        divisor = np.rint(counts / dense(ones, None))
    inv = _F32(1) / divisor.astype(_F32)
    with np.errstate(all="ignore"):
        centred = ((sums - counts * zp).astype(_F32) * inv).astype(_F32)
        mean = np.rint((centred + _F32(zp)).astype(_F32))
    out = np.clip(mean, x._q_dtype.qmin, x._q_dtype.qmax).astype(q.dtype)
    return _like(x, np.ascontiguousarray(out))


def _bin_edges(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def adaptive_avg_pool2d_quantized(x: QuantizedTensor, oh: int, ow: int) -> QuantizedTensor:
    """``quantized::adaptive_avg_pool2d`` of a 3-d or 4-d quantized tensor: each bin's
    integer sum times ``float32(1 / n)``, rounded half to even (exact int64 sums from a
    summed-area table)."""
    _per_tensor("adaptive_avg_pool2d", x)
    q = x._q_int
    h, w = q.shape[-2:]
    table = np.zeros((*q.shape[:-2], h + 1, w + 1), np.int64)
    table[..., 1:, 1:] = q.astype(np.int64).cumsum(-2).cumsum(-1)
    h0, h1 = _bin_edges(h, oh)
    w0, w1 = _bin_edges(w, ow)
    sums = (
        table[..., h1[:, None], w1[None, :]]
        - table[..., h0[:, None], w1[None, :]]
        - table[..., h1[:, None], w0[None, :]]
        + table[..., h0[:, None], w0[None, :]]
    )
    counts = (h1 - h0)[:, None] * (w1 - w0)[None, :]
    inv = (_F32(1) / counts.astype(_F32)).astype(np.float64)
    with np.errstate(all="ignore"):
        if x._q_cl:  # rint(fma(float32(sum - n zp), float32(1 / n), zp))
            acc = (sums - counts * x._q_zp).astype(_F32).astype(np.float64)
            mean = np.rint((acc * inv + x._q_zp).astype(_F32))
        else:  # rint(float32(sum) * float32(1 / n))
            mean = np.rint((sums.astype(_F32) * inv.astype(_F32)).astype(_F32))
    out = np.clip(mean, x._q_dtype.qmin, x._q_dtype.qmax).astype(q.dtype)
    return _like(x, np.ascontiguousarray(out))


def cat_quantized(tensors: Sequence[Any], dim: int) -> QuantizedTensor:
    """``quantized cat``: the first tensor's qparams; the others requantized to them."""
    if not all(isinstance(t, QuantizedTensor) for t in tensors):
        raise NotImplementedError(
            "Could not run 'aten::qscheme' with arguments from the 'CPU' backend (cat of "
            "quantized and non-quantized tensors)"
        )
    first = tensors[0]
    if any(t.dtype is not first.dtype for t in tensors):
        raise RuntimeError("All dtypes must be the same.")
    for t in tensors:
        _per_tensor("cat", t)
    scale, zp, dtype = first._q_scale, first._q_zp, first._q_dtype
    parts = []
    for t in tensors:
        if t._q_scale == scale and t._q_zp == zp:
            parts.append(t._q_int)
        else:
            values = dequantize_array(t._q_int, t._q_scale, t._q_zp, None)
            parts.append(quantize_per_tensor_array(values, scale, zp, dtype))
    nd = first._q_int.ndim
    if not -nd <= dim < nd:
        raise dim_range_error(dim, nd)
    try:
        out = np.concatenate(parts, axis=dim)
    except ValueError as err:
        raise RuntimeError(f"cat: quantized tensors of mismatched sizes ({err})") from None
    return _like(first, out)
