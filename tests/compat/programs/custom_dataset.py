"""A hand-written ``Dataset`` (``__len__``/``__getitem__`` returning a dict of a NumPy array, an
int and a transform applied per sample) fed through ``DataLoader(num_workers=2, drop_last=True)``
with the default collate (NumPy arrays and ints become batched tensors), a ``Subset`` split,
gradient accumulation over two micro-batches and an ``@no_grad()``-decorated evaluation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

N_FEATURES, N_CLASSES = 6, 3


def standardize(sample: np.ndarray) -> np.ndarray:
    """The per-sample transform a dataset applies in ``__getitem__``."""
    return (sample - sample.mean()) / (sample.std() + 1e-6)


class PointsDataset:
    """Points and labels kept as NumPy arrays; defined at module level so workers can pickle it.

    It subclasses nothing framework-specific on purpose: ``DataLoader`` only needs the
    ``__len__``/``__getitem__`` protocol (a map-style dataset), in PyTorch and in chainrule.
    """

    def __init__(self, n: int, seed: int, transform: Any = None) -> None:
        rng = np.random.default_rng(seed)
        self.points = rng.standard_normal((n, N_FEATURES))
        self.labels = rng.integers(0, N_CLASSES, n)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, idx: int) -> dict:
        point = self.points[idx]
        if self.transform is not None:
            point = self.transform(point)
        return {"point": point, "label": int(self.labels[idx])}


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(N_FEATURES, 10), nn.ReLU(), nn.Linear(10, N_CLASSES))


def run(torch_like: Any, init: dict | None) -> list[float]:
    data = torch_like.utils.data
    dataset = PointsDataset(22, seed=15, transform=standardize)
    train_set, val_set = data.Subset(dataset, range(16)), data.Subset(dataset, range(16, 22))
    train_loader = data.DataLoader(train_set, batch_size=3, num_workers=2, drop_last=True)
    val_loader = data.DataLoader(val_set, batch_size=4)
    assert len(train_loader) == 5 and len(val_loader) == 2

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    criterion = torch_like.nn.CrossEntropyLoss()
    optimizer = torch_like.optim.RMSprop(model.parameters(), lr=0.01, momentum=0.5)
    accumulation = 2

    @torch_like.no_grad()
    def evaluate() -> float:
        model.eval()
        total = sum(
            criterion(model(b["point"]), b["label"]).item() * len(b["label"]) for b in val_loader
        )
        model.train()
        return total / len(val_set)

    losses = []
    model.train()
    optimizer.zero_grad()
    for i, batch in enumerate(train_loader):
        assert batch["point"].dtype == torch_like.float64
        assert batch["label"].dtype == torch_like.int64
        loss = criterion(model(batch["point"]), batch["label"]) / accumulation
        loss.backward()
        if (i + 1) % accumulation == 0:
            optimizer.step()
            optimizer.zero_grad()
        losses.append(loss.item())
    return [*losses, evaluate()]
