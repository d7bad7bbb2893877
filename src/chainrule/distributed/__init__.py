"""Data-parallel training across processes and machines on MPI (``torch.distributed``).

Start the processes with an MPI launcher (``chainrule launch -n 4 -- python train.py`` or
``mpirun -n 4 python train.py``), call :func:`init_process_group` in each, and use the
collectives on tensors or ``cr.nn.parallel.DistributedDataParallel``. See
``docs/distributed.md``.
"""

from __future__ import annotations

from .checks import DebugLevel, get_debug_level, set_debug_level
from .collectives import (
    all_gather,
    all_gather_into_tensor,
    all_reduce,
    all_to_all_single,
    barrier,
    broadcast,
    gather,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
)
from .group import (
    ProcessGroup,
    default_pg_timeout,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
    new_group,
)
from .objects import all_gather_object, broadcast_object_list, gather_object
from .p2p import irecv, isend, recv, send
from .reduce_op import ReduceOp
from .work import DistBackendError, DistError, Work

__all__ = [
    "DebugLevel",
    "DistBackendError",
    "DistError",
    "ProcessGroup",
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_reduce",
    "all_to_all_single",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "default_pg_timeout",
    "destroy_process_group",
    "gather",
    "gather_object",
    "get_backend",
    "get_debug_level",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "irecv",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "isend",
    "new_group",
    "recv",
    "reduce",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "scatter",
    "send",
    "set_debug_level",
]
