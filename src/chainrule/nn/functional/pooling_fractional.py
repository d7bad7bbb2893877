"""``torch.nn.functional``'s fractional max pooling (2-D and 3-D), PyTorch's CPU algorithm.

Each output cell's window starts at ``floor((i + u) * alpha) - floor(u * alpha)`` with one
random ``u`` per (sample, channel, dim) (``_random_samples``, or drawn from chainrule's RNG),
``alpha = (in - k) / (out - 1)``; the window's first maximum (last NaN if any) is found by
:mod:`chainrule.ops._pooling_indices` and gathered with ``take_along_dim``, so the gradient
is PyTorch's: the upstream gradient scatter-added at the indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...autograd.lower_precision import autocast_float32_op
from ...autograd.state import LOCAL
from ...autograd.tensor import Tensor
from ...backend import get_array_module, to_device
from ...creation_random import rand
from ...meta.array import MetaArray, meta_empty
from ...ops._pooling_indices import fractional_windows, window_max_indices
from ...ops.gather_scatter import take_along_dim
from ...random import gen
from .pooling_extra import _ints
from .pooling_more import _const

__all__ = [
    "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
]


# ----------------------------------------------------------------------------- fractional
def _fractional(
    op: str,
    nd: int,
    input: Any,
    kernel_size: Any,
    output_size: Any,
    output_ratio: Any,
    samples: Any,
) -> tuple[Tensor, Tensor]:
    """(values, indices) of ``nd``-d fractional max pooling (PyTorch's CPU algorithm)."""
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if input.ndim not in (nd + 1, nd + 2) or 0 in tuple(input.shape)[-(nd + 1) :]:
        raise RuntimeError(
            f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, with non-zero sizes except "
            f"perhaps the batch dimension, but got: {list(input.shape)}"
        )
    if input.dtype.kind not in "fV":  # V: bfloat16
        raise NotImplementedError(f'"{op}" not implemented for {input.dtype}')
    sizes = tuple(input.shape[-nd:])
    names = ("kernel_size", "output_size")
    for pos, name, v in ((2, names[0], kernel_size), (3, names[1], output_size)):
        if type(v) is int or v is None:
            continue
        if isinstance(v, Sequence):
            for i, e in enumerate(v):  # (a str: PyTorch's _pair iterates it)
                if isinstance(e, bool) or not isinstance(e, (int, np.integer)):
                    raise TypeError(  # PyTorch's parser
                        f"{op}(): argument '{name}' (position {pos}) must be tuple of ints, "
                        f"but found element of type {type(e).__name__} at pos {i}"
                    )
            if len(v) != nd:  # PyTorch's check (a 1-element list is not repeated)
                raise RuntimeError(
                    f"{op}: {name} must either be a single Int or tuple of Ints, got {v!r}"
                )
        elif v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
            raise TypeError(  # PyTorch's parser
                f"{op}(): argument '{name}' (position {pos}) must be tuple of ints, not "
                f"{type(v).__name__}"
            )
    try:
        k = _ints(kernel_size, nd, names[0], op)
        if output_size is None:
            ratio = output_ratio
            if isinstance(ratio, (int, float, np.number)):
                ratio = (ratio,) * nd
            if not isinstance(ratio, Sequence) or len(ratio) not in (1, nd):
                raise TypeError(f"{op}: output_ratio must be a number or {nd} numbers")
            ratio = tuple(ratio) * (nd if len(ratio) == 1 else 1)
            out = tuple(int(s * float(r)) for s, r in zip(sizes, ratio))
        else:
            out = _ints(output_size, nd, names[1], op)
    except TypeError as e:
        raise RuntimeError(
            f"{op}: kernel_size and output_size must either be a single Int or tuple of "
            f"{nd} Ints ({e})"
        ) from None
    if min(k) < 1 or min(out) < 0:
        raise RuntimeError(
            f"{op}(): kernel_size must be positive and output_size non-negative, got "
            f"kernel_size={k}, output_size={out}"
        )
    axis = ("time", "height", "width")[3 - nd :]
    # PyTorch's bound: out + k - 1 <= size in 2-D, but strictly below size in 3-D
    limit = 0 if nd == 2 else 1
    for d in range(nd):
        if out[d] + k[d] - 1 + limit > sizes[d]:
            raise RuntimeError(
                f"{op}(): pool {axis[d]} {k[d]} too large relative to input {axis[d]} "
                f"{sizes[d]} (output_size {out[d]})"
            )
    batched = input.ndim == nd + 2
    x = input if batched else input.unsqueeze(0)
    n, c = x.shape[:2]
    xp = get_array_module(x._data)
    meta = type(x._data) is MetaArray  # no values: no windows drawn or read (PyTorch's meta)
    if samples is None:
        u = None if meta else gen(None).random((n, c, nd)).astype(x.dtype)
    else:
        if not isinstance(samples, Tensor):
            raise TypeError(f"{op}: _random_samples must be a Tensor, got {type(samples).__name__}")
        if samples.dtype != x.dtype:
            raise RuntimeError(f"{op}: Expect _random_samples to have the same dtype as input")
        if samples.ndim != 3:
            raise RuntimeError(f"{op}: Expect _random_samples to be 3D, got {samples.ndim}D")
        if samples.shape[2] != nd:
            raise RuntimeError(
                f"{op}: Expect _random_samples.size(2) equals to {nd}; got {samples.shape[2]}."
            )
        if samples.shape[0] < n:
            raise RuntimeError(
                f"{op}: Expect _random_samples.size(0) no less then input batch size."
            )
        if samples.shape[1] != c:
            raise RuntimeError(
                f"{op}: Expect _random_samples.size(1) equals to input channel size "
                f"({c}); got {samples.shape[1]}."
            )
        u = None if meta else to_device(samples._data[:n], "cpu")
    flat = x.reshape(n, c, int(np.prod(sizes)))
    if meta:
        idx = meta_empty((n, c, *out), np.int64)
    else:
        # PyTorch's sample order: 2-D reads (width, height), 3-D reads (time, height, width)
        win = xp.asarray(fractional_windows(u, sizes, out, k))
        idx = window_max_indices(flat._data, win, xp)
    vals = take_along_dim(flat, _const(idx.reshape(n, c, int(np.prod(out)))), 2).reshape(n, c, *out)
    if not batched:
        return vals.squeeze(0), _const(idx[0])
    return vals, _const(idx)


def _pooled(op: str, nd: int, input: Any, *args: Any) -> tuple[Tensor, Tensor]:
    """:func:`_fractional`, or under ``cr.func.vmap`` PyTorch's way: its functional draws the
    samples with ``torch.rand`` (so vmap's ``randomness`` applies: one draw for ``'same'``,
    one per sample for ``'different'``, an error for ``'error'``), then its batched fallback
    pools each sample in turn (``func._per_sample``)."""
    if LOCAL.state.vmap and isinstance(input, Tensor):
        kernel_size, output_size, output_ratio, samples = args
        if samples is None and not (output_size is None and output_ratio is None):
            n = 1 if input.ndim == nd + 1 else input.shape[0]
            c = input.shape[-nd - 1] if input.ndim > nd else 1
            samples = rand(n, c, nd, dtype=input.dtype)
        from ...func._per_sample import per_sample  # noqa: PLC0415 - in here: func imports nn

        res = per_sample(_pooled, op, nd, input, kernel_size, output_size, output_ratio, samples)
        if res is not NotImplemented:
            return res
        args = (kernel_size, output_size, output_ratio, samples)
    return _fractional(op, nd, input, *args)


def fractional_max_pool2d_with_indices(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Fractional max pooling (Graham 2014) of (N, C, H, W) or (C, H, W), always returning
    ``(output, indices)`` (indices into each H*W plane).

    Each (n, c) plane has its own pseudo-random window starts, from ``_random_samples``
    (N, C, 2) in [0, 1) (width sample first, then height, as PyTorch) or, when not given,
    from chainrule's default generator. ``output_size`` (ints) or ``output_ratio`` (a number
    or two, ``int(size * ratio)``) sets the output size. PyTorch 2.13's functional raises
    ``TypeError`` for a single-number ``output_ratio`` (it takes ``len()`` of it), against
    its own docs; chainrule accepts it, as ``nn.FractionalMaxPool2d`` does.
    """
    op = "fractional_max_pool2d"
    return _pooled(op, 2, input, kernel_size, output_size, output_ratio, _random_samples)


@autocast_float32_op
def fractional_max_pool2d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> Any:
    """``torch.nn.functional.fractional_max_pool2d``: the output, or ``(output, indices)``
    with ``return_indices`` (see :func:`fractional_max_pool2d_with_indices`)."""
    out, idx = fractional_max_pool2d_with_indices(
        input, kernel_size, output_size, output_ratio, False, _random_samples
    )
    return (out, idx) if return_indices else out


def fractional_max_pool3d_with_indices(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Fractional max pooling of (N, C, T, H, W) or (C, T, H, W), always returning
    ``(output, indices)`` (indices into each T*H*W volume); ``_random_samples`` is
    (N, C, 3) ordered (time, height, width), as PyTorch. See the 2-D form."""
    op = "fractional_max_pool3d"
    return _pooled(op, 3, input, kernel_size, output_size, output_ratio, _random_samples)


@autocast_float32_op
def fractional_max_pool3d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> Any:
    """``torch.nn.functional.fractional_max_pool3d``: the output, or ``(output, indices)``
    with ``return_indices``."""
    out, idx = fractional_max_pool3d_with_indices(
        input, kernel_size, output_size, output_ratio, False, _random_samples
    )
    return (out, idx) if return_indices else out
