"""In-place variants (``add_``, ``mul_``, ``zero_``, ...) with PyTorch's safety rules.

An in-place op bumps the tensor's version counter, so a backward that needs the old
value raises instead of silently using the new one. In-place ops on a leaf that
requires grad raise (they would lose the gradient's meaning); on a non-leaf they are
recorded: the tensor is rebased onto the new node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd import grad_mode
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._util import as_tensor
from .shape import broadcast_to


def _check_leaf(x: Tensor, name: str) -> None:
    if x.requires_grad and x.grad_fn is None and grad_mode.is_grad_enabled():
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad is being used in an in-place "
            "operation; wrap it in `with cr.no_grad():` (e.g. for a manual parameter update) "
            "or use the out-of-place form"
        )


def check_writable_memory(x: Tensor, name: str) -> None:
    """Refuse in-place writes into an expanded tensor (elements sharing one memory location).

    ``expand``/``broadcast_to`` give read-only views with zero strides; writing into them
    would either fail inside NumPy or, worse, write one value for many logical elements.
    """
    d = x._data
    overlapping = any(st == 0 and n > 1 for st, n in zip(d.strides, d.shape))
    if overlapping or not getattr(d.flags, "writeable", True):
        raise RuntimeError(
            f"{name}: unsupported operation: more than one element of the written-to tensor "
            f"(shape {tuple(x.shape)}) refers to a single memory location (an expanded or "
            "read-only tensor). Please clone() the tensor before performing the operation."
        )


def check_unrecorded_write(x: Tensor, name: str) -> None:
    """Guard a write that autograd does not record (``uniform_``, ``normal_``,
    ``index_put_``): the memory must be writable, and ``x`` must not require grad while
    grad mode is on (the write would silently detach the values from the graph)."""
    check_writable_memory(x, name)
    if x.requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError(
            f"{name}: in-place writes into a tensor that requires grad are not "
            "recorded; wrap them in `with cr.no_grad():` (e.g. for weight init)"
        )


def apply_inplace(x: Tensor, name: str, fn: Callable, *args: Any, **kwargs: Any) -> Tensor:
    """Compute ``fn(x, *args)`` and write the result into ``x``."""
    if type(x) is not Tensor and getattr(x, "vmap_inplace", None) is not None:
        return x.vmap_inplace(name, fn, *args, **kwargs)  # a batched tensor (cr.func.vmap)
    _check_leaf(x, name)
    check_writable_memory(x, name)
    record = grad_mode.is_grad_enabled() and (
        x.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args)
    )
    gf = x.grad_fn
    if (
        record
        and gf is not None
        and (gf.fn.is_view or gf.fn.__name__ == "GetItem")
        and x._data.base is not None
    ):
        raise RuntimeError(
            f"{name}: in-place modification of a view ({gf.name()}) of a tensor that requires "
            "grad is not supported: the base tensor's gradient would not see the change. Use "
            "an out-of-place op (e.g. cr.where / masked_fill) or .clone() the view first"
        )
    if record:
        out = fn(x, *args, **kwargs)
    else:
        with grad_mode.no_grad():
            out = fn(x, *args, **kwargs)
    xp = get_array_module(x._data)
    if out._data.dtype != x._data.dtype and not xp.can_cast(
        out._data.dtype, x._data.dtype, casting="same_kind"
    ):
        raise TypeError(
            f"{name}: result type {out.dtype} can't be cast to the tensor's dtype "
            f"{x.dtype} in place"
        )
    if out._data.shape != x._data.shape:
        raise ValueError(
            f"{name}: the result shape {out.shape} does not match the in-place "
            f"tensor's shape {x.shape} (in-place ops cannot broadcast the target)"
        )
    xp.copyto(x._data, out._data, casting="unsafe")
    x._vc[0] += 1
    if x._fw_tangent is not None or out._fw_tangent is not None:
        x._fw_tangent = out._fw_tangent  # forward mode: the tangent of the new value
    if record:
        x.grad_fn = out.grad_fn
        x._output_nr = out._output_nr
        x.requires_grad = out.requires_grad
    return x


def zero_(x: Tensor) -> Tensor:
    return fill_(x, 0)


def fill_(x: Tensor, value: Any) -> Tensor:
    _check_leaf(x, "fill_")
    if x.requires_grad and grad_mode.is_grad_enabled():
        return apply_inplace(x, "fill_", lambda t, v: t * 0 + v, value)
    check_writable_memory(x, "fill_")
    x._data[...] = value.item() if isinstance(value, Tensor) else value
    x._vc[0] += 1
    return x


def copy_(x: Tensor, src: Any) -> Tensor:
    src = as_tensor(src)
    return apply_inplace(
        x, "copy_", lambda t, s: broadcast_to(s.to(t.dtype).to(t.device), t.shape) + t * 0, src
    )


def make_inplace(name: str, fn: Callable) -> Callable:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return apply_inplace(self, name, fn, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"In-place version of ``{fn.__name__}`` (bumps the version counter)."
    return method
