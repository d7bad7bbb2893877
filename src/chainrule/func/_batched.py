"""``BatchedTensor``: a Tensor seen one sample at a time inside :func:`cr.func.vmap`.

A batched tensor wraps a *physical* value (an ordinary Tensor, or for nested vmaps a
BatchedTensor of an outer level) whose dim 0 is the mapped (batch) dim of one vmap
*level*. Its ``shape``/``ndim``/``size()`` report the LOGICAL shape (the physical shape
without that dim), so the Python layer of every op, which computes dims and checks shapes
from ``x.shape`` before calling ``Function.apply``, works unchanged; ``Function.apply`` then
hands the op to its batching rule (see :mod:`._dispatch`), which computes on the physical
values. Because rules compute with ordinary ops on physical Tensors, autograd records a
physical graph and never sees a BatchedTensor.

``_data`` (the raw array) of a batched tensor is a :class:`LogicalArray`: it answers
metadata questions (shape, ndim, dtype, size) with the logical values and raises a clear
error for anything that would compute on the array directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.forward_ad_captures import _CAPTURED
from ..autograd.state import LOCAL
from ..autograd.tensor import Tensor
from ..autograd.tensor_requires_grad import _IN_TRANSFORM
from ..autograd.torch_function import disabled_torch_function_impl
from ..autograd.view_base import JVP_FUNCTION, hidden_in_jvp
from ..ops.inplace import apply_inplace
from ..ops.shape import broadcast_to, movedim, unsqueeze
from ._logical import (
    CONTROL_FLOW_MESSAGE,
    ITEM_MESSAGE,
    NO_STORAGE_MESSAGE,
    TARGET_LEVELS,
    Levels,
    LogicalArray,
    value_error,
)

__all__ = [
    "BatchedTensor",
    "Level",
    "LogicalArray",
    "active_levels",
    "batch_of",
    "physical",
    "physical_nested",
    "unwrap_level",
    "wrap",
    "wrap_nested",
]


class Level:
    """One active vmap: its id (nesting depth), batch size and randomness mode."""

    __slots__ = ("id", "size", "randomness", "grads")

    def __init__(self, id: int, size: int, randomness: str):
        self.id, self.size, self.randomness = id, size, randomness
        self.grads = len(_CAPTURED.stack)  # grad transforms entered before this vmap

    def __repr__(self) -> str:
        return f"Level(id={self.id}, size={self.size}, randomness={self.randomness!r})"


def active_levels() -> list:
    """The calling thread's stack of active vmap levels (innermost last)."""
    return LOCAL.state.vmap


class BatchedTensor(Tensor):
    """A Tensor whose leading physical dim is mapped by vmap level ``_level``.

    Attributes:
        _value: the physical Tensor (batch dim first).
        _level: the :class:`Level` that maps dim 0 of ``_value``.
    """

    __torch_function__ = disabled_torch_function_impl  # results are plain Tensors (as torch)

    __slots__ = ("_value", "_level")

    def __init__(self, value: Tensor, level: Level):  # noqa: D107 - see class docstring
        self._value = value
        self._level = level
        self._grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._vc = [0]
        self._hooks = None
        self._fw_tangent = None
        self._view = None

    # -- metadata: the logical view
    @property
    def _data(self) -> LogicalArray:  # type: ignore[override]
        v = self._value
        if type(v) is not BatchedTensor:
            return LogicalArray(v.shape[1:], v.dtype, v._data, self._level)
        # a nested-vmap value: the innermost physical array, every level's batch dim first
        # (outermost level first), flattened into one leading dim of the levels' Levels
        chain, bottom = [self._level], v
        while type(bottom) is BatchedTensor:
            chain.append(bottom._level)
            bottom = bottom._value
        chain.reverse()
        if any(a.id >= b.id for a, b in zip(chain, chain[1:])):
            return LogicalArray(v.shape[1:], v.dtype, None, self._level)
        levels = Levels(chain)
        phys = bottom._data.reshape((levels.size,) + tuple(v.shape[1:]))
        return LogicalArray(v.shape[1:], v.dtype, phys, levels)

    @_data.setter
    def _data(self, value: Any) -> None:
        raise RuntimeError(
            "vmap: cannot replace the storage of a batched tensor "
            "(.data = ... inside vmap); do it outside the vmapped function"
        )

    @property
    def requires_grad(self) -> bool:  # type: ignore[override]
        if JVP_FUNCTION.level is not None:  # inside func.jvp's f: False to the user's code
            physical = self._value
            while type(physical) is BatchedTensor:
                physical = physical._value
            if hidden_in_jvp(physical):
                return False
        return self._value.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value:
            raise RuntimeError(
                "vmap: requires_grad_() on a batched tensor is not supported; "
                "differentiate with cr.func.grad/vjp/jacrev inside vmap"
            )

    @property
    def shape(self) -> tuple:
        return tuple(self._value.shape[1:])

    @property
    def ndim(self) -> int:
        return self._value.ndim - 1

    @property
    def dtype(self) -> Any:
        return self._value.dtype

    @property
    def device(self) -> Any:
        return self._value.device

    def size(self, dim: int | None = None) -> Any:
        shape = self.shape
        if dim is None:
            return shape
        n = len(shape)
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not -n <= dim < n:
            raise IndexError(
                f"size: dimension {dim!r} is out of range for a tensor of shape "
                f"{shape} (valid dims: {-n} to {n - 1})"
            )
        return shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def element_size(self) -> int:
        return self._value.dtype.itemsize

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # -- things a per-sample view cannot do
    def _no_values(self, what: str) -> RuntimeError:
        return RuntimeError(
            f"vmap: {what} needs the values of a batched tensor, which differ per sample; "
            "data-dependent Python control flow and conversions are not supported inside "
            "cr.func.vmap. Rewrite it with tensor ops (e.g. cr.where instead of if), or do it "
            "outside vmap."
        )

    def item(self) -> Any:
        raise value_error(ITEM_MESSAGE, self._level)

    def tolist(self) -> Any:
        raise RuntimeError(NO_STORAGE_MESSAGE)  # PyTorch's words: no storage to read

    def numpy(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(NO_STORAGE_MESSAGE)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise self._no_values("converting to a NumPy array")

    def __bool__(self) -> bool:
        raise value_error(CONTROL_FLOW_MESSAGE, self._level)

    def __float__(self) -> float:
        raise value_error(ITEM_MESSAGE, self._level)  # PyTorch's float()/int() call .item()

    def __int__(self) -> int:
        raise value_error(ITEM_MESSAGE, self._level)

    def __index__(self) -> int:
        raise self._no_values("using a tensor as an index")

    def backward(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(
            "vmap: .backward() inside vmap is not supported (the gradient would "
            "mix samples); use cr.func.grad or cr.func.vjp inside vmap"
        )

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Refused, with PyTorch's error, for either flag: a batched tensor only exists
        inside a function that vmap transforms (use the transforms of ``cr.func`` to
        differentiate there)."""
        if type(requires_grad) is not bool:
            raise TypeError(
                "requires_grad_(): argument 'requires_grad' (position 1) must be bool, not "
                + type(requires_grad).__name__
            )
        raise RuntimeError(_IN_TRANSFORM)

    def detach(self) -> Tensor:
        return BatchedTensor(self._value.detach(), self._level)

    def vmap_inplace(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Tensor:
        """An in-place op on a batched tensor: computed out of place for the whole batch,
        then written into the physical value (recorded by autograd as usual)."""
        out = fn(self, *args, **kwargs)
        if tuple(out.shape) != self.shape:
            raise ValueError(
                f"{name}: the result shape {tuple(out.shape)} does not match the "
                f"in-place tensor's shape {tuple(self.shape)} (in-place ops cannot "
                "broadcast the target)"
            )
        TARGET_LEVELS.append(self._level)  # the target's levels, for a refusal's words
        try:
            apply_inplace(self._value, name, lambda _, o: o, physical(out, self._level))
        finally:
            TARGET_LEVELS.pop()
        return self

    def contiguous(self, *args: Any, **kwargs: Any) -> Tensor:
        return BatchedTensor(self._value.contiguous(*args, **kwargs), self._level)

    def clone(self, *args: Any, **kwargs: Any) -> Tensor:
        return BatchedTensor(self._value.clone(*args, **kwargs), self._level)

    def __repr__(self) -> str:
        return (
            f"BatchedTensor(level={self._level.id}, bdim=0, logical shape={tuple(self.shape)}, "
            f"value={self._value!r})"
        )

    def __reduce__(self):
        raise self._no_values("pickling")

    def __deepcopy__(self, memo: dict) -> Tensor:
        return BatchedTensor(self._value.clone(), self._level)


def _random_fill(name: str) -> Any:
    def fill(self: BatchedTensor, *args: Any, **kwargs: Any) -> BatchedTensor:
        from ._random import batched_fill  # noqa: PLC0415 - _random imports this module

        return batched_fill(self, name, args, kwargs)

    fill.__name__ = fill.__qualname__ = name
    fill.__doc__ = f"``Tensor.{name}`` of a batched tensor, by the vmap's randomness mode."
    return fill


_FILLS = ("bernoulli_", "cauchy_", "exponential_", "geometric_", "log_normal_", "normal_")
for _name in (*_FILLS, "random_", "uniform_"):  # each one's vmap form (func/_random.py)
    setattr(BatchedTensor, _name, _random_fill(_name))


def wrap(value: Tensor, level: Level) -> BatchedTensor:
    """``value`` (batch dim first) as a batched tensor of ``level``."""
    return BatchedTensor(value, level)


def unwrap_level(x: Any, level: Level) -> tuple:
    """``(physical value, True)`` if ``x`` is batched at ``level``, else ``(x, False)``."""
    if type(x) is BatchedTensor and x._level is level:
        return x._value, True
    return x, False


def physical(x: Any, level: Level) -> Tensor:
    """The physical value of ``x`` at ``level``; an unbatched ``x`` is broadcast (expanded, no
    copy) to the batch size, so every sample gets its own slice. A plain Tensor holding a
    :class:`LogicalArray` of ``level`` (an op's result computed on raw arrays, e.g. ``div``
    with a ``rounding_mode``) is batched: its physical array, not a broadcast."""
    if type(x) is BatchedTensor and x._level is level:
        return x._value
    if type(x) is Tensor:  # an op's plain result holding per-sample values of ``level``
        arr = x._data  # (Tensor._make(q) of a LogicalArray q: batched, not to broadcast)
        if type(arr) is LogicalArray and arr.phys is not None:
            if arr.level is level:
                return Tensor._make(arr.phys, x.requires_grad, x.grad_fn, x._output_nr)
            chain = getattr(arr.level, "levels", None)  # nested vmaps: outermost first
            if chain and chain[-1] is level:  # still batched by the outer levels
                sizes = tuple(lv.size for lv in chain)
                out: Tensor = Tensor._make(arr.phys.reshape(sizes + arr.shape), False, None, 0)
                for lv in chain[:-1]:
                    out = BatchedTensor(out, lv)
                return out
    return broadcast_to(unsqueeze(x, 0), (level.size,) + tuple(x.shape))


def physical_nested(x: Any, level: Level) -> Tensor:
    """:func:`physical` for a value that may also be batched at levels entered after
    ``level`` (a ``vjp_fn`` made under ``level`` and called inside a deeper vmap): the deeper
    wrappers stay outermost, as vmap nests them, and ``level``'s batch dim becomes logical
    dim 0 of each of their samples."""
    if type(x) is BatchedTensor and x._level.id > level.id:
        return BatchedTensor(movedim(physical_nested(x._value, level), 0, 1), x._level)
    return physical(x, level)


def wrap_nested(value: Any, level: Level) -> Tensor:
    """:func:`wrap` for a value whose logical dim 0 is ``level``'s batch and which may be
    batched at levels entered after ``level``: ``level`` goes inside those (deeper levels
    wrap shallower ones), so every op dispatches the levels innermost first."""
    if type(value) is BatchedTensor and value._level.id > level.id:
        return BatchedTensor(wrap_nested(movedim(value._value, 1, 0), level), value._level)
    return wrap(value, level)


def batch_of(x: Any) -> Level | None:
    """The level of a batched tensor, else None."""
    return x._level if type(x) is BatchedTensor else None
