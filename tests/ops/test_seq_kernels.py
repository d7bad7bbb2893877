"""The compiled kernels of the sequence models (LSTM and GRU steps, attention softmax, row
standardisation, GELU with its derivative) against their NumPy fallbacks, and the ops that
use them against the same ops on the NumPy path and against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule._kernels import attention as AK
from chainrule._kernels import gelu as GK
from chainrule._kernels import jit
from chainrule._kernels import layernorm as LK
from chainrule._kernels import recurrent as RK
from chainrule._kernels import recurrent_gru as GRK

pytestmark = pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")

DTYPES = [np.float32, np.float64]


def _rand(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


# ------------------------------------------------------------------------------- LSTM step
@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_step_kernels_equal_fallback_bitwise(dtype):
    rng = np.random.default_rng(0)
    b, h = 5, 7
    act0 = _rand(rng, (b, 4 * h), dtype, 4.0)
    act0[0, :4] = [100.0, -100.0, 50.0, -50.0]  # e^-z overflows / underflows
    xg, c = _rand(rng, (b, 4 * h), dtype), _rand(rng, (b, h), dtype)
    outs = []
    for compiled in (True, False):
        act = act0.copy()
        cn, tc, hn = (np.empty((b, h), dtype) for _ in range(3))
        with np.errstate(over="ignore"):
            RK.lstm_step_forward(act, xg, c, cn, tc, hn, compiled)
        gh, gy, gc = (_rand(np.random.default_rng(1), (b, h), dtype) for _ in range(3))
        d, gco = np.empty_like(act), np.empty_like(c)
        RK.lstm_step_backward(gh, gy, gc, c, act, tc, d, gco, compiled)
        outs.append((act, cn, tc, hn, d, gco))
    for a, f in zip(*outs):
        np.testing.assert_array_equal(a, f)


def test_lstm_backward_kernel_in_place_gc():
    rng = np.random.default_rng(2)
    b, h = 3, 4
    act = rng.random((b, 4 * h))
    gh, gy, gc, c, tc = (rng.standard_normal((b, h)) for _ in range(5))
    d1, out = np.empty_like(act), np.empty_like(gc)
    RK.lstm_backward_kernel.compiled(gh, gy, gc, c, act, tc, d1, out, 1.0)
    d2, inplace = np.empty_like(act), gc.copy()
    RK.lstm_backward_kernel.compiled(gh, gy, inplace, c, act, tc, d2, inplace, 1.0)
    np.testing.assert_array_equal(out, inplace)
    np.testing.assert_array_equal(d1, d2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_layer_same_on_both_paths(dtype):
    rng = np.random.default_rng(3)
    x = _rand(rng, (6, 4, 5), dtype)
    results = []
    for backend in ("numba", "numpy"):
        with jit.use_backend(backend):
            cr.manual_seed(0)
            lstm = cr.nn.LSTM(5, 8, num_layers=2).to(
                dtype=cr.float32 if dtype == np.float32 else cr.float64
            )
            xt = cr.tensor(x, requires_grad=True)
            out, (h, c) = lstm(xt)
            (out.sum() + (h * c).sum()).backward()
            results.append(
                [out._data, h._data, c._data, xt.grad._data]
                + [p.grad._data for p in lstm.parameters()]
            )
    for a, b in zip(*results):
        if dtype == np.float64:  # the same per-step kernels and NumPy calls: the same bits
            np.testing.assert_array_equal(a, b)
        else:  # float32 runs the compiled time loops, whose gates use float32 exp and tanh
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -------------------------------------------------------------------------------- GRU step
@pytest.mark.parametrize("dtype", DTYPES)
def test_gru_step_kernels_equal_fallback_bitwise(dtype):
    rng = np.random.default_rng(5)
    b, h = 5, 7
    xg, hg = _rand(rng, (b, 3 * h), dtype, 4.0), _rand(rng, (b, 3 * h), dtype, 4.0)
    xg[0, :2] = [100.0, -100.0]  # e^-z overflows / underflows
    hprev = _rand(rng, (b, h), dtype)
    gh, gy = (_rand(np.random.default_rng(6), (b, h), dtype) for _ in range(2))
    outs = []
    for compiled in (True, False):
        rz = np.empty((b, 2 * h), dtype)
        r, z, n, hn, hnew = (np.empty((b, h), dtype) for _ in range(5))
        GRK.gru_step_forward(xg, hg, hprev, rz, r, z, n, hn, hnew, compiled)
        d, e, gz = np.empty((b, 3 * h), dtype), np.empty((b, 3 * h), dtype), np.empty((b, h), dtype)
        GRK.gru_step_backward(gh, gy, hprev, r, z, n, hn, d, e, gz, compiled)
        outs.append((r, z, n, hn, hnew, d, e, gz))
    for a, f in zip(*outs):
        np.testing.assert_array_equal(a, f)
    r, z, n, hn, hnew = outs[0][:5]  # and the formulas themselves
    sig = lambda v: 1 / (1 + np.exp(-v.astype(np.float64)))  # noqa: E731
    np.testing.assert_allclose(r, sig(xg[:, :h] + hg[:, :h]), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        n, np.tanh(xg[:, 2 * h :] + r * hg[:, 2 * h :]), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(hnew, (1 - z) * n + z * hprev, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [3, 16])  # 16: the time loop split over batch blocks
def test_gru_layer_same_on_both_paths(dtype, batch, monkeypatch):
    import chainrule.ops.recurrent_seq as seq

    monkeypatch.setattr(seq, "SMALL_STEP_MACS", 1 << 40)  # force the split where rows allow
    rng = np.random.default_rng(7)
    x = _rand(rng, (6, batch, 5), dtype)
    results = []
    for backend in ("numba", "numpy"):
        with jit.use_backend(backend):
            cr.manual_seed(0)
            gru = cr.nn.GRU(5, 8, num_layers=2).to(
                dtype=cr.float32 if dtype == np.float32 else cr.float64
            )
            xt = cr.tensor(x, requires_grad=True)
            out, h = gru(xt)
            (out.sum() + (h * h).sum()).backward()
            results.append(
                [out._data, h._data, xt.grad._data] + [p.grad._data for p in gru.parameters()]
            )
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_lstm_float32_matches_torch():
    rng = np.random.default_rng(4)
    x = _rand(rng, (3, 20, 16), np.float32)
    tl = torch.nn.LSTM(16, 32, batch_first=True)
    cl = cr.nn.LSTM(16, 32, batch_first=True)
    cl.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tl.state_dict().items()})
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    to, co = tl(tx)[0], cl(cx)[0]
    g = _rand(rng, to.shape, np.float32)
    to.backward(torch.tensor(g))
    co.backward(cr.tensor(g))
    np.testing.assert_allclose(co._data, to.detach().numpy(), atol=2e-6)
    np.testing.assert_allclose(cx.grad._data, tx.grad.numpy(), atol=2e-6)
    for (name, tp), cp in zip(tl.named_parameters(), cl.parameters()):
        np.testing.assert_allclose(cp.grad._data, tp.grad.numpy(), atol=2e-5, err_msg=name)


# ------------------------------------------------------------------------ attention rows
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("shape", [(2, 6, 6), (3, 5, 9), (2, 9, 5), (1, 70, 70)])
def test_attention_softmax_forward_compiled_vs_fallback(causal, shape):
    rng = np.random.default_rng(5)
    s0 = _rand(rng, shape, np.float32, 3.0)
    n, length = shape[-1], shape[-2]
    got, want = s0.reshape(-1, n).copy(), s0.reshape(-1, n).copy()
    lse_got, lse_want = np.empty(got.shape[0]), np.empty(got.shape[0])
    assert AK.softmax_forward_f32.compiled(got, 0.3, length, causal, lse_got) == 0
    assert AK.softmax_forward_f32.fallback(want, 0.3, length, causal, lse_want) == 0
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(lse_got, lse_want, rtol=1e-6)
    if causal:
        assert not np.triu(got.reshape(shape), 1).any()


def test_attention_softmax_forward_reports_bad_rows():
    s = np.zeros((4, 3), np.float32)
    s[1, 0] = np.nan
    s[2, :] = -np.inf
    s[3, 2] = np.inf
    lse = np.empty(4)
    assert AK.softmax_forward_f32.compiled(s.copy(), 1.0, 4, False, lse) == 3
    assert AK.softmax_forward_f32.fallback(s.copy(), 1.0, 4, False, lse) == 3


def test_attention_softmax_forward_special_scores():
    """-inf scores beside finite ones give 0 (not a bad row); a negative NaN (x86's default
    NaN) is found by the row sum; -0.0 and +0.0 tie; an accurate row with large scores."""
    s = np.array(
        [
            [-np.inf, 1.0, 2.0, -np.inf],
            [0.0, -0.0, 0.0, -0.0],
            [1.0, -np.float32(np.nan), 2.0, 3.0],
            [80.0, 79.0, -80.0, 0.5],
        ],
        np.float32,
    )
    s[2, 1] = -np.abs(np.float32(np.nan))
    got, want = s.copy(), s.copy()
    lse_got, lse_want = np.empty(4), np.empty(4)
    assert AK.softmax_forward_f32.compiled(got, 1.5, 4, False, lse_got) == 1
    assert AK.softmax_forward_f32.fallback(want, 1.5, 4, False, lse_want) == 1
    keep = [0, 1, 3]
    np.testing.assert_allclose(got[keep], want[keep], rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(lse_got[keep], lse_want[keep], rtol=1e-6)
    assert got[0, 0] == 0.0 and got[0, 3] == 0.0


@pytest.mark.parametrize("scale", [-0.5, 0.0])
def test_attention_softmax_forward_nonpositive_scale_takes_the_reference(scale):
    """The compiled row max assumes scale > 0; other scales run the NumPy reference."""
    s = np.random.default_rng(8).standard_normal((6, 6)).astype(np.float32)
    got, lse = s.copy(), np.empty(6)
    assert AK.softmax_forward(got, scale, 6, True, lse) == 0
    ref = torch.softmax(
        torch.tensor(s * np.float32(scale)).masked_fill(~torch.ones(6, 6).tril().bool(), -np.inf),
        -1,
    )
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-6, atol=1e-7)


def test_float_bit_casts_round_trip():
    """jit.f32_as_i32 and jit.i32_as_f32 (LLVM bitcasts once compiled) invert each other,
    and as Python they are NumPy views."""
    import numba

    jit._import_numba()

    @numba.njit
    def round_trip(x, out_bits, out_back):
        for i in range(x.size):
            out_bits[i] = jit.f32_as_i32(x[i])
            out_back[i] = jit.i32_as_f32(out_bits[i])

    x = np.array([0.0, -0.0, 1.5, -np.inf, np.inf, 1e-45, np.nan], np.float32)
    bits, back = np.empty(x.size, np.int32), np.empty_like(x)
    round_trip(x, bits, back)
    np.testing.assert_array_equal(bits, x.view(np.int32))
    np.testing.assert_array_equal(back.view(np.int32), x.view(np.int32))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [True, False])
def test_attention_softmax_backward_compiled_vs_fallback(dtype, causal):
    rng = np.random.default_rng(6)
    rows, n, length = 24, 8, 6
    p = rng.random((rows, n)).astype(dtype)
    if causal:
        vis = np.minimum(np.arange(rows) % length + 1, n)
        p[np.arange(n)[None, :] >= vis[:, None]] = 0
    p /= p.sum(-1, keepdims=True)
    dp = _rand(rng, (rows, n), dtype)
    got, want = dp.copy(), dp.copy()
    AK.softmax_backward_kernel.compiled(got, p, 0.5, length, causal)
    AK.softmax_backward_kernel.fallback(want, p, 0.5, length, causal)
    tol = dict(rtol=1e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got, want, **tol)


@pytest.mark.parametrize("causal", [True, False])
def test_sdpa_fused_path_equals_general_path(causal):
    rng = np.random.default_rng(7)
    q, k, v = (_rand(rng, (2, 3, 7, 4), np.float32) for _ in range(3))
    g = _rand(rng, (2, 3, 7, 4), np.float32)
    res = []
    for backend in ("numba", "numpy"):
        with jit.use_backend(backend):
            ts = [cr.tensor(a, requires_grad=True) for a in (q, k, v)]
            out = F.scaled_dot_product_attention(*ts, is_causal=causal)
            out.backward(cr.tensor(g))
            res.append([out._data] + [t.grad._data for t in ts])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-7)


def test_sdpa_fused_path_falls_back_on_nan_rows():
    """A row with NaN goes to the general path: the same result as without the kernels."""
    q = np.zeros((1, 1, 3, 2), np.float32)
    q[0, 0, 1, 0] = np.nan
    k = np.ones((1, 1, 3, 2), np.float32)
    res = []
    for backend in ("numba", "numpy"):
        with jit.use_backend(backend):
            args = (cr.tensor(q), cr.tensor(k), cr.tensor(k))
            res.append(F.scaled_dot_product_attention(*args, is_causal=True)._data)
    np.testing.assert_array_equal(res[0], res[1])


# ----------------------------------------------------------------- row standardisation
@pytest.mark.parametrize("dtype", DTYPES)
def test_normalize_rows_compiled_vs_fallback(dtype):
    rng = np.random.default_rng(8)
    x = _rand(rng, (10, 37), dtype, 5.0) + 3
    g = _rand(rng, (10, 37), dtype)
    outs = []
    for fn, bwd in (
        (LK.normalize_rows.compiled, LK.normalize_rows_backward.compiled),
        (LK.normalize_rows.fallback, LK.normalize_rows_backward.fallback),
    ):
        y, mean, rstd = np.empty_like(x), np.empty(10), np.empty(10)
        fn(x, 1e-5, y, mean, rstd)
        dx = np.empty_like(x)
        bwd(g, x, mean, rstd, dx)
        outs.append((y, mean, rstd, dx))
    tol = dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("affine", [False, True])
def test_layer_norm_matches_torch_on_both_paths(backend, affine):
    rng = np.random.default_rng(9)
    x, g = _rand(rng, (3, 4, 6), np.float64, 2.0), _rand(rng, (3, 4, 6), np.float64)
    w = _rand(rng, (6,), np.float64)
    with jit.use_backend(backend):
        cx, cw = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
        cy = F.layer_norm(cx, (6,), cw if affine else None)
        cy.backward(cr.tensor(g))
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = torch.nn.functional.layer_norm(tx, (6,), tw if affine else None)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(cy._data, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cx.grad._data, tx.grad.numpy(), rtol=1e-11, atol=1e-12)
    if affine:
        np.testing.assert_allclose(cw.grad._data, tw.grad.numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_layer_norm_output_may_change_in_place(backend):
    """Only the input and the statistics are saved (as PyTorch), not the output x̂."""
    x = np.random.default_rng(10).standard_normal((3, 5))
    with jit.use_backend(backend):
        cx = cr.tensor(x, requires_grad=True)
        y = F.layer_norm(cx, (5,))
        y.mul_(2)
        (y * y).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.layer_norm(tx, (5,))
    ty.mul_(2)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(cx.grad._data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_layer_norm_input_changed_in_place_raises():
    cx = cr.tensor(np.random.default_rng(11).standard_normal((3, 5)), requires_grad=True)
    x = cx * 1
    y = F.layer_norm(x, (5,))
    x.add_(1)
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_layer_norm_double_backward_and_jvp():
    x = cr.tensor(np.random.default_rng(12).standard_normal((2, 5)), requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: F.layer_norm(t, (5,)), (x,))
    assert cr.autograd.gradgradcheck(lambda t: F.layer_norm(t, (5,)), (x,))


# ------------------------------------------------------------------------------- GELU
@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_with_grad_compiled_vs_fallback(dtype):
    x = np.concatenate(
        [np.random.default_rng(13).standard_normal(3000) * 4, [0.0, -0.0, 30.0, -30.0]]
    ).astype(dtype)
    got = (np.empty_like(x), np.empty_like(x))
    want = (np.empty_like(x), np.empty_like(x))
    kern = GK.gelu_with_grad_f32 if dtype == np.float32 else GK.gelu_with_grad_f64
    kern.compiled(x, *got)
    kern.fallback(x, *want)
    # as tests/nn/test_seq_fast_paths.py: the fallback's float32 1 + erf cancels for x << 0
    tol = dict(rtol=3e-7, atol=3e-7) if dtype == np.float32 else dict(rtol=1e-14, atol=1e-15)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, **tol)
    # the derivative is the gradient kernel's at g = 1
    np.testing.assert_allclose(got[1], GK.gelu_grad(np.ones_like(x), x), **tol)


def test_gelu_backward_on_both_paths_matches_torch():
    x = np.random.default_rng(14).standard_normal((64, 300)).astype(np.float32) * 3
    g = np.random.default_rng(15).standard_normal(x.shape).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.gelu(tx).backward(torch.tensor(g))
    for backend in ("numba", "numpy"):
        with jit.use_backend(backend):
            cx = cr.tensor(x, requires_grad=True)
            F.gelu(cx).backward(cr.tensor(g))
        np.testing.assert_allclose(cx.grad._data, tx.grad.numpy(), rtol=2e-6, atol=5e-7)


def test_gelu_double_backward_with_cached_derivative():
    x = cr.tensor(np.random.default_rng(16).standard_normal(20000), requires_grad=True)
    (gx,) = cr.autograd.grad(F.gelu(x).sum(), x, create_graph=True)
    (ggx,) = cr.autograd.grad(gx.sum(), x)
    tx = torch.tensor(x._data, requires_grad=True)
    (tgx,) = torch.autograd.grad(torch.nn.functional.gelu(tx).sum(), tx, create_graph=True)
    (tggx,) = torch.autograd.grad(tgx.sum(), tx)
    np.testing.assert_allclose(gx._data, tgx.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ggx._data, tggx.numpy(), rtol=1e-11, atol=1e-13)


# ------------------------------------------------------------------------------ AdamW
@pytest.mark.parametrize("dtype", DTYPES)
def test_adamw_step_compiled_is_bit_identical(dtype):
    from chainrule._kernels import optim

    rng = np.random.default_rng(17)
    arrays = [rng.standard_normal(5000).astype(dtype) for _ in range(4)]
    arrays[3] = np.abs(arrays[3])
    # (1 - beta1, beta2, 1 - beta2, bc2_sqrt, eps, -step_size, weight_decay, decay, 1);
    # AdamW's decoupled decay: the DECAY mode bit
    scalars = (0.1, 0.99, 1 - 0.99, 0.0447, 1e-8, -0.0123, 1e-2, 1 - 1e-4, 1.0)
    a = [x.copy() for x in arrays]
    b = [x.copy() for x in arrays]
    optim.adam_step.compiled(*a, scalars, optim.DECAY)
    optim.adam_step.fallback(*b, scalars, optim.DECAY)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------- layer norm with its affine map
@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("has_w", "has_b"), [(True, True), (True, False), (False, False)])
def test_layer_norm_fn_matches_torch(backend, dtype, has_w, has_b):
    from chainrule.ops.layer_norm import layer_norm

    rng = np.random.default_rng(18)
    x, g = _rand(rng, (3, 5, 2, 8), dtype, 3.0), _rand(rng, (3, 5, 2, 8), dtype)
    w, b = _rand(rng, (2, 8), dtype), _rand(rng, (2, 8), dtype)
    with jit.use_backend(backend):
        cx, cw, cb = (cr.tensor(a, requires_grad=True) for a in (x, w, b))
        cy = layer_norm(cx, cw if has_w else None, cb if has_b else None, 2, 1e-5)
        cy.backward(cr.tensor(g))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.layer_norm(tx, (2, 8), tw if has_w else None, tb if has_b else None)
    ty.backward(torch.tensor(g))
    tol = dict(rtol=1e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(cy._data, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(cx.grad._data, tx.grad.numpy(), **tol)
    assert cy.dtype == cx.grad.dtype == cx.dtype
    if has_w:
        np.testing.assert_allclose(cw.grad._data, tw.grad.numpy(), **tol)
    if has_b:
        np.testing.assert_allclose(cb.grad._data, tb.grad.numpy(), **tol)


def test_layer_norm_fn_gradcheck_gradgradcheck_jvp():
    from chainrule.ops.layer_norm import layer_norm

    rng = np.random.default_rng(19)
    x, w, b = (cr.tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 4), (4,), (4,)))

    def f(x, w, b):
        return layer_norm(x, w, b, 1, 1e-5)

    assert cr.autograd.gradcheck(f, (x, w, b))
    assert cr.autograd.gradgradcheck(f, (x, w, b))
    tangents = tuple(cr.tensor(rng.standard_normal(s)) for s in ((3, 4), (4,), (4,)))
    _, tout = cr.func.jvp(f, (x.detach(), w.detach(), b.detach()), tangents)
    ttan = tuple(torch.tensor(t._data) for t in tangents)
    _, ttout = torch.func.jvp(
        lambda x, w, b: torch.nn.functional.layer_norm(x, (4,), w, b),
        tuple(torch.tensor(a._data) for a in (x, w, b)),
        ttan,
    )
    np.testing.assert_allclose(tout._data, ttout.numpy(), rtol=1e-10, atol=1e-12)


def test_layer_norm_fn_output_may_change_in_place():
    from chainrule.ops.layer_norm import layer_norm

    rng = np.random.default_rng(20)
    x, w = rng.standard_normal((3, 5)), rng.standard_normal(5)
    cx, cw = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
    y = layer_norm(cx, cw, None, 1, 1e-5)
    y.mul_(2)
    (y * y).sum().backward()
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = torch.nn.functional.layer_norm(tx, (5,), tw)
    ty.mul_(2)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(cx.grad._data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cw.grad._data, tw.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("shape", [(5, 3, 7, 4), (3, 6, 4), (3, 1, 9, 4)])
def test_attention_blocks_on_threads_match_torch_and_one_block(dtype, causal, shape, monkeypatch):
    """The fused attention path cut into blocks of the leading dimension on the intra-op
    threads (forced here for small shapes): PyTorch's outputs and gradients, and bit for bit
    the result of one block."""
    from chainrule.ops import attention_fused as attention_mod

    blocks = []
    real = attention_mod.parallel_slices

    def spy(fn, length, nbytes):
        def block(lo, hi):
            blocks.append((lo, hi))
            fn(lo, hi)

        real(block, length, nbytes)

    monkeypatch.setattr(attention_mod, "parallel_slices", spy)
    monkeypatch.setattr(attention_mod, "SPLIT_HEADS_MACS", 0)
    # the Python-thread blocks, not the compiled pool's heads kernels (test_pool_kernels.py)
    monkeypatch.setattr(attention_mod.pool_gemm, "pool_active", lambda: 0)
    rng = np.random.default_rng(8)
    arrays = [_rand(rng, shape, dtype) for _ in range(4)]  # q, k, v and the output gradient
    runs = []
    for threads in (2, 1):
        before = cr.get_num_threads()
        cr.set_num_threads(threads)
        try:
            q, k, v = (cr.tensor(a, requires_grad=True) for a in arrays[:3])
            out = cr.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
            out.backward(cr.tensor(arrays[3]))
        finally:
            cr.set_num_threads(before)
        runs.append([out._data] + [t.grad._data for t in (q, k, v)])
    # two blocks in backward, and in forward for float32 (float64 scores take the NumPy
    # softmax); one thread runs the whole leading dimension as one block, directly
    n, calls = shape[0], 2 if dtype == np.float32 else 1
    assert sorted(blocks) == [(0, n // 2)] * calls + [(n // 2, n)] * calls
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in arrays[:3])
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
    tout.backward(torch.tensor(arrays[3]))
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for a, t in zip(runs[0], (tout, tq.grad, tk.grad, tv.grad)):
        np.testing.assert_allclose(a, t.detach().numpy(), **tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kv_shape", [(1, 3, 5, 4), (3, 5, 4)])
def test_attention_fused_backward_with_broadcast_keys_matches_torch(dtype, kv_shape):
    """Keys and values broadcast over the batch: the fused backward runs on whole arrays and
    the engine sums the gradients back to their shapes."""
    rng = np.random.default_rng(9)
    q, g = _rand(rng, (2, 3, 5, 4), dtype), _rand(rng, (2, 3, 5, 4), dtype)
    k, v = _rand(rng, kv_shape, dtype), _rand(rng, kv_shape, dtype)
    cs = [cr.tensor(a, requires_grad=True) for a in (q, k, v)]
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    F.scaled_dot_product_attention(*cs, is_causal=True).backward(cr.tensor(g))
    torch.nn.functional.scaled_dot_product_attention(*ts, is_causal=True).backward(torch.tensor(g))
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for c, t in zip(cs, ts):
        np.testing.assert_allclose(c.grad._data, t.grad.numpy(), **tol)


# ------------------------------------------------------------------ compiled time loops
def _lstm_loop_arrays(rng, steps, b, hidden):
    xg = _rand(rng, (steps * b, 4 * hidden), np.float32)
    h0 = _rand(rng, (b, hidden), np.float32, 0.5)
    w = _rand(rng, (4 * hidden, hidden), np.float32, 0.3)
    bufs = (
        np.empty((steps * b, 4 * hidden), np.float32),
        np.empty(((steps + 1) * b, hidden), np.float32),
        np.empty((steps * b, hidden), np.float32),
        np.empty((steps * b, hidden), np.float32),
    )
    bufs[1][:b] = _rand(rng, (b, hidden), np.float32, 0.5)
    return xg, h0, w, bufs


@pytest.mark.parametrize(("steps", "b", "hidden", "lo", "hi"), [(5, 3, 8, 0, 3), (7, 6, 16, 2, 5)])
def test_lstm_time_loops_compiled_vs_fallback(steps, b, hidden, lo, hi):
    """The whole-sequence LSTM loops (one compiled call: cblas_sgemm by address and float32
    gates) agree with the Python-driven loop of np.matmul and per-step kernels, forward and
    backward, on a block of batch rows lo:hi (rows outside it are left untouched)."""
    from chainrule._kernels import blas
    from chainrule._kernels import recurrent_loops as RL

    gemm = blas.gemm_address(np.float32)
    if gemm is None:
        pytest.skip("NumPy's BLAS exposes no ILP64 cblas_sgemm")
    rng = np.random.default_rng(9)
    xg, h0, w, bufs = _lstm_loop_arrays(rng, steps, b, hidden)
    w_t = np.ascontiguousarray(w.T)
    got = [a.copy() for a in bufs]
    want = [a.copy() for a in bufs]
    RL.lstm_forward_loop_f32.compiled(gemm, xg, h0, w_t, *got, b, lo, hi)
    RL.lstm_forward_loop_f32.fallback(gemm, xg, h0, w_t, *want, b, lo, hi)
    for name, a, e in zip(("acts", "cs", "tcs", "out"), got, want):
        for t in range(steps):
            rows = slice(t * b + lo, t * b + hi)
            np.testing.assert_allclose(a[rows], e[rows], rtol=2e-6, atol=2e-6, err_msg=name)
    gy = _rand(rng, (steps * b, hidden), np.float32)
    results = []
    for kern, (acts, cs, tcs, _) in (
        (RL.lstm_backward_loop_f32.compiled, got),
        (RL.lstm_backward_loop_f32.fallback, want),
    ):
        gh = _rand(np.random.default_rng(10), (b, hidden), np.float32)
        gc = _rand(np.random.default_rng(11), (b, hidden), np.float32)
        d_all = np.zeros((steps * b, 4 * hidden), np.float32)
        kern(gemm, gy, gh, gc, cs, acts, tcs, d_all, w, b, lo, hi)
        results.append((gh, gc, d_all))
    for name, a, e in zip(("gh", "gc", "d"), *results):
        np.testing.assert_allclose(a, e, rtol=2e-5, atol=2e-6, err_msg=name)
    untouched = np.r_[0:lo, hi:b]
    gh0 = _rand(np.random.default_rng(10), (b, hidden), np.float32)
    np.testing.assert_array_equal(results[0][0][untouched], gh0[untouched])


def test_call_gemm_as_python_is_the_cblas_product():
    """jit.call_gemm run as Python (ctypes) computes C = A B by address, as np.matmul."""
    from chainrule._kernels import blas

    for dtype in (np.float32, np.float64):
        gemm = blas.gemm_address(dtype)
        if gemm is None:
            pytest.skip("NumPy's BLAS exposes no ILP64 cblas_?gemm")
        rng = np.random.default_rng(12)
        a, b_ = rng.standard_normal((3, 5)).astype(dtype), rng.standard_normal((5, 4)).astype(dtype)
        c = np.empty((3, 4), dtype)
        jit.call_gemm(gemm, 3, 4, 5, a.ctypes.data, 5, b_.ctypes.data, 4, c.ctypes.data, 4)
        np.testing.assert_allclose(c, a @ b_, rtol=1e-6)
