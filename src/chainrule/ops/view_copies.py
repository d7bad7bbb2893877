"""PyTorch's "view copy" functions: ``torch.t_copy``, ``torch.split_copy``, ``torch.view_copy``...

Each is its view op followed by a copy: the same values, dtype and gradient as the view, but
the result never shares memory with the input. It is a fresh, row-major contiguous tensor
whatever the input's layout (a channels-last or transposed input gives a contiguous result,
as in PyTorch). Functionalization writes programs with these ops; they are also a short way
to say "this view, as its own tensor".

Each runs chainrule's differentiable view op and copies its result row-major; the copy is
then the output of the view op's own node, renamed as PyTorch's (``TBackward0_copy``,
``SplitBackward0_copy``, with the view node's ``_saved_*`` fields), so reverse mode and
double backward are the view op's (the gradient of a copy is the identity). Where the view
made no node of its own, or a forward-mode tangent is carried, the copy is a recorded
``clone`` of the view instead (the same values and derivatives, one more node).

``out=`` (keyword-only, as in PyTorch): the one-tensor ops take PyTorch's exact rule (an
``out`` of another dtype raises ``RuntimeError``, a wrongly shaped one is resized);
``split_copy``, ``split_with_sizes_copy`` and ``unbind_copy`` take a list or tuple of tensors,
one per piece, each written as ``copy_`` does (cast, broadcast), and return ``None``.

Where chainrule differs from PyTorch 2.13 (measured):

- ``out=`` with an input that requires grad raises, as everywhere in chainrule; PyTorch lets
  these ops through and leaves ``out`` with a gradient function that raises when used;
- ``detach_copy`` of an input that requires grad gives, as PyTorch's, a result that
  requires grad under a ``NotImplemented`` node whose backward raises;
- ``values_copy`` / ``indices_copy`` copy a coalesced sparse COO tensor's ``values()`` /
  ``indices()``; PyTorch has no sparse-COO kernel for them on CPU (``NotImplementedError``).
  A dense input raises ``RuntimeError`` as in PyTorch;
- ``squeeze_copy(x, dim=None)`` squeezes every size-1 dim (PyTorch refuses ``dim=None``).

``ccol_indices_copy``, ``col_indices_copy``, ``crow_indices_copy`` and ``row_indices_copy``
belong to compressed sparse formats (CSR/CSC/BSR/BSC) that chainrule does not have.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from ..autograd import grad_mode
from ..autograd.node import name_node_type
from ..autograd.saved_fields import given
from ..autograd.tensor import Tensor
from ..dtype_objects import dtype as PublicDtype
from ..meta.array import MetaArray
from ._misc_more_strided import as_strided
from ._util import norm_dim
from ._view_copy_nodes import AliasCopy, as_copy_of_view, narrow_copy_function
from .binding import tensor_method
from .cast import clone
from .complex_ops import view_as_complex, view_as_real
from .index_ops import select
from .inplace import copy_
from .joining import split, unbind
from .linalg_out import write_linalg_out
from .memory_format import contiguous_format
from .misc_more import detach
from .no_derivative import record_no_derivative
from .permutations import permute, t, transpose
from .sparse_construction import is_sparse
from .stacking import split_with_sizes
from .structural import diagonal, narrow, unfold
from .tensor_queries import _check_tensor
from .views import expand, reshape, squeeze, unsqueeze, view

__all__ = [
    "alias_copy",
    "as_strided_copy",
    "detach_copy",
    "diagonal_copy",
    "expand_copy",
    "indices_copy",
    "narrow_copy",
    "permute_copy",
    "select_copy",
    "slice_copy",
    "split_copy",
    "split_with_sizes_copy",
    "squeeze_copy",
    "t_copy",
    "transpose_copy",
    "unbind_copy",
    "unfold_copy",
    "unsqueeze_copy",
    "values_copy",
    "view_as_complex_copy",
    "view_as_real_copy",
    "view_copy",
]

F = TypeVar("F", bound=Callable[..., Any])


def _named(fn: F) -> F:
    """``fn`` whose errors name it: ``input`` must be a Tensor (``TypeError``, as PyTorch),
    and an error raised by the view op inside (``t()``, ``split()``) keeps its type and gets
    the public name in front (``t_copy(): ...``)."""
    op = fn.__name__

    @functools.wraps(fn)
    def named(*args: Any, **kwargs: Any) -> Any:
        if args or "input" in kwargs:
            _check_tensor(op, "input", 1, args[0] if args else kwargs["input"])
        try:
            return fn(*args, **kwargs)
        except (RuntimeError, ValueError, IndexError, TypeError) as err:
            if err.args and isinstance(err.args[0], str) and op not in err.args[0]:
                err.args = (f"{op}(): {err.args[0]}", *err.args[1:])
            raise

    return named  # type: ignore[return-value]


def _fresh(view_result: Tensor, source: Tensor | None = None) -> Tensor:
    """A row-major contiguous copy in new memory (differentiable: its gradient is the
    identity): the view node's own output where it can be (see ``_view_copy_nodes``)."""
    if source is not None:
        out = as_copy_of_view(source, view_result)
        if out is not None:
            return out
    return clone(view_result, memory_format=contiguous_format)


def _finish(op: str, view_result: Tensor, out: Any, source: Tensor | None = None) -> Tensor:
    """The copy of ``view_result`` (a view of ``source``: see :func:`_fresh`), written into
    ``out`` (PyTorch's exact dtype rule) when given."""
    if out is not None:
        return write_linalg_out(op, _fresh(view_result), out, "exact")
    return _fresh(view_result, source)


def _finish_pieces(
    op: str, pieces: Sequence[Tensor], out: Any, source: Tensor | None = None
) -> tuple[Tensor, ...] | None:
    """Fresh copies of ``pieces`` (views of ``source``) as a tuple, or (with ``out=``) each
    written into its ``out`` tensor as ``copy_`` writes (cast, broadcast), returning
    ``None`` as PyTorch."""
    if out is None:
        return tuple(_fresh(p, source) for p in pieces)
    if not isinstance(out, (list, tuple)) or not all(isinstance(o, Tensor) for o in out):
        raise TypeError(
            f"{op}(): argument 'out' must be tuple of Tensors, not {type(out).__name__}"
        )
    if len(out) != len(pieces):
        raise RuntimeError(
            f"{op}() expected an out= argument of size {len(pieces)}, got size {len(out)}"
        )
    if grad_mode.is_grad_enabled() and any(t.requires_grad for t in (*pieces, *out)):
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )
    with grad_mode.no_grad():
        for o, p in zip(out, pieces):
            copy_(o, p)
    return None


@_named
def alias_copy(input: Tensor, *, out: Any = None) -> Tensor:  # noqa: A002 - PyTorch's name
    """A copy of ``input`` (``torch.alias`` is the view of all of it); gradient: identity,
    under PyTorch's node ``AliasBackward0_copy``."""
    if out is not None:
        return _finish("alias_copy", input, out)
    return AliasCopy.apply(input)


@_named
def as_strided_copy(
    input: Tensor,  # noqa: A002 - PyTorch's name
    size: Sequence[int],
    stride: Sequence[int],
    storage_offset: int | None = None,
    *,
    out: Any = None,
) -> Tensor:
    """A copy of ``as_strided(input, size, stride, storage_offset)``; gradient: that of
    ``as_strided`` (elements read twice get both gradients)."""
    return _finish("as_strided_copy", as_strided(input, size, stride, storage_offset), out, input)


@_named
def detach_copy(input: Tensor, *, out: Any = None) -> Tensor:  # noqa: A002 - PyTorch's name
    """A copy of ``input`` outside the graph (``detach().clone()``; see the module doc)."""
    result = _finish("detach_copy", detach(input), out)
    return result if out is not None else record_no_derivative("detach_copy", result, input)


@_named
def diagonal_copy(
    input: Tensor,  # noqa: A002 - PyTorch's name
    offset: int = 0,
    dim1: int = 0,
    dim2: int = 1,
    *,
    out: Any = None,
) -> Tensor:
    """A copy of ``diagonal(input, offset, dim1, dim2)``; gradient: scattered back onto that
    diagonal, zeros elsewhere."""
    return _finish("diagonal_copy", diagonal(input, offset, dim1, dim2), out, input)


@_named
def expand_copy(
    input: Tensor,  # noqa: A002 - PyTorch's name
    size: Sequence[int],
    *,
    implicit: bool = False,
    out: Any = None,
) -> Tensor:
    """A copy of ``input.expand(size)`` (the repeated elements stored); gradient: summed over
    the expanded dims. ``implicit`` only marks, in PyTorch's traces, an expansion made by
    broadcasting: the result does not depend on it there either."""
    if not isinstance(implicit, bool):
        raise TypeError(
            f"expand_copy(): argument 'implicit' must be bool, not {type(implicit).__name__}"
        )
    return _finish("expand_copy", expand(input, size), out, input)


@tensor_method
@_named
def narrow_copy(
    input: Tensor,  # noqa: A002 - PyTorch's name
    dim: int,
    start: Any,
    length: int,
    *,
    out: Any = None,
) -> Tensor:
    """A copy of ``input.narrow(dim, start, length)``; gradient: padded back with zeros.
    A ``dim`` past the last one raises ``RuntimeError`` here (``narrow`` raises
    ``IndexError``), as in PyTorch."""
    if isinstance(dim, int) and input.ndim > 0 and dim >= input.ndim:
        raise RuntimeError(
            f"narrow_copy(): dim {dim} is out of range for a tensor with {input.ndim} dims "
            "(expected dim < input.dim())"
        )
    result = _finish("narrow_copy", narrow(input, dim, start, length), out, input)
    node = result._grad_fn
    if out is None and node is not None and node._forward_cls.__dict__.get("_view_copy"):
        node._forward_cls = narrow_copy_function(node._forward_cls)  # one node of its own
        name_node_type(node)
        start = int(start.item()) if isinstance(start, Tensor) else start
        given(result, dim=dim, start=start, length=length)
    return result


@_named
def permute_copy(input: Tensor, dims: Sequence[int], *, out: Any = None) -> Tensor:  # noqa: A002
    """A copy of ``input.permute(dims)`` in the new order; gradient: the inverse permutation."""
    return _finish("permute_copy", permute(input, dims), out, input)


@_named
def select_copy(input: Tensor, dim: int, index: int, *, out: Any = None) -> Tensor:  # noqa: A002
    """A copy of ``input.select(dim, index)``; gradient: placed at ``index``, zeros
    elsewhere."""
    return _finish("select_copy", select(input, dim, index), out, input)


@_named
def slice_copy(
    input: Tensor,  # noqa: A002 - PyTorch's name
    dim: int = 0,
    start: int | None = None,
    end: int | None = None,
    step: int = 1,
    *,
    out: Any = None,
) -> Tensor:
    """A copy of ``input[..., start:end:step]`` along ``dim`` (PyTorch's ``aten::slice``:
    ``step`` must be positive); gradient: placed back at the slice, zeros elsewhere."""
    if isinstance(step, bool) or not isinstance(step, int):
        raise TypeError(f"slice_copy(): argument 'step' must be int, not {type(step).__name__}")
    if input.ndim == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    d = norm_dim(dim, input.ndim, "slice_copy")[0]
    region = (slice(None),) * d + (slice(start, end, step),)
    return _finish("slice_copy", input[region], out, input)


@_named
def split_copy(
    input: Tensor,  # noqa: A002 - PyTorch's name
    split_size: int,
    dim: int = 0,
    *,
    out: Any = None,
) -> tuple[Tensor, ...] | None:
    """Copies of the pieces of ``input.split(split_size, dim)`` (a tuple); gradient: the
    pieces' gradients joined back."""
    return _finish_pieces("split_copy", split(input, split_size, dim), out, input)


@_named
def split_with_sizes_copy(
    input: Tensor,  # noqa: A002 - PyTorch's name
    split_sizes: Sequence[int],
    dim: int = 0,
    *,
    out: Any = None,
) -> tuple[Tensor, ...] | None:
    """Copies of the pieces of ``input.split_with_sizes(split_sizes, dim)`` (a tuple);
    gradient: the pieces' gradients joined back."""
    pieces = split_with_sizes(input, split_sizes, dim)
    return _finish_pieces("split_with_sizes_copy", pieces, out, input)


@_named
def squeeze_copy(input: Tensor, dim: Any = None, *, out: Any = None) -> Tensor:  # noqa: A002
    """A copy of ``input.squeeze(dim)`` (``dim``: an int, a sequence of them, or ``None`` for
    every size-1 dim); gradient: reshaped back."""
    squeezed = squeeze(input) if dim is None else squeeze(input, dim)
    return _finish("squeeze_copy", squeezed, out, input)


@_named
def t_copy(input: Tensor, *, out: Any = None) -> Tensor:  # noqa: A002 - PyTorch's name
    """A copy of ``input.t()`` (at most 2 dims), stored row-major; gradient: transposed back.

    >>> import chainrule as cr
    >>> y = cr.t_copy(cr.tensor([[1, 2, 3], [4, 5, 6]]))
    >>> y.shape, y.stride()
    (torch.Size([3, 2]), (2, 1))
    """
    return _finish("t_copy", t(input), out, input)


@_named
def transpose_copy(input: Tensor, dim0: int, dim1: int, *, out: Any = None) -> Tensor:  # noqa: A002
    """A copy of ``input.transpose(dim0, dim1)``; gradient: transposed back."""
    return _finish("transpose_copy", transpose(input, dim0, dim1), out, input)


@_named
def unbind_copy(input: Tensor, dim: int = 0, *, out: Any = None) -> tuple[Tensor, ...] | None:  # noqa: A002
    """Copies of the slices of ``input.unbind(dim)`` (a tuple); gradient: stacked back."""
    return _finish_pieces("unbind_copy", unbind(input, dim), out, input)


@_named
def unfold_copy(
    input: Tensor,  # noqa: A002 - PyTorch's name
    dimension: int,
    size: int,
    step: int,
    *,
    out: Any = None,
) -> Tensor:
    """A copy of ``input.unfold(dimension, size, step)`` (every window stored); gradient:
    the windows' gradients summed back onto the elements they read."""
    return _finish("unfold_copy", unfold(input, dimension, size, step), out, input)


@_named
def unsqueeze_copy(input: Tensor, dim: int, *, out: Any = None) -> Tensor:  # noqa: A002
    """A copy of ``input.unsqueeze(dim)``; gradient: reshaped back."""
    return _finish("unsqueeze_copy", unsqueeze(input, dim), out, input)


def _sparse_input(input: Tensor, what: str) -> None:  # noqa: A002 - PyTorch's name
    """PyTorch's error for a dense input of ``values_copy`` / ``indices_copy``."""
    if not is_sparse(input):
        raise RuntimeError(f"{what} expected sparse {_LAYOUT_WORD[what]} layout but got Strided")


_LAYOUT_WORD = {"values": "tensor", "indices": "coordinate tensor"}


@_named
def values_copy(input: Tensor, *, out: Any = None) -> Tensor:  # noqa: A002 - PyTorch's name
    """A copy of a coalesced sparse COO tensor's ``values()``; gradient: that of ``values()``
    (reaches the values' producer)."""
    _sparse_input(input, "values")
    return _finish("values_copy", input.values(), out, input)


@_named
def indices_copy(input: Tensor, *, out: Any = None) -> Tensor:  # noqa: A002 - PyTorch's name
    """A copy of a coalesced sparse COO tensor's ``indices()`` (int64, no gradient)."""
    _sparse_input(input, "indices")
    return _finish("indices_copy", input.indices(), out, input)


@_named
def view_as_complex_copy(input: Tensor, *, out: Any = None) -> Tensor:  # noqa: A002
    """A copy of ``view_as_complex(input)`` (a (..., 2) float tensor whose last dim has
    stride 1); gradient: that of ``view_as_complex``."""
    return _finish("view_as_complex_copy", view_as_complex(input), out, input)


@_named
def view_as_real_copy(input: Tensor, *, out: Any = None) -> Tensor:  # noqa: A002
    """A copy of ``view_as_real(input)`` (complex input); gradient: that of
    ``view_as_real``."""
    return _finish("view_as_real_copy", view_as_real(input), out, input)


@_named
def view_copy(
    input: Tensor,  # noqa: A002 - PyTorch's name
    size: Any = None,
    *,
    dtype: Any = None,
    out: Any = None,
) -> Tensor:
    """``input`` in a new shape, or its bytes read as another ``dtype``, as a copy.

    ``view_copy(x, size)`` takes the shape as one sequence (one ``-1`` inferred); unlike
    ``view`` it also accepts an input whose strides cannot express the shape, as PyTorch
    does (the copy need not share memory): the values are ``reshape``'s and so is the
    gradient. ``view_copy(x, dtype)`` (the dtype positionally or as ``dtype=``) is
    ``x.view(dtype)`` copied, with ``view``'s rules on element sizes."""
    if isinstance(size, (np.dtype, PublicDtype)):  # view_copy(x, dtype), PyTorch's second overload
        if dtype is not None:
            raise TypeError("view_copy(): got a dtype both positionally and as dtype=")
        size, dtype = None, size
    if (size is None) == (dtype is None):
        raise TypeError(
            "view_copy() received an invalid combination of arguments - expected one of: "
            "(Tensor input, torch.dtype dtype, *, Tensor out = None), "
            "(Tensor input, tuple of ints size, *, Tensor out = None)"
        )
    if dtype is not None:
        return _finish("view_copy", view(input, dtype=dtype), out, input)
    if isinstance(size, int) or not isinstance(size, (Sequence, Tensor)):
        raise TypeError(
            f"view_copy(): argument 'size' must be tuple of ints, not {type(size).__name__}"
        )
    if type(getattr(input, "_data", None)) is MetaArray:
        view(input, tuple(size))  # torch's meta refuses a size no view fits, as view does
    return _finish("view_copy", reshape(input, tuple(size)), out, input)
