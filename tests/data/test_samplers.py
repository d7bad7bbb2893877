"""Samplers, dataset combinators and default_collate, checked against torch.utils.data."""

from __future__ import annotations

import collections
import itertools
import tracemalloc

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import chainrule as cr
from chainrule.utils import data as crd


def test_random_sampler_with_replacement_draws_lazily():
    sampler = crd.RandomSampler(
        range(7), replacement=True, num_samples=10**10, generator=cr.Generator().manual_seed(0)
    )
    assert len(sampler) == len(tud.RandomSampler(range(7), replacement=True, num_samples=10**10))
    tracemalloc.start()
    first = list(itertools.islice(iter(sampler), 1000))
    batches = list(itertools.islice(iter(crd.BatchSampler(sampler, 64, False)), 10))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20  # a few blocks of indices, not 74.5 GiB
    assert all(0 <= i < 7 for i in first) and len(set(first)) == 7
    assert all(len(b) == 64 for b in batches)
    loader = crd.DataLoader(crd.TensorDataset(cr.arange(7.0)), batch_size=4, sampler=sampler)
    assert len(loader) == 10**10 // 4
    assert next(iter(loader))[0].shape == (4,)


def test_random_sampler_without_replacement_num_samples_beyond_length():
    s = crd.RandomSampler(range(5), num_samples=12, generator=cr.Generator().manual_seed(1))
    idx = list(s)
    assert (
        len(idx) == 12 and sorted(idx[:5]) == list(range(5)) and sorted(idx[5:10]) == list(range(5))
    )
    assert len(s) == len(tud.RandomSampler(range(5), num_samples=12))


def test_weighted_random_sampler_frequencies_and_zero_weights():
    w = [0.0, 1.0, 0.0, 3.0]
    s = crd.WeightedRandomSampler(w, 40000, generator=cr.Generator().manual_seed(0))
    counts = collections.Counter(s)
    assert set(counts) == {1, 3}
    assert abs(counts[3] / 40000 - 0.75) < 0.02
    assert len(s) == len(tud.WeightedRandomSampler(w, 40000))
    no_rep = list(crd.WeightedRandomSampler(cr.tensor([1.0, 2.0, 3.0, 4.0]), 4, replacement=False))
    assert sorted(no_rep) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (([1.0, 2.0], 0), {}),
        (([1.0, 2.0], 2), {"replacement": 1}),
        (([[1.0, 2.0]], 2), {}),
    ],
)
def test_weighted_random_sampler_errors_match_torch(args, kwargs):
    with pytest.raises(ValueError):
        tud.WeightedRandomSampler(*args, **kwargs)
    with pytest.raises(ValueError):
        crd.WeightedRandomSampler(*args, **kwargs)


def test_weighted_random_sampler_invalid_distributions():
    # as PyTorch's: the constructor accepts them, drawing (multinomial) raises
    for lib in (crd, tud):
        bad = lib.WeightedRandomSampler([1.0, -1.0], 2)
        with pytest.raises(RuntimeError, match="non-negative|< 0"):
            list(bad)
        many = lib.WeightedRandomSampler([1.0, 0.0], 3, replacement=False)
        with pytest.raises(RuntimeError, match="without replacement"):
            list(many)


def test_subset_random_sampler_and_batch_sampler_match_torch():
    s = crd.SubsetRandomSampler([3, 8, 9, 11], generator=cr.Generator().manual_seed(2))
    assert sorted(s) == [3, 8, 9, 11] and len(s) == 4
    for drop_last in (False, True):
        ours = list(crd.BatchSampler(crd.SequentialSampler(range(10)), 3, drop_last))
        ref = list(tud.BatchSampler(tud.SequentialSampler(range(10)), 3, drop_last))
        assert ours == ref
        assert len(crd.BatchSampler(range(10), 3, drop_last)) == len(
            tud.BatchSampler(range(10), 3, drop_last)
        )
    # a plain iterable (even a generator) works as the sampler of a BatchSampler
    assert list(crd.BatchSampler(iter(range(5)), 2, False)) == [[0, 1], [2, 3], [4]]


def test_concat_chain_subset_match_torch():
    a, b = list(range(4)), list(range(10, 13))
    ours, ref = crd.ConcatDataset([a, b]), tud.ConcatDataset([a, b])
    assert [ours[i] for i in range(-7, 7)] == [ref[i] for i in range(-7, 7)]
    assert ours.cumulative_sizes == ref.cumulative_sizes

    class S(crd.IterableDataset):
        def __init__(self, r):
            self.r = r

        def __iter__(self):
            return iter(self.r)

        def __len__(self):
            return len(self.r)

    chain = crd.ChainDataset([S(range(3)), S(range(5, 7))])
    assert list(chain) == [0, 1, 2, 5, 6] and len(chain) == 5
    assert list(S(range(2)) + S(range(3))) == [0, 1, 0, 1, 2]
    with pytest.raises(TypeError, match="IterableDataset"):
        list(crd.ChainDataset([a]))
    sub = crd.Subset(a + b, [6, 0, 2])
    assert [sub[i] for i in range(3)] == [tud.Subset(a + b, [6, 0, 2])[i] for i in range(3)]


def test_iterable_dataset_rules_match_torch():
    class S(crd.IterableDataset):
        def __iter__(self):
            return iter(range(5))

    with pytest.raises(TypeError):
        len(S())
    for kwargs in ({"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}):
        with pytest.raises(ValueError, match="IterableDataset"):
            crd.DataLoader(S(), **kwargs)
    assert [b.tolist() for b in crd.DataLoader(S(), batch_size=2)] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in crd.DataLoader(S(), batch_size=2, drop_last=True)] == [
        [0, 1],
        [2, 3],
    ]


@pytest.mark.parametrize(
    "fractions", [[0.7, 0.3], [0.5, 0.25, 0.25], [0.34, 0.33, 0.33], [0.1, 0.9]]
)
def test_random_split_fractions_lengths_match_torch(fractions):
    for n in (10, 11, 7):
        ours = crd.random_split(list(range(n)), fractions, generator=cr.Generator().manual_seed(0))
        ref = tud.random_split(
            list(range(n)), fractions, generator=torch.Generator().manual_seed(0)
        )
        assert [len(s) for s in ours] == [len(s) for s in ref]
        assert sorted(i for s in ours for i in s.indices) == list(range(n))


Point = collections.namedtuple("Point", ["x", "y"])


def _same(ours, ref):
    if isinstance(ref, torch.Tensor):
        assert isinstance(ours, cr.Tensor)
        assert str(ours.dtype) == str(ref.dtype)
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    elif isinstance(ref, dict):
        assert isinstance(ours, dict) and list(ours) == list(ref)
        for k in ref:
            _same(ours[k], ref[k])
    elif isinstance(ref, (list, tuple)):
        assert type(ours) is type(ref) and len(ours) == len(ref)
        for o, r in zip(ours, ref):
            _same(o, r)
    else:
        assert ours == ref


@pytest.mark.parametrize(
    "batch",
    [
        [{"a": 1, "b": 2.5}, {"a": 3, "b": -1.0}],
        [(np.ones(2, np.float32), 1), (np.zeros(2, np.float32), 0)],
        [Point(1.0, np.int64(2)), Point(3.0, np.int64(4))],
        [[1, 2], [3, 4]],
        [True, False],
        [np.float32(1.5), np.float32(2.5)],
        [
            {"img": np.arange(6.0).reshape(2, 3), "label": "cat"},
            {"img": np.ones((2, 3)), "label": "dog"},
        ],
    ],
)
def test_default_collate_matches_torch(batch):
    _same(crd.default_collate(batch), tud.default_collate(batch))


def test_default_collate_tensors_and_errors():
    out = crd.default_collate([cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])])
    ref = tud.default_collate([torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])])
    _same(out, ref)
    with pytest.raises(RuntimeError, match="same shape"):
        crd.default_collate([cr.ones(2), cr.ones(3)])
    with pytest.raises(TypeError, match="default_collate"):
        crd.default_collate([object(), object()])


@pytest.mark.parametrize(
    "sample",
    [
        (np.ones(2), 1),
        [np.ones(1, np.float32)],
        {"a": np.float32(2.0), "b": "text"},
        Point(np.arange(3), 2),
        3.0,
    ],
)
def test_default_convert_matches_torch(sample):
    _same(crd.default_convert(sample), tud.default_convert(sample))


def test_unbatched_loader_converts_arrays_like_torch():
    ours = list(crd.DataLoader([np.ones(2), np.zeros(2)], batch_size=None))
    ref = list(tud.DataLoader([np.ones(2), np.zeros(2)], batch_size=None))
    for o, r in zip(ours, ref):
        _same(o, r)
