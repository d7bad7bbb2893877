"""Permutations of a tensor's dims, as views: permute, transpose / swapaxes / swapdims, t,
movedim / moveaxis.

One computation (:class:`Permute`), applied under the node name PyTorch gives the op that
made it (``TBackward0``, ``TransposeBackward0``, ``PermuteBackward0``). Split from
``views.py``, whose reshapes and broadcasts share nothing with it but the view machinery.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout_marks import LAYOUT_MARKS, mark_permuted
from ..autograd.function import Function
from ..autograd.saved_fields import given, given_dim, given_dims  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ._first_order import grad_view
from ._util import NAMED_ERRORS, ShapeError, dim_range_error, lead_with, norm_dim
from .binding import tensor_method
from .number_arguments import parser_int
from .overload_errors import movedim_dims
from .view_sizes import _shape_arg
from .views import _view_named

__all__ = [
    "Permute",
    "moveaxis",
    "movedim",
    "permute",
    "swapaxes",
    "swapdims",
    "t",
    "transpose",
]


class Permute(Function):
    @staticmethod
    def node_name(ctx):  # PyTorch: x.t() TBackward0, transpose(i, j) TransposeBackward0
        axes = tuple(getattr(ctx, "axes", None) or ())
        moved = [i for i, a in enumerate(axes) if a != i]
        if axes == (1, 0):
            return "TBackward0"
        return "TransposeBackward0" if len(moved) == 2 else "PermuteBackward0"

    @staticmethod
    def saved_fields(node):  # grad_fn._saved_* as PyTorch's (saved_fields.py); dims ascending
        name = node.name()
        if name == "TransposeBackward0":
            moved = [i for i, a in enumerate(node.axes) if a != i] or [0, 0]  # if not given
            return {
                "dim0": lambda n: given_dim(n, "dim0", moved[0]),
                "dim1": lambda n: given_dim(n, "dim1", moved[1]),
            }
        if name == "PermuteBackward0":
            return {"dims": lambda n: given_dims(n, n.axes, "dims")}
        return {}

    raw = True
    is_view = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        y = x.transpose(axes)
        if LAYOUT_MARKS and y.ndim >= 2 and type(x) is np.ndarray:
            # PyTorch's strides for a transpose of a convolution's result (_layout_marks.py)
            mark_permuted(y, x, tuple(axes))
        return y

    @staticmethod
    def backward(ctx, grad):
        g = grad_view(ctx, grad)
        if g is not None:
            # first order, plain (_first_order.py; a layout mark on the gradient: the
            # recorded permute marks its result with torch's strides): the inverse
            # permutation in Python, not np.argsort (2.9 us on a 2-tuple): with _swap's
            # inlined dims, 8x8 transpose forward + backward 19.4 -> 13.4 us (thread_time,
            # min of 3 x 7 x 2000, under load)
            inverse = [0] * len(ctx.axes)
            for i, a in enumerate(ctx.axes):
                inverse[a] = i
            out = Tensor._make(g.transpose(inverse), False, None, 0)
            if grad._vc[0]:  # PyTorch's is a view of the gradient: its version (the
                out._vc[0] = grad._vc[0]  # number; the caller's gradient keeps its counter)
            return out, None
        return permute(grad, tuple(np.argsort(ctx.axes))), None

    @staticmethod
    def jvp(ctx, t, _):
        return t.transpose(ctx.axes)


_PERMUTE = _view_named(Permute, "PermuteBackward0")
_TRANSPOSE = _view_named(Permute, "TransposeBackward0")
_T = _view_named(Permute, "TBackward0")


@tensor_method
def permute(input: Tensor, *order: Any, dims: Any = None) -> Tensor:
    """The dims of ``input`` reordered: given as ints (``x.permute(1, 0)``), one sequence
    (``permute(x, (1, 0))``) or by PyTorch's keyword (``permute(x, dims=(1, 0))``)."""
    if dims is not None:
        if order:
            raise TypeError("permute() got the dims both by position and as 'dims='")
        order = (dims,)
    if not order:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
    dims = _shape_arg(order, "permute", "dims")
    for d in dims if len(dims) == input.ndim else ():
        norm_dim(d, input.ndim, "permute")  # an out-of-range dim -> IndexError (as PyTorch)
    if len(dims) != input.ndim:  # PyTorch's words (its sparse kernel's, on any tensor)
        raise ShapeError(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the "
            "length of the desired ordering of dimensions i.e. input.dim() = "
            f"{input.ndim} is not equal to len(dims) = {len(dims)}"
        )
    if sorted(d % max(input.ndim, 1) for d in dims) != list(range(input.ndim)):
        raise ShapeError("permute(): duplicate dims are not allowed.")  # PyTorch's words
    out = _PERMUTE.apply(input, tuple(d % input.ndim for d in dims))
    return given(out, dims=dims)  # grad_fn._saved_dims as given


def _swap(fn: type, input: Tensor, dim0: int, dim1: int) -> Tensor:
    """``input`` with dims ``dim0`` and ``dim1`` swapped, recorded as ``fn``."""
    if input.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        out = fn.apply(input, tuple(range(input.ndim)))  # a new view, as in PyTorch
        return given(out, dim0=dim0, dim1=dim1)  # grad_fn._saved_dim0/1 as given
    nd = input.ndim
    axes = list(range(nd))
    if type(dim0) is int and type(dim1) is int and -nd <= dim0 < nd and -nd <= dim1 < nd:
        d0, d1 = dim0 % nd, dim1 % nd  # norm_dim's answer for ints in range (-0.5 us)
    else:
        d0, d1 = norm_dim(dim0, nd, "transpose")[0], norm_dim(dim1, nd, "transpose")[0]
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return given(fn.apply(input, tuple(axes)), dim0=dim0, dim1=dim1)  # as given


@tensor_method
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    if type(dim0) is not int:
        dim0 = parser_int("transpose", "dim0", 2, dim0)
    if type(dim1) is not int:
        dim1 = parser_int("transpose", "dim1", 3, dim1)
    return _swap(_TRANSPOSE, input, dim0, dim1)


@tensor_method
def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """NumPy's name for :func:`transpose`, with NumPy's argument names (``axis0``/``axis1``)."""
    return transpose(input, axis0, axis1)


@tensor_method
def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dims (PyTorch's ``.t()`` / ``.T``)."""
    if input.ndim > 2:
        raise ShapeError(
            f"t: expects a tensor with <= 2 dims, got shape {tuple(input.shape)}; "
            "use .permute or .mT"
        )
    return _swap(_T, input, 0, -1)


@tensor_method
def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    """Move dims ``source`` to positions ``destination`` (ints or equal-length sequences)."""
    if type(source) is int and type(destination) is int:
        src, dst = (source,), (destination,)
    else:  # PyTorch's overloads: two ints or two int sequences (no bool, no float)
        src, dst = movedim_dims(source, destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} "
            f"dims) should contain the same number of dims as destination "
            f"({list(dst)} dims)"
        )
    nd = input.ndim
    for d in src + dst:
        if not -max(nd, 1) <= d < max(nd, 1):
            raise dim_range_error(d, max(nd, 1))  # PyTorch's words, unprefixed
    src_n = [d % max(nd, 1) for d in src]
    dst_n = [d % max(nd, 1) for d in dst]
    for name, ds in (("source", src_n), ("destination", dst_n)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(ds)})")
    if nd == 0:
        return input
    order = [None] * nd
    for s_, d_ in zip(src_n, dst_n):
        order[d_] = s_
    rest = iter(d for d in range(nd) if d not in src_n)
    axes = tuple(o if o is not None else next(rest) for o in order)
    return permute(input, axes)


@tensor_method
def moveaxis(input: Tensor, source: Any, destination: Any) -> Tensor:
    """NumPy's name for :func:`movedim`."""
    try:
        return movedim(input, source, destination)
    except NAMED_ERRORS as err:
        lead_with("moveaxis", err)
        raise


@tensor_method
def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Another name for :func:`transpose` (a view with ``dim0`` and ``dim1`` swapped)."""
    try:
        return transpose(input, dim0, dim1)
    except NAMED_ERRORS as err:
        lead_with("swapdims", err)
        raise
