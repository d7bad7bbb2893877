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
from ..backend import CUPY_IMPORTED, arrays_to_device, get_array_module, is_writeable
from .ieee import rerun_quietly
from .saved import memory_root
from .state import LOCAL
from .tensor import Tensor

__all__ = ["forward_tangents", "given_tangent", "write_tangent"]


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
    if not cls.complex_grad:
        _refuse_complex_tangents(cls, args, outs)
    own = ctx.__dict__ if cls._user else ()  # a user's own ctx.primals/ctx.out are kept
    own = {k for k in ("primals", "out") if k in own}
    if "primals" not in own:
        ctx.primals = tuple(a._data if isinstance(a, Tensor) else a for a in args)
        if CUPY_IMPORTED and len(args) > 1:  # host constants follow GPU data, as in apply
            ctx.primals = tuple(arrays_to_device(list(ctx.primals)))
    if "out" not in own:
        ctx.out = outs if len(outs) > 1 else outs[0]
    if cls._user and not cls.raw:  # a user's rule computes with Tensors (its tangents are)
        _primals_as_tensors(ctx, own)
    if cls.raw:
        tangents = [a._fw_tangent if isinstance(a, Tensor) else None for a in args]
        try:
            tan = jvp(ctx, *tangents)
        except RuntimeWarning as w:  # NumPy's FP warning as an error: as apply, ieee.py
            tan = rerun_quietly(w, jvp, ctx, *tangents)
    else:
        tan = _user_jvp(ctx, jvp, args)
    tans = tan if isinstance(tan, tuple) else (tan,)
    given = None
    for r, t in zip(results, tans):
        if t is not None and (
            _dt.is_floating(r.dtype) or (r.dtype.kind == "c" and cls.complex_grad)
        ):
            if isinstance(t, Tensor):
                t = t._data
            if not hasattr(t, "ndim") or t.ndim == 0 and type(t) is not type(r._data):
                # a rule that reduced to a NumPy scalar (x.mean()'s): an array of the output's
                # dtype, as every tangent is (ops on a scalar tangent promote differently)
                t = get_array_module(r._data).asarray(t, dtype=r._data.dtype)
            if r._view is None:  # not a view: its tangent must not alias a make_dual tangent
                if given is None:
                    given = [
                        memory_root(g._data) for g in map(given_tangent, args) if g is not None
                    ]
                if given and any(memory_root(t) is g for g in given):
                    t = t.copy()  # (an in-place op on the dual writes into that tangent)
            if t.shape != r._data.shape:
                t = get_array_module(t).broadcast_to(t, r._data.shape)
            r._fw_tangent = t
    if ctx.next_edges:
        ctx._out_tangents = tuple(r._fw for r in results)


def _refuse_complex_tangents(cls: type, args: tuple, outs: tuple) -> None:
    """An op without a complex rule (``complex_grad`` False) meeting a complex tangent, or
    making a complex output from inputs with tangents: NotImplementedError, as reverse mode
    raises (``function_links.check_complex``), where the op's real ``jvp`` would give a wrong
    tangent, or the complex output's would be dropped (read as zero)."""
    complex_in = any(
        isinstance(a, Tensor) and a._fw_tangent is not None and a._fw_tangent.dtype.kind == "c"
        for a in args
    )
    complex_out = any(getattr(getattr(o, "dtype", None), "kind", "") == "c" for o in outs)
    if complex_in or complex_out:
        raise NotImplementedError(
            f"{cls.__name__}: forward-mode AD through complex tensors is not supported for "
            "this op (its jvp rule is written for real numbers and would be wrong for complex "
            "ones). Compute with real and imaginary parts (cr.view_as_real) instead"
        )


def given_tangent(t: Any) -> Tensor | None:
    """The tangent Tensor that ``make_dual`` gave ``t`` where it is still ``t``'s tangent in
    the active level (what ``unpack_dual`` returns as is), else None."""
    if not isinstance(t, Tensor):
        return None
    fw = t._fw
    if fw is None or fw[2] is None or not fw[0].alive or fw[2]._data is not fw[1]:
        return None
    return fw[2]


def write_tangent(t: Tensor, new: Any) -> None:
    """After an in-place op on ``t``: its tangent becomes ``new`` (an array, or None for
    none). As in PyTorch, the tangent Tensor ``make_dual`` gave ``t`` is written in place
    (the same object, its values changed, its version bumped; zeros for ``new=None``)
    where it can hold ``new``; any other tangent is replaced."""
    given = given_tangent(t)
    if given is not None:
        old = given._data
        if new is old:
            return
        xp = get_array_module(old)
        if is_writeable(old) and (
            new is None or xp.broadcast_shapes(new.shape, old.shape) == old.shape
        ):
            if new is None:
                old[...] = 0
            else:  # (a rule's result overlapping the tangent it overwrites is copied first)
                xp.copyto(old, new.copy() if xp.may_share_memory(new, old) else new, "unsafe")
            given._vc[0] += 1
            return
    t._fw_tangent = new


def _as_tensor(v: Any) -> Any:
    return Tensor._make(v, False, None, 0) if hasattr(v, "dtype") and hasattr(v, "shape") else v


def _primals_as_tensors(ctx: Any, own: Any) -> None:
    """``ctx.primals``/``ctx.out`` of a user Function as Tensors outside the graph, so that
    its ``jvp`` combines them with its Tensor tangents (an ndarray operand of a Tensor
    operator is PyTorch's TypeError)."""
    if "primals" not in own:
        ctx.primals = tuple(_as_tensor(a) for a in ctx.primals)
    if "out" not in own:
        out = ctx.out
        ctx.out = tuple(map(_as_tensor, out)) if isinstance(out, tuple) else _as_tensor(out)


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
