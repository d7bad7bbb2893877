"""Views and broadcasting: reshape, view, flatten, squeeze, unsqueeze, expand /
broadcast_to, and ``sum_to`` (the engine's un-broadcasting). The dim permutations
(permute, transpose, t, movedim) are in ``permutations.py``.

Where NumPy returns a view these ops do too (no copies), and the output shares the
input's version counter so in-place changes through a view are seen by autograd.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes
from .._layout import expanded
from ..autograd.function import Function
from ..autograd.saved_fields import given, given_dim  # grad_fn._saved_*
from ..autograd.shared_memory import is_shared
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtype_objects import dtype as PublicDtype
from ..qtypes import scalar_type_name
from ..quantized_tensor import QuantizedTensor
from ._same_shape_views import same_shape_view as _same_shape
from ._same_shape_views import view_layout as _view_layout
from ._ufunc_reduce import add_reduce
from ._util import ShapeError, norm_dim
from .binding import tensor_method
from .layout import contiguous as layout_contiguous
from .layout import stride as layout_stride
from .number_arguments import parser_int, parser_int_list, parser_view_sizes
from .tensor_queries import storage_offset

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


def _shape_arg(shape: tuple, op: str = "", arg: str = "size") -> tuple:
    """The sizes given one by one (``x.reshape(2, 3)``) or as one sequence, as a tuple of
    ints. Plain ints return at once; anything else goes to PyTorch's parser rules for the
    op ``op`` (its argument ``arg``; without ``op``: converted by ``int``)."""
    sizes = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    for s in sizes:
        if type(s) is not int:
            break
    else:
        return tuple(sizes)
    if not op:
        return tuple(sizes) if sizes is not shape else tuple(int(s) for s in sizes)
    return parser_view_sizes(shape) if op == "view" else parser_int_list(op, arg, 2, shape)


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


def _need_tensor(op: str, other: Any) -> None:
    """PyTorch's TypeError for a ``*_as`` method given a non-tensor (a number, a list)."""
    if not isinstance(other, Tensor):
        raise TypeError(
            f"{op}(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}"
        )


@tensor_method
def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    shape = (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)
    xs = input.shape
    if xs == shape:  # a new view (PyTorch's ExpandBackward0 when recorded), not input
        return _same_shape(BroadcastTo, input, False)
    lead = len(shape) - len(xs)
    ok = lead >= 0 and all(a == 1 or a == b for a, b in zip(xs, shape[lead:]))
    if not ok:
        raise ShapeError(
            f"broadcast_to/expand: cannot expand shape {tuple(input.shape)} to {shape}; "
            "each dimension must match or be 1 in the input"
        )
    return BroadcastTo.apply(input, shape)


@tensor_method
def expand(x: Tensor, *sizes: Any, size: Any = None) -> Tensor:
    """``x`` broadcast to ``sizes`` as a view (-1 keeps a dim; ``size=``: PyTorch's keyword)."""
    if size is not None:
        if sizes:
            raise TypeError("expand(): got the size both positionally and as size=")
        sizes = (size,)
    if not sizes:
        raise TypeError('expand() missing 1 required positional arguments: "size"')
    sizes = _shape_arg(sizes, "expand")
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(
            f"expand: the number of sizes ({len(sizes)}) must be at least the "
            f"tensor's dims ({x.ndim}); got shape {tuple(x.shape)}"
        )
    for i, s in enumerate(sizes):
        if s < 0 and not (s == -1 and i >= lead):
            raise ShapeError(
                f"expand: the expanded size {s} is not allowed in a leading, "
                f"non-existing dimension {i} (sizes {sizes}, tensor shape "
                f"{tuple(x.shape)}); sizes must be >= 0, or -1 for an existing dim"
            )
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)  # a new view even when the shape is x's, as in PyTorch


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    _need_tensor("expand_as", other)
    return expand(x, tuple(other.shape))  # a new view even when the shapes already agree


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
            return Tensor._make(grad._data.reshape(ctx.in_shape), False, None, 0), None
        return reshape(grad, ctx.in_shape), None

    @staticmethod
    def jvp(ctx, t, _):
        return t.reshape(ctx.out.shape)


def _resolve_shape(op: str, in_shape: tuple, shape: tuple) -> tuple:
    in_shape = tuple(in_shape)  # a plain tuple in messages, whatever the caller passed
    size = math.prod(in_shape)
    if shape.count(-1) > 1:
        raise ShapeError(f"{op}: only one dimension can be -1, got {shape}")
    if -1 in shape:
        rest = math.prod(s for s in shape if s != -1)
        if rest == 0 or size % rest:
            raise ShapeError(
                f"{op}: shape {shape} is invalid for input of shape {in_shape} (size {size})"
            )
        shape = tuple(size // rest if s == -1 else s for s in shape)
    if math.prod(shape) != size or any(s < 0 for s in shape):
        raise ShapeError(
            f"{op}: shape {shape} is invalid for input of shape {in_shape} with {size} elements"
        )
    return shape


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
    return _reshape_as(Reshape, input, shape)


@tensor_method
def view(x: Tensor, *shape: Any, size: Any = None, dtype: Any = None) -> Tensor:
    """Same data, new shape, always sharing memory with ``x`` (PyTorch's ``Tensor.view``).

    Unlike ``reshape`` this never copies: when the strides of ``x`` cannot express the new
    shape (e.g. a transposed tensor flattened) it raises, so writes through the view always
    reach the base tensor. One exception keeps PyTorch's programs working: an op result
    whose memory chainrule laid out otherwise than PyTorch would (a convolution's output,
    and what ReLU or pooling make of it: PyTorch's are contiguous) is laid out contiguously
    once, in place, and then viewed. That happens only for a tensor that is no view of
    another and whose memory the user cannot reach (``autograd/shared_memory.py``), so no
    alias can tell.
    """
    given = [v for v in (shape or None, size, dtype) if v is not None]
    if len(given) != 1:
        raise TypeError(
            "view() expects exactly one of a shape (by position or as size=) and a dtype, "
            f"got {len(given)}"
        )
    if dtype is not None:
        if not _is_dtype(dtype):
            raise TypeError(f"view(): dtype must be a dtype, got {type(dtype).__name__}")
        return _view_dtype(x, dtype)
    shape = (size,) if size is not None else shape
    if len(shape) == 1 and _is_dtype(shape[0]):
        return _view_dtype(x, shape[0])
    shape, xs = _shape_arg(shape, "view"), x._data.shape
    if shape != xs:
        shape = _resolve_shape("view", xs, shape)
    if shape == xs:  # a new view (ViewBackward0 when recorded), as in PyTorch
        return _same_shape(Reshape, x)
    xp = get_array_module(x._data)
    try:
        xp.reshape(x._data, shape, copy=False)
        fits = True
    except ValueError:
        fits = False
    if not fits:  # (outside the except block: its traceback would hold the array)
        if x._view is None and not is_shared(x._data):
            x._data = xp.ascontiguousarray(x._data)  # same values, PyTorch's layout
            return Reshape.apply(x, shape)
        handed_out = (
            " (If PyTorch accepts this view, the difference is memory order: chainrule lays some"
            " results, such as convolutions', out in another order, and may not re-lay this one"
            " because its memory was handed out (numpy(), from_numpy, untyped_storage(), shared"
            " memory) or a view of it exists (a slice, unfold, ...: take this view first).)"
            if x._view is None
            else ""
        )
        raise RuntimeError(
            f"view: view size {shape} is not compatible with input tensor's size {tuple(x.shape)} "
            "and "
            f"stride {tuple(st // max(x._data.itemsize, 1) for st in x._data.strides)} (at least "
            "one dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            + handed_out
        ) from None
    return Reshape.apply(x, shape)


def _is_dtype(obj: Any) -> bool:
    kinds = (np.dtype, PublicDtype, type, str)
    return isinstance(obj, kinds) and not isinstance(obj, (tuple, list))


def _view_dtype(x: Tensor, dtype: Any) -> Tensor:
    """``view(dtype)``: the same bytes read as ``dtype`` (same memory, shared version
    counter). As in PyTorch it is not differentiable, also to the same dtype: the result
    never requires grad, whether or not ``x`` does and whether or not grad mode is on.

    With a different element size the last dim is rescaled (float32 -> int16 doubles it,
    float32 -> float64 halves it), under PyTorch's conditions, checked in its order: ``x``
    has a dim, its last size divides (when growing the element), its last stride is 1, and
    its storage offset and other strides divide."""
    dt = dtypes.as_dtype(dtype)
    old_size, new_size = x._data.dtype.itemsize, np.dtype(dt).itemsize
    if old_size != new_size:
        _check_dtype_view(x, dt, old_size, new_size)
    arr = x._data.view(dt)
    out = Tensor._make(arr, False, None, 0)
    out._vc = x._vc
    return out


def _check_dtype_view(x: Tensor, dt: Any, old_size: int, new_size: int) -> None:
    """Raise PyTorch's RuntimeError when ``x`` cannot be viewed as ``dt`` of another
    element size (NumPy would accept some of these, with strides PyTorch cannot hold)."""
    what = (
        f"to view {scalar_type_name(x._data.dtype)} as {scalar_type_name(dt)} "
        "(different element sizes)"
    )
    if x.ndim == 0:
        raise RuntimeError(f"self.dim() cannot be 0 {what}")
    strides = layout_stride(x)
    if new_size > old_size:
        ratio = new_size // old_size
        if x.shape[-1] % ratio:
            raise RuntimeError(
                f"self.size(-1) must be divisible by {ratio} {what}, but got {x.shape[-1]}"
            )
    if strides[-1] != 1:
        raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {strides[-1]}")
    if new_size > old_size:
        offset = storage_offset(x)
        if offset % ratio:
            raise RuntimeError(
                f"self.storage_offset() must be divisible by {ratio} {what}, but got {offset}"
            )
        for d, st in enumerate(strides[:-1]):
            if st % ratio:
                raise RuntimeError(
                    f"self.stride({d}) must be divisible by {ratio} {what}, but got {st}"
                )


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
        lo, hi = (-n, n - 1) if n else (-1, 0)
        raise IndexError(
            f"unflatten: Dimension out of range (expected to be in range of [{lo}, {hi}], "
            f"but got {dim})"
        )
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
def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    if dim is None:  # PyTorch's nodes: SqueezeBackward0 (all), 1 (one dim), 2 (dims)
        return _reshape_as(_SQUEEZE[0], input, tuple(s for s in input.shape if s != 1))
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
        raise IndexError(
            f"unsqueeze: dim {dim} out of range for a tensor with {input.ndim} dims "
            f"(valid: {-nd} to {nd - 1})"
        )
    d = dim % nd
    out = _reshape_as(_UNSQUEEZE, input, input.shape[:d] + (1,) + input.shape[d:])
    return given(out, dim=dim)  # grad_fn._saved_dim as given


def reshape_as(x: Tensor, other: Tensor) -> Tensor:
    """``x`` reshaped to ``other``'s shape."""
    _need_tensor("reshape_as", other)
    return reshape(x, tuple(other.shape))


def sum_to_size(x: Tensor, *size: Any) -> Tensor:
    """``x`` summed down to ``size`` (which must expand to ``x``'s shape)."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    shape = tuple(int(s) for s in shape)
    ok = len(shape) <= x.ndim and all(
        s == n or s == 1 for s, n in zip(shape[::-1], tuple(x.shape)[::-1])
    )
    if not ok:
        raise RuntimeError(
            f"sum_to_size: size {list(shape)} is not expandable to size {list(x.shape)}"
        )
    return sum_to(x, shape) if shape != tuple(x.shape) else x


@tensor_method
def ravel(input: Tensor) -> Tensor:
    """``input`` as 1-d: a view of a contiguous input, else a contiguous copy (PyTorch's
    ``contiguous().view(-1)``: even a step slice that one stride could view is copied, so a
    write through the result does not reach ``input``)."""
    data = input._data
    if hasattr(data, "flags") and not data.flags.c_contiguous:
        input = layout_contiguous(input)
    return reshape(input, (-1,))
