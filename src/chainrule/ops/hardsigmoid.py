"""hardsigmoid as one op (PyTorch's ``HardsigmoidBackward0``), whose gradient has no
derivative: behind ``nn.functional.hardsigmoid`` and ``nn.Hardsigmoid``.

    hardsigmoid(x) = clamp(x + 3, 0, 6) / 6
    d hardsigmoid / dx = 1/6 where -3 < x < 3, else 0   (0 at the kinks, as PyTorch)

PyTorch computes the gradient with ``hardsigmoid_backward``, an op without a derivative of
its own: the first gradient taken with ``create_graph=True`` requires grad under a
``NotImplemented`` node, and differentiating it again raises ``RuntimeError("derivative for
aten::hardsigmoid_backward is not implemented")`` (``NotImplementedError`` in forward mode,
e.g. ``hessian``). The old composition ``hardtanh(x + 3) / 6`` gave zeros instead; this op
gives PyTorch's errors (:func:`~chainrule.ops.no_derivative.record_no_derivative`).
``hardswish`` keeps its own composition: PyTorch differentiates it twice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .elementwise import UnaryElementwise
from .no_derivative import record_no_derivative

__all__ = ["Hardsigmoid", "hardsigmoid_backward"]

# PyTorch's slope: 1/6 rounded to float32 (0.1666666716337204), the gradient g times it in
# every dtype (float64 too; halves in float32), where g / 6 is an ulp off a third of the time
_ONE_SIXTH = float(np.float32(1.0 / 6.0))


def _sixth(gd: Any) -> Any:
    """``gd * _ONE_SIXTH`` in ``gd``'s dtype (float16 and bfloat16 computed in float32)."""
    if gd.dtype.itemsize < 4:
        return (gd.astype(np.float32) * _ONE_SIXTH).astype(gd.dtype)
    return gd * _ONE_SIXTH


class Hardsigmoid(UnaryElementwise):
    """clamp(x + 3, 0, 6) / 6; saves ``x``, as PyTorch; its gradient is
    :func:`hardsigmoid_backward`."""

    saves = "x"

    @staticmethod
    def f(x: Any) -> Any:
        return get_array_module(x).clip(x + 3.0, 0.0, 6.0) / 6.0  # NaN stays NaN (PyTorch)

    @staticmethod
    def derivative(ctx: Any, x: Any, y: Any) -> Any:
        xd = x._data
        inside = (xd > -3.0) & (xd < 3.0)
        return Tensor._make(_sixth(inside.astype(xd.dtype)), False, None, 0)

    @staticmethod
    def chain(ctx: Any, g: Any, x: Any, y: Any) -> Any:
        return hardsigmoid_backward(g, x)


def hardsigmoid_backward(g: Tensor, x: Tensor) -> Tensor:
    """``g / 6`` (PyTorch's rounding: :data:`_ONE_SIXTH`) where ``-3 < x < 3``, else 0 (NaN
    in ``g`` there too): PyTorch's ``hardsigmoid_backward``. Recorded, when ``g`` or ``x``
    requires grad, under a node whose backward and tangent raise PyTorch's errors."""
    xd, gd = x._data, g._data
    xp = get_array_module(xd)
    inside = (xd > -3.0) & (xd < 3.0)
    out = xp.where(inside, _sixth(gd), 0.0).astype(gd.dtype, copy=False)
    return record_no_derivative("hardsigmoid_backward", Tensor._make(out, False, None, 0), g, x)
