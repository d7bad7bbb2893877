"""The ``torch.utils.data`` idioms of a modern training script, around a small sequence model.

A map-style ``Dataset`` of variable-length token sequences is split with ``random_split(...,
generator=torch.Generator().manual_seed(42))`` (fractions and lengths), joined with a
``TensorDataset`` view of the same data through ``ConcatDataset``, sampled with
``WeightedRandomSampler`` (class-balancing weights) and ``SubsetRandomSampler``, and batched by
a ``collate_fn`` built on ``nn.utils.rnn.pad_sequence`` (which also reports, through
``get_worker_info``, the worker that built each batch: worker ``i % num_workers`` builds batch
``i``, in both frameworks). The training loader is
``DataLoader(num_workers=2, persistent_workers=True, pin_memory=True, drop_last=True,
worker_init_fn=seed_worker)``, iterated with ``enumerate`` for two epochs.

Seeded samplers draw from each framework's own stream, so for them only what does not depend
on the stream is compared: lengths, the set of indices seen, batch shapes, which indices a
zero weight keeps out. The sequential loaders' padded batches and the losses of the model
trained on them are compared exactly.
"""

from __future__ import annotations

import functools
import random
import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

N_SEQ, VOCAB, EMBED, N_CLASSES, MAX_LEN = 20, 11, 6, 3, 7
BATCH, TRAIN_BATCH = 4, 6  # 2 * N_SEQ = 40 samples: drop_last drops 4 of them per epoch


class SequenceDataset:
    """Token sequences of lengths 2..MAX_LEN and a label; NumPy inside, tensors out.

    Defined at module level (with ``torch_like`` held as a module, which pickles by name) so
    that worker processes can receive it.
    """

    def __init__(self, torch_like: Any, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.torch_like = torch_like
        self.seqs = [rng.integers(1, VOCAB, rng.integers(2, MAX_LEN + 1)) for _ in range(N_SEQ)]
        self.labels = rng.integers(0, N_CLASSES, N_SEQ)

    def __len__(self) -> int:
        return len(self.seqs)

    def __getitem__(self, idx: int) -> tuple[Any, Any, int]:
        seq = self.torch_like.as_tensor(self.seqs[idx], dtype=self.torch_like.long)
        return seq, self.torch_like.tensor(int(self.labels[idx])), idx


def pad_collate(torch_like: Any, batch: list) -> tuple[Any, Any, Any, Any, int]:
    """``collate_fn``: pad the sequences to the batch's longest, keep lengths and indices, and
    say which worker collated the batch (-1: the main process)."""
    seqs, labels, idx = zip(*batch)
    lengths = torch_like.tensor([len(s) for s in seqs])
    padded = torch_like.nn.utils.rnn.pad_sequence(list(seqs), batch_first=True, padding_value=0)
    info = torch_like.utils.data.get_worker_info()
    worker = -1 if info is None else info.id
    return padded, lengths, torch_like.stack(labels), torch_like.tensor(idx), worker


def seed_worker(torch_like: Any, worker_id: int) -> None:
    """The reproducibility recipe of PyTorch's notes: seed NumPy and ``random`` per worker."""
    worker_seed = torch_like.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)
    info = torch_like.utils.data.get_worker_info()
    assert info is not None and info.id == worker_id and info.num_workers == 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class BagClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, EMBED, padding_idx=0)
            self.fc = nn.Linear(EMBED, N_CLASSES)

        def forward(self, padded: Any, lengths: Any) -> Any:
            summed = self.embedding(padded).sum(dim=1)
            return self.fc(summed / lengths.unsqueeze(1).to(summed.dtype))

    return BagClassifier()


def _sampler_facts(torch_like: Any, dataset: SequenceDataset) -> list[float]:
    """What seeded splitting and sampling guarantee, whatever the random stream."""
    data = torch_like.utils.data
    facts: list[float] = []
    generator = torch_like.Generator().manual_seed(42)
    train_set, val_set = data.random_split(dataset, [0.8, 0.2], generator=generator)
    assert sorted(train_set.indices + val_set.indices) == list(range(N_SEQ))
    facts += [len(train_set), len(val_set)]
    parts = data.random_split(range(10), [3, 3, 4], generator=torch_like.Generator().manual_seed(0))
    assert sorted(i for part in parts for i in part) == list(range(10))
    facts += [len(p) for p in parts]

    counts = np.bincount(dataset.labels, minlength=N_CLASSES)
    weights = [0.0 if i % 5 == 0 else 1.0 / counts[y] for i, y in enumerate(dataset.labels)]
    sampler = data.WeightedRandomSampler(weights, num_samples=30, replacement=True)
    drawn = list(sampler)
    assert all(i % 5 != 0 for i in drawn), drawn
    facts += [len(sampler), len(drawn)]
    no_repeat = data.WeightedRandomSampler(weights, num_samples=8, replacement=False)
    assert len(set(no_repeat)) == 8

    chosen = [1, 4, 6, 9, 13, 17]
    subset_sampler = data.SubsetRandomSampler(chosen, generator=torch_like.Generator())
    loader = data.DataLoader(
        dataset,
        batch_size=BATCH,
        sampler=subset_sampler,
        collate_fn=functools.partial(pad_collate, torch_like),
    )
    seen = []
    for padded, lengths, _labels, idx, worker in loader:
        assert padded.shape[1] == int(lengths.max()) and worker == -1
        seen += idx.tolist()
    assert sorted(seen) == chosen
    facts += [len(loader), len(seen)]

    shuffled = data.DataLoader(
        val_set, batch_size=2, shuffle=True, collate_fn=list, generator=generator
    )
    facts.append(sum(len(batch) for batch in shuffled))
    return facts


def run(torch_like: Any, init: dict | None) -> list[float]:
    data, F = torch_like.utils.data, torch_like.nn.functional
    dataset = SequenceDataset(torch_like, seed=4)
    out = _sampler_facts(torch_like, dataset)

    # ConcatDataset of the sequence dataset and a TensorDataset of fixed-length prefixes.
    prefixes = torch_like.as_tensor(np.stack([s[:2] for s in dataset.seqs]))
    labels = torch_like.as_tensor(dataset.labels)
    positions = torch_like.arange(N_SEQ) + N_SEQ
    tensor_set = data.TensorDataset(prefixes, labels, positions)
    combined = data.ConcatDataset([dataset, tensor_set])
    assert len(combined) == 2 * N_SEQ and combined.cumulative_sizes == [N_SEQ, 2 * N_SEQ]
    first, last = combined[3], combined[2 * N_SEQ - 1]
    out += [float(first[0].sum()), int(last[2]), float(last[0].sum())]

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch_like.optim.Adam(model.parameters(), lr=0.05)
    with warnings.catch_warnings():  # no accelerator here: pin_memory warns and does nothing
        warnings.filterwarnings("ignore", message=".*pin_memory.*")
        loader = data.DataLoader(
            combined,
            batch_size=TRAIN_BATCH,
            shuffle=False,
            num_workers=2,
            persistent_workers=True,
            pin_memory=True,
            drop_last=True,
            worker_init_fn=functools.partial(seed_worker, torch_like),
            collate_fn=functools.partial(pad_collate, torch_like),
        )
        assert len(loader) == 2 * N_SEQ // TRAIN_BATCH
        model.train()
        for _epoch in range(2):
            for step, (padded, lengths, targets, idx, worker) in enumerate(loader):
                optimizer.zero_grad()
                loss = F.cross_entropy(model(padded, lengths), targets)
                loss.backward()
                optimizer.step()
                out += [loss.item(), float(padded.sum()), *padded.shape, int(idx[0]), step, worker]
    return out
