"""``hardswish`` and ``rrelu`` as one graph node each, under PyTorch's names.

They were compositions: hardswish ``x * hardtanh(x + 3) / 6`` (four nodes), rrelu a ``where``
over a product (two). As one :class:`UnaryElementwise` each they print as PyTorch's
(``HardswishBackward0``, ``RreluWithNoiseBackward0`` in training and evaluation alike), save
what PyTorch's save (the input; rrelu also its noise, bounds and mode), and state their
derivative once (backward, double backward and forward mode follow, see ``elementwise.py``).

* hardswish: ``x * clamp(x + 3, 0, 6) / 6`` (PyTorch's evaluation order); derivative 0 where
  ``x <= -3``, ``x / 3 + 1/2`` where ``-3 < x < 3``, else 1 (NaN too: PyTorch's sides);
  the derivative is written with Tensor ops under ``create_graph``, so the second derivative
  is ``1/3`` inside, as PyTorch's ``HardswishBackwardBackward0``.
* rrelu: ``x`` where ``x > 0``, else ``x * a``: in training ``a`` is the drawn noise (1 where
  ``x > 0``, PyTorch's ``noise``), in evaluation the mean slope ``(lower + upper) / 2``. Its
  derivative is that constant slope (a mask: the second derivative is zeros, tied to the
  saved input as PyTorch's).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._activation_math import celu_grad_input_scale, elu_f32
from .binary import where
from .elementwise import UnaryElementwise
from .input_first_grads import input_first

__all__ = [
    "CeluResult",
    "EluResult",
    "Hardswish",
    "LeakyReluResult",
    "RreluWithNoise",
    "RreluWithNoiseResult",
]


def _const(array: Any) -> Tensor:
    return Tensor._make(array, False, None, 0)


def _hardswish_slope(xd: Any) -> Any:
    """0 up to -3, x / 3 + 1/2 inside (-3, 3), 1 from 3 (and for NaN), in ``xd``'s dtype."""
    xp = get_array_module(xd)
    mid = xd / 3.0 + 0.5
    return xp.where(xd <= -3.0, 0.0, xp.where(xd < 3.0, mid, 1.0)).astype(xd.dtype, copy=False)


class Hardswish(UnaryElementwise):
    """``x * clamp(x + 3, 0, 6) / 6``; saves ``x``, as PyTorch."""

    saved_fields = {"self": 0}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def f(x: Any) -> Any:
        xp = get_array_module(x)
        return (x * xp.clip(x + 3.0, 0.0, 6.0) / 6.0).astype(x.dtype, copy=False)

    @staticmethod
    def derivative(ctx: Any, x: Any, y: Any) -> Any:
        if not (x.requires_grad and getattr(ctx, "create_graph", False)):
            return _const(_hardswish_slope(x._data))
        xd = x._data
        mid = x / 3.0 + 0.5
        return where(_const(xd <= -3.0), 0.0, where(_const(xd < 3.0), mid, 1.0))

    @classmethod
    def chain(cls, ctx: Any, g: Any, x: Any, y: Any) -> Any:
        if getattr(ctx, "create_graph", False) and (g.requires_grad or x.requires_grad):
            return g * cls.derivative(ctx, x, y)
        gd = g._data
        out = gd * _hardswish_slope(x._data)
        return _const(get_array_module(out).asarray(out).astype(gd.dtype, copy=False))


class RreluWithNoise(UnaryElementwise):
    """``x`` where ``x > 0`` else ``x * a`` (``a``: the noise in training, the mean slope in
    evaluation); saves ``x`` and the noise, as PyTorch's ``RreluWithNoiseBackward0``."""

    tie_saved = True  # a constant derivative read from what the node saved
    saved_fields = {  # grad_fn._saved_* as PyTorch's
        "lower": lambda n: n.params["lower"],
        "noise": lambda n: _const(n.params["noise"]),
        "self": 0,
        "training": lambda n: n.params["training"],
        "upper": lambda n: n.params["upper"],
    }

    @staticmethod
    def _slope(noise: Any, lower: float, upper: float, training: bool) -> Any:
        return noise if training and upper - lower > 1e-6 else (lower + upper) / 2

    @classmethod
    def chain(cls, ctx: Any, g: Any, x: Any, y: Any) -> Any:
        return _rrelu_chain(g, cls.derivative(ctx, x, y), x, ctx.params)

    @staticmethod
    def f(x: Any, noise: Any, lower: float, upper: float, training: bool) -> Any:
        a = RreluWithNoise._slope(noise, lower, upper, training)
        if not isinstance(a, float):
            a = a.astype(x.dtype, copy=False)
        elif not x.flags.c_contiguous:  # one slope (evaluation): PyTorch's result is
            x = get_array_module(x).ascontiguousarray(x)  # contiguous, not x's layout
        return get_array_module(x).where(x > 0, x, x * a).astype(x.dtype, copy=False)

    @staticmethod
    def derivative(ctx: Any, x: Any, y: Any) -> Any:
        p = ctx.params
        xd = x._data
        xp = get_array_module(xd)
        a = RreluWithNoise._slope(p["noise"], p["lower"], p["upper"], p["training"])
        one = xp.ones((), xd.dtype)
        return _const(xp.where(xd > 0, one, xp.asarray(a).astype(xd.dtype, copy=False)))


# ---------------------------------------------------------------------------------------
# In-place forms saving their result (PyTorch's ``*Backward1`` nodes): ``leaky_relu_``,
# ``elu_`` / ``selu_``, ``celu_`` and ``rrelu_with_noise_`` keep the result (which is the
# tensor written into, guarded by its version: ``ops/inplace.py``) and state their derivative
# from it. PyTorch refuses a slope whose sign makes the result ambiguous (a negative
# ``negative_slope`` or ``alpha``): its backward, and its tangent at once, raise.
# ---------------------------------------------------------------------------------------

_NEGATIVE_LEAKY = (
    "In-place leakyReLu backward calculation is triggered with a negative slope which is not "
    "supported. This is caused by calling in-place forward function with a negative slope, "
    "please call out-of-place version instead."
)
_NEGATIVE_ELU = (
    "In-place elu backward calculation is triggered with a negative slope which is not "
    "supported. This is caused by calling in-place forward function with a negative slope, "
    "please call out-of-place version instead."
)


def _half(a: Any) -> bool:
    """Whether ``a`` is float16 / bfloat16: PyTorch's kernels compute those in float32."""
    return a.dtype.itemsize < 4 and a.dtype.kind in "fV"


def _masked_grad(cls: Any, ctx: Any, g: Any, y: Any, d: Tensor) -> Any:
    """``g * d`` (``d`` a constant mask of slopes): float16 / bfloat16 multiplied in float32
    and rounded once, as PyTorch's kernels (the mask's slope is not rounded first). Laid out
    by ``y`` first, as PyTorch's ``leaky_relu_backward(grad, result)`` (``input_first``)."""
    if getattr(ctx, "create_graph", False) and g.requires_grad:
        return input_first(g, d, y)
    gd = g._data
    if not _half(gd):
        return input_first(g, d, y)
    return _const((gd.astype(np.float32) * d._data).astype(gd.dtype))


def _result_mask(y: Any, slope: float, wide: bool = False) -> Tensor:
    """1 where the result ``y`` (a Tensor) is positive, else ``slope`` (NaN takes ``slope``)."""
    yd = y._data
    xp = get_array_module(yd)
    one = xp.ones((), np.float32 if wide else yd.dtype)
    return _const(xp.where(yd > 0, one, one * slope))


class LeakyReluResult(UnaryElementwise):
    """``leaky_relu_``: ``LeakyRelu``'s values, PyTorch's ``LeakyReluBackward1`` (saves the
    result; derivative 1 where it is positive, else the slope)."""

    node_name = "LeakyReluBackward1"
    tie_saved = True  # a mask derivative (see Function.tie_saved)
    saves = "y"
    saved_fields = {"negative_slope": lambda n: n.params["slope"], "result": 0}

    @staticmethod
    def f(x: Any, slope: float) -> Any:
        return get_array_module(x).where(x > 0, x, x * slope)

    @staticmethod
    def derivative(ctx: Any, x: Any, y: Any) -> Any:
        slope = ctx.params["slope"]
        if slope < 0:
            raise RuntimeError(_NEGATIVE_LEAKY)
        return _result_mask(y, slope)

    @classmethod
    def chain(cls, ctx: Any, g: Any, x: Any, y: Any) -> Any:
        slope = ctx.params["slope"]
        if slope < 0:
            raise RuntimeError(_NEGATIVE_LEAKY)
        return _masked_grad(cls, ctx, g, y, _result_mask(y, slope, _half(g._data)))


def _int_one(v: float) -> float | int:
    return 1 if v == 1 else v


class EluResult(UnaryElementwise):
    """``elu_`` / ``selu_``: ``Elu``'s values, PyTorch's ``EluBackward1``: derivative
    ``scale`` where the result is positive (or NaN), else ``input_scale * (y + alpha * scale)``;
    its own derivative in ``y`` is taken only where ``y < 0`` (PyTorch's second derivative
    at ``x = 0`` is 0)."""

    node_name = "EluBackward1"
    saves = "y"
    saved_fields = {
        "alpha": lambda n: n.params["alpha"],
        "input_scale": lambda n: _int_one(n.params["input_scale"]),
        "result": 0,
        "scale": lambda n: _int_one(n.params["scale"]),
    }

    @staticmethod
    def f(x: Any, alpha: float, scale: float, input_scale: float) -> Any:
        if type(x) is np.ndarray and x.dtype == np.float32:  # PyTorch's float32 steps
            return elu_f32(x, alpha, scale, input_scale)
        xp = get_array_module(x)
        neg = xp.expm1(xp.minimum(x, 0) * input_scale) * (alpha * scale)
        return xp.where(x > 0, x * scale if scale != 1 else x, neg).astype(x.dtype, copy=False)

    @staticmethod
    def _grad_input_scale(p: dict) -> float:
        """The input scale the backward uses: the forward's (celu_'s differs)."""
        return p["input_scale"]

    @classmethod
    def derivative(cls, ctx: Any, x: Any, y: Any) -> Any:
        p = ctx.params
        if p["alpha"] < 0:
            raise RuntimeError(_NEGATIVE_ELU)
        yd = y._data
        below = where(_const(yd < 0), y, 0.0)
        negative = (below + p["alpha"] * p["scale"]) * cls._grad_input_scale(p)
        scale = _const(get_array_module(yd).asarray(p["scale"], yd.dtype))
        return where(_const(~(yd <= 0)), scale, negative)

    @classmethod
    def chain(cls, ctx: Any, g: Any, x: Any, y: Any) -> Any:
        """PyTorch's ``elu_backward`` on the result, one pass: ``(g * input_scale) *
        (y + alpha * scale)`` where ``y <= 0``, else ``g * scale`` (float16 / bfloat16 in
        float32, rounded once; celu's ``1 / alpha`` in float32 for those and float32, as
        PyTorch's kernel), unless the gradient is itself differentiated."""
        p = ctx.params
        if p["alpha"] < 0:
            raise RuntimeError(_NEGATIVE_ELU)
        if getattr(ctx, "create_graph", False) and (g.requires_grad or y.requires_grad):
            return g * cls.derivative(ctx, x, y)
        gd, yd = g._data, y._data
        xp = get_array_module(gd)
        dt = np.dtype(np.float32) if _half(gd) else gd.dtype
        gw, yw = gd.astype(dt, copy=False), yd.astype(dt, copy=False)
        inp = cls._grad_input_scale(p)
        if cls is CeluResult and dt.itemsize == 4:
            inp = np.float32(1) / np.float32(p["alpha"])
        neg = (gw * dt.type(inp)) * (yw + dt.type(p["alpha"] * p["scale"]))
        pos = gw * dt.type(p["scale"]) if p["scale"] != 1 else gw
        out = xp.where(yw <= 0, neg, pos)
        return _const(xp.asarray(out).astype(gd.dtype, copy=False))


class CeluResult(EluResult):
    """``celu_``: PyTorch's ``CeluBackward1`` (``EluResult`` with ``input_scale = 1 / alpha``)."""

    node_name = "CeluBackward1"
    saved_fields = {"alpha": lambda n: n.params["alpha"], "result": 0}

    @staticmethod
    def _grad_input_scale(p: dict) -> float:
        """PyTorch's ``1.0 / alpha.toFloat()`` (see ``Celu``): alpha rounded to float32."""
        return celu_grad_input_scale(p["alpha"])


def _rrelu_chain(g: Any, d: Any, x: Any, p: dict) -> Any:
    """rrelu's ``g * d``: in evaluation (one slope) PyTorch's ``leaky_relu_backward(grad,
    x)`` lays it out by ``x`` first (``input_first``); in training ``grad.mul(noise)``."""
    if p["training"] and p["upper"] - p["lower"] > 1e-6:
        return g * d
    return input_first(g, d, x)


class RreluWithNoiseResult(UnaryElementwise):
    """``rrelu_`` / ``rrelu(inplace=True)``: ``RreluWithNoise``'s values, PyTorch's
    ``RreluWithNoiseBackward1`` (saves the noise and the result). In training the derivative
    is the noise (1 where ``x > 0``); in evaluation 1 where the result is positive, else the
    mean slope (a negative one raises, as PyTorch's)."""

    node_name = "RreluWithNoiseBackward1"
    tie_saved = True  # a constant derivative read from what the node saved
    saves = "y"
    saved_fields = {
        "lower": lambda n: n.params["lower"],
        "noise": lambda n: _const(n.params["noise"]),
        "result": 0,
        "training": lambda n: n.params["training"],
        "upper": lambda n: n.params["upper"],
    }
    f = staticmethod(RreluWithNoise.f)

    @staticmethod
    def derivative(ctx: Any, x: Any, y: Any) -> Any:
        p = ctx.params
        yd = y._data
        if p["training"]:  # the noise holds 1 for the positive elements
            return _const(get_array_module(yd).asarray(p["noise"]).astype(yd.dtype, copy=False))
        slope = (p["lower"] + p["upper"]) / 2
        if slope < 0:
            raise RuntimeError(_NEGATIVE_LEAKY)
        return _result_mask(y, slope)

    @classmethod
    def chain(cls, ctx: Any, g: Any, x: Any, y: Any) -> Any:
        p = ctx.params
        if _half(g._data) and not p["training"] and (p["lower"] + p["upper"]) >= 0:
            return _masked_grad(
                cls, ctx, g, y, _result_mask(y, (p["lower"] + p["upper"]) / 2, True)
            )
        return _rrelu_chain(g, cls.derivative(ctx, x, y), y, p)
