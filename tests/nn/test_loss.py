"""Losses: forward/backward vs torch for every reduction, gradcheck, fused CE, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck, gradgradcheck

from ._helpers import close, pair

TF = torch.nn.functional
RED = ["none", "mean", "sum"]


def _run(fn, tfn, inputs, tinputs, tol=1e-10):
    y, ty = fn(*inputs), tfn(*tinputs)
    close(y, ty, tol)
    g = np.random.default_rng(9).standard_normal(y.shape)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    for a, b in zip(inputs, tinputs):
        if isinstance(a, cr.Tensor) and a.requires_grad:
            close(a.grad, b.grad, tol)


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize(
    "name,kw",
    [
        ("mse_loss", {}),
        ("l1_loss", {}),
        ("huber_loss", {"delta": 0.7}),
        ("smooth_l1_loss", {"beta": 0.6}),
        ("smooth_l1_loss", {"beta": 0.0}),
    ],
)
def test_regression_losses(name, kw, reduction):
    x, tx = pair(4, 3, seed=1)
    y, ty = pair(4, 3, seed=2)
    _run(
        lambda a, b: getattr(F, name)(a, b, reduction=reduction, **kw),
        lambda a, b: getattr(TF, name)(a, b, reduction=reduction, **kw),
        (x, y),
        (tx, ty),
    )


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize(
    "opts",
    [
        {},
        {"weight": True},
        {"ignore_index": 1},
        {"label_smoothing": 0.25},
        {"weight": True, "ignore_index": 2, "label_smoothing": 0.1},
    ],
)
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 3), (4,)])
def test_cross_entropy_indices(shape, opts, reduction):
    rng = np.random.default_rng(3)
    x, tx = pair(*shape, seed=4, scale=3.0)
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = rng.integers(0, 4, tshape)
    if "ignore_index" in opts and t.ndim:
        t.flat[0] = opts["ignore_index"]
    kw = {k: v for k, v in opts.items() if k != "weight"}
    w = rng.random(4) + 0.1 if opts.get("weight") else None
    cw, tw = (cr.tensor(w), torch.tensor(w)) if w is not None else (None, None)
    _run(
        lambda a: F.cross_entropy(a, cr.tensor(t), cw, reduction=reduction, **kw),
        lambda a: TF.cross_entropy(a, torch.tensor(t), tw, reduction=reduction, **kw),
        (x,),
        (tx,),
    )


@pytest.mark.parametrize("reduction", RED)
def test_cross_entropy_probabilities(reduction):
    x, tx = pair(5, 3, 2, seed=5)
    p = np.random.default_rng(6).random((5, 3, 2))
    p /= p.sum(1, keepdims=True)
    w = np.array([0.5, 1.0, 2.0])
    _run(
        lambda a: F.cross_entropy(
            a, cr.tensor(p), cr.tensor(w), reduction=reduction, label_smoothing=0.2
        ),
        lambda a: TF.cross_entropy(
            a, torch.tensor(p), torch.tensor(w), reduction=reduction, label_smoothing=0.2
        ),
        (x,),
        (tx,),
    )


def test_fused_cross_entropy_equals_composite_and_double_backward():
    x = cr.tensor(np.random.default_rng(7).standard_normal((4, 5)), requires_grad=True)
    t = cr.tensor([0, 3, 4, 1])
    fused = F.cross_entropy(x, t)
    composite = -F.log_softmax(x, 1)[np.arange(4), t.data].mean()
    close(fused, composite.data)
    g1 = cr.autograd.grad(fused, [x])[0]
    g2 = cr.autograd.grad(composite, [x])[0]
    close(g1, g2.data)
    for kw in (
        {},
        {"label_smoothing": 0.3, "weight": cr.tensor([1.0, 2, 3, 4, 5], dtype=cr.float64)},
    ):
        for red in RED:

            def ce(a, red=red, kw=kw):
                return F.cross_entropy(a, t, reduction=red, **kw)

            assert gradcheck(ce, (x,))
            assert gradgradcheck(ce, (x,))


def test_cross_entropy_stable_for_huge_logits():
    x = cr.tensor([[1e4, -1e4, 0.0]], dtype=cr.float64, requires_grad=True)
    y = F.cross_entropy(x, cr.tensor([1]))
    assert np.isfinite(y.item()) and abs(y.item() - 2e4) < 1e-6
    y.backward()
    assert np.isfinite(x.grad.data).all()


def test_cross_entropy_errors():
    x = cr.randn(4, 3)
    # PyTorch's words (a float target not of the input's shape is read as class indices)
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got"):
        F.cross_entropy(x, cr.randn(4))
    with pytest.raises(IndexError, match="out of bounds for 3 classes"):
        F.cross_entropy(x, cr.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(4\) to match target"):
        F.cross_entropy(x, cr.tensor([0, 1]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, cr.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match="weight"):
        F.cross_entropy(x, cr.tensor([0, 1, 2, 0]), weight=cr.ones(4))
    with pytest.raises(TypeError, match="integer class indices or float"):
        F.cross_entropy(x, cr.tensor([True, False, True, True]))


@pytest.mark.parametrize("reduction", RED)
def test_nll_loss(reduction):
    x, tx = pair(5, 4, seed=8)
    t = np.array([0, 3, 1, -100, 2])
    w = np.array([1.0, 0.5, 2.0, 1.5])
    _run(
        lambda a: F.nll_loss(a, cr.tensor(t), cr.tensor(w), reduction=reduction),
        lambda a: TF.nll_loss(a, torch.tensor(t), torch.tensor(w), reduction=reduction),
        (x,),
        (tx,),
    )
    a = cr.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert gradgradcheck(
        lambda v: F.nll_loss(F.log_softmax(v, 1), cr.tensor([1, 0, 3]), reduction=reduction), (a,)
    )


@pytest.mark.parametrize("reduction", RED)
def test_bce(reduction):
    rng = np.random.default_rng(10)
    p = rng.random((4, 3)) * 0.98 + 0.01
    x, tx = cr.tensor(p, requires_grad=True), torch.tensor(p, requires_grad=True)
    y = rng.random((4, 3))
    w = rng.random((4, 3))
    _run(
        lambda a: F.binary_cross_entropy(a, cr.tensor(y), cr.tensor(w), reduction=reduction),
        lambda a: TF.binary_cross_entropy(a, torch.tensor(y), torch.tensor(w), reduction=reduction),
        (x,),
        (tx,),
    )
    assert gradcheck(
        lambda a: F.binary_cross_entropy(a, cr.tensor(y), reduction=reduction),
        (cr.tensor(p, requires_grad=True),),
    )


def test_bce_clamps_log_and_validates_range():
    x = cr.tensor([0.0, 1.0], dtype=cr.float64, requires_grad=True)
    y = F.binary_cross_entropy(x, cr.tensor([1.0, 0.0], dtype=cr.float64), reduction="none")
    close(y, np.array([100.0, 100.0]))
    y.sum().backward()
    assert np.isfinite(x.grad.data).all()
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(cr.tensor([1.5]), cr.tensor([1.0]))


@pytest.mark.parametrize("reduction", RED)
def test_bce_with_logits(reduction):
    x, tx = pair(4, 3, seed=11, scale=5.0)
    rng = np.random.default_rng(12)
    y, w, pw = rng.random((4, 3)), rng.random(3), rng.random(3) * 3
    _run(
        lambda a: F.binary_cross_entropy_with_logits(
            a, cr.tensor(y), cr.tensor(w), reduction=reduction, pos_weight=cr.tensor(pw)
        ),
        lambda a: TF.binary_cross_entropy_with_logits(
            a, torch.tensor(y), torch.tensor(w), reduction=reduction, pos_weight=torch.tensor(pw)
        ),
        (x,),
        (tx,),
    )
    big = cr.tensor([800.0, -800.0, 0.0], dtype=cr.float64, requires_grad=True)
    out = F.binary_cross_entropy_with_logits(
        big, cr.tensor([0.0, 1.0, 1.0], dtype=cr.float64), reduction="none"
    )
    close(out, np.array([800.0, 800.0, np.log(2)]))
    out.sum().backward()
    close(big.grad, np.array([1.0, -1.0, -0.5]))


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin(p, reduction):
    x, tx = pair(5, 4, seed=13)
    t = np.array([0, 3, 1, 2, 2])
    w = np.array([1.0, 0.5, 2.0, 1.5])
    _run(
        lambda a: F.multi_margin_loss(a, cr.tensor(t), p, 0.8, cr.tensor(w), reduction=reduction),
        lambda a: TF.multi_margin_loss(
            a, torch.tensor(t), p, 0.8, torch.tensor(w), reduction=reduction
        ),
        (x,),
        (tx,),
    )


@pytest.mark.parametrize("reduction", RED + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x, tx = pair(3, 4, seed=14)
    p = np.random.default_rng(15).random((3, 4))
    p[0, 0] = 0.0
    p = np.log(p + 1e-3) if log_target else p
    with warnings.catch_warnings():  # torch warns that 'mean' is not the true KL
        warnings.simplefilter("ignore")
        _run(
            lambda a: F.kl_div(a, cr.tensor(p), reduction=reduction, log_target=log_target),
            lambda a: TF.kl_div(a, torch.tensor(p), reduction=reduction, log_target=log_target),
            (x,),
            (tx,),
        )


@pytest.mark.parametrize("reduction", RED)
def test_cosine_embedding(reduction):
    a, ta = pair(5, 3, seed=16)
    b, tb = pair(5, 3, seed=17)
    t = np.array([1, -1, 1, -1, -1])
    _run(
        lambda u, v: F.cosine_embedding_loss(u, v, cr.tensor(t), 0.1, reduction=reduction),
        lambda u, v: TF.cosine_embedding_loss(u, v, torch.tensor(t), 0.1, reduction=reduction),
        (a, b),
        (ta, tb),
    )


def test_loss_gradchecks():
    rng = np.random.default_rng(18)

    def leaf(*s):
        return cr.tensor(rng.standard_normal(s), requires_grad=True)

    x, y = leaf(3, 2), leaf(3, 2)
    assert gradcheck(lambda a, b: F.mse_loss(a, b), (x, y))
    assert gradcheck(lambda a, b: F.huber_loss(a, b, delta=0.5), (x, y))
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b.sigmoid()), (x, y))
    q = cr.tensor(rng.random((3, 2)))
    assert gradcheck(lambda a: F.kl_div(a, q, reduction="batchmean"), (x,))
    assert gradcheck(lambda a, b: F.cosine_embedding_loss(a, b, cr.tensor([1, -1, 1])), (x, y))
    assert gradcheck(lambda a: F.multi_margin_loss(a, cr.tensor([0, 1, 1]), p=2), (x,))


def test_loss_modules_match_torch():
    x, tx = pair(6, 4, seed=19)
    t = np.array([0, 1, 2, 3, 1, 0])
    w = np.array([1.0, 2.0, 0.5, 1.0])
    m = cr.nn.CrossEntropyLoss(weight=cr.tensor(w), label_smoothing=0.1, ignore_index=2)
    tm = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), label_smoothing=0.1, ignore_index=2)
    _run(lambda a: m(a, cr.tensor(t)), lambda a: tm(a, torch.tensor(t)), (x,), (tx,))
    assert repr(cr.nn.MSELoss(reduction="sum")) == repr(torch.nn.MSELoss(reduction="sum"))
    pairs = [
        (cr.nn.MSELoss(), torch.nn.MSELoss()),
        (cr.nn.L1Loss(), torch.nn.L1Loss()),
        (cr.nn.HuberLoss(delta=2.0), torch.nn.HuberLoss(delta=2.0)),
        (cr.nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5)),
        (cr.nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss()),
        (cr.nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean")),
    ]
    y, ty = pair(6, 4, seed=20)
    for a, b in pairs:
        close(a(x, y.sigmoid()), b(tx, ty.sigmoid()))
    close(cr.nn.NLLLoss()(x, cr.tensor(t)), torch.nn.NLLLoss()(tx, torch.tensor(t)))
    close(
        cr.nn.MultiMarginLoss(p=2)(x, cr.tensor(t)),
        torch.nn.MultiMarginLoss(p=2)(tx, torch.tensor(t)),
    )
    close(cr.nn.BCELoss()(x.sigmoid(), y.sigmoid()), torch.nn.BCELoss()(tx.sigmoid(), ty.sigmoid()))
    close(
        cr.nn.CosineEmbeddingLoss(0.2)(x, y, cr.tensor([1, -1] * 3)),
        torch.nn.CosineEmbeddingLoss(0.2)(tx, ty, torch.tensor([1, -1] * 3)),
    )
    bad = cr.nn.MSELoss(reduction="avg")  # PyTorch checks ``reduction`` when called
    with pytest.raises(ValueError, match="^avg is not a valid value for reduction$"):
        bad(x, y)


def test_shape_mismatch_broadcasts_with_torchs_warning_or_raises_like_torch():
    # mse/l1/smooth_l1/huber broadcast with a UserWarning (as PyTorch); BCE refuses
    with pytest.warns(UserWarning, match="Using a target size"):
        F.mse_loss(cr.randn(4, 1), cr.randn(4))
    # PyTorch's words first (its broadcast error; BCE's ValueError), the op's name after
    torch_text = r"^The size of tensor a \(3\) must match the size of tensor b \(2\) at "
    with pytest.raises(ValueError, match=torch_text), pytest.warns(UserWarning):
        F.mse_loss(cr.randn(4, 3), cr.randn(4, 2))  # torch warns too, then fails
    with pytest.raises(ValueError, match=r"^Using a target size \(torch.Size\(\[4\]\)\)"):
        F.binary_cross_entropy(cr.rand(4, 1), cr.rand(4))


def test_every_loss_and_batchnorm_prints_like_torch():
    names = [n for n in dir(torch.nn) if n.endswith("Loss") and hasattr(cr.nn, n)]
    for name in names:
        for kw in ({}, {"reduction": "sum"}):
            try:
                want = repr(getattr(torch.nn, name)(**kw))
            except (TypeError, ValueError):
                continue
            assert repr(getattr(cr.nn, name)(**kw)) == want, (name, kw)
    for kw in ({}, {"affine": False}, {"bias": False}):
        assert repr(cr.nn.BatchNorm1d(3, **kw)) == repr(torch.nn.BatchNorm1d(3, **kw)), kw
