"""``chainrule.functional`` (``torch.functional``): the root functions torch writes in
Python in ``torch/functional.py`` (``einsum``, ``split``, ``norm``, ...), here the very
objects of ``chainrule.<name>``, looked up there on each access (the root may rebind a name
while it loads, so a copy taken at import could go stale).

torch.fx prints a traced call of one of these by its defining module
(``torch.functional.einsum(...)``, not ``torch.einsum(...)``); ``cr.fx`` prints
``chainrule.functional.einsum(...)`` for the same call, which this module makes resolvable
(``fx/node.py``'s ``_qualified_name`` reads ``_PRINTED_HERE``).
"""

# ruff: noqa: F822 (the names of __all__ are resolved by the module __getattr__ below)
from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "broadcast_shapes",
    "broadcast_tensors",
    "cartesian_prod",
    "block_diag",
    "cdist",
    "chain_matmul",
    "einsum",
    "istft",
    "lu",
    "norm",
    "meshgrid",
    "pca_lowrank",
    "split",
    "stft",
    "svd_lowrank",
    "tensordot",
    "unique",
    "unique_consecutive",
    "unravel_index",
]

# The names whose torch function is defined in torch/functional.py (``__module__ ==
# "torch.functional"``), which torch.fx prints as ``torch.functional.<name>``; ``istft`` is
# a C++ binding (printed ``torch.istft``) and the low-rank ones are ``torch._lowrank``'s.
_PRINTED_HERE = frozenset(__all__) - {"istft", "pca_lowrank", "svd_lowrank"}


def __getattr__(name: str) -> Any:
    """``chainrule.<name>`` for a name of ``__all__``."""
    if name in __all__:
        return getattr(importlib.import_module("chainrule"), name)
    raise AttributeError(f"module 'chainrule.functional' has no attribute '{name}'")
