"""``F.pixel_shuffle`` / ``F.pixel_unshuffle``: trade channels for spatial resolution.

Each is one node, PyTorch's ``PixelShuffleBackward0`` / ``PixelUnshuffleBackward0``
(``ops/shuffles.py``), differentiable to any order. Element mapping (PyTorch's):
``out[..., c, h r + i, w r + j] = in[..., c r^2 + i r + j, h, w]``.
"""

from __future__ import annotations

from typing import Any

from ...autograd.tensor import Tensor
from ...ops._tensor_args import not_tensor
from ...ops.number_arguments import parser_int
from ...ops.shuffles import PixelShuffle, PixelUnshuffle

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def _check(op: str, input: Tensor, factor: Any, what: str) -> int:
    """The factor as an int (a NumPy integer or an integer 0-d tensor is one, as PyTorch's
    parser reads it), or PyTorch's error for the arguments."""
    if not isinstance(input, Tensor):
        raise not_tensor(op, "input", 1, input)
    if type(factor) is not int:
        factor = parser_int(op, what, 2, factor)
    if input.ndim < 3:
        raise RuntimeError(
            f"{op} expects input to have at least 3 dimensions, but got input "
            f"with {input.ndim} dimension(s)"
        )
    if factor <= 0:
        raise RuntimeError(f"{op} expects a positive {what}, but got {factor}")
    return factor


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r) with r = ``upscale_factor``.

    Raises:
        RuntimeError: fewer than 3 dims, r <= 0, or channels not divisible by r^2.
    """
    r = _check("pixel_shuffle", input, upscale_factor, "upscale_factor")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(
            f"pixel_shuffle expects its input's 'channel' dimension to be "
            f"divisible by the square of upscale_factor, but input.size(-3)={c} "
            f"is not divisible by {r * r}"
        )
    return PixelShuffle.apply(input, r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W) with r = ``downscale_factor``; inverts pixel_shuffle.

    Raises:
        RuntimeError: fewer than 3 dims, r <= 0, or H or W not divisible by r.
    """
    r = _check("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    *batch, c, h, w = input.shape
    for name, n, d in (("height", h, -2), ("width", w, -1)):
        if n % r:
            raise RuntimeError(
                f"pixel_unshuffle expects {name} to be divisible by "
                f"downscale_factor, but input.size({d})={n} is not divisible "
                f"by {r}"
            )
    return PixelUnshuffle.apply(input, r)
