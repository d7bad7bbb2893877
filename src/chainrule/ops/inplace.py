"""In-place variants (``add_``, ``mul_``, ``zero_``, ...) with PyTorch's safety rules.

An in-place op bumps the tensor's version counter, so a backward that needs the old
value raises instead of silently using the new one. In-place ops on a leaf that
requires grad raise (they would lose the gradient's meaning); on a non-leaf they are
recorded: the tensor is rebased onto the new node. Writing into a view also rebases the
view's base (``CopySlices``, :mod:`chainrule.autograd.view_replay`), and other views of that
base are replayed from it when next used.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import grad_mode
from ..autograd.forward_ad_captures import GUARDING as _GUARDING
from ..autograd.forward_ad_captures import check_captured_write
from ..autograd.forward_tangents import write_tangent
from ..autograd.function import _SavedCopy, keep_private_copies, repack_private_copy
from ..autograd.ieee import pass_fp_warning, quiet_fp
from ..autograd.saved import SavedConstant, SavedInput, SavedOutput, SavedPacked, memory_root
from ..autograd.state import InferenceVersionCounter
from ..autograd.tensor import Tensor
from ..autograd.view_base import forward_base
from ..autograd.view_errors import LEAF_MESSAGE, check_view_write
from ..autograd.view_flat import data_pointer
from ..autograd.view_overlap import overlapping_write_input
from ..autograd.view_replay import move_retained_grad, record_view_write
from ..autograd.view_tangents import write_view_tangent
from ..backend import get_array_module, is_writeable
from ..dtype_rules import can_cast
from ..float8 import is_float8, to_float8
from ..meta.array import MetaArray
from ..scalar_range import fit_scalar
from . import inplace_names
from ._util import as_tensor
from .inplace_overlap import (
    aliases,
    overlap_writes,
    tangent_after_write,
    write_rounds,
    write_spread,
)
from .overload_errors import is_number_or_tensor, number_or_tensor_error
from .selection_where import Where, where_as
from .shape import broadcast_to


class _InPlaceCastError(TypeError, RuntimeError):
    """An in-place op whose result dtype cannot be written into the tensor (a float result
    into an integer tensor). PyTorch raises RuntimeError ("result type Float can't be cast to
    the desired output type Long"); chainrule raised TypeError: this is both, so code written
    for either keeps catching it."""


class _InPlaceShapeError(ValueError, RuntimeError):
    """An in-place op whose result has another shape than the tensor (``x.add_(y)`` with
    ``y`` broadcasting ``x`` to a larger shape). PyTorch raises RuntimeError ("output with
    shape [1, 4] doesn't match the broadcast shape [3, 4]"); chainrule raised ValueError: this
    is both, so code written for either keeps catching it."""


def _check_leaf(x: Tensor, name: str) -> None:
    if _GUARDING[0]:
        check_captured_write(x, name)
    view = x._view  # (a view's grad_fn is read through the property: a stale one re-taken)
    if (
        x.requires_grad
        and grad_mode.is_grad_enabled()  # (first: under no_grad a stale view is not re-taken)
        and (x._grad_fn if view is None else x.grad_fn) is None
    ):
        if view is not None:  # a view made under no_grad: PyTorch's error for those
            check_view_write(x, name)
        raise RuntimeError(LEAF_MESSAGE)  # PyTorch's text, word for word (no op named)
    if type(x._vc) is InferenceVersionCounter and not grad_mode.is_inference_mode_enabled():
        # caught here, before the write, to name the op; any other in-place path is caught
        # when it bumps the version (InferenceVersionCounter.__setitem__)
        raise RuntimeError(
            f"{name}: in-place update to an inference tensor (created inside "
            "cr.inference_mode()) outside inference mode is not allowed; make a clone() of it "
            "outside inference_mode to get a normal tensor, and update that in place"
        )


# In-place ops PyTorch lets write into an expanded tensor with a deprecation warning (its
# message, by op) instead of refusing: their writes put one value where elements share memory
_EXPANDED_WARNED = {
    "index_fill_": "tensor[mask] = scalar",
    "masked_fill_": "tensor[mask] = scalar",
    "index_put_": "tensor[indices] = tensor",
}
# In-place ops PyTorch lets write into an expanded tensor silently (they write some elements
# only, one after another: ``write_spread``); fill_/zero_ are checked by their caller
_EXPANDED_ALLOWED = frozenset(("tril_", "triu_", "fill_diagonal_"))


def check_writable_memory(
    x: Tensor, name: str, region: Any = None, allow_overlap: bool = False
) -> bool:
    """Refuse in-place writes into an expanded tensor (elements sharing one memory location),
    as PyTorch does; make other views of an expanded tensor's memory writable.

    ``expand``/``broadcast_to`` give read-only NumPy views with zero strides; writing into
    them would write one value for many logical elements. ``region`` is the part of ``x``
    actually written (``x[0] = v`` on an expanded ``x`` writes a row that overlaps nothing,
    which PyTorch allows); ``allow_overlap`` is for ``fill_``/``zero_``, whose one value is
    right for every element sharing a location (PyTorch allows those too). Inside a grad
    transform a captured ``x`` is refused (:func:`check_captured_write`), except as an
    ``out=`` target (``name`` ``"op()"``), which PyTorch allows. ``index_fill_``,
    ``masked_fill_`` and ``index_put_`` write into an expanded ``x`` with PyTorch's deprecation
    warning, ``tril_``, ``triu_`` and ``fill_diagonal_`` without one: True is returned then
    (the write must go element by element, as :func:`.inplace_overlap.write_spread`), else False.
    """
    if _GUARDING[0] and not name.endswith("()"):
        check_captured_write(x, name)
    d = x._data
    target = d if region is None else region
    overlapping = (
        not allow_overlap
        and target.size > 1  # an empty tensor has no elements to share a location
        and 0 in target.strides  # (a C-level test first: the generator only for a 0 stride)
        and type(d) is not MetaArray  # a meta tensor's zero strides hold no data to share
        and any(st == 0 and n > 1 for st, n in zip(target.strides, target.shape))
    )
    spread = overlapping and name in _EXPANDED_WARNED
    if spread:
        warnings.warn(
            f"Use of {name} on expanded tensors is deprecated. Please clone() the tensor "
            "before performing this operation. This also applies to advanced indexing e.g. "
            f"{_EXPANDED_WARNED[name]}",
            UserWarning,
            stacklevel=4,
        )
        overlapping = False
    elif overlapping and name in _EXPANDED_ALLOWED:
        spread, overlapping = True, False
    writable = getattr(d.flags, "writeable", True)
    if not overlapping and not writable:
        alias = _writable_alias(d)  # read-only only because it came from an expanded view
        if alias is not None:
            x._data = alias
            return spread
    if overlapping:  # PyTorch's message, after the op's name
        raise RuntimeError(
            f"{name}: unsupported operation: more than one element of the written-to tensor "
            "refers to a single memory location. Please clone() the tensor before performing "
            "the operation."
        )
    if not writable:
        raise RuntimeError(
            f"{name}: unsupported operation: the written-to tensor (shape {tuple(x.shape)}) "
            "is read-only memory (an expanded view, or a read-only array). Please clone() the "
            "tensor before performing the operation."
        )
    return spread


def _writable_alias(arr: Any) -> Any:
    """``arr`` (a read-only NumPy view) over the same memory, writable, when the array that
    owns the memory is writable; else None."""
    root = memory_root(arr)
    if not isinstance(arr, np.ndarray) or not isinstance(root, np.ndarray):
        return None  # (memory owned by another object, e.g. a DLPack capsule's)
    if not is_writeable(root):
        return None
    if not root.flags.contiguous:  # a dense block in another order (F-order, transposed):
        flat = root.ravel(order="K")  # its elements in memory order, as a view when dense
        if not np.may_share_memory(flat, root) or not is_writeable(flat):
            return None
        root = flat
    offset = data_pointer(arr) - data_pointer(root)
    if offset < 0:
        return None
    return np.ndarray(arr.shape, arr.dtype, buffer=root, offset=offset, strides=arr.strides)


def check_unrecorded_write(x: Tensor, name: str) -> None:
    """Guard a write that autograd does not record (``uniform_``, ``normal_``,
    ``index_put_``): the memory must be writable, and ``x`` must not require grad while
    grad mode is on (the write would silently detach the values from the graph)."""
    if _GUARDING[0]:
        check_captured_write(x, name)
    if x._view is not None and not x._view.grad_mode and writes_into_graph(x):
        check_view_write(x, name)  # a view made under no_grad: PyTorch's error for those
    check_writable_memory(x, name)
    if writes_into_graph(x):
        raise RuntimeError(
            f"{name}: in-place writes into a tensor that requires grad (or a view of one) are not "
            "recorded; wrap them in `with cr.no_grad():` (e.g. for weight init)"
        )


def writes_into_graph(x: Tensor) -> bool:
    """Whether an in-place write into ``x`` must be recorded: grad mode is on and ``x``, or
    the base it is a view of, requires grad."""
    if not grad_mode.is_grad_enabled():
        return False
    return x.requires_grad or (x._view is not None and x._view.base.requires_grad)


def apply_inplace(x: Tensor, name: str, fn: Callable, *args: Any, **kwargs: Any) -> Tensor:
    """Compute ``fn(x, *args)`` and write the result into ``x``."""
    if type(x) is not Tensor and getattr(x, "vmap_inplace", None) is not None:
        return x.vmap_inplace(name, fn, *args, **kwargs)  # a batched tensor (cr.func.vmap)
    _check_leaf(x, name)
    spread = check_writable_memory(x, name)
    rounds = False
    if x._view is not None and not spread and not x._data.flags.c_contiguous:
        spread, rounds = overlap_writes(x._data, name)  # unfold windows, an as_strided view
    # setitem checks its own region; an argument aliasing x counts only when x requires grad
    # (then x's rule saved that argument, which this write changes: see _keep_old_self below)
    shares = name != "setitem" and aliases(x, args, kwargs, name)
    aliased = shares and x.requires_grad
    view = x._view
    record = writes_into_graph(x) or (
        grad_mode.is_grad_enabled()
        and any(isinstance(a, Tensor) and a.requires_grad for a in (*args, *kwargs.values()))
    )
    base = check_view_write(x, name) if record and view is not None else None
    if record:
        overlapping = (rounds or spread) and base is not None and name != "setitem"
        if overlapping:  # PyTorch's gradient for a write into overlapping elements
            out = fn(overlapping_write_input(x, base), *args, **kwargs)
        else:
            out = fn(x, *args, **kwargs)
    else:
        with grad_mode.no_grad():
            out = fn(x, *args, **kwargs)
    xp = get_array_module(x._data)
    if out._data.dtype != x._data.dtype and not can_cast(out._data.dtype, x._data.dtype):
        raise _InPlaceCastError(
            f"{name}: result type {out.dtype} can't be cast to the tensor's dtype "
            f"{x.dtype} in place"
        )
    if out._data.shape != x._data.shape:
        raise _InPlaceShapeError(
            f"{name}: output with shape {list(x.shape)} doesn't match the broadcast shape "
            f"{list(out.shape)} (in-place ops cannot broadcast the target)"
        )
    # The old value of x is kept for the backward (PyTorch's original_self) unless an
    # argument aliases x: that argument was saved too and is overwritten now, so, as in
    # PyTorch, the backward must find it modified (y.mul_(y), y[0].mul_(y[1])) and raise.
    if record and not aliased and out._grad_fn is not None and out._grad_fn._saved_values:
        _keep_old_self(out._grad_fn, x, overlapping)
    # forward mode with an argument sharing x's memory (y.mul_(y.detach())): PyTorch computes
    # the tangent after the write, the argument read as it is then (tangent_after_write)
    retangent = shares and out._fw_tangent is not None and not (spread or rounds)
    old_self = x._data.copy() if retangent else None
    try:
        if spread:  # an expanded x (index_fill_, masked_fill_, index_put_: PyTorch warns)
            write_spread(x._data, out._data.astype(x._data.dtype, copy=False))
        elif rounds:  # elements sharing memory: one after another
            write_rounds(x, out, fn, args, kwargs)
        else:
            xp.copyto(x._data, out._data, casting="unsafe")
    except RuntimeWarning as w:  # an overflowing cast gave inf (as PyTorch), then warned
        pass_fp_warning(w)
    x._vc[0] += 1
    if retangent:
        out._fw_tangent = tangent_after_write(x, old_self, fn, args, kwargs)
    if record and out._grad_fn is not None and out._grad_fn._saved_values:
        _guard_saved_result(out._grad_fn, out, x)
    if x._fw_tangent is not None or out._fw_tangent is not None:
        write_tangent(x, out._fw_tangent)  # forward mode: the tangent of the new value
    if record:
        old_node, old_nr = x._grad_fn, x._output_nr
        x._grad_fn = out._grad_fn
        x._output_nr = out._output_nr
        x._rg = out.requires_grad
        move_retained_grad(x, old_node, old_nr)
        if base is not None:  # x is a view: its base changed too (PyTorch's CopySlices)
            record_view_write(x, base, out, overlapping)
            if overlapping and out._grad_fn is not None and out._grad_fn._saved_values:
                _save_written_view(out._grad_fn, x)
    elif view is not None and view.fw_base is not None and has_tangent(x):
        # forward mode: the tangent x's is a view of changes too (the base's, or the dual
        # tensor's for a view of one: never the tensor a dual aliases, as in PyTorch)
        write_view_tangent(x, view.fw_base)
    return x


def has_tangent(x: Tensor) -> bool:
    """Whether a write into ``x`` changes a forward-mode tangent: ``x``'s own, or the one
    ``x``'s is a view of (which a stale view may not have re-taken yet)."""
    if x._fw_tangent is not None:
        return True
    owner = forward_base(x)
    return owner is not None and owner._fw_tangent is not None


def composite_result(x: Tensor, inplace: bool, name: str, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """``fn(x)``, or with ``inplace`` that result written into ``x`` (returned): the
    ``inplace=`` argument of PyTorch's functional activations and dropout.

    ``fn`` is a composition whose inner nodes may save their input; it runs on a recorded
    ``clone`` of a tensor that requires grad, so the write into ``x`` cannot invalidate what
    they saved (PyTorch's in-place activations are single ops saving their result)."""
    if not inplace:
        return fn(x)
    return apply_inplace(x, name + "_", lambda t: fn(t.clone() if t.requires_grad else t))


def single_node_result(
    x: Tensor, inplace: bool, name: str, fn: Callable[[Tensor], Tensor]
) -> Tensor:
    """``fn(x)``, or with ``inplace`` that result written into ``x`` (returned), where ``fn``
    records one node: PyTorch's in-place activations (``relu_``, ``elu_``, ``hardtanh_``,
    ``dropout_``'s ``mul_``). No clone is recorded: a node saving its input gets a private
    copy of the old value (PyTorch's ``original_self``, :func:`_keep_old_self`), one saving
    its result reads it from ``x``, guarded by ``x``'s version (:func:`_guard_saved_result`)."""
    if not inplace:
        return fn(x)
    return apply_inplace(x, name + "_", fn)


def _keep_old_self(node: Any, x: Tensor, overlapping: bool = False) -> None:
    """The in-place op's own node saved ``x`` (or a view of its memory), which is about to be
    overwritten: keep a copy of the old value instead, as PyTorch saves ``original_self``
    (``y.mul_(w)`` with ``w`` requiring grad needs the old ``y`` for ``w``'s gradient).
    ``overlapping``: the op computed from ``overlapping_write_input(x)``, whose history has
    the gradient of the write; PyTorch's ``original_self`` is a clone of ``x`` with ``x``'s
    own history (the gradients of elements sharing a location summed), which a double
    backward differentiates through, so the copy is taken of ``x`` itself."""
    if overlapping:
        copy = None
        entries = []
        for e in node._saved_values:
            if type(e) is SavedInput and e.tensor._vc is x._vc:
                if copy is None:
                    copy = _SavedCopy.apply(x)  # (the copy keep_private_copies takes)
                e = SavedInput(copy, 0, e.position)
            entries.append(e)
        node._saved_values = tuple(entries)
    keep_private_copies(node, lambda t: t._vc is x._vc)
    node._saved_values = tuple(
        _private_copy(node, e) if getattr(e, "version_counter", None) is x._vc else e
        for e in node._saved_values
    )


def _guard_saved_result(node: Any, out: Tensor, x: Tensor) -> None:
    """The in-place op's node saved its result ``out`` (``exp_``, ``sigmoid_``, ``relu_``
    save their output), whose value now lives in ``x``: guard it with ``x``'s version counter
    at its new version, so that changing ``x`` in place again makes the backward raise, as
    PyTorch's does (the result it saved is ``x`` itself), instead of silently reading the
    private result array. The saved array becomes ``x``'s memory (same values), so the
    result is not kept twice (PyTorch saves ``x`` itself)."""
    vc, version, data = x._vc, x._vc[0], x._data
    node._saved_values = tuple(
        _saved_in(e, data)._replace(version_counter=vc, version=version)
        if getattr(e, "version_counter", None) is out._vc
        else e
        for e in node._saved_values
    )
    raw, old = node._saved, out._data
    if raw and any(v is old for v in raw) and _same_array_kind(old, data):
        node._saved = tuple(data if v is old else v for v in raw)  # (the rules' raw arrays)


def _save_written_view(node: Any, x: Tensor) -> None:
    """The in-place op on ``x``, a view whose elements overlap in memory, saved its result
    (``sigmoid_``, ``exp_``): as PyTorch's (a result saved in place on a view is unpacked
    with the view's history after the write, ``AsStridedBackward0`` over the base's
    ``CopySlices``), the saved result is ``x`` as re-taken then, so that a double backward
    sums the gradients of the elements sharing a location before the write's rule (the
    node's own history would keep them apart). Holding it makes a reference cycle through
    the node, left to the cycle collector (this case only)."""
    vc = x._vc
    alias = Tensor._make(x._data, True, x._grad_fn, x._output_nr)
    alias._vc = vc
    node._saved_values = tuple(
        SavedInput(alias, vc[0]) if type(e) is SavedOutput and e.version_counter is vc else e
        for e in node._saved_values
    )


def _saved_in(entry: Any, data: Any) -> Any:
    """A saved result read from ``data`` (the tensor it was written into) when it is the
    same array layout-free (shape and dtype): no second copy of the result stays alive."""
    if type(entry) is SavedOutput and _same_array_kind(entry.array, data):
        return entry._replace(array=data)
    return entry


def _same_array_kind(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype


def _private_copy(node: Any, entry: Any) -> Any:
    """A copy of a saved value guarded by the overwritten tensor's counter: a constant's
    array, or (inside ``saved_tensors_hooks``) a packed value, unpacked, copied, repacked."""
    if type(entry) is SavedPacked:
        return repack_private_copy(node, entry)
    if type(entry) is SavedConstant:
        return SavedConstant(entry.value.copy())
    return entry


def zero_(x: Tensor) -> Tensor:
    return _fill(x, 0, "zero_")


def fill_(x: Tensor, value: Any) -> Tensor:
    if type(value) is not float and type(value) is not int and not is_number_or_tensor(value):
        raise number_or_tensor_error("fill_", [("input", x), ("value", value)])
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(
            "fill_ only supports 0-dimension value tensor but got tensor with "
            f"{value.ndim} dimensions."
        )
    return _fill(x, value, "fill_")


def _fill(x: Tensor, value: Any, name: str) -> Tensor:
    _check_leaf(x, name)
    given = value
    value = fit_scalar(name, value, x._data.dtype)
    if writes_into_graph(x) or inplace_names.value_in_graph(value):  # one node, as torch
        return apply_inplace(x, name, inplace_names.filled(name), value)
    tangent = has_tangent(x) or (isinstance(value, Tensor) and value._fw_tangent is not None)
    check_writable_memory(x, name, allow_overlap=True)
    with quiet_fp():  # a Tensor value beyond the dtype's range becomes inf, as in PyTorch
        v = value.item() if isinstance(value, Tensor) else value
        if is_float8(x._data.dtype) and not isinstance(given, Tensor):  # PyTorch's rounding
            v = to_float8(np.float32(given), x._data.dtype)  # (ml_dtypes: an e8m0 0 is NaN)
        x._data[...] = v
    x._vc[0] += 1
    if tangent:  # forward mode: the value's tangent (zero for a number) replaces x's
        _fill_tangent(x, value)
    return x


def _fill_tangent(x: Tensor, value: Any) -> None:
    """After ``x.fill_(value)``: ``x``'s tangent is ``value``'s (broadcast) or zero, and so
    is the part of the tangent it is a view of (:func:`write_view_tangent`)."""
    xp = get_array_module(x._data)
    old = x._fw_tangent
    dtype = x._data.dtype if old is None else old.dtype
    new = xp.zeros(x._data.shape, dtype)
    given = value._fw_tangent if isinstance(value, Tensor) else None
    if given is not None:
        new[...] = given
    write_tangent(x, new)
    owner = forward_base(x)
    if owner is not None:
        write_view_tangent(x, owner)


def copy_(x: Tensor, src: Any = None, non_blocking: bool = False, *, other: Any = None) -> Tensor:
    """Write ``src`` (broadcast, cast) into ``x``; ``non_blocking`` changes nothing (copies are
    synchronous). PyTorch 2.13 names the source ``other`` as a keyword; ``src=`` (its
    documented name) is taken too."""
    if (src is None) == (other is None):
        raise TypeError("copy_() takes exactly one source tensor (positional, src= or other=)")
    src = as_tensor(other if src is None else src)

    def copied(t: Tensor, s: Tensor) -> Tensor:
        new = s.to(t.dtype).to(t.device)
        if new.shape != t.shape and _broadcasts_to(tuple(new.shape), tuple(t.shape)) is False:
            new = broadcast_to(new, t.shape)  # (not broadcastable: its error)
        if not (new.requires_grad or t.requires_grad or t._fw_tangent is not None):
            return new if new.shape == t.shape else broadcast_to(new, t.shape)  # values alone
        # The old value's gradient is zero (PyTorch's CopyBackwards): a select, never
        # `new + t * 0`, which turns an old inf or NaN into NaN and -0.0 into 0.0
        keep = Tensor._make(get_array_module(t._data).ones((), bool), False, None, 0)
        return where_as(_CopyInto, keep, new, t)

    return apply_inplace(x, "copy_", copied, src)


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether ``shape`` broadcasts to ``target`` (then no ``ExpandBackward0``, as torch)."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


class _CopyInto(Where):
    """``copy_``'s node: ``where(True, src, old self)``, the source's values exactly and a zero
    gradient for the old value, under PyTorch's name (listing self, then the source)."""

    node_name = ("torch::autograd::CopyBackwards", (1, 0))


def make_inplace(name: str, fn: Callable) -> Callable:
    op = inplace_names.named_as_torch(name, fn)  # PyTorch's node name for some (looked up once)

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return apply_inplace(self, name, op, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"In-place version of ``{fn.__name__}`` (bumps the version counter)."
    method.inplace_of = fn  # the op behind it (tests/api/signatures.py); not __wrapped__,
    # which tensor_numpy's pass-through unwrapping would follow to the out-of-place op
    return inplace_names.unrecorded(name, method)  # logical_and_ ...: not recorded, as torch
