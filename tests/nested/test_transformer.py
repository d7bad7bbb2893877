"""A transformer block on a jagged batch, as torch's nested-tensor tutorial writes it:
projections, heads by ``view``/``unflatten`` + ``transpose``, ``scaled_dot_product_attention``,
residuals, ``layer_norm``, a GELU feed-forward; outputs and float64 gradients vs torch."""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr

from ._helpers import arrays, assert_same, norm_repr, pair

E, H = 8, 2


def _block(m, x, w: dict):
    f = m.nn.functional

    def t(name):
        return m.tensor(w[name])

    b = x.size(0)
    q = f.linear(x, t("wq"), t("bq")).view(b, -1, H, E // H).transpose(1, 2)
    k = f.linear(x, t("wk")).unflatten(-1, (H, E // H)).transpose(1, 2)
    v = f.linear(x, t("wv")).view(b, -1, H, E // H).transpose(1, 2)
    a = f.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, -1, E)
    x = f.layer_norm(x + f.linear(a, t("wo")), (E,), t("g"), t("beta"))
    h = f.dropout(f.gelu(f.linear(x, t("w1"))), 0.1, training=False)
    return f.layer_norm(x + f.linear(h, t("w2")), (E,), t("g"), t("beta"))


def test_transformer_block_matches_torch():
    rng = np.random.default_rng(21)
    shapes = {
        "wq": (E, E), "bq": (E,), "wk": (E, E), "wv": (E, E), "wo": (E, E),
        "w1": (16, E), "w2": (E, 16), "g": (E,), "beta": (E,),
    }  # fmt: skip
    w = {k: rng.standard_normal(s) for k, s in shapes.items()}
    arrs = arrays(rng, (E,), batch=4)
    c, t = pair(arrs, "jagged", requires_grad=True)
    oc, ot = _block(cr, c, w), _block(torch, t, w)
    assert_same(oc, ot)
    assert norm_repr(str(oc.shape)) == norm_repr(str(ot.shape))
    wgt = rng.standard_normal(tuple(ot.to_padded_tensor(0.0).shape))
    (oc.to_padded_tensor(0.0) * cr.tensor(wgt)).sum().backward()
    (ot.to_padded_tensor(0.0) * torch.tensor(wgt)).sum().backward()
    assert_same(c.grad, t.grad)


def test_flatten_and_size_slices():
    rng = np.random.default_rng(22)
    c, t = pair(arrays(rng, (2, 3)), "jagged")
    assert_same(c.flatten(-2), t.flatten(-2))
    assert norm_repr(str(c.shape[1:])) == norm_repr(str(t.shape[1:]))
    assert norm_repr(str(c.flatten(-2).shape)) == norm_repr(str(t.flatten(-2).shape))


def test_nested_backward_with_nested_gradient():
    rng = np.random.default_rng(23)
    arrs = arrays(rng, (3,))
    c, t = pair(arrs, "jagged", requires_grad=True)
    gc, gt = pair(arrays(np.random.default_rng(23), (3,)), "jagged")
    oc, ot = c.sin(), t.sin()
    oc.backward(cr.nested.nested_tensor_from_jagged(gc.values(), oc.offsets()))
    ot.backward(torch.nested.nested_tensor_from_jagged(gt.values(), ot.offsets()))
    assert_same(c.grad, t.grad)
