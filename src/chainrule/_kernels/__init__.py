"""Compiled (Numba) kernels with pure-NumPy fallbacks for chainrule's hot elementwise paths.

See :mod:`chainrule._kernels.jit` for how a kernel is written and which path runs
(``backend()``: ``"numba"`` when ``numba`` is installed and ``CHAINRULE_NUMBA`` is not ``0``,
else ``"numpy"``). Install the fast path with ``pip install chainrule[fast]``.
"""

from __future__ import annotations

from .jit import (
    MIN_PARALLEL_SIZE,
    Kernel,
    backend,
    eligible,
    kernel,
    numba_available,
    registry,
    set_backend,
    sync_threads,
    use_backend,
)

__all__ = [
    "MIN_PARALLEL_SIZE",
    "Kernel",
    "backend",
    "eligible",
    "kernel",
    "numba_available",
    "registry",
    "set_backend",
    "sync_threads",
    "use_backend",
]
