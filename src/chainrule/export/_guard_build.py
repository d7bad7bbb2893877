"""The checks and ranges an exported program gets from the layout of its inputs' dynamic
sizes (per input, the symbol or derived size of each dimension): the guards its module
runs on each call (see :mod:`._unlift`) and its ``range_constraints``. Used by ``export``
and by ``load`` (which rebuilds the layout from the archive)."""

from __future__ import annotations

import math
from typing import Any

from ._derived import linear_of
from ._unlift import Guard
from .dynamic_shapes import ValueRanges

__all__ = ["build_guards", "range_constraints"]


def build_guards(layout: list, values: list[Any]) -> list[Guard]:
    """The call checks: each static size; each dynamic size's range (a symbol's at its
    base place, a derived size's where it differs), and its relation to the base place of
    its root (the first place with the root itself, else its first place); Python
    constants. ``values``: the inputs' example values (a tensor or its shape as a tuple,
    or a constant)."""
    base: dict[int, tuple[int, int, int, int]] = {}
    for i, dims in enumerate(layout):
        for d, entry in enumerate(dims or []):
            if entry is not None and entry.alt is not None:
                root, c, o = linear_of(entry)
                if id(root) not in base or (c, o) == (1, 0) != base[id(root)][2:]:
                    base[id(root)] = (i, d, c, o)
    guards: list[Guard] = []
    for i, (dims, value) in enumerate(zip(layout, values, strict=True)):
        if dims is None:
            guards.append(("const", i, value))
            continue
        for d, entry in enumerate(dims):
            if entry is None or entry.alt is None:
                shape = value if isinstance(value, tuple) else value.shape
                guards.append(("static", i, d, int(shape[d])))
                continue
            root, c, o = linear_of(entry)
            bi, bd, bc, bo = base[id(root)]
            if (i, d) != (bi, bd):
                guards.append(
                    ("eq", i, d, bi, bd)
                    if (c, o) == (bc, bo)
                    else ("lin", i, d, bi, bd, c, o, bc, bo)
                )
                if (c, o) == (bc, bo):
                    continue  # the base place checks the range
            if entry.lo > 2:
                guards.append(("min", i, d, entry.lo))
            if entry.hi != math.inf:
                guards.append(("max", i, d, int(entry.hi)))
    return guards


def range_constraints(layout: list) -> dict[Any, ValueRanges]:
    """Symbol or derived size -> range, in order of first use (a root first used through
    a derived size comes right after it), as torch's. A root used only through derived
    sizes has its lower bound raised to 2 (``2*dx`` alone: ``dx`` in ``[2, int_oo]``), as
    torch's; the derived sizes keep the root's ``min`` mapped through them."""
    ranges: dict[Any, ValueRanges] = {}
    direct: set[int] = set()
    for dims in layout:
        for entry in dims or []:
            if entry is not None and entry.alt is not None:
                ranges.setdefault(entry, ValueRanges(entry.lo, entry.hi))
                root = linear_of(entry)[0]
                ranges.setdefault(root, ValueRanges(root.lo, root.hi))
                if root is entry:
                    direct.add(id(root))
    for key, vr in ranges.items():
        if linear_of(key)[0] is key and id(key) not in direct:
            vr.lower = max(vr.lower, 2)
    return ranges
