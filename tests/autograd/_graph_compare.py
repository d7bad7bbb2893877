"""Shared helpers of the live graph-name comparisons with PyTorch (sessions 34 onwards).

``describe`` walks a ``grad_fn`` along ``next_functions`` and returns, for every node, its
name, its declared ``_saved_*`` values (tensors by shape and dtype, numbers as they are) and
the inputs it lists, so that two graphs compare with ``==``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["describe", "float64_leaves", "jvp_tangents", "names", "real_part", "to_numpy", "value"]


def value(v: Any, lib: Any) -> Any:
    """A saved value as compared: a tensor by (shape, dtype name), sequences elementwise."""
    if isinstance(v, lib.Tensor):
        return ("tensor", tuple(v.shape), str(v.dtype).rpartition(".")[2])
    if isinstance(v, (tuple, list)):
        return tuple(value(e, lib) for e in v)
    return v


def describe(fn: Any, lib: Any) -> Any:
    """(name, {_saved_*: value}, listed inputs described), recursively."""
    if fn is None:
        return None
    saved = {k: value(getattr(fn, k), lib) for k in sorted(dir(fn)) if k.startswith("_saved_")}
    return fn.name(), saved, tuple((describe(n, lib), i) for n, i in fn.next_functions)


def names(fn: Any) -> Any:
    """The node names only, recursively along ``next_functions``."""
    if fn is None:
        return None
    return fn.name(), tuple(names(n) for n, _ in fn.next_functions)


def real_part(y: Any) -> Any:
    """``y`` itself, or its absolute value where it is complex (a real loss to differentiate)."""
    return y.abs() if y.is_complex() else y


def to_numpy(g: Any) -> Any:
    """A gradient as a NumPy array (None stays None)."""
    return None if g is None else np.asarray((g.detach() + 0).tolist())


def float64_leaves(lib: Any, arrays: Any) -> list:
    """``arrays`` as float64 leaves of ``lib`` (torch or chainrule) that require grad."""
    return [
        lib.tensor(np.ascontiguousarray(a), dtype=lib.float64, requires_grad=True) for a in arrays
    ]


def jvp_tangents(fn: Any, arrays: Any, libs: Any) -> list:
    """For each of ``libs``, the forward-mode tangent of ``fn(lib, *inputs)`` at ``arrays``
    (float64), input i's tangent all ``0.3 - 0.1 i``: the same directions in both libraries."""
    outs = []
    for lib in libs:
        xs = [x.detach() for x in float64_leaves(lib, arrays)]
        tangents = tuple(lib.ones_like(x) * (0.3 - 0.1 * i) for i, x in enumerate(xs))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, tan = lib.func.jvp(lambda *a, lib=lib: fn(lib, *a), tuple(xs), tangents)
        outs.append(tan.numpy())
    return outs
