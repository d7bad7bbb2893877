"""The conv workspace: explicit loans of scratch buffers, and convs that reuse them.

Replaces the reference-count guesses of the old scratch block: a buffer is lent for one
``with`` block, a second loan while it is out gets other memory, and a returned buffer
is reused (with its zero border intact for bordered loans).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.ops import _conv_kernels as K
from chainrule.ops import _workspace as W

RNG = np.random.default_rng(5)


@pytest.fixture
def ws(monkeypatch):
    """A fresh workspace for this thread that lends even tiny buffers."""
    monkeypatch.setattr(W, "MIN_BYTES", 1)
    fresh = W.Workspace()
    monkeypatch.setattr(W._LOCAL, "ws", fresh, raising=False)
    return fresh


def test_empty_loan_is_exclusive_and_reused(ws):
    with ws.empty((4096,), np.float32) as a:
        with ws.empty((4096,), np.float32) as b:  # a is still lent: other memory
            assert not np.shares_memory(a, b)
        ptrs = {a.ctypes.data, b.ctypes.data}
    with ws.empty((1024,), np.float32) as c:  # returned: one block is kept and reused
        assert c.ctypes.data in ptrs
    with ws.empty((8192,), np.float64) as d:  # larger than the block: a new, larger one
        assert d.shape == (8192,) and d.dtype == np.float64


def test_empty_loan_returns_on_error(ws):
    with pytest.raises(ValueError), ws.empty((16,), np.float32) as a:
        ptr = a.ctypes.data
        raise ValueError("boom")
    with ws.empty((16,), np.float32) as b:
        assert b.ctypes.data == ptr


def test_bordered_loan_keeps_its_zeros_and_is_exclusive(ws):
    with ws.bordered(("t",), (3, 4), np.float32) as a:
        a[1:2, 1:3] = 5.0  # the interior every borrower under this tag overwrites
        with ws.bordered(("t",), (3, 4), np.float32) as b:  # a is out: a zeroed new one
            assert b is not a and not b.any()
    with ws.bordered(("t",), (3, 4), np.float32) as c:
        assert c is a or c is b  # one of the returned buffers is reused
        c[1:2, 1:3] = 7.0
        assert c[0].sum() == 0 and c[2].sum() == 0 and c[:, 0].sum() == 0


def test_bordered_cache_is_bounded(ws):
    ws.cache_bytes = 3 * 4 * 100
    for i in range(5):
        with ws.bordered(("t", i), (100,), np.float32):
            pass
    assert len(ws._bordered) == 3  # least recently used dropped


def test_clear_drops_free_buffers(ws):
    with ws.empty((10,), np.float32), ws.bordered(("t",), (5,), np.float32):
        pass
    ws.clear()
    assert ws._block is None and not ws._bordered


@pytest.mark.parametrize("chunk", [1, 1 << 40])
def test_convs_stay_exact_across_reused_buffers(ws, monkeypatch, chunk):
    # several convs of the same and different shapes in one graph, repeated with new data:
    # every padded input, column block and output must come out exact each time
    monkeypatch.setattr(K, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(K, "WGRAD_CHUNK_BYTES", chunk)
    monkeypatch.setattr(K, "CHUNK_MIN_COLUMNS", 1)
    monkeypatch.setattr(K, "CHUNK_MIN_TOTAL_BYTES", 0)
    monkeypatch.setattr(K, "SAVE_COLS_MAX_BYTES", 0)
    w1, w2 = RNG.standard_normal((4, 3, 3, 3)), RNG.standard_normal((5, 4, 3, 3))
    for step in range(3):
        x = RNG.standard_normal((3, 3, 9, 9)) * (step + 1)
        tx, t1, t2 = (torch.tensor(a, requires_grad=True) for a in (x, w1, w2))
        cx, c1, c2 = (cr.tensor(a, requires_grad=True) for a in (x, w1, w2))
        yt = TF.conv2d(TF.conv2d(tx, t1, stride=2, padding=1), t2, padding=1)
        yc = F.conv2d(F.conv2d(cx, c1, stride=2, padding=1), c2, padding=1)
        np.testing.assert_allclose(yc._data, yt.detach().numpy(), rtol=1e-10, atol=1e-10)
        yt.square().sum().backward()
        yc.square().sum().backward()
        for c, t in ((cx, tx), (c1, t1), (c2, t2)):
            np.testing.assert_allclose(c.grad._data, t.grad.numpy(), rtol=1e-10, atol=1e-9)
    pads = [buf for key, buf in ws._bordered.items() if key[0][0] == "pad"]
    assert pads and all(not buf[:, :, 0, :].any() for buf in pads)  # borders still zero
