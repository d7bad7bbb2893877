"""``GradientEdge``: a place in the graph where a gradient is computed, held without the tensor.

``get_gradient_edge(t)`` names the output of a node that produced ``t`` (``(t.grad_fn,
t.output_nr)``), or, for a leaf, the leaf's :class:`AccumulateGrad` node. ``autograd.grad``
accepts such edges among its ``inputs`` (the gradient arriving at that node output) and its
``outputs`` (a backward that starts at that node output), as PyTorch's does. The point is to
differentiate with respect to an intermediate value after the tensor object itself is gone
(activation checkpointing and pipeline schedules keep the edge, not the activation).

The engine works on tensors, so an edge is turned back into one before a backward: a leaf's
edge into the leaf itself, an op output's edge into a fresh handle on the same node output
(``Tensor._make(..., grad_fn=node, output_nr=nr)``: the gradient the engine routes to
``(node, nr)`` is exactly what it routes to the original tensor, its hooks included). That
handle holds a zero-strided placeholder array of the output's shape and dtype, which
:func:`get_gradient_edge` records (single-output nodes keep no output metadata), on the
output's device, so that a backward started at the edge without ``grad_outputs`` starts
from ones on that device.
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple

import numpy as np

from ..backend import get_array_module
from .accumulate_grad import AccumulateGrad, accumulate_grad_node
from .tensor import Tensor

__all__ = ["GradientEdge", "get_gradient_edge", "edge_tensor", "resolve_edges"]

# node -> {output_nr: a zero-strided array of the output's shape, dtype and array module}, for
# the outputs get_gradient_edge has seen
_OUTPUT_META: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class GradientEdge(NamedTuple):
    """One output of a graph node, where a gradient is computed (PyTorch's ``GradientEdge``).

    Attributes:
        node: the node (a leaf's :class:`AccumulateGrad`, or an op's node).
        output_nr: which output of ``node``.
        ownership_token: PyTorch's field for keeping an object alive with the edge; None
            unless set by the caller.
    """

    node: Any
    output_nr: int
    ownership_token: Any = None


def get_gradient_edge(tensor: Tensor) -> GradientEdge:
    """The edge where the gradient of ``tensor`` is computed.

    ``autograd.grad(loss, get_gradient_edge(t))`` equals ``autograd.grad(loss, t)``, and the
    edge still works after ``t`` itself has been deleted.

    Raises:
        TypeError: ``tensor`` is not a Tensor.
        RuntimeError: ``tensor`` does not require grad (as PyTorch).
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"get_gradient_edge(): expected a Tensor, got {type(tensor).__name__}")
    view = tensor._view
    if view is not None and view.version != tensor._vc[0]:
        tensor._refresh_view()  # a view whose base changed in place: its current history
    if not tensor.requires_grad:
        raise RuntimeError(
            "It is not possible to get the gradient edge for a Tensor that does not require "
            "gradients"
        )
    node = tensor.grad_fn
    if node is None:
        return GradientEdge(accumulate_grad_node(tensor), 0)
    nr = tensor._output_nr
    outputs = _OUTPUT_META.get(node)
    if outputs is None:
        outputs = _OUTPUT_META[node] = {}
    if nr not in outputs:
        d = tensor._data
        xp = get_array_module(d)
        outputs[nr] = xp.broadcast_to(xp.zeros((), d.dtype), d.shape)  # no memory per element
    return GradientEdge(node, nr)


def edge_tensor(edge: GradientEdge, output: bool = False, like: Any = None) -> Tensor:
    """A tensor whose gradient is the gradient at ``edge``: the leaf itself for a leaf's
    edge, else a new handle on ``(edge.node, edge.output_nr)``.

    For an ``output`` edge (a backward starts there) the handle has the output's shape and
    dtype; ``like`` (the gradient it starts from, when given) supplies them where the node
    does not record them (an edge built by hand rather than by :func:`get_gradient_edge`)."""
    node, nr = edge.node, edge.output_nr
    if type(node) is AccumulateGrad:
        return node.variable
    if not hasattr(node, "next_edges"):
        raise RuntimeError(
            f"GradientEdge: expected a graph node (a tensor's grad_fn or a leaf's "
            f"AccumulateGrad), got {type(node).__name__}"
        )
    if not isinstance(nr, int) or not 0 <= nr < node.num_outputs:
        raise RuntimeError(
            f"GradientEdge: output_nr {nr!r} is not an output of {node.name()} (it has "
            f"{node.num_outputs})"
        )
    placeholder = _OUTPUT_META.get(node, {}).get(nr)
    if placeholder is not None:
        return Tensor._make(placeholder, True, node, nr)
    meta = node.output_meta(nr)
    if meta is None:
        if not output:
            meta = ((), np.dtype(np.float64))  # an input edge: read only by error messages
        elif like is None:
            raise RuntimeError(
                f"autograd: the shape of output {nr} of {node.name()} is not known for a "
                "GradientEdge built by hand; pass its grad_outputs, or make the edge with "
                "get_gradient_edge()"
            )
        else:
            arr = like._data if isinstance(like, Tensor) else np.asarray(like)
            meta = (arr.shape, arr.dtype)
    shape, dtype = meta
    placeholder = np.broadcast_to(np.zeros((), dtype), shape)
    return Tensor._make(placeholder, True, node, nr)


def resolve_edges(items: list, what: str, grads: list | None = None) -> tuple[list, bool]:
    """``items`` with every :class:`GradientEdge` turned into its :func:`edge_tensor`, and
    whether there was one; anything else that is not a Tensor raises as in PyTorch.

    ``grads`` (for ``outputs``: the ``grad_outputs``, one per item) tell an output edge's
    shape where the node does not record it."""
    out = items
    found = False
    for i, t in enumerate(items):
        if type(t) is GradientEdge:
            if not found:
                out, found = list(items), True
            out[i] = edge_tensor(t, grads is not None, grads[i] if grads is not None else None)
        elif not isinstance(t, Tensor):
            if what == "outputs":  # PyTorch's _make_grads asserts before its engine checks
                raise AssertionError(
                    "Expected output to be a torch.Tensor\n"
                    f"all outputs have to be Tensors or GradientEdges, but got {type(t).__name__}"
                )
            raise RuntimeError(
                f"all {what} have to be Tensors or GradientEdges, but got {type(t).__name__}"
            )
    return out, found
