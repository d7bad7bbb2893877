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

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .binary import where
from .elementwise import UnaryElementwise

__all__ = ["Hardswish", "RreluWithNoise"]


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

    @staticmethod
    def f(x: Any, noise: Any, lower: float, upper: float, training: bool) -> Any:
        a = RreluWithNoise._slope(noise, lower, upper, training)
        if not isinstance(a, float):
            a = a.astype(x.dtype, copy=False)
        return get_array_module(x).where(x > 0, x, x * a).astype(x.dtype, copy=False)

    @staticmethod
    def derivative(ctx: Any, x: Any, y: Any) -> Any:
        p = ctx.params
        xd = x._data
        xp = get_array_module(xd)
        a = RreluWithNoise._slope(p["noise"], p["lower"], p["upper"], p["training"])
        one = xp.ones((), xd.dtype)
        return _const(xp.where(xd > 0, one, xp.asarray(a).astype(xd.dtype, copy=False)))
