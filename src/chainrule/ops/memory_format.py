"""Memory formats (``torch.memory_format``): ``contiguous_format``, ``channels_last``, ...

A 4-d tensor of shape (N, C, H, W) in ``channels_last`` keeps its shape and values; only its
memory order changes to (N, H, W, C), so its strides are ``(HWC, 1, WC, C)``. PyTorch uses
it to pick faster convolution kernels. A NumPy array can hold that order too (an NHWC array
seen through a transpose), so chainrule mirrors the format exactly: ``x.to(memory_format=
cr.channels_last)``, ``x.contiguous(memory_format=...)``, ``x.is_contiguous(memory_format=
...)``, ``clone(memory_format=...)`` and ``Module.to(memory_format=...)`` give the strides
PyTorch gives, and elementwise results keep the input's order as NumPy's ufuncs do. The
format changes no value, so :class:`ToMemoryFormat` passes gradients through unchanged.
Speed: chainrule's convolutions copy their input into their own layout either way, so the
format neither helps nor hurts them much; it exists so that code written for it runs.
"""

from __future__ import annotations

from typing import Any

from .._layout import is_vmap_array, like_layout
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..meta.array import MetaArray
from ..meta.strides import meta_is_contiguous

__all__ = [
    "ToMemoryFormat",
    "channel_major",
    "channels_last",
    "channels_last_3d",
    "contiguous_format",
    "in_memory_format",
    "memory_format",
    "preserve_format",
    "in_suggested_format",
    "relayout_array",
    "suggested_format",
    "suggests_memory_format",
    "to_memory_format",
]


class memory_format:  # noqa: N801 - PyTorch's name (torch.memory_format)
    """A memory order of a tensor's elements (``torch.memory_format``)."""

    __slots__ = ("_name", "_rank")

    def __init__(self, name: str, rank: int | None = None) -> None:
        self._name = name
        self._rank = rank  # the rank the format is defined for (None: any)

    def __repr__(self) -> str:
        return f"torch.{self._name}"  # as PyTorch prints it (and cr.Size, cr.float32)

    def __reduce__(self) -> str:
        return self._name  # pickles as the module-level singleton


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last", 4)
channels_last_3d = memory_format("channels_last_3d", 5)


def _check(fmt: Any, ndim: int | None, op: str) -> memory_format:
    """``fmt`` as a memory format for a tensor of ``ndim`` dims (None: any rank)."""
    if not isinstance(fmt, memory_format):
        raise TypeError(
            f"{op}: memory_format must be a chainrule.memory_format (contiguous_format, "
            f"preserve_format, channels_last, channels_last_3d), got {type(fmt).__name__}"
        )
    if fmt._rank is not None and ndim is not None and ndim != fmt._rank:
        raise RuntimeError(
            f"{op}: required rank {fmt._rank} tensor to use {fmt._name} format, got a "
            f"{ndim}-d tensor"
        )
    return fmt


def _last_order(ndim: int) -> tuple[int, ...]:
    """The axes from slowest to fastest in memory for channels-last: N, spatial..., C."""
    return (0, *range(2, ndim), 1)


def in_memory_format(arr: Any, fmt: Any, op: str = "is_contiguous") -> bool:
    """Whether ``arr``'s memory is dense in the order ``fmt`` names (size-1 dims are free,
    as in PyTorch's stride checks)."""
    if fmt is None or fmt is contiguous_format or fmt is preserve_format:
        if arr.flags.c_contiguous:
            return True
        return type(arr) is MetaArray and meta_is_contiguous(arr)  # its strides kept beside
    fmt = _check(fmt, None, op)
    if fmt._rank is not None and arr.ndim != fmt._rank:
        return False  # PyTorch answers False, without an error
    if type(arr) is MetaArray:  # its strides are PyTorch's, kept beside the zero ones
        return meta_is_contiguous(arr, _last_order(arr.ndim))
    expected = 1
    for axis in reversed(_last_order(arr.ndim)):
        size = arr.shape[axis]
        if size != 1 and arr.strides[axis] != expected * arr.itemsize:
            return False
        expected *= size
    return True


def _relayout(arr: Any, fmt: memory_format) -> Any:
    """A copy of ``arr`` with the same values, its memory in the order ``fmt`` names, with
    the strides PyTorch gives a new tensor in that format (a size-1 dim's too)."""
    if fmt is contiguous_format:
        return arr.copy(order="C")
    order = _last_order(arr.ndim)
    inverse = [order.index(i) for i in range(arr.ndim)]
    return arr.transpose(order).copy(order="C").transpose(inverse)


def _format_strides(shape: tuple, fmt: memory_format) -> tuple[int, ...]:
    """The strides (elements) PyTorch gives a new tensor of ``shape`` in ``fmt``."""
    order = range(len(shape)) if fmt is contiguous_format else _last_order(len(shape))
    strides, step = [0] * len(shape), 1
    for axis in reversed(tuple(order)):
        strides[axis] = step
        step *= max(shape[axis], 1)
    return tuple(strides)


def _has_format_strides(arr: Any, fmt: memory_format) -> bool:
    """Whether ``arr`` has exactly the strides of a new tensor in ``fmt``."""
    size = arr.itemsize
    return tuple(s // size for s in arr.strides) == _format_strides(arr.shape, fmt)


def suggests_memory_format(arr: Any, fmt: memory_format) -> bool:
    """PyTorch's ``suggest_memory_format() == fmt`` for a channels-last ``fmt``: the strides
    order the dims N, spatial (outer to inner), C from slowest to fastest (gaps allowed, a
    size-1 dim's stride counting, ambiguous N111-like strides read as row-major)."""
    if fmt._rank is None or arr.ndim != fmt._rank or not hasattr(arr, "strides"):
        return False
    shape, size = arr.shape, arr.itemsize
    st = [s // size for s in arr.strides]
    if st[1] == 0:
        return False
    low = 0
    for d in (1, *range(arr.ndim - 1, 1, -1), 0):
        if shape[d] == 0 or st[d] < low or (d == 0 and low == st[1]):
            return False
        low = st[d] * shape[d] if shape[d] > 1 else st[d]
    return True


def suggested_format(like: Any) -> memory_format | None:
    """The format PyTorch allocates a batch-norm / rms-norm result of ``like`` in
    (``like.suggest_memory_format()``): channels-last (3d) where ``like`` suggests it, else
    ``contiguous_format``; None for a convolution's own layout, which chainrule keeps."""
    if channel_major(like):
        return None
    fmt = {4: channels_last, 5: channels_last_3d}.get(like.ndim)
    return fmt if fmt is not None and suggests_memory_format(like, fmt) else contiguous_format


def in_suggested_format(arr: Any, like: Any) -> Any:
    """``arr`` (shaped as ``like``) in :func:`suggested_format` (``like``'s own strides for a
    convolution's layout). ``arr`` itself when it already is (no sort for a row-major
    ``like`` and ``arr``)."""
    if is_vmap_array(arr) or not hasattr(arr, "flags"):
        return arr
    if arr.flags.c_contiguous and like.flags.c_contiguous:
        return arr
    fmt = suggested_format(like)
    if fmt is None:  # a convolution's own layout (C, N, *spatial): kept, the next conv wants it
        return arr if channel_major(arr) else like_layout(arr, like)
    if fmt is contiguous_format and arr.flags.c_contiguous:
        return arr
    return arr if _has_format_strides(arr, fmt) else _relayout(arr, fmt)


def channel_major(arr: Any) -> bool:
    """Whether an (N, C, *spatial) array (3-d or more) is laid out as chainrule's convolutions
    lay out their results: dense (C, N, *spatial), the channel outermost (size-1 dims free).
    PyTorch's convolutions return row-major results, and its norms then keep that layout;
    chainrule's norms keep this one, so a conv -> norm -> conv chain converts nothing."""
    return arr.ndim >= 3 and not arr.flags.c_contiguous and arr.swapaxes(0, 1).flags.c_contiguous


def _keeps(arr: Any, fmt: memory_format, op: str) -> bool:
    """Whether ``op`` may return ``arr`` itself for ``fmt``, by PyTorch's rule for it:
    ``contiguous``: ``arr`` is dense in ``fmt``'s order (size-1 dims free); ``to`` and
    ``Module.to``: ``arr`` suggests ``fmt`` (for ``contiguous_format``: it is row-major and
    suggests no channels-last format; PyTorch would also keep a non-dense one); every op
    making a new tensor (``clone``, ``empty``, ...): ``arr`` has that tensor's strides."""
    if op == "contiguous":
        return in_memory_format(arr, fmt, op)
    if op in ("to", "Module.to"):
        if fmt is contiguous_format:
            return bool(arr.flags.c_contiguous) and not (
                suggests_memory_format(arr, channels_last)
                or suggests_memory_format(arr, channels_last_3d)
            )
        return suggests_memory_format(arr, fmt)
    return _has_format_strides(arr, fmt)


def relayout_array(arr: Any, fmt: Any, op: str) -> Any:
    """``arr`` itself when ``op`` keeps it in ``fmt`` (always for ``preserve_format``; see
    :func:`_keeps`), else a copy with its memory in ``fmt``'s order: the raw-array form of
    :func:`to_memory_format`."""
    if fmt is None or fmt is preserve_format:
        return arr
    fmt = _check(fmt, arr.ndim, op)
    return arr if _keeps(arr, fmt, op) else _relayout(arr, fmt)


class ToMemoryFormat(Function):
    """The same values in another memory order; the gradient passes through unchanged."""

    raw = True

    @staticmethod
    def forward(ctx, x, fmt):
        return _relayout(x, fmt)

    @staticmethod
    def backward(ctx, grad):
        return grad, None

    @staticmethod
    def jvp(ctx, t, _):
        return t


def to_memory_format(x: Tensor, fmt: Any, op: str) -> Tensor:
    """``x`` itself when ``op`` keeps it in ``fmt`` (``preserve_format``: always; see
    :func:`_keeps`), else a recorded copy in that order."""
    if fmt is None or fmt is preserve_format:
        return x
    fmt = _check(fmt, x.ndim, op)
    if is_vmap_array(x._data):
        arr = x._data  # a meta array has a layout: kept when dense in fmt's order
        order = None if fmt is contiguous_format else _last_order(arr.ndim)
        if type(arr) is not MetaArray or meta_is_contiguous(arr, order):
            return x
        return ToMemoryFormat.apply(x, fmt)
    if _keeps(x._data, fmt, op):
        return x
    return ToMemoryFormat.apply(x, fmt)
