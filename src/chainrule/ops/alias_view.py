"""PyTorch's ``alias``: a view of the whole tensor, same shape, strides and memory, recorded
as ``AliasBackward0`` (identity gradient). ``Tensor.as_subclass`` is built on it, as
PyTorch's ``as_subclass`` is on ``self.alias()``.

It is one light node rather than ``x[...]`` (``GetItem``, whose backward scatters into
zeros): a Tensor subclass's every op result passes through ``as_subclass``.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function

__all__ = ["AliasView"]


class AliasView(Function):
    """``alias(x)``: ``y = x`` as a new view object; ``dL/dx = dL/dy``."""

    raw = True
    is_view = True
    node_name = "AliasBackward0"
    complex_grad = True

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return x.view()  # a new array object over the same memory (a view, as x[...])

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        return grad

    @staticmethod
    def jvp(ctx: Any, t: Any) -> Any:
        return t
