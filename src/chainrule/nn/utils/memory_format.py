"""``convert_conv2d_weight_memory_format`` / ``convert_conv3d_weight_memory_format``.

PyTorch re-lays out convolution weights in memory (``torch.channels_last``) so that cuDNN
picks faster kernels. chainrule arrays have one layout (C-contiguous, NCHW order) and no
memory-format objects, so there is no layout to convert to: both functions raise
``NotImplementedError`` naming ``memory_format`` rather than accept and ignore it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..module import Module

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]

_M = TypeVar("_M", bound=Module)


def _unsupported(op: str, module: Any, memory_format: Any) -> None:
    if not isinstance(module, Module):
        raise TypeError(f"{op}: expected an nn.Module, got {type(module).__name__}")
    raise NotImplementedError(
        f"{op}: memory_format={memory_format!r} is not supported: chainrule keeps every "
        "array in one layout (contiguous, channels-first) and has no memory formats"
    )


def convert_conv2d_weight_memory_format(module: _M, memory_format: Any) -> _M:
    """PyTorch: give every Conv2d/ConvTranspose2d weight under ``module`` the memory layout
    ``memory_format``. chainrule: raises NotImplementedError (see the module docstring)."""
    _unsupported("convert_conv2d_weight_memory_format", module, memory_format)
    return module


def convert_conv3d_weight_memory_format(module: _M, memory_format: Any) -> _M:
    """PyTorch: give every Conv3d/ConvTranspose3d weight under ``module`` the memory layout
    ``memory_format``. chainrule: raises NotImplementedError (see the module docstring)."""
    _unsupported("convert_conv3d_weight_memory_format", module, memory_format)
    return module
