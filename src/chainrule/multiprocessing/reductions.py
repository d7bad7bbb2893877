"""How tensors cross process boundaries: a reduction registered with
``multiprocessing.reduction.ForkingPickler``, the pickler of every queue, pipe and spawned
process's arguments.

Sending a tensor moves it to shared memory first (as PyTorch does: the sender's tensor is
shared afterwards), then sends a descriptor of its segment and where the tensor lies in it
(offset, shape, strides, dtype), with ``requires_grad`` and the tensor's class (a
``Parameter`` arrives as a ``Parameter``). The receiver maps the segment, so both tensors
share memory. ``.grad`` does not travel, as in PyTorch. A non-leaf that requires grad is
refused: autograd graphs do not cross processes.

The reducer is registered on import of this module (see :mod:`.registration`).
"""

from __future__ import annotations

import weakref
from multiprocessing import context
from multiprocessing.reduction import DupFd
from typing import Any

import numpy as np

from ..autograd.shared_memory import mark_shared
from ..autograd.tensor import Tensor
from ._segments import attach, segment_of
from .registration import set_reducer
from .sharing import share_memory_

__all__ = ["rebuild_tensor", "reduce_tensor"]

# While a process is being spawned: the descriptor wrapper already made for each fd. The child
# inherits each fd once (a duplicate in the list of fds to pass makes the spawn fail), and
# its tensors on one segment then share the one wrapper (``attach`` takes that into account).
_SPAWN_FDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _send_fd(fd: int) -> Any:
    """A picklable wrapper that gives the receiving process its own copy of ``fd``."""
    popen = context.get_spawning_popen()
    if popen is None:  # a queue or a pipe: each wrapper is a one-time transfer
        return DupFd(fd)
    sent = _SPAWN_FDS.setdefault(popen, {})
    if fd not in sent:
        sent[fd] = DupFd(fd)
    return sent[fd]


def reduce_tensor(tensor: Tensor) -> tuple:
    """Pickle ``tensor`` by reference to its shared memory (moving it there first)."""
    if tensor.requires_grad and tensor.grad_fn is not None:
        raise RuntimeError(
            "Cowardly refusing to serialize non-leaf tensor which requires_grad, since "
            "autograd does not support crossing process boundaries.  If you just want to "
            "transfer the data, call detach() on the tensor before serializing (e.g., putting "
            "it on the queue)."
        )
    arr = tensor._data
    if not isinstance(arr, np.ndarray):
        raise NotImplementedError(
            f"sending a tensor on device {tensor.device} to another process: chainrule shares "
            "CPU tensors only; move it with .cpu() first"
        )
    share_memory_(tensor)
    arr = tensor._data
    seg = segment_of(arr)
    offset = arr.__array_interface__["data"][0] - seg.address
    state = dict(vars(tensor)) if hasattr(tensor, "__dict__") else {}
    return (
        rebuild_tensor,
        (
            type(tensor),
            _send_fd(seg.fd),
            seg.size,
            offset,
            arr.shape,
            arr.strides,
            arr.dtype,
            tensor.requires_grad,
            state,
        ),
    )


def rebuild_tensor(
    cls: type,
    dup_fd: Any,
    size: int,
    offset: int,
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    dtype: np.dtype,
    requires_grad: bool,
    state: dict,
) -> Tensor:
    """The receiving side of :func:`reduce_tensor`: a leaf over the sender's memory."""
    seg = attach(dup_fd.detach(), size)
    arr = np.ndarray(shape, dtype, buffer=seg.buffer, offset=offset, strides=strides)
    tensor = object.__new__(cls)
    tensor._init_leaf(mark_shared(arr), requires_grad)
    if state:
        tensor.__dict__.update(state)
    return tensor


set_reducer(reduce_tensor)
