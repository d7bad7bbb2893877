"""Joining and splitting along a dimension: cat (concatenate), stack, split, chunk, unbind.

``cat`` joins along an existing dimension (its backward slices the gradient back into
pieces); ``stack`` along a new one, as one op (PyTorch's ``StackBackward0``, one node however
many tensors). ``split`` and ``chunk`` are one multi-output op,
:class:`Split`, whose outputs are views of the input and whose backward is one
concatenation (PyTorch's ``SplitBackward``): as separate ``x[a:b]`` views each piece's
backward would scatter into a zero array of the input's full size, and the engine would then
add those full-size arrays (measured on GPT's q, k, v split of a (12, 64, 384) activation:
three zero fills and two full-size additions per layer). ``unbind`` is the same kind of op,
:class:`Unbind` (``UnbindBackward0``), its backward one ``stack``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes
from .._layout import is_vmap_array
from ..autograd.function import Function
from ..autograd.saved_fields import as_uint64, given, given_dim  # grad_fn._saved_*
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..autograd.view_base import mark_multi_output, record_view
from ..backend import get_array_module
from ..quantized_ops import cat_quantized
from ..quantized_tensor import QuantizedTensor
from ._first_order import grad_arrays, grad_view
from ._tensor_args import tensor_element, tensor_list
from ._tiles import tiled_view
from ._util import ShapeError, dim_range_error, index_int, int_dim, norm_dim
from .binding import numpy_keywords, tensor_method
from .memory_format import (
    _has_format_strides,
    _relayout,
    channel_major,
    channels_last,
    channels_last_3d,
    suggests_memory_format,
)
from .number_arguments import parser_int
from .overload_errors import SPLIT_UNSET, missing_split_size, refuse_split_types

__all__ = [
    "Cat",
    "Split",
    "Stack",
    "Unbind",
    "cat",
    "chunk",
    "concatenate",
    "split",
    "stack",
    "unbind",
]


class Cat(Function):
    @staticmethod
    def node_name(ctx):  # PyTorch lists every tensor joined, with a gradient or not
        return "CatBackward0", tuple(range(len(ctx.next_edges)))

    saved_fields = {"dim": lambda n: given_dim(n, default=n.dim)}  # grad_fn._saved_dim as given
    raw = True

    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.sizes = [a.shape[dim] for a in arrays]
        ctx.dim = dim
        out = get_array_module(*arrays).concatenate(arrays, axis=dim)
        fmt = {4: channels_last, 5: channels_last_3d}.get(out.ndim)
        if (
            fmt is not None
            and not is_vmap_array(out)
            and hasattr(out, "flags")
            and all(suggests_memory_format(a, fmt) for a in arrays)
        ):  # PyTorch: channels-last (3d) where every input suggests it
            return out if _has_format_strides(out, fmt) else _relayout(out, fmt)
        # NumPy keeps transposed inputs' order; PyTorch's result is contiguous, and code
        # relies on it (a later view(-1) of the result)
        return out if out.flags.c_contiguous else get_array_module(out).ascontiguousarray(out)

    @staticmethod
    def backward(ctx, grad):
        out, start = [], 0
        idx = [slice(None)] * grad.ndim
        g = grad_view(ctx, grad)
        if g is not None:
            # first order, plain (_first_order.py): the same views of the gradient that
            # ``grad[idx]`` makes (its version counter shared, its base recorded: a hook
            # sees ``_is_view()`` as in torch), without a GetItem node per input (8x8 cat of
            # two, forward + backward 34 -> 27 us, thread_time, min of 7 x 2000, under load)
            grad_on = is_grad_enabled()
            for s in ctx.sizes:
                idx[ctx.dim] = slice(start, start + s)
                piece = Tensor._make(g[tuple(idx)], False, None, 0)
                piece._vc = grad._vc
                record_view(piece, grad, grad_on)
                out.append(piece)
                start += s
            return tuple(out)
        for s in ctx.sizes:
            idx[ctx.dim] = slice(start, start + s)
            out.append(grad[tuple(idx)])
            start += s
        return tuple(out)

    @staticmethod
    def jvp(ctx, *tangents):
        xp = get_array_module(ctx.out)
        ts = [
            xp.zeros(p.shape, ctx.out.dtype) if t is None else t
            for p, t in zip(ctx.primals, tangents)
        ]
        return xp.concatenate(ts, axis=ctx.dim)


class Stack(Cat):
    """Tensors of one shape joined along a new ``dim``; the gradient is its slices."""

    @staticmethod
    def node_name(ctx):  # PyTorch lists every tensor joined, with a gradient or not
        return "StackBackward0", tuple(range(len(ctx.next_edges)))

    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.dim, ctx.n = dim, len(arrays)
        xp = get_array_module(*arrays)
        out = xp.stack(arrays, axis=dim)
        if is_vmap_array(out) or not hasattr(out, "flags") or out.flags.c_contiguous:
            return out
        if all(channel_major(a) for a in arrays):  # a convolution's own layout: kept
            return out
        # PyTorch's result is the inputs' cat along dim, viewed: channels-last (3d) where
        # every input suggests it (and dim is not the new last one), else row-major (NumPy
        # keeps transposed inputs' order; a later view(-1) of the result relies on it)
        fmt = {4: channels_last, 5: channels_last_3d}.get(arrays[0].ndim)
        if (
            fmt is not None
            and dim < arrays[0].ndim
            and all(suggests_memory_format(a, fmt) for a in arrays)
        ):
            return _relayout(xp.concatenate(arrays, axis=dim), fmt).reshape(out.shape)
        return xp.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.dim
        return tuple(grad[(*lead, i)] for i in range(ctx.n))

    @staticmethod
    def jvp(ctx, *tangents):
        xp = get_array_module(ctx.out)
        ts = [
            xp.zeros(p.shape, ctx.out.dtype) if t is None else t
            for p, t in zip(ctx.primals, tangents)
        ]
        return xp.stack(ts, axis=ctx.dim)


class Split(Function):
    """Consecutive pieces of the given ``sizes`` along ``dim``, as views of the input, in
    one op; the gradient is the concatenation of the pieces' gradients (the engine gives
    zeros to pieces that received none)."""

    raw = True
    is_view = True
    # PyTorch's node: ``SplitBackward0`` for an int size (``split(2)``, ``chunk``),
    # ``SplitWithSizesBackward0`` for a list of sizes, ``Unsafe...`` for the unsafe forms
    node_name = staticmethod(lambda node: node.kind)
    saved_fields = staticmethod(lambda node: _split_fields(node))  # grad_fn._saved_*

    @staticmethod
    def forward(
        ctx, x, dim, sizes, *, kind="SplitWithSizesBackward0", as_given=None, split_size=None
    ):
        ctx.dim, ctx.kind = dim, kind
        ctx.given_dim = dim if as_given is None else as_given  # as the caller gave it (-1)
        ctx.split_size, ctx.sizes = split_size, sizes
        out, start = [], 0
        idx = [slice(None)] * x.ndim
        for s in sizes:
            idx[dim] = slice(start, start + s)
            out.append(x[tuple(idx)])
            start += s
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads):
        arrays = grad_arrays(ctx, grads)  # first order, plain (_first_order.py)
        if arrays is None:  # differentiable, profiled (torch lists aten::cat): a recorded cat
            return cat(list(grads), ctx.dim), None, None
        whole = tiled_view(arrays, ctx.dim)  # pieces of one buffer (attention's dq, dk, dv)
        if whole is None:
            whole = get_array_module(*arrays).concatenate(arrays, axis=ctx.dim)
        return Tensor._make(whole, False, None, 0), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return Split.forward(
            ctx,
            t,
            ctx.primals[1],
            ctx.primals[2],
            kind=ctx.kind,
            as_given=ctx.given_dim,
            split_size=ctx.split_size,
        )


def _split_fields(node: Any) -> dict:
    """PyTorch's saved names of a split node: the dim as given, the input's sizes, and the
    int ``split_size`` (``SplitBackward0``) or the list ``split_sizes`` (``...WithSizes``)."""
    out = {
        "dim": lambda n: as_uint64(int(n.given_dim)),
        "self_sym_sizes": lambda n: tuple(n.input_meta[0][0]),
    }
    if node.split_size is None:
        out["split_sizes"] = lambda n: tuple(n.sizes)
    else:
        out["split_size"] = lambda n: n.split_size
    return out


class Unbind(Function):
    """The slices of the input along ``dim``, as views, in one op; the gradient is their
    gradients stacked (the engine gives zeros to slices that received none)."""

    raw = True
    is_view = True
    node_name = "UnbindBackward0"
    saved_fields = {"dim": lambda n: as_uint64(int(n.given_dim))}  # the dim as given

    @staticmethod
    def forward(ctx, x, dim, *, as_given=None):
        ctx.dim = dim
        ctx.given_dim = dim if as_given is None else as_given
        lead = (slice(None),) * dim
        # `...` last: a 1-d input's slices are 0-d views too, not NumPy scalars (copies)
        return tuple(x[(*lead, i, Ellipsis)] for i in range(x.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        arrays = grad_arrays(ctx, grads)  # first order, plain (_first_order.py)
        if arrays is None:  # differentiable, profiled (torch lists aten::stack): recorded
            return stack(list(grads), ctx.dim), None
        return Tensor._make(
            get_array_module(*arrays).stack(arrays, axis=ctx.dim), False, None, 0
        ), None

    @staticmethod
    def jvp(ctx, t, *_):
        return Unbind.forward(ctx, t, ctx.primals[1], as_given=ctx.given_dim)


# Tensor classes joined by their own code: type -> {"cat": fn, "stack": fn} (fn(tensors,
# dim)). Quantized tensors here; the sparse layouts register themselves
# (ops/sparse_structural.py), so the dense path pays one C-level set test.
SPECIAL_JOINS: dict[type, dict[str, Any]] = {QuantizedTensor: {"cat": cat_quantized}}


def _special(op: str, tensors: list, dim: int) -> Tensor:
    """``op`` ("cat"/"stack") of tensors among which one has a class of ``SPECIAL_JOINS``:
    that class's join (the first such tensor's)."""
    for t_ in tensors:
        fn = SPECIAL_JOINS.get(type(t_), {}).get(op)
        if fn is not None:
            return fn(tensors, dim)
    names = sorted({type(t).__name__ for t in tensors})
    raise RuntimeError(f"{op}: cannot join tensors of types {names}")


@numpy_keywords
def cat(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    if type(dim) is not int:  # (a str too: PyTorch 2.13 has no named dims left)
        dim = parser_int("cat", "dim", 2, dim)
    if type(tensors) is not list and type(tensors) is not tuple:
        tensors = tensor_list("cat", tensors)  # PyTorch's TypeError for a Tensor, a number
    elif tensors and type(dim) is int:
        d = _plain_cat_dim(tensors, dim)
        if d is not None:  # plain tensors that need none of the checks below
            return given(Cat.apply(*tensors, dim=d), dim=dim)  # grad_fn._saved_dim as given
    tensors = [t if isinstance(t, Tensor) else tensor_element(tensors, t) for t in tensors]
    if not tensors:
        raise ShapeError("cat: expected a non-empty sequence of tensors")
    if not SPECIAL_JOINS.keys().isdisjoint(map(type, tensors)):  # quantized or sparse
        return _special("cat", tensors, dim)
    for i, t_ in enumerate(tensors):
        if t_.ndim == 0:
            raise RuntimeError(
                f"cat: zero-dimensional tensor (at position {i}) cannot be "
                "concatenated; use cr.stack, or unsqueeze it first"
            )
    # PyTorch's legacy rule: a 1-D empty tensor (Transformer-XL's first ``torch.empty(0)``
    # memory) joins any shape, as an empty slab of the others' shape; its dtype still takes
    # part in promotion, and with only such tensors any ``dim`` is accepted
    promoted = tensors[0].dtype
    for t_ in tensors[1:]:
        promoted = dtypes.promote_types(promoted, t_.dtype)
    kept = [t_ for t_ in tensors if t_.shape != (0,)]
    if not kept:
        return Cat.apply(*[t_.to(promoted) for t_ in tensors], dim=0)
    ref = kept[0]
    d = norm_dim(dim, ref.ndim, "cat")[0]
    if len(kept) < len(tensors):
        slab = ref.shape[:d] + (0,) + ref.shape[d + 1 :]
        tensors = [t_ if t_.shape != (0,) else t_.reshape(slab) for t_ in tensors]
    for i, t_ in enumerate(tensors):
        if t_.ndim != ref.ndim or any(
            a != b for j, (a, b) in enumerate(zip(t_.shape, ref.shape)) if j != d
        ):
            raise ShapeError(
                f"cat: sizes must match except in dimension {d}; tensor 0 has shape "
                f"{tuple(ref.shape)} but tensor {i} has shape {tuple(t_.shape)}"
            )
    tensors = [t_ if t_.dtype == promoted else t_.to(promoted) for t_ in tensors]
    return given(Cat.apply(*tensors, dim=d), dim=dim)  # grad_fn._saved_dim as given


concatenate = cat


def _plain_cat_dim(tensors: Sequence[Any], dim: int) -> int | None:
    """``dim`` made non-negative when ``tensors`` are plain Tensors of one dtype and rank (at
    least 1, none the legacy empty ``(0,)``) whose shapes agree off ``dim``, which is in
    range: what :func:`cat`'s checks would accept unchanged, read from the arrays (8x8 cat of
    two, forward + backward -3 us, thread_time, min of 9 x 2000, under load). Else None:
    the full checks (their errors, promotion, special tensors)."""
    ref = tensors[0]
    if type(ref) is not Tensor:
        return None
    data = ref._data
    shape, dt, nd = data.shape, data.dtype, data.ndim
    if not -nd <= dim < nd or shape == (0,):  # (a 0-d tensor: nd == 0, never in range)
        return None
    d = dim % nd
    before, after = shape[:d], shape[d + 1 :]
    for t in tensors:
        if type(t) is not Tensor:
            return None
        data = t._data
        s = data.shape
        if data.dtype != dt or len(s) != nd or s[:d] != before or s[d + 1 :] != after:
            return None
        if s == (0,):
            return None
    return d


@numpy_keywords
def stack(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dimension."""
    if type(dim) is not int:
        dim = parser_int("stack", "dim", 2, dim)
    if type(tensors) is not list and type(tensors) is not tuple:
        tensors = tensor_list("stack", tensors)  # PyTorch's TypeError for a Tensor, a number
    tensors = [t if isinstance(t, Tensor) else tensor_element(tensors, t) for t in tensors]
    if not tensors:
        raise ShapeError("stack: expected a non-empty sequence of tensors")
    if not SPECIAL_JOINS.keys().isdisjoint(map(type, tensors)):  # sparse operands
        return _special("stack", tensors, dim)
    for i, t_ in enumerate(tensors):
        if t_.shape != tensors[0].shape:
            raise ShapeError(
                f"stack: all tensors must have the same shape; tensor 0 has "
                f"{tuple(tensors[0].shape)} but tensor {i} has {tuple(t_.shape)}"
            )
    promoted = tensors[0].dtype
    for t_ in tensors[1:]:
        promoted = dtypes.promote_types(promoted, t_.dtype)
    nd = tensors[0].ndim + 1
    if not -nd <= dim < nd:
        raise dim_range_error(dim, nd)  # PyTorch's words
    tensors = [t_ if t_.dtype == promoted else t_.to(promoted) for t_ in tensors]
    return given(Stack.apply(*tensors, dim=dim % nd), dim=dim)  # _saved_dim as given


@tensor_method
def split(
    tensor: Tensor = SPLIT_UNSET,
    split_size_or_sections: Any = SPLIT_UNSET,
    dim: int = 0,
    *more: Any,
    split_size: Any = SPLIT_UNSET,
) -> tuple:
    """Split ``tensor`` along ``dim`` into pieces of ``split_size_or_sections`` (an int: equal
    pieces, the last shorter; a sequence: those sizes). ``split_size`` is the name
    ``Tensor.split`` gives the same argument in PyTorch (torch.fx writes it). ``more``: only
    for PyTorch's count of positional arguments (its ``split_size_or_sections`` is required)."""
    if more:
        raise TypeError(
            f"split() takes from 2 to 3 positional arguments but {3 + len(more)} were given"
        )
    if split_size is not SPLIT_UNSET:
        if split_size_or_sections is not SPLIT_UNSET:
            raise TypeError("split(): got both 'split_size_or_sections' and 'split_size'")
        split_size_or_sections = split_size
    if split_size_or_sections is SPLIT_UNSET or tensor is SPLIT_UNSET:
        raise missing_split_size(tensor is SPLIT_UNSET, split_size_or_sections is SPLIT_UNSET)
    if type(split_size_or_sections) is not int or type(dim) is not int:
        refuse_split_types(split_size_or_sections, dim)  # PyTorch's errors where no fit
    if isinstance(split_size_or_sections, Tensor):
        # PyTorch reads a one-element tensor as the int split size (StyleGAN2-ADA's group size
        # ``G = torch.min(torch.as_tensor(4), torch.as_tensor(N))``); sizes must be ints
        if split_size_or_sections.numel() != 1:
            raise TypeError(
                "split_with_sizes(): argument 'split_sizes' (position 2) must be tuple of ints, "
                "not Tensor"
            )
        split_size_or_sections = int(split_size_or_sections.item())
    if tensor.ndim == 0:
        raise ShapeError("split expects at least a 1-dimensional tensor")  # its words
    if isinstance(split_size_or_sections, int) and split_size_or_sections < 0:
        raise ShapeError(  # PyTorch's words, checked before the dim
            f"split expects split_size be non-negative, but got split_size={split_size_or_sections}"
        )
    d = norm_dim(dim, tensor.ndim, "split")[0]
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        s = split_size_or_sections
        if s == 0 and n != 0:  # PyTorch: size 0 splits only a size-0 dim (one piece)
            raise ShapeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
            )
        sizes = ([min(s, n - i) for i in range(0, n, s)] if s else []) or [0]
        kind, split_size = "SplitBackward0", s
    else:
        # a size may be a one-element integer tensor, read as an int as PyTorch does (Deformable
        # DETR: ``value.split([H_ * W_ for H_, W_ in value_spatial_shapes])``)
        sizes = [index_int(s) for s in split_size_or_sections]
        for i, s in enumerate(sizes):
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
                raise TypeError(
                    "split_with_sizes(): argument 'split_sizes' (position 2) must be tuple of "
                    f"ints, but found element of type {type(s).__name__} at pos {i}"
                )
            if s < 0:
                raise ShapeError(f"split: split sizes must be non-negative integers, got {sizes}")
        if sum(sizes) != n:
            raise ShapeError(f"split: sections {sizes} must sum to the size {n} of dim {d}")
        kind, split_size = "SplitWithSizesBackward0", None
    pieces = Split.apply(tensor, d, tuple(sizes), kind=kind, as_given=dim, split_size=split_size)
    return mark_multi_output(pieces, "split")


@tensor_method(keywords="axis")
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    if isinstance(chunks, Tensor) and chunks.ndim == 0 and chunks.dtype.kind in "iu":
        chunks = int(chunks.item())  # as PyTorch: a 0-d integer tensor is an int (``__index__``)
    if not isinstance(chunks, (int, np.integer)) or isinstance(chunks, bool):
        parser_int("chunk", "chunks", 2, chunks)  # PyTorch's parser's TypeError
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    chunks = int(chunks)  # a NumPy integer (``np.ceil(...).astype(int)``) splits as an int
    if input.ndim == 0:
        raise ShapeError("chunk expects at least a 1-dimensional tensor (got a 0-d tensor)")
    if type(dim) is not int:
        dim = parser_int("chunk", "dim", 3, dim)
    d = norm_dim(dim, input.ndim, "chunk")[0]
    n = input.shape[d]
    if n == 0:  # PyTorch: `chunks` empty pieces, one split_with_sizes
        return mark_multi_output(Split.apply(input, d, (0,) * chunks, as_given=dim), "split")
    size = -(-n // chunks)
    return split(input, max(size, 1), dim)


@tensor_method(keywords="axis")
def unbind(input: Tensor, dim: int = 0) -> tuple:
    d = int_dim(dim, input.ndim, "unbind")
    if input.shape[d] == 0:
        return ()
    return mark_multi_output(Unbind.apply(input, d, as_given=dim), "unbind")
