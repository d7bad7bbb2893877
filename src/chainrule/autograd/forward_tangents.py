"""Forward mode inside ``Function.apply``: run an op's ``jvp`` rule on its inputs' tangents.

When any input carries a forward-mode tangent (``cr.func.jvp``, ``jacfwd``,
``cr.autograd.forward_ad``), ``Function.apply`` calls :func:`forward_tangents` after the
forward pass: the node receives the primal arrays (``ctx.primals``) and outputs
(``ctx.out``), the op's ``jvp(ctx, *tangents)`` returns one tangent per output, and each is
attached to its output (broadcast to the output's shape; integer outputs get none).
Floating outputs are float16/32/64 and bfloat16 (an ml_dtypes dtype of kind 'V', so the
test is :func:`~chainrule.dtypes.is_floating`, not ``kind == 'f'``).
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..backend import get_array_module
from .state import LOCAL
from .tensor import Tensor

__all__ = ["forward_tangents"]


def forward_tangents(
    ctx: Any, cls: type, args: tuple, outs: tuple, results: list, kwargs: dict
) -> None:
    """Attach to each of ``results`` the tangent that ``cls.jvp`` computes for it."""
    jvp = getattr(cls, "jvp", None)
    if jvp is None:
        if not cls.raw:
            raise NotImplementedError(
                f"{cls.__name__}: You must implement the jvp function for custom "
                "autograd.Function to use it with forward mode AD."
            )
        raise NotImplementedError(
            f"{cls.__name__} has no forward-mode (jvp) rule, so cr.func.jvp/jacfwd cannot "
            "pass through it; use reverse mode (cr.func.vjp/jacrev) instead"
        )
    own = ctx.__dict__ if cls._user else ()  # a user's own ctx.primals/ctx.out are kept
    if "primals" not in own:
        ctx.primals = tuple(a._data if isinstance(a, Tensor) else a for a in args)
    if "out" not in own:
        ctx.out = outs if len(outs) > 1 else outs[0]
    if cls.raw:
        tan = jvp(ctx, *[a._fw_tangent if isinstance(a, Tensor) else None for a in args])
    else:
        tan = _user_jvp(ctx, jvp, args)
    tans = tan if isinstance(tan, tuple) else (tan,)
    for r, t in zip(results, tans):
        if t is not None and (
            _dt.is_floating(r.dtype) or (r.dtype.kind == "c" and cls.complex_grad)
        ):
            if isinstance(t, Tensor):
                t = t._data
            if t.shape != r._data.shape:
                t = get_array_module(t).broadcast_to(t, r._data.shape)
            r._fw_tangent = t
    if ctx.next_edges:
        ctx._out_tangents = tuple(r._fw for r in results)


def _user_jvp(ctx: Any, jvp: Any, args: tuple) -> Any:
    """A user ``Function``'s ``jvp``, called as PyTorch calls it: one Tensor tangent per
    Tensor input (zeros where the input has none), None for other arguments, and
    ``ctx.saved_tensors`` giving what ``save_for_forward`` kept. The rule's own ops run with
    forward mode off (the saved primals are plain values there, as in PyTorch)."""
    tangents = []
    for a in args:
        if isinstance(a, Tensor):
            t = a._fw_tangent
            xp = get_array_module(a._data)
            tangents.append(
                Tensor._make(xp.zeros_like(a._data) if t is None else t, False, None, 0)
            )
        else:
            tangents.append(None)
    state = LOCAL.state
    level, depth = state.fw_level, state.forward_ad
    state.fw_level, state.forward_ad = None, 0
    ctx._in_jvp = True
    try:
        return jvp(ctx, *tangents)
    finally:
        ctx._in_jvp = False
        state.fw_level, state.forward_ad = level, depth
