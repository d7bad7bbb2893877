"""The nodes of the view copies (ops/view_copies.py): a copy of a view made the output of
the view op's own node, renamed as PyTorch's (``TBackward0_copy``, ...), ``narrow_copy``'s
``NarrowCopyBackward0`` and ``alias_copy``'s ``AliasBackward0_copy``."""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..autograd.node import name_node_type
from ..autograd.saved_fields import given_dim, given_value, input_shape
from ..autograd.tensor import Tensor
from ..backend import get_array_module

__all__: list[str] = []  # helpers of ops/view_copies.py


_COPY_FUNCTIONS: dict[type, type] = {}


def copy_function(fn: type) -> type:
    """A subclass of the view Function ``fn`` that PyTorch's ``<view node>_copy`` names (its
    rules and saved fields unchanged); one per view Function, cached."""
    if fn.__dict__.get("_view_copy", False):  # a piece of a split already renamed it
        return fn
    sub = _COPY_FUNCTIONS.get(fn)
    if sub is None:
        spec = getattr(fn, "node_name", None)

        def node_name(node: Any) -> Any:
            named = spec(node) if callable(spec) else spec
            if named is None:
                return f"{fn.__name__}Backward0_copy"
            if type(named) is str:
                return named + "_copy"
            return named[0] + "_copy", named[1]

        fields = getattr(fn, "saved_fields", None)

        def saved_fields(node: Any) -> Any:  # the view node's, read under its own name
            node._forward_cls = fn
            try:
                return fields(node)
            finally:
                node._forward_cls = sub

        members = {"node_name": staticmethod(node_name), "_view_copy": True}
        if callable(fields):
            members["saved_fields"] = staticmethod(saved_fields)
        sub = type(f"{fn.__name__}Copy", (fn,), members)
        sub.__module__ = fn.__module__
        _COPY_FUNCTIONS[fn] = sub
    return sub


def as_copy_of_view(source: Tensor, view_result: Tensor) -> Tensor | None:
    """The row-major copy of ``view_result`` as its view node's own output, the node renamed
    ``<name>_copy`` (see the module doc); None where the view made no node of its own from
    ``source`` or a forward-mode tangent is carried (the caller clones instead)."""
    node = view_result._grad_fn
    if node is None or node is source._grad_fn or view_result._fw is not None:
        return None
    fn = node._forward_cls
    if fn is None or not node.next_edges:
        return None
    node._forward_cls = copy_function(fn)
    name_node_type(node)
    data = get_array_module(view_result._data).array(view_result._data, order="C", copy=True)
    return Tensor._make(data, True, node, view_result._output_nr)


class AliasCopy(Function):
    """``alias_copy``'s node: a row-major copy, gradient and tangent passed through."""

    raw = True
    node_name = "AliasBackward0_copy"
    complex_grad = True  # the identity is right for complex gradients too

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).array(x, order="C", copy=True)

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def jvp(ctx, t):
        return t


_NARROW_COPY: dict[type, type] = {}


def narrow_copy_function(fn: type) -> type:
    """``narrow_copy``'s node: PyTorch's ``NarrowCopyBackward0`` (a node of its own, not a
    renamed slice), with its saved fields, on the slice's rules."""
    sub = _NARROW_COPY.get(fn)
    if sub is None:
        fields = {
            "dim": lambda n: given_dim(n, "dim"),
            "length": lambda n: given_value(n, "length"),
            "self_sym_sizes": lambda n: input_shape(n, 0),
            "start": lambda n: given_value(n, "start"),
        }
        members = {"node_name": "NarrowCopyBackward0", "saved_fields": fields}
        sub = _NARROW_COPY[fn] = type("NarrowCopy", (fn,), members)
        sub.__module__ = fn.__module__
    return sub
