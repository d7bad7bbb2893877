"""Which arrays a user can also reach outside chainrule (``from_numpy``, ``as_tensor``,
``numpy()``, ``frombuffer``, DLPack): the memory chainrule must never swap for a copy.

Some ops hand out a logically contiguous result whose memory is laid out otherwise (a
convolution's output is a transposed view of its ``(O, N, H, W)`` GEMM result, and ReLU and
pooling keep that layout). PyTorch's ``x.view(n, -1)`` works on such a result; chainrule's
``view`` then lays the tensor's memory out contiguously once (same values, so nothing else
changes) and views that. It may do so only when nothing outside chainrule holds the old
memory: this module remembers the memory that was shared with the user.
"""

from __future__ import annotations

import weakref
from typing import Any

from .._layout_marks import memory_owner as _owner

__all__ = ["is_shared", "mark_shared"]

_SHARED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def mark_shared(arr: Any) -> Any:
    """Remember that the user can reach ``arr``'s memory; returns ``arr``."""
    owner = _owner(arr)
    try:
        _SHARED[id(owner)] = owner
    except TypeError:  # not weak-referenceable: no relayout will be attempted for it
        pass
    return arr


def is_shared(arr: Any) -> bool:
    """Whether the user can reach ``arr``'s memory outside chainrule."""
    owner = _owner(arr)
    try:
        return _SHARED.get(id(owner)) is owner
    except TypeError:
        return True
