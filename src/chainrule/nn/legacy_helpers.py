"""Two small pieces of ``torch.nn``'s surface that old and library code still reach for:
``nn.Container`` (the deprecated ancestor of ``Module``) and ``nn.factory_kwargs`` (the helper
that gathers ``device``/``dtype``/``memory_format`` for a layer's constructor)."""

from __future__ import annotations

import warnings
from typing import Any

from .module import Module

__all__ = ["Container", "factory_kwargs"]

_FACTORY_KEYS = ("device", "dtype", "memory_format")


class Container(Module):
    """PyTorch's deprecated ``nn.Container``: a Module whose keyword arguments become its
    children, in order. Creating one warns (FutureWarning), as in PyTorch: subclass
    ``Module`` instead."""

    def __init__(self, **kwargs: Any) -> None:
        warnings.warn(
            "`nn.Container` is deprecated. All of its functionality is now implemented in "
            "`nn.Module`. Subclass that instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__()
        for name, module in kwargs.items():
            self.add_module(name, module)


def factory_kwargs(kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """The ``device``/``dtype``/``memory_format`` entries of ``kwargs`` as one dict, merged
    with a nested ``kwargs["factory_kwargs"]`` dict (passed through as given). A key outside
    those three raises TypeError, and a key given both ways raises TypeError, as in PyTorch."""
    if not kwargs:
        return {}
    unexpected = set(kwargs) - {*_FACTORY_KEYS, "factory_kwargs"}
    if unexpected:
        raise TypeError(f"unexpected kwargs {unexpected}")
    merged = dict(kwargs.get("factory_kwargs") or {})
    for key in _FACTORY_KEYS:
        if key in kwargs:
            if key in merged:
                raise TypeError(f"{key} specified twice, in **kwargs and in factory_kwargs")
            merged[key] = kwargs[key]
    return merged
