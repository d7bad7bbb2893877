"""Gradients of ``cr.masked``'s functions on dense inputs: against torch's (live, at every
element: masked-out elements get zero gradient in both) and ``cr.autograd.gradcheck`` in
float64, with fully masked-out slices in the masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

# (name, extra positional args after the input, keyword arguments)
CASES = [
    ("sum", (1,), {}),
    ("sum", (), {}),
    ("prod", (1,), {}),
    ("amax", (1,), {}),
    ("amin", (0,), {}),
    ("mean", (1,), {}),
    ("mean", ((0, 1),), {"keepdim": True}),
    ("var", (1,), {}),
    ("std", (0,), {"unbiased": False}),
    ("norm", (2.0, 1), {}),
    ("norm", (1, 0), {}),
    ("logsumexp", (1,), {}),
    ("median", (1,), {}),
    ("cumsum", (1,), {}),
    ("cumprod", (0,), {}),
    ("softmax", (1,), {}),
    ("log_softmax", (1,), {}),
    ("softmin", (0,), {}),
    ("normalize", (2.0, 1), {}),
]


def _inputs(seed: int):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 2.0, size=(3, 4)) * rng.choice([-1.0, 1.0], size=(3, 4))
    mask = rng.random((3, 4)) < 0.6
    mask[0, 0] = True
    mask[1] = False  # a fully masked-out row
    return x, mask


def _finite_upstream(out: np.ndarray) -> np.ndarray:
    """Ones where the output is finite (a NaN/inf output of an empty slice is cut off)."""
    return np.isfinite(out).astype(np.float64)


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", range(3))
def test_gradient_matches_torch(case, seed):
    name, args, kwargs = CASES[case]
    x, mask = _inputs(seed)
    xt = torch.tensor(x, requires_grad=True)
    yt = getattr(torch.masked, name)(xt, *args, mask=torch.tensor(mask), **kwargs)
    xc = cr.tensor(x, requires_grad=True)
    yc = getattr(cr.masked, name)(xc, *args, mask=cr.tensor(mask), **kwargs)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=1e-10)
    up = _finite_upstream(yt.detach().numpy()) * np.random.default_rng(9).uniform(
        0.5, 1.5, size=yt.shape
    )
    ut = torch.tensor(up)
    (gt,) = torch.autograd.grad(torch.where(ut != 0, yt, 0.0), xt, ut)
    uc = cr.tensor(up)
    yc_kept = cr.where(uc != 0, yc, cr.zeros_like(yc))
    yc_kept.backward(uc)
    # torch's var/std leak NaN gradients into slices with no degree of freedom left (0/0);
    # chainrule's are 0 there: the comparison is where torch's gradient is a number
    theirs, ours = gt.numpy(), xc.grad.numpy()
    finite = np.isfinite(theirs)
    assert finite.sum() >= 4
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-8, atol=1e-12)
    assert np.all(ours[~mask] == 0)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_gradcheck_float64(case):
    name, args, kwargs = CASES[case]
    x, _ = _inputs(4)
    mask = np.ones((3, 4), bool)  # every slice keeps 2+ elements: finite outputs and gradients
    mask[0, 1] = mask[2, 3] = False
    m = cr.tensor(mask)

    def fn(t):
        out = getattr(cr.masked, name)(t, *args, mask=m, **kwargs)
        return cr.where(cr.isfinite(out), out, cr.zeros_like(out))  # log_softmax's -inf

    assert cr.autograd.gradcheck(fn, (cr.tensor(x, requires_grad=True),))


def test_gradient_skips_masked_out_extremes():
    # the masked-out 10 is the plain maximum: the masked amax's gradient goes to the 3
    x = cr.tensor([[1.0, 10.0, 3.0]], requires_grad=True)
    cr.masked.amax(x, 1, mask=cr.tensor([[True, False, True]])).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 1.0]]
