"""Linear-algebra functions that read their arguments' raw arrays (LAPACK-style kernels in
NumPy: pivots, info codes, triangular solves) run once per sample under ``cr.func.vmap``.

A batched tensor's raw array is a per-sample ``LogicalArray`` that refuses such work, so
these functions (``linalg.lu_factor``, ``linalg.eig``, ``linalg.ldl_factor``,
``cholesky_solve``, ...) would fail inside vmap where PyTorch has a batching rule. Each is
wrapped by :func:`per_sample_under_vmap`: while a vmap is active and an argument is batched,
the whole function runs once per sample of the innermost level (``func._per_sample``,
PyTorch's fallback; slices are views, so ``vmap(grad(...))`` reaches the physical tensors)
and the results are stacked. Outside vmap the wrapper costs one attribute read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..autograd.state import LOCAL

__all__ = ["per_sample_under_vmap"]


def per_sample_under_vmap(fn: Callable) -> Callable:
    """``fn``, run once per sample (results stacked) when called inside ``cr.func.vmap``
    with a batched argument; unchanged otherwise."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if LOCAL.state.vmap:
            from ..func._per_sample import per_sample  # noqa: PLC0415 - in here: func imports linalg

            res = per_sample(wrapper, *args, **kwargs)  # (a sample batched at outer levels
            if res is not NotImplemented:  # comes back here, one level peeled each time)
                return res
        return fn(*args, **kwargs)

    return wrapper
