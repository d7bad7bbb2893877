"""The strong-Wolfe line search that ``LBFGS(line_search_fn="strong_wolfe")`` uses.

A step ``t`` along a descent direction ``d`` is accepted when it decreases the loss enough
(Armijo: ``f(t) <= f(0) + c1 t g(0)·d``) and the slope has flattened enough
(``|g(t)·d| <= c2 |g(0)·d|``). The search grows ``t`` by cubic extrapolation until a
bracket containing such a step is found, then shrinks the bracket by cubic interpolation
("zoom"; Nocedal & Wright, Algorithms 3.5 and 3.6), with the same safeguards and constants
as PyTorch so that the iterates agree with ``torch.optim.LBFGS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["cubic_interpolate", "strong_wolfe"]


def cubic_interpolate(
    x1: float,
    f1: float,
    g1: float,
    x2: float,
    f2: float,
    g2: float,
    bounds: tuple[float, float] | None = None,
) -> float:
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to
    ``bounds`` (default: the interval between x1 and x2); the midpoint if it has none."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def strong_wolfe(
    obj: Callable[[float], tuple[float, Any]],
    t: float,
    d: Any,
    f: float,
    g: Any,
    gtd: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> tuple:
    """Search along ``d`` from loss ``f`` and gradient ``g`` (``gtd = g·d < 0``).

    Args:
        obj: ``obj(t) -> (loss, flat_gradient)`` at ``x + t d`` (parameters restored after).
        t: the first trial step.

    Returns:
        ``(loss, flat_gradient, t, evaluations)`` at the accepted step.
    """
    d_norm = float(abs(d).max())
    f_new, g_new = obj(t)
    evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g.copy(), gtd
    done = False
    ls_iter = 0
    bracket: list = []
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new.copy(), gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:  # both Wolfe conditions hold
            bracket = [[t, f_new, g_new, gtd_new]]
            done = True
            break
        if gtd_new >= 0:  # the slope turned: a minimum lies between t_prev and t
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new.copy(), gtd_new]]
            break
        # extrapolate: a cubic step between 1.01 t - 0.01 t_prev and 10 t
        lo, hi = t + 0.01 * (t - t_prev), t * 10
        t_next = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(lo, hi))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new.copy(), gtd_new
        t = t_next
        f_new, g_new = obj(t)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket = [[0.0, f, g, None], [t, f_new, g_new, None]]
    return _zoom(
        obj, bracket, done, ls_iter, evals, f, gtd, d_norm, c1, c2, tolerance_change, max_ls, d
    )


def _zoom(
    obj: Callable,
    bracket: list,
    done: bool,
    ls_iter: int,
    evals: int,
    f: float,
    gtd: float,
    d_norm: float,
    c1: float,
    c2: float,
    tolerance_change: float,
    max_ls: int,
    d: Any,
) -> tuple:
    """Shrink ``bracket`` (entries ``[t, f, g, g·d]``) until a strong-Wolfe step is found."""
    insufficient_progress = False
    low, high = (0, 1) if len(bracket) == 1 or bracket[0][1] <= bracket[-1][1] else (1, 0)
    while not done and ls_iter < max_ls:
        (t0, f0, _, s0), (t1, f1, _, s1) = bracket
        if abs(t1 - t0) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(t0, f0, s0, t1, f1, s1)
        top, bottom = max(t0, t1), min(t0, t1)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:  # too close to an end: move away from it
            if insufficient_progress or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = obj(t)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = [t, f_new, g_new.copy(), gtd_new]
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = list(bracket[low])
            bracket[low] = [t, f_new, g_new.copy(), gtd_new]
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals
