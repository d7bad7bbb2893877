"""Backend names and the environment queries around them (``torch.distributed.Backend``, ...).

PyTorch names its communication backends with lowercase strings (``"gloo"``, ``"nccl"``,
``"mpi"``); scripts compare them, pick one per device and ask which are available. chainrule
has one backend, MPI on CPU tensors, so only ``"mpi"`` is available; the other names still parse
so that code which mentions them runs up to the point where it would use them.
"""

from __future__ import annotations

import os
from typing import Any

from .group import is_mpi_available
from .reduce_op import ReduceOp

__all__ = [
    "Backend",
    "get_default_backend_for_device",
    "get_node_local_rank",
    "is_backend_available",
    "is_gloo_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "is_ucc_available",
    "is_xccl_available",
    "supports_complex",
]

# Local-rank variables of the MPI launchers, read after torchrun's LOCAL_RANK: Open MPI's
# mpirun, MPICH/Intel MPI's hydra, and Slurm's srun.
_LAUNCHER_LOCAL_RANK = ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID")


class Backend(str):
    """A backend's name: ``Backend("GLOO")`` is the lowercase string ``"gloo"``.

    The class attributes are the names PyTorch knows (``Backend.GLOO``, ``Backend.NCCL``,
    ``Backend.MPI``, ...); only ``Backend.MPI`` can be passed to ``init_process_group`` in
    chainrule.
    """

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    UCC = "ucc"
    MPI = "mpi"
    XCCL = "xccl"
    FAKE = "fake"

    backend_list = ["undefined", "gloo", "nccl", "xccl", "ucc", "mpi", "fake"]
    # What chainrule can run: the MPI backend, on CPU tensors.
    default_device_backend_map = {"cpu": "mpi"}
    backend_capability = {"mpi": ["cpu"]}

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
            "Backend.register_backend: chainrule's only backend is MPI (through mpi4py); "
            "third-party backends cannot be registered"
        )


def is_backend_available(backend: str) -> bool:
    """True when ``backend`` (any case) can be used: only ``"mpi"``, with mpi4py installed."""
    if not isinstance(backend, str):
        raise AttributeError(
            f"is_backend_available: backend must be a string such as 'mpi', got "
            f"{type(backend).__name__}"
        )
    return backend.lower() == Backend.MPI and is_mpi_available()


def is_gloo_available() -> bool:
    """False: chainrule has no Gloo backend (use MPI)."""
    return False


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
    """The backend ``init_process_group`` uses for tensors on ``device``: ``"mpi"`` for CPU.

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
            "MPI backend moves CPU tensors (copy them with .cpu())"
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
    """True when ``torchrun`` started this process (``TORCHELASTIC_RUN_ID`` is set); chainrule's
    processes come from an MPI launcher, so this is False unless the variable was set by hand."""
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
