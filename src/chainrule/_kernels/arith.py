"""Elementwise add, subtract and multiply of two same-shaped float arrays, cut into blocks
on chainrule's one compiled thread pool (:mod:`.pool_gemm`).

NumPy runs a ufunc on one core; chainrule's Python thread pool split large ones, but each
hand-off to its sleeping worker cost ~100 µs on the project's VMs, so only arrays from 4 MiB
were split and 1M-element add/mul stayed 1.5-1.7x PyTorch's time. The pool's threads spin
between kernels, so a launch costs a few µs. The results are NumPy's: IEEE single
operations, no fast-math, each element computed once.

Only the common case takes this path: two NumPy arrays of one float dtype, one shape and one
dense memory layout (a residual add, a gradient accumulated in the engine, a dropout mask
product). Broadcasting, scalars and mixed dtypes keep NumPy's ufuncs.
"""

from __future__ import annotations

import numpy as np

from . import jit

__all__ = ["ADD", "MUL", "SUB", "arith_blocks"]

ADD, SUB, MUL = 0, 1, 2
_UFUNCS = {ADD: np.add, SUB: np.subtract, MUL: np.multiply}


def _arith_numpy(a, b, out, op, chunks) -> None:  # noqa: ANN001 - the kernel's signature
    _UFUNCS[op](a, b, out=out)


@jit.inline
def _arith_body(a, b, out, op):  # pragma: no cover - inlined
    if op == 0:
        for i in range(a.size):
            out[i] = a[i] + b[i]
    elif op == 1:
        for i in range(a.size):
            out[i] = a[i] - b[i]
    else:
        for i in range(a.size):
            out[i] = a[i] * b[i]


@jit.kernel(fallback=_arith_numpy, parallel=True)
def arith_blocks(a, b, out, op, chunks):  # pragma: no cover - compiled by Numba
    """out = a (op) b for flat arrays of one dtype, cut into ``chunks`` blocks (one launch);
    ``op`` is :data:`ADD`, :data:`SUB` or :data:`MUL`."""
    for t in jit.prange(chunks):
        lo, hi = jit.block(a.size, t, chunks)
        _arith_body(a[lo:hi], b[lo:hi], out[lo:hi], op)
