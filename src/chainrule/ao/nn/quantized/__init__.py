"""``cr.ao.nn.quantized`` (also ``cr.nn.quantized``): quantized modules. Only the dynamic
ones (``dynamic.Linear``) are implemented."""

from __future__ import annotations

from . import dynamic
from .linear_packed_params import LinearPackedParams

__all__ = ["LinearPackedParams", "dynamic"]
