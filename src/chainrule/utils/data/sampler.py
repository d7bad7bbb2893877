"""Samplers: which dataset indices a DataLoader visits, and in what order.

Randomness follows PyTorch: a ``RandomSampler`` without a generator draws a fresh seed from
chainrule's default generator at the start of every epoch, so ``cr.manual_seed(s)`` makes the
whole sequence of epochs reproducible while each epoch still gets a new order.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ...random import Generator, default_generator


class Sampler:
    """Base class: an iterable over dataset indices (or lists of indices for batch samplers)."""

    def __init__(self, data_source: Any = None):
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """Indices ``0, 1, ..., len(data_source) - 1`` in order."""

    def __init__(self, data_source: Any):
        self.data_source = data_source

    def _indices(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _epoch_rng(generator: Generator | None) -> np.random.Generator:
    if generator is not None:
        return generator.np
    seed = int(default_generator.np.integers(0, 2**63 - 1))
    return np.random.Generator(np.random.PCG64(seed))


class RandomSampler(Sampler):
    """Indices in a random order (a permutation), or ``num_samples`` draws with replacement.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw with replacement (then ``num_samples`` may exceed the length).
        num_samples: how many indices per epoch (default: ``len(data_source)``).
        generator: the random stream; default: a per-epoch seed from the default generator.
    """

    def __init__(self, data_source: Any, replacement: bool = False,
                 num_samples: int | None = None, generator: Generator | None = None):
        self.data_source = data_source
        self.replacement = bool(replacement)
        self._num_samples = num_samples
        self.generator = generator
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer, "
                             f"got {num_samples!r}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _indices(self) -> np.ndarray:
        n = len(self.data_source)
        rng = _epoch_rng(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=np.int64)
        reps = -(-self.num_samples // n) if n else 0
        return np.concatenate([rng.permutation(n) for _ in range(reps)]
                              or [np.zeros(0, np.int64)])[:self.num_samples].astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order each epoch."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None):
        self.indices = indices
        self.generator = generator

    def _indices(self) -> np.ndarray:
        base = np.asarray(self.indices, dtype=np.int64)
        return base[_epoch_rng(self.generator).permutation(len(base))]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Args:
        sampler: any iterable of indices.
        batch_size: indices per batch (a positive int).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
    """

    def __init__(self, sampler: Sampler | Sequence[int], batch_size: int, drop_last: bool):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer, "
                             f"got {batch_size!r}")
        if not isinstance(drop_last, bool):
            raise TypeError(f"BatchSampler: drop_last should be a bool, got {drop_last!r}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _index_batches(self) -> Iterator[np.ndarray]:
        """Batches as int64 arrays (fast path: slices of one index array when possible)."""
        if hasattr(self.sampler, "_indices"):
            idx = self.sampler._indices()
        else:
            idx = np.fromiter(iter(self.sampler), dtype=np.int64)
        n, bs = len(idx), self.batch_size
        stop = n - n % bs if self.drop_last else n
        for start in range(0, stop, bs):
            yield idx[start:start + bs]

    def __iter__(self) -> Iterator[list[int]]:
        for b in self._index_batches():
            yield b.tolist()

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
