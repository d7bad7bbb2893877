"""The raw recurrent functions (``cr.lstm``/``gru``/``rnn_tanh``/``rnn_relu`` and the cells)
against PyTorch with the same flat params over the configurations an op spec cannot sweep
(layers, directions, batch_first, biases, projections, packed input of unequal lengths,
dropout), against ``cr.nn.LSTM``/``GRU``/``RNN`` with the same weights, and their errors.

Values and gradients of single configurations, gradcheck, forward mode and double backward
are in tests/ops/op_specs_rnn_functional.py; the other raw functions are tested in
tests/ops/test_raw_conv_misc.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import chainrule as cr

_GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
_NN = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN", "rnn_relu": "RNN"}


def _cr(t: torch.Tensor) -> cr.Tensor:
    return cr.tensor(t.detach().numpy())


def _torch_module(name: str, **kw) -> torch.nn.Module:
    torch.manual_seed(0)
    if name.startswith("rnn"):
        kw["nonlinearity"] = name.split("_")[1]
    return getattr(torch.nn, _NN[name])(3, 4, **kw).double()


def _states(name: str, rows: int, batch: int, proj: int = 0) -> tuple:
    gen = torch.Generator().manual_seed(1)
    h = torch.randn(rows, batch, proj or 4, dtype=torch.float64, generator=gen)
    c = torch.randn(rows, batch, 4, dtype=torch.float64, generator=gen)
    if name == "lstm":
        return (h, c), (_cr(h), _cr(c))
    return h, _cr(h)


def _close(t_outs, c_outs) -> None:
    assert len(t_outs) == len(c_outs)
    for t, c in zip(t_outs, c_outs):
        assert tuple(c.shape) == tuple(t.shape)
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)


_CONFIGS = [
    (name, layers, bi, bf, bias, proj)
    for name, layers, bi, bf, bias in itertools.product(
        _GATES, (1, 2), (False, True), (False, True), (True, False)
    )
    for proj in ((0, 2) if name == "lstm" else (0,))
]


@pytest.mark.parametrize("name,layers,bi,bf,bias,proj", _CONFIGS)
def test_padded_loop_matches_torch_values_and_grads(name, layers, bi, bf, bias, proj):
    kw = dict(num_layers=layers, bidirectional=bi, batch_first=bf, bias=bias)
    if proj:
        kw["proj_size"] = proj
    m = _torch_module(name, **kw)
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)  # (T, B) or (B, T)
    t_hx, c_hx = _states(name, layers * (1 + bi), 5 if not bf else 2, proj)
    params = list(m._flat_weights)
    t_out = getattr(torch, name)(x, t_hx, params, bias, layers, 0.0, False, bi, bf)
    c_params = [_cr(p).requires_grad_() for p in params]
    cx = _cr(x).requires_grad_()
    c_out = getattr(cr, name)(cx, c_hx, c_params, bias, layers, 0.0, False, bi, bf)
    _close(t_out, c_out)
    sum((o * (k + 1)).sum() for k, o in enumerate(t_out)).backward()
    sum((o * (k + 1)).sum() for k, o in enumerate(c_out)).backward()
    _close([x.grad] + [p.grad for p in params], [cx.grad] + [p.grad for p in c_params])


@pytest.mark.parametrize("name", list(_GATES))
@pytest.mark.parametrize("bi", [False, True])
def test_packed_overload_matches_torch(name, bi):
    """Unequal lengths: the state shrinks (forward) and grows (reverse) over time."""
    m = _torch_module(name, num_layers=2, bidirectional=bi)
    x = torch.randn(6, 3, 3, dtype=torch.float64)  # (T, B, I)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, [6, 4, 1])
    t_hx, c_hx = _states(name, 2 * (1 + bi), 3)
    t_out = getattr(torch, name)(
        packed.data, packed.batch_sizes, t_hx, m._flat_weights, True, 2, 0.0, False, bi
    )
    batch_sizes = cr.tensor(packed.batch_sizes.numpy())
    c_params = [_cr(p) for p in m._flat_weights]
    c_out = getattr(cr, name)(
        _cr(packed.data), batch_sizes, c_hx, c_params, True, 2, 0.0, False, bi
    )
    _close(t_out, c_out)
    by_keyword = getattr(cr, name)(
        data=_cr(packed.data),
        batch_sizes=batch_sizes,
        hx=c_hx,
        params=c_params,
        has_biases=True,
        num_layers=2,
        dropout=0.0,
        train=False,
        bidirectional=bi,
    )
    _close(t_out, by_keyword)


@pytest.mark.parametrize("name", list(_GATES))
def test_equals_nn_layer_with_same_weights(name):
    """Same code path as cr.nn.LSTM/GRU/RNN: bit-identical results, padded and packed."""
    kw = dict(num_layers=2, bidirectional=True, batch_first=True)
    if name.startswith("rnn"):
        kw["nonlinearity"] = name.split("_")[1]
    m = getattr(cr.nn, _NN[name])(3, 4, **kw)
    m.eval()
    x = cr.randn(2, 5, 3)
    _, hx = _states(name, 4, 2)
    hx = tuple(s.float() for s in hx) if name == "lstm" else hx.float()
    out, finals = m(x, hx)
    raw = getattr(cr, name)(x, hx, m._flat_weights, True, 2, 0.5, False, True, True)
    finals = finals if name == "lstm" else (finals,)
    for a, b in zip(raw, (out, *finals)):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    packed = cr.nn.utils.rnn.pack_padded_sequence(x, [5, 3], batch_first=True)
    p_out, p_finals = m(packed, hx)
    raw = getattr(cr, name)(
        packed.data, packed.batch_sizes, hx, m._flat_weights, True, 2, 0.5, False, True
    )
    p_finals = p_finals if name == "lstm" else (p_finals,)
    for a, b in zip(raw, (p_out.data, *p_finals)):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("name", list(_GATES))
def test_dropout_only_in_training(name):
    """dropout is ignored with train=False (equal to dropout=0, as PyTorch) and, with
    train=True, is the nn layer's (the same random draws for the same seed)."""
    m = _torch_module(name, num_layers=3)
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    t_hx, c_hx = _states(name, 3, 2)
    c_params = [_cr(p) for p in m._flat_weights]
    t_out = getattr(torch, name)(x, t_hx, m._flat_weights, True, 3, 0.0, False, False, False)
    evals = getattr(cr, name)(_cr(x), c_hx, c_params, True, 3, 0.7, False, False, False)
    _close(t_out, evals)
    layer = getattr(cr.nn, _NN[name])(
        3,
        4,
        num_layers=3,
        dropout=0.7,
        dtype=cr.float64,
        **({"nonlinearity": name.split("_")[1]} if name.startswith("rnn") else {}),
    )
    for p, q in zip(layer._flat_weights, c_params):
        with cr.no_grad():
            p.copy_(q)
    cr.manual_seed(5)
    out, _ = layer(_cr(x), c_hx)
    cr.manual_seed(5)
    raw = getattr(cr, name)(_cr(x), c_hx, c_params, True, 3, 0.7, True, False, False)
    np.testing.assert_array_equal(raw[0].numpy(), out.detach().numpy())
    assert not np.allclose(raw[0].numpy(), evals[0].numpy())  # dropout did act


def _lstm_args(**change):
    """Valid arguments of cr.lstm (2 layers, bidirectional), with some replaced."""
    m = _torch_module("lstm", num_layers=2, bidirectional=True)
    args = dict(
        input=cr.randn(5, 2, 3, dtype=cr.float64),
        hx=(cr.zeros(4, 2, 4, dtype=cr.float64), cr.zeros(4, 2, 4, dtype=cr.float64)),
        params=[_cr(p) for p in m._flat_weights],
        has_biases=True,
        num_layers=2,
        dropout=0.0,
        train=False,
        bidirectional=True,
        batch_first=False,
    )
    args.update(change)
    return args


def test_loop_argument_errors():
    params = _lstm_args()["params"]
    cases = [
        (dict(params=params[:-1]), RuntimeError, "expected 16 params.*got 15"),
        (dict(has_biases=False), RuntimeError, r"expected 8 params \(2 per layer"),
        (dict(num_layers=1), RuntimeError, "expected 8 params.*got 16"),
        (dict(num_layers=0), RuntimeError, "num_layers must be at least 1"),
        (
            dict(params=params[:1] + [params[1].T] + params[2:]),
            RuntimeError,
            r"params\[1\] \(w_hh of layer 0\) must have shape \[16, 4\]",
        ),
        (
            dict(params=params[:12] + [params[12][:, :4]] + params[13:]),
            RuntimeError,
            r"params\[12\] \(w_ih of layer 1, reverse\) must have shape \[16, 8\]",
        ),
        (
            dict(params=params[:2] + [params[2][:4]] + params[3:]),
            RuntimeError,
            r"params\[2\] \(b_ih of layer 0\)",
        ),
        (dict(params=params[:3] + [params[3].numpy()] + params[4:]), TypeError, "params"),
        (dict(hx=(cr.zeros(4, 2, 4, dtype=cr.float64),)), RuntimeError, "two hidden states"),
        (dict(hx=cr.zeros(4, 2, 4, dtype=cr.float64)), TypeError, "tuple of Tensors"),
        (
            dict(hx=(cr.zeros(2, 2, 4, dtype=cr.float64), cr.zeros(2, 2, 4, dtype=cr.float64))),
            RuntimeError,
            r"Expected hidden\[0\] size \(4, 2, 4\), got \[2, 2, 4\]",
        ),
        (
            dict(input=cr.randn(5, 3, 3, dtype=cr.float64)),
            RuntimeError,
            r"Expected hidden\[0\] size \(4, 3, 4\)",
        ),
        (
            dict(input=cr.randn(5, 2, 2, dtype=cr.float64)),
            RuntimeError,
            r"params\[0\] \(w_ih of layer 0\) must have shape \[16, 2\]",
        ),
        (dict(input=cr.randn(2, 3, dtype=cr.float64)), RuntimeError, "input to be 3-D"),
        (dict(input=cr.randn(0, 2, 3, dtype=cr.float64)), RuntimeError, "sequence length"),
        (dict(input=cr.randn(5, 2, 3)), RuntimeError, "same dtype.*float32"),
        (dict(train=True, dropout=1.5), RuntimeError, "dropout probability has to be between"),
        (dict(bidirectional=1), TypeError, "'bidirectional' must be bool"),
        (dict(num_layers=2.0), TypeError, "'num_layers' must be int"),
        (dict(dropout="0"), TypeError, "'dropout' must be float"),
    ]
    for change, error, match in cases:
        with pytest.raises(error, match=match):
            cr.lstm(**_lstm_args(**change))
    # as PyTorch: an out-of-range dropout is not looked at when it is not applied
    cr.lstm(**_lstm_args(train=False, dropout=1.5))
    with pytest.raises(TypeError, match="lstm"):
        cr.lstm(cr.randn(5, 2, 3), 1, 2)


def test_packed_argument_errors():
    x = cr.randn(5, 3, dtype=cr.float64)
    h = cr.zeros(1, 2, 4, dtype=cr.float64)
    params = [_cr(p) for p in _torch_module("gru")._flat_weights]
    for sizes, match in (
        ([2, 2], "sum to the number of rows"),
        ([2, 3], "non-increasing"),
        ([], "larger than 0"),
        ([3, 2, 0], "positive"),
    ):
        with pytest.raises(RuntimeError, match=match):
            cr.gru(
                x,
                cr.tensor(sizes, dtype=cr.int64),
                h,
                params,
                True,
                1,
                0.0,
                False,
                False,
            )
    with pytest.raises(RuntimeError, match="batch_sizes must be an integer tensor"):
        cr.gru(x, cr.tensor([2.0, 2.0, 1.0]), h, params, True, 1, 0.0, False, False)


@pytest.mark.parametrize("name", ["lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"])
def test_cell_errors(name):
    g = _GATES[name.split("_cell")[0]]
    x, h = cr.randn(3, 4), cr.randn(3, 5)
    w_ih, w_hh, b = cr.randn(g * 5, 4), cr.randn(g * 5, 5), cr.randn(g * 5)
    fn = getattr(cr, name)

    def call(x=x, h=h, w_ih=w_ih, w_hh=w_hh, b_ih=b, b_hh=b):
        return fn(x, (h, h) if name == "lstm_cell" else h, w_ih, w_hh, b_ih, b_hh)

    call()
    cases = [
        (dict(w_ih=w_ih[:, :3]), "input has inconsistent input_size: got 4 expected 3"),
        (dict(w_hh=w_hh[:, :4]), rf"weight_ih first dim must be {g} \* hidden_size = {g * 4}"),
        (dict(w_hh=cr.randn(g * 5 + 1, 5)), "weight_hh first dim must be"),
        (dict(h=h[:2]), "Input batch size 3 doesn't match hidden0 batch size 2"),
        (dict(h=h[:, :3]), "hidden0 has inconsistent hidden_size: got 3, expected 5"),
        (dict(b_hh=b[:4]), rf"expected b_hh of shape \[{g * 5}\]"),
        (dict(x=x[0]), "expected input to be 2-D"),
        (dict(h=h[0]), "to be 2-D"),
        (dict(w_hh=w_hh.double()), "same dtype"),
    ]
    for change, match in cases:
        with pytest.raises(RuntimeError, match=match):
            call(**change)
    with pytest.raises(TypeError, match="must be a Tensor"):
        call(b_ih=[1.0] * g * 5)


def test_lstm_cell_state_and_single_bias():
    x, h = cr.randn(3, 4), cr.randn(3, 5)
    w_ih, w_hh, b = cr.randn(20, 4), cr.randn(20, 5), cr.randn(20)
    with pytest.raises(TypeError, match="must be a tuple of Tensors"):
        cr.lstm_cell(x, h, w_ih, w_hh)
    with pytest.raises(RuntimeError, match="lstm_cell expects two hidden states"):
        cr.lstm_cell(x, (h,), w_ih, w_hh)
    # only b_hh given: PyTorch adds each bias that is there
    t = torch.lstm_cell(
        torch.tensor(x.numpy()),
        (torch.tensor(h.numpy()), torch.tensor(h.numpy())),
        torch.tensor(w_ih.numpy()),
        torch.tensor(w_hh.numpy()),
        None,
        torch.tensor(b.numpy()),
    )
    c = cr.lstm_cell(x, [h, h], w_ih, w_hh, None, b)
    for a, bb in zip(t, c):
        np.testing.assert_allclose(bb.numpy(), a.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["lstm_cell", "gru_cell", "rnn_tanh_cell"])
def test_cells_equal_nn_cells(name):
    cls = {"lstm_cell": cr.nn.LSTMCell, "gru_cell": cr.nn.GRUCell, "rnn_tanh_cell": cr.nn.RNNCell}
    m = cls[name](4, 5)
    x, h = cr.randn(3, 4), cr.randn(3, 5)
    hx = (h, h * 0.5) if name == "lstm_cell" else h
    want = m(x, hx)
    got = getattr(cr, name)(x, hx, m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh)
    for a, b in zip(
        want if name == "lstm_cell" else (want,), got if name == "lstm_cell" else (got,)
    ):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_integer_tensors_and_missing_dimensions():
    """Integer tensors: refused (PyTorch fails inside the gates) except by the relu forms,
    which compute in integers as PyTorch's; too few dimensions raise an error that is both
    PyTorch's IndexError and RuntimeError (which one PyTorch raises depends on the op)."""
    ints = [torch.randint(-2, 3, s) for s in ((3, 4), (3, 5), (5, 4), (5, 5), (5,), (5,))]
    want = torch.rnn_relu_cell(*ints)
    got = cr.rnn_relu_cell(*[_cr(t) for t in ints])
    assert got.dtype == cr.int64
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    for name in ("rnn_tanh_cell", "gru_cell"):
        g = _GATES[name.split("_cell")[0]]
        args = [cr.ones(3, 4, dtype=cr.int64), cr.ones(3, 5, dtype=cr.int64)]
        args += [cr.ones(g * 5, 4, dtype=cr.int64), cr.ones(g * 5, 5, dtype=cr.int64)]
        with pytest.raises(RuntimeError, match=f"{name}: expected floating point tensors"):
            getattr(cr, name)(*args)
    ints = _lstm_args()
    ints["input"] = ints["input"].long()
    with pytest.raises(RuntimeError, match="lstm: expected floating point tensors"):
        cr.lstm(**ints)
    for call in (
        lambda: cr.gru_cell(cr.randn(4), cr.randn(5), cr.randn(15, 4), cr.randn(15, 5)),
        lambda: cr.lstm(**_lstm_args(input=cr.randn(2, 3, dtype=cr.float64))),
    ):
        with pytest.raises(IndexError, match="expected input to be"):
            call()
        with pytest.raises(RuntimeError, match="expected input to be"):
            call()
