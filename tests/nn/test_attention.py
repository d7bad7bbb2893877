"""F.scaled_dot_product_attention and nn.MultiheadAttention against PyTorch (float64)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
import torch.nn.attention.bias as tbias
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.nn.attention import bias as cbias
from chainrule.ops import attention as attn_ops

from ._helpers import close, copy_params


def _data(*shape, seed=0):
    arr = np.random.default_rng(seed).standard_normal(shape)
    return cr.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


def _qkv(qs=(2, 3, 4, 5), ks=(2, 3, 6, 5), vs=(2, 3, 6, 7)):
    return _data(*qs, seed=1), _data(*ks, seed=2), _data(*vs, seed=3)


def _compare_sdpa(q, k, v, tol=1e-12, mask=None, **kw):
    (cq, tq), (ck, tk), (cv, tv) = q, k, v
    cm = tm = None
    if mask is not None:
        cm, tm = mask
    out = F.scaled_dot_product_attention(cq, ck, cv, attn_mask=cm, **kw)
    ref = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, **kw)
    close(out, ref, tol)
    g = np.random.default_rng(9).standard_normal(ref.shape)
    out.backward(cr.tensor(g))
    ref.backward(torch.tensor(g))
    for c, t in ((cq, tq), (ck, tk), (cv, tv)):
        close(c.grad, t.grad, tol)
    if mask is not None and isinstance(cm, cr.Tensor) and cm.requires_grad:
        close(cm.grad, tm.grad, tol)
    return out


# ------------------------------------------------------------------ scaled_dot_product_attention
@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.37}])
def test_sdpa_matches_torch(kw):
    _compare_sdpa(*_qkv(), **kw)


def test_sdpa_causal_is_upper_left_aligned_for_rectangular_scores():
    _compare_sdpa(*_qkv((1, 6, 4), (1, 3, 4), (1, 3, 2)), is_causal=True)
    _compare_sdpa(*_qkv((1, 2, 4), (1, 5, 4), (1, 5, 2)), is_causal=True)


def test_sdpa_bool_mask_true_takes_part():
    keep = np.random.default_rng(4).random((4, 6)) > 0.4
    _compare_sdpa(*_qkv(), mask=(cr.tensor(keep), torch.tensor(keep)))


def test_sdpa_float_mask_added_and_differentiated():
    _compare_sdpa(*_qkv(), mask=_data(3, 4, 6, seed=5))


def test_sdpa_mask_may_not_grow_the_batch_dims_like_torch():
    q, k, v = (cr.randn(3, n, 5) for n in (4, 6, 6))
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=cr.zeros(2, 3, 4, 6))


def test_sdpa_fully_masked_rows_are_zero_like_torch():
    keep = np.random.default_rng(4).random((2, 3, 4, 6)) > 0.4
    keep[0, 1, 2] = False
    keep[1, :, 0] = False
    out = _compare_sdpa(*_qkv(), mask=(cr.tensor(keep), torch.tensor(keep)))
    assert (out.data[0, 1, 2] == 0).all() and np.isfinite(out.data).all()
    fmask = np.zeros((4, 6))
    fmask[3] = -np.inf
    _compare_sdpa(*_qkv(), mask=(cr.tensor(fmask), torch.tensor(fmask)))


def test_sdpa_gqa_repeats_key_value_heads():
    _compare_sdpa(*_qkv((2, 6, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)), enable_gqa=True)
    with pytest.raises(RuntimeError, match="divide"):
        F.scaled_dot_product_attention(*(cr.randn(1, h, 3, 4) for h in (4, 3, 3)), enable_gqa=True)
    with pytest.raises(RuntimeError, match="enable_gqa"):
        F.scaled_dot_product_attention(*(cr.randn(1, h, 3, 4) for h in (4, 2, 2)))


def test_sdpa_unbatched_and_broadcast_batches():
    _compare_sdpa(*_qkv((3, 4), (5, 4), (5, 2)))
    _compare_sdpa(*_qkv((2, 1, 3, 4), (1, 3, 5, 4), (1, 3, 5, 2)))


def test_sdpa_recomputes_probabilities_when_large(monkeypatch):
    monkeypatch.setattr(attn_ops, "SAVE_PROBS_MAX_BYTES", 0)
    keep = np.random.default_rng(4).random((4, 6)) > 0.4
    keep[1] = False
    _compare_sdpa(*_qkv(), mask=(cr.tensor(keep), torch.tensor(keep)))
    _compare_sdpa(*_qkv(), mask=_data(3, 4, 6, seed=5))


@pytest.mark.parametrize("recompute", [False, True])
def test_sdpa_gradcheck_and_gradgradcheck(monkeypatch, recompute):
    if recompute:
        monkeypatch.setattr(attn_ops, "SAVE_PROBS_MAX_BYTES", 0)
    rng = np.random.default_rng(0)
    q, k, v = (
        cr.tensor(rng.standard_normal(s), requires_grad=True)
        for s in ((2, 3, 2), (2, 4, 2), (2, 4, 3))
    )
    m = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    keep = cr.tensor(rng.random((3, 4)) > 0.3)

    def fn(q, k, v, m):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m)

    def fn_bool(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=keep, scale=0.8)

    assert cr.autograd.gradcheck(fn, (q, k, v, m))
    assert cr.autograd.gradgradcheck(fn, (q, k, v, m))
    assert cr.autograd.gradcheck(fn_bool, (q, k, v))
    assert cr.autograd.gradgradcheck(fn_bool, (q, k, v))


def test_sdpa_double_backward_matches_torch():
    (cq, tq), (ck, tk), (cv, tv) = _qkv((2, 3, 4), (2, 5, 4), (2, 5, 3))
    out = F.scaled_dot_product_attention(cq, ck, cv, is_causal=True)
    ref = TF.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
    (gq,) = cr.autograd.grad((out**2).sum(), [cq], create_graph=True)
    (tgq,) = torch.autograd.grad((ref**2).sum(), [tq], create_graph=True)
    close(gq, tgq)
    gq.sum().backward()
    tgq.sum().backward()
    for c, t in ((ck, tk), (cv, tv)):
        close(c.grad, t.grad)


def test_sdpa_jvp_agrees_with_vjp():
    rng = np.random.default_rng(0)
    q, k, v = (cr.tensor(rng.standard_normal(s)) for s in ((2, 3, 2), (2, 4, 2), (2, 4, 3)))
    m = cr.tensor(rng.standard_normal((3, 4)))
    assert cr.autograd.check_vjp_jvp(
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), (q, k, v, m)
    )
    assert cr.autograd.check_vjp_jvp(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v)
    )

    def with_weights(q, k, v):  # both outputs, with dropout from a reseeded generator
        gen = cr.Generator().manual_seed(3)
        return attn_ops.attention(q, k, v, dropout_p=0.3, need_weights=True, generator=gen)

    assert cr.autograd.check_vjp_jvp(with_weights, (q, k, v))


def test_sdpa_dropout_statistics_and_gradient_consistency():
    cr.manual_seed(0)
    q, k = cr.zeros(1, 200, 4), cr.zeros(1, 200, 4)  # uniform attention: P = 1/200
    v = cr.ones(1, 200, 1, requires_grad=True)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25)
    kept = out.data * 200 * 0.75  # = the number of kept keys in each row
    assert abs(kept.mean() / 200 - 0.75) < 0.02
    assert not np.allclose(out.data, 1.0)
    out.sum().backward()  # dV_j = sum over rows of the kept, rescaled probabilities
    np.testing.assert_allclose(v.grad.data.sum(), out.data.sum(), rtol=1e-5)
    none = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    assert (none.data == 0).all()
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)


def test_sdpa_dropout_reproducible_with_seed():
    q, k, v = (cr.randn(2, 5, 3) for _ in range(3))
    cr.manual_seed(7)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    cr.manual_seed(7)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(a.data, b.data)


def test_sdpa_errors_are_clear():
    q = cr.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="at least 2-dimensional"):
        F.scaled_dot_product_attention(q[0, 0], q[0, 0], q[0, 0])
    with pytest.raises(RuntimeError, match="same floating dtype"):
        F.scaled_dot_product_attention(q, q.double(), q)
    with pytest.raises(RuntimeError, match="embedding size"):
        F.scaled_dot_product_attention(q, q[..., :2], q)
    with pytest.raises(RuntimeError, match="bool or floating"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=cr.ones(3, 3, dtype=cr.int64))
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=cr.ones(2, 3, dtype=cr.bool))
    with pytest.raises(TypeError, match="query must be a Tensor"):
        F.scaled_dot_product_attention(np.zeros((2, 3)), q, q)


# ------------------------------------------------------------------------ MultiheadAttention
def _mha_pair(E=8, H=2, **kw):
    ref = torch.nn.MultiheadAttention(E, H, dtype=torch.float64, **kw)
    mod = cr.nn.MultiheadAttention(E, H, dtype=cr.float64, **kw)
    assert [(n, tuple(p.shape)) for n, p in ref.state_dict().items()] == [
        (n, tuple(p.shape)) for n, p in mod.state_dict().items()
    ]
    copy_params(mod, ref)
    return mod, ref


def _run_mha(mod, ref, q, k, v, self_attn=False, **call):
    (cq, tq), (ck, tk), (cv, tv) = q, k, v
    if self_attn:
        ck = cv = cq
        tk = tv = tq
    ckw = {n: cr.tensor(x) if isinstance(x, np.ndarray) else x for n, x in call.items()}
    tkw = {n: torch.tensor(x) if isinstance(x, np.ndarray) else x for n, x in call.items()}
    out, w = mod(cq, ck, cv, **ckw)
    rout, rw = ref(tq, tk, tv, **tkw)
    close(out, rout)
    assert (w is None) == (rw is None)
    g = np.random.default_rng(11).standard_normal(rout.shape)
    loss = (out * cr.tensor(g)).sum()
    rloss = (rout * torch.tensor(g)).sum()
    if w is not None:
        close(w, rw)
        gw = np.random.default_rng(12).standard_normal(rw.shape)
        loss = loss + (w * cr.tensor(gw)).sum()
        rloss = rloss + (rw * torch.tensor(gw)).sum()
    loss.backward()
    rloss.backward()
    for c, t in ((cq, tq), (ck, tk), (cv, tv)):
        if t.grad is not None:
            close(c.grad, t.grad)
    for (name, p), (rname, rp) in zip(mod.named_parameters(), ref.named_parameters()):
        assert name == rname
        close(p.grad, rp.grad)
    return out, w


def _inputs(L=3, S=4, N=2, E=8, kdim=None, vdim=None, batch_first=False):
    def shape(n, d):
        return (N, n, d) if batch_first else (n, N, d)

    return (
        _data(*shape(L, E), seed=1),
        _data(*shape(S, kdim or E), seed=2),
        _data(*shape(S, vdim or E), seed=3),
    )


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("average", [True, False])
def test_mha_matches_torch(batch_first, average):
    mod, ref = _mha_pair(batch_first=batch_first)
    _run_mha(mod, ref, *_inputs(batch_first=batch_first), average_attn_weights=average)


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_self_attention_packed_projection(batch_first):
    mod, ref = _mha_pair(batch_first=batch_first)
    _run_mha(mod, ref, *_inputs(S=3, batch_first=batch_first), self_attn=True)


def test_mha_kdim_vdim_use_separate_projections():
    mod, ref = _mha_pair(kdim=5, vdim=6)
    assert mod.in_proj_weight is None and tuple(mod.k_proj_weight.shape) == (8, 5)
    _run_mha(mod, ref, *_inputs(kdim=5, vdim=6))


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_masks_bias_kv_zero_attn(need_weights):
    mod, ref = _mha_pair(add_bias_kv=True, add_zero_attn=True)
    rng = np.random.default_rng(5)
    _run_mha(
        mod,
        ref,
        *_inputs(),
        attn_mask=rng.standard_normal((3, 4)),
        key_padding_mask=rng.standard_normal((2, 4)),
        need_weights=need_weights,
    )
    mod, ref = _mha_pair(add_bias_kv=True, add_zero_attn=True, bias=False)
    mask = rng.random((3, 4)) > 0.7
    _run_mha(
        mod,
        ref,
        *_inputs(),
        attn_mask=mask,
        key_padding_mask=rng.random((2, 4)) > 0.8,
        need_weights=need_weights,
    )


def test_mha_per_head_3d_mask_and_unbatched():
    mod, ref = _mha_pair()
    rng = np.random.default_rng(6)
    _run_mha(
        mod, ref, *_inputs(), attn_mask=rng.standard_normal((4, 3, 4)), average_attn_weights=False
    )
    q, k, v = (_data(n, 8, seed=s) for n, s in ((3, 1), (4, 2), (4, 3)))
    _run_mha(mod, ref, q, k, v, key_padding_mask=np.array([False, True, False, False]))


def test_mha_is_causal_hint():
    mod, ref = _mha_pair(batch_first=True)
    causal = np.triu(np.ones((3, 3), bool), 1)
    for need in (False, True):
        _run_mha(
            mod,
            ref,
            *_inputs(S=3, batch_first=True),
            self_attn=True,
            attn_mask=causal,
            is_causal=True,
            need_weights=need,
        )
    with pytest.raises(RuntimeError, match="need attn_mask"):
        mod(cr.randn(2, 3, 8), cr.randn(2, 3, 8), cr.randn(2, 3, 8), is_causal=True)


def test_mha_fully_masked_query_matches_torch_nan_vs_zero():
    """PyTorch 2.13: NaN with need_weights=True (plain softmax), zeros with False (SDPA)."""
    mod, ref = _mha_pair()
    x = np.random.default_rng(0).standard_normal((3, 2, 8))
    kpm = np.zeros((2, 3), bool)
    kpm[1] = True
    for need in (True, False):
        out, w = mod(*(cr.tensor(x),) * 3, key_padding_mask=cr.tensor(kpm), need_weights=need)
        rout, rw = ref(
            *(torch.tensor(x),) * 3, key_padding_mask=torch.tensor(kpm), need_weights=need
        )
        np.testing.assert_array_equal(np.isnan(out.data), np.isnan(rout.detach().numpy()))
        np.testing.assert_allclose(out.data, rout.detach().numpy(), atol=1e-12)
        assert np.isnan(out.data[:, 1]).all() == need


def test_mha_dropout_train_vs_eval():
    mod = cr.nn.MultiheadAttention(8, 2, dropout=0.5, dtype=cr.float64)
    x = cr.randn(4, 2, 8, dtype=cr.float64)
    cr.manual_seed(1)
    a, wa = mod(x, x, x)
    cr.manual_seed(2)
    b, _ = mod(x, x, x)
    assert not np.allclose(a.data, b.data)
    zeros = (wa.detach().numpy() == 0).mean()  # averaged over 2 heads: both dropped with p = 0.25
    assert 0.05 < zeros < 0.5
    mod.eval()
    c, _ = mod(x, x, x)
    d, _ = mod(x, x, x)
    np.testing.assert_array_equal(c.data, d.data)


def test_mha_init_and_errors():
    cr.manual_seed(0)
    mod = cr.nn.MultiheadAttention(16, 4, add_bias_kv=True)
    assert (mod.in_proj_bias.data == 0).all() and (mod.out_proj.bias.data == 0).all()
    bound = np.sqrt(6 / (16 + 48))  # xavier_uniform_ on (3E, E)
    assert np.abs(mod.in_proj_weight.data).max() <= bound
    assert np.abs(mod.in_proj_weight.data).max() > 0.8 * bound
    assert tuple(mod.bias_k.shape) == (1, 1, 16)
    assert type(mod.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    with pytest.raises(ValueError, match="divisible"):
        cr.nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="greater than 0"):
        cr.nn.MultiheadAttention(0, 1)
    with pytest.raises(ValueError, match="attn_mask"):
        mod(cr.randn(3, 2, 16), cr.randn(4, 2, 16), cr.randn(4, 2, 16), attn_mask=cr.zeros(3, 3))
    with pytest.raises(ValueError, match="embedding dimension"):
        mod(cr.randn(3, 2, 8), cr.randn(4, 2, 8), cr.randn(4, 2, 8))


def test_mha_gradcheck_tiny():
    cr.manual_seed(0)
    mod = cr.nn.MultiheadAttention(
        4, 2, add_bias_kv=True, add_zero_attn=True, kdim=3, dtype=cr.float64
    )
    rng = np.random.default_rng(0)
    q = cr.tensor(rng.standard_normal((2, 1, 4)), requires_grad=True)
    k = cr.tensor(rng.standard_normal((3, 1, 3)), requires_grad=True)
    v = cr.tensor(rng.standard_normal((3, 1, 4)), requires_grad=True)
    kpm = cr.tensor(np.array([[False, True, False]]))

    def fn(q, k, v):
        out, w = mod(q, k, v, key_padding_mask=kpm, average_attn_weights=False)
        return out, w

    assert cr.autograd.gradcheck(fn, (q, k, v))


@pytest.mark.parametrize("recompute", [False, True])
def test_sdpa_hessian_forward_over_reverse_matches_torch(monkeypatch, recompute):
    if recompute:
        monkeypatch.setattr(attn_ops, "SAVE_PROBS_MAX_BYTES", 0)
    rng = np.random.default_rng(0)
    q0, k0, v0 = (rng.standard_normal(s) for s in ((2, 3), (4, 3), (4, 2)))
    keep = rng.random((2, 4)) > 0.3

    def f(q):
        out = F.scaled_dot_product_attention(
            q, cr.tensor(k0), cr.tensor(v0), attn_mask=cr.tensor(keep)
        )
        return (out**2).sum()

    def tf(q):
        out = TF.scaled_dot_product_attention(
            q, torch.tensor(k0), torch.tensor(v0), attn_mask=torch.tensor(keep)
        )
        return (out**2).sum()

    close(
        cr.func.hessian(f)(cr.tensor(q0)), torch.autograd.functional.hessian(tf, torch.tensor(q0))
    )
    q, k, v = (cr.tensor(a) for a in (q0, k0, v0))
    assert cr.autograd.check_vjp_jvp(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=cr.tensor(keep)),
        (q, k, v),
    )


def test_functional_mha_with_static_keys_matches_torch():
    mod, ref = _mha_pair()
    rng = np.random.default_rng(8)
    ((cq, tq),) = (_data(3, 2, 8, seed=1),)
    sk, sv = rng.standard_normal((4, 5, 4)), rng.standard_normal((4, 5, 4))  # (N·H, S, hd)

    def run(F_, m, q, tensor):
        return F_.multi_head_attention_forward(
            q,
            q,
            q,
            8,
            2,
            m.in_proj_weight,
            m.in_proj_bias,
            None,
            None,
            False,
            0.0,
            m.out_proj.weight,
            m.out_proj.bias,
            static_k=tensor(sk),
            static_v=tensor(sv),
        )

    out, w = run(F, mod, cq, cr.tensor)
    rout, rw = run(TF, ref, tq, torch.tensor)
    close(out, rout)
    close(w, rw)
    out.sum().backward()
    rout.sum().backward()
    close(cq.grad, tq.grad)


@pytest.mark.parametrize("lq, lk", [(3, 5), (4, 4), (5, 3)])
@pytest.mark.parametrize("variant", ["causal_upper_left", "causal_lower_right"])
def test_causal_bias_objects_like_torch(lq, lk, variant):
    """nn.attention.bias masks as attn_mask (KV-cache decoding: L new queries after S - L
    cached keys): outputs and gradients as torch's, with torch's warning for L > S."""
    (cq, tq), (ck, tk), (cv, tv) = _qkv((1, 2, lq, 4), (1, 2, lk, 4), (1, 2, lk, 3))
    lower_wide = variant == "causal_lower_right" and lq > lk
    with pytest.warns(UserWarning, match="NaNs") if lower_wide else contextlib.nullcontext():
        cb = getattr(cbias, variant)(lq, lk)
    with pytest.warns(UserWarning, match="NaNs") if lower_wide else contextlib.nullcontext():
        tb = getattr(tbias, variant)(lq, lk)
    np.testing.assert_array_equal(cb._materialize().numpy(), tb._materialize().numpy())
    assert (cb.seq_len_q, cb.seq_len_kv, int(cb.variant)) == (lq, lk, int(tb.variant))
    out = F.scaled_dot_product_attention(cq, ck, cv, attn_mask=cb)
    ref = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=tb)
    if lower_wide:  # torch's CPU kernel gives 0 for the rows that see no key, as chainrule
        assert not ref.isnan().any()
    close(out, ref)
    w = np.random.default_rng(5).standard_normal(tuple(ref.shape))
    (out * cr.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for c, t in ((cq, tq), (ck, tk), (cv, tv)):
        close(c.grad, t.grad)
    with pytest.raises(ValueError, match="should not be used with causal=True"):
        F.scaled_dot_product_attention(cq, ck, cv, attn_mask=cb, is_causal=True)
    with pytest.raises(AssertionError, match=f"{variant} only supports 2D tensors"):
        getattr(cbias, variant)(1, lq, lk)


@pytest.mark.parametrize("kind", ["bool", "float", "dead_row"])
def test_sdpa_combines_attn_mask_with_is_causal_as_torch(kind):
    """PyTorch 2.13 on CPU applies both: a key must pass the explicit mask and the causal one
    (upper left, L != S here); a row that both block entirely is zeros. Gradients reach a
    float mask as through the explicitly combined mask (torch itself raises for a mask that
    requires grad with is_causal, or with dropout: its fused CPU kernel, which combines
    them, does not apply there; chainrule combines them always)."""
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(s) for s in [(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4)])
    if kind == "float":
        m = rng.standard_normal((3, 5))
    else:
        m = rng.random((2, 1, 3, 5)) > 0.3
        if kind == "dead_row":
            m[..., 0, 0] = False  # row 0 sees only key 0 causally
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    cq, ck, cv = (cr.tensor(a, requires_grad=True) for a in (q, k, v))
    cm = cr.tensor(m, requires_grad=kind == "float")
    to = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.tensor(m), is_causal=True)
    co = F.scaled_dot_product_attention(cq, ck, cv, attn_mask=cm, is_causal=True)
    np.testing.assert_allclose(co.detach().numpy(), to.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(to.shape)
    to.backward(torch.tensor(g))
    co.backward(cr.tensor(g))
    for c, t in [(cq, tq), (ck, tk), (cv, tv)]:
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), atol=1e-12)
    if kind == "float":
        tm = torch.tensor(m, requires_grad=True)
        later = ~torch.ones(3, 5, dtype=torch.bool).tril()
        combined = tm.masked_fill(later, float("-inf"))
        ref = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=combined)
        ref.backward(torch.tensor(g))
        np.testing.assert_allclose(cm.grad.numpy(), tm.grad.numpy(), atol=1e-12)
