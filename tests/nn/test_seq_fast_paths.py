"""The fast paths behind the sequence-model benchmarks, each pinned to PyTorch.

GELU (``ops/gelu.py``, ``_kernels/gelu.py``): forward, gradient, double backward and forward
mode against torch in float64 on both kernel paths (compiled with Numba when installed, and
the NumPy fallback), sizes below and above the compiled-kernel threshold, special values;
the float32 kernels against the exact GELU to float32 accuracy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule._kernels import gelu as K
from chainrule._kernels import numba_available, use_backend

RNG = np.random.default_rng(0)
BACKENDS = ["numpy"] + (["numba"] if numba_available() else [])
BIG = 70_000  # above the compiled kernels' minimum size


def _exact_gelu(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    erf = np.vectorize(math.erf)
    return x * 0.5 * (1.0 + erf(x / math.sqrt(2.0)))


def _exact_gelu_grad(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    erf = np.vectorize(math.erf)
    return 0.5 * (1.0 + erf(x / math.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _inputs(n: int, dtype) -> np.ndarray:
    x = RNG.standard_normal(n) * 3
    x[:8] = [0.0, -0.0, 1e-30, -1e-30, 5.5, -5.5, 12.0, -12.0]
    return x.astype(dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [9, BIG])
def test_gelu_matches_torch_float64(backend, n):
    x, g = _inputs(n, np.float64), RNG.standard_normal(n)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.gelu(xt)
    (gxt,) = torch.autograd.grad(yt, xt, torch.tensor(g), create_graph=True)
    (ggt,) = torch.autograd.grad(gxt, xt, torch.ones_like(xt))
    with use_backend(backend):
        xc = cr.tensor(x, requires_grad=True)
        yc = F.gelu(xc)
        (gxc,) = cr.autograd.grad(yc, xc, cr.tensor(g), create_graph=True)
        (ggc,) = cr.autograd.grad(gxc, xc, cr.ones_like(xc))
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(gxc.detach().numpy(), gxt.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ggc.numpy(), ggt.numpy(), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gelu_special_values_match_torch(backend):
    x = np.array([np.inf, -np.inf, np.nan, 40.0, -40.0, 0.0] * 12_000, np.float32)
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.gelu(xt).sum().backward()
    with use_backend(backend):
        xc = cr.tensor(x, requires_grad=True)
        y = F.gelu(xc)
        y.sum().backward()
    # gelu(+inf) = inf; torch's AVX-512 kernel returns NaN there (its AVX2 one inf)
    pos_inf = np.isposinf(x)
    assert np.isposinf(y.detach().numpy()[pos_inf]).all()
    np.testing.assert_allclose(
        y.detach().numpy()[~pos_inf],
        torch.nn.functional.gelu(xt).detach().numpy()[~pos_inf],
        atol=0,
    )
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gelu_float32_accuracy(backend):
    x = np.concatenate([np.linspace(-9, 9, 200_001), _inputs(BIG, np.float64)])
    x = x.astype(np.float32)
    g = np.ones_like(x)
    with use_backend(backend):
        y = F.gelu(cr.tensor(x)).numpy()
        gx = K.gelu_grad(g, x) if backend == "numba" else K._gelu_grad_numpy(g, x)
    assert y.dtype == np.float32 and gx.dtype == np.float32
    ulp = np.spacing(np.float32(1))
    # absolute error within a few float32 ulps of the output's scale (torch's own is ~3e-7)
    assert np.abs(y - _exact_gelu(x)).max() <= 3 * ulp * np.maximum(1, np.abs(x)).max() / 8
    assert np.abs(gx - _exact_gelu_grad(x)).max() <= 4 * ulp


@pytest.mark.skipif(not numba_available(), reason="the compiled path needs numba")
def test_gelu_float32_relative_accuracy_in_both_tails():
    """The compiled float32 GELU and its derivative keep their relative accuracy for x << 0,
    where 1 + erf(x/√2) cancels: value within 4 ulp on [GELU_F32_ZERO_BELOW, 14] and
    PyTorch's -0.0 below it, the derivative within 5.5 ulp outside [-1, -0.5] and within
    5.5 ulp of the interval's largest |d| (0.1325, at -0.5) inside (it crosses zero at x =
    -0.7518): the bounds of chainrule._kernels.gelu's docstring."""
    from scipy.special import erfc

    x = np.concatenate([np.linspace(-12, 14, 200_001), np.linspace(-1, 1, 20_001)])
    x = x.astype(np.float32)
    x64 = x.astype(np.float64)
    cdf = 0.5 * erfc(-x64 / math.sqrt(2.0))
    want_y = x64 * cdf
    want_d = cdf + x64 * np.exp(-0.5 * x64 * x64) / math.sqrt(2 * math.pi)
    y, d = np.empty_like(x), np.empty_like(x)
    K.gelu_with_grad_f32(x, y, d)
    ulp_y = np.spacing(np.abs(want_y).astype(np.float32)).astype(np.float64)
    # below GELU_F32_ZERO_BELOW the value is PyTorch's -0.0 (session 37), not the tiny product
    tail = x < K.GELU_F32_ZERO_BELOW
    assert tail.any() and (y[tail] == 0).all() and np.signbit(y[tail]).all()
    assert (np.abs(y - want_y)[~tail] <= 4 * ulp_y[~tail]).all()
    near = (x64 > -1) & (x64 < -0.5)
    ulp_d = np.spacing(np.abs(want_d).astype(np.float32)).astype(np.float64)
    assert (np.abs(d - want_d)[~near] <= 5.5 * ulp_d[~near]).all()
    assert np.abs(d - want_d)[near].max() <= 5.5 * np.spacing(np.float32(0.1325))
    assert np.array_equal(K.gelu_f32(x), y)
    assert np.array_equal(K.gelu_grad_f32(np.ones_like(x), x), d)


@pytest.mark.skipif(not numba_available(), reason="the compiled path needs numba")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_compiled_equals_fallback(dtype):
    x, g = _inputs(BIG, dtype), RNG.standard_normal(BIG).astype(dtype)
    tol = {"rtol": 3e-7, "atol": 3e-7} if dtype == np.float32 else {"rtol": 1e-14, "atol": 1e-15}
    for kern in (K.gelu_f32, K.gelu_f64):
        if (kern is K.gelu_f32) == (dtype == np.float32):
            np.testing.assert_allclose(kern.compiled(x), kern.fallback(x), **tol)
    for kern in (K.gelu_grad_f32, K.gelu_grad_f64):
        if (kern is K.gelu_grad_f32) == (dtype == np.float32):
            np.testing.assert_allclose(kern.compiled(g, x), kern.fallback(g, x), **tol)


def test_gelu_gradcheck_and_gradgradcheck():
    x = cr.tensor(RNG.standard_normal((3, 4)) * 2, requires_grad=True)
    assert cr.autograd.gradcheck(F.gelu, (x,))
    assert cr.autograd.gradgradcheck(F.gelu, (x,))


def test_gelu_forward_mode_matches_torch():
    x, t = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
    _, tout = cr.func.jvp(F.gelu, (cr.tensor(x),), (cr.tensor(t),))
    _, ttout = torch.func.jvp(torch.nn.functional.gelu, (torch.tensor(x),), (torch.tensor(t),))
    np.testing.assert_allclose(tout.numpy(), ttout.numpy(), rtol=1e-12, atol=1e-14)


def test_gelu_non_contiguous_and_float32_module():
    x = RNG.standard_normal((6, 40_000)).astype(np.float32)[:, ::3]
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.GELU()(xt).square().sum().backward()
    xc = cr.tensor(x, requires_grad=True)
    cr.nn.GELU()(xc).square().sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ embedding backward
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"padding_idx": 3},
        {"scale_grad_by_freq": True},
        {"padding_idx": -2, "scale_grad_by_freq": True},
    ],
)
def test_embedding_grad_matches_torch(backend, kw):
    w = RNG.standard_normal((9, 5))
    idx = RNG.integers(0, 9, (4, 11))
    g = RNG.standard_normal((4, 11, 5))
    wt = torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.embedding(torch.tensor(idx), wt, **kw)
    (gwt,) = torch.autograd.grad(yt, wt, torch.tensor(g))
    with use_backend(backend):
        wc = cr.tensor(w, requires_grad=True)
        yc = F.embedding(cr.tensor(idx), wc, **kw)
        (gwc,) = cr.autograd.grad(yc, wc, cr.tensor(g))
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(gwc.numpy(), gwt.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_embedding_grad_of_grad_output(backend):
    """d(dW)/d(g) is the lookup: gradient of a function of dW with respect to g."""
    w, idx = RNG.standard_normal((6, 3)), RNG.integers(0, 6, 10)
    g, c = RNG.standard_normal((10, 3)), RNG.standard_normal((6, 3))
    gt = torch.tensor(g, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    (gwt,) = torch.autograd.grad(
        torch.nn.functional.embedding(torch.tensor(idx), wt), wt, gt, create_graph=True
    )
    (dgt,) = torch.autograd.grad((gwt * torch.tensor(c)).sum(), gt)
    with use_backend(backend):
        gc = cr.tensor(g, requires_grad=True)
        wc = cr.tensor(w, requires_grad=True)
        (gwc,) = cr.autograd.grad(F.embedding(cr.tensor(idx), wc), wc, gc, create_graph=True)
        (dgc,) = cr.autograd.grad((gwc * cr.tensor(c)).sum(), gc)
    np.testing.assert_allclose(dgc.numpy(), dgt.numpy(), rtol=1e-14)


@pytest.mark.skipif(not numba_available(), reason="the compiled path needs numba")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scatter_rows_compiled_equals_add_at(dtype):
    from chainrule._kernels.embedding import scatter_add_rows

    g = RNG.standard_normal((700, 16)).astype(dtype)
    idx = RNG.integers(0, 40, 700).astype(np.intp)
    ref = np.zeros((40, 16), dtype)
    np.add.at(ref, idx, g)
    np.testing.assert_array_equal(scatter_add_rows.compiled(g, idx, 40), ref)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(scatter_add_rows.fallback(g, idx, 40), ref, rtol=tol, atol=tol)
    assert scatter_add_rows.fallback(g[:0], idx[:0], 40).shape == (40, 16)


def test_embedding_gradcheck_and_forward_mode():
    idx = cr.tensor(RNG.integers(0, 5, (2, 3)))
    w = cr.tensor(RNG.standard_normal((5, 2)), requires_grad=True)
    assert cr.autograd.gradcheck(lambda a: F.embedding(idx, a), (w,))
    assert cr.autograd.gradgradcheck(lambda a: F.embedding(idx, a), (w,))
    t = RNG.standard_normal((5, 2))
    _, tout = cr.func.jvp(lambda a: F.embedding(idx, a), (w.detach(),), (cr.tensor(t),))
    np.testing.assert_allclose(tout.numpy(), t[idx.numpy()])


# ---------------------------------------------------------------- linear (raw backward)
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_grads_match_torch(shape, bias):
    x, w, b = RNG.standard_normal(shape), RNG.standard_normal((3, 4)), RNG.standard_normal(3)
    g = RNG.standard_normal(shape[:-1] + (3,))
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    cs = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
    torch.nn.functional.linear(ts[0], ts[1], ts[2] if bias else None).backward(torch.tensor(g))
    F.linear(cs[0], cs[1], cs[2] if bias else None).backward(cr.tensor(g))
    for c, t in zip(cs if bias else cs[:2], ts if bias else ts[:2]):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-13, atol=1e-14)


def test_linear_non_contiguous_input_and_double_backward():
    x = RNG.standard_normal((4, 6, 5)).transpose(1, 0, 2)
    w, b = RNG.standard_normal((3, 5)), RNG.standard_normal(3)
    xt, wt, bt = (torch.tensor(np.ascontiguousarray(a), requires_grad=True) for a in (x, w, b))
    xc, wc, bc = (cr.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.linear(xt, wt, bt).square().sum()
    yc = F.linear(xc, wc, bc).square().sum()
    gt = torch.autograd.grad(yt, (xt, wt, bt), create_graph=True)
    gc = cr.autograd.grad(yc, (xc, wc, bc), create_graph=True)
    for a, t in zip(gc, gt):
        np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-13)
    ht = torch.autograd.grad(sum(t.sum() for t in gt), (xt, wt))
    hc = cr.autograd.grad(sum(a.sum() for a in gc), (xc, wc))
    for a, t in zip(hc, ht):
        np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-12, atol=1e-13)


# ------------------------------------------------------------ LSTM sequence op
def _lstm_pair(layers=2, batch_first=True):
    tm = torch.nn.LSTM(3, 4, layers, batch_first=batch_first, dtype=torch.float64)
    m = cr.nn.LSTM(3, 4, layers, batch_first=batch_first, dtype=cr.float64)
    m.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return m, tm


def test_lstm_sequence_op_matches_torch():
    m, tm = _lstm_pair()
    x, h0, c0 = (
        RNG.standard_normal((2, 6, 3)),
        RNG.standard_normal((2, 2, 4)),
        RNG.standard_normal((2, 2, 4)),
    )
    ts = [torch.tensor(a, requires_grad=True) for a in (x, h0, c0)]
    cs = [cr.tensor(a, requires_grad=True) for a in (x, h0, c0)]
    yt, (ht, ct) = tm(ts[0], (ts[1], ts[2]))
    yc, (hc, cc) = m(cs[0], (cs[1], cs[2]))
    gy, gh, gc = (RNG.standard_normal(a.shape) for a in (yt, ht, ct))
    torch.autograd.backward((yt, ht, ct), tuple(torch.tensor(a) for a in (gy, gh, gc)))
    cr.autograd.backward((yc, hc, cc), tuple(cr.tensor(a) for a in (gy, gh, gc)))
    for a, b in ((yc, yt), (hc, ht), (cc, ct)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)
    for a, b in zip(cs, ts):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-11, atol=1e-13)
    tp = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=1e-11, atol=1e-13)


def test_lstm_sequence_op_equals_per_step_cells():
    from chainrule.ops.recurrent_lstm import lstm_cell
    from chainrule.ops.recurrent_seq import lstm_sequence

    b, h, steps = 3, 4, 5
    arrs = (
        RNG.standard_normal((steps * b, 4 * h)),
        RNG.standard_normal((b, h)),
        RNG.standard_normal((b, h)),
        RNG.standard_normal((4 * h, h)),
    )
    a1 = [cr.tensor(a, requires_grad=True) for a in arrs]
    a2 = [cr.tensor(a, requires_grad=True) for a in arrs]
    out1, h1, c1 = lstm_sequence(*a1)
    hh, cc, outs = a2[1], a2[2], []
    for t in range(steps):
        hh, cc = lstm_cell(a2[0][t * b : (t + 1) * b], hh, cc, a2[3])
        outs.append(hh)
    out2 = cr.cat(outs, 0)
    ((out1 * out1).sum() + (h1 * c1).sum()).backward()
    ((out2 * out2).sum() + (hh * cc).sum()).backward()
    np.testing.assert_allclose(out1.detach().numpy(), out2.detach().numpy(), rtol=1e-14)
    for p, q in zip(a1, a2):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_lstm_sequence_op_gradcheck_gradgradcheck_and_jvp():
    from chainrule.ops.recurrent_seq import lstm_sequence

    b, h, steps = 2, 2, 3
    arrs = (
        RNG.standard_normal((steps * b, 4 * h)),
        RNG.standard_normal((b, h)),
        RNG.standard_normal((b, h)),
        RNG.standard_normal((4 * h, h)) * 0.5,
    )
    inputs = tuple(cr.tensor(a, requires_grad=True) for a in arrs)
    assert cr.autograd.gradcheck(lstm_sequence, inputs)
    assert cr.autograd.gradgradcheck(lstm_sequence, inputs)
    tangents = tuple(cr.tensor(RNG.standard_normal(a.shape)) for a in arrs)
    _, touts = cr.func.jvp(lstm_sequence, tuple(cr.tensor(a) for a in arrs), tangents)
    eps = 1e-6
    plus = lstm_sequence(*(cr.tensor(a + eps * t.numpy()) for a, t in zip(arrs, tangents)))
    minus = lstm_sequence(*(cr.tensor(a - eps * t.numpy()) for a, t in zip(arrs, tangents)))
    for t, p, m in zip(touts, plus, minus):
        np.testing.assert_allclose(
            t.numpy(), (p.numpy() - m.numpy()) / (2 * eps), rtol=1e-6, atol=1e-8
        )
    with pytest.raises(ValueError, match="lstm_sequence"):
        lstm_sequence(cr.zeros(5, 8), cr.zeros(2, 2), cr.zeros(2, 2), cr.zeros(8, 2))


# ------------------------------------------------------------- GRU sequence op
@pytest.mark.parametrize("bias", [True, False])
def test_gru_sequence_op_matches_torch(bias):
    tm = torch.nn.GRU(3, 4, 2, bias=bias, batch_first=True, dtype=torch.float64)
    m = cr.nn.GRU(3, 4, 2, bias=bias, batch_first=True, dtype=cr.float64)
    m.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x, h0 = RNG.standard_normal((2, 6, 3)), RNG.standard_normal((2, 2, 4))
    ts = [torch.tensor(a, requires_grad=True) for a in (x, h0)]
    cs = [cr.tensor(a, requires_grad=True) for a in (x, h0)]
    yt, ht = tm(ts[0], ts[1])
    yc, hc = m(cs[0], cs[1])
    gy, gh = RNG.standard_normal(yt.shape), RNG.standard_normal(ht.shape)
    torch.autograd.backward((yt, ht), (torch.tensor(gy), torch.tensor(gh)))
    cr.autograd.backward((yc, hc), (cr.tensor(gy), cr.tensor(gh)))
    for a, b in ((yc, yt), (hc, ht)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)
    for a, b in zip(cs, ts):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-11, atol=1e-13)
    tp = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("bias", [True, False])
def test_gru_sequence_op_gradcheck_gradgradcheck_and_jvp(bias):
    from chainrule.ops.recurrent_gru_seq import gru_sequence

    b, h, steps = 2, 2, 3
    arrs = [
        RNG.standard_normal((steps * b, 3 * h)),
        RNG.standard_normal((b, h)),
        RNG.standard_normal((3 * h, h)) * 0.5,
    ]
    if bias:
        arrs.append(RNG.standard_normal(3 * h))
    inputs = tuple(cr.tensor(a, requires_grad=True) for a in arrs)
    assert cr.autograd.gradcheck(gru_sequence, inputs)
    assert cr.autograd.gradgradcheck(gru_sequence, inputs)
    tangents = tuple(cr.tensor(RNG.standard_normal(a.shape)) for a in arrs)
    _, touts = cr.func.jvp(gru_sequence, tuple(cr.tensor(a) for a in arrs), tangents)
    eps = 1e-6
    plus = gru_sequence(*(cr.tensor(a + eps * t.numpy()) for a, t in zip(arrs, tangents)))
    minus = gru_sequence(*(cr.tensor(a - eps * t.numpy()) for a, t in zip(arrs, tangents)))
    for t, p, m in zip(touts, plus, minus):
        np.testing.assert_allclose(
            t.numpy(), (p.numpy() - m.numpy()) / (2 * eps), rtol=1e-6, atol=1e-8
        )
    with pytest.raises(ValueError, match="gru_sequence"):
        gru_sequence(cr.zeros(5, 6), cr.zeros(2, 2), cr.zeros(6, 2))


@pytest.mark.parametrize("name", ["lstm_sequence", "gru_sequence"])
def test_sequence_output_may_be_modified_in_place(name):
    """As in PyTorch, the outputs are not saved for backward: changing them in place after
    the forward leaves the gradients correct."""
    import chainrule.ops.recurrent_gru_seq as gru_seq
    import chainrule.ops.recurrent_seq as seq

    fn = getattr(seq if name == "lstm_sequence" else gru_seq, name)
    g = 4 if name == "lstm_sequence" else 3
    arrs = [RNG.standard_normal((6, g * 2)), RNG.standard_normal((2, 2))]
    arrs += [RNG.standard_normal((2, 2))] if g == 4 else []
    arrs += [RNG.standard_normal((g * 2, 2))]
    a1 = [cr.tensor(a, requires_grad=True) for a in arrs]
    a2 = [cr.tensor(a, requires_grad=True) for a in arrs]
    (fn(*a1)[0] * 2.0).sum().backward()
    out = fn(*a2)[0]
    out.mul_(2.0)
    out.sum().backward()
    for p, q in zip(a1, a2):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-14)


def test_fused_attention_output_and_gradients_keep_the_heads_memory_order_as_torch():
    """Heads cut from one (B, T, 3C) projection: PyTorch's CPU attention returns its output
    in the inputs' (B, T, H, D) memory order, so the transpose-and-reshape after it is a view;
    the fused path does the same, and its head gradients too."""
    b, t, h, d = 2, 5, 2, 4
    qkv = np.random.default_rng(21).standard_normal((b, t, 3 * h * d)).astype(np.float32)
    outs = {}
    for lib in (cr, torch):
        x = lib.tensor(qkv, requires_grad=True)
        q, k, v = (z.view(b, t, h, d).transpose(1, 2) for z in x.split(h * d, dim=2))
        o = lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        o.transpose(1, 2).reshape(b, t, h * d).square().sum().backward()
        outs[lib.__name__] = (o, x.grad)
    (co, cg), (to, tg) = outs["chainrule"], outs["torch"]
    assert co.stride() == tuple(to.stride())
    np.testing.assert_allclose(co.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cg.numpy(), tg.numpy(), rtol=1e-4, atol=1e-5)
