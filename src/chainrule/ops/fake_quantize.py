"""Fake quantization (``torch.fake_quantize_per_tensor_affine``,
``torch.fake_quantize_per_channel_affine``): a float tensor rounded to the values a
quantized tensor with the given scale and zero point could hold, kept in float, so that
quantization-aware training sees the rounding while it trains.

Forward, bit for bit as torch's CPU kernel (found by experiment), for float32 ``x``:
``q = clamp(rint(float32(x * float32(1 / scale))) + zero_point, quant_min, quant_max)``
(halves to even; NaN and -inf give ``quant_min``), ``y = float32(q - zero_point) *
float32(scale)``. Derivative (the straight-through estimator): ``dy/dx = 1`` where the
unclamped ``rint(x / scale) + zero_point`` lies in ``[quant_min, quant_max]``, else 0; the
scale and zero point get no gradient.

The learnable form (``torch._fake_quantize_learnable_per_tensor_affine``, learned step
size) rounds and clamps the float zero point (``clamp(rint(zp), quant_min, quant_max)``)
and also differentiates the scale and zero point, each summed over the elements and times
``grad_factor``: ``dy/dscale = (y - x) / scale`` inside the range, ``quant_min - zp`` or
``quant_max - zp`` below or above it; ``dy/dzero_point = 0`` inside, ``-scale`` outside.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor

__all__ = ["fake_quantize_per_channel_affine", "fake_quantize_per_tensor_affine"]

_F32 = np.float32


def _fake_quantize(
    x: np.ndarray, scale: np.ndarray, zp: np.ndarray, qmin: int, qmax: int
) -> tuple[np.ndarray, np.ndarray]:
    """(fake-quantized ``x``, the in-range mask) with ``scale``/``zp`` broadcast to ``x``."""
    with np.errstate(all="ignore"):
        inv = (_F32(1) / scale.astype(_F32)).astype(_F32)
        r = np.rint((x * inv).astype(_F32)).astype(np.float64) + zp
        mask = (r >= qmin) & (r <= qmax)
        q = np.clip(r, qmin, qmax)
        q[np.isnan(q)] = qmin
        out = (q - zp).astype(_F32) * scale.astype(_F32)
    return out.astype(_F32, copy=False), mask


class _FakeQuantizeFn(Function):
    """The forward above; the backward passes the gradient where the mask holds."""

    raw = True

    @staticmethod
    def forward(ctx, x, scale, zp, qmin, qmax):
        out, mask = _fake_quantize(x, scale, zp, qmin, qmax)
        ctx.save_for_backward(mask)
        return out

    @staticmethod
    def backward(ctx, grad):
        mask = ctx.saved_tensors[0]._data
        return grad * Tensor._make(mask.astype(grad._data.dtype), False, None, 0), *(None,) * 4

    @staticmethod
    def jvp(ctx, t, *_):
        return None if t is None else t * ctx.saved_tensors[0]._data.astype(t.dtype)


class FakeQuantizePerTensor(_FakeQuantizeFn):
    node_name = "FakeQuantizePerTensorAffineCachemaskBackward0"


class FakeQuantizePerTensorTensorQparams(_FakeQuantizeFn):
    node_name = "FakeQuantizePerTensorAffineCachemaskTensorQparamsBackward0"


class FakeQuantizePerChannel(_FakeQuantizeFn):
    node_name = "FakeQuantizePerChannelAffineCachemaskBackward0"


def _check_input(op: str, x: Any, qmin: int, qmax: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.dtype != np.float32:
        raise NotImplementedError(
            f"{op}: input dtype {x.dtype} (chainrule implements float32 inputs)"
        )
    if qmin > qmax:
        raise RuntimeError("`quant_min` should be less than or         equal to `quant_max`.")


def _zp_in_range(zp: np.ndarray, qmin: int, qmax: int) -> None:
    if np.any(zp < qmin) or np.any(zp > qmax):
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")


def fake_quantize_per_tensor_affine(
    input: Tensor,  # noqa: A002 - torch's name
    scale: Any,
    zero_point: Any,
    quant_min: int,
    quant_max: int,
) -> Tensor:
    """``input`` quantized to ``[quant_min, quant_max]`` with one ``scale`` and
    ``zero_point`` (numbers, or one-element tensors) and dequantized again."""
    op = "fake_quantize_per_tensor_affine"
    _check_input(op, input, quant_min, quant_max)
    fn = FakeQuantizePerTensor
    if isinstance(scale, Tensor) or isinstance(zero_point, Tensor):
        fn = FakeQuantizePerTensorTensorQparams
    s = np.asarray(scale._data if isinstance(scale, Tensor) else scale, np.float64).reshape(-1)
    z = zero_point._data if isinstance(zero_point, Tensor) else zero_point
    z = np.asarray(z).reshape(-1)
    if s.size != 1 or z.size != 1:
        raise RuntimeError(f"{op}: scale and zero_point must hold one element each")
    if z.dtype.kind == "f":
        raise NotImplementedError(f"{op}: a floating-point zero_point")
    z = z.astype(np.int64)
    _zp_in_range(z, quant_min, quant_max)
    return fn.apply(input, s[0], np.float64(z[0]), int(quant_min), int(quant_max))


def fake_quantize_per_channel_affine(
    input: Tensor,  # noqa: A002 - torch's name
    scale: Tensor,
    zero_point: Tensor,
    axis: int,
    quant_min: int,
    quant_max: int,
) -> Tensor:
    """``input`` quantized with one scale and zero point per index of ``axis`` (1-d
    ``scale`` float, ``zero_point`` int32) and dequantized again."""
    op = "fake_quantize_per_channel_affine"
    _check_input(op, input, quant_min, quant_max)
    nd = input.ndim
    if not -nd <= axis < nd:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {axis})"
        )
    axis %= nd
    z = np.asarray(zero_point._data)
    if z.dtype.kind == "f":
        raise NotImplementedError(f"{op}: a floating-point zero_point")
    if z.dtype != np.int32:
        raise RuntimeError(
            f"Zero-point must be Int32, Float or Half, found {zero_point.dtype}".replace(
                "torch.int64", "Long"
            )
        )
    s = np.asarray(scale._data, np.float64)
    if s.ndim != 1 or z.ndim != 1 or s.size != input.shape[axis] or z.size != s.size:
        raise RuntimeError(
            "dimensions of scale and zero-point are not consistent with input tensor"
        )
    _zp_in_range(z, quant_min, quant_max)
    shape = [1] * nd
    shape[axis] = -1
    return FakeQuantizePerChannel.apply(
        input, s.reshape(shape), z.astype(np.float64).reshape(shape), int(quant_min),
        int(quant_max),
    )  # fmt: skip


class FusedMovingAvgObsFq(Function):
    """The fake quantization step of ``torch.fused_moving_avg_obs_fake_quant`` (under its
    node name): the forward above when ``enabled``, else a copy with gradient 1."""

    raw = True
    node_name = "FusedMovingAvgObsFqHelperBackward0"

    @staticmethod
    def forward(ctx, x, scale, zp, qmin, qmax, enabled):
        if not enabled:
            ctx.save_for_backward(np.ones(x.shape, bool))
            return x.copy()
        out, mask = _fake_quantize(x, scale, zp, qmin, qmax)
        ctx.save_for_backward(mask)
        return out

    @staticmethod
    def backward(ctx, grad):
        return _FakeQuantizeFn.backward(ctx, grad) + (None,)

    @staticmethod
    def jvp(ctx, t, *_):
        return _FakeQuantizeFn.jvp(ctx, t)


class FakeQuantizeLearnablePerTensor(Function):
    """The learnable per-tensor fake quantization (see the module docstring)."""

    raw = True
    node_name = "FakeQuantizeLearnablePerTensorAffineBackward0"

    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax, grad_factor):
        s = np.asarray(scale, np.float64).reshape(-1)[:1]
        zp = float(np.clip(np.rint(np.float64(np.asarray(zero_point).reshape(-1)[0])), qmin, qmax))
        with np.errstate(all="ignore"):
            r = np.rint((x * (_F32(1) / _F32(s[0]))).astype(_F32)).astype(np.float64) + zp
        out, mask = _fake_quantize(x, s, np.float64(zp), qmin, qmax)
        side = np.where(mask, 0, np.where(r < qmin, -1, 1)).astype(np.int8)
        ctx.save_for_backward(x, out, side)
        ctx.lsq = (
            float(s[0]),
            zp,
            qmin,
            qmax,
            grad_factor,
            np.shape(scale),
            np.shape(zero_point),
        )
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out, side = (t._data for t in ctx.saved_tensors)
        scale, zp, qmin, qmax, factor, s_shape, z_shape = ctx.lsq
        g = grad._data.astype(np.float64)
        inside = side == 0
        d_scale = np.where(inside, (out.astype(np.float64) - x) / scale,
                           np.where(side < 0, qmin - zp, qmax - zp))  # fmt: skip
        gs = np.full(s_shape, (g * d_scale).sum() * factor, _F32)
        gz = np.full(z_shape, (g * np.where(inside, 0.0, -scale)).sum() * factor, _F32)
        gx = grad * Tensor._make(inside.astype(grad._data.dtype), False, None, 0)
        return (
            gx, Tensor._make(gs, False, None, 0), Tensor._make(gz, False, None, 0), None, None,
            None,
        )  # fmt: skip


def _fake_quantize_learnable_per_tensor_affine(
    input: Tensor,  # noqa: A002 - torch's name
    scale: Tensor,
    zero_point: Tensor,
    quant_min: int,
    quant_max: int,
    grad_factor: float = 1.0,
) -> Tensor:
    """Fake quantization with a learned ``scale`` and ``zero_point`` (float tensors of
    one element that receive gradients; see the module docstring)."""
    op = "_fake_quantize_learnable_per_tensor_affine"
    _check_input(op, input, quant_min, quant_max)
    if not (isinstance(scale, Tensor) and isinstance(zero_point, Tensor)):
        raise TypeError(f"{op}: scale and zero_point must be tensors")
    if scale.numel() != 1 or zero_point.numel() != 1:
        raise NotImplementedError(f"{op}: scale and zero_point of more than one element")
    return FakeQuantizeLearnablePerTensor.apply(
        input, scale, zero_point, int(quant_min), int(quant_max), float(grad_factor)
    )
