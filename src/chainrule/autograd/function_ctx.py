"""``FunctionCtx``: the type of the ``ctx`` a user's ``autograd.Function`` receives.

PyTorch's ``ctx`` (and the ``grad_fn`` it becomes) is an instance of
``torch.autograd.function.FunctionCtx``, which typed code names in annotations and checks
with ``isinstance``. chainrule's ``ctx`` is the graph :class:`~chainrule.autograd.node.Node`
itself, shared with built-in ops, whose ``grad_fn`` PyTorch does not count as a
``FunctionCtx`` (they are C++ nodes there): the check is on what made the node, a Function
written outside chainrule, rather than on its class.
"""

from __future__ import annotations

from typing import Any

from .node import Node

__all__ = ["FunctionCtx"]


class _FunctionCtxMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        if type.__instancecheck__(cls, obj):
            return True
        forward_cls = getattr(obj, "_forward_cls", None) if isinstance(obj, Node) else None
        return bool(getattr(forward_cls, "_user", False))


class FunctionCtx(metaclass=_FunctionCtxMeta):
    """The context of a user's ``autograd.Function``: ``isinstance(ctx, FunctionCtx)`` holds
    for the ``ctx`` that ``forward``/``setup_context``/``backward`` receive and for the
    ``grad_fn`` of its outputs, not for a built-in op's ``grad_fn`` (as in PyTorch)."""
