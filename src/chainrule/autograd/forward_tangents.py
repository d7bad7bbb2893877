"""Forward mode inside ``Function.apply``: run an op's ``jvp`` rule on its inputs' tangents.

When any input carries a forward-mode tangent (``cr.func.jvp``, ``jacfwd``,
``cr.autograd.forward_ad``), ``Function.apply`` calls :func:`forward_tangents` after the
forward pass: the node receives the primal arrays (``ctx.primals``) and outputs
(``ctx.out``), the op's ``jvp(ctx, *tangents)`` returns one tangent per output, and each is
attached to its output (broadcast to the output's shape; integer outputs get none).
"""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module
from .tensor import Tensor

__all__ = ["forward_tangents"]


def forward_tangents(
    ctx: Any, cls: type, args: tuple, outs: tuple, results: list, kwargs: dict
) -> None:
    """Attach to each of ``results`` the tangent that ``cls.jvp`` computes for it."""
    jvp = getattr(cls, "jvp", None)
    if jvp is None:
        raise NotImplementedError(
            f"{cls.__name__} has no forward-mode (jvp) rule, so cr.func.jvp/jacfwd cannot "
            "pass through it; use reverse mode (cr.func.vjp/jacrev) instead"
        )
    ctx.primals = tuple(a._data if isinstance(a, Tensor) else a for a in args)
    ctx.out = outs if len(outs) > 1 else outs[0]
    tangents = [a._fw_tangent if isinstance(a, Tensor) else None for a in args]
    tan = jvp(ctx, *tangents)
    tans = tan if isinstance(tan, tuple) else (tan,)
    for r, t in zip(results, tans):
        if t is not None and r.dtype.kind == "f":
            if isinstance(t, Tensor):
                t = t._data
            if t.shape != r._data.shape:
                t = get_array_module(t).broadcast_to(t, r._data.shape)
            r._fw_tangent = t
    if ctx.next_edges:
        ctx._out_tangents = tuple(r._fw_tangent for r in results)
