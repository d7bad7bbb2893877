"""Random tensor constructors: ``rand``, ``randn``, ``randint``, ``randperm``, ``normal``,
``bernoulli`` and ``rand_like``/``randn_like``, drawn from chainrule's generators
(``cr.manual_seed`` or a ``generator=``); the deterministic constructors are in
``creation.py``, whose size, dtype and device handling these share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import dtypes as _dt
from .autograd.tensor import Tensor
from .backend import to_device
from .creation import _finish, _like, _shape
from .random import Generator, gen

__all__ = [
    "bernoulli",
    "normal",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
]


def rand(
    *sizes: Any,
    size: Any = None,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform samples on [0, 1)."""
    return _finish(gen(generator).random(_shape(sizes, "rand", size)), dtype, device, requires_grad)


def randn(
    *sizes: Any,
    size: Any = None,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples."""
    return _finish(
        gen(generator).standard_normal(_shape(sizes, "randn", size)), dtype, device, requires_grad
    )


def randint(
    low: int,
    high: int | None = None,
    size: Sequence[int] = (),
    *,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers uniformly from [low, high) (``randint(high, size)`` also works)."""
    if high is None:
        low, high = 0, low
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if int(low) >= int(high):
        raise RuntimeError(
            f"randint(): expects 'low' to be less than 'high', but got low={low} >= high={high}"
        )
    return _finish(
        gen(generator).integers(low, high, size=_shape((size,), "randint")),
        dtype,
        device,
        requires_grad,
        default=_dt.int64,
    )


def randperm(
    n: int,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(
            f"randperm(): n must be a non-negative int, got {n!r} (trying to "
            "create a tensor with negative dimension)"
        )
    perm = gen(generator).permutation(n)
    return _finish(perm, dtype, device, requires_grad, default=_dt.int64)


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Sequence[int] | None = None,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal samples with the given mean and std (numbers or tensors, broadcast)."""
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if not np.all(np.asarray(s) >= 0):  # also catches NaN
        raise RuntimeError(
            f"normal(): expects std >= 0.0, but found std "
            f"{s if np.ndim(s) == 0 else np.asarray(s).min()}"
        )
    shape = (
        _shape((size,), "normal")
        if size is not None
        else np.broadcast_shapes(np.shape(m), np.shape(s))
    )
    return _finish(gen(generator).normal(m, s, size=shape), dtype, device, requires_grad)


def rand_like(
    input: Tensor,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    dt = _like(input, dtype, "rand_like")
    return _finish(gen(generator).random(input.shape), dt, device, requires_grad)


def randn_like(
    input: Tensor,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    dt = _like(input, dtype, "randn_like")
    return _finish(gen(generator).standard_normal(input.shape), dt, device, requires_grad)


def bernoulli(input: Any, generator: Generator | None = None) -> Tensor:
    """0/1 samples with probability ``input`` (a tensor of probabilities)."""
    pt = input._data if isinstance(input, Tensor) else np.asarray(input)
    draws = gen(generator).random(pt.shape) < to_device(pt, "cpu")
    return _finish(draws, pt.dtype if pt.dtype.kind == "f" else None, None, False)
