"""bfloat16 in the losses against PyTorch's CPU: results in bfloat16 within 1 bfloat16 ulp
of torch's (computed in float32, rounded once), gradients reaching the bfloat16 inputs, a
float32 argument promoting the result to float32, and CPU autocast returning float32 (the
losses are on its float32 list)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F

B = cr.bfloat16
RNG = np.random.default_rng(1)
X = RNG.standard_normal((3, 4)).astype(np.float32)
P = RNG.uniform(0.05, 0.95, (3, 4)).astype(np.float32)
Y = RNG.uniform(0.0, 1.0, (3, 4)).astype(np.float32)
IDX = np.array([0, 3, 1])
SIGN = np.array([1, -1, 1])

# name -> (x, y, call(lib, F, x, y))
CASES = {
    "mse_loss": (X, Y, lambda L, f, x, y: f.mse_loss(x, y)),
    "mse_loss_none": (X, Y, lambda L, f, x, y: f.mse_loss(x, y, reduction="none")),
    "l1_loss": (X, Y, lambda L, f, x, y: f.l1_loss(x, y, reduction="sum")),
    "smooth_l1_loss": (X, Y, lambda L, f, x, y: f.smooth_l1_loss(x, y, beta=0.5)),
    "huber_loss": (X, Y, lambda L, f, x, y: f.huber_loss(x, y, delta=0.7)),
    "bce": (P, Y, lambda L, f, x, y: f.binary_cross_entropy(x, y)),
    "bce_logits": (X, Y, lambda L, f, x, y: f.binary_cross_entropy_with_logits(x, y)),
    "kl_div": (X, Y, lambda L, f, x, y: f.kl_div(x, y, reduction="batchmean")),
    "cosine_embedding": (
        X,
        Y,
        lambda L, f, x, y: f.cosine_embedding_loss(x, y, L.tensor(SIGN)),
    ),
    "cross_entropy": (X, None, lambda L, f, x, y: f.cross_entropy(x, L.tensor(IDX))),
    "cross_entropy_probs": (X, Y, lambda L, f, x, y: f.cross_entropy(x, y)),
    "nll_loss": (X, None, lambda L, f, x, y: f.nll_loss(x, L.tensor(IDX))),
}


def _pair(a, requires_grad=False):
    c = cr.tensor(a).to(B)
    t = torch.tensor(a).to(torch.bfloat16)
    if requires_grad:
        c.requires_grad_()
        t.requires_grad_()
    return c, t


def _within_ulp(got: np.ndarray, want: np.ndarray) -> None:
    """``got`` within 1 bfloat16 ulp of ``want`` (bfloat16 values read as float32)."""
    ulp = np.exp2(np.floor(np.log2(np.maximum(np.abs(want), 1e-30))) - 7)
    assert np.all(np.abs(got - want) <= ulp), (got, want)


@pytest.mark.parametrize("name", list(CASES))
def test_bfloat16_loss_values_and_gradients(name):
    """Values within 1 ulp of torch's bfloat16 result. Gradients arrive in bfloat16 and are
    within 1 ulp of torch's float32 gradient at the same (bfloat16) values: PyTorch's own
    bfloat16 backward rounds in between (e.g. sigmoid(x) - y), chainrule rounds once."""
    x, y, call = CASES[name]
    grad_y = y is not None and name != "bce"  # torch: no derivative for bce's target
    xc, xt = _pair(x, requires_grad=True)
    yc, yt = (None, None) if y is None else _pair(y, requires_grad=grad_y)
    rc, rt = call(cr, F, xc, yc), call(torch, TF, xt, yt)
    assert rc.dtype == B and rt.dtype == torch.bfloat16
    _within_ulp(rc.detach().float().numpy(), rt.detach().float().numpy())
    xf = xt.detach().float().requires_grad_()
    yf = None if y is None else yt.detach().float().requires_grad_(grad_y)
    rc.sum().backward()
    call(torch, TF, xf, yf).sum().backward()
    assert xc.grad.dtype == B
    _within_ulp(xc.grad.float().numpy(), xf.grad.bfloat16().float().numpy())
    if grad_y:
        assert yc.grad.dtype == B
        _within_ulp(yc.grad.float().numpy(), yf.grad.bfloat16().float().numpy())


@pytest.mark.parametrize("name", ["mse_loss", "kl_div", "bce_logits", "cross_entropy_probs"])
def test_bfloat16_with_float32_promotes(name):
    x, y, call = CASES[name]
    xc, xt = _pair(x)
    rc = call(cr, F, xc, cr.tensor(y))
    rt = call(torch, TF, xt, torch.tensor(y))
    assert rt.dtype == torch.float32 and rc.dtype == cr.float32
    # torch's composite rounds some intermediates (log_softmax, softplus of the bfloat16
    # input) to bfloat16 before promoting; chainrule computes in float32 throughout
    np.testing.assert_allclose(rc.numpy(), rt.numpy(), rtol=2.0**-8)


@pytest.mark.parametrize("name", ["cross_entropy", "mse_loss", "bce_logits", "nll_loss"])
def test_autocast_returns_float32(name):
    x, y, call = CASES[name]
    xc, xt = _pair(x, requires_grad=True)
    yc, yt = (None, None) if y is None else _pair(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's autocast notices, if any
        with torch.autocast("cpu"):
            rt = call(torch, TF, xt, yt)
    with cr.autocast("cpu"):
        rc = call(cr, F, xc, yc)
    assert rt.dtype == torch.float32 and rc.dtype == cr.float32
    np.testing.assert_allclose(rc.detach().numpy(), rt.detach().numpy(), rtol=1e-6)
    rc.backward()
    rt.backward()
    assert xc.grad.dtype == B
    np.testing.assert_array_equal(xc.grad.float().numpy(), xt.grad.float().numpy())


_F = torch.rand(3, 4).numpy()
_W = torch.rand(4).numpy()


@pytest.mark.parametrize(
    "call",
    [
        lambda L, f, b: f.binary_cross_entropy(b(P), L.tensor(Y)),
        lambda L, f, b: f.binary_cross_entropy(L.tensor(P), b(Y)),
        lambda L, f, b: f.cross_entropy(b(X), L.tensor(IDX), weight=L.tensor(_W)),
        lambda L, f, b: f.nll_loss(L.tensor(X), L.tensor(IDX), weight=b(_W)),
    ],
    ids=["bce_input", "bce_target", "cross_entropy_weight", "nll_loss_weight"],
)
def test_mixed_dtypes_refused_as_torch(call):
    with pytest.raises(RuntimeError):
        call(torch, TF, lambda a: torch.tensor(a).bfloat16())
    with pytest.raises(RuntimeError, match="same dtype|Found dtype"):  # (bce: torch's words)
        call(cr, F, lambda a: cr.tensor(a).to(B))


def test_bce_float32_weight_keeps_bfloat16():
    pc, pt = _pair(P)
    yc, yt = _pair(Y)
    rc = F.binary_cross_entropy(pc, yc, weight=cr.tensor(_F))
    rt = TF.binary_cross_entropy(pt, yt, weight=torch.tensor(_F))
    assert rc.dtype == B and rt.dtype == torch.bfloat16
    _within_ulp(rc.float().numpy(), rt.float().numpy())
