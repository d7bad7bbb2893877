"""``StackDataset`` and the ``__getitems__`` batch protocol, against torch.utils.data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _datasets(t: Any) -> tuple:
    a = t.utils.data.TensorDataset(t.arange(6))
    b = t.utils.data.TensorDataset(t.arange(6) * 10, t.arange(6) * 100)
    return a, b


def _plain(x: Any) -> Any:
    """Nested tuples/lists/dicts of tensors as plain Python numbers, for comparison."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_plain(v) for v in x)
    return np.asarray(x).tolist()


@pytest.mark.parametrize("named", [False, True])
def test_samples_batches_and_loader_match_torch(named):
    results = []
    for t in (torch, cr):
        a, b = _datasets(t)
        ds = t.utils.data.StackDataset(x=a, y=b) if named else t.utils.data.StackDataset(a, b)
        loader = t.utils.data.DataLoader(ds, batch_size=4, shuffle=False)
        results.append(
            (len(ds), _plain(ds[2]), _plain(ds.__getitems__([0, 5])), _plain(list(loader)))
        )
    assert results[0] == results[1]


@pytest.mark.parametrize(
    "make",
    [
        lambda t, a, b: t.utils.data.StackDataset(),
        lambda t, a, b: t.utils.data.StackDataset(a, y=b),
        lambda t, a, b: t.utils.data.StackDataset(a, t.utils.data.TensorDataset(t.arange(4))),
    ],
    ids=["none", "both-kinds", "lengths-differ"],
)
def test_bad_stacks_raise_value_error_as_torch(make):
    for t in (torch, cr):
        with pytest.raises(ValueError):
            make(t, *_datasets(t))


class _Batched:
    """A dataset that builds whole batches (``__getitems__``) and counts its calls."""

    def __init__(self, t: Any):
        self.t, self.calls = t, []

    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int) -> Any:
        raise AssertionError("the loader must use __getitems__")

    def __getitems__(self, indices: list) -> list:
        self.calls.append(list(indices))
        return [self.t.tensor([float(i)]) for i in indices]


def test_loader_asks_a_batching_dataset_for_whole_batches_as_torch():
    outs = []
    for t in (torch, cr):
        ds = _Batched(t)
        subset = t.utils.data.Subset(ds, [4, 3, 2, 1])
        batches = list(t.utils.data.DataLoader(subset, batch_size=3))
        outs.append((ds.calls, _plain(batches)))
    assert outs[0] == outs[1]
    assert outs[1][0] == [[4, 3, 2], [1]]
