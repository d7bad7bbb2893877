"""An op's forward on meta inputs (called by ``Function.apply`` once meta tensors exist).

The op's own NumPy code runs on the zero-stride MetaArrays (most NumPy calls are answered
by the shape rules of ``array.py``/``functions.py``); an output that came back as a plain
array anyway (a compiled kernel, ``np.ascontiguousarray``, ``as_strided``) is re-marked meta
here, so every output of an op with a meta input is meta, as in PyTorch; so are the arrays
it saved for backward (the same MetaArray where a saved array is an output, so that autograd
still knows it as one), or its backward would compute on plain zeros. Floating-point
warnings are off: whatever is computed is computed on zeros.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .array import MetaArray, as_meta
from .strides import meta_strides, set_geometry

__all__ = ["VIEW_GEOMETRY", "has_meta", "meta_forward"]

_ndarray = np.ndarray


def has_meta(raw_args: list) -> bool:
    """Whether any raw argument is a meta array."""
    for a in raw_args:
        if type(a) is MetaArray:
            return True
    return False


def _check_devices(args: tuple, raw_args: list) -> None:
    """A user's CPU tensor of one or more dims beside a meta tensor: PyTorch's error (a 0-d
    CPU tensor is a scalar there, as beside a CUDA tensor)."""
    for a, r in zip(args, raw_args):
        if a is not r and type(r) is _ndarray and r.ndim > 0:
            raise RuntimeError("Tensor on device cpu is not on the expected device meta!")


def _marked(out: Any, memo: dict) -> Any:
    """``out`` with each plain array marked meta (one MetaArray per array: ``memo``)."""
    if type(out) is tuple:
        return tuple(_marked(o, memo) for o in out)
    if isinstance(out, (_ndarray, np.generic)):
        if type(out) is MetaArray:
            return out
        marked = memo.get(id(out))
        if marked is None:
            marked = memo[id(out)] = as_meta(out)
        return marked
    return out


def _diagonal(ctx: Any, x: MetaArray) -> tuple:
    """PyTorch's strides and offset of ``diagonal(offset, d1, d2)`` of ``x``."""
    shape, offset, d1, d2 = ctx.args
    st = meta_strides(x)
    keep = [st[i] for i in range(len(shape)) if i not in (d1, d2)]
    n1, n2 = shape[d1], shape[d2]
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    start = (offset * st[d2] if offset >= 0 else -offset * st[d1]) if length else 0
    return (*keep, st[d1] + st[d2]), x._off + start


def _unfold(ctx: Any, x: MetaArray) -> tuple:
    """PyTorch's strides and offset of ``unfold(dim, size, step)`` of ``x``."""
    _, dim, _, step = ctx.args
    st = meta_strides(x)
    return (*st[:dim], st[dim] * step, *st[dim + 1 :], st[dim]), x._off


# The view ops whose forward builds its view with ``as_strided`` from the real (zero)
# strides: their PyTorch strides and offset from the input's (``meta/strides.py``).
VIEW_GEOMETRY = {
    ("chainrule.ops.structural", "Diagonal"): _diagonal,
    ("chainrule.ops.structural", "Unfold"): _unfold,
}


def meta_forward(cls: type, ctx: Any, args: tuple, raw_args: list, kwargs: dict) -> Any:
    """``cls.forward`` of a raw op on meta inputs, its array outputs marked meta."""
    _check_devices(args, raw_args)
    with np.errstate(all="ignore"):
        out = cls.forward(ctx, *raw_args, **kwargs)
    memo: dict = {}
    out = _marked(out, memo)
    geometry = VIEW_GEOMETRY.get((cls.__module__, cls.__qualname__))
    if geometry is not None and type(raw_args[0]) is MetaArray and type(out) is MetaArray:
        set_geometry(out, *geometry(ctx, raw_args[0]))
    saved = getattr(ctx, "_saved", None)
    if saved:
        ctx._saved = _marked(tuple(saved), memo)
    return out
