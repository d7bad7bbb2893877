"""``jvp``, the plain (outside-vmap) forward-mode transform behind ``cr.func.jvp``.

Inside ``f`` the tensors carrying the transform's tangent read ``requires_grad`` False to
the user's code (torch.func's wrapped tensors do; :data:`.view_base.JVP_FUNCTION`), so a
function branching on it takes torch's branch.

Under grad mode with a primal or tangent that requires grad, or a tensor requiring grad
that ``f`` captures (a module's parameter, found before ``f`` runs by
:mod:`.forward_ad_captures`), the one forward pass also records the reverse-mode graph,
from differentiable stand-ins for the primals, and the tangents are made differentiable
from that graph (two reverse passes, see :func:`_graph_tangents`), their values staying
those of the forward pass: ``f`` runs once, as in PyTorch, its in-place changes of a primal
happen once and are recorded on it (its ``_version`` bumps). Otherwise the pass records
nothing and the primals are not copied; a capture the search missed shows only in the
results: ``f`` then runs a second time, recording, with the same random draws (refused
where the first run changed a primal in place: its old values are gone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..random_snapshot import restore, snapshot
from .forward_ad import _TangentWithoutGraph, check_dual_pair, enter_level, exit_level
from .forward_ad_captures import captures_grad
from .function import Function
from .grad_mode import enable_grad
from .state import current
from .tensor import Tensor
from .view_base import set_jvp_function

__all__ = ["hidden", "jvp", "ones_cotangents", "shown", "tangents_from_cotangent_grads"]


@contextmanager
def shown() -> Iterator[None]:
    """Tensors show their own ``requires_grad`` again (a reverse transform inside ``f``:
    torch.func's grad level wraps the primal anew, requiring grad)."""
    saved = set_jvp_function(None)
    try:
        yield
    finally:
        set_jvp_function(saved)


@contextmanager
def hidden(level: Any) -> Iterator[None]:
    """Tensors carrying ``level``'s tangents read ``requires_grad`` False to the user's code
    (None: every tensor its own flag)."""
    saved = set_jvp_function(level)
    try:
        yield
    finally:
        set_jvp_function(saved)


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _pairs(primals: Sequence[Any], tangents: Sequence[Any]) -> list:
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents")
    pairs = []
    for p, t in zip(primals, tangents):
        p = p if isinstance(p, Tensor) else Tensor._new(p)
        t = t if isinstance(t, Tensor) else Tensor._new(t, dtype=p.dtype)
        check_dual_pair(p, t)  # as torch: integer primals/tangents and shape mismatches raise
        pairs.append((p, t))
    return pairs


def _stand_in(p: Tensor) -> tuple:
    """``(dual, wrt, leaf)`` for primal ``p`` when the pass records a graph: ``dual`` what
    ``f`` gets (``f`` may change it in place, writing ``p``'s memory), ``wrt`` what the
    transform differentiates with respect to (this use of ``p``, not one ``f`` reads from
    a closure, before any change in place) and ``leaf`` the new leaf made for it (None when
    ``p`` requires grad: then ``dual`` is a view of ``p``, through which gradients flow on
    to it and an in-place change is recorded on ``p``, as in PyTorch)."""
    from .gradient_edge import get_gradient_edge
    from .transforms import _STAND_INS

    with enable_grad():
        if p.requires_grad:
            dual = p.view_as(p)
            return dual, get_gradient_edge(dual), None
        root = Tensor._make(p._data, True, None, 0)
        _STAND_INS[id(root)] = root
        dual = _Enter.apply(root)
        # not a view of root (a leaf: f could not change it in place), and f's in-place
        # change of it is one of p (p._version bumps, as in PyTorch)
        dual._view = None
        dual._vc = p._vc
        return dual, root, root


class _Enter(Function):
    """The primal ``f`` gets for a new leaf ``root``: its memory (not a view, so that ``f``
    may change it in place), gradients passed on to ``root``."""

    raw = True
    node_name = "AliasBackward0"
    complex_grad = True

    @staticmethod
    def forward(ctx, root):
        return root

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def jvp(ctx, tangent):
        return tangent


def jvp(
    f: Callable,
    primals: Sequence[Any],
    tangents: Sequence[Any],
    has_aux: bool = False,
    *,
    hide_flags: bool = False,
):
    """Forward mode: ``(f(*primals), J·tangents)`` via per-primitive tangent rules.

    ``hide_flags`` (``cr.func.jvp``): inside ``f`` the tensors carrying the tangent read
    ``requires_grad`` False, as torch.func's; chainrule's own users (``autograd.functional``,
    ``gradcheck``) keep the flags."""
    from .transforms import _jvp_by_reverse_mode, _reaches_outer

    pairs = _pairs(_as_tuple(primals), _as_tuple(tangents))
    state = current()
    if state.forward_ad > 0 and state.fw_level.api != "jvp":
        raise NotImplementedError(  # PyTorch raises here too ("Nested forward mode AD ...")
            "jvp: a forward-mode transform inside autograd.forward_ad.dual_level is not "
            "supported (nested forward mode, as in PyTorch); exit the dual_level first"
        )
    if state.forward_ad > 0:  # inside another jvp (jacfwd(jacfwd(f))): one level at a time
        return _jvp_by_reverse_mode(f, pairs, has_aux, hide_flags)
    # the graph is recorded when the autograd around will read the results: a primal or
    # tangent that requires grad, or a tensor requiring grad that f captures (a module's
    # parameter), looked for before f runs so that f runs once, as in PyTorch
    record = state.grad_enabled and (
        any(p.requires_grad or t.requires_grad for p, t in pairs) or captures_grad(f)
    )
    # a capture the search missed shows in the results: f then runs again, recording,
    # with the same random draws
    rng = snapshot() if state.grad_enabled and not record else None
    versions = [p._vc[0] for p, _ in pairs]
    out, aux, outs, values, made, _ = _pass(f, pairs, has_aux, record, hide_flags)
    if rng is not None and any(o.requires_grad for o in outs):
        if any(p._vc[0] != v for (p, _), v in zip(pairs, versions)):
            raise RuntimeError(
                "jvp: f changed a primal in place and its results require grad through a "
                "tensor f reads from outside, which jvp did not find before running f; "
                "pass that tensor to f as an argument (or as a primal)"
            )
        restore(rng)
        record = True
        out, aux, outs, _, made, _ = _pass(f, pairs, has_aux, True, hide_flags)
    wrt = [w for _, w, _ in made]
    leaves = [leaf for _, _, leaf in made if leaf is not None]
    outer = record and (
        any(p.requires_grad or t.requires_grad for p, t in pairs) or _reaches_outer(outs, leaves)
    )
    anchor = why = None
    touts: list = []
    if outer:
        try:
            touts = _graph_tangents(outs, wrt, pairs, values)
        except (RuntimeError, NotImplementedError) as err:  # an op of f has no backward
            why = f"backward through a jvp tangent: {err}"  # (floor_divide): the tangents
            # keep their values and refuse a backward pass
            anchor = next((t for t in (*outs, *leaves) if t.requires_grad), None)  # refuse
            touts = []
    if not touts:
        touts = [_plain_tangent(o, v, anchor, why) for o, v in zip(outs, values)]
    # an output stays on the graph where it reaches the autograd around (a tangent that
    # requires grad makes only the tangents differentiable, as in PyTorch)
    outs = tuple(
        o if outer and _reaches_outer([o], leaves) else Tensor._make(o._data, False, None, 0)
        for o in outs
    )
    out_p = outs if isinstance(out, (tuple, list)) else outs[0]
    tout = tuple(touts) if isinstance(out, (tuple, list)) else touts[0]
    return (out_p, tout, aux) if has_aux else (out_p, tout)


def _pass(f: Callable, pairs: list, has_aux: bool, record: bool, hide: bool) -> tuple:
    """One forward pass of ``f`` at the primals with their tangents; with ``record``, also
    the graph (``made``: the :func:`_stand_in` of each primal)."""
    from .transforms import _running

    state = current()
    level = enter_level(state, "jvp")
    try:
        if record:
            made = [_stand_in(p) for p, _ in pairs]
            duals = [d for d, _, _ in made]
        else:
            made = []
            duals = [Tensor._make(p._data, False, None, 0) for p, _ in pairs]
            for d, (p, _) in zip(duals, pairs):
                d._vc = p._vc  # f changing it in place changes p (p._version bumps)
        for d, (p, t) in zip(duals, pairs):
            d._fw_tangent = t._data.astype(p.dtype, copy=False)
        leaves = [leaf for _, _, leaf in made if leaf is not None]
        with _running(leaves), hidden(level if hide else None):
            res = f(*duals)
        out, aux = (res[0], res[1]) if has_aux else (res, None)
        outs = _as_tuple(out)
        for o in outs:  # an output view whose base f wrote after taking it: its tangent
            if o._view is not None and o._view.version != o._vc[0]:  # re-taken first
                o._refresh_view()
        values = [o._fw_tangent for o in outs]
    finally:
        exit_level(state, level)
    return out, aux, outs, values, made, duals


def _plain_tangent(o: Tensor, value: Any, anchor: Any, why: Any) -> Tensor:
    if value is None:
        value = _xp(o).zeros(o.shape, o.dtype)
    if anchor is not None:
        return _TangentWithoutGraph.apply(anchor, value, why)
    return Tensor._make(value, False, None, 0)


def _xp(t: Tensor):
    from ..backend import get_array_module

    return get_array_module(t._data)


def ones_cotangents(outs: Sequence[Tensor]) -> list:
    """Cotangents ``u`` for the two-pass ``J·v``, requiring grad: ones, not zeros (``g(u)``
    is linear in ``u``, but some backward rules compute it in a log domain -- logcumsumexp --
    whose derivative in ``u`` is masked to 0 where ``u`` is 0)."""
    return [Tensor._make(_xp(o).ones(o.shape, o.dtype), True, None, 0) for o in outs]


def tangents_from_cotangent_grads(gs: Sequence[Any], pairs: Sequence[tuple], us: list) -> list:
    """The second reverse pass: ``J·v`` as the gradient of ``<g(u), v>`` w.r.t. ``us``, for
    the ``gs = g(u)`` that depend on ``u`` (``pairs``: (primal, tangent ``v``) per ``g``);
    None per ``u`` when none does."""
    from . import grad as autograd_grad

    linked = [(g, t) for g, (_, t) in zip(gs, pairs) if g is not None and g.requires_grad]
    if not linked:
        return [None] * len(us)
    return autograd_grad(
        [g for g, _ in linked],
        us,
        [t.to(g.dtype) for g, t in linked],
        create_graph=True,
        allow_unused=True,
    )


def _graph_tangents(outs: tuple, wrt: list, pairs: list, values: list) -> list:
    """The tangents of ``outs`` as tensors on their recorded graph: ``J·v`` by two reverse
    passes (``g(u) = Jᵀu`` is linear in a cotangent ``u`` that requires grad; the gradient
    of ``<g(u), v>`` w.r.t. ``u`` is ``J·v``), with the forward pass's ``values`` (where an
    op's backward is not the exact adjoint of its forward rule -- embedding's padding_idx,
    ties in amax -- the two would differ)."""
    from . import grad as autograd_grad

    us = ones_cotangents(outs)
    with enable_grad():
        live = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
        gs = (
            autograd_grad(
                [o for o, _ in live],
                wrt,
                [u for _, u in live],
                retain_graph=True,
                create_graph=True,
                allow_unused=True,
            )
            if live
            else [None] * len(wrt)
        )
        found = tangents_from_cotangent_grads(gs, pairs, us)
    result = []
    for j, v, o in zip(found, values, outs):
        if v is None:
            v = _xp(o).zeros(o.shape, o.dtype)
        if j is not None and j.requires_grad:
            result.append(_WithValue.apply(j, v))
        else:
            result.append(Tensor._make(v, False, None, 0))
    return result


class _WithValue(Function):
    """``values`` (an array) on ``graph``'s node: the tangents a forward pass computed,
    differentiable as the reverse-mode tangents ``graph`` (same shape) are. Gradients and
    outer tangents pass through to ``graph`` unchanged."""

    raw = True
    node_name = "AliasBackward0"
    complex_grad = True  # passes values and gradients through: right for complex too

    @staticmethod
    def forward(ctx, graph, values):
        return values

    @staticmethod
    def backward(ctx, grad):
        return grad, None

    @staticmethod
    def jvp(ctx, tangent, _values_tangent=None):
        return tangent
