"""Complex forms of two-input elementwise ops whose real kernel cannot take complex numbers.

NumPy's ``logaddexp`` is real-only; the public ``logaddexp`` sends complex tensors here from
the dtype branch it already had (real inputs pay nothing more). The op is holomorphic: its
rule is written as for real numbers and the engine turns it into PyTorch's conjugate
convention (``ops/complex_support.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import get_array_module
from .elementwise import BinaryElementwise
from .unary import sigmoid

__all__ = ["ComplexLogAddExp"]


class ComplexLogAddExp(BinaryElementwise):
    """``log(e^a + e^b)`` for complex ``a``, ``b``, computed as PyTorch does:
    ``m + log1p(e^(n - m))`` with ``m`` the input of larger real part (``a`` on a tie), so the
    imaginary part follows ``m``'s, not the principal branch of the log. Where both real parts
    are the same infinity the formula gives NaN; there PyTorch returns ``b`` (-inf) or
    ``log(e^a + e^b)`` directly (+inf), and so does this.

    ``d/da = e^a / (e^a + e^b) = sigmoid(a - b)``, ``d/db = sigmoid(b - a)`` (holomorphic).
    """

    saves_a = saves_b = "ab"
    complex_grad = "holomorphic"
    node_name = ("LogaddexpBackward0", (0, 1))

    @staticmethod
    def f(a: Any, b: Any) -> Any:
        xp = get_array_module(a, b)
        a, b = xp.asarray(a), xp.asarray(b)
        dtype = np.result_type(a, b)
        with np.errstate(all="ignore"):
            swap = b.real > a.real
            m, n = xp.where(swap, b, a), xp.where(swap, a, b)
            out = m + xp.log1p(xp.exp(n - m))
            same_inf = xp.isinf(a.real) & (a.real == b.real)
            if same_inf.any():
                direct = xp.log(xp.exp(a) + xp.exp(b))
                out = xp.where(same_inf, xp.where(a.real > 0, direct, b), out)
        return out.astype(dtype, copy=False)

    @staticmethod
    def derivative_a(ctx: Any, a: Any, b: Any, y: Any) -> Any:
        return sigmoid(a - b)

    @staticmethod
    def derivative_b(ctx: Any, a: Any, b: Any, y: Any) -> Any:
        return sigmoid(b - a)
