"""Functional 3-D convolution (``F.conv3d``), composed from the 2-D convolution op.

A 3-D cross-correlation is a 2-D one over channels extended by the kernel's depth taps::

    y[n, o, t] = b[o] + conv2d(fold(xpad)[n, t], w.reshape(O, C/groups * kd, kh, kw))

where fold(xpad)[n, t] stacks, for every channel c and depth tap i, the depth slice
xpad[n, c, t*sd + i*dd] as channel c*kd + i (im2col over depth only). The input is padded
along depth, the taps (strided, dilated depth slices) stacked and moved to
(N*D_out, C*kd, H, W), and one conv2d op call (which handles the H/W stride, padding,
dilation and groups) does the rest; the (channel, tap) order keeps each group's channels
contiguous, so groups carry over unchanged. Gradients of every order and forward mode come
from the ops used (pad, slice, stack, reshape, conv2d).

Measured on a video-like shape (N=2, C=8, D=H=W=16, O=16, k=3, padding 1, float32, forward +
backward, 2 shared cores, no PyTorch threads in the process): 9.5 ms for this fold against
15.3 ms for summing kd conv2d calls over depth slices folded into the batch (8.5 against
14.5 ms with groups=2).

``conv_transpose3d`` runs one 2-D transposed convolution per depth tap (depth slices folded
into the batch) and places each tap's result at its output depths.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.lower_precision import autocast_arguments, computing_in_float32
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...ops._util import DtypeError, ShapeError
from ...ops.conv import Conv2dFn, ConvTranspose2dFn
from ...ops.conv_arguments import check_geometry, int_tuple, padding_pairs, string_padding_bias
from ...ops.padding import pad
from ...ops.shape import stack

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
    c = x.shape[1]
    if transposed:
        if c != w.shape[0] or c % groups:
            raise ShapeError(
                f"{op}: input {tuple(x.shape)} has {c} channels but weight {tuple(w.shape)} "
                f"expects {w.shape[0]} (divisible by groups={groups})"
            )
    elif c != w.shape[1] * groups or w.shape[0] % groups:
        raise ShapeError(
            f"{op}: input {tuple(x.shape)} has {c} channels but weight {tuple(w.shape)} "
            f"with groups={groups} expects {w.shape[1] * groups}; out_channels "
            f"({w.shape[0]}) must also be divisible by groups"
        )
    if x.dtype != w.dtype:
        raise DtypeError(  # a TypeError and, as in PyTorch, a RuntimeError
            f"{op}: input dtype {x.dtype} and weight dtype {w.dtype} differ; "
            "cast one (e.g. model.double() or x.float())"
        )
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
    # autocast (CPU, bfloat16): all three cast, as PyTorch's conv3d, before the dtype checks
    input, weight, bias = autocast_arguments(Conv2dFn, (input, weight, bias))
    unbatched = isinstance(input, Tensor) and input.ndim == 4
    if unbatched:
        input = input.unsqueeze(0)
    bias = string_padding_bias(input, bias, padding)
    _check(op, input, weight, bias, groups)
    if input.dtype.kind == "V":  # bfloat16: computed in float32, rounded once (PyTorch)
        with computing_in_float32():
            out = conv3d(*_floats(input, weight, bias), stride, padding, dilation, groups)
        out = out.to(input.dtype)
        return out.squeeze(0) if unbatched else out
    k = tuple(weight.shape[2:])
    stride = int_tuple(stride, 3, "stride", op)
    dil = int_tuple(dilation, 3, "dilation", op)
    if not isinstance(padding, str):
        check_geometry(op, stride, dil, int_tuple(padding, 3, "padding", op))
    check_geometry(op, stride, dil)
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
    do = outs[0]
    x = input
    if pads[0] != (0, 0):
        x = pad(x, [0, 0, 0, 0, pads[0][0], pads[0][1]])
    kd, sd, dd = k[0], stride[0], dil[0]
    taps = [x[:, :, i * dd : i * dd + sd * (do - 1) + 1 : sd] for i in range(kd)]
    # (N, C, Kd, Do, H, W) -> (N*Do, C*Kd, H, W): channel c*Kd + i holds tap i of channel c,
    # so the C/groups*Kd channels of a group stay contiguous, matching the weight's reshape
    folded = stack(taps, 2).permute(0, 3, 1, 2, 4, 5).reshape(n * do, c * kd, h, w)
    o = weight.shape[0]
    w2 = weight.reshape(o, weight.shape[1] * kd, k[1], k[2])
    P = (stride[1:], pads[1] + pads[2], dil[1:], int(groups))
    out = Conv2dFn.apply(folded, w2, bias, P)
    out = out.reshape(n, do, o, outs[1], outs[2]).permute(0, 2, 1, 3, 4)
    return out.squeeze(0) if unbatched else out


def _spread_depth(y: Tensor, stride: int, left: int, right: int) -> Tensor:
    """y (N, D, C, H, W) -> its depth slices placed at left + t*stride (zeros between), with
    `right` zero slices after the last: one depth tap's share of a transposed conv."""
    n, d = y.shape[:2]
    if stride > 1 and d > 1:
        xp_ = get_array_module(y._data)
        zero = Tensor._make(xp_.zeros(y.shape, dtype=y.dtype), False, None, 0)
        y = stack([y] + [zero] * (stride - 1), 2).reshape(n, d * stride, *y.shape[2:])
        y = y[:, : (d - 1) * stride + 1]
    if left or right:
        y = pad(y, [0, 0, 0, 0, 0, 0, left, right])
    return y


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

    Each depth tap kd is a 2-D transposed convolution of every input depth slice with
    ``weight[:, :, kd]`` (depth folded into the batch), whose results land at output depths
    t*sd + kd*dd - pd; the taps' contributions are spread out (zeros between for a
    stride), shifted, summed and cropped.

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
    xs = input.permute(0, 2, 1, 3, 4).reshape(n * d, c, h, w)
    P = (stride[1:], (pads[1], pads[1], pads[2], pads[2]), dil[1:], int(groups))
    shape2 = (n * d, cout, outs[1], outs[2])
    full = (d - 1) * stride[0] + 1 + dil[0] * (k[0] - 1)
    extra = max(pads[0] + outs[0] - full, 0)  # output_padding past the last tap's reach
    total = None
    for kd in range(k[0]):
        y = ConvTranspose2dFn.apply(xs, weight[:, :, kd], shape2, P)
        y = y.reshape(n, d, cout, outs[1], outs[2])
        left = kd * dil[0]
        y = _spread_depth(y, stride[0], left, (k[0] - 1 - kd) * dil[0] + extra)
        total = y if total is None else total + y
    out = total[:, pads[0] : pads[0] + outs[0]].permute(0, 2, 1, 3, 4)
    if bias is not None:
        out = out + bias.reshape(1, cout, 1, 1, 1)
    return out.squeeze(0) if unbatched else out
