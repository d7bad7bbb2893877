"""The default process group: ``init_process_group``, the queries around it and ``new_group``.

Two backends carry the collectives, both on CPU tensors (see ``backend_names.py`` for how one
is chosen):

* ``"gloo"``: processes started any way (``torch.multiprocessing``-style spawning, one
  command per machine, a job scheduler) find each other through PyTorch's rendezvous
  (``env://`` with ``MASTER_ADDR``/``MASTER_PORT``/``RANK``/``WORLD_SIZE``, ``tcp://``,
  ``file://`` or a ``store``) and talk over TCP sockets (``tcp/``). A rank that crashes makes
  the others' collectives raise ``DistBackendError`` at once (its connections close).
* ``"mpi"``: ranks and the world size come from the MPI launcher (``mpirun``, ``srun``,
  ``chainrule launch``), which has already connected the processes. The torchrun-style
  variables ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` are checked
  against MPI's view when they are set, and set from it when they are not. After
  ``init_process_group`` with more than one rank, an uncaught exception on any rank prints its
  traceback and aborts the whole MPI job (``MPI_Abort``), so the other ranks stop instead of
  waiting forever in their next collective.

Either way a :class:`ProcessGroup` wraps a communicator with mpi4py's method names (an mpi4py
``Comm``, or the TCP backend's ``tcp.Comm``), and ``_mpi()`` gives the matching namespace
(``mpi4py.MPI`` or ``tcp.namespace``), so the collectives are written once for both.
"""

from __future__ import annotations

import datetime
import os
import sys
from typing import Any

from . import tcp
from .backend_names import is_mpi_available, select_backend
from .membership import NON_GROUP_MEMBER, NotInGroup, is_non_member
from .rendezvous import from_user_handler, is_user_scheme

__all__ = [
    "ProcessGroup",
    "default_pg_timeout",
    "destroy_process_group",
    "get_backend",
    "get_rank",
    "get_world_size",
    "group_of",
    "init_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "max_tag",
    "new_group",
    "root_rank",
]

default_pg_timeout = datetime.timedelta(minutes=30)

_NOT_INIT = (
    "Default process group has not been initialized, please make sure to call init_process_group."
)


class ProcessGroup:
    """A set of ranks that run collectives together: a communicator (mpi4py's or the TCP
    backend's) and a timeout."""

    backend_spec: Any = None  # the backend string a subgroup was made with (None: the world's)

    def __init__(self, comm: Any, timeout_s: float, ranks: list[int]):
        self.comm = comm
        self.timeout_s = timeout_s
        self.ranks = ranks  # global ranks of the members, in group-rank order
        self.backend = "gloo" if isinstance(comm, tcp.Comm) else "mpi"
        if self.backend == "gloo":
            comm.timeout_s = timeout_s  # the limit of its blocking (object) collectives

    def rank(self) -> int:
        return self.comm.Get_rank()

    def size(self) -> int:
        return self.comm.Get_size()

    def name(self) -> str:
        return self.backend

    def __repr__(self) -> str:
        return f"ProcessGroup(backend={self.backend!r}, rank={self.rank()}, size={self.size()})"


class _State:
    world: ProcessGroup | None = None
    groups: list = []
    saved_excepthook: Any = None
    backend_label = "mpi"  # what get_backend() answers for the default group
    backend_spec: Any = "mpi"  # the backend get_backend_config() describes for it
    pg_count = 0  # groups created since init_process_group, as torch's get_pg_count counts


def is_available() -> bool:
    """True: the distributed package can be used (the Gloo backend needs nothing extra)."""
    return True


def is_initialized() -> bool:
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return _State.world is not None


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"init_process_group: environment variable {name}={value!r} is not an integer"
        ) from None


def _timeout_seconds(timeout: Any) -> float:
    if timeout is None:
        return default_pg_timeout.total_seconds()
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(
            "init_process_group: timeout must be a datetime.timedelta, got "
            f"{type(timeout).__name__}"
        )
    if timeout.total_seconds() <= 0:
        raise ValueError(f"init_process_group: timeout must be positive, got {timeout}")
    return timeout.total_seconds()


def _check_arguments(backend: Any, init_method: Any, store: Any, device_id: Any) -> None:
    """Arguments of the MPI path (and a subgroup's ``backend``: the world's or None)."""
    if backend is not None:
        name, _ = select_backend(backend, None, None, -1, -1)
        world = _State.world
        if world is not None and name != world.backend:
            raise NotImplementedError(
                f"new_group: backend {backend!r} differs from the default group's "
                f"({world.backend!r}); chainrule's subgroups use the default group's backend"
            )
    if init_method is not None and init_method != "env://":
        raise NotImplementedError(
            f"init_process_group: init_method {init_method!r} is not supported; with MPI the "
            "launcher (mpirun / chainrule launch) connects the processes. Leave it out or pass "
            "'env://'."
        )
    if store is not None:
        raise NotImplementedError(
            "init_process_group: store is not supported with the MPI "
            "backend (the launcher does the rendezvous)"
        )
    _check_cpu(device_id, "MPI")


def _check_cpu(device_id: Any, name: str) -> None:
    if device_id is not None and str(getattr(device_id, "type", device_id)).split(":")[0] != "cpu":
        raise NotImplementedError(
            f"init_process_group: device_id={device_id!r}: only CPU tensors are supported by "
            f"the {name} backend"
        )


def _local_rank_and_size(comm: Any) -> tuple[int, int]:
    """This process's index among the ranks on its machine, and how many there are."""
    MPI = _mpi()
    node = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
    try:
        return node.Get_rank(), node.Get_size()
    finally:
        node.Free()


def _sync_environment(rank: int, size: int, local_rank: int, local_size: int) -> None:
    """Check torchrun-style variables against MPI's view, then set them from it."""
    mpi_view = {
        "RANK": rank,
        "WORLD_SIZE": size,
        "LOCAL_RANK": local_rank,
        "LOCAL_WORLD_SIZE": local_size,
    }
    for name, value in mpi_view.items():
        given = _env_int(name)
        if given is not None and given != value:
            if name == "WORLD_SIZE" and size == 1:
                raise RuntimeError(
                    f"init_process_group: WORLD_SIZE={given} is set but this process was not "
                    "started by an MPI launcher (MPI sees 1 process). chainrule's distributed "
                    "backend is MPI: start the script with `chainrule launch -n "
                    f"{given} -- python script.py` or `mpirun -n {given} python script.py`."
                )
            raise RuntimeError(
                f"init_process_group: environment variable {name}={given} disagrees with the "
                f"MPI launcher ({name.lower()} {value}); unset it or start the processes with "
                "one launcher only."
            )
    for name, value in mpi_view.items():
        os.environ[name] = str(value)


def _install_abort_hook(world_size: int) -> None:
    if world_size < 2 or _State.saved_excepthook is not None:
        return
    previous = sys.excepthook
    _State.saved_excepthook = previous

    def abort_on_uncaught(exc_type, exc, tb):
        previous(exc_type, exc, tb)
        MPI = _mpi()
        rank = MPI.COMM_WORLD.Get_rank()
        sys.stderr.write(
            f"chainrule.distributed: rank {rank} stopped with an uncaught {exc_type.__name__}; "
            f"aborting all {world_size} ranks (MPI_Abort) so that none waits forever.\n"
        )
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(1)

    sys.excepthook = abort_on_uncaught


def _mpi():
    """The namespace of the default group's backend: ``tcp.namespace`` for Gloo, else
    ``mpi4py.MPI`` (imported here: an optional dependency)."""
    if _State.world is not None and _State.world.backend == "gloo":
        return tcp.namespace
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError(
            "cr.distributed needs mpi4py and an MPI runtime: pip install 'chainrule[distributed]'"
            " (mpi4py + Open MPI wheels), or install mpi4py with a system MPI"
        ) from None
    return MPI


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: datetime.timedelta | None = None,
    world_size: int = -1,
    rank: int = -1,
    store: Any = None,
    group_name: str = "",
    pg_options: Any = None,
    device_id: Any = None,
) -> None:
    """Join the default process group.

    Args:
        backend: ``"gloo"`` (TCP sockets), ``"mpi"`` (an MPI launcher's processes) or None
            (chosen as ``backend_names.select_backend`` says).
        init_method: Gloo: ``"env://"`` (default), ``"tcp://host:port"``,
            ``"file:///path"`` or a scheme of :func:`register_rendezvous_handler`; MPI: None
            or ``"env://"`` (the launcher does the rendezvous).
        timeout: how long a collective may wait for the other ranks before raising
            :class:`DistBackendError` (default 30 minutes, as PyTorch).
        world_size, rank: Gloo: this process's rank and the number of processes (else from
            ``RANK``/``WORLD_SIZE`` or the URL); MPI: optional, must equal what MPI reports.
        store: Gloo: a :class:`Store` all ranks share (then ``rank`` and ``world_size`` are
            required).

    Raises:
        ValueError: called twice without ``destroy_process_group``; Gloo: a missing rank,
            world size or master address (PyTorch's messages).
        RuntimeError: MPI: ``world_size``/``rank`` or ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``
            disagree with the MPI launcher.
        DistNetworkError / DistStoreError: Gloo: the rendezvous did not complete in time.
    """
    if _State.world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name, label = select_backend(backend, init_method, store, world_size, rank)
    if name == "gloo":
        _check_cpu(device_id, "Gloo")
        if pg_options is not None:
            raise NotImplementedError("init_process_group: pg_options is not supported")
        timeout_s = _timeout_seconds(timeout)
        if store is None and is_user_scheme(init_method):
            store, rank, world_size = from_user_handler(init_method, rank, world_size, timeout_s)
            init_method = None
        comm = tcp.init_world(init_method, store, world_size, rank, timeout_s)
        _State.world = ProcessGroup(comm, timeout_s, list(range(comm.Get_size())))
        # torch answers the string it was given ("cpu:gloo" stays "cpu:gloo")
        _State.backend_label = label if backend is None else str(backend).lower()
        _State.backend_spec = label if backend is None else backend
        _State.pg_count = 1
        return
    _check_arguments(None, init_method, store, device_id)
    if pg_options is not None:
        raise NotImplementedError(
            "init_process_group: pg_options is not supported by the MPI backend"
        )
    timeout_s = _timeout_seconds(timeout)
    MPI = _mpi()
    comm = MPI.COMM_WORLD.Dup()  # our own context: user MPI traffic cannot interleave
    size, me = comm.Get_size(), comm.Get_rank()
    if world_size not in (-1, None) and int(world_size) != size:
        comm.Free()
        raise RuntimeError(
            f"init_process_group: world_size={world_size} but the MPI launcher "
            f"started {size} processes"
        )
    if rank not in (-1, None) and int(rank) != me:
        comm.Free()
        raise RuntimeError(
            f"init_process_group: rank={rank} but MPI says this process is rank {me}"
        )
    local_rank, local_size = _local_rank_and_size(comm)
    _sync_environment(me, size, local_rank, local_size)
    _State.world = ProcessGroup(comm, timeout_s, list(range(size)))
    _State.backend_label = "mpi"
    _State.backend_spec = "cpu:mpi" if backend is None else backend  # chainrule's only device
    _State.pg_count = 1
    _install_abort_hook(size)


def max_tag() -> int:
    """The backend's largest message tag (MPI's is at least 32767); chainrule reserves it and
    the one below for its own point-to-point messages (``monitored_barrier``,
    ``send_object_list``)."""
    MPI = _mpi()
    if MPI is tcp.namespace:
        return MPI.TAG_UB
    return int(MPI.COMM_WORLD.Get_attr(MPI.TAG_UB))


def _world() -> ProcessGroup:
    if _State.world is None:
        raise ValueError(_NOT_INIT)
    return _State.world


def group_of(group: ProcessGroup | None) -> ProcessGroup:
    """The group a collective runs on: ``group`` or the default (world) group."""
    world = _world()
    if group is None:
        return world
    if is_non_member(group):  # new_group's answer on a rank it left out
        raise NotInGroup()
    if not isinstance(group, ProcessGroup):
        raise TypeError(
            f"group must be a ProcessGroup from new_group() or None, got {type(group).__name__}"
        )
    return group


def root_rank(
    group: ProcessGroup, value: Any, group_value: Any, name: str, where: str, default: Any = 0
) -> int:
    """The group rank of a root or peer given as a global rank (``src``/``dst``) or a group rank
    (``group_src``/``group_dst``), as in PyTorch; ``default`` (a global rank) when neither is.

    Raises:
        ValueError: both are given, or the rank is not a member of ``group``.
    """
    if value is not None and group_value is not None:
        raise ValueError(
            f"{where}: can't specify both {name} (a global rank) and group_{name} (a group "
            "rank); pass one of them"
        )
    if group_value is not None:
        rank = int(group_value)
        if not 0 <= rank < group.size():
            raise ValueError(
                f"{where}: group_{name}={rank} is not a rank of the group (size {group.size()})"
            )
        return rank
    rank = int(default if value is None else value)
    if rank not in group.ranks:
        raise ValueError(
            f"{where}: {name}={rank} is not a rank of the group (size {group.size()}, global "
            f"ranks {group.ranks})"
        )
    return group.ranks.index(rank)


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (default: the world), in ``[0, world_size)``; -1 on
    a rank outside ``group``, as PyTorch."""
    return -1 if is_non_member(group) else group_of(group).rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    """The number of processes in ``group`` (default: the world); -1 on a rank outside it."""
    return -1 if is_non_member(group) else group_of(group).size()


def get_backend(group: ProcessGroup | None = None) -> str:
    """The backend's name, as PyTorch answers it: the string ``init_process_group`` (or, for
    a subgroup, ``new_group(backend=...)``) was given (``"gloo"``, ``"cpu:gloo"``, ``"mpi"``),
    and ``"undefined"`` when Gloo was chosen by ``backend=None``."""
    g = group_of(group)
    if g is not _State.world and g.backend_spec is not None:
        return str(g.backend_spec).lower()
    return _State.backend_label


def new_group(
    ranks: list[int] | None = None,
    timeout: datetime.timedelta | None = None,
    backend: str | None = None,
    pg_options: Any = None,
) -> ProcessGroup | int:
    """A process group of the given global ``ranks`` (all ranks must call it, as in PyTorch).

    Returns the group on its members and ``GroupMember.NON_GROUP_MEMBER`` elsewhere, which
    collectives accept as a no-op, as in PyTorch (:mod:`.membership`).
    """
    world = _world()
    _check_arguments(backend, None, None, None)
    if pg_options is not None:
        raise NotImplementedError("new_group: pg_options is not supported by the MPI backend")
    size = world.size()
    members = list(range(size)) if ranks is None else sorted(int(r) for r in ranks)
    if len(set(members)) != len(members) or any(r < 0 or r >= size for r in members):
        raise ValueError(f"new_group: ranks must be distinct integers in [0, {size}), got {ranks}")
    timeout_s = world.timeout_s if timeout is None else _timeout_seconds(timeout)
    MPI = _mpi()
    color = 0 if world.rank() in members else MPI.UNDEFINED
    comm = world.comm.Split(color, key=world.rank())
    _State.pg_count += 1  # PyTorch counts the group on non-members too
    if comm == MPI.COMM_NULL:
        return NON_GROUP_MEMBER
    group = ProcessGroup(comm, timeout_s, members)
    group.backend_spec = backend
    _State.groups.append(group)
    return group


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Leave ``group`` (default: every group, after which ``init_process_group`` may run again).

    Gloo closes this process's connections (and the store it made, so the port is free for
    the next run); MPI itself stays initialised until the interpreter exits (MPI cannot be
    restarted).
    """
    if group is None:
        world = _world()
        for g in _State.groups:
            g.comm.Free()
        _State.groups = []
        world.comm.Free()
        _State.world = None
        _State.pg_count = 0
        if _State.saved_excepthook is not None:
            sys.excepthook = _State.saved_excepthook
            _State.saved_excepthook = None
        return
    if group in _State.groups:
        _State.groups.remove(group)
        group.comm.Free()
