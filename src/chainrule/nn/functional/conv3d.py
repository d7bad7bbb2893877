"""Functional 3-D convolution (``F.conv3d``, ``F.conv_transpose3d``): one recorded op each.

Both are the convolution Functions of :mod:`chainrule.ops.conv` on 5-d tensors (PyTorch's
one ``ConvolutionBackward0`` node, next_functions input, weight, bias, with its saved
fields); their kernels run them as im2col over 3-d windows and one GEMM per group
(:mod:`chainrule.ops._conv3d_kernels`). The gradients are again those Functions, so double
backward and forward mode are conv2d's. An unbatched (C, D, H, W) input is unsqueezed
and the result squeezed around the node, as PyTorch does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.lower_precision import autocast_arguments, computing_in_float32
from ...autograd.saved_fields import given
from ...autograd.tensor import Tensor
from ...ops._util import DtypeError, ShapeError
from ...ops.conv_arguments import (
    ConvTypeError,
    check_channels,
    check_geometry,
    check_geometry_first,
    check_groups,
    check_zero_dilation,
    conv_type_error,
    int_tuple,
    padding_pairs,
    refuse_weight_rank,
    string_padding_bias,
)
from ...ops.conv_functions import Conv2dFn, ConvTranspose2dFn
from ...ops.padding import pad
from ...qtypes import scalar_type_name

__all__ = ["conv3d", "conv_transpose3d"]


def _floats(x: Tensor, w: Tensor, bias: Tensor | None) -> tuple:
    return x.float(), w.float(), None if bias is None else bias.float()


def _check(op: str, x: Any, w: Any, bias: Any, groups: int, transposed: bool = False) -> None:
    if not isinstance(x, Tensor) or not isinstance(w, Tensor):
        raise TypeError(
            f"{op}: input and weight must be Tensors, got {type(x).__name__} and {type(w).__name__}"
        )
    if x.ndim != 5 or w.ndim != 5:
        raise ShapeError(
            f"{op}: expected a 4-D (unbatched) or 5-D (batched) input (N, C, D, H, W) and a "
            f"5-D weight (O, C/groups, kd, kh, kw), got input {tuple(x.shape)} and "
            f"weight {tuple(w.shape)}"
        )
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool):
        raise TypeError(f"{op}: groups must be an int, got {type(groups).__name__}")
    if groups < 1:  # a RuntimeError, as PyTorch's
        raise ShapeError(f"{op}: non-positive groups is not supported, got {groups!r}")
    if not transposed and min(w.shape[2:]) <= 0:  # PyTorch's RuntimeError, its words
        d, h, wd = w.shape[2:]
        raise ShapeError(
            f"kernel size should be greater than zero, but got: {d} x {h} x {wd} (TxHxW)"
        )
    if transposed and w.numel() == 0:  # out_channels=0 or an empty kernel: PyTorch's words
        raise ShapeError(
            "non-empty 5D (n_output_plane x n_input_plane x kernel_depth x kernel_height x "
            f"kernel_width) tensor expected for weight, but got: {list(w.shape)}"
        )
    check_channels(op, x, w, groups, transposed)
    if x.dtype.kind == "b":  # PyTorch has no bool kernel (integers: it has), as ops/conv.py
        raise DtypeError(f"{op}: not implemented for torch.bool; convert with .float()")
    if transposed and x.dtype.kind in "iu" and not (x.dtype.kind == "i" and x.dtype.itemsize == 8):
        # PyTorch's CPU transposed convolution has no integer kernel but int64's
        name = scalar_type_name(x._data.dtype)
        raise DtypeError(f"\"slow_conv_transpose3d_out_cpu\" not implemented for '{name}'")
    if bias is not None:
        if not isinstance(bias, Tensor):
            raise TypeError(f"{op}: bias must be a Tensor or None, got {type(bias).__name__}")
        o = w.shape[1] * groups if transposed else w.shape[0]
        if tuple(bias.shape) != (o,):
            raise ShapeError(f"{op}: bias must have shape ({o},), got {tuple(bias.shape)}")
        if bias.dtype != x.dtype:
            raise DtypeError(  # PyTorch promotes nothing here: a RuntimeError
                f"{op}: input dtype {x.dtype} and bias dtype {bias.dtype} differ; "
                f"convert the bias with .to({x.dtype})"
            )


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """3-D cross-correlation, like ``torch.nn.functional.conv3d``.

    Args:
        input: (N, C, D, H, W) or unbatched (C, D, H, W).
        weight: (O, C/groups, kd, kh, kw).
        bias: optional (O,).
        stride, dilation: int or (sd, sh, sw).
        padding: int, (pd, ph, pw), 'valid' or 'same' (stride 1 only; an odd total pads the
            end of the axis one more, as PyTorch does).
        groups: split channels into independent groups (groups == C is depthwise).

    Returns:
        (N, O, Do, Ho, Wo) with Do = floor((D + 2 pd - dd (kd - 1) - 1) / sd) + 1, etc.
    """
    op = "conv3d"
    values = (input, weight, bias, stride, padding, dilation, groups)
    try:  # PyTorch's parser: the types of the numbers first
        if type(groups) is not int:
            check_groups(op, groups)
        stride = int_tuple(stride, 3, "stride", op)
        dil = int_tuple(dilation, 3, "dilation", op)
        if not isinstance(padding, str):
            int_tuple(padding, 3, "padding", op)
    except ConvTypeError:
        raise conv_type_error(op, values) from None
    # autocast (CPU, bfloat16): all three cast, as PyTorch's conv3d, before the dtype checks
    input, weight, bias = autocast_arguments(Conv2dFn, (input, weight, bias))
    unbatched = isinstance(input, Tensor) and input.ndim == 4
    if unbatched:
        input = input.unsqueeze(0)
    if isinstance(weight, Tensor) and weight.ndim != 5 and getattr(input, "ndim", 0) == 5:
        refuse_weight_rank(weight, stride)  # a Conv3d's kernel_size of another length
    bias = string_padding_bias(input, bias, padding)
    if getattr(input, "ndim", 0) == 5 and getattr(weight, "ndim", 0) == 5:
        check_geometry_first(op, padding, stride, dil)  # PyTorch: before the channels
    _check(op, input, weight, bias, groups)
    check_zero_dilation(op, dil)  # PyTorch: after the channels
    if input.dtype.kind == "V":  # bfloat16: computed in float32, rounded once (PyTorch)
        with computing_in_float32():
            out = conv3d(*_floats(input, weight, bias), stride, padding, dilation, groups)
        out = out.to(input.dtype)
        return out.squeeze(0) if unbatched else out
    k = tuple(weight.shape[2:])  # (padding, stride and dilation checked above)
    pads = padding_pairs(padding, k, stride, dil, op)
    n, c, d, h, w = input.shape
    outs = [
        (size + lo + hi - dd * (kk - 1) - 1) // ss + 1
        for size, (lo, hi), kk, ss, dd in zip((d, h, w), pads, k, stride, dil)
    ]
    if min(outs) < 1:
        raise ShapeError(
            f"{op}: input {tuple(input.shape)} is too small for kernel {k} with "
            f"padding {pads}, dilation {dil}: output would be {'x'.join(map(str, outs))}"
        )
    if any(lo != hi for lo, hi in pads):  # 'same', an even kernel: the extra as PyTorch's
        input = pad(input, [v for lo, hi in reversed(pads) for v in (0, hi - lo)])
        pads = tuple((lo, lo) for lo, _ in pads)  # (ConstantPadNd, then a symmetric conv)
    P = (stride, sum(pads, ()), dil, int(groups))
    out = Conv2dFn.apply(input, weight, bias, P)
    if isinstance(padding, str) and padding == "valid":  # PyTorch's node shows one 0 then
        given(out, output_padding=(0,), padding=(0,))
    return out.squeeze(0) if unbatched else out


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Transposed 3-D convolution (the gradient of conv3d with respect to its input), like
    ``torch.nn.functional.conv_transpose3d``.

    Args:
        input: (N, Cin, D, H, W) or unbatched (Cin, D, H, W).
        weight: (Cin, Cout/groups, kd, kh, kw), as in PyTorch.
        output_padding: extra elements added at the end of each output axis (< stride or
            dilation) to pick among the input sizes a strided conv maps to D.

    Returns:
        (N, Cout, Do, Ho, Wo), Do = (D - 1) sd - 2 pd + dd (kd - 1) + opd + 1.
    """
    op = "conv_transpose3d"
    # autocast (CPU, bfloat16): all three cast, as in PyTorch, before the dtype checks
    input, weight, bias = autocast_arguments(ConvTranspose2dFn, (input, weight, bias))
    unbatched = isinstance(input, Tensor) and input.ndim == 4
    if unbatched:
        input = input.unsqueeze(0)
    if type(groups) is not int:
        check_groups(op, groups)
    if isinstance(weight, Tensor) and weight.ndim != 5 and getattr(input, "ndim", 0) == 5:
        refuse_weight_rank(weight, int_tuple(stride, 3, "stride", op))
    _check(op, input, weight, bias, groups, transposed=True)
    if input.dtype.kind == "V":  # bfloat16: computed in float32, rounded once (PyTorch)
        x, w, b = _floats(input, weight, bias)
        with computing_in_float32():
            out = conv_transpose3d(x, w, b, stride, padding, output_padding, groups, dilation)
        out = out.to(input.dtype)
        return out.squeeze(0) if unbatched else out
    k = tuple(weight.shape[2:])
    stride = int_tuple(stride, 3, "stride", op)
    dil = int_tuple(dilation, 3, "dilation", op)
    pads = int_tuple(padding, 3, "padding", op)
    opad = int_tuple(output_padding, 3, "output_padding", op)
    check_geometry(op, stride, dil, pads, opad)
    if any(o >= max(s, d) for o, s, d in zip(opad, stride, dil)):
        raise ShapeError(
            f"{op}: output padding must be smaller than either stride or dilation, but got "
            f"output_padding={opad}, stride={stride}, dilation={dil}"
        )
    n, c, d, h, w = input.shape
    outs = [
        (size - 1) * s - 2 * p + dd * (kk - 1) + o + 1
        for size, s, p, dd, kk, o in zip((d, h, w), stride, pads, dil, k, opad)
    ]
    if min(outs) < 1:
        raise ShapeError(
            f"{op}: output size {'x'.join(map(str, outs))} is not positive for input "
            f"{tuple(input.shape)}, kernel {k}, padding {pads}"
        )
    cout = weight.shape[1] * groups
    P = (stride, sum(((p, p) for p in pads), ()), dil, int(groups))
    # one node with the bias (or None) as its fifth input, as PyTorch's
    out = ConvTranspose2dFn.apply(input, weight, (n, cout, *outs), P, bias)
    given(out, output_padding=opad)  # grad_fn._saved_output_padding
    return out.squeeze(0) if unbatched else out
