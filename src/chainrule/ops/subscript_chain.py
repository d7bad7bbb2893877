"""The chain of nodes PyTorch records for one subscript, as ``next_functions`` shows it.

PyTorch applies a tuple index item by item (``applySlicing``): ``x[1, 2]`` is two
``select`` calls, ``x[:2, :2]`` two ``slice`` calls, ``x[0, 1:3]`` a ``select`` then a
``slice``, and an index tensor an ``index`` last; each records its node, so
``y.grad_fn.next_functions`` leads through one node per item (a slice over a whole dim
skipped) before it reaches ``x``'s. chainrule computes ``x[idx]`` in one NumPy subscript and
records one :class:`~.subscript_read.GetItem` node (the fast path: its name is PyTorch's
last node). This module gives that node the rest of PyTorch's chain for people walking the
graph: :func:`public_chain` is ``GetItem.public_edges``, read only when ``next_functions``
is, so recording ``x[i]`` pays nothing. The steps below the top are :class:`IndexStep`
nodes: named, listed, never run (the engine follows the one GetItem node); hooks cannot be
registered on them.
"""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np

from ..autograd.function import Function
from ..autograd.node import Node, name_node_type
from ..autograd.view_replay import public_edge
from .subscript_index import ARRAY

__all__ = ["IndexStep", "chain_names", "public_chain", "skip_full_slices"]

_SELECT, _SLICE, _UNSQUEEZE = "SelectBackward0", "SliceBackward0", "UnsqueezeBackward0"


class IndexStep(Function):
    """One of PyTorch's indexing nodes below the top of ``x[idx]``'s chain: listed by
    ``next_functions`` only (its name and its one input; the gradient flows through the
    GetItem node itself)."""

    @staticmethod
    def node_name(node: Any) -> str:
        return node.step_name

    @staticmethod
    def public_edges(node: Any) -> tuple:
        return (node.step_next,)

    @staticmethod
    def forward(ctx, *args):  # never applied: the nodes are made by public_chain
        raise RuntimeError("IndexStep is a listed node only; it is never applied")


def _no_hooks(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise NotImplementedError(
        "chainrule: this node is one of the indexing steps PyTorch records for a subscript "
        "(next_functions lists it); chainrule runs the subscript as one node "
        "(y.grad_fn): register the hook there"
    )


def chain_names(idx: Any) -> list[str] | None:
    """PyTorch's node names for the basic items of the tuple index ``idx`` in the order it
    applies them (slices over whole dims already ``slice(None)``: skipped), with
    ``IndexBackward0`` last where ``idx`` holds index arrays; None where ``idx`` holds an
    item this does not model (a bool, a NumPy integer array of 0 dims)."""
    names, arrays = [], False
    for p in idx:
        tp = type(p)
        if tp is int:
            names.append(_SELECT)
        elif tp is slice:
            if p != slice(None):
                names.append(_SLICE)
        elif p is None:
            names.append(_UNSQUEEZE)
        elif p is Ellipsis:
            continue
        elif p is ARRAY:  # an index array (GetItem keeps a placeholder: split_index)
            arrays = True
        else:
            return None
    if arrays:
        names.append("IndexBackward0")
    return names


def public_chain(node: Any) -> tuple:
    """``next_functions`` of a GetItem node: its input's edge, or the first of the
    :class:`IndexStep` nodes PyTorch's chain has below its top (made once per node, so
    walking twice meets the same objects)."""
    edges = node.next_edges
    below = public_edge(edges[0] if edges else None)
    chain = node.__dict__.get("_index_chain")
    if chain is None:
        chain = _make_chain(node, below)
        node._index_chain = chain
    return (chain,) if chain else (below,)


def _make_chain(node: Any, below: tuple) -> tuple:
    """The ``(IndexStep node, 0)`` edge heading PyTorch's steps under ``node``, or ``()``."""
    idx = getattr(node, "idx", None)
    if type(idx) is not tuple or "sliced" in node.__dict__ or len(idx) < 2:
        return ()
    names = chain_names(skip_full_slices(idx, node.in_shape))
    if not names or len(names) < 2:
        return ()
    edge = below
    for name in names[:-1]:  # bottom (applied first) to the step under the top
        step = Node()
        step._forward_cls = IndexStep
        step.step_name, step.step_next = name, edge
        step.register_hook = step.register_prehook = _no_hooks
        name_node_type(step)
        edge = (step, 0)
    return edge


def skipped_slice(parts: Any, k: int, shape: tuple) -> bool:
    """Whether the slice ``parts[k]`` of a basic tuple index is one PyTorch skips: start 0
    (or none) as given, step 1, stop none or past the size of its dim of ``shape``
    (``0:n``, ``:99``; not ``-n:``, which PyTorch slices)."""
    p = parts[k]
    if p.start or not (p.step is None or p.step == 1):
        return False
    if p.stop is None:
        return True
    taken = 0
    for q in parts:
        if type(q) is slice or isinstance(q, (int, np.integer)):
            taken += 1
        elif q is not None and q is not Ellipsis:
            return False  # an index array: its dims are not known here
    d = 0
    for q in parts[:k]:
        if q is Ellipsis:
            d += len(shape) - taken
        elif q is not None:
            d += 1
    return d < len(shape) and p.stop >= shape[d]


def skip_full_slices(parts: Any, shape: tuple) -> Any:
    """``parts`` (a basic index's items) with every slice PyTorch skips in a tuple index
    (:func:`skipped_slice`) as ``slice(None)``; ``parts`` itself (the same object) when none
    needs it."""
    out = None
    for k, p in enumerate(parts):
        if type(p) is slice and p != slice(None) and skipped_slice(parts, k, shape):
            if out is None:
                out = list(parts)
            out[k] = slice(None)
    return parts if out is None else type(parts)(out)
