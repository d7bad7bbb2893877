"""``x.view(dtype)``: the same bytes read as another dtype (same memory, shared version
counter, never differentiable), under PyTorch's conditions when the element size changes
(the last dim rescaled; its stride, the storage offset and the other strides divisible),
each refused with PyTorch's message.

Split from ``views.py`` (session 38), whose ``view`` calls it for a dtype argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from .._layout_marks import LAYOUT_MARKS
from .._layout_relay import before_alias
from ..autograd.tensor import Tensor
from ..dtype_objects import dtype as PublicDtype
from ..qtypes import scalar_type_name
from .layout import stride as layout_stride
from .tensor_queries import storage_offset

__all__: list[str] = []  # helpers of ``view`` (views.py); the op is there


def _is_dtype(obj: Any) -> bool:
    kinds = (np.dtype, PublicDtype, type, str)
    return isinstance(obj, kinds) and not isinstance(obj, (tuple, list))


def _view_dtype(x: Tensor, dtype: Any) -> Tensor:
    """``view(dtype)``: the same bytes read as ``dtype`` (same memory, shared version
    counter). As in PyTorch it is not differentiable, also to the same dtype: the result
    never requires grad, whether or not ``x`` does and whether or not grad mode is on.

    With a different element size the last dim is rescaled (float32 -> int16 doubles it,
    float32 -> float64 halves it), under PyTorch's conditions, checked in its order: ``x``
    has a dim, its last size divides (when growing the element), its last stride is 1, and
    its storage offset and other strides divide."""
    dt = dtypes.as_dtype(dtype)
    old_size, new_size = x._data.dtype.itemsize, np.dtype(dt).itemsize
    if old_size != new_size:
        _check_dtype_view(x, dt, old_size, new_size)
    if LAYOUT_MARKS:  # a convolution's result: row-major first, as PyTorch's (no view
        before_alias(x)  # record ties the two: a later relayout would part them)
    arr = x._data.view(dt)
    out = Tensor._make(arr, False, None, 0)
    out._vc = x._vc
    return out


def _check_dtype_view(x: Tensor, dt: Any, old_size: int, new_size: int) -> None:
    """Raise PyTorch's RuntimeError when ``x`` cannot be viewed as ``dt`` of another
    element size (NumPy would accept some of these, with strides PyTorch cannot hold)."""
    what = (
        f"to view {scalar_type_name(x._data.dtype)} as {scalar_type_name(dt)} "
        "(different element sizes)"
    )
    if x.ndim == 0:
        raise RuntimeError(f"self.dim() cannot be 0 {what}")
    strides = layout_stride(x)
    if new_size > old_size:
        ratio = new_size // old_size
        if x.shape[-1] % ratio:
            raise RuntimeError(
                f"self.size(-1) must be divisible by {ratio} {what}, but got {x.shape[-1]}"
            )
    if strides[-1] != 1:
        raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {strides[-1]}")
    if new_size > old_size:
        offset = storage_offset(x)
        if offset % ratio:
            raise RuntimeError(
                f"self.storage_offset() must be divisible by {ratio} {what}, but got {offset}"
            )
        for d, st in enumerate(strides[:-1]):
            if st % ratio:
                raise RuntimeError(
                    f"self.stride({d}) must be divisible by {ratio} {what}, but got {st}"
                )
