"""``quantize_dynamic`` on ``nn.LSTM`` / ``nn.GRU`` against PyTorch: the swapped modules'
reprs and state-dict keys, and outputs and final states to ~1e-7 (the gate nonlinearities
are NumPy's, which can differ from PyTorch's float32 ones in the last bit)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

tq = torch.ao.quantization
cq = cr.ao.quantization

CASES = [
    ("LSTM", 5, 7, 1, False, False),
    ("LSTM", 3, 6, 2, True, False),
    ("LSTM", 4, 3, 2, False, True),
    ("GRU", 5, 7, 1, False, False),
    ("GRU", 3, 4, 2, True, True),
]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def _pair(kind: str, *args, **kwargs):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(getattr(torch.nn, kind)(*args, **kwargs))
    cm = cr.nn.Sequential(getattr(cr.nn, kind)(*args, **kwargs))
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, cm


@pytest.mark.parametrize("kind,n_in,hidden,layers,bidirectional,batch_first", CASES)
def test_quantized_rnn_matches_torch(kind, n_in, hidden, layers, bidirectional, batch_first):
    kw = {"num_layers": layers, "bidirectional": bidirectional, "batch_first": batch_first}
    tm, cm = _pair(kind, n_in, hidden, **kw)
    tqm = tq.quantize_dynamic(tm, {getattr(torch.nn, kind), torch.nn.Linear}, dtype=torch.qint8)
    cqm = cq.quantize_dynamic(cm, {getattr(cr.nn, kind), cr.nn.Linear}, dtype=cr.qint8)
    assert repr(cqm) == repr(tqm)
    assert list(cqm.state_dict()) == list(tqm.state_dict())
    rng = np.random.default_rng(0)
    dirs = 2 if bidirectional else 1
    for steps, batch, with_state in [(6, 3, False), (1, 1, False), (4, 2, True)]:
        shape = (batch, steps, n_in) if batch_first else (steps, batch, n_in)
        x = rng.standard_normal(shape).astype(np.float32)
        h0 = rng.standard_normal((layers * dirs, batch, hidden)).astype(np.float32)
        if kind == "LSTM":
            t_state = (torch.from_numpy(h0), torch.from_numpy(h0 * 0.5))
            c_state = (cr.tensor(h0), cr.tensor(h0 * 0.5))
        else:
            t_state, c_state = torch.from_numpy(h0), cr.tensor(h0)
        want = tqm[0](torch.from_numpy(x), t_state if with_state else None)
        got = cqm[0](cr.tensor(x), c_state if with_state else None)
        t_all = [want[0], *(want[1] if kind == "LSTM" else [want[1]])]
        c_all = [got[0], *(got[1] if kind == "LSTM" else [got[1]])]
        for a, b in zip(c_all, t_all, strict=True):
            assert a.shape == b.shape and a.dtype == cr.float32
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=5e-7)


def test_errors_like_torch() -> None:
    tm, cm = _pair("LSTM", 3, 4)
    tqm, cqm = tq.quantize_dynamic(tm), cq.quantize_dynamic(cm)
    with pytest.raises(RuntimeError, match="input must have 3 dimensions, got 2"):
        tqm[0](torch.ones(5, 3))
    with pytest.raises(RuntimeError, match="input must have 3 dimensions, got 2"):
        cqm[0](cr.ones(5, 3))
    tb, cb = _pair("LSTM", 3, 4, bias=False)
    with pytest.raises(AssertionError, match="mod.bias must be True"):
        tq.quantize_dynamic(tb)
    with pytest.raises(AssertionError, match="mod.bias must be True"):
        cq.quantize_dynamic(cb)
    with pytest.raises(NotImplementedError, match="LSTMCell"):
        cq.quantize_dynamic(cr.nn.Sequential(cr.nn.LSTMCell(3, 4)))


def test_state_dict_round_trip() -> None:
    _, cm = _pair("GRU", 3, 4, num_layers=2)
    cqm = cq.quantize_dynamic(cm)
    cr.manual_seed(1)
    other = cq.quantize_dynamic(cr.nn.Sequential(cr.nn.GRU(3, 4, num_layers=2)))
    x = cr.randn(5, 2, 3)
    assert not np.array_equal(other[0](x)[0].numpy(), cqm[0](x)[0].numpy())
    other.load_state_dict(cqm.state_dict())
    np.testing.assert_array_equal(other[0](x)[0].numpy(), cqm[0](x)[0].numpy())
