"""``cr.backends.quantized``: the quantized engine (``torch.backends.quantized.engine``).

PyTorch's quantized ops run on an engine chosen here; ``'x86'`` (the default on x86 CPUs)
and ``'fbgemm'`` give the same results, and chainrule's quantized modules reproduce that
arithmetic bit for bit, so those two can be set. ``'qnnpack'`` and ``'onednn'`` round
differently and are not implemented: setting them raises NotImplementedError rather than
silently computing as x86. Any other name raises PyTorch's RuntimeError.
"""

from __future__ import annotations

import sys
import types

__all__ = ["engine", "supported_engines"]

_SUPPORTED = ["x86", "fbgemm"]
_TORCH_ENGINES = ("qnnpack", "onednn", "x86", "fbgemm", "none")

engine: str
supported_engines: list[str]


class _QuantizedModule(types.ModuleType):
    """This module, with ``engine`` checked when set (as PyTorch's property)."""

    _engine = "x86"

    @property
    def engine(self) -> str:
        return self._engine

    @engine.setter
    def engine(self, value: str) -> None:
        if value not in _TORCH_ENGINES:
            raise RuntimeError(f"{value} is not a valid value for quantized engine")
        if value not in _SUPPORTED:
            raise NotImplementedError(
                f"cr.backends.quantized.engine = {value!r}: chainrule computes quantized ops "
                "as PyTorch's x86/fbgemm engine only"
            )
        type(self)._engine = value

    @property
    def supported_engines(self) -> list[str]:
        return list(_SUPPORTED)


sys.modules[__name__].__class__ = _QuantizedModule
