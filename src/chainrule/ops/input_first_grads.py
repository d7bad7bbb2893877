"""Input gradients laid out with the input first, as PyTorch's backward kernels lay them out.

An elementwise gradient's layout is PyTorch's elementwise rule over the operands of the
kernel that computes it, in that kernel's order (``ops/_result_layout.elementwise_layout``:
the first operand that tells two dims apart decides). Most of PyTorch's backward formulas
put the incoming gradient first (``grad * f'(x)``, ``sigmoid_backward(grad, y)``): a
channels-last input with a row-major incoming gradient gets a row-major gradient, which
chainrule's ``g * d`` gives too. Some put the input (or result) first, and their gradient
then follows the input's layout (session 46, measured on PyTorch 2.13):

- ``threshold_backward(grad, self)`` (``relu``, ``threshold``) and ``leaky_relu_backward``
  build their iterator as ``(self, grad)``; ``_prelu_kernel_backward`` as ``(self, weight,
  grad)``;
- ``erf``, ``erfc``, ``erfinv``, ``special.erfcx``, ``special.ndtr``: ``f'(x) * grad``;
- ``sinc``: ``where(x == 0, 0, ...)``, its condition first;
- ``maximum`` / ``minimum``: ``where(self == other, grad / 2, grad)``, the comparison of the
  two inputs first.

The helpers here take that order only while no layout mark is on the input's memory
(``_layout_marks.py``: a convolution's channel-major result, which PyTorch sees row-major;
an array computed from it by NumPy carries its memory order but not its mark, so putting it
first would lay the gradient out channel-major to PyTorch). There they keep ``g * d``: the
incoming gradient first, as before. With no mark alive the test is one dict test.
"""

from __future__ import annotations

from typing import Any

from numpy import ndarray as _ndarray

from .._layout_marks import LAYOUT_MARKS
from ..autograd.tensor import Tensor
from ._first_order import unmarked
from ._result_layout import in_elementwise_layout

__all__ = ["DerivativeFirst", "input_first", "input_first_layout", "plain_layout"]


def plain_layout(*arrays: Any) -> bool:
    """Whether no layout mark is on the memory of any of ``arrays`` (raw arrays, Tensors,
    numbers or None): their own strides are the ones PyTorch reports."""
    if not LAYOUT_MARKS:
        return True
    for a in arrays:
        a = a._data if isinstance(a, Tensor) else a
        if type(a) is _ndarray and not unmarked(a):
            return False
    return True


def input_first(g: Tensor, d: Tensor, x: Any) -> Tensor:
    """The chain rule ``d * g`` of a PyTorch backward that multiplies the derivative ``d``
    (computed elementwise from the input ``x``, so laid out as ``x``) by the gradient ``g``
    in that order: its result takes ``x``'s layout where ``x`` decides (a channels-last
    ``x``). ``g * d`` (the same values) where ``x``'s memory carries a layout mark."""
    if plain_layout(x):
        return d * g
    return g * d


def input_first_layout(out: Any, first: Any, g: Any) -> Any:
    """The array ``out`` (a gradient computed from ``first`` and ``g``) in PyTorch's
    elementwise layout for the operands ``(first, g)``: ``out`` itself when both are
    row-major (two flag tests: the hot path), have fewer than two dims, or carry a layout
    mark (their own order then is not PyTorch's)."""
    if out.ndim < 2 or (first.flags.c_contiguous and g.flags.c_contiguous):
        return out
    if not plain_layout(first, g):
        return out
    return in_elementwise_layout(out, first, g)


class DerivativeFirst:
    """A mixin for a ``UnaryElementwise`` (listed before it) whose PyTorch backward is
    ``f'(x) * grad``: its chain rule (and so its tangent rule, the same expression) takes
    the derivative first (:func:`input_first`)."""

    @classmethod
    def chain(cls, ctx: Any, g: Any, x: Any, y: Any) -> Any:
        d = cls.derivative(ctx, x, y)  # type: ignore[attr-defined]
        if type(d) is int:
            return g * d
        return input_first(g, d, x if x is not None else y)
