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
integer per input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import get_array_module, is_writeable
from .forward_tangents import given_tangent
from .function import Function
from .state import current
from .tensor import Tensor
from .view_base import ViewInfo, record_view

__all__ = [
    "AsStrided",
    "CopySlices",
    "ViewInfo",
    "flat_index_map",
    "record_view",
    "refresh_view",
    "refuse_stale_no_grad_view",
    "check_view_write",
    "data_pointer",
    "record_view_write",
    "write_view_tangent",
    "move_retained_grad",
]


def data_pointer(arr: Any) -> int:
    """The address of an array's first element (NumPy or CuPy)."""
    iface = getattr(arr, "__array_interface__", None)
    if iface is not None:
        return iface["data"][0]
    return arr.data.ptr  # pragma: no cover - cupy


def _byte_offsets(shape: tuple, strides: tuple) -> np.ndarray:
    """The byte offset of every element of an array of ``shape``/``strides`` (C order)."""
    off = np.zeros(shape, dtype=np.int64)
    for k, (n, s) in enumerate(zip(shape, strides)):
        if n > 1 and s != 0:
            axis = [1] * len(shape)
            axis[k] = n
            off += (np.arange(n, dtype=np.int64) * s).reshape(axis)
    return off


def flat_index_map(base: Any, view: Any) -> Any:
    """For each element of ``view`` (an array sharing ``base``'s memory), its flat C-order
    position in ``base``: ``base.reshape(-1)[index] == view`` elementwise."""
    start = data_pointer(view) - data_pointer(base)
    voff = _byte_offsets(view.shape, view.strides) + start
    itemsize = base.itemsize
    if base.flags.c_contiguous:
        pos = voff // itemsize
        ok = (voff % itemsize == 0) & (pos >= 0) & (pos < base.size)
    else:
        boff = _byte_offsets(base.shape, base.strides).reshape(-1)
        order = np.argsort(boff, kind="stable")
        sorted_off = boff[order]
        j = np.clip(np.searchsorted(sorted_off, voff), 0, max(base.size - 1, 0))
        ok = sorted_off[j] == voff if base.size else np.zeros(voff.shape, bool)
        pos = order[j] if base.size else j
    if not np.all(ok):
        raise RuntimeError(
            f"view replay: a view of shape {tuple(view.shape)} does not lie inside the memory of "
            f"its base of shape {tuple(base.shape)}"
        )
    xp = get_array_module(base)
    return pos if xp is np else xp.asarray(pos)  # pragma: no branch


def _scatter_add(g: Any, size: int, index: Any) -> Any:
    """A flat array of ``size`` zeros with ``g`` added at ``index`` (repeats summed)."""
    xp = get_array_module(g)
    if xp is np and g.dtype.kind == "f":
        return np.bincount(index.reshape(-1), weights=g.reshape(-1), minlength=size).astype(
            g.dtype, copy=False
        )
    out = xp.zeros(size, dtype=g.dtype)
    xp.add.at(out, index.reshape(-1), g.reshape(-1))  # cupy.add.at on the GPU
    return out


class GatherFlat(Function):
    """``x.reshape(-1)[index]``: the elements of ``x`` at flat positions ``index``."""

    raw = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        return x.reshape(-1)[index]

    @staticmethod
    def backward(ctx, grad):
        return ScatterFlat.apply(grad, ctx.shape, ctx.index), None

    @staticmethod
    def jvp(ctx, t, _):
        return t.reshape(-1)[ctx.index]


class ScatterFlat(Function):
    """zeros(``shape``) with ``g`` added at flat positions ``index`` (GatherFlat's adjoint)."""

    raw = True

    @staticmethod
    def forward(ctx, g, shape, index):
        ctx.index = index
        return _scatter_add(g, int(np.prod(shape, dtype=np.int64)), index).reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return GatherFlat.apply(grad, ctx.index), None, None

    @staticmethod
    def jvp(ctx, t, _s, _i):
        return ScatterFlat.forward(ctx, t, ctx.primals[1], ctx.index)


class ZeroFlat(Function):
    """A copy of ``g`` with the flat positions ``index`` set to zero (self-adjoint)."""

    raw = True

    @staticmethod
    def forward(ctx, g, index):
        ctx.index = index
        out = get_array_module(g).array(g, copy=True, order="C")
        out.reshape(-1)[index] = 0
        return out

    @staticmethod
    def backward(ctx, grad):
        return ZeroFlat.apply(grad, ctx.index), None

    @staticmethod
    def jvp(ctx, t, _):
        return ZeroFlat.forward(ctx, t, ctx.index)


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
        return ScatterFlat.apply(grad, ctx.shape, ctx.index), None, None

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


def refresh_view(view: Tensor) -> None:
    """Re-take a stale view (its base was modified in place since) from the base's current
    history and tangent, so that what it records matches its values. Views made under
    ``no_grad`` stay out of the graph: one whose base requires grad raises here while grad
    mode is on, as in PyTorch (its values changed in a way the graph cannot tell)."""
    info = view._view
    base = info.base
    if not info.grad_mode and base.requires_grad and current().grad_enabled:
        _refuse_no_grad_view(view, "its base or another view of its base has been modified")
    in_graph = info.grad_mode and base.requires_grad
    owner = info.fw_base  # whose tangent the view's is part of (None: its own)
    if info.multi_output is not None and (
        in_graph or (owner is not None and owner._fw_tangent is not None)
    ):
        _refuse_multi_output_view(view, "its base or another view of its base has been modified")
    state = current()
    if in_graph and state.grad_enabled:
        replayed = _replay(base, view._data)
        old_node, old_nr = view.grad_fn, view._output_nr
        view.grad_fn, view._output_nr, view._rg = replayed.grad_fn, 0, True
        move_retained_grad(view, old_node, old_nr)
        _retake_tangent(view, owner)
    elif _retake_tangent(view, owner) and in_graph:  # forward mode only
        return  # grad mode is off: replay the graph when the view is next recorded
    info.version = view._vc[0]


def _retake_tangent(view: Tensor, owner: Tensor | None) -> bool:
    """Re-take ``view``'s tangent from ``owner``'s (the tensor whose tangent it is a view
    of, :func:`~.view_base.forward_base`); whether there was one to take."""
    if owner is None:
        return False
    tangent = owner._fw_tangent
    if tangent is None:
        return False
    view._fw_tangent = _tangent_part(tangent, owner._data, view._data)
    return True


def _tangent_part(tangent: Any, owner: Any, view: Any) -> Any:
    """The part of ``owner``'s ``tangent`` at ``view``'s elements (``view`` an array in
    ``owner``'s memory). A view of another dtype (``.real``, ``view_as_real`` of a complex
    owner, ``view_as_complex`` of a float one) is mapped on the real side, as
    :func:`_replay` does. An array even for a 0-d view (indexing with a 0-d index gives a
    NumPy scalar, which the ops would take for a Python number)."""
    xp = get_array_module(tangent)
    if view.dtype == owner.dtype:
        return xp.asarray(tangent.reshape(-1)[flat_index_map(owner, view)])
    if owner.dtype.kind == "c":  # a float view of a complex owner
        real_owner = _as_real_array(owner)
        return xp.asarray(_as_real_array(tangent).reshape(-1)[flat_index_map(real_owner, view)])
    pairs = tangent.reshape(-1)[flat_index_map(owner, _as_real_array(view))]  # fresh, C order
    return pairs.view(view.dtype)[..., 0]


def _put_tangent_part(tangent: Any, owner: Any, view: Any, value: Any) -> None:
    """Write ``value`` (the view's new tangent, or 0) into ``owner``'s C-contiguous
    ``tangent`` at ``view``'s elements; views of another dtype as in :func:`_tangent_part`."""
    if view.dtype == owner.dtype:
        tangent.reshape(-1)[flat_index_map(owner, view)] = value
    elif owner.dtype.kind == "c":
        real_owner = _as_real_array(owner)
        _as_real_array(tangent).reshape(-1)[flat_index_map(real_owner, view)] = value
    else:
        pairs = _as_real_array(value) if getattr(value, "ndim", None) is not None else value
        tangent.reshape(-1)[flat_index_map(owner, _as_real_array(view))] = pairs


def write_view_tangent(view: Tensor, base: Tensor) -> None:
    """Forward mode: after writing into ``view``, ``base`` -- the owner of the tangent the
    view's is a view of (:func:`~.view_base.forward_base`) -- takes the view's new tangent
    at the view's positions."""
    xp = get_array_module(base._data)
    t = base._fw_tangent
    value = 0 if view._fw_tangent is None else view._fw_tangent
    given = given_tangent(base)
    if given is not None and is_writeable(t) and t.flags.c_contiguous:
        # as in PyTorch, the tangent make_dual was given is written in place (same object)
        value = value.copy() if xp.may_share_memory(value, t) else value
        _put_tangent_part(t, base._data, view._data, value)
        given._vc[0] += 1
    else:
        t = xp.zeros(base._data.shape, base._data.dtype) if t is None else xp.array(t, order="C")
        _put_tangent_part(t, base._data, view._data, value)
        base._fw_tangent = t
    view._view.version = view._vc[0]


def _reinterpret() -> tuple:
    """``view_as_real`` / ``view_as_complex``'s Functions (in here: ops imports autograd)."""
    from ..ops.complex_ops import ViewAsComplex, ViewAsReal  # noqa: PLC0415 - import cycle

    return ViewAsReal, ViewAsComplex


def _as_real_array(arr: Any) -> Any:
    """A complex array's memory as floats, shape ``(..., 2)`` (a view, any strides)."""
    return arr[..., None].view(arr.real.dtype)


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
    real_view = _as_real_array(view)  # a complex view of a float base
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
    real_view = _as_real_array(view)
    index = flat_index_map(old._data, real_view)
    return CopySlices.apply(old, as_real.apply(value), index, old._data)


def check_view_write(view: Tensor, name: str) -> Tensor:
    """Called by an in-place op on ``view`` *before* it writes: returns the base, after
    checking that the write may be recorded (PyTorch's rules for views of leaves and views
    made under ``no_grad``)."""
    info = view._view
    base = info.base
    if not info.grad_mode:  # the write is recorded (grad mode is on), the view is not
        _refuse_no_grad_view(view, "is being modified")
    if info.multi_output is not None:
        _refuse_multi_output_view(view, "is being modified")
    # The root is a leaf and the view requires grad: either the leaf does, or the view was
    # taken from a leaf made from a view (``b.mT.requires_grad_()``); PyTorch refuses both.
    if base.grad_fn is None and (base.requires_grad or view.requires_grad):
        raise RuntimeError(
            f"{name}: a view of a leaf tensor that requires grad is being used in an in-place "
            "operation; modify a clone (x.clone()) or do it under `with cr.no_grad():`"
        )
    return base


_NO_GRAD_VIEW_ADVICE = (
    " inplace with grad mode enabled. Given that this use case is ambiguous and error-prone, "
    "it is forbidden. You can clarify your code by moving both the view and the inplace either "
    "both inside the no_grad block (if you don't want the inplace to be tracked) or both "
    "outside (if you want the inplace to be tracked)."
)


def refuse_stale_no_grad_view(view: Tensor) -> None:
    """PyTorch's error on reading ``grad_fn`` / ``is_leaf`` of a view made under
    ``no_grad`` whose base (which requires grad) was modified in place since
    (:func:`~.view_base.stale_no_grad_view`)."""
    _refuse_no_grad_view(view, "its base or another view of its base has been modified")


def _refuse_no_grad_view(view: Tensor, what: str) -> None:
    """PyTorch's error for a view made under ``no_grad`` (or a view of one) that is modified
    in place, or whose base was, while grad mode is on: the view is outside the graph, so
    the change could not be tracked. ``what`` says which of the two happened."""
    node = view.grad_fn
    if node is None:
        raise RuntimeError(f"A view was created in no_grad mode and {what}{_NO_GRAD_VIEW_ADVICE}")
    if view._view.multi_output is not None:  # PyTorch names the multi-output rule first
        _refuse_multi_output_view(view, what)
    op = node.name()
    op = op[: op.rfind("Backward")] if "Backward" in op else op
    raise RuntimeError(
        f"Output {view._output_nr} of {op} is a view of a view which was created in no_grad "
        f"mode and {what}{_NO_GRAD_VIEW_ADVICE}"
    )


def _refuse_multi_output_view(view: Tensor, what: str) -> None:
    """PyTorch's error for one of the views an op returned together (``split``, ``chunk``,
    ``unbind``; or a view of one) that is modified in place, or used after its base was
    (``what`` says which): the op is named from the view's own node (``Select`` for
    ``x.split(1)[0][0]``, as PyTorch), or from the multi-output op where it has none."""
    node = view.grad_fn
    if node is not None:
        op = node.name()
        op = op[: op.rfind("Backward")] if "Backward" in op else op
    else:
        op = "".join(w.capitalize() for w in view._view.multi_output.split("_"))
    raise RuntimeError(
        f"Output {view._output_nr} of {op} is a view and {what} inplace. This view is the "
        "output of a function that returns multiple views. Such functions do not allow the "
        "output views to be modified inplace. You should replace the inplace operation by "
        "an out-of-place one."
    )


def _no_self_overlap(arr: Any) -> bool:
    """Whether each element of ``arr`` has its own memory (checked on the strides: each
    dim, in increasing stride order, steps past everything the smaller dims span). An
    overlapping view (``unfold`` windows) written by anything but an in-place op keeps
    ``value``'s history in :func:`record_view_write`: replaying it from its base would count
    shared elements twice. In-place ops ask it of every non-contiguous view they write, so
    two dims (most views) take a short path."""
    extent = arr.itemsize
    if arr.ndim == 2:
        (n0, n1), (s0, s1) = arr.shape, arr.strides
        s0, s1 = (abs(s0), abs(s1)) if n0 > 1 else (0, abs(s1))
        if n1 <= 1:
            n1, s1 = n0, s0
            n0 = 1
        if n0 > 1 and s0 < s1:
            n0, s0, n1, s1 = n1, s1, n0, s0  # n1/s1: the dim of the smaller stride
        if n1 > 1:
            if s1 < extent:
                return False
            extent += s1 * (n1 - 1)
        return n0 <= 1 or s0 >= extent
    for st, n in sorted((abs(st), n) for n, st in zip(arr.shape, arr.strides) if n > 1):
        if st < extent:
            return False
        extent = st * (n - 1) + extent
    return True


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
    node = t.grad_fn
    if node is not None:  # what Tensor.retain_grad records, without its staleness check
        if node._retain is None:
            node._retain = {}
        node._retain[t._output_nr] = ref


def record_view_write(view: Tensor, base: Tensor, value: Tensor, overlapping: bool = False) -> None:
    """After ``value`` was written into ``view``'s memory: rebase ``base`` onto a
    :class:`CopySlices` node and make ``view`` a view of the rebased base (its history goes
    through the base's new node, which carries ``value``'s history at the view's place).
    ``overlapping``: ``value`` was computed from ``overlapping_write_input`` (``view``'s
    elements overlap in memory: ``view_overlap.py``), so ``view`` is re-taken from the base
    too, as in PyTorch;
    another overlapping view keeps ``value``'s history (replaying it would count shared
    elements twice)."""
    old = Tensor._make(base._data, base.requires_grad, base.grad_fn, base._output_nr)
    old._vc = base._vc
    old._fw_tangent = base._fw_tangent
    new = _copy_slices(old, view._data, value)
    old_node, old_nr = base.grad_fn, base._output_nr
    base.grad_fn, base._output_nr, base._rg = new.grad_fn, 0, new.requires_grad
    move_retained_grad(base, old_node, old_nr)
    owner = view._view.fw_base  # the tangent changed is this one's (None: the view's own)
    if owner is base and new._fw_tangent is not None:
        base._fw_tangent = new._fw_tangent
    if new.requires_grad and view._view.grad_mode and (overlapping or _no_self_overlap(view._data)):
        # as in PyTorch, the view's history now goes through its base's new node (a hook or
        # retain_grad on the base sees the gradient of the view's later uses too)
        replayed = _replay(base, view._data)
        old_node, old_nr = view.grad_fn, view._output_nr
        view.grad_fn, view._output_nr, view._rg = replayed.grad_fn, 0, True
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
