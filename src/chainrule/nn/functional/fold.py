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

from collections.abc import Iterable
from typing import Any

from ...autograd.tensor import Tensor
from ...ops._util import as_tensor, no_integer_kernel
from ...ops.fold import FoldFn, Im2Col, blocks
from ...ops.number_arguments import parser_int_list

__all__ = ["fold", "unfold"]


def _pair(v: Any, name: str, op: str, position: int) -> tuple[int, ...]:
    """``v`` as PyTorch's Python wrapper passes it (``_pair``: an iterable as a tuple of its
    items, anything else twice; a 0-d tensor fails to iterate) and its kernel's parser reads
    it (``op``: ``im2col`` / ``col2im``; its TypeError for an element that is no int)."""
    pair = tuple(v) if isinstance(v, Iterable) else (v, v)
    if all(type(i) is int for i in pair):
        return pair
    return parser_int_list(op, name, position, pair, varargs=False, keywords=False)


_CHECKS = {  # PyTorch's shape checks: the least value, its words, how it names the two
    "kernel_size": (1, "kernel size should be greater than zero", "kernel"),
    "dilation": (1, "dilation should be greater than zero", "dilation"),
    "padding": (0, "padding should be non-negative", "pad"),
    "stride": (1, "stride should be greater than zero", "stride"),
}


def _geometry(op: str, kernel_size: Any, dilation: Any, padding: Any, stride: Any, out: Any = None):
    """The four pairs, parsed in PyTorch's argument order (after ``fold``'s ``out``, its
    output size already parsed), then its kernel's length checks (``out``'s first) and value
    checks (im2col checks the dilation and padding before the stride, col2im after it)."""
    first = 2 if op == "im2col" else 3
    pairs = {
        name: _pair(value, name, op, first + i)
        for i, (name, value) in enumerate(
            (("kernel_size", kernel_size), ("dilation", dilation), ("padding", padding))
            + (("stride", stride),)
        )
    }
    for name, pair in (({"output_size": out} if out is not None else {}) | pairs).items():
        if len(pair) != 2:
            raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(pair)}")
    order = ("kernel_size", "dilation", "padding", "stride")
    if op == "col2im":
        order = ("kernel_size", "stride", "dilation", "padding")
    for name in order:
        least, words, short = _CHECKS[name]
        h, w = pairs[name]
        if h < least or w < least:
            raise RuntimeError(f"{words}, but got {short}_height: {h} {short}_width: {w}")
    return pairs["kernel_size"], pairs["dilation"], pairs["padding"], pairs["stride"]


def unfold(
    input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """Sliding local blocks of a (N, C, H, W) or (C, H, W) tensor as columns (N, C*kh*kw, L).

    Raises:
        RuntimeError: bad input rank or geometry, or a kernel larger than the padded input.
    """
    x = as_tensor(input)
    k, d, p, s = _geometry("im2col", kernel_size, dilation, padding, stride)
    if x.ndim not in (3, 4):
        raise RuntimeError(
            f"unfold: expected a 3-d (unbatched) or 4-d (batched) input, got shape {tuple(x.shape)}"
        )
    no_integer_kernel("unfold", x)
    h, w = x.shape[-2:]
    oh, ow = blocks((h, w), k, d, p, s)
    if oh < 1 or ow < 1:
        raise RuntimeError(
            f"Given input with spatial size ({h}, {w}), kernel_size={k}, dilation={d}, "
            f"padding={p}, calculated shape of the array of sliding blocks as ({oh}, {ow}), "
            "but its components must be at least one."
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
    out_hw = _pair(output_size, "output_size", "col2im", 2)
    k, d, p, s = _geometry("col2im", kernel_size, dilation, padding, stride, out_hw)
    if cols.ndim not in (2, 3):
        raise RuntimeError(
            f"fold: expected a 2-d (unbatched) or 3-d (batched) input, got "
            f"shape {tuple(cols.shape)}"
        )
    no_integer_kernel("fold", cols)
    batched = cols.ndim == 3
    if not batched:
        cols = cols.unsqueeze(0)
    kk = k[0] * k[1]
    if cols.shape[1] % kk:
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={cols.shape[1]} and kernel_size={k}."
        )
    oh, ow = blocks(out_hw, k, d, p, s)
    if oh < 1 or ow < 1 or cols.shape[2] != oh * ow:
        raise RuntimeError(
            f"Given output_size={out_hw}, kernel_size={k}, dilation={d}, "
            f"padding={p}, stride={s}, expected size of input's dimension 2 to "
            f"match the calculated number of sliding blocks {oh} * {ow} = "
            f"{oh * ow}, but got input.size(2)={cols.shape[2]}."
        )
    out = FoldFn.apply(cols, out_hw, k, d, p, s)
    return out if batched else out.squeeze(0)
