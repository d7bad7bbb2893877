"""The integer arithmetic of PyTorch's statically quantized ops (x86/fbgemm engine), found
by experiment against torch so that outputs agree bit for bit.

Linear and convolution (quint8 input ``xq`` with zero point ``zx``, qint8 weight ``wq``,
one scale per tensor or per output channel, float32 bias):

- the products ``xq * wq`` (the stored unsigned input, not ``xq - zx``) are summed in pairs
  of neighbouring reduction indices and each pair sum saturates to int16 (the AVX2
  ``vpmaddubsw`` instruction), then the pairs add in int32 and ``zx * sum(wq)`` is taken
  off. This is why x86's default activation observer uses ``reduce_range`` (``[0, 127]``):
  then no pair can saturate. On processors with AVX512-VNNI, fbgemm's kernels use
  ``vpdpbusd`` instead, which sums four products in int32 and never saturates; which rule
  applies is read from the processor (:func:`pair_sums_saturate`), as fbgemm decides.
  A convolution reduces over (kh, kw, channel) in that order (channels last), per group
  ((kd, kh, kw, channel) in 3-d; a 1-d convolution is the 2-d one of height 1).
- requantization, per output channel ``j`` with ``s = float32(x_scale * w_scale[j])``:
  linear: ``q = rint(float32(acc + float32(bias / s)) * float32(s / out_scale)) +
  out_zero_point``; convolution: ``y = float32(float32(acc * s) + bias)``, then
  ``q = rint(float32(float32(y * float32(1 / out_scale)) + out_zero_point))`` (float32
  steps; the two differ at exact halves, common without a bias),
  clamped to ``[0, 255]`` (a fused ReLU clamps below at the zero point).

Elementwise ``add``: each input dequantized as ``fma(q, scale, float32(-zp * scale))``, the
float32 sum quantized as ``rint(v * float32(1 / out_scale)) + out_zero_point``. ``mul`` and
``cat``: the float32 dequantized values combined and quantized as ``quantize_per_tensor``.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from ....qtypes import quint8
from ....quantized_kernels import quantize_per_tensor_array

__all__ = [
    "add_array",
    "conv1d_array",
    "conv2d_array",
    "conv3d_array",
    "conv_array",
    "dequantize_fma",
    "linear_array",
    "pair_sums_saturate",
    "quantize_float",
    "requantize",
]

_F32 = np.float32
_F64 = np.float64
_I16_MIN, _I16_MAX = -32768, 32767
_CHUNK = 1 << 22  # elements of the (rows, out, pairs) product block in the saturating path


@functools.cache
def pair_sums_saturate() -> bool:
    """Whether this processor's fbgemm kernels saturate pair sums to int16: True unless the
    processor has AVX512-VNNI (read from ``/proc/cpuinfo``; where that cannot be read, the
    AVX2 rule, the one every x86-64 processor fbgemm supports has)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return "avx512_vnni" not in line.split()
    except OSError:
        pass
    return True


def _saturating_matmul(xu: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``xu @ w.T`` (int64, rows x out) with each pair of neighbouring products saturated
    to int16 before the sum, as ``vpmaddubsw`` does (exact where :func:`pair_sums_saturate`
    is False)."""
    if not pair_sums_saturate():
        return np.rint(xu.astype(_F64) @ w.T.astype(_F64)).astype(np.int64)
    k = xu.shape[1]
    if k % 2:
        xu = np.concatenate([xu, np.zeros((xu.shape[0], 1), xu.dtype)], axis=1)
        w = np.concatenate([w, np.zeros((w.shape[0], 1), w.dtype)], axis=1)
    pair_bound = int(np.abs(w[:, 0::2]).max(initial=0) + np.abs(w[:, 1::2]).max(initial=0))
    if int(xu.max(initial=0)) * pair_bound <= _I16_MAX:  # no pair can saturate: exact BLAS
        return np.rint(xu.astype(_F64) @ w.T.astype(_F64)).astype(np.int64)
    out = np.empty((xu.shape[0], w.shape[0]), np.int64)
    step = max(1, _CHUNK // max(1, w.size))
    xi, wi = xu.astype(np.int32), w.astype(np.int32)
    for start in range(0, xu.shape[0], step):
        prod = xi[start : start + step, None, :] * wi[None, :, :]
        pairs = np.clip(prod[..., 0::2] + prod[..., 1::2], _I16_MIN, _I16_MAX)
        out[start : start + step] = pairs.sum(axis=-1, dtype=np.int64)
    return out


def requantize(
    acc: np.ndarray,
    x_scale: float,
    w_scales: np.ndarray,
    bias: np.ndarray | None,
    out_scale: float,
    out_zero_point: int,
    relu: bool = False,
    dequantize_first: bool = False,
) -> np.ndarray:
    """uint8 outputs of int32 accumulators ``acc`` (output channels on the last axis);
    ``dequantize_first``: the convolution's rounding (see the module docstring)."""
    s = (_F32(x_scale) * np.asarray(w_scales, np.float64).astype(_F32)).astype(_F32)
    mult = (s / _F32(out_scale)).astype(_F32)
    with np.errstate(all="ignore"):
        v = acc.astype(_F32)
        if dequantize_first:  # the convolution: float32 values, then quantized again
            y = (v * s).astype(_F32)
            if bias is not None:
                y = (y + np.asarray(bias, _F32)).astype(_F32)
            y = (y * (_F32(1) / _F32(out_scale))).astype(_F32)
            r = np.rint((y + _F32(out_zero_point)).astype(_F32)).astype(_F64)
        else:
            if bias is not None:
                v = (v + (np.asarray(bias, _F32) / s).astype(_F32)).astype(_F32)
            r = np.rint((v * mult).astype(_F32)).astype(_F64) + out_zero_point
    r = np.clip(r, out_zero_point if relu else 0, 255)
    return r.astype(np.uint8)


def linear_array(
    xq: np.ndarray,
    x_scale: float,
    x_zero_point: int,
    wq: np.ndarray,
    w_scales: np.ndarray,
    bias: np.ndarray | None,
    out_scale: float,
    out_zero_point: int,
    relu: bool = False,
) -> np.ndarray:
    """``quantized::linear``: uint8 input ``xq`` (..., in) -> uint8 output (..., out)."""
    rows = xq.reshape(-1, xq.shape[-1]).astype(np.int64)
    w = wq.astype(np.int64)
    acc = _saturating_matmul(rows, w) - x_zero_point * w.sum(axis=1)[None, :]
    out = requantize(acc, x_scale, w_scales, bias, out_scale, out_zero_point, relu)
    return out.reshape(*xq.shape[:-1], wq.shape[0])


def _columns(xp: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple, out: tuple):
    """(N * prod(out), prod(kernel) * C) patches of padded channels-first ``xp`` (any number
    of spatial dims), reduction order (kernel offsets..., C): channels last."""
    n, c = xp.shape[:2]
    nd = len(kernel)
    cols = np.empty((n, *out, *kernel, c), xp.dtype)
    for offsets in itertools.product(*(range(k) for k in kernel)):
        index = tuple(
            slice(o * d, o * d + s * size, s)
            for o, d, s, size in zip(offsets, dilation, stride, out, strict=True)
        )
        patch = xp[(slice(None), slice(None), *index)]
        cols[(slice(None), *(slice(None),) * nd, *offsets)] = np.moveaxis(patch, 1, -1)
    return cols.reshape(n * int(np.prod(out)), -1)


def conv_array(
    xq: np.ndarray,
    x_scale: float,
    x_zero_point: int,
    wq: np.ndarray,
    w_scales: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple,
    padding: tuple,
    dilation: tuple,
    groups: int,
    out_scale: float,
    out_zero_point: int,
    relu: bool = False,
) -> np.ndarray:
    """``quantized::conv1d``/``conv2d``/``conv3d``: uint8 channels-first input (NCL, NCHW or
    NCDHW) -> uint8 output of the same layout, over however many spatial dims ``xq`` has
    (``stride``/``padding``/``dilation`` one entry each). Zero padding is the input's zero
    point; the reduction runs over (kernel offsets..., channel), (kd, kh, kw, channel) in 3-d,
    so a 1-d convolution reduces as the 2-d one of height 1 (torch's results agree bit for
    bit with all three)."""
    stride, padding, dilation = tuple(stride), tuple(padding), tuple(dilation)
    n = xq.shape[0]
    o, cg, *kernel = wq.shape
    pads = ((0, 0), (0, 0), *((p, p) for p in padding))
    xp = np.pad(xq, pads, constant_values=x_zero_point)
    out = tuple(
        (size + 2 * p - d * (k - 1) - 1) // s + 1
        for size, p, d, k, s in zip(xq.shape[2:], padding, dilation, kernel, stride, strict=True)
    )
    og = o // groups
    acc = np.empty((n * int(np.prod(out)), o), np.int64)
    for g in range(groups):
        cols = _columns(xp[:, g * cg : (g + 1) * cg], tuple(kernel), stride, dilation, out)
        wg = np.moveaxis(wq[g * og : (g + 1) * og], 1, -1).reshape(og, -1).astype(np.int64)
        part = _saturating_matmul(cols.astype(np.int64), wg)
        acc[:, g * og : (g + 1) * og] = part - x_zero_point * wg.sum(axis=1)[None, :]
    res = requantize(acc, x_scale, w_scales, bias, out_scale, out_zero_point, relu, True)
    return np.ascontiguousarray(np.moveaxis(res.reshape(n, *out, o), -1, 1))


# The quantized modules' kernels by PyTorch's op names: one function for every dimension.
conv1d_array = conv2d_array = conv3d_array = conv_array


def dequantize_fma(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """float32 ``fma(q, scale, float32(-zero_point * scale))`` (the vectorized dequantize
    of PyTorch's quantized add)."""
    premul = _F32(_F32(-zero_point) * _F32(scale))
    return (q.astype(_F64) * _F64(_F32(scale)) + _F64(premul)).astype(_F32)


def add_array(
    a: np.ndarray,
    a_scale: float,
    a_zp: int,
    b: np.ndarray,
    b_scale: float,
    b_zp: int,
    out_scale: float,
    out_zero_point: int,
    relu: bool = False,
) -> np.ndarray:
    """``quantized::add`` (``add_relu`` when ``relu``) of two quint8 arrays."""
    with np.errstate(all="ignore"):
        v = (dequantize_fma(a, a_scale, a_zp) + dequantize_fma(b, b_scale, b_zp)).astype(_F32)
        inv = _F32(1) / _F32(out_scale)
        r = np.rint((v * inv).astype(_F32)).astype(_F64) + out_zero_point
    r = np.clip(r, out_zero_point if relu else 0, 255)
    return r.astype(np.uint8)


def quantize_float(v: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """quint8 integers of float32 ``v`` (``quantize_per_tensor``'s rule)."""
    return quantize_per_tensor_array(np.asarray(v, _F32), scale, zero_point, quint8)
