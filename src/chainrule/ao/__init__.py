"""``cr.ao`` (PyTorch's ``torch.ao``): quantization (``cr.ao.quantization``) and the
quantized and fused modules it produces (``cr.ao.nn``)."""

from __future__ import annotations

from . import nn, quantization

__all__ = ["nn", "quantization"]
