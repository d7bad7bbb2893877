"""``tensor_split``: a tensor cut along one dim into views, either into ``n`` nearly equal
pieces (the first ``size % n`` one longer) or at given indices (NumPy's ``array_split``).

Unlike ``split``/``chunk`` (``joining.py``, one multi-output op) each piece is an ordinary
basic-indexing view, as in PyTorch, whose ``tensor_split`` is composed of slices: the pieces
may be modified in place like any view.
"""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..qtypes import scalar_type_name
from ._util import norm_dim
from .binding import tensor_method
from .overload_errors import tensor_split_arguments
from .subscript_read import slice_along

__all__ = ["tensor_split"]


def _split_points(x: Tensor, d: int, indices_or_sections: Any) -> list:
    """The [start, end) bounds of each piece of ``tensor_split``."""
    arg = indices_or_sections
    if isinstance(arg, Tensor):
        if arg.dtype.kind not in "iu":
            raise RuntimeError(
                f"tensor_split expected tensor_indices_or_sections to have dtype of long, "
                f"but got {scalar_type_name(arg.dtype)}"
            )
        if arg.ndim > 1:
            raise RuntimeError(
                f"tensor_split expected tensor_indices_or_sections to be a zero-dimensional "
                f"or one-dimensional tensor, but got a tensor with {arg.ndim} dims"
            )
        arg = int(arg.item()) if arg.ndim == 0 else [int(i) for i in arg._data]
    size = x.shape[d]
    if isinstance(arg, int):
        n = arg
        if n <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {n}")
        q, r = divmod(size, n)
        bounds, start = [], 0
        for i in range(n):
            end = start + q + (1 if i < r else 0)
            bounds.append((start, end))
            start = end
        return bounds
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
    if not (  # one plain int or list of plain ints and a plain dim: nothing more to read
        type(dim) is int
        and sections is None
        and indices is None
        and tensor_indices_or_sections is None
        and (
            type(indices_or_sections) is int
            or type(indices_or_sections) in (list, tuple)
            and all(type(i) is int for i in indices_or_sections)
        )
    ):
        indices_or_sections, dim = tensor_split_arguments(
            input, indices_or_sections, dim, sections, indices, tensor_indices_or_sections
        )
    if input.ndim == 0:
        raise RuntimeError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
        )
    d = norm_dim(dim, input.ndim, "tensor_split")[0]
    return tuple(
        slice_along(input, d, s, max(s, e))  # at::slice, whole dims included
        for s, e in _split_points(input, d, indices_or_sections)
    )
