"""Norms of complex tensors, built on the real norms (the result is real, as in PyTorch).

``||z||_2`` is the Euclidean norm of the (real, imaginary) pairs of ``view_as_real(z)``:
the real ``Norm2``/``EuclideanNorm`` then gives the gradient ``z / ||z||`` (0 at ``z = 0``)
in PyTorch's convention, because ``view_as_real`` sends ``(g_re, g_im)`` back as
``g_re + i g_im``; its double backward and forward mode follow from the real op. Any other
``p``-norm is the real ``p``-norm of ``|z|`` (``Abs`` states the complex rule ``g z / |z|``).
The public norms send complex inputs here from a dtype branch they already had, so real
inputs pay nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from .complex_ops import view_as_real

__all__ = ["complex_norm"]


def complex_norm(
    z: Tensor, p: float, axes: tuple | None, keepdim: bool, real_norm: Callable[..., Tensor]
) -> Tensor:
    """The real ``p``-norm of complex ``z`` over ``axes`` (None: all), computed by
    ``real_norm(x, p, axes, keepdim)``: a norm of real tensors with the same arguments."""
    if p == 2:
        r = view_as_real(z)
        out = real_norm(r, 2.0, None if axes is None else (*axes, r.ndim - 1), keepdim)
        return out.squeeze(-1) if keepdim else out
    return real_norm(z.abs(), p, axes, keepdim)


def complex_dtype_arg(z: Tensor, dtype: Any, op: str) -> Tensor:
    """``z`` cast to a norm's ``dtype=`` argument: complex, and no narrower (PyTorch)."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: dtype must be a dtype, got {dtype!r}") from None
    if dtype.kind != "c":
        raise RuntimeError(f"{op}: dtype should be complex for complex inputs, but got {dtype}")
    if dtype.itemsize < z.dtype.itemsize:
        raise RuntimeError(
            f"{op}: the dtype of the input ({z.dtype}) should be convertible without narrowing "
            f"to the specified dtype ({dtype})"
        )
    return z.to(dtype)
