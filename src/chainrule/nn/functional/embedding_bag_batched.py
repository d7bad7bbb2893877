"""``F.embedding_bag`` with indices, offsets or per-sample weights batched by ``cr.func.vmap``.

The unbatched path (``embedding_bag.py``) lays the bags out from the indices and offsets as
raw arrays, which a batched tensor's per-sample ``LogicalArray`` cannot give. Here the bags
are Tensor ops, whose batching rules give each sample its own bags (as PyTorch batches
``embedding_bag``, whose per-sample results this matches): with L indices, B bags, each
index ``k``'s bag ``bag[k] = #{b: offsets[b] <= k} - 1`` (a 2-d input: ``k // N``; with
``include_last_offset`` the last bag runs to the end of ``input``, as PyTorch's CPU kernel
reads it) and the mask ``M[b, k] = (bag[k] == b) and idx[k] != padding_idx``,

    sum   out = M @ (psw · W[idx])                      (psw = 1 without weights)
    mean  out = (M @ W[idx]) / max(#{k: M[b, k]}, 1)
    max   out[b, d] = max_{k: M[b, k]} W[idx[k], d]      (0 for an empty bag)

so the gradient is the adjoint of each op (the max's to the first largest index, as
PyTorch's; a NaN or -inf first in its bag is kept as PyTorch's scan keeps it, a later NaN
skipped). ``scale_grad_by_freq`` and ``sparse`` go to the gather ``W[idx]`` (``F.embedding``),
which counts each sample's indices and gives the sparse gradient per looked-up index, as
PyTorch's per-sample fallback does. Each sample's offsets and indices are checked as
PyTorch checks them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._layout import is_vmap_batched
from ...autograd.grad_mode import no_grad
from ...autograd.tensor import Tensor
from ...ops.gather_scatter import IndexOutOfBounds
from .linear import embedding

__all__ = ["any_batched", "embedding_bag_batched"]

_OP = "embedding_bag"


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def any_batched(*values: Any) -> bool:
    """Whether any of ``values`` (tensors or None) is batched by ``cr.func.vmap``."""
    return any(
        v is not None and type(_raw(v)) is not np.ndarray and is_vmap_batched(_raw(v))
        for v in values
    )


def _samples(x: Any) -> Any:
    """Every sample's values of ``x`` (batch dim first) for the checks, or ``x``'s own."""
    raw = _raw(x)
    if type(raw) is np.ndarray or not is_vmap_batched(raw):
        return np.asarray(raw)[None]
    if raw.phys is None:  # a nested-vmap value with no single physical array
        raw.__getattr__(f"{_OP} of nested-vmap indices")
    return np.asarray(raw.phys)


def _check(input: Tensor, offsets: Any, num: int) -> None:
    """PyTorch's checks of each sample's offsets and indices (its messages)."""
    n = input.numel()
    idx = _samples(input).reshape(-1, n)
    if offsets is not None:
        off = _samples(offsets)
        off = off.reshape(off.shape[0], -1)
        if off.shape[1] == 0:
            raise RuntimeError(f"{_OP}: offsets must have at least 1 element(s), got none")
        bad = off[:, 0] != 0
        if bad.any():
            raise RuntimeError(
                f"{_OP}: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has "
                f"to start from position 0. However, got {int(off[bad, 0][0])}"
            )
        if (off[:, -1] > n).any():
            raise RuntimeError(
                f"{_OP}: offsets[-1] can not be greater than input's length {n} but got "
                f"offsets[-1] of {int(off[:, -1].max())}"
            )
        if (off[:, 1:] < off[:, :-1]).any():
            raise RuntimeError(f"{_OP}: offsets must be non-decreasing")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num):  # every index is in a bag
        bad = int(idx.max()) if int(idx.max()) >= num else int(idx.min())
        raise IndexOutOfBounds(
            f"{_OP}: Expected idx >= 0 && idx < num_embeddings but found idx to be {bad}"
        )


def embedding_bag_batched(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None,
    max_norm: float | None,
    norm_type: float,
    scale_grad_by_freq: bool,
    mode: str,
    sparse: bool,
    per_sample_weights: Tensor | None,
    include_last_offset: bool,
    padding_idx: int | None,
) -> Tensor:
    """:func:`~chainrule.nn.functional.embedding_bag` (arguments checked, ``padding_idx``
    made non-negative) for indices, offsets or per-sample weights batched by vmap."""
    num, dim = weight.shape
    _check(input, offsets, num)
    idx = input.reshape(-1)
    n = idx.shape[0]
    if max_norm is not None:  # F.embedding's in-place renorm of the rows looked up
        with no_grad():
            embedding(idx, weight, None, max_norm, norm_type)
    pos = Tensor._make(np.arange(n), False, None, 0)
    if input.ndim == 2:
        nbags = input.shape[0]
        bag = Tensor._make(np.arange(n) // max(input.shape[1], 1), False, None, 0)
        valid = None
    else:
        starts = offsets[:-1] if include_last_offset else offsets
        nbags = starts.shape[0]
        bag = (pos.unsqueeze(1) >= starts.unsqueeze(0)).sum(1) - 1
        valid = None  # the last bag runs to the end of input (offsets[-1] aside), as torch's
    if padding_idx is not None:
        kept = idx != padding_idx
        valid = kept if valid is None else valid & kept
    ids = Tensor._make(np.arange(nbags)[:, None], False, None, 0)
    mask = bag.unsqueeze(0) == ids  # (B, L): index k in bag b
    if valid is not None:
        mask = mask & valid.unsqueeze(0)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"{_OP}: per_sample_weights was not None. per_sample_weights is only supported "
            f"for mode='sum' (got mode='{mode}'). Please open a feature request on GitHub."
        )
    # each sample's own counts and sparse rows: F.embedding's batching rule
    rows = embedding(idx, weight, None, None, 2.0, scale_grad_by_freq, sparse)  # (L, D)
    if mode == "max":
        return _bag_max(rows, mask, n)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    out = mask.to(rows.dtype) @ rows
    if mode == "mean":
        out = out / mask.sum(1, keepdim=True).clamp(min=1).to(rows.dtype)
    return out


def _bag_max(rows: Tensor, mask: Tensor, n: int) -> Tensor:
    """mode='max' as PyTorch's CPU kernel scans a bag: the first row, replaced by each
    later one strictly greater. So a NaN first in its bag stays (nothing is greater), a
    later NaN is skipped, and an all -inf bag keeps its first row: the result is the largest
    non-NaN row, or the first row where that is NaN or -inf, whose gradient it takes."""
    finite = mask.unsqueeze(2) & ~rows.isnan().unsqueeze(0)  # (B, L, D)
    top = rows.unsqueeze(0).masked_fill(~finite, float("-inf")).max(1).values
    if n:
        first = rows.index_select(0, mask.to(rows.dtype).argmax(1))  # (B, D): each bag's first
        top = first.where(first.isnan() | (top == float("-inf")), top)
    return top.masked_fill(~mask.any(1, keepdim=True), 0.0)
