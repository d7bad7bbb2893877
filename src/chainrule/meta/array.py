"""``MetaArray``: the raw array of a tensor on PyTorch's ``'meta'`` device.

A meta tensor has a shape and a dtype but no values. Its ``_data`` is a NumPy array whose
strides are all zero over one element of storage (so a ``(4096, 4096)`` meta weight costs a
few bytes), of this ndarray subclass, which is what marks it as meta: ``backend.device_of``
reports ``device('meta')`` for it and nothing else.

Ops keep running their ordinary NumPy code on it. NumPy's protocols route every ufunc
(elementwise ops, ``matmul``, reductions) and every ``np.*`` function here
(``meta/functions.py``), where the result's shape and dtype are worked out without touching
the data (the dtype from a one-element sample, so NumPy's promotion rules stay the judge) and
a new zero-stride MetaArray is returned. Reading a value (``item``, ``bool``, boolean masks,
``nonzero``) raises as PyTorch does: a meta tensor has no data to read.

PyTorch's strides and storage offset live beside the zero ones (``_st``/``_off``,
``meta/strides.py``): the view methods below (``transpose``, ``swapaxes``, ``squeeze``,
``diagonal``, ``reshape``, basic indexing) carry them, new arrays are row-major, and an
elementwise result follows PyTorch's layout rule.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from .strides import carry, carry_index, elementwise_strides, probe, set_geometry, strided_like

__all__ = [
    "ACTIVE",
    "COPY_OUT",
    "ITEM_ERROR",
    "NONZERO_ERROR",
    "MetaArray",
    "as_meta",
    "follow",
    "is_meta",
    "meta_empty",
]

ITEM_ERROR = "Tensor.item() cannot be called on meta tensors"  # PyTorch's words
COPY_OUT = "Cannot copy out of meta tensor; no data!"  # PyTorch's words (.cpu(), .tolist())
NONZERO_ERROR = (  # the start of PyTorch's message for nonzero / boolean masks on meta
    "The register_meta function for torch.nonzero() raises unimplemented by default, as a "
    "correct data-independent implementation does not exist (a meta tensor has no values "
    "to select by)"
)


# non-empty once a meta array was made: ``Function.apply`` looks for meta inputs only then
ACTIVE: list = []


def meta_empty(shape: tuple, dtype: Any) -> MetaArray:
    """A MetaArray of ``shape`` and ``dtype``: zero strides over ``itemsize`` bytes."""
    if not ACTIVE:
        ACTIVE.append(True)
        from ..backend import look_for_meta  # noqa: PLC0415 - backend imports this module

        look_for_meta()
    dt = np.dtype(dtype)
    shape = tuple(operator.index(s) for s in shape)
    raw = np.zeros(max(dt.itemsize, 1), np.uint8)  # bytes: any dtype (float8 too) views them
    return np.ndarray.__new__(MetaArray, shape, dt, raw, 0, (0,) * len(shape))


def _unpickled(shape: tuple, dtype: Any, st: tuple | None = None) -> MetaArray:
    """A pickled meta array: its shape, dtype and PyTorch's strides (a pickled meta tensor
    keeps its strides, as torch's keeps its storage's)."""
    out = meta_empty(shape, dtype)
    if st is not None:
        set_geometry(out, st)
    return out


def _f_strides(shape: tuple) -> tuple:
    """Column-major strides (elements) of ``shape``."""
    st, step = [], 1
    for n in shape:
        st.append(step)
        step *= max(n, 1)
    return tuple(st)


def is_meta(array: Any) -> bool:
    """Whether ``array`` is a meta tensor's raw array."""
    return type(array) is MetaArray


def as_meta(array: Any) -> MetaArray:
    """``array`` as a meta array: a zero-stride MetaArray (views of one stay views, keeping
    their aliasing); anything else becomes a new MetaArray of its shape and dtype."""
    if type(array) is MetaArray and not any(array.strides):
        return array
    if isinstance(array, np.ndarray) and array.base is not None and not any(array.strides):
        return array.view(MetaArray)
    a = np.asarray(array) if not isinstance(array, np.ndarray) else array
    return meta_empty(a.shape, a.dtype)


def follow(array: Any, like: Any) -> Any:
    """A constant an op built with NumPy (an identity, a base grid, a column of zeros) on
    ``like``'s device: a MetaArray of its shape and dtype when ``like`` (a raw array) is
    meta, ``array`` itself otherwise. As ``backend.arrays_to_device`` moves such constants
    to the GPU, so that only a user's CPU tensor beside a meta one meets PyTorch's
    device error (``meta/forward.py``)."""
    if type(like) is MetaArray:
        return meta_empty(np.shape(array), np.asarray(array).dtype)
    return array


def _sample(x: Any) -> Any:
    """A one-value stand-in of ``x`` with its dtype (ones: no division by zero, no negative
    integer power); Python and NumPy scalars stay themselves (NumPy's weak scalars)."""
    if isinstance(x, np.ndarray):
        return np.ones((), x.dtype)
    return x


def _sample_kwargs(kwargs: dict) -> dict:
    return {k: v for k, v in kwargs.items() if k not in ("where", "out")}


def _matmul_shape(a: Any, b: Any) -> tuple:
    """``np.matmul``'s result shape (and NumPy's error for mismatched core dims)."""
    sa, sb = np.shape(a), np.shape(b)
    if not sa or not sb:
        which = 0 if not sa else 1
        raise ValueError(
            f"matmul: Input operand {which} does not have enough dimensions (has 0, gufunc "
            "core with signature (n?,k),(k,m?)->(n?,m?) requires 1)"
        )
    a2 = (1, *sa) if len(sa) == 1 else sa
    b2 = (*sb, 1) if len(sb) == 1 else sb
    if a2[-1] != b2[-2]:
        raise ValueError(
            "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
            f"signature (n?,k),(k,m?)->(n?,m?) (size {b2[-2]} is different from {a2[-1]})"
        )
    batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    return batch + (a2[-2],) * (len(sa) > 1) + (b2[-1],) * (len(sb) > 1)


def _reduced_shape(shape: tuple, kwargs: dict) -> tuple:
    axis = kwargs.get("axis", 0)
    axes = range(len(shape)) if axis is None else normalize_axis_tuple(axis, len(shape))
    if kwargs.get("keepdims"):
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _ufunc(ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
    """A ufunc call on meta arrays: the result's shape and dtype, no computing."""
    out = kwargs.get("out")
    kw = _sample_kwargs(kwargs)
    with np.errstate(all="ignore"):
        if method == "__call__" and ufunc.signature is None:
            shape = np.broadcast_shapes(*(np.shape(i) for i in inputs))
            r = ufunc(*(_sample(i) for i in inputs), **kw)
        elif method == "__call__" and ufunc is np.matmul and "axes" not in kw and "axis" not in kw:
            shape = _matmul_shape(*inputs)
            a, b = (np.ones((1, 1), i.dtype) if isinstance(i, np.ndarray) else i for i in inputs)
            r = ufunc(a, b, **kw)
        elif method == "reduce":
            (x,) = inputs
            shape = _reduced_shape(np.shape(x), kw)
            small = np.ones(tuple(min(n, 1) for n in np.shape(x)), np.asarray(x).dtype)
            r = ufunc.reduce(small, **kw)  # NumPy's dtype, and its error for empty input
        elif method == "accumulate":
            shape = np.shape(inputs[0])
            r = ufunc.accumulate(np.ones((1,) * max(len(shape), 1), inputs[0].dtype), **kw)
        elif method == "outer":
            shape = np.shape(inputs[0]) + np.shape(inputs[1])
            r = ufunc(*(_sample(i) for i in inputs), **kw)
        elif method == "at":
            return None  # an in-place update of a meta array: nothing to write
        else:
            return _fallback(getattr(ufunc, method), inputs, kwargs)
    results = r if isinstance(r, tuple) else (r,)
    metas = tuple(meta_empty(shape, np.asarray(x).dtype) for x in results)
    if method == "__call__" and ufunc.signature is None and _any_strided(inputs):
        st = elementwise_strides(shape, inputs)  # PyTorch's elementwise layout rule
        if st is not None:
            for m in metas:
                set_geometry(m, st)
    if ufunc is np.logical_and and method == "reduce":
        metas[0].all_true = True  # ``if not ok.all(): raise`` passes (see ``__bool__``)
    if out is not None:
        metas = _into_out(out, metas)
    return metas if isinstance(r, tuple) else metas[0]


def _any_strided(inputs: tuple) -> bool:
    """Whether any input is a meta array with other strides than row-major."""
    for i in inputs:
        if type(i) is MetaArray and i._st is not None:
            return True
    return False


def _basic_key(keys: tuple) -> bool:
    """Whether an index is basic (ints, slices, None, Ellipsis): a view."""
    for k in keys:
        if not (k is None or k is Ellipsis or type(k) is slice or type(k) is int):
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, np.integer):
                return False
    return True


_NO_BYTES = np.dtype([])  # itemsize 0: an array of it indexes (NumPy's checks) for free


def _advanced_shape(shape: tuple, keys: tuple) -> tuple:
    """The shape (and NumPy's IndexError) of advanced indexing into an array of ``shape``,
    computed on a zero-byte stand-in, each meta index replaced by a zero-stride one of its
    shape (nothing read; a host index keeps its values, and NumPy's bounds check)."""
    src = np.ndarray(shape, _NO_BYTES, b"", 0, (0,) * len(shape))
    key = tuple(
        np.broadcast_to(np.zeros((), np.intp), k.shape) if type(k) is MetaArray else k for k in keys
    )
    return src[key].shape


def _into_out(out: tuple, metas: tuple) -> tuple:
    """``out=`` given: the out arrays themselves, unwritten (a meta result has no values).
    An op's own work buffer (``np.empty`` then ``out=``) is a plain array: it stays
    unwritten too, and ``meta/forward.py`` marks the op's outputs meta."""
    for o, m in zip(out, metas):
        if np.broadcast_shapes(np.shape(o), m.shape) != np.shape(o):
            raise ValueError(
                f"non-broadcastable output operand with shape {np.shape(o)} doesn't match the "
                f"broadcast shape {m.shape}"
            )
    return tuple(out)


def plain(x: Any) -> Any:
    """A MetaArray as a plain zero-stride ndarray view (lists and tuples one level deep)."""
    if type(x) is MetaArray:
        return x.view(np.ndarray)
    if type(x) in (list, tuple):
        return type(x)(plain(i) for i in x)
    return x


def rewrap(r: Any) -> Any:
    """The results of a computation on plain views, as meta arrays."""
    if isinstance(r, np.ndarray):
        return as_meta(r)
    if type(r) in (list, tuple):
        return type(r)(rewrap(i) for i in r)
    if isinstance(r, np.generic):
        return meta_empty((), r.dtype)
    return r


def _fallback(func: Any, args: tuple, kwargs: dict) -> Any:
    """Anything without a shape rule: run on the zero-stride views (zeros, no warnings) and
    mark the results meta. Views cost nothing; a new array is computed once and dropped."""
    with np.errstate(all="ignore"):
        r = func(*plain(args), **{k: plain(v) for k, v in kwargs.items()})
    return rewrap(r)


class MetaArray(np.ndarray):
    """The zero-stride raw array of a meta tensor (see the module docstring)."""

    # no layout of its own, as cr.func.vmap's per-sample arrays: chainrule's stride rules
    # (``_layout.is_vmap_array``: result layouts, a leaf's first ``.grad``) leave it as it is
    vmap_raw_array = True

    # PyTorch's strides (elements; None: row-major) and storage offset of this meta tensor,
    # which its zero real strides cannot hold (``meta/strides.py``)
    _st: tuple | None = None
    _off: int = 0

    def __array_finalize__(self, obj: Any) -> None:
        """A view keeps its source's offset, and its strides where the shape is the same
        (``view()``); a view op of another shape sets its own (``meta/strides.py``)."""
        if type(obj) is MetaArray:
            if obj._off:
                self._off = obj._off
            if obj._st is not None and obj.shape == self.shape and obj.itemsize == self.itemsize:
                self._st = obj._st

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        from .functions import RULES  # in here: functions imports this module

        rule = RULES.get(func)
        if rule is not None:
            return rule(*args, **kwargs)
        return _fallback(func, args, kwargs)

    # -- reading values: there are none
    def item(self, *args: Any) -> Any:
        raise RuntimeError(ITEM_ERROR)

    def tolist(self) -> Any:
        raise NotImplementedError(COPY_OUT)

    def tobytes(self, order: str = "C") -> bytes:
        raise NotImplementedError(COPY_OUT)

    # An op's own checks of its values (``if isnan(y).any(): fix``, ``int(idx.max()) >= n:
    # raise``, ``if not isfinite(a).all(): raise``) see no special value and pass, as
    # PyTorch's meta kernels skip them: a meta array is falsy, except the result of an
    # ``all()`` (``logical_and.reduce``), which is truthy. So a check written as "any bad?"
    # or "all good?" passes, one place for every op. Users never hold the raw array:
    # ``bool(t)``, ``t.item()``, ``int(t)`` raise PyTorch's error (Tensor.__bool__ checks;
    # item() below), and sizes (``__index__``) refuse.
    all_true = False

    def __bool__(self) -> bool:
        return self.all_true

    def __float__(self) -> float:
        return 0.0

    def __int__(self) -> int:
        return 0

    def __complex__(self) -> complex:
        return 0j

    def __index__(self) -> int:
        raise RuntimeError(ITEM_ERROR)

    def nonzero(self) -> Any:
        raise NotImplementedError(NONZERO_ERROR)

    # -- new arrays: zero strides again, never the full size
    def copy(self, order: str = "K") -> MetaArray:
        """A new meta array: row-major for ``order="C"``, else in ``torch.empty_like``'s
        layout (what ``clone`` gives: these strides when dense, else dense in their order)."""
        out = meta_empty(self.shape, self.dtype)
        if order == "F":
            set_geometry(out, _f_strides(self.shape))
        elif order != "C" and self._st is not None:
            st = strided_like(self)
            if st is not None:
                set_geometry(out, st)
        return out

    def __copy__(self) -> MetaArray:
        return self.copy()

    def __deepcopy__(self, memo: Any) -> MetaArray:
        return meta_empty(self.shape, self.dtype)

    def __reduce__(self) -> Any:
        return (_unpickled, (self.shape, self.dtype, self._st))

    def astype(self, dtype: Any, *args: Any, **kwargs: Any) -> MetaArray:
        """A new meta array of ``dtype``, laid out as ``torch.empty_like`` (NumPy's default
        ``order="K"``; PyTorch's ``to(dtype)`` keeps a dense layout)."""
        np.ones((), self.dtype).astype(dtype, *args, **kwargs)  # NumPy's checks (casting=)
        out = meta_empty(self.shape, dtype)
        if self._st is not None and kwargs.get("order", args[0] if args else "K") in "KA":
            st = strided_like(self)
            if st is not None:
                set_geometry(out, st)
        return out

    def ravel(self, order: str = "C") -> MetaArray:
        return self.reshape(-1)

    # -- views: the view of the zero-stride array (aliasing its base) with PyTorch's strides
    def transpose(self, *axes: Any) -> Any:
        r = super().transpose(*axes)
        return carry(r, self, lambda p: p.transpose(*axes))

    @property
    def T(self) -> Any:  # noqa: N802 - NumPy's name
        return self.transpose()

    @property
    def mT(self) -> Any:  # noqa: N802 - NumPy's name
        return self.swapaxes(-1, -2)

    def swapaxes(self, axis1: int, axis2: int) -> Any:
        r = super().swapaxes(axis1, axis2)
        return carry(r, self, lambda p: p.swapaxes(axis1, axis2))

    def squeeze(self, axis: Any = None) -> Any:
        r = super().squeeze(axis)
        return carry(r, self, lambda p: p.squeeze(axis))

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        r = super().diagonal(offset, axis1, axis2)
        return carry(r, self, lambda p: p.diagonal(offset, axis1, axis2))

    def reshape(self, *shape: Any, order: str = "C", copy: Any = None) -> Any:
        """A view when PyTorch's strides allow one (then with its strides), else a new
        row-major array (PyTorch's ``reshape`` copies; ``copy=False``: NumPy's error)."""
        r = super().reshape(*shape, order=order)
        if self._st is None and order == "C":
            return r  # row-major stays row-major (the offset is kept by __array_finalize__)
        try:
            p = probe(self).reshape(*shape, order=order, copy=False)
        except ValueError:
            if copy is False:
                raise
            return meta_empty(r.shape, r.dtype)
        return carry(r, self, lambda _: p)

    def flatten(self, order: str = "C") -> MetaArray:
        return meta_empty((self.size,), self.dtype)

    def fill(self, value: Any) -> None:
        return None

    def __getitem__(self, key: Any) -> Any:
        keys = key if type(key) is tuple else (key,)
        if any(type(k) is MetaArray and k.dtype == np.bool_ for k in keys):
            raise NotImplementedError(NONZERO_ERROR)
        if not _basic_key(keys):  # a new array (advanced indexing): row-major
            return meta_empty(_advanced_shape(self.shape, keys), self.dtype)
        r = super().__getitem__(key)
        if isinstance(r, np.ndarray):  # a view: PyTorch's strides and offset
            return carry_index(as_meta(r), self, key, keys)
        return meta_empty((), self.dtype)

    def __setitem__(self, key: Any, value: Any) -> None:
        """A write into a meta array: checked for shape (through the zero-stride view, no
        data moved when the value is meta), otherwise nothing to do."""
        keys = key if type(key) is tuple else (key,)
        if any(type(k) is MetaArray for k in keys):
            return  # meta indices or a meta mask: no values to check the shape against
        target = np.ndarray.__getitem__(self.view(np.ndarray), key)
        np.broadcast_shapes(np.shape(target), np.shape(value))

    def __repr__(self) -> str:
        return f"MetaArray(shape={self.shape}, dtype={self.dtype})"

    __str__ = __repr__
