"""``cr.ao.nn``: quantized modules (``quantized``) and fused modules (``intrinsic``)."""

from __future__ import annotations

from . import intrinsic, quantized

__all__ = ["intrinsic", "quantized"]
