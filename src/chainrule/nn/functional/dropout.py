"""Dropout variants. Masks are drawn from chainrule's default generator, so
``cr.manual_seed`` makes them reproducible; a ``generator=`` may be passed instead.

Inverted dropout: kept units are scaled by 1/(1-p) during training so the expected
activation is unchanged and evaluation is the identity. ``inplace=True`` writes the result
into the input (through the in-place machinery, as PyTorch's ``dropout_``) and returns it.
"""

from __future__ import annotations

import math

from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...ops.inplace import composite_result as _result
from ...random import Generator, gen

__all__ = ["alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d"]


def _check_p(p: float, op: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _uniform(shape: tuple, like: Tensor, generator: Generator | None):
    arr = gen(generator).random(shape)
    xp = get_array_module(like._data)
    if xp is not __import__("numpy"):
        arr = xp.asarray(arr)
    return arr


def _masked(input: Tensor, keep, scale: float) -> Tensor:
    m = keep.astype(input.dtype, copy=False) * input.dtype.type(scale)  # keeps vmap's marks
    return input * Tensor._make(m, False, None, 0)


def dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p)."""
    _check_p(p, "dropout")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _result(input, inplace, "dropout", lambda t: t * 0.0)
    keep = _uniform(input.shape, input, generator) >= p
    return _result(input, inplace, "dropout", lambda t: _masked(t, keep, 1.0 / (1.0 - p)))


def _channel_dropout(
    input: Tensor, p: float, training: bool, inplace: bool, generator, op: str, spatial: int
) -> Tensor:
    _check_p(p, op)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(
            f"{op}: expected a {spatial + 1}-d (unbatched) or {spatial + 2}-d "
            f"(batched) input, got shape {tuple(input.shape)}"
        )
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _result(input, inplace, op, lambda t: t * 0.0)
    shape = input.shape[:-spatial] + (1,) * spatial
    keep = _uniform(shape, input, generator) >= p
    return _result(input, inplace, op, lambda t: _masked(t, keep, 1.0 / (1.0 - p)))


def dropout1d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Zero whole channels of (N, C, L) / (C, L) inputs."""
    return _channel_dropout(input, p, training, inplace, generator, "dropout1d", 1)


def dropout2d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Zero whole channels (feature maps) of (N, C, H, W) / (C, H, W) inputs."""
    return _channel_dropout(input, p, training, inplace, generator, "dropout2d", 2)


def dropout3d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) / (C, D, H, W) inputs."""
    return _channel_dropout(input, p, training, inplace, generator, "dropout3d", 3)


def alpha_dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = False,
    inplace: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Dropout that keeps SELU's self-normalising mean 0 / variance 1.

    Dropped units are set to α' = -λα (SELU's negative saturation); the result is then
    affinely corrected: y = a (x·keep + α'(1-keep)) + b with
    a = ((1-p)(1 + p α'²))^(-1/2) and b = -a α' p.
    """
    _check_p(p, "alpha_dropout")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _result(input, inplace, "alpha_dropout", lambda t: t * 0.0)
    alpha_p = -1.7580993408473766  # -SELU_SCALE * SELU_ALPHA
    a = 1.0 / math.sqrt((alpha_p**2 * p + 1) * (1 - p))
    keep = _uniform(input.shape, input, generator) >= p
    xp = get_array_module(input._data)
    k = xp.asarray(keep, dtype=input.dtype)
    b = (1 - k) * (alpha_p * a) + (-a * alpha_p * p)
    scale, shift = Tensor._make(k * a, False, None, 0), Tensor._make(b, False, None, 0)
    return _result(input, inplace, "alpha_dropout", lambda t: t * scale + shift)
