"""``cr.autograd.graph.Node``: the abstract type of every node a graph walk meets.

chainrule has two concrete node classes: the op node, which is also the ``ctx`` of its rules
(:class:`~chainrule.autograd.node.Node`, one per recorded op or custom Function call), and
:class:`~chainrule.autograd.accumulate_grad.AccumulateGrad`, the public view of a leaf in
``next_functions``. PyTorch's ``torch.autograd.graph.Node`` is an abstract base class that its
C++ node types are virtual subclasses of, so ``isinstance(y.grad_fn, Node)`` holds for every
node and for nothing else; this one does the same for chainrule's two classes (and their
subclasses) through ``__subclasshook__``, and states the public interface they share:
``name()``, ``next_functions``, ``metadata``, ``register_hook`` and ``register_prehook``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

from .accumulate_grad import AccumulateGrad
from .node import Node as _OpNode

__all__ = ["Node"]


class Node(abc.ABC):
    """A node of the autograd graph (PyTorch's ``torch.autograd.graph.Node``).

    ``isinstance(t.grad_fn, Node)`` is True for the node of every recorded op and custom
    Function, and for the :class:`AccumulateGrad` nodes of leaves seen in
    ``next_functions``. The class is abstract: nodes are made by autograd, not by hand.

    Example:
        >>> import chainrule as cr
        >>> a = cr.tensor([0.0, 0.0, 0.0], requires_grad=True)
        >>> b = a.clone()
        >>> isinstance(b.grad_fn, cr.autograd.graph.Node), b.grad_fn.name()
        (True, 'CloneBackward0')
    """

    @abc.abstractmethod
    def name(self) -> str:
        """The node's name (``'MulBackward0'``)."""
        raise NotImplementedError

    @property
    @abc.abstractmethod
    def next_functions(self) -> tuple:
        """``(node, output_nr)`` per input of the node: where its gradients go next."""
        raise NotImplementedError

    @property
    @abc.abstractmethod
    def metadata(self) -> dict:
        """A dict for the user's own annotations of this node (empty at first)."""
        raise NotImplementedError

    @abc.abstractmethod
    def register_hook(self, fn: Callable) -> Any:
        """Call ``fn(grad_inputs, grad_outputs)`` after the node's backward runs."""
        raise NotImplementedError

    @abc.abstractmethod
    def register_prehook(self, fn: Callable) -> Any:
        """Call ``fn(grad_outputs)`` before the node's backward runs."""
        raise NotImplementedError

    @classmethod
    def __subclasshook__(cls, subclass: type) -> Any:
        if cls is Node and issubclass(subclass, (_OpNode, AccumulateGrad)):
            return True
        return NotImplemented
