"""Helpers shared by the distributions, mirroring ``torch.distributions.utils``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import update_wrapper
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant

__all__ = [
    "broadcast_all",
    "logits_to_probs",
    "clamp_probs",
    "probs_to_logits",
    "lazy_property",
    "tril_matrix_to_vec",
    "vec_to_tril_matrix",
]

_Number = (int, float, bool)

# the default ``sample_shape``/``batch_shape`` (a module-level singleton: Sizes are immutable)
_EMPTY_SIZE = cr.Size()


def broadcast_all(*values: Any) -> tuple[cr.Tensor, ...]:
    """Broadcast Tensors and Python numbers together.

    Numbers become tensors of the first Tensor's dtype (the default dtype when all are
    numbers); everything is then broadcast as by ``cr.broadcast_tensors``.
    """
    if not all(isinstance(v, (cr.Tensor, *_Number)) for v in values):
        raise ValueError(
            "Input arguments must all be instances of Number, "
            "torch.Tensor or objects implementing __torch_function__."
        )
    if not all(isinstance(v, cr.Tensor) for v in values):
        options: dict[str, Any] = dict(dtype=cr.get_default_dtype())
        for value in values:
            if isinstance(value, cr.Tensor):
                options = dict(dtype=value.dtype)
                break
        new_values = [v if isinstance(v, cr.Tensor) else cr.tensor(v, **options) for v in values]
        return tuple(cr.broadcast_tensors(*new_values))
    return tuple(cr.broadcast_tensors(*values))


def _standard_normal(shape: Sequence[int], dtype: Any, device: Any = None) -> cr.Tensor:
    """Standard normal draws from the seeded default generator."""
    return cr.randn(*tuple(shape), dtype=dtype)


def _sum_rightmost(value: cr.Tensor, dim: int) -> cr.Tensor:
    """Sum out the ``dim`` right-most dimensions of ``value``."""
    if dim == 0:
        return value
    required_shape = tuple(value.shape[:-dim]) + (-1,)
    return value.reshape(required_shape).sum(-1)


def logits_to_probs(logits: cr.Tensor, is_binary: bool = False) -> cr.Tensor:
    """Logits to probabilities: sigmoid of log-odds when ``is_binary``, else a softmax over
    the last dim (unnormalised log-probabilities)."""
    if is_binary:
        return cr.sigmoid(logits)
    return F.softmax(logits, dim=-1)


def clamp_probs(probs: cr.Tensor) -> cr.Tensor:
    """Clamp probabilities into ``[eps, 1 - eps]`` (``eps`` of the dtype) so logs are finite."""
    eps = cr.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: cr.Tensor, is_binary: bool = False) -> cr.Tensor:
    """Probabilities to logits: log-odds when ``is_binary``, else log-probabilities."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return cr.log(ps_clamped) - cr.log1p(-ps_clamped)
    return cr.log(ps_clamped)


class lazy_property:
    """Decorator for a lazily computed attribute: computed (with grad enabled) on first
    access, then stored on the instance, replacing the descriptor."""

    def __init__(self, wrapped: Callable[[Any], Any]) -> None:
        self.wrapped = wrapped
        update_wrapper(self, wrapped)  # type: ignore[arg-type]

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with cr.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):
    """Looks like a ``property`` to documentation tools and a ``lazy_property`` to
    ``Distribution``'s validation."""

    def __init__(self, wrapped: Callable[[Any], Any]) -> None:
        property.__init__(self, wrapped)


def _tril_mask(n: int, diag: int) -> np.ndarray:
    arange = np.arange(n)
    return arange[None, :] < arange[:, None] + (diag + 1)


def tril_matrix_to_vec(mat: cr.Tensor, diag: int = 0) -> cr.Tensor:
    """The lower-triangular entries (below diagonal ``diag``) of a (batched) ``D x D``
    matrix, in row order, as a (batched) vector."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    flat_idx = np.flatnonzero(_tril_mask(n, diag).reshape(-1))
    flat = mat.reshape(tuple(mat.shape[:-2]) + (n * n,))
    return cr.index_select(flat, -1, cr.tensor(flat_idx, dtype=cr.int64))


def vec_to_tril_matrix(vec: cr.Tensor, diag: int = 0) -> cr.Tensor:
    """Inverse of :func:`tril_matrix_to_vec`: a (batched) vector into a (batched) ``D x D``
    lower-triangular matrix, zeros elsewhere."""
    n = (
        -(1 + 2 * diag)
        + ((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1)) ** 0.5
    ) / 2
    eps = cr.finfo(vec.dtype).eps
    if round(n) - n > eps:
        raise ValueError(
            f"The size of last dimension is {vec.shape[-1]} which cannot be expressed as "
            + "the lower triangular part of a square D x D matrix."
        )
    n = round(n)
    mask = _tril_mask(n, diag).reshape(-1)
    # index 0 of the padded vector is a zero; tril position k takes vec[k] (padded index k+1)
    src = np.zeros(n * n, dtype=np.int64)
    src[mask] = np.arange(1, int(mask.sum()) + 1)
    padded = cr.cat([vec.new_zeros(tuple(vec.shape[:-1]) + (1,)), vec], dim=-1)
    flat = cr.index_select(padded, -1, cr.tensor(src, dtype=cr.int64))
    return flat.reshape(tuple(vec.shape[:-1]) + (n, n))
