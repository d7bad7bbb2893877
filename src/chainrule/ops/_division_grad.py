"""Division's first-order gradient on plain NumPy operands, without recording Tensor ops.

``Div.backward`` (``ops/binary.py``) calls :func:`plain_div_grads` when no graph is being
built: for same-shaped, row-major float32/float64 NumPy operands (the gradient in any
layout, session 40) it takes the very NumPy steps that ``Div.chain_a`` (``g / b``) and
``Div.chain_b`` (``-g * (a / b / b)``) take through five recorded Tensor ops, in the same
order (so with the same rounding, and their result layouts), and
returns None for everything else (broadcasting, halves, bfloat16, complex, CuPy, a
dispatching Tensor subclass), which then goes through those Tensor ops. Session 37: 8x8
``x / (w * w + 1)`` forward + backward 68 -> 54 us (thread_time, min of 7 x 2000, under
load).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.ieee import fp_ignoring
from ..threads import elementwise
from ._first_order import grad_tensor, plain_array, wrapped

__all__ = ["plain_div_grads"]

_IGNORE = fp_ignoring("divide", "invalid", "over")  # np.errstate's, entered in 0.4 us, not 1.1


def _same_plain(g: np.ndarray, t: Any) -> bool:
    """``t`` is a Tensor over a row-major NumPy array of ``g``'s dtype and shape, of a class
    that dispatches nothing (a Parameter too), no layout mark on its memory
    (``_first_order.plain_array``): its Tensor ops would be plain ones."""
    d = plain_array(t, g)
    return type(d) is np.ndarray and d.shape == g.shape and d.flags.c_contiguous


def plain_div_grads(g: np.ndarray, a: Any, b: Any, needs: tuple) -> tuple | None:
    """(d/da, d/db) of ``a / b`` times the gradient ``g`` (its array, which
    ``_first_order.grad_array`` gave: first order, float32/float64, ...; None where
    ``needs`` says no), or None when the operands are not plain same-shaped NumPy ones of
    ``g``'s dtype. ``a`` is None when only d/da is needed (it is not saved then)."""
    if (
        not _same_plain(g, b)
        or (a is not None and not _same_plain(g, a))
        or (needs[1] and a is None)
    ):
        return None
    bd = b._data
    if g.flags.c_contiguous:  # row-major operands of one shape: row-major results, no
        with _IGNORE():  # layout step (8x8 float32 x / w forward + backward -1.5 us)
            ga = wrapped(g / bd) if needs[0] else None  # (a 0-d array's scalar: wrapped)
            if needs[1]:  # -g ((a / b) / b): chain_b's order, Neg's, Div's and Mul's kernels
                gb = wrapped(elementwise(np.multiply, -g, a._data / bd / bd))
            else:
                gb = None
        return ga, gb
    with _IGNORE():  # x/0: inf, as torch
        # g / b: Div.f, then BinaryElementwise's layout for the operands (g may be in any
        # layout: a sum's expanded gradient, a transpose's; 8x8 float32 (x / w).sum()
        # forward + backward 69 -> 52 us, thread_time, min of 3 x 7 x 2000, heavy load;
        # row-major g only before)
        ga = grad_tensor(g / bd, g, bd) if needs[0] else None
        if needs[1]:  # -g ((a / b) / b): chain_b's order, Neg's, Div's and Mul's kernels
            q = a._data / bd / bd  # (row-major operands of one shape: a row-major result)
            ng = -g
            gb = grad_tensor(elementwise(np.multiply, ng, q), ng, q)
        else:
            gb = None
    return ga, gb
