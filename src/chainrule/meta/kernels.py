"""Shape-only answers of chainrule's heavy compiled kernels on meta inputs.

The convolution kernels (``ops/_conv_kernels.py``) gather image columns and multiply them in
compiled loops, and max pooling pads its input and compares every window: run on a meta
array's zero strides they would still touch every element. Each asks first and, for meta
inputs, returns what these functions give: arrays of the right shape and dtype, no data.
So do pooling's backward scatter (a padded zero buffer the input's size) and the
interpolation taps' contraction (a contiguous copy of the input before a matrix product),
which ``np.zeros`` and ``np.ascontiguousarray`` would otherwise make full-size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .array import MetaArray, meta_empty

__all__ = [
    "any_meta",
    "contract",
    "conv_forward",
    "conv_input_grad",
    "conv_weight_grad",
    "max_pool",
    "window_scatter",
]


def any_meta(*arrays: Any) -> bool:
    """Whether any of ``arrays`` is a meta array."""
    return any(type(a) is MetaArray for a in arrays)


def _out_size(n: int, k: int, s: int, lo: int, hi: int, d: int) -> int:
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


def conv_forward(x: Any, w: Any, stride: tuple, pad: tuple, dil: tuple, keep_cols: bool) -> Any:
    """``conv_forward``'s result (and no columns): (N, O, *spatial out)."""
    spatial = tuple(
        _out_size(n, k, s, pad[2 * i], pad[2 * i + 1], d)
        for i, (n, k, s, d) in enumerate(zip(x.shape[2:], w.shape[2:], stride, dil))
    )
    y = meta_empty((x.shape[0], w.shape[0], *spatial), x.dtype)
    return (y, None) if keep_cols else y


def conv_input_grad(g: Any, x_shape: tuple) -> Any:
    """``conv_input_grad``'s result: an input-shaped gradient."""
    return meta_empty(tuple(x_shape), g.dtype)


def conv_weight_grad(x: Any, w_shape: tuple) -> Any:
    """``conv_weight_grad``'s result: a weight-shaped gradient."""
    return meta_empty(tuple(w_shape), x.dtype)


def max_pool(x: Any, out_hw: tuple, want_arg: bool) -> tuple:
    """``ops/pooling.py``'s ``_max_pool`` on (N, C, H, W): (maxima, int16 window offsets or
    None), (N, C, Ho, Wo) each, without padding or reading the input."""
    shape = (*x.shape[:2], *out_hw)
    return meta_empty(shape, x.dtype), (meta_empty(shape, "int16") if want_arg else None)


def window_scatter(g: Any, x_shape: tuple) -> Any:
    """``ops/pooling.py``'s ``_scatter`` (max and average pooling's backward): the input's
    shape, nothing scattered."""
    return meta_empty(tuple(x_shape), g.dtype)


def contract(x: Any, axis: int, w: Any) -> Any:
    """``ops/interp_taps.py``'s ``_contract``: ``w`` (n_out, n_in) along ``axis`` of ``x``,
    in the matrix product's dtype."""
    shape = x.shape[:axis] + (w.shape[0],) + x.shape[axis + 1 :]
    return meta_empty(shape, np.result_type(x.dtype, w.dtype))
