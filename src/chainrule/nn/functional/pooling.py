"""Functional pooling and other spatial ops: max/avg/adaptive pooling, local response
normalisation (AlexNet), nearest-neighbour interpolation.

Pooling kernels live in :mod:`chainrule.ops.pooling`; the rest is composed from Tensor
ops, so it needs no gradient rules of its own.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...ops.indexing import index_select
from ...ops.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from ...ops.shape import pad

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "interpolate",
    "local_response_norm",
    "max_pool1d",
    "max_pool2d",
    "upsample_nearest",
]


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Local response normalisation across channels (Krizhevsky et al. 2012), PyTorch's formula.

    b_c = a_c / (k + alpha / n * sum_{c' in window(c)} a_{c'}^2) ** beta, where the window of
    n = size channels runs from c - size//2 to c + (size-1)//2 (zero outside).
    """
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ValueError(f"local_response_norm: expected input with >= 3 dims (N, C, ...), "
                         f"got {getattr(input, 'shape', type(input).__name__)}")
    if size < 1:
        raise ValueError(f"local_response_norm: size must be >= 1, got {size}")
    c = input.shape[1]
    sq = input * input
    spec = [0, 0] * (input.ndim - 2) + [size // 2, (size - 1) // 2]
    sq = pad(sq, spec)
    acc = sq[:, 0:c]
    for i in range(1, size):
        acc = acc + sq[:, i:i + c]
    div = (acc * (alpha / size) + k) ** beta
    return input / div


def _nearest_index(n_in: int, n_out: int, scale: float | None, xp_) -> Any:
    # PyTorch 'nearest': src = min(floor(dst * s), n_in - 1) with s = 1/scale_factor when a
    # scale factor is given, else n_in / n_out.
    s = (1.0 / scale) if scale else n_in / n_out
    idx = np.minimum(np.floor(np.arange(n_out) * np.float32(s)).astype(np.int64), n_in - 1)
    return xp_.asarray(idx)


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None,
                mode: str = "nearest") -> Tensor:
    """Resize the spatial dims of (N, C, L) or (N, C, H, W); only mode='nearest'.

    Args:
        size: output spatial size (int or tuple), or
        scale_factor: multiplier(s) for the spatial size (exactly one of the two).
    """
    if mode != "nearest":
        raise NotImplementedError(f"interpolate: mode={mode!r} is not supported; only "
                                  "'nearest' is implemented")
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        raise ValueError(f"interpolate: expected (N, C, L) or (N, C, H, W) input, got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    nd = input.ndim - 2
    in_sz = input.shape[2:]
    if size is not None:
        out_sz = (int(size),) * nd if isinstance(size, (int, np.integer)) else tuple(size)
        scales = (None,) * nd
    else:
        scales = ((float(scale_factor),) * nd if isinstance(scale_factor, (int, float))
                  else tuple(float(s) for s in scale_factor))
        out_sz = tuple(int(np.floor(n * s)) for n, s in zip(in_sz, scales))
    if len(out_sz) != nd or min(out_sz) < 1:
        raise ValueError(f"interpolate: bad output size {out_sz} for input {tuple(input.shape)}")
    xp_ = get_array_module(input.data)
    out = input
    for d, (n_in, n_out, sc) in enumerate(zip(in_sz, out_sz, scales)):
        if n_in == n_out:
            continue
        if sc is not None and float(sc).is_integer() and n_out == n_in * int(sc):
            r = int(sc)  # integer upscale: a broadcast + reshape (no gather)
            ax = 2 + d
            shp = list(out.shape)
            e = out.unsqueeze(ax + 1)
            big = shp[:ax + 1] + [r] + shp[ax + 1:]
            out = e.expand(*big).reshape(*(shp[:ax] + [n_in * r] + shp[ax + 1:]))
        else:
            out = index_select(out, 2 + d, _nearest_index(n_in, n_out, sc, xp_))
    return out


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Alias of ``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, "nearest")
