"""Initial weights drawn by PyTorch for programs that cannot offer the usual ``make_model`` hook.

The suite prints every program's ``make_model(torch_like)`` under both frameworks and compares
the text, with no way to mark a known difference as expected. A program whose model prints (or
is built) differently under chainrule because of a known gap therefore names its builder
something else and exposes ``init_state`` built with :func:`torch_state` instead; the gap is
recorded in its ``CHAINRULE_XFAIL``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import state_to_numpy

__all__ = ["torch_state"]


def torch_state(build: Callable[[Any], Any], dtype: str = "float64") -> dict[str, np.ndarray]:
    """``build(torch)``'s state dict as NumPy arrays, drawn with seed 0 in ``dtype`` (what the
    suite does for ``make_model``)."""
    import torch

    torch.manual_seed(0)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        return state_to_numpy(build(torch))
    finally:
        torch.set_default_dtype(prev)
