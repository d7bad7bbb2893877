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

Nested vmaps follow PyTorch's rule level by level: any ``'error'`` level raises; a draw
gets the batch dim of every ``'different'`` level (outermost first, one stream) and is
shared along every ``'same'`` level. Ops with tensor arguments (:func:`batched_call`) and
in-place fills (:func:`batched_fill`) peel the levels innermost first, as PyTorch's
batching rules do; an in-place fill asked for per-sample values of a tensor that is not
batched at a ``'different'`` level raises PyTorch's error (:func:`unbatched_fill`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.state import LOCAL
from ..autograd.tensor import Tensor
from ._batched import BatchedTensor, Level, LogicalArray, physical
from ._logical import Levels as _Levels
from ._logical import inplace_unbatched

__all__ = ["batched_call", "batched_fill", "lift_draw", "source", "unbatched_fill"]

ERROR_MESSAGE = (
    "vmap: called random operation while in randomness error mode. Please either use the "
    "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
    "of vmap"
)

CANNOT_UNBATCHED = (
    "vmap: Cannot ask for different inplace randomness on an unbatched tensor. This will "
    "appear like same randomness. If this is necessary for your usage, please file an issue "
    "with functorch."
)

SAME_BATCHED = (
    "Vmap does not currently support same randomness with a batched tensor input. "
    "Please file an issue with functorch"
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
        if isinstance(v, LogicalArray):
            raise NotImplementedError(
                "vmap(randomness='different'): a random draw whose parameter is batched by "
                "another vmap level than the draw's; pass the parameter as a tensor argument "
                "of the op, or draw outside vmap"
            )
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
        """One permutation per sample (``randperm`` under ``randomness='different'``).
        PyTorch draws them innermost level first (each level's rule loops over its
        samples), so nested levels are drawn in that order and transposed back."""
        perms = np.stack([np.asarray(self._g.permutation(n)) for _ in range(self._level.size)])
        if type(self._level) is _Levels:
            sizes = [lv.size for lv in self._level.levels]
            k = len(sizes)
            perms = perms.reshape(sizes[::-1] + [perms.shape[-1]])
            perms = perms.transpose(list(range(k))[::-1] + [k]).reshape(self._level.size, -1)
        return self._mark(perms)

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(
            f"vmap(randomness='different'): the random draw {name!r} has no per-sample form; "
            "use randomness='same', or draw outside vmap and pass the values in with in_dims"
        )


def source(g: np.random.Generator) -> Any:
    """The generator a random op inside vmap draws from (see the module docstring): the
    plain one when no active level is ``'different'``, else one whose draws carry the
    batch dims of the ``'different'`` levels."""
    levels = LOCAL.state.vmap
    if any(lv.randomness == "error" for lv in levels):
        raise RuntimeError(ERROR_MESSAGE)
    different = [lv for lv in levels if lv.randomness == "different"]
    if not different:
        return g
    return _PerSampleGenerator(g, different[0] if len(different) == 1 else _Levels(different))


def lift_draw(x: Any) -> Any:
    """A plain Tensor holding a :class:`LogicalArray` (a per-sample draw, or a mask computed
    from a batched tensor's ``_data``) as the batched tensor it stands for (nested
    BatchedTensors, outermost level innermost, for a draw of several levels)."""
    if type(x) is not Tensor:
        return x
    arr = x._data
    if type(arr) is not LogicalArray or arr.phys is None:
        return x
    active = LOCAL.state.vmap
    level = arr.level
    if type(level) is _Levels:
        if any(lv not in active for lv in level.levels):
            return x
        phys = arr.phys.reshape(tuple(lv.size for lv in level.levels) + tuple(arr.shape))
        out: Tensor = Tensor._make(phys, False, None, 0)
        for lv in level.levels:
            out = BatchedTensor(out, lv)
        return out
    if level not in active:
        return x
    return BatchedTensor(Tensor._make(arr.phys, x.requires_grad, x.grad_fn, x._output_nr), level)


def _without(level: Level, fn: Any) -> Any:
    """``fn()`` with the innermost vmap level ``level`` inactive: its batching rule is done
    and the physical values it handed on dispatch for the outer levels only."""
    levels = LOCAL.state.vmap
    assert levels and levels[-1] is level
    levels.pop()
    try:
        return fn()
    finally:
        levels.append(level)


def _at(a: Any, level: Level) -> bool:
    return type(a) is BatchedTensor and a._level is level


def unbatched_fill(name: str, args: tuple, kwargs: dict) -> None:
    """Check an in-place random fill of a tensor that no active vmap level batches (a
    fresh or captured tensor), level by level from the innermost as PyTorch: ``'error'``
    raises the error-mode message; ``'different'`` raises (the fill would look like
    ``'same'`` randomness); ``'same'`` refuses a batched argument (``bernoulli_(p)``)."""
    for level in reversed(LOCAL.state.vmap):
        if level.randomness == "error":
            raise RuntimeError(ERROR_MESSAGE)
        if level.randomness == "different":
            _refuse_batched_argument(name, level, args, kwargs)
            raise RuntimeError(CANNOT_UNBATCHED)
        if any(_at(a, level) for a in (*args, *kwargs.values())):
            raise RuntimeError(SAME_BATCHED)


def _refuse_batched_argument(name: str, level: Level, args: tuple, kwargs: dict) -> None:
    """``'different'`` fill of a tensor ``level`` does not batch with an argument it does
    (``bernoulli_(p)``): PyTorch's in-place check of its rule comes first, its words."""
    if any(_at(a, level) for a in (*args, *kwargs.values())):
        raise inplace_unbatched(f"inplace {name.rstrip('_')}")


def _fill_with(t: Tensor, name: str, args: tuple, kwargs: dict) -> None:
    getattr(t, name)(*args, **kwargs)


def batched_fill(x: BatchedTensor, name: str, args: tuple, kwargs: dict) -> BatchedTensor:
    """An in-place random fill (``uniform_``, ``bernoulli_``, ...) of a batched tensor, as
    PyTorch's vmap, level by level from the innermost: ``'different'`` fills the physical
    tensor (each sample its own draws, the stream batch-major) and needs ``x`` batched at
    that level; ``'same'`` fills one tensor of the logical shape (unbatched at every outer
    level) and writes it into every sample; ``'error'`` raises."""
    levels = LOCAL.state.vmap
    if not levels:
        _fill_with(x, name, args, kwargs)
        return x
    level = levels[-1]
    if level.randomness == "error":
        raise RuntimeError(ERROR_MESSAGE)
    if not _at(x, level):  # batched by outer levels only: this level has nothing to map
        if level.randomness == "different":
            _refuse_batched_argument(name, level, args, kwargs)
            raise RuntimeError(CANNOT_UNBATCHED)
        if any(_at(a, level) for a in (*args, *kwargs.values())):
            raise RuntimeError(SAME_BATCHED)
        _without(level, lambda: _fill_with(x, name, args, kwargs))
        return x
    if level.randomness == "same":
        if any(_at(a, level) for a in (*args, *kwargs.values())):
            raise RuntimeError(SAME_BATCHED)
        one = Tensor._new(np.zeros(x.shape, dtype=x.dtype))
        _without(level, lambda: _fill_with(one, name, args, kwargs))
        return x.vmap_inplace(name, lambda t: one)
    args = tuple(a._value if _at(a, level) else a for a in args)
    kwargs = {k: v._value if _at(v, level) else v for k, v in kwargs.items()}
    _without(level, lambda: _fill_with(x._value, name, args, kwargs))
    return x


def batched_call(fn: Any, args: tuple, kwargs: dict, expand: bool = False) -> Any:
    """``fn(*args, **kwargs)`` for a random op whose tensor arguments (probabilities, means,
    rates) are batched by a vmap, as PyTorch's batching rules, level by level from the
    innermost: ``'different'`` expands the arguments to the level's batch and goes on with
    the physical values (so every sample draws its own values, one stream, batch-major,
    outer levels first), the result batched at the level; ``'same'`` raises for an argument
    batched at the level (as PyTorch), else goes on without it (one draw shared along it);
    ``'error'`` raises. ``fn`` finally runs with every level done. None when no argument is
    batched (the caller runs as usual). ``expand``: for an op whose generator draws have no
    per-sample form, unbatched tensor arguments are expanded under a ``'different'`` level
    too (PyTorch's rule), so each sample still draws its own."""
    levels = LOCAL.state.vmap
    vals = (*args, *kwargs.values())
    if not levels:
        return None
    if not any(type(a) is BatchedTensor for a in vals):
        if not expand or not any(isinstance(a, Tensor) for a in vals):
            return None
        if any(lv.randomness == "error" for lv in levels):
            return None  # the op's own draw raises
        if all(lv.randomness == "same" for lv in levels):
            return None  # one plain draw
    return _call_levels(fn, args, kwargs)


def _call_levels(fn: Any, args: tuple, kwargs: dict) -> Any:
    levels = LOCAL.state.vmap
    if not levels:
        return fn(*args, **kwargs)
    level = levels[-1]
    if level.randomness == "error":
        raise RuntimeError(ERROR_MESSAGE)
    if level.randomness == "same":
        if any(_at(a, level) for a in (*args, *kwargs.values())):
            raise RuntimeError(SAME_BATCHED)
        return _without(level, lambda: _call_levels(fn, args, kwargs))

    def phys(a: Any) -> Any:
        return physical(a, level) if isinstance(a, Tensor) else a

    args = tuple(phys(a) for a in args)
    kwargs = {k: phys(v) for k, v in kwargs.items()}
    return BatchedTensor(_without(level, lambda: _call_levels(fn, args, kwargs)), level)
