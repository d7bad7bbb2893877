"""PyTorch's gradients of ``prod`` and ``cumprod`` where an input is zero, op for op.

Where no input is zero both gradients divide by ``x``; where one is, PyTorch switches to
formulas that never divide, and those differ in what they give at +-inf (``0 * inf`` meets
other factors in other orders). Mirroring them operation by operation makes the first
derivative and, through the recorded versions, the second derivative agree with PyTorch's
at +-inf next to a zero too (FunctionsManual.cpp):

- ``prod_safe_zeros`` (``prod_safe_zeros_backward``): ``g * (L * R)`` with ``L`` the running
  product of ``[1, x_0, ..., x_{n-2}]`` and ``R`` the reversed running product of
  ``[1, x_{n-1}, ..., x_1]``; recorded Tensor ops, used when the backward is differentiated.
- ``cumprod_grad_zeros`` (``cumprod_backward``'s O(n) branch, taken when grad mode is off):
  the reverse running sum of ``g y`` divided by ``x`` before the first zero, the first zero's
  own sum of running products up to the second zero, and 0 after; raw arrays.
- ``cumprod_grad_loop`` (its O(n^2) branch, grad mode on): for each ``k`` the sum over
  ``j >= k`` of ``g_j`` times the product of ``x_0..x_j`` without ``x_k``, as ``prod`` of the
  head times ``cumprod`` of the tail; recorded Tensor ops, so its own derivative is torch's.
- ``cumprod_tangent`` / ``prod_tangent``: the forward-mode rules (``cumprod_jvp``, and
  ``prod_backward(1, x, y) * t`` summed), whose NaNs at +-inf are torch's too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .shape import cat, flip, stack

__all__ = [
    "cumprod_grad_loop",
    "cumprod_grad_zeros",
    "cumprod_tangent",
    "prod_safe_zeros",
    "prod_tangent",
]


def _ones(like: Tensor, d: int) -> Tensor:
    """Ones of ``like``'s shape with size 1 along ``d`` (a constant)."""
    shape = like.shape[:d] + (1,) + like.shape[d + 1 :]
    return Tensor._make(get_array_module(like._data).ones(shape, like.dtype), False, None, 0)


def prod_safe_zeros(g: Tensor, x: Tensor, d: int) -> Tensor:
    """``prod_safe_zeros_backward(g, x, d)``: ``g`` (size 1 along ``d``) times the product of
    the other elements of each slice, from two exclusive running products."""
    n = x.shape[d]
    if x._data.size == 0:
        return g.expand(x.shape)
    if n == 1:
        return g
    ones = _ones(x, d)
    normal = cat([ones, x.narrow(d, 0, n - 1)], d).cumprod(d)
    reverse = flip(cat([ones, flip(x.narrow(d, 1, n - 1), [d])], d).cumprod(d), [d])
    return g * (normal * reverse)


def cumprod_grad_zeros(x: Any, y: Any, g: Any, d: int) -> Any:
    """``cumprod_backward``'s O(n) branch on arrays (``x`` has a zero somewhere)."""
    xp = get_array_module(x)
    w = y * g
    cs = xp.cumsum(x == 0, axis=d)
    out = xp.zeros(x.shape, g.dtype)
    mask = cs == 0  # before the first zero
    with np.errstate(all="ignore"):
        head = xp.flip(xp.cumsum(xp.flip(xp.where(mask, w, 0), d), axis=d), d) / x
    out[mask] = head[mask]
    mask = cs == 1  # from the first zero to the second
    first = xp.argmax(mask, axis=d, keepdims=True)  # 0 where the slice has no zero
    first_mask = xp.zeros(mask.shape, bool)
    xp.put_along_axis(first_mask, first, True, axis=d)
    first_mask &= mask
    mask &= ~first_mask
    before = xp.take_along_axis(y, xp.maximum(first - 1, 0), axis=d)
    before = xp.where(first == 0, 1, before)
    with np.errstate(all="ignore"):
        run = xp.cumprod(xp.where(mask, x, 1), axis=d) * xp.where(cs != 1, 0, g)
        at_zero = run.sum(axis=d, keepdims=True) * before
    out[first_mask] = xp.broadcast_to(at_zero, out.shape)[first_mask]
    return out


def cumprod_grad_loop(x: Tensor, g: Tensor, d: int) -> Tensor:
    """``cumprod_backward``'s O(n^2) branch as recorded Tensor ops (``x.shape[d] > 1``)."""
    n = x.shape[d]
    ones = _ones(x, d)
    slices = []
    for k in range(n):
        if k == 0:
            omitted = cat([ones, x.narrow(d, 1, n - 1).cumprod(d)], d)
        else:
            until = x.narrow(d, 0, k).prod(d, keepdim=True)
            if k == n - 1:
                omitted = until
            else:
                tail = x.narrow(d, k + 1, n - k - 1).cumprod(d)
                omitted = cat([until, until.expand(tail.shape) * tail], d)
        slices.append((g.narrow(d, k, n - k) * omitted).sum(d))
    return stack(slices, d)


def cumprod_tangent(x: Any, t: Any, y: Any, d: int) -> Any:
    """``cumprod_jvp`` on arrays: ``cumsum(t / x) * y``, and after a slice's first zero the
    running product of ``x`` with ``t`` in the zero's place (``x`` not 0-d)."""
    xp = get_array_module(x)
    with np.errstate(all="ignore"):
        out = xp.cumsum(t / x, axis=d) * y
        zero = x == 0
        if not zero.any():
            return out
        first = zero & (xp.cumsum(zero, axis=d) == 1)
        new = xp.cumprod(xp.where(first, t, x), axis=d)
    return xp.where(xp.cumsum(first, axis=d) > 0, new, out)


def prod_tangent(x: Any, t: Any, y: Any, axis: int | None, keepdim: bool) -> Any:
    """``prod``'s jvp: ``sum(prod_backward(1, x, y) * t)``, PyTorch's ``y / x`` without zeros
    (NaN at +-inf: inf / inf), the product of the others (exclusive running products) with."""
    xp = get_array_module(x)
    if not (x == 0).any():
        yk = y if keepdim or axis is None else xp.expand_dims(y, axis)
        with np.errstate(all="ignore"):
            return (t * (yk / x)).sum(axis=axis, keepdims=keepdim)
    if axis is None and not is_grad_enabled() and int((x == 0).sum()) > 1:
        return xp.zeros(y.shape, y.dtype)  # PyTorch's full product outside grad mode
    flat = x.reshape(-1) if axis is None else x
    a = 0 if axis is None else axis
    n = flat.shape[a]
    ones = xp.ones_like(xp.take(flat, [0], axis=a))
    with np.errstate(all="ignore"):
        normal = xp.cumprod(xp.concatenate([ones, xp.take(flat, range(n - 1), axis=a)], a), a)
        rest = xp.flip(xp.take(flat, range(1, n), axis=a), a)
        reverse = xp.flip(xp.cumprod(xp.concatenate([ones, rest], a), a), a)
        others = (normal * reverse).reshape(x.shape)
        return (t * others).sum(axis=axis, keepdims=keepdim)
