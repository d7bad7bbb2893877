"""Fold/Unfold, MaxUnpool1d/2d, LPPool1d/2d and ChannelShuffle (functions and modules) against
PyTorch in float64: values, gradients, reprs, import paths and bad inputs."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

from ._helpers import close, pair


def _backward_both(yc, yt, seed=1):
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape))
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))


def _raise_alike(fc, ft, word):
    """Both calls raise; chainrule's error is an instance of PyTorch's class and names ``word``."""
    with pytest.raises(Exception) as te:
        ft()
    with pytest.raises(type(te.value)) as ce:
        fc()
    assert word in str(ce.value), str(ce.value)


# ----------------------------------------------------------------------------- module basics
MODULES = [
    ("Fold", ((4, 5), 2), dict(dilation=1, padding=1, stride=2)),
    ("Unfold", ((2, 3),), dict(dilation=(1, 2), padding=1, stride=(2, 1))),
    ("MaxUnpool1d", (3,), dict(stride=2, padding=1)),
    ("MaxUnpool2d", ((2, 3),), dict(padding=(1, 0))),
    ("MaxUnpool2d", (2,), dict()),
    ("LPPool1d", (2, 3), dict(stride=2)),
    ("LPPool2d", (1.5, (2, 3)), dict(ceil_mode=True)),
    ("LPPool2d", (float("inf"), 2), dict()),
    ("ChannelShuffle", (3,), dict()),
]


@pytest.mark.parametrize("name, args, kwargs", MODULES, ids=[m[0] for m in MODULES])
def test_repr_attributes_and_empty_state_dict_match_torch(name, args, kwargs):
    ours, theirs = getattr(cr.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    for attr in ("kernel_size", "stride", "padding", "dilation", "norm_type", "groups"):
        if hasattr(theirs, attr):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert list(ours.state_dict()) == [] == list(theirs.state_dict())


@pytest.mark.parametrize(
    "path, names",
    [
        ("fold", ["Fold", "Unfold"]),
        ("channelshuffle", ["ChannelShuffle"]),
        ("pooling", ["MaxUnpool1d", "MaxUnpool2d", "LPPool1d", "LPPool2d"]),
    ],
)
def test_torch_module_paths(path, names):
    ours = importlib.import_module(f"chainrule.nn.modules.{path}")
    theirs = importlib.import_module(f"torch.nn.modules.{path}")
    for n in names:
        assert getattr(ours, n) is getattr(cr.nn, n)
        assert n in ours.__all__ and hasattr(theirs, n)


# ----------------------------------------------------------------------------- Fold / Unfold
def test_fold_and_unfold_modules_match_torch_and_are_adjoint():
    xc, xt = pair(2, 3, 5, 6)
    kw = dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    uc, ut = cr.nn.Unfold(**kw)(xc), torch.nn.Unfold(**kw)(xt)
    close(uc, ut)
    fc, ft = cr.nn.Fold((5, 6), **kw)(uc), torch.nn.Fold((5, 6), **kw)(ut)
    close(fc, ft)
    _backward_both(fc, ft)
    close(xc.grad, xt.grad)


def test_fold_module_rejects_a_bad_block_count_like_torch():
    cols = np.zeros((1, 12, 7))
    _raise_alike(
        lambda: cr.nn.Fold((4, 5), 2, padding=1, stride=2)(cr.tensor(cols)),
        lambda: torch.nn.Fold((4, 5), 2, padding=1, stride=2)(torch.tensor(cols)),
        "sliding blocks 3 * 3 = 9, but got input.size(2)=7.",  # PyTorch's text (session 41)
    )


# ----------------------------------------------------------------------------- MaxUnpool
UNPOOL2D = [
    (dict(kernel_size=2), (2, 3, 6, 6), None),
    (dict(kernel_size=3, stride=2, padding=1), (2, 3, 5, 6), (5, 6)),
    (dict(kernel_size=(2, 3), stride=(1, 2)), (1, 2, 5, 7), (1, 2, 5, 7)),
]


@pytest.mark.parametrize("kw, shape, output_size", UNPOOL2D)
def test_max_unpool2d_inverts_max_pool2d_like_torch(kw, shape, output_size):
    a = np.random.default_rng(3).standard_normal(shape)
    pc, ic = F.max_pool2d(cr.tensor(a), return_indices=True, **kw)
    pt, it = torch.nn.functional.max_pool2d(torch.tensor(a), return_indices=True, **kw)
    np.testing.assert_array_equal(ic.data, it.numpy())  # chainrule's indices are torch's
    vc, vt = pair(*pt.shape, seed=4)
    yc = cr.nn.MaxUnpool2d(**kw)(vc, ic, output_size)
    yt = torch.nn.MaxUnpool2d(**kw)(vt, it, output_size)
    close(yc, yt)
    _backward_both(yc, yt)
    close(vc.grad, vt.grad)
    # unbatched input; the pooled values land back on the maxima
    back = F.max_unpool2d(pc[0], ic[0], **kw, output_size=output_size)
    close(back, torch.nn.functional.max_unpool2d(pt[0], it[0], **kw, output_size=output_size))
    kept = back.data != 0
    np.testing.assert_array_equal(back.data[kept], a[0][kept[..., : a.shape[2], : a.shape[3]]])


@pytest.mark.parametrize(
    "kw, length", [(dict(kernel_size=2), 8), (dict(kernel_size=3, stride=2, padding=1), 9)]
)
def test_max_unpool1d_matches_torch(kw, length):
    a = np.random.default_rng(5).standard_normal((2, 3, length))
    _, ic = F.max_pool1d(cr.tensor(a), return_indices=True, **kw)
    pt, it = torch.nn.functional.max_pool1d(torch.tensor(a), return_indices=True, **kw)
    np.testing.assert_array_equal(ic.data, it.numpy())
    vc, vt = pair(*pt.shape, seed=6)
    for output_size in (None, [length], (2, 3, length)):
        yc = cr.nn.MaxUnpool1d(**kw)(vc, ic, output_size)
        yt = torch.nn.MaxUnpool1d(**kw)(vt, it, output_size)
        close(yc, yt)
    _backward_both(yc, yt)
    close(vc.grad, vt.grad)
    close(F.max_unpool1d(vc[0], ic[0], **kw), torch.nn.functional.max_unpool1d(vt[0], it[0], **kw))


def _unpool_case():
    a = np.random.default_rng(7).standard_normal((1, 2, 4, 4))
    pt, it = torch.nn.functional.max_pool2d(torch.tensor(a), 2, return_indices=True)
    return pt.numpy(), it.numpy()


BAD_UNPOOL = [
    ("int32 indices", lambda v, i, m: m.max_unpool2d(v, i.to(m_int32(m)), 2)),
    ("shape mismatch", lambda v, i, m: m.max_unpool2d(v, i[:, :1], 2)),
    ("index too big", lambda v, i, m: m.max_unpool2d(v, i + 16, 2)),
    ("negative index", lambda v, i, m: m.max_unpool2d(v, i - 16, 2)),
    ("2-d input", lambda v, i, m: m.max_unpool2d(v[0, 0], i[0, 0], 2)),
    ("5-d input", lambda v, i, m: m.max_unpool2d(v[None], i[None], 2)),
    ("output_size length", lambda v, i, m: m.max_unpool2d(v, i, 2, output_size=(4,))),
    ("output_size range", lambda v, i, m: m.max_unpool2d(v, i, 2, output_size=(6, 4))),
    ("negative size", lambda v, i, m: m.max_unpool2d(v, i, 2, padding=3)),
    ("empty plane", lambda v, i, m: m.max_unpool2d(v[:, :, :0], i[:, :, :0], 2)),
    ("1-d input to 1d", lambda v, i, m: m.max_unpool1d(v[0, 0, 0], i[0, 0, 0], 2)),
    ("1d output_size range", lambda v, i, m: m.max_unpool1d(v[0], i[0], 2, output_size=(9,))),
]


def m_int32(m):
    return cr.int32 if m is F else torch.int32


@pytest.mark.parametrize("label, call", BAD_UNPOOL, ids=[b[0] for b in BAD_UNPOOL])
def test_max_unpool_bad_inputs_raise_like_torch(label, call):
    v, i = _unpool_case()
    _raise_alike(
        lambda: call(cr.tensor(v), cr.tensor(i), F),
        lambda: call(torch.tensor(v), torch.tensor(i), torch.nn.functional),
        "max_unpool",
    )


def test_max_unpool_integer_values_are_not_implemented_like_torch():
    v, i = _unpool_case()
    _raise_alike(
        lambda: F.max_unpool2d(cr.tensor(v.astype(np.int64)), cr.tensor(i), 2),
        lambda: torch.nn.functional.max_unpool2d(
            torch.tensor(v.astype(np.int64)), torch.tensor(i), 2
        ),
        "max_unpool2d",
    )


def test_max_unpool_empty_batch_and_duplicate_indices():
    v, i = _unpool_case()
    out = F.max_unpool2d(cr.tensor(v[:0]), cr.tensor(i[:0]), 2)
    assert out.shape == (0, 2, 4, 4)
    # a repeated index: both inputs read the output's gradient there (a gather, as PyTorch)
    vc, vt = pair(1, 1, 2)
    idx = np.array([[[3, 3]]])
    yc = F.max_unpool1d(vc, cr.tensor(idx), 2)
    yt = torch.nn.functional.max_unpool1d(vt, torch.tensor(idx), 2)
    assert yc.shape == tuple(yt.shape) == (1, 1, 4)
    _backward_both(yc, yt)
    close(vc.grad, vt.grad)


# ----------------------------------------------------------------------------- LPPool
LP2D = [
    (2, (2, 3), None, False),
    (2, 2, 1, True),
    (3.0, (2, 3), (2, 1), True),
    (1, 3, 2, False),
    (-1, 2, None, False),
    (float("inf"), 2, 1, False),
    (-float("inf"), (2, 3), None, True),
]


@pytest.mark.parametrize("p, k, s, ceil", LP2D)
def test_lp_pool2d_values_and_gradients_match_torch(p, k, s, ceil):
    a = np.abs(np.random.default_rng(8).standard_normal((2, 3, 5, 6))) + 0.1
    xc, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    yc = cr.nn.LPPool2d(p, k, s, ceil)(xc)
    yt = torch.nn.LPPool2d(p, k, s, ceil)(xt)
    close(yc, yt)
    _backward_both(yc, yt)
    close(xc.grad, xt.grad)


@pytest.mark.parametrize(
    "p, k, s, ceil", [(2, 3, None, False), (3, 2, 1, True), (math.inf, 3, 2, True)]
)
def test_lp_pool1d_values_and_gradients_match_torch(p, k, s, ceil):
    for shape in ((2, 3, 8), (3, 8)):
        xc, xt = pair(*shape, seed=9)
        if p == 3:  # odd power: keep the window sums positive (a negative one has no 1/3 root)
            xc, xt = pair(*shape, seed=9)
            xc, xt = xc.abs().detach().requires_grad_(), xt.abs().detach().requires_grad_()
        yc, yt = cr.nn.LPPool1d(p, k, s, ceil)(xc), torch.nn.LPPool1d(p, k, s, ceil)(xt)
        close(yc, yt)
        _backward_both(yc, yt)
        close(xc.grad, xt.grad)


@pytest.mark.parametrize("p", [1, 2, 4])
def test_lp_pool_gradient_is_zero_on_an_all_zero_window(p):
    a = np.random.default_rng(10).standard_normal((1, 2, 4, 4))
    a[0, 0, :2, :2] = 0.0
    xc, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    yc, yt = F.lp_pool2d(xc, p, 2), torch.nn.functional.lp_pool2d(xt, p, 2)
    close(yc, yt)
    assert yc.data[0, 0, 0, 0] == 0.0
    _backward_both(yc, yt)
    close(xc.grad, xt.grad)
    assert not np.isnan(xc.grad.data).any()
    assert (xc.grad.data[0, 0, :2, :2] == 0).all()


BAD_LP = [
    ("norm_type 0", lambda x, m: m.lp_pool2d(x, 0, 2)),
    ("2d rank 5", lambda x, m: m.lp_pool2d(x[None], 2, 2)),
    ("2d rank 2", lambda x, m: m.lp_pool2d(x[0, 0], 2, 2)),
    ("1d rank 4", lambda x, m: m.lp_pool1d(x, 2, 2)),
    ("1d rank 1", lambda x, m: m.lp_pool1d(x[0, 0, 0], 2, 2)),
    ("1d tuple kernel", lambda x, m: m.lp_pool1d(x[0], 2, (2,))),
    ("kernel too big", lambda x, m: m.lp_pool2d(x, 2, 5)),
]


@pytest.mark.parametrize("label, call", BAD_LP, ids=[b[0] for b in BAD_LP])
def test_lp_pool_bad_inputs_raise_like_torch(label, call):
    a = np.random.default_rng(11).standard_normal((1, 2, 4, 4))
    _raise_alike(
        lambda: call(cr.tensor(a), F),
        lambda: call(torch.tensor(a), torch.nn.functional),
        "pool",
    )


# ----------------------------------------------------------------------------- ChannelShuffle
@pytest.mark.parametrize("shape, groups", [((2, 6, 2, 3), 3), ((1, 4, 5), 2), ((2, 6, 1, 2, 2), 6)])
def test_channel_shuffle_matches_torch(shape, groups):
    xc, xt = pair(*shape, seed=12)
    yc, yt = cr.nn.ChannelShuffle(groups)(xc), torch.nn.ChannelShuffle(groups)(xt)
    np.testing.assert_array_equal(yc.data, yt.detach().numpy())
    _backward_both(yc, yt)
    np.testing.assert_array_equal(xc.grad.data, xt.grad.numpy())


def test_channel_shuffle_keeps_integer_dtypes():
    a = np.arange(16).reshape(1, 4, 2, 2)
    out = F.channel_shuffle(cr.tensor(a), 2)
    np.testing.assert_array_equal(out.data, torch.nn.functional.channel_shuffle(torch.tensor(a), 2))
    assert out.dtype == cr.int64


BAD_SHUFFLE = [
    ("not dividing", lambda x, m: m.channel_shuffle(x, 3)),
    ("zero groups", lambda x, m: m.channel_shuffle(x, 0)),
    ("negative groups", lambda x, m: m.channel_shuffle(x, -2)),
    ("2-d input", lambda x, m: m.channel_shuffle(x[0, :, :, 0], 2)),
    ("float groups", lambda x, m: m.channel_shuffle(x, 2.0)),
]


@pytest.mark.parametrize("label, call", BAD_SHUFFLE, ids=[b[0] for b in BAD_SHUFFLE])
def test_channel_shuffle_bad_inputs_raise_like_torch(label, call):
    a = np.random.default_rng(13).standard_normal((1, 4, 2, 2))
    _raise_alike(
        lambda: call(cr.tensor(a), F),
        lambda: call(torch.tensor(a), torch.nn.functional),
        "channel_shuffle",
    )


# ----------------------------------------------------------------------------- adaptive softmax
def _asm_pair(head_bias=False, cutoffs=(3, 6, 9), n_classes=12, in_features=8, div_value=2.0):
    torch.manual_seed(0)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(
        in_features, n_classes, list(cutoffs), div_value, head_bias, dtype=torch.float64
    )
    ours = cr.nn.AdaptiveLogSoftmaxWithLoss(
        in_features, n_classes, cutoffs, div_value, head_bias, dtype=cr.float64
    )
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_state_dict_names_and_shapes_match_torch(head_bias):
    ours, theirs = _asm_pair(head_bias)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    assert "tail.0.0.weight" in ours.state_dict() and ours.cutoffs == theirs.cutoffs
    assert (ours.shortlist_size, ours.n_clusters, ours.head_size) == (3, 3, 6)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_forward_log_prob_predict_match_torch(head_bias):
    ours, theirs = _asm_pair(head_bias)
    xc, xt = pair(10, 8, seed=14)
    target = np.array([0, 2, 3, 5, 6, 8, 9, 11, 1, 10])
    oc = ours(xc, cr.tensor(target))
    ot = theirs(xt, torch.tensor(target))
    assert oc._fields == ("output", "loss")
    close(oc.output, ot.output)
    close(oc.loss, ot.loss)
    (oc.loss * 2 + oc.output.sum()).backward()
    (ot.loss * 2 + ot.output.sum()).backward()
    close(xc.grad, xt.grad)
    grads_t = {n: p.grad for n, p in theirs.named_parameters()}
    for n, p in ours.named_parameters():
        close(p.grad, grads_t[n])
    lc, lt = ours.log_prob(xc), theirs.log_prob(xt)
    close(lc, lt)
    close(lc.exp().sum(1), np.ones(10))
    np.testing.assert_array_equal(ours.predict(xc).data, theirs.predict(xt).numpy())
    np.testing.assert_array_equal(ours.predict(xc).data, lc.argmax(1).data)


def test_adaptive_log_softmax_predict_paths_and_unbatched_input():
    ours, theirs = _asm_pair()
    # large head logits for a cluster column make every (or some) row go through the tails
    with torch.no_grad():
        theirs.head.weight[4] += 3.0
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    for rows in (slice(None), slice(0, 3)):
        a = np.random.default_rng(15).standard_normal((6, 8))
        a[rows] += 2.0
        np.testing.assert_array_equal(
            ours.predict(cr.tensor(a)).data, theirs.predict(torch.tensor(a)).numpy()
        )
    xc, xt = pair(8, seed=16)
    oc, ot = ours(xc, cr.tensor(7)), theirs(xt, torch.tensor(7))
    assert oc.output.shape == () == tuple(ot.output.shape)
    close(oc.output, ot.output)
    close(oc.loss, ot.loss)


BAD_ASM_CTOR = [
    ("empty", dict(cutoffs=[])),
    ("unsorted", dict(cutoffs=[5, 3])),
    ("too big", dict(cutoffs=[3, 12])),
    ("repeated", dict(cutoffs=[3, 3])),
    ("zero", dict(cutoffs=[0, 3])),
]


@pytest.mark.parametrize("label, kw", BAD_ASM_CTOR, ids=[b[0] for b in BAD_ASM_CTOR])
def test_adaptive_log_softmax_bad_cutoffs_raise_like_torch(label, kw):
    _raise_alike(
        lambda: cr.nn.AdaptiveLogSoftmaxWithLoss(8, 12, **kw),
        lambda: torch.nn.AdaptiveLogSoftmaxWithLoss(8, 12, **kw),
        "cutoffs",
    )


BAD_ASM_CALL = [
    ("target out of range", (4, 8), [0, 1, 12, 3], "Target values"),
    ("negative target", (4, 8), [0, -1, 2, 3], "Target values"),
    ("batch mismatch", (3, 8), [0, 1, 2, 3], "same size"),
    ("3-d input", (4, 2, 8), [0, 1, 2, 3], "2D input"),
    ("0-d target, 2-d input", (4, 8), 3, "1D input"),
    ("2-d target", (4, 8), [[0, 1], [2, 3]], "multi-target"),
]


@pytest.mark.parametrize(
    "label, shape, target, word", BAD_ASM_CALL, ids=[b[0] for b in BAD_ASM_CALL]
)
def test_adaptive_log_softmax_bad_calls_raise_like_torch(label, shape, target, word):
    ours, theirs = _asm_pair()
    a = np.zeros(shape)
    _raise_alike(
        lambda: ours(cr.tensor(a), cr.tensor(target)),
        lambda: theirs(torch.tensor(a), torch.tensor(target)),
        word,
    )


def test_adaptive_module_path():
    from chainrule.nn.modules.adaptive import AdaptiveLogSoftmaxWithLoss, _ASMoutput

    assert AdaptiveLogSoftmaxWithLoss is cr.nn.AdaptiveLogSoftmaxWithLoss
    assert _ASMoutput._fields == torch.nn.modules.adaptive._ASMoutput._fields
