"""Broadcasting as a view and its inverse: ``broadcast_to``/``expand``/``expand_as`` (one
``BroadcastTo`` node, PyTorch's ``ExpandBackward0``: a NumPy view with stride 0 on the
expanded dims) and ``sum_to``/``sum_to_size`` (``SumTo``, the engine's un-broadcasting of a
gradient).

Split from ``views.py`` (session 38), which keeps the reshapes (``reshape``, ``view``,
``flatten``, ``squeeze``, ...) and re-exports these names. Where NumPy returns a view these
ops do too, and the output shares the input's version counter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._layout import expanded, is_vmap_batched
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._same_shape_views import same_shape_view as _same_shape
from ._tensor_args import torch_type_name
from ._ufunc_reduce import add_reduce
from ._util import ShapeError
from .binding import tensor_method
from .expand_errors import expand_error
from .number_arguments import parser_int_list
from .view_sizes import _need_tensor, _shape_arg

__all__ = [
    "BroadcastTo",
    "SumTo",
    "broadcast_to",
    "expand",
    "expand_as",
    "sum_to",
    "sum_to_size",
]


class SumTo(Function):
    """Sum a broadcast gradient back to ``shape`` (the engine's un-broadcasting)."""

    raw = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1
        )
        y = add_reduce(x, axis=axes, keepdims=True) if axes else x
        return y.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return broadcast_to(grad, ctx.in_shape), None

    @staticmethod
    def jvp(ctx, t, _):
        return SumTo.forward(ctx, t, ctx.primals[1])


def sum_to(x: Tensor, shape: tuple) -> Tensor:
    return SumTo.apply(x, tuple(shape))


class BroadcastTo(Function):
    node_name = "ExpandBackward0"
    saved_fields = {"self_sym_sizes": lambda n: tuple(n.input_meta[0][0])}  #
    raw = True
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        return expanded(x, shape)  # PyTorch's strides on size-1 dims (_layout.py)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums it back to the input's shape

    @staticmethod
    def jvp(ctx, t, _):
        return get_array_module(t).broadcast_to(t, ctx.primals[1])


@tensor_method
def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    shape = (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)
    xs = input.shape
    if xs == shape:  # a new view (PyTorch's ExpandBackward0 when recorded), not input
        return _same_shape(BroadcastTo, input, False)
    lead = len(shape) - len(xs)
    ok = lead >= 0 and all(a == 1 or a == b for a, b in zip(xs, shape[lead:]))
    if not ok:
        if lead >= 0 and -1 in shape[lead:]:  # PyTorch's broadcast_to is expand: -1 keeps
            return expand(input, shape)
        raise expand_error(input, shape)  # PyTorch's text
    try:
        return BroadcastTo.apply(input, shape)
    except ValueError:  # NumPy's, for a negative size in a leading dim
        if min(shape) >= 0:
            raise
        if -1 in shape and is_vmap_batched(input._data):  # expand's batch rule keeps a 1
            return expand(input, shape)
        raise expand_error(input, shape) from None


@tensor_method
def expand(x: Tensor, *sizes: Any, size: Any = None) -> Tensor:
    """``x`` broadcast to ``sizes`` as a view (-1 keeps a dim; ``size=``: PyTorch's keyword)."""
    if size is not None:
        if sizes:
            raise TypeError("expand(): got the size both positionally and as size=")
        sizes = (size,)
    if not sizes:
        raise TypeError('expand() missing 1 required positional arguments: "size"')
    sizes = given = _shape_arg(sizes, "expand")
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise expand_error(x, sizes)
    if lead and -1 in sizes[:lead] and is_vmap_batched(x._data):
        # PyTorch's batch rule first views x with a 1 per new dim: there -1 keeps that 1
        sizes = tuple(1 if i < lead and s == -1 else s for i, s in enumerate(sizes))
    for i, s in enumerate(sizes):
        if s < 0 and not (s == -1 and i >= lead):
            raise expand_error(x, given)
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    try:
        return broadcast_to(x, shape)  # a new view even when the shape is x's, as in PyTorch
    except ShapeError:
        raise expand_error(x, given) from None  # the sizes as given, -1 included


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    _need_tensor("expand_as", other)
    return expand(x, tuple(other.shape))  # a new view even when the shapes already agree


_SIZE_UNSET: Any = object()


def sum_to_size(x: Tensor, *sizes: Any, size: Any = _SIZE_UNSET) -> Tensor:
    """``x`` summed down to ``size`` (which must expand to ``x``'s shape), given one by one,
    as one sequence or as the keyword ``size`` (PyTorch's parser takes all three)."""
    if size is not _SIZE_UNSET:
        if sizes:  # Python's words, as PyTorch's parser
            raise TypeError("sum_to_size() got multiple values for argument 'size'")
        # PyTorch's parser's text for the keyword: no position, and a tuple with an element
        # that is no int is reported as a tuple
        words = f"sum_to_size(): argument 'size' must be tuple of ints, not {torch_type_name(size)}"
        if not isinstance(size, (tuple, list)):
            raise TypeError(words)
        if not all(type(s) is int for s in size):
            try:  # NumPy ints, one-element int tensors: read as the positional form reads them
                size = parser_int_list("sum_to_size", "size", 2, (tuple(size),))
            except TypeError:
                raise TypeError(words) from None
        sizes = (tuple(size),)
    size = sizes
    if not size:  # PyTorch's parser (an empty tuple is a size: the full sum)
        raise TypeError('sum_to_size() missing 1 required positional arguments: "size"')
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    if not all(type(s) is int for s in shape):  # PyTorch's int-list parser and its errors
        shape = parser_int_list("sum_to_size", "size", 2, size)  # (position 1 of the method)
    ok = len(shape) <= x.ndim and all(
        s == n or s == 1 for s, n in zip(shape[::-1], tuple(x.shape)[::-1])
    )
    if not ok:  # PyTorch's words
        raise RuntimeError(
            f"size {{{list(shape)}}} is not expandable to size {{{list(x.shape)}}}.\n"
            "sum_to_size: each size must be 1 or the tensor's size in that dim, counted from "
            "the last"
        )
    if not shape:  # always a full sum, as PyTorch's (a new tensor of a 0-d x too)
        return x.sum()
    return sum_to(x, shape) if shape != tuple(x.shape) else x
