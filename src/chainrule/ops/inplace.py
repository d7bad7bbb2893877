"""In-place variants (``add_``, ``mul_``, ``zero_``, ...) with PyTorch's safety rules.

An in-place op bumps the tensor's version counter, so a backward that needs the old
value raises instead of silently using the new one. In-place ops on a leaf that
requires grad raise (they would lose the gradient's meaning); on a non-leaf they are
recorded: the tensor is rebased onto the new node. Writing into a view also rebases the
view's base (``CopySlices``, :mod:`chainrule.autograd.view_replay`), and other views of that
base are replayed from it when next used.

This file runs the write (:func:`apply_inplace`) and holds ``fill_``/``zero_``/``copy_``
and the factories of the in-place methods; the guards checked before a write are in
:mod:`.inplace_checks` (re-exported here), the rewriting of the node's saved values after
it in :mod:`.inplace_saved`, writes into overlapping memory in :mod:`.inplace_overlap`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import grad_mode
from ..autograd.forward_tangents import write_tangent
from ..autograd.ieee import pass_fp_warning, quiet_fp
from ..autograd.state import InferenceVersionCounter
from ..autograd.tensor import Tensor
from ..autograd.view_base import forward_base
from ..autograd.view_errors import check_view_write
from ..autograd.view_overlap import overlapping_write_input
from ..autograd.view_replay import move_retained_grad, record_view_write
from ..autograd.view_tangents import write_view_tangent
from ..backend import get_array_module
from ..dtype_rules import can_cast
from ..float8 import is_float8, scalar_type_name, to_float8
from ..scalar_range import fit_scalar
from . import inplace_names
from ._util import as_tensor
from .inplace_checks import (
    InPlaceCastError,
    InPlaceShapeError,
    check_leaf,
    check_unrecorded_write,
    check_writable_memory,
    writes_into_graph,
)
from .inplace_overlap import (
    aliases,
    overlap_writes,
    tangent_after_write,
    write_rounds,
    write_spread,
)
from .inplace_saved import guard_saved_result, keep_old_self, save_written_view
from .overload_errors import is_number_or_tensor, number_or_tensor_error
from .selection_where import Where, where_as
from .shape import broadcast_to

__all__ = [  # the guards are re-exported from inplace_checks.py, where they live
    "apply_inplace",
    "check_unrecorded_write",
    "check_writable_memory",
    "composite_result",
    "copy_",
    "fill_",
    "has_tangent",
    "make_inplace",
    "single_node_result",
    "writes_into_graph",
    "zero_",
]


def apply_inplace(x: Tensor, name: str, fn: Callable, *args: Any, **kwargs: Any) -> Tensor:
    """Compute ``fn(x, *args)`` and write the result into ``x``."""
    if type(x) is not Tensor and getattr(x, "vmap_inplace", None) is not None:
        return x.vmap_inplace(name, fn, *args, **kwargs)  # a batched tensor (cr.func.vmap)
    check_leaf(x, name)
    spread = check_writable_memory(x, name)
    rounds = False
    if x._view is not None and not spread and not x._data.flags.c_contiguous:
        spread, rounds = overlap_writes(x._data, name)  # unfold windows, an as_strided view
    # setitem checks its own region; an argument aliasing x counts only when x requires grad
    # (then x's rule saved that argument, which this write changes: see keep_old_self below)
    shares = name != "setitem" and aliases(x, args, kwargs, name)
    aliased = shares and x.requires_grad
    view = x._view
    # (an inference tensor outside the mode is not recorded: written, then refused when its
    # version bumps, as PyTorch's, whose check runs after the kernel: b.mul_(w) writes too)
    record = type(x._vc) is not InferenceVersionCounter and (
        writes_into_graph(x)
        or (
            grad_mode.is_grad_enabled()
            and any(isinstance(a, Tensor) and a.requires_grad for a in (*args, *kwargs.values()))
        )
    )
    base = check_view_write(x, name) if record and view is not None else None
    try:
        if record:
            overlapping = (rounds or spread) and base is not None and name != "setitem"
            if overlapping:  # PyTorch's gradient for a write into overlapping elements
                out = fn(overlapping_write_input(x, base), *args, **kwargs)
            else:
                out = fn(x, *args, **kwargs)
        else:
            with grad_mode.no_grad():
                out = fn(x, *args, **kwargs)
    except NotImplementedError as err:
        raise _named_inplace(err, name) from err.__cause__
    xp = get_array_module(x._data)
    if out._data.dtype != x._data.dtype and not can_cast(out._data.dtype, x._data.dtype):
        got, want = scalar_type_name(out._data.dtype), scalar_type_name(x._data.dtype)
        if args and getattr(args[0], "_sp_values", None) is not None:  # dense += sparse
            words = f"Can't convert result type {got} to output {want} in add operation"
        else:
            words = f"result type {got} can't be cast to the desired output type {want}"
        raise InPlaceCastError(  # PyTorch's words first; chainrule's detail after them
            f"{words}\n{name}: an in-place op writes "
            f"its result in the tensor's dtype ({x.dtype}), and {out.dtype} does not cast to "
            "it safely"
        )
    if out._data.shape != x._data.shape:
        raise InPlaceShapeError(
            f"{name}: output with shape {list(x.shape)} doesn't match the broadcast shape "
            f"{list(out.shape)} (in-place ops cannot broadcast the target)"
        )
    # The old value of x is kept for the backward (PyTorch's original_self) unless an
    # argument aliases x: that argument was saved too and is overwritten now, so, as in
    # PyTorch, the backward must find it modified (y.mul_(y), y[0].mul_(y[1])) and raise.
    if record and not aliased and out._grad_fn is not None and out._grad_fn._saved_values:
        keep_old_self(out._grad_fn, x, overlapping)
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
    except RuntimeError as err:  # vmap: per-sample values into an unbatched x, in the
        if hasattr(err, "for_inplace_op"):  # op's own words (func/_inplace_refusal.py)
            raise err.for_inplace_op(name, args) from None
        raise
    x._vc[0] += 1
    if retangent:
        out._fw_tangent = tangent_after_write(x, old_self, fn, args, kwargs)
    if record and out._grad_fn is not None and out._grad_fn._saved_values:
        guard_saved_result(out._grad_fn, out, x)
    if x._fw_tangent is not None or out._fw_tangent is not None:
        if name not in inplace_names.UNRECORDED:  # (those leave it as it was, as PyTorch)
            write_tangent(x, new_tangent(x, out))  # forward mode: the new value's tangent
    if record:
        old_node, old_nr = x._grad_fn, x._output_nr
        x._grad_fn = out._grad_fn
        x._output_nr = out._output_nr
        x._rg = out.requires_grad
        move_retained_grad(x, old_node, old_nr)
        if base is not None:  # x is a view: its base changed too (PyTorch's CopySlices)
            record_view_write(x, base, out, overlapping, (old_node, old_nr))
            if overlapping and out._grad_fn is not None and out._grad_fn._saved_values:
                save_written_view(out._grad_fn, x)
    elif (
        view is not None
        and view.fw_base is not None
        and has_tangent(x)
        and name not in inplace_names.UNRECORDED
    ):
        # forward mode: the tangent x's is a view of changes too (the base's, or the dual
        # tensor's for a view of one: never the tensor a dual aliases, as in PyTorch)
        write_view_tangent(x, view.fw_base)
    return x


def _named_inplace(err: NotImplementedError, name: str) -> NotImplementedError:
    """``err`` naming the in-place op ``name`` where it named the op computing it: PyTorch's
    forward-mode refusal of an op without a tangent formula names the in-place op
    (``aten::floor_divide_``), and so does its dispatcher (``aten::sub_.Tensor``)."""
    text = str(err)
    kernel = f"Could not run 'aten::{name[:-1]}."  # its dispatcher's too: sub_.Tensor (s47)
    if text.startswith(kernel):
        return NotImplementedError(f"Could not run 'aten::{name}." + text[len(kernel) :])
    stem = f"Trying to use forward AD with aten::{name[:-1]} "
    if not text.startswith(stem):
        return err
    return NotImplementedError(f"Trying to use forward AD with aten::{name} " + text[len(stem) :])


def new_tangent(x: Tensor, out: Tensor) -> Any:
    """The forward-mode tangent of ``x`` after an in-place op that computed ``out``: ``out``'s,
    or zeros where ``x`` had one and ``out`` has none (a comparison's ``lt_``: PyTorch's
    formula is ``zeros_like(self)``, so a view of a dual tensor keeps a zero tangent)."""
    tangent = out._fw_tangent
    if tangent is None:
        old = x._fw_tangent
        if old is not None:
            return get_array_module(old).zeros_like(old)
    return tangent


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
    copy of the old value (PyTorch's ``original_self``, :func:`keep_old_self`), one saving
    its result reads it from ``x``, guarded by ``x``'s version (:func:`guard_saved_result`)."""
    if not inplace:
        return fn(x)
    return apply_inplace(x, name + "_", fn)


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
    batched = (type(x) is not Tensor and getattr(x, "vmap_inplace", None) is not None) or (
        isinstance(value, Tensor) and getattr(value, "vmap_inplace", None) is not None
    )  # cr.func.vmap: its batching rule (the physical tensor's checks in apply_inplace)
    if not batched:
        check_leaf(x, name)
    given = value
    value = fit_scalar(name, value, x._data.dtype)
    if batched or writes_into_graph(x) or inplace_names.value_in_graph(value):  # one node
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
        if (
            s._data.dtype is not t._data.dtype  # (equal dtypes are one object: cheaper)
            and (s.requires_grad or s._fw_tangent is not None)
            and _casts_inside(s._data, t._data)
        ):
            # PyTorch's CopyBackwards casts inside its node (its gradient cast back to the
            # source's dtype by the engine): no ToCopyBackward0 between it and the source
            if s.shape != t.shape and _broadcasts_to(tuple(s.shape), tuple(t.shape)) is False:
                s = broadcast_to(s, t.shape)  # (not broadcastable: its error)
            keep = Tensor._make(get_array_module(t._data).ones((), bool), False, None, 0)
            return _CopyCast.apply(s, t, cond=keep)
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


class _CopyCast(_CopyInto):
    """``copy_``'s node for a source of another floating dtype: the source cast to self's
    dtype inside the node, as PyTorch's CopyBackwards (the engine casts the source's
    gradient back to its dtype; the tangent is cast to self's)."""

    @classmethod
    def forward(cls, ctx, a, b, cond):
        return super().forward(ctx, a, b, cond).astype(b.dtype, copy=False)

    @classmethod
    def jvp(cls, ctx, ta, tb):
        out = super().jvp(ctx, ta, tb)
        return None if out is None else out.astype(ctx.out.dtype, copy=False)


def _casts_inside(src: Any, dst: Any) -> bool:
    """Whether ``copy_`` casts ``src`` to ``dst``'s dtype inside its node: both real floating
    NumPy arrays (float16/32/64), so the cast is NumPy's ``astype``; any other pair (complex,
    bfloat16, another device) keeps the recorded ``.to``."""
    return (
        type(src) is np.ndarray
        and type(dst) is np.ndarray
        and src.dtype.kind == "f"
        and dst.dtype.kind == "f"
    )


def make_inplace(name: str, fn: Callable) -> Callable:
    op = inplace_names.named_as_torch(name, fn)  # PyTorch's node name for some (looked up once)

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return apply_inplace(self, name, op, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"In-place version of ``{fn.__name__}`` (bumps the version counter)."
    method.inplace_of = fn  # the op behind it (tests/api/signatures.py); not __wrapped__,
    # which tensor_numpy's pass-through unwrapping would follow to the out-of-place op
    return inplace_names.unrecorded(name, method)  # logical_and_ ...: not recorded, as torch
