"""``split``/``chunk`` as one multi-output op (``Split``): one node for all pieces, one
concatenation backward, unused pieces contributing zeros, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _pair(shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    return cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("used", [(0, 1, 2), (0, 2), (1,)])
def test_partial_use_matches_torch(used):
    x, xt = _pair((3, 4, 9))
    w = np.random.default_rng(1).standard_normal((3, 4, 3))
    pieces, tpieces = x.split(3, dim=2), xt.split(3, dim=2)
    loss = sum((pieces[i] * cr.tensor(w * (i + 1))).sum() for i in used)
    tloss = sum((tpieces[i] * torch.tensor(w * (i + 1))).sum() for i in used)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=0, atol=1e-12)


def test_one_node_for_all_pieces():
    x, _ = _pair((4, 6))
    a, b, c = x.chunk(3, dim=1)
    assert a.grad_fn is b.grad_fn is c.grad_fn
    assert a.grad_fn.name() == "SplitBackward0"
    assert [p._output_nr for p in (a, b, c)] == [0, 1, 2]


def test_pieces_are_views_that_refuse_in_place_writes():
    x, xt = _pair((4, 6))
    y, yt = x * 1.0, xt * 1.0
    a, at = y.split(2, dim=1)[0], yt.split(2, dim=1)[0]
    assert np.shares_memory(a.detach().numpy(), y.detach().numpy())
    with pytest.raises(RuntimeError):
        at.mul_(2)
    with pytest.raises(
        RuntimeError, match="Output 0 of Split is a view and is being modified inplace"
    ):
        a.mul_(2)


def test_double_backward_and_forward_mode():
    x, xt = _pair((2, 5))

    def f(lib_x):
        p, q = lib_x.split([2, 3], dim=1)
        return (p**3).sum() + (q**2 * q).sum()

    (g,) = cr.autograd.grad(f(x), x, create_graph=True)
    (gt,) = torch.autograd.grad(f(xt), xt, create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), x)
    (ggt,) = torch.autograd.grad(gt.sum(), xt)
    np.testing.assert_allclose(gg.numpy(), ggt.numpy(), rtol=1e-12)
    assert cr.autograd.gradgradcheck(lambda t: t.split([2, 3], 1)[1] ** 2, (x,))
    # forward mode: the tangent of each piece is the same piece of the input's tangent
    t = cr.tensor(np.random.default_rng(2).standard_normal((2, 5)))
    _, (tp, tq) = cr.func.jvp(lambda z: z.split([2, 3], 1), (x.detach(),), (t,))
    np.testing.assert_array_equal(tp.numpy(), t.numpy()[:, :2])
    np.testing.assert_array_equal(tq.numpy(), t.numpy()[:, 2:])


def test_bad_sections_raise_clearly():
    x = cr.zeros(5)
    with pytest.raises(RuntimeError, match="non-negative"):
        x.split([-1, 6])
    with pytest.raises(TypeError, match="tuple of ints"):  # as PyTorch: a float is no size
        x.split([2.0, 3])
