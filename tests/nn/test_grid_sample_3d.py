"""Volumetric ``F.grid_sample`` (5-d input, (x, y, z) grids) against PyTorch, end to end:
``F.affine_grid`` + ``F.grid_sample`` (values and gradients in θ and the input), the identity
round trip, float32, double backward, the raw forms ``torch.grid_sampler`` /
``grid_sampler_3d``, nearest's ties and zero grid gradient, empty sizes, forward mode (which
PyTorch 2.13 lacks) and the errors. Values and gradients per mode x padding x align_corners
at random and exact points are in the op-spec table (tests/ops/op_specs_grid_sample.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.autograd.forward_ad as fwad
import chainrule.nn.functional as F

TF = torch.nn.functional


def _close(a, b, tol=1e-12):
    a = a.detach().numpy() if isinstance(a, cr.Tensor) else a
    np.testing.assert_allclose(a, b.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "mode,padding_mode,align_corners",
    [("bilinear", "zeros", False), ("bilinear", "reflection", True), ("nearest", "border", True)],
)
def test_affine_grid_then_grid_sample_matches_torch(mode, padding_mode, align_corners):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 3, 4, 5))
    theta = np.tile(np.eye(3, 4), (2, 1, 1)) + 0.3 * rng.standard_normal((2, 3, 4))
    size = (2, 3, 2, 3, 4)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    grads = []
    for lib, fn in ((cr, F), (torch, TF)):
        xt, tt = lib.tensor(x, requires_grad=True), lib.tensor(theta, requires_grad=True)
        grid = fn.affine_grid(tt, size, align_corners=align_corners)
        out = fn.grid_sample(xt, grid, **kw)
        assert tuple(out.shape) == (2, 3, 2, 3, 4)
        (out * out).sum().backward()
        grads.append((out, xt.grad, tt.grad))
    for a, b in zip(*grads):
        _close(a, b, 1e-11)
    if mode == "nearest":
        assert not np.any(grads[0][2].numpy())  # no gradient through the rounding
    else:
        assert np.any(grads[0][2].numpy())


@pytest.mark.parametrize("mode", ("bilinear", "nearest"))
@pytest.mark.parametrize("align_corners", (False, True))
def test_identity_theta_round_trip(mode, align_corners):
    x = cr.tensor(np.random.default_rng(1).standard_normal((1, 2, 3, 4, 5)))
    theta = cr.tensor(np.eye(3, 4)[None])
    grid = F.affine_grid(theta, (1, 2, 3, 4, 5), align_corners=align_corners)
    y = F.grid_sample(x, grid, mode=mode, align_corners=align_corners)
    np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=1e-12, atol=1e-12)


def test_axes_are_x_width_y_height_z_depth():
    """(x, y, z) = (W, H, D): the corners of an arange volume read its first / last index
    along each axis (align_corners=True puts ±1 on the corner voxels)."""
    vol = np.arange(2 * 3 * 4, dtype=np.float64).reshape(1, 1, 2, 3, 4)
    pts = np.array([[-1, -1, -1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64)
    g = pts.reshape(1, 1, 1, 4, 3)
    y = F.grid_sample(cr.tensor(vol), cr.tensor(g), align_corners=True)
    np.testing.assert_array_equal(y.numpy().ravel(), [0.0, 3.0, 8.0, 12.0])
    _close(y, TF.grid_sample(torch.tensor(vol), torch.tensor(g), align_corners=True))


def test_nearest_rounds_half_to_even_like_torch():
    vol = np.arange(5, dtype=np.float64).reshape(1, 1, 1, 1, 5)
    # align_corners=True: ix = (x + 1) * 2 -> 0.5, 1.5, 2.5, 3.5 (ties) and 1.25
    xs = np.array([-0.75, -0.25, 0.25, 0.75, -0.375])
    g = np.stack([xs, np.zeros(5), np.zeros(5)], -1).reshape(1, 1, 1, 5, 3)
    y = F.grid_sample(cr.tensor(vol), cr.tensor(g), mode="nearest", align_corners=True)
    np.testing.assert_array_equal(y.numpy().ravel(), [0.0, 2.0, 2.0, 4.0, 1.0])
    t = TF.grid_sample(torch.tensor(vol), torch.tensor(g), mode="nearest", align_corners=True)
    _close(y, t, 0)


@pytest.mark.parametrize("mode", ("bilinear", "nearest"))
def test_float32_matches_torch(mode):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 3, 3, 4)).astype(np.float32)
    g = rng.uniform(-1.3, 1.3, (1, 2, 2, 3, 3)).astype(np.float32)
    res = []
    for lib, fn in ((cr, F), (torch, TF)):
        xt, gt = lib.tensor(x, requires_grad=True), lib.tensor(g, requires_grad=True)
        out = fn.grid_sample(xt, gt, mode=mode, padding_mode="reflection", align_corners=False)
        (out * out).sum().backward()
        res.append((out, xt.grad, gt.grad))
    for a, b in zip(*res):
        assert a.dtype == cr.float32
        _close(a, b, 1e-5)


@pytest.mark.parametrize("mode", ("bilinear", "nearest"))
def test_double_backward_matches_torch(mode):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 2, 3, 4))
    g = rng.uniform(-1.3, 1.3, (1, 2, 1, 2, 3))
    res = []
    for lib, fn in ((cr, F), (torch, TF)):
        xt, gt = lib.tensor(x, requires_grad=True), lib.tensor(g, requires_grad=True)
        out = fn.grid_sample(xt, gt, mode=mode, padding_mode="border", align_corners=True)
        gx, gg = lib.autograd.grad((out**2).sum(), (xt, gt), create_graph=True)
        (gx.sum() + (gg * gg).sum()).backward()
        res.append((xt.grad, gt.grad))
    for a, b in zip(*res):
        _close(a, b, 1e-10)


@pytest.mark.parametrize("raw", ("grid_sampler", "grid_sampler_3d"))
def test_raw_forms_reach_the_3d_sampler(raw):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 2, 2, 3, 3))
    g = rng.uniform(-1.5, 1.5, (2, 1, 2, 2, 3))
    res = []
    for lib in (cr, torch):
        xt, gt = lib.tensor(x, requires_grad=True), lib.tensor(g, requires_grad=True)
        out = getattr(lib, raw)(xt, gt, 0, 2, False)  # bilinear, reflection
        assert out.grad_fn.name() == "GridSampler3DBackward0"
        out.sum().backward()
        res.append((out, xt.grad, gt.grad))
    for a, b in zip(*res):
        _close(a, b)


def test_empty_sizes_like_torch():
    for xs, gs in (
        ((0, 2, 2, 2, 2), (0, 1, 1, 1, 3)),
        ((1, 0, 2, 2, 2), (1, 1, 2, 1, 3)),
        ((1, 2, 2, 2, 2), (1, 0, 2, 1, 3)),
    ):
        x, g = cr.zeros(*xs, requires_grad=True), cr.zeros(*gs, requires_grad=True)
        y = F.grid_sample(x, g, align_corners=False)
        t = TF.grid_sample(torch.zeros(*xs), torch.zeros(*gs), align_corners=False)
        assert y.shape == tuple(t.shape)
        y.sum().backward()
        assert x.grad.shape == x.shape and g.grad.shape == g.shape


def test_forward_mode_matches_reverse_mode_where_torch_has_none():
    rng = np.random.default_rng(5)
    x, g = rng.standard_normal((1, 2, 2, 3, 3)), rng.uniform(-1.2, 1.2, (1, 1, 2, 2, 3))
    tx, tg = rng.standard_normal(x.shape), rng.standard_normal(g.shape)
    with fwad.dual_level():
        out = F.grid_sample(
            fwad.make_dual(cr.tensor(x), cr.tensor(tx)),
            fwad.make_dual(cr.tensor(g), cr.tensor(tg)),
            align_corners=False,
        )
        tangent = fwad.unpack_dual(out).tangent.numpy()
    xt, gt = cr.tensor(x, requires_grad=True), cr.tensor(g, requires_grad=True)
    u = rng.standard_normal(tangent.shape)
    (F.grid_sample(xt, gt, align_corners=False) * cr.tensor(u)).sum().backward()
    lhs = (tangent * u).sum()
    rhs = (xt.grad.numpy() * tx).sum() + (gt.grad.numpy() * tg).sum()
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)
    with pytest.raises(NotImplementedError, match="forward AD"):  # PyTorch 2.13 has none
        with torch.autograd.forward_ad.dual_level():
            TF.grid_sample(
                torch.autograd.forward_ad.make_dual(torch.tensor(x), torch.tensor(tx)),
                torch.tensor(g),
                align_corners=False,
            )


def _err(lib, call):
    with pytest.raises(Exception) as info:
        call(lib)
    return info.value


@pytest.mark.parametrize(
    "call,fragment",
    [
        (
            lambda m: m.grid_sample(m.zeros(1, 1, 2, 2, 2), m.zeros(1, 1, 1, 1, 2)),
            "expected grid to have size 3 in last dimension",
        ),
        (
            lambda m: m.grid_sample(m.zeros(1, 1, 2, 2, 2), m.zeros(2, 1, 1, 1, 3)),
            "expected grid and input to have same batch size",
        ),
        (
            lambda m: m.grid_sample(m.zeros(1, 1, 0, 2, 2), m.zeros(1, 1, 1, 1, 3)),
            "expected input to have non-empty spatial dimensions",
        ),
        (
            lambda m: m.grid_sample(m.zeros(1, 1, 2, 2, 2), m.zeros(1, 1, 1, 1, 3), "bicubic"),
            "bicubic interpolation only supports 4D input",
        ),
        (lambda m: m.grid_sample(m.zeros(1, 1, 2, 2, 2), m.zeros(1, 1, 1, 3)), "expected"),
        (
            lambda m: m.grid_sample(m.zeros(1, 1, 2, 2, 2), m.zeros(1, 1, 1, 1, 3, dtype=m.f64)),
            "",
        ),
        (
            lambda m: m.grid_sample(
                m.zeros(1, 1, 2, 2, 2, dtype=m.i64), m.zeros(1, 1, 1, 1, 3, dtype=m.i64)
            ),
            "not implemented",
        ),
        (
            lambda m: m.raw.grid_sampler_3d(m.zeros(1, 1, 2, 2), m.zeros(1, 1, 1, 2), 0, 0, False),
            "expected 5D input and grid with same number of dimensions",
        ),
        (
            lambda m: m.raw.grid_sampler_3d(
                m.zeros(1, 1, 2, 2, 2), m.zeros(1, 1, 1, 1, 3), 2, 0, False
            ),
            "bicubic interpolation only supports 4D input",
        ),
        (
            lambda m: m.raw.grid_sampler_2d(
                m.zeros(1, 1, 2, 2, 2), m.zeros(1, 1, 1, 1, 3), 0, 0, False
            ),
            "expected 4D input and grid with same number of dimensions",
        ),
    ],
)
def test_errors_match_torch(call, fragment):
    """The same exception type as PyTorch, with PyTorch's wording where given."""

    class _Lib:
        def __init__(self, lib, fn):
            self.zeros, self.raw, self.f64, self.i64 = lib.zeros, lib, lib.float64, lib.int64
            self.fn = fn

        def grid_sample(self, *a):
            return self.fn.grid_sample(*a, align_corners=False)

    ours, theirs = _err(_Lib(cr, F), call), _err(_Lib(torch, TF), call)
    assert isinstance(ours, type(theirs)), (ours, theirs)
    assert fragment in str(ours) and fragment in str(theirs)
    assert "grid_sample" in str(ours)
