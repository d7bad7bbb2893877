"""``cr.ao.nn.qat`` (also ``cr.nn.qat``): layers for quantization-aware training, the
float layers with their weight passed through a fake quantizer (``weight_fake_quant``,
built by ``qconfig.weight()``) at every forward. ``prepare_qat`` swaps them in;
``convert`` turns them into the quantized layers."""

from __future__ import annotations

from .modules import Conv1d, Conv2d, Conv3d, Linear

__all__ = ["Conv1d", "Conv2d", "Conv3d", "Linear"]
