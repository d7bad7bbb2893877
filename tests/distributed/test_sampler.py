"""DistributedSampler against torch's: padding, dropping and striding, for every rank."""

import numpy as np
import pytest
import torch
from torch.utils.data import DistributedSampler as TorchSampler

import chainrule as cr
from chainrule.utils.data import DataLoader, DistributedSampler, TensorDataset


@pytest.mark.parametrize("n", [1, 5, 10, 11, 12])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_matches_torch(n, replicas, drop_last):
    data = list(range(n))
    for rank in range(replicas):
        ours = DistributedSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs) == ours.num_samples
        assert ours.total_size == theirs.total_size


@pytest.mark.parametrize("n,replicas", [(10, 3), (7, 2), (2, 5)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_shuffled_shares_cover_one_permutation(n, replicas, drop_last):
    """Our permutation differs from torch's randperm, but the shares are built from it the
    same way: interleaving the ranks' shares gives the padded/cut permutation."""
    data = list(range(n))
    shares = [
        list(DistributedSampler(data, replicas, r, seed=3, drop_last=drop_last))
        for r in range(replicas)
    ]
    lengths = {len(s) for s in shares}
    torch_len = len(TorchSampler(data, replicas, 0, drop_last=drop_last))
    assert lengths == {torch_len}
    interleaved = [s[i] for i in range(torch_len) for s in shares]
    if drop_last:
        assert len(set(interleaved)) == len(interleaved)  # no padding, no repeats
    else:
        head = interleaved[:n]
        assert sorted(head) == data  # one permutation, then its start repeated as padding
        assert interleaved[n:] == (head * (1 + len(interleaved) // n))[: len(interleaved) - n]


def test_epochs_and_seed():
    data = list(range(20))
    a = DistributedSampler(data, 2, 0, seed=1)
    b = DistributedSampler(data, 2, 0, seed=1)
    assert list(a) == list(b)  # same seed and epoch: same order on every rank
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)
    assert list(DistributedSampler(data, 2, 0, seed=2)) != first


def test_with_dataloader():
    x = cr.arange(10).float().reshape(10, 1)
    ds = TensorDataset(x)
    seen = []
    for rank in range(2):
        loader = DataLoader(
            ds, batch_size=2, sampler=DistributedSampler(ds, 2, rank, shuffle=False)
        )
        seen.append([int(v) for (b,) in loader for v in b.data.numpy().ravel()])
    ref = [
        [
            int(v)
            for (b,) in torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(torch.arange(10.0).reshape(10, 1)),
                batch_size=2,
                sampler=TorchSampler(range(10), 2, rank, shuffle=False),
            )
            for v in b.ravel()
        ]
        for rank in range(2)
    ]
    assert seen == ref
    assert np.array_equal(sorted(seen[0] + seen[1]), np.arange(10))


def test_errors():
    with pytest.raises(
        ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"
    ):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        DistributedSampler(range(4), num_replicas=2, rank=-1)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedSampler(range(4))
