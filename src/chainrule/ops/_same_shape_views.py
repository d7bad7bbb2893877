"""Same-shape views: ``x.view(x.shape)``, ``x.reshape(x.shape)``, ``x.expand(x.shape)``,
``broadcast_to`` to its own shape... As in PyTorch they return a new tensor that is a view of
``x`` (never ``x`` itself), so that its ``requires_grad_()``, hooks and ``.data`` are its own
and in-place changes through it reach ``x`` (shared memory and version counter). Used by
``views.py``; cheap for a tensor outside the graph (no ``Function.apply``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout import torch_strides
from .._layout_relay import relay_row_major
from ..autograd.state import LOCAL
from ..autograd.tensor import Tensor
from ..autograd.view_base import record_view

__all__ = ["same_shape_view", "view_layout"]


def same_shape_view(fn: type, x: Tensor, view_strides: bool = True) -> Tensor:
    """A new view of ``x`` with ``x``'s own shape (PyTorch never returns ``x`` itself: the
    result has its own ``requires_grad``, hooks and ``.data``, and ``_base`` is x's base).
    A plain tensor outside the graph and forward AD gets a bare alias sharing its memory
    and version counter (``Function.apply`` would make the same, slower); otherwise ``fn``
    records it."""
    _relay_private_layout(x)
    if type(x) is Tensor and not x._rg and x._view is None and x._fw is None:
        state = LOCAL.state
        if not state.vmap:
            out = Tensor._make(
                view_layout(x._data) if view_strides else x._data.view(), False, None, 0
            )
            out._vc = x._vc
            record_view(out, x, state.grad_enabled)
            return out
    return fn.apply(x, x.shape)


def _relay_private_layout(x: Tensor) -> None:
    """Lay ``x`` out contiguously, in place, if its memory is in an order PyTorch's would
    never be (a convolution's output, and what ReLU or pooling make of it, keep the channels
    outermost: PyTorch's are contiguous) and nothing else can reach it: the view about to be
    made would keep that order, and a later ``.view(n, -1)`` of it could not re-lay it (see
    ``views.view``) where PyTorch's succeeds."""
    d = x._data
    if x._view is not None or type(d) is not np.ndarray or d.ndim < 3 or d.flags.c_contiguous:
        return
    # only a convolution's result (ROW_MAJOR-marked): any other array's strides are
    # PyTorch's (a clone of a permuted tensor keeps its own order, as in PyTorch)
    relay_row_major(x)


def view_layout(arr: Any) -> Any:
    """``arr`` viewed as its own shape with PyTorch's ``view`` strides: they differ from
    ``arr``'s only on size-1 dims (set from the chunk of dims they fall in)."""
    shape = arr.shape
    if 1 not in shape or 0 in shape or type(arr) is not np.ndarray:
        return arr.view()
    old = torch_strides(arr)
    new = list(old)
    base, numel, d = old[-1], 1, len(shape) - 1  # PyTorch's chunks of mergeable dims
    for i in range(len(shape) - 1, -1, -1):
        numel *= shape[i]
        if i == 0 or (shape[i - 1] != 1 and old[i - 1] != numel * base):
            size = 1
            while d >= 0 and (size < numel or shape[d] == 1):
                new[d] = size * base
                size *= shape[d]
                d -= 1
            if i:
                base, numel = old[i - 1], 1
    if tuple(new) == old:
        return arr.view()
    return np.lib.stride_tricks.as_strided(arr, shape, [s * arr.itemsize for s in new])
