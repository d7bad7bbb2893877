"""Losses against PyTorch on the inputs issue 9 found differing: input/target shapes that
PyTorch broadcasts (with its UserWarning), the legacy ``size_average`` / ``reduce`` flags
(read, never ignored), the ``weight`` of mse/l1/huber, class-index losses whose targets are
all ignored (NaN loss, zero gradient) and batch_norm of an input without a channel dim."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

TF = torch.nn.functional
RNG = np.random.default_rng(0)


def _both(name, arrays, **kw):
    """Run loss ``name`` on both libraries: (values, input grads, warnings) for each."""
    out = []
    for lib, fn in ((cr, getattr(F, name)), (torch, getattr(TF, name))):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = fn(*xs, **kw)
        grads = lib.autograd.grad(y.sum(), xs)
        out.append(
            (
                y.detach().numpy(),
                [g.numpy() for g in grads],
                [(w.category, str(w.message).split(" (")[0]) for w in caught],
            )
        )
    return out


def _assert_same(c, t):
    np.testing.assert_allclose(c[0], t[0], rtol=1e-12, atol=1e-14)
    assert c[0].shape == t[0].shape
    for gc, gt in zip(c[1], t[1]):
        np.testing.assert_allclose(gc, gt, rtol=1e-12, atol=1e-14)


SHAPES = [((4,), (3, 4)), ((2, 3, 4), (3, 4)), ((3, 1), (3, 4)), ((3, 4), (4,))]


@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize(
    "name,kw",
    [
        ("mse_loss", {}),
        ("l1_loss", {}),
        ("smooth_l1_loss", {"beta": 0.5}),
        ("smooth_l1_loss", {"beta": 0.0}),
        ("huber_loss", {"delta": 0.7}),
    ],
)
def test_pointwise_losses_broadcast_with_torchs_warning(name, kw, reduction, shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    c, t = _both(name, arrays, reduction=reduction, **kw)
    _assert_same(c, t)
    assert c[2] == t[2] == [(UserWarning, "Using a target size")]


@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
def test_kl_div_broadcasts_silently_as_torch(shapes, reduction):
    arrays = [RNG.standard_normal(shapes[0]), RNG.random(shapes[1])]
    c, t = _both("kl_div", arrays, reduction=reduction)
    _assert_same(c, t)
    assert c[2] == t[2] == []


def test_kl_div_mean_warns_as_torch():
    arrays = [RNG.standard_normal((3, 4)), RNG.random((3, 4))]
    c, t = _both("kl_div", arrays, reduction="mean")
    _assert_same(c, t)
    assert [w[0] for w in c[2]] == [w[0] for w in t[2]] == [UserWarning]


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_shapes_that_do_not_broadcast_raise_naming_the_op(name):
    # torch warns about the different target size first, then fails
    with pytest.raises(RuntimeError, match=name), pytest.warns(UserWarning, match="target size"):
        getattr(F, name)(cr.ones(3, 4), cr.ones(3, 5))


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_bce_refuses_different_shapes_as_torch(name):
    x, y = RNG.random((3, 4)), RNG.random((4,))
    with pytest.raises(ValueError):
        getattr(TF, name)(torch.tensor(x), torch.tensor(y))
    with pytest.raises(ValueError, match=name):
        getattr(F, name)(cr.tensor(x), cr.tensor(y))


@pytest.mark.parametrize(
    "size_average,reduce", [(False, None), (None, False), (True, True), (False, True)]
)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "kl_div"])
def test_legacy_size_average_and_reduce_are_read_as_torch(name, size_average, reduce):
    arrays = [RNG.standard_normal((3, 4)), RNG.random((3, 4))]
    c, t = _both(name, arrays, size_average=size_average, reduce=reduce)
    _assert_same(c, t)
    assert c[2] == t[2]


@pytest.mark.parametrize("size_average,reduce", [(False, None), (None, False)])
def test_legacy_flags_of_class_index_losses(size_average, reduce):
    x, t = RNG.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    for name in ("cross_entropy", "nll_loss"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = getattr(F, name)(cr.tensor(x), cr.tensor(t), None, size_average, -100, reduce)
            r = getattr(TF, name)(
                torch.tensor(x), torch.tensor(t), None, size_average, -100, reduce
            )
        np.testing.assert_allclose(c.numpy(), r.numpy(), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_weight_as_torch(name, reduction):
    arrays = [RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))]
    w = RNG.random((3, 4))
    res = []
    for lib, fn in ((cr, getattr(F, name)), (torch, getattr(TF, name))):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = fn(*xs, reduction=reduction, weight=lib.tensor(w))
        res.append((y.detach().numpy(), [g.numpy() for g in lib.autograd.grad(y.sum(), xs)]))
    _assert_same(*res)
    with pytest.raises(ValueError, match=f"{name}: Weights and input must have the same size"):
        getattr(F, name)(cr.ones(3, 4), cr.ones(3, 4), weight=cr.ones(4))


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize(
    "target,weight",
    [
        ([-100, -100, -100], None),  # every target ignored: NaN loss, zero gradient
        ([0, 0, 0], [0.0, 1.0, 1.0, 1.0]),  # every target weighs 0: NaN loss and gradient
        ([-100, 0, -100], [0.0, 1.0, 1.0, 1.0]),
    ],
)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, None])  # None: nll_loss
def test_mean_over_no_weight_is_nan_with_torchs_gradient(smoothing, target, weight, create_graph):
    x = RNG.standard_normal((3, 4))
    res = []
    for lib in (cr, torch):
        a = lib.tensor(x, requires_grad=True)
        w = None if weight is None else lib.tensor(np.array(weight))
        f = lib.nn.functional
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no RuntimeWarning from 0/0
            if smoothing is None:
                y = f.nll_loss(a, lib.tensor(target), w)
            else:
                y = f.cross_entropy(a, lib.tensor(target), w, label_smoothing=smoothing)
            (g,) = lib.autograd.grad(y, a, create_graph=create_graph)
        res.append((y.detach().numpy(), g.detach().numpy()))
    for c, t in zip(*res):
        np.testing.assert_allclose(c, t, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_class_vector_with_a_one_element_target(reduction):
    # PyTorch accepts (C,) logits with a (1,) target (a 0-d loss); its values are matched
    x = RNG.standard_normal(4)
    for name, arg in (("cross_entropy", x), ("nll_loss", x - np.log(np.exp(x).sum()))):
        c = getattr(F, name)(cr.tensor(arg), cr.tensor([2]), reduction=reduction)
        t = getattr(TF, name)(torch.tensor(arg), torch.tensor([2]), reduction=reduction)
        assert c.shape == tuple(t.shape) == ()
        np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-12)


@pytest.mark.parametrize("shape", [(3,), ()])
def test_batch_norm_without_a_channel_dim_raises_torchs_error_family(shape):
    # a 1-d input: torch's own words; a 0-d one (torch's Python fails reading its sizes,
    # "tuple index out of range"): chainrule names the op
    x = RNG.standard_normal(shape)
    with pytest.raises(IndexError) as want:
        TF.batch_norm(torch.tensor(x), None, None, training=True)
    text = str(want.value) if shape else "batch_norm"
    with pytest.raises(IndexError, match=re.escape(text)):
        F.batch_norm(cr.tensor(x), None, None, training=True)
    with pytest.raises(RuntimeError) as want:  # torch: RuntimeError with stats
        TF.batch_norm(torch.tensor(x), torch.zeros(3), torch.ones(3))
    with pytest.raises(RuntimeError, match="^" + re.escape(str(want.value))):
        F.batch_norm(cr.tensor(x), cr.zeros(3), cr.ones(3))
