"""``F.binary_cross_entropy`` as PyTorch's one node, ``BinaryCrossEntropyBackward0``, with
its weight and reduction inside: values and gradients (input, target) against torch over
shapes, dtypes, weight shapes and reductions; float16/bfloat16 equal to torch's CPU kernel;
the clamped logs; the saved tensors; the weight refused when it requires a gradient (as
torch); gradcheck/gradgradcheck in float64; forward mode against torch's; vmap."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F

RNG = np.random.default_rng(0)
REDUCTIONS = ("none", "mean", "sum")

# (input shape, weight shape or None)
SHAPES = [
    ((3, 4), None),
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((3, 4), (3, 1)),
    ((3, 4), ()),
    ((2, 3, 4), (1, 4)),
    ((), None),
    ((), ()),
    ((5,), (5,)),
    ((0, 3), (3,)),
]
LOW = {"float16": (cr.float16, torch.float16), "bfloat16": (cr.bfloat16, torch.bfloat16)}


def _probs(shape, rng=RNG):
    return rng.uniform(0.02, 0.98, shape)


def _run(lib, fn, x, t, w, reduction, dtype, up):
    """Loss, input gradient and target gradient of ``fn`` in ``lib`` (numpy, float64)."""
    xt = lib.tensor(x, dtype=dtype, requires_grad=True)
    tt = lib.tensor(t, dtype=dtype, requires_grad=True)
    wt = None if w is None else lib.tensor(w, dtype=dtype)
    out = fn(xt, tt, wt, reduction=reduction)
    out.backward(lib.tensor(up, dtype=dtype).reshape(out.shape))
    return out.dtype, *(a.detach().double().numpy() for a in (out, xt.grad, tt.grad))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,wshape", SHAPES, ids=[f"{s}-w{w}" for s, w in SHAPES])
def test_values_and_gradients_match_torch(shape, wshape, reduction, dtype):
    x, t = _probs(shape), RNG.uniform(0, 1, shape)
    w = None if wshape is None else RNG.uniform(0.1, 2.0, wshape)
    n_out = () if reduction != "none" else shape
    up = RNG.standard_normal(n_out)
    cdt, tdt = getattr(cr, dtype), getattr(torch, dtype)
    got = _run(cr, F.binary_cross_entropy, x, t, w, reduction, cdt, up)
    want = _run(torch, TF.binary_cross_entropy, x, t, w, reduction, tdt, up)
    assert got[0] == cdt and want[0] == tdt
    tol = {"rtol": 1e-12, "atol": 1e-14} if dtype == "float64" else {"rtol": 2e-6, "atol": 1e-7}
    for g, e in zip(got[1:], want[1:]):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, **tol)


def _ulps(got, want, dtype):
    """How many ulps of ``dtype`` apart (same non-finite values count 0)."""
    nd = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(np.float16)
    ok = (got == want) | (np.isnan(got) & np.isnan(want))
    with np.errstate(invalid="ignore"):
        spacing = np.abs(np.spacing(want.astype(np.float32).astype(nd)).astype(np.float64))
        d = np.where(ok, 0.0, np.abs(got - want) / np.where(spacing > 0, spacing, 1.0))
    return np.nan_to_num(d, nan=np.inf)


@pytest.mark.parametrize("low", list(LOW))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("wshape", [None, (64,), (40, 1)])
def test_low_precision_equals_torch(low, reduction, wshape):
    """PyTorch's CPU kernel rounds every step to the dtype; the node does too, so the loss
    and both gradients equal torch's (a rare 1-ulp difference is NumPy's float32 log against
    torch's, visible only before rounding)."""
    rng = np.random.default_rng(1)
    shape = (40, 64)
    x = np.concatenate([rng.uniform(0, 1, (20, 64)), rng.uniform(0, 1e-3, (10, 64))])
    x = np.concatenate([x, 1 - rng.uniform(0, 1e-3, (10, 64))])
    x[0, :4] = [0.0, 1.0, 0.5, 0.0]
    t = rng.uniform(0, 1, shape)
    t[0, :4] = [1.0, 0.0, 0.5, 0.0]
    w = None if wshape is None else rng.uniform(0.1, 3.0, wshape)
    up = rng.standard_normal(() if reduction != "none" else shape)
    cdt, tdt = LOW[low]
    got = _run(cr, F.binary_cross_entropy, x, t, w, reduction, cdt, up)
    want = _run(torch, TF.binary_cross_entropy, x, t, w, reduction, tdt, up)
    assert got[0] == cdt and want[0] == tdt
    for g, e in zip(got[1:], want[1:]):
        d = _ulps(g, e, low)
        assert d.max() <= 1, (low, d.max())
        assert np.mean(d == 0) > 0.999, np.mean(d == 0)


@pytest.mark.parametrize("cdt,tdt", [("bfloat16", "float32"), ("float16", "float64")])
def test_low_precision_input_with_wider_weight(cdt, tdt):
    """A float32/float64 weight multiplies in its dtype and rounds to the input's, as torch."""
    x, t, w = _probs((6, 8)), RNG.uniform(0, 1, (6, 8)), RNG.uniform(0.1, 3, (8,))
    c = F.binary_cross_entropy(
        cr.tensor(x).to(getattr(cr, cdt)),
        cr.tensor(t).to(getattr(cr, cdt)),
        cr.tensor(w).to(getattr(cr, tdt)),
        reduction="none",
    )
    e = TF.binary_cross_entropy(
        torch.tensor(x).to(getattr(torch, cdt)),
        torch.tensor(t).to(getattr(torch, cdt)),
        torch.tensor(w).to(getattr(torch, tdt)),
        reduction="none",
    )
    assert c.dtype == getattr(cr, cdt) and c.grad_fn is None
    assert _ulps(c.double().numpy(), e.double().numpy(), cdt).max() <= 1


def test_clamped_logs_and_unclamped_target_gradient():
    """Logs clamp at -100 (a finite loss at 0 and 1); d/dx divides by max(x(1-x), 1e-12);
    d/dt = -logit(x) is not clamped (infinite at 0 and 1, 115 at 1e-50), as torch."""
    x = np.array([0.0, 1.0, 0.5, 1e-50, 1.0, 0.0])
    t = np.array([1.0, 0.0, 0.5, 1.0, 1.0, 0.0])
    up = np.ones(6)
    got = _run(cr, F.binary_cross_entropy, x, t, None, "none", cr.float64, up)
    want = _run(torch, TF.binary_cross_entropy, x, t, None, "none", torch.float64, up)
    for g, e in zip(got[1:], want[1:]):
        np.testing.assert_allclose(g, e, rtol=1e-12)
    assert got[1][0] == 100.0 and got[2][0] == -1 / float(np.float32(1e-12))
    assert got[3][0] == np.inf


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_one_node_with_torch_saved_tensors(reduction):
    x = cr.tensor(_probs((3, 4)), requires_grad=True)
    t = cr.tensor(RNG.uniform(0, 1, (3, 4)), requires_grad=True)
    w = cr.tensor(RNG.uniform(0.5, 2, (4,)))
    out = F.binary_cross_entropy(x, t, w, reduction=reduction)
    node = out.grad_fn
    assert node.name() == "BinaryCrossEntropyBackward0"
    assert [type(n).__name__ for n, _ in node.next_functions] == ["AccumulateGrad"] * 2
    assert node._saved_self is x and node._saved_target is t and node._saved_weight is w
    assert F.binary_cross_entropy(x, t).grad_fn._saved_weight is None
    loss = cr.nn.BCELoss(weight=w, reduction=reduction)(x, t)
    assert loss.grad_fn.name() == "BinaryCrossEntropyBackward0"
    assert loss.grad_fn._saved_weight is w


def test_target_only_requiring_grad():
    x = cr.tensor(_probs((3,)))
    t = cr.tensor(RNG.uniform(0, 1, (3,)), requires_grad=True)
    out = F.binary_cross_entropy(x, t)
    assert out.grad_fn.name() == "BinaryCrossEntropyBackward0"
    assert out.grad_fn.next_functions[0][0] is None
    out.backward()
    np.testing.assert_allclose(t.grad.numpy(), -np.log(x.numpy() / (1 - x.numpy())) / 3)


def test_weight_modified_in_place_after_forward_raises():
    x = cr.tensor(_probs((3, 4)), requires_grad=True)
    w = cr.tensor(RNG.uniform(0.5, 2, (4,)))
    out = F.binary_cross_entropy(x, cr.tensor(RNG.uniform(0, 1, (3, 4))), w)
    w.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_weight_requiring_grad_is_refused_as_torch():
    x, t = _probs((3, 4)), RNG.uniform(0, 1, (3, 4))
    msg = None
    try:
        TF.binary_cross_entropy(
            torch.tensor(x), torch.tensor(t), torch.ones(4, dtype=torch.float64).requires_grad_()
        )
    except RuntimeError as err:
        msg = str(err)
    assert msg is not None
    w = cr.ones(4, dtype=cr.float64, requires_grad=True)
    with pytest.raises(RuntimeError) as got:
        F.binary_cross_entropy(cr.tensor(x, requires_grad=True), cr.tensor(t), w)
    assert str(got.value) == msg
    with cr.no_grad():  # no graph recorded: torch computes it
        out = F.binary_cross_entropy(cr.tensor(x), cr.tensor(t), w)
    expected = TF.binary_cross_entropy(torch.tensor(x), torch.tensor(t), torch.ones(4).double())
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)


def test_weight_not_broadcasting_raises():
    x, t = cr.tensor(_probs((3, 4))), cr.tensor(RNG.uniform(0, 1, (3, 4)))
    with pytest.raises(RuntimeError, match="binary_cross_entropy: weight of shape"):
        F.binary_cross_entropy(x, t, cr.ones(2, 3, 4))
    with pytest.raises(TypeError, match="'weight' must be Tensor"):
        F.binary_cross_entropy(x, t, 2.0)


def test_range_checks_stay():
    with pytest.raises(ValueError, match="input should be between 0 and 1"):
        F.binary_cross_entropy(cr.tensor([1.5]), cr.tensor([1.0]))
    with pytest.raises(ValueError, match="target should be between 0 and 1"):
        F.binary_cross_entropy(cr.tensor([0.5]), cr.tensor([-0.5]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("wshape", [None, (4,), (3, 1)])
def test_gradcheck_and_gradgradcheck(reduction, wshape):
    x = cr.tensor(RNG.uniform(0.1, 0.9, (3, 4)), requires_grad=True)
    t = cr.tensor(RNG.uniform(0, 1, (3, 4)), requires_grad=True)
    w = None if wshape is None else cr.tensor(RNG.uniform(0.5, 2, wshape))

    def fn(a, b):
        return F.binary_cross_entropy(a, b, w, reduction=reduction)

    assert cr.autograd.gradcheck(fn, (x, t))
    assert cr.autograd.gradgradcheck(fn, (x, t))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_double_backward_matches_torch(reduction):
    x, t, w = RNG.uniform(0.1, 0.9, (3, 4)), RNG.uniform(0, 1, (3, 4)), RNG.uniform(0.5, 2, (4,))
    res = []
    for lib, fn in ((cr, F.binary_cross_entropy), (torch, TF.binary_cross_entropy)):
        xt, tt = lib.tensor(x, requires_grad=True), lib.tensor(t, requires_grad=True)
        out = fn(xt, tt, lib.tensor(w), reduction=reduction)
        gx, gt = lib.autograd.grad(out.sum(), (xt, tt), create_graph=True)
        hx = lib.autograd.grad((gx * gx).sum() + (gt * xt).sum(), (xt, tt))
        res.append([a.detach().numpy() for a in (gx, gt, *hx)])
    for g, e in zip(*res):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("which", ["input", "target", "both"])
def test_jvp_matches_torch_forward_ad(reduction, which):
    x, t, w = RNG.uniform(0.1, 0.9, (3, 4)), RNG.uniform(0, 1, (3, 4)), RNG.uniform(0.5, 2, (4,))
    vx, vt = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))

    def tangents(lib):
        return {
            "input": ((lib.tensor(x),), (lib.tensor(vx),)),
            "target": ((lib.tensor(t),), (lib.tensor(vt),)),
            "both": ((lib.tensor(x), lib.tensor(t)), (lib.tensor(vx), lib.tensor(vt))),
        }[which]

    def make(lib, fn):
        def call(*a):
            xa = a[0] if which != "target" else lib.tensor(x)
            ta = a[-1] if which != "input" else lib.tensor(t)
            return fn(xa, ta, lib.tensor(w), reduction=reduction)

        return call

    _, got = cr.func.jvp(make(cr, F.binary_cross_entropy), *tangents(cr))
    _, want = torch.func.jvp(make(torch, TF.binary_cross_entropy), *tangents(torch))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_vmap_matches_a_loop(reduction):
    x, t = RNG.uniform(0.1, 0.9, (5, 3, 4)), RNG.uniform(0, 1, (5, 3, 4))
    w = cr.tensor(RNG.uniform(0.5, 2, (4,)))

    def fn(a, b):
        return F.binary_cross_entropy(a, b, w, reduction=reduction)

    got = cr.func.vmap(fn)(cr.tensor(x), cr.tensor(t))
    want = np.stack([fn(cr.tensor(a), cr.tensor(b)).numpy() for a, b in zip(x, t)])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    g = cr.func.vmap(cr.func.grad(lambda a, b: fn(a, b).sum()))(cr.tensor(x), cr.tensor(t))
    gw = [
        cr.func.grad(lambda a, b: fn(a, b).sum())(cr.tensor(a), cr.tensor(b)) for a, b in zip(x, t)
    ]
    np.testing.assert_allclose(g.numpy(), np.stack([v.numpy() for v in gw]), rtol=1e-12)


def test_autocast_computes_in_float32():
    x = cr.tensor(_probs((3, 4))).to(cr.bfloat16)
    t = cr.tensor(RNG.uniform(0, 1, (3, 4)), dtype=cr.float32)
    with cr.autocast("cpu", dtype=cr.bfloat16):
        out = F.binary_cross_entropy(x, t)
        out16 = F.binary_cross_entropy(x.half(), t.half())
    assert out.dtype == cr.float32 and out16.dtype == cr.float32
    with torch.autocast("cpu", dtype=torch.bfloat16):
        want = TF.binary_cross_entropy(
            torch.tensor(x.float().numpy()).bfloat16(), torch.tensor(t.numpy())
        )
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-6)
