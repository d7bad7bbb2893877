"""Views and in-place changes, as PyTorch treats them: view replay and ``CopySlices``.

A view (``x[0]``, ``x.t()``, ``x.view(...)``) shares memory with its *base* -- the tensor at
the root of the chain of views, which owns the storage in autograd's sense. Two things can
then happen that a graph recorded op by op does not see on its own:

* **the base is modified in place after the view was taken** (``v = x[0]; x.mul_(2)``): the
  view's values changed, so its recorded history (``v = x_old[0]``) is stale. When the view
  is next used while recording, :func:`refresh_view` gives it a new ``grad_fn``: the view
  re-taken from the base's *current* history (PyTorch's view replay). The relation between
  view and base is kept as the flat positions of the view's elements inside the base
  (:func:`flat_index_map`), so every kind of view -- slices, transposes, diagonals,
  overlapping windows -- replays with one rule, :class:`AsStrided`.
* **a view is modified in place** (``x[:, 0].mul_(2)``, ``x.view(-1).relu_()``): the base's
  values changed through the view, so the base is rebased onto a :class:`CopySlices` node
  whose inputs are the base's old history and the view's new value: the gradient passes to
  the old base everywhere except at the overwritten positions, which take it from the new
  value.

Both cost nothing unless an in-place change meets a view: a view records
``Tensor._view`` (a :class:`ViewInfo`) when it is made, and ``Function.apply`` compares one
integer per input. As in PyTorch, a stale view's ``grad_fn`` is also re-taken when it is
only read (``Tensor.grad_fn`` is a property over the slot ``_grad_fn``, which the hot
paths read directly: :func:`stale_view_grad_fn`), so an in-place change costs nothing per
view and any write that bumps the version (a recorded op, a no-grad write, ``out=``, an
optimizer's step) leaves views that read as PyTorch's.

Split in session 38: the flat positions and the flat Functions are in :mod:`.view_flat`,
forward mode in :mod:`.view_tangents`, the checks and PyTorch's errors in
:mod:`.view_errors` (their names that other modules imported from here are re-exported).
"""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module
from .accumulate_grad import accumulate_grad_node
from .function import Function
from .state import current
from .tensor import Tensor
from .view_base import ViewInfo, record_view
from .view_errors import (
    check_view_write,
    refuse_multi_output_view,
    refuse_no_grad_view,
    refuse_stale_no_grad_view,
)
from .view_flat import (
    GatherFlat,
    ScatterFlat,
    ZeroFlat,
    as_real_array,
    data_pointer,
    flat_index_map,
    no_self_overlap,
)
from .view_tangents import retake_tangent, write_view_tangent

__all__ = [  # with the names of view_flat/view_errors/view_tangents its importers still use
    "AsStrided",
    "CopySlices",
    "GatherFlat",
    "ScatterFlat",
    "ViewInfo",
    "ZeroFlat",
    "check_view_write",
    "data_pointer",
    "flat_index_map",
    "move_retained_grad",
    "public_edge",
    "record_view",
    "record_view_write",
    "refresh_view",
    "refuse_stale_no_grad_view",
    "stale_view_grad_fn",
    "write_view_tangent",
]


class AsStrided(Function):
    """A view re-taken from its base's current history (PyTorch's view replay, node
    ``AsStridedBackward0``). ``forward`` returns the existing view array itself (no copy);
    the gradient goes back to the base's flat positions ``index``."""

    raw = True
    node_name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, base, view, index):
        ctx.shape, ctx.index = base.shape, index
        return view

    @staticmethod
    def backward(ctx, grad):
        out = ScatterFlat.apply(grad, ctx.shape, ctx.index)
        out._vc[0] = 1  # PyTorch's as_strided_backward copies into new zeros: version 1
        return out, None, None

    @staticmethod
    def jvp(ctx, t, _v, _i):
        return None if t is None else t.reshape(-1)[ctx.index]


class CopySlices(Function):
    """The base after one of its views was modified in place (PyTorch's ``CopySlices``).

    Inputs: the base's old history, the view's new value, the flat positions of the view's
    elements in the base, and the base's array (already holding the new values: ``forward``
    returns it without copying). Gradient: to the old base everywhere except ``index``; to
    the new value, the gradient at ``index``.
    """

    raw = True
    node_name = "torch::autograd::CopySlices"  # PyTorch's name (repr: <CopySlices ...>)

    @staticmethod
    def forward(ctx, old_base, value, index, written):
        ctx.index = index
        return written

    @staticmethod
    def public_edges(node: Any) -> tuple:
        """``next_functions`` as PyTorch's CopySlices lists them: the base's old history
        (``(None, 0)`` where it has none), then the inputs of the in-place op's node other
        than the view it wrote (PyTorch's CopySlices wraps that node and takes the view's
        place: ``v.sigmoid_()`` lists the base alone, ``v.mul_(w)`` the base and ``w``'s
        edge). The engine still runs the op's node (``next_edges``)."""
        edges = node.next_edges
        base = edges[0] if edges else None
        listed = [public_edge(base)]
        value = edges[1] if len(edges) > 1 else None
        if type(value) is tuple:
            listed.extend(value[0].next_functions[1:])
        elif value is not None:
            listed.append(public_edge(value))
        return tuple(listed)

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        g_base = ZeroFlat.apply(grad, ctx.index) if needs[0] else None
        g_value = GatherFlat.apply(grad, ctx.index) if needs[1] else None
        return g_base, g_value, None, None

    @staticmethod
    def jvp(ctx, t_base, t_value, _i, _w):
        written = ctx.primals[3]
        xp = get_array_module(written)
        out = xp.zeros(written.shape, written.dtype) if t_base is None else t_base.copy()
        flat = out.reshape(-1)
        flat[ctx.index] = 0 if t_value is None else xp.broadcast_to(t_value, ctx.index.shape)
        return out


def public_edge(edge: Any) -> tuple:
    """One engine edge as ``next_functions`` shows it: ``(node, output_nr)``, a leaf's
    ``(AccumulateGrad, 0)``, or ``(None, 0)``."""
    if edge is None:
        return (None, 0)
    if type(edge) is tuple:
        return edge
    return (accumulate_grad_node(edge), 0)


_INDIRECT = "its base or another view of its base has been modified"


def stale_view_grad_fn(view: Tensor) -> Any:
    """``Tensor.grad_fn`` of a view whose memory was changed in place since its history was
    taken (``view._view.version`` behind the counter), as PyTorch's getter: the history
    re-taken from the base's current one (``AsStridedBackward0``, whatever the grad mode),
    or PyTorch's error for a view that may not be used after its base changed (one of the
    views ``split``/``chunk``/``unbind`` returned, a view made under ``no_grad``). A view
    without a ``grad_fn`` of a base that does not require grad, or of a dtype without
    gradients, reads as it is."""
    info = view._view
    node = view._grad_fn
    if view._data.dtype.kind not in "fcV" or (node is None and not info.base._rg):
        return node
    if not info.grad_mode:
        refuse_no_grad_view(view, _INDIRECT)
    if info.multi_output is not None:
        refuse_multi_output_view(view, _INDIRECT)
    state = current()
    grad_on = state.grad_enabled
    state.grad_enabled = True  # (PyTorch builds the node whatever the grad mode)
    try:
        refresh_view(view)
    finally:
        state.grad_enabled = grad_on
    return view._grad_fn


def refresh_view(view: Tensor) -> None:
    """Re-take a stale view (its base was modified in place since) from the base's current
    history and tangent, so that what it records matches its values. Views made under
    ``no_grad`` stay out of the graph: one whose base requires grad raises here while grad
    mode is on, as in PyTorch (its values changed in a way the graph cannot tell)."""
    info = view._view
    base = info.base
    if not info.grad_mode and base.requires_grad and current().grad_enabled:
        refuse_no_grad_view(view, _INDIRECT)
    in_graph = info.grad_mode and base.requires_grad
    owner = info.fw_base  # whose tangent the view's is part of (None: its own)
    if info.multi_output is not None and (
        in_graph
        or view._grad_fn is not None  # (a history, though its root needs no gradient)
        or (owner is not None and owner._fw_tangent is not None)
    ):
        refuse_multi_output_view(view, _INDIRECT)
    if current().grad_enabled:
        if in_graph:
            replayed = _replay(base, view._data)
            old_node, old_nr = view._grad_fn, view._output_nr
            view._grad_fn, view._output_nr, view._rg = replayed._grad_fn, 0, True
            move_retained_grad(view, old_node, old_nr)
        elif info.grad_mode and view._grad_fn is not None:
            _replay_without_edge(view, base)
        retake_tangent(view, owner)
    else:
        retake_tangent(view, owner)
        if in_graph or (info.grad_mode and view._grad_fn is not None):
            # grad mode is off: the history is re-taken when the view is next recorded or
            # its grad_fn read (the getter, as PyTorch's: a backward from it under no_grad
            # goes through the base's current history), so the view stays marked stale
            return
    info.version = view._vc[0]


def _replay_without_edge(view: Tensor, base: Tensor) -> None:
    """A stale view with a history whose root base needs no gradient (a view of a leaf
    that is itself a view: ``l = x.view(2, 3).requires_grad_()``, whose views' root is
    ``x``): PyTorch re-takes it from that root as for any view, so its new
    ``AsStridedBackward0`` has no edge and no gradient reaches ``l`` through it."""
    if view._data.dtype != base._data.dtype:
        return  # (a view of another dtype keeps its history)
    source = Tensor._make(base._data, True, None, 0)
    replayed = AsStrided.apply(source, view._data, flat_index_map(base._data, view._data))
    node = replayed._grad_fn
    node.next_edges = (None, *node.next_edges[1:])
    old_node, old_nr = view._grad_fn, view._output_nr
    view._grad_fn, view._output_nr = node, 0
    move_retained_grad(view, old_node, old_nr)


def _reinterpret() -> tuple:
    """``view_as_real`` / ``view_as_complex``'s Functions (in here: ops imports autograd)."""
    from ..ops.complex_ops import ViewAsComplex, ViewAsReal  # noqa: PLC0415 - import cycle

    return ViewAsReal, ViewAsComplex


def _replay(base: Tensor, view: Any) -> Tensor:
    """``view`` (an array in ``base``'s memory) re-taken from ``base``'s history. A view of
    another dtype (``view_as_real`` of a complex base, ``view_as_complex`` of a real one)
    goes through the real side: the base's float view, or the view's, mapped element for
    element, then reinterpreted back."""
    if view.dtype == base._data.dtype:
        return AsStrided.apply(base, view, flat_index_map(base._data, view))
    as_real, as_complex = _reinterpret()
    if base._data.dtype.kind == "c":  # a float view of a complex base
        real_base = as_real.apply(base)
        return AsStrided.apply(real_base, view, flat_index_map(real_base._data, view))
    real_view = as_real_array(view)  # a complex view of a float base
    return as_complex.apply(AsStrided.apply(base, real_view, flat_index_map(base._data, real_view)))


def _copy_slices(old: Tensor, view: Any, value: Tensor) -> Tensor:
    """The base's new history after ``value`` was written into ``view`` (CopySlices), with
    views of another dtype taken on their real side as in :func:`_replay`."""
    if view.dtype == old._data.dtype:
        return CopySlices.apply(old, value, flat_index_map(old._data, view), old._data)
    as_real, as_complex = _reinterpret()
    if old._data.dtype.kind == "c":
        real_old = as_real.apply(old)
        index = flat_index_map(real_old._data, view)
        return as_complex.apply(CopySlices.apply(real_old, value, index, real_old._data))
    real_view = as_real_array(view)
    index = flat_index_map(old._data, real_view)
    return CopySlices.apply(old, as_real.apply(value), index, old._data)


def move_retained_grad(t: Tensor, old_node: Any, old_nr: int) -> None:
    """``t`` was rebased from ``old_node`` onto a new node by an in-place op: a
    ``retain_grad()`` made before follows it (as in PyTorch, ``t.grad`` is then the gradient
    of ``t``'s current value, not of the value it had when ``retain_grad`` was called)."""
    retain = old_node._retain if old_node is not None else None
    if not retain:
        return
    ref = retain.get(old_nr)
    if ref is None or ref() is not t:
        return
    del retain[old_nr]
    node = t._grad_fn
    if node is not None:  # what Tensor.retain_grad records, without its staleness check
        if node._retain is None:
            node._retain = {}
        node._retain[t._output_nr] = ref


def record_view_write(
    view: Tensor,
    base: Tensor,
    value: Tensor,
    overlapping: bool = False,
    old_edge: tuple | None = None,
) -> None:
    """After ``value`` was written into ``view``'s memory: rebase ``base`` onto a
    :class:`CopySlices` node and make ``view`` a view of the rebased base (its history goes
    through the base's new node, which carries ``value``'s history at the view's place).
    ``overlapping``: ``value`` was computed from ``overlapping_write_input`` (``view``'s
    elements overlap in memory: ``view_overlap.py``), so ``view`` is re-taken from the base
    too, as in PyTorch;
    another overlapping view keeps ``value``'s history (replaying it would count shared
    elements twice). ``old_edge``: the view's history before the write (``(node, nr)``),
    which the in-place op's node took as its ``self`` (see :func:`_bypass_old_view`)."""
    old = Tensor._make(base._data, base.requires_grad, base._grad_fn, base._output_nr)
    old._vc = base._vc
    old._fw_tangent = base._fw_tangent
    if old_edge is not None and old_edge[0] is not None and not overlapping:
        _bypass_old_view(value._grad_fn, old_edge, old, view._data)
    new = _copy_slices(old, view._data, value)
    old_node, old_nr = base._grad_fn, base._output_nr
    base._grad_fn, base._output_nr, base._rg = new._grad_fn, 0, new.requires_grad
    move_retained_grad(base, old_node, old_nr)
    owner = view._view.fw_base  # the tangent changed is this one's (None: the view's own)
    if owner is base and new._fw_tangent is not None:
        base._fw_tangent = new._fw_tangent
    if new.requires_grad and view._view.grad_mode and (overlapping or no_self_overlap(view._data)):
        # as in PyTorch, the view's history now goes through its base's new node (a hook or
        # retain_grad on the base sees the gradient of the view's later uses too)
        replayed = _replay(base, view._data)
        old_node, old_nr = view._grad_fn, view._output_nr
        view._grad_fn, view._output_nr, view._rg = replayed._grad_fn, 0, True
        if owner is base and replayed._fw_tangent is not None:
            view._fw_tangent = replayed._fw_tangent
        move_retained_grad(view, old_node, old_nr)
    if (
        owner is not None
        and owner is not base
        and (view._fw_tangent is not None or owner._fw_tangent is not None)
    ):
        write_view_tangent(view, owner)  # a view of a dual tensor: the dual's tangent
    view._view.version = view._vc[0]


def _hooked_chain(node: Any, stop: Any) -> bool:
    """Whether a node on the view chain from ``node`` down to the base's node ``stop`` has
    something that would see a gradient pass: a tensor hook, a node pre-hook or hook, or a
    ``retain_grad`` (a chain of views is short; at most 32 nodes are looked at)."""
    for _ in range(32):
        if node is None or node is stop:
            return False
        if node._tensor_hooks or node._pre_hooks or node._post_hooks or node._retain:
            return True
        edges = node.next_edges
        edge = edges[0] if edges else None
        node = edge[0] if type(edge) is tuple else None
    return False


def _bypass_old_view(node: Any, old_edge: tuple, old: Tensor, view: Any) -> None:
    """PyTorch's ``CopySlices`` runs the in-place op's node and writes its ``self`` gradient
    straight into the base's gradient at the view's place: the view's old history (its
    ``SelectBackward0``, ``SliceBackward0``, ...) is bypassed, so a hook registered on the
    view (or on a view it was taken from) before the write, or on that node, never sees the
    gradient of the write's later uses. chainrule's op node feeds the view's old node; where
    a node on that chain has a hook, its ``self`` edge is moved onto the view re-taken from
    the base's old history instead (:func:`_replay`: ``AsStridedBackward0``, through the
    real side for a view of another dtype), the same gradient, the hooks left to the uses
    of the view from before the write. Nothing changes otherwise (no node is made)."""
    if node is None:
        return
    edges = node.next_edges
    first = edges[0] if edges else None
    if type(first) is not tuple or first[0] is not old_edge[0] or first[1] != old_edge[1]:
        return
    if not _hooked_chain(first[0], old._grad_fn):
        return
    alias = _replay(old, view)  # (a view of another dtype through its real side)
    node.next_edges = ((alias._grad_fn, alias._output_nr), *edges[1:])
