"""``nn.Container`` and ``nn.factory_kwargs`` against PyTorch."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr


def _factory_cases(lib):
    return [
        None,
        {},
        {"dtype": lib.float64},
        {"factory_kwargs": {"dtype": lib.float64}, "device": "cpu"},
        {"factory_kwargs": {"foo": 1}},
    ]


def test_factory_kwargs_merges_as_torch() -> None:
    for ours, theirs in zip(_factory_cases(cr), _factory_cases(torch)):
        got, want = cr.nn.factory_kwargs(ours), torch.nn.factory_kwargs(theirs)
        assert list(got) == list(want)
    for lib in (cr, torch):
        with pytest.raises(TypeError, match="unexpected kwargs"):
            lib.nn.factory_kwargs({"foo": 1})
        with pytest.raises(TypeError, match="dtype specified twice"):
            lib.nn.factory_kwargs({"dtype": lib.float32, "factory_kwargs": {"dtype": lib.float64}})


def test_container_registers_children_and_warns_as_torch() -> None:
    reprs = []
    for lib in (cr, torch):
        with pytest.warns(FutureWarning, match="`nn.Container` is deprecated"):
            c = lib.nn.Container(a=lib.nn.Linear(1, 1), b=lib.nn.ReLU())
        assert [n for n, _ in c.named_children()] == ["a", "b"]
        reprs.append(repr(c))
    assert reprs[0] == reprs[1]
