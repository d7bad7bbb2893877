"""``as_strided``, ``as_strided_`` and ``as_strided_scatter``: PyTorch's views of a tensor's
*storage* with explicit sizes, element strides and storage offset (re-exported by
``ops/misc_more.py``).

chainrule's storage is the NumPy array that owns a tensor's memory (the one
``Tensor.storage_offset()`` counts from); ``as_strided`` returns a NumPy strided view of
it (``np.lib.stride_tricks.as_strided``), so the result shares memory with the input, as in
PyTorch. Its gradient is PyTorch's ``as_strided_backward``: the output gradient is summed
into a zero storage at the positions each output element reads (overlaps accumulate), then
read back at the input's own positions, divided by how many input elements share a memory
location when the input overlaps itself (an expanded tensor).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd import grad_mode
from ..autograd.forward_ad_captures import GUARDING as _GUARDING
from ..autograd.forward_ad_captures import check_captured_write
from ..autograd.function import Function
from ..autograd.saved import memory_root
from ..autograd.state import LOCAL as _vmap
from ..autograd.tensor import Tensor
from ..autograd.view_base import forward_base
from ..autograd.view_replay import data_pointer
from ..autograd.view_tangents import retake_tangent
from ..backend import get_array_module, strided_view
from ..meta.array import MetaArray, meta_empty
from ..meta.strides import set_geometry
from ._util import as_tensor, constant
from .binding import tensor_method
from .index_ops import index_add
from .index_put import index_put
from .inplace_views import metadata_inplace

__all__ = ["as_strided", "as_strided_", "as_strided_scatter"]


def _geometry(op: str, size: Any, stride: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError(
            f"{op}: Negative strides are not supported at the moment, got strides: {list(stride)}"
        )
    if any(s < 0 for s in size):
        raise RuntimeError(f"{op}: negative size in {list(size)}")
    return size, stride


def _positions(size: tuple, stride: tuple, offset: int) -> np.ndarray:
    """The storage position (in elements) of every element of a strided view, row-major."""
    pos = np.full(size, offset, np.int64)
    for d, (n, s) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[d] = n
        pos = pos + (np.arange(n, dtype=np.int64) * s).reshape(shape)
    return pos


def _storage(op: str, arr: Any) -> tuple[Any, int]:
    """(the whole storage as a flat array of ``arr``'s dtype, ``arr``'s offset in it)."""
    root = memory_root(arr)
    if not isinstance(root, get_array_module(arr).ndarray):  # owned by a buffer (frombuffer, mmap)
        root = arr
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        raise NotImplementedError(f"{op}: the tensor's memory is not one contiguous block")
    isz = arr.itemsize
    flat = root.ravel(order="K").view(np.uint8)
    flat = flat[: (flat.size // isz) * isz].view(arr.dtype)
    return flat, (data_pointer(arr) - data_pointer(root)) // isz


def _meta_view(x: MetaArray, size: tuple, stride: tuple, offset: Any) -> tuple:
    """``as_strided`` of a meta array: a zero-stride view with PyTorch's geometry kept beside
    it (``meta/strides.py``); PyTorch's meta storage is not checked against the view."""
    own = x._off
    off = own if offset is None else int(offset)
    if off < 0:
        raise RuntimeError(f"as_strided: Tensor: invalid storage offset {off}")
    view = set_geometry(strided_view(x, size, (0,) * len(size)).view(MetaArray), stride, off)
    return view, size, stride, off, 0, own


def _strided_view(op: str, x: Tensor, size: Any, stride: Any, offset: Any) -> tuple:
    size, stride = _geometry(op, size, stride)
    if type(x._data) is MetaArray:
        return _meta_view(x._data, size, stride, offset)
    flat, own = _storage(op, x._data)
    off = own if offset is None else int(offset)
    if off < 0:
        raise RuntimeError(f"{op}: Tensor: invalid storage offset {off}")
    need = 0 if 0 in size else off + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if need > flat.size:
        isz = x._data.itemsize
        raise RuntimeError(
            f"{op}(): setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
            f"{off}, and itemsize {isz} requiring a storage size of {need * isz} are out of "
            f"bounds for storage of size {flat.size * isz}"
        )
    strides = tuple(s * x._data.itemsize for s in stride)
    view = strided_view(flat[off:], size, strides, writeable=True)
    return view, size, stride, off, flat.size, own


class AsStrided(Function):
    """``as_strided``: a strided view of the input's storage (see the module doc)."""

    raw = True
    is_view = True
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): the offset as given
        "size": lambda n: n.geometry[0],
        "storage_offset": lambda n: n.geometry[2],
        "stride": lambda n: n.geometry[1],
    }

    @staticmethod
    def forward(ctx, x, size, stride, offset):
        t = Tensor._make(x, False, None, 0)
        view, size, stride, off, _, own = _strided_view("as_strided", t, size, stride, offset)
        ctx.geometry = (tuple(size), tuple(stride), None if offset is None else int(offset))
        if type(x) is MetaArray:  # no positions to read: the gradient is only a shape
            ctx.in_pos = None
            ctx.in_shape = x.shape
            return view
        in_stride = tuple(s // x.itemsize for s in x.strides)
        # Kept as attributes, not saved: these positions are the view's geometry (as PyTorch
        # keeps sizes and strides, no tensor), so a second backward works as in PyTorch.
        ctx.in_pos = _positions(x.shape, in_stride, own).reshape(-1)
        ctx.out_pos = _positions(size, stride, off).reshape(-1)
        n = int(max(ctx.in_pos.max(initial=-1), ctx.out_pos.max(initial=-1))) + 1
        ctx.length = n
        counts = np.bincount(ctx.in_pos, minlength=n)
        ctx.counts = counts[ctx.in_pos] if (counts > 1).any() else None
        ctx.in_shape = x.shape
        return view

    @staticmethod
    def backward(ctx, grad):
        if ctx.in_pos is None:  # meta: a meta gradient of the input's shape
            return constant(meta_empty(ctx.in_shape, grad.dtype)), None, None, None
        store = constant(np.zeros(ctx.length, grad.dtype))
        store = index_add(store, 0, constant(ctx.out_pos), grad.reshape(-1))
        gi = store[constant(ctx.in_pos)]
        if ctx.counts is not None:
            gi = gi / constant(ctx.counts.astype(grad.dtype)).to(grad.device)
        gi = gi.reshape(ctx.in_shape)
        if not ctx.create_graph:  # PyTorch's as_strided_backward copies into new zeros
            gi._vc[0] = 1  # (version 1); a new tensor here, saved by nothing
        return gi, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        xp = get_array_module(t)
        store = xp.zeros(ctx.length, t.dtype)
        store[xp.asarray(ctx.in_pos)] = t.reshape(-1)
        return store[xp.asarray(ctx.out_pos)].reshape(ctx.out.shape)


@tensor_method
def as_strided(
    input: Tensor,  # noqa: A002 - PyTorch's name
    size: Sequence[int],
    stride: Sequence[int],
    storage_offset: int | None = None,
) -> Tensor:
    """``torch.as_strided``: the view of ``input``'s storage with ``size``, element
    ``stride`` and ``storage_offset`` (``input``'s own offset by default); it shares memory.

    Raises:
        RuntimeError: sizes and strides of different lengths, a negative stride, or a view
            reaching past the storage (as PyTorch).
    """
    out = AsStrided.apply(as_tensor(input), size, stride, storage_offset)
    if out._fw is not None and out._view is not None:
        # Forward AD: PyTorch's tangent is the same strided view of the base's tangent, so
        # elements of the storage outside ``input`` (the imaginary parts between ``z.real``'s)
        # read the base's tangent there, not zeros as the jvp (which sees only ``input``'s).
        retake_tangent(out, forward_base(out))
    return out


def as_strided_(
    input: Tensor,  # noqa: A002 - PyTorch's name
    size: Sequence[int],
    stride: Sequence[int],
    storage_offset: int | None = None,
) -> Tensor:
    """``Tensor.as_strided_``: make ``input`` itself the strided view of its storage (its
    shape and strides change; values are not copied) and bump its version, as PyTorch. On a
    non-leaf that requires grad it is recorded (the tensor's ``grad_fn`` becomes
    ``as_strided``'s node).

    Raises:
        RuntimeError: ``input`` is a leaf that requires grad (or a view of one) while grad
            mode is on; a geometry as for :func:`as_strided`.
    """
    if _vmap.state.vmap and type(input).__name__ == "BatchedTensor":
        # cr.func.vmap: PyTorch's fallback restrides each sample's slice (its own view
        # object), so the batched tensor itself keeps its shape and values
        from ..func._per_sample import per_sample  # noqa: PLC0415 - func imports the ops

        return per_sample(as_strided_, input, size, stride, storage_offset, inplace=True)
    if _GUARDING[0]:  # a captured tensor inside a grad transform of cr.func: as PyTorch
        check_captured_write(input, "as_strided_")
    if (input.requires_grad and grad_mode.is_grad_enabled()) or input._fw_tangent is not None:
        # (a dual tensor too: its tangent takes the same strided view, as PyTorch's)
        return metadata_inplace(input, "as_strided_", as_strided, size, stride, storage_offset)
    input._data = _strided_view("as_strided_", input, size, stride, storage_offset)[0]
    input._vc[0] += 1
    return input


@tensor_method
def as_strided_scatter(
    input: Tensor,  # noqa: A002 - PyTorch's name
    src: Tensor,
    size: Sequence[int],
    stride: Sequence[int],
    storage_offset: int | None = None,
) -> Tensor:
    """``torch.as_strided_scatter``: a contiguous copy of ``input`` with ``src`` written into
    its strided view ``(size, stride, storage_offset)`` (offset 0 by default, positions
    counted in the copy's row-major order). Composed as ``index_put`` on the flattened copy:
    ``input`` gets the gradient except where written, ``src`` the gradient read there.

    PyTorch counts a given ``storage_offset`` from the start of ``input``'s *storage* when
    ``input`` is itself an offset view; chainrule always counts from the copy's first element.

    Raises:
        RuntimeError: ``src`` of a shape other than ``size``, another dtype, or a geometry
            outside ``input``.
    """
    x, s = as_tensor(input), as_tensor(src)
    size, stride = _geometry("as_strided_scatter", size, stride)
    off = 0 if storage_offset is None else int(storage_offset)
    if tuple(s.shape) != size:
        raise RuntimeError(
            f"expected src to have a size equal to the slice of self. src size = "
            f"{list(s.shape)}, slice size = {list(size)}"
        )
    if s.dtype != x.dtype:
        raise RuntimeError(f"as_strided_scatter: expected src of dtype {x.dtype}, got {s.dtype}")
    pos = _positions(size, stride, off).reshape(-1)
    n = x.numel()
    if pos.size and (off < 0 or int(pos.max()) >= n):
        raise RuntimeError(
            f"as_strided_scatter: sizes {list(size)}, strides {list(stride)} and storage offset "
            f"{off} reach element {int(pos.max())}, outside the {n} elements of input"
        )
    out = index_put(x.reshape(-1), (constant(pos),), s.reshape(-1))
    return out.reshape(x.shape)
