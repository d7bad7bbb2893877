"""Random draws: ``poisson`` (rates given by a tensor), the in-place fills ``uniform_`` and
``normal_`` (and ``Tensor.apply_``'s Python-level map, PyTorch's CPU-only escape hatch). No
gradients flow through a draw, as in PyTorch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import to_device
from ..random import Generator, gen
from ._util import as_tensor
from .inplace import check_unrecorded_write

__all__ = ["apply_", "normal_", "poisson", "uniform_"]


def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:
    """Poisson samples with rates ``input`` (same shape and floating dtype).

    Raises:
        RuntimeError: a negative or non-finite rate.
    """
    rates = as_tensor(input)
    if rates.dtype.kind != "f":
        raise RuntimeError(f"poisson: expected a floating-point tensor of rates, got {rates.dtype}")
    lam = np.asarray(rates._data, dtype=np.float64)
    if not np.isfinite(lam).all() or (lam < 0).any():
        raise RuntimeError(
            "poisson: invalid Poisson rate, expected rate to be non-negative and finite"
        )
    return Tensor._new(gen(generator).poisson(lam).astype(rates.dtype))


def apply_(x: Tensor, callable: Callable) -> Tensor:  # noqa: A002 - PyTorch's name
    """Replace every element by ``callable(element)`` in place (a Python loop: slow, as in
    PyTorch, where it is CPU-only too).

    Raises:
        RuntimeError: ``x`` requires grad (the map is not differentiable).
    """
    if x.requires_grad:
        raise RuntimeError(
            "Can't call apply_() on a tensor that requires grad. Use x.detach().apply_() instead."
        )
    flat = x._data.reshape(-1)
    if not np.shares_memory(flat, x._data):
        raise RuntimeError("apply_: the tensor is not contiguous; call .contiguous() first")
    for i, v in enumerate(flat.tolist()):
        flat[i] = callable(v)
    x._vc[0] += 1
    return x


def uniform_(
    x: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill ``x`` in place with samples from U[a, b) drawn from the chainrule generator."""
    check_unrecorded_write(x, "uniform_")
    x._data[...] = to_device(gen(generator).uniform(a, b, x.shape), x.device)
    x._vc[0] += 1
    return x


def normal_(
    x: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill ``x`` in place with samples from N(mean, std**2)."""
    check_unrecorded_write(x, "normal_")
    x._data[...] = to_device(gen(generator).normal(mean, std, x.shape), x.device)
    x._vc[0] += 1
    return x
