"""Complex forms of elementwise ops whose real kernel cannot take complex numbers.

The real ``Sigmoid`` is computed by a branch on the sign of ``x`` (stable for any real
input) or a compiled float kernel; neither exists for complex ``z``. The public ``sigmoid``
sends complex inputs here instead (its dtype check was already there, so real inputs pay
nothing more). The op is holomorphic, so its rule is written as for real numbers and the
engine turns it into PyTorch's conjugate convention (``ops/complex_support.py``).
"""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module
from .elementwise import UnaryElementwise

__all__ = ["ComplexAcosh", "ComplexSigmoid"]


class ComplexSigmoid(UnaryElementwise):
    """``sigmoid(z) = 1 / (1 + e^-z)`` for complex ``z``; ``d/dz = y (1 - y)`` (holomorphic).

    Only the output is saved, as for the real op. Where ``e^-z`` overflows the value is NaN,
    as PyTorch's, computed silently as PyTorch does (NumPy's warnings are off here)."""

    saves = "y"
    complex_grad = "holomorphic"
    node_name = "SigmoidBackward0"

    @staticmethod
    def f(x):
        xp = get_array_module(x)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return (1 / (1 + xp.exp(-x))).astype(x.dtype, copy=False)

    @staticmethod
    def derivative(ctx, x, y):
        return y * (1 - y)


class ComplexAcosh(UnaryElementwise):
    """``acosh(z)`` for complex ``z``; ``d/dz = 1 / (sqrt(z - 1) sqrt(z + 1))`` (holomorphic).

    The real rule ``rsqrt(x^2 - 1)`` is the same function only for real ``x > 1``: for complex
    ``z`` the principal ``sqrt(z^2 - 1)`` differs from ``sqrt(z - 1) sqrt(z + 1)`` by a sign on
    half the plane (Re z < 0), where it would give the wrong sign. PyTorch uses this form."""

    complex_grad = "holomorphic"
    node_name = "AcoshBackward0"

    @staticmethod
    def f(x):
        return get_array_module(x).arccosh(x)

    @staticmethod
    def derivative(ctx, x, y):
        return ((x - 1).sqrt() * (x + 1).sqrt()).reciprocal()
