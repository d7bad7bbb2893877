"""``DataLoader``: batches from a dataset, shuffled reproducibly, collated into Tensors.

Two paths produce identical batches in the main process:

* the general path fetches ``dataset[i]`` per index and calls ``collate_fn`` on the list;
* the fast path, taken when the dataset is a ``TensorDataset`` (possibly inside ``Subset``s)
  and the default collate is used, gathers a whole batch with one fancy index per tensor.

With ``num_workers > 0`` the same fetching runs in worker processes
(:mod:`._multiprocessing_iter`, :mod:`.worker`); indices are still drawn in the main
process, so the batches and their order are the same as with ``num_workers=0``.
"""

from __future__ import annotations

import itertools
import operator
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from ...random import Generator, gen
from ._multiprocessing_iter import MultiProcessingIterator
from .collate import default_collate, default_convert
from .datapipes.datapipe import IterDataPipe
from .datapipes.graph_settings import apply_shuffle_settings
from .datapipes.loading import LoaderDataPipe
from .dataset import Dataset, _has_gather
from .iterable import IterableDataset
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    _InfiniteConstantSampler,
)
from .worker import Fetcher, FetchSpec

__all__ = ["DataLoader", "default_collate", "default_convert"]

# PyTorch's words when pin_memory=True finds no accelerator (chainrule never has one)
_PIN_MEMORY_WARNING = (
    "'pin_memory' argument is set as true but no accelerator is found, then device pinned "
    "memory won't be used."
)


class DataLoader:
    """Iterate over a dataset in (optionally shuffled) mini-batches, like PyTorch's.

    Args:
        dataset: a map-style dataset (``__getitem__``/``__len__``) or an ``IterableDataset``.
        batch_size: samples per batch, or None to yield single samples uncollated.
        shuffle: reshuffle every epoch (uses ``generator``, or a per-epoch seed drawn from the
            default generator, so ``cr.manual_seed`` makes runs reproducible).
        sampler: a custom index sampler (mutually exclusive with ``shuffle``).
        batch_sampler: yields lists of indices (exclusive with batch_size/shuffle/sampler/
            drop_last).
        num_workers: worker processes loading batches (0: load in the main process). Each
            worker seeds chainrule's, NumPy's and Python's generators with
            ``base_seed + worker_id`` (``get_worker_info().seed``), where ``base_seed`` is
            drawn from ``generator`` (or the default generator) every epoch.
        collate_fn: merges a list of samples into a batch (default: ``default_collate``;
            with ``batch_size=None``, ``default_convert`` turns NumPy arrays into Tensors).
        pin_memory: accepted for compatibility; a no-op (page-locked memory only matters for
            copies to a GPU, and chainrule's CPU tensors are already where they are used).
        drop_last: drop the last incomplete batch.
        timeout: seconds to wait for a batch from the workers (0: wait indefinitely, while
            still noticing a worker that died).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after seeding.
        multiprocessing_context: ``'fork'``, ``'spawn'``, ``'forkserver'`` or a context
            (default: the platform's; with spawn the dataset and functions must pickle).
        generator: the random stream for shuffling and for worker base seeds.
        prefetch_factor: batches in flight per worker (default 2 when ``num_workers > 0``).
        persistent_workers: keep the workers alive between epochs.
        pin_memory_device: accepted with ``pin_memory`` (no-op).
        in_order: accepted; batches always come in the sampler's order.

    Raises:
        ValueError: for invalid or conflicting options (PyTorch's messages).

    Example:
        >>> import chainrule as cr
        >>> ds = cr.utils.data.TensorDataset(cr.arange(10.0), cr.arange(10))
        >>> [len(x) for x, y in cr.utils.data.DataLoader(ds, batch_size=4)]
        [4, 4, 2]
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | None = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable | None = None,
        multiprocessing_context: Any = None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ):
        _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers)
        iterable = isinstance(dataset, IterableDataset)
        datapipe = isinstance(dataset, IterDataPipe)
        if datapipe:  # shuffle switches the pipe's own shuffles, in place (PyTorch's rule)
            apply_shuffle_settings(dataset, shuffle=shuffle)
        if iterable:
            for name, value in (
                ("shuffle", None if datapipe else shuffle),
                ("sampler", sampler),
                ("batch_sampler", batch_sampler),
            ):
                if value not in (None, False):
                    raise ValueError(
                        f"DataLoader with IterableDataset: expected unspecified "
                        f"{name} option, but got {name}={value!r}"
                    )
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0
        ):
            raise ValueError(  # PyTorch's words (its BatchSampler's)
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with "
                    "batch_size, shuffle, sampler, and drop_last"
                )
            batch_size = None
        elif batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None option disables auto-batching and is "
                "mutually exclusive with drop_last"
            )
        if sampler is None:  # an iterable dataset reports an endless one, as PyTorch's
            sampler = (
                _InfiniteConstantSampler()
                if iterable
                else RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # (checks drop_last)
        if collate_fn is None:  # the attribute names the function used, as PyTorch's
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.generator = generator
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = (
            (2 if prefetch_factor is None else prefetch_factor) if num_workers > 0 else None
        )
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._iterable = iterable
        self._iterator: MultiProcessingIterator | None = None
        self._datapipe_seed: int | None = None

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    def _fast(self) -> bool:
        return (
            self.collate_fn in (None, default_collate)
            and _has_gather(self.dataset)
            and isinstance(self.batch_sampler, BatchSampler)
        )

    def _fetch_spec(self) -> FetchSpec:
        collate = self.collate_fn
        if collate is None:
            collate = default_collate if self._auto_collation else default_convert
        dataset = self.dataset
        if isinstance(dataset, IterDataPipe):  # seeded per epoch, sharded per worker
            dataset = LoaderDataPipe(dataset, self._datapipe_seed)
        return FetchSpec(
            dataset=dataset,
            iterable=self._iterable,
            auto_collation=self._auto_collation,
            batch_size=self.batch_size,
            drop_last=self.drop_last,
            collate_fn=collate,
            fast=not self._iterable and self._fast(),
        )

    def _index_iter(self) -> Iterator[Any]:
        """What the fetchers are asked for: batches of indices, indices, or (iterable) None."""
        if self._iterable:
            return itertools.repeat(None)
        if not self._auto_collation:
            return iter(self.sampler)
        if self._fast():
            return self.batch_sampler._index_batches()
        return iter(self.batch_sampler)

    def __iter__(self) -> Iterator[Any]:
        reuse = (
            self.num_workers > 0
            and self.persistent_workers
            and self._iterator is not None
            and self._iterator._finalizer.alive
        )
        # Drawn on every path but one, so num_workers never changes what the default
        # generator yields; first, as PyTorch's `random_()` of an int64, so that a shuffle
        # matches PyTorch's. Persistent workers being reused keep their seeds: PyTorch draws
        # none then either
        base_seed = None if reuse else int(gen(self.generator).random_bits((), 2**63, True))
        if self.pin_memory and not reuse:  # every new iterator warns, as PyTorch's on a CPU
            warnings.warn(_PIN_MEMORY_WARNING, UserWarning, stacklevel=2)
        if isinstance(self.dataset, IterDataPipe):  # one shuffle order, shared by the workers
            self._datapipe_seed = int(gen(self.generator).integers(0, 2**62))
        if self.num_workers == 0:
            if self.timeout != 0:  # PyTorch's single-process iterator asserts it
                raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0")
            return self._single_process()
        if reuse:
            return self._iterator.reset()
        self._iterator = MultiProcessingIterator(self, base_seed)
        return self._iterator

    def _single_process(self) -> Iterator[Any]:
        fetcher = Fetcher(self._fetch_spec())
        for index in self._index_iter():
            try:
                yield fetcher.fetch(index)
            except StopIteration:
                if self._iterable:
                    return
                raise

    def __len__(self) -> int:
        if self._iterable:
            if not callable(getattr(self.dataset, "__len__", None)):
                raise TypeError(
                    f"DataLoader: object of type {type(self.dataset).__name__!r} has no len() "
                    f"(an IterableDataset needs a __len__ for len() of its DataLoader)"
                )
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)


class _WorkersTypeError(TypeError, ValueError):
    """A ``num_workers`` that is no int: PyTorch's TypeError (from ``range``/``<``), and the
    ValueError chainrule raised before."""


def _check_worker_options(
    num_workers: Any, timeout: Any, prefetch_factor: Any, persistent_workers: Any
) -> None:
    if type(num_workers) is not int:
        try:  # PyTorch takes what reads as an int (a bool, a NumPy int, an int tensor)
            num_workers = operator.index(num_workers)
        except TypeError:
            raise _WorkersTypeError(
                f"DataLoader: num_workers option should be a non-negative integer, got "
                f"{num_workers!r}; use num_workers=0 to disable multiprocessing."
            ) from None
    if num_workers < 0:  # PyTorch's words
        raise ValueError(
            "num_workers option should be non-negative; use num_workers=0 to disable "
            "multiprocessing."
        )
    if timeout < 0:  # PyTorch's comparison (None or a string: Python's TypeError there too)
        raise ValueError(f"timeout option should be non-negative\nDataLoader: got {timeout!r}")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError(
            "prefetch_factor option could only be specified in multiprocessing.let "
            "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
        )
    if prefetch_factor is not None and (
        not isinstance(prefetch_factor, int) or prefetch_factor <= 0
    ):
        raise ValueError(
            f"DataLoader: prefetch_factor should be a positive integer, got {prefetch_factor!r}"
        )
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
