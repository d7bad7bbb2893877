"""Data sharding and length bucketing as multi-process training scripts write them, run for
each rank in one process: ``DistributedSampler(dataset, num_replicas=world_size, rank=rank,
shuffle=True, seed=args.seed, drop_last=False)`` with ``train_sampler.set_epoch(epoch)`` at the
top of each epoch (the ImageNet reference ``main.py`` and the DDP tutorial), the padding it adds
to make the shards equal and ``len(sampler)``; ``DistributedSampler(..., shuffle=False)`` for
evaluation; a length-bucketing ``BatchSampler`` subclass over a ``DistributedSampler`` (the
``DistributedBucketSampler`` of VITS' ``data_utils.py``: ``lengths`` sorted into
``boundaries``, ``torch.Generator()`` seeded with ``self.epoch``,
``torch.randperm(len(bucket), generator=g).tolist()``, ``ids_bucket + ids_bucket * (rem //
len_bucket) + ids_bucket[:(rem % len_bucket)]``, ``ids_bucket[self.rank::self.num_replicas]``)
fed to ``DataLoader(batch_sampler=...)`` with a padding ``collate_fn``
(``torch.LongTensor(len(batch))``, ``ids_sorted_decreasing = torch.sort(torch.LongTensor([len(x[0])
for x in batch]), dim=0, descending=True)``); ``RandomSampler(replacement=True,
num_samples=..., generator=...)``.

Changed: 22 token sequences of length 2-9 from NumPy, two ranks simulated one after the other
(gradients averaged by hand as DDP would), an ``nn.EmbeddingBag`` mean model, two epochs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

V, N, WORLD = 10, 22, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.EmbeddingBag(V, 6, mode="mean"), nn.Linear(6, 2))


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    data = torch.utils.data
    rng = np.random.default_rng(41)
    seqs = [rng.integers(0, V, int(n)).tolist() for n in rng.integers(2, 10, N)]
    labels = rng.integers(0, 2, N).tolist()

    class TextDataset(data.Dataset):
        def __init__(self) -> None:
            self.lengths = [len(s) for s in seqs]

        def __len__(self) -> int:
            return len(seqs)

        def __getitem__(self, i: int) -> tuple[Any, int]:
            return torch.LongTensor(seqs[i]), labels[i]

    class DistributedBucketSampler(data.distributed.DistributedSampler):
        def __init__(self, dataset: Any, batch_size: int, boundaries: list, num_replicas: int,
                     rank: int, shuffle: bool = True) -> None:  # fmt: skip
            super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle)
            self.lengths = dataset.lengths
            self.batch_size = batch_size
            self.boundaries = boundaries
            self.buckets, self.num_samples_per_bucket = self._create_buckets()
            self.total_size = sum(self.num_samples_per_bucket)
            self.num_samples = self.total_size // self.num_replicas

        def _create_buckets(self) -> tuple[list, list]:
            buckets = [[] for _ in range(len(self.boundaries) - 1)]
            for i in range(len(self.lengths)):
                length = self.lengths[i]
                idx_bucket = self._bisect(length)
                if idx_bucket != -1:
                    buckets[idx_bucket].append(i)
            for i in range(len(buckets) - 1, 0, -1):
                if len(buckets[i]) == 0:
                    buckets.pop(i)
                    self.boundaries.pop(i + 1)
            num_samples_per_bucket = []
            for i in range(len(buckets)):
                len_bucket = len(buckets[i])
                total_batch_size = self.num_replicas * self.batch_size
                rem = (total_batch_size - (len_bucket % total_batch_size)) % total_batch_size
                num_samples_per_bucket.append(len_bucket + rem)
            return buckets, num_samples_per_bucket

        def __iter__(self):
            g = torch.Generator()
            g.manual_seed(self.epoch)
            indices = []
            if self.shuffle:
                for bucket in self.buckets:
                    indices.append(torch.randperm(len(bucket), generator=g).tolist())
            else:
                for bucket in self.buckets:
                    indices.append(list(range(len(bucket))))
            batches = []
            for i in range(len(self.buckets)):
                bucket = self.buckets[i]
                len_bucket = len(bucket)
                ids_bucket = indices[i]
                num_samples_bucket = self.num_samples_per_bucket[i]
                rem = num_samples_bucket - len_bucket
                ids_bucket = ids_bucket + ids_bucket * (rem // len_bucket) + ids_bucket[
                    : (rem % len_bucket)]  # fmt: skip
                ids_bucket = ids_bucket[self.rank :: self.num_replicas]
                for j in range(len(ids_bucket) // self.batch_size):
                    batch = [
                        bucket[idx]
                        for idx in ids_bucket[j * self.batch_size : (j + 1) * self.batch_size]
                    ]
                    batches.append(batch)
            if self.shuffle:
                batch_ids = torch.randperm(len(batches), generator=g).tolist()
                batches = [batches[i] for i in batch_ids]
            self.batches = batches
            return iter(self.batches)

        def _bisect(self, x: int, lo: int = 0, hi: Any = None) -> int:
            if hi is None:
                hi = len(self.boundaries) - 1
            if hi > lo:
                mid = (hi + lo) // 2
                if self.boundaries[mid] < x and x <= self.boundaries[mid + 1]:
                    return mid
                elif x <= self.boundaries[mid]:
                    return self._bisect(x, lo, mid)
                else:
                    return self._bisect(x, mid + 1, hi)
            return -1

        def __len__(self) -> int:
            return self.num_samples // self.batch_size

    def collate(batch: list) -> tuple[Any, Any, Any]:
        _, ids_sorted_decreasing = torch.sort(
            torch.LongTensor([len(x[0]) for x in batch]), dim=0, descending=True
        )
        flat, offsets, ys = [], [], torch.LongTensor(len(batch))
        for i in range(len(ids_sorted_decreasing)):
            text, y = batch[ids_sorted_decreasing[i]]
            offsets.append(sum(len(t) for t in flat))
            flat.append(text)
            ys[i] = y
        return torch.cat(flat), torch.tensor(offsets), ys

    dataset = TextDataset()
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    values: list[float] = []
    samplers = [data.distributed.DistributedSampler(dataset, num_replicas=WORLD, rank=r,
                                                    shuffle=True, seed=3, drop_last=False)
                for r in range(WORLD)]  # fmt: skip
    buckets = [DistributedBucketSampler(dataset, 2, [1, 4, 6, 9], WORLD, r) for r in range(WORLD)]
    values += [float(len(samplers[0])), float(len(buckets[0]))]
    for epoch in range(2):
        for r in range(WORLD):
            samplers[r].set_epoch(epoch)
            buckets[r].set_epoch(epoch)
        values += [float(i) for r in range(WORLD) for i in samplers[r]]
        loaders = [data.DataLoader(dataset, batch_sampler=buckets[r], collate_fn=collate)
                   for r in range(WORLD)]  # fmt: skip
        for batches in zip(*loaders):
            opt.zero_grad()
            for text, offsets, ys in batches:
                loss = torch.nn.functional.cross_entropy(model[1](model[0](text, offsets)), ys)
                (loss / WORLD).backward()  # DDP averages the ranks' gradients
                values.append(loss.item())
            opt.step()
    evaluation = data.distributed.DistributedSampler(dataset, num_replicas=WORLD, rank=1,
                                                     shuffle=False)  # fmt: skip
    values += [float(i) for i in evaluation]
    replacement = data.RandomSampler(dataset, replacement=True, num_samples=7,
                                     generator=torch.Generator().manual_seed(5))  # fmt: skip
    values += [float(i) for i in replacement]
    return values
