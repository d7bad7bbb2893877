"""Memory layout: ``contiguous`` (a C-ordered copy when needed, or one in another
``memory_format``, ``memory_format.py``) and the layout and type
queries ``is_contiguous``, ``stride``, ``data_ptr``, ``is_floating_point``, ``is_complex``,
``get_device``, ``nelement`` and ``ndimension``.

Strides are in elements, as PyTorch counts them (NumPy counts bytes).
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from .._layout import has_own_layout, torch_strides
from .._layout_carry import follow_elementwise_rule
from .._layout_marks import (
    LAYOUT_MARKS,
    layout_mark,
    logical_strides,
    logically_contiguous,
)
from .._layout_relay import relay_row_major
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import MetaArray
from ..meta.strides import meta_is_contiguous, meta_strides
from .binding import tensor_method
from .cast import Cast, Clone
from .elementwise import BinaryElementwise, UnaryElementwise
from .memory_format import contiguous_format, in_memory_format, to_memory_format
from .selection_where import Where

__all__ = [
    "Contiguous",
    "contiguous",
    "data_ptr",
    "get_device",
    "is_complex",
    "is_contiguous",
    "is_floating_point",
    "ndimension",
    "nelement",
    "stride",
]

# the elementwise ops lay their results out by PyTorch's elementwise rule, so a result of a
# transpose of a convolution's result is marked with that rule's strides (_layout_carry.py,
# which sits below ops and cannot import these bases)
follow_elementwise_rule(UnaryElementwise, BinaryElementwise)
# a copy in torch.empty_like's layout (preserve_format): the rule's answer for one operand
follow_elementwise_rule(Cast, Clone)
follow_elementwise_rule(Where, operand_order=(2, 0, 1))  # PyTorch's order: the condition first


class Contiguous(Function):
    """A C-ordered copy; the gradient passes through unchanged."""

    node_name = "CloneBackward0"  # PyTorch's contiguous() is a clone
    raw = True

    @staticmethod
    def forward(ctx, x):
        if x.flags.c_contiguous:  # a transpose of a convolution's result (_layout_marks.py)
            return x.copy()
        if type(x) is MetaArray:  # a new row-major meta array (no full-size zeros)
            return x.copy(order="C")
        return get_array_module(x).ascontiguousarray(x)

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def jvp(ctx, t):
        return t


@tensor_method
def contiguous(x: Tensor, memory_format: Any = contiguous_format) -> Tensor:
    """The tensor itself if its memory is dense in ``memory_format``'s order (C order by
    default; ``cr.channels_last``: NHWC), else a recorded copy in that order. Inside
    ``cr.func.vmap`` a tensor holding per-sample values (``x._data > 0``) is itself: its
    memory is the batch's.

    A convolution's result, row-major in PyTorch but channel-major here
    (``_layout_marks.mark_row_major``), is contiguous as PyTorch's and returned itself, as
    PyTorch returns it: its memory is laid out row-major in place first (same values), as
    ``view`` does, when nothing else can reach that memory (``_layout_relay.py``: no
    ``numpy()``, ``detach()``/``.data`` relay it before they alias it, and its views are
    re-taken on the new memory, session 42; a view of it PyTorch has contiguous, ``y[0]``,
    re-lays it too); else (its memory was handed out) a copy, where PyTorch returns the
    tensor itself."""
    if memory_format is contiguous_format:
        arr = x._data
        if not has_own_layout(arr) and not (LAYOUT_MARKS and type(layout_mark(arr)) is tuple):
            return x  # (a transpose of a convolution's result is not contiguous in PyTorch)
        # (no alias of it, and its views re-taken: _layout_relay.py; a view is re-laid with
        # its base only where PyTorch's is contiguous, so returned itself, as PyTorch's)
        if (x._view is None or logically_contiguous(arr)) and relay_row_major(x):
            if x._data.flags.c_contiguous:
                return x
        return Contiguous.apply(x)
    return to_memory_format(x, memory_format, "contiguous")


def is_contiguous(x: Tensor, memory_format: Any = contiguous_format) -> bool:
    """Whether the elements lie in memory in ``memory_format``'s order without gaps (C,
    row-major, order by default): a convolution's result is, as PyTorch's, though chainrule
    lays it out channel-major (``_layout_marks.mark_row_major``)."""
    if memory_format is contiguous_format:
        if logically_contiguous(x._data):
            return True
        return type(x._data) is MetaArray and meta_is_contiguous(x._data)  # its own strides
    return in_memory_format(x._data, memory_format)


def stride(x: Tensor, dim: int | None = None) -> tuple[int, ...] | int:
    """Strides in elements (PyTorch's convention), not bytes as NumPy's: PyTorch's strides
    for an empty tensor and for size-1 dims (``unsqueeze``'s rule where NumPy gives 0; see
    :func:`chainrule._layout.torch_strides`); a convolution's result reports PyTorch's
    row-major strides (``_layout_marks.logical_strides``)."""
    arr = x._data
    st = torch_strides(arr)
    # (else: row-major; a meta array keeps its own, an empty transposed one's too)
    if LAYOUT_MARKS or not arr.flags.c_contiguous or 1 in arr.shape or type(arr) is MetaArray:
        st = meta_strides(arr) if type(arr) is MetaArray else logical_strides(arr, st)
    return st if dim is None else st[dim]


def data_ptr(x: Tensor) -> int:
    """The address of the tensor's first element."""
    if hasattr(x._data, "ctypes"):
        return int(x._data.ctypes.data)
    return int(x._data.data.ptr)  # pragma: no cover - cupy


def is_floating_point(input: Tensor) -> bool:
    """Whether the dtype is a floating-point type (float16/32/64, bfloat16)."""
    return _dt.is_floating(input._data.dtype)


def nelement(x: Tensor) -> int:
    """The number of elements (``numel``)."""
    return x.numel()


def ndimension(x: Tensor) -> int:
    """The number of dims (``dim``)."""
    return x.ndim


@tensor_method
def get_device(x: Tensor) -> int:
    """The CUDA device index of ``x``, or -1 for a CPU tensor (PyTorch's convention)."""
    dev = x.device
    if dev.type == "cpu":
        return -1
    return dev.index if dev.index is not None else 0


@tensor_method
def is_complex(input: Tensor) -> bool:
    """Whether ``input`` has a complex dtype."""
    return input._data.dtype.kind == "c"
