"""Session 37's first-order backward paths of softmax, div and cat (computed on the arrays,
recording nothing) give bit for bit what the recorded Tensor-op path (create_graph=True)
gives, and cat's gradient pieces stay views of the gradient as in torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

_OPS = {
    "softmax": lambda x, w: x.softmax(-1),
    "softmax_dim0": lambda x, w: x.softmax(0),
    "div": lambda x, w: x / (w * w + 1),
    "div_zero": lambda x, w: x / (w * 0),
    "div_parameter": lambda x, w: x / cr.nn.Parameter(w.detach() + 1),
    "cat": lambda x, w: cr.cat([x, w], 0),
    "cat_dim1": lambda x, w: cr.cat([w, x, w], 1),
}


def _grads(name: str, dtype: np.dtype, create_graph: bool) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((5, 7)).astype(dtype), requires_grad=True)
    w = cr.tensor(rng.standard_normal((5, 7)).astype(dtype), requires_grad=True)
    y = _OPS[name](x, w)
    g = cr.tensor(rng.standard_normal(y.shape).astype(dtype))
    gx, gw = cr.autograd.grad(y, (x, w), g, create_graph=create_graph, allow_unused=True)
    return [t.detach().numpy() for t in (gx, gw) if t is not None]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(_OPS))
def test_first_order_equals_recorded_path(name, dtype):
    fast, recorded = _grads(name, dtype, False), _grads(name, dtype, True)
    assert len(fast) == len(recorded) > 0
    for a, b in zip(fast, recorded):
        assert a.dtype == b.dtype and a.strides == b.strides
        np.testing.assert_array_equal(a, b)


def test_div_gradients_match_torch():
    rng = np.random.default_rng(1)
    xa, wa = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    wa[0, 0, 0] = 0.0
    got, want = [], []
    for m, out in ((cr, got), (torch, want)):
        x, w = m.tensor(xa, requires_grad=True), m.tensor(wa, requires_grad=True)
        (x / w).backward(m.ones(2, 3, 4, dtype=x.dtype))
        out += [x.grad.numpy(), w.grad.numpy()]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_cat_gradient_pieces_are_views_as_in_torch():
    seen = {}
    for m in (cr, torch):
        x = m.ones(2, 3, requires_grad=True)
        w = m.ones(2, 3, requires_grad=True)
        x.register_hook(lambda g, m=m: seen.__setitem__(m.__name__, (g._is_view(), g.shape)))
        m.cat([x, w], 0).backward(m.ones(4, 3))
    assert seen["chainrule"] == (True, cr.Size([2, 3]))
    assert seen["torch"][0] is True
