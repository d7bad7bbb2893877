"""The root forms of nn functions (``cr.dropout(input, p, train)``, ``cr.kl_div(..., reduction=1)``,
...; ``chainrule/nn/root_forms.py``) against PyTorch's root functions: signatures (ATen's),
values, gradients, the dropout family's statistics and edge cases, and the errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn import root_forms

RNG = np.random.default_rng(0)


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


def _grads_match(c_inputs, t_inputs, c_out, t_out, rtol=1e-9):
    g = RNG.standard_normal(tuple(t_out.shape))
    c_out.backward(cr.tensor(g))
    t_out.backward(torch.tensor(g))
    for c, t in zip(c_inputs, t_inputs, strict=True):
        _same(c.grad, t.grad, rtol=rtol, atol=1e-12)


# ------------------------------------------------------------------------------ signatures
def _aten_names(name):
    packet = getattr(torch.ops.aten, name)
    overload = {"ctc_loss": "IntList", "embedding_bag": "padding_idx"}.get(name, "default")
    schema = getattr(packet, overload)._schema
    return [
        ("input" if a.name == "self" else a.name, a.kwarg_only)
        for a in schema.arguments
        if a.name != "out"
    ]


@pytest.mark.parametrize("name", sorted(root_forms.__all__))
def test_each_root_form_is_public_with_aten_parameters(name):
    fn = getattr(cr, name)
    assert fn is getattr(root_forms, name)
    assert name in cr._root_names.NN_ROOT_FORMS
    params = inspect.signature(fn).parameters.values()
    ours = [(p.name, p.kind is inspect.Parameter.KEYWORD_ONLY) for p in params]
    assert ours == _aten_names(name)


def test_registry_matches_module():
    assert set(root_forms.__all__) == set(cr._root_names.NN_ROOT_FORMS)


# --------------------------------------------------------------------------------- dropout
DROPOUTS = ["dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout"]


@pytest.mark.parametrize("name", DROPOUTS)
def test_dropout_identity_and_p_edges(name):
    x = cr.randn(4, 5, 6)
    assert getattr(cr, name)(x, 0.5, False) is x
    assert getattr(cr, name)(x, 0.0, True) is x
    assert not _np(getattr(cr, name)(x, 1.0, True)).any()  # p == 1: zeros (alpha too)
    for p in (-0.1, 1.5):
        with pytest.raises(RuntimeError, match="between 0 and 1"):
            getattr(cr, name)(x, p, True)
        with pytest.raises(RuntimeError, match="between 0 and 1"):
            getattr(torch, name)(torch.zeros(2, 2), p, True)
    leaf = cr.randn(3, 4, requires_grad=True)
    assert getattr(cr, name + "_")(leaf, 0.5, False) is leaf  # no write: no leaf error
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(cr, name + "_")(leaf, 0.5, True)


@pytest.mark.parametrize("name", ["feature_dropout", "feature_alpha_dropout"])
def test_feature_dropout_needs_two_dims_and_drops_whole_channels(name):
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        getattr(cr, name)(cr.randn(5), 0.5, True)
    for p, train in ((0.5, False), (0.0, True), (1.0, True)):  # as torch: no noise, no check
        assert getattr(cr, name)(cr.randn(5), p, train).shape == (5,)
        assert getattr(torch, name)(torch.randn(5), p, train).shape == (5,)
    cr.manual_seed(1)
    x = cr.tensor(RNG.uniform(1.0, 2.0, (40, 30, 2, 3)))
    y = _np(getattr(cr, name)(x, 0.4, True))
    ratio = y / _np(x)
    # one mask entry per (n, c): for plain dropout the ratio is constant over each channel
    if name == "feature_dropout":
        assert np.allclose(ratio, ratio[..., :1, :1])
        dropped = (ratio[:, :, 0, 0] == 0).mean()
    else:  # alpha: dropped channels are constant (a * alpha' + b), kept ones affine in x
        dropped = np.all(np.isclose(y, y[..., :1, :1]), axis=(2, 3)).mean()
    assert abs(dropped - 0.4) < 0.05


def test_dropout_statistics_and_gradient():
    cr.manual_seed(0)
    x = cr.ones(200, 200, dtype=cr.float64, requires_grad=True)
    y = cr.dropout(x * 1.0, 0.3, True)
    yn = _np(y)
    assert abs((yn == 0).mean() - 0.3) < 0.01
    assert set(np.unique(yn)) <= {0.0, 1.0 / 0.7}
    assert abs(yn.mean() - 1.0) < 0.02
    y.sum().backward()
    np.testing.assert_allclose(_np(x.grad), yn)  # d/dx = mask / (1 - p)


def test_alpha_dropout_keeps_standard_normal_statistics():
    cr.manual_seed(0)
    x = cr.tensor(RNG.standard_normal((400, 400)))
    for name in ("alpha_dropout", "feature_alpha_dropout"):
        y = _np(getattr(cr, name)(x, 0.2, True))
        assert abs(y.mean()) < 0.03 and abs(y.var() - 1.0) < 0.04, name
        t = getattr(torch, name)(torch.tensor(_np(x)), 0.2, True).numpy()
        assert abs(t.mean()) < 0.03 and abs(t.var() - 1.0) < 0.04


@pytest.mark.parametrize("name", DROPOUTS)
def test_dropout_inplace_writes_and_records(name):
    base = cr.randn(6, 7, dtype=cr.float64, requires_grad=True)
    y = base * 1.0
    cr.manual_seed(3)
    out = getattr(cr, name + "_")(y, 0.5, True)
    # the alpha forms write twice (mul_ then add_), as PyTorch's: version 2
    assert out is y and y._version == (2 if "alpha" in name else 1)
    cr.manual_seed(3)
    ref = getattr(cr, name)(base * 1.0, 0.5, True)
    np.testing.assert_array_equal(_np(out), _np(ref))
    out.sum().backward()
    grad = _np(base.grad)
    assert grad.shape == (6, 7) and np.isfinite(grad).all()


# ------------------------------------------------------------------------------------ rrelu
def test_rrelu_generator_is_honoured():
    x = cr.randn(50, 40)
    g1, g2 = cr.Generator().manual_seed(7), cr.Generator().manual_seed(7)
    a, b = cr.rrelu(x, 0.1, 0.3, True, g1), cr.rrelu(x, 0.1, 0.3, True, g2)
    np.testing.assert_array_equal(_np(a), _np(b))
    cr.manual_seed(7)
    np.testing.assert_array_equal(_np(a), _np(cr.nn.functional.rrelu(x, 0.1, 0.3, True)))
    slopes = (_np(a) / _np(x))[_np(x) < 0]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    with pytest.raises(TypeError, match="generator"):
        cr.rrelu(x, 0.1, 0.3, True, torch.Generator())
    with pytest.raises(RuntimeError, match="Lower bound"):
        cr.rrelu(x, 0.3, 0.1, True, g1)


def test_rrelu_eval_and_inplace_match_torch():
    c, t = _pair(RNG.standard_normal((3, 4)), requires_grad=True)
    _same(cr.rrelu(c, 0.2, 0.4), torch.rrelu(t, 0.2, 0.4))
    cy, ty = c * 1.0, t * 1.0
    assert cr.rrelu_(cy, 0.2, 0.4, False, cr.Generator()) is cy
    torch.rrelu_(ty, 0.2, 0.4, False, torch.Generator())
    _grads_match([c], [t], cy, ty)
    y = c * 1.0
    out = cr.rrelu_(y, 0.1, 0.3, True, cr.Generator().manual_seed(0))
    assert out is y and y._version == 1


# -------------------------------------------------------------------- embedding, norms, pad
@pytest.mark.parametrize("padding_idx", [-1, -2, 1, 4, 5])
@pytest.mark.parametrize("scale", [False, True])
def test_embedding_matches_torch(padding_idx, scale):
    (cw, tw) = _pair(RNG.standard_normal((5, 3)), requires_grad=True)
    idx = np.array([[0, 4, 1], [4, 4, 2]])
    cy = cr.embedding(cw, cr.tensor(idx), padding_idx, scale)
    ty = torch.embedding(tw, torch.tensor(idx), padding_idx, scale)
    _same(cy, ty)
    _grads_match([cw], [tw], cy, ty)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("cudnn", [True, False])
def test_batch_norm_matches_torch(training, cudnn):
    (cx, tx) = _pair(RNG.standard_normal((4, 3, 5)), requires_grad=True)
    (cw, tw), (cb, tb) = _pair(RNG.uniform(0.5, 2, 3), True), _pair(RNG.standard_normal(3), True)
    (cm, tm), (cv, tv) = _pair(RNG.standard_normal(3)), _pair(RNG.uniform(0.5, 2, 3))
    cy = cr.batch_norm(cx, cw, cb, cm, cv, training, 0.2, 1e-4, cudnn)
    ty = torch.batch_norm(tx, tw, tb, tm, tv, training, 0.2, 1e-4, cudnn)
    _same(cy, ty)
    _same(cm, tm)
    _same(cv, tv)
    _grads_match([cx, cw, cb], [tx, tw, tb], cy, ty)
    with pytest.raises(TypeError, match="cudnn_enabled"):
        cr.batch_norm(cx, cw, cb, cm, cv, training, 0.2, 1e-4, None)


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_matches_torch(use_input_stats):
    (cx, tx) = _pair(RNG.standard_normal((2, 3, 6)), requires_grad=True)
    (cw, tw), (cb, tb) = _pair(RNG.uniform(0.5, 2, 3), True), _pair(RNG.standard_normal(3), True)
    (cm, tm), (cv, tv) = _pair(RNG.standard_normal(3)), _pair(RNG.uniform(0.5, 2, 3))
    cy = cr.instance_norm(cx, cw, cb, cm, cv, use_input_stats, 0.1, 1e-5, False)
    ty = torch.instance_norm(tx, tw, tb, tm, tv, use_input_stats, 0.1, 1e-5, False)
    _same(cy, ty)
    _same(cm, tm)
    _grads_match([cx, cw, cb], [tx, tw, tb], cy, ty)


@pytest.mark.parametrize("affine", [True, False])
def test_native_layer_norm_matches_torch(affine):
    (cx, tx) = _pair(RNG.standard_normal((2, 3, 4)), requires_grad=True)
    (cw, tw), (cb, tb) = _pair(RNG.standard_normal((3, 4)), True), _pair(RNG.random((3, 4)), True)
    args = (cw, cb) if affine else (None, None)
    targs = (tw, tb) if affine else (None, None)
    co = cr.native_layer_norm(cx, [3, 4], *args, 1e-5)
    to = torch.native_layer_norm(tx, [3, 4], *targs, 1e-5)
    for c, t in zip(co, to, strict=True):
        _same(c, t)
    assert not co[1].requires_grad and not co[2].requires_grad
    _grads_match(
        [cx] + ([cw, cb] if affine else []), [tx] + ([tw, tb] if affine else []), *[co[0], to[0]]
    )


@pytest.mark.parametrize(("pad", "value"), [([1, 2], 0), ([1, -1, 2, 0], 2.5), ([-1, -1], 1)])
def test_constant_pad_nd_matches_torch(pad, value):
    (cx, tx) = _pair(RNG.standard_normal((2, 3, 4)), requires_grad=True)
    cy, ty = cr.constant_pad_nd(cx, pad, value), torch.constant_pad_nd(tx, pad, value)
    _same(cy, ty)
    _grads_match([cx], [tx], cy, ty)


# ----------------------------------------------------------------------------------- losses
def _loss_cases():
    x, y = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
    sign = np.where(RNG.random(4) > 0.5, 1.0, -1.0)
    sign45 = np.where(RNG.random((4, 5)) > 0.5, 1.0, -1.0)
    probs = RNG.dirichlet(np.ones(5), 4)
    return {
        "binary_cross_entropy_with_logits": (
            [x, RNG.random((4, 5))],
            lambda lib, a, b, r: lib.binary_cross_entropy_with_logits(
                a, b, lib.tensor(RNG_W), lib.tensor(RNG_PW), r
            ),
        ),
        "cosine_embedding_loss": (
            [x, y],
            lambda lib, a, b, r: lib.cosine_embedding_loss(a, b, lib.tensor(sign), 0.1, r),
        ),
        "hinge_embedding_loss": (
            [x],
            lambda lib, a, r: lib.hinge_embedding_loss(a, lib.tensor(sign45), 0.7, r),
        ),
        "kl_div": ([x], lambda lib, a, r: lib.kl_div(a.log_softmax(-1), lib.tensor(probs), r)),
        "kl_div_log_target": (
            [x, y],
            lambda lib, a, b, r: lib.kl_div(
                a.log_softmax(-1), b.log_softmax(-1), r, log_target=True
            ),
        ),
        "margin_ranking_loss": (
            [x, y],
            lambda lib, a, b, r: lib.margin_ranking_loss(a, b, lib.tensor(sign45), 0.2, r),
        ),
        "poisson_nll_loss": (
            [x],
            lambda lib, a, r: lib.poisson_nll_loss(
                a, lib.tensor(np.abs(y) * 3), True, True, 1e-8, r
            ),
        ),
        "poisson_nll_loss_rate": (
            [np.abs(x) + 0.1],
            lambda lib, a, r: lib.poisson_nll_loss(a, lib.tensor(np.abs(y)), False, False, 1e-6, r),
        ),
        "triplet_margin_loss": (
            [x, y, RNG.standard_normal((4, 5))],
            lambda lib, a, b, c, r: lib.triplet_margin_loss(a, b, c, 0.5, 1.5, 1e-6, True, r),
        ),
    }


RNG_W, RNG_PW = RNG.uniform(0.5, 2, 5), RNG.uniform(0.5, 2, 5)
LOSSES = _loss_cases()


@pytest.mark.parametrize("reduction", [0, 1, 2])
@pytest.mark.parametrize("case", sorted(LOSSES))
def test_losses_match_torch(case, reduction):
    arrays, call = LOSSES[case]
    pairs = [_pair(a, requires_grad=True) for a in arrays]
    cs, ts = [p[0] for p in pairs], [p[1] for p in pairs]
    cy, ty = call(cr, *cs, reduction), call(torch, *ts, reduction)
    _same(cy, ty)
    _grads_match(cs, ts, cy, ty)


@pytest.mark.parametrize("case", sorted(LOSSES))
def test_losses_reject_an_unknown_reduction(case):
    """Deliberate difference: PyTorch treats 3 or -1 as 0 (none); chainrule raises."""
    arrays, call = LOSSES[case]
    cs = [cr.tensor(a) for a in arrays]
    for bad in (3, -1, "mean", True):
        with pytest.raises(ValueError, match="reduction must be 0"):
            call(cr, *cs, bad)


@pytest.mark.parametrize("reduction", [0, 1, 2])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_ctc_loss_matches_torch(reduction, as_tensor):
    logits = RNG.standard_normal((6, 2, 4))
    (cl, tl) = _pair(logits, requires_grad=True)
    targets = np.array([[1, 2, 1], [3, 3, 0]])
    il, tgl = [6, 5], [3, 2]
    cargs = (cr.tensor(il), cr.tensor(tgl)) if as_tensor else (il, tgl)
    targs = (torch.tensor(il), torch.tensor(tgl)) if as_tensor else (il, tgl)
    cy = cr.ctc_loss(cl.log_softmax(-1), cr.tensor(targets), *cargs, 0, reduction, False)
    ty = torch.ctc_loss(tl.log_softmax(-1), torch.tensor(targets), *targs, 0, reduction, False)
    _same(cy, ty, rtol=1e-8)
    _grads_match([cl], [tl], cy, ty, rtol=1e-7)


# ---------------------------------------------------------------------------------- pooling
@pytest.mark.parametrize("shape", [(2, 3, 10), (3, 7), (1, 2, 5)])
@pytest.mark.parametrize("out", [1, 3, 4, 5])
def test_adaptive_max_pool1d_matches_torch(shape, out):
    (cx, tx) = _pair(RNG.standard_normal(shape), requires_grad=True)
    (cv, ci), (tv, ti) = cr.adaptive_max_pool1d(cx, out), torch.adaptive_max_pool1d(tx, [out])
    _same(cv, tv)
    _same(ci, ti)
    _grads_match([cx], [tx], cv, tv)


def test_adaptive_max_pool1d_ties_nans_and_errors():
    data = np.array([[[1.0, 1.0, 0.0, 2.0, 2.0, np.nan, 3.0]]])
    (cx, tx) = _pair(data, requires_grad=True)
    (cv, ci), (tv, ti) = cr.adaptive_max_pool1d(cx, 3), torch.adaptive_max_pool1d(tx, 3)
    _same(cv, tv)
    _same(ci, ti)
    cv.sum().backward()
    tv.sum().backward()
    _same(cx.grad, tx.grad)
    with pytest.raises(RuntimeError):
        cr.adaptive_max_pool1d(cr.randn(4), 2)
    for lib in (cr, torch):  # an empty output is allowed, as torch's
        values, indices = lib.adaptive_max_pool1d(lib.randn(2, 4), 0)
        assert tuple(values.shape) == tuple(indices.shape) == (2, 0)


@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 3},
        {"kernel_size": [2], "stride": [], "padding": [1]},
        {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True},
    ],
)
def test_max_pool1d_with_indices_matches_torch(kw):
    (cx, tx) = _pair(RNG.standard_normal((2, 3, 11)), requires_grad=True)
    (cv, ci), (tv, ti) = (
        cr.max_pool1d_with_indices(cx, **kw),
        torch.max_pool1d_with_indices(tx, **kw),
    )
    _same(cv, tv)
    _same(ci, ti)
    _grads_match([cx], [tx], cv, tv)


# ----------------------------------------------------------------------------- embedding_bag
@pytest.mark.parametrize("mode", [1, 2])
@pytest.mark.parametrize(("include_last", "padding_idx"), [(False, None), (True, None), (False, 2)])
def test_embedding_bag_matches_torch(mode, include_last, padding_idx):
    (cw, tw) = _pair(RNG.standard_normal((6, 3)), requires_grad=True)
    idx, off = np.array([0, 2, 4, 5, 4, 3, 2, 1]), np.array([0, 3, 3, 6])
    if include_last:  # the last offset ends the last bag: the whole input, well-formed
        off = np.array([0, 3, 3, 8])
    co = cr.embedding_bag(
        cw, cr.tensor(idx), cr.tensor(off), False, mode, False, None, include_last, padding_idx
    )
    to = torch.embedding_bag(
        tw, torch.tensor(idx), torch.tensor(off), False, mode, False, None, include_last,
        padding_idx,
    )  # fmt: skip
    for c, t in zip(co, to, strict=True):
        _same(c, t)
    _grads_match([cw], [tw], co[0], to[0])


def test_embedding_bag_sum_mode_is_not_mirrored():
    w = cr.randn(6, 3)
    with pytest.raises(NotImplementedError, match="fast path"):
        cr.embedding_bag(w, cr.tensor([0, 1]), cr.tensor([0]))
    with pytest.raises(ValueError, match="mode"):
        cr.embedding_bag(w, cr.tensor([0, 1]), cr.tensor([0]), False, 3)
