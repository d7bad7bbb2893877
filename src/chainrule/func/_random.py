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
from ._batched import BatchedTensor, Level, LogicalArray, physical

__all__ = ["batched_call", "batched_fill", "lift_draw", "source"]

ERROR_MESSAGE = (
    "vmap: called random operation while in randomness error mode. Please either use the "
    "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
    "of vmap"
)


def _shape(v: Any) -> tuple:
    return tuple(v.shape) if isinstance(v, LogicalArray) else np.shape(v)


def _tuple(size: Any) -> tuple:
    return (int(size),) if isinstance(size, (int, np.integer)) else tuple(size)


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

    def _param(self, v: Any, size: tuple) -> Any:
        """A parameter for a ``(batch, *size)`` draw: a per-sample one (a LogicalArray of
        this level) by its physical values, batch dim first; a plain one broadcasts."""
        if isinstance(v, LogicalArray) and v.phys is not None and v.level is self._level:
            return v._aligned(len(size))
        return v

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
            size = np.broadcast_shapes(_shape(loc), _shape(scale))
        loc, scale = self._param(loc, _tuple(size)), self._param(scale, _tuple(size))
        return self._mark(self._g.normal(loc, scale, self._size(size), dtype=dtype))

    def uniform(
        self, low: Any = 0.0, high: Any = 1.0, size: Any = None, dtype: Any = np.float64
    ) -> LogicalArray:
        if size is None:
            size = np.broadcast_shapes(_shape(low), _shape(high))
        low, high = self._param(low, _tuple(size)), self._param(high, _tuple(size))
        return self._mark(self._g.uniform(low, high, self._size(size), dtype=dtype))

    def bernoulli(self, p: Any, size: Any = None, dtype: Any = np.float64) -> LogicalArray:
        if size is None:
            size = _shape(p)
        p = self._param(p, _tuple(size))
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

    def _fill(self, name: str, args: tuple, size: Any) -> LogicalArray:
        """PyTorch's in-place fills (``exponential_`` ...) of a ``(batch, *size)`` tensor:
        one stream, batch-major, as PyTorch fills the physical tensor."""
        return self._mark(np.asarray(getattr(self._g, name)(*args, self._size(size))))

    def exponential_fill(self, lambd: float, size: Any) -> LogicalArray:
        return self._fill("exponential_fill", (lambd,), size)

    def cauchy_fill(self, median: float, sigma: float, size: Any) -> LogicalArray:
        return self._fill("cauchy_fill", (median, sigma), size)

    def log_normal_fill(self, mean: float, std: float, size: Any) -> LogicalArray:
        return self._fill("log_normal_fill", (mean, std), size)

    def geometric_fill(self, p: float, size: Any) -> LogicalArray:
        return self._fill("geometric_fill", (p,), size)

    def random_bits(self, size: Any, bound: int, wide: bool) -> LogicalArray:
        return self._mark(np.asarray(self._g.random_bits(self._size(size), bound, wide)))

    def permutation(self, n: Any) -> LogicalArray:
        """One permutation per sample (``randperm`` under ``randomness='different'``)."""
        return self._mark(
            np.stack([np.asarray(self._g.permutation(n)) for _ in range(self._level.size)])
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


def _hidden(fn: Any) -> Any:
    """``fn()`` with no vmap active: a fill of a physical tensor draws from the plain
    generator, as PyTorch's batching rules fill the physical tensor."""
    levels = LOCAL.state.vmap
    saved = levels[:]
    levels.clear()
    try:
        return fn()
    finally:
        levels[:] = saved


def batched_fill(x: BatchedTensor, name: str, args: tuple, kwargs: dict) -> BatchedTensor:
    """An in-place random fill (``uniform_``, ``bernoulli_``, ...) of a batched tensor, as
    PyTorch's vmap: ``'different'`` fills the physical tensor (each sample its own draws,
    the stream batch-major); ``'same'`` fills one tensor of the logical shape and writes it
    into every sample; ``'error'`` raises."""
    if any(lv.randomness == "error" for lv in LOCAL.state.vmap):
        raise RuntimeError(ERROR_MESSAGE)
    level, phys = x._level, x._value
    if type(phys) is BatchedTensor:  # nested vmaps: all 'different' fill the base tensor
        base, modes = phys, {level.randomness}
        while type(base) is BatchedTensor:
            modes.add(base._level.randomness)
            base = base._value
        plain = all(type(a) is not BatchedTensor for a in (*args, *kwargs.values()))
        if modes == {"different"} and plain:
            _hidden(lambda: getattr(base, name)(*args, **kwargs))
            return x
        raise NotImplementedError(
            f"vmap: {name} of a tensor batched by nested vmaps is supported when every vmap "
            "has randomness='different' (and the arguments are numbers); draw the values "
            "outside vmap and pass them in with in_dims"
        )
    batched = [a for a in (*args, *kwargs.values()) if type(a) is BatchedTensor]
    if any(a._level is not level for a in batched):
        raise NotImplementedError(f"vmap: {name} with an argument batched by another vmap")
    if level.randomness == "same":
        if batched:
            raise RuntimeError(
                "vmap: Vmap does not currently support same randomness with a batched tensor "
                "input. Please file an issue with functorch"
            )
        one = _hidden(lambda: getattr(phys[0].detach().clone(), name)(*args, **kwargs))
        return x.vmap_inplace(name, lambda t: one)
    args = tuple(a._value if type(a) is BatchedTensor else a for a in args)
    kwargs = {k: v._value if type(v) is BatchedTensor else v for k, v in kwargs.items()}
    _hidden(lambda: getattr(phys, name)(*args, **kwargs))
    return x


SAME_BATCHED = (
    "vmap: Vmap does not currently support same randomness with a batched tensor input. "
    "Please file an issue with functorch"
)


def batched_call(fn: Any, args: tuple, kwargs: dict, expand: bool = False) -> Any:
    """``fn(*args, **kwargs)`` for a random op whose tensor arguments (probabilities, means,
    rates) are batched by the innermost vmap, as PyTorch's batching rules: ``'different'``
    runs ``fn`` on the physical tensors (unbatched ones expanded to the batch) with vmap
    hidden, so every sample draws its own values (one stream, batch-major), and returns the
    result batched; ``'same'`` raises as PyTorch does; ``'error'`` raises. None when no
    argument is batched (the caller runs as usual). ``expand``: for an op whose generator
    draws have no per-sample form, unbatched tensor arguments under ``'different'`` are
    expanded to the batch too (PyTorch's rule), so each sample still draws its own."""
    levels = LOCAL.state.vmap
    vals = (*args, *kwargs.values())
    if not levels:
        return None
    if not any(type(a) is BatchedTensor for a in vals):
        top = levels[-1]
        if not (expand and top.randomness == "different"):
            return None
        if any(lv.randomness == "error" for lv in levels) or not any(
            isinstance(a, Tensor) for a in vals
        ):
            return None  # the op's own draw raises / has nothing to expand
    if any(lv.randomness == "error" for lv in levels):
        raise RuntimeError(ERROR_MESSAGE)
    level = levels[-1]
    for a in vals:
        if type(a) is BatchedTensor and (a._level is not level or type(a._value) is BatchedTensor):
            raise NotImplementedError(
                f"vmap: {getattr(fn, '__name__', 'a random op')} of a tensor batched by an "
                "outer or nested vmap is not supported; draw outside vmap and pass it in"
            )
    if level.randomness == "same":
        raise RuntimeError(SAME_BATCHED)

    def phys(a: Any) -> Any:
        return physical(a, level) if isinstance(a, Tensor) else a

    args = tuple(phys(a) for a in args)
    kwargs = {k: phys(v) for k, v in kwargs.items()}
    return BatchedTensor(_hidden(lambda: fn(*args, **kwargs)), level)
