"""Reusable scratch arrays for the convolution kernels, lent with explicit ownership.

Why: a ResNet step allocates the same multi-megabyte temporaries (im2col columns, padded
inputs) dozens of times; allocating them afresh costs page faults and, for the padded
inputs, a full ``np.zeros`` each time. A :class:`Workspace` keeps such buffers between
calls and lends each one to exactly one borrower at a time::

    with workspace().empty((c, n, h, w), np.float32) as buf:
        ...  # buf is yours until the block ends; no view of it may leave the block

The buffer leaves the free list when lent and goes back when the ``with`` block ends, so a
second borrower of the same kind while the first still holds it gets a new buffer: which
code owns a buffer is visible in the source, never guessed from reference counts.

Two kinds of loan:

* :meth:`Workspace.empty` - uninitialised memory from one growable block per thread
  (sized to the largest request seen), for temporaries that are written before read.
* :meth:`Workspace.bordered` - a zero-initialised buffer whose ``tag`` names the region
  every borrower overwrites completely; the rest (e.g. the zero padding around an image)
  is never written, so a returned buffer still holds its zeros and is not cleared again.

Requests below :data:`MIN_BYTES` and non-NumPy arrays (CuPy) are simply allocated.
Each thread has its own workspace (see :func:`workspace`), so intra-op worker threads
never share one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["MIN_BYTES", "CACHE_BYTES", "Workspace", "workspace"]

MIN_BYTES = 1 << 20  # smaller temporaries come from malloc's free lists cheaply
CACHE_BYTES = 64 << 20  # bordered buffers kept per thread (least recently used dropped)


def _nbytes(shape: tuple, dtype: np.dtype) -> int:
    n = dtype.itemsize
    for d in shape:
        n *= int(d)
    return n


class Workspace:
    """A per-thread pool of scratch arrays; each loan is a ``with`` block."""

    def __init__(self, cache_bytes: int = CACHE_BYTES) -> None:
        self.cache_bytes = cache_bytes
        self._block: np.ndarray | None = None  # the free uninitialised block, if any
        self._bordered: OrderedDict[tuple, np.ndarray] = OrderedDict()  # free ones only

    @contextmanager
    def empty(self, shape: tuple, dtype: Any, xp: Any = np) -> Iterator[Any]:
        """Lend an uninitialised array of ``shape``; it is returned when the block ends."""
        dtype = np.dtype(dtype)
        nbytes = _nbytes(shape, dtype)
        if xp is not np or nbytes < MIN_BYTES:
            yield xp.empty(shape, dtype)
            return
        block, self._block = self._block, None  # lent: a nested loan gets a new block
        if block is None or block.nbytes < nbytes:
            block = np.empty(nbytes, np.uint8)
        try:
            yield block[:nbytes].view(dtype).reshape(shape)
        finally:
            if self._block is None or self._block.nbytes < block.nbytes:
                self._block = block  # keep the larger of two concurrently lent blocks

    @contextmanager
    def bordered(self, tag: tuple, shape: tuple, dtype: Any, xp: Any = np) -> Iterator[Any]:
        """Lend a buffer that is zero wherever borrowers under ``tag`` never write.

        ``tag`` must identify the region a borrower overwrites on every loan (for a
        padded image: the padding and the image size); the zeros elsewhere persist.
        """
        dtype = np.dtype(dtype)
        shape = tuple(int(d) for d in shape)
        if xp is not np or _nbytes(shape, dtype) < MIN_BYTES:
            yield xp.zeros(shape, dtype)
            return
        key = (tag, shape, dtype.str)
        buf = self._bordered.pop(key, None)  # lent: a nested loan gets a new buffer
        if buf is None:
            buf = np.zeros(shape, dtype)
        try:
            yield buf
        finally:
            self._bordered[key] = buf
            self._trim()

    def _trim(self) -> None:
        total = sum(b.nbytes for b in self._bordered.values())
        while total > self.cache_bytes and len(self._bordered) > 1:
            _, old = self._bordered.popitem(last=False)
            total -= old.nbytes

    def clear(self) -> None:
        """Drop every free buffer (lent ones are unaffected and dropped on return)."""
        self._block = None
        self._bordered.clear()


_LOCAL = threading.local()


def workspace() -> Workspace:
    """This thread's workspace (created on first use)."""
    ws = getattr(_LOCAL, "ws", None)
    if ws is None:
        ws = _LOCAL.ws = Workspace()
    return ws
