"""The draws of the random factories (``creation_random.py``): their kind for each dtype
(:func:`_draws_of_kind`), and the normal draws ``randn(..., out=x)`` and
``normal(..., out=x)`` put into an ``out`` that is not contiguous (``x.t()``, a
``channels_last`` tensor), as PyTorch's in-place kernel fills it: one float64 Box-Muller
value at a time in memory order
(:func:`chainrule.creation_options.fill_normal_in_memory_order`), where its contiguous
path draws blocks of 16. Each builder returns the ``fill`` hook of
:func:`chainrule.creation_options.write_factory_out`, or None where the ordinary draws
apply (or the arguments are for the ordinary path to refuse)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import dtypes as _dt
from .autograd.tensor import Tensor
from .creation_options import fill_normal_in_memory_order, memory_order
from .random import Generator, gen
from .random_mt19937 import draw_dtype

__all__ = ["normal_out_fill", "randn_out_fill"]

_COMPLEX_STD = 1.0 / math.sqrt(2.0)
"""The std of each part of a complex standard normal, computed as PyTorch's ``std /
std::sqrt(2)`` (0.7071067811865475, one ulp under the rounded 1/sqrt(2))."""


def _bfloat16_draws(op: str, draws: Any) -> Any:
    """Draws for a bfloat16 tensor as PyTorch makes them: in float32, rounded once to
    bfloat16. A uniform draw that rounds up to 1.0 wraps to 0.0, so ``rand`` stays in
    [0, 1) (PyTorch's CPU kernel does the same: 0 then comes up with probability 2^-9)."""
    out = np.asarray(draws, dtype=np.float32).astype(_dt.bfloat16_dtype())
    if op.startswith("rand") and not op.startswith("randn"):
        out[out == 1] = 0
    return out


def _draws_of_kind(op: str, dtype: Any, draw: Any, shape: tuple) -> Any:
    """``draw(shape, dtype=...)`` for a real ``dtype`` (the stream draws float64 from 53 bits
    and every narrower dtype from float32's 24, as PyTorch); for a complex one, the real and
    imaginary parts interleaved as PyTorch's view of pairs of reals (``randn``: each of
    variance 1/2, so that E|z|^2 = 1). An integer or bool dtype has no such distribution:
    NotImplementedError, as PyTorch."""
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    base = draw_dtype(d)
    if op.startswith("randn") and d.itemsize == 2:  # float16/bfloat16 normals: the stream
        base = d  # draws their tail block as PyTorch does (TorchStream.normal)
    if _dt.is_bfloat16(d):
        return _bfloat16_draws(op, draw(shape, dtype=base))
    if d.kind not in "fc":
        raise NotImplementedError(
            f"{op}(): not implemented for dtype {d}; pass a floating point or complex dtype"
        )
    if d == np.float16 and op.startswith("rand") and not op.startswith("randn"):
        out = draw(shape, dtype=base).astype(np.float16)
        out[out == 1] = 0  # a draw that rounds up to 1.0 wraps to 0.0, as PyTorch's kernel
        return out
    if d.kind == "f":
        return draw(shape, dtype=base)
    stream = getattr(draw, "__self__", None)
    if op.startswith("randn") and hasattr(stream, "normal"):
        # PyTorch fills the pairs by normal_(0, std / sqrt(2)): the scale is applied inside
        # the draw (in float64 below 16 values, then one rounding), not to float32 normals
        pairs = stream.normal(0.0, _COMPLEX_STD, (*shape, 2), dtype=base)
        return pairs[..., 0] + 1j * pairs[..., 1]
    pairs = draw((*shape, 2), dtype=base)
    scale = base(_COMPLEX_STD) if op.startswith("randn") else base(1.0)
    return (pairs[..., 0] + 1j * pairs[..., 1]) * scale


def _normal_dtype(arr: Any) -> bool:
    """Whether the one-at-a-time normals apply to ``arr``'s dtype (floating or complex;
    bfloat16's NumPy kind is ``V``)."""
    return arr.dtype.kind in "fcV"


def randn_out_fill(shape: tuple, generator: Generator | None) -> Callable[[Any], bool]:
    """``randn(*shape, out=x)``: standard normals into an ``x`` of ``shape``."""
    return lambda arr: (
        arr.shape == shape
        and _normal_dtype(arr)
        and fill_normal_in_memory_order(gen(generator), arr, 0.0, 1.0)
    )


def normal_out_fill(
    out: Tensor, mean: Any, std: Any, size: Any, generator: Generator | None, dtype: Any
) -> Callable[[Any], bool] | None:
    """``normal(mean, std, size, out=x)``: two numbers fill ``x`` with the fused
    ``z * std + mean`` (``x.normal_(mean, std)``); a tensor ``mean`` and/or ``std`` of
    ``x``'s real floating dtype (float32/float64) as PyTorch computes it, standard normals
    into ``x`` then ``x * std + mean`` (two roundings). None where neither applies: an
    ``out`` that is contiguous or of another shape (the ordinary path's checks and resize),
    a ``dtype=``, mixed dtypes, a negative std (the ordinary path raises)."""
    if dtype is not None or not isinstance(out, Tensor) or memory_order(out._data) is None:
        return None
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        numbers = all(isinstance(v, (int, float, np.number)) for v in (mean, std))
        if size is None or not numbers or not float(std) >= 0.0 or tuple(size) != out.shape:
            return None
        return lambda arr: (
            arr.shape == tuple(size)
            and _normal_dtype(arr)
            and fill_normal_in_memory_order(gen(generator), arr, float(mean), float(std))
        )
    if size is not None or any(type(t._data) is not np.ndarray for t in tensors):
        return None
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    try:
        if np.broadcast_shapes(np.shape(m), np.shape(s)) != out.shape:
            return None
    except ValueError:
        return None
    if not np.all(np.asarray(s) >= 0):
        return None

    def fill(arr: Any) -> bool:
        if arr.dtype not in (np.float32, np.float64):
            return False
        if any(t._data.dtype != arr.dtype for t in tensors):
            return False
        if not fill_normal_in_memory_order(gen(generator), arr, 0.0, 1.0):
            return False
        arr[...] = arr * s + m  # PyTorch's mul_(std).add_(mean), each rounded
        return True

    return fill
