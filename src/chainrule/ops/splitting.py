"""``tensor_split``: a tensor cut along one dim into views, either into ``n`` nearly equal
pieces (the first ``size % n`` one longer) or at given indices (NumPy's ``array_split``).

Unlike ``split``/``chunk`` (``joining.py``, one multi-output op) each piece is an ordinary
basic-indexing view, as in PyTorch, whose ``tensor_split`` is composed of slices: the pieces
may be modified in place like any view.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ._util import index_int, norm_dim
from .binding import tensor_method
from .subscript_read import getitem

__all__ = ["tensor_split"]


def _split_points(x: Tensor, d: int, indices_or_sections: Any) -> list:
    """The [start, end) bounds of each piece of ``tensor_split``."""
    arg = indices_or_sections
    if isinstance(arg, Tensor):
        if arg.dtype.kind not in "iu":
            raise RuntimeError(
                f"tensor_split expected tensor_indices_or_sections to have dtype of long, "
                f"but got {arg.dtype}"
            )
        if arg.ndim > 1:
            raise RuntimeError(
                f"tensor_split expected tensor_indices_or_sections to be a zero-dimensional "
                f"or one-dimensional tensor, but got a tensor with {arg.ndim} dims"
            )
        arg = int(arg.item()) if arg.ndim == 0 else [int(i) for i in arg._data]
    size = x.shape[d]
    if isinstance(arg, (list, tuple)):  # one-element integer tensors in a list read as ints
        arg = [index_int(i) for i in arg]
    if isinstance(arg, (int, np.integer)) and not isinstance(arg, bool):
        n = int(arg)
        if n <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {n}")
        q, r = divmod(size, n)
        bounds, start = [], 0
        for i in range(n):
            end = start + q + (1 if i < r else 0)
            bounds.append((start, end))
            start = end
        return bounds
    if not isinstance(arg, (list, tuple)) or not all(
        isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in arg
    ):
        raise TypeError(
            f"tensor_split(): indices_or_sections must be an int, a sequence of ints or an "
            f"integer tensor, got {arg!r}"
        )
    cuts = [min(max(int(i) + size if i < 0 else int(i), 0), size) for i in arg]
    starts = [0] + cuts
    ends = cuts + [size]
    return list(zip(starts, ends))


@tensor_method(keywords="axis")
def tensor_split(
    input: Tensor,
    indices_or_sections: Any = None,
    dim: int = 0,
    *,
    sections: int | None = None,
    indices: Any = None,
    tensor_indices_or_sections: Any = None,
) -> tuple:
    """Split ``input`` along ``dim`` into views: ``n`` nearly equal pieces (the first
    ``size % n`` one longer) for an int, or at the given indices for a sequence.

    PyTorch also names the argument by what it is: ``sections=`` (an int), ``indices=``
    (a sequence) or ``tensor_indices_or_sections=`` (a 0-d or 1-d integer tensor); exactly one
    of the four is given.
    """
    if tensor_indices_or_sections is not None and not isinstance(
        tensor_indices_or_sections, Tensor
    ):
        raise TypeError(
            "tensor_split(): tensor_indices_or_sections must be a tensor, got "
            f"{type(tensor_indices_or_sections).__name__}"
        )
    given = [
        v
        for v in (indices_or_sections, sections, indices, tensor_indices_or_sections)
        if v is not None
    ]
    if len(given) != 1:
        raise TypeError(
            "tensor_split(): expected exactly one of 'indices_or_sections', 'sections', "
            f"'indices' and 'tensor_indices_or_sections', got {len(given)}"
        )
    if sections is not None and (isinstance(sections, bool) or not isinstance(sections, int)):
        raise TypeError(f"tensor_split(): sections must be an int, got {type(sections).__name__}")
    if indices is not None and isinstance(indices, int):
        raise TypeError("tensor_split(): indices must be a sequence of ints, got int")
    indices_or_sections = given[0]
    if input.ndim == 0:
        raise RuntimeError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
        )
    d = norm_dim(dim, input.ndim, "tensor_split")[0]
    pre = (slice(None),) * d
    return tuple(
        getitem(input, pre + (slice(s, max(s, e)),))
        for s, e in _split_points(input, d, indices_or_sections)
    )
