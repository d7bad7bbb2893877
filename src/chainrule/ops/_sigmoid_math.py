"""The sigmoid's formulas on arrays: the overflow-free form for float64 (and float16 through
float32) and PyTorch's float32 steps, which round where its CPU kernel rounds (1 from
x > 16.6, 0 below -88.7). Kept apart from ``unary.py`` so that the op reads as the op."""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module

__all__ = ["sigmoid_f32", "stable_sigmoid"]


def stable_sigmoid(x):
    """sigma(x) = 1/(1+e^-x) for x >= 0 and e^x/(1+e^x) for x < 0: never overflows."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_f32(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) for a float32 array in float32 steps, as PyTorch's CPU kernel: 1 where
    1 + e^-x rounds to 1 (x > 16.6), 0 where e^-x overflows (x < -88.7), never a warning."""
    out = np.negative(x, out=np.empty(x.shape, x.dtype))  # an array for a 0-d x too
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)
