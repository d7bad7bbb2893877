"""Datasets, samplers and DataLoader: batching, shuffling reproducibility, collate, fast path."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


class ListDataset(Dataset):
    def __init__(self, items):
        self.items = items

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


def _xy(n=10):
    return TensorDataset(
        cr.tensor(np.arange(n * 3, dtype=np.float32).reshape(n, 3)), cr.tensor(np.arange(n))
    )


def test_tensor_dataset_item_and_len():
    ds = _xy()
    x, y = ds[4]
    assert len(ds) == 10
    np.testing.assert_array_equal(x.numpy(), [12, 13, 14])
    assert y.item() == 4
    with pytest.raises(ValueError, match="same size"):
        TensorDataset(cr.zeros(3, 2), cr.zeros(4))


@pytest.mark.parametrize("bs,drop_last", [(3, False), (3, True), (5, False), (20, False)])
def test_sequential_batches_match_torch(bs, drop_last):
    ds = _xy()
    tds = torch.utils.data.TensorDataset(torch.arange(30.0).reshape(10, 3), torch.arange(10))
    ours = list(DataLoader(ds, batch_size=bs, drop_last=drop_last))
    theirs = list(torch.utils.data.DataLoader(tds, batch_size=bs, drop_last=drop_last))
    assert len(ours) == len(theirs) == len(DataLoader(ds, batch_size=bs, drop_last=drop_last))
    for (x, y), (tx, ty) in zip(ours, theirs):
        np.testing.assert_array_equal(x.numpy(), tx.numpy())
        np.testing.assert_array_equal(y.numpy(), ty.numpy())
        assert isinstance(x, cr.Tensor)


def test_fast_path_equals_general_path():
    ds = _xy(23)
    cr.manual_seed(3)
    fast = list(DataLoader(ds, batch_size=4, shuffle=True))
    cr.manual_seed(3)
    slow = list(DataLoader(ds, batch_size=4, shuffle=True, collate_fn=lambda b: default_collate(b)))
    assert len(fast) == len(slow) == 6
    for (a, b), (c, d) in zip(fast, slow):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
        assert a.dtype == c.dtype and b.dtype == d.dtype


def test_fast_path_through_subset():
    ds = _xy(10)
    sub = Subset(ds, [9, 7, 5, 3])
    ((x, y),) = list(DataLoader(sub, batch_size=4))
    np.testing.assert_array_equal(y.numpy(), [9, 7, 5, 3])
    np.testing.assert_array_equal(x.numpy()[:, 0], [27, 21, 15, 9])


def test_subclass_overriding_getitem_is_respected():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2, y

    ((x, _),) = list(DataLoader(Doubled(cr.ones(3, 2), cr.zeros(3)), batch_size=3))
    np.testing.assert_array_equal(x.numpy(), np.full((3, 2), 2.0))


def test_shuffle_is_a_permutation_and_reproducible():
    ds = _xy(50)
    cr.manual_seed(0)
    e1 = np.concatenate([y.numpy() for _, y in DataLoader(ds, batch_size=8, shuffle=True)])
    e2 = np.concatenate([y.numpy() for _, y in DataLoader(ds, batch_size=8, shuffle=True)])
    cr.manual_seed(0)
    r1 = np.concatenate([y.numpy() for _, y in DataLoader(ds, batch_size=8, shuffle=True)])
    assert sorted(e1.tolist()) == list(range(50))
    assert not np.array_equal(e1, np.arange(50))
    assert not np.array_equal(e1, e2)  # each epoch a new order
    np.testing.assert_array_equal(e1, r1)


def test_shuffle_with_generator_and_epochs_differ():
    ds = _xy(30)
    loader = DataLoader(ds, batch_size=30, shuffle=True, generator=cr.Generator().manual_seed(7))
    a = next(iter(loader))[1].numpy()
    b = next(iter(loader))[1].numpy()
    loader2 = DataLoader(ds, batch_size=30, shuffle=True, generator=cr.Generator().manual_seed(7))
    np.testing.assert_array_equal(a, next(iter(loader2))[1].numpy())
    assert not np.array_equal(a, b)


def test_default_collate_types():
    b = default_collate([np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)])
    assert isinstance(b, cr.Tensor) and b.shape == (2, 2, 2) and b.dtype == np.float32
    assert default_collate([1, 2, 3]).dtype == np.int64
    assert default_collate([1.0, 2.0]).dtype == np.float64
    assert default_collate(["a", "b"]) == ["a", "b"]
    d = default_collate([{"x": 1.0, "y": (np.zeros(3), 2)}, {"x": 2.0, "y": (np.ones(3), 5)}])
    assert d["x"].tolist() == [1.0, 2.0]
    assert d["y"][0].shape == (2, 3) and d["y"][1].tolist() == [2, 5]
    P = namedtuple("P", "a b")
    p = default_collate([P(1, 2.0), P(3, 4.0)])
    assert isinstance(p, P) and p.a.tolist() == [1, 3]
    t = default_collate([cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])])
    assert t.shape == (2, 2)
    with pytest.raises(RuntimeError, match="same shape"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])


def test_default_collate_matches_torch_on_samples():
    samples = [(np.full((1, 2, 2), i, np.float32), i) for i in range(4)]
    ours = default_collate(samples)
    theirs = torch.utils.data.default_collate(samples)
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
    assert str(ours[1].dtype) == "torch.int64" and theirs[1].dtype == torch.int64


def test_custom_collate_fn_sampler_and_batch_sampler():
    ds = ListDataset(list(range(10)))
    out = list(DataLoader(ds, batch_size=4, collate_fn=lambda b: sum(b)))
    assert out == [6, 22, 17]
    out = list(DataLoader(ds, batch_size=2, sampler=[9, 8, 7], collate_fn=list))
    assert out == [[9, 8], [7]]
    bs = BatchSampler(SequentialSampler(ds), 3, drop_last=True)
    loader = DataLoader(ds, batch_sampler=bs, collate_fn=list)
    assert list(loader) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and len(loader) == 3
    assert list(DataLoader(ds, batch_size=None, sampler=[2, 1])) == [2, 1]


def test_argument_errors():
    ds = _xy()
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="positive integer"):
        DataLoader(ds, batch_size=0)


def test_samplers():
    ds = list(range(7))
    assert list(SequentialSampler(ds)) == list(range(7))
    s = RandomSampler(ds, generator=cr.Generator().manual_seed(1))
    assert sorted(s) == list(range(7)) and len(s) == 7
    s = RandomSampler(ds, replacement=True, num_samples=20, generator=cr.Generator())
    draws = list(s)
    assert len(draws) == 20 and all(0 <= d < 7 for d in draws)
    assert len(BatchSampler(range(7), 3, False)) == 3
    assert list(BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]


def test_random_split_lengths_fractions_and_reproducible():
    ds = ListDataset(list(range(10)))
    a, b = random_split(ds, [7, 3], generator=cr.Generator().manual_seed(0))
    assert len(a) == 7 and len(b) == 3
    assert sorted([a[i] for i in range(7)] + [b[i] for i in range(3)]) == list(range(10))
    a2, _ = random_split(ds, [7, 3], generator=cr.Generator().manual_seed(0))
    assert a.indices == a2.indices
    parts = random_split(ds, [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    parts = random_split(ListDataset(list(range(11))), [0.5, 0.5])
    assert [len(p) for p in parts] == [6, 5]  # remainder handed out round-robin, as torch
    with pytest.raises(ValueError, match="does not equal"):
        random_split(ds, [3, 3])


def test_concat_dataset():
    c = ConcatDataset([ListDataset([0, 1]), ListDataset([2, 3, 4])])
    assert len(c) == 5 and [c[i] for i in range(5)] == [0, 1, 2, 3, 4] and c[-1] == 4
    with pytest.raises(IndexError):
        c[5]
    assert len(ListDataset([1]) + ListDataset([2])) == 2


def test_fast_path_is_faster_than_per_sample():
    import time

    n = 20000
    ds = TensorDataset(np.random.rand(n, 784).astype(np.float32), np.zeros(n, np.int64))
    t0 = time.perf_counter()
    for _ in DataLoader(ds, batch_size=128, shuffle=True):
        pass
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in DataLoader(ds, batch_size=128, shuffle=True, collate_fn=default_collate.__call__):
        pass
    slow = time.perf_counter() - t0
    assert fast < slow
