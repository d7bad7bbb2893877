"""``META_NP``: the array module ``get_array_module`` answers for meta arrays.

Ops write ``xp = get_array_module(x)`` and then ``xp.zeros(shape)``, ``xp.empty(...)``,
``xp.asarray(x, order="C")``, ``xp.ascontiguousarray(x)``: so that CuPy arrays stay on the
GPU. NumPy's protocols cannot keep those meta: the creation functions dispatch on ``like=``
only, and ``asarray``/``ascontiguousarray`` of an ndarray subclass copy its zero-stride
data into a full-size plain array (session 40's sweep: most of the full-size allocations on
meta). So a meta array answers its own module, as a CuPy array does: NumPy's namespace with
the creation and conversion functions returning zero-stride meta arrays (the shape and dtype
NumPy would give, row-major as PyTorch's ``contiguous()``), never the full size. Everything
else is NumPy's own function (ufuncs and ``np.*`` functions on meta arrays reach
``MetaArray``'s protocols as before).

``backend.get_array_module`` looks for a meta argument only once a meta array exists (the
flag it already reads for CuPy): the CPU path pays nothing.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from .array import MetaArray, _f_strides, meta_empty, rewrap
from .strides import set_geometry

__all__ = ["META_NP"]


def _shape(shape: Any) -> tuple:
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)


def _new(shape: Any, dtype: Any, order: str = "C") -> MetaArray:
    out = meta_empty(_shape(shape), np.dtype(float if dtype is None else dtype))
    if order == "F":
        set_geometry(out, _f_strides(out.shape))
    return out


def _empty(shape: Any, dtype: Any = None, order: str = "C", **kwargs: Any) -> Any:
    """``zeros``/``empty``/``ones`` of ``shape``: a meta array, nothing allocated."""
    return _new(shape, dtype, order)


def _full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", **kw: Any) -> Any:
    if dtype is None:
        dtype = np.asarray(fill_value).dtype if type(fill_value) is not MetaArray else None
        dtype = fill_value.dtype if dtype is None else dtype
    return _new(shape, dtype, order)


def _eye(n: int, m: Any = None, k: int = 0, dtype: Any = float, order: str = "C", **kw: Any):
    return _new((n, n if m is None else m), dtype, order)


def _identity(n: int, dtype: Any = None, **kwargs: Any) -> Any:
    return _new((n, n), dtype)


def _converted(a: MetaArray, dtype: Any, order: Any, copy: Any) -> Any:
    """``a`` as NumPy's ``asarray``/``array`` would give it: ``a`` itself when no copy is
    needed (a row-major meta array for ``order="C"``), else a new meta array."""
    if dtype is not None and np.dtype(dtype) != a.dtype:
        out = a.astype(dtype, order="K" if order in (None, "K", "A") else order)
        return out
    if order == "C" and a._st is not None:
        return meta_empty(a.shape, a.dtype)
    if order == "F" and a.ndim > 1 and a._st != _f_strides(a.shape):
        return set_geometry(meta_empty(a.shape, a.dtype), _f_strides(a.shape))
    return a.copy(order or "K") if copy else a


def _asarray(a: Any, dtype: Any = None, order: Any = None, **kwargs: Any) -> Any:
    """``asarray``/``asanyarray``: a meta array stays meta (as ``cupy.asarray`` keeps a CuPy
    array on the GPU), a new one only for a cast, an ``order`` its strides miss or a copy."""
    if type(a) is MetaArray:
        return _converted(a, dtype, order, kwargs.get("copy"))
    return np.asarray(a, dtype, order, **kwargs)


def _array(a: Any, dtype: Any = None, *, copy: Any = True, order: str = "K", **kw: Any) -> Any:
    if type(a) is MetaArray:
        return _converted(a, dtype, order, copy)
    return np.array(a, dtype, copy=copy, order=order, **kw)


def _ascontiguousarray(a: Any, dtype: Any = None, **kwargs: Any) -> Any:
    if type(a) is MetaArray:
        return _converted(a, dtype, "C", False)
    return np.ascontiguousarray(a, dtype, **kwargs)


def _asfortranarray(a: Any, dtype: Any = None, **kwargs: Any) -> Any:
    if type(a) is MetaArray:
        return _converted(a, dtype, "F", False)
    return np.asfortranarray(a, dtype, **kwargs)


def _copy(a: Any, order: str = "K", subok: bool = False) -> Any:
    if type(a) is MetaArray:
        return a.copy(order)
    return np.copy(a, order, subok)


def _int_slices(keys: tuple) -> bool:
    """Whether every key is a slice of Python ints with a stop: the grid's lengths are
    ``range``'s (a float or complex step, or no stop, is left to NumPy)."""
    for k in keys:
        if type(k) is not slice or type(k.stop) is not int:
            return False
        if not (k.start is None or type(k.start) is int) or not (
            k.step is None or type(k.step) is int
        ):
            return False
    return True


class _MetaGrid:
    """``xp.ogrid``/``xp.mgrid`` for a meta array: the grids NumPy would give (shapes,
    ``intp``), as meta arrays. An op's index grid of its input's size (gather/scatter's
    ``_full_index``: an ``arange`` per dim) otherwise allocates that size on the host."""

    def __init__(self, sparse: bool) -> None:
        self.sparse = sparse

    def __getitem__(self, key: Any) -> Any:
        keys = key if type(key) is tuple else (key,)
        if not _int_slices(keys):
            return rewrap((np.ogrid if self.sparse else np.mgrid)[key])
        sizes = tuple(len(range(k.start or 0, k.stop, k.step or 1)) for k in keys)
        if type(key) is not tuple:
            return meta_empty(sizes, np.intp)
        if not self.sparse:
            return meta_empty((len(sizes), *sizes), np.intp)
        ones = (1,) * len(sizes)
        return tuple(
            meta_empty(ones[:i] + (n,) + ones[i + 1 :], np.intp) for i, n in enumerate(sizes)
        )


def _indices(dimensions: Any, dtype: Any = int, sparse: bool = False) -> Any:
    """``np.indices`` as meta arrays of NumPy's shapes (a coordinate grid of the input's
    size, as gather's sparse gradient builds, allocates nothing)."""
    dims = _shape(dimensions)
    if not sparse:
        return meta_empty((len(dims), *dims), dtype)
    ones = (1,) * len(dims)
    return tuple(meta_empty(ones[:i] + (n,) + ones[i + 1 :], dtype) for i, n in enumerate(dims))


META_NP = types.ModuleType("chainrule.meta.numpy", __doc__)
META_NP.__dict__.update({k: v for k, v in np.__dict__.items() if not k.startswith("__")})
META_NP.__dict__.update(
    zeros=_empty,
    empty=_empty,
    ones=_empty,
    full=_full,
    eye=_eye,
    identity=_identity,
    asarray=_asarray,
    asanyarray=_asarray,
    array=_array,
    ascontiguousarray=_ascontiguousarray,
    asfortranarray=_asfortranarray,
    copy=_copy,
    ogrid=_MetaGrid(sparse=True),
    mgrid=_MetaGrid(sparse=False),
    indices=_indices,
)
