"""The window formulas, in float64 NumPy, shared by ``cr.signal.windows`` and the top-level
``cr.hann_window`` family.

Each formula is a function of ``m``, the number of points of the *symmetric* window
(m >= 2), indexed i = 0 .. m - 1 with the centre at (m - 1) / 2. ``window`` turns one into
the window of ``n`` points that the public functions return: the symmetric window itself, or
for spectral analysis the periodic one, which is the symmetric window of n + 1 points less
its last point (so that repeating it tiles a period). Windows of 0 and 1 points are empty
and ``[1.]`` whatever the formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = [
    "Formula",
    "bartlett",
    "cosine",
    "cosine_sum",
    "exponential",
    "gaussian",
    "kaiser",
    "window",
]

Formula = Callable[[int], np.ndarray]


def window(n: int, sym: bool, formula: Formula) -> np.ndarray:
    """The float64 window of ``n`` points: ``formula(n)`` when ``sym``, else the first n of
    ``formula(n + 1)``; ``[]`` and ``[1.]`` for n = 0 and 1."""
    if n <= 1:
        return np.ones(n)
    return formula(n) if sym else formula(n + 1)[:n].copy()  # no hidden (n + 1)th point


def _offsets(m: int) -> np.ndarray:
    """i - (m - 1) / 2 for i = 0 .. m - 1: each point's distance from the centre."""
    return np.arange(m) - (m - 1) / 2.0


def cosine_sum(*coefs: float) -> Formula:
    """The generalized cosine window sum_k (-1)^k a_k cos(2 pi k i / (m - 1)).

    Hann is (0.5, 0.5), Hamming (0.54, 0.46), Blackman (0.42, 0.5, 0.08); the alternating
    signs make every coefficient add at the centre, where the window is sum_k a_k.
    """

    def formula(m: int) -> np.ndarray:
        phase = 2.0 * math.pi * np.arange(m) / (m - 1)
        return sum((-1) ** k * a * np.cos(k * phase) for k, a in enumerate(coefs))

    return formula


def bartlett(m: int) -> np.ndarray:
    """The triangular window 1 - |2 i / (m - 1) - 1|: 0 at both ends, 1 at the centre."""
    return 1.0 - np.abs(2.0 * np.arange(m) / (m - 1) - 1.0)


def cosine(m: int) -> np.ndarray:
    """The sine window sin(pi (i + 1/2) / m), half a sine period over the m points."""
    return np.sin(math.pi * (np.arange(m) + 0.5) / m)


def gaussian(std: float) -> Formula:
    """exp(-d^2 / (2 std^2)) at distance d from the centre."""

    def formula(m: int) -> np.ndarray:
        return np.exp(-0.5 * (_offsets(m) / std) ** 2)

    return formula


def exponential(center: float | None, tau: float) -> Formula:
    """exp(-|i - center| / tau); ``center`` None is the middle, (m - 1) / 2."""

    def formula(m: int) -> np.ndarray:
        c = (m - 1) / 2.0 if center is None else center
        return np.exp(-np.abs(np.arange(m) - c) / tau)

    return formula


def kaiser(beta: float) -> Formula:
    """I0(beta r) / I0(beta) with r = sqrt(1 - (2 i / (m - 1) - 1)^2): 1 at the centre,
    1 / I0(beta) at the ends. As in PyTorch, I0(beta) overflows past beta ~ 713, where the
    window becomes 0 with NaN at the centre (inf / inf), and beta = inf gives NaN."""

    def formula(m: int) -> np.ndarray:
        x = 2.0 * np.arange(m) / (m - 1) - 1.0
        r = np.sqrt(np.clip(1.0 - x * x, 0.0, None))
        with np.errstate(over="ignore", invalid="ignore"):
            return np.i0(beta * r) / np.i0(np.float64(beta))

    return formula
