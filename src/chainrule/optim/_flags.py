"""Checks of torch.optim's implementation-selection flags that chainrule cannot honour.

PyTorch optimizers take ``foreach`` (multi-tensor kernels), ``capturable`` (CUDA graphs) and
``differentiable`` (autograd through ``step``). chainrule has one implementation: a
per-parameter loop over arrays, which is PyTorch's ``foreach=False`` path and what
``foreach=None`` selects for CPU tensors. So ``foreach`` None/False are honoured exactly;
``foreach=True``, ``capturable=True`` and ``differentiable=True`` ask for something chainrule
does not have and raise ``NotImplementedError`` naming the flag (never accepted and ignored).
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_flags"]


def check_flags(name: str, group: dict[str, Any]) -> None:
    """Raise NotImplementedError if ``group`` asks for an implementation chainrule lacks."""
    if group.get("foreach"):
        raise NotImplementedError(
            f"{name}: foreach=True (the multi-tensor implementation) is not supported; "
            "chainrule runs the single-tensor loop, which foreach=None or False selects"
        )
    if group.get("capturable"):
        raise NotImplementedError(
            f"{name}: capturable=True (CUDA graph capture) is not supported; pass False"
        )
    if group.get("differentiable"):
        raise NotImplementedError(
            f"{name}: differentiable=True (autograd through step()) is not supported; pass False"
        )
