"""In-place changes of a tensor's shape: ``t_``, ``transpose_``, ``swapdims_``, ``swapaxes_``,
``squeeze_``, ``unsqueeze_`` (PyTorch's ``Tensor``-only in-place view ops).

As in PyTorch the tensor itself becomes the view (its shape and strides change, its memory
does not), its version counter is bumped and, when recorded, its ``grad_fn`` becomes the
view op's node. Bound through ``_TENSOR_ONLY`` in ``ops/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd import grad_mode
from ..autograd.tensor import Tensor
from ..autograd.view_replay import check_view_write
from .permutations import t as _t
from .permutations import transpose
from .views import squeeze, unsqueeze

__all__ = [
    "metadata_inplace",
    "squeeze_",
    "swapaxes_",
    "swapdims_",
    "t_",
    "transpose_",
    "unsqueeze_",
]


def metadata_inplace(x: Tensor, name: str, fn: Callable, *args: Any) -> Tensor:
    """Make ``x`` itself the view ``fn(x, *args)`` (PyTorch's in-place view ops)."""
    if x.requires_grad and x.grad_fn is None and grad_mode.is_grad_enabled():
        if x._view is not None:  # a view made under no_grad: PyTorch's error for those
            check_view_write(x, name)
        raise RuntimeError(
            f"{name}: a leaf Variable that requires grad is being used in an in-place "
            "operation; use the out-of-place form"
        )
    if x._view is not None and x.requires_grad and grad_mode.is_grad_enabled():
        check_view_write(x, name)  # a view of a leaf that requires grad: PyTorch's error
    out = fn(x, *args)
    x._data = out._data
    x._vc[0] += 1
    if out.grad_fn is not None:
        x.grad_fn, x._output_nr = out.grad_fn, out._output_nr
    if x._fw_tangent is not None:
        x._fw_tangent = out._fw_tangent
    if x._view is not None and out._view is not None:
        x._view = out._view  # still a view of the same base, now in the new layout
        x._view.version = x._vc[0]
    return x


def t_(x: Tensor) -> Tensor:
    """In-place ``t()``: ``x`` becomes its own transpose (at most 2 dims)."""
    return metadata_inplace(x, "t_", _t)


def transpose_(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """In-place ``transpose(dim0, dim1)``."""
    return metadata_inplace(x, "transpose_", transpose, dim0, dim1)


def swapdims_(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """In-place ``swapdims`` (``transpose_``)."""
    return metadata_inplace(x, "swapdims_", transpose, dim0, dim1)


def swapaxes_(x: Tensor, axis0: int, axis1: int) -> Tensor:
    """In-place ``swapaxes`` (``transpose_``)."""
    return metadata_inplace(x, "swapaxes_", transpose, axis0, axis1)


def squeeze_(x: Tensor, dim: Any = None) -> Tensor:
    """In-place ``squeeze``: drop size-1 dims (all, or those in ``dim``)."""
    return metadata_inplace(x, "squeeze_", squeeze, dim)


def unsqueeze_(x: Tensor, dim: int) -> Tensor:
    """In-place ``unsqueeze``: insert a size-1 dim at ``dim``."""
    return metadata_inplace(x, "unsqueeze_", unsqueeze, dim)
