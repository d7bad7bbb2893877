"""PyTorch's ``reshape`` as its autograd graph records it, for ops whose graph must match
PyTorch's (``linalg.tensorinv``, ``linalg.tensorsolve``):

* a contiguous input: ``view`` (``ViewBackward0``);
* a non-contiguous input the new shape can view: ``_reshape_alias``
  (``ReshapeAliasBackward0``);
* otherwise a copy: ``clone`` then ``_unsafe_view`` (``CloneBackward0``,
  ``UnsafeViewBackward0``).

The general ``reshape`` (views.py) records ``ViewBackward0`` in every case; it is on the hot
path and stays as it is. The values are the same either way.
"""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .linalg import UnsafeView
from .views import Reshape

__all__ = ["ReshapeAlias", "torch_reshape"]


class ReshapeAlias(Reshape):
    """PyTorch's ``_reshape_alias``: the node its ``reshape`` records where the result is a
    view of an input that is not contiguous (``ReshapeAliasBackward0``); the reshape's math."""

    node_name = "ReshapeAliasBackward0"
    saved_fields = {"self_sym_sizes": lambda n: tuple(n.in_shape)}


def torch_reshape(x: Tensor, shape: Any) -> Tensor:
    """``x.reshape(shape)`` with PyTorch's nodes (module docstring); ``shape`` resolved (no
    -1)."""
    shape = tuple(shape)
    data = x._data
    if data.flags.c_contiguous:
        return x.reshape(shape)
    try:
        get_array_module(data).reshape(data, shape, copy=False)
        viewable = True
    except ValueError:
        viewable = False
    if viewable:
        return ReshapeAlias.apply(x, shape)
    return UnsafeView.apply(x.clone(), shape)
