"""``LinearMap``: a linear op ``y = A(x)`` whose gradient is its adjoint, another LinearMap.

Several rules come in adjoint pairs: scatter and gather on a sparse pattern, a segment sum
and the copy back to the segments, a resampling and its transpose. Each states only how to
apply its map to an array (:meth:`LinearMap.map`, with ``const`` the non-tensor description
of the map: a pattern, a plan); the shared rules follow from linearity: the backward is the
partner applied to the gradient (recorded, so double backward works), and the forward-mode
rule is the map itself applied to the tangent. :func:`adjoint_pair` ties two classes together.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function

__all__ = ["LinearMap", "adjoint_pair"]


class LinearMap(Function):
    """``y = map(x, const)``, linear in ``x``; its adjoint is the class ``adjoint``."""

    raw = True
    adjoint: type[LinearMap]

    @staticmethod
    def map(x: Any, const: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError("LinearMap subclasses define map(x, const)")

    @classmethod
    def forward(cls, ctx, x, const):
        ctx.const = const
        return cls.map(x, const)

    @classmethod
    def backward(cls, ctx, grad):
        return cls.adjoint.apply(grad, ctx.const), None

    @classmethod
    def jvp(cls, ctx, t, _):
        return cls.map(t, ctx.const)


def adjoint_pair(a: type[LinearMap], b: type[LinearMap]) -> None:
    """Make ``a`` and ``b`` each other's adjoint (their backward rules)."""
    a.adjoint, b.adjoint = b, a
