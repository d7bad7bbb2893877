"""3-D convolution layers: Conv3d and ConvTranspose3d (video and volumetric models).

Shares :class:`~chainrule.nn.layers.conv._ConvNd` with Conv1d/Conv2d, so the constructor
checks, PyTorch's initialisation (kaiming_uniform(a=sqrt(5)) and the matching bias
range), parameter names and shapes ((out, in/groups, kd, kh, kw); (in, out/groups, kd, kh,
kw) when transposed), padding modes and extra_repr are the same code; the forwards are
:mod:`chainrule.nn.functional.conv3d`'s.
"""

from __future__ import annotations

from typing import Any

from ...autograd.tensor import Tensor
from ..functional.conv3d import conv3d, conv_transpose3d
from .conv import _ConvForwardNd, _ConvTransposeNd

__all__ = ["Conv3d", "ConvTranspose3d"]


class Conv3d(_ConvForwardNd):
    """3-D convolution layer, like ``torch.nn.Conv3d``.

    Shape:
        input (N, C_in, D, H, W) or (C_in, D, H, W); output (N, C_out, D_out, H_out, W_out)
        with D_out = floor((D + 2 p - d (k - 1) - 1) / s) + 1 (likewise H_out, W_out).
    """

    _nd = 3

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:  # noqa: A002
        """The convolution with a given ``weight`` and ``bias`` (PyTorch's hook for subclasses,
        as :meth:`~chainrule.nn.Conv2d._conv_forward`)."""
        x, padding = self._mode_padded(input)
        return conv3d(x, weight, bias, self.stride, padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-D convolution, like ``torch.nn.ConvTranspose3d``.

    Shape:
        input (N, C_in, D, H, W) or (C_in, D, H, W); output (N, C_out, D_out, H_out, W_out)
        with D_out = (D - 1) s - 2 p + d (k - 1) + output_padding + 1. ``forward`` takes
        PyTorch's optional ``output_size`` (the spatial sizes, optionally with N and C in
        front), which picks the output_padding that reaches it.
    """

    _nd = 3

    def _output_padding(self, x: Tensor, output_size: Any) -> tuple:
        if output_size is None:
            return self.output_padding
        sizes = [int(v) for v in output_size]
        if len(sizes) == 5:
            sizes = sizes[2:]
        if len(sizes) != 3:
            raise ValueError(
                f"ConvTranspose3d: output_size must have 3 or 5 elements (got {len(sizes)})"
            )
        out = []
        for i, want in enumerate(sizes):
            lo = (
                (x.shape[x.ndim - 3 + i] - 1) * self.stride[i]
                - 2 * self.padding[i]
                + self.dilation[i] * (self.kernel_size[i] - 1)
                + 1
            )
            hi = lo + self.stride[i] - 1
            if not lo <= want <= hi:
                raise ValueError(
                    f"ConvTranspose3d: requested an output size of {sizes}, but valid sizes "
                    f"range from {lo} to {hi} along axis {i} (for an input of "
                    f"{list(x.shape[-3:])})"
                )
            out.append(want - lo)
        return tuple(out)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        return conv_transpose3d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )
