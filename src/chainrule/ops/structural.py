"""Ops that pick out or lay out structure: diagonals, windows, rotations, repeats.

The primitives are linear maps with a simple adjoint, so each backward is the adjoint op
(itself differentiable, hence double backward) and each jvp rule is the op applied to the
tangent:

    diagonal    <-> diagonal_scatter (write a diagonal into zeros)
    unfold      (sliding windows)  <-> fold_windows (add the windows back)

Everything else is composed from them and from existing differentiable ops: ``diag``,
``diag_embed``, ``narrow``, ``rot90`` and ``repeat_interleave``; coordinate grids
(``meshgrid``, ``cartesian_prod``) are in ``grids.py``. Triangles (``tril``/``triu`` and
their index tensors) are in ``triangles.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._layout import is_vmap_batched
from ..autograd.function import Function
from ..autograd.saved_fields import as_uint64, given, given_dim  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import device_of, get_array_module, host
from ..meta.array import MetaArray, meta_empty
from ..qtypes import scalar_type_name
from ..scalar_range import fit_scalar
from ._tensor_args import tensor_operand
from ._util import as_tensor, norm_dim
from ._view_copy_nodes import as_copy_of_view
from .binary import Where, where
from .binding import tensor_method
from .gather_scatter import index_select
from .grids import cartesian_prod, meshgrid  # noqa: F401 - re-exported (their home before session 38)
from .inplace import apply_inplace
from .inplace_names import NOTHING_SAVED, renamed_node
from .number_arguments import parser_int, parser_int_list, parser_number, refuse_narrow_types
from .overload_errors import REPEATS_UNSET, refuse_repeat_interleave_types
from .rot90_node import Rot90
from .shape import reshape
from .subscript_read import slice_along

__all__ = [
    "fill_diagonal_",
    "diag",
    "diag_embed",
    "diagonal",
    "narrow",
    "repeat_interleave",
    "rot90",
    "unfold",
]


def _dim(d: int, ndim: int, op: str) -> int:
    return norm_dim(d, ndim, op)[0]


def _diag_view(x: Any, offset: int, d1: int, d2: int) -> Any:
    """A writable strided view of the diagonal (NumPy's ``diagonal`` is read-only), moved to
    the last axis as PyTorch does."""
    n1, n2 = x.shape[d1], x.shape[d2]
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    start = [0] * x.ndim
    if length:
        start[d1], start[d2] = (0, offset) if offset >= 0 else (-offset, 0)
    base = (
        x[tuple(slice(s, None) if i in (d1, d2) else slice(None) for i, s in enumerate(start))]
        if length
        else x
    )
    keep = [i for i in range(x.ndim) if i not in (d1, d2)]
    shape = [x.shape[i] for i in keep] + [length]
    strides = [base.strides[i] for i in keep] + [base.strides[d1] + base.strides[d2]]
    return _as_strided(base, shape, strides)


def _as_strided(base: Any, shape: Any, strides: Any) -> Any:
    """NumPy's (or CuPy's) ``as_strided`` view of ``base``; a float8_e5m2 array (whose array
    interface NumPy cannot read: '<f1') through its bytes."""
    xp = get_array_module(base)
    if base.dtype.kind == "f" and base.dtype.itemsize == 1:
        raw = xp.lib.stride_tricks.as_strided(base.view(np.uint8), shape=shape, strides=strides)
        return raw.view(base.dtype)
    return xp.lib.stride_tricks.as_strided(base, shape=shape, strides=strides)


class Diagonal(Function):
    """The diagonal of dims (d1, d2) with ``offset``, as the last dim of a view."""

    raw = True
    is_view = True
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): dims as given
        "dim1": lambda n: given_dim(n, "dim1", n.args[2]),
        "dim2": lambda n: given_dim(n, "dim2", n.args[3]),
        "offset": lambda n: as_uint64(n.args[1]),
        "self_sym_sizes": lambda n: tuple(n.args[0]),
    }

    @staticmethod
    def forward(ctx, x, offset, d1, d2):
        ctx.args = (x.shape, offset, d1, d2)
        return _diag_view(x, offset, d1, d2)

    @staticmethod
    def backward(ctx, grad):
        shape, offset, d1, d2 = ctx.args
        return DiagonalScatter.apply(grad, shape, offset, d1, d2), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return _diag_view(t, *ctx.args[1:])


class DiagonalScatter(Function):
    """Zeros of ``shape`` with ``src`` written on the (offset, d1, d2) diagonal."""

    raw = True

    @staticmethod
    def forward(ctx, src, shape, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        out = get_array_module(src).zeros(shape, src.dtype)
        _diag_view(out, offset, d1, d2)[...] = src
        return out

    @staticmethod
    def backward(ctx, grad):
        return Diagonal.apply(grad, *ctx.args), None, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        out = get_array_module(t).zeros(ctx.out.shape, t.dtype)
        _diag_view(out, *ctx.args)[...] = t
        return out


@tensor_method
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of ``input`` w.r.t. ``dim1`` and ``dim2`` (a view, appended as last dim).

    Raises:
        RuntimeError: ``dim1 == dim2``.
        IndexError: fewer than 2 dims (PyTorch: dimension out of range).
    """
    if type(offset) is not int:
        offset = parser_int("diagonal", "offset", 2, offset)
    x = as_tensor(input)
    if x.ndim < 2:
        raise IndexError(
            f"diagonal: expected a tensor with at least 2 dims (dim1 and dim2 "
            f"out of range), got shape {tuple(x.shape)}"
        )
    d1, d2 = _dim(dim1, x.ndim, "diagonal"), _dim(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 cannot be identical, got {dim1} and {dim2}")
    out = Diagonal.apply(x, int(offset), d1, d2)
    return given(out, dim1=dim1, dim2=dim2)  # grad_fn._saved_dim1 / _dim2 as given


@tensor_method
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Tensors whose (dim1, dim2) diagonals are filled by the last dim of ``input``."""
    x = input if isinstance(input, Tensor) else tensor_operand("diag_embed", "input", 1, input)
    if x.ndim == 0:
        raise IndexError(  # PyTorch: dim -2 is out of range for the 1-d result
            "diag_embed: expected a tensor with at least 1 dim, got a 0-d tensor (Dimension "
            "out of range)"
        )
    n = x.shape[-1] + abs(int(offset))
    ndim = x.ndim + 1
    d1, d2 = _dim(dim1, ndim, "diag_embed"), _dim(dim2, ndim, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diag_embed: dim1 and dim2 cannot be identical, got {dim1} and {dim2}")
    rest = list(x.shape[:-1])
    shape = [0] * ndim
    it = iter(rest)
    for i in range(ndim):
        shape[i] = n if i in (d1, d2) else next(it)
    out = DiagEmbed.apply(x, tuple(shape), int(offset), d1, d2)
    return given(out, dim1=dim1, dim2=dim2)  # grad_fn._saved_dim1 / _dim2 as given


class DiagEmbed(DiagonalScatter):
    """``diag_embed``'s node: DiagonalScatter's rules under PyTorch's ``DiagEmbedBackward0``."""

    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): dims as given
        "dim1": lambda n: given_dim(n, "dim1", n.args[1]),
        "dim2": lambda n: given_dim(n, "dim2", n.args[2]),
        "offset": lambda n: as_uint64(n.args[0]),
    }


@tensor_method(keywords=True)
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-d input: a square matrix with ``input`` on the ``diagonal``-th diagonal; 2-d input:
    that diagonal as a 1-d tensor (PyTorch's ``torch.diag``)."""
    if type(diagonal) is not int:
        diagonal = parser_int("diag", "diagonal", 2, diagonal)
    x = as_tensor(input)
    if x.ndim == 1:
        return diag_embed(x, diagonal)
    if x.ndim == 2:  # a copy, as torch.diag (torch.diagonal is the view): DiagonalBackward0_copy
        view = Diagonal.apply(x, int(diagonal), 0, 1)
        out = as_copy_of_view(x, view)
        return view.clone() if out is None else out
    raise RuntimeError(f"diag: expected a 1-d or 2-d tensor, got shape {tuple(x.shape)}")


@tensor_method
def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """The slice ``start : start + length`` of dim ``dim`` (a view)."""
    if type(dim) is not int or type(start) is not int or type(length) is not int:
        refuse_narrow_types(input, dim, start, length)
    x = as_tensor(input)
    if x.ndim == 0:
        raise RuntimeError("narrow: cannot narrow a 0-d tensor")
    d = _dim(dim, x.ndim, "narrow")
    size = x.shape[d]
    start = int(start)
    if not -size <= start <= size:
        raise IndexError(f"narrow: start {start} is out of range for dim {d} of size {size}")
    if start < 0:  # counts from the end; start == size is allowed (an empty slice only)
        start += size
    if length < 0 or start + length > size:
        raise RuntimeError(
            f"narrow: start ({start}) + length ({length}) exceeds dimension size ({size})"
        )
    out = slice_along(x, d, start, start + int(length))  # at::slice: never an alias
    return given(out, dim=dim)  # grad_fn._saved_dim as given


@tensor_method
def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane ``dims`` (from dims[0] towards dims[1]).

    Bad arguments raise PyTorch's errors in its order: ``k`` not an int, ``dims`` not a
    tuple of ints (its parser's TypeErrors), then ``dims`` not two long, fewer than two
    dims, a dim out of range, the two dims the same."""
    if type(k) is not int:
        k = parser_int("rot90", "k", 2, k)
    if not isinstance(dims, Tensor) and not (
        isinstance(dims, (tuple, list)) and all(type(d) is int for d in dims)
    ):
        dims = parser_int_list("rot90", "dims", 3, dims, varargs=False)
    x = as_tensor(input)
    dims = tuple(dims)
    if is_vmap_batched(x._data):  # cr.func.vmap: its batching rule's checks and words
        from ..func._batched_checks import rot90_batched_checks  # noqa: PLC0415 - func imports ops

        rot90_batched_checks(x, dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if x.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {x.ndim}")
    d0, d1 = _dim(dims[0], x.ndim, "rot90"), _dim(dims[1], x.ndim, "rot90")
    if d0 == d1:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}"
        )
    out = Rot90.apply(x, int(k) % 4, d0, d1)
    return given(out, k=k, dims=dims)  # grad_fn._saved_k / _saved_dims as given


def _integer_repeats(counts: np.ndarray) -> None:
    """PyTorch's error, its words, for a tensor of repeats of a dtype its kernel lacks (it has
    int32 and int64 only)."""
    if counts.dtype not in (np.int64, np.int32):
        name = scalar_type_name(counts.dtype)
        raise NotImplementedError(f"\"repeat_interleave_cpu\" not implemented for '{name}'")


def _meta_repeat_index(counts: Any, output_size: int | None) -> Any:
    """The repeated positions for a meta tensor of counts: ``output_size`` long (a meta
    array), or PyTorch's error without it (the length is the sum of the counts)."""
    _integer_repeats(counts)
    if output_size is None:
        raise RuntimeError("cannot repeat_interleave a meta tensor without output_size")
    return meta_empty((output_size,), np.int64)


_PLAIN_DIMS = frozenset((int, type(None)))  # the fast test of repeat_interleave's dim


@tensor_method
def repeat_interleave(
    input: Any,
    repeats: Any = REPEATS_UNSET,
    dim: int | None = None,
    *,
    output_size: int | None = None,
    axis: int | None = None,
) -> Tensor:
    """Repeat each element ``repeats`` times along ``dim`` (flattened when ``dim`` is None;
    a 0-d input takes no ``dim``, as in PyTorch; ``axis`` is NumPy's name for it, which
    PyTorch also takes: ConvNeXt-V2's ``mask.repeat_interleave(scale, axis=1)``).

    ``repeat_interleave(counts)`` with a single integer tensor gives
    ``[0]*counts[0] + [1]*counts[1] + ...``.
    """
    if axis is not None:
        if dim is not None:
            raise TypeError("repeat_interleave(): got both 'dim' and its alias 'axis'")
        dim = axis
    if type(repeats) is not int and type(repeats) is not Tensor or type(dim) not in _PLAIN_DIMS:
        if repeats is not REPEATS_UNSET:
            refuse_repeat_interleave_types(input, repeats, dim)
    if repeats is REPEATS_UNSET:
        data = as_tensor(input)._data
        if type(data) is MetaArray:  # counts without values: the size must be given
            return Tensor._make(_meta_repeat_index(data, output_size), False, None, 0)
        counts = host(data)  # the counts are read on the host (from any device)
        _integer_repeats(counts)
        if counts.ndim != 1:  # PyTorch's words
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        if (counts < 0).any():
            raise RuntimeError("repeats can not be negative")
        on_gpu = get_array_module(data) is not np  # the result goes where the counts are
        return Tensor._new(
            np.repeat(np.arange(len(counts)), counts), device=device_of(data) if on_gpu else None
        )
    x = as_tensor(input)
    if dim is None:
        x, d = reshape(x, -1), 0
    elif x.ndim == 0:  # PyTorch repeats a 0-d tensor only flattened (dim=None)
        raise IndexError(
            f"repeat_interleave: dimension specified as {dim} but the input is a 0-d tensor, "
            "which has no dimensions; pass dim=None to repeat its element"
        )
    else:
        d = _dim(dim, x.ndim, "repeat_interleave")
    size = x.shape[d]
    if isinstance(repeats, Tensor) and type(repeats._data) is MetaArray:
        idx = Tensor._make(_meta_repeat_index(repeats._data, output_size), False, None, 0)
        return index_select(x, d, idx)
    # the repeats are read on the host (one number per slice, from any device)
    reps = host(repeats._data if isinstance(repeats, Tensor) else repeats)
    if isinstance(repeats, Tensor):  # PyTorch's checks, its order and words
        if reps.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if reps.ndim == 1 and len(reps) not in (1, size):
            given = d if dim is None else dim  # (PyTorch prints the dim as given)
            raise RuntimeError(
                "repeats must have the same size as input along dim, but got "
                f"repeats.size(0) = {len(reps)} and input.size({given}) = {size}"
            )
        _integer_repeats(reps)
        if (reps < 0).any():
            raise RuntimeError("repeats can not be negative")
    elif reps.dtype.kind not in "iu" or reps.ndim > 1:
        raise RuntimeError(
            f"repeat_interleave: repeats must be an int or a 1-d integer tensor, "
            f"got {reps.dtype} of shape {tuple(reps.shape)}"
        )
    elif (reps < 0).any():  # an int: PyTorch's words
        raise RuntimeError("Repeats must be non-negative")
    if type(x._data) is MetaArray:  # the index's length only (no host index of that size)
        idx = meta_empty((int(np.broadcast_to(reps, (size,)).sum()),), np.int64)
    else:
        idx = np.repeat(np.arange(size), reps)
    if output_size is not None and len(idx) != output_size:
        raise RuntimeError(
            f"repeat_interleave: output_size={output_size} does not match the "
            f"result's size {len(idx)}"
        )
    if type(idx) is MetaArray:
        return index_select(x, d, Tensor._make(idx, False, None, 0))
    elsewhere = type(x._data) is not np.ndarray  # the index goes where x is (GPU)
    return index_select(x, d, Tensor._new(idx, device=device_of(x._data) if elsewhere else None))


class Unfold(Function):
    """Sliding windows of ``size`` with ``step`` along ``dim``, windows in a new last dim."""

    raw = True
    is_view = True
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): the dim as given
        "dimension": lambda n: given_dim(n, "dimension", n.args[1]),
        "self_sym_sizes": lambda n: tuple(n.args[0]),
        "size": lambda n: n.args[2],
        "step": lambda n: n.args[3],
    }

    @staticmethod
    def forward(ctx, x, dim, size, step):
        ctx.args = (x.shape, dim, size, step)
        return _windows(x, dim, size, step)

    @staticmethod
    def backward(ctx, grad):
        return FoldWindows.apply(grad, *ctx.args), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return _windows(t, *ctx.args[1:])


def _windows(x: Any, dim: int, size: int, step: int) -> Any:
    n = (x.shape[dim] - size) // step + 1
    shape = x.shape[:dim] + (n,) + x.shape[dim + 1 :] + (size,)
    strides = x.strides[:dim] + (x.strides[dim] * step,) + x.strides[dim + 1 :] + (x.strides[dim],)
    return _as_strided(x, shape, strides)


class FoldWindows(Function):
    """The adjoint of :class:`Unfold`: add every window back where it came from."""

    raw = True

    @staticmethod
    def forward(ctx, g, shape, dim, size, step):
        ctx.args = (dim, size, step)
        out = get_array_module(g).zeros(shape, g.dtype)
        n = g.shape[dim]
        for j in range(size):  # one strided add per window position, vectorised over windows
            sl = (slice(None),) * dim + (slice(j, j + step * (n - 1) + 1, step),)
            out[sl] += g[..., j]
        return out

    @staticmethod
    def backward(ctx, grad):
        return Unfold.apply(grad, *ctx.args), None, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return FoldWindows.forward(ctx, t, ctx.out.shape, *ctx.args)


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: all windows of ``size`` elements, ``step`` apart, along ``dimension``
    (a view; the windows form a new last dim)."""
    if type(dimension) is not int or type(size) is not int or type(step) is not int:
        dimension = parser_int("unfold", "dimension", 2, dimension)
        size = parser_int("unfold", "size", 3, size)
        step = parser_int("unfold", "step", 4, step)
    x = as_tensor(input)
    d = _dim(dimension, max(x.ndim, 1), "unfold")
    input_ndim = x.ndim
    if x.ndim == 0:
        x = reshape(x, 1)
    if int(step) <= 0:
        raise RuntimeError(f"unfold: step must be > 0, got {step}")
    if not 0 <= int(size) <= x.shape[d]:
        raise RuntimeError(
            f"unfold: maximum size for tensor at dimension {d} is {x.shape[d]} but size is {size}"
        )
    out = given(Unfold.apply(x, d, int(size), int(step)), dimension=dimension)  # _saved_*
    if input_ndim == 0:  # PyTorch: a 0-d input's one window is the result, shape (size,)
        return reshape(out, int(size))
    return out


def fill_diagonal_(x: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    """Write ``fill_value`` on the main diagonal (all indices equal) of a tensor whose dims
    are all equal, or of a 2-d one; ``wrap`` restarts the diagonal every ``ncols + 1`` rows
    of a tall matrix (NumPy's ``fill_diagonal``, PyTorch's rule)."""
    if type(fill_value) is not float and type(fill_value) is not int:  # PyTorch's parser
        fill_value = parser_number("fill_diagonal_", "fill_value", 2, fill_value)
    if x.ndim < 2:
        raise RuntimeError(
            f"fill_diagonal_: dimensions must larger than 1, got shape {tuple(x.shape)}"
        )
    if x.ndim > 2 and len(set(x.shape)) != 1:
        raise RuntimeError(
            f"fill_diagonal_: all dimensions of input must be of equal length, got shape "
            f"{tuple(x.shape)}"
        )
    fill_value = fit_scalar("fill_diagonal_", fill_value, x._data.dtype)
    xp = get_array_module(x._data)
    mask = np.zeros(x.shape, bool)
    np.fill_diagonal(mask, True, wrap=bool(wrap))
    m = Tensor._make(xp.asarray(mask), False, None, 0)
    v = Tensor._make(xp.asarray(fill_value).astype(x.dtype), False, None, 0)
    out = apply_inplace(x, "fill_diagonal_", lambda t: where(m, v, t))
    node = out._grad_fn
    if node is not None and node._forward_cls is Where:  # PyTorch fills a diagonal view:
        renamed_node(node, "torch::autograd::CopySlices", NOTHING_SAVED, (1,))  # its node
    return out
