"""Padding with PyTorch's conventions: ``pad`` lists (before, after) pairs from the LAST dim.

Constant padding is one op (``ConstantPadNdBackward0``); reflect / replicate padding are one
node each (``edge_padding.py``: ``ReflectionPad2DBackward0``, ...); circular padding is one
node too (``circular_padding.py``, under the top of PyTorch's slice-copy chain,
``torch::autograd::CopySlices``). Widths are validated as PyTorch does (reflect pads must be
smaller than the padded dim, circular pads at most its size).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd.function import Function
from ..autograd.lower_precision import AUTOCAST, autocast_float32
from ..autograd.saved_fields import given, given_dim  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._util import ShapeError
from .circular_padding import CircularPad, check_circular_pads
from .edge_padding import EdgePad
from .memory_format import in_suggested_format, suggested_format
from .number_arguments import parser_float, parser_int_list

__all__ = ["Pad", "pad"]


class Pad(Function):
    node_name = "ConstantPadNdBackward0"  # PyTorch's name for a constant pad
    raw = True
    # grad_fn._saved_pad as PyTorch's (saved_fields.py): as given to pad() (negatives, which
    # crop, as 2**64 - 1...), else the widths from the last dim
    saved_fields = {
        "pad": lambda n: given_dim(n, "pad", [v for w in reversed(n.widths) for v in w]),
    }

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.widths = widths
        xp = get_array_module(x)
        out = xp.pad(x, widths, mode="constant", constant_values=value)
        if (
            not (x.flags.c_contiguous and out.flags.c_contiguous)
            and any(map(any, widths))
            and suggested_format(x) is not None
        ):
            # NumPy keeps x's order; PyTorch allocates in x.suggest_memory_format() (a pad of
            # zeros is its clone, in x's own layout, as NumPy's copy). Not for a convolution's
            # channel-major result: in_suggested_format would lay the larger ``out`` out with
            # ``x``'s strides (wrong values); NumPy's array is kept
            out = in_suggested_format(out, x)
        return out

    @staticmethod
    def backward(ctx, grad):
        # PyTorch's is constant_pad_nd(grad, -pad): the cropped gradient cloned (laid out
        # as clone lays out a slice), never a view of the incoming gradient, so a leaf's
        # .grad cannot share memory with the caller's ``gradient=`` (or another leaf's)
        idx = tuple(slice(lo, grad.shape[i] - hi) for i, (lo, hi) in enumerate(ctx.widths))
        if type(grad) is Tensor and type(grad._data) is np.ndarray and not ctx.create_graph:
            return Tensor._make(grad._data[idx].copy(order="K"), False, None, 0), None, None
        return grad[idx].clone(), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return get_array_module(t).pad(t, ctx.widths, mode="constant", constant_values=0)


def pad(
    input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
) -> Tensor:
    """Pad with PyTorch's convention: ``pad`` lists (before, after) pairs from the LAST dim.

    Negative entries crop. Every mode ('constant', 'reflect', 'replicate', 'circular') is
    differentiable. ``value`` (constant mode only; None is 0, as in PyTorch) fills the border.
    """
    if mode not in ("constant", "reflect", "replicate", "circular"):  # PyTorch's first check
        raise NotImplementedError(f"Unrecognised padding mode {mode}")  # PyTorch's words
    if not isinstance(pad, (tuple, list)):  # PyTorch's parser: a Tensor or array is none
        parser_int_list("pad", "pad", 2, pad, varargs=False, keywords=False)
    for p in pad:
        if type(p) is not int:
            pad = parser_int_list("pad", "pad", 2, list(pad), varargs=False, keywords=False)
            break
    pad = list(pad)
    if value is not None and type(value) is not float and type(value) is not int:
        value = parser_float("pad", "value", 4, value, keywords=False)
    if len(pad) % 2:
        raise ShapeError("Padding length must be divisible by 2")  # PyTorch's words
    if len(pad) // 2 > input.ndim:
        raise ShapeError(
            "Padding length should be less than or equal to two times the input dimension "
            f"but got padding length {len(pad)} and input of dimension {input.ndim}"
        )
    if mode in ("reflect", "replicate", "circular") and value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode in ("reflect", "replicate"):  # one node; negative pads crop inside it
        if AUTOCAST[0] and (mode == "replicate" or len(pad) < 6):
            (input,) = autocast_float32(input)  # CPU autocast's float32 list (not reflect 3-d)
        _check_non_constant_rank(input.ndim, len(pad))
        _check_pad_widths(mode, input.shape, widths, len(pad) // 2)
        _check_output_size(input.shape, widths, len(pad) // 2, mode)  # before: torch's text
        _check_crop(input.shape, widths, mode)
        _check_non_batch_dims(input.shape, len(pad) // 2)
        return EdgePad.apply(input, tuple(int(p) for p in pad), mode)
    if mode == "circular":  # one node; negative pads crop first, then the rest wraps
        _check_non_constant_rank(input.ndim, len(pad))
        check_circular_pads(input.shape, pad)
        return CircularPad.apply(input, tuple(int(p) for p in pad))
    if any(lo < 0 or hi < 0 for lo, hi in widths):  # constant: crop, then pad the rest
        _check_crop(input.shape, widths, mode)
        crop = tuple(
            slice(max(-lo, 0), input.shape[i] - max(-hi, 0)) for i, (lo, hi) in enumerate(widths)
        )
        input = input[crop]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    out = Pad.apply(input, tuple(widths), 0.0 if value is None else value)
    return given(out, pad=tuple(pad))  # grad_fn._saved_pad as given


def _check_crop(shape: tuple, widths: list, mode: str) -> None:
    """Negative pads crop; cropping more than a dim holds is PyTorch's RuntimeError (a slice
    would wrap its negative end around and return a wrong tensor instead)."""
    for i, (lo, hi) in enumerate(widths):
        if shape[i] + min(lo, 0) + min(hi, 0) < 0:
            if mode == "constant":  # PyTorch narrows the input first
                raise RuntimeError("narrow(): length must be non-negative.")  # its words
            raise RuntimeError(
                f"pad: negative padding ({lo}, {hi}) crops more than the {shape[i]} elements "
                f"of dimension {i} (mode {mode!r})"
            )


def _check_output_size(shape: tuple, widths: list, k: int, mode: str) -> None:
    """PyTorch's reflect/replicate kernels refuse a result empty along *every* padded dim
    (its check is ``output_w >= 1 || output_h >= 1 ...``: one non-empty dim is enough, the
    result is then empty), in its words."""
    dims = range(len(shape) - k, len(shape))
    outs = [shape[i] + widths[i][0] + widths[i][1] for i in dims]
    if any(o >= 1 for o in outs):
        return
    names = "DHW"[3 - k :]
    ins = [f"{n}: {shape[i]}" for n, i in zip(names, dims)]
    got = " ".join(f"{n}: {o}" for n, o in zip(names, outs))
    given_ = ins[0] if k == 1 else ", ".join(ins) if k == 2 else f"{ins[0]} {ins[1]}, {ins[2]}"
    if k == 2 and mode == "replicate":
        given_ += " "  # PyTorch's replication_pad2d text has this space
    raise RuntimeError(f"input ({given_}) is too small. Calculated output {got}")


def _check_non_batch_dims(shape: tuple, k: int) -> None:
    """PyTorch's reflect/replicate kernels take an empty batch dim only: a channel or padded
    dim of size 0 is its RuntimeError."""
    batched = len(shape) == k + 2
    if any(n == 0 for n in shape[1 if batched else 0 :]):
        raise RuntimeError(
            f"pad: Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size "
            f"and other non-zero dimensions for input, but got: {list(shape)}"
        )


def _check_non_constant_rank(ndim: int, n_pad: int) -> None:
    """PyTorch pads reflect/replicate/circular only over the last 1, 2 or 3 dims of an input
    with one or two dims more (a batch of channels, or channels alone)."""
    k = n_pad // 2
    if k not in (1, 2, 3) or ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {n_pad} is not supported for {ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
        )


def _check_pad_widths(mode: str, shape: tuple, widths: list, npad: int) -> None:
    """Reflect pads must be < the dim size, replicate needs size > 0."""
    if mode == "reflect":  # PyTorch's words, checked from the last dim (its argument #4)
        for i in range(len(shape) - 1, len(shape) - npad - 1, -1):
            if max(widths[i]) >= shape[i]:
                raise RuntimeError(
                    f"Argument #{4 + 2 * (len(shape) - 1 - i)}: Padding size should be less "
                    "than the corresponding input dimension, but got: padding "
                    f"{tuple(widths[i])} at dimension {i} of input {list(shape)}"
                )
    for i in range(len(shape) - npad, len(shape)):
        n = shape[i]
        for w in widths[i]:
            if not (w < n if mode == "reflect" else n > 0 or w == 0):
                rel = "less than" if mode == "reflect" else "at most"
                raise RuntimeError(
                    f"pad: padding size should be {rel} the corresponding input dimension for "
                    f"mode {mode!r}, but got padding "
                    f"{widths[i]} at dimension {i} of input {list(shape)}"
                )
