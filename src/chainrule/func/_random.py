"""Random ops inside vmap: ``randomness='error' | 'different' | 'same'`` (PyTorch's modes).

Every random draw in chainrule asks :func:`chainrule.random.gen` for a NumPy generator;
while a vmap is active, ``gen`` asks :func:`source` here instead:

- ``'error'`` (the default, as in PyTorch): raise, because it is ambiguous whether the
  samples should see the same or different random values;
- ``'same'``: the plain generator: one draw of the logical shape, broadcast to every sample;
- ``'different'``: a generator whose draws have the batch size in front, returned as a
  :class:`~._batched.LogicalArray` (per-sample values with the logical shape the caller
  asked for); ``Function.apply``'s dispatcher (and vmap's output) read a Tensor holding one
  as batched, so every sample sees its own values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.state import LOCAL
from ..autograd.tensor import Tensor
from ._batched import BatchedTensor, Level, LogicalArray

__all__ = ["lift_draw", "source"]

ERROR_MESSAGE = (
    "vmap: called random operation while in randomness error mode. Please either use the "
    "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
    "of vmap"
)


class _PerSampleGenerator:
    """Draws ``(batch, *shape)`` where the caller asked for ``shape``."""

    def __init__(self, g: np.random.Generator, level: Level):
        self._g, self._level = g, level

    def _size(self, size: Any) -> tuple:
        if size is None:
            return (self._level.size,)
        if isinstance(size, (int, np.integer)):
            return (self._level.size, int(size))
        return (self._level.size,) + tuple(size)

    def _mark(self, arr: np.ndarray) -> LogicalArray:
        return LogicalArray.of(arr, self._level)

    def random(self, size: Any = None, dtype: Any = np.float64) -> LogicalArray:
        return self._mark(self._g.random(self._size(size), dtype=dtype))

    def standard_normal(self, size: Any = None, dtype: Any = np.float64) -> LogicalArray:
        return self._mark(self._g.standard_normal(self._size(size), dtype=dtype))

    def normal(
        self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None, dtype: Any = np.float64
    ) -> LogicalArray:
        if size is None:
            size = np.broadcast_shapes(np.shape(loc), np.shape(scale))
        return self._mark(self._g.normal(loc, scale, self._size(size), dtype=dtype))

    def uniform(
        self, low: Any = 0.0, high: Any = 1.0, size: Any = None, dtype: Any = np.float64
    ) -> LogicalArray:
        if size is None:
            size = np.broadcast_shapes(np.shape(low), np.shape(high))
        return self._mark(self._g.uniform(low, high, self._size(size), dtype=dtype))

    def bernoulli(self, p: Any, size: Any = None, dtype: Any = np.float64) -> LogicalArray:
        if size is None:
            size = np.shape(p)
        return self._mark(self._g.bernoulli(p, self._size(size), dtype=dtype))

    def integers(
        self,
        low: Any,
        high: Any = None,
        size: Any = None,
        dtype: Any = np.int64,
        endpoint: bool = False,
    ) -> LogicalArray:
        return self._mark(
            self._g.integers(low, high, self._size(size), dtype=dtype, endpoint=endpoint)
        )

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(
            f"vmap(randomness='different'): the random draw {name!r} has no per-sample form; "
            "use randomness='same', or draw outside vmap and pass the values in with in_dims"
        )


def source(g: np.random.Generator) -> Any:
    """The generator a random op inside vmap draws from (see the module docstring)."""
    levels = LOCAL.state.vmap
    if any(lv.randomness == "error" for lv in levels):
        raise RuntimeError(ERROR_MESSAGE)
    top = levels[-1]
    if top.randomness == "different":
        return _PerSampleGenerator(g, top)
    return g


def lift_draw(x: Any) -> Any:
    """A plain Tensor holding a :class:`LogicalArray` (a per-sample draw, or a mask computed
    from a batched tensor's ``_data``) as the batched tensor it stands for."""
    if type(x) is not Tensor:
        return x
    arr = x._data
    if type(arr) is not LogicalArray or arr.phys is None or arr.level not in LOCAL.state.vmap:
        return x
    return BatchedTensor(
        Tensor._make(arr.phys, x.requires_grad, x.grad_fn, x._output_nr), arr.level
    )
