"""Gradient clipping: rescale or clamp ``.grad`` in place before an optimizer step."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ...autograd.tensor import Tensor
from ...backend import get_array_module

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters: Tensor | Iterable[Tensor]) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale all gradients by min(1, max_norm / (total_norm + 1e-6)).

    total_norm is the ``norm_type``-norm of all gradients concatenated (``inf`` for the
    largest absolute entry). Returns the total norm before clipping, as a 0-d Tensor.

    Raises:
        RuntimeError: if the total norm is NaN/Inf and ``error_if_nonfinite`` is True.
    """
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return Tensor._new(0.0)
    xp = get_array_module(grads[0]._data)
    if norm_type == math.inf:
        total = max(float(xp.abs(g._data).max()) if g._data.size else 0.0 for g in grads)
    elif norm_type == 2.0:
        total = math.sqrt(sum(float(xp.vdot(g._data.ravel(), g._data.ravel()).real) for g in grads))
    else:
        total = sum(float((xp.abs(g._data) ** norm_type).sum()) for g in grads) ** (1 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} for gradients from "
            "`parameters` is non-finite, so it cannot be clipped. To disable this error and "
            "scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g._data *= g._data.dtype.type(coef)
    return Tensor._new(total, dtype=grads[0].dtype)


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp = get_array_module(g._data)
        xp.clip(g._data, -clip_value, clip_value, out=g._data)
