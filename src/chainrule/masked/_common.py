"""The shared pieces of ``cr.masked``'s reductions: argument checks, the canonical dims, the
mask broadcast to the input, and the identity each reduction fills masked-out elements with.

A masked reduction is the plain reduction of ``where(mask, input, identity)``: the masked-out
elements take the value that leaves the result unchanged (0 for a sum, 1 for a product,
-inf for a maximum), so one pass over a dense array gives the masked result and its
gradient (``where`` routes no gradient to the masked-out elements).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from ..autograd.tensor import Tensor
from ..creation import full, ones
from ..dtype_objects import bool_
from ..ops._util import dim_range_error
from ..typeinfo import iinfo
from .core import MaskedTensor

__all__ = [
    "check_input",
    "dims_of",
    "identity",
    "input_mask",
    "masked_fill",
    "prepare",
    "reduced_mask",
    "split_masked",
]


def split_masked(input: Any, mask: Any) -> tuple[Any, Any]:
    """A MaskedTensor input as (its data as a plain tensor, its mask, and-ed with ``mask``
    when both are given): torch.masked's functions read a MaskedTensor's own mask and
    return plain tensors. Any other input is returned as it is."""
    if not isinstance(input, MaskedTensor):
        return input, mask
    own = input.get_mask()
    if isinstance(mask, Tensor):
        own = own & (mask if mask.dtype == bool_ else mask != 0)
    return input.get_data(), own


def prepare(op: str, input: Any, dtype: Any, mask: Any) -> tuple[Tensor, Tensor]:
    """What every ``torch.masked`` function starts with: the input (a MaskedTensor's data,
    checked, cast to ``dtype`` when given) and its mask as a bool tensor of its shape."""
    input, mask = split_masked(input, mask)
    x = check_input(op, input)
    if dtype is not None:
        x = x.to(dtype)
    return x, input_mask(op, x, mask)


def check_input(op: str, input: Any) -> Tensor:
    """``input`` when it is a Tensor; a TypeError naming ``op`` otherwise (torch raises an
    AttributeError from deep inside; a clear TypeError says what was received)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"torch.masked.{op}(): input must be a Tensor, got {type(input).__name__}")
    return input


class _MaskTypeError(TypeError, AttributeError):
    """A mask that is no Tensor: torch.masked fails reading its ``.shape`` (AttributeError);
    a TypeError too, as chainrule raised before."""


class _NumpyDimError(TypeError, ValueError):
    """A NumPy integer ``dim``: torch.masked iterates over it and fails with NumPy's
    ValueError (an empty array's truth value); a TypeError too, as a dim of a wrong type."""


def dims_of(input: Tensor, dim: Any) -> tuple[int, ...]:
    """``dim`` as a sorted tuple of non-negative dims of ``input`` (None or (): every dim),
    as torch's ``_canonical_dim`` reads it: a bool is an int (True is dim 1), NumPy ints
    inside a sequence are ints, a float is range-checked before its type.

    Raises:
        IndexError: a dim outside ``[-ndim, ndim - 1]``, in torch's words.
        RuntimeError: a dim given twice, in torch's words.
    """
    ndim = input.dim()
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        items: tuple = (dim,)
    elif isinstance(dim, (np.integer, np.ndarray)):
        raise _NumpyDimError(
            f"torch.masked: dim must be an int or a tuple of ints, got {dim!r} (torch.masked "
            "iterates over a NumPy integer and fails: pass int(dim))"
        )
    else:
        items = tuple(dim)
    if not items:
        return tuple(range(ndim))
    n = max(ndim, 1)
    out: list[int] = []
    for d in items:
        if isinstance(d, np.integer):
            d = int(d)
        if d in out:  # torch's own words (the dim as given against those read so far)
            raise RuntimeError(f"dim={d} appears multiple times in the list of dims")
        if isinstance(d, (int, float)) and not -n <= d < n:
            raise dim_range_error(d, n)  # torch's check, before the type's (got 2.0)
        out.append(d % n if ndim and isinstance(d, (int, float)) else d if ndim else 0)
    for d in out:  # torch refuses a float dim later (its reduction's parser)
        if not isinstance(d, int):
            raise TypeError(f"torch.masked: dim must be an int or a tuple of ints, got {d!r}")
    out = [int(d) for d in out]
    if len(set(out)) < len(out):  # torch's reduction refuses the wrapped repeat
        twice = next(d for d in out if out.count(d) > 1)
        raise RuntimeError(f"dim {twice} appears multiple times in the list of dims")
    return tuple(sorted(out))


def input_mask(op: str, input: Tensor, mask: Any) -> Tensor:
    """The mask as a bool Tensor of ``input``'s shape (None: every element is in; a mask of
    another dtype counts its nonzero elements as in, as torch's).

    Raises:
        TypeError: ``mask`` is not a Tensor.
        RuntimeError: ``mask`` does not broadcast to ``input``'s shape.
    """
    if mask is None:
        return ones(tuple(input.shape), dtype=bool_, device=input.device)
    if not isinstance(mask, Tensor):
        raise _MaskTypeError(
            f"torch.masked.{op}(): mask must be a bool Tensor or None, got {type(mask).__name__}"
        )
    if mask.dtype != bool_:
        mask = mask != 0
    if tuple(mask.shape) != tuple(input.shape):
        problem = _expand_error(tuple(mask.shape), tuple(input.shape))
        if problem:
            # a mask of more dims than the input: torch's IndexError; else its RuntimeError
            kind = IndexError if len(mask.shape) > len(input.shape) else RuntimeError
            raise kind(
                f"{problem} (torch.masked.{op}(): the mask's shape {tuple(mask.shape)} does not "
                f"broadcast to the input's shape {tuple(input.shape)})"
            )
        mask = ops.broadcast_to(mask, tuple(input.shape))
    return mask.detach()


def _expand_error(shape: tuple[int, ...], target: tuple[int, ...]) -> str:
    """torch's message for expanding ``shape`` to ``target`` ("" when it expands)."""
    if len(shape) > len(target):
        return (
            "_input_mask expected broadcastable mask (got mask dimensionality higher than of "
            "the input)"
        )
    offset = len(target) - len(shape)
    for i in range(len(target) - 1, offset - 1, -1):
        have = shape[i - offset]
        if have != 1 and have != target[i]:
            return (
                f"The expanded size of the tensor ({target[i]}) must match the existing size "
                f"({have}) at non-singleton dimension {i}.  Target sizes: {list(target)}.  "
                f"Tensor sizes: {list(shape)}"
            )
    return ""


def identity(op: str, dtype: Any) -> Any:
    """The value masked-out elements take in reduction ``op`` on ``dtype`` (torch's
    ``_reduction_identity``).

    Raises:
        NotImplementedError: ``op`` has no identity on ``dtype`` (amax of bools).
    """
    floating = dtype.is_floating_point or dtype.is_complex
    if op in ("sum", "cumsum", "mean", "norm", "var", "all_false"):
        return False if dtype == bool_ else 0
    if op in ("prod", "cumprod"):
        return True if dtype == bool_ else 1
    if op in ("amax", "argmax", "logsumexp"):
        if floating:
            return -math.inf
        if dtype != bool_:
            return iinfo(dtype).min
    if op in ("amin", "argmin", "median"):
        if floating:
            return math.inf
        if dtype != bool_:
            return iinfo(dtype).max
    raise NotImplementedError(f"identity of {op} on {dtype} input")


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``where(mask, input, value)`` in ``input``'s dtype (differentiable in ``input``)."""
    fill = full((), value, dtype=input.dtype)
    return ops.where(mask, input, fill)


def reduced_mask(mask: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
    """Which results of a reduction over ``dims`` saw at least one element."""
    if mask.dim() == 0:
        return mask
    return ops.any(mask, dim=dims, keepdim=keepdim) if dims else mask
