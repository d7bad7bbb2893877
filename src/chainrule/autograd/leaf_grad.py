"""``accumulate_grad``: the one place a backward writes a leaf's ``.grad``.

What PyTorch's ``AccumulateGrad`` node does (``accumulate_grad.py`` is that node's public
view and its hooks): the first gradient laid out by PyTorch's gradient layout contract and
kept without a copy when nothing else holds it, later ones added in place, ``.grad``'s
version as PyTorch's, then the post-accumulate-grad hooks. It lived in ``engine.py`` until
session 40 (``engine`` re-exports it; ``Tensor.backward(inputs=...)`` and
``autograd.backward`` call it too).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout import grad_layout, is_vmap_array
from ..backend import get_array_module, is_writeable
from .accumulate_grad import relaid_version
from .engine_sparse import accumulate_sparse as _accumulate_sparse
from .post_accumulate import POST_ACCUMULATE_HOOKS, run_post_accumulate_grad_hooks
from .tensor import Tensor
from .view_base import ViewInfo

__all__ = ["OwnedArrays", "accumulate_grad", "ready_owned", "view_of_root"]

# Tensor's ``.grad`` property: a leaf whose class keeps it gets its first ``.grad`` assigned
# to the slot, the setter's checks done inline (its type and ``is self`` checks cannot fail
# on a fresh ``Tensor._make``); any other class goes through its own setter.
_GRAD = Tensor.__dict__["grad"]


class OwnedArrays(set):
    """The ids of the gradient arrays one backward has handed out (and of the caller's own
    gradient arrays): ``accumulate_grad``'s ``owned``, made by the engine once per backward.

    ``taken`` is that backward's record of the gradient array a leaf took as its ``.grad``
    without a copy: None, or ``(id(array), version counter)`` -- the version counter of the
    ``.grad`` now holding the version PyTorch's would have (None between the two steps of a
    swap). PyTorch's AccumulateGrad takes a gradient that nothing else holds and copies one
    that is still held, so where one gradient reaches several leaves (``(p + q).exp().sum()``:
    AddBackward gives both the same tensor) the leaves that run first copy it (version 1) and
    the last one takes it (its own version). chainrule's engine writes them in the same order
    but the first one takes the array, so a later one that finds it taken gives the earlier
    ``.grad`` the copy's version 1 and keeps the taken version itself (the arrays stay apart:
    no ``.grad`` aliases another).

    The record lives on the running backward's own set (until session 41 it was a module
    global), so that a backward run inside a hook, or by another thread at the same time,
    cannot overwrite it and give the outer backward's leaves the wrong versions.
    """

    # (class defaults, no __init__: a Python-level __init__ costs ~0.8 us per backward; the
    # engine fills an empty one with ``add``, not the iterable constructor: 0.26 -> 0.19 us.
    # Slots would save ~0.02 us more but leave an unset attribute unreadable.)
    taken: tuple | None = None
    # the caller's gradient Tensors (the engine's root gradients), or None: a leaf gradient
    # that is a view of one of them is taken as it is, as PyTorch's (see _callers_counter)
    roots: Any = None
    # (id(view), its .grad): the last leaf's .grad that took a view of the caller's
    # gradient (the .grad None until it is made)
    shared: tuple | None = None


def accumulate_grad(t: Tensor, g: Tensor, create_graph: bool, owned: set | None) -> None:
    """Add ``g`` into ``t.grad``: the one place backward writes ``.grad``.

    The first gradient is laid out as PyTorch's gradient layout contract says: with the
    leaf's strides when the leaf is dense and non-overlapping, else row-major
    (:func:`~chainrule._layout.grad_layout`); later ones are added keeping ``.grad``'s
    layout. Without ``create_graph`` the first gradient's array becomes ``.grad`` directly
    when this backward made it, it is in that layout and nothing else holds it; otherwise
    it is copied, so that later in-place updates of ``.grad`` cannot alias another tensor.
    Later gradients are added into that ``.grad`` in place (PyTorch's accumulation: the same
    tensor object, its version bumped).
    ``owned`` holds the ids of arrays already handed out (and of the caller's own gradient
    arrays); None means the array may be shared and is always copied. Then ``t``'s
    post-accumulate-grad hooks run.
    """
    if (type(g) is not Tensor and g.is_sparse) or (
        t._grad is not None and type(t._grad) is not Tensor and t._grad.is_sparse
    ):
        _accumulate_sparse(t, g, create_graph)
    elif create_graph:
        t.grad = _first_grad(t, g) if t._grad is None else t._grad + g  # _grad: no warning
    else:
        arr = g._data
        if t._grad is None:
            # .grad's version as PyTorch's: the in-place sums of a gradient taken as it is,
            # 1 for a copy into the leaf's layout (copy_) or of the caller's gradient
            version = g._vc[0]
            key = id(arr)  # (the array's before any copy: OwnedArrays.taken's key)
            taken = False
            share = None  # the caller's version counter, for a view of its gradient taken
            if arr.base is None and arr.strides == t._data.strides:
                # the common case: a fresh (so dense) array in the leaf's own strides
                if owned is None or key in owned or not arr.flags.owndata:
                    version = _copied_version(key, owned, version)
                    arr = arr.copy(order="K")
                else:
                    taken = True
            elif (
                type(arr) is np.ndarray
                and type(leaf := t._data) is np.ndarray
                and (leaf.ndim < 2 or leaf.flags.c_contiguous)
            ):
                # a row-major leaf's .grad is row-major (grad_layout's answer, inlined: ~0.5 us
                # less for a sum's expanded gradient); a copy unless the array already is
                if not arr.flags.c_contiguous:
                    arr, version = np.ascontiguousarray(arr), 1
                elif _shared(arr, owned):
                    share = _callers_counter(arr, owned)
                    if share is None:
                        version = _copied_version(key, owned, version, arr.base)
                        arr = arr.copy(order="K")
                else:
                    taken = True
            else:
                laid = grad_layout(arr, t._data)
                if laid is arr and _shared(arr, owned):
                    share = _callers_counter(arr, owned)
                    if share is None:
                        version = _copied_version(key, owned, version, arr.base)
                        laid = arr.copy(order="K")  # a dense array keeps its strides
                elif laid is not arr:
                    version = relaid_version(t._data)
                else:
                    taken = True
                arr = laid
            grad = Tensor._make(arr, False, None, 0)
            leaf = t._data
            if arr.shape == leaf.shape and arr.dtype == leaf.dtype and type(t).grad is _GRAD:
                t._grad = grad  # the setter's checks, inlined (~1 us less per leaf)
            else:  # its errors (a hook's gradient of another size or type), a subclass's own
                t.grad = grad
            if share is not None:  # a view of the caller's gradient: its memory, its counter
                grad._vc = share
                owned.shared = (owned.shared[0], grad)
            elif version:
                grad._vc[0] = version
            if owned is not None:
                if taken:  # this .grad holds the taken array's version (OwnedArrays.taken)
                    owned.add(key)
                    if type(owned) is OwnedArrays:
                        owned.taken = (key, grad._vc)
                else:
                    owned.add(id(arr))
                    if (
                        type(owned) is OwnedArrays
                        and (last := owned.taken)
                        and last[1] is None
                        and share is None
                    ):
                        owned.taken = (key, grad._vc)  # the swap: this .grad holds it now
        else:
            grad = t._grad
            old = grad._data
            if is_writeable(old) and old.shape == arr.shape and old.dtype == arr.dtype:
                # added into .grad in place, as PyTorch: a reference to t.grad (or a view of
                # it) taken after the last backward sees this one too
                get_array_module(old).add(old, arr, out=old)
                grad._vc[0] += 1
            elif old.shape != arr.shape:  # (p.data swapped for another shape since)
                _add_broadcast(grad, arr)
            elif old.ndim and old.flags.c_contiguous:  # NumPy's sum is row-major then too
                t.grad = Tensor._make(old + arr, False, None, 0)
            else:  # .grad's layout kept (NumPy's would be row-major; a scalar for 0-d)
                out = np.add(old, arr, out=get_array_module(old).empty_like(old))
                t.grad = Tensor._make(out, False, None, 0)
    if POST_ACCUMULATE_HOOKS:  # Tensor.register_post_accumulate_grad_hook
        run_post_accumulate_grad_hooks(t, create_graph)


def _add_broadcast(grad: Tensor, arr: Any) -> None:
    """``.grad += g`` for a gradient of another shape than ``.grad`` (the leaf's ``.data``
    was swapped for another shape between two backwards), as PyTorch's AccumulateGrad: an
    in-place add that broadcasts ``g`` into ``.grad`` (version bumped), else PyTorch's
    errors for shapes that do not broadcast or would grow ``.grad``."""
    old = grad._data
    try:
        shape = np.broadcast_shapes(old.shape, arr.shape)
    except ValueError:
        from ..ops._util import broadcast_error  # (the ops are built on autograd)

        words = str(broadcast_error("accumulate_grad", old, arr)).split("\n")[0]
        raise RuntimeError(words) from None  # (PyTorch's type and words)
    if shape != old.shape:
        raise RuntimeError(
            f"output with shape {list(old.shape)} doesn't match the broadcast shape {list(shape)}"
        )
    get_array_module(old).add(old, arr, out=old, casting="unsafe")
    grad._vc[0] += 1


def ready_owned(g: Tensor, now: list, i: int, pending: Any, owned: set) -> set:
    """The ``owned`` to write a leaf's gradient ``g`` with when the leaf is written as soon
    as it is ready (the engine does so while post-accumulate-grad hooks exist): ``now[i]``
    is ``[leaf, g]`` among the leaves ready after one node, ``pending`` the engine's
    gradients still on their way.

    PyTorch's AccumulateGrad copies a gradient something else still holds (``use_count``:
    version 1) and takes one nothing holds. Here the other holders are the leaves ready
    after it and the pending node and leaf buffers: where one holds ``g``'s array, a plain
    set naming it (copied, version 1: those holders must not see the hooks' writes into
    ``.grad``); else this backward's own ``owned`` (taken as at the end of a backward, a
    view of the caller's gradient shared as PyTorch's). The scan runs only then, never on
    the plain path."""
    arr = g._data
    held = any(e[1]._data is arr for e in now[i + 1 :])
    if not held:
        for e in pending.leaves.values():
            if e[1]._data is arr:
                held = True
                break
    if not held:
        for buf in pending.nodes.values():
            for x in buf:
                if x is not None and x._data is arr:
                    return {id(arr)}
        return owned
    return {id(arr)}


def _copied_version(key: int, owned: set | None, version: int, base: Any = None) -> int:
    """The version of a leaf's first ``.grad`` copied from the array ``key`` (its id) because
    it may be held elsewhere: ``version`` (the gradient's own) where it is held by nothing
    PyTorch would count (a view, which chainrule copies to be safe) or where an earlier leaf
    of this backward took it (that leaf's ``.grad`` becomes the copy: version 1, see
    :class:`OwnedArrays`); 1 for the caller's own gradient, which PyTorch copies with
    ``copy_``. A plain set (one leaf's ``owned``, ``backward(inputs=...)``) records nothing.

    ``base``: the array a view ``key`` is of. A view of the array an earlier leaf of this
    backward took (``m + k.t().t()``: AddBackward's gradient, seen by ``k`` through the two
    transposes) is the one PyTorch's engine takes (its view nodes run after ``m``'s
    AccumulateGrad, which copies the gradient they still hold): ``m``'s ``.grad`` gets the
    copy's version 1, this one keeps the view's."""
    if owned is None:
        return version
    if key not in owned:
        if base is not None and type(owned) is OwnedArrays:
            last = owned.taken
            if last is not None and last[0] == id(base) and last[1] is not None:
                last[1][0] = 1
                owned.taken = (key, None)  # (this new .grad holds the version next)
        return version
    last = owned.taken if type(owned) is OwnedArrays else None
    if last is not None and last[0] == key and last[1] is not None:
        last[1][0] = 1
        owned.taken = (key, None)  # (the caller's new .grad holds the version next)
        return version
    return 1


def _callers_counter(arr: Any, owned: set | None) -> list | None:
    """The version counter of the caller's gradient ``arr`` is a view of, when this
    backward's ``owned`` lists the caller's gradients (:attr:`OwnedArrays.roots`), else None.

    PyTorch's AccumulateGrad takes a gradient nothing else holds as it is (``detach()``):
    a view of the caller's gradient that a view's backward made (``p.view(3).backward(g)``:
    ``g.view(3)``) becomes ``.grad`` itself, sharing ``g``'s memory and version counter
    (a later ``g.add_(1)`` shows in ``p.grad``); chainrule takes it likewise (the view is
    laid out as the leaf's ``.grad`` must be: the caller's checks). Where the same view
    reaches several leaves (``(p + q).view(3)``), PyTorch's leaves that run first copy it
    (version 1) and the last takes it: the earlier leaf's ``.grad`` becomes that copy."""
    roots = owned.roots if type(owned) is OwnedArrays else None
    base = arr.base
    if roots is None or base is None or type(arr) is not np.ndarray:
        return None
    for r in roots:
        d = r._data
        if base is d or base is getattr(d, "base", None):  # (a meta root has no base)
            break
    else:
        return None
    key = id(arr)
    if key in owned:  # an earlier leaf of this backward holds this array
        last = owned.shared
        if last is None or last[0] != key or last[1] is None:
            return None  # (a copy of it, or the caller's own gradient: copied)
        held = last[1]  # it took the view: it gets the copy (version 1) instead
        held._data, held._vc = arr.copy(order="K"), [1]
    owned.shared = (key, None)
    return r._vc


def _shared(arr: Any, owned: set | None) -> bool:
    """Whether ``arr`` may be held elsewhere, so that ``.grad`` must not be it (see
    :func:`accumulate_grad`)."""
    return owned is None or id(arr) in owned or arr.base is not None or not arr.flags.owndata


def _first_grad(t: Tensor, g: Tensor) -> Tensor:
    """``t``'s first ``.grad`` under ``create_graph``: a recorded copy of ``g``, as PyTorch's
    AccumulateGrad makes one whenever grad mode is on (``clone_obey_contract``): into an
    empty tensor with the leaf's sizes and strides when the leaf is dense
    (``new_empty_strided(...).copy_(g)``: version 1, ``grad_fn`` CopyBackwards), else a
    row-major clone (version 0, CloneBackward0). Never ``g`` itself, so writing into
    ``.grad`` cannot reach the graph's own gradient."""
    arr, leaf = g._data, t._data
    if type(g) is not Tensor or is_vmap_array(arr) or is_vmap_array(leaf):
        return g  # a cr.func.vmap batched gradient: its layout is the batch's
    if relaid_version(leaf):  # dense
        return g.new_empty_strided(t.shape, t.stride()).copy_(g)
    return g.clone() if arr.flags.c_contiguous else g.contiguous()


def _owner(arr: Any) -> Any:
    """The array that owns ``arr``'s memory (NumPy collapses view chains, but a broadcast or
    ``as_strided`` view keeps a wrapper between)."""
    while getattr(arr, "base", None) is not None:
        arr = arr.base
    return arr


def view_of_root(d: Tensor, arr: Any, roots: Any) -> None:
    """Make ``d`` (the detached gradient ``autograd.grad`` returns, ``arr`` the array the
    backward computed) a view of the caller's gradient (or of the implicit ``ones`` of a
    scalar output) when ``arr`` is a view of that gradient's memory: PyTorch's view nodes
    hand on views of the incoming gradient (``SumBackward0``'s ``grad.expand(sizes)``,
    ``ViewBackward0``'s ``grad.reshape``), so its result has that gradient as ``_base`` and
    shares its version counter (a later ``g.add_(1)`` shows in ``r._version``); a gradient
    passed on as it is (clone, ``+ 0``, ``to``) is the caller's tensor itself, a view only
    where that one is. The view is one made with grad mode off (the backward's)."""
    if roots is None or type(arr) is not np.ndarray:
        return
    if arr.base is None:  # the caller's gradient itself, or a new array
        for r in roots:
            if r._data is arr and r._view is not None:
                d._view = r._view  # (the same record: callers_owned tells it by that)
                return
        return
    owner = _owner(arr)
    for r in roots:
        if type(r) is Tensor and type(r._data) is np.ndarray and _owner(r._data) is owner:
            info = r._view
            d._vc = r._vc
            d._view = ViewInfo(r if info is None else info.base, r._vc[0], False, None)
            return
    # a view of a gradient the backward made (``p.expand(2, 3)``: a view of the sum that
    # undoes the broadcast): PyTorch's result has that hidden tensor as its _base
    if type(owner) is np.ndarray:
        d._view = ViewInfo(Tensor._make(owner, False, None, 0), d._vc[0], False, None)
