"""Shape rules for ``np.*`` functions called on meta arrays (``MetaArray.__array_function__``).

A function listed here gets its result's shape and dtype without computing anything: the
products (``dot``, ``tensordot``, ``einsum``), the joins, the ``*_like`` makers, ``where`` and
``copyto`` (a write into a meta array does nothing). The functions whose result depends on
the values (``nonzero``, ``unique``, ``argwhere``, ...) raise as PyTorch does on meta.
Everything else runs on the zero-stride views (``array._fallback``): views (``transpose``,
``broadcast_to``, ``moveaxis``) cost nothing, and a new array is computed on zeros once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from .array import NONZERO_ERROR, MetaArray, _fallback, _sample, meta_empty
from .rules_more import MORE_RULES
from .strides import carry, expand_strides, meta_strides, set_geometry, strided_like

__all__ = ["RULES"]


def _dtype(*arrays: Any) -> Any:
    return np.result_type(*(a.dtype if isinstance(a, np.ndarray) else a for a in arrays))


def _data_dependent(name: str) -> Any:
    """A refusal for a function whose result's shape depends on the values."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        if name == "nonzero":
            raise NotImplementedError(NONZERO_ERROR)
        raise NotImplementedError(
            f"{name}: attempted to run this operator with Meta tensors, but its result "
            "depends on the values, which a meta tensor does not have"
        )

    return refuse


def _concatenate(arrays: Any, axis: Any = 0, out: Any = None, **kwargs: Any) -> Any:
    small = [np.ones(tuple(min(n, 1) for n in np.shape(a)), _dtype(a)) for a in arrays]
    if axis is None:
        return meta_empty((sum(np.size(a) for a in arrays),), np.concatenate(small, None).dtype)
    r = np.concatenate(small, axis, **kwargs)  # NumPy's checks and dtype
    shapes = [np.shape(a) for a in arrays]
    ax = axis % r.ndim
    for s in shapes[1:]:
        if len(s) != len(shapes[0]) or any(
            x != y for i, (x, y) in enumerate(zip(s, shapes[0])) if i != ax
        ):
            np.concatenate([np.empty(s, np.bool_) for s in shapes], axis)  # NumPy's error
    shape = list(shapes[0])
    shape[ax] = sum(s[ax] for s in shapes)
    return meta_empty(tuple(shape), r.dtype)


def _stack(arrays: Any, axis: int = 0, out: Any = None, **kwargs: Any) -> Any:
    shapes = {np.shape(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    (shape,) = shapes
    nd = len(shape) + 1
    ax = axis + nd if axis < 0 else axis
    if not 0 <= ax < nd:
        raise np.exceptions.AxisError(axis, nd)
    dt = kwargs.get("dtype") or _dtype(*arrays)
    return meta_empty(shape[:ax] + (len(arrays),) + shape[ax:], dt)


def _like(fill: bool) -> Any:
    def like(a: Any, *args: Any, dtype: Any = None, shape: Any = None, **kwargs: Any) -> Any:
        if fill and args and dtype is None and len(args) > 1:
            dtype = args[1]
        if not fill and args and dtype is None:
            dtype = args[0]
        s = np.shape(a) if shape is None else tuple(np.atleast_1d(shape))
        out = meta_empty(s, dtype if dtype is not None else a.dtype)
        if shape is None and type(a) is MetaArray and kwargs.get("order", "K") in "KA":
            st = strided_like(a)  # NumPy's order="K", torch.empty_like's preserve_format
            if st is not None:
                set_geometry(out, st)
        return out

    return like


def _copyto(dst: Any, src: Any, casting: str = "same_kind", where: Any = True) -> None:
    if type(dst) is not MetaArray:
        raise NotImplementedError(
            "Cannot copy out of meta tensor; no data! (a meta tensor copied into a "
            f"{type(dst).__name__})"
        )
    np.broadcast_shapes(dst.shape, np.shape(src))


def _where(cond: Any, *xy: Any) -> Any:
    if not xy:
        raise NotImplementedError(NONZERO_ERROR)
    shape = np.broadcast_shapes(*(np.shape(a) for a in (cond, *xy)))
    return meta_empty(shape, np.where(True, *(_sample(a) for a in xy)).dtype)


def _dot(a: Any, b: Any, out: Any = None) -> Any:
    sa, sb = np.shape(a), np.shape(b)
    if not sa or not sb:
        return meta_empty(sa or sb, _dtype(a, b))
    k = sb[-2] if len(sb) > 1 else sb[-1]
    if sa[-1] != k:
        raise ValueError(f"shapes {sa} and {sb} not aligned: {sa[-1]} (dim {len(sa) - 1}) != {k}")
    return meta_empty(sa[:-1] + sb[:-2] + sb[-1:] * (len(sb) > 1), _dtype(a, b))


def _tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    sa, sb = np.shape(a), np.shape(b)
    if isinstance(axes, int):
        ax_a, ax_b = list(range(len(sa) - axes, len(sa))), list(range(axes))
    else:
        ax_a, ax_b = ([x] if isinstance(x, int) else list(x) for x in axes)
    ax_a = [x % len(sa) for x in ax_a]
    ax_b = [x % len(sb) for x in ax_b]
    if len(ax_a) != len(ax_b) or any(sa[i] != sb[j] for i, j in zip(ax_a, ax_b)):
        raise ValueError("shape-mismatch for sum")
    keep_a = tuple(n for i, n in enumerate(sa) if i not in ax_a)
    keep_b = tuple(n for i, n in enumerate(sb) if i not in ax_b)
    return meta_empty(keep_a + keep_b, _dtype(a, b))


def _einsum(*operands: Any, out: Any = None, optimize: Any = False, **kwargs: Any) -> Any:
    spec = operands[0]
    if not isinstance(spec, str) or "." in spec:
        return _fallback(np.einsum, operands, {"optimize": optimize, **kwargs})
    arrays = operands[1:]
    spec = spec.replace(" ", "")
    ins, _, res = spec.partition("->")
    terms = ins.split(",")
    sizes: dict = {}
    for term, a in zip(terms, arrays):
        for label, n in zip(term, np.shape(a)):
            if sizes.setdefault(label, n) != n and 1 not in (n, sizes[label]):
                raise ValueError(
                    f"operands could not be broadcast together with remapped shapes for "
                    f"label {label!r}: {sizes[label]} and {n}"
                )
            sizes[label] = max(sizes[label], n) if sizes[label] and n else 0
    if not _:
        res = "".join(sorted(c for c in set(ins) - {","} if ins.count(c) == 1))
    small = [np.ones((1,) * np.ndim(a), _dtype(a)) for a in arrays]
    dt = np.einsum(ins + "->" + res, *small, **kwargs).dtype
    return meta_empty(tuple(sizes[c] for c in res), dt)


def _all(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> Any:
    """``np.all``: the method's answer (a truthy meta array, so that a value check passes)."""
    if out is not None or kw:
        return _fallback(np.all, (a, axis, out, keepdims), kw)
    return np.logical_and.reduce(a, axis=axis, keepdims=keepdims)


def _repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    if type(repeats) is MetaArray:  # repeat_interleave by a meta tensor: sizes from values
        _data_dependent("repeat_interleave")()
    if not isinstance(repeats, (int, np.integer)) and type(a) is MetaArray:
        return MORE_RULES["repeat"](a, repeats, axis)
    if isinstance(repeats, (int, np.integer)) and repeats >= 0 and isinstance(a, np.ndarray):
        if axis is None:
            return meta_empty((a.size * int(repeats),), a.dtype)
        ax = normalize_axis_index(axis, a.ndim)
        shape = list(a.shape)
        shape[ax] *= int(repeats)
        return meta_empty(tuple(shape), a.dtype)
    return _fallback(np.repeat, (a, repeats), {"axis": axis})


def _arg_extreme(func: Any) -> Any:
    """``np.argmax``/``np.argmin``: the reduced shape, NumPy's index dtype."""

    def rule(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
        if out is not None or not isinstance(a, np.ndarray):
            return _fallback(func, (a, axis, out), {"keepdims": keepdims})
        if axis is None:
            shape = (1,) * a.ndim if keepdims else ()
            if a.size == 0:
                func(np.empty(0))  # NumPy's error for an empty array
        else:
            ax = normalize_axis_index(axis, a.ndim)
            if a.shape[ax] == 0:
                func(np.empty((0,)), 0)
            shape = tuple(1 if i == ax else n for i, n in enumerate(a.shape) if keepdims or i != ax)
        return meta_empty(shape, np.intp)

    return rule


def _take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    """``np.take_along_axis``: the indices' shape along ``axis``, broadcast elsewhere."""
    if axis is None:
        return meta_empty(np.shape(indices), arr.dtype)
    if np.ndim(arr) != np.ndim(indices):
        return _fallback(np.take_along_axis, (arr, indices, axis), {})  # NumPy's error
    ax = normalize_axis_index(axis, arr.ndim)
    try:
        rest = np.broadcast_shapes(
            tuple(1 if i == ax else n for i, n in enumerate(arr.shape)),
            tuple(1 if i == ax else n for i, n in enumerate(np.shape(indices))),
        )
    except ValueError:
        return _fallback(np.take_along_axis, (arr, indices, axis), {})  # NumPy's IndexError
    shape = rest[:ax] + (np.shape(indices)[ax],) + rest[ax + 1 :]
    return meta_empty(shape, arr.dtype)


RULES: dict = {
    np.concatenate: _concatenate,
    np.stack: _stack,
    np.empty_like: _like(False),
    np.zeros_like: _like(False),
    np.ones_like: _like(False),
    np.full_like: _like(True),
    np.copyto: _copyto,
    np.where: _where,
    np.dot: _dot,
    np.tensordot: _tensordot,
    np.einsum: _einsum,
    np.nonzero: _data_dependent("nonzero"),
    np.flatnonzero: _data_dependent("flatnonzero"),
    np.argwhere: _data_dependent("argwhere"),
    np.unique: _data_dependent("unique"),
    np.extract: _data_dependent("masked_select"),
    np.bincount: _data_dependent("bincount"),
    np.histogram: _data_dependent("histc"),
    np.repeat: _repeat,
    np.argmax: _arg_extreme(np.argmax),
    np.argmin: _arg_extreme(np.argmin),
    np.take_along_axis: _take_along_axis,
    np.all: _all,
    np.compress: _data_dependent("masked_select"),
}
RULES.update((f, r) for f, r in MORE_RULES.items() if not isinstance(f, str))


def _small_sizes(args: tuple) -> dict:
    """Each matrix size (> 1) of the meta arguments' core dims mapped to a small stand-in
    size, in the same order (2, 3, 4, ...): equal sizes stay equal and ``min``/``max``
    pick the same dim, so the stand-in results' dims map back one to one."""
    sizes = set()
    for a in args:
        if type(a) is MetaArray:
            sizes.update(n for n in a.shape[-2:] if n > 1)
    return {n: i + 2 for i, n in enumerate(sorted(sizes))}


def _linalg_standin(a: Any, small: dict) -> Any:
    """A small well-conditioned stand-in of a meta matrix argument: identity matrices (ones
    for a vector) of its dtype, each core size shrunk by ``small`` and the batch dims to one
    (the result's shape is worked out from the arguments' own), so that a factorisation
    meets no singular or non-positive matrix: PyTorch's meta kernels never look at the
    values, and nothing of the full size is computed."""
    if type(a) is not MetaArray:
        return a
    core = tuple(small.get(n, n) for n in a.shape[-2:])
    if a.ndim < 2:
        return np.ones(core, a.dtype)
    eye = np.eye(*core, dtype=a.dtype)
    return np.broadcast_to(eye, (1,) * (a.ndim - 2) + core).copy()


def _linalg(func: Any) -> Any:
    """A ``np.linalg`` function on meta matrices: run on small identity stand-ins (one matrix
    per argument), the results re-marked meta with the arguments' broadcast batch shape and
    their core sizes mapped back."""

    def rule(*args: Any, **kwargs: Any) -> Any:
        batch = np.broadcast_shapes(*(a.shape[:-2] for a in args if type(a) is MetaArray))
        small = _small_sizes(args)
        back = {v: k for k, v in small.items()}
        with np.errstate(all="ignore"):
            r = func(*(_linalg_standin(a, small) for a in args), **kwargs)

        def mark(x: Any) -> Any:
            if isinstance(x, tuple):  # (NumPy's named result tuples too)
                return (
                    type(x)(*(mark(i) for i in x))
                    if hasattr(x, "_fields")
                    else tuple(mark(i) for i in x)
                )
            if isinstance(x, (np.ndarray, np.generic)):
                shape = np.shape(x)
                if not shape:
                    return meta_empty(shape, x.dtype)
                core = tuple(back.get(n, n) for n in shape[len(batch) :])
                return meta_empty(batch + core, x.dtype)
            return x

        return mark(r)

    return rule


for _f in (
    np.linalg.inv,
    np.linalg.solve,
    np.linalg.cholesky,
    np.linalg.det,
    np.linalg.slogdet,
    np.linalg.eig,
    np.linalg.eigh,
    np.linalg.eigvals,
    np.linalg.eigvalsh,
    np.linalg.svd,
    np.linalg.pinv,
    np.linalg.qr,
    np.linalg.lstsq,
    np.linalg.matrix_rank,
    np.linalg.matrix_power,
):
    RULES[_f] = _linalg(_f)


def _view_rule(func: Any) -> Any:
    """A NumPy view function on a meta array (its first argument): the view of the
    zero-stride array (aliasing it, as before), with the strides and offset the same view
    of its probe has (``meta/strides.py``)."""

    def rule(a: Any, *args: Any, **kwargs: Any) -> Any:
        r = _fallback(func, (a, *args), kwargs)
        if type(a) is not MetaArray or type(r) is not MetaArray:
            return r
        return carry(r, a, lambda p: func(p, *args, **kwargs))

    return rule


def _broadcast_to(a: Any, shape: Any, subok: bool = False) -> Any:
    """``np.broadcast_to`` of a meta array: PyTorch's ``expand`` strides (a kept dim keeps
    its stride, a broadcast one is 0, a new leading size-1 dim the unsqueeze rule)."""
    r = _fallback(np.broadcast_to, (a, shape), {"subok": subok})
    if type(a) is MetaArray and type(r) is MetaArray:
        set_geometry(r, expand_strides(a.shape, meta_strides(a), r.shape), a._off)
        # writable, as torch's meta lets in-place ops write into an expanded meta tensor
        # (a write into a meta array writes nothing: no element is shared)
        r.flags.writeable = True
    return r


def _reshape(a: Any, shape: Any = None, order: str = "C", *, copy: Any = None, **kw: Any) -> Any:
    """``np.reshape`` of a meta array: its ``reshape`` (a view where its strides allow,
    NumPy's error for ``copy=False`` where they do not)."""
    if type(a) is not MetaArray:
        return _fallback(np.reshape, (a, shape), {"order": order, "copy": copy, **kw})
    if shape is None:
        shape = kw.pop("newshape")
    return a.reshape(shape, order=order, copy=copy)


RULES[np.broadcast_to] = _broadcast_to
RULES[np.reshape] = _reshape
for _f in (np.transpose, np.swapaxes, np.moveaxis, np.expand_dims, np.squeeze, np.diagonal):
    RULES[_f] = _view_rule(_f)
