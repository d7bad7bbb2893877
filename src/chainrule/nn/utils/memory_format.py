"""``convert_conv2d_weight_memory_format`` / ``convert_conv3d_weight_memory_format``.

PyTorch re-lays out convolution weights in memory (``torch.channels_last``) so that cuDNN
picks faster kernels. chainrule mirrors the layout (``ops/memory_format.py``): every
Conv2d/ConvTranspose2d (Conv3d/ConvTranspose3d) weight under the module gets its values in
the memory order ``memory_format`` names, in place of the old array; other parameters and the
biases are left as they are, as in PyTorch.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ...ops.memory_format import preserve_format, relayout_array
from ..module import Module

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]

_M = TypeVar("_M", bound=Module)


def _convert(op: str, module: Any, memory_format: Any, dims: int) -> Any:
    # in here: nn.layers imports nn.utils (rnn), which imports this module
    from ..layers.conv import Conv2d, ConvTranspose2d
    from ..layers.conv3d import Conv3d, ConvTranspose3d

    kinds = (Conv2d, ConvTranspose2d) if dims == 2 else (Conv3d, ConvTranspose3d)
    if not isinstance(module, Module):
        raise TypeError(f"{op}: expected an nn.Module, got {type(module).__name__}")
    if memory_format is preserve_format:  # PyTorch's conversion rejects it too
        raise RuntimeError(f"{op}: Unsupported memory format preserve_format")
    for m in module.modules():
        if isinstance(m, kinds) and m.weight is not None:
            m.weight._data = relayout_array(m.weight._data, memory_format, op)
            m.weight._vc[0] += 1
    return module


def convert_conv2d_weight_memory_format(module: _M, memory_format: Any) -> _M:
    """Give every Conv2d/ConvTranspose2d weight under ``module`` the memory order
    ``memory_format`` (``cr.channels_last``, ``cr.contiguous_format``); returns ``module``."""
    return _convert("convert_conv2d_weight_memory_format", module, memory_format, 2)


def convert_conv3d_weight_memory_format(module: _M, memory_format: Any) -> _M:
    """Give every Conv3d/ConvTranspose3d weight under ``module`` the memory order
    ``memory_format`` (``cr.channels_last_3d``, ...); returns ``module``."""
    return _convert("convert_conv3d_weight_memory_format", module, memory_format, 3)
