"""Registering the tensor reduction with ``multiprocessing.reduction.ForkingPickler``.

``ForkingPickler`` looks reducers up by exact type, so ``Tensor`` and each subclass must be
registered. :func:`register_tensor_reducers` registers every subclass defined so far when
the reducer is set (on import of :mod:`chainrule.multiprocessing`, which ``import
chainrule`` does, as ``import torch`` imports ``torch.multiprocessing``), and a callback in
``Tensor.__init_subclass__`` registers each class defined later (``nn.Parameter``, a user's
subclass).

The reducer itself lives in :mod:`.reductions`, which depends on :mod:`.sharing`; sharing
calls back into this module, so the reducer is handed over with :func:`set_reducer` rather
than imported (which would be a cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from multiprocessing.reduction import ForkingPickler
from typing import Any

from ..autograd.tensor import Tensor

__all__ = ["register_tensor_reducers", "set_reducer"]

_REDUCER: list[Callable[[Any], tuple]] = []
_REGISTERED: set[type] = set()


def set_reducer(reduce: Callable[[Any], tuple]) -> None:
    """Use ``reduce`` for tensors from now on, and register it."""
    _REDUCER[:] = [reduce]
    _REGISTERED.clear()
    register_tensor_reducers()


def register_tensor_reducers() -> None:
    """Register the reducer for ``Tensor`` and each of its subclasses not yet registered."""
    pending = [Tensor]
    while pending:
        cls = pending.pop()
        _register(cls)
        pending.extend(cls.__subclasses__())


def _register(cls: type) -> None:
    if _REDUCER and cls not in _REGISTERED:
        ForkingPickler.register(cls, _REDUCER[0])
        _REGISTERED.add(cls)


Tensor._subclass_callbacks.append(_register)  # classes defined from now on
