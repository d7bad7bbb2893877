"""The remaining torch root functions (session 33): ``native_batch_norm``,
``native_group_norm``, ``native_dropout``, ``native_norm``, ``native_channel_shuffle``,
``conv_tbc`` (``chainrule/nn/native_functions.py``), the SyncBatchNorm kernels
(``chainrule/ops/batch_norm_stats.py``), ``from_file`` and
``func.replace_all_batch_norm_modules_``, against PyTorch: values, gradients, in-place
running statistics and errors. PyTorch's CPU build has only ``batch_norm_update_stats`` of
the SyncBatchNorm kernels, so the others are checked against what its CPU batch norm gives
for the same statistics (``native_batch_norm``'s saved statistics and its autograd)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(33)


def _np(t):
    return t.detach().numpy()


def _same(c, t, rtol=1e-10, atol=1e-12):
    cn, tn = _np(c), _np(t)
    assert cn.shape == tn.shape, (cn.shape, tn.shape)
    assert str(cn.dtype) == str(tn.dtype), (cn.dtype, tn.dtype)
    np.testing.assert_allclose(cn, tn, rtol=rtol, atol=atol, equal_nan=True)


def _pair(a, requires_grad=False):
    a = np.asarray(a)
    return cr.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


def _both_raise(fc, ft, exc=None):
    with pytest.raises(Exception) as te:
        ft()
    with pytest.raises(exc or type(te.value)):
        fc()


NAMES = [
    "native_batch_norm", "native_group_norm", "native_dropout", "native_norm",
    "native_channel_shuffle", "conv_tbc", "batch_norm_stats", "batch_norm_elemt",
    "batch_norm_gather_stats", "batch_norm_gather_stats_with_counts",
    "batch_norm_update_stats", "batch_norm_backward_reduce", "batch_norm_backward_elemt",
    "from_file",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_root_names_resolve(name):
    assert hasattr(torch, name) and callable(getattr(cr, name))


def test_functional_and_func_names():
    assert cr.nn.functional.native_channel_shuffle is cr.native_channel_shuffle
    assert hasattr(torch.nn.functional, "native_channel_shuffle")
    assert callable(cr.func.replace_all_batch_norm_modules_)


# ----------------------------------------------------------------------- native_batch_norm
@pytest.mark.parametrize("shape", [(3, 4, 5), (6, 4), (2, 4, 3, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_native_batch_norm_training(shape, affine):
    x = RNG.standard_normal(shape)
    cx, tx = _pair(x, True)
    cw, tw = _pair(RNG.standard_normal(4), True)
    cb, tb = _pair(RNG.standard_normal(4), True)
    crm, trm = _pair(RNG.standard_normal(4))
    crv, trv = _pair(RNG.uniform(0.5, 2, 4))
    params_c = (cw, cb) if affine else (None, None)
    params_t = (tw, tb) if affine else (None, None)
    co = cr.native_batch_norm(cx, *params_c, crm, crv, True, 0.3, 1e-5)
    to = torch.native_batch_norm(tx, *params_t, trm, trv, True, 0.3, 1e-5)
    assert isinstance(co, tuple) and len(co) == 3
    for c, t in zip(co, to, strict=True):
        _same(c, t, rtol=1e-9)
    assert not co[1].requires_grad and not co[2].requires_grad
    _same(crm, trm)
    _same(crv, trv)
    g = RNG.standard_normal(shape)
    co[0].backward(cr.tensor(g))
    to[0].backward(torch.tensor(g))
    pairs = [(cx, tx)] + ([(cw, tw), (cb, tb)] if affine else [])
    for c, t in pairs:
        _same(c.grad, t.grad, rtol=1e-8, atol=1e-10)


def test_native_batch_norm_without_running_stats_and_eval():
    x = RNG.standard_normal((3, 4, 5))
    cx, tx = _pair(x, True)
    co = cr.native_batch_norm(cx, None, None, None, None, True, 0.1, 1e-5)
    to = torch.native_batch_norm(tx, None, None, None, None, True, 0.1, 1e-5)
    for c, t in zip(co, to, strict=True):
        _same(c, t, rtol=1e-9)
    crm, trm = _pair(RNG.standard_normal(4))
    crv, trv = _pair(RNG.uniform(0.5, 2, 4))
    cw, tw = _pair(RNG.standard_normal(4), True)
    co = cr.native_batch_norm(cx, cw, None, crm, crv, False, 0.1, 1e-3)
    to = torch.native_batch_norm(tx, tw, None, trm, trv, False, 0.1, 1e-3)
    for c, t in zip(co, to, strict=True):
        _same(c, t, rtol=1e-9)
    assert co[1].shape == (0,) and co[2].shape == (0,)
    _same(crm, trm)  # evaluation leaves the running statistics alone
    g = RNG.standard_normal((3, 4, 5))
    co[0].backward(cr.tensor(g))
    to[0].backward(torch.tensor(g))
    _same(cx.grad, tx.grad, rtol=1e-9)
    _same(cw.grad, tw.grad, rtol=1e-9)
    # an empty input in evaluation
    e = np.zeros((0, 4), dtype=np.float32)
    co = cr.native_batch_norm(cr.tensor(e), None, None, crm.float(), crv.float(), False, 0.1, 1e-5)
    assert co[0].shape == (0, 4) and co[1].shape == (0,) and co[0].dtype == cr.float32


def test_native_batch_norm_constant_channel_eps0():
    cx, tx = _pair(np.ones((3, 4)))
    for c, t in zip(
        cr.native_batch_norm(cx, None, None, None, None, True, 0.1, 0.0),
        torch.native_batch_norm(tx, None, None, None, None, True, 0.1, 0.0),
        strict=True,
    ):
        _same(c, t)


def test_native_batch_norm_errors():
    x = RNG.standard_normal((3, 4, 5))
    cx, tx = _pair(x)
    cv, tv = _pair(np.ones(4))
    for args in [
        (None, None, cv, None, True, 0.1, 1e-5),  # only running_mean
        (None, None, None, cv, True, 0.1, 1e-5),
    ]:
        _both_raise(
            lambda a=args: cr.native_batch_norm(cx, *a),
            lambda a=args: torch.native_batch_norm(tx, *[tv if v is cv else v for v in a]),
        )
    _both_raise(
        lambda: cr.native_batch_norm(cx[0, 0], None, None, None, None, True, 0.1, 1e-5),
        lambda: torch.native_batch_norm(tx[0, 0], None, None, None, None, True, 0.1, 1e-5),
    )
    _both_raise(
        lambda: cr.native_batch_norm(cr.zeros(0, 4), None, None, None, None, True, 0.1, 1e-5),
        lambda: torch.native_batch_norm(torch.zeros(0, 4), None, None, None, None, True, 0.1, 1e-5),
    )
    ci, ti = cr.tensor([[1, 2], [3, 4]]), torch.tensor([[1, 2], [3, 4]])
    _both_raise(
        lambda: cr.native_batch_norm(ci, None, None, None, None, True, 0.1, 1e-5),
        lambda: torch.native_batch_norm(ti, None, None, None, None, True, 0.1, 1e-5),
    )
    _both_raise(  # mixed dtypes
        lambda: cr.native_batch_norm(cx.float(), None, None, cv, cv, True, 0.1, 1e-5),
        lambda: torch.native_batch_norm(tx.float(), None, None, tv, tv, True, 0.1, 1e-5),
    )
    _both_raise(
        lambda: cr.native_batch_norm(cx, None, None, None, None, 1, 0.1, 1e-5),
        lambda: torch.native_batch_norm(tx, None, None, None, None, 1, 0.1, 1e-5),
    )
    # where PyTorch reads out of bounds or crashes: clear errors
    with pytest.raises(RuntimeError, match="running_mean and running_var must be given"):
        cr.native_batch_norm(cx, None, None, None, None, False, 0.1, 1e-5)
    with pytest.raises(RuntimeError, match="weight"):
        cr.native_batch_norm(cx, cv[:3], None, None, None, True, 0.1, 1e-5)
    with pytest.raises(RuntimeError, match="running_var"):
        cr.native_batch_norm(cx, None, None, cv, cv[:3], False, 0.1, 1e-5)


# ----------------------------------------------------------------------- native_group_norm
@pytest.mark.parametrize(
    ("shape", "n", "c", "hw", "g"),
    [
        ((2, 6, 5), 2, 6, 5, 3),
        ((2, 6, 5, 1), 2, 6, 5, 2),
        ((2, 30), 2, 6, 5, 3),
        ((60,), 2, 6, 5, 6),
    ],
)
@pytest.mark.parametrize("affine", [True, False])
def test_native_group_norm(shape, n, c, hw, g, affine):
    cx, tx = _pair(RNG.standard_normal(shape), True)
    cw, tw = _pair(RNG.standard_normal(c), True)
    cb, tb = _pair(RNG.standard_normal(c), True)
    pc, pt = ((cw, cb), (tw, tb)) if affine else ((None, None), (None, None))
    co = cr.native_group_norm(cx, *pc, n, c, hw, g, 1e-5)
    to = torch.native_group_norm(tx, *pt, n, c, hw, g, 1e-5)
    for cc, t in zip(co, to, strict=True):
        _same(cc, t, rtol=1e-9)
    gr = RNG.standard_normal(shape)
    co[0].backward(cr.tensor(gr))
    to[0].backward(torch.tensor(gr))
    for cc, t in [(cx, tx)] + ([(cw, tw), (cb, tb)] if affine else []):
        _same(cc.grad, t.grad, rtol=1e-8, atol=1e-10)


def test_native_group_norm_empty_and_errors():
    for shape, args in [((0, 6, 5), (0, 6, 5, 3)), ((2, 6, 0), (2, 6, 0, 3))]:
        co = cr.native_group_norm(cr.zeros(*shape), None, None, *args, 1e-5)
        to = torch.native_group_norm(torch.zeros(*shape), None, None, *args, 1e-5)
        for c, t in zip(co, to, strict=True):
            _same(c, t)
    cx, tx = _pair(RNG.standard_normal((2, 6, 5)))
    cw, tw = _pair(np.ones(3))
    for cargs, targs in [
        ((None, None, 2, 6, 5, 4, 1e-5), (None, None, 2, 6, 5, 4, 1e-5)),
        ((None, None, 2, 6, 5, 0, 1e-5), (None, None, 2, 6, 5, 0, 1e-5)),
        ((None, None, 2, 6, 4, 3, 1e-5), (None, None, 2, 6, 4, 3, 1e-5)),
        ((cw, None, 2, 6, 5, 3, 1e-5), (tw, None, 2, 6, 5, 3, 1e-5)),
        ((None, cw, 2, 6, 5, 3, 1e-5), (None, tw, 2, 6, 5, 3, 1e-5)),
    ]:
        _both_raise(
            lambda a=cargs: cr.native_group_norm(cx, *a),
            lambda a=targs: torch.native_group_norm(tx, *a),
        )
    _both_raise(
        lambda: cr.native_group_norm(cx.long(), None, None, 2, 6, 5, 3, 1e-5),
        lambda: torch.native_group_norm(tx.long(), None, None, 2, 6, 5, 3, 1e-5),
    )


# -------------------------------------------------------------------------- native_dropout
def test_native_dropout_training():
    cr.manual_seed(0)
    cx, tx = _pair(RNG.standard_normal((40, 50)), True)
    out, mask = cr.native_dropout(cx, 0.3, True)
    assert mask.dtype == cr.bool and out.shape == mask.shape == (40, 50)
    m = _np(mask)
    np.testing.assert_allclose(_np(out)[m], _np(cx)[m] / 0.7, rtol=1e-12)
    assert (_np(out)[~m] == 0).all() and 0.6 < m.mean() < 0.8
    out.sum().backward()
    np.testing.assert_allclose(_np(cx.grad), m / 0.7, rtol=1e-12)
    out2, mask2 = cr.native_dropout(cx, 0.3, None)  # None means training
    assert not np.array_equal(_np(mask2), m) or True
    # p = 0 keeps everything, p = 1 drops everything
    for p in (0.0, 1.0, 1):
        co, cm = cr.native_dropout(cx, p, True)
        to, tm = torch.native_dropout(tx, p, True)
        _same(co, to)
        _same(cm, tm)


def test_native_dropout_eval_edges_and_errors():
    cx, tx = _pair(RNG.standard_normal((3, 4)), True)
    for args in [(0.5, False), (-0.5, False)]:
        co, to = cr.native_dropout(cx, *args), torch.native_dropout(tx, *args)
        for c, t in zip(co, to, strict=True):
            _same(c, t)
    ci, ti = _pair(np.arange(6).reshape(2, 3))
    for c, t in zip(
        cr.native_dropout(ci, 0.5, False), torch.native_dropout(ti, 0.5, False), strict=True
    ):
        _same(c, t)
    ce, te = (
        cr.native_dropout(cr.zeros(0, 3), 0.5, True),
        torch.native_dropout(torch.zeros(0, 3), 0.5, True),
    )
    for c, t in zip(ce, te, strict=True):
        _same(c, t)
    _both_raise(
        lambda: cr.native_dropout(cx, 1.5, True), lambda: torch.native_dropout(tx, 1.5, True)
    )
    _both_raise(
        lambda: cr.native_dropout(ci, 0.5, True), lambda: torch.native_dropout(ti, 0.5, True)
    )
    _both_raise(lambda: cr.native_dropout(cx, 0.5), lambda: torch.native_dropout(tx, 0.5))


# ----------------------------------------------------------------------------- native_norm
def _sparse_pair(idx, vals, shape):
    return cr.sparse_coo_tensor(idx, vals, shape), torch.sparse_coo_tensor(
        idx, vals, shape, check_invariants=True
    )


@pytest.mark.parametrize("p", [2, 1, 3.5, 0, float("inf"), float("-inf"), -1])
def test_native_norm_sparse(p):
    cs, ts = _sparse_pair([[0, 1, 1], [2, 0, 1]], [3.0, -4.0, 1.0], (2, 3))
    _same(cr.native_norm(cs, p), torch.native_norm(ts, p), rtol=1e-6)
    cu, tu = _sparse_pair([[0, 0], [2, 2]], [3.0, 4.0], (2, 3))  # duplicates: coalesced
    _same(cr.native_norm(cu, p), torch.native_norm(tu, p), rtol=1e-6)


def test_native_norm_dim_forms_and_errors():
    cs, ts = _sparse_pair([[0, 1, 1], [2, 0, 1]], [3.0, -4.0, 1.0], (2, 3))
    _same(cr.native_norm(cs, 2, [0, 1], False, None), torch.native_norm(ts, 2, [0, 1], False, None))
    _same(cr.native_norm(cs, 2, [], False, None), torch.native_norm(ts, 2, [], False, None))
    for args in [(2, [1], False, None), (2, [0, 1], True, None), (2, [0, 1], False, torch.float64)]:
        cargs = args[:3] + ((cr.float64 if args[3] is not None else None),)
        _both_raise(
            lambda a=cargs: cr.native_norm(cs, *a), lambda a=args: torch.native_norm(ts, *a)
        )
    cx, tx = _pair(np.ones((2, 3)))
    _both_raise(lambda: cr.native_norm(cx), lambda: torch.native_norm(tx))
    ci, ti = _sparse_pair([[0], [1]], [3], (2, 3))
    _both_raise(lambda: cr.native_norm(ci), lambda: torch.native_norm(ti))


# ------------------------------------------------------------------- native_channel_shuffle
@pytest.mark.parametrize(
    ("shape", "groups"), [((1, 6, 2, 2), 2), ((2, 6, 4), 3), ((1, 6, 1, 2, 2), 6), ((0, 6, 2), 3)]
)
def test_native_channel_shuffle(shape, groups):
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    cx, tx = _pair(a, True)
    co, to = cr.native_channel_shuffle(cx, groups), torch.native_channel_shuffle(tx, groups)
    _same(co, to)
    _same(cr.nn.functional.native_channel_shuffle(cx, groups), to)
    ci, ti = _pair(a.astype(np.int64))
    _same(cr.native_channel_shuffle(ci, groups), torch.native_channel_shuffle(ti, groups))


def test_native_channel_shuffle_errors():
    cx, tx = _pair(np.zeros((1, 6, 2, 2)))
    for g in (4, 0, -1, 2.0):
        _both_raise(
            lambda g=g: cr.native_channel_shuffle(cx, g),
            lambda g=g: torch.native_channel_shuffle(tx, g),
        )
    _both_raise(
        lambda: cr.native_channel_shuffle(cx[0, 0], 2),
        lambda: torch.native_channel_shuffle(tx[0, 0], 2),
    )


# -------------------------------------------------------------------------------- conv_tbc
@pytest.mark.parametrize("pad", [0, 1, 2, -1, -2])
def test_conv_tbc(pad):
    cx, tx = _pair(RNG.standard_normal((7, 2, 4)), True)
    cw, tw = _pair(RNG.standard_normal((3, 4, 5)), True)
    cb, tb = _pair(RNG.standard_normal(5), True)
    co, to = cr.conv_tbc(cx, cw, cb, pad), torch.conv_tbc(tx, tw, tb, pad)
    _same(co, to, rtol=1e-9)
    g = RNG.standard_normal(tuple(to.shape))
    co.backward(cr.tensor(g))
    to.backward(torch.tensor(g))
    for c, t in ((cx, tx), (cw, tw), (cb, tb)):
        _same(c.grad, t.grad, rtol=1e-9)


def test_conv_tbc_edges_and_errors():
    cx, tx = _pair(RNG.standard_normal((7, 2, 4)))
    cw, tw = _pair(RNG.standard_normal((3, 4, 5)))
    cb, tb = _pair(RNG.standard_normal(5))
    _same(cr.conv_tbc(cx[:2], cw, cb), torch.conv_tbc(tx[:2], tw, tb))
    _same(cr.conv_tbc(cx, cw[:0], cb), torch.conv_tbc(tx, tw[:0], tb))
    _same(cr.conv_tbc(cx[:, :0], cw, cb, pad=1), torch.conv_tbc(tx[:, :0], tw, tb, pad=1))
    ci, ti = _pair(np.arange(56).reshape(7, 2, 4) % 5)
    cwi, twi = _pair(np.arange(60).reshape(3, 4, 5) % 3 - 1)
    _same(cr.conv_tbc(ci, cwi, cb.long()), torch.conv_tbc(ti, twi, tb.long()))
    for cargs, targs in [
        ((cx[:0], cw, cb), (tx[:0], tw, tb)),
        ((cx, cw, None), (tx, tw, None)),
        ((cx, cw, cb[:3]), (tx, tw, tb[:3])),
        ((cx, cw[:, :3], cb), (tx, tw[:, :3], tb)),
        ((cx[0], cw, cb), (tx[0], tw, tb)),
        ((cx, cw[0], cb), (tx, tw[0], tb)),
        ((cx, cw, cb[None]), (tx, tw, tb[None])),
        ((cx.float(), cw, cb), (tx.float(), tw, tb)),
        ((cx, cw, cb, 1.5), (tx, tw, tb, 1.5)),
    ]:
        _both_raise(lambda a=cargs: cr.conv_tbc(*a), lambda a=targs: torch.conv_tbc(*a))


# --------------------------------------------------------------- replace_all / from_file
def test_replace_all_batch_norm_modules_():
    def build(lib):
        nn = lib.nn
        return nn.Sequential(
            nn.BatchNorm1d(3),
            nn.Sequential(nn.BatchNorm2d(2, affine=False)),
            nn.SyncBatchNorm(2),
            nn.InstanceNorm1d(3, track_running_stats=True),
        )

    cm, tm = build(cr), build(torch)
    assert cr.func.replace_all_batch_norm_modules_(cm) is cm
    torch.func.replace_all_batch_norm_modules_(tm)
    for c, t in zip(cm.modules(), tm.modules(), strict=True):
        assert getattr(c, "track_running_stats", None) == getattr(t, "track_running_stats", None)
        assert [k for k, _ in c.named_buffers(recurse=False)] == [
            k for k, _ in t.named_buffers(recurse=False)
        ]
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    cm[0].eval()  # batch statistics even in eval mode now
    _same(
        cm[0](cr.tensor(x)),
        torch.nn.functional.batch_norm(torch.tensor(x), None, None, training=True),
        rtol=1e-5,
        atol=1e-6,
    )
    with pytest.raises(AttributeError):
        cr.func.replace_all_batch_norm_modules_(3)


def test_from_file(tmp_path):
    f = tmp_path / "data.bin"
    np.arange(10, dtype=np.float32).tofile(f)
    name = str(f)
    for kw in [
        {"size": 10},
        {},
        {"size": 5, "dtype": "float32"},
        {"size": 3, "dtype": "float64"},
        {"size": 40, "dtype": "uint8"},
        {"size": 2, "dtype": "complex64"},
        {"size": 4, "dtype": "bool"},
    ]:
        ckw = {k: getattr(cr, v) if k == "dtype" else v for k, v in kw.items()}
        tkw = {k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()}
        _same(cr.from_file(name, **ckw), torch.from_file(name, **tkw))
    t = cr.from_file(name, False, 10, dtype=cr.float32)  # private: the file is unchanged
    t[0] = 99.0
    assert np.fromfile(f, dtype=np.float32)[0] == 0
    new = tmp_path / "new.bin"  # shared: created at the size asked for
    t = cr.from_file(str(new), True, 4, dtype=cr.float32)
    assert new.stat().st_size == 16 and (_np(t) == 0).all()
    for args, kw in [
        ((name,), {"size": 11, "dtype": "float32"}),
        ((str(tmp_path / "nope.bin"), False, 4), {}),
        ((3, False, 1), {}),
        ((name, 1, 2), {}),
        ((str(tmp_path), False, 1), {}),
    ]:
        ckw = {k: getattr(cr, v) if k == "dtype" else v for k, v in kw.items()}
        tkw = {k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()}
        _both_raise(
            lambda a=args, k=ckw: cr.from_file(*a, **k),
            lambda a=args, k=tkw: torch.from_file(*a, **k),
        )
