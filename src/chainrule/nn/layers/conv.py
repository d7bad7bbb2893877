"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d.

Parameters and their initialisation match PyTorch exactly: ``weight`` is
(out, in/groups, *k) for Conv and (in, out/groups, *k) for ConvTranspose, drawn from
kaiming_uniform(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
fan_in = weight.shape[1] * prod(k); ``bias`` from the same range.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ... import dtypes as _dt
from ...autograd.tensor import Tensor
from ...backend import is_meta_device
from ...creation_options import NegativeSizeError, _shape, refuse_negative_size
from ...meta import meta_empty
from ...ops.padding import pad
from .. import init
from ..functional import conv as Fc
from ..module import Module
from ..parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _as_tuple(v: Any, n: int) -> tuple:
    """PyTorch's ``_single``/``_pair``/``_triple``: an iterable becomes its tuple (any length,
    any elements: ``kernel_size=[2]`` is ``(2,)`` for a Conv2d too, ``stride=True`` is
    ``(True, True)``), anything else is repeated ``n`` times. The values are stored as given;
    the weight's ``empty()`` and the forward's parser refuse what PyTorch's refuse, when
    they do (construction or call)."""
    if isinstance(v, Iterable):
        return tuple(v)
    return (v,) * n


def _pad_spec(padding: Any, kernel_size: tuple, dilation: tuple) -> list | tuple:
    """F.pad widths (last dim first) for a padding_mode, as PyTorch's
    ``_reversed_padding_repeated_twice``: 'same' splits d (k - 1) as PyTorch does (the extra
    element on the right) and 'valid' is 0, in a list; a tuple padding gives each of its
    entries twice, reversed, as a tuple (its own length: a Conv1d given a 2-d kernel_size
    builds, and its forward refuses the mismatch)."""
    if isinstance(padding, str):
        spec = [0, 0] * len(kernel_size)
        if padding == "same":
            for d, k, i in zip(dilation, kernel_size, range(len(kernel_size) - 1, -1, -1)):
                total = d * (k - 1)
                spec[2 * i], spec[2 * i + 1] = total // 2, total - total // 2
        return spec
    return tuple(p for p in reversed(padding) for _ in range(2))


def _empty(shape: tuple, dtype: Any, device: Any) -> Parameter:
    if is_meta_device(device):  # device='meta' or the meta default device: no data
        arr = meta_empty(shape, _dt.as_dtype(dtype or _dt.get_default_dtype()))
        return Parameter(Tensor._make(arr, False, None, 0))
    arr = np.zeros(shape, dtype=dtype or _dt.get_default_dtype())
    return Parameter(Tensor._make(arr, False, None, 0))


class _ConvNd(Module):
    _nd = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        output_padding: Any = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        # PyTorch's checks, in its order and words (a transposed layer checks its mode first)
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        n = self._nd
        kernel_size, stride, dilation = (_as_tuple(v, n) for v in (kernel_size, stride, dilation))
        if self._transposed or not isinstance(padding, str):  # a transposed layer: a tuple
            padding = _as_tuple(padding, n)  # (of characters, for a string: as PyTorch's)
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}"
                )
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                f"padding_mode={padding_mode!r}"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation = dilation
        self.output_padding = _as_tuple(output_padding, n)
        if self._transposed:
            shape = (in_channels, out_channels // groups, *kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size)
        # PyTorch's empty(shape): its TypeErrors (a bool after the first size is read as an
        # int) and its negative-size RuntimeError; a zero or a non-positive stride or
        # dilation is refused by the forward (F.conv*), as PyTorch
        try:
            shape = _shape((shape,), "empty")
        except NegativeSizeError:
            refuse_negative_size(name, shape)  # the same error, naming the layer
            raise
        self.groups = groups
        self.transposed = self._transposed  # PyTorch's public attribute
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = _pad_spec(
            self.padding, self.kernel_size, self.dilation
        )
        self._dtype = dtype
        self.weight = _empty(shape, dtype, device)
        self.bias = _empty(_shape((out_channels,), "empty"), dtype, device) if bias else None
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        """kaiming_uniform_(a=sqrt(5)) for weight, U(+-1/sqrt(fan_in)) for bias (PyTorch)."""
        w = self.weight
        init.kaiming_uniform_(w, a=math.sqrt(5))  # its bound, rounded as PyTorch's
        if self.bias is not None:
            fan_in = w.shape[1] * int(np.prod(w.shape[2:]))
            if fan_in != 0:
                bound = 1.0 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        """PyTorch's: each tuple compared with the default of its own length."""
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"  # PyTorch prints padding=same unquoted
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _mode_padded(self, x: Tensor) -> tuple[Tensor, Any]:
        """(input, conv padding): a non-'zeros' padding_mode pads here and convolves unpadded."""
        if self.padding_mode == "zeros":
            return x, self.padding
        return pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode), 0


class _ConvForwardNd(_ConvNd):
    """Conv1d/Conv2d's constructor: PyTorch's signature, which has no ``output_padding`` (so
    that a positional ``device`` lands where PyTorch's does)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device=device,
            dtype=dtype,
        )


class _ConvTransposeNd(_ConvNd):
    """ConvTranspose1d/2d's constructor: PyTorch's argument order (``output_padding`` before
    ``groups``, ``dilation`` after ``bias``), so that positional arguments mean what they mean
    in PyTorch."""

    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            device,
            dtype,
        )


class Conv2d(_ConvForwardNd):
    """2-D convolution layer, like ``torch.nn.Conv2d``.

    Shape:
        input (N, C_in, H, W) or (C_in, H, W); output (N, C_out, H_out, W_out) with
        H_out = floor((H + 2 p - d (k - 1) - 1) / s) + 1.
    """

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:  # noqa: A002
        """The convolution with a given ``weight`` and ``bias`` (PyTorch's hook for subclasses:
        masked or weight-standardised convolutions pass a transformed weight here)."""
        x, padding = self._mode_padded(input)
        return Fc.conv2d(x, weight, bias, self.stride, padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_ConvForwardNd):
    """1-D convolution layer, like ``torch.nn.Conv1d``.

    Shape:
        input (N, C_in, L); output (N, C_out, L_out), L_out = floor((L + 2p - d(k-1) - 1)/s) + 1.
    """

    _nd = 1

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:  # noqa: A002
        """The convolution with a given ``weight`` and ``bias`` (see
        :meth:`Conv2d._conv_forward`)."""
        x, padding = self._mode_padded(input)
        return Fc.conv1d(x, weight, bias, self.stride, padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution ("deconvolution"), like ``torch.nn.ConvTranspose2d``.

    Shape:
        input (N, C_in, H, W); output (N, C_out, H_out, W_out) with
        H_out = (H - 1) s - 2 p + d (k - 1) + output_padding + 1. ``forward`` takes
        PyTorch's optional ``output_size`` (the spatial sizes, optionally with the batch and
        channel sizes in front), which picks the output_padding that reaches it.
    """

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:  # noqa: A002
        return Fc.conv_transpose2d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            _output_padding(self, input, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution, like ``torch.nn.ConvTranspose1d``.

    Shape:
        input (N, C_in, L); output (N, C_out, (L - 1) s - 2 p + d (k - 1) + output_padding + 1).
        ``forward`` takes PyTorch's optional ``output_size`` (as ``ConvTranspose2d``).
    """

    _nd = 1

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:  # noqa: A002
        return Fc.conv_transpose1d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            _output_padding(self, input, output_size),
            self.groups,
            self.dilation,
        )


def _output_padding(module: _ConvNd, x: Tensor, output_size: Any) -> tuple:
    """The output_padding that makes a transposed convolution reach ``output_size`` (PyTorch's
    ``_output_padding``): ``output_size`` lists the spatial sizes, optionally after the batch
    and channel sizes (the channel size only, for an unbatched input); each must lie in
    ``[lo, lo + stride - 1]`` with ``lo = (L - 1) s - 2 p + d (k - 1) + 1``, else ValueError."""
    if output_size is None:
        return module.output_padding
    nd = module._nd
    non_spatial = 2 if x.ndim == nd + 2 else 1
    sizes = [int(v) for v in output_size]
    if len(sizes) == non_spatial + nd:
        sizes = sizes[non_spatial:]
    if len(sizes) != nd:
        raise ValueError(
            f"ConvTranspose{nd}D: for {x.ndim}D input, output_size must have {nd} or "
            f"{non_spatial + nd} elements (got {len(output_size)})"
        )
    spatial = list(x.shape[x.ndim - nd :])
    lo = [
        (spatial[i] - 1) * module.stride[i]
        - 2 * module.padding[i]
        + module.dilation[i] * (module.kernel_size[i] - 1)
        + 1
        for i in range(nd)
    ]
    hi = [lo[i] + module.stride[i] - 1 for i in range(nd)]
    for i in range(nd):
        if not lo[i] <= sizes[i] <= hi[i]:
            raise ValueError(
                f"requested an output size of {sizes}, but valid sizes range from {lo} to "
                f"{hi} (for an input of {spatial})"
            )
    return tuple(sizes[i] - lo[i] for i in range(nd))
