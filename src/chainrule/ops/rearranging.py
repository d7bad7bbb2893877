"""Copies that rearrange elements: flip, roll, repeat, tile.

Unlike the views in ``views.py`` these always copy (as PyTorch's do), so a write into the
result never reaches the input. Each backward is the inverse rearrangement (flip, roll back)
or a sum (repeat's broadcast is summed back by the engine).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.saved_fields import as_uint64, given, given_dims  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._result_layout import like_layout
from ._util import ShapeError, index_int, norm_dim
from .binding import tensor_method
from .number_arguments import argument_where, parser_int_list
from .view_sizes import _shape_arg
from .views import reshape

__all__ = ["Copy", "Flip", "Roll", "flip", "fliplr", "flipud", "repeat", "roll", "tile"]


class Flip(Function):
    """Reversed copy (PyTorch's flip copies: writes into it must not reach the input)."""

    raw = True
    # grad_fn._saved_dims as given (saved_fields.py): flip(x, (-1, 0)) shows (2**64 - 1, 0)
    saved_fields = {"dims": lambda n: given_dims(n, n.dims, "dims")}

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        # a copy in x's layout (PyTorch's: x's strides when dense, else its stride order);
        # a flip that moves nothing (size-1 dims) is already laid out so: copy it still
        view = get_array_module(x).flip(x, axis=dims)
        return like_layout(view, x, copy=True)

    @staticmethod
    def backward(ctx, grad):
        return flip_dims(grad, ctx.dims), None

    @staticmethod
    def jvp(ctx, t, _):
        return get_array_module(t).flip(t, axis=ctx.dims).copy()


def flip(input: Tensor, dims: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """Reverse the order of elements along ``dims`` (``flip(x, (0, 1))`` or
    ``flip(input=x, dims=[0])``). As PyTorch's function, ``dims`` is a tuple or list: an int
    is a TypeError (the method takes ints too: ``x.flip(0, 1)``, ``x.flip(1)``)."""
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"flip(): argument 'dims' must be tuple of ints, not {type(dims).__name__}")
    if not all(type(d) is int for d in dims):  # PyTorch's parser's TypeError (or ints)
        parser_int_list("flip", "dims", 2, [index_int(d) for d in dims], varargs=False)
    return flip_dims(input, dims)


def flip_dims(x: Tensor, shown: Any) -> Tensor:
    """:func:`flip` of ``x`` along ``shown`` (an int or a sequence of ints), which
    ``grad_fn._saved_dims`` reports as given; ``Tensor.flip`` takes ints too."""
    dims = norm_dim(shown, x.ndim, "flip")
    # 0-d: nothing to reverse, but still a copy (a write must not reach x) under PyTorch's
    # node, FlipBackward0, whose rules take complex input too (Copy's did not)
    dims = () if x.ndim == 0 else dims
    return given(Flip.apply(x, dims), dims=shown)  # grad_fn._saved_dims as given


def _shifts(node: Any) -> tuple:
    shifts = node.args[0]
    return tuple(as_uint64(s) for s in (shifts if isinstance(shifts, tuple) else (shifts,)))


class Roll(Function):
    raw = True
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): -1 as 2**64 - 1
        "dims": lambda n: given_dims(n, (), "dims"),  # as given; () without dims
        "shifts": _shifts,
    }

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.args = (shifts, dims)
        xp = get_array_module(x)
        out = xp.asarray(xp.roll(x, shifts, axis=dims), order="C")  # C order, as PyTorch's
        # without dims NumPy rolls the flattened array and reshapes it back (a view of it):
        # in memory of its own, so that a gradient computed here (autograd.grad) has no _base
        return out.copy() if out.base is not None else out

    @staticmethod
    def backward(ctx, grad):
        shifts, dims = ctx.args
        neg = tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts
        return roll(grad, neg, dims), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return get_array_module(t).roll(t, ctx.primals[1], axis=ctx.primals[2])


def _is_int_like(value: Any) -> bool:
    """An int, NumPy integer or 0-d integer tensor (what PyTorch takes as one int)."""
    if isinstance(value, Tensor):
        return value.ndim == 0 and value._data.dtype.kind in "iu"
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _roll_ints(name: str, position: int, value: Any) -> Any:
    """``roll``'s ``shifts``/``dims`` as PyTorch parses an int list: one int-like, or a
    list/tuple of them (bools allowed inside one); anything else is a TypeError."""
    if isinstance(value, (list, tuple)):
        for pos, v in enumerate(value):
            if not (_is_int_like(v) or isinstance(v, bool)):
                prefix = _roll_prefix(name, position)
                raise TypeError(
                    f"{prefix}, but found element of type {type(v).__name__} at pos {pos}"
                )
        return tuple(int(v) for v in value)
    if not _is_int_like(value):
        raise TypeError(f"{_roll_prefix(name, position)}, not {type(value).__name__}")
    return int(value)


def _roll_prefix(name: str, position: int) -> str:
    """PyTorch's words for a wrong ``shifts``/``dims``: the position as called (one less for
    the method, none for a keyword)."""
    op, where = argument_where("roll", name, position)
    return f"{op}(): argument '{name}'{where} must be tuple of ints"


@tensor_method
def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    shifts = _roll_ints("shifts", 2, shifts)
    if dims is not None:
        dims = _roll_ints("dims", 3, dims)
    shown = dims  # (grad_fn._saved_dims as given)
    if dims is not None:
        ns = len(shifts) if isinstance(shifts, tuple) else 1
        nd = len(dims) if isinstance(dims, tuple) else 1
        if ns != nd:
            raise RuntimeError(
                f"roll: shifts and dimensions must align; got {ns} shifts "
                f"{shifts} and {nd} dims {dims}"
            )
        if input.ndim == 0:  # PyTorch: no dim of a 0-d tensor can be rolled (roll(s) alone can)
            first = dims[0] if isinstance(dims, tuple) else dims
            raise IndexError(
                f"roll: dimension specified as {first} but the tensor has no dimensions; "
                "call roll(shifts) without dims on a 0-d tensor"
            )
        if isinstance(dims, tuple):
            for d in dims:
                norm_dim(d, input.ndim, "roll")
            dims = tuple(d % max(input.ndim, 1) for d in dims)
        else:
            dims = norm_dim(dims, input.ndim, "roll")[0]
    elif isinstance(shifts, tuple) and len(shifts) != 1:
        raise RuntimeError(f"roll: without dims, shifts must be a single int, got {shifts}")
    return given(Roll.apply(input, shifts, dims), dims=shown)  # grad_fn._saved_dims


@tensor_method
def repeat(x: Tensor, *sizes: Any, repeats: Any = None) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along dim i (PyTorch's ``Tensor.repeat``; the
    sizes may also come as the keyword ``repeats=``, PyTorch's name for them)."""
    if repeats is not None:
        if sizes:
            raise TypeError("repeat(): got the repeats both positionally and as repeats=")
        sizes = (repeats,)
    elif not sizes:
        raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
    sizes = _shape_arg(sizes, "repeat", "repeats")
    if len(sizes) < x.ndim:  # PyTorch's words
        raise ShapeError(
            "Number of dimensions of repeat dims can not be smaller than number of "
            "dimensions of tensor"
        )
    if any(r < 0 for r in sizes):  # PyTorch's words: the first negative size of the result
        shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
        out = [n * r for n, r in zip(shape, sizes)]
        bad = next(n for n in out if n < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: {out}")
    return Repeat.apply(x, sizes)


class Repeat(Function):
    """``x`` tiled ``sizes[i]`` times along dim i, as one node (PyTorch's RepeatBackward0);
    the gradient sums the copies: ``grad`` viewed as ``(r0, s0, r1, s1, ...)`` summed over
    the repeat axes."""

    raw = True
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        "repeats": lambda n: tuple(n.sizes),
        "self_sym_sizes": lambda n: tuple(n.x_shape),
    }

    @staticmethod
    def forward(ctx, x, sizes):
        ctx.x_shape, ctx.sizes = x.shape, sizes
        ctx.in_shape = (1,) * (len(sizes) - x.ndim) + x.shape
        return get_array_module(x).tile(x, sizes)  # always a copy, as PyTorch's repeat

    @staticmethod
    def backward(ctx, grad):
        # PyTorch's repeat_backward: each added leading dim summed away (sum(0), in its
        # order), then one sum over the repeat axes that gives x's shape directly (a new
        # tensor, not a view of a hidden sum; a repeat of 1 is not split); the gradient
        # itself where nothing is repeated
        if 0 in ctx.sizes and not ctx.create_graph:  # PyTorch: zeros, written (version 1)
            out = grad.new_zeros(ctx.x_shape)
            out._vc[0] = 1
            return out, None
        for _ in range(len(ctx.sizes) - len(ctx.x_shape)):
            grad = grad.sum(0)
        split, axes = [], []
        for r, s in zip(ctx.sizes[len(ctx.sizes) - len(ctx.x_shape) :], ctx.x_shape):
            if r != 1:
                axes.append(len(split))
                split.append(r)
            split.append(s)
        if not axes:
            return grad, None
        return reshape(grad, tuple(split)).sum(tuple(axes)), None

    @staticmethod
    def jvp(ctx, t, _):
        return get_array_module(t).tile(t, ctx.sizes)


class Copy(Function):
    """A fresh copy of the data; the gradient passes through unchanged."""

    raw = True

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def jvp(ctx, t):
        return t


@tensor_method
def tile(input: Tensor, *sizes: Any, dims: Any = None) -> Tensor:
    """``input`` repeated ``dims[i]`` times along dim i, ones prepended to ``dims`` when it
    is shorter than ``input``'s dims. As in PyTorch the repeats are one sequence
    (``cr.tile(x, (2, 1))``, ``dims=``) or, on the method, ints (``x.tile(2, 1)``)."""
    if dims is not None:
        if sizes:
            raise TypeError("tile() got the dims both by position and as 'dims='")
        sizes = (dims,)
    if not sizes:
        raise TypeError('tile() missing 1 required positional arguments: "dims"')
    flat = sizes[0] if isinstance(sizes[0], (tuple, list)) else sizes
    if any(type(s) is not int for s in flat):
        parser_int_list("tile", "dims", 2, sizes)  # PyTorch's TypeError where not ints
    dims = _shape_arg(sizes)
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


@tensor_method
def fliplr(input: Tensor) -> Tensor:
    """``input`` reversed along dim 1 (left/right); at least 2-d."""
    if input.ndim < 2:
        raise RuntimeError(f"fliplr: Input must be >= 2-d, got shape {tuple(input.shape)}")
    return flip(input, (1,))


@tensor_method
def flipud(input: Tensor) -> Tensor:
    """``input`` reversed along dim 0 (up/down); at least 1-d."""
    if input.ndim < 1:
        raise RuntimeError("flipud: Input must be >= 1-d, got a 0-d tensor")
    return flip(input, (0,))
