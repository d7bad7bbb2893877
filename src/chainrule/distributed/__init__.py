"""Data-parallel training across processes and machines (``torch.distributed``).

Two backends move CPU tensors: ``"gloo"`` connects processes started any way (e.g. with
``multiprocessing``, one per machine) over TCP after PyTorch's rendezvous (``MASTER_ADDR``/
``MASTER_PORT``, ``tcp://``, ``file://`` or a :class:`TCPStore`/:class:`FileStore`); ``"mpi"``
uses the processes of an MPI launcher (``chainrule launch -n 4 -- python train.py`` or
``mpirun -n 4 python train.py``). Call :func:`init_process_group` in each process, and use the
collectives on tensors or ``cr.nn.parallel.DistributedDataParallel``. See
``docs/distributed.md``.
"""

from __future__ import annotations

from .backend_config import BackendConfig, GroupName, get_backend_config, get_pg_count
from .backend_names import (
    Backend,
    get_default_backend_for_device,
    get_node_local_rank,
    is_backend_available,
    is_gloo_available,
    is_nccl_available,
    is_torchelastic_launched,
    is_ucc_available,
    is_xccl_available,
    supports_complex,
)
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
from .collectives_more import (
    all_gather_single,
    all_to_all,
    monitored_barrier,
    reduce_scatter_single,
)
from .debugger import breakpoint
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
from .objects import (
    all_gather_object,
    broadcast_object_list,
    gather_object,
    recv_object_list,
    scatter_object_list,
    send_object_list,
)
from .p2p import P2POp, batch_isend_irecv, irecv, isend, recv, send
from .reduce_op import ReduceOp
from .rendezvous import register_rendezvous_handler, rendezvous
from .split import split_group
from .subgroups import (
    get_global_rank,
    get_group_rank,
    get_process_group_ranks,
    new_subgroups,
    new_subgroups_by_enumeration,
)
from .tcp import (
    DistNetworkError,
    DistStoreError,
    FileStore,
    HashStore,
    PrefixStore,
    Store,
    TCPStore,
)
from .work import DistBackendError, DistError, Work
from .world import GroupMember, group  # after the submodule imports: shadows group.py's name

__all__ = [
    "GroupMember",
    "group",
    "Backend",
    "BackendConfig",
    "DebugLevel",
    "DistBackendError",
    "DistError",
    "DistNetworkError",
    "DistStoreError",
    "FileStore",
    "GroupName",
    "HashStore",
    "P2POp",
    "PrefixStore",
    "ProcessGroup",
    "ReduceOp",
    "Store",
    "TCPStore",
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_gather_single",
    "all_reduce",
    "all_to_all",
    "all_to_all_single",
    "barrier",
    "batch_isend_irecv",
    "breakpoint",
    "broadcast",
    "broadcast_object_list",
    "default_pg_timeout",
    "destroy_process_group",
    "gather",
    "gather_object",
    "get_backend",
    "get_backend_config",
    "get_debug_level",
    "get_default_backend_for_device",
    "get_global_rank",
    "get_group_rank",
    "get_node_local_rank",
    "get_pg_count",
    "get_process_group_ranks",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "irecv",
    "is_available",
    "is_backend_available",
    "is_gloo_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "is_ucc_available",
    "is_xccl_available",
    "isend",
    "monitored_barrier",
    "new_group",
    "new_subgroups",
    "new_subgroups_by_enumeration",
    "recv",
    "recv_object_list",
    "reduce",
    "reduce_scatter",
    "reduce_scatter_single",
    "reduce_scatter_tensor",
    "register_rendezvous_handler",
    "rendezvous",
    "scatter",
    "scatter_object_list",
    "send",
    "send_object_list",
    "set_debug_level",
    "split_group",
    "supports_complex",
]
