"""The input check that the activations of ``nn.functional`` share.

Kept apart from ``activation_piecewise.py`` and ``activation_smooth.py`` (both import it)
so that neither family module imports the other.
"""

from __future__ import annotations

from ...autograd.tensor import Tensor
from ...ops._tensor_args import torch_type_name
from ...ops._util import DtypeError

__all__ = ["check_floating"]

_ATEN_NAMES = {"logsigmoid": "log_sigmoid"}  # the ATen function's name, where it differs
_NOT_PARSED = frozenset({"softsign", "glu"})  # composed in Python by PyTorch: no parser


def check_floating(x: object, op: str) -> None:
    """Refuse anything but a floating-point Tensor (bfloat16 included): a TypeError for a
    non-Tensor, a DtypeError otherwise. Integer and complex inputs that an activation does
    take (``hardtanh``, ``threshold``, ``silu``, ``softsign``) are routed before this."""
    if not isinstance(x, Tensor):
        if op in _NOT_PARSED:  # PyTorch's Python code fails on it (AttributeError)
            raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
        raise TypeError(  # PyTorch's parser of the ATen function
            f"{_ATEN_NAMES.get(op, op)}(): argument 'input' (position 1) must be Tensor, "
            f"not {torch_type_name(x)}"
        )
    if x.dtype.kind not in "fV":  # V: bfloat16 (its Functions run in float32)
        raise DtypeError(f"{op}: expected a floating-point tensor, got dtype {x.dtype}")
