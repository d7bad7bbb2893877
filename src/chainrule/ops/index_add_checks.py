"""``index_add``'s argument checks, in PyTorch's order and words (its ``index_func_meta_impl``
and CPU kernel, torch 2.13), plain and under ``cr.func.vmap``.

PyTorch checks, in order: the dim; that the index is a vector (``IndexError``); its dtype
(int32/int64); that self and source share a dtype; that dim exists in source; that the
index has as many elements as ``source.size(dim)`` (a 0-d source counts as one: with more
indices PyTorch fails reading ``source.size(0)``, "Dimension specified as 0 but tensor has
no dimensions"); that self and source have the same shape outside dim; then, when self has
elements, the index values: along the first or last dim of a tensor of two or more dims
PyTorch names the first bad value, its dim and size (its scatter_add path); along a middle
dim, or of a 0-d or 1-d self, it says only "index out of range in self" (``IndexError``).

Under vmap with an unbatched index (PyTorch's batch rule gives self and source every level's
batch dim in front and calls the op on those physical tensors) the words name the physical
dim and shapes: ``prefix`` holds the sizes of the levels batching self or source
(outermost first).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..qtypes import scalar_type_name
from ._tensor_args import tensor_operand
from ._util import no_dims_error, norm_dim, torch_words
from .gather_scatter_checks import IndexOutOfBounds, first_bad_index

__all__ = ["check_alpha", "check_index_add"]

# the C++ type names in PyTorch's "value cannot be converted" for index_add's alpha
_C_TYPE = {
    "float64": "double",
    "float32": "float",
    "float16": "c10::Half",
    "bfloat16": "c10::BFloat16",
    "int64": "int64_t",
    "int32": "int",
    "int16": "int16_t",
    "int8": "int8_t",
    "uint8": "uint8_t",
}


def _words(err: BaseException) -> BaseException:
    return torch_words(err)


def check_index_add(x: Tensor, dim: int, index: Any, source: Any, prefix: tuple = ()) -> tuple:
    """``(d, index as a 1-d int64 array, source)`` for ``x.index_add(dim, index, source)``,
    or PyTorch's error. ``prefix``: the vmap batch sizes in front of the physical shapes
    (``()`` outside vmap; the index is then not batched)."""
    d = norm_dim(dim, x.ndim, "index_add")[0]
    idx = index if isinstance(index, Tensor) else tensor_operand("index_add", "index", 3, index)
    src = source if isinstance(source, Tensor) else tensor_operand("index_add", "source", 4, source)
    if idx.ndim > 1:
        raise _words(
            IndexError(
                f"index_add_(): Index is supposed to be a vector, but got dim: {idx.ndim} with "
                f"type: {scalar_type_name(idx._data.dtype)} and size: {list(idx.shape)}"
            )
        )
    if idx._data.dtype not in (np.int32, np.int64):
        raise _words(
            RuntimeError(
                "index_add_(): Expected dtype int32/int64 for index but got: "
                f"{scalar_type_name(idx._data.dtype)}"
            )
        )
    if src._data.dtype != x._data.dtype:
        raise _words(
            RuntimeError(
                f"index_add_(): self ({scalar_type_name(x._data.dtype)}) and source "
                f"({scalar_type_name(src._data.dtype)}) must have the same scalar type"
            )
        )
    k = len(prefix)
    pd = d + k  # the physical dim PyTorch's words name
    xs, ss = [*prefix, *x.shape], [*prefix, *src.shape]
    if not (pd == 0 or pd < len(ss)):
        raise _words(
            RuntimeError(
                f"index_add_(): Indexing dim {pd} is out of bounds of the source tensor with "
                f"dim {len(ss)}"
            )
        )
    n = idx.numel()
    if n != (ss[pd] if ss else 1):
        if not ss:  # (PyTorch's message reads source.size(0) of a 0-d source)
            raise no_dims_error(pd)
        raise _words(
            RuntimeError(
                f"index_add_(): Number of indices ({n}) should be equal to source.size(dim): "
                f"({ss[pd]}), for dim: {pd}"
            )
        )
    if len(xs) != len(ss) or any(a != b for i, (a, b) in enumerate(zip(xs, ss)) if i != pd):
        raise _words(
            RuntimeError(
                "source tensor shape must match self tensor shape, excluding the specified "
                f"dimension. Got self.shape = {xs} source.shape = {ss}"
            )
        )
    arr = idx._data.reshape(-1).astype(np.int64)
    # PyTorch reads no index value when self is empty (it returns self), unless self is
    # 1-d: its vector path checks them
    if x.numel() > 0 or len(xs) == 1:
        _check_values(arr, xs, pd)
    return d, arr, src


def _check_values(arr: Any, xs: list, pd: int) -> None:
    """The first index value outside ``[0, size)`` in PyTorch's words."""
    size = xs[pd] if xs else 1
    bad = first_bad_index(arr, size)  # (in the index's order: the first is named)
    if bad is None:
        return
    # (IndexOutOfBounds: both an IndexError and a RuntimeError, as PyTorch's kernel path, and
    # so its type, also depends on the layout: a strided view takes its slice path)
    if len(xs) <= 1 or 0 < pd < len(xs) - 1:  # PyTorch's vector path, and its slice path
        raise _words(IndexOutOfBounds("index out of range in self"))
    raise _words(
        IndexOutOfBounds(f"index {bad} is out of bounds for dimension {pd} with size {size}")
    )


def check_alpha(x: Tensor, alpha: Any) -> Any:
    """``alpha`` for a real ``x``: a complex number of imaginary part 0 as its real part;
    any other complex number refused in PyTorch's words (not cast with its imaginary part
    dropped)."""
    if isinstance(alpha, (complex, np.complexfloating)) and x._data.dtype.kind not in "cb":
        if alpha.imag != 0:
            name = _C_TYPE.get(x._data.dtype.name, x._data.dtype.name)
            raise _words(RuntimeError(f"value cannot be converted to type {name} without overflow"))
        return alpha.real
    return alpha
