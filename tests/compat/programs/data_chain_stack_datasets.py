"""The dataset combinators of ``torch.utils.data`` as its reference page describes them
(https://pytorch.org/docs/stable/data.html): an ``IterableDataset`` that shards its range with
``torch.utils.data.get_worker_info()`` (the page's ``MyIterableDataset`` with ``per_worker =
int(math.ceil((self.end - self.start) / float(worker_info.num_workers)))``), two of them
chained by ``ChainDataset`` and loaded with ``DataLoader(..., batch_size=None)`` (automatic
batching off, so each element goes through ``default_convert``) and with ``batch_size=4``;
``StackDataset(image=..., label=...)`` giving dict samples that ``default_collate`` batches into
a dict; ``ConcatDataset`` with ``cumulative_sizes``; ``random_split(ds, [0.75, 0.25],
generator=torch.Generator().manual_seed(42))``; ``Subset``; ``default_convert`` on NumPy
arrays and a namedtuple; ``DataLoader(shuffle=True, generator=...)``.

Changed: NumPy features of 3 values for 16 samples; a linear model trained on each loader.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

Pair = namedtuple("Pair", ["x", "y"])


def make_model(torch_like: Any) -> Any:
    return torch_like.nn.Linear(3, 1)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    data = torch.utils.data
    rng = np.random.default_rng(6)
    feats = rng.standard_normal((16, 3))
    labels = feats @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(16)

    class MyIterableDataset(data.IterableDataset):
        def __init__(self, start: int, end: int) -> None:
            super().__init__()
            assert end > start, "this example code only works with end >= start"
            self.start, self.end = start, end

        def __iter__(self):
            worker_info = torch.utils.data.get_worker_info()
            if worker_info is None:  # single-process data loading, return the full iterator
                iter_start, iter_end = self.start, self.end
            else:
                per_worker = int(
                    math.ceil((self.end - self.start) / float(worker_info.num_workers))
                )
                worker_id = worker_info.id
                iter_start = self.start + worker_id * per_worker
                iter_end = min(iter_start + per_worker, self.end)
            return iter((feats[i], labels[i]) for i in range(iter_start, iter_end))

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    values: list[float] = []

    def step(x: Any, y: Any) -> None:
        loss = torch.nn.functional.mse_loss(model(x).squeeze(-1), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())

    chained = data.ChainDataset([MyIterableDataset(0, 6), MyIterableDataset(10, 14)])
    for x, y in data.DataLoader(chained, batch_size=None):
        values.append(float(torch.is_tensor(x)))
        step(x.unsqueeze(0), y.unsqueeze(0))
    for x, y in data.DataLoader(chained, batch_size=4):
        step(x, y)

    images = data.TensorDataset(as_tensor(torch_like, feats))
    stacked = data.StackDataset(
        image=as_tensor(torch_like, feats), label=as_tensor(torch_like, labels)
    )
    values.append(float(len(stacked)))
    for batch in data.DataLoader(stacked, batch_size=5):
        step(batch["image"], batch["label"])
    concat = data.ConcatDataset([images, data.Subset(images, [0, 2, 4])])
    values.extend(float(c) for c in concat.cumulative_sizes)
    train, val = data.random_split(
        stacked, [0.75, 0.25], generator=torch.Generator().manual_seed(42)
    )
    values.extend(float(i) for i in val.indices)
    loader = data.DataLoader(train, batch_size=4, shuffle=True,
                             generator=torch.Generator().manual_seed(0))  # fmt: skip
    for batch in loader:
        step(batch["image"], batch["label"])
    converted = data.default_convert(Pair(feats[:2], labels[:2]))
    values.append(float(isinstance(converted, Pair)))
    values.append(converted.x.sum().item() + converted.y.sum().item())
    collated = data.default_collate([Pair(feats[i], labels[i]) for i in range(3)])
    values.append(model(collated.x).sum().item())
    return values
