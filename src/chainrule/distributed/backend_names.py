"""Backend names, which backend a process group uses, and the environment queries around them.

PyTorch names its communication backends with lowercase strings (``"gloo"``, ``"nccl"``,
``"mpi"``); scripts compare them, pick one per device and ask which are available. chainrule
has two backends, both on CPU tensors: ``"gloo"``, processes connected by TCP sockets after a
PyTorch-style rendezvous (``tcp/``), always available; and ``"mpi"``, processes started by an
MPI launcher (``mpirun``, ``chainrule launch``), available when mpi4py is installed. The other
names still parse so that code which mentions them runs up to the point where it would use
them. :func:`select_backend` is the rule ``init_process_group`` follows when no backend is
named.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from .reduce_op import ReduceOp

__all__ = [
    "Backend",
    "get_default_backend_for_device",
    "get_node_local_rank",
    "is_backend_available",
    "is_gloo_available",
    "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "is_ucc_available",
    "is_xccl_available",
    "launched_by_mpi",
    "select_backend",
    "supports_complex",
]

# Local-rank variables of the MPI launchers, read after torchrun's LOCAL_RANK: Open MPI's
# mpirun, MPICH/Intel MPI's hydra, and Slurm's srun.
_LAUNCHER_LOCAL_RANK = ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID")
# Variables an MPI launcher sets in every process it starts: Open MPI, PMIx, MPICH/Intel MPI.
_MPI_LAUNCHER_VARS = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE")


class Backend(str):
    """A backend's name: ``Backend("GLOO")`` is the lowercase string ``"gloo"``.

    The class attributes are the names PyTorch knows (``Backend.GLOO``, ``Backend.NCCL``,
    ``Backend.MPI``, ...); ``Backend.GLOO`` and ``Backend.MPI`` can be passed to
    ``init_process_group`` in chainrule.
    """

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    UCC = "ucc"
    MPI = "mpi"
    XCCL = "xccl"
    FAKE = "fake"

    backend_list = ["undefined", "gloo", "nccl", "xccl", "ucc", "mpi", "fake"]
    # What chainrule can run: Gloo (TCP) and MPI, on CPU tensors; Gloo is CPU's default.
    default_device_backend_map = {"cpu": "gloo"}
    backend_capability = {"gloo": ["cpu"], "mpi": ["cpu"]}

    def __new__(cls, name: str) -> str:
        if not isinstance(name, str):
            raise ValueError(
                f"Backend constructor parameter must be string-ish, got {type(name).__name__}"
            )
        return str.__new__(str, name.lower())

    @staticmethod
    def register_backend(*args: Any, **kwargs: Any) -> None:
        """Third-party backends plug into PyTorch's C++ process groups; not possible here."""
        raise NotImplementedError(
            "Backend.register_backend: chainrule's backends are Gloo (TCP sockets) and MPI "
            "(through mpi4py); third-party backends cannot be registered"
        )


def is_mpi_available() -> bool:
    """True when the MPI backend can be used (``mpi4py`` is installed)."""
    return importlib.util.find_spec("mpi4py") is not None


def launched_by_mpi() -> bool:
    """True when an MPI launcher (``mpirun``, ``srun``, ``chainrule launch``) started this
    process, read from the variables it sets."""
    return any(name in os.environ for name in _MPI_LAUNCHER_VARS)


def select_backend(
    backend: str | None, init_method: str | None, store: Any, world_size: int, rank: int
) -> tuple[str, str]:
    """The backend ``init_process_group`` runs on, and the name ``get_backend`` reports.

    A named backend is used as named (``"gloo"``, ``"mpi"``, also PyTorch's per-device form
    ``"cpu:gloo"``). With none (``backend=None``): Gloo for a ``store`` or a ``tcp://``/
    ``file://`` ``init_method``; else MPI when an MPI launcher started the process; else Gloo
    when a rank, a world size or ``MASTER_ADDR`` describes a rendezvous, reported as
    ``"undefined"`` as PyTorch does for its device-dependent default; otherwise MPI when
    mpi4py is installed (a one-process world) and else Gloo.

    Raises:
        NotImplementedError: a backend chainrule does not have (NCCL, UCC, XCCL, ...).
    """
    if backend is not None:
        name = str(backend).lower()
        if ":" in name:  # "cpu:gloo" or "cpu:gloo,cuda:nccl": the CPU entry decides
            entries = dict(part.split(":", 1) for part in name.split(",") if ":" in part)
            name = entries.get("cpu", name)
        if name not in (Backend.GLOO, Backend.MPI):
            raise NotImplementedError(
                f"init_process_group: backend {backend!r} is not available in chainrule; the "
                "backends are 'gloo' (TCP sockets, CPU) and 'mpi' (through mpi4py, CPU). Pass "
                "one of them or leave it out."
            )
        return name, name
    explicit = store is not None or init_method not in (None, "env://")
    if not explicit and launched_by_mpi():
        return Backend.MPI, Backend.MPI
    described = (
        explicit
        or rank not in (-1, None)
        or world_size not in (-1, None)
        or "MASTER_ADDR" in os.environ
    )
    if described or not is_mpi_available():
        return Backend.GLOO, Backend.UNDEFINED
    return Backend.MPI, Backend.MPI


def is_backend_available(backend: str) -> bool:
    """True when ``backend`` (any case) can be used: ``"gloo"`` always, ``"mpi"`` with mpi4py
    installed."""
    if not isinstance(backend, str):
        raise AttributeError(
            f"is_backend_available: backend must be a string such as 'mpi', got "
            f"{type(backend).__name__}"
        )
    name = backend.lower()
    return name == Backend.GLOO or (name == Backend.MPI and is_mpi_available())


def is_gloo_available() -> bool:
    """True: the Gloo backend (TCP sockets between CPU processes) is always available."""
    return True


def is_nccl_available() -> bool:
    """False: chainrule has no NCCL backend."""
    return False


def is_ucc_available() -> bool:
    """False: chainrule has no UCC backend."""
    return False


def is_xccl_available() -> bool:
    """False: chainrule has no XCCL backend."""
    return False


def get_default_backend_for_device(device: Any) -> str:
    """The backend ``init_process_group`` uses for tensors on ``device``: ``"gloo"`` for CPU,
    as PyTorch.

    Raises:
        ValueError: a device type no backend is registered for (``"meta"``), as PyTorch.
        NotImplementedError: an accelerator (``"cuda"``, ``"xpu"``, ``"mps"``): PyTorch would
            answer NCCL/XCCL/Gloo there, which chainrule does not have.
    """
    kind = getattr(device, "type", None)
    if kind is None:
        if isinstance(device, bool) or not isinstance(device, (str, int)):
            raise TypeError(
                "get_default_backend_for_device: device must be a str, an int or a device, "
                f"got {type(device).__name__}"
            )
        kind = device.split(":")[0] if isinstance(device, str) else "cuda"  # an int: accelerator
    if kind in Backend.default_device_backend_map:
        return Backend.default_device_backend_map[kind]
    if kind in ("cuda", "xpu", "mps"):
        raise NotImplementedError(
            f"get_default_backend_for_device: no backend for {kind} tensors in chainrule; the "
            "Gloo and MPI backends move CPU tensors (copy them with .cpu())"
        )
    raise ValueError(f"Default backend not registered for device : {kind}")


_NO_COMPLEX = frozenset(
    (ReduceOp.MAX, ReduceOp.MIN, ReduceOp.PRODUCT, ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR)
)


def supports_complex(reduceOp: ReduceOp) -> bool:  # noqa: N803 (PyTorch's argument name)
    """Whether ``reduceOp`` may reduce complex tensors: SUM, AVG and PREMUL_SUM may, the order-
    and bit-based ops (MAX, MIN, PRODUCT, BAND, BOR, BXOR) may not, as PyTorch answers."""
    return reduceOp not in _NO_COMPLEX


def is_torchelastic_launched() -> bool:
    """True when ``torchrun`` started this process (``TORCHELASTIC_RUN_ID`` is set)."""
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's index among the processes on its machine (to pick a device per process).

    Read from ``LOCAL_RANK`` (set by torchrun, and by ``init_process_group`` from MPI's view),
    else from the MPI launcher's own variable (Open MPI's ``OMPI_COMM_WORLD_LOCAL_RANK``,
    MPICH's ``MPI_LOCALRANKID``, Slurm's ``SLURM_LOCALID``), else ``fallback_rank``.

    Raises:
        RuntimeError: none of these is set and no ``fallback_rank`` was given.
        ValueError: the variable is not an integer.
    """
    for name in ("LOCAL_RANK",) + _LAUNCHER_LOCAL_RANK:
        if name in os.environ:
            return int(os.environ[name])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError(
        "LOCAL_RANK is not in the environment (nor an MPI launcher's local-rank variable: "
        f"{', '.join(_LAUNCHER_LOCAL_RANK)}). Consider passing fallback_rank to allow "
        "`get_node_local_rank` to work, assuming you are not running in a multi-device context "
        "and want the code to run locally instead."
    )
