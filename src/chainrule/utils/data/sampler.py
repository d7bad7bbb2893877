"""Samplers: which dataset indices a DataLoader visits, and in what order.

Randomness follows PyTorch: a ``RandomSampler`` without a generator draws a fresh seed from
chainrule's default generator at the start of every epoch, so ``cr.manual_seed(s)`` makes the
whole sequence of epochs reproducible while each epoch still gets a new order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ...ops.search import categorical_draws
from ...random import Generator, default_generator, gen


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


def _epoch_rng(generator: Generator | None) -> Any:
    """The stream of one epoch's draws: ``generator``'s own, or (as PyTorch's samplers) a new
    generator seeded by an int64 ``random_()`` of the default one, so that after
    ``cr.manual_seed(s)`` the order is PyTorch's."""
    if generator is not None:
        return generator.np
    seed = int(default_generator.np.random_bits((), 2**63, True))
    return Generator().manual_seed(seed).np


_CHUNK = 1 << 16  # indices drawn at a time by samplers that draw lazily
_TORCH_BLOCK = 32  # indices PyTorch's RandomSampler draws at a time with replacement


def _blocks(it: Iterator[int]) -> Iterator[np.ndarray]:
    """Any iterator of indices as int64 arrays of up to ``_CHUNK`` indices."""
    while True:
        block = np.fromiter(itertools.islice(it, _CHUNK), dtype=np.int64)
        if len(block) == 0:
            return
        yield block


class _InfiniteConstantSampler(Sampler):
    """``None`` forever: the sampler a DataLoader over an ``IterableDataset`` reports (its
    batches come from the stream, not from indices), as PyTorch's."""

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)


class EmptyDataSourceError(RuntimeError, ZeroDivisionError):
    """A ``RandomSampler`` with ``num_samples`` over an empty dataset, when iterated:
    PyTorch's RuntimeError (with replacement, from ``randint``) or ZeroDivisionError
    (without, ``num_samples // 0``)."""


class RandomSampler(Sampler):
    """Indices in a random order (a permutation), or ``num_samples`` draws with replacement.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw with replacement (then ``num_samples`` may exceed the length).
        num_samples: how many indices per epoch (default: ``len(data_source)``).
        generator: the random stream; default: a per-epoch seed from the default generator.
    """

    def __init__(
        self,
        data_source: Any,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Generator | None = None,
    ):
        if not isinstance(replacement, bool):
            raise TypeError(
                f"RandomSampler: replacement should be a boolean value, but got "
                f"replacement={replacement!r}"
            )
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        # PyTorch checks the resolved count: an empty dataset without num_samples fails too
        count = self.num_samples
        if not isinstance(count, int) or count <= 0:  # (True passes, as in PyTorch)
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={count}"
                + ("\nRandomSampler: the dataset is empty" if num_samples is None else "")
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_chunks(self) -> Iterator[np.ndarray]:
        """The epoch's indices as int64 arrays, drawn lazily: with replacement in blocks of
        ``_CHUNK``, otherwise one permutation at a time, so ``num_samples=10**10`` costs
        memory for one block, not for ten billion indices."""
        n = len(self.data_source)
        rng = _epoch_rng(self.generator)
        total = self.num_samples
        if not n and total:  # PyTorch fails here too (randint's empty range, n // 0)
            raise EmptyDataSourceError(
                f"RandomSampler: cannot draw num_samples={total} indices from an empty data source"
            )
        if self.replacement:
            # a generator of the caller's is drawn from as PyTorch's sampler draws, 32 at a
            # time, so that after a partial epoch it stands where PyTorch's does (a
            # per-epoch generator is private: drawn in large blocks)
            step = _TORCH_BLOCK if self.generator is not None else _CHUNK
            for start in range(0, total, step):
                yield rng.integers(0, n, size=min(step, total - start), dtype=np.int64)
            return
        if not n:
            return
        for _ in range(total // n):
            yield rng.permutation(n).astype(np.int64)
        # PyTorch draws one more permutation for the remainder, even an empty one, so a
        # shared generator stands where PyTorch's does for the next epoch
        rest = rng.permutation(n).astype(np.int64)[: total % n]
        if len(rest):
            yield rest

    def __iter__(self) -> Iterator[int]:
        for chunk in self._index_chunks():
            yield from chunk.tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order each epoch."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None):
        self.indices = indices
        self.generator = generator

    def _indices(self) -> np.ndarray:
        base = np.asarray(self.indices, dtype=np.int64)
        return base[gen(self.generator).permutation(len(base))]  # PyTorch's randperm

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights``.

    Args:
        weights: one non-negative weight per index (need not sum to one).
        num_samples: how many indices per epoch.
        replacement: draw with replacement (the whole epoch when its first index is taken,
            as PyTorch); without it, ``num_samples`` may not exceed ``len(weights)``, and
            once the non-zero weights are drawn the zero-weight indices follow (as
            ``torch.multinomial``).
        generator: the random stream; default: the default generator (PyTorch's draws).

    Raises:
        ValueError: for a non-positive ``num_samples``, a non-bool ``replacement`` or
            weights that are not a 1-d sequence (PyTorch's checks).
        RuntimeError: when iterated, for negative, non-finite or all-zero weights, or too
            many samples without replacement (more than ``len(weights)``), as
            ``torch.multinomial`` (the constructor accepts them, as PyTorch's).
    """

    def __init__(
        self,
        weights: Any,
        num_samples: int,
        replacement: bool = True,
        generator: Generator | None = None,
    ):
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(
                f"WeightedRandomSampler: weights should be a 1d sequence but given "
                f"weights have shape {tuple(w.shape)}"
            )
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _index_chunks(self) -> Iterator[np.ndarray]:
        """The draws of PyTorch's ``torch.multinomial(weights, num_samples, replacement,
        generator=generator)`` (``cr.multinomial``'s construction), the generator's or the
        default one's directly, as PyTorch's sampler, all on the first ``next``."""
        w = self.weights
        # checked when drawing, as PyTorch's multinomial does (the constructor accepts them)
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise RuntimeError(
                f"WeightedRandomSampler: invalid multinomial distribution: weights "
                f"must be finite, non-negative and not all zero, got {w.tolist()[:8]}"
            )
        if not self.replacement and self.num_samples > len(w):
            raise RuntimeError(
                f"WeightedRandomSampler: cannot sample n_sample ({self.num_samples}) > "
                f"prob_dist.size(-1) ({len(w)}) samples without replacement"
            )
        rng = gen(self.generator)
        if not self.replacement or self.num_samples == 1:  # zero weights come last
            yield categorical_draws(rng, self.weights, self.num_samples, lookup=False)
            return
        # all drawn at once, as PyTorch's sampler draws its epoch on the first ``next`` (so a
        # draw from the generator mid-epoch leaves the epoch's indices as they are), into one
        # int64 array (no larger than PyTorch's tensor) in blocks, then handed out in blocks
        drawn = np.empty(self.num_samples, np.int64)
        for start in range(0, self.num_samples, _CHUNK):  # in blocks: the same draws
            n = min(_CHUNK, self.num_samples - start)
            drawn[start : start + n] = categorical_draws(rng, self.weights, n, lookup=True)
        for start in range(0, self.num_samples, _CHUNK):
            yield drawn[start : start + _CHUNK]

    def __iter__(self) -> Iterator[int]:
        for chunk in self._index_chunks():
            yield from chunk.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Args:
        sampler: any iterable of indices.
        batch_size: indices per batch (a positive int).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
    """

    def __init__(self, sampler: Sampler | Sequence[int], batch_size: int, drop_last: bool):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(  # PyTorch's words
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _index_batches(self) -> Iterator[np.ndarray]:
        """Batches as int64 arrays, sliced from blocks of indices (never the whole epoch at
        once for samplers that draw lazily, so huge or endless samplers work)."""
        if hasattr(self.sampler, "_index_chunks"):
            chunks = self.sampler._index_chunks()
        elif hasattr(self.sampler, "_indices"):
            chunks = iter([self.sampler._indices()])
        else:
            chunks = _blocks(iter(self.sampler))
        bs, carry = self.batch_size, np.zeros(0, np.int64)
        for chunk in chunks:
            if len(chunk) == 0:
                break
            idx = np.concatenate([carry, chunk]) if len(carry) else chunk
            full = len(idx) - len(idx) % bs
            for start in range(0, full, bs):
                yield idx[start : start + bs]
            carry = idx[full:]
        if len(carry) and not self.drop_last:
            yield carry

    def __iter__(self) -> Iterator[list[int]]:
        if not (hasattr(self.sampler, "_index_chunks") or hasattr(self.sampler, "_indices")):
            yield from self._raw_batches()
            return
        for b in self._index_batches():
            yield b.tolist()

    def _raw_batches(self) -> Iterator[list[Any]]:
        """A sampler of chainrule's own aside, PyTorch's batches: the items as given (a
        float stays a float, and fails in the dataset's indexing there as here)."""
        batch: list[Any] = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
