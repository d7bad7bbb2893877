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
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    # as PyTorch: consecutive slices along dim 0, each viewed as its parameter (a longer
    # vector leaves its tail unused; a slice of the wrong size raises the view's error)
    if vec.ndim == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    i = 0
    for p in parameters:
        n = p.numel()
        piece = vec._data[i : i + n]
        if piece.size != n:
            raise RuntimeError(
                f"shape '{list(p.shape)}' is invalid for input of size {piece.size} "
                "(vector_to_parameters)"
            )
        p._data[...] = piece.reshape(p.shape)
        p._vc[0] += 1
        i += n
