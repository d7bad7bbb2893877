"""PyTorch's ``_saved_*`` arguments of the 2-d pooling nodes (``pooling.py``): a size
argument as its node shows it, and ``avg_pool2d``'s ``AvgPool2DBackward0`` fields."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.saved_fields import given_value  # grad_fn._saved_*

__all__ = ["AVG_POOL_FIELDS", "as_given_pair"]


# grad_fn._saved_* of avg_pool2d's AvgPool2DBackward0 as PyTorch's (saved_fields.py)
AVG_POOL_FIELDS = {
    "ceil_mode": lambda n: given_value(n, "ceil_mode", False),
    "count_include_pad": lambda n: given_value(n, "count_include_pad", True),
    "divisor_override": lambda n: given_value(n, "divisor_override"),
    "kernel_size": lambda n: n.P[0],
    "padding": lambda n: n.P[2],
    "self": 1,
    "stride": lambda n: as_given_pair(given_value(n, "stride"), ()),
}


def as_given_pair(v: Any, default: tuple) -> tuple:
    """A size argument as PyTorch's node shows it: an int as a pair, a sequence as given."""
    if v is None:
        return default
    if isinstance(v, (int, np.integer)) or getattr(v, "ndim", None) == 0:
        return (int(v), int(v))
    return tuple(int(e) for e in v)
