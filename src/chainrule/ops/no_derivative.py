"""Results PyTorch keeps in the graph but cannot differentiate, or differentiates to zero.

A few ops (``floor_divide``, ``heaviside``, ``histogram``, weighted ``bincount``, ``unique``)
have no derivative in PyTorch, yet their floating result still *requires grad* when an input
does: the graph records a node whose backward raises. A program that differentiates through
one therefore stops with PyTorch's error instead of quietly treating the op as a constant.
:func:`record_no_derivative` gives a result computed without the graph that same node, so
the same program stops here with the same error type and text.

``div`` with a ``rounding_mode`` is the other kind: PyTorch records it (``DivBackward2``) and
its gradient is zero, so :func:`record_zero_derivative` gives the result a node whose
gradients are zeros. PyTorch's random draws from tensor parameters are the same kind:
``bernoulli(p)`` (``BernoulliBackward0``), ``normal(mean, std)`` (``NormalBackward1/2/3``) and
``poisson(rates)`` (``PoissonBackward0``) stay in the graph with zero gradients and tangents,
while ``bernoulli(x, p)`` and ``binomial`` are recorded under a node that raises.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ..autograd import view_base
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..autograd.zero_link import ZeroDerivative
from ..backend import get_array_module

__all__ = ["record_no_derivative", "record_zero_derivative"]


class NotImplementedDerivative(Function):
    """Passes a precomputed result through; backward and the tangent rule raise."""

    raw = True
    node_name = "torch::autograd::NotImplemented"

    @staticmethod
    def forward(ctx, result, *inputs, op):
        ctx.op = op
        return result

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(f"derivative for aten::{ctx.op} is not implemented")

    @staticmethod
    def jvp(ctx, *tangents):
        raise NotImplementedError(
            f"Trying to use forward AD with aten::{ctx.op} that does not support it."
        )


class Unique2Derivative(NotImplementedDerivative):
    """``unique``'s node: PyTorch names it and raises NotImplementedError."""

    node_name = "Unique2Backward0"

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("the derivative for '_unique2' is not implemented.")


class NegativeSlopeLeakyRelu(NotImplementedDerivative):
    """An in-place ``leaky_relu_`` with a negative slope: PyTorch's node (it saves the result,
    whose sign no longer tells the input's) raises on backward and at once in forward mode."""

    node_name = "LeakyReluBackward1"

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(_NEGATIVE_SLOPE)

    @staticmethod
    def jvp(ctx, *tangents):
        raise RuntimeError(_NEGATIVE_SLOPE)


_NEGATIVE_SLOPE = (
    "In-place leakyReLu backward calculation is triggered with a negative slope which is not "
    "supported. This is caused by calling in-place forward function with a negative slope, "
    "please call out-of-place version instead."
)


class RoundedDivision(ZeroDerivative):
    """``div(a, b, rounding_mode=...)``: piecewise constant, so zero gradients (PyTorch's)."""

    node_name = "DivBackward2"

    @staticmethod
    def forward(ctx, value, *inputs):
        ctx.result = (value.shape, value.dtype)
        return ZeroDerivative.forward(ctx, value, *inputs)

    @staticmethod
    def jvp(ctx, *tangents):
        # zeros, not no tangent: PyTorch's tangent of a rounded quotient is a zero tensor
        xp = get_array_module(*(t for t in tangents if t is not None))
        return xp.zeros(*ctx.result)


def _tracked(result: Tensor, inputs: tuple) -> bool:
    """Whether a floating or complex ``result`` of ``inputs`` belongs in the graph."""
    if result._data.dtype.kind not in "fcV":
        return False
    for a in inputs:  # inside vmap too: vmap(grad(f)) differentiates through it (PyTorch)
        if isinstance(a, Tensor) and (
            a.requires_grad or (a._fw_tangent is not None and type(a) is Tensor)
        ):
            return True
    return False


def _carries_jvp_tangent(inputs: tuple) -> bool:
    """Whether an input carries the tangent of the ``cr.func.jvp`` (or ``jacfwd``) running
    now: such a tensor reads ``requires_grad`` False to the op (torch.func's wrapped tensors
    do), and its tangent would otherwise pass through the result computed without the graph
    (a silent wrong tangent)."""
    if not view_base._HIDING:
        return False
    for a in inputs:
        while isinstance(a, Tensor) and hasattr(a, "_value"):  # a vmap-batched wrapper
            a = a._value  # (jacfwd: the jvp's dual beneath vmap's levels)
        if isinstance(a, Tensor) and view_base.carries_jvp_tangent(a):
            return True
    return False


_ZERO_NODES: dict[str, type] = {"DivBackward2": RoundedDivision}


def record_zero_derivative(result: Tensor, *inputs: Any, node: str = "DivBackward2") -> Tensor:
    """``result`` of ``div(*inputs, rounding_mode=...)`` (or of the op whose PyTorch node is
    ``node``, e.g. a draw ``BernoulliBackward0``), recorded with zero gradients and tangents.
    Unchanged when no input requires grad or carries a tangent, or for an integer result."""
    if not _tracked(result, inputs):
        return result
    fn = _ZERO_NODES.get(node)
    if fn is None:  # one Function class per PyTorch node name (grad_fn.name() reads it)
        doc = f"``{node}``: a result PyTorch keeps in the graph with zero gradients."
        fn = _ZERO_NODES[node] = type(node, (RoundedDivision,), {"node_name": node, "__doc__": doc})
    return fn.apply(result, *(a for a in inputs if isinstance(a, Tensor)))


def record_no_derivative(op: str, result: Tensor, *inputs: Any) -> Tensor:
    """``result`` (a constant computed from ``inputs``), recorded in the graph under a node
    that raises PyTorch's error if a gradient or tangent ever flows through it. Unchanged when
    no input requires grad or carries a tangent, or for an integer or boolean result."""
    fn = {"_unique2": Unique2Derivative, "leaky_relu_": NegativeSlopeLeakyRelu}.get(
        op, NotImplementedDerivative
    )
    if _carries_jvp_tangent(inputs):  # torch refuses at once, as its node's tangent rule
        fn.jvp(SimpleNamespace(op=op))  # raises
    if not _tracked(result, inputs):
        return result
    return fn.apply(result, *(a for a in inputs if isinstance(a, Tensor)), op=op)
