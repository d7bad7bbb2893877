"""Flatten parameters into one vector and back (e.g. for line searches or second-order
methods)."""

from __future__ import annotations

from collections.abc import Iterable

from ...autograd.tensor import Tensor
from ...ops.shape import cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Concatenate the flattened parameters into one 1-d tensor (differentiable)."""
    params = list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: got an empty iterable of parameters")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters' data (in place)."""
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise TypeError(
            f"vector_to_parameters: expected a 1-d Tensor, got "
            f"{getattr(vec, 'shape', type(vec).__name__)}"
        )
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if total != vec.numel():
        raise ValueError(
            f"vector_to_parameters: the vector has {vec.numel()} elements but the "
            f"parameters need {total}"
        )
    i = 0
    for p in params:
        n = p.numel()
        p._data[...] = vec._data[i : i + n].reshape(p.shape)
        p._vc[0] += 1
        i += n
