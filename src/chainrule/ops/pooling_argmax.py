"""Which element a max-pooling window takes when it holds NaN, or only -inf next to padding.

PyTorch's max pooling scans each window's in-bounds elements in order, starting from the first
one with the running maximum at -inf, and moves to an element when ``val > maxval`` or
``isnan(val)``. So a window's argmax is its first maximum, or its *last* NaN when it holds one
(the output is NaN and the gradient goes there), and a window of only -inf takes its first
in-bounds element, never a padding slot.

The fast NumPy paths in :mod:`.pooling` compare with ``v > best`` over the -inf-padded input,
which gives the first maximum in every other case. Rather than slow every call down, they check
their (small) output afterwards, ``isnan(out).any()`` and, when windows reach into padding,
``(out == -inf).any()``, and only then call :func:`fix_argmax`, which repairs those windows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import get_array_module

__all__ = ["fix_argmax", "needs_fix", "reaches_padding"]


def reaches_padding(P: tuple, h: int, w: int) -> bool:
    """Whether some window of the pooling parameters ``P`` covers a padding slot."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = P[:5]
    last_row = (ho - 1) * sh + (kh - 1) * dh
    last_col = (wo - 1) * sw + (kw - 1) * dw
    return ph > 0 or pw > 0 or last_row >= ph + h or last_col >= pw + w


def needs_fix(out: Any, padded: bool) -> bool:
    """Whether the output of a ``v > best`` scan may hold a window PyTorch resolves otherwise."""
    if out.dtype.kind not in "fV":  # V: bfloat16
        return False
    xp = get_array_module(out)
    return bool(xp.isnan(out).any()) or (padded and bool((out == -np.inf).any()))


def _valid(P: tuple, k: int, h: int, w: int) -> np.ndarray:
    """(Ho, Wo): whether offset ``k`` of each output's window is an in-bounds element."""
    (_kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = P[:5]
    i, j = divmod(k, kw)
    rows = np.arange(ho) * sh + i * dh - ph
    cols = np.arange(wo) * sw + j * dw - pw
    return ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]


def fix_argmax(taps: Any, out: Any, arg: Any, P: tuple, h: int, w: int) -> None:
    """Repair ``arg`` in place where ``out`` is NaN or -inf (see the module docstring).

    ``taps`` yields ``(k, view)`` per window offset in scan order, each view shaped like
    ``out`` (the strided views of the padded input)."""
    xp = get_array_module(out)
    nan_out = xp.isnan(out)
    ninf_out = out == -np.inf
    first_valid = None
    for k, v in taps:
        nan_k = nan_out & xp.isnan(v)
        xp.putmask(arg, nan_k, k)  # later NaNs overwrite earlier ones: the last NaN
        if ninf_out.any():
            valid = xp.asarray(_valid(P, k, h, w))
            fresh = valid if first_valid is None else valid & ~first_valid
            xp.putmask(arg, ninf_out & fresh, k)  # the first in-bounds offset
            first_valid = valid if first_valid is None else first_valid | valid
