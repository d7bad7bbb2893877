"""Data parallelism: ``DataParallel`` (one process) and ``DistributedDataParallel`` (MPI), and
the nest walks ``scatter``/``gather`` (which need CUDA devices for their tensors)."""

from __future__ import annotations

from .data_parallel import DataParallel
from .distributed import DistributedDataParallel
from .scatter_gather import gather, scatter

__all__ = ["DataParallel", "DistributedDataParallel", "gather", "scatter"]
