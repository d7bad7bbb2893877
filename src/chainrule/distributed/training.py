"""Helpers that make the Trainer and ``chainrule train --distributed`` rank-aware.

Rules they implement: only rank 0 prints, draws progress bars and writes files; every rank
logs the same numbers (the training metrics are averaged over the ranks, so early stopping
and plateau schedules decide identically everywhere); checkpoints hold the unwrapped model,
so a run saved by N processes resumes on any number of processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..nn.layers.sync_batchnorm import SyncBatchNorm
from ..nn.parallel import DataParallel, DistributedDataParallel
from ..utils.data import DataLoader
from .collectives import all_reduce
from .group import get_rank, get_world_size, init_process_group, is_initialized
from .reduce_op import ReduceOp

__all__ = [
    "RankBatchSlices",
    "average_logs",
    "is_main_process",
    "prepare_distributed",
    "set_sampler_epoch",
    "start_distributed",
    "unwrap_model",
]


def is_main_process() -> bool:
    """True on rank 0, and in any process that is not part of a process group."""
    return not is_initialized() or get_rank() == 0


def unwrap_model(model: Any) -> Any:
    """The model inside a ``DistributedDataParallel``/``DataParallel`` wrapper (or ``model``)."""
    while isinstance(model, (DataParallel, DistributedDataParallel)):
        model = model.module
    return model


def average_logs(logs: dict) -> dict:
    """``logs`` with every number averaged over the ranks (one all-reduce); unchanged when
    not distributed. Every rank must call it at the same point."""
    if not is_initialized() or get_world_size() == 1:
        return logs

    keys = sorted(
        k
        for k, v in logs.items()
        if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) and k != "epoch"
    )
    values = Tensor._new(np.array([float(logs[k]) for k in keys], dtype=np.float64))
    all_reduce(values, op=ReduceOp.AVG)
    out = dict(logs)
    out.update({k: float(v) for k, v in zip(keys, values._data)})
    return out


def set_sampler_epoch(loader: Any, epoch: int) -> None:
    """Call ``set_epoch(epoch)`` on the loader's sampler(s) that have it (DistributedSampler),
    so every epoch shuffles differently and identically on all ranks."""
    seen = []
    for owner in (getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
        fn = getattr(owner, "set_epoch", None)
        if callable(fn) and owner not in seen:
            fn(epoch)
            seen.append(owner)


class RankBatchSlices:
    """Split every global batch of ``batch_sampler`` into ``num_replicas`` equal slices and
    yield this rank's slice.

    With the same seeded sampler on every rank, the ranks together visit exactly the batches a
    single process with the whole batch would, so ``N`` processes x batch ``B`` reproduce one
    process x batch ``N*B`` (the last batch is split as evenly as possible).
    """

    def __init__(self, batch_sampler: Any, num_replicas: int, rank: int):
        self.batch_sampler = batch_sampler
        self.sampler = getattr(batch_sampler, "sampler", None)  # for checkpointed generators
        self.num_replicas = num_replicas
        self.rank = rank

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batch_sampler:
            parts = np.array_split(np.asarray(batch, dtype=np.int64), self.num_replicas)
            yield parts[self.rank].tolist()

    def __len__(self) -> int:
        return len(self.batch_sampler)


def start_distributed() -> bool:
    """Join the MPI process group (unless already joined); True on rank 0."""
    if not is_initialized():
        init_process_group("mpi")
    return is_main_process()


def prepare_distributed(model: Any, train_loader: Any, global_batch: int) -> tuple[Any, Any]:
    """Join the process group (if needed), wrap ``model`` in DistributedDataParallel (its
    batch norms made SyncBatchNorm) and give this rank its slice of every global batch.

    Returns:
        (the DDP-wrapped model, this rank's training loader).

    Raises:
        ValueError: the global batch size does not split evenly over the processes.
    """
    start_distributed()
    size, rank = get_world_size(), get_rank()
    if global_batch % size:
        raise ValueError(
            f"chainrule train --distributed: --batch-size {global_batch} (the "
            f"global batch) must be divisible by the {size} processes"
        )
    model = SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = DistributedDataParallel(model)
    loader = DataLoader(  # the same generator: each epoch's draws stand where one process's do
        train_loader.dataset,
        batch_sampler=RankBatchSlices(train_loader.batch_sampler, size, rank),
        generator=train_loader.generator,
    )
    return ddp, loader
