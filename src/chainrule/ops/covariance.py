"""Covariance and correlation matrices: ``cov`` and ``corrcoef``.

Both are composed from differentiable ops (PyTorch computes them the same way), so gradients,
double backward and forward mode come from the primitives. Rows are variables and columns
observations; ``fweights`` (integer repeat counts) and ``aweights`` (float importance weights)
weight the observations, and ``correction`` is subtracted from the (weighted) observation
count, with PyTorch's rule for ``aweights``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..autograd.tensor import Tensor
from ..meta.results import refuse_meta
from ._util import as_tensor
from .binding import tensor_method
from .clamping import clamp
from .linalg import mm
from .shape import reshape

__all__ = ["corrcoef", "cov"]


def _observation_weight(name: str, w: Any, n: int, integral: bool) -> Tensor:
    """Validate ``fweights`` / ``aweights`` (1-d, one per observation, non-negative)."""
    w = as_tensor(w)
    if w.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions (got {w.ndim})")
    if w.numel() != n:
        raise RuntimeError(
            f"cov(): expected {name} to have the same numel as there are observations in the "
            f"input but got {w.numel()} != {n}"
        )
    if integral and w.dtype.kind not in "iu":
        raise RuntimeError(f"cov(): expected {name} to have integral dtype (got {w.dtype})")
    if not integral and w.dtype.kind not in "fV":  # V: bfloat16
        raise RuntimeError(f"cov(): expected {name} to have floating point dtype (got {w.dtype})")
    if w.numel() and bool((w._data < 0).any()):
        raise RuntimeError(f"cov(): {name} cannot be negative")
    return w


def _as_float(x: Tensor) -> Tensor:
    """Integer and bool inputs are computed in the default float dtype (as PyTorch)."""
    return x if _dt.is_floating(x.dtype) or x.dtype.kind == "c" else x.to(_dt.get_default_dtype())


@tensor_method
def cov(
    input: Any,  # noqa: A002
    *,
    correction: int = 1,
    fweights: Any = None,
    aweights: Any = None,
) -> Tensor:
    """Covariance of the rows (variables) of a 2-d ``input`` over its columns (observations);
    a 1-d input is one variable (a 0-d result). ``correction=1`` is Bessel's correction.

    Raises:
        RuntimeError: ``input`` with more than 2 dims or of bool dtype, or bad ``fweights`` /
            ``aweights``.
        NotImplementedError: a complex input.
    """
    x = as_tensor(input)
    if x.ndim > 2:
        raise RuntimeError(
            "cov(): expected input to have two or fewer dimensions but got an input with "
            f"{x.ndim} dimensions"
        )
    refuse_meta("equal", x)  # PyTorch's cov compares tensors with torch.equal: no meta kernel
    if isinstance(correction, bool) or not isinstance(correction, (int, np.integer)):
        raise TypeError(
            f"cov(): argument 'correction' must be int, not {type(correction).__name__}"
        )
    if x.dtype.kind == "c":
        raise NotImplementedError(f"cov: complex input ({x.dtype}) is not supported by chainrule")
    if x.dtype.kind == "b":  # integers are computed in the default float, bools refused
        raise RuntimeError("cov(): bool dtype is not supported for input")
    x = _as_float(x)
    if x.ndim < 2:
        x = reshape(x, (1, -1))
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = _observation_weight("fweights", fweights, n, integral=True)
    aw = None
    if aweights is not None:
        aw = _observation_weight("aweights", aweights, n, integral=False)
        w = aw if w is None else w * aw
    if aw is not None and aw.dtype != x.dtype and _dt.is_floating(x.dtype):
        x = x.to(_dt.promote_types(x.dtype, aw.dtype))  # float32 data, float64 weights
    if w is not None:
        w = w.to(x.dtype) if w.dtype != x.dtype else w
        w_sum = w.sum()
        if not bool(w_sum != 0):  # PyTorch's check (no observations, or all weighted 0)
            raise RuntimeError(
                "cov(): weights sum to zero, can't be normalized (got fweights/aweights whose "
                "product sums to 0 over the observations; give some observation a weight)"
            )
        avg = (x * w).sum(1) / w_sum
    else:
        w_sum = None
        avg = x.mean(1)
    if w is None:
        norm = float(n - correction)
    elif correction == 0:
        norm = w_sum
    elif aw is None:
        norm = w_sum - correction
    else:
        norm = w_sum - correction * (w * aw.to(x.dtype)).sum() / w_sum
    norm_value = float(norm.item()) if isinstance(norm, Tensor) else norm
    if norm_value <= 0:
        warnings.warn(
            "cov(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "number of observations.",
            UserWarning,
            stacklevel=2,
        )
        norm = clamp(norm, min=0.0) if isinstance(norm, Tensor) else 0.0
    xc = x - avg.unsqueeze(1)
    c = mm(xc, (xc if w is None else xc * w).t())
    with np.errstate(divide="ignore", invalid="ignore"):
        return (c / norm).squeeze()


@tensor_method
def corrcoef(input: Any) -> Tensor:  # noqa: A002
    """Pearson correlation coefficients of the rows of ``input`` (``cov`` normalised by the
    standard deviations, clipped to [-1, 1])."""
    x = as_tensor(input)
    if x.ndim > 2:
        raise RuntimeError(
            "corrcoef(): expected input to have two or fewer dimensions but got an input with "
            f"{x.ndim} dimensions"
        )
    c = cov(x)
    if c.ndim == 0:  # one variable: 1 (NaN for a constant one)
        with np.errstate(divide="ignore", invalid="ignore"):
            return c / c
    std = c.diagonal().sqrt()
    with np.errstate(divide="ignore", invalid="ignore"):
        c = c / std.unsqueeze(1)
        c = c / std.unsqueeze(0)
    return clamp(c, -1.0, 1.0) if c.dtype.kind in "fV" else c  # V: bfloat16
