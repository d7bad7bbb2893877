"""Map-style datasets: ``Dataset``, ``TensorDataset``, ``Subset``, ``ConcatDataset``,
``StackDataset``, splits.

A map-style dataset answers ``len(ds)`` and ``ds[i]``; one that also defines
``__getitems__(indices)`` is asked for a whole batch of samples at once (PyTorch's protocol;
the DataLoader then collates the list it returns). ``TensorDataset`` additionally offers
``_gather(indices)``, which the DataLoader uses to build a whole batch with one fancy index
per tensor instead of a Python loop over samples (the difference is large for small models).
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from ...autograd.tensor import Tensor
from ...ops.parser_type_errors import randperm_error
from ...random import Generator, default_generator, gen

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """Base class for map-style datasets: subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index: int) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class _NotATensorError(TypeError, AttributeError):
    """TensorDataset given something that is no tensor (a number, None, a list): PyTorch
    fails reading its ``.size(0)`` (AttributeError); a TypeError too, as a wrong type."""


def _as_tensor(x: Any) -> Tensor:
    """A tensor (or a NumPy array, wrapped: chainrule's extension) of TensorDataset; anything
    else raises, as PyTorch's ``tensor.size(0)`` does (a NumPy scalar's ``size`` is an int,
    its TypeError; anything else has none, its AttributeError)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._make(x, False, None, 0)
    kind = TypeError if isinstance(x, np.generic) else _NotATensorError
    raise kind(f"TensorDataset: expected tensors, got {type(x).__name__} ({x!r:.40})")


def _take(t: Tensor, index: Any) -> Tensor:
    """``t[index]`` without recording autograd history for plain data tensors (fast path)."""
    if t.requires_grad:
        return t[index]
    if isinstance(index, Tensor):
        index = index._data
    if isinstance(index, str) or isinstance(index, float):
        raise TypeError(
            f"TensorDataset: index must be an int, slice or integer array, got "
            f"{type(index).__name__} {index!r}"
        )
    try:
        return Tensor._make(t._data[index], False, None, 0)
    except IndexError as err:
        raise IndexError(f"TensorDataset: {err} (dataset of length {t.shape[0]})") from None


class TensorSizeMismatchError(ValueError, AssertionError):
    """Tensors of a ``TensorDataset`` whose first dimensions differ: PyTorch's AssertionError
    ("Size mismatch between tensors"), and a ValueError as chainrule raised before."""


class ZeroDimTensorError(ValueError, IndexError):
    """A 0-d tensor given to ``TensorDataset``: PyTorch's IndexError (it reads ``size(0)``),
    and a ValueError as chainrule raised before."""


class TensorDataset(Dataset):
    """Wraps tensors (or NumPy arrays) sharing a first dimension; sample ``i`` is ``(t[i], ...)``.

    Args:
        *tensors: Tensors or arrays with the same size in dimension 0.

    Raises:
        ValueError: if no tensors are given (PyTorch accepts none, then fails on use).
        TensorSizeMismatchError: (a ValueError and PyTorch's AssertionError) if their first
            dimensions differ.
        ZeroDimTensorError: (a ValueError and PyTorch's IndexError) for a 0-d tensor.
    """

    def __init__(self, *tensors: Any):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        self.tensors = tuple(_as_tensor(t) for t in tensors)
        shapes = [tuple(t.shape) for t in self.tensors]
        if any(t.ndim == 0 for t in self.tensors):
            raise ZeroDimTensorError(
                "Dimension specified as 0 but tensor has no dimensions\nTensorDataset: every "
                f"tensor needs a first dimension to index samples by, got shapes {shapes}"
            )
        if len({t.shape[0] for t in self.tensors}) != 1:
            raise TensorSizeMismatchError(
                "TensorDataset: Size mismatch between tensors: all tensors must have the same "
                f"size in dimension 0, got shapes {shapes}"
            )

    def __getitem__(self, index: Any) -> tuple:
        return tuple(_take(t, index) for t in self.tensors)

    def _gather(self, indices: Any) -> tuple:
        """The batch at ``indices`` (ints/array), one fancy index per tensor."""
        idx = np.asarray(indices, dtype=np.int64)
        return tuple(_take(t, idx) for t in self.tensors)

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])


class Subset(Dataset):
    """The part of ``dataset`` at ``indices`` (``Subset(ds, idx)[i] == ds[idx[i]]``)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, (list, np.ndarray)):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list) -> list:
        """The samples at ``indices``, in one call when the dataset takes batches."""
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return getitems([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def _gather(self, indices: Any) -> Any:
        base = np.asarray(self.indices, dtype=np.int64)
        return self.dataset._gather(base[np.asarray(indices, dtype=np.int64)])

    def __len__(self) -> int:
        return len(self.indices)


def _has_gather(ds: Any) -> bool:
    """Whether ``ds`` can build a batch in one step (a TensorDataset, possibly in Subsets)."""
    if type(ds) is Subset:
        return _has_gather(ds.dataset)
    if isinstance(ds, TensorDataset):  # a subclass overriding __getitem__ must be honoured
        return type(ds).__getitem__ is TensorDataset.__getitem__
    return callable(getattr(ds, "_gather", None))


class ConcatDataset(Dataset):
    """Several datasets one after another: index ``i`` runs through them in order."""

    def __init__(self, datasets: Sequence[Dataset]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        from .iterable import IterableDataset  # in here: iterable imports dataset

        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError(
                    f"ConcatDataset does not support IterableDataset, got {type(d).__name__} "
                    f"(use ChainDataset to chain iterable datasets)"
                )
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        if idx < 0:
            if -idx > len(self):  # PyTorch raises ValueError here (IndexError past the end)
                raise ValueError(
                    f"ConcatDataset: absolute value of index should not exceed dataset "
                    f"length, got index {idx} for length {len(self)}"
                )
            idx = len(self) + idx
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        if d >= len(self.datasets):
            raise IndexError(f"ConcatDataset: index {idx} out of range for length {len(self)}")
        start = self.cumulative_sizes[d - 1] if d > 0 else 0
        return self.datasets[d][idx - start]


class StackDataset(Dataset):
    """Several datasets side by side: sample ``i`` is ``(a[i], b[i], ...)`` for
    ``StackDataset(a, b)``, or ``{"x": a[i], "y": b[i]}`` for ``StackDataset(x=a, y=b)``
    (``torch.utils.data.StackDataset``). Parts of a complex input (images and their
    captions, say) stay in their own datasets and arrive together.

    Raises:
        ValueError: if no dataset is given, if both positional and keyword datasets are
            given, or if their lengths differ.
    """

    datasets: tuple | dict

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise ValueError(
                "StackDataset: give the datasets either positionally (samples are tuples) "
                "or by keyword (samples are dicts), not both"
            )
        parts = list(args) if args else list(kwargs.values())
        if not parts:
            raise ValueError("StackDataset: at least one dataset must be given")
        lengths = [len(d) for d in parts]
        if len(set(lengths)) != 1:
            raise ValueError(f"StackDataset: the datasets' lengths differ: {lengths}")
        self._length = lengths[0]
        self.datasets = tuple(args) if args else dict(kwargs)

    def __getitem__(self, index: Any) -> tuple | dict:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list) -> list:
        """A batch of samples; each part dataset is asked for all of them at once when it
        takes batches (``__getitems__``), else one by one."""
        named = isinstance(self.datasets, dict)
        parts = self.datasets.items() if named else enumerate(self.datasets)
        columns = {}
        for key, d in parts:
            getitems = getattr(d, "__getitems__", None)
            column = getitems(indices) if callable(getitems) else [d[i] for i in indices]
            if len(column) != len(indices):
                raise ValueError(
                    f"StackDataset: part {key!r} returned {len(column)} samples from "
                    f"__getitems__ for {len(indices)} indices"
                )
            columns[key] = column
        if named:
            return [{k: col[j] for k, col in columns.items()} for j in range(len(indices))]
        return [tuple(col[j] for col in columns.values()) for j in range(len(indices))]

    def __len__(self) -> int:
        return self._length


def random_split(
    dataset: Dataset, lengths: Sequence[int | float], generator: Generator | None = None
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets.

    Args:
        dataset: the dataset to split.
        lengths: subset sizes summing to ``len(dataset)``, or fractions summing to 1 (the
            floors are taken and the remainder is handed out one by one, as in PyTorch).
        generator: the random stream (default: chainrule's default generator, so
            ``cr.manual_seed`` makes the split reproducible).

    Returns:
        A list of ``Subset`` objects, one per length.
    """
    n = len(dataset)
    lengths = list(lengths)
    # PyTorch's rule: lengths summing to 1 (and not more) are fractions, ints such as [0, 1]
    # included
    if lengths and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        if any(f < 0 for f in lengths):
            raise ValueError(f"random_split: fractions must be non-negative, got {lengths}")
        counts = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:  # PyTorch's warning, fractions only
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
        lengths = counts
    if isinstance(total := sum(lengths), float) and total == n:  # PyTorch's randperm(total)
        raise randperm_error(total, generator if generator is not None else default_generator)
    if any(int(x) != x or x < 0 for x in lengths):
        raise ValueError(
            f"random_split: lengths must be non-negative integers or fractions "
            f"summing to 1, got {lengths}"
        )
    lengths = [int(x) for x in lengths]
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: sum of input lengths ({sum(lengths)}) does not equal "
            f"the length of the input dataset ({n})"
        )
    perm = gen(generator).permutation(n)
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset : offset + length].tolist()))
        offset += length
    return out
