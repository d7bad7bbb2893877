"""Type and device conversion as differentiable ops: ``cast`` (``Tensor.to(dtype)``) and
``to_device_op`` (``Tensor.to(device)``). The gradient goes back through the inverse
conversion; casting to an integer or bool type ends the graph, as in PyTorch.
``type_as`` (``Tensor.type_as``) is ``cast`` to another tensor's dtype; ``clone`` is a copy
into new memory (its gradient is the identity).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels.half_gemm import to_half, to_single
from .._user_warnings import warn_once
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module, to_device
from ..dtypes import convert, is_float8
from ..meta.array import MetaArray
from ._result_layout import clone_layout
from .binding import tensor_method
from .memory_format import preserve_format, to_memory_format

__all__ = ["cast", "clone", "to_device_op", "type_as"]

_HALF, _SINGLE = np.dtype(np.float16), np.dtype(np.float32)


class Cast(Function):
    """Change dtype; the gradient is cast back to the input's dtype by the engine."""

    node_name = "ToCopyBackward0"

    raw = True

    @staticmethod
    def forward(ctx, x, dtype):
        if x.dtype.kind == "c" and dtype.kind not in "cb":  # to bool: nonzero, both parts
            return _complex_to_real(x, dtype)
        if dtype == _HALF and not is_float8(
            x.dtype
        ):  # compiled, bit for bit NumPy's (its own loop is ~10x slower);
            # float64 through float32, rounded twice, as PyTorch converts
            return to_half(x.astype(_SINGLE) if x.dtype == np.float64 else x)
        if dtype == _SINGLE and x.dtype == _HALF and x.flags.c_contiguous:
            return to_single(x)
        return convert(x, dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad, None

    @staticmethod
    def jvp(ctx, t, _):
        if t is None:
            return None
        real_out = t.dtype.kind == "c" and ctx.out.dtype.kind != "c"  # the real part's tangent
        return (t.real if real_out else t).astype(ctx.out.dtype)


def _complex_to_real(x: Any, dtype: Any) -> Any:
    """A complex array cast to a real ``dtype``: its real parts, with PyTorch's UserWarning
    (NumPy's own is a ComplexWarning, which ``except UserWarning`` code does not catch)."""
    with np.errstate(over="ignore"):  # beyond float16's range: inf, as in PyTorch
        out = convert(x.real, dtype)
    warn_once(  # once per process, as PyTorch
        "complex_to_real", "Casting complex values to real discards the imaginary part"
    )
    return out


def cast(x: Tensor, dtype) -> Tensor:
    dtype = np.dtype(dtype)
    if x.requires_grad and dtype.kind not in "fcV":  # V: bfloat16
        # Casting to an integer/bool type ends the graph, as in PyTorch.
        return Tensor._make(Cast.forward(None, x._data, dtype), False, None, 0)
    return Cast.apply(x, dtype)


class ToDevice(Function):
    node_name = "ToCopyBackward0"
    raw = True

    @staticmethod
    def forward(ctx, x, device):
        if get_array_module(x) is np:
            ctx.src = "cpu"
        else:  # a meta array answers the meta array module (meta/xp.py)
            ctx.src = "meta" if type(x) is MetaArray else f"cuda:{x.device.id}"
        return to_device(x, device)

    @staticmethod
    def backward(ctx, grad):
        return to_device_op(grad, ctx.src), None

    @staticmethod
    def jvp(ctx, t, _):
        return None if t is None else to_device(t, ctx.primals[1])


def to_device_op(x: Tensor, device) -> Tensor:
    return ToDevice.apply(x, device)


def type_as(x: Tensor, other: Tensor) -> Tensor:
    """``x`` converted to ``other``'s dtype (``Tensor.type_as``)."""
    if not isinstance(other, Tensor):
        raise TypeError(
            f"type_as(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}"
        )
    return x.to(other.dtype)


class Clone(Function):
    """A copy of ``x`` in new memory, laid out as PyTorch's ``preserve_format`` clone:
    ``x``'s strides when it is dense, else dense in its stride order
    (``torch.empty_like``'s rule, ``clone_layout``); the gradient passes through
    unchanged."""

    raw = True

    @staticmethod
    def forward(ctx, x):
        return clone_layout(x)

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def jvp(ctx, t):
        return None if t is None else t.copy(order="K")


@tensor_method
def clone(
    input: Tensor,  # noqa: A002 - torch's name
    *,
    memory_format: Any = preserve_format,
) -> Tensor:
    """``torch.clone``: a copy that owns its memory, recorded in the graph, in the input's
    memory order (``preserve_format``) or in ``memory_format``'s (``cr.contiguous_format``,
    ``cr.channels_last``)."""
    if type(input) is not Tensor and getattr(input, "vmap_inplace", None) is not None:
        return input.clone(memory_format=memory_format)  # cr.func.vmap: its physical value
    if memory_format is not None and memory_format is not preserve_format:
        out = to_memory_format(input, memory_format, "clone")
        if out is not input:
            return out  # already a fresh copy in that order
    view = input._view
    if view is not None and view.version != input._vc[0]:
        input._refresh_view()  # its base changed in place (and may now require grad)
    if input.requires_grad or input._fw_tangent is not None:
        return Clone.apply(input)
    return Tensor._make(clone_layout(input._data), False, None, 0)
