"""``default_collate``: merge a list of samples into a batch, as ``torch.utils.data`` does."""

from __future__ import annotations

import collections.abc as cabc
import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...creation import as_tensor
from ...ops import stack

__all__ = ["default_collate", "default_convert"]


def _stack_tensors(batch: Sequence[Tensor]) -> Tensor:
    datas = []
    for i, t in enumerate(batch):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"default_collate: expected a Tensor as element {i} of the batch (element 0 "
                f"is one), got {type(t).__name__}"
            )
        datas.append(t._data)
    shapes = {d.shape for d in datas}
    if len(shapes) != 1:
        raise RuntimeError(
            f"default_collate: each tensor in a batch must have the same shape, "
            f"got shapes {sorted(shapes)}"
        )
    dtype = datas[0].dtype
    if any(t.requires_grad for t in batch) or any(d.dtype != dtype for d in datas):
        return stack(list(batch))  # records history / promotes dtypes as torch.stack does
    xp = get_array_module(datas[0])
    return Tensor._make(xp.stack(datas), False, None, 0)


def _stack_arrays(batch: Sequence[Any]) -> Tensor:
    """Stack NumPy arrays; mixed dtypes (or non-array elements) are turned into Tensors
    first, so dtypes promote as ``torch.stack`` does (float32 with int64 stays float32)."""
    dtype = batch[0].dtype
    if all(isinstance(a, np.ndarray) and a.dtype == dtype for a in batch):
        shapes = {a.shape for a in batch}
        if len(shapes) != 1:
            raise RuntimeError(
                f"default_collate: each array in a batch must have the same "
                f"shape, got shapes {sorted(shapes)}"
            )
        return Tensor._make(np.stack(batch), False, None, 0)
    return _stack_tensors([as_tensor(a) for a in batch])


def _collate_ints(batch: Sequence[Any]) -> Tensor:
    """Python ints/bools as ``torch.tensor(batch)``: bool, int64, or the default float dtype
    when a float is mixed in (a float is never truncated to an int)."""
    arr = np.asarray(batch)
    if arr.dtype.kind == "b":
        return Tensor._make(arr, False, None, 0)
    if arr.dtype.kind == "i":
        return Tensor._make(arr.astype(np.int64, copy=False), False, None, 0)
    return Tensor._new(list(batch))  # floats/complex mixed in, or an error for other types


def _rebuild(elem: Any, values: Any) -> Any:
    """A container of ``elem``'s type holding ``values`` (a dict for a mapping, a list for a
    sequence, when the type cannot be rebuilt), as ``default_collate`` does in PyTorch."""
    if isinstance(elem, cabc.Mapping):
        try:
            clone = copy.copy(elem)
            clone.update(values)
            return clone
        except (TypeError, AttributeError):
            return values
    try:
        clone = copy.copy(elem)
        clone[:] = values
        return clone
    except TypeError:
        try:
            return type(elem)(values)
        except TypeError:
            return values


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, like ``torch.utils.data.default_collate``.

    Tensors and NumPy arrays are stacked along a new first dimension (dtype kept); Python
    floats become a float64 tensor, ints an int64 tensor, bools a bool tensor; strings are
    returned as given (a list from a batch, a tuple from a field of tuple samples, as in
    PyTorch); dicts, tuples and lists are collated field by field (tuples become lists, as in
    PyTorch; namedtuples keep their type).

    Raises:
        TypeError: for an element type it cannot collate.
        IndexError: for an empty batch.
        RuntimeError: when stacked elements differ in shape or sequences differ in length.
    """
    if isinstance(batch, Tensor):  # PyTorch's torch.stack of a Tensor (batch_size=None)
        if batch.ndim == 0:  # PyTorch's batch[0] of a 0-d tensor
            raise IndexError(
                "default_collate: expected a sequence of samples, got a 0-d Tensor (with "
                "batch_size=None a DataLoader's samples are not batched: use default_convert)"
            )
        raise TypeError(
            "default_collate: expected a sequence of samples, got a Tensor (with "
            "batch_size=None a DataLoader's samples are not batched: use default_convert)"
        )
    if isinstance(batch, np.ndarray) and batch.ndim == 0:  # PyTorch's batch[0] fails
        raise IndexError(
            "default_collate: expected a sequence of samples, got a 0-d NumPy array (with "
            "batch_size=None a DataLoader's samples are not batched: use default_convert)"
        )
    if isinstance(batch, cabc.Sized) and len(batch) == 0:  # IndexError, as PyTorch's batch[0]
        raise IndexError("default_collate: cannot collate an empty batch")
    elem = batch[0]  # a batch that is no sequence fails here, as in PyTorch (a NumPy scalar)
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OUS":
            raise TypeError(f"default_collate: cannot collate numpy arrays of dtype {elem.dtype}")
        return _stack_arrays(batch)
    if isinstance(elem, np.generic) and elem.dtype.kind not in "OUS":
        if all(isinstance(e, np.generic) and e.dtype == elem.dtype for e in batch):
            return Tensor._make(np.asarray(batch, dtype=elem.dtype), False, None, 0)
        return as_tensor(list(batch))  # PyTorch's torch.as_tensor(batch): dtypes promote
    if isinstance(elem, (int, float)) and isinstance(batch, (bytes, bytearray)):
        raise TypeError(  # PyTorch's torch.tensor(b"...")
            f"default_collate: cannot make a tensor of {type(batch).__name__} (a "
            f"{type(batch).__name__} sample given as the whole batch)"
        )
    if isinstance(elem, int):  # bools too
        return _collate_ints(batch)
    if isinstance(elem, float):
        return Tensor._make(np.asarray(batch, dtype=np.float64), False, None, 0)
    if isinstance(elem, (str, bytes)):
        return batch  # as PyTorch: unchanged (a tuple when it is a transposed field)
    if isinstance(elem, cabc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        return collated if type(elem) is dict else _rebuild(elem, collated)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, cabc.Sequence):
        if len({len(e) for e in batch}) != 1:
            raise RuntimeError(
                "default_collate: each element in list of batch should be of equal size"
            )
        collated = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, (list, tuple)) and type(elem) in (list, tuple):
            return collated  # tuples become lists, as in PyTorch
        return _rebuild(elem, collated)
    raise TypeError(
        f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
        f"or lists; found {type(elem).__name__}"
    )


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays and scalars into Tensors, recursing into containers, without
    batching: what a DataLoader with ``batch_size=None`` applies to each sample (PyTorch's
    ``default_convert``). Tuples become lists, namedtuples keep their type, everything else
    (numbers, strings, Tensors) is returned unchanged."""
    if isinstance(data, np.ndarray):
        if data.dtype.kind in "OUSV":
            return data
        return Tensor._make(data, False, None, 0)
    if isinstance(data, np.generic) and data.dtype.kind not in "OUSV":
        return Tensor._make(np.asarray(data), False, None, 0)
    if isinstance(data, cabc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        return converted if type(data) is dict else _rebuild(data, converted)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, cabc.Sequence) and not isinstance(data, (str, bytes)):
        converted = [default_convert(d) for d in data]
        return converted if type(data) is list else _rebuild(data, converted)
    return data
