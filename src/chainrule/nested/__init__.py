"""``cr.nested`` (``torch.nested``): tensors whose components differ in size.

Two layouts, as torch's: ``cr.strided`` (a list of components of one dim and any sizes) and
``cr.jagged`` (one ragged dim: packed ``values()`` split by ``offsets()``). Nested tensors
are ``Tensor`` instances (``is_nested`` True) whose ops run chainrule's dense ops on the
values or on each component (see ``_tensor.py``), so autograd works through them:

- constructors: :func:`nested_tensor` (a copy, a new leaf), :func:`as_nested_tensor` (keeps
  the graph), :func:`nested_tensor_from_jagged`, :func:`narrow`, :func:`masked_select`;
- :func:`to_padded_tensor` (and ``nt.to_padded_tensor``): back to one dense tensor;
- ops: pointwise unary and binary (nested with nested of the same structure, with a scalar,
  with a dense tensor where torch allows), ``F.linear``, activations, dropout, softmax,
  ``layer_norm``, ``matmul``/``bmm``, ``transpose``, ``reshape``/``view``, ``chunk``/
  ``split``, ``cat``, ``where``, ``sum``/``mean`` (``max``/``min`` of all elements),
  ``F.scaled_dot_product_attention``, ``unbind``;
- ``copy.copy``, ``copy.deepcopy`` and ``pickle`` keep the layout and structure.
"""

from __future__ import annotations

from ._tensor import NestedTensor, jagged
from .creation import (
    as_nested_tensor,
    masked_select,
    narrow,
    nested_tensor,
    nested_tensor_from_jagged,
)
from .padding import to_padded_tensor

__all__ = [
    "NestedTensor",
    "as_nested_tensor",
    "jagged",
    "masked_select",
    "narrow",
    "nested_tensor",
    "nested_tensor_from_jagged",
    "to_padded_tensor",
]
