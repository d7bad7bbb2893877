"""RNN / LSTM / GRU layers and cells against PyTorch with copied weights, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn.utils.rnn import pack_padded_sequence as cr_pack
from chainrule.nn.utils.rnn import pad_packed_sequence as cr_unpack
from tests.nn._helpers import close, copy_params

# (class name, extra constructor arguments)
MODES = [
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu"}),
    ("LSTM", {}),
    ("LSTM", {"proj_size": 2}),
    ("GRU", {}),
]
MODE_IDS = ["rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru"]
# (num_layers, bidirectional, batch_first, bias)
CONFIGS = [
    (1, False, False, True),
    (2, True, True, True),
    (2, False, False, False),
    (1, True, False, True),
]


def _pair(cls: str, input_size: int, hidden: int, **kw):
    tm = getattr(torch.nn, cls)(input_size, hidden, **kw).double()
    m = getattr(cr.nn, cls)(input_size, hidden, dtype=cr.float64, **kw)
    copy_params(m, tm)
    return m, tm


def _arr(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _leaf(arr):
    return cr.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


def _states(cls: str, kw: dict, rows: int, batch: int, hidden: int, seed: int = 5):
    """Random initial states (cr, torch) shaped for the layer (tuples for LSTM)."""
    out = kw.get("proj_size", 0) or hidden
    h_cr, h_t = _leaf(_arr(rows, batch, out, seed=seed))
    if cls != "LSTM":
        return h_cr, h_t, [h_cr], [h_t]
    c_cr, c_t = _leaf(_arr(rows, batch, hidden, seed=seed + 1))
    return (h_cr, c_cr), (h_t, c_t), [h_cr, c_cr], [h_t, c_t]


def _loss(out, final):
    """A scalar touching every output, weighted so that each element's gradient differs."""
    finals = final if isinstance(final, tuple) else (final,)
    total = (out * out).sum() * 0.5 + out.sum()
    for f in finals:
        total = total + (f * f).sum() + f.sum() * 0.3
    return total


def _compare_grads(m, tm, leaves_cr, leaves_t):
    for a, b in zip(leaves_cr, leaves_t):
        close(a.grad, b.grad)
    params = dict(m.named_parameters())
    assert list(params) == [n for n, _ in tm.named_parameters()]
    for name, p in tm.named_parameters():
        close(params[name].grad, p.grad)


@pytest.mark.parametrize("cls,kw", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("layers,bidir,batch_first,bias", CONFIGS)
def test_layer_matches_torch(cls, kw, layers, bidir, batch_first, bias):
    m, tm = _pair(
        cls, 3, 4, num_layers=layers, bidirectional=bidir, batch_first=batch_first, bias=bias, **kw
    )
    x_cr, x_t = _leaf(_arr(2, 5, 3) if batch_first else _arr(5, 2, 3))
    rows = layers * (2 if bidir else 1)
    hx_cr, hx_t, hl_cr, hl_t = _states(cls, kw, rows, 2, 4)
    out, final = m(x_cr, hx_cr)
    t_out, t_final = tm(x_t, hx_t)
    close(out, t_out)
    for a, b in zip(final if cls == "LSTM" else (final,), t_final if cls == "LSTM" else (t_final,)):
        close(a, b)
    _loss(out, final).backward()
    _loss(t_out, t_final).backward()
    _compare_grads(m, tm, [x_cr] + hl_cr, [x_t] + hl_t)


@pytest.mark.parametrize("cls,kw", MODES, ids=MODE_IDS)
def test_default_zero_state_and_unbatched(cls, kw):
    m, tm = _pair(cls, 3, 4, num_layers=2, bidirectional=True, **kw)
    x_cr, x_t = _leaf(_arr(6, 3))
    out, final = m(x_cr)
    t_out, t_final = tm(x_t)
    close(out, t_out)
    assert out.shape == (6, 2 * (kw.get("proj_size", 0) or 4))
    _loss(out, final).backward()
    _loss(t_out, t_final).backward()
    _compare_grads(m, tm, [x_cr], [x_t])
    # unbatched with explicit 2-d states
    hx_cr, hx_t, hl_cr, hl_t = _states(cls, kw, 4, 1, 4)
    if cls == "LSTM":
        hx_cr = tuple(h.data[:, 0].clone() for h in hx_cr)
        hx_t = tuple(torch.tensor(h.detach().numpy()[:, 0]) for h in hx_t)
    else:
        hx_cr, hx_t = hx_cr.data[:, 0].clone(), torch.tensor(hx_t.detach().numpy()[:, 0])
    out, final = m(x_cr, hx_cr)
    t_out, t_final = tm(x_t, hx_t)
    close(out, t_out)
    close(final[0] if cls == "LSTM" else final, t_final[0] if cls == "LSTM" else t_final)


@pytest.mark.parametrize("cls,kw", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("bidir", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_input_matches_torch(cls, kw, bidir, enforce_sorted):
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 4]
    m, tm = _pair(cls, 3, 4, num_layers=2, bidirectional=bidir, batch_first=True, **kw)
    x_cr, x_t = _leaf(_arr(4, 5, 3))
    rows = 2 * (2 if bidir else 1)
    hx_cr, hx_t, hl_cr, hl_t = _states(cls, kw, rows, 4, 4)
    p_cr = cr_pack(x_cr, lengths, batch_first=True, enforce_sorted=enforce_sorted)
    p_t = torch.nn.utils.rnn.pack_padded_sequence(
        x_t, lengths, batch_first=True, enforce_sorted=enforce_sorted
    )
    out, final = m(p_cr, hx_cr)
    t_out, t_final = tm(p_t, hx_t)
    assert isinstance(out, cr.nn.utils.rnn.PackedSequence)
    close(out.data, t_out.data)
    np.testing.assert_array_equal(out.batch_sizes.data, t_out.batch_sizes.numpy())
    pad, lens = cr_unpack(out, batch_first=True, total_length=6)
    t_pad, t_lens = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True, total_length=6)
    close(pad, t_pad)
    np.testing.assert_array_equal(lens.data, t_lens.numpy())
    _loss(pad, final).backward()
    _loss(t_pad, t_final).backward()
    _compare_grads(m, tm, [x_cr] + hl_cr, [x_t] + hl_t)


def test_packed_default_state_unsorted():
    m, tm = _pair("LSTM", 2, 3, bidirectional=True)
    seqs = [_arr(n, 2, seed=n) for n in (2, 4, 3)]
    p_cr = cr.nn.utils.rnn.pack_sequence([cr.tensor(s) for s in seqs], enforce_sorted=False)
    p_t = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    out, (h, c) = m(p_cr)
    t_out, (th, tc) = tm(p_t)
    close(out.data, t_out.data)
    close(h, th)
    close(c, tc)


@pytest.mark.parametrize("cls,kw", MODES, ids=MODE_IDS)
def test_parameters_names_shapes_init_repr(cls, kw):
    m, tm = _pair(cls, 3, 6, num_layers=2, bidirectional=True, dropout=0.25, **kw)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in tm.named_parameters()
    ]
    assert m._flat_weights_names == tm._flat_weights_names
    assert [[p.shape for p in ws] for ws in m.all_weights] == [
        [tuple(p.shape) for p in ws] for ws in tm.all_weights
    ]
    assert repr(m) == repr(tm)
    fresh = getattr(cr.nn, cls)(3, 6, num_layers=2, bidirectional=True, **kw)
    bound = 1 / np.sqrt(6)
    values = np.concatenate([p.data.numpy().ravel() for p in fresh.parameters()])
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.8 * bound
    assert abs(values.mean()) < 0.05 and abs(values.std() - bound / np.sqrt(3)) < 0.02
    # torch's own state dict loads directly (same keys and shapes)
    fresh.load_state_dict({k: cr.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    assert fresh.flatten_parameters() is None


CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}), ("GRUCell", {})]
CELL_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


@pytest.mark.parametrize("cls,kw", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("bias", [True, False])
def test_cells_match_torch(cls, kw, bias):
    m, tm = _pair(cls, 3, 4, bias=bias, **kw)
    assert repr(m) == repr(tm)
    x_cr, x_t = _leaf(_arr(2, 3))
    h_cr, h_t = _leaf(_arr(2, 4, seed=1))
    if cls == "LSTMCell":
        c_cr, c_t = _leaf(_arr(2, 4, seed=2))
        out, t_out = m(x_cr, (h_cr, c_cr)), tm(x_t, (h_t, c_t))
        leaves = ([x_cr, h_cr, c_cr], [x_t, h_t, c_t])
        loss_cr = _loss(out[0], out[1])
        loss_t = _loss(t_out[0], t_out[1])
        for a, b in zip(out, t_out):
            close(a, b)
    else:
        out, t_out = m(x_cr, h_cr), tm(x_t, h_t)
        leaves = ([x_cr, h_cr], [x_t, h_t])
        close(out, t_out)
        loss_cr, loss_t = _loss(out, out), _loss(t_out, t_out)
    loss_cr.backward()
    loss_t.backward()
    _compare_grads(m, tm, *leaves)
    # unbatched, default state
    x1 = _arr(3, seed=9)
    o1, t1 = m(cr.tensor(x1)), tm(torch.tensor(x1))
    for a, b in zip(o1 if cls == "LSTMCell" else (o1,), t1 if cls == "LSTMCell" else (t1,)):
        close(a, b)


def _tiny(cls, **kw):
    m = getattr(cr.nn, cls)(2, 2, dtype=cr.float64, **kw)
    x = cr.tensor(_arr(3, 2, 2, seed=3), requires_grad=True)
    return m, x


@pytest.mark.parametrize("cls,kw", MODES, ids=MODE_IDS)
def test_gradcheck_layers(cls, kw):
    kw = dict(kw, proj_size=1) if "proj_size" in kw else kw
    m, x = _tiny(cls, bidirectional=True, **kw)
    # gradcheck perturbs each input in place, so the module's own parameters can be inputs
    assert cr.autograd.gradcheck(lambda x, *ps: m(x)[0], [x] + list(m.parameters()))


@pytest.mark.parametrize("cls,kw", MODES, ids=MODE_IDS)
def test_double_backward_matches_torch(cls, kw):
    kw = dict(kw, proj_size=1) if "proj_size" in kw else kw
    m, tm = _pair(cls, 2, 3, num_layers=2, **kw)
    x_cr, x_t = _leaf(_arr(4, 2, 2, seed=4))
    out, _ = m(x_cr)
    t_out, _ = tm(x_t)
    (g,) = cr.autograd.grad((out * out).sum(), [x_cr], create_graph=True)
    (tg,) = torch.autograd.grad((t_out * t_out).sum(), [x_t], create_graph=True)
    close(g, tg)
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    _compare_grads(m, tm, [x_cr], [x_t])


@pytest.mark.parametrize("cls,kw", MODES, ids=MODE_IDS)
def test_gradgradcheck_tiny(cls, kw):
    kw = dict(kw, proj_size=1) if "proj_size" in kw else kw
    m, x = _tiny(cls, **kw)
    assert cr.autograd.gradgradcheck(lambda x: m(x)[0], [x])


def _cell_inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [cr.tensor(rng.standard_normal(s) * 0.7, requires_grad=True) for s in shapes]


@pytest.mark.parametrize("case", ["lstm", "lstm_proj", "gru", "gru_nobias", "rnn_tanh", "rnn_relu"])
def test_fused_cells_jvp_vjp_and_gradcheck(case):
    from chainrule.ops.recurrent import gru_cell, lstm_cell, rnn_cell

    b, h = 3, 4
    if case == "lstm":
        ins = _cell_inputs([(b, 4 * h), (b, h), (b, h), (4 * h, h)])
        fn = lstm_cell
    elif case == "lstm_proj":
        ins = _cell_inputs([(b, 4 * h), (b, 2), (b, h), (4 * h, 2), (2, h)])
        fn = lstm_cell
    elif case.startswith("gru"):
        shapes = [(b, 3 * h), (b, h), (3 * h, h)] + ([] if case == "gru_nobias" else [(3 * h,)])
        ins = _cell_inputs(shapes)
        fn = gru_cell
    else:
        ins = _cell_inputs([(b, h), (b, h), (h, h)], seed=2)
        act = case.split("_")[1]

        def fn(*a):
            return rnn_cell(*a, nonlinearity=act)

    assert cr.autograd.check_vjp_jvp(fn, ins)
    assert cr.autograd.gradcheck(fn, ins)
    assert cr.autograd.gradgradcheck(fn, ins)


def test_bptt_1000_steps_matches_torch():
    m, tm = _pair("LSTM", 2, 3)
    x_cr, x_t = _leaf(_arr(1000, 1, 2, seed=8) * 0.5)
    out, (h, c) = m(x_cr)
    t_out, (th, tc) = tm(x_t)
    (out.sum() + h.sum()).backward()
    (t_out.sum() + th.sum()).backward()
    close(out, t_out, tol=1e-9)
    close(x_cr.grad, x_t.grad, tol=1e-9)
    close(m.weight_hh_l0.grad, tm.weight_hh_l0.grad, tol=1e-9)


def test_dropout_between_layers():
    m = cr.nn.GRU(3, 4, num_layers=3, dropout=0.5, dtype=cr.float64)
    x = cr.tensor(_arr(5, 2, 3))
    m.eval()
    ref, _ = m(x)
    again, _ = m(x)
    close(ref, again.data)
    m.train()
    cr.manual_seed(0)
    a, _ = m(x)
    cr.manual_seed(0)
    b, _ = m(x)
    close(a, b.data)
    assert np.abs(a.data - ref.data).max() > 1e-3
    single = cr.nn.GRU(3, 4, num_layers=1, dtype=cr.float64)
    assert single.dropout == 0.0


def test_constructor_errors_and_warning():
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        cr.nn.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        cr.nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        cr.nn.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        cr.nn.RNN(3, 0)
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        cr.nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(TypeError, match="bias should be of type bool"):
        cr.nn.GRU(3, 4, bias=1)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        cr.nn.LSTM(3, 4, dropout=0.2)


def test_forward_errors():
    lstm = cr.nn.LSTM(3, 4, num_layers=2, dtype=cr.float64)
    gru = cr.nn.GRU(3, 4, dtype=cr.float64)
    x = cr.tensor(_arr(5, 2, 3))
    with pytest.raises(
        RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 5"
    ):
        gru(cr.tensor(_arr(5, 2, 5)))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        gru(cr.tensor(_arr(1, 5, 2, 3)))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\), got \[1, 3, 4\]"):
        gru(x, cr.zeros(1, 3, 4, dtype=cr.float64))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(2, 2, 4\)"):
        lstm(x, (cr.zeros(2, 2, 4, dtype=cr.float64), cr.zeros(2, 2, 5, dtype=cr.float64)))
    with pytest.raises(RuntimeError, match="hx and cx should also be 3-D but got \\(2-D, 2-D\\)"):
        lstm(x, cr.zeros(2, 2, 4, dtype=cr.float64))  # PyTorch reads rows hx[0], hx[1]
    with pytest.raises(TypeError, match="hx must be a tuple"):
        lstm(x, object())
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx should also be 2-D"):
        gru(cr.tensor(_arr(5, 3)), cr.zeros(1, 1, 4, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="For batched 3-D input, hx and cx should also be 3-D"):
        lstm(x, (cr.zeros(2, 4, dtype=cr.float64), cr.zeros(2, 4, dtype=cr.float64)))
    with pytest.raises(ValueError, match="does not match weight dtype"):
        gru(cr.tensor(_arr(5, 2, 3), dtype=cr.float32))
    cell = cr.nn.LSTMCell(3, 4, dtype=cr.float64)
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 2"):
        cell(cr.tensor(_arr(2, 2)))
    with pytest.raises(RuntimeError, match="doesn't match hidden batch size"):
        cell(cr.tensor(_arr(2, 3)), (cr.zeros(3, 4, dtype=cr.float64),) * 2)
    with pytest.raises(ValueError, match="Expected input to be 1D or 2D, got 3D"):
        cell(cr.tensor(_arr(1, 2, 3)))


def test_backward_twice_needs_retain_graph():
    m = cr.nn.LSTM(2, 3, dtype=cr.float64)
    out, _ = m(cr.tensor(_arr(3, 1, 2), requires_grad=True))
    loss = out.sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


@pytest.mark.parametrize("cls,kw", MODES, ids=MODE_IDS)
def test_forward_mode_through_layer(cls, kw):
    """jvp w.r.t. the input only (weights constant: partial tangents in every cell)."""
    kw = dict(kw, proj_size=1) if "proj_size" in kw else kw
    m, x = _tiny(cls, bidirectional=True, **kw)
    assert cr.autograd.check_vjp_jvp(lambda x: m(x)[0], [x])


def test_hessian_of_lstm_cell_matches_torch():
    """hessian = jacfwd(jacrev(f)): the differentiable backward carries tangents."""
    m, tm = _pair("LSTMCell", 2, 2)
    x = _arr(2, seed=11)

    def f(x):
        h, c = m(x)
        return (h * c).sum()

    def tf(x):
        h, c = tm(x)
        return (h * c).sum()

    hess = cr.func.hessian(f)(cr.tensor(x))
    t_hess = torch.autograd.functional.hessian(tf, torch.tensor(x))
    close(hess, t_hess)


def _node_names(out):
    seen, stack, names = set(), [out.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or node.name() == "torch::autograd::AccumulateGrad":
            continue
        seen.add(id(node))
        names.append(node.name())
        stack.extend(n for n, _ in node.next_functions)
    return names


def test_one_fused_node_per_step():
    """With sequences of unequal lengths (packed) the graph holds one cell node per time step
    (plus projections, splits and joins); with equal lengths one node runs the whole loop."""
    m = cr.nn.LSTM(2, 3, dtype=cr.float64)
    x = cr.tensor(_arr(7, 2, 2), requires_grad=True)
    names = _node_names(m(x)[0])
    assert names.count("LSTMSequenceBackward0") == 1 and len(names) < 8
    packed = cr.nn.utils.rnn.pack_padded_sequence(x, [7, 5])
    names = _node_names(m(packed)[0].data)
    assert names.count("LSTMCellBackward0") == 7
    assert len(names) < 7 + 12


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_time_loop_split_over_batch_blocks_matches_torch(cls, dtype, monkeypatch):
    """A batch of small per-step GEMMs runs its time loops as row blocks on the intra-op
    threads (ops/recurrent_seq._over_batch): same outputs, states and gradients as PyTorch,
    and the same as one loop over the whole batch."""
    from chainrule import threads as cr_threads
    from chainrule.ops import recurrent_seq

    blocks = []
    real = recurrent_seq.parallel_slices

    def spy(fn, length, nbytes):
        def block(lo, hi):
            blocks.append((lo, hi))
            fn(lo, hi)

        real(block, length, nbytes)

    monkeypatch.setattr(recurrent_seq, "parallel_slices", spy)
    monkeypatch.setattr(cr_threads, "MIN_PARALLEL_BYTES", 0)  # split even this small case
    tdt = getattr(torch, dtype)
    tm = getattr(torch.nn, cls)(3, 6, num_layers=2, bidirectional=True).to(tdt)
    x = _arr(7, 10, 3).astype(dtype)
    results = []
    for threads in (2, 1):
        m = getattr(cr.nn, cls)(3, 6, num_layers=2, bidirectional=True, dtype=getattr(cr, dtype))
        copy_params(m, tm)
        before = cr.get_num_threads()
        cr.set_num_threads(threads)
        try:
            x_cr = cr.tensor(x, requires_grad=True)
            out, final = m(x_cr)
            _loss(out, final).backward()
        finally:
            cr.set_num_threads(before)
        results.append((out, final, x_cr.grad, [p.grad for p in m.parameters()]))
    # the forward directions of 2 layers run as one op each: 4 time loops (forward and
    # backward), in two blocks with two threads, then whole with one
    assert sorted(blocks[:8]) == [(0, 5)] * 4 + [(5, 10)] * 4
    assert blocks[8:] == [(0, 10)] * 4
    x_t = torch.tensor(x, requires_grad=True)
    t_out, t_final = tm(x_t)
    _loss(t_out, t_final).backward()
    tol = {"tol": 2e-5} if dtype == "float32" else {}
    for out, final, gx, grads in results:
        close(out, t_out, **tol)
        for a, b in zip(
            final if cls == "LSTM" else (final,), t_final if cls == "LSTM" else (t_final,)
        ):
            close(a, b, **tol)
        close(gx, x_t.grad, **tol)
        for g, p in zip(grads, tm.parameters()):
            close(g, p.grad, **tol)
