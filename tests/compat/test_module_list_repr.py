"""``ModuleList``'s printout collapses runs of identical layers exactly as PyTorch's does."""

from __future__ import annotations

from typing import Any

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _layers(lib: Any) -> list:
    nn = lib.nn
    return [
        nn.Linear(2, 2),
        nn.Linear(2, 2),
        nn.Linear(2, 2),
        nn.ReLU(),
        nn.Linear(2, 2),
        nn.Sequential(nn.Linear(2, 3), nn.Tanh()),
        nn.Sequential(nn.Linear(2, 3), nn.Tanh()),
    ]


@pytest.mark.parametrize(
    "pick",
    [slice(0, 0), slice(0, 1), slice(0, 3), slice(None)],
    ids=["empty", "one", "run", "mixed"],
)
def test_module_list_repr_matches_torch(pick: slice) -> None:
    want = repr(torch.nn.ModuleList(_layers(torch)[pick]))
    got = repr(cr.nn.ModuleList(_layers(cr)[pick]))
    assert got == want


def test_nested_module_list_repr_matches_torch() -> None:
    def build(lib: Any) -> Any:
        nn = lib.nn
        return nn.Sequential(nn.ModuleList([nn.ModuleList([nn.Identity()] * 2) for _ in range(2)]))

    assert repr(build(cr)) == repr(build(torch))
