"""Division's first-order gradient on plain NumPy operands, without recording Tensor ops.

``Div.backward`` (``ops/binary.py``) calls :func:`plain_div_grads` when no graph is being
built: for same-shaped, row-major float32/float64 NumPy operands it takes the very NumPy
steps that ``Div.chain_a`` (``g / b``) and ``Div.chain_b`` (``-g * (a / b / b)``) take
through five recorded Tensor ops, in the same order (so with the same rounding), and
returns None for everything else (broadcasting, halves, bfloat16, complex, CuPy, a
dispatching Tensor subclass), which then goes through those Tensor ops. Session 37: 8x8
``x / (w * w + 1)`` forward + backward 68 -> 54 us (thread_time, min of 7 x 2000, under
load).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.ieee import fp_ignoring
from ..autograd.tensor import Tensor
from ..autograd.torch_function import is_dispatching_type
from ..threads import elementwise

__all__ = ["plain_div_grads"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_IGNORE = fp_ignoring("divide", "invalid", "over")  # np.errstate's, entered in 0.4 us, not 1.1


def _same_plain(g: np.ndarray, t: Any) -> bool:
    """``t`` is a Tensor over a row-major NumPy array of ``g``'s dtype and shape, of a class
    that dispatches nothing (a Parameter too): its Tensor ops would be plain ones."""
    if type(t) is not Tensor and (not isinstance(t, Tensor) or is_dispatching_type(type(t))):
        return False
    d = t._data
    return (
        type(d) is np.ndarray and d.dtype == g.dtype and d.shape == g.shape and d.flags.c_contiguous
    )


def plain_div_grads(grad: Any, a: Any, b: Any, needs: tuple) -> tuple | None:
    """(d/da, d/db) of ``a / b`` times ``grad`` (None where ``needs`` says no), or None when
    the operands are not plain same-shaped float NumPy ones. ``a`` is None when only d/da is
    needed (it is not saved then)."""
    if type(grad) is not Tensor:
        return None
    g = grad._data
    if (
        type(g) is not np.ndarray
        or g.dtype not in _FLOATS
        or not g.flags.c_contiguous
        or not _same_plain(g, b)
        or (a is not None and not _same_plain(g, a))
        or (needs[1] and a is None)
    ):
        return None
    bd = b._data
    with _IGNORE():  # x/0: inf, as torch
        ga = Tensor._make(g / bd, False, None, 0) if needs[0] else None
        if needs[1]:  # -g ((a / b) / b): chain_b's order, Mul's kernel
            gb = Tensor._make(elementwise(np.multiply, -g, a._data / bd / bd), False, None, 0)
        else:
            gb = None
    return ga, gb
