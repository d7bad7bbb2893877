"""``torch.nn.modules.container`` path: re-exports chainrule's containers."""

from __future__ import annotations

from ..layers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential"]
