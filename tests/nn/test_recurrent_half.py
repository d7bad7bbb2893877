"""float16 RNN / LSTM / GRU layers and cells against PyTorch's CPU float16 results.

The float16 paths compute in float32 and round where PyTorch's per-op CPU kernels round
(``chainrule._kernels.recurrent_half``). Forward values must match torch's float16 bits
except where a float32 σ or tanh lands next to a float16 rounding boundary, or a float32
GEMM sums in another order than torch's (a few in a thousand after 12 steps, each one
float16 ulp, then carried through the recurrence); every value and gradient must be as
close to the float64 result as torch's float16 one is (within a small multiple, or one
float16 epsilon).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._kernels import jit
from chainrule._kernels import recurrent_half as RH
from chainrule.nn.utils.rnn import pack_padded_sequence as cr_pack
from chainrule.nn.utils.rnn import pad_packed_sequence as cr_unpack

EPS = 2.0**-10
# Without Numba the kernels' NumPy fallbacks run NumPy's float32 exp and tanh, which differ
# from PyTorch's more often than the compiled ones: more values round to the neighbouring
# float16 (measured: 2.9% of a 2-layer bidirectional GRU's outputs, 1.1% compiled; 2 of an
# LSTM cell step's 384 against 0), so the bit-level bounds triple and the error bounds widen.
SLACK = 1.0 if jit.backend() == "numba" else 3.0

MODES = [
    ("LSTM", {}),
    ("GRU", {}),
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu"}),
    ("LSTM", {"proj_size": 16}),
]
MODE_IDS = ["lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_proj"]
# (num_layers, bidirectional, bias)
CONFIGS = [(1, False, True), (2, True, True), (1, False, False)]


def _error(res: np.ndarray, ref: np.ndarray) -> float:
    """Largest error relative to max(|ref|, 1% of the largest |ref|), in float16 epsilons."""
    scale = float(np.max(np.abs(ref))) or 1.0
    den = np.maximum(np.abs(ref), 1e-2 * scale)
    return float(np.max(np.abs(res - ref) / den)) / EPS


def _layers(cls: str, kw: dict, layers: int, bidir: bool, bias: bool):
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(32, 32, num_layers=layers, bidirectional=bidir, bias=bias, **kw)
    tm = tm.half()
    m = getattr(cr.nn, cls)(32, 32, num_layers=layers, bidirectional=bidir, bias=bias, **kw)
    m = m.half()
    m.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    ref = getattr(torch.nn, cls)(32, 32, num_layers=layers, bidirectional=bidir, bias=bias, **kw)
    ref.load_state_dict({k: v.double() for k, v in tm.state_dict().items()})
    return m, tm, ref.double()


def _flat(out) -> list:
    if isinstance(out, tuple):
        return [t for o in out for t in _flat(o)]
    return [out]


def _check(c_outs, t_outs, r_outs, c_grads, t_grads, r_grads, what: str, k: float = 2.0) -> float:
    """Each result's error within k times torch's (or 1 eps); returns the forward's fraction
    of values differing from torch's bits."""
    k *= 1.0 if SLACK == 1.0 else 1.25
    differ = []
    for j, (c, t, r) in enumerate(zip(c_outs, t_outs, r_outs)):
        assert c.dtype == cr.float16 and t.dtype == torch.float16
        cv = np.asarray(c.detach().numpy(), np.float64)
        tv = t.detach().double().numpy()
        differ.append(np.mean(cv != tv))
        rv = r.detach().numpy()
        t_err, c_err = _error(tv, rv), _error(cv, rv)
        assert c_err <= max(k * t_err, 1.0), f"{what} output {j}: {c_err:.2f} vs {t_err:.2f}"
    for name in r_grads:
        c, t, r = c_grads[name], t_grads[name], r_grads[name]
        assert c.dtype == cr.float16, name
        t_err = _error(t.double().numpy(), r.numpy())
        c_err = _error(np.asarray(c.numpy(), np.float64), r.numpy())
        assert c_err <= max(k * t_err, 1.0), f"{what} grad {name}: {c_err:.2f} vs {t_err:.2f}"
    return float(np.mean(differ))


def _run_layers(cls, kw, layers, bidir, bias, lengths=None):
    m, tm, ref = _layers(cls, kw, layers, bidir, bias)
    steps, batch = 12, 6
    r = np.random.default_rng(1)
    x = r.standard_normal((steps, batch, 32)).astype(np.float16)
    g = r.standard_normal((steps, batch, (2 if bidir else 1) * tm.proj_size or 32))
    if not tm.proj_size and bidir:
        g = r.standard_normal((steps, batch, 64))
    g = g.astype(np.float16)
    xs = {"c": cr.tensor(x), "t": torch.tensor(x), "r": torch.tensor(x).double()}
    for v in xs.values():
        v.requires_grad_(True)

    def fwd(lib, mod, xin, gg):
        if lengths is None:
            out, state = mod(xin)
        else:
            pack = cr_pack if lib is cr else torch.nn.utils.rnn.pack_padded_sequence
            unpack = cr_unpack if lib is cr else torch.nn.utils.rnn.pad_packed_sequence
            out, state = mod(pack(xin, lengths))
            out = unpack(out, total_length=steps)[0]
        (out * gg).sum().backward()
        return _flat((out, state))

    c_outs = fwd(cr, m, xs["c"], cr.tensor(g))
    t_outs = fwd(torch, tm, xs["t"], torch.tensor(g))
    r_outs = fwd(torch, ref, xs["r"], torch.tensor(g).double())
    c_grads = {n: p.grad for n, p in m.named_parameters()}
    t_grads = {n: p.grad for n, p in tm.named_parameters()}
    r_grads = {n: p.grad for n, p in ref.named_parameters()}
    c_grads["x"], t_grads["x"], r_grads["x"] = xs["c"].grad, xs["t"].grad, xs["r"].grad
    return c_outs, t_outs, r_outs, c_grads, t_grads, r_grads


@pytest.mark.parametrize("config", CONFIGS, ids=["1layer", "2layer_bidir", "nobias"])
@pytest.mark.parametrize(("cls", "kw"), MODES, ids=MODE_IDS)
def test_layers_float16_vs_torch(cls: str, kw: dict, config: tuple) -> None:
    if kw.get("nonlinearity") == "relu" and config[0] > 1:
        pytest.skip("relu units switching on a one-ulp difference make gradients incomparable")
    res = _run_layers(cls, kw, *config)
    differ = _check(*res, what=f"{cls} {config}")
    # Every step rounds b_hh with h W_hhᵀ as PyTorch does (the sequence ops and the
    # per-step cells of the reverse direction, packed batches and proj_size): measured at
    # most 0.9% of the values one ulp off (0.3% of the input projection's values differ
    # from torch's in the GEMM's float32 sum order, then carry through the recurrence).
    # With proj_size, h' = (o tanh c') W_hrᵀ sums every hidden unit into each output, so a
    # one-ulp difference in one unit moves about 10% of that step's outputs (measured:
    # 6.0% of the 2-layer bidirectional LSTM's values, 0 with one layer).
    limit = (0.08 if kw.get("proj_size") and config[0] > 1 else 0.02) * SLACK
    assert differ <= limit, f"{differ:.4f} of the values differ from torch's float16 bits"


@pytest.mark.parametrize(("cls", "kw"), MODES[:3], ids=MODE_IDS[:3])
def test_packed_float16_vs_torch(cls: str, kw: dict) -> None:
    res = _run_layers(cls, kw, 1, True, True, lengths=[12, 12, 9, 7, 3, 1])
    # (k = 2.5: the LSTM's b_ih gradient, a sum over all rows with cancellation, is 2.3 times
    # torch's largest error in this draw, one ulp of a row's gradient; 1.0-1.6 in 5 others)
    differ = _check(*res, what=f"{cls} packed", k=2.5)
    assert differ <= 0.02 * SLACK, f"{differ:.4f} of the values differ from torch's float16 bits"


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_one_step_float16_matches_torch_bits(cls: str) -> None:
    """One step of the fused sequence ops, with PyTorch's rounding points: at most a few
    values in a thousand differ (σ/tanh next to a rounding boundary)."""
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(64, 64).half()
    m = getattr(cr.nn, cls)(64, 64).half()
    m.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = torch.randn(1, 64, 64).half()
    with torch.no_grad():
        want = _flat(tm(x))
    got = _flat(m(cr.tensor(x.numpy())))
    for g, w in zip(got, want):
        assert np.mean(g.detach().numpy() != w.numpy()) <= 0.002


@pytest.mark.parametrize("cls", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells_float16_vs_torch(cls: str) -> None:
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(32, 48).half()
    m = getattr(cr.nn, cls)(32, 48).half()
    m.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    ref = getattr(torch.nn, cls)(32, 48).double()
    ref.load_state_dict({k: v.double() for k, v in tm.state_dict().items()})
    r = np.random.default_rng(2)
    x = r.standard_normal((8, 32)).astype(np.float16)
    h = r.standard_normal((8, 48)).astype(np.float16)
    st = (h, r.standard_normal((8, 48)).astype(np.float16)) if cls == "LSTMCell" else h
    g = r.standard_normal((8, 48)).astype(np.float16)

    def run(lib, mod, conv):
        xin = conv(x).requires_grad_(True)
        sin = tuple(conv(s) for s in st) if isinstance(st, tuple) else conv(st)
        out = _flat(mod(xin, sin))
        loss = (out[0] * conv(g)).sum() + (out[-1] * conv(g)).sum()
        loss.backward()
        grads = {n: p.grad for n, p in mod.named_parameters()}
        grads["x"] = xin.grad
        return out, grads

    c_outs, c_grads = run(cr, m, cr.tensor)
    t_outs, t_grads = run(torch, tm, torch.tensor)
    r_outs, r_grads = run(torch, ref, lambda a: torch.tensor(a).double())
    differ = _check(c_outs, t_outs, r_outs, c_grads, t_grads, r_grads, cls)
    assert differ <= 0.002 * SLACK, f"{differ:.4f} of the values differ from torch's float16 bits"


@pytest.mark.parametrize("op", ["lstm_cell", "rnn_tanh_cell", "rnn_relu_cell", "gru_cell"])
@pytest.mark.parametrize("biases", ["both", "ih", "hh"])
def test_raw_cells_float16_match_torch_bits(op: str, biases: str) -> None:
    """``torch.lstm_cell`` and the others in float16: b_hh rounded with h W_hhᵀ, as torch."""
    r = np.random.default_rng(4)
    gates = {"lstm_cell": 4, "gru_cell": 3}.get(op, 1) * 48
    f16 = lambda *s: (r.standard_normal(s) * 0.3).astype(np.float16)  # noqa: E731
    x, h, c, w_ih, w_hh = f16(8, 32), f16(8, 48), f16(8, 48), f16(gates, 32), f16(gates, 48)
    b_ih = f16(gates) if biases != "hh" else None
    b_hh = f16(gates) if biases != "ih" else None

    def run(lib, conv):
        state = (conv(h), conv(c)) if op == "lstm_cell" else conv(h)
        ws = [None if a is None else conv(a) for a in (w_ih, w_hh, b_ih, b_hh)]
        return _flat(getattr(lib, op)(conv(x), state, *ws))

    for got, want in zip(run(cr, cr.tensor), run(torch, torch.tensor)):
        assert got.dtype == cr.float16
        assert np.mean(got.numpy() != want.numpy()) <= 0.002 * SLACK


@pytest.mark.parametrize("cls", ["LSTMCell", "RNNCell"])
def test_cells_with_separate_b_hh_float64(cls: str) -> None:
    """The cell ops' b_hh input (float16 routes it there) against the folded form in float64:
    values, gradients, double backward and forward mode agree."""
    from chainrule.ops.recurrent import lstm_cell, rnn_cell

    r = np.random.default_rng(5)
    lstm = cls == "LSTMCell"
    shapes = [(5, 24), (5, 6), (5, 6), (24, 6), (24,)] if lstm else [(5, 6), (5, 6), (6, 6), (6,)]
    arrs = [r.standard_normal(s) for s in shapes]
    inputs = [cr.tensor(a, requires_grad=True) for a in arrs]

    def cell(sep: bool, *p):
        if lstm:
            xg, h, c, w, b = p
            out = lstm_cell(xg, h, c, w, None, b) if sep else lstm_cell(xg + b, h, c, w)
            return out[0] * out[1]
        xg, h, w, b = p
        return rnn_cell(xg, h, w, "tanh", b) if sep else rnn_cell(xg + b, h, w)

    close = dict(rtol=1e-10, atol=1e-12)
    outs = [cell(sep, *inputs) for sep in (True, False)]
    np.testing.assert_allclose(outs[0].detach().numpy(), outs[1].detach().numpy(), **close)
    grads = [cr.autograd.grad(o.pow(2).sum(), inputs, create_graph=True) for o in outs]
    for a, b in zip(*grads):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **close)
    second = [cr.autograd.grad(sum(g.sum() for g in gs), inputs[-2:]) for gs in grads]
    for a, b in zip(*second):
        np.testing.assert_allclose(a.numpy(), b.numpy(), **close)
    tangents = tuple(cr.tensor(r.standard_normal(a.shape)) for a in arrs)
    primals = tuple(a.detach() for a in inputs)
    jvps = [cr.func.jvp(lambda *p, s=sep: cell(s, *p), primals, tangents)[1] for sep in (1, 0)]
    np.testing.assert_allclose(jvps[0].numpy(), jvps[1].numpy(), **close)
    # float16 (the rounded kernels, b_hh added before the first rounding): near float32
    half = [tuple(p.half() for p in primals), tuple(t.half() for t in tangents)]
    single = [tuple(p.float() for p in ps) for ps in half]
    y16, t16 = cr.func.jvp(lambda *p: cell(True, *p), *half)
    y32, t32 = cr.func.jvp(lambda *p: cell(True, *p), *single)
    assert y16.dtype == t16.dtype == cr.float16
    for a, b in ((y16, y32), (t16, t32)):
        b = b.numpy()
        np.testing.assert_allclose(a.float().numpy(), b, rtol=0.02, atol=0.02 * np.abs(b).max())


def test_float16_lstm_double_backward_and_jvp() -> None:
    """create_graph=True through the float16 sequence ops and cells (the reverse direction:
    LSTM and RNN cells with b_hh) stays float16."""
    for cls, bidir in (("LSTM", False), ("GRU", False), ("LSTM", True), ("RNN", True)):
        m = getattr(cr.nn, cls)(8, 8, bidirectional=bidir).half()
        x = cr.randn(5, 3, 8).half().requires_grad_(True)
        out = m(x)[0]
        (g,) = cr.autograd.grad((out * out).sum(), [x], create_graph=True)
        assert g.dtype == cr.float16
        g.float().sum().backward()
        assert x.grad.dtype == cr.float16 and np.isfinite(x.grad.float().numpy()).all()
        x32 = x.detach().float().requires_grad_(True)
        m32 = getattr(cr.nn, cls)(8, 8, bidirectional=bidir)
        m32.load_state_dict({k: v.float() for k, v in m.state_dict().items()})
        (g32,) = cr.autograd.grad((m32(x32)[0] ** 2).sum(), [x32])
        np.testing.assert_allclose(
            g.detach().float().numpy(),
            g32.numpy(),
            rtol=0.05,
            atol=0.05 * np.abs(g32.numpy()).max(),
        )


def test_round_half_kernel_matches_numpy() -> None:
    """The compiled float32 -> nearest-float16 rounding equals NumPy's conversion bit for bit:
    ties to even, subnormals, overflow to inf, signed zeros, NaN."""
    if not jit.numba_available():
        pytest.skip("numba not installed")
    rng = np.random.default_rng(0)
    h = rng.standard_normal(20000).astype(np.float16).astype(np.float32)
    parts = [rng.standard_normal(20000).astype(np.float32) * s for s in (1e-7, 1e-5, 1, 3e4)]
    parts += [h, h * np.float32(1 + 2**-11), np.nextafter(h * np.float32(1 + 2**-11), 0)]
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 65504, 65519.99, 65520, -65520, 2**-25]
    a = np.concatenate(parts + [np.array(special + [1.5 * 2**-24, 2.5 * 2**-24], np.float32)])
    with np.errstate(over="ignore"):
        want = a.astype(np.float16).astype(np.float32)
    got = a.copy()
    RH._round_half_kernel.compiled(got)
    same = (got.view(np.int32) == want.view(np.int32)) | (np.isnan(got) & np.isnan(want))
    assert same.all(), a[~same][:5]


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_half_step_kernels_match_fallback(kind: str) -> None:
    """Compiled step kernels against their NumPy fallbacks (float32 σ/tanh may differ by an
    ulp, so a rare value rounds to the neighbouring float16)."""
    if not jit.numba_available():
        pytest.skip("numba not installed")
    rng = np.random.default_rng(3)
    hid, rows = 24, 10
    f16 = lambda *s, k=1.0: (rng.standard_normal(s) * k).astype(np.float16).astype(np.float32)  # noqa: E731
    if kind == "lstm":
        args = (f16(rows, 4 * hid, k=3), f16(4 * hid), f16(rows, 4 * hid), f16(rows, hid))
        outs = lambda: tuple(np.zeros((rows, hid), np.float32) for _ in range(3))  # noqa: E731
        kern = RH.lstm_half_step
    else:
        args = (f16(rows, 3 * hid, k=3), f16(3 * hid), f16(rows, 3 * hid), f16(rows, hid))
        outs = lambda: tuple(np.zeros((rows, hid), np.float32) for _ in range(5))  # noqa: E731
        kern = RH.gru_half_step
    a1, a2 = [x.copy() for x in args], [x.copy() for x in args]
    o1, o2 = outs(), outs()
    kern.compiled(*a1, *o1)
    kern.fallback(*a2, *o2)
    for x, y in zip((a1[0], *o1), (a2[0], *o2)):
        assert np.mean(x != y) <= 0.01
        np.testing.assert_allclose(x, y, rtol=2 * EPS, atol=2**-24)
        assert (x.astype(np.float16).astype(np.float32) == x).all()  # float16 values
