"""``default_collate``: merge a list of samples into a batch, as ``torch.utils.data`` does."""

from __future__ import annotations

import collections.abc as cabc
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...ops import stack

__all__ = ["default_collate", "default_convert"]


def _stack_tensors(batch: Sequence[Tensor]) -> Tensor:
    if any(t.requires_grad for t in batch):
        return stack(list(batch))
    shapes = {tuple(t.shape) for t in batch}
    if len(shapes) != 1:
        raise RuntimeError(
            f"default_collate: each tensor in a batch must have the same shape, "
            f"got shapes {sorted(shapes)}"
        )
    xp = get_array_module(batch[0]._data)
    return Tensor._make(xp.stack([t._data for t in batch]), False, None, 0)


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, like ``torch.utils.data.default_collate``.

    Tensors and NumPy arrays are stacked along a new first dimension (dtype kept); Python
    floats become a float64 tensor, ints an int64 tensor, bools a bool tensor; strings are
    returned as given (a list from a batch, a tuple from a field of tuple samples, as in
    PyTorch); dicts, tuples and lists are collated field by field (tuples become lists, as in
    PyTorch; namedtuples keep their type).

    Raises:
        TypeError: for an element type it cannot collate.
        RuntimeError: when stacked elements differ in shape or sequences differ in length.
    """
    if len(batch) == 0:
        raise ValueError("default_collate: cannot collate an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OUS":
            raise TypeError(f"default_collate: cannot collate numpy arrays of dtype {elem.dtype}")
        shapes = {a.shape for a in batch}
        if len(shapes) != 1:
            raise RuntimeError(
                f"default_collate: each array in a batch must have the same "
                f"shape, got shapes {sorted(shapes)}"
            )
        return Tensor._make(np.stack(batch), False, None, 0)
    if isinstance(elem, np.generic) and elem.dtype.kind not in "OUS":
        return Tensor._make(np.asarray(batch, dtype=elem.dtype), False, None, 0)
    if isinstance(elem, bool):
        return Tensor._make(np.asarray(batch, dtype=np.bool_), False, None, 0)
    if isinstance(elem, int):
        return Tensor._make(np.asarray(batch, dtype=np.int64), False, None, 0)
    if isinstance(elem, float):
        return Tensor._make(np.asarray(batch, dtype=np.float64), False, None, 0)
    if isinstance(elem, (str, bytes)):
        return batch  # as PyTorch: unchanged (a tuple when it is a transposed field)
    if isinstance(elem, cabc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, cabc.Sequence):
        if len({len(e) for e in batch}) != 1:
            raise RuntimeError(
                "default_collate: each element in list of batch should be of equal size"
            )
        return [default_collate(s) for s in zip(*batch)]
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
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, cabc.Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(d) for d in data]
    return data
