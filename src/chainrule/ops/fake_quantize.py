"""Fake quantization (``torch.fake_quantize_per_tensor_affine``,
``torch.fake_quantize_per_channel_affine``): a float tensor rounded to the values a
quantized tensor with the given scale and zero point could hold, kept in float, so that
quantization-aware training sees the rounding while it trains.

Forward, bit for bit as torch's CPU kernels (found by experiment), with ``s`` the scale as
float32 and ``inv = float32(1 / s)``: ``r = rint(x * inv) + zero_point`` (halves to even;
the product and the sum in float32 for a float32 ``x``, in float64 for a float64 one),
``q = clamp(r, quant_min, quant_max)``, then

- per tensor: NaN gives ``quant_min`` (+-inf clamp to their end), and
  ``y = float32(q - zero_point) * s`` in float32 (for a float64 ``x`` too, then widened);
- per channel: ``r`` becomes an int64 first, so NaN, +-inf and ``|r| >= 2**63`` give
  ``quant_min`` (the x86 conversion's INT64_MIN), and ``y = (q - zero_point) * s``
  computed in float64, rounded to ``x``'s dtype.

Derivative (the straight-through estimator): ``dy/dx = 1`` where ``r`` lies in
``[quant_min, quant_max]``, else 0 (so 0 outside ``[quant_min, quant_max] * scale``, shifted
by the zero point); the scale and zero point get no gradient. Forward mode is the same mask
times the tangent (torch has no forward-mode rule for these ops).

The learnable forms (``torch._fake_quantize_learnable_per_tensor_affine`` and
``_per_channel_affine``, learned step size) fake-quantize as above with the float zero
point rounded half to even and clamped (per tensor with the per-tensor rules, per channel
with the per-channel ones), and also differentiate the scale and zero point, each summed
over the elements (per channel: over all but ``axis``) and times ``grad_factor``. Their
backward decides which elements lie in the range by its own rounding, as torch's does:
``r = rint(x * inv + zp)`` (the sum in ``x``'s precision; NaN, inf and int64 overflow count
as below the range), with ``zp`` rounded half to even, except that the per-tensor form
rounds it half up (``floor(zp + 0.5)``); ``dy/dx`` is 1 inside, 0 outside;
``dy/dscale = float(fma(r - zp, s, -x)) * inv`` inside (times the upstream gradient
before ``inv``, as torch), ``quant_min - zp`` below and
``quant_max - zp`` above; ``dy/dzero_point = 0`` inside, ``-s`` outside. torch's backward
of these forms takes float32 gradients only; chainrule's also runs in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import errstate, get_array_module, host
from ..meta.results import refuse_meta
from ._util import dim_range_error

__all__ = [
    "_fake_quantize_learnable_per_channel_affine",
    "_fake_quantize_learnable_per_tensor_affine",
    "fake_quantize_per_channel_affine",
    "fake_quantize_per_tensor_affine",
]

_F32 = np.float32
_TWO63 = 2.0**63


def _grid_index(x: np.ndarray, s32: np.ndarray, zp: Any) -> np.ndarray:
    """``rint(x * float32(1 / s)) + zero_point`` as float64, unclamped (the product and
    the sum in ``x``'s precision)."""
    xp = get_array_module(x)
    with errstate(xp, all="ignore"):
        inv = (_F32(1) / s32).astype(_F32)
        if x.dtype != _F32:
            return xp.rint(x * inv.astype(np.float64)) + zp
        k = xp.rint((x * inv).astype(_F32))
        return (k + xp.asarray(zp).astype(_F32)).astype(_F32).astype(np.float64)


def _fake_quantize(
    x: np.ndarray,
    scale: Any,
    zp: Any,
    qmin: int,
    qmax: int,
    per_channel: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(fake-quantized ``x``, the in-range mask) with ``scale``/``zp`` broadcast to ``x``;
    ``per_channel`` picks torch's per-channel rules for overflow and the output product."""
    xp = get_array_module(x)
    if xp is not np:  # the qparams (numbers or arrays) join x on its device
        scale, zp = xp.asarray(scale), xp.asarray(zp)
    s32 = xp.asarray(scale).astype(_F32)
    r = _grid_index(x, s32, zp)
    with errstate(xp, all="ignore"):
        mask = (r >= qmin) & (r <= qmax)
        q = xp.clip(r, qmin, qmax)
        if per_channel:  # not representable as an int64: INT64_MIN, clamped to quant_min
            q = xp.where((r >= -_TWO63) & (r < _TWO63), q, qmin)
            out = ((q - zp) * s32.astype(np.float64)).astype(x.dtype)
        else:
            q = xp.where(xp.isnan(q), qmin, q)
            out = ((q - zp).astype(_F32) * s32).astype(x.dtype)
    return out, mask


class _FakeQuantizeFn(Function):
    """The forward above; the backward passes the gradient where the mask holds."""

    raw = True
    per_channel = False
    saved_fields = {"mask": 0}  # grad_fn._saved_* as PyTorch's (saved_fields.py)

    @classmethod
    def forward(cls, ctx, x, scale, zp, qmin, qmax):
        out, mask = _fake_quantize(x, scale, zp, qmin, qmax, cls.per_channel)
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
    per_channel = True


def _check_input(op: str, x: Any, qmin: int, qmax: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.dtype not in (np.float32, np.float64):
        raise NotImplementedError(
            f"{op}: input dtype {x.dtype} (chainrule implements float32 and float64 inputs)"
        )
    if qmin > qmax:
        raise RuntimeError("`quant_min` should be less than or         equal to `quant_max`.")


def _zp_in_range(zp: np.ndarray, qmin: int, qmax: int) -> None:
    if np.any(zp < qmin) or np.any(zp > qmax):
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")


def _one(op: str, value: Any, what: str) -> np.ndarray:
    """The single element of a number or one-element tensor ``value``, as a 0-d array."""
    a = host(value._data if isinstance(value, Tensor) else value).reshape(-1)  # from any device
    if a.size != 1:
        raise RuntimeError(
            f"{op}: a Tensor with {a.size} elements cannot be converted to Scalar ({what})"
        )
    return a[0]


def fake_quantize_per_tensor_affine(
    input: Tensor,  # noqa: A002 - torch's name
    scale: Any,
    zero_point: Any,
    quant_min: int,
    quant_max: int,
) -> Tensor:
    """``input`` quantized to ``[quant_min, quant_max]`` with one ``scale`` and
    ``zero_point`` (numbers, or one-element tensors) and dequantized again.

    As torch: a number ``zero_point`` must lie in ``[quant_min, quant_max]``; a tensor one is
    not checked, and a floating one is truncated toward zero."""
    op = "fake_quantize_per_tensor_affine"
    tensor_qparams = isinstance(scale, Tensor) or isinstance(zero_point, Tensor)
    refuse_meta(  # (no meta kernel in PyTorch)
        "_fake_quantize_per_tensor_affine_cachemask_tensor_qparams"
        if tensor_qparams
        else "fake_quantize_per_tensor_affine_cachemask",
        input,
        scale,
        zero_point,
    )
    _check_input(op, input, quant_min, quant_max)
    fn = FakeQuantizePerTensorTensorQparams if tensor_qparams else FakeQuantizePerTensor
    s = np.float64(_one(op, scale, "scale"))
    z = _one(op, zero_point, "zero_point")
    if isinstance(zero_point, Tensor):
        z = np.trunc(z)
    elif np.asarray(z).dtype.kind == "f":
        raise TypeError(f"{op}(): argument 'zero_point' must be int, not float")
    else:
        _zp_in_range(np.int64(z), quant_min, quant_max)
    return fn.apply(input, s, np.float64(z), int(quant_min), int(quant_max))


def _channel_shape(op: str, x: Tensor, scale: Tensor, zero_point: Tensor, axis: int) -> list:
    """Checks of the per-channel qparams; the shape that broadcasts them along ``axis``."""
    nd = x.ndim
    if not -nd <= axis < nd:
        raise dim_range_error(axis, nd)
    if scale.dtype != np.float32:
        name = "Double" if scale.dtype == np.float64 else str(scale.dtype)
        raise RuntimeError(f"{op}: Scale must be Float or BFloat16, found {name}")
    s, z = scale._data, zero_point._data
    if s.ndim != 1 or z.ndim != 1 or s.size != x.shape[axis % nd] or z.size != s.size:
        raise RuntimeError(
            f"{op}: dimensions of scale and zero-point are not consistent with input tensor"
        )
    shape = [1] * nd
    shape[axis % nd] = -1
    return shape


def fake_quantize_per_channel_affine(
    input: Tensor,  # noqa: A002 - torch's name
    scale: Tensor,
    zero_point: Tensor,
    axis: int,
    quant_min: int,
    quant_max: int,
) -> Tensor:
    """``input`` quantized with one scale and zero point per index of ``axis`` (1-d
    ``scale`` float32, ``zero_point`` int32) and dequantized again."""
    op = "fake_quantize_per_channel_affine"
    refuse_meta("fake_quantize_per_channel_affine_cachemask", input, scale, zero_point)
    _check_input(op, input, quant_min, quant_max)
    z = host(zero_point._data)  # checked on the host (one number per channel)
    if z.dtype.kind == "f":
        raise NotImplementedError(f"{op}: a floating-point zero_point (float qparams)")
    if z.dtype != np.int32:
        name = "Long" if z.dtype == np.int64 else str(zero_point.dtype)
        raise RuntimeError(f"{op}: Zero-point must be Int32, Float or Half, found {name}")
    shape = _channel_shape(op, input, scale, zero_point, axis)
    if z.size == 0:  # torch's range check reduces the zero points
        raise RuntimeError(
            f"{op}: min(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )
    _zp_in_range(z, quant_min, quant_max)
    return FakeQuantizePerChannel.apply(
        input, scale._data.astype(np.float64).reshape(shape),
        z.astype(np.float64).reshape(shape), int(quant_min), int(quant_max),
    )  # fmt: skip


class FusedMovingAvgObsFq(Function):
    """The fake quantization step of ``torch.fused_moving_avg_obs_fake_quant`` (under its
    node name): the forward above when ``enabled``, else a copy with gradient 1."""

    raw = True
    node_name = "FusedMovingAvgObsFqHelperBackward0"

    @staticmethod
    def forward(ctx, x, scale, zp, qmin, qmax, enabled):
        if not enabled:
            ctx.save_for_backward(get_array_module(x).ones(x.shape, bool))
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


class _FakeQuantizeLearnable(Function):
    """The learnable fake quantization (see the module docstring). ``axis`` is None for
    the per-tensor form; the scale and zero point arrive as arrays (their tensors' values)
    shaped to broadcast against ``x``."""

    raw = True

    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax, grad_factor, axis, shape):
        shapes = (scale.shape, zero_point.shape)
        xp = get_array_module(x)
        if axis is None:  # torch reads the first element of each
            scale, zero_point = scale.reshape(-1)[:1], zero_point.reshape(-1)[:1]
        s = scale.astype(_F32).astype(np.float64).reshape(shape)
        zp = zero_point.astype(np.float64).reshape(shape)
        out, _ = _fake_quantize(
            x, s, xp.clip(xp.rint(zp), qmin, qmax), qmin, qmax, axis is not None
        )
        if axis is None:  # torch's per-tensor backward rounds the zero point halves up
            zp = xp.floor(zp + 0.5)
        zp = xp.clip(xp.rint(zp), qmin, qmax)
        with errstate(xp, all="ignore"):  # the backward's rounding: rint(x * inv + zp)
            inv = (_F32(1) / s.astype(_F32)).astype(x.dtype)
            r = xp.rint((x * inv).astype(x.dtype) + zp.astype(x.dtype)).astype(np.float64)
        r = xp.where((r >= -_TWO63) & (r < _TWO63), r, -np.inf)  # int64: INT64_MIN, below
        mask = (r >= qmin) & (r <= qmax)
        with errstate(xp, all="ignore"):  # inside: float(fma(q - zp, s, -x)), later * inv
            error = ((r - zp) * s - x).astype(x.dtype)
            d_scale = xp.where(mask, error, xp.where(r < qmin, qmin - zp, qmax - zp))
            d_zp = xp.where(mask, 0.0, -s)
        d_scale, d_zp = d_scale.astype(x.dtype), d_zp.astype(x.dtype)
        ctx.save_for_backward(mask, d_scale, xp.where(mask, inv, 1).astype(x.dtype), d_zp)
        ctx.lsq = (grad_factor, axis, scale.dtype, zero_point.dtype, shapes)
        return out

    @staticmethod
    def _reduce(ctx, v: np.ndarray, which: int) -> np.ndarray:
        """``v`` summed over all dims but the channel axis, times ``grad_factor``, in the
        dtype and shape of the scale (``which`` 0) or zero point (1)."""
        factor, axis, *dtypes, shapes = ctx.lsq
        dims = tuple(d for d in range(v.ndim) if d != axis)
        xp = get_array_module(v)
        total = xp.asarray(v.sum(axis=dims, dtype=np.float64) * factor if v.ndim else v * factor)
        want = shapes[which]
        if axis is None and want != (1,):  # torch's gradient has one element
            raise RuntimeError(
                "Function FakeQuantizeLearnablePerTensorAffineBackward0 returned"
                f" an invalid gradient at index {which + 1} - "
                f"got [1] but expected shape compatible with {list(want)}"
            )
        return total.astype(dtypes[which]).reshape(want)

    @staticmethod
    def backward(ctx, grad):
        mask, d_scale, inv, d_zp = (t._data for t in ctx.saved_tensors)
        g = grad._data
        with errstate(get_array_module(g), all="ignore"):  # in the gradient's precision
            gs = _FakeQuantizeLearnable._reduce(ctx, (g * d_scale).astype(g.dtype) * inv, 0)
            gz = _FakeQuantizeLearnable._reduce(ctx, g * d_zp, 1)
        gx = grad * Tensor._make(mask.astype(grad._data.dtype), False, None, 0)
        gs, gz = (Tensor._make(a, False, None, 0) for a in (gs, gz))
        return gx, gs, gz, *(None,) * 5

    @staticmethod
    def jvp(ctx, tx, ts, tz, *_):
        mask, d_scale, inv, d_zp = (t._data for t in ctx.saved_tensors)
        d_scale = d_scale * inv
        factor, axis = ctx.lsq[:2]
        shape = [1] * mask.ndim
        if axis is not None:
            shape[axis] = -1
        dtype = mask.dtype if tx is None else tx.dtype
        out = 0 if tx is None else tx * mask.astype(tx.dtype)
        with errstate(get_array_module(mask), all="ignore"):
            if ts is not None:
                out = out + (d_scale * factor).astype(ts.dtype) * ts.reshape(shape)
            if tz is not None:
                out = out + (d_zp * factor).astype(tz.dtype) * tz.reshape(shape)
        return None if isinstance(out, int) else out.astype(dtype, copy=False)


class FakeQuantizeLearnablePerTensor(_FakeQuantizeLearnable):
    node_name = "FakeQuantizeLearnablePerTensorAffineBackward0"


class FakeQuantizeLearnablePerChannel(_FakeQuantizeLearnable):
    node_name = "FakeQuantizeLearnablePerChannelAffineBackward0"


def _learnable_qparams(op: str, scale: Any, zero_point: Any) -> None:
    if not (isinstance(scale, Tensor) and isinstance(zero_point, Tensor)):
        raise TypeError(f"{op}: scale and zero_point must be tensors")
    for name, t in (("scale", scale), ("zero_point", zero_point)):
        if t.dtype not in (np.float32, np.float64, np.int32, np.int64):
            raise NotImplementedError(f"{op}: a {name} of dtype {t.dtype}")


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
    refuse_meta(op, input, scale, zero_point)  # (no meta kernel in PyTorch)
    _check_input(op, input, quant_min, quant_max)
    _learnable_qparams(op, scale, zero_point)
    if scale.ndim == 0 or zero_point.ndim == 0:
        raise IndexError(f"{op}: select() cannot be applied to a 0-dim tensor.")
    return FakeQuantizeLearnablePerTensor.apply(
        input, scale, zero_point, int(quant_min), int(quant_max), float(grad_factor), None, ()
    )


def _fake_quantize_learnable_per_channel_affine(
    input: Tensor,  # noqa: A002 - torch's name
    scale: Tensor,
    zero_point: Tensor,
    axis: int,
    quant_min: int,
    quant_max: int,
    grad_factor: float = 1.0,
) -> Tensor:
    """Fake quantization with one learned scale and zero point per index of ``axis``
    (1-d float32 ``scale``, 1-d ``zero_point``, rounded and clamped to the range); their
    gradients are summed over the other dims (see the module docstring)."""
    op = "_fake_quantize_learnable_per_channel_affine"
    refuse_meta(op, input, scale, zero_point)  # (no meta kernel in PyTorch)
    _check_input(op, input, quant_min, quant_max)
    _learnable_qparams(op, scale, zero_point)
    if scale.ndim != zero_point.ndim or scale.shape != zero_point.shape:
        raise RuntimeError(f"{op}: scale and zero-point need to have the same dimensions")
    shape = _channel_shape(op, input, scale, zero_point, axis)
    return FakeQuantizeLearnablePerChannel.apply(
        input, scale, zero_point, int(quant_min), int(quant_max), float(grad_factor),
        axis % input.ndim, shape,
    )  # fmt: skip
