"""``chainrule._C._nn`` (``torch._C._nn``): the ``nn.functional`` functions that torch
binds straight from its C extension (``F.linear``, ``F.gelu``, ``F.one_hot``,
``F.scaled_dot_product_attention``, ...), here the very objects of
``chainrule.nn.functional.<name>``, looked up there on each access.

torch.fx prints a traced call of one of these by its defining module
(``torch._C._nn.gelu(x)``, not ``torch.nn.functional.gelu(x)``); ``cr.fx`` prints
``chainrule._C._nn.gelu(x)`` for the same call, which this module makes resolvable
(``fx/node.py``'s ``_qualified_name`` reads ``__all__``). Only the names torch 2.13's
``torch.nn.functional`` exposes are here (torch's ``_C._nn`` holds many more ATen ops).
"""

# ruff: noqa: F822 (the names of __all__ are resolved by the module __getattr__ below)
from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "avg_pool2d",
    "avg_pool3d",
    "elu_",
    "gelu",
    "hardtanh_",
    "leaky_relu_",
    "linear",
    "log_sigmoid",
    "one_hot",
    "scaled_dot_product_attention",
    "softplus",
    "softshrink",
]


# the functional's name where torch's C name differs (``F.logsigmoid`` is ``log_sigmoid``)
F_NAMES = {"log_sigmoid": "logsigmoid"}
C_NAMES = {f: c for c, f in F_NAMES.items()}


def __getattr__(name: str) -> Any:
    """``chainrule.nn.functional.<name>`` for a name of ``__all__``."""
    if name in __all__:
        return getattr(importlib.import_module("chainrule.nn.functional"), F_NAMES.get(name, name))
    raise AttributeError(f"module 'chainrule._C._nn' has no attribute '{name}'")
