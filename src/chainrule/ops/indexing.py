"""Indexing ops of PyTorch's API: one_hot and nonzero here; index_put, masked_fill/select
re-exported.

The op families that grew out of this module live beside it: ``index_put``/``index_put_``
in ``index_put.py``, ``masked_fill``/``masked_select`` in ``masking.py``; the subscript
operators ``x[idx]`` / ``x[idx] = v`` and their Functions (``GetItem``, ``IndexAdd``,
``IndexPut``) in ``subscript_read.py`` / ``subscript_write.py``, the layer these ops are
built on. All are re-exported here so that ``chainrule.ops.indexing`` keeps offering every
name it had (``ops/__init__.py`` binds the ops of this module's ``__all__``). Dim-wise
gather/scatter/index_select are in ``gather_scatter.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout import is_vmap_batched
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..creation import arange
from ..float8 import refuse as _refuse_float8
from ..meta.array import MetaArray
from ..meta.results import meta_one_hot
from ._util import as_tensor
from .binding import tensor_method
from .index_put import index_put, index_put_
from .masking import masked_fill, masked_select, refuse_grad_into_integer  # noqa: F401
from .number_arguments import parser_int

# Only re-exported: ``ops/__init__.py``, ``complex_support.py`` and ``func/`` reach the
# subscript layer through this module's import path.
from .subscript_read import (
    GetItem,  # noqa: F401
    IndexAdd,  # noqa: F401 - complex_support.py reads it here
    getitem,  # noqa: F401 - x[i] (ops/__init__.py) and func/_dispatch.py read it here
)
from .subscript_write import IndexPut, setitem  # noqa: F401

# ``index_put_`` is a Tensor-only method (bound from ``_TENSOR_ONLY`` in ``ops/__init__.py``);
# ``getitem``/``setitem`` (``x[i]``, ``x[i] = v``) are bound there as operators.
__all__ = [
    "index_put",
    "index_put_",
    "masked_fill",
    "masked_select",
    "nonzero",
    "one_hot",
]


class _OneHotIndexTypeError(TypeError, RuntimeError):
    """``one_hot`` of a non-integer index: PyTorch raises RuntimeError ("one_hot is only
    applicable to index tensor of type LongTensor"); chainrule raised TypeError: this is
    both, so code written for either keeps catching it."""


class _OneHotClassError(ValueError, RuntimeError):
    """``one_hot`` class values out of range, or no classes to infer: PyTorch's RuntimeError,
    and the ValueError chainrule raised before."""


def one_hot(input: Any, num_classes: int = -1) -> Tensor:  # noqa: A002 - PyTorch's keyword
    """int64 one-hot encoding with a new last dimension of size ``num_classes``.

    Raises (RuntimeError, as PyTorch; also TypeError or ValueError): a non-int64 index, a
    negative class value, one of ``num_classes`` or more, or an empty index with
    ``num_classes=-1`` (nothing to infer the number of classes from)."""
    if type(num_classes) is not int:
        num_classes = parser_int("one_hot", "num_classes", 2, num_classes)
    idx = as_tensor(input)
    if idx._data.dtype != np.int64:  # PyTorch takes int64 indices only (not int32, uint8)
        raise _OneHotIndexTypeError(
            "one_hot is only applicable to index tensor of type LongTensor: expects an int64 "
            f"tensor of class indices, got {idx.dtype}"
        )
    if type(idx._data) is MetaArray:  # (before the vmap marker, which meta arrays carry too)
        return meta_one_hot(idx._data, num_classes)
    if getattr(type(idx._data), "vmap_raw_array", False):  # labels batched by cr.func.vmap
        return _one_hot_batched(idx, num_classes)
    xp = get_array_module(idx._data)
    if num_classes < 0:
        if not idx._data.size:
            raise _OneHotClassError(
                "one_hot: Can not infer total number of classes from empty tensor; pass num_classes"
            )
        num_classes = int(idx._data.max()) + 1
    if idx._data.size and idx._data.min() < 0:
        raise _OneHotClassError(
            "Class values must be non-negative."  # PyTorch's text
        )
    if idx._data.size and idx._data.max() >= num_classes:
        raise _OneHotClassError(
            "Class values must be smaller than num_classes."  # PyTorch's text
        )
    # C order whatever the index's layout (NumPy's astype would keep it): PyTorch's result
    # is a fresh contiguous tensor
    out = (idx._data[..., None] == xp.arange(num_classes)).astype(np.int64, order="C")
    return Tensor._make(out, False, None, 0)


def _one_hot_batched(idx: Tensor, num_classes: int) -> Tensor:
    """``one_hot`` of labels batched by ``cr.func.vmap``, with PyTorch's vmap semantics:
    ``num_classes`` must be given (it cannot depend on the samples' values), and labels
    outside ``[0, num_classes)`` give all-zero rows rather than an error (PyTorch's vmap
    rule compares the labels with ``arange(num_classes)`` and checks no value)."""
    if num_classes <= 0:
        raise RuntimeError(
            "When vmap-ing torch.nn.functional.one_hot, please provide an explicit positive "
            f"num_classes argument.\n(got num_classes={num_classes})"
        )
    classes = arange(num_classes, dtype=idx.dtype)
    # 1 - min(|label - class|, 1), with labels first clamped to [-1, num_classes] (no
    # overflow): integer arithmetic, which every level of a nested vmap batches
    gap = idx.clamp(-1, num_classes).unsqueeze(-1).sub(classes).abs().clamp(max=1)
    return gap.neg().add(1)


@tensor_method(keywords=True)
def nonzero(input: Tensor, as_tuple: bool = False) -> Any:  # Tensor, or a tuple of them
    """The indices of ``input``'s non-zero elements: an int64 ``(count, ndim)`` tensor, one
    row per element in row-major order, or with ``as_tuple`` one 1-d tensor per dim.

    The result is column-major (strides ``(1, count)``), as PyTorch's: each dim's indices
    are one stride-1 column, and the ``as_tuple`` tensors are those columns. A 0-d input
    counts as one element with no dims: ``(1, 0)`` (or ``(0, 0)`` when it is zero), and
    ``as_tuple`` gives ``(tensor([0]),)`` (or an empty one)."""
    _refuse_float8("nonzero_count_cpu", input)
    if is_vmap_batched(input._data):  # cr.func.vmap: PyTorch refuses
        from ..func._logical import dynamic_shape  # noqa: PLC0415 - func imports the ops

        raise dynamic_shape("aten::nonzero")
    arr = input._data
    xp = get_array_module(arr)
    if arr.ndim == 0:
        hit = int(bool(arr))
        if as_tuple:
            return (Tensor._make(xp.zeros(hit, np.int64), False, None, 0),)
        return Tensor._make(xp.zeros((hit, 0), np.int64), False, None, 0)
    cols = xp.stack(xp.nonzero(arr)).astype(np.int64, copy=False)  # (ndim, count)
    if as_tuple:
        return tuple(Tensor._make(c, False, None, 0) for c in cols)
    return Tensor._make(cols.T, False, None, 0)
