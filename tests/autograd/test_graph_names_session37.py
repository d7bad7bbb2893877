"""Autograd graph names and saved fields as PyTorch's, session 37 (batch 7), compared live.

``F.scaled_dot_product_attention``: where PyTorch 2.13 on CPU runs its flash kernel (4-d
inputs of one head size, unit last stride, equal batch and head sizes, no dropout, a 2-d or
4-d mask that does not require grad) chainrule's node is PyTorch's
``ScaledDotProductFlashAttentionForCpuBackward0``: its name, the inputs it lists and its
``_saved_*`` fields (query, key, value, output, logsumexp, dropout_p, is_causal, scale,
attn_mask), values included. Elsewhere PyTorch's math path records a chain of about a dozen
nodes that chainrule's single fused node does not copy (``ScaledDotProductAttentionBackward0``):
the choice between the two is checked to be PyTorch's. Values and gradients are PyTorch's;
PyTorch's flash node has neither double backward nor forward mode, so those are compared with
PyTorch's math backend (``sdpa_kernel(SDPBackend.MATH)``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

import chainrule as cr

from ._graph_compare import describe, float64_leaves, jvp_tangents, names, to_numpy

RNG = np.random.default_rng(37)
Q = RNG.standard_normal((2, 3, 4, 8))
K = RNG.standard_normal((2, 3, 5, 8))
V = RNG.standard_normal((2, 3, 5, 8))
Q3 = RNG.standard_normal((3, 4, 8))
K3 = RNG.standard_normal((3, 5, 8))
V6 = RNG.standard_normal((2, 3, 5, 6))
MASK2 = RNG.standard_normal((4, 5))
MASK3 = RNG.standard_normal((3, 4, 5))
MASK4 = RNG.standard_normal((2, 1, 4, 5))
BOOL2 = RNG.random((4, 5)) > 0.3
BOOL4 = RNG.random((2, 1, 4, 5)) > 0.3
BOOL2[:, 1] = True  # no fully masked row (PyTorch's flash and math paths disagree there)
BOOL4[..., 1] = True


def _sdpa(L, q, k, v, mask=None, **kw):
    m = None if mask is None else L.tensor(mask)
    return L.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, **kw)


# name -> (inputs (arrays), fn(L, *tensors)): PyTorch records its flash node
FLASH = {
    "plain": ((Q, K, V), lambda L, q, k, v: _sdpa(L, q, k, v)),
    "scale": ((Q, K, V), lambda L, q, k, v: _sdpa(L, q, k, v, scale=0.25)),
    "causal": ((Q, K[:, :, :4], V[:, :, :4]), lambda L, q, k, v: _sdpa(L, q, k, v, is_causal=True)),
    "causal_longer_keys": ((Q, K, V), lambda L, q, k, v: _sdpa(L, q, k, v, is_causal=True)),
    "float_mask_2d": ((Q, K, V), lambda L, q, k, v: _sdpa(L, q, k, v, MASK2)),
    "float_mask_4d": ((Q, K, V), lambda L, q, k, v: _sdpa(L, q, k, v, MASK4)),
    "bool_mask_2d": ((Q, K, V), lambda L, q, k, v: _sdpa(L, q, k, v, BOOL2)),
    "bool_mask_4d": ((Q, K, V), lambda L, q, k, v: _sdpa(L, q, k, v, BOOL4, scale=2.0)),
    "bool_mask_and_causal": (
        (Q, K, V),
        lambda L, q, k, v: _sdpa(L, q, k, v, BOOL2, is_causal=True),
    ),
    "query_only": ((Q, K, V), lambda L, q, k, v: _sdpa(L, q, k.detach(), v.detach())),
    "value_only": ((Q, K, V), lambda L, q, k, v: _sdpa(L, q.detach(), k.detach(), v)),
    "float32": ((Q, K, V), lambda L, q, k, v: _sdpa(L, q.float(), k.float(), v.float())),
    "float32_causal": (
        (Q, K[:, :, :4], V[:, :, :4]),
        lambda L, q, k, v: _sdpa(L, q.float(), k.float(), v.float(), is_causal=True),
    ),
}
# PyTorch runs its math path: chainrule keeps its one fused node
MATH = {
    "three_dims": ((Q3, K3, K3), lambda L, q, k, v: _sdpa(L, q, k, v)),
    "value_head_size": ((Q, K, V6), lambda L, q, k, v: _sdpa(L, q, k, v)),
    "mask_3d": ((Q, K, V), lambda L, q, k, v: _sdpa(L, q, k, v, MASK3)),
    "mask_requires_grad": ((Q, K, V, MASK2), lambda L, q, k, v, m: _sdpa_mask(L, q, k, v, m)),
    "broadcast_batch": ((Q, K[:1], V[:1]), lambda L, q, k, v: _sdpa(L, q, k, v)),
    "query_last_stride": (
        (Q.transpose(0, 1, 3, 2), K, V),
        lambda L, q, k, v: _sdpa(L, q.transpose(-1, -2), k, v),
    ),
}


def _sdpa_mask(L, q, k, v, m):
    return L.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m)


def _run(lib, table, name):
    arrays, fn = table[name]
    xs = float64_leaves(lib, arrays)
    return fn(lib, *xs), xs


@pytest.mark.parametrize("name", sorted(FLASH))
def test_flash_node_as_torch(name):
    t, c = _run(torch, FLASH, name)[0], _run(cr, FLASH, name)[0]
    assert t.grad_fn.name() == "ScaledDotProductFlashAttentionForCpuBackward0"
    assert describe(c.grad_fn, cr) == describe(t.grad_fn, torch)


@pytest.mark.parametrize("name", sorted(MATH))
def test_math_path_keeps_the_fused_node(name):
    """PyTorch's math chain is not copied (slower); the choice is PyTorch's."""
    t, c = _run(torch, MATH, name)[0], _run(cr, MATH, name)[0]
    assert "ScaledDotProduct" not in str(names(t.grad_fn))
    assert c.grad_fn.name() == "ScaledDotProductAttentionBackward0"
    assert not any(k.startswith("_saved_") and "query" in k for k in dir(c.grad_fn))


def test_dropout_keeps_the_fused_node():
    for lib in (torch, cr):
        q, k, v = float64_leaves(lib, (Q, K, V))
        y = lib.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
        assert "FlashAttention" not in str(names(y.grad_fn))


@pytest.mark.xfail(
    strict=True,
    reason="grouped-query attention: chainrule repeats key and value before its node; "
    "PyTorch's flash node takes (and saves) them unrepeated",
)
def test_grouped_query_flash_node_as_torch():
    arrays = (RNG.standard_normal((2, 4, 4, 8)), K[:, :2], V[:, :2])
    got = []
    for lib in (torch, cr):
        q, k, v = float64_leaves(lib, arrays)
        y = lib.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True)
        got.append(describe(y.grad_fn, lib))
    assert got[1] == got[0]


@pytest.mark.parametrize("name", ["plain", "scale", "bool_mask_4d", "bool_mask_and_causal"])
def test_flash_saved_values_as_torch(name):
    """The saved tensors themselves (logsumexp and the additive form of a bool mask too)."""
    t, c = _run(torch, FLASH, name)[0].grad_fn, _run(cr, FLASH, name)[0].grad_fn
    for key in sorted(k for k in dir(t) if k.startswith("_saved_")):
        tv, cv = getattr(t, key), getattr(c, key)
        if isinstance(tv, torch.Tensor):
            np.testing.assert_allclose(cv.detach().numpy(), tv.detach().numpy(), 1e-12, 1e-14)
        else:
            assert cv == tv and type(cv) is type(tv), key


def test_flash_saved_logsumexp_float32_as_torch():
    t, c = _run(torch, FLASH, "float32_causal")[0], _run(cr, FLASH, "float32_causal")[0]
    want = t.grad_fn._saved_logsumexp.numpy()
    got = c.grad_fn._saved_logsumexp.detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(c.grad_fn._saved_output.detach().numpy(), c.detach().numpy())


def _gradients(lib, table, name):
    y, xs = _run(lib, table, name)
    grads = lib.autograd.grad((y**2).sum(), xs, allow_unused=True)
    return [y.detach(), *grads]


@pytest.mark.parametrize("name", sorted(FLASH) + sorted(MATH))
def test_values_and_gradients_as_torch(name):
    table = FLASH if name in FLASH else MATH
    want, got = _gradients(torch, table, name), _gradients(cr, table, name)
    tol = 1e-5 if "float32" in name else 1e-9
    for t_v, c_v in zip(want, got, strict=True):
        t_v, c_v = to_numpy(t_v), to_numpy(c_v)
        assert (t_v is None) == (c_v is None)
        if t_v is not None:
            np.testing.assert_allclose(c_v, t_v, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["plain", "causal_longer_keys", "bool_mask_4d", "query_only"])
def test_double_backward_as_torch_math(name):
    """PyTorch's flash node has no double backward: its math backend is the reference."""
    y, xs = _run(torch, FLASH, name)
    g = torch.autograd.grad((y**2).sum(), xs, create_graph=True, allow_unused=True)
    total = sum((gi**2).sum() for gi in g if gi is not None)
    with pytest.raises(RuntimeError, match="derivative for .*flash_attention.* not implemented"):
        torch.autograd.grad(total, xs, allow_unused=True)
    y, xs = _run(cr, FLASH, name)
    g = cr.autograd.grad((y**2).sum(), xs, create_graph=True, allow_unused=True)
    total = sum((gi**2).sum() for gi in g if gi is not None)
    got = [to_numpy(a) for a in cr.autograd.grad(total, xs, allow_unused=True)]
    with sdpa_kernel([SDPBackend.MATH]):
        y, xs = _run(torch, FLASH, name)
        g = torch.autograd.grad((y**2).sum(), xs, create_graph=True, allow_unused=True)
        total = sum((gi**2).sum() for gi in g if gi is not None)
        want = [to_numpy(a) for a in torch.autograd.grad(total, xs, allow_unused=True)]
    for t_v, c_v in zip(want, got, strict=True):
        assert (t_v is None) == (c_v is None)
        if t_v is not None:
            np.testing.assert_allclose(c_v, t_v, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", ["plain", "scale", "causal", "float_mask_4d", "bool_mask_2d"])
def test_forward_mode_as_torch_math(name):
    arrays, fn = FLASH[name]
    with sdpa_kernel([SDPBackend.MATH]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want, got = jvp_tangents(fn, arrays, (torch, cr))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_output_modified_in_place_raises_as_torch():
    """The flash node keeps its output: modifying it in place makes backward raise."""
    for lib in (torch, cr):
        q, k, v = float64_leaves(lib, (Q, K, V))
        y = lib.nn.functional.scaled_dot_product_attention(q, k, v)
        y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            y.sum().backward()


def test_math_path_output_modified_in_place_is_allowed_as_torch():
    for lib in (torch, cr):
        q, k = float64_leaves(lib, (Q3, K3))
        y = lib.nn.functional.scaled_dot_product_attention(q, k, k)
        y.mul_(2)
        y.sum().backward()
        assert q.grad is not None


def test_multihead_attention_without_weights_records_the_flash_node_as_torch():
    """``nn.MultiheadAttention(need_weights=False)`` runs scaled_dot_product_attention in
    both libraries: PyTorch's flash node appears in both graphs."""
    for lib in (torch, cr):
        lib.manual_seed(0)
        m = lib.nn.MultiheadAttention(8, 2, batch_first=True)
        x = lib.randn(2, 4, 8, requires_grad=True)
        y = m(x, x, x, need_weights=False)[0]
        assert "ScaledDotProductFlashAttentionForCpuBackward0" in str(names(y.grad_fn))
