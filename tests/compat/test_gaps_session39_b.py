"""Gaps found by the session-39 drop-in programs (letter b), each checked against PyTorch.

``register_post_accumulate_grad_hook`` hooks run when their leaf's ``AccumulateGrad`` runs;
PyTorch's ``F.linear`` is ``addmm(bias, input, weight.t())``, whose node lists the bias first
(the weight sits behind a ``TBackward0``), so a ``Linear``'s bias is written (and its hooks
run) before its weight: user code that records per-parameter values in its hooks (the
autograd hooks program) sees that order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import chainrule

torch = pytest.importorskip("torch")


def _mlp_order(lib: Any) -> list[str]:
    lib.manual_seed(0)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2), nn.Linear(2, 2, bias=False))
    seen: list[str] = []
    for name, p in model.named_parameters():
        p.register_post_accumulate_grad_hook(lambda p, name=name: seen.append(name))
    model(lib.ones(4, 3)).sum().backward()
    return seen


def _leaf_order(lib: Any, fn: Callable, shapes: list[tuple]) -> list[int]:
    lib.manual_seed(0)
    leaves = [lib.randn(*s, dtype=lib.float64, requires_grad=True) for s in shapes]
    seen: list[int] = []
    for i, t in enumerate(leaves):
        t.register_post_accumulate_grad_hook(lambda t, i=i: seen.append(i))
    fn(lib, *leaves).sum().backward()
    return seen


def test_post_accumulate_hook_order_of_linear_layers_matches_torch() -> None:
    assert _mlp_order(chainrule) == _mlp_order(torch)


def _linear(lib: Any, *args: Any) -> Any:
    return lib.nn.functional.linear(*args)


CASES = {
    "linear_leaf_input": (_linear, [(4, 3), (2, 3), (2,)]),
    "linear_no_bias": (_linear, [(4, 3), (2, 3)]),
    "mul": (lambda lib, a, b: a * b, [(3,), (3,)]),
    "addcmul": (lambda lib, a, b, c: lib.addcmul(a, b, c), [(3,), (3,), (3,)]),
    "cat": (lambda lib, a, b, c: lib.cat([a, b, c]), [(3,), (3,), (3,)]),
    "where": (lambda lib, a, b: lib.where(a > 0, a, b), [(3,), (3,)]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_post_accumulate_hook_order_of_one_node_matches_torch(case: str) -> None:
    fn, shapes = CASES[case]
    assert _leaf_order(chainrule, fn, shapes) == _leaf_order(torch, fn, shapes)


def test_post_accumulate_hook_order_of_3d_linear_matches_torch() -> None:
    """(Fixed in session 40: linear on a 3-d input is torch's view / addmm / view.)"""
    shapes = [(2, 4, 3), (2, 3), (2,)]
    assert _leaf_order(chainrule, _linear, shapes) == _leaf_order(torch, _linear, shapes)
