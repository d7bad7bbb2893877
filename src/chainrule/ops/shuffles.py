"""``pixel_shuffle``, ``pixel_unshuffle`` and ``channel_shuffle`` as one graph node each.

They were a reshape, a permute and a reshape (three nodes); as one node each they print as
PyTorch's (``PixelShuffleBackward0``, ``PixelUnshuffleBackward0``,
``ChannelShuffleBackward0``) and save what PyTorch's save (the factor or the group count).
Each is a permutation of elements: the gradient is the inverse permutation of ``grad``
(recorded through the inverse op under ``create_graph``, so every order differentiates),
and the tangent the same permutation of the tangent. The result is a fresh contiguous array.

Element mapping (PyTorch's), r the factor:
``pixel_shuffle(x)[..., c, h r + i, w r + j] = x[..., c r^2 + i r + j, h, w]``;
``channel_shuffle`` views the channels as (groups, C / groups) and transposes them.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..backend import get_array_module
from ..meta.array import MetaArray, meta_empty
from ._result_layout import in_format, input_format  # (a channels-last input's format)

__all__ = ["ChannelShuffle", "PixelShuffle", "PixelUnshuffle"]


def _contiguous(a: Any) -> Any:
    if type(a) is MetaArray:  # (a meta array has no memory order to fix: no copy)
        return meta_empty(a.shape, a.dtype)
    return get_array_module(a).ascontiguousarray(a)


def _format(x: Any) -> Any:
    """The format PyTorch lays a pixel (un)shuffle of ``x`` out in: channels-last for a
    channels-last 4-d ``x``, else None. A 5-d ``x`` whose suggested format is
    channels-last-3d PyTorch refuses (its kernels know only those two formats), and so
    does this."""
    if x.ndim == 4:
        return input_format(x)
    if x.ndim == 5 and input_format(x) is not None:
        raise RuntimeError("Unsupported memory format. Supports only ChannelsLast, Contiguous")
    return None


def shuffle_pixels(x: Any, r: int) -> Any:
    """(*, C r^2, H, W) -> (*, C, H r, W r) on an array."""
    *batch, c, h, w = x.shape
    nb = len(batch)
    a = x.reshape(*batch, c // (r * r), r, r, h, w)
    a = a.transpose(*range(nb), nb, nb + 3, nb + 1, nb + 4, nb + 2)
    return _contiguous(a).reshape(*batch, c // (r * r), h * r, w * r)


def unshuffle_pixels(x: Any, r: int) -> Any:
    """(*, C, H r, W r) -> (*, C r^2, H, W) on an array."""
    *batch, c, h, w = x.shape
    nb = len(batch)
    a = x.reshape(*batch, c, h // r, r, w // r, r)
    a = a.transpose(*range(nb), nb, nb + 2, nb + 4, nb + 1, nb + 3)
    return _contiguous(a).reshape(*batch, c * r * r, h // r, w // r)


def shuffle_channels(x: Any, groups: int) -> Any:
    """(N, C, *) with C viewed as (groups, C / groups), transposed, flattened back."""
    n, c, *rest = x.shape
    a = x.reshape(n, groups, c // groups, *rest).swapaxes(1, 2)
    return _contiguous(a).reshape(x.shape)


class PixelShuffle(Function):
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""

    raw = True
    node_name = "PixelShuffleBackward0"
    saved_fields = {"upscale_factor": lambda n: n.r}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, x, r):
        ctx.r = r
        return in_format(shuffle_pixels(x, r), _format(x))

    @staticmethod
    def backward(ctx, grad):
        return PixelUnshuffle.apply(grad, ctx.r), None

    @staticmethod
    def jvp(ctx, t, _r):
        return shuffle_pixels(t, ctx.r)


class PixelUnshuffle(Function):
    """(*, C, H r, W r) -> (*, C r^2, H, W); inverts :class:`PixelShuffle`."""

    raw = True
    node_name = "PixelUnshuffleBackward0"
    saved_fields = {"downscale_factor": lambda n: n.r}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, x, r):
        ctx.r, ctx.empty = r, x.size == 0  # PyTorch returns an empty input's copy, unshaped
        return x.copy() if ctx.empty else in_format(unshuffle_pixels(x, r), _format(x))

    @staticmethod
    def backward(ctx, grad):
        return (grad if ctx.empty else PixelShuffle.apply(grad, ctx.r)), None

    @staticmethod
    def jvp(ctx, t, _r):
        return t.copy() if ctx.empty else unshuffle_pixels(t, ctx.r)


class ChannelShuffle(Function):
    """The channels of (N, C, *) interleaved across ``groups``; the inverse shuffles with
    ``C / groups`` groups."""

    raw = True
    node_name = "ChannelShuffleBackward0"
    saved_fields = {"groups": lambda n: n.groups}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, x, groups):
        ctx.groups = groups
        return shuffle_channels(x, groups)

    @staticmethod
    def backward(ctx, grad):
        return ChannelShuffle.apply(grad, grad.shape[1] // ctx.groups), None

    @staticmethod
    def jvp(ctx, t, _groups):
        return shuffle_channels(t, ctx.groups)
