"""``F.grid_sample`` / ``F.affine_grid`` against PyTorch: values and gradients (input and grid)
for every mode x padding_mode x align_corners, grids far outside [-1, 1], the identity round
trip, float32, the align_corners warning, double backward and the unsupported cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

MODES = ("bilinear", "nearest", "bicubic")
PADS = ("zeros", "border", "reflection")


def _both(x: np.ndarray, g: np.ndarray, **kw):
    """(chainrule, torch) outputs and gradients for upstream gradient u."""
    u = (
        np.random.default_rng(7)
        .standard_normal((x.shape[0], x.shape[1], g.shape[1], g.shape[2]))
        .astype(x.dtype)
    )
    cx, cg = cr.tensor(x, requires_grad=True), cr.tensor(g, requires_grad=True)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    co = F.grid_sample(cx, cg, **kw)
    to = torch.nn.functional.grid_sample(tx, tg, **kw)
    co.backward(cr.tensor(u))
    to.backward(torch.tensor(u))
    return (co, cx.grad, cg.grad), (to, tx.grad, tg.grad)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding_mode", PADS)
@pytest.mark.parametrize("align_corners", (False, True))
@pytest.mark.parametrize("spread", (1.0, 3.5))
def test_values_and_gradients_match_torch(mode, padding_mode, align_corners, spread):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 7))
    g = rng.uniform(-spread, spread, (2, 4, 6, 2))  # spread 3.5: many reflections / clamps
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    ours, theirs = _both(x, g, **kw)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    if mode == "nearest":
        assert not np.any(ours[2].numpy())
    else:
        assert np.any(ours[2].numpy())  # zero grid gradient, as PyTorch


@pytest.mark.parametrize("mode", MODES)
def test_float32_matches_torch(mode):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    g = rng.uniform(-1.2, 1.2, (1, 3, 3, 2)).astype(np.float32)
    ours, theirs = _both(x, g, mode=mode, padding_mode="reflection", align_corners=False)
    for a, b in zip(ours, theirs):
        assert a.dtype == cr.float32
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("align_corners", (False, True))
@pytest.mark.parametrize("mode", MODES)
def test_identity_theta_round_trip(align_corners, mode):
    x = cr.tensor(np.random.default_rng(2).standard_normal((2, 3, 5, 6)))
    theta = cr.tensor(np.tile(np.eye(2, 3), (2, 1, 1)))
    grid = F.affine_grid(theta, (2, 3, 5, 6), align_corners=align_corners)
    y = F.grid_sample(x, grid, mode=mode, align_corners=align_corners)
    np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("align_corners", (False, True))
@pytest.mark.parametrize("size", ((2, 3, 4, 5), (2, 1, 1, 3), (2, 1, 3, 4, 2)))
def test_affine_grid_matches_torch(align_corners, size):
    k = len(size) - 2
    th = np.random.default_rng(3).standard_normal((2, k, k + 1))
    ct, tt = cr.tensor(th, requires_grad=True), torch.tensor(th, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cgrid = F.affine_grid(ct, size, align_corners=align_corners)
        tgrid = torch.nn.functional.affine_grid(tt, size, align_corners=align_corners)
    np.testing.assert_allclose(
        cgrid.detach().numpy(), tgrid.detach().numpy(), rtol=1e-12, atol=1e-14
    )
    u = np.random.default_rng(4).standard_normal(tuple(tgrid.shape))
    cgrid.backward(cr.tensor(u))
    tgrid.backward(torch.tensor(u))
    np.testing.assert_allclose(ct.grad.numpy(), tt.grad.numpy(), rtol=1e-12)


def test_align_corners_none_warns_like_torch():
    x, g = cr.zeros(1, 1, 2, 2), cr.zeros(1, 1, 1, 2)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        y = F.grid_sample(x, g)
    assert y.shape == (1, 1, 1, 1)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(cr.zeros(1, 2, 3), (1, 1, 2, 2))
    with pytest.warns(UserWarning, match="unit-size grids"):
        F.affine_grid(cr.zeros(1, 2, 3), (1, 1, 1, 2), align_corners=True)


@pytest.mark.parametrize("mode", MODES)
def test_double_backward_matches_torch(mode):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2, 4, 5))
    g = rng.uniform(-1.3, 1.3, (1, 3, 2, 2))
    res = []
    for lib in (cr, torch):
        xt = lib.tensor(x, requires_grad=True)
        gt = lib.tensor(g, requires_grad=True)
        fn = F.grid_sample if lib is cr else torch.nn.functional.grid_sample
        out = fn(xt, gt, mode=mode, padding_mode="border", align_corners=True)
        gx, gg = lib.autograd.grad((out**2).sum(), (xt, gt), create_graph=True)
        (gx.sum() + (gg * gg).sum()).backward()
        res.append((xt.grad.numpy(), gt.grad.numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_empty_batch_and_channels_like_torch():
    assert F.grid_sample(cr.zeros(0, 3, 4, 5), cr.zeros(0, 2, 2, 2), align_corners=False).shape == (
        0,
        3,
        2,
        2,
    )
    assert F.grid_sample(cr.zeros(2, 0, 4, 5), cr.zeros(2, 2, 2, 2), align_corners=False).shape == (
        2,
        0,
        2,
        2,
    )


def test_non_finite_grid_does_not_crash():
    """A non-finite point gives NaN under bilinear zeros padding (PyTorch's 2-d CPU kernel
    multiplies its NaN weights in; tests/test_parity_session23.py covers every mode); huge
    finite ones read 0, as PyTorch."""
    g = cr.tensor(np.array([[[[np.inf, 0.0], [1e30, -1e30]]]]))
    y = F.grid_sample(cr.ones(1, 1, 3, 3, dtype=cr.float64), g, align_corners=False)
    t = torch.nn.functional.grid_sample(
        torch.ones(1, 1, 3, 3, dtype=torch.float64), torch.tensor(g.numpy()), align_corners=False
    )
    assert np.isnan(y.numpy()[0, 0, 0, 0]) and np.isnan(t.numpy()[0, 0, 0, 0])
    assert y.numpy()[0, 0, 0, 1] == t.numpy()[0, 0, 0, 1] == 0.0


@pytest.mark.parametrize(
    "call,torch_error",
    [
        (lambda m: m.grid_sample(m.zeros(2, 3, 4, 5), m.zeros(2, 3, 4, 3)), RuntimeError),
        (lambda m: m.grid_sample(m.zeros(2, 3, 4, 5), m.zeros(1, 3, 4, 2)), RuntimeError),
        (lambda m: m.grid_sample(m.zeros(3, 4, 5), m.zeros(3, 4, 2)), RuntimeError),
        (lambda m: m.grid_sample(m.zeros(2, 3, 4, 5), m.zeros(2, 3, 2)), RuntimeError),
        (lambda m: m.grid_sample(m.zeros(2, 3, 4, 5), m.zeros(2, 3, 4, 2), mode="x"), ValueError),
        (
            lambda m: m.grid_sample(m.zeros(2, 3, 4, 5), m.zeros(2, 3, 4, 2), padding_mode="x"),
            ValueError,
        ),
        (lambda m: m.affine_grid(m.zeros(2, 3, 3), (2, 3, 4, 5)), ValueError),
        (lambda m: m.affine_grid(m.zeros(2, 2, 3), (2, 3, 4)), NotImplementedError),
        (lambda m: m.affine_grid(m.zeros(2, 2, 3), (2, 3, 0, 5)), ValueError),
        (lambda m: m.affine_grid(m.zeros(3, 2, 3), (2, 3, 4, 5)), RuntimeError),
    ],
)
def test_bad_inputs_raise_like_torch(call, torch_error):
    class _Torch:
        zeros = staticmethod(torch.zeros)

        @staticmethod
        def grid_sample(*a, **kw):
            return torch.nn.functional.grid_sample(*a, align_corners=False, **kw)

        @staticmethod
        def affine_grid(*a, **kw):
            return torch.nn.functional.affine_grid(*a, align_corners=False, **kw)

    class _Cr:
        zeros = staticmethod(cr.zeros)

        @staticmethod
        def grid_sample(*a, **kw):
            return F.grid_sample(*a, align_corners=False, **kw)

        @staticmethod
        def affine_grid(*a, **kw):
            return F.affine_grid(*a, align_corners=False, **kw)

    with pytest.raises(torch_error):
        call(_Torch)
    with pytest.raises(torch_error, match="grid"):
        call(_Cr)


def test_bicubic_5d_raises_like_torch():
    with pytest.raises(RuntimeError, match="bicubic"):  # PyTorch's error for 5-d bicubic
        F.grid_sample(
            cr.zeros(1, 1, 2, 2, 2), cr.zeros(1, 1, 1, 1, 3), "bicubic", align_corners=False
        )
