"""``DataLoader``: batches from a dataset, shuffled reproducibly, collated into Tensors.

Two paths produce identical batches:

* the general path fetches ``dataset[i]`` per index and calls ``collate_fn`` on the list;
* the fast path, taken when the dataset is a ``TensorDataset`` (possibly inside ``Subset``s)
  and the default collate is used, gathers a whole batch with one fancy index per tensor.
"""
from __future__ import annotations

import collections.abc as cabc
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...random import Generator
from .dataset import Dataset, _has_gather
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler


def _stack_tensors(batch: Sequence[Tensor]) -> Tensor:
    if any(t.requires_grad for t in batch):
        from ...ops import stack

        return stack(list(batch))
    shapes = {tuple(t.shape) for t in batch}
    if len(shapes) != 1:
        raise RuntimeError(f"default_collate: each tensor in a batch must have the same shape, "
                           f"got shapes {sorted(shapes)}")
    xp = type(batch[0].data).__module__.startswith("cupy")
    if xp:
        import cupy  # type: ignore

        return Tensor._make(cupy.stack([t.data for t in batch]), False, None, 0)
    return Tensor._make(np.stack([t.data for t in batch]), False, None, 0)


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, like ``torch.utils.data.default_collate``.

    Tensors and NumPy arrays are stacked along a new first dimension (dtype kept); Python
    floats become a float64 tensor, ints an int64 tensor, bools a bool tensor; strings stay a
    list; dicts, tuples and lists are collated field by field (tuples become lists, as in
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
            raise RuntimeError(f"default_collate: each array in a batch must have the same "
                               f"shape, got shapes {sorted(shapes)}")
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
        return list(batch)
    if isinstance(elem, cabc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, cabc.Sequence):
        if len({len(e) for e in batch}) != 1:
            raise RuntimeError("default_collate: each element in list of batch should be of "
                               "equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                    f"or lists; found {type(elem).__name__}")


class DataLoader:
    """Iterate over a dataset in (optionally shuffled) mini-batches.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``).
        batch_size: samples per batch, or None to yield single samples uncollated.
        shuffle: reshuffle every epoch (uses ``generator``, or a per-epoch seed drawn from the
            default generator, so ``cr.manual_seed`` makes runs reproducible).
        sampler: a custom index sampler (mutually exclusive with ``shuffle``).
        batch_sampler: yields lists of indices (exclusive with batch_size/shuffle/sampler/
            drop_last).
        num_workers: must be 0 (samples are loaded in the main process).
        collate_fn: merges a list of samples into a batch (default: ``default_collate``).
        drop_last: drop the last incomplete batch.
        generator: the random stream for shuffling.

    Example:
        >>> import chainrule as cr
        >>> ds = cr.utils.data.TensorDataset(cr.arange(10.0), cr.arange(10))
        >>> [len(x) for x, y in cr.utils.data.DataLoader(ds, batch_size=4)]
        [4, 4, 2]
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | None = None, batch_sampler: Any = None,
                 num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, generator: Generator | None = None,
                 **kwargs: Any):
        if num_workers != 0:
            raise ValueError(f"DataLoader: num_workers={num_workers} is not supported; "
                             f"chainrule loads batches in the main process (use num_workers=0)")
        unknown = set(kwargs) - {"prefetch_factor", "persistent_workers", "pin_memory_device",
                                 "multiprocessing_context", "in_order"}
        if unknown:
            raise TypeError(f"DataLoader: unexpected keyword arguments {sorted(unknown)}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size = None
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is "
                             "mutually exclusive with drop_last")
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = 0
        self.collate_fn = collate_fn
        self.generator = generator
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    def _fast(self) -> bool:
        return (self.collate_fn in (None, default_collate) and _has_gather(self.dataset)
                and isinstance(self.batch_sampler, BatchSampler))

    def __iter__(self) -> Iterator[Any]:
        if not self._auto_collation:
            convert = self.collate_fn or (lambda x: x)
            for i in self.sampler:
                yield convert(self.dataset[i])
            return
        if self._fast():
            for idx in self.batch_sampler._index_batches():
                yield list(self.dataset._gather(idx))
            return
        collate = self.collate_fn or default_collate
        for idx in self.batch_sampler:
            yield collate([self.dataset[int(i)] for i in idx])

    def __len__(self) -> int:
        if self._auto_collation:
            return len(self.batch_sampler)
        return len(self.sampler)
