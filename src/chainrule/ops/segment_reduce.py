"""``segment_reduce``: reduce consecutive runs (segments) of ``data`` along ``axis``, the runs
given by their ``lengths`` or by ``offsets`` (segment ``s`` is ``offsets[s]:offsets[s + 1]``),
with ``reduce`` one of ``sum``, ``mean``, ``max``, ``min``, ``prod`` (torch.segment_reduce).

Graph code uses it for per-graph pooling and segment softmax over a batch of concatenated
node lists. It is :func:`scatter_reduce` (``include_self=False``) into one slot per segment,
each element's slot read off the offsets, so the value and the derivatives are that op's
(``max``/``min``: the gradient shared evenly by the tied elements; ``mean``: ``1 / count``;
``prod``: the product of the others). Positions outside ``offsets[0]:offsets[-1]`` go to a
spare slot that is dropped. An empty segment gives the reduction's identity (``-inf`` for
max, ``inf`` for min, 0 for sum, 1 for prod, NaN for mean), or ``initial`` when given;
``initial`` joins every segment's reduction (``mean``: ``(initial + sum) / count``) but is
never counted among max/min's ties, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import MetaArray, follow, meta_empty
from ._util import constant, int_dim
from .binary import where
from .scatter_reduce import scatter_reduce

__all__ = ["segment_reduce"]

_REDUCES = {"sum": "sum", "mean": "sum", "max": "amax", "amax": "amax", "min": "amin"}
_REDUCES |= {"amin": "amin", "prod": "prod"}
_IDENTITY = {"sum": 0.0, "amax": -np.inf, "amin": np.inf, "prod": 1.0}


def _offsets(data: Tensor, axis: int, lengths: Any, offsets: Any, unsafe: bool) -> np.ndarray:
    """The segment boundaries as an int64 array of shape ``data.shape[:axis] + (S + 1,)``."""
    given = lengths if lengths is not None else offsets
    name = "lengths" if lengths is not None else "offsets"
    if not isinstance(given, Tensor):
        raise TypeError(
            f"segment_reduce(): argument '{name}' must be Tensor, not {type(given).__name__}"
        )
    # the boundaries are small host-side metadata (read on the host from any device); meta
    # boundaries have none: their shape is checked, their values are left meta
    meta = type(given._data) is MetaArray
    arr = given._data if meta else np.asarray(given.detach().cpu().numpy())
    if arr.dtype.kind not in "iu":
        raise NotImplementedError(
            f"segment_reduce(): {name} must be an integer tensor, got dtype {arr.dtype}"
        )
    if arr.ndim - 1 != axis:
        raise RuntimeError(
            f"segment_reduce(): Expected axis to be the last dimension of {name} but got {axis}."
        )
    if arr.shape[:-1] != tuple(data.shape[:axis]):
        raise RuntimeError(
            f"segment_reduce(): {name} of shape {tuple(arr.shape)} must match data's leading "
            f"dims {tuple(data.shape[:axis])} before its last dim"
        )
    arr = arr.astype(np.int64)
    if meta:
        return meta_empty(arr.shape[:-1] + (arr.shape[-1] + (lengths is not None),), np.int64)
    if lengths is not None:
        if (arr < 0).any():
            raise RuntimeError("lengths contains negative value!")
        zeros = np.zeros(arr.shape[:-1] + (1,), np.int64)
        arr = np.concatenate([zeros, np.cumsum(arr, axis=-1)], axis=-1)
        if not unsafe and (arr[..., -1] != data.shape[axis]).any():
            raise RuntimeError(
                "segment_reduce(): Expected all rows of lengths along axis to sum to "
                f"data.size({axis}) = {data.shape[axis]} when !unsafe, got {arr[..., -1]}"
            )
    elif not unsafe and (
        (np.diff(arr, axis=-1) < 0).any() or (arr < 0).any() or (arr > data.shape[axis]).any()
    ):
        raise RuntimeError(
            f"segment_reduce(): offsets must be non-decreasing and within [0, "
            f"data.size({axis}) = {data.shape[axis]}], got {arr.tolist()}"
        )
    return arr


def segment_reduce(
    data: Tensor,
    reduce: str,
    *,
    lengths: Any = None,
    indices: Any = None,
    offsets: Any = None,
    axis: int = 0,
    unsafe: bool = False,
    initial: Any = None,
) -> Tensor:
    """Reduce the segments of ``data`` along ``axis`` (see the module docstring)."""
    if reduce not in _REDUCES:
        raise RuntimeError(
            f"segment_reduce(): reduce argument must be either sum, prod, mean, max or min, "
            f"got {reduce!r}"
        )
    if indices is not None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
    if lengths is None and offsets is None:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined.")
    if data.dtype.kind not in "fV":  # V: bfloat16
        raise NotImplementedError(
            f"segment_reduce(): implemented for floating tensors only, got {data.dtype}"
        )
    axis = int_dim(axis, data.ndim, "segment_reduce")
    offs = _offsets(data, axis, lengths, offsets, unsafe)
    n_seg = offs.shape[-1] - 1
    trail = data.shape[axis + 1 :]
    if type(offs) is MetaArray or type(data._data) is MetaArray:  # no boundaries to read
        slot = meta_empty(data.shape, np.int64)
        counts = meta_empty(offs.shape[:-1] + (n_seg,) + (1,) * len(trail), np.int64)
    else:
        slot, counts = _slots(data, axis, offs, n_seg)
    xp = get_array_module(data._data)

    def const(a: Any) -> Tensor:  # an array of the op's on data's device (meta: meta)
        return constant(follow(xp.asarray(a), data._data))

    index = const(slot if type(slot) is MetaArray else np.ascontiguousarray(slot))  # meta: no copy
    kind = _REDUCES[reduce]
    out_shape = data.shape[:axis] + (n_seg + 1,) + trail
    base = const(xp.full(out_shape, _IDENTITY[kind], dtype=data._data.dtype))
    out = scatter_reduce(base, axis, index, data, kind, include_self=False)
    out = out.narrow(axis, 0, n_seg)
    if reduce == "mean":
        if initial is not None:
            out = out + initial
        count = const(np.maximum(counts, 1).astype(data._data.dtype))
        out = out / count
        if initial is None:  # an empty segment's mean is 0 / 0
            nan = const(np.array(np.nan, dtype=data._data.dtype))
            out = where(const(counts > 0), out, nan)
        return out
    if initial is None:
        return out
    if kind == "sum":
        return out + initial
    if kind == "prod":
        return out * initial
    init = const(np.array(initial, dtype=data._data.dtype))
    keep = out >= init if kind == "amax" else out <= init
    keep = keep | out.isnan()  # a NaN in a segment is its max and min, as in torch
    return where(keep, out, init)


def _slots(data: Tensor, axis: int, offs: np.ndarray, n_seg: int) -> tuple:
    """(the slot of each element of ``data``: its segment, or the spare slot ``n_seg``;
    each segment's count of elements, shaped to divide the reduced result)."""
    rows = offs.reshape(-1, n_seg + 1)
    pos = np.arange(data.shape[axis])
    # slot of each position: the number of segment ends at or before it (a binary search
    # per row: O(length log segments) memory-free, not a segments x length comparison);
    # positions outside every segment go to the spare slot n_seg
    slot = np.stack([np.searchsorted(row[1:], pos, side="right") for row in rows])
    slot[pos[None, :] < rows[:, :1]] = n_seg
    lead = data.shape[: axis + 1]
    trail = data.shape[axis + 1 :]
    counts = np.zeros((rows.shape[0], n_seg + 1), np.int64)
    np.add.at(counts, (np.arange(rows.shape[0])[:, None], slot), 1)
    counts = counts[:, :n_seg].reshape(offs.shape[:-1] + (n_seg,) + (1,) * len(trail))
    slot = np.broadcast_to(slot.reshape(lead + (1,) * len(trail)), data.shape)
    return slot, counts
