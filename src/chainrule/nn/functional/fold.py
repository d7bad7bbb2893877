"""``F.unfold`` (im2col) and ``F.fold`` (col2im), as in ``torch.nn.functional``.

``unfold`` takes every ``kernel_size`` patch of a padded (N, C, H, W) input, with ``dilation``
and ``stride``, and lays the patches out as columns: (N, C*kh*kw, L). It is composed of
differentiable views (pad, sliding windows, slicing), so its gradient is exact and double
backward works. ``fold`` is its adjoint (overlapping patches are summed); its backward is
``unfold`` of the gradient, and ``unfold``'s backward is ``fold``.

These functions check the arguments and handle unbatched inputs; the derivative rules (the
column layout and the col2im op :class:`~chainrule.ops.fold.FoldFn`) are in ``ops/fold.py``.
"""

from __future__ import annotations

import numbers
from typing import Any

from ...autograd.tensor import Tensor
from ...ops._util import as_tensor, no_integer_kernel
from ...ops.fold import FoldFn, Im2Col, blocks

__all__ = ["fold", "unfold"]


def _pair(v: Any, name: str, op: str, minimum: int) -> tuple[int, int]:
    pair = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if not all(isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in pair):
        # a float, bool, None or string: PyTorch's argument parser's TypeError
        raise TypeError(f"{op}: {name} must be an int or a pair of ints >= {minimum}, got {v!r}")
    pair = tuple(int(i) for i in pair)
    if len(pair) != 2 or not all(i >= minimum for i in pair):
        raise RuntimeError(f"{op}: {name} must be an int or a pair of ints >= {minimum}, got {v!r}")
    return pair  # type: ignore[return-value]


def _geometry(op: str, kernel_size: Any, dilation: Any, padding: Any, stride: Any):
    return (
        _pair(kernel_size, "kernel_size", op, 1),
        _pair(dilation, "dilation", op, 1),
        _pair(padding, "padding", op, 0),
        _pair(stride, "stride", op, 1),
    )


def unfold(
    input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """Sliding local blocks of a (N, C, H, W) or (C, H, W) tensor as columns (N, C*kh*kw, L).

    Raises:
        RuntimeError: bad input rank or geometry, or a kernel larger than the padded input.
    """
    x = as_tensor(input)
    if x.ndim not in (3, 4):
        raise RuntimeError(
            f"unfold: expected a 3-d (unbatched) or 4-d (batched) input, got shape {tuple(x.shape)}"
        )
    k, d, p, s = _geometry("unfold", kernel_size, dilation, padding, stride)
    no_integer_kernel("unfold", x)
    h, w = x.shape[-2:]
    oh, ow = blocks((h, w), k, d, p, s)
    if oh < 1 or ow < 1:
        raise RuntimeError(
            f"unfold: the padded input ({h + 2 * p[0]}x{w + 2 * p[1]}) is smaller "
            f"than the dilated kernel ({d[0] * (k[0] - 1) + 1}x"
            f"{d[1] * (k[1] - 1) + 1})"
        )
    # one Im2ColBackward0 (unbatched too), new memory as PyTorch's im2col
    return Im2Col.apply(x, k, d, p, s)


def fold(
    input: Tensor,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Tensor:
    """Combine sliding local blocks (N, C*kh*kw, L) into a (N, C, H, W) tensor, summing where
    blocks overlap (the adjoint of :func:`unfold`).

    Raises:
        RuntimeError: the column count or the number of blocks does not fit the geometry.
    """
    cols = as_tensor(input)
    if cols.ndim not in (2, 3):
        raise RuntimeError(
            f"fold: expected a 2-d (unbatched) or 3-d (batched) input, got "
            f"shape {tuple(cols.shape)}"
        )
    out_hw = _pair(output_size, "output_size", "fold", 1)
    k, d, p, s = _geometry("fold", kernel_size, dilation, padding, stride)
    no_integer_kernel("fold", cols)
    batched = cols.ndim == 3
    if not batched:
        cols = cols.unsqueeze(0)
    kk = k[0] * k[1]
    if cols.shape[1] % kk:
        raise RuntimeError(
            f"fold: expected size of input's dimension 1 to be divisible by the "
            f"product of kernel_size ({kk}), but got {cols.shape[1]}"
        )
    oh, ow = blocks(out_hw, k, d, p, s)
    if oh < 1 or ow < 1 or cols.shape[2] != oh * ow:
        raise RuntimeError(
            f"fold: given output_size={out_hw}, kernel_size={k}, dilation={d}, "
            f"padding={p}, stride={s}, expected size of input's dimension 2 to "
            f"match the calculated number of sliding blocks {oh} * {ow} = "
            f"{oh * ow}, but got {cols.shape[2]}"
        )
    out = FoldFn.apply(cols, out_hw, k, d, p, s)
    return out if batched else out.squeeze(0)
