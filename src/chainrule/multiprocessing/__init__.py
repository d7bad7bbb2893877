"""``chainrule.multiprocessing``: PyTorch's ``torch.multiprocessing``.

The standard library's ``multiprocessing`` API (``Process``, ``Queue``, ``Pool``,
``get_context``, ...) re-exported unchanged, plus what PyTorch adds:

- tensors sent through queues, pipes and a spawned process's arguments arrive sharing
  memory with the sender (a reduction registered with ``ForkingPickler`` on import; see
  :mod:`.reductions`), so Hogwild training works: ``model.share_memory()`` then
  ``Process(target=train, args=(model,))``;
- the sharing strategies (:mod:`.strategies`);
- ``spawn`` / ``start_processes`` and their ``ProcessContext`` and exceptions
  (:mod:`.spawn`).

``share_memory_``, ``is_shared`` and ``module_share_memory`` are the functions behind
``Tensor.share_memory_()``, ``Tensor.is_shared()`` and ``Module.share_memory()``.
"""

from __future__ import annotations

from multiprocessing import (
    Array,
    AuthenticationError,
    Barrier,
    BoundedSemaphore,
    BufferTooShort,
    Condition,
    Event,
    JoinableQueue,
    Lock,
    Manager,
    Pipe,
    Pool,
    Process,
    ProcessError,
    Queue,
    RawArray,
    RawValue,
    RLock,
    Semaphore,
    SimpleQueue,
    TimeoutError,  # noqa: A004 - multiprocessing's own, as torch.multiprocessing exports it
    Value,
    active_children,
    allow_connection_pickling,
    cpu_count,
    current_process,
    freeze_support,
    get_all_start_methods,
    get_context,
    get_logger,
    get_start_method,
    log_to_stderr,
    parent_process,
    reducer,
    set_executable,
    set_forkserver_preload,
    set_start_method,
)

from . import reductions  # noqa: F401 - registers the tensor reduction
from .sharing import is_shared as is_shared
from .sharing import module_share_memory as module_share_memory
from .sharing import share_memory_ as share_memory_
from .spawn import ProcessContext as ProcessContext
from .spawn import ProcessExitedException as ProcessExitedException
from .spawn import ProcessRaisedException as ProcessRaisedException
from .spawn import spawn as spawn
from .spawn import start_processes as start_processes
from .strategies import get_all_sharing_strategies, get_sharing_strategy, set_sharing_strategy

# ``__all__`` is torch.multiprocessing's (its three functions and the standard library's
# names); the names imported ``as`` themselves above are attributes outside it, as in torch.
__all__ = [
    "set_sharing_strategy",
    "get_sharing_strategy",
    "get_all_sharing_strategies",
    "Array",
    "AuthenticationError",
    "Barrier",
    "BoundedSemaphore",
    "BufferTooShort",
    "Condition",
    "Event",
    "JoinableQueue",
    "Lock",
    "Manager",
    "Pipe",
    "Pool",
    "Process",
    "ProcessError",
    "Queue",
    "RLock",
    "RawArray",
    "RawValue",
    "Semaphore",
    "SimpleQueue",
    "TimeoutError",
    "Value",
    "active_children",
    "allow_connection_pickling",
    "cpu_count",
    "current_process",
    "freeze_support",
    "get_all_start_methods",
    "get_context",
    "get_logger",
    "get_start_method",
    "log_to_stderr",
    "parent_process",
    "reducer",
    "set_executable",
    "set_forkserver_preload",
    "set_start_method",
]
