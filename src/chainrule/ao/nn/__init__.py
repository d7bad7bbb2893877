"""``cr.ao.nn``: quantized modules (``quantized``), fused modules (``intrinsic``) and
quantization-aware training modules (``qat``, ``intrinsic.qat``)."""

from __future__ import annotations

from . import intrinsic, qat, quantized

__all__ = ["intrinsic", "qat", "quantized"]
