"""``shuffle`` (``Shuffler``), a buffered shuffle, and ``Sampler``, which iterates a pipe
in the order of a ``Sampler`` class.

The shuffle is seeded the way PyTorch's is: each iteration draws a fresh seed from
chainrule's default generator (so ``cr.manual_seed`` makes it reproducible), unless
``set_seed`` gave one for the next iteration; the DataLoader gives one per epoch, the same
in every worker, so that a ``sharding_filter`` after the shuffle splits one order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from .....random import gen
from ...sampler import Sampler, SequentialSampler
from ..datapipe import IterDataPipe
from ..decorators import functional_datapipe
from .grouping import UnBatcherIterDataPipe

__all__ = ["SamplerIterDataPipe", "SeededShuffle", "ShufflerIterDataPipe", "draw_seed"]


def draw_seed() -> int:
    """A 63-bit seed from chainrule's default generator."""
    return int(gen(None).integers(0, 2**63 - 1))


class SeededShuffle:
    """The shuffle switches both shufflers share (the iterable one here, the map-style one
    in ``map/combinatorics.py``): ``set_shuffle``, ``set_seed`` and a per-iteration
    ``reset`` of the private generator, seeded as the module docstring says."""

    def _init_shuffle(self) -> None:
        self._enabled = True
        self._seed: int | None = None
        self._rng = random.Random()

    def set_shuffle(self, shuffle: bool = True) -> Any:
        """Turn shuffling on or off; returns the pipe."""
        self._enabled = shuffle
        return self

    def set_seed(self, seed: int) -> Any:
        """Seed the next iteration; returns the pipe."""
        self._seed = seed
        return self

    def reset(self) -> None:
        """Seed the generator for a new iteration (the given seed once, else a fresh draw)."""
        seed = draw_seed() if self._seed is None else self._seed
        self._seed = None
        self._rng.seed(seed)


class SamplerIterDataPipe(IterDataPipe):
    """``Sampler(dp, sampler=SequentialSampler, sampler_args=None, sampler_kwargs=None)``:
    iterate ``sampler(dp, *sampler_args, **sampler_kwargs)`` (``dp`` must have a length)."""

    def __init__(
        self,
        datapipe: IterDataPipe,
        sampler: type[Sampler] = SequentialSampler,
        sampler_args: tuple | None = None,
        sampler_kwargs: dict | None = None,
    ) -> None:
        if not hasattr(datapipe, "__len__") or datapipe.__len__ is None:
            raise AssertionError("Sampler class requires input datapipe implemented `__len__`")
        self.datapipe = datapipe
        self.sampler_args = () if sampler_args is None else sampler_args
        self.sampler_kwargs = {} if sampler_kwargs is None else sampler_kwargs
        self.sampler = sampler(self.datapipe, *self.sampler_args, **self.sampler_kwargs)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.sampler)

    def __len__(self) -> int:
        return len(self.sampler)


@functional_datapipe("shuffle")
class ShufflerIterDataPipe(SeededShuffle, IterDataPipe):
    """``dp.shuffle(*, buffer_size=10000, unbatch_level=0)``: a buffered shuffle.

    The first ``buffer_size`` items fill a buffer; then each new item takes the place of a
    uniformly chosen buffered one, which is yielded; at the end the rest of the buffer comes
    out in random order. With ``buffer_size >= len(dp)`` this is a uniform permutation.
    ``set_shuffle(False)`` turns it into a pass-through (the DataLoader's ``shuffle=False``
    does that); ``set_seed(s)`` fixes the next iteration's order.

    Raises:
        AssertionError: for ``buffer_size <= 0`` (PyTorch's type).
    """

    def __init__(
        self, datapipe: IterDataPipe, *, buffer_size: int = 10000, unbatch_level: int = 0
    ) -> None:
        if not buffer_size > 0:
            raise AssertionError("buffer_size should be larger than 0")
        self.datapipe = (
            datapipe if unbatch_level == 0 else UnBatcherIterDataPipe(datapipe, unbatch_level)
        )
        self.buffer_size = buffer_size
        self._init_shuffle()

    def __iter__(self) -> Iterator[Any]:
        if not self._enabled:
            yield from self.datapipe
            return
        self.reset()
        rng = self._rng
        buffer: list[Any] = []
        for item in self.datapipe:
            if len(buffer) < self.buffer_size:
                buffer.append(item)
                continue
            slot = rng.randrange(self.buffer_size)
            buffer[slot], item = item, buffer[slot]
            yield item
        rng.shuffle(buffer)
        yield from buffer

    def __len__(self) -> int:
        return len(self.datapipe)
