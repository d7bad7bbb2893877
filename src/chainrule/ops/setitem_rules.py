"""The rules of ``x[idx] = value`` that ``setitem`` applies before it writes, as PyTorch:
which index writes through ``index_put_`` (and so refuses a value of another dtype), the
uint8-mask refusal and the mask-shape error that comes first, a value overlapping the
written region, the value expanded to a basic region (PyTorch's ``ExpandBackward0`` under
``CopySlices``) and the node name the write records."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from .inplace_overlap import check_no_overlap, check_partial_overlap
from .subscript_index import convert_index, view_index

__all__ = [
    "check_mask_shape",
    "check_put_dtype",
    "check_value_overlap",
    "expand_to_region",
    "is_index_put",
    "lone_byte_mask",
    "setitem_node_name",
]


def check_mask_shape(x: Tensor, idx: Any) -> None:
    """The IndexError of ``x[idx]`` for a mask that does not fit its dims (PyTorch checks
    that before masked_fill_ refuses a uint8 mask)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the uint8 deprecation: warned for the write
        converted = convert_index(idx)
    try:
        x._data[view_index(converted)]
    except IndexError as err:
        raise IndexError(f"setitem: {err} (tensor of shape {tuple(x.shape)})") from None


def lone_byte_mask(idx: Any) -> bool:
    """Whether the one advanced item of ``idx`` (beside ints, 0-d integer tensors, slices,
    None and ``...``) is a uint8 mask: ``x[mask] = 1`` goes through masked_fill_ there."""
    parts = idx if type(idx) is tuple else (idx,)
    advanced = [
        p
        for p in parts
        if isinstance(p, (list, bool, np.bool_))
        or (isinstance(p, (Tensor, np.ndarray)) and (p.ndim or p.dtype == np.bool_))
    ]
    if len(advanced) != 1 or not isinstance(advanced[0], (Tensor, np.ndarray)):
        return False  # (a NumPy uint8 array is a mask too, as PyTorch reads it)
    return advanced[0].ndim > 0 and advanced[0].dtype == np.uint8


def check_put_dtype(x: Tensor, idx: Any, value: Any) -> None:
    if isinstance(value, Tensor) and value.dtype != x.dtype and is_index_put(idx, value):
        # PyTorch's IndexErrors for a mask that does not fit and for index arrays that do
        # not broadcast come first
        try:
            check_mask_shape(x, idx)
        except IndexError as err:
            if "boolean index" in str(err) or "too many indices" in str(err):
                raise
        _check_index_broadcast(idx)
        _check_empty_dims(x, idx)
        raise RuntimeError(
            f"setitem: Index put requires the source and destination dtypes match, got "
            f"{x.dtype} for the destination and {value.dtype} for the source (an index "
            "tensor writes through index_put_, which does not convert: use value.to(x.dtype))"
        )


def _check_index_broadcast(idx: Any) -> None:
    """The IndexError of index arrays (a mask and a bool standing for their nonzero count)
    whose shapes do not broadcast together."""
    shapes = []
    for p in idx if type(idx) is tuple else (idx,):
        if isinstance(p, (bool, np.bool_)):
            shapes.append((int(p),))
        elif isinstance(p, (Tensor, np.ndarray, list)):
            a = p._data if isinstance(p, Tensor) else np.asarray(p)
            if a.dtype == np.bool_:
                shapes.append((int(np.count_nonzero(a)),))
            elif a.dtype.kind in "iu":
                shapes.append(a.shape)
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        listed = ", ".join(str(list(s)) for s in shapes)
        raise IndexError(
            f"shape mismatch: indexing tensors could not be broadcast together with shapes {listed}"
        ) from None


def _check_empty_dims(x: Tensor, idx: Any) -> None:
    """The IndexError of an index array with positions into a dim of size 0."""
    if 0 not in x.shape:
        return
    parts = convert_index(idx)
    parts = parts if type(parts) is tuple else (parts,)

    def takes(p: Any) -> int:
        if p is None or p is Ellipsis or isinstance(p, (bool, np.bool_)):
            return 0
        return p.ndim if isinstance(p, np.ndarray) and p.dtype == np.bool_ else 1

    spare = x.ndim - sum(takes(p) for p in parts)
    d = 0
    for p in parts:
        if p is Ellipsis:
            d, spare = d + max(spare, 0), 0  # (a later ... stands for no dim)
            continue
        array = isinstance(p, np.ndarray) and p.dtype.kind in "iu"
        if array and p.size and d < x.ndim and x.shape[d] == 0:
            raise IndexError(f"index is out of bounds for dimension {d} with size 0")
        d += takes(p)


def is_index_put(idx: Any, value: Tensor) -> bool:
    """Whether PyTorch writes ``x[idx] = value`` with ``index_put_`` (which refuses a value
    of another dtype): an index array, a 0-d bool tensor or a bool in a tuple ``idx``,
    except one bool mask (beside ints, slices, None and ``...`` alone) with a one-element
    value (``masked_fill_``, which converts). A bare ``x[True] = v`` copies into
    ``x.unsqueeze(0)``, converting."""
    if isinstance(idx, bool):
        return False
    parts = idx if type(idx) is tuple else (idx,)
    advanced = [
        p
        for p in parts
        if getattr(p, "ndim", 0) > 0
        or (getattr(p, "ndim", None) == 0 and p.dtype == np.bool_)
        or isinstance(p, (bool, np.bool_))  # x[i, True] = v: a one-element mask, index_put_
    ]
    if len(advanced) == 1 and getattr(advanced[0], "ndim", 0) > 0:
        if advanced[0].dtype == np.bool_:
            return value.numel() != 1
    return bool(advanced)


def setitem_node_name(idx: Any) -> str:
    """PyTorch's node for ``x[idx] = v``: a write through a view (``CopySlices``) when ``idx``
    is basic (ints, 0-d integer or bool indices, slices, None, ...), else ``index_put_``."""
    parts = idx if type(idx) is tuple else (idx,)
    for p in parts:
        if getattr(p, "ndim", 0) > 0 or isinstance(p, (list, tuple)):
            return "IndexPutBackward0"
    return "torch::autograd::CopySlices"


def expand_to_region(x: Tensor, idx: Any, value: Tensor) -> Tensor:
    """``value`` broadcast to the region a basic ``idx`` names, as PyTorch's copy into that
    view expands it first (its graph shows an ``ExpandBackward0`` under ``CopySlices``). A
    0-d bool tensor index goes through PyTorch's index_put path there, which does not."""
    parts = idx if type(idx) is tuple else (idx,)
    if any(getattr(p, "dtype", None) == np.bool_ for p in parts):
        return value
    try:
        shape = x._data[view_index(idx)].shape
    except (IndexError, TypeError, ValueError):
        return value  # write_index says what is wrong with the index
    if tuple(value.shape) == shape or value.ndim > len(shape):
        return value
    try:
        return value.expand(*shape)
    except RuntimeError:
        return value  # not broadcastable: write_index raises PyTorch's error


def check_value_overlap(x: Tensor, idx: Any, value: Tensor) -> None:
    """``x[idx] = value`` with ``value`` sharing ``x``'s memory: the written region and the
    value may be the same elements or apart, not overlap partially; a write through
    ``index_put_`` (:func:`is_index_put`) refuses any overlap of ``value`` with ``x``, as
    PyTorch's ``index_put_`` does."""
    if is_index_put(idx, value):
        check_no_overlap(x, value, "index_put_")
        return
    try:
        region = x._data[view_index(idx)]
    except (IndexError, TypeError, ValueError):
        return  # write_index says what is wrong with the index
    if region.base is not None:
        check_partial_overlap(region, value._data, "setitem")
