"""Gaps found by the session-25 (batch d) drop-in programs (``samplers_collate``,
``schedulers_composed``, ``distributions_zoo``, ``metrics_from_scratch``,
``module_state_hooks``), each checked against PyTorch.

The five programs matched PyTorch as first written; probing the ``torch.utils.data`` idioms
of ``samplers_collate`` around them found these differences, now closed:

- ``WeightedRandomSampler(replacement=False)`` asked for more indices than there are positive
  weights raised; PyTorch (through ``torch.multinomial``) draws the positive-weight indices
  first and then the zero-weight ones, and raises only past ``len(weights)``.
- ``random_split`` with fractions did not warn about a split of length 0.
- ``default_collate`` turned the strings of a field of tuple samples into a list; PyTorch
  keeps them as the tuple the transposition gives (``names + ('z',)`` works in both).
- error types: ``BatchSampler(drop_last=1)`` (ValueError), ``ConcatDataset`` with a negative
  index past the start (ValueError), ``pad_sequence(padding_side='middle')`` (RuntimeError).
"""

from __future__ import annotations

import collections
import warnings
from typing import Any

import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_weighted_sampler_without_replacement_past_positive_weights(m: Any) -> None:
    weights = [0.0, 2.0, 0.0, 1.0, 0.0]
    sampler = m.utils.data.WeightedRandomSampler(
        weights, 4, replacement=False, generator=m.Generator().manual_seed(0)
    )
    drawn = list(sampler)
    assert len(drawn) == 4 and len(set(drawn)) == 4
    assert sorted(drawn[:2]) == [1, 3]  # the positive weights come first
    assert set(drawn[2:]) <= {0, 2, 4}
    everything = m.utils.data.WeightedRandomSampler(weights, 5, replacement=False)
    assert sorted(everything) == [0, 1, 2, 3, 4]
    with pytest.raises(RuntimeError, match="without replacement"):
        list(m.utils.data.WeightedRandomSampler(weights, 6, replacement=False))


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_random_split_warns_about_an_empty_fraction(m: Any) -> None:
    with pytest.warns(UserWarning, match="Length of split at index 2 is 0"):
        parts = m.utils.data.random_split(range(2), [0.4, 0.3, 0.3])
    assert [len(p) for p in parts] == [1, 1, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.utils.data.random_split(range(3), [3, 0])  # integer lengths: no warning


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_default_collate_keeps_string_fields_as_given(m: Any) -> None:
    collate = m.utils.data.default_collate
    names, values = collate([("x", 1.5), ("y", 2.5)])
    assert names == ("x", "y") and values.tolist() == [1.5, 2.5]
    assert collate([["a", 1], ["b", 2]])[0] == ("a", "b")
    assert collate([{"n": "x"}, {"n": "y"}]) == {"n": ["x", "y"]}
    assert collate(["a", "b"]) == ["a", "b"]
    Pair = collections.namedtuple("Pair", ["name", "value"])
    pair = collate([Pair("p", 1), Pair("q", 2)])
    assert isinstance(pair, Pair) and pair.name == ("p", "q") and pair.value.tolist() == [1, 2]
    batch = next(iter(m.utils.data.DataLoader([("u", 0), ("v", 1), ("w", 2)], batch_size=2)))
    assert batch[0] == ("u", "v")


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_data_error_types_match_torch(m: Any) -> None:
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        m.utils.data.BatchSampler(range(3), 2, 1)
    combined = m.utils.data.ConcatDataset([[1, 2], [3]])
    assert combined[-3] == 1
    with pytest.raises(ValueError, match="absolute value of index should not exceed"):
        combined[-4]
    with pytest.raises(IndexError):
        combined[3]
    seqs = [m.tensor([1, 2, 3]), m.tensor([4])]
    with pytest.raises(RuntimeError, match="Expected padding_side to be one of left or right"):
        m.nn.utils.rnn.pad_sequence(seqs, padding_side="middle")
