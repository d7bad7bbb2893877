"""SiLU (swish) as one op, and its gradient as another (both differentiable): behind
``nn.functional.silu`` and ``nn.SiLU``.

    silu(x) = x σ(x)
    d silu / dx      = σ(x) (1 + x (1 - σ(x)))              (``SiluGrad(g, x) = g · that``)
    ∂ SiluGrad / ∂g  = σ(x) (1 + x (1 - σ(x)))              (``SiluGrad`` again)
    ∂ SiluGrad / ∂x  = g σ(x) (1 - σ(x)) (2 + x (1 - 2 σ(x)))

Why one op rather than the composition ``x * sigmoid(x)``: the composition records two nodes
and keeps both ``x`` and ``σ(x)`` for backward, while PyTorch's ``SiluBackward0`` keeps only
the input; this op keeps only ``x`` too (half the memory held per activation) and shows
PyTorch's node name in ``grad_fn`` (Conformer and EfficientNet-style scripts print it). The
sigmoid is the compiled one of ``Sigmoid.f``; forward plus backward of a (512, 1024) float32
activation costs about what the composition did.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import dispatch as _fast
from ..autograd.ieee import fp_ignoring
from .elementwise import BinaryElementwise, UnaryElementwise
from .unary import Sigmoid, sigmoid

__all__ = ["Silu", "SiluGrad", "silu_grad"]

# np.errstate(<events>="ignore")'s setting, entered in 0.4 us, not 1.1 (ieee.fp_ignoring)
_IGNORE_OVER_INVALID = fp_ignoring("over", "invalid")


class Silu(UnaryElementwise):
    """x σ(x); saves only ``x``, as PyTorch; its gradient is the fused ``SiluGrad``."""

    saves = "x"

    @staticmethod
    def f(x: Any) -> Any:
        y = _fast.silu(x)  # compiled one-pass float32 kernel: x / (1 + e^-x), PyTorch's
        if y is not None:
            return y
        if x.dtype == np.float32 and type(x) is np.ndarray:  # PyTorch's float32 steps
            y = np.negative(x, out=np.empty(x.shape, x.dtype))  # an array for 0-d too
            with _IGNORE_OVER_INVALID():  # -inf / inf: NaN, as PyTorch
                np.exp(y, out=y)
                y += 1
                return np.divide(x, y, out=y)
        if x.dtype == np.float16:  # PyTorch's: computed in float32, rounded once
            return Silu.f(x.astype(np.float32)).astype(np.float16)
        s = Sigmoid.f(x)  # a new array: multiplied in place
        s *= x
        return s

    @staticmethod
    def derivative(ctx: Any, x: Any, y: Any) -> Any:
        s = sigmoid(x)
        return s * (1 + x * (1 - s))

    @staticmethod
    def chain(ctx: Any, g: Any, x: Any, y: Any) -> Any:
        return silu_grad(g, x)


class SiluGrad(BinaryElementwise):
    """g σ(x) (1 + x (1 - σ(x))) for upstream gradient g and SiLU input x."""

    saves_a = "b"
    saves_b = "ab"

    @staticmethod
    def f(g: Any, x: Any) -> Any:
        s = Sigmoid.f(x)
        d = 1 - s
        d *= x
        d += 1
        d *= s
        return g * d

    @staticmethod
    def derivative_a(ctx: Any, g: Any, x: Any, y: Any) -> Any:
        return Silu.derivative(ctx, x, None)

    @staticmethod
    def derivative_b(ctx: Any, g: Any, x: Any, y: Any) -> Any:
        s = sigmoid(x)
        return g * (s * (1 - s) * (2 + x * (1 - 2 * s)))

    @staticmethod
    def chain_a(ctx: Any, gg: Any, g: Any, x: Any, y: Any) -> Any:
        return silu_grad(gg, x)


def silu_grad(g: Any, x: Any) -> Any:
    """g σ(x) (1 + x (1 - σ(x))): the gradient of SiLU at input x."""
    return SiluGrad.apply(g, x)
