"""Laying a convolution's result out row-major in place, only where no alias can tell.

chainrule computes a convolution channel-major where PyTorch's result is row-major
(``_layout_marks.py``: the array is marked ``ROW_MAJOR``). Where the memory order itself is
seen (``view(n, -1)``, ``reshape``, ``contiguous()``, ``numpy()``), the tensor's memory is
laid out row-major once, in place (same values: the tensor's ``_data`` becomes a new
row-major array), as PyTorch's already is. That parts the tensor from anything still holding
the old memory, so it is done (:func:`relay_row_major`) only while the tensor is the one
holder a user can reach:

- the tensor is no view of another (``x._view is None``): a view shares its base's memory;
- its memory was not handed out (``autograd/shared_memory.is_shared``): ``numpy()``,
  ``from_numpy``, storages, shared memory, and a view made of the tensor (``record_view``
  marks the memory of a base that is not row-major);
- no other Tensor aliases it: what makes an alias a user sees (``detach()``, ``.data``,
  ``numpy()``, ``__array__``) calls :func:`before_alias` first while some mark is alive,
  so a convolution's result is laid out row-major *before* the alias is made: both then
  share PyTorch's row-major memory for good (and ``numpy()``'s array has PyTorch's
  strides). Other memory that is not row-major is marked shared instead, so that no mark
  it may take later (an in-place op's result) lets a relayout part it from the alias.
  (Until session 41 ``view`` also re-laid unmarked memory, for a convolution's input
  gradient, which now carries the mark: ``view`` of any other memory is as strict as
  PyTorch's.) A marked result that is row-major but for a size-1 dim's stride (a batch
  of one) takes a view with PyTorch's strides (no copy), so ``numpy()`` gives them.

:func:`relay_row_major` (``contiguous()``, ``reshape``, same-shape views) re-lays only
``ROW_MAJOR``-marked memory: any other array's strides are PyTorch's (``_layout_marks.py``),
which a relayout would change. While no mark is alive :func:`before_alias` is not called
(the callers test :data:`~chainrule._layout_marks.LAYOUT_MARKS` first): no memory is marked
then, so none is relaid. Aliases that chainrule makes internally (``cr.func`` transforms,
forward AD's duals, a module's ``Buffer``, ``nn.Parameter(t)``) do not call it; the
engine's detached ``autograd.grad`` results do (a marked gradient is laid out row-major
there: a copy, the one PyTorch's contiguous gradient needs no).
"""

from __future__ import annotations

from typing import Any

from ._layout_marks import LAYOUT_MARKS, ROW_MAJOR, layout_mark
from .autograd.shared_memory import is_shared, mark_shared
from .backend import get_array_module

__all__ = ["before_alias", "relay_row_major"]


def relay_row_major(x: Any) -> bool:
    """Lay the Tensor ``x``'s memory out row-major in place when it is a convolution's
    channel-major result (``ROW_MAJOR``-marked) that no alias can reach (see the module
    docstring). Returns whether it did; the values, ``stride()`` and ``is_contiguous()``
    (PyTorch's, row-major) are unchanged either way."""
    if not LAYOUT_MARKS or x._view is not None:
        return False
    arr = x._data
    # (a vmap per-sample array has no flags: its class answers; asking the instance raises
    # vmap's error. A meta array has its own)
    flags = arr.flags if hasattr(type(arr), "flags") else None
    if flags is None or flags.c_contiguous or layout_mark(arr) != ROW_MAJOR or is_shared(arr):
        return False
    x._data = get_array_module(arr).ascontiguousarray(arr)
    return True


def before_alias(x: Any) -> None:
    """Called while some mark is alive by what makes another holder of the Tensor ``x``'s
    memory (``detach()``, ``.data``, ``numpy()``, ``__array__``), before it does so: a
    convolution's result no alias reaches yet is laid out row-major in place (as
    :func:`relay_row_major`), so that ``x`` and the alias share PyTorch's row-major memory;
    any other memory that is not row-major is marked shared, so that no later relayout of
    ``x`` or of the alias parts them. A view needs neither: the memory of a base that is
    not row-major is marked shared when the view is made (``record_view``)."""
    if x._view is not None:
        return
    arr = x._data
    # (a vmap per-sample array has no flags: its class answers; asking the instance raises
    # vmap's error. A meta array has its own)
    flags = arr.flags if hasattr(type(arr), "flags") else None
    if flags is None:
        return
    if flags.c_contiguous:  # a size-1 dim's stride aside, row-major: only that one differs
        if layout_mark(arr) == ROW_MAJOR:  # (a batch of one's gradient: (C, 1, H, W) memory)
            x._data = arr.reshape(-1).reshape(arr.shape)  # the same memory, PyTorch's strides
        return
    if layout_mark(arr) == ROW_MAJOR and not is_shared(arr):
        x._data = get_array_module(arr).ascontiguousarray(arr)
    else:
        mark_shared(arr)
