"""``torch._chunk_cat``: split each tensor into ``num_chunks`` chunks along ``dim`` and join
chunk ``i`` of every tensor into row ``i`` of one tensor (FSDP2's ``foreach_reduce`` flattens
gradients with it before a reduce-scatter; some optimizers flatten parameter lists so).

PyTorch's rule (``aten/src/ATen/native/TensorShape.cpp``, ``_pad_chunk`` + ``cat``): each
tensor is zero-padded at the end of ``dim`` to a multiple of ``num_chunks``, viewed as
``sizes[:dim] + (num_chunks, -1)`` and the views are joined along ``dim + 1``; the result has
``dim + 2`` dimensions. The tensors share ``sizes[:dim]``, dtype and device, and may differ
after ``dim`` (even in rank: a negative ``dim`` is wrapped only when all ranks agree).

PyTorch registers no derivative for it: the result of inputs that require grad is in the
graph under a node whose backward raises ``derivative for aten::_chunk_cat is not
implemented`` (and forward AD raises), which :func:`record_no_derivative` mirrors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ._tensor_args import tensor_element, tensor_list
from ._util import int_dim
from .joining import cat
from .keywords import write_out
from .no_derivative import record_no_derivative
from .number_arguments import parser_int

__all__ = ["chunk_cat"]


def _checked(tensors: Any, dim: Any, num_chunks: Any) -> tuple[list, int, int]:
    """The arguments read and checked as PyTorch's ``_chunk_cat_check`` does, in its order."""
    if type(tensors) is not list and type(tensors) is not tuple:
        tensors = tensor_list("_chunk_cat", tensors)
    tensors = [t if isinstance(t, Tensor) else tensor_element(tensors, t) for t in tensors]
    if type(dim) is not int:
        dim = parser_int("_chunk_cat", "dim", 2, dim)
    if type(num_chunks) is not int:
        num_chunks = parser_int("_chunk_cat", "num_chunks", 3, num_chunks)
    if not tensors:
        raise RuntimeError("_chunk_cat expects a non-empty input tensor list")
    first = tensors[0]
    for t in tensors:
        if t.numel() == 0:
            raise RuntimeError("_chunk_cat expects non-empty tensor")
        if t.dtype != first.dtype:
            raise RuntimeError("_chunk_cat expects all input tensors with the same dtype")
        if t.device != first.device:
            raise RuntimeError("_chunk_cat expects all inputs tensors on the same device")
    if num_chunks < 1:
        raise RuntimeError("_chunk_cat expects positive num_chunks")
    if all(t.ndim == first.ndim for t in tensors):  # dim wrapped against the common rank
        if first.ndim == 0:  # PyTorch crashes (segmentation fault) on 0-d tensors
            raise RuntimeError("_chunk_cat expects tensors of at least one dimension, got 0-d ones")
        dim = int_dim(dim, first.ndim, "_chunk_cat")
    elif dim < 0:  # ranks that differ: no rank to wrap it against
        raise RuntimeError(
            "_chunk_cat expects non-negative dim when input tensors have different ndims"
        )
    for t in tensors:
        if t.ndim <= dim:
            raise RuntimeError("_chunk_cat expects dim < ndim for all input tensors")
        if t.shape[:dim] != first.shape[:dim]:
            raise RuntimeError(
                "_chunk_cat expects same sizes of 0,...,dim-1 dimensions for all tensors"
            )
    return tensors, dim, num_chunks


def _padded_chunks(t: Tensor, dim: int, num_chunks: int) -> Tensor:
    """``t`` zero-padded along ``dim`` to a multiple of ``num_chunks``, shaped
    ``t.shape[:dim] + (num_chunks, -1)`` (a copy where the layout needs one, as ``reshape``)."""
    size = t.shape[dim]
    padded = -(-size // num_chunks) * num_chunks
    if padded != size:
        pad = t.new_zeros((*t.shape[:dim], padded - size, *t.shape[dim + 1 :]))
        t = cat([t, pad], dim)
    return t.reshape(*t.shape[:dim], num_chunks, -1)


def chunk_cat(
    tensors: Sequence[Tensor], dim: int, num_chunks: int, *, out: Tensor | None = None
) -> Tensor:
    """``torch._chunk_cat(tensors, dim, num_chunks)``: the result of shape ``sizes[:dim] +
    (num_chunks, sum of each tensor's chunk numel)``, chunk ``i`` of each tensor (padded with
    zeros) side by side in row ``i``. Not differentiable (PyTorch's node raises)."""
    tensors, dim, num_chunks = _checked(tensors, dim, num_chunks)
    with no_grad():
        result = cat([_padded_chunks(t, dim, num_chunks) for t in tensors], dim + 1)
    if out is not None:
        return write_out("_chunk_cat", result, out)
    return record_no_derivative("_chunk_cat", result, *tensors)
