"""``torch.utils.data``: the machinery that feeds any data to a model - ``Dataset`` base
classes, samplers, the ``DataLoader`` (with its worker processes) and collation. It knows no
particular data set: those, with transforms, tokenizers and preprocessing, are ``cr.data``."""

from __future__ import annotations

from ..._package_dir import package_dir as _package_dir
from .dataloader import DataLoader, default_collate, default_convert
from .datapipes import (
    DataChunk,
    DFIterDataPipe,
    IterDataPipe,
    MapDataPipe,
    argument_validation,
    functional_datapipe,
    guaranteed_datapipes_determinism,
    non_deterministic,
    runtime_validation,
    runtime_validation_disabled,
)
from .dataset import (
    ConcatDataset,
    Dataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .distributed import DistributedSampler
from .iterable import ChainDataset, IterableDataset
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .worker import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DFIterDataPipe",
    "DataChunk",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "IterDataPipe",
    "IterableDataset",
    "MapDataPipe",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "argument_validation",
    "default_collate",
    "default_convert",
    "functional_datapipe",
    "get_worker_info",
    "guaranteed_datapipes_determinism",
    "non_deterministic",
    "random_split",
    "runtime_validation",
    "runtime_validation_disabled",
]

# dir(): the public names, not the submodules importing binds (see _package_dir)
# collate, iterable and worker: chainrule's public modules (tests/public_names.json)
__dir__ = _package_dir(
    globals(),
    (
        "collate",
        "dataloader",
        "datapipes",
        "dataset",
        "distributed",
        "iterable",
        "sampler",
        "worker",
    ),
)
