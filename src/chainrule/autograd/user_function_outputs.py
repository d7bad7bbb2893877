"""What a user ``autograd.Function``'s forward hands back and keeps, checked as PyTorch does:
outputs that are not Tensors (numbers, strings, None) pass through as they are with a None
gradient, and ``save_for_backward`` takes Tensors and None only."""

from __future__ import annotations

import numpy as np

from .tensor import Tensor

__all__ = ["check_user_saved", "pass_non_tensors"]


def pass_non_tensors(out: tuple) -> tuple:
    """A user Function's tuple of outputs with each non-Tensor (a number, a string, None)
    replaced by a placeholder array, and those objects by position (None if there are none):
    PyTorch returns them as they are, and the backward receives None as their gradient."""
    passed = {i: o for i, o in enumerate(out) if not isinstance(o, Tensor)}
    if not passed:
        return out, None
    return tuple(np.zeros((), bool) if i in passed else o for i, o in enumerate(out)), passed


def check_user_saved(saved: tuple) -> None:
    """A user Function's ``save_for_backward`` takes Tensors and None only (PyTorch's
    TypeError; anything else belongs on ``ctx`` as an attribute)."""
    for i, v in enumerate(saved):
        if v is not None and not isinstance(v, Tensor):
            raise TypeError(
                f"save_for_backward can only save variables, but argument {i} is of type "
                f"{type(v).__name__}"
            )
