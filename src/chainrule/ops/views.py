"""Reshaping views: reshape, view (by shape; by dtype through ``dtype_views.py``),
flatten/unflatten, squeeze/unsqueeze, ravel, and their ``*_as`` forms. Broadcasting
(expand/broadcast_to and ``sum_to``, the engine's un-broadcasting) is in
``broadcasting.py``, re-exported here (its home before session 38); how these ops read
their sizes in ``view_sizes.py``; the dim permutations (permute, transpose, t, movedim) in
``permutations.py``.

Where NumPy returns a view these ops do too (no copies), and the output shares the
input's version counter so in-place changes through a view are seen by autograd.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._layout import is_vmap_batched
from .._layout_marks import LAYOUT_MARKS, ROW_MAJOR, layout_mark
from .._layout_relay import relay_row_major
from ..autograd.function import Function
from ..autograd.saved_fields import given, given_dim  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import MetaArray
from ..meta.strides import meta_strides
from ..quantized_tensor import QuantizedTensor
from ._same_shape_views import same_shape_view as _same_shape
from ._same_shape_views import view_layout as _view_layout
from ._util import ShapeError, dim_range_error, norm_dim, torch_words
from .binding import tensor_method
from .broadcasting import (  # noqa: F401 - re-exported (their home before session 38)
    BroadcastTo,
    SumTo,
    broadcast_to,
    expand,
    expand_as,
    sum_to,
    sum_to_size,
)
from .dim_arguments import SQUEEZE_ALL, squeeze_none_error
from .dtype_views import _is_dtype, _view_dtype
from .invalid_arguments import format_invalid_args
from .layout import contiguous as layout_contiguous
from .number_arguments import is_dtype_name, parser_int
from .view_sizes import _need_tensor, _resolve_shape, _shape_arg

__all__ = [
    "BroadcastTo",
    "Reshape",
    "SumTo",
    "broadcast_to",
    "expand",
    "expand_as",
    "flatten",
    "ravel",
    "reshape",
    "reshape_as",
    "squeeze",
    "sum_to",
    "sum_to_size",
    "unflatten",
    "unsqueeze",
    "view",
    "view_as",
]


class Reshape(Function):
    node_name = "ViewBackward0"
    raw = True

    @staticmethod
    def saved_fields(node):  # grad_fn._saved_* where PyTorch's node saves the shape
        name = node.name()
        if name in ("ViewBackward0", "SqueezeBackward0"):
            return {"self_sym_sizes": lambda n: tuple(n.in_shape)}
        if name in ("SqueezeBackward1", "SqueezeBackward2"):  # the dims as given (squeeze)
            return {"dim": given_dim, "self_sym_sizes": lambda n: tuple(n.in_shape)}
        if name == "UnsqueezeBackward0":
            return {"dim": given_dim}
        return None

    is_view = True
    view_strides = True  # PyTorch's view strides on size-1 dims (squeeze keeps x's)

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        if shape == x.shape and getattr(ctx, "_forward_cls", Reshape).view_strides:
            return _view_layout(x)
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.create_graph and type(grad) is Tensor and type(grad._data) is np.ndarray:
            if grad._data.shape == ctx.in_shape and not ctx._forward_cls.view_strides:
                # a squeeze that squeezed nothing: PyTorch's unsqueeze_to passes the gradient
                # on as it is (a leaf copies the caller's, never shares its memory)
                return grad, None
            out = Tensor._make(grad._data.reshape(ctx.in_shape), False, None, 0)
            if grad._vc[0]:  # PyTorch's is a view of the gradient: its version (the
                out._vc[0] = grad._vc[0]  # number; the caller's gradient keeps its counter)
            return out, None
        if not ctx._forward_cls.view_strides and tuple(grad.shape) == tuple(ctx.in_shape):
            return grad, None  # (the squeeze above, recorded: the gradient itself too)
        return reshape(grad, ctx.in_shape), None

    @staticmethod
    def jvp(ctx, t, _):
        return t.reshape(ctx.out.shape)


@tensor_method
def reshape(input: Tensor, *sizes: Any, shape: Any = None) -> Tensor:
    """Same data, new shape (a view whenever NumPy can make one).

    The shape is given as sizes (``x.reshape(2, 3)``), one sequence (``reshape(x, (2, 3))``)
    or by PyTorch's keyword (``reshape(x, shape=(2, 3))``).
    """
    if shape is not None:
        if sizes:
            raise TypeError("reshape() got the shape both by position and as 'shape='")
        sizes = (shape,)
    if not sizes:
        raise TypeError('reshape() missing 1 required positional arguments: "shape"')
    shape = _shape_arg(sizes, "reshape", "shape")
    if type(input) is QuantizedTensor:  # its integers reshaped, qparams kept
        return input.reshape(shape)
    if shape != input.shape:
        shape = _resolve_shape("reshape", input.shape, shape)
    if shape == input.shape:  # a new view (ViewBackward0 when recorded), as in PyTorch
        return _same_shape(Reshape, input)
    _row_major_first(input)
    return _reshape_as(Reshape, input, shape)


def _row_major_first(x: Tensor) -> None:
    """Lay out a convolution's result (channel-major memory that PyTorch has row-major:
    ``_layout_marks.ROW_MAJOR``) row-major in place before it is reshaped, when nothing else
    can reach its memory (as ``contiguous`` does). Otherwise a reshape that NumPy can make
    without a copy (merging the trailing dims: ``x.view(b, c, -1)``) keeps the channel-major
    order, which the ops after it follow and a later ``view`` refuses, where PyTorch's
    results are contiguous."""
    arr = x._data
    if type(arr) is np.ndarray and arr.flags.c_contiguous:  # the common case, checked first
        return  # (a vmap per-sample array is no ndarray: relay_row_major handles it)
    relay_row_major(x)  # (no view of it, no alias: _layout_relay.py)


_VIEW_FORMS = ("(torch.dtype dtype)", "(tuple of ints size)")


@tensor_method
def view(x: Tensor, *shape: Any, size: Any = None, dtype: Any = None) -> Tensor:
    """Same data, new shape, always sharing memory with ``x`` (PyTorch's ``Tensor.view``).

    Unlike ``reshape`` this never copies: when the strides of ``x`` cannot express the new
    shape (e.g. a transposed tensor flattened) it raises, so writes through the view always
    reach the base tensor. A result whose memory chainrule laid out otherwise than PyTorch
    would (marked ``_layout_marks.ROW_MAJOR``: a convolution's output or gradients, and what
    ReLU or pooling make of it: PyTorch's are contiguous) is laid out contiguously once, in
    place, and then viewed, as PyTorch's views. That happens only for a tensor that is no
    view of another and whose memory nothing else can reach (``_layout_relay.py``:
    ``numpy()``, ``detach()`` and ``.data`` relay it before they alias it), so no alias can
    tell. Any other memory is viewed by its own strides, which are PyTorch's: as strict.
    """
    given = [v for v in (shape or None, size, dtype) if v is not None]
    if len(given) != 1:
        raise TypeError(
            "view() expects exactly one of a shape (by position or as size=) and a dtype, "
            f"got {len(given)}"
        )
    if dtype is not None:
        if not _is_dtype(dtype) or (type(dtype) is str and not is_dtype_name(dtype)):
            raise TypeError(  # PyTorch's overloads: (torch.dtype dtype), (tuple of ints size)
                format_invalid_args("view", [], [("dtype", dtype)], _VIEW_FORMS)
            )
        return _view_dtype(x, dtype)
    shape = (size,) if size is not None else shape
    if len(shape) == 1 and _is_dtype(shape[0]):
        if type(shape[0]) is not str or is_dtype_name(shape[0]):  # ``view('a')``: the
            return _view_dtype(x, shape[0])  # sizes' error below (PyTorch's overloads)
    shape, xs = _shape_arg(shape, "view"), x._data.shape
    if shape != xs:
        shape = _resolve_shape("view", xs, shape)
    if shape == xs:  # a new view (ViewBackward0 when recorded), as in PyTorch
        return _same_shape(Reshape, x)
    data = x._data
    if type(data) is not np.ndarray and is_vmap_batched(data):
        data, levels = _per_sample_memory(x)
        shape_in = (*data.shape[:levels], *shape)
    else:
        _row_major_first(x)  # (may re-lay x's memory: x._data read after it)
        data, shape_in = x._data, shape
    xp = get_array_module(data)
    try:
        xp.reshape(data, shape_in, copy=False)
        fits = True
    except ValueError:
        fits = False
    if not fits:  # (outside the except block: its traceback would hold the array)
        raise _view_error(x, shape) from None
    return Reshape.apply(x, shape)


def _per_sample_memory(x: Tensor) -> tuple[Any, int]:
    """The memory behind a tensor batched by ``cr.func.vmap`` (its ``_data`` a per-sample
    ``LogicalArray``) and its number of batch dims: the innermost physical array, one
    leading dim per vmap level (outermost first), whose per-sample strides are what ``view``
    must fit, as PyTorch checks each sample's strides under vmap. Under nested vmap the
    levels' dims are read from that array itself, not from the flattened ``phys`` (a copy
    when the inner batch dim was moved: its strides are no sample's). A nested-vmap value
    with no single physical array: asking for it raises vmap's error."""
    data = x._data
    if data.phys is None:
        data.__getattr__("view of a nested-vmap value")
    bottom, levels = x, 0
    while hasattr(type(bottom), "_level"):  # a BatchedTensor (func/_batched.py): one level
        bottom, levels = bottom._value, levels + 1
    return bottom._data, levels


def _view_error(x: Tensor, shape: tuple) -> RuntimeError:
    """``view``'s refusal: PyTorch's words, then the sizes and the memory's strides; where
    PyTorch's tensor is contiguous and would view (a convolution's result,
    ``_layout_marks.ROW_MAJOR``, that ``_row_major_first`` could not re-lay), why not."""
    note = (
        " PyTorch's tensor is contiguous here: chainrule lays a convolution's result out in"
        " another order, and may not re-lay this one because its memory was handed out"
        " (numpy(), from_numpy, untyped_storage(), shared memory) or a view of it exists that"
        " cannot move with it (an as_strided window across its rows: take this view first;"
        " slices, transposes and unfold windows move with it)."
        if LAYOUT_MARKS and layout_mark(x._data) == ROW_MAJOR
        else ""
    )
    return RuntimeError(
        "view size is not compatible with input tensor's size and stride (at least one"
        " dimension spans across two contiguous subspaces). Use .reshape(...) instead. (view:"
        f" size {tuple(shape)} of a tensor of size {tuple(x.shape)}, its memory's stride"
        f" {tuple(_strides_in_message(x))}.)" + note
    )


def _strides_in_message(x: Tensor) -> tuple:
    """``x``'s strides (elements) for ``view``'s error: a meta tensor's are kept beside
    its zero ones."""
    data = x._data
    if type(data) is MetaArray:
        return meta_strides(data)
    if getattr(type(data), "vmap_raw_array", False):  # vmap: each sample's strides
        memory, levels = _per_sample_memory(x)
        strides = memory.strides[levels:]
    else:
        strides = data.strides
    return tuple(st // max(data.itemsize, 1) for st in strides)


def view_as(x: Tensor, other: Tensor) -> Tensor:
    _need_tensor("view_as", other)
    return view(x, other.shape)


@tensor_method
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if type(start_dim) is not int:
        start_dim = parser_int("flatten", "start_dim", 2, start_dim)
    if type(end_dim) is not int:
        end_dim = parser_int("flatten", "end_dim", 3, end_dim)
    nd = max(input.ndim, 1)  # a 0-d tensor takes dims 0 and -1, as in PyTorch
    s = norm_dim(start_dim, nd, "flatten")[0]
    e = norm_dim(end_dim, nd, "flatten")[0]
    if input.ndim == 0:
        return reshape(input, (1,))
    if s > e:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    if s == e:  # nothing to merge: PyTorch returns the tensor itself, not a view
        return input
    shape = input.shape[:s] + (math.prod(input.shape[s : e + 1]),) + input.shape[e + 1 :]
    return reshape(input, shape)


def _check_unflatten_sizes(sizes: Any) -> None:
    """PyTorch's checks of ``unflatten``'s sizes: empty (or None) is a RuntimeError, anything
    but a tuple or list of ints (a bool or float element, a bare int) a TypeError."""
    if isinstance(sizes, Tensor):
        return
    if not sizes:
        raise ShapeError("unflatten: sizes must be non-empty")
    if not isinstance(sizes, (tuple, list)):
        raise TypeError(
            "unflatten(): argument 'sizes' (position 2) must be tuple of ints, "
            f"not {type(sizes).__name__}"
        )
    for i, s in enumerate(sizes):
        integral = isinstance(s, (int, np.integer)) or (
            isinstance(s, Tensor) and s.ndim == 0 and s.dtype.kind in "iu"
        )
        if isinstance(s, (bool, np.bool_)) or not integral:
            raise TypeError(
                "unflatten(): argument 'sizes' (position 2) must be tuple of ints, but found "
                f"element of type {type(s).__name__} at pos {i}"
            )


@tensor_method
def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    _check_unflatten_sizes(sizes)
    n = input.ndim
    if not -n <= dim < n:  # PyTorch's IndexError (-3 of a 2-d input wrapped before)
        if n == 0 and dim in (0, -1):  # PyTorch's kernel fails on a 0-d input: its words
            raise torch_words(
                RuntimeError(
                    "unflatten got an unexpected error:\nDimension specified as 0 but tensor "
                    "has no dimensions"
                )
            )
        raise dim_range_error(dim, max(n, 1))
    d = dim % n
    sizes = _resolve_shape("unflatten", (input.shape[d],), tuple(sizes))
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1 :])


def _view_named(fn: type, name: str) -> type:
    """``fn`` under another of PyTorch's node names. PyTorch names a view's node after the
    op that made it: ``x.t()`` is ``TBackward0``, ``x.transpose(0, 1)``
    ``TransposeBackward0`` and ``x.permute(1, 0)`` ``PermuteBackward0``, one computation
    each, so each op applies its own subclass and ``grad_fn`` prints as in PyTorch."""
    return type(name[:-1], (fn,), {"node_name": name, "__module__": fn.__module__})


_SQUEEZE = {kind: _view_named(Reshape, f"SqueezeBackward{kind}") for kind in range(3)}
for _squeeze_node in _SQUEEZE.values():
    _squeeze_node.view_strides = False  # squeeze keeps x's strides
_UNSQUEEZE = _view_named(Reshape, "UnsqueezeBackward0")


def _reshape_as(fn: type, input: Tensor, shape: tuple) -> Tensor:
    """``input`` reshaped to a resolved ``shape`` by ``fn`` (Reshape or a renamed one): a new
    view even where the shape is already ``shape`` (PyTorch's; an in-place metadata change
    of the result, ``transpose_``, must not reshape ``input``)."""
    return fn.apply(input, shape)


@tensor_method(keywords=True)
def squeeze(input: Tensor, dim: Any = SQUEEZE_ALL) -> Tensor:
    if dim is SQUEEZE_ALL:  # PyTorch's nodes: SqueezeBackward0 (all), 1 (one dim), 2 (dims)
        return _reshape_as(_SQUEEZE[0], input, tuple(s for s in input.shape if s != 1))
    if dim is None:  # no overload takes None (PyTorch's parser)
        raise squeeze_none_error(input)
    dims = norm_dim(dim, input.ndim, "squeeze")
    shape = tuple(s for i, s in enumerate(input.shape) if not (i in dims and s == 1))
    out = _reshape_as(_SQUEEZE[2 if isinstance(dim, (tuple, list)) else 1], input, shape)
    return given(out, dim=dim)  # grad_fn._saved_dim as given


@tensor_method(keywords=True)
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    if type(dim) is not int:
        dim = parser_int("unsqueeze", "dim", 2, dim)
    nd = input.ndim + 1
    if not -nd <= dim < nd:
        raise dim_range_error(dim, nd)  # PyTorch's words
    d = dim % nd
    out = _reshape_as(_UNSQUEEZE, input, input.shape[:d] + (1,) + input.shape[d:])
    return given(out, dim=dim)  # grad_fn._saved_dim as given


def reshape_as(x: Tensor, other: Tensor) -> Tensor:
    """``x`` reshaped to ``other``'s shape."""
    _need_tensor("reshape_as", other)
    return reshape(x, tuple(other.shape))


@tensor_method
def ravel(input: Tensor) -> Tensor:
    """``input`` as 1-d: a view of a contiguous input, else a contiguous copy (PyTorch's
    ``contiguous().view(-1)``: even a step slice that one stride could view is copied, so a
    write through the result does not reach ``input``)."""
    data = input._data
    if hasattr(data, "flags") and not data.flags.c_contiguous:
        input = layout_contiguous(input)
    return reshape(input, (-1,))
