"""Dim-wise ops of the indexing fuzzer's ``dim`` mode added in session 38: ``index_reduce_``
(``prod``/``mean``/``amax``/``amin``, ``include_self`` from the seed, positions repeated),
``masked_scatter_`` (a mask broadcasting to ``x``, a source of ``x``'s shape: enough
elements for any mask) and ``scatter_`` of a Python number (a gather-shaped index; repeated
positions write the same number, so there is one answer), written into a clone.

:func:`draw_dim_s38` draws a case of one of :data:`DIM_OPS_S38` (called by
:func:`~.case_draw._draw_dim`); :func:`dim_op_s38` runs it (called by
:func:`~.case_observe._dim_op`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .case_data import Case

__all__ = ["DIM_OPS_S38", "NO_FORWARD_S38", "dim_op_s38", "draw_dim_s38"]

DIM_OPS_S38 = ("index_reduce_", "masked_scatter_", "scatter_val_")
# torch 2.13 has no forward-mode formula for index_reduce_ (NotImplementedError "Trying to use
# forward AD with index_reduce_ ... not implemented yet"); chainrule has one. Its tangents
# are not compared (steered around in case_observe)
NO_FORWARD_S38 = ("index_reduce_",)


def _ints(rng: np.random.Generator, shape: tuple, size: int, oob: float) -> list:
    """Positions in ``[0, size)`` (negative ones too), out of range with probability ``oob``."""
    n = math.prod(shape)
    vals = rng.integers(-size, size, n) if size else rng.integers(-1, 2, n)
    out = [int(v) for v in vals]
    return [v + 3 * max(size, 1) if rng.random() < oob else v for v in out]


def draw_dim_s38(
    rng: np.random.Generator, op: str, shape: tuple, dtype: str, layout: int, seed: int
) -> Case:
    """A ``dim``-mode case of ``op`` (one of :data:`DIM_OPS_S38`) on a leaf of ``shape``."""
    nd = len(shape)
    d = int(rng.integers(-max(nd, 1), max(nd, 1)))
    size = shape[d] if nd else 1
    if op == "index_reduce_":
        k = int(rng.integers(0, 4))
        vals = _ints(rng, (k,), size, 0.05)
        src = tuple(k if i == d % nd else n for i, n in enumerate(shape)) if nd else ()
        if not nd:
            vals = vals[:1] or [0]  # a 0-d x takes one position
        index: tuple = (("t", (len(vals),), tuple(vals), "int64"),)
        value: tuple = ("tensor", src, dtype, False)
    elif op == "masked_scatter_":
        s = tuple(n if rng.random() < 0.7 else 1 for n in shape)
        s = s[int(rng.integers(0, nd + 1)) :] if nd else ()
        mask = tuple(bool(b) for b in rng.random(math.prod(s)) < 0.5)
        index = (("m", s, mask),)
        value = ("tensor", shape, dtype, False)
    else:
        s = tuple(int(rng.integers(1, n + 1)) if n else 0 for n in shape)
        vals = [v % size if size and rng.random() < 0.95 else v for v in
                _ints(rng, s, size, 0.05)]  # fmt: skip
        index = (("t", s, tuple(vals), "int64"),)
        if dtype == "bool":
            value = ("scalar", True)
        else:
            value = ("scalar", float(rng.choice([1.5, -0.25])) if dtype != "int64" else 2)
    return Case(shape, dtype, layout, "dim", index, True, value, (("i", d),), False, op, seed)


def dim_op_s38(lib: Any, case: Case, x: Any, t: Any, d: int, v: Any) -> Any:
    """Run ``case.op`` (one of :data:`DIM_OPS_S38`) on a clone of ``x``."""
    if case.op == "index_reduce_":
        how = ("prod", "mean", "amax", "amin")[case.seed % 4]
        return x.clone().index_reduce_(d, t, v, how, include_self=case.seed // 4 % 2 == 0)
    if case.op == "masked_scatter_":
        return x.clone().masked_scatter_(t, v)
    return x.clone().scatter_(d, t, v)
