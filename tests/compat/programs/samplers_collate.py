"""The sampler-and-collate plumbing of imbalanced-classification and sequence-tagging scripts
(Kaggle kernels, the ``torchsampler``-style class-balancing recipe, the PyTorch forum's
"how do I pad variable-length sequences in a DataLoader" answer), size-reduced around a tiny
mean-of-embeddings classifier.

The idioms: a map-style ``Dataset`` returning ``(tokens, label)``; class weights
``1.0 / torch.bincount(labels)`` turned into per-sample weights ``class_weights[labels]`` for
``WeightedRandomSampler(weights, num_samples=len(weights), replacement=True,
generator=torch.Generator().manual_seed(...))`` and for ``replacement=False`` draws;
``SubsetRandomSampler`` over a train/validation split of indices; ``BatchSampler(sampler,
batch_size, drop_last=True | False)`` handed to ``DataLoader(batch_sampler=...)``; a custom
``collate_fn`` that sorts by length, pads with ``nn.utils.rnn.pad_sequence(batch_first=True,
padding_value=...)`` and builds a padding mask; ``random_split(dataset, [0.7, 0.2, 0.1],
generator=...)`` (fractional lengths, the remainder dealt round-robin); ``ConcatDataset`` of two
data sets with ``cumulative_sizes``; ``DataLoader(shuffle=True, generator=...)``.

Seeded samplers draw from each framework's own random stream (chainrule does not reproduce
PyTorch's generator), so for them only what the stream cannot change is compared: lengths,
the indices covered, zero-weight indices never drawn, a one-hot weight always drawn, and
that the same seed gives the same order again. Every order that does not depend on the stream
(sequential and batch samplers, explicit index lists, ``ConcatDataset`` indexing) and the
losses of the model trained through the deterministic loader are compared exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

N_ITEMS, VOCAB, EMBED, N_CLASSES, MAX_LEN = 13, 9, 4, 3, 6
PAD = 0


class TokenDataset:
    """Variable-length token sequences (1..MAX_LEN tokens) with an imbalanced label."""

    def __init__(self, torch_like: Any, seed: int, n: int = N_ITEMS) -> None:
        rng = np.random.default_rng(seed)
        self.torch = torch_like
        self.seqs = [rng.integers(1, VOCAB, rng.integers(1, MAX_LEN + 1)) for _ in range(n)]
        self.labels = np.array([0 if i % 4 else 1 + (i % 8 == 0) for i in range(n)])

    def __len__(self) -> int:
        return len(self.seqs)

    def __getitem__(self, idx: int) -> tuple[Any, int]:
        return self.torch.tensor(self.seqs[idx], dtype=self.torch.long), int(self.labels[idx])


class PadCollate:
    """``collate_fn`` of sequence scripts: longest first, padded, with lengths and a mask."""

    def __init__(self, torch_like: Any, padding_value: int = PAD) -> None:
        self.torch = torch_like
        self.padding_value = padding_value

    def __call__(self, batch: list[tuple[Any, int]]) -> dict[str, Any]:
        torch = self.torch
        batch = sorted(batch, key=lambda item: len(item[0]), reverse=True)
        seqs = [seq for seq, _ in batch]
        lengths = torch.tensor([len(seq) for seq in seqs], dtype=torch.long)
        padded = torch.nn.utils.rnn.pad_sequence(
            seqs, batch_first=True, padding_value=self.padding_value
        )
        mask = torch.arange(padded.size(1))[None, :] < lengths[:, None]
        labels = torch.tensor([label for _, label in batch])
        return {"tokens": padded, "lengths": lengths, "mask": mask, "labels": labels}


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class MeanEmbeddingClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, EMBED, padding_idx=PAD)
            self.head = nn.Linear(EMBED, N_CLASSES)

        def forward(self, tokens: Any, mask: Any) -> Any:
            h = self.embed(tokens) * mask.unsqueeze(-1)
            pooled = h.sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
            return self.head(pooled)

    return MeanEmbeddingClassifier()


def weighted_sampling(torch_like: Any, dataset: TokenDataset) -> list[float]:
    torch, data = torch_like, torch_like.utils.data
    labels = torch.tensor(dataset.labels)
    class_count = torch.bincount(labels, minlength=N_CLASSES)
    class_weights = 1.0 / class_count.double()
    sample_weights = class_weights[labels]
    out = [*class_count.tolist(), float(sample_weights.sum())]

    def draw(replacement: bool, num_samples: int, weights: Any, seed: int) -> list[int]:
        generator = torch.Generator().manual_seed(seed)
        sampler = data.WeightedRandomSampler(
            weights, num_samples=num_samples, replacement=replacement, generator=generator
        )
        assert len(sampler) == num_samples
        return list(sampler)

    drawn = draw(True, len(sample_weights), sample_weights, 7)
    assert drawn == draw(True, len(sample_weights), sample_weights, 7)  # same seed, same draw
    assert all(isinstance(i, int) for i in drawn) and all(0 <= i < N_ITEMS for i in drawn)
    out += [len(drawn)]
    # zero weight is never drawn; a one-hot weight is all that is drawn
    masked = sample_weights.clone()
    masked[::3] = 0.0
    assert all(i % 3 != 0 for i in draw(True, 40, masked, 3))
    one_hot = [0.0] * N_ITEMS
    one_hot[5] = 2.5
    out += draw(True, 4, one_hot, 11)
    # without replacement: distinct indices; drawing all non-zero ones gives exactly them
    distinct = draw(False, 6, sample_weights.tolist(), 1)
    assert len(set(distinct)) == 6
    nonzero = [i for i in range(N_ITEMS) if i % 3 != 0]
    out += sorted(draw(False, len(nonzero), masked, 2))
    return out


def subset_and_batch_samplers(torch_like: Any, dataset: TokenDataset) -> list[float]:
    torch, data = torch_like, torch_like.utils.data
    out: list[float] = []
    for drop_last in (False, True):
        batches = list(data.BatchSampler(data.SequentialSampler(dataset), 4, drop_last))
        assert len(batches) == len(data.BatchSampler(range(N_ITEMS), 4, drop_last))
        out += [len(batches), *(i for batch in batches for i in batch)]
        out += [-1.0, *map(len, batches)]
    indices = list(range(N_ITEMS))
    val_idx, train_idx = indices[::4], [i for i in indices if i % 4]
    train_sampler = data.SubsetRandomSampler(train_idx, generator=torch.Generator().manual_seed(5))
    order = list(train_sampler)
    assert sorted(order) == train_idx and len(train_sampler) == len(train_idx)
    again = list(data.SubsetRandomSampler(train_idx, generator=torch.Generator().manual_seed(5)))
    assert again == order
    batch_sampler = data.BatchSampler(train_sampler, batch_size=3, drop_last=True)
    loader = data.DataLoader(dataset, batch_sampler=batch_sampler, collate_fn=PadCollate(torch))
    sizes = [tuple(batch["tokens"].shape) for batch in loader]
    assert all(s[0] == 3 for s in sizes) and len(sizes) == len(train_idx) // 3
    out += [len(loader), float(len(sizes))]
    val_loader = data.DataLoader(
        dataset, sampler=val_idx, batch_size=2, collate_fn=PadCollate(torch, padding_value=-1)
    )
    for batch in val_loader:
        out += [*batch["tokens"].flatten().tolist(), *batch["lengths"].tolist()]
        out += [float(batch["mask"].sum()), *batch["labels"].tolist()]
    return out


def splits_and_concat(torch_like: Any, dataset: TokenDataset) -> list[float]:
    torch, data = torch_like, torch_like.utils.data
    out: list[float] = []
    generator = torch.Generator().manual_seed(42)
    train_set, val_set, test_set = data.random_split(dataset, [0.7, 0.2, 0.1], generator)
    parts = (train_set, val_set, test_set)
    out += [len(p) for p in parts]
    assert sorted(i for p in parts for i in p.indices) == list(range(N_ITEMS))
    tokens, label = val_set[0]
    assert label == dataset.labels[val_set.indices[0]]
    assert torch.equal(tokens, dataset[val_set.indices[0]][0])
    again = data.random_split(dataset, [0.7, 0.2, 0.1], torch.Generator().manual_seed(42))
    assert [p.indices for p in again] == [p.indices for p in parts]
    out += [len(p) for p in data.random_split(range(10), [0.34, 0.33, 0.33])]
    out += [len(p) for p in data.random_split(range(7), [2, 5])]

    extra = TokenDataset(torch, seed=9, n=5)
    combined = data.ConcatDataset([dataset, extra])
    out += [len(combined), *combined.cumulative_sizes]
    for idx in (0, N_ITEMS - 1, N_ITEMS, len(combined) - 1, -1, -6):
        tokens, label = combined[idx]
        out += [float(tokens.sum()), len(tokens), label]
    shuffled = data.DataLoader(
        combined,
        batch_size=5,
        shuffle=True,
        generator=torch.Generator().manual_seed(3),
        collate_fn=PadCollate(torch),
    )
    seen = [int(n) for batch in shuffled for n in batch["lengths"]]
    assert sorted(seen) == sorted(len(combined[i][0]) for i in range(len(combined)))
    out += [len(shuffled), float(sum(seen))]
    return out


def train(torch_like: Any, dataset: TokenDataset, init: dict | None) -> list[float]:
    torch, data, F = torch_like, torch_like.utils.data, torch_like.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    loader = data.DataLoader(dataset, batch_size=4, shuffle=False, collate_fn=PadCollate(torch))
    counts = torch.bincount(torch.tensor(dataset.labels))
    class_weights = 1.0 / counts.to(torch.get_default_dtype())
    out: list[float] = []
    for _epoch in range(3):
        for batch in loader:
            optimizer.zero_grad()
            logits = model(batch["tokens"], batch["mask"])
            loss = F.cross_entropy(logits, batch["labels"], weight=class_weights)
            loss.backward()
            optimizer.step()
            out += [loss.item(), *batch["tokens"].shape]
    return out


def run(torch_like: Any, init: dict | None) -> list[float]:
    dataset = TokenDataset(torch_like, seed=2)
    out = weighted_sampling(torch_like, dataset)
    out += subset_and_batch_samplers(torch_like, dataset)
    out += splits_and_concat(torch_like, dataset)
    out += train(torch_like, dataset, init)
    return out
