"""``GradLaid``: an alias of a tensor whose gradient is laid out in a given dim order.

A ``create_graph`` backward rebuilt from Tensor ops (batch and group norm's) computes the
right values, but the layout of the input's second-order gradient is whatever the rebuilt
graph's accumulation gives, not that of PyTorch's double-backward formula. Reading the
input through this alias lays that gradient out as PyTorch's (session 47).
"""

from __future__ import annotations

from typing import Any

from .._layout import relaid_tensor
from .alias_view import AliasView

__all__ = ["GradLaid"]


class GradLaid(AliasView):
    """``GradLaid.apply(x, order)``: ``x`` as a new view (``AliasBackward0``), whose gradient
    is laid out with its dims running ``order``, fastest first (a recorded copy where it is
    not already, so differentiable again; None: as it comes)."""

    @staticmethod
    def forward(ctx: Any, x: Any, order: Any) -> Any:
        ctx.order = order
        return x.view()  # a new array object over the same memory

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        order = ctx.order
        return (grad if order is None else relaid_tensor(grad, order)), None

    @staticmethod
    def jvp(ctx: Any, t: Any, _: Any) -> Any:
        return t
