"""``AccumulateGrad``: how a leaf tensor appears in ``grad_fn.next_functions``.

PyTorch gives every leaf that requires grad a graph node, ``AccumulateGrad``, which writes the
gradient into the leaf's ``.grad``; walking ``next_functions`` from a loss ends at these nodes,
and ``node.variable`` is the leaf. chainrule's engine has no such node (an edge holds the
leaf tensor itself and the engine writes ``.grad`` directly), so this class is the public view
only: a read-only object per leaf, built the first time a walk meets the leaf and kept while
the leaf lives, so that ``a.grad_fn.next_functions[0][0] is b.grad_fn.next_functions[0][0]``
holds for two ops on the same leaf, as in PyTorch.

``Tensor`` has fixed slots, so the objects are kept here by the tensor's ``id``; a
``weakref.finalize`` drops the entry when the tensor dies (before its ``id`` can be reused).
The object holds the leaf through a weak reference: the leaf keeps its view alive, not the
other way round.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from .tensor import Tensor

__all__ = ["AccumulateGrad", "accumulate_grad_node"]

_NODES: dict[int, AccumulateGrad] = {}


class AccumulateGrad:
    """The graph node of a leaf tensor that requires grad (PyTorch's ``AccumulateGrad``).

    Attributes:
        next_functions: always ``()``: a leaf is where backward ends.
    """

    __slots__ = ("_leaf", "_metadata", "__weakref__")
    next_functions: tuple = ()

    def __init__(self, leaf: Tensor) -> None:
        self._leaf = weakref.ref(leaf)

    @property
    def variable(self) -> Tensor:
        """The leaf tensor whose ``.grad`` this node fills."""
        leaf = self._leaf()
        if leaf is None:  # only reachable by keeping this object after the leaf died
            raise RuntimeError("AccumulateGrad.variable: the leaf tensor no longer exists")
        return leaf

    def name(self) -> str:
        """PyTorch's name for the node: ``'torch::autograd::AccumulateGrad'``."""
        return "torch::autograd::AccumulateGrad"

    @property
    def metadata(self) -> dict:
        """A dict for the user's own annotations of this node (empty at first), as
        PyTorch's ``Node.metadata``."""
        try:
            return self._metadata
        except AttributeError:
            self._metadata = {}
            return self._metadata

    def register_hook(self, hook: Callable) -> Any:
        """Not supported: chainrule writes a leaf's ``.grad`` without a node to hook."""
        raise NotImplementedError(
            "AccumulateGrad.register_hook is not supported: use "
            "Tensor.register_post_accumulate_grad_hook on the leaf (node.variable) to run "
            "code after its .grad is written"
        )

    def register_prehook(self, hook: Callable) -> Any:
        """Not supported: chainrule writes a leaf's ``.grad`` without a node to hook."""
        raise NotImplementedError(
            "AccumulateGrad.register_prehook is not supported: use Tensor.register_hook on "
            "the leaf (node.variable) to see or replace its gradient before it is accumulated"
        )

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


def accumulate_grad_node(leaf: Tensor) -> AccumulateGrad:
    """The one :class:`AccumulateGrad` of ``leaf`` (made on first use, kept while it lives)."""
    key = id(leaf)
    node = _NODES.get(key)
    if node is None or node._leaf() is not leaf:
        node = _NODES[key] = AccumulateGrad(leaf)
        weakref.finalize(leaf, _NODES.pop, key, None)
    return node
