"""A sparse tensor's autograd links: its ``grad_fn`` and the edge ``Function.apply`` takes.

A sparse tensor is not itself a graph node: its ``grad_fn`` is its values' node, recorded
under PyTorch's name for the op that made it (``make_sparse`` stores it in the ``_grad_fn``
slot every Tensor has). Two readers want different things of it:

- the public :attr:`grad_fn` (and its setter) is the slot as it is (:func:`slot_property`);
- ``Function.apply`` links an argument through ``_rg`` and ``_grad_fn`` (the slot of a
  dense tensor). For a sparse tensor whose values require grad, a custom Function returns
  a gradient of the whole tensor's size, dense or sparse; the edge it is linked to must
  take that to the values: a :class:`~.sparse_functions.FunctionInputEdge` node, named as
  the tensor's node (as PyTorch links it) (:func:`input_edge_property`).

The edge is made once per tensor and kept (``_sp_edge``) while what it was made from stays
the same: the values tensor, its node and output number, the pattern, and the tensor's own
node (its name). The node saves nothing for backward (the pattern is a constant), so it is never
freed by a backward and one node serves every Function the tensor is given to, as PyTorch's
one ``grad_fn`` does. An in-place op of the tensor (``s.mul_(2)``: new values and node) or
of its values tensor (a new node) makes a new one.
"""

from __future__ import annotations

from typing import Any

from .._layout import is_vmap_batched
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from . import sparse_functions as fn
from .sparse_nodense import dispatcher_error

__all__ = ["input_edge_property", "refuse_vmap", "slot_property"]


def refuse_vmap(compressed: str | None, *tensors: Any) -> None:
    """torch's refusal of a sparse tensor built under ``cr.func.vmap`` from batched values,
    indices or a batched dense tensor (no batching rule: a COO tensor's dispatcher error for
    ``aten::view``, a compressed one's ``is_contiguous``, ``compressed`` naming its layout:
    "CSR", "CSC", "BSR", "BSC"). Session 47: chainrule computed
    some of them per sample and failed on others with its own text."""
    for t in tensors:
        if isinstance(t, Tensor) and is_vmap_batched(t._data):
            if compressed:
                raise RuntimeError(f"Sparse {compressed} tensors do not have is_contiguous")
            raise dispatcher_error("view", "SparseCPU")


# the ``_grad_fn`` slot's own descriptor: SparseTensor's ``_grad_fn`` property shadows it
_SLOT = Tensor.__dict__["_grad_fn"]
_slot_get = _SLOT.__get__
_slot_set = _SLOT.__set__

_DEFAULT_NAME = "SparseCooTensorWithDimsAndTensorsBackward0"


def _set(self: Any, node: Any) -> None:
    _slot_set(self, node)


def slot_property(doc: str) -> property:
    """A property over the ``_grad_fn`` slot, read and written as it is."""

    def get(self: Any) -> Any:
        return _slot_get(self, type(self))

    return property(get, _set, doc=doc)


def _input_edge(self: Any) -> Any:
    """The node ``Function.apply`` links a sparse tensor to: for one whose values require
    grad (with grad mode on), its :class:`~.sparse_functions.FunctionInputEdge` (cached in
    ``_sp_edge``, see the module doc); else the slot."""
    node = _slot_get(self, type(self))
    values = self._sp_values
    if not (values.requires_grad and is_grad_enabled()):
        return node
    cached = self._sp_edge
    if (
        cached is not None
        and cached[0] is values
        and cached[1] is values._grad_fn
        and cached[2] == values._output_nr
        and cached[3] is node
        and cached[4] is self._sp_pattern
    ):
        return cached[5]
    name = _DEFAULT_NAME if node is None else node.name()
    edge = fn.FunctionInputEdge.apply(values, self._sp_pattern, name)._grad_fn
    self._sp_edge = (values, values._grad_fn, values._output_nr, node, self._sp_pattern, edge)
    return edge


def input_edge_property() -> property:
    """The ``_grad_fn`` property of a sparse tensor (:func:`_input_edge`; set: the slot)."""
    return property(
        _input_edge,
        _set,
        doc="The node ``Function.apply`` links the tensor to: its values' gradient edge "
        "(see :mod:`chainrule.ops.sparse_autograd`).",
    )
