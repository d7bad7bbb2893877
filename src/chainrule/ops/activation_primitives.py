"""Activation functions as single elementwise ops, each under PyTorch's node name.

``leaky_relu``, ``elu``/``selu``/``celu``, ``logsigmoid``, ``mish``, ``hardshrink``,
``softshrink``, ``threshold`` and ``prelu`` were compositions (a ``where`` over a product, an
``expm1`` of a clamp, ``-softplus(-x)``): two to four nodes, each keeping its own input for
backward. As one :class:`UnaryElementwise` each they record one node that saves what
PyTorch's saves, print as PyTorch's (``LeakyReluBackward0``, ``EluBackward0``,
``CeluBackward0``, ``LogSigmoidBackward0``, ...), and state their derivative once (backward,
double backward and forward mode follow from it, see ``elementwise.py``).

Kinks take PyTorch's side: at ``x = 0`` leaky_relu's slope and elu's ``alpha`` branch
(``x <= 0``) give the first derivative, and elu's second derivative there is 0, as
PyTorch's ``elu_backward`` differentiates (its negative branch is ``x < 0``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.ieee import fp_ignoring
from ..autograd.saved_fields import tensor_field
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._activation_math import (
    celu_grad_input_scale,
    elu_f32,
    elu_grad_f32,
    logsigmoid_grad_f32,
)
from .binary import where
from .elementwise import BinaryElementwise, UnaryElementwise
from .input_first_grads import DerivativeFirst, input_first, plain_layout
from .pairwise_extremes import _masked_chain
from .unary import exp
from .unary_activations import sigmoid, softplus, tanh
from .unary_inputs import _mask

__all__ = [
    "Celu",
    "Elu",
    "Hardshrink",
    "LeakyRelu",
    "LogSigmoid",
    "Mish",
    "Prelu",
    "Softshrink",
    "Threshold",
    "ThresholdInplace",
]

# np.errstate(<events>="ignore")'s setting, entered in 0.4 us, not 1.1 (ieee.fp_ignoring)
_IGNORE_OVER = fp_ignoring("over")


def _const(array: Any) -> Tensor:
    return Tensor._make(array, False, None, 0)


class LeakyRelu(DerivativeFirst, UnaryElementwise):  # leaky_relu_backward(grad, self)
    """``x`` if ``x > 0`` else ``slope * x``; derivative 1 or ``slope`` (a constant)."""

    tie_saved = True  # a mask derivative (see Function.tie_saved)
    saved_fields = {"negative_slope": lambda n: n.params["slope"], "self": 0}  # grad_fn._saved_*

    @staticmethod
    def f(x, slope):
        return get_array_module(x).where(x > 0, x, x * slope)

    @staticmethod
    def derivative(ctx, x, y):
        xd = x._data
        xp = get_array_module(xd)
        one = xp.ones((), xd.dtype)
        return _const(xp.where(xd > 0, one, one * ctx.params["slope"]))


class Prelu(BinaryElementwise):
    """``x`` if ``x > 0`` else ``weight * x`` (``weight`` broadcast over channels), under
    PyTorch's ``PreluKernelBackward0``. Both gradients are tied to the saved input and weight
    under ``create_graph``, so the second derivative with respect to ``x`` is zeros (as in
    PyTorch), and the cross terms ``d(grad_x)/d(weight)`` and ``d(grad_weight)/dx`` are the
    negative-side mask. At ``x = 0`` the first derivative is ``weight``, as PyTorch's; its
    second-order terms there take one side consistently (PyTorch's mix sides at the kink)."""

    tie_saved = True  # a mask derivative in x (see Function.tie_saved)
    node_name = "PreluKernelBackward0"
    saves_a = "ab"
    saves_b = "a"
    saved_fields = {"self": 0, "weight": 1}  # grad_fn._saved_* as PyTorch's names

    @staticmethod
    def f(x, weight):
        return get_array_module(x).where(x > 0, x, x * weight)

    @staticmethod
    def derivative_a(ctx, x, weight, y):
        return where(_const(x._data > 0), _const(np.ones((), x._data.dtype)), weight)

    @classmethod
    def chain_a(cls, ctx, g, x, weight, y):  # PyTorch's kernel reads (self, weight, grad)
        return input_first(g, cls.derivative_a(ctx, x, weight, y), x)

    @staticmethod
    def derivative_b(ctx, x, weight, y):
        return where(_const(x._data > 0), _const(np.zeros((), x._data.dtype)), x)


def _int_one(v: float) -> float | int:
    """A scale of elu's node as PyTorch shows it: 1 (F.elu passes the int), else as given."""
    return 1 if v == 1 else v


class Elu(UnaryElementwise):
    """``scale * x`` if ``x > 0`` else ``scale * alpha * (exp(input_scale * x) - 1)``: elu
    (``scale = input_scale = 1``) and selu (PyTorch's constants) under ``EluBackward0``."""

    saved_fields = {  # grad_fn._saved_* as PyTorch's; its unit scales are the int 1
        "alpha": lambda n: n.params["alpha"],
        "input_scale": lambda n: _int_one(n.params["input_scale"]),
        "scale": lambda n: _int_one(n.params["scale"]),
        "self": 0,
    }

    @staticmethod
    def f(x, alpha, scale, input_scale):
        if x.dtype == np.float16:  # PyTorch's: computed in float32, rounded once
            return Elu.f(x.astype(np.float32), alpha, scale, input_scale).astype(np.float16)
        if type(x) is np.ndarray and x.dtype == np.float32:  # PyTorch's float32 steps
            return elu_f32(x, alpha, scale, input_scale)
        xp = get_array_module(x)
        neg = xp.expm1(xp.minimum(0, x) * input_scale) * (alpha * scale)  # keeps -0.0 (PyTorch)
        return xp.where(x > 0, x * scale if scale != 1 else x, neg).astype(x.dtype, copy=False)

    @staticmethod
    def _grad_input_scale(p: dict) -> float:
        """The input scale the backward (and jvp) uses: the forward's (celu's differs)."""
        return p["input_scale"]

    @classmethod
    def derivative(cls, ctx, x, y):
        # reads x only, as PyTorch's EluBackward0 saves only self (the result may change)
        p = ctx.params
        s = cls._grad_input_scale(p)
        xd = x._data
        below = where(_const(xd < 0), x, 0.0)  # constant at x = 0: PyTorch's second derivative
        negative = exp(below * s) * (s * p["scale"] * p["alpha"])
        # NaN takes the scale branch, as PyTorch's (its negative branch is x <= 0)
        return where(_const(~(xd <= 0)), _const(np.asarray(p["scale"], xd.dtype)), negative)

    @classmethod
    def chain(cls, ctx: Any, g: Any, x: Any, y: Any) -> Any:
        """float32: PyTorch's ``elu_backward`` steps in one pass (:func:`elu_grad_f32`),
        unless the gradient is itself differentiated; else ``g`` times the derivative."""
        gd, xd = g._data, x._data
        if (
            type(gd) is np.ndarray
            and type(xd) is np.ndarray
            and gd.dtype == xd.dtype == np.float32
            and gd.shape == xd.shape
            and not (getattr(ctx, "create_graph", False) and (g.requires_grad or x.requires_grad))
        ):
            p = ctx.params
            s = cls._grad_input_scale(p)
            return _const(elu_grad_f32(gd, xd, p["alpha"], p["scale"], s))
        return g * cls.derivative(ctx, x, y)


class Celu(Elu):
    """celu (``elu`` with ``input_scale = 1 / alpha``), under PyTorch's ``CeluBackward0``."""

    saved_fields = {"alpha": lambda n: n.params["alpha"], "self": 0}  # grad_fn._saved_*

    @staticmethod
    def _grad_input_scale(p: dict) -> float:
        """PyTorch's ``CeluBackward0`` (and its forward-mode and double derivatives) passes
        ``1.0 / alpha.toFloat()``: alpha rounded to float32 first, unlike the forward's
        ``1.0 / alpha``, so a float64 gradient differs from ``exp(x / alpha)`` at ~1e-8."""
        return celu_grad_input_scale(p["alpha"])


class LogSigmoid(UnaryElementwise):
    """``log σ(x) = min(x, 0) - log1p(exp(-|x|))``, finite for every finite x. PyTorch's node
    also shows its forward's ``buffer``, ``exp(-|x|)``: computed from the input on access."""

    saved_fields = {"buffer": tensor_field(lambda n: _logsigmoid_buffer(n)), "self": 0}

    @staticmethod
    def f(x):
        if x.dtype == np.float16:  # PyTorch's: computed in float32, rounded once
            return LogSigmoid.f(x.astype(np.float32)).astype(np.float16)
        xp = get_array_module(x)
        y = xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))
        # row-major whatever x's layout: PyTorch's log_sigmoid_forward allocates its output
        # (and buffer) contiguous, unlike the elementwise ops
        return y.astype(x.dtype, order="C", copy=False)

    @staticmethod
    def derivative(ctx, x, y):
        return sigmoid(-x)

    @classmethod
    def chain(cls, ctx: Any, g: Any, x: Any, y: Any) -> Any:
        """float32: PyTorch's ``log_sigmoid_backward`` steps in one pass (from its buffer
        ``exp(-|x|)``), unless the gradient is itself differentiated; else ``g σ(-x)``."""
        gd, xd = g._data, x._data
        if (
            type(gd) is np.ndarray
            and type(xd) is np.ndarray
            and gd.dtype == xd.dtype == np.float32
            and gd.shape == xd.shape
            and not (getattr(ctx, "create_graph", False) and (g.requires_grad or x.requires_grad))
        ):
            return _const(logsigmoid_grad_f32(gd, xd))
        return g * cls.derivative(ctx, x, y)


def _logsigmoid_buffer(node: Any) -> Tensor:
    """``exp(-|x|)`` of the node's saved input (``LogSigmoidBackward0._saved_buffer``)."""
    x = node.saved_tensor(0)._data
    xp = get_array_module(x)
    return Tensor._make(xp.ascontiguousarray(xp.exp(-abs(x))), False, None, 0)


class Mish(UnaryElementwise):
    """``x tanh(softplus(x))``; derivative ``t + x σ(x) (1 - t²)``, ``t = tanh(softplus(x))``."""

    @staticmethod
    def f(x):
        if type(x) is np.ndarray and x.dtype in _MISH_F32_STEPS:
            return _mish_f32(x)
        xp = get_array_module(x)
        return (x * xp.tanh(xp.logaddexp(0, x))).astype(x.dtype, copy=False)

    @staticmethod
    def derivative(ctx, x, y):
        t = tanh(softplus(x))
        return t + x * sigmoid(x) * (1 - t * t)


_MISH_F32_STEPS = (np.dtype(np.float32), np.dtype(np.float16))


def _mish_f32(x: np.ndarray) -> np.ndarray:
    """mish of a float32 (or float16) array as PyTorch's CPU kernel, ``x tanh(log1p(e^x))``
    with e^x, the log1p and the tanh each rounded once to float32 (computed in float64);
    float16 through float32, rounded once, as PyTorch's. 95% bit-equal to PyTorch's on
    float32 (92% before) and 2-3x faster than the logaddexp form."""
    if x.dtype == np.float16:
        return _mish_f32(x.astype(np.float32)).astype(np.float16)
    w = np.empty(x.shape, np.float64)
    with _IGNORE_OVER():  # e^x = inf: log1p and tanh give inf and 1 (y = x)
        np.exp(x, out=w, dtype=np.float64)
        y = w.astype(np.float32)
    np.log1p(y, out=w, dtype=np.float64)
    y[...] = w
    np.tanh(y, out=w, dtype=np.float64)
    y[...] = w
    y *= x
    return y


class Hardshrink(UnaryElementwise):
    """``x`` unless ``-lambd <= x <= lambd`` (then 0; NaN passes, as PyTorch)."""

    tie_saved = True  # a mask derivative (see Function.tie_saved)
    saved_fields = {"lambd": lambda n: n.params["lambd"], "self": 0}  # grad_fn._saved_*

    @staticmethod
    def kept(x, lambd):
        return ~((x >= -lambd) & (x <= lambd))

    @staticmethod
    def f(x, lambd):
        return get_array_module(x).where(Hardshrink.kept(x, lambd), x, 0).astype(x.dtype)

    @staticmethod
    def derivative(ctx, x, y):
        return _mask(Hardshrink.kept(x._data, ctx.params["lambd"]), x._data.dtype)

    @classmethod
    def chain(cls, ctx, g, x, y):  # 0 where masked, even for a NaN gradient (PyTorch)
        return _masked_chain(g, cls.derivative(ctx, x, y))


class Softshrink(UnaryElementwise):
    """``x - clamp(x, -lambd, lambd)``: exact (0 inside the band), derivative 1 outside it."""

    tie_saved = True  # a mask derivative (see Function.tie_saved)
    saved_fields = {"lambd": lambda n: n.params["lambd"], "self": 0}  # grad_fn._saved_*

    @staticmethod
    def f(x, lambd):
        xp = get_array_module(x)
        return (x - xp.minimum(xp.maximum(x, -lambd), lambd)).astype(x.dtype, copy=False)

    @staticmethod
    def derivative(ctx, x, y):
        return _mask(Hardshrink.kept(x._data, ctx.params["lambd"]), x._data.dtype)

    @classmethod
    def chain(cls, ctx, g, x, y):  # 0 where masked, even for a NaN gradient (PyTorch)
        return _masked_chain(g, cls.derivative(ctx, x, y))


class Threshold(UnaryElementwise):
    """``x`` if ``x > threshold`` else ``value`` (NaN, never ``<=``, stays NaN)."""

    tie_saved = True  # a mask derivative (see Function.tie_saved)
    saved_fields = {"self": 0, "threshold": lambda n: n.params["threshold"]}  # _saved_*

    @staticmethod
    def f(x, threshold, value):
        xp = get_array_module(x)
        return xp.where(~(x <= threshold), x, value).astype(x.dtype, copy=False)

    @staticmethod
    def derivative(ctx, x, y):
        return _mask(~(x._data <= ctx.params["threshold"]), x._data.dtype)

    @classmethod
    def chain(cls, ctx, g, x, y):  # 0 where masked, even for a NaN gradient (PyTorch)
        # threshold_backward(grad, self): laid out by x first (input_first_grads.py)
        return _masked_chain(g, cls.derivative(ctx, x, y), first=plain_layout(x))


class ThresholdInplace(Threshold):
    """``threshold_``: ``Threshold`` under PyTorch's in-place node ``ThresholdBackward1``
    (saving the old input, a private copy: ``ops/inplace.py``)."""

    node_name = "ThresholdBackward1"
