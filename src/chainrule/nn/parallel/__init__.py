"""Data parallelism: ``DataParallel`` (one process) and ``DistributedDataParallel`` (MPI)."""

from __future__ import annotations

from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
