"""The shape family, gathered in one import path (``ops.shape``) for the rest of the package:

- ``views.py``: views and broadcasting (reshape, view, permute, transpose, expand, sum_to, ...),
- ``joining.py``: cat, stack, split, chunk, unbind,
- ``rearranging.py``: copies that move elements (flip, roll, repeat, tile),
- ``layout.py``: ``contiguous``; ``padding.py``: ``pad``.

New shape ops go in the file of their kind, with a name added here.
"""

from __future__ import annotations

from .joining import Cat, cat, chunk, concatenate, split, stack, unbind
from .layout import Contiguous, contiguous
from .padding import Pad, pad
from .permutations import Permute, movedim, permute, swapaxes, t, transpose
from .rearranging import Copy, Flip, Roll, flip, repeat, roll, tile
from .views import (
    BroadcastTo,
    Reshape,
    SumTo,
    broadcast_to,
    expand,
    expand_as,
    flatten,
    reshape,
    squeeze,
    sum_to,
    unflatten,
    unsqueeze,
    view,
    view_as,
)

__all__ = [
    "BroadcastTo",
    "Cat",
    "Contiguous",
    "Copy",
    "Flip",
    "Pad",
    "Permute",
    "Reshape",
    "Roll",
    "SumTo",
    "broadcast_to",
    "cat",
    "chunk",
    "concatenate",
    "contiguous",
    "expand",
    "expand_as",
    "flatten",
    "flip",
    "movedim",
    "pad",
    "permute",
    "repeat",
    "reshape",
    "roll",
    "split",
    "squeeze",
    "stack",
    "sum_to",
    "swapaxes",
    "t",
    "tile",
    "transpose",
    "unbind",
    "unflatten",
    "unsqueeze",
    "view",
    "view_as",
]
