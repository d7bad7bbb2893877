"""More pooling and dropout against PyTorch (float64): ``adaptive_max_pool1d`` and the
``*_with_indices`` forms, ``max_unpool3d``, ``lp_pool3d``, fractional max pooling (the same
``_random_samples`` given to both libraries: exact values, indices and gradients) and
``feature_alpha_dropout``, with their layers. Gradient checks of every order are in the op
specs (tests/ops/op_specs_nn_more.py)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

from ._helpers import close

TF = torch.nn.functional


def _leaves(arr):
    return cr.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


def _same_grad(yc, yt, xc, xt, seed=1):
    g = (
        np.random.default_rng(seed)
        .standard_normal(tuple(yt.shape))
        .astype(yt.detach().numpy().dtype)
    )
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    close(xc.grad, xt.grad)


def _eq_idx(ic, it):
    np.testing.assert_array_equal(ic.numpy(), it.numpy())
    assert ic.dtype == np.int64


@pytest.mark.parametrize(
    "name,cls",
    [
        ("adaptive_max_pool1d", "AdaptiveMaxPool1d"),
        ("max_unpool3d", "MaxUnpool3d"),
        ("lp_pool3d", "LPPool3d"),
        ("fractional_max_pool2d_with_indices", "FractionalMaxPool2d"),
        ("fractional_max_pool3d_with_indices", "FractionalMaxPool3d"),
        ("feature_alpha_dropout", "FeatureAlphaDropout"),
        ("max_pool2d_with_indices", None),
        ("adaptive_max_pool3d_with_indices", None),
    ],
)
def test_signatures_match_torch(name, cls):
    def params(f, drop=()):
        sig = inspect.signature(f)
        return [(p.name, p.default) for p in sig.parameters.values() if p.name not in drop]

    # boolean_dispatch makes PyTorch's plain name (*args, **kwargs): its _with_indices half
    # carries the signature
    theirs = getattr(TF, name)
    if name in ("adaptive_max_pool1d",):
        theirs = getattr(TF, name + "_with_indices")
    assert params(getattr(F, name), ("generator",)) == params(theirs)
    if cls:
        assert params(getattr(cr.nn, cls).__init__) == params(getattr(torch.nn, cls).__init__)


# ----------------------------------------------------------------------------- adaptive max
@pytest.mark.parametrize(
    "shape,size", [((2, 3, 7), 3), ((3, 8), 5), ((2, 2, 9), (4,)), ((1, 2, 5), 5), ((1, 1, 4), 1)]
)
def test_adaptive_max_pool1d(shape, size):
    xc, xt = _leaves(np.random.default_rng(0).standard_normal(shape))
    oc, ic = F.adaptive_max_pool1d(xc, size, return_indices=True)
    ot, it = TF.adaptive_max_pool1d(xt, size, return_indices=True)
    close(oc, ot)
    _eq_idx(ic, it)
    close(F.adaptive_max_pool1d(xc, size), ot)
    _same_grad(oc, ot, xc, xt)
    m, mt = cr.nn.AdaptiveMaxPool1d(size, True), torch.nn.AdaptiveMaxPool1d(size, True)
    close(m(xc)[0], mt(xt)[0])
    assert repr(m) == repr(mt)


def test_adaptive_max_nan_and_ties_pick_like_torch():
    arr = np.array([[[1.0, 3.0, 3.0, np.nan, 2.0, np.nan, 0.0, 5.0, 5.0]]])
    for size in (1, 2, 3, 4):
        oc, ic = F.adaptive_max_pool1d(cr.tensor(arr), size, True)
        ot, it = TF.adaptive_max_pool1d(torch.tensor(arr), size, True)
        np.testing.assert_array_equal(oc.numpy(), ot.numpy())
        _eq_idx(ic, it)


@pytest.mark.parametrize(
    "shape,size", [((2, 3, 7, 5), (3, 2)), ((3, 6, 6), 4), ((1, 2, 8, 5), (4, None))]
)
def test_adaptive_max_pool2d_with_indices_any_size(shape, size):
    xc, xt = _leaves(np.random.default_rng(2).standard_normal(shape))
    oc, ic = F.adaptive_max_pool2d_with_indices(xc, size)
    ot, it = TF.adaptive_max_pool2d_with_indices(xt, size)
    close(oc, ot)
    _eq_idx(ic, it)
    _same_grad(oc, ot, xc, xt)


def test_with_indices_aliases_always_return_pairs():
    rng = np.random.default_rng(3)
    for nd, shape in ((1, (2, 3, 9)), (2, (2, 3, 7, 8)), (3, (1, 2, 5, 6, 5))):
        xc, xt = _leaves(rng.standard_normal(shape))
        fc, ft = (
            getattr(F, f"max_pool{nd}d_with_indices"),
            getattr(TF, f"max_pool{nd}d_with_indices"),
        )
        (oc, ic), (ot, it) = fc(xc, 3, 2, 1), ft(xt, 3, 2, 1)
        close(oc, ot)
        _eq_idx(ic, it)
        fc = getattr(F, f"adaptive_max_pool{nd}d_with_indices")
        ft = getattr(TF, f"adaptive_max_pool{nd}d_with_indices")
        (oc, ic), (ot, it) = fc(xc, 2), ft(xt, 2)
        close(oc, ot)
        _eq_idx(ic, it)


def test_adaptive_max_pool1d_bad_inputs():
    x = cr.randn(2, 3, 7)
    with pytest.raises(RuntimeError, match="adaptive_max_pool1d"):
        F.adaptive_max_pool1d(x, (2, 2))
    with pytest.raises(TypeError, match="output_size"):
        F.adaptive_max_pool1d(x, None)
    with pytest.raises(RuntimeError, match="non-zero size"):
        F.adaptive_max_pool1d(cr.randn(2, 3, 0), 2)
    with pytest.raises(RuntimeError, match="2D or 3D"):
        F.adaptive_max_pool1d(cr.randn(7), 2)
    with pytest.raises(NotImplementedError, match="int64"):
        F.adaptive_max_pool1d(cr.ones(2, 3, 4, dtype=cr.int64), 2)
    assert F.adaptive_max_pool1d(cr.randn(0, 3, 4), 2).shape == (0, 3, 2)


# ----------------------------------------------------------------------------- unpool, lp
def test_max_unpool3d_roundtrip_and_layer():
    xt = torch.tensor(np.random.default_rng(4).standard_normal((2, 3, 4, 6, 4)))
    pt, it = TF.max_pool3d(xt, 2, return_indices=True)
    pc, ic = _leaves(pt.detach().numpy())
    idx = cr.tensor(it.numpy())
    close(F.max_unpool3d(pc, idx, 2), TF.max_unpool3d(ic, it, 2))
    uc = cr.nn.MaxUnpool3d(2)(pc, idx, output_size=(5, 7, 5))
    ut = torch.nn.MaxUnpool3d(2)(ic, it, output_size=(5, 7, 5))
    close(uc, ut)
    _same_grad(uc, ut, pc, ic)
    close(F.max_unpool3d(pc[0], idx[0], 2), TF.max_unpool3d(ic[0], it[0], 2))  # unbatched
    assert repr(cr.nn.MaxUnpool3d(2, 1)) == repr(torch.nn.MaxUnpool3d(2, 1))


def test_max_unpool3d_bad_inputs():
    x, idx = cr.randn(1, 1, 2, 2, 2), cr.zeros(1, 1, 2, 2, 2, dtype=cr.int64)
    with pytest.raises(RuntimeError, match="4d or 5d"):
        F.max_unpool3d(x[0, 0], idx[0, 0], 2)
    with pytest.raises(RuntimeError, match="int64"):
        F.max_unpool3d(x, idx.to(cr.int32), 2)
    with pytest.raises(RuntimeError, match="invalid max index 64"):
        F.max_unpool3d(x, idx + 64, 2)
    with pytest.raises(RuntimeError, match="shape of indices"):
        F.max_unpool3d(x, idx[..., :1], 2)
    with pytest.raises(ValueError, match="output_size"):
        F.max_unpool3d(x, idx, 2, output_size=(9, 4, 4))


@pytest.mark.parametrize(
    "p,k,s,ceil", [(2, 2, None, False), (2, (2, 3, 2), 1, True), (1.5, 2, (1, 2, 1), False)]
)
def test_lp_pool3d_matches_torch(p, k, s, ceil):
    xc, xt = _leaves(np.abs(np.random.default_rng(5).standard_normal((2, 2, 5, 6, 5))) + 0.1)
    yc, yt = F.lp_pool3d(xc, p, k, s, ceil), TF.lp_pool3d(xt, p, k, s, ceil)
    close(yc, yt)
    _same_grad(yc, yt, xc, xt)
    m, mt = cr.nn.LPPool3d(p, k, s, ceil), torch.nn.LPPool3d(p, k, s, ceil)
    close(m(xc), mt(xt))
    assert repr(m) == repr(mt)


def test_lp_pool3d_inf_and_errors():
    xc, xt = _leaves(np.random.default_rng(6).standard_normal((1, 2, 4, 4, 4)))
    close(F.lp_pool3d(xc, float("inf"), 2), TF.lp_pool3d(xt, float("inf"), 2))
    close(F.lp_pool3d(xc, -float("inf"), 2), TF.lp_pool3d(xt, -float("inf"), 2))
    with pytest.raises(ValueError, match="kernel_size"):
        F.lp_pool3d(xc, 2, (2, 2))
    with pytest.raises(ZeroDivisionError):
        F.lp_pool3d(xc, 0, 2)
    with pytest.raises(RuntimeError, match="lp_pool3d"):
        F.lp_pool3d(xc, 2, 5)


# ----------------------------------------------------------------------------- fractional
_FRAC2D = [
    ((2, 3, 9, 11), 2, (4, 5), None),
    ((3, 10, 10), 3, None, (0.5, 0.6)),
    ((2, 2, 13, 7), (3, 2), (5, 6), None),
    ((1, 2, 6, 6), 2, (5, 5), None),
    ((2, 2, 7, 8), 2, (1, 1), None),
]
_FRAC3D = [
    ((2, 3, 9, 11, 6), 2, (4, 5, 3), None),
    ((3, 10, 10, 8), 3, None, (0.5, 0.6, 0.5)),
    ((2, 2, 13, 8, 6), (3, 2, 2), (5, 6, 4), None),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("nd,case", [(2, c) for c in _FRAC2D] + [(3, c) for c in _FRAC3D])
def test_fractional_max_pool_exact_vs_torch(nd, case, dtype):
    shape, k, size, ratio = case
    rng = np.random.default_rng(7)
    xc, xt = _leaves(rng.standard_normal(shape).astype(dtype))
    n = 1 if len(shape) == nd + 1 else shape[0]
    u = rng.random((n, shape[-nd - 1], nd)).astype(dtype)
    fc, ft = getattr(F, f"fractional_max_pool{nd}d"), getattr(TF, f"fractional_max_pool{nd}d")
    oc, ic = fc(xc, k, size, ratio, True, cr.tensor(u))
    ot, it = ft(xt, k, size, ratio, True, torch.tensor(u))
    np.testing.assert_array_equal(oc.detach().numpy(), ot.detach().numpy())
    _eq_idx(ic, it)
    assert oc.dtype == np.dtype(dtype)
    _same_grad(oc, ot, xc, xt)
    layer = getattr(cr.nn, f"FractionalMaxPool{nd}d")
    tlayer = getattr(torch.nn, f"FractionalMaxPool{nd}d")
    m = layer(k, size, ratio, _random_samples=cr.tensor(u))
    mt = tlayer(k, size, ratio, _random_samples=torch.tensor(u))
    np.testing.assert_array_equal(m(xc).detach().numpy(), mt(xt).detach().numpy())
    assert list(dict(m.named_buffers())) == list(dict(mt.named_buffers())) == ["_random_samples"]
    assert repr(m) == repr(mt)


def test_fractional_nan_window_picks_like_torch():
    arr = np.random.default_rng(8).standard_normal((1, 2, 7, 7))
    arr[0, 0, 2, 3] = arr[0, 1, 5, 5] = arr[0, 1, 5, 6] = np.nan
    u = np.random.default_rng(9).random((1, 2, 2))
    oc, ic = F.fractional_max_pool2d(cr.tensor(arr), 2, 4, None, True, cr.tensor(u))
    ot, it = TF.fractional_max_pool2d(torch.tensor(arr), 2, 4, None, True, torch.tensor(u))
    np.testing.assert_array_equal(oc.numpy(), ot.numpy())
    _eq_idx(ic, it)


def test_fractional_samples_from_chainrule_generator():
    x = cr.randn(2, 3, 9, 9)
    cr.manual_seed(3)
    a, ia = F.fractional_max_pool2d(x, 2, output_ratio=0.5, return_indices=True)
    cr.manual_seed(3)
    b = cr.nn.FractionalMaxPool2d(2, output_ratio=0.5)(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.shape == (2, 3, 4, 4)
    # each output is the maximum of the 2x2 window starting where its index says
    xs, ii = x.numpy(), ia.numpy()
    for n, c, i, j in np.ndindex(*a.shape):
        r, q = divmod(int(ii[n, c, i, j]), 9)
        assert a.numpy()[n, c, i, j] == xs[n, c, r, q]
    c = F.fractional_max_pool3d(cr.randn(3, 6, 6, 6), 2, output_size=3)
    assert c.shape == (3, 3, 3, 3)


def test_fractional_bad_inputs():
    x = cr.randn(2, 3, 7, 9)
    u = cr.rand(2, 3, 2, dtype=cr.float64)
    with pytest.raises(ValueError, match="output_size or an output_ratio"):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(RuntimeError, match="pool height 2 too large relative to input height 7"):
        F.fractional_max_pool2d(x, 2, output_size=(8, 9))
    with pytest.raises(RuntimeError, match="pool time 2 too large"):  # 3-D: strict bound
        F.fractional_max_pool3d(cr.randn(1, 1, 8, 8, 8), 2, (7, 6, 6))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.fractional_max_pool2d(x, 2, 3, _random_samples=u)
    with pytest.raises(RuntimeError, match="size\\(2\\) equals to 2"):
        F.fractional_max_pool2d(x, 2, 3, _random_samples=cr.rand(2, 3, 3))
    with pytest.raises(RuntimeError, match="no less then input batch size"):
        F.fractional_max_pool2d(x, 2, 3, _random_samples=cr.rand(1, 3, 2))
    with pytest.raises(RuntimeError, match="single Int or tuple"):
        F.fractional_max_pool2d(x, (2, 2, 2), 3)
    with pytest.raises(NotImplementedError, match="int64"):
        F.fractional_max_pool2d(cr.ones(1, 1, 5, 5, dtype=cr.int64), 2, 3)
    with pytest.raises(ValueError, match="either an output size, or a pooling ratio"):
        cr.nn.FractionalMaxPool2d(2)
    with pytest.raises(ValueError, match="only one of"):
        cr.nn.FractionalMaxPool3d(2, output_size=3, output_ratio=0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        cr.nn.FractionalMaxPool2d(2, output_ratio=1.0)
    with pytest.raises(ValueError, match="greater than 0"):
        cr.nn.FractionalMaxPool3d(0, output_size=2)


# ----------------------------------------------------------------------------- dropout
_ALPHA = 1.7580993408473766


def test_feature_alpha_dropout_formula_per_channel():
    x = cr.randn(8, 16, 3, 4, dtype=cr.float64, requires_grad=True)
    p = 0.3
    y = F.feature_alpha_dropout(x, p, training=True)
    a = 1.0 / np.sqrt((_ALPHA**2 * p + 1) * (1 - p))
    xs, ys = x.detach().numpy(), y.detach().numpy()
    kept = np.isclose(ys, a * xs + a * _ALPHA * p).all(axis=(2, 3))
    dropped = np.isclose(ys, a * _ALPHA * (p - 1)).all(axis=(2, 3))
    assert (kept ^ dropped).all()  # every channel entirely kept or entirely dropped
    assert 0 < dropped.sum() < dropped.size
    y.sum().backward()
    expect = np.where(kept[:, :, None, None], a, 0.0) * np.ones_like(xs)
    np.testing.assert_allclose(x.grad.numpy(), expect)


def test_feature_alpha_dropout_keeps_selu_statistics():
    cr.manual_seed(0)
    x = cr.randn(4000, 50, 3, dtype=cr.float64)
    y = F.feature_alpha_dropout(x, 0.2, True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1.0) < 0.02
    cr.manual_seed(0)
    x2 = cr.randn(4000, 50, 3, dtype=cr.float64)
    np.testing.assert_array_equal(F.feature_alpha_dropout(x2, 0.2, True).numpy(), y)


def test_feature_alpha_dropout_modes_edges_and_errors():
    x = cr.randn(3, 4, 5)
    assert F.feature_alpha_dropout(x, 0.5, training=False) is x
    assert F.feature_alpha_dropout(x, 0.0, training=True) is x
    np.testing.assert_array_equal(F.feature_alpha_dropout(x, 1.0, True).numpy(), 0.0)
    t = torch.randn(3, 4, 5)
    assert (TF.feature_alpha_dropout(t, 1.0, True) == 0).all()
    z = x * 1.0
    out = F.feature_alpha_dropout(z, 0.5, True, inplace=True)
    assert out is z and not np.array_equal(z.numpy(), x.numpy())
    empty = cr.randn(0, 3)
    assert F.feature_alpha_dropout(empty, 0.5, True) is empty
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        F.feature_alpha_dropout(x, 1.5, True)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        F.feature_alpha_dropout(cr.randn(3), 0.5, True)
    with pytest.raises(RuntimeError, match="can't be cast"):
        F.feature_alpha_dropout(cr.ones(3, 4, dtype=cr.int64), 0.5, True)
    m, mt = cr.nn.FeatureAlphaDropout(0.2), torch.nn.FeatureAlphaDropout(0.2)
    assert repr(m) == repr(mt)
    m.eval()
    assert m(x) is x
    m.train()
    assert m(x).shape == x.shape
    with pytest.raises(ValueError, match="between 0 and 1"):
        cr.nn.FeatureAlphaDropout(-0.1)


def test_fractional_scalar_output_ratio_is_accepted():
    # PyTorch 2.13's functional raises TypeError (len() of a float) for a scalar ratio, against
    # its docs; its layer pairs the number first. chainrule's functional accepts it.
    arr = np.random.default_rng(10).standard_normal((2, 3, 9, 8))
    u = np.random.default_rng(11).random((2, 3, 2))
    with pytest.raises(TypeError):
        TF.fractional_max_pool2d(torch.tensor(arr), 2, output_ratio=0.5)
    got = F.fractional_max_pool2d(cr.tensor(arr), 2, output_ratio=0.5, _random_samples=cr.tensor(u))
    want = TF.fractional_max_pool2d(
        torch.tensor(arr), 2, output_ratio=(0.5, 0.5), _random_samples=torch.tensor(u)
    )
    np.testing.assert_array_equal(got.numpy(), want.numpy())
