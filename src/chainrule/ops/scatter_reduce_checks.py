"""``scatter_reduce``'s argument checks, in PyTorch's order and words (torch 2.13's
``scatter_meta_impl``, ``scatter_shape_check`` and CPU scatter kernel), plain and under
``cr.func.vmap``.

PyTorch checks, in order: the dim; the index dtype (int32/int64); that src has self's dtype;
then, unless the index is empty, that index and self have as many dims; that the index is
no larger than self outside dim and no larger than src in every dim (one message naming the
three shapes; a src of fewer dims fails reading its size: "Dimension out of range"); then
(after the kernel's dtype support, :func:`check_values`'s caller) that index and src have as
many dims, and the index values, the first bad one (in the index's order) named.

Under vmap PyTorch's batch rule gives self, index and src every level's batch dim in front
and calls the op on those physical tensors: the words name the physical dim and shapes
(``levels``, outermost first; the index values read in that physical order).
"""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ._tensor_args import tensor_operand
from ._util import as_tensor, dim_range_error, norm_dim
from .gather_scatter_checks import IndexOutOfBounds, first_bad_index

__all__ = ["check_shapes", "check_values"]

_INDEX_DTYPES = ("int32", "int64")


def _nonempty(shape: list, i: int) -> int:
    """PyTorch's ``ensure_nonempty_size``: a 0-d tensor's size is 1 in every dim."""
    return shape[i] if shape else 1


def check_shapes(
    x: Tensor, dim: int, index: Any, src: Any, prefix: tuple = (), op: str = "scatter_reduce"
) -> tuple:
    """``(d, index, src)`` as tensors, or PyTorch's error for the dims, dtypes and shapes.
    ``prefix``: the vmap batch sizes in front of the physical shapes (``()`` outside vmap);
    ``op``: the op a non-tensor index names (``scatter`` and ``scatter_add`` share these
    checks, PyTorch's ``scatter_meta_impl``)."""
    idx = index if isinstance(index, Tensor) else tensor_operand(op, "index", 3, index)
    d = norm_dim(dim, x.ndim, op)[0]
    if idx._data.dtype.name not in _INDEX_DTYPES:
        raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
    s = as_tensor(src)
    if s.dtype != x.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if idx.numel() == 0:
        return d, idx, s
    if max(idx.ndim, 1) != max(x.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    pd = d + len(prefix)
    xs, js, ss = ([*prefix, *t.shape] if t.ndim else [] for t in (x, idx, s))
    rank = max(len(xs), 1)
    wrong = any(i != pd and _nonempty(js, i) > _nonempty(xs, i) for i in range(rank))
    if not wrong and ss:  # (a 0-d src is not compared: the kernel's rank check refuses it)
        for i in range(rank):
            if i >= len(ss):  # (PyTorch's message reads src.size(i))
                raise dim_range_error(i, len(ss))
            wrong = wrong or _nonempty(js, i) > _nonempty(ss, i)
    if wrong:
        raise RuntimeError(
            f"Expected index {js} to be no larger than self {xs} apart from dimension {pd} and "
            f"to be no larger size than src {ss}"
        )
    return d, idx, s


def check_values(x: Tensor, d: int, idx: Tensor, s: Tensor, levels: list, full: Any) -> None:
    """PyTorch's kernel checks: index and src of as many dims, then every index value in
    ``[0, size)`` along ``d`` (the physical dim under vmap: ``levels`` the batching levels,
    ``full(idx, levels)`` the index's physical values)."""
    if idx.numel() == 0:
        return
    if max(idx.ndim, 1) != max(s.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    arr = (full(idx, levels) if levels else idx._data).reshape(-1)
    size = x.shape[d] if x.ndim else 1
    bad = first_bad_index(arr, size)  # (in the index's order: the first is named)
    if bad is None:
        return
    raise IndexOutOfBounds(
        f"index {bad} is out of bounds for dimension {d + len(levels)} with size {size}"
    )
