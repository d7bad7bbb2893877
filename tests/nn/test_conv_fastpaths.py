"""The speed paths of the conv/pool kernels (chosen by size) against PyTorch (float64).

Each path is picked by shape: the col2im input gradient (full-conv gather much larger),
im2col columns kept from forward (small) or gathered chunk by chunk, and the
disjoint-window max-pool backward. These tests pin that every path is exact; the
algorithms and the workspace are tested path by path in tests/ops/test_conv_algorithms.py
and tests/ops/test_conv_workspace.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.ops import _conv_kernels as K
from chainrule.ops import _im2col

from ._helpers import close_rel as close

RNG = np.random.default_rng(7)


def _conv_grads(x, w, b, **kw):
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    cx, cw, cb = (cr.tensor(a, requires_grad=True) for a in (x, w, b))
    yt, yc = TF.conv2d(tx, tw, tb, **kw), F.conv2d(cx, cw, cb, **kw)
    close(yc.data, yt.detach().numpy())
    gy = RNG.standard_normal(yt.shape)
    yt.backward(torch.tensor(gy))
    yc.backward(cr.tensor(gy))
    for c, t in ((cx, tx), (cw, tw), (cb, tb)):
        close(c.grad.data, t.grad.numpy())


@pytest.mark.parametrize(
    "n,c,o,h,w,k,pad",
    [
        (2, 3, 4, 16, 18, 3, 1),  # shifted weight grad (plane 18x20 vs 16x18)
        (2, 3, 4, 13, 11, (3, 2), (1, 0)),
        (3, 6, 16, 14, 14, 5, 0),  # LeNet conv2: col2im input grad, kept columns
    ],
)
def test_conv_paths_match_torch(n, c, o, h, w, k, pad):
    kh, kw = (k, k) if isinstance(k, int) else k
    x = RNG.standard_normal((n, c, h, w))
    wt = RNG.standard_normal((o, c, kh, kw))
    b = RNG.standard_normal(o)
    _conv_grads(x, wt, b, padding=pad)


def test_chunked_weight_grad_equals_the_one_from_kept_columns():
    x = RNG.standard_normal((2, 3, 16, 16))
    g = RNG.standard_normal((2, 5, 16, 16))
    P = ((1, 1), (1, 1, 1, 1), (1, 1), 1)
    ref = K.conv_weight_grad(
        x, g, (5, 3, 3, 3), *P, cols=_im2col.im2col(x, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1))
    )
    close(K.conv_weight_grad(x, g, (5, 3, 3, 3), *P), ref, 1e-12)


def test_large_conv_through_workspace_matches_torch(monkeypatch):
    # Force the workspace and chunking on a small problem; two convs in a row must not
    # corrupt each other's columns (forward columns of the first are dead before the second).
    monkeypatch.setattr(K, "CHUNK_BYTES", 1)
    monkeypatch.setattr(K, "CHUNK_MIN_COLUMNS", 1)
    monkeypatch.setattr(K, "CHUNK_MIN_TOTAL_BYTES", 0)
    monkeypatch.setattr(K, "SAVE_COLS_MAX_BYTES", 0)
    x = RNG.standard_normal((2, 3, 9, 9))
    w1, w2 = RNG.standard_normal((4, 3, 3, 3)), RNG.standard_normal((5, 4, 3, 3))
    tx, t1, t2 = (torch.tensor(a, requires_grad=True) for a in (x, w1, w2))
    cx, c1, c2 = (cr.tensor(a, requires_grad=True) for a in (x, w1, w2))
    yt = TF.conv2d(TF.conv2d(tx, t1, stride=2, padding=1), t2, padding=1).square().sum()
    yc = F.conv2d(F.conv2d(cx, c1, stride=2, padding=1), c2, padding=1).square().sum()
    yt.backward()
    yc.backward()
    close(yc.item(), yt.item())
    for c, t in ((cx, tx), (c1, t1), (c2, t2)):
        close(c.grad.data, t.grad.numpy())


@pytest.mark.parametrize("h,w", [(8, 8), (9, 7)])  # odd sizes: uncovered pixels get 0
def test_maxpool_disjoint_backward_with_ties(h, w):
    x = np.maximum(RNG.standard_normal((2, 3, h, w)), 0.0)  # ReLU-like: many tied zeros
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    gy = RNG.standard_normal((2, 3, h // 2, w // 2))
    TF.max_pool2d(tx, 2).backward(torch.tensor(gy))
    F.max_pool2d(cx, 2).backward(cr.tensor(gy))
    close(cx.grad.data, tx.grad.numpy())


def test_double_backward_through_kept_columns():
    x = RNG.standard_normal((2, 2, 6, 6))
    w = RNG.standard_normal((3, 2, 3, 3))
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    cx, cw = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
    (gt,) = torch.autograd.grad(TF.conv2d(tx, tw).square().sum(), tw, create_graph=True)
    (gc,) = cr.autograd.grad(F.conv2d(cx, cw).square().sum(), cw, create_graph=True)
    close(gc.data, gt.detach().numpy())
    gt.square().sum().backward()
    gc.square().sum().backward()
    close(cx.grad.data, tx.grad.numpy())
    close(cw.grad.data, tw.grad.numpy())
