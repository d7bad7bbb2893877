"""The SyncBatchNorm kernels as root functions (``chainrule/ops/batch_norm_stats.py``):
``batch_norm_stats``, ``batch_norm_elemt``, ``batch_norm_gather_stats[_with_counts]``,
``batch_norm_update_stats``, ``batch_norm_backward_reduce``/``_elemt``. PyTorch's CPU build
has only ``batch_norm_update_stats`` of these (the rest are CUDA kernels), so the others are
checked against what its CPU batch norm gives for the same data: ``native_batch_norm``'s
saved statistics, its evaluation form and its autograd gradients. (Split from
tests/test_root_functions_session33.py to keep files short.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(34)


def _same(c, t, rtol=1e-10, atol=1e-12):
    cn, tn = c.detach().numpy(), t.detach().numpy()
    assert cn.shape == tn.shape, (cn.shape, tn.shape)
    assert str(cn.dtype) == str(tn.dtype), (cn.dtype, tn.dtype)
    np.testing.assert_allclose(cn, tn, rtol=rtol, atol=atol, equal_nan=True)


def _pair(a, requires_grad=False):
    a = np.asarray(a)
    return cr.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


def _both_raise(fc, ft):
    with pytest.raises(Exception) as te:
        ft()
    with pytest.raises(type(te.value)):
        fc()


# ------------------------------------------------------------------- SyncBatchNorm kernels
def _stats_ref(x, eps):
    """(mean, invstd) per channel from PyTorch's CPU batch norm (its saved statistics)."""
    _, m, inv = torch.native_batch_norm(x, None, None, None, None, True, 0.1, eps)
    return m, inv


@pytest.mark.parametrize("shape", [(3, 4, 5), (6, 4), (2, 4, 3, 2)])
def test_batch_norm_stats_and_elemt(shape):
    cx, tx = _pair(RNG.standard_normal(shape), True)
    cm, ci = cr.batch_norm_stats(cx, 1e-3)
    tm, ti = _stats_ref(tx.detach(), 1e-3)
    _same(cm, tm)
    _same(ci, ti)
    cw, tw = _pair(RNG.standard_normal(4), True)
    cb, tb = _pair(RNG.standard_normal(4), True)
    # elemt with the batch's own statistics is training-mode batch norm, gradients included
    co = cr.batch_norm_elemt(cx, cw, cb, cm, ci, 1e-3)
    to = torch.nn.functional.batch_norm(tx, None, None, tw, tb, True, 0.1, 1e-3)
    _same(co, to, rtol=1e-9)
    g = RNG.standard_normal(shape)
    co.backward(cr.tensor(g))
    to.backward(torch.tensor(g))
    for c, t in ((cx, tx), (cw, tw), (cb, tb)):
        _same(c.grad, t.grad, rtol=1e-8, atol=1e-10)
    # with other statistics it is evaluation-mode batch norm (running var = invstd^-2 - eps)
    m, inv = RNG.standard_normal(4), RNG.uniform(0.5, 2, 4)
    co = cr.batch_norm_elemt(cx, None, cb, cr.tensor(m), cr.tensor(inv), 1e-3)
    tv = torch.tensor(inv**-2 - 1e-5)
    to = torch.native_batch_norm(tx, None, tb, torch.tensor(m), tv, False, 0.1, 1e-5)[0]
    _same(co, to, rtol=1e-9)


def test_batch_norm_gather_stats_matches_whole_batch():
    """Workers' statistics gathered equal the statistics of their concatenated data, and the
    running statistics move as PyTorch's batch_norm_update_stats over that data."""
    chunks = [RNG.standard_normal((k, 4, 3)) for k in (5, 2, 3)]
    whole = torch.tensor(np.concatenate(chunks))
    rows = [cr.batch_norm_stats(cr.tensor(c), 1e-5) for c in chunks]
    cm, ci = cr.stack([r[0] for r in rows]), cr.stack([r[1] for r in rows])
    counts = cr.tensor([15.0, 6.0, 9.0])
    crm, crv = cr.zeros(4, dtype=cr.float64), cr.ones(4, dtype=cr.float64)
    gm, gi = cr.batch_norm_gather_stats_with_counts(
        cr.tensor(chunks[0]), cm, ci, crm, crv, 0.2, 1e-5, counts
    )
    tm, ti = _stats_ref(whole, 1e-5)
    _same(gm, tm, rtol=1e-9)
    _same(gi, ti, rtol=1e-9)
    trm, trv = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    torch.batch_norm_update_stats(whole, trm, trv, 0.2)
    _same(crm, trm, rtol=1e-9)
    _same(crv, trv, rtol=1e-9)
    # a worker with no data is skipped; equal counts: batch_norm_gather_stats
    pad = (
        cr.cat([cm, cr.full((1, 4), 7.0, dtype=cr.float64)]),
        cr.cat([ci, cr.ones(1, 4, dtype=cr.float64)]),
    )
    gm2, gi2 = cr.batch_norm_gather_stats_with_counts(
        cr.tensor(chunks[0]), *pad, None, None, 0.1, 1e-5, cr.tensor([15.0, 6.0, 9.0, 0.0])
    )
    _same(gm2, tm, rtol=1e-9)
    _same(gi2, ti, rtol=1e-9)
    same = [RNG.standard_normal((2, 4, 3)) for _ in range(3)]
    rows = [cr.batch_norm_stats(cr.tensor(c), 1e-5) for c in same]
    gm3, gi3 = cr.batch_norm_gather_stats(
        cr.tensor(same[0]),
        cr.stack([r[0] for r in rows]),
        cr.stack([r[1] for r in rows]),
        None,
        None,
        0.1,
        1e-5,
        6,
    )
    tm3, ti3 = _stats_ref(torch.tensor(np.concatenate(same)), 1e-5)
    _same(gm3, tm3, rtol=1e-9)
    _same(gi3, ti3, rtol=1e-9)


def test_batch_norm_gather_stats_errors():
    x, m = cr.zeros(2, 4), cr.ones(2, 4, dtype=cr.float64)
    op = cr.batch_norm_gather_stats_with_counts
    for args in [
        (m, m[:, :3], None, None, 0.1, 1e-5, cr.tensor([1.0, 1.0])),
        (m, m, None, None, 0.1, 1e-5, cr.tensor([1.0])),
        (
            m,
            m,
            cr.zeros(3, dtype=cr.float64),
            cr.ones(4, dtype=cr.float64),
            0.1,
            1e-5,
            cr.tensor([1.0, 1.0]),
        ),
        (m, m, cr.zeros(4, dtype=cr.float64), None, 0.1, 1e-5, cr.tensor([1.0, 1.0])),
        (m, m, None, None, 0.1, 1e-5, cr.tensor([0.0, 0.0])),
    ]:
        with pytest.raises(RuntimeError):
            op(x, *args)


@pytest.mark.parametrize("shape", [(3, 4, 5), (6, 4), (1, 4, 1)])
def test_batch_norm_update_stats(shape):
    cx, tx = _pair(RNG.standard_normal(shape))
    crm, trm = _pair(RNG.standard_normal(4))
    crv, trv = _pair(RNG.uniform(0.5, 2, 4))
    for c, t in zip(
        cr.batch_norm_update_stats(cx, crm, crv, 0.3),
        torch.batch_norm_update_stats(tx, trm, trv, 0.3),
        strict=True,
    ):
        _same(c, t)
    _same(crm, trm)
    _same(crv, trv)
    for c, t in zip(
        cr.batch_norm_update_stats(cx, None, None, 0.1),
        torch.batch_norm_update_stats(tx, None, None, 0.1),
        strict=True,
    ):
        _same(c, t)
    for ca, ta in [
        ((cx.float(), crm, crv, 0.1), (tx.float(), trm, trv, 0.1)),
        ((cr.zeros(0, 4), None, None, 0.1), (torch.zeros(0, 4), None, None, 0.1)),
        ((cx.long(), None, None, 0.1), (tx.long(), None, None, 0.1)),
        ((cx.reshape(-1), None, None, 0.1), (tx.reshape(-1), None, None, 0.1)),
    ]:
        _both_raise(
            lambda a=ca: cr.batch_norm_update_stats(*a),
            lambda a=ta: torch.batch_norm_update_stats(*a),
        )
    with pytest.raises(RuntimeError, match="running_mean"):  # PyTorch reads out of bounds
        cr.batch_norm_update_stats(cx, crm[:3], crv, 0.1)


@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_backward_reduce_and_elemt(affine):
    """The two backward kernels give PyTorch's batch-norm input, weight and bias gradients."""
    shape = (3, 4, 5)
    x, g = RNG.standard_normal(shape), RNG.standard_normal(shape)
    w = RNG.standard_normal(4)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    out = torch.native_batch_norm(tx, tw if affine else None, tb, None, None, True, 0.1, 1e-5)[0]
    out.backward(torch.tensor(g))
    cx, cg, cw = cr.tensor(x), cr.tensor(g), cr.tensor(w) if affine else None
    m, inv = cr.batch_norm_stats(cx, 1e-5)
    sum_dy, sum_dy_xmu, gw, gb = cr.batch_norm_backward_reduce(cg, cx, m, inv, cw, True, True, True)
    if affine:
        _same(gw, tw.grad, rtol=1e-9)
    _same(gb, tb.grad, rtol=1e-9)
    count = cr.tensor([10, 5], dtype=cr.int32)  # two workers' element counts
    gi = cr.batch_norm_backward_elemt(cg, cx, m, inv, cw, sum_dy, sum_dy_xmu, count)
    _same(gi, tx.grad, rtol=1e-8, atol=1e-10)
    none = cr.batch_norm_backward_reduce(cg, cx, m, inv, cw, False, False, False)
    assert none == (None, None, None, None)
    part = cr.batch_norm_backward_reduce(cg, cx, m, inv, cw, False, True, False)
    assert part[0] is None and part[1] is None and part[2] is not None and part[3] is None


def test_batch_norm_backward_errors():
    cx, cg, v = (
        cr.zeros(3, 4, 5, dtype=cr.float64),
        cr.ones(3, 4, 5, dtype=cr.float64),
        cr.ones(4, dtype=cr.float64),
    )
    with pytest.raises(RuntimeError):
        cr.batch_norm_backward_reduce(cg[:2], cx, v, v, v, True, True, True)
    with pytest.raises(RuntimeError):
        cr.batch_norm_backward_reduce(cg, cx, v[:3], v, v, True, True, True)
    with pytest.raises(TypeError):
        cr.batch_norm_backward_reduce(cg, cx, v, v, v, 1, True, True)
    cnt = cr.tensor([15], dtype=cr.int32)
    with pytest.raises(RuntimeError):
        cr.batch_norm_backward_elemt(cg, cx, v, v, v, v[:3], v, cnt)
    with pytest.raises(RuntimeError):
        cr.batch_norm_backward_elemt(cg, cx, v, v, v, v, v, cr.tensor([], dtype=cr.int32))
    with pytest.raises(RuntimeError):
        cr.batch_norm_stats(cx[0, 0], 1e-5)
    with pytest.raises(RuntimeError):
        cr.batch_norm_elemt(cx, v[:3], None, v, v, 1e-5)
