"""``allow_mutation_on_saved_tensors()``: modify tensors in place after they were saved for
backward, and still get the gradient of the values the forward computed with.

Normally an in-place change to a tensor some node saved makes that node's backward raise
("modified by an inplace operation"). Inside this context manager every value a recorded op
saves is kept as a private copy taken when it is saved, through a ``saved_tensors_hooks``
pair: the backward reads the copy, so later in-place changes neither raise nor alter the
gradient, as in PyTorch.

PyTorch copies a saved tensor lazily, when an in-place op is about to modify it (it watches
every op in the block). chainrule copies when the value is saved: the gradients are the same;
the memory held by the graph recorded inside the block is larger (one copy of each saved
value, also of those never modified). As in PyTorch: the graph must be recorded and run
backward inside the same block (a backward after the block raises ``AssertionError``), the
blocks do not nest (``RuntimeError``, across threads too), and a ``saved_tensors_hooks``
pair entered inside the block replaces this one for what is saved there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .saved_hooks import saved_tensors_hooks
from .tensor import Tensor

__all__ = ["allow_mutation_on_saved_tensors"]

_lock = threading.Lock()
_active: list = []  # the one block open in the process, if any


class _AllowMutationOnSavedContext:
    """The state of one ``allow_mutation_on_saved_tensors`` block (what it yields, for
    debugging, as PyTorch's): whether the block is still open and how many saved values it
    has copied."""

    def __init__(self) -> None:
        self.open = True
        self.copies = 0

    def pack(self, tensor: Tensor) -> tuple:
        """Keep a private copy of the value being saved (in the same memory layout)."""
        self.copies += 1
        return self, Tensor._make(tensor._data.copy(order="K"), False, None, 0)

    @staticmethod
    def unpack(packed: tuple) -> Tensor:
        """The copy, while the block that saved it is open."""
        state, copy = packed
        if not state.open:
            raise AssertionError(
                "Trying to backward outside of the 'allow_mutation_on_saved_tensors' context "
                "in which the graph was originally recorded."
            )
        return copy


@contextmanager
def allow_mutation_on_saved_tensors() -> Iterator[Any]:
    """Allow in-place changes to tensors saved for backward inside the block (PyTorch's
    ``torch.autograd.graph.allow_mutation_on_saved_tensors``).

    Record the forward and run the backward inside the block: the backward computes with the
    values the forward saw, whatever in-place ops ran in between.

    Example:
        >>> import chainrule as cr
        >>> with cr.autograd.graph.allow_mutation_on_saved_tensors():
        ...     a = cr.ones(2, 3, requires_grad=True)
        ...     b = a.clone()
        ...     out = (b**2).sum()
        ...     _ = b.sin_()
        ...     out.backward()
        >>> a.grad
        tensor([[2., 2., 2.],
                [2., 2., 2.]])

    Raises:
        RuntimeError: a block is already open (they do not nest, as in PyTorch).
    """
    with _lock:
        if _active:
            raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
        state = _AllowMutationOnSavedContext()
        _active.append(state)
    try:
        with saved_tensors_hooks(state.pack, state.unpack):
            yield state
    finally:
        state.open = False
        with _lock:
            _active.remove(state)
