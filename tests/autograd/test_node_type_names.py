"""``type(t.grad_fn).__name__`` is PyTorch's node class name, as torchviz and user code read
it (it was ``'Node'`` for every op; ``grad_fn.name()`` was already PyTorch's)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import chainrule as cr


def _sinh(lib: Any) -> Any:
    class Sinh(lib.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x.sinh()

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            return g * x.cosh()

    return Sinh


CASES = {
    "mul": lambda L, a, b: a * b,
    "add_scalar": lambda L, a, b: a + 1,
    "mm": lambda L, a, b: a @ b.T,
    "mv": lambda L, a, b: a @ b[0],
    "dot": lambda L, a, b: a[0] @ b[0],
    "bmm": lambda L, a, b: L.bmm(a[None], b.T[None]),
    "sum": lambda L, a, b: a.sum(),
    "sum_dim": lambda L, a, b: a.sum(0),
    "mean": lambda L, a, b: a.mean(),
    "select": lambda L, a, b: a[0],
    "slice": lambda L, a, b: a[:, 1:],
    "index": lambda L, a, b: a[L.tensor([0, 1])],
    "t": lambda L, a, b: a.t(),
    "view": lambda L, a, b: a.view(-1),
    "linear": lambda L, a, b: L.nn.functional.linear(a, b, b[0, :2]),
    "relu": lambda L, a, b: L.relu(a),
    "softmax": lambda L, a, b: L.softmax(a, -1),
    "cat": lambda L, a, b: L.cat([a, b]),
    "custom_function": lambda L, a, b: _sinh(L).apply(a),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_grad_fn_type_name_matches_torch(name: str) -> None:
    got = []
    for lib in (torch, cr):
        a = lib.ones(2, 3, requires_grad=True)
        b = lib.full((2, 3), 2.0, requires_grad=True)
        fn = CASES[name](lib, a, b).grad_fn
        got.append((type(fn).__name__, fn.name()))
        assert isinstance(fn, lib.autograd.graph.Node)
    assert got[0] == got[1]


def test_a_torchviz_style_traversal_reads_the_same_class_names() -> None:
    """torchviz's make_dot labels nodes with ``str(type(fn).__name__)`` while walking
    ``next_functions`` from ``grad_fn``."""

    def labels(lib: Any) -> list:
        x = lib.ones(3, 4, requires_grad=True)
        w = lib.full((4, 2), 0.5, requires_grad=True)
        y = (lib.tanh(x @ w) * 2).sum()
        seen, order, stack = set(), [], [y.grad_fn]
        while stack:
            fn = stack.pop()
            if fn is None or id(fn) in seen:
                continue
            seen.add(id(fn))
            order.append(type(fn).__name__)
            stack.extend(f for f, _ in fn.next_functions)
        return order

    assert labels(cr) == labels(torch)
