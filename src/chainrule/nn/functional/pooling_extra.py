"""Further pooling and channel ops of ``torch.nn.functional``: ``max_unpool1d/2d``,
``lp_pool1d/2d`` and ``channel_shuffle``.

All are compositions of differentiable chainrule ops, so they need no gradient rules here:

* ``max_unpool`` scatters each value into a zero plane at the flat (H*W) index that
  ``max_pool(..., return_indices=True)`` returned; its gradient is the gather of the upstream
  gradient at those indices (the ``scatter`` op's own rule), as PyTorch's.
* ``lp_pool`` is PyTorch's formula ``(k * avg_pool(x ** p)) ** (1 / p)`` (the sum over the
  window, through ``avg_pool``'s divisor, so ``ceil_mode`` windows match PyTorch), with
  PyTorch's ``sign * relu(abs)`` guard and graph: a window whose sum is exactly zero has a
  zero gradient.
  ``norm_type = +-inf`` is max pooling of ``|x|`` (min for ``-inf``), as in PyTorch.
* ``channel_shuffle`` is a reshape, a transpose and a reshape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from ...autograd.lower_precision import autocast_float32_op
from ...autograd.tensor import Tensor
from ...ops._util import ShapeError
from ...ops.pooling import avg_pool2d, max_pool2d
from ...ops.pooling1d import avg_pool1d, max_pool1d
from ...ops.shuffles import ChannelShuffle
from ...ops.unary import relu
from ...ops.unpool_node import max_unpool

__all__ = ["channel_shuffle", "lp_pool1d", "lp_pool2d", "max_unpool1d", "max_unpool2d"]


def _ints(v: Any, n: int, name: str, op: str) -> tuple[int, ...]:
    """``v`` as an n-tuple of ints (an int is repeated, as PyTorch's ``_single``/``_pair``)."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return (int(v),) * n
    if isinstance(v, Sequence) and all(
        isinstance(e, (int, np.integer)) and not isinstance(e, bool) for e in v
    ):
        t = tuple(int(e) for e in v)
        if len(t) == 1:
            t = t * n
        if len(t) == n:
            return t
    raise TypeError(f"{op}: {name} must be an int or a sequence of {n} ints, got {v!r}")


# ----------------------------------------------------------------------------- max_unpool
def _unpool_output_size(
    op: str,
    input: Tensor,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    output_size: Any,
) -> tuple[int, ...]:
    """PyTorch's default unpooled size ``(in - 1) * s + k - 2p``, or the given ``output_size``
    (which may include the two leading (N, C) sizes) checked to lie strictly within one
    stride of it."""
    n = len(kernel_size)
    default = [
        (input.shape[-n + d] - 1) * stride[d] + kernel_size[d] - 2 * padding[d] for d in range(n)
    ]
    if output_size is None:
        ret = default
    else:
        if not isinstance(output_size, Sequence):
            raise TypeError(
                f"{op}: output_size must be a sequence of {n} or {n + 2} ints, "
                f"got {type(output_size).__name__}"
            )
        sizes = [int(v) for v in output_size]
        if len(sizes) == n + 2:
            sizes = sizes[2:]
        if len(sizes) != n:
            raise ValueError(
                f"{op}: output_size should be a sequence containing {n} or {n + 2} elements, "
                f"but it has a length of '{len(sizes)}'"
            )
        for d in range(n):
            lo, hi = default[d] - stride[d], default[d] + stride[d]  # (PyTorch's bounds)
            if not lo < sizes[d] < hi:
                raise ValueError(
                    f'{op}: invalid output_size "{tuple(output_size)}" '
                    f"(dim {d} must be between {lo} and {hi})"
                )
        ret = sizes
    for d in range(n):
        if not ret[d] >= 0:  # NaN too, as PyTorch
            raise ValueError(
                f"{op}: output_size must contain non-negative spatial dimensions, "
                f"but got output_size[{d}]={ret[d]}"
            )
    return tuple(ret)


def _unpool2d(op: str, x: Tensor, indices: Tensor, out_hw: tuple[int, int]) -> Tensor:
    """Scatter (N, C, H, W) or (C, H, W) values into zero planes of size ``out_hw`` at their
    flat indices (PyTorch's ``max_unpool2d`` kernel, with its checks)."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"{op}: indices must be a Tensor, got {type(indices).__name__}")
    if indices.dtype != np.dtype(np.int64):
        raise RuntimeError(
            f"{op}: elements in indices should be type int64 but got: {indices.dtype}"
        )
    if x.ndim not in (3, 4):
        raise RuntimeError(
            f"{op}: input should be a 3d or 4d Tensor (after adding the unpooled dims), "
            f"but got a tensor with {x.ndim} dimensions"
        )
    if tuple(indices.shape) != tuple(x.shape):
        raise RuntimeError(
            f"{op}: expected shape of indices to be same as that of the input tensor "
            f"({list(x.shape)}) but got indices tensor with shape: {list(indices.shape)}"
        )
    for d in range(x.ndim - 3, x.ndim):
        if x.shape[d] == 0:
            raise RuntimeError(
                f"{op}: expected input to have non-zero size for non-batch dimensions, but "
                f"got {list(x.shape)} with dimension {d} being empty"
            )
    if x.dtype.kind not in "fcV":  # V: bfloat16
        raise NotImplementedError(f'"{op}" not implemented for input dtype {x.dtype}')
    oh, ow = out_hw
    plane = oh * ow
    if plane == 0:  # an empty output (kernel_size=0): PyTorch checks no index (its node's
        return max_unpool(x, indices, (oh, ow))  # backward refuses every one: unpool_node)
    idx = indices._data
    bad = (idx < 0) | (idx >= plane)
    if bool(bad.any()):
        first = int(idx[bad].reshape(-1)[0])
        raise RuntimeError(
            f"{op}: found an invalid max index: {first} (output volumes are of size {oh}x{ow})"
        )
    return max_unpool(x, indices, (oh, ow))  # one MaxUnpool2DBackward0, as PyTorch's


def _unpool_size(
    op: str, input: Any, kernel_size: Any, stride: Any, padding: Any, output_size: Any, n: int
) -> tuple:
    """The checked input and pooling arguments of an ``n``-d max_unpool, and its output size."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    k = _unpool_numbers(kernel_size, n, "kernel_size", op)
    s = k if stride is None else _unpool_numbers(stride, n, "stride", op, len(k))
    p = _unpool_numbers(padding, n, "padding", op, len(k))
    return _unpool_ints(op, _unpool_output_size(op, input, k, s, p, output_size), n)


def _unpool_ints(op: str, out: Any, n: int) -> tuple[int, ...]:
    """The unpooled size as ``n`` ints: PyTorch's kernel checks the count (a 1-d unpool is
    its 2-d one with a trailing 1) and its parser refuses a float (True is 1)."""
    if len(out) != n:
        names = (
            "three elements (depth, height, width)" if n == 3 else "two elements (height, width)"
        )
        got = len(out) + (n == 1)
        raise RuntimeError(
            f"{op}: There should be exactly {names} in output_size, but got {got} elements."
        )
    for d, v in enumerate(out):
        if not isinstance(v, (int, np.integer)):
            raise TypeError(
                f"{op}(): argument 'output_size' must be tuple of ints, but found element of "
                f"type {type(v).__name__} at pos {d}"
            )
    return tuple(int(v) for v in out)


def _unpool_numbers(v: Any, n: int, name: str, op: str, need: int | None = None) -> tuple:
    """PyTorch's ``_pair(v)``-style tuple (``n`` copies of a number; a sequence as given, the
    kernel's length setting the rank), read as its Python arithmetic reads it (a bool is 0
    or 1, a float gives a float size refused later): fewer than ``need`` entries is its
    IndexError, a non-number its TypeError."""
    t = tuple(v) if isinstance(v, (tuple, list, str)) else (v,) * n
    t = t if need is None else t[:need]
    for e in t:  # PyTorch's arithmetic fails on the first entry it reads
        if not isinstance(e, (Real, np.number, np.bool_)):
            raise TypeError(f"{op}: {name} must hold numbers, got {v!r}")
    if need is not None and len(t) < need:
        raise IndexError(f"{op}: tuple index out of range ({name}={v!r} has {len(t)} entries)")
    return t


@autocast_float32_op
def max_unpool1d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """Partial inverse of :func:`max_pool1d`: (N, C, L) or (C, L) values go to the flat
    positions ``indices`` of a zero signal of length ``output_size``
    (default ``(L - 1) * stride + kernel_size - 2 * padding``).

    Raises:
        ValueError: ``output_size`` of the wrong length or more than a stride off the default.
        RuntimeError: non-int64 ``indices``, a shape mismatch or an index out of range.
    """
    op = "max_unpool1d"
    (length,) = _unpool_size(op, input, kernel_size, stride, padding, output_size, 1)
    if not isinstance(indices, Tensor):
        raise TypeError(f"{op}: indices must be a Tensor, got {type(indices).__name__}")
    out = _unpool2d(op, input.unsqueeze(-1), indices.unsqueeze(-1), (length, 1))
    return out.squeeze(-1)


@autocast_float32_op
def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """Partial inverse of :func:`max_pool2d`: (N, C, H, W) or (C, H, W) values go to the flat
    (row * W_out + col) positions ``indices`` of zero planes of size ``output_size``
    (default ``(H - 1) * stride + kernel_size - 2 * padding`` per dim).

    Raises:
        ValueError: ``output_size`` of the wrong length or more than a stride off the default.
        RuntimeError: non-int64 ``indices``, a shape mismatch or an index out of range.
    """
    op = "max_unpool2d"
    size = _unpool_size(op, input, kernel_size, stride, padding, output_size, 2)
    return _unpool2d(op, input, indices, size)


# ----------------------------------------------------------------------------- lp_pool
def _lp_finish(op: str, avg: Tensor, norm_type: float, numel: int) -> Tensor:
    """``(numel * avg) ** (1 / p)``, with a zero gradient (and PyTorch's value
    ``0 ** (1 / p)``) where the window sum is exactly zero."""
    if norm_type == 0:
        raise ZeroDivisionError(f"{op}: norm_type must be non-zero (the result is a 1/p power)")
    # PyTorch's formula and graph: (sign(avg) * relu(|avg|)) * numel, to the 1/p (the relu's
    # masked gradient makes a zero window's gradient 0, its value 0 ** (1 / p))
    return (avg.sign() * relu(avg.abs())).mul(numel).pow(1.0 / norm_type)


def _check_norm(op: str, norm_type: Any) -> float:
    if not isinstance(norm_type, (int, float, np.number, np.bool_)):  # a bool is 1 (PyTorch)
        raise TypeError(f"{op}: norm_type must be a number, got {type(norm_type).__name__}")
    return float(norm_type)


def _geometry_errors(
    op: str, pool: Any, powered: Tensor, kernel_size: Any, stride: Any, ceil_mode: bool
) -> Tensor:
    """``pool(powered, ...)`` (no padding), its geometry errors (a kernel larger than the
    input, a non-positive size) raised as PyTorch does: a ``RuntimeError`` naming ``op``
    (a :class:`ShapeError`, which is also the ``ValueError`` the pooling ops raise)."""
    try:
        return pool(powered, kernel_size, stride, 0, ceil_mode)
    except ValueError as e:
        raise ShapeError(f"{op}: {e}") from e


def _check_rank(
    op: str, input: Any, ranks: tuple[int, int], layout: str, low: type = RuntimeError
) -> None:
    """PyTorch's errors for a bad input rank: ``low`` below ``ranks`` (``lp_pool2d`` raises
    ``IndexError`` there: its size lookup fails first), ``RuntimeError`` above."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if input.ndim not in ranks:
        kind = low if input.ndim < ranks[0] else RuntimeError
        raise kind(f"{op}: expected a {layout} input, got shape {tuple(input.shape)}")


def lp_pool1d(
    input: Tensor,
    norm_type: float,
    kernel_size: int,
    stride: Any = None,
    ceil_mode: bool = False,
) -> Tensor:
    """Power-average pooling over (N, C, L) or (C, L): ``(sum_window x ** p) ** (1 / p)``;
    ``p = inf`` is max pooling of ``|x|``, ``p = -inf`` its min.

    Raises:
        TypeError: ``kernel_size`` is not an int (as PyTorch, whose formula multiplies by it).
        ZeroDivisionError: ``norm_type == 0``.
    """
    op = "lp_pool1d"
    p = _check_norm(op, norm_type)
    _check_rank(op, input, (2, 3), "(N, C, L) or (C, L)")
    if p == math.inf:
        return max_pool1d(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if p == -math.inf:
        return -max_pool1d(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if (
        isinstance(kernel_size, (tuple, list))
        and len(kernel_size) != 1
        and all(type(k) is int for k in kernel_size)
    ):  # PyTorch's avg_pool1d refuses the length before its formula's product fails
        raise RuntimeError(
            f"avg_pool1d() argument 'kernel_size' should contain one int (got {len(kernel_size)})"
        )
    # avg_pool1d first: its parser's TypeError for a kernel that is not ints, as PyTorch's
    avg = _geometry_errors(op, avg_pool1d, input.pow(norm_type), kernel_size, stride, ceil_mode)
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, (int, np.integer)):
        raise TypeError(f"{op}: kernel_size must be an int, got {kernel_size!r}")
    return _lp_finish(op, avg, p, int(kernel_size))


def lp_pool2d(
    input: Tensor,
    norm_type: float,
    kernel_size: Any,
    stride: Any = None,
    ceil_mode: bool = False,
) -> Tensor:
    """Power-average pooling over (N, C, H, W) or (C, H, W):
    ``(sum_window x ** p) ** (1 / p)``; ``p = inf`` is max pooling of ``|x|``, ``-inf`` its min.

    Raises:
        ZeroDivisionError: ``norm_type == 0``.
    """
    op = "lp_pool2d"
    p = _check_norm(op, norm_type)
    _check_rank(op, input, (3, 4), "(N, C, H, W) or (C, H, W)", IndexError)
    if isinstance(kernel_size, (list, tuple)) and len(kernel_size) != 2:  # PyTorch's unpacking
        many = "too many" if len(kernel_size) > 2 else "not enough"
        raise ValueError(f"{many} values to unpack (expected 2, got {len(kernel_size)})")
    if p == math.inf:
        return max_pool2d(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if p == -math.inf:
        return -max_pool2d(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    # avg_pool2d first: its parser's TypeError for a kernel that is not ints, as PyTorch's
    avg = _geometry_errors(op, avg_pool2d, input.pow(norm_type), kernel_size, stride, ceil_mode)
    kh, kw = _ints(kernel_size, 2, "kernel_size", op)
    return _lp_finish(op, avg, p, kh * kw)


# ----------------------------------------------------------------------------- channel_shuffle
def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of (N, C, *) across ``groups``: view them as (groups, C/groups),
    transpose to (C/groups, groups) and flatten back (ShuffleNet). Any dtype.

    Raises:
        TypeError: ``groups`` is not an int.
        RuntimeError: fewer than 3 dims, ``groups <= 0`` or C not divisible by ``groups``.
    """
    op = "channel_shuffle"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{op}: argument 'groups' must be int, not {type(groups).__name__}")
    if input.ndim <= 2:
        raise RuntimeError(
            f"{op} expects input with > 2 dims, but got input with sizes {list(input.shape)}"
        )
    if groups <= 0:
        raise RuntimeError(
            f"{op}: number of groups to divide channels in must be positive. "
            f"Value of groups:{groups}"
        )
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(
            f"{op}: number of channels must be divisible by groups. "
            f"Got {c} channels and {groups} groups."
        )
    g = int(groups)
    return ChannelShuffle.apply(input, g)  # one ChannelShuffleBackward0 node
