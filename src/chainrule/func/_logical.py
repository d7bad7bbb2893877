"""``LogicalArray``: what raw-array code sees of a batched tensor inside ``cr.func.vmap``.

Some ops compute on ``x._data`` outside ``Function.apply`` (masks such as ``x._data > 0``,
stabilisers such as ``x._data.max(axis)``, bounds checks). For a batched tensor ``_data`` is a
LogicalArray: logical metadata, elementwise NumPy and axis reductions run once on the
physical array, and the results stay LogicalArrays, so a Tensor made from one is read as
batched again by the dispatcher. Everything else raises a clear error rather than silently
mixing samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.forward_ad_captures import _CAPTURED
from ._inplace_refusal import UnbatchedWrite

__all__ = [
    "BOOL_MASK_MESSAGE",
    "CONTROL_FLOW_MESSAGE",
    "INPLACE_UNBATCHED",
    "ITEM_MESSAGE",
    "Levels",
    "LogicalArray",
    "MASKED_SELECT_MESSAGE",
    "NO_STORAGE_MESSAGE",
    "GRAD_VALUE_MESSAGE",
    "TARGET_LEVELS",
    "dynamic_shape",
    "inplace_unbatched",
    "value_error",
]

# PyTorch's words for a per-sample value asked for as one Python value inside vmap
ITEM_MESSAGE = (
    "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over "
    "calling .item() on a Tensor, please try to rewrite what you're doing with other "
    "operations. If error is occurring somewhere inside PyTorch internals, please file a "
    "bug report."
)
CONTROL_FLOW_MESSAGE = (
    "vmap: It looks like you're attempting to use a Tensor in some data-dependent control "
    "flow. We don't support that yet, please file an issue at "
    "https://github.com/pytorch/pytorch/issues ."
)


GRAD_VALUE_MESSAGE = (  # the same asked inside a grad transform entered within the vmap
    "vmap: It looks like you're either (1) calling .item() on a Tensor or (2) attempting to "
    "use a Tensor in some data-dependent control flow or (3) encountering this error in "
    "PyTorch internals. For (1): we don't support vmap over calling .item() on a Tensor, "
    "please try to rewrite what you're doing with other operations. For (2): we don't "
    "support data-dependent control flow in vmap yet, please file an issue at "
    "https://github.com/pytorch/pytorch/issues . For (3): please file an issue."
)


def value_error(message: str, level: Any) -> RuntimeError:
    """PyTorch's error for a per-sample value asked for as one Python value (``message``:
    :data:`ITEM_MESSAGE` or :data:`CONTROL_FLOW_MESSAGE`); inside a grad transform entered
    after ``level``'s vmap (``vmap(grad(f))``) PyTorch words it as :data:`GRAD_VALUE_MESSAGE`."""
    inner = level.levels[-1] if type(level) is Levels else level
    if len(_CAPTURED.stack) > getattr(inner, "grads", len(_CAPTURED.stack)):
        return RuntimeError(GRAD_VALUE_MESSAGE)
    return RuntimeError(message)


NO_STORAGE_MESSAGE = "Cannot access data pointer of Tensor that doesn't have storage"
BOOL_MASK_MESSAGE = (
    "vmap: We do not support batching operators that can support dynamic shape. Attempting "
    "to batch over indexing with a boolean mask."
)
MASKED_SELECT_MESSAGE = (
    "vmap: Attempted to vmap over `mask` in torch.masked_select(self, mask) We cannot "
    "support this because for each batch this would return a differently shaped Tensor. "
    "Please file an issue at https://github.com/pytorch/pytorch/issues if you need this "
    "feature."
)


def dynamic_shape(op: str) -> RuntimeError:
    """PyTorch's refusal of an op whose result's shape depends on the values (``nonzero``,
    ``unique``) under vmap: each sample's would differ."""
    return RuntimeError(
        "vmap: We do not support batching operators that can output dynamic shape. "
        f"Attempted to vmap over {op}. Please file an issue at "
        "https://github.com/pytorch/pytorch/issues if you need this feature."
    )


INPLACE_UNBATCHED = (
    "vmap: {op}(self, *extra_args) is not possible because there exists a Tensor `other` in "
    "extra_args that has more elements than `self`. This happened due to `other` being "
    "vmapped over but `self` not being vmapped over in a vmap. Please try to use "
    "out-of-place operators instead of {op}. If said operator is being called inside the "
    "PyTorch framework, please file a bug report instead."
)


def inplace_unbatched(op: str = "inplace arithmetic") -> RuntimeError:
    """PyTorch's error for an in-place ``op`` whose ``self`` is not batched by a vmap level
    that batches another argument (its result has per-sample values, ``self`` has one)."""
    return RuntimeError(INPLACE_UNBATCHED.format(op=op))


_ALONG_AXIS = (np.argmax, np.argmin, np.argsort, np.expand_dims)
_COMPARISONS = (np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal)


class Levels:
    """Several nested vmap levels at once (outermost first): the physical array of a
    LogicalArray of them has their batch dims flattened into one leading dim of ``size``
    (a draw of several ``'different'`` levels; the raw array of a nested-vmap value)."""

    __slots__ = ("levels", "size", "randomness", "id")

    def __init__(self, levels: list):
        self.levels = tuple(levels)
        self.size = int(np.prod([lv.size for lv in levels], dtype=np.int64))
        self.randomness, self.id = "different", levels[-1].id

    def __repr__(self) -> str:
        return f"Levels({list(self.levels)!r})"


def _levels_of(level: Any) -> tuple:
    return level.levels if type(level) is Levels else (level,)


def _unflattened(a: LogicalArray, union: list, rank: int) -> Any:
    """``a``'s physical array with one leading dim per level of ``union`` (size 1 where
    ``a`` is not batched at it), then its logical shape aligned to ``rank``."""
    own = _levels_of(a.level)
    p = a.phys.reshape(tuple(lv.size for lv in own) + a.shape)
    if len(own) == len(union):
        return p.reshape(p.shape[: len(own)] + (1,) * (rank - a.ndim) + a.shape)
    lead = tuple(lv.size if any(lv is o for o in own) else 1 for lv in union)
    return p.reshape(lead + (1,) * (rank - a.ndim) + a.shape)


# The vmap levels of the in-place target being written (``BatchedTensor.vmap_inplace`` pushes
# its level around the write into its value: innermost first). The raw target array the write
# reaches holds their batch dims, outermost first, then the logical shape.
TARGET_LEVELS: list = []


def _unbatched_write(target: tuple, levels: tuple) -> UnbatchedWrite:
    """The refusal of writing values batched at ``levels`` into the raw target of shape
    ``target``, with PyTorch's shapes for its broadcast words: the broadcast shape is the
    size of every level batching the target or the values (outermost first) and the logical
    shape; the target's is the logical shape if no level batches it, else, from its
    outermost level on, each level's size where it batches the target, 1 where not."""
    own = TARGET_LEVELS[::-1]  # outermost first
    union = sorted({id(lv): lv for lv in (*own, *levels)}.values(), key=lambda lv: lv.id)
    logical = list(target[len(own) :])
    full = [lv.size for lv in union] + logical
    mine = {id(lv) for lv in own}
    first = own[0].id if own else None
    lead = [
        lv.size if id(lv) in mine else 1 for lv in union if first is not None and lv.id >= first
    ]
    return UnbatchedWrite(target, levels, (lead + logical, full))


class LogicalArray(np.lib.mixins.NDArrayOperatorsMixin):
    """A per-sample raw array: the logical view of a physical array of one vmap level.

    It is ``BatchedTensor._data``, and what raw-array code inside vmap computes from it:
    metadata (shape, ndim, dtype, size) is logical; elementwise NumPy (ufuncs and operators,
    ``np.where``, ``astype``) and reductions with ``axis`` (``max``/``min``/``sum``/``any``/
    ``all``) run once on the physical array, logical ranks aligned after the batch dim, and
    give another LogicalArray. Per-sample random draws are LogicalArrays too. A plain Tensor
    holding one (``Tensor._make(x._data > 0)``) is read as batched by the dispatcher.
    Anything else (conversion to a NumPy array, indexing, other methods) raises a clear
    error instead of silently mixing samples.

    Attributes:
        shape, dtype: logical metadata.
        phys: the physical array (batch dim first), or None for a nested-vmap value.
        level: the :class:`Level` whose batch dim ``phys`` carries.
    """

    __slots__ = ("shape", "dtype", "phys", "level", "reduced")
    base = None  # never a view of a raw array the caller could share memory with
    vmap_raw_array = True  # ops' as_tensor wraps it like an array (ops/_util.py)

    def __init__(self, shape: tuple, dtype: Any, phys: Any = None, level: Any = None):
        self.shape, self.dtype, self.phys, self.level = tuple(shape), np.dtype(dtype), phys, level
        self.reduced = None  # "min"/"max"/"any"/"all" for a full reduction (see _scalar)

    @classmethod
    def of(cls, phys: Any, level: Any) -> LogicalArray:
        """The physical array ``phys`` (batch dim first) as per-sample values of ``level``."""
        return cls(phys.shape[1:], phys.dtype, phys, level)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def _aligned(self, rank: int) -> Any:
        if self.phys is None:
            self.__getattr__("elementwise NumPy on a nested-vmap value")
        extra = rank - len(self.shape)
        return self.phys.reshape(self.phys.shape[:1] + (1,) * extra + self.shape)

    def _elementwise(self, fn: Any, inputs: tuple, kwargs: dict) -> Any:
        arrays = [i for i in inputs if isinstance(i, LogicalArray)]
        levels = {id(i.level) for i in arrays}
        rank = max(i.ndim if isinstance(i, LogicalArray) else np.ndim(i) for i in inputs)
        level = self.level
        if len(levels) > 1:  # values of several (nested) levels: every level's batch dim
            if any(i.phys is None for i in arrays):
                self.__getattr__("elementwise NumPy mixing vmap levels")
            union = {id(lv): lv for i in arrays for lv in _levels_of(i.level)}
            ordered = sorted(union.values(), key=lambda lv: lv.id)
            args = [
                _unflattened(i, ordered, rank) if isinstance(i, LogicalArray) else i for i in inputs
            ]
            level = Levels(ordered) if len(ordered) > 1 else ordered[0]
            n = len(ordered)
            out = fn(*args, **kwargs)
            outs = out if isinstance(out, tuple) else (out,)
            outs = tuple(np.asarray(o).reshape((level.size,) + np.shape(o)[n:]) for o in outs)
            out = outs if isinstance(out, tuple) else outs[0]
        else:
            args = [i._aligned(rank) if isinstance(i, LogicalArray) else i for i in inputs]
            out = fn(*args, **kwargs)
        if isinstance(out, tuple):
            return tuple(LogicalArray.of(np.asarray(o), level) for o in out)
        res = LogicalArray.of(np.asarray(out), level)
        if fn in _COMPARISONS and all(i.reduced for i in inputs if isinstance(i, LogicalArray)):
            res.reduced = "any"  # ``if x.min() < 0: raise`` holds if it holds for any sample
        return res

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__" or "out" in kwargs:
            self.__getattr__(f"{ufunc.__name__}.{method}")
        return self._elementwise(ufunc, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        if func is np.copyto and args and args[0] is not self:  # x.add_(batched) into an
            # unbatched x: per-sample values, one tensor (PyTorch; apply_inplace names the op)
            raise _unbatched_write(np.shape(args[0]), _levels_of(self.level))
        if func in (np.may_share_memory, np.shares_memory):  # memory questions: physical
            return func(*(a.phys if isinstance(a, LogicalArray) else a for a in args), **kwargs)
        if func is np.where and len(args) == 3 and not kwargs:
            return self._elementwise(np.where, args, {})
        if (
            func is np.take
            and len(args) == 2
            and args[0] is self
            and not isinstance(args[1], LogicalArray)
            and kwargs.get("axis") is not None
        ):
            ax = int(kwargs["axis"]) % max(self.ndim, 1) + 1
            return LogicalArray.of(np.take(self._aligned(self.ndim), args[1], axis=ax), self.level)
        if func in _ALONG_AXIS and args and args[0] is self and len(args) <= 2:
            if len(args) == 2:
                kwargs = dict(kwargs, axis=args[1])
            return self._along_axis(func, **kwargs)
        self.__getattr__(f"numpy.{func.__name__}")

    def _along_axis(self, func: Any, axis: Any = None, **kwargs: Any) -> LogicalArray:
        """argmax/argmin/argsort/expand_dims along one logical axis (None: flattened)."""
        phys = self._aligned(self.ndim)
        if axis is None and func is not np.expand_dims:
            if kwargs.get("keepdims"):
                self.__getattr__(f"numpy.{func.__name__}(axis=None, keepdims=True)")
            phys, ax = phys.reshape(phys.shape[0], -1), 1
        else:
            n = self.ndim + (1 if func is np.expand_dims else 0)
            ax = int(axis) % max(n, 1) + 1
        return LogicalArray.of(np.asarray(func(phys, axis=ax, **kwargs)), self.level)

    def reshape(self, *shape: Any, **kw: Any) -> LogicalArray:
        """Only the no-op reshape (``bool(t)`` of a 0-d tensor reshapes its array to ())."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if kw or tuple(shape) != self.shape:
            self.__getattr__("reshape")
        return self

    def view(self, *args: Any, **kw: Any) -> LogicalArray:
        """Only the plain new view (``detach()`` takes one: another array object over the
        same memory): the same per-sample values. A view as another dtype or type raises."""
        if args or kw:
            self.__getattr__("view")
        out = LogicalArray(self.shape, self.dtype, self.phys, self.level)
        out.reduced = self.reduced
        return out

    def astype(self, dtype: Any, copy: bool = True) -> LogicalArray:
        return LogicalArray.of(self._aligned(self.ndim).astype(dtype, copy=copy), self.level)

    def _reduce(self, name: str, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        if kw:
            self.__getattr__(f"{name}({', '.join(kw)}=...)")
        n = self.ndim
        if axis is None:
            axes = tuple(range(1, n + 1))
        elif isinstance(axis, (int, np.integer)):
            axes = (int(axis) % max(n, 1) + 1,)
        else:
            axes = tuple(int(a) % max(n, 1) + 1 for a in axis)
        out = LogicalArray.of(
            np.asarray(getattr(self._aligned(n), name)(axis=axes, keepdims=keepdims)), self.level
        )
        if axis is None and not keepdims:
            out.reduced = name
        return out

    def _scalar(self, kind: Any, what: str) -> Any:
        """A Python number from a full min/max/any/all: the same reduction over every
        sample too. Ops use these for validity checks (``int(index.max()) >= size``,
        ``if (x < 0).any(): raise``), which must hold for every sample; any other per-sample
        value has no single Python value and raises."""
        if self.reduced not in ("min", "max", "any", "all") or self.phys is None:
            if what.startswith("bool"):  # PyTorch's words for an if/while on a tensor
                raise value_error(CONTROL_FLOW_MESSAGE, self.level)
            if what in ("int()", "float()", ".item()"):
                raise value_error(ITEM_MESSAGE, self.level)
            self.__getattr__(f"{what} (a per-sample value used as a Python value)")
        return kind(getattr(self.phys, self.reduced)())

    def max(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return self._reduce("max", axis, keepdims, **kw)

    def min(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return self._reduce("min", axis, keepdims, **kw)

    def sum(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return self._reduce("sum", axis, keepdims, **kw)

    def any(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return self._reduce("any", axis, keepdims, **kw)

    def all(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return self._reduce("all", axis, keepdims, **kw)

    def __int__(self) -> int:
        return self._scalar(int, "int()")

    def __float__(self) -> float:
        return self._scalar(float, "float()")

    def __index__(self) -> int:
        return self._scalar(int, "an index or size")

    def item(self) -> Any:
        return self._scalar(lambda v: v.item(), ".item()")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # protocol probes (__dlpack__, ...): plainly absent
            raise AttributeError(name)
        raise RuntimeError(
            f"vmap: an operation computed on the raw array of a batched tensor ({name!r}) in "
            "a way that has no per-sample form; it runs outside Function.apply, so no "
            "batching rule can handle it. Compute it outside cr.func.vmap, or loop over the "
            "batch explicitly."
        )

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        self.__getattr__("conversion to a NumPy array")

    def __bool__(self) -> bool:
        return self._scalar(bool, "bool() (data-dependent control flow)")

    def __repr__(self) -> str:
        return f"LogicalArray(shape={tuple(self.shape)}, dtype={self.dtype}, level={self.level!r})"
