"""Joining, splitting and shape utilities PyTorch has at its top level.

Everything here is composed of the differentiable primitives of ``joining.py``,
``splitting.py`` and ``views.py`` (``cat``, :class:`~.joining.Split`, ``tensor_split``,
``reshape``, ``broadcast_to``), so gradients, forward mode and double backward come with
them:

- ``hstack``/``vstack``/``row_stack``/``dstack``/``column_stack``: ``cat`` after bringing
  every input to at least 1/2/3 dims (``atleast_1d``/``atleast_2d``/``atleast_3d``, views);
- ``concat``: PyTorch's other name for ``cat``;
- ``broadcast_tensors``/``broadcast_shapes``: NumPy's broadcasting rule, as views;
- ``block_diag``: one row of blocks per input (zeros left and right), rows joined by ``cat``;
- ``hsplit``/``vsplit``/``dsplit``: ``tensor_split`` along dim 1 (0 for 1-d)/0/2, which
  with an int requires equal pieces;
- ``split_with_sizes`` and the ``unsafe_*`` split forms: one :class:`~.joining.Split`
  (backward: one concatenation); the ``unsafe_*`` pieces share the input's memory but, as
  PyTorch's, are not tracked as views, so they may be modified in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.tensor import Tensor
from ..autograd.view_base import mark_multi_output
from ..backend import get_array_module
from ..meta.array import follow
from ..size import Size
from ._tensor_args import not_tensor_element, not_tensor_list
from ._util import NAMED_ERRORS, constant, index_int, lead_with, norm_dim
from .binding import numpy_keywords, tensor_method
from .joining import Split, cat
from .splitting import tensor_split
from .views import broadcast_to, reshape

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "block_diag",
    "broadcast_shapes",
    "broadcast_tensors",
    "column_stack",
    "concat",
    "dsplit",
    "dstack",
    "hsplit",
    "hstack",
    "row_stack",
    "split_with_sizes",
    "unsafe_chunk",
    "unsafe_split",
    "unsafe_split_with_sizes",
    "vsplit",
    "vstack",
]


@numpy_keywords
def concat(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """PyTorch's other name for ``cat`` (errors name ``concat``, the function called)."""
    try:
        return cat(tensors, dim)
    except NAMED_ERRORS as err:
        if type(err) is TypeError:  # PyTorch's parser: the element's error as it is
            text = str(err)
            if text.startswith("cat()"):
                raise TypeError("concat" + text[3:]) from None
            raise
        lead_with("concat", err)
        raise


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _tensor_list(op: str, tensors: Any) -> list:
    """``tensors`` (a sequence of Tensors) as a list; PyTorch's TypeError otherwise."""
    if not isinstance(tensors, (list, tuple)):
        raise not_tensor_list(op, tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise not_tensor_element(tensors, t)
    return list(tensors)


def _at_least(tensors: tuple, ndim: int, fn: Any) -> Any:
    """PyTorch's variadic convention: one Tensor in, one out; several Tensors or one
    sequence of them in, a tuple out."""
    op = f"atleast_{ndim}d"
    if len(tensors) == 1 and isinstance(tensors[0], Tensor):
        return fn(tensors[0])
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return tuple(fn(t) for t in _tensor_list(op, tensors))


def _1d(x: Tensor) -> Tensor:
    return reshape(x, (1,)) if x.ndim == 0 else x


def _2d(x: Tensor) -> Tensor:
    if x.ndim == 0:
        return reshape(x, (1, 1))
    return reshape(x, (1, x.shape[0])) if x.ndim == 1 else x


def _3d(x: Tensor) -> Tensor:
    if x.ndim == 0:
        return reshape(x, (1, 1, 1))
    if x.ndim == 1:
        return reshape(x, (1, x.shape[0], 1))
    return reshape(x, tuple(x.shape) + (1,)) if x.ndim == 2 else x


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor with at least 1 dim (a 0-d tensor becomes shape (1,), a view); a tensor
    that already has one is returned as it is."""
    return _at_least(tensors, 1, _1d)


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor with at least 2 dims: () -> (1, 1), (n,) -> (1, n) (views)."""
    return _at_least(tensors, 2, _2d)


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor with at least 3 dims: () -> (1, 1, 1), (n,) -> (1, n, 1),
    (m, n) -> (m, n, 1) (views)."""
    return _at_least(tensors, 3, _3d)


def _join(op: str, tensors: Any, shape: Any, dim: Any) -> Tensor:
    """``cat`` of ``shape(t)`` for each tensor along ``dim(first reshaped tensor)``, with
    errors that name ``op``."""
    ts = _tensor_list(op, tensors)
    if not ts:
        raise RuntimeError(f"{op} expects a non-empty TensorList")
    ts = [shape(t) for t in ts]
    try:
        return cat(ts, dim(ts[0]))
    except NAMED_ERRORS as err:
        lead_with(op, err)
        raise


@numpy_keywords
def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join horizontally: along dim 0 for 1-d inputs (0-d become 1-d), else along dim 1."""
    return _join("hstack", tensors, _1d, lambda t: 0 if t.ndim == 1 else 1)


@numpy_keywords
def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join vertically: ``cat`` along dim 0 after ``atleast_2d`` ((n,) becomes a row)."""
    return _join("vstack", tensors, _2d, lambda t: 0)


@numpy_keywords
def row_stack(tensors: Sequence[Tensor]) -> Tensor:
    """PyTorch's other name for :func:`vstack`."""
    return _join("row_stack", tensors, _2d, lambda t: 0)


@numpy_keywords
def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join depth-wise: ``cat`` along dim 2 after ``atleast_3d``."""
    return _join("dstack", tensors, _3d, lambda t: 2)


@numpy_keywords
def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Join as columns: 0-d and 1-d inputs become (n, 1) columns, then ``cat`` along dim 1."""
    return _join(
        "column_stack",
        tensors,
        lambda t: reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t,
        lambda t: 1,
    )


def broadcast_shapes(*shapes: Any) -> Size:
    """The shape (a ``Size``) that all ``shapes`` (ints or sequences of ints) broadcast to,
    by NumPy's rule."""
    norm = []
    for s in shapes:
        s = (s,) if _is_int(s) else s
        if not isinstance(s, (list, tuple)) or not all(_is_int(d) for d in s):
            raise TypeError(
                f"broadcast_shapes(): expected each shape to be an int or a sequence of "
                f"ints, got {s!r}"
            )
        if any(d < 0 for d in s):
            raise ValueError(
                f"broadcast_shapes(): attempting to broadcast a dimension with negative "
                f"length in shape {tuple(s)}"
            )
        norm.append(tuple(int(d) for d in s))
    out: list = []
    for i, s in enumerate(norm):
        before = tuple(out)
        out = [1] * (len(s) - len(out)) + out
        for k in range(1, len(s) + 1):
            a, b = out[-k], s[-k]
            if a == 1:
                out[-k] = b
            elif b not in (1, a):
                raise RuntimeError(
                    f"broadcast_shapes(): shape {s} (argument {i}) does not broadcast with "
                    f"{before}: size {b} against {a} at dim {-k}; sizes must be equal or 1"
                )
    return Size(out)


def broadcast_tensors(*tensors: Tensor) -> tuple:
    """Every tensor expanded to the common broadcast shape (views)."""
    ts = _tensor_list("broadcast_tensors", tensors)
    try:
        shape = broadcast_shapes(*(tuple(t.shape) for t in ts))
    except RuntimeError:
        raise _infer_size_error([tuple(t.shape) for t in ts]) from None
    return tuple(t if tuple(t.shape) == shape else broadcast_to(t, shape) for t in ts)


def _infer_size_error(shapes: list) -> RuntimeError:
    """PyTorch's ``infer_size`` words for shapes that do not broadcast: the shape broadcast
    so far (tensor a) against each next one (tensor b), dims compared from the last, the
    failing one numbered in the result."""
    a = shapes[0]
    for b in shapes[1:]:
        n, out = max(len(a), len(b)), []
        for i in range(n - 1, -1, -1):
            sa = a[i - n + len(a)] if i - n + len(a) >= 0 else 1
            sb = b[i - n + len(b)] if i - n + len(b) >= 0 else 1
            if sa != sb and sa != 1 and sb != 1:
                return RuntimeError(
                    f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
                    f"non-singleton dimension {i}"
                )
            out.append(sb if sa == 1 else sa)
        a = tuple(reversed(out))
    return RuntimeError(f"broadcast_tensors(): the shapes {shapes} do not broadcast together")


def block_diag(*tensors: Tensor) -> Tensor:
    """A block-diagonal matrix with the inputs as blocks (0-d: 1x1, 1-d: a 1xn row), zeros
    elsewhere, in the promoted dtype. Composed: each block row is ``cat`` of zeros, the
    block and zeros; the rows are joined by ``cat`` (gradient: the blocks of the output's)."""
    ts = _tensor_list("block_diag", tensors)
    for i, t in enumerate(ts):
        if t.ndim > 2:
            raise RuntimeError(
                f"block_diag: input tensors must have 2 or fewer dimensions; input {i} has "
                f"{t.ndim} dimensions"
            )
    ts = [_2d(t) for t in ts]
    target = dtypes.get_default_dtype()
    if ts:
        target = ts[0].dtype
        for t in ts[1:]:
            target = dtypes.promote_types(target, t.dtype)
    xp = get_array_module(*(t._data for t in ts)) if ts else np
    if not ts:
        return constant(xp.zeros((1, 0), target))
    width = sum(t.shape[1] for t in ts)
    rows, left = [], 0
    for t in ts:
        r, c = t.shape
        t = t if t.dtype == target else t.to(target)
        # (zeros on t's device: meta beside a meta t)
        parts = [constant(follow(xp.zeros((r, left), target), t._data)), t]
        parts.append(constant(follow(xp.zeros((r, width - left - c), target), t._data)))
        rows.append(cat(parts, 1))
        left += c
    return cat(rows, 0)


def _check_sections(op: str, x: Tensor, d: int, indices_or_sections: Any) -> None:
    """An int must be a positive divisor of the size (PyTorch's rule for h/v/dsplit)."""
    arg = indices_or_sections
    if _is_int(arg):
        n = x.shape[d]
        if arg == 0 or n % int(arg) != 0:
            raise RuntimeError(
                f"{op} attempted to split along dimension {d}, but the size of the "
                f"dimension {n} is not divisible by the split_size {arg}!"
            )
    elif not isinstance(arg, (list, tuple)) or not all(_is_int(i) for i in arg):
        raise TypeError(
            f"{op}(): indices_or_sections must be an int or a sequence of ints, got {arg!r}"
        )


def _dir_split(op: str, x: Tensor, indices_or_sections: Any, min_dims: int, dim: int) -> tuple:
    if x.ndim < min_dims:
        raise RuntimeError(
            f"{op} requires a tensor with at least {min_dims} dimension"
            f"{'s' if min_dims > 1 else ''}, but got a tensor with {x.ndim} dimensions!"
        )
    _check_sections(op, x, dim, indices_or_sections)
    try:
        return tensor_split(x, indices_or_sections, dim)
    except NAMED_ERRORS as err:
        lead_with(op, err)
        raise


def _one_split_arg(op: str, indices_or_sections: Any, sections: Any, indices: Any) -> Any:
    """The one split argument given: positional, or by PyTorch's keywords ``sections=`` (an
    int) / ``indices=`` (a sequence)."""
    given = [a for a in (indices_or_sections, sections, indices) if a is not None]
    if len(given) != 1:
        raise TypeError(
            f"{op}() takes exactly one of indices_or_sections, sections= or indices=, got "
            f"{len(given)}"
        )
    return given[0]


@tensor_method
def hsplit(
    input: Tensor, indices_or_sections: Any = None, *, sections: Any = None, indices: Any = None
) -> tuple:
    """Split horizontally (``tensor_split`` along dim 1, or dim 0 of a 1-d tensor): into
    ``n`` equal pieces (``n`` must divide the size) or at the given indices (views)."""
    arg = _one_split_arg("hsplit", indices_or_sections, sections, indices)
    return _dir_split("hsplit", input, arg, 1, 1 if input.ndim > 1 else 0)


@tensor_method
def vsplit(
    input: Tensor, indices_or_sections: Any = None, *, sections: Any = None, indices: Any = None
) -> tuple:
    """Split vertically (``tensor_split`` along dim 0 of a tensor with at least 2 dims)."""
    arg = _one_split_arg("vsplit", indices_or_sections, sections, indices)
    return _dir_split("vsplit", input, arg, 2, 0)


@tensor_method
def dsplit(
    input: Tensor, indices_or_sections: Any = None, *, sections: Any = None, indices: Any = None
) -> tuple:
    """Split depth-wise (``tensor_split`` along dim 2 of a tensor with at least 3 dims)."""
    arg = _one_split_arg("dsplit", indices_or_sections, sections, indices)
    return _dir_split("dsplit", input, arg, 3, 2)


def _sizes_split(op: str, x: Tensor, split_sizes: Any, dim: int, kind: str) -> tuple:
    if isinstance(split_sizes, (list, tuple)):
        split_sizes = [index_int(s) for s in split_sizes]
    if not isinstance(split_sizes, (list, tuple)) or not all(_is_int(s) for s in split_sizes):
        raise TypeError(
            f"{op}(): argument 'split_sizes' must be a sequence of ints, got {split_sizes!r}"
        )
    if x.ndim == 0:
        raise RuntimeError(f"{op}: expects at least a 1-dimensional tensor")
    d = norm_dim(dim, x.ndim, op)[0]
    sizes = [int(s) for s in split_sizes]
    if any(s < 0 for s in sizes):
        raise RuntimeError(
            f"{op} expects split_sizes have only non-negative entries, but got split_sizes={sizes}"
        )
    if sum(sizes) != x.shape[d]:
        raise RuntimeError(
            f"{op} expects split_sizes to sum exactly to {x.shape[d]} (input tensor's size "
            f"at dimension {d}), but got split_sizes={sizes}"
        )
    return mark_multi_output(Split.apply(x, d, tuple(sizes), kind=kind, as_given=dim), op)


@tensor_method
def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """Consecutive pieces of the given sizes along ``dim`` (views; the sizes must sum to
    the dim's size). Its backward is one concatenation (``joining.Split``)."""
    return _sizes_split("split_with_sizes", input, split_sizes, dim, "SplitWithSizesBackward0")


def _untracked(pieces: tuple) -> tuple:
    """PyTorch's "unsafe" pieces: they share the input's memory but autograd does not track
    them as views (no shared version counter, no view record), so modifying one in place is
    allowed and is not seen by the input's graph: the caller's responsibility, as in
    PyTorch."""
    for p in pieces:
        p._view = None
        p._vc = [0]
    return pieces


@tensor_method
def unsafe_split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """:func:`split_with_sizes` with untracked pieces (:func:`_untracked`)."""
    return _untracked(
        _sizes_split(
            "unsafe_split_with_sizes", input, split_sizes, dim, "UnsafeSplitWithSizesBackward0"
        )
    )


@tensor_method
def unsafe_split(input: Tensor, split_size: int, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be shorter), untracked
    (:func:`_untracked`); ``split_size`` 0 is allowed only for a dim of size 0."""
    op = "unsafe_split"
    if not _is_int(split_size):
        raise TypeError(f"{op}(): argument 'split_size' must be int, not {type(split_size)}")
    if input.ndim == 0:
        raise RuntimeError(f"{op}: expects at least a 1-dimensional tensor")
    d = norm_dim(dim, input.ndim, op)[0]
    n, s = input.shape[d], int(split_size)
    if s < 0:
        raise RuntimeError(f"{op}: expects split_size be non-negative, but got split_size={s}")
    if s == 0 and n != 0:
        raise RuntimeError(
            f"{op}: split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
        )
    count = max(-(-n // s), 1) if s else 1
    sizes = [s] * (count - 1) + [n - s * (count - 1)]
    pieces = Split.apply(
        input, d, tuple(sizes), kind="UnsafeSplitBackward0", as_given=dim, split_size=s
    )
    return _untracked(pieces)


@tensor_method
def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces of equal size (the last may be shorter) along ``dim``,
    untracked (:func:`_untracked`)."""
    op = "unsafe_chunk"
    if not _is_int(chunks):
        raise TypeError(f"{op}(): argument 'chunks' must be int, not {type(chunks).__name__}")
    if input.ndim == 0:
        raise RuntimeError(f"{op}: expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"{op}: expects `chunks` to be greater than 0, got: {chunks}")
    d = norm_dim(dim, input.ndim, op)[0]
    n = input.shape[d]
    size = -(-n // int(chunks))
    if size == 0:  # n == 0: `chunks` empty pieces, as PyTorch
        kind = "UnsafeSplitWithSizesBackward0"
        return _untracked(Split.apply(input, d, (0,) * int(chunks), kind=kind, as_given=dim))
    return unsafe_split(input, size, dim)
