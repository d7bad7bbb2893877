"""``Variable``: the pre-0.4 PyTorch wrapper, kept because old tutorials still call it.

Since PyTorch 0.4 a Variable is just a Tensor: ``Variable(t, requires_grad=True)`` returns a
new leaf tensor that shares ``t``'s memory, cut from any graph, with ``requires_grad`` set.
"""

from __future__ import annotations

import warnings
from typing import Any

from .tensor import Tensor

__all__ = ["Variable"]


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802 - PyTorch's name
    """A leaf tensor sharing ``data``'s memory with ``requires_grad`` set (PyTorch's
    ``torch.autograd.Variable``). ``volatile=True`` warns and does nothing, as in PyTorch:
    use ``cr.no_grad()`` instead."""
    if volatile:
        warnings.warn(
            "volatile was removed and now has no effect. Use `with cr.no_grad():` instead.",
            UserWarning,
            stacklevel=2,
        )
    if not isinstance(data, Tensor):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    leaf = data.detach()
    leaf.requires_grad_(bool(requires_grad))  # PyTorch's Variable takes any truthy flag
    return leaf
