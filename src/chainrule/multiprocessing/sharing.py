"""Moving tensors into shared memory: ``Tensor.share_memory_``, ``Tensor.is_shared`` and
``Module.share_memory`` (written here as functions; the classes bind them as methods).

A chainrule tensor holds a NumPy array. Sharing it allocates a segment (see
:mod:`._segments`), copies the values there and swaps the tensor's array for one over the
segment, with the same shape, dtype and memory order. From then on every in-place update
(``p.add_(...)``, ``p -= ...`` under ``no_grad``, ``p.data.mul_(...)``, an optimizer step)
writes into the segment, so every process holding the tensor sees it. The array is marked
with :func:`~chainrule.autograd.shared_memory.mark_shared`, so chainrule never relays it out
or replaces it behind the user's back.

What differs from PyTorch, whose views follow their storage:

- ``share_memory_`` on a view (``x[0]``, ``x.view(2, 3)``) of a tensor that is not shared
  moves the base too when nothing else refers to the base (``cr.randn(6).view(2, 3)``);
  otherwise it raises, naming the base to share first, since other views of that base would
  keep the old memory. A view taken of a shared tensor is shared (it views the segment).
- arrays taken from the tensor *before* it was shared (an earlier ``t.detach()``,
  ``t.data``, ``t.numpy()``) keep the old memory: they no longer alias the tensor.
- CUDA (CuPy) tensors are left as they are, as PyTorch leaves CUDA tensors.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..autograd.shared_memory import mark_shared
from ..autograd.tensor import Tensor
from ._segments import Segment, allocate, root_array, segment_of

__all__ = [
    "is_shared",
    "module_share_memory",
    "share_memory_",
    "share_together",
    "shared_empty_like",
]

_ALIGN = 64  # bytes: each tensor packed into a common segment starts on a cache line


def _order_k_strides(arr: np.ndarray) -> tuple[int, ...]:
    """Contiguous strides that keep ``arr``'s axis order (NumPy's ``order='K'``): a
    channels-last or transposed tensor stays so after sharing."""
    order = sorted(range(arr.ndim), key=lambda i: -abs(arr.strides[i]))
    strides = [0] * arr.ndim
    step = arr.itemsize
    for i in reversed(order):
        strides[i] = step
        step *= max(arr.shape[i], 1)
    return tuple(strides)


def shared_empty_like(arr: np.ndarray) -> tuple[np.ndarray, Segment]:
    """A new array over a new segment, of ``arr``'s shape, dtype and axis order."""
    seg = allocate(arr.nbytes)
    out = np.ndarray(arr.shape, arr.dtype, buffer=seg.buffer, strides=_order_k_strides(arr))
    return mark_shared(out), seg


def _share_with_base(view: Tensor, base: Tensor) -> bool:
    """Move the memory under ``base`` and ``view`` (the array owning it, when that is one
    contiguous block) to a segment, keeping both arrays' offsets and strides; False when
    that memory is not one contiguous block."""
    root = root_array(base._data)
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        return False
    seg = allocate(root.nbytes)
    start = root.__array_interface__["data"][0]

    def rebase(a: np.ndarray) -> np.ndarray:
        offset = a.__array_interface__["data"][0] - start
        return mark_shared(np.ndarray(a.shape, a.dtype, seg.buffer, offset, a.strides))

    np.copyto(rebase(root), root, casting="no")
    base._data, view._data = rebase(base._data), rebase(view._data)
    return True


def is_shared(tensor: Tensor) -> bool:
    """Whether ``tensor``'s memory is in a shared segment (``Tensor.is_shared``)."""
    return segment_of(tensor._data) is not None


def share_memory_(tensor: Tensor) -> Tensor:
    """Move ``tensor``'s values to shared memory, in place; returns ``tensor``
    (``Tensor.share_memory_``). A no-op when it is already shared, and for CUDA tensors.

    Raises:
        RuntimeError: ``tensor`` is a view of a tensor that is not shared (chainrule cannot
            move a view's memory without its base: share the base, then take the view).
    """
    arr = tensor._data
    if not isinstance(arr, np.ndarray) or segment_of(arr) is not None:
        return tensor
    view = tensor._view
    if view is not None:
        base = view.base
        # Only this view refers to the base (``view.base``, ``view.fw_base`` when it is the
        # base, ``base``, getrefcount's argument), as in ``cr.randn(6).view(2, 3)``: moving
        # the base's memory changes no other tensor.
        held = 3 + (getattr(view, "fw_base", None) is base)
        if sys.getrefcount(base) > held or not _share_with_base(tensor, base):
            raise RuntimeError(
                f"share_memory_(): this tensor (shape {tuple(arr.shape)}) is a view of another "
                f"tensor (its base, shape {tuple(base._data.shape)}, dtype {base._data.dtype}) "
                "that is not in shared memory and is used elsewhere; chainrule moves whole "
                "tensors only: call share_memory_() on the base first, then take the view again"
            )
        return tensor
    out, _ = shared_empty_like(arr)
    np.copyto(out, arr, casting="no")
    tensor._data = out
    return tensor


def module_share_memory(module: Any) -> Any:
    """Move every parameter, buffer and existing gradient of ``module`` to shared memory;
    returns ``module`` (``Module.share_memory``). Gradients created later (by a backward in
    a child process) are the process's own, as in PyTorch.

    The tensors not yet shared go into one segment together (each aligned to 64 bytes),
    rather than one segment each: a process then holds two descriptors for the whole model
    instead of two per tensor, which keeps large models under the open-file limit."""
    tensors: dict[int, Tensor] = {}
    for tensor in (*module.parameters(), *module.buffers()):
        for t in (tensor, tensor._grad):
            if t is not None:
                tensors.setdefault(id(t), t)
    share_together(list(tensors.values()))
    return module


def share_together(tensors: list[Tensor]) -> None:
    """Move ``tensors`` to shared memory, those that can be into a single segment (views
    of unshared tensors go through :func:`share_memory_` one by one)."""
    pending = []
    for t in tensors:
        if not isinstance(t._data, np.ndarray) or segment_of(t._data) is not None:
            continue
        if t._view is not None:
            share_memory_(t)
        else:
            pending.append(t)
    offsets, total = [], 0
    for t in pending:
        offsets.append(total)
        total += -(-t._data.nbytes // _ALIGN) * _ALIGN
    if not pending:
        return
    seg = allocate(total)
    for t, offset in zip(pending, offsets):
        arr = t._data
        out = np.ndarray(arr.shape, arr.dtype, seg.buffer, offset, _order_k_strides(arr))
        np.copyto(out, arr, casting="no")
        t._data = mark_shared(out)
