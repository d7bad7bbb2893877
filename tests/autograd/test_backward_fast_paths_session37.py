"""The engine's fast paths for small graphs (session 37, part 2), against torch: a row-major
leaf's first ``.grad`` from an expanded gradient (inlined ``grad_layout``), the caller's
gradient never becoming ``.grad``, the first gradient of a one-output node handed on
directly while later ones and multi-output nodes are summed, ``autograd.grad``'s pruned
rule call, and the elementwise result layout's inlined row-major operand checks.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _pair(shape: tuple, seed: int = 0) -> tuple:
    data = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)


def _leaf_from(lib, make):
    """A leaf made by ``make(lib)`` (any layout), detached and requiring grad."""
    return make(lib).detach().requires_grad_()


@pytest.mark.parametrize("shape", [(8, 8), (1, 8), (8, 1), (5,), (), (2, 1, 3)])
def test_sum_gradient_into_row_major_leaf(shape):
    x, tx = _pair(shape)
    x.sum().backward()
    tx.sum().backward()
    assert x.grad.stride() == tx.grad.stride()
    assert x.grad.is_contiguous()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    x.grad.add_(1.0)  # a writeable array of its own, not the read-only expanded view
    assert float(x.grad.sum()) == 2.0 * max(1, int(np.prod(shape)))


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.ones(4, 3).t(),  # a transposed leaf: its .grad keeps its strides
        lambda lib: lib.ones(2, 3, 4).permute(2, 0, 1),
        lambda lib: lib.ones(4, 6)[:, ::2],  # not dense: the grad is row-major
    ],
)
def test_expanded_gradient_into_other_layouts(make):
    x, tx = _leaf_from(cr, make), _leaf_from(torch, make)
    (x * 2.0).sum().backward()
    (tx * 2.0).sum().backward()
    assert x.grad.stride() == tx.grad.stride()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_callers_gradient_is_copied_not_stolen():
    for lib in (cr, torch):
        x = lib.zeros(3, 4, requires_grad=True)
        g = lib.ones(3, 4)
        (x + 0.0).backward(g)  # AddBackward hands the caller's g on unchanged
        g.mul_(5.0)
        assert float(x.grad.sum()) == 12.0, lib.__name__


def test_second_backward_adds_into_the_same_grad_in_place():
    x, tx = _pair((3, 3))
    for lib_x in (x, tx):
        lib_x.sum().backward()
        first = lib_x.grad
        lib_x.sum().backward()
        assert lib_x.grad is first
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_gradients_over_several_paths_are_summed():
    x, tx = _pair((4, 4))

    def f(v):
        a = v * 2.0  # one-output node: reached over three paths
        b, c = v.chunk(2)  # a two-output node: each output reached once
        return (a + a * a + a.exp()).sum() + (b * 3.0).sum() + c.tanh().sum()

    f(x).backward()
    f(tx).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_autograd_grad_pruned_rule_keeps_needs_input_grad():
    x, tx = _pair((3, 3))
    w, tw = _pair((3, 3), seed=1)
    seen = []
    for lib, a, b in ((cr, x, w), (torch, tx, tw)):
        y = (a @ b).tanh().sum()
        (ga,) = lib.autograd.grad(y, a, retain_graph=True)
        node = y.grad_fn.next_functions[0][0].next_functions[0][0]  # the matmul's node
        seen.append(tuple(node.needs_input_grad) if lib is cr else None)
        (gb,) = lib.autograd.grad(y, b)
        seen.append((ga.detach().numpy(), gb.detach().numpy()))
    assert seen[0] == (True, True)  # restored after the pruned call
    np.testing.assert_allclose(seen[1][0], seen[3][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(seen[1][1], seen[3][1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "expr",
    [
        "a + b",
        "a + 1.5",
        "a.t() + 1.5",
        "a.t() + b",
        "a + b.t()",
        "a.t() * b.t()",
        "a[:, :4] + 2.0",
        "a + b[0]",
        "a.t() + b[:, :1]",
        "a.unsqueeze(1) + 1.0",
        "a.t().unsqueeze(0) * 2.0",
    ],
)
def test_elementwise_result_layout(expr):
    a, ta = _pair((6, 6))
    b, tb = _pair((6, 6), seed=1)
    got = eval(expr, {"a": a.detach(), "b": b.detach()})
    want = eval(expr, {"a": ta.detach(), "b": tb.detach()})
    assert got.stride() == want.stride()
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
