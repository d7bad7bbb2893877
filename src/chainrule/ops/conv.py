"""Convolution: conv1d/conv2d and their transposes (the public functions: argument rules,
layouts, unbatched and 1-d inputs as height-1 images), over the three Functions of
:mod:`.conv_functions`."""

from __future__ import annotations

from typing import Any

from .._layout import is_vmap_array
from ..autograd.lower_precision import AUTOCAST
from ..autograd.saved_fields import given  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..qtypes import scalar_type_name
from ._im2col import out_size
from ._util import NAMED_ERRORS, DtypeError, ShapeError, lead_with
from .conv_arguments import (
    ConvTypeError,
    check_channels,
    check_geometry,
    check_geometry_first,
    check_groups,
    check_zero_dilation,
    conv_type_error,
    int_tuple,
    padding_pairs,
    refuse_types_first,
    refuse_weight_rank,
    string_padding_bias,
    too_small_input,
    torch_words,
)
from .conv_functions import Conv2dFn, ConvTranspose2dFn
from .memory_format import channels_last, relayout_array, suggests_memory_format

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


def _channels_last_result(out: Tensor, input: Tensor, weight: Tensor) -> Tensor:
    """Lay a fresh convolution result out channels-last when PyTorch does: when its input
    or its weight suggests that format (``model.to(memory_format=torch.channels_last)``).
    The result is new and unaliased, so its memory is swapped for the relaid copy (same
    values); chainrule's own layout (see ``_conv_kernels``) stays for everything else."""
    if is_vmap_array(out._data) or not (
        suggests_memory_format(input._data, channels_last)
        or suggests_memory_format(weight._data, channels_last)
    ):
        return out
    out._data = relayout_array(out._data, channels_last, "conv2d")
    return out


def _as_image(t: Any) -> Any:
    """A 3-D tensor as the height-1 image (N, C, 1, L) the 2-D checks read (a view without
    a graph: the op itself takes the 3-D tensor); anything else unchanged (for the error)."""
    if isinstance(t, Tensor) and t.ndim == 3:
        return Tensor._make(t._data[:, :, None], False, None, 0)
    return t


def _vmapped(*ts: Any) -> bool:
    """Whether a tensor is vmap's batched one: its conv rule folds 4-D inputs only, so
    conv1d / conv_transpose1d run there on unsqueezed tensors, as separate views."""
    for t in ts:
        if type(t).__name__ == "BatchedTensor":
            return True
    return False


def _refuse_weight_dims(x: Tensor, w: Tensor) -> None:
    """PyTorch's RuntimeErrors for a 1-d convolution's weight of another rank (a Conv1d built
    with ``kernel_size=()`` or ``(1, 2)``: under three dims, or not the input's rank) or
    with an empty kernel (``kernel_size=0``); returns where none applies."""
    if w.ndim < 3:
        raise ShapeError("weight should have at least three dimensions")
    if w.ndim != x.ndim:
        raise ShapeError(
            f"Expected {w.ndim}-dimensional input for {w.ndim}-dimensional weight "
            f"{list(w.shape)}, but got {x.ndim}-dimensional input of size {list(x.shape)} "
            "instead"
        )
    if w.ndim == 3 and w.shape[2] <= 0:
        raise ShapeError(
            "kernel size should be greater than zero, but got kernel_height: 1 kernel_width: "
            f"{w.shape[2]}"
        )


def _padding(padding: Any, k: tuple, stride: tuple, dil: tuple, op: str) -> tuple:
    """Padding as (top, bottom, left, right) for a 2-D conv."""
    return sum(padding_pairs(padding, k, stride, dil, op), ())


def _check_input(
    op: str,
    x: Tensor,
    w: Tensor,
    groups: int,
    transposed: bool,
    shown: tuple[Tensor, Tensor] | None = None,
) -> None:
    if not isinstance(x, Tensor) or not isinstance(w, Tensor):
        raise TypeError(
            f"{op}: input and weight must be Tensors, got {type(x).__name__} and {type(w).__name__}"
        )
    if x.ndim != 4 or w.ndim != 4:
        raise ShapeError(
            f"{op}: expected a 4-D input (N, C, H, W) and a 4-D weight, got "
            f"input {tuple(x.shape)} and weight {tuple(w.shape)}"
        )
    if groups < 1:  # a RuntimeError, as PyTorch's
        raise ShapeError(f"{op}: non-positive groups is not supported, got {groups}")
    if min(w.shape[2:]) <= 0:  # PyTorch's words (a 1-d kernel has height 1)
        raise ShapeError(
            "kernel size should be greater than zero, but got kernel_height: "
            f"{w.shape[2]} kernel_width: {w.shape[3]}"
        )
    if x.dtype.kind == "b":  # PyTorch has no bool kernel (integers: it has)
        raise DtypeError(f"{op}: not implemented for torch.bool; convert with .float()")
    if transposed and x.dtype.kind in "iu" and not (x.dtype.kind == "i" and x.dtype.itemsize == 8):
        # PyTorch's CPU transposed convolution has no integer kernel but int64's
        name = scalar_type_name(x._data.dtype)
        raise DtypeError(f"\"slow_conv_transpose2d_out_cpu\" not implemented for '{name}'")
    if transposed and w.numel() == 0:  # out_channels=0: PyTorch's RuntimeError
        raise ShapeError(
            f"{op}: non-empty 2D or 4D weight tensor expected, but got: {list(w.shape)}"
        )
    check_channels(op, x, w, groups, transposed, shown)


def _check_dilated_dtype(x: Any, dil: tuple) -> None:
    """PyTorch's CPU kernel of a dilated convolution (1-d too) has no integer case but int64
    (its undilated one takes them all)."""
    kind = getattr(getattr(x, "dtype", None), "kind", "")
    if max(dil) == 1 or kind not in "iu" or x.dtype.itemsize == 8 and kind == "i":
        return
    name = scalar_type_name(x._data.dtype)
    raise DtypeError(f"\"slow_conv_dilated<>\" not implemented for '{name}'")


def _conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    one_d: bool = False,
) -> Tensor:
    """:func:`conv2d` in chainrule's own result layout (what ``conv1d`` builds on);
    ``one_d``: conv1d's 3-D input and weight, computed as a height-1 image in one node."""
    unbatched = not one_d and isinstance(input, Tensor) and input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if AUTOCAST[0]:  # autocast casts the arguments before the dtype checks
        input, weight, bias = AUTOCAST[1](Conv2dFn, (input, weight, bias))
    op = "conv2d"
    if type(groups) is not int:
        check_groups(op, groups)
    x4, w4 = (_as_image(input), _as_image(weight)) if one_d else (input, weight)
    if isinstance(w4, Tensor) and w4.ndim != 4 and getattr(x4, "ndim", 0) == 4:
        refuse_weight_rank(w4, int_tuple(stride, 2, "stride", op))  # a Conv2d's kernel_size
    if isinstance(padding, str) and padding not in ("same", "valid"):  # PyTorch checks first
        raise torch_words(ShapeError(f"Invalid padding string: {padding!r}"))
    stride = int_tuple(stride, 2, "stride", op)
    dil = int_tuple(dilation, 2, "dilation", op)
    if getattr(x4, "ndim", 0) == 4 and getattr(w4, "ndim", 0) == 4:
        check_geometry_first(op, padding, stride, dil)  # PyTorch: before the channels
    _check_input(op, x4, w4, groups, False, (input, weight) if one_d else None)
    check_zero_dilation(op, dil)  # PyTorch: after the channels
    k = tuple(w4.shape[2:])  # (padding, stride and dilation checked above)
    _check_dilated_dtype(x4, dil)
    pad = _padding(padding, k, stride, dil, op)
    h, w = x4.shape[2:]
    ho = out_size(h, k[0], stride[0], pad[0], pad[1], dil[0])
    wo = out_size(w, k[1], stride[1], pad[2], pad[3], dil[1])
    if ho < 1 or wo < 1:
        if one_d:  # conv1d's height-1 image: its width only
            raise too_small_input((w,), pad[2:], k[1:], dil[1:])
        raise too_small_input((h, w), pad, k, dil)
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ShapeError(
            f"{op}: bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}"
        )
    bias = string_padding_bias(input, bias, padding)
    if bias is not None and bias.dtype != input.dtype:
        raise DtypeError(  # PyTorch promotes nothing here: a RuntimeError
            f"{op}: input dtype {input.dtype} and bias dtype {bias.dtype} differ; "
            f"convert the bias with .to({input.dtype})"
        )
    out = Conv2dFn.apply(input, weight, bias, (stride, pad, dil, int(groups)))
    return out.squeeze(0) if unbatched else out


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation, like ``torch.nn.functional.conv2d``.

    Args:
        input: (N, C, H, W) or unbatched (C, H, W).
        weight: (O, C/groups, kh, kw).
        bias: optional (O,).
        stride, dilation: int or (sh, sw).
        padding: int, (ph, pw), 'valid' or 'same' (stride 1 only; odd totals pad the
            bottom/right one more, as PyTorch does).
        groups: split channels into independent groups (groups == C is depthwise).

    Returns:
        (N, O, Ho, Wo) with Ho = floor((H + 2ph - dh (kh - 1) - 1) / sh) + 1, laid out
        channels-last when the input or the weight is (as PyTorch's).
    """
    try:
        out = _conv2d(input, weight, bias, stride, padding, dilation, groups)
    except ConvTypeError:  # PyTorch's parser: no overload takes the arguments
        values = (input, weight, bias, stride, padding, dilation, groups)
        raise conv_type_error("conv2d", values) from None
    except ShapeError:  # a length or geometry error: PyTorch checks every type first
        refuse_types_first("conv2d", (input, weight, bias, stride, padding, dilation, groups))
        raise
    if out.ndim == 4 and isinstance(weight, Tensor):
        out = _channels_last_result(out, input, weight)
    return out  # (marked row-major as PyTorch's by Conv2dFn: _layout_marks.py)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation: input (N, C, L) or (C, L), weight (O, C/groups, k).

    Computed as a 2-D convolution over a height-1 image.
    """
    values = (input, weight, bias, stride, padding, dilation, groups)
    unbatched = isinstance(input, Tensor) and input.ndim == 2
    if unbatched:
        input = input.unsqueeze(0)
    if input.ndim != 3 or weight.ndim != 3 or weight.shape[2] <= 0:
        if input.ndim == 3:
            _refuse_weight_dims(input, weight)
        raise ShapeError(
            f"conv1d: expected input (N, C, L) and weight (O, C/groups, k), got "
            f"{tuple(input.shape)} and {tuple(weight.shape)}"
        )
    try:  # PyTorch's parser errors and words (no "conv1d: " in front): every type first
        for name, v in (("stride", stride), ("padding", padding), ("dilation", dilation)):
            if not isinstance(v, str):  # (a length is checked below)
                int_tuple(v, len(v) if isinstance(v, (tuple, list)) else 1, name, "conv1d")
        if type(groups) is not int:
            check_groups("conv1d", groups)
        stride2 = (1, int_tuple(stride, 1, "stride", "conv1d")[0])  # lengths: its order
        pad = (
            padding
            if isinstance(padding, str)
            else (0, int_tuple(padding, 1, "padding", "conv1d")[0])
        )
        dilation2 = (1, int_tuple(dilation, 1, "dilation", "conv1d")[0])
    except ConvTypeError:
        raise conv_type_error("conv1d", values) from None
    try:
        if _vmapped(input, weight, bias):  # vmap's conv rule: 4-D tensors
            x4, w4 = input.unsqueeze(2), weight.unsqueeze(2)
            out = _conv2d(x4, w4, bias, stride2, pad, dilation2, groups).squeeze(2)
        else:  # one node, as PyTorch's (the height-1 image is inside it)
            out = _conv2d(input, weight, bias, stride2, pad, dilation2, groups, one_d=True)
    except NAMED_ERRORS as err:  # the 2-D op's check names itself: lead with conv1d
        lead_with("conv1d", err)
        raise
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Transposed 2-D convolution (the gradient of conv2d w.r.t. its input).

    Args:
        input: (N, Cin, H, W). weight: (Cin, Cout/groups, kh, kw), as in PyTorch.
        output_padding: extra rows/cols added to one side of the output (< stride or
            dilation) to pick among the input sizes a strided conv maps to H.

    Returns:
        (N, Cout, Ho, Wo), Ho = (H - 1) sh - 2 ph + dh (kh - 1) + oph + 1, laid out
        channels-last when the input or the weight is (as PyTorch's).
    """
    return _conv_transpose2d(
        input, weight, bias, stride, padding, output_padding, groups, dilation, True
    )


def _conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
    layout: bool,
    one_d: bool = False,
) -> Tensor:
    """:func:`conv_transpose2d`; ``layout``: apply PyTorch's channels-last result rule
    (``conv_transpose1d`` builds on the op without it); ``one_d``: conv_transpose1d's 3-D
    input and weight, computed as a height-1 image in one node."""
    unbatched = not one_d and isinstance(input, Tensor) and input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if AUTOCAST[0]:  # autocast casts the arguments before the dtype checks
        input, weight, bias = AUTOCAST[1](ConvTranspose2dFn, (input, weight, bias))
    op = "conv_transpose2d"
    if type(groups) is not int:
        check_groups(op, groups)
    x4, w4 = (_as_image(input), _as_image(weight)) if one_d else (input, weight)
    if isinstance(w4, Tensor) and w4.ndim != 4 and getattr(x4, "ndim", 0) == 4:
        refuse_weight_rank(w4, int_tuple(stride, 2, "stride", op))
    _check_input(op, x4, w4, groups, True, (input, weight) if one_d else None)
    k = tuple(w4.shape[2:])
    stride = int_tuple(stride, 2, "stride", op)
    dil = int_tuple(dilation, 2, "dilation", op)
    ph, pw = int_tuple(padding, 2, "padding", op)
    oph, opw = int_tuple(output_padding, 2, "output_padding", op)
    check_geometry(op, stride, dil, (ph, pw), (oph, opw))
    for o_, s_, d_ in ((oph, stride[0], dil[0]), (opw, stride[1], dil[1])):
        if o_ >= max(s_, d_):
            raise ShapeError(
                f"{op}: output padding must be smaller than either stride or dilation, "
                f"but got output_padding={(oph, opw)}, stride={stride}, "
                f"dilation={dil}"
            )
    n, _, h, w = x4.shape
    ho = (h - 1) * stride[0] - 2 * ph + dil[0] * (k[0] - 1) + oph + 1
    wo = (w - 1) * stride[1] - 2 * pw + dil[1] * (k[1] - 1) + opw + 1
    if ho < 1 or wo < 1:
        raise ShapeError(
            f"{op}: output size {ho}x{wo} is not positive for input "
            f"{tuple(x4.shape)}, kernel {k}, padding {(ph, pw)}"
        )
    cout = w4.shape[1] * groups
    if bias is not None:
        if tuple(bias.shape) != (cout,):  # (the shape error the separate add gave)
            bias.reshape(1, cout, 1, 1)
        if bias.dtype != input.dtype:  # PyTorch adds the bias into the output: its dtype wins
            if bias.dtype.kind == "c" and input.dtype.kind != "c":
                raise RuntimeError(
                    f"{op}: a complex bias ({bias.dtype}) cannot be added to the real output "
                    f"({input.dtype}); convert the bias with .to({input.dtype}) or the input "
                    "and weight to a complex dtype"
                )
            bias = bias.to(input.dtype)
    # one node with the bias (or None) as its fifth input, as PyTorch's
    out = ConvTranspose2dFn.apply(
        input, weight, (n, cout, ho, wo), (stride, (ph, ph, pw, pw), dil, int(groups)), bias
    )
    given(out, output_padding=(oph, opw))  # grad_fn._saved_output_padding
    if layout and not unbatched:
        out = _channels_last_result(out, input, weight)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Transposed 1-D convolution: input (N, Cin, L) or unbatched (Cin, L), weight (Cin,
    Cout/groups, k); computed as the 2-D op on a height-1 image (the height inserted just
    before L, so an unbatched input stays unbatched)."""

    def one(v: Any, name: str) -> int:
        return int_tuple(v, 1, name, "conv_transpose1d")[0]

    if isinstance(weight, Tensor) and (weight.ndim != 3 or weight.shape[2] <= 0):
        if isinstance(input, Tensor) and input.ndim in (2, 3):
            _refuse_weight_dims(input.unsqueeze(0) if input.ndim == 2 else input, weight)
    # PyTorch's parser errors and words (no "conv_transpose1d: " in front)
    args = (
        bias,
        (1, one(stride, "stride")),
        (0, one(padding, "padding")),
        (0, one(output_padding, "output_padding")),
        groups,
        (1, one(dilation, "dilation")),
        False,
    )
    if type(groups) is not int:
        check_groups("conv_transpose1d", groups)
    try:
        if isinstance(input, Tensor) and not _vmapped(input, weight, bias):
            # one node, as PyTorch's (the height-1 image is inside it); unbatched: as
            # PyTorch's, the batch dim added and removed around it
            unbatched = input.ndim == 2
            x = input.unsqueeze(0) if unbatched else input
            out = _conv_transpose2d(x, weight, *args, one_d=True)
            return out.squeeze(0) if unbatched else out
        out = _conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(2), *args)
    except NAMED_ERRORS as err:  # the 2-D op's check names itself: lead with conv_transpose1d
        lead_with("conv_transpose1d", err)
        raise
    return out.squeeze(-2)
