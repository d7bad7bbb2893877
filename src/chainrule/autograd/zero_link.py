"""A gradient tied to the tensors its rule read, with a zero derivative.

Under ``create_graph=True`` PyTorch's backward formulas are themselves recorded ops of what
the forward saved: relu's gradient is ``threshold_backward(g, result)``, leaky_relu's
``leaky_relu_backward(g, self)``. Their derivative with respect to the saved tensor is zero,
but the gradient is *connected* to it, so differentiating it again (a Hessian, an input-gradient
penalty of a ReLU network) gives zeros rather than "does not require grad". Chainrule's rules
for such piecewise-linear ops multiply by a constant mask, which records nothing (and hides
the dependence even when the gradient requires grad through other paths, as in a ReLU
network's input gradient). :func:`tie_to_saved` restores the connection for the ops flagged
``tie_saved`` (those whose PyTorch formula is a recorded op of what it saved: relu,
leaky_relu, hardtanh, hardshrink, softshrink, threshold; not clamp, whose formula PyTorch
does not record): each gradient passes through :class:`ZeroDerivative`.
"""

from __future__ import annotations

from ..backend import get_array_module
from .function import Function, Node
from .saved import SavedInput, SavedOutput
from .tensor import Tensor

__all__ = ["ZeroDerivative", "tie_to_saved"]


class ZeroDerivative(Function):
    """``value`` passed through (its gradient and tangent too); every other input gets a
    zero gradient and contributes no tangent."""

    raw = True
    node_name = "ZeroBackward0"
    complex_grad = True  # the identity and zeros are right in PyTorch's convention as well

    @staticmethod
    def forward(ctx, value, *inputs):
        ctx.inputs = [(x.shape, x.dtype) for x in inputs]
        return value

    @staticmethod
    def backward(ctx, grad):
        xp = get_array_module(grad)
        return (grad, *(xp.zeros(shape, dtype) for shape, dtype in ctx.inputs))

    @staticmethod
    def jvp(ctx, *tangents):
        return tangents[0]


def _saved_requiring_grad(node: Node) -> list:
    """The tensors ``node`` saved that require grad (inputs, and its own outputs), read
    without running ``saved_tensors_hooks`` again."""
    found = []
    for e in node._saved_values or ():
        kind = type(e)
        if kind is SavedInput:
            if e.tensor.requires_grad:
                found.append(e.tensor)
        elif kind is SavedOutput:
            found.append(node._output_tensor(e.array, e.index))
    return found


def tie_to_saved(node: Node, grads: tuple) -> tuple:
    """``grads`` with each floating gradient tied to what ``node`` saved (see the module);
    unchanged when nothing saved requires grad."""
    anchors = _saved_requiring_grad(node)
    if not anchors:
        return grads
    return tuple(
        ZeroDerivative.apply(g, *anchors)
        if isinstance(g, Tensor) and g._data.dtype.kind in "fcV"
        else g
        for g in grads
    )
