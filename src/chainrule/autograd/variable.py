"""``Variable``: the pre-0.4 PyTorch wrapper, kept because old tutorials still call it.

Since PyTorch 0.4 a Variable is just a Tensor: ``Variable(t, requires_grad=True)`` returns a
new leaf tensor that shares ``t``'s memory, cut from any graph, with ``requires_grad`` set.
"""

from __future__ import annotations

import warnings
from typing import Any

from .tensor import Tensor

__all__ = ["Variable"]


class _VariableMeta(type):
    """``isinstance(t, Variable)`` is ``isinstance(t, Tensor)``, as in PyTorch (legacy code
    writes ``if isinstance(x, Variable): x = x.data``)."""

    def __instancecheck__(cls, other: Any) -> bool:
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):  # noqa: N801 - PyTorch's name
    """A leaf tensor sharing ``data``'s memory with ``requires_grad`` set (PyTorch's
    ``torch.autograd.Variable``; calling it returns a Tensor, and every Tensor is an instance of
    it). ``volatile=True`` warns and does nothing, as in PyTorch: use ``cr.no_grad()`` instead;
    ``Variable()`` is an empty tensor."""

    def __new__(  # type: ignore[misc]
        cls,
        data: Any = None,
        requires_grad: bool = False,
        volatile: bool = False,
        _grad_fn: Any = None,
        name: str | None = None,
    ) -> Tensor:
        if volatile:
            warnings.warn(
                "volatile was removed and now has no effect. Use `with cr.no_grad():` instead.",
                UserWarning,
                stacklevel=2,
            )
            if requires_grad:
                raise ValueError("Variable can't be volatile and require_grad at the same time!")
        if _grad_fn is not None:
            raise NotImplementedError("Variable: the legacy _grad_fn argument is not supported")
        if requires_grad is None:
            raise TypeError("Variable: requires_grad must be a bool, got None")
        if data is None:
            from ..creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        leaf = data.detach()
        leaf.requires_grad_(bool(requires_grad))  # PyTorch's Variable takes any truthy flag
        return leaf
