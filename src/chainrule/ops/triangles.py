"""Triangles of matrices: ``tril``/``triu`` (and in place), ``tril_indices``/``triu_indices``.

``tril``/``triu`` are a ``where`` with a triangular mask, recorded under PyTorch's node names
(``TrilBackward0``/``TriuBackward0``, listing the input only); the index functions build
(2, N) index tensors (no gradient).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.saved_fields import given, given_value  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..creation_options import check_layout, check_pin_memory
from ._result_layout import has_own_layout
from .binary import Where, where_as
from .binding import tensor_method
from .inplace import make_inplace
from .number_arguments import parser_int
from .shape import contiguous

__all__ = ["tril", "tril_", "tril_indices", "triu", "triu_", "triu_indices"]


def _tri_indices(
    op: str, row: int, col: int, offset: int, dtype: Any, device: Any, lower: bool
) -> Tensor:
    for name, v in (("row", row), ("col", col)):
        if not isinstance(v, (int, np.integer)) or v < 0:
            raise RuntimeError(f"{op}: {name} must be a non-negative int, got {v!r}")
    r, c = np.indices((row, col))
    keep = (c - r <= offset) if lower else (c - r >= offset)
    out = np.stack([r[keep], c[keep]])
    dt = np.dtype(dtype) if dtype is not None else np.dtype(np.int64)
    if dt not in (np.int32, np.int64):  # PyTorch's kernels: int32 and int64 only
        raise NotImplementedError(f'"{op}" not implemented for dtype {dtype}; use int64 or int32')
    t = Tensor._new(out.astype(dt))
    return t if device is None else t.to(device)


def _tri_ints(op: str, row: Any, col: Any, offset: Any) -> tuple[int, int, int]:
    """PyTorch's parser on ``tril_indices``/``triu_indices``' ints (a NumPy integer, an
    integer 0-d tensor; its TypeError for anything else)."""
    return (
        parser_int(op, "row", 1, row),
        parser_int(op, "col", 2, col),
        parser_int(op, "offset", 3, offset),
    )


def tril_indices(
    row: int,
    col: int,
    offset: int = 0,
    *,
    dtype: Any = None,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """(2, N) row/column indices of the lower triangle (with ``offset``), row-major order."""
    if type(row) is not int or type(col) is not int or type(offset) is not int:
        row, col, offset = _tri_ints("tril_indices", row, col, offset)
    check_pin_memory("tril_indices", pin_memory)
    check_layout("tril_indices", layout)  # strided only
    return _tri_indices("tril_indices", row, col, int(offset), dtype, device, True)


def triu_indices(
    row: int,
    col: int,
    offset: int = 0,
    *,
    dtype: Any = None,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """(2, N) row/column indices of the upper triangle (with ``offset``), row-major order."""
    if type(row) is not int or type(col) is not int or type(offset) is not int:
        row, col, offset = _tri_ints("triu_indices", row, col, offset)
    check_pin_memory("triu_indices", pin_memory)
    check_layout("triu_indices", layout)  # strided only
    return _tri_indices("triu_indices", row, col, int(offset), dtype, device, False)


def _row_major(x: Tensor) -> Tensor:
    """``x`` row-major, as PyTorch's ``tril``/``triu`` results are whatever the input."""
    return contiguous(x) if has_own_layout(x._data) else x


def _tri_mask(x: Tensor, diagonal: int, upper: bool) -> Tensor:
    if x.ndim < 2:
        raise RuntimeError(
            f"{'triu' if upper else 'tril'}: input tensor must have at least 2 "
            f"dimensions, got shape {tuple(x.shape)}"
        )
    xp = get_array_module(x._data)
    ones = xp.ones((x.shape[-2], x.shape[-1]), bool)
    m = xp.triu(ones, diagonal) if upper else xp.tril(ones, diagonal)
    return Tensor._make(m, False, None, 0)


def _zero(x: Tensor) -> bool | int:
    """The fill of the zeroed triangle: False for a bool tensor (0 would promote it to
    int64; PyTorch keeps bool, as causal masks ``tril(ones(n, n, dtype=bool))`` need)."""
    return False if x.dtype == np.bool_ else 0


class Triu(Where):
    """``where(upper mask, x, 0)`` under PyTorch's node, which lists ``x`` only."""

    node_name = ("TriuBackward0", (0,))
    saved_fields = {"diagonal": lambda n: given_value(n, "diagonal", 0)}  # grad_fn._saved_*


class Tril(Where):
    """``where(lower mask, x, 0)`` under PyTorch's node, which lists ``x`` only."""

    node_name = ("TrilBackward0", (0,))
    saved_fields = {"diagonal": lambda n: given_value(n, "diagonal", 0)}  # grad_fn._saved_*


@tensor_method(keywords=True)
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Upper triangle of the last two dims (the rest zeroed); differentiable."""
    if type(diagonal) is not int:
        diagonal = parser_int("triu", "diagonal", 2, diagonal)
    out = where_as(Triu, _tri_mask(input, diagonal, True), input, _zero(input))
    return _row_major(given(out, diagonal=diagonal))  # grad_fn._saved_diagonal


@tensor_method(keywords=True)
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Lower triangle of the last two dims (the rest zeroed); differentiable."""
    if type(diagonal) is not int:
        diagonal = parser_int("tril", "diagonal", 2, diagonal)
    out = where_as(Tril, _tri_mask(input, diagonal, False), input, _zero(input))
    return _row_major(given(out, diagonal=diagonal))  # grad_fn._saved_diagonal


tril_ = make_inplace("tril_", tril)
triu_ = make_inplace("triu_", triu)
