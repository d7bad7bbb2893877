"""F.interpolate / nn.Upsample against PyTorch: values and input gradients, every mode."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

SHAPES = {
    "nearest": (2, 3, 5),
    "nearest-exact": (1, 2, 5, 7),
    "linear": (2, 3, 5),
    "bilinear": (1, 2, 5, 7),
    "bicubic": (1, 2, 5, 7),
    "trilinear": (1, 1, 3, 4, 5),
    "area": (1, 2, 7, 9),
}
GEOMETRY = [
    dict(size=4),
    dict(size=11),
    dict(scale_factor=2),
    dict(scale_factor=1.7),
    dict(scale_factor=0.45),
    dict(scale_factor=2.3, recompute_scale_factor=True),
    dict(scale_factor=0.6, recompute_scale_factor=True),
]
CASES = [
    (m, g, ac)
    for m in SHAPES
    for g in GEOMETRY
    for ac in ([None] if m in ("nearest", "nearest-exact", "area") else [False, True])
]


def _run(mode, shape, kw, align_corners, dtype, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape).astype(dtype)
    xt, xc = torch.tensor(a, requires_grad=True), cr.tensor(a, requires_grad=True)
    yt = torch.nn.functional.interpolate(xt, mode=mode, align_corners=align_corners, **kw)
    yc = F.interpolate(xc, mode=mode, align_corners=align_corners, **kw)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.tensor(g))
    yc.backward(cr.tensor(g))
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert yc.shape == tuple(yt.shape)
    np.testing.assert_allclose(yc.data, yt.detach().numpy(), atol=tol, rtol=tol)
    np.testing.assert_allclose(xc.grad.data, xt.grad.numpy(), atol=tol, rtol=tol)


@pytest.mark.parametrize(
    "mode, kw, align_corners",
    CASES,
    ids=[f"{m}-{i}-{a}" for m, i, a in ((m, GEOMETRY.index(g), a) for m, g, a in CASES)],
)
def test_matches_torch_float64(mode, kw, align_corners):
    _run(mode, SHAPES[mode], kw, align_corners, np.float64)


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
@pytest.mark.parametrize(
    "kw", [dict(scale_factor=1.3), dict(size=(3, 13)), dict(scale_factor=(0.7, 2.6))]
)
def test_matches_torch_float32_coordinates(mode, kw):
    # float32 input: coordinates are computed in float32, so nearest picks the same pixels.
    _run(mode, (1, 2, 6, 5), kw, None if mode == "nearest" else False, np.float32, seed=1)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize(
    "shape, kw",
    [
        ((1, 2, 9, 11), dict(size=(4, 5))),
        ((1, 1, 9, 11), dict(scale_factor=0.37)),
        ((2, 1, 5, 6), dict(size=(9, 13))),
        ((1, 1, 12, 7), dict(size=(5, 7))),
    ],
)
def test_antialias_matches_torch(mode, align_corners, shape, kw):
    _run(mode, shape, dict(kw, antialias=True), align_corners, np.float64)


@pytest.mark.parametrize(
    "mode, shape",
    [("bilinear", (2, 3, 5, 7)), ("bicubic", (1, 2, 6, 5)), ("trilinear", (1, 2, 3, 4, 5))],
)
def test_single_gemm_path_for_large_outputs(monkeypatch, mode, shape):
    monkeypatch.setattr(importlib.import_module("chainrule.ops.interp_taps"), "_GEMM_THRESHOLD", 0)
    _run(mode, shape, dict(scale_factor=1.7), True, np.float64)


def test_per_dim_size_and_scale_and_5d_nearest():
    _run("bilinear", (1, 1, 4, 6), dict(size=(7, 3)), True, np.float64)
    _run("nearest", (1, 2, 3, 4, 5), dict(scale_factor=(2.0, 0.5, 1.5)), None, np.float64)


@pytest.mark.parametrize(
    "mode, shape",
    [
        ("linear", (1, 2, 4)),
        ("bilinear", (1, 1, 3, 4)),
        ("bicubic", (1, 1, 3, 3)),
        ("area", (1, 1, 5, 4)),
    ],
)
def test_gradcheck_and_gradgradcheck(mode, shape):
    x = cr.tensor(np.random.default_rng(2).standard_normal(shape), requires_grad=True)
    ac = None if mode == "area" else True

    def fn(t):
        return F.interpolate(t, scale_factor=1.5, mode=mode, align_corners=ac)

    assert cr.autograd.gradcheck(fn, (x,))
    assert cr.autograd.gradgradcheck(fn, (x,))


def test_forward_mode_jvp_matches_vjp():
    x = cr.tensor(np.random.default_rng(3).standard_normal((1, 1, 3, 4)))
    v = cr.tensor(np.random.default_rng(4).standard_normal((1, 1, 3, 4)))

    def fn(t):
        return F.interpolate(t, size=(5, 6), mode="bicubic", align_corners=False)

    _, tangent = cr.func.jvp(fn, (x,), (v,))
    # a linear map: its jvp is the map applied to v
    np.testing.assert_allclose(tangent.data, fn(v).data, atol=1e-12)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
def test_upsample_module_matches_torch(mode):
    a = np.random.default_rng(5).standard_normal((2, 3, 4, 5))
    ac = None if mode == "nearest" else True
    mt = torch.nn.Upsample(scale_factor=(2, 1.5), mode=mode, align_corners=ac)
    mc = cr.nn.Upsample(scale_factor=(2, 1.5), mode=mode, align_corners=ac)
    np.testing.assert_allclose(mc(cr.tensor(a)).data, mt(torch.tensor(a)).numpy(), atol=1e-12)
    assert repr(mc) == repr(mt)


def test_legacy_upsampling_layers():
    a = np.random.default_rng(6).standard_normal((1, 2, 3, 4))
    for name in ("UpsamplingNearest2d", "UpsamplingBilinear2d"):
        yt = getattr(torch.nn, name)(scale_factor=2)(torch.tensor(a)).numpy()
        yc = getattr(cr.nn, name)(scale_factor=2)(cr.tensor(a)).data
        np.testing.assert_allclose(yc, yt, atol=1e-12)
    with pytest.warns(UserWarning, match="deprecated"):
        yt = torch.nn.functional.upsample_bilinear(torch.tensor(a), size=(5, 7)).numpy()
    with pytest.warns(UserWarning, match="deprecated"):
        yc = F.upsample_bilinear(cr.tensor(a), size=(5, 7)).data
    np.testing.assert_allclose(yc, yt, atol=1e-12)


BAD = [
    (dict(size=3, scale_factor=2.0), ValueError),
    (dict(), ValueError),
    (dict(size=(3, 4, 5)), ValueError),
    (dict(size=3, mode="nearest", align_corners=True), ValueError),
    (dict(size=3, mode="linear"), NotImplementedError),
    (dict(size=3, mode="cubic"), NotImplementedError),
    (dict(size=3, mode="area", antialias=True), ValueError),
    (dict(size=3, mode="nearest", antialias=True), ValueError),
    (dict(size=3, recompute_scale_factor=True), ValueError),
    (dict(scale_factor=0.1), RuntimeError),
]


@pytest.mark.parametrize("kw, err", BAD)
def test_errors(kw, err):
    a = np.zeros((1, 1, 4, 4))
    with pytest.raises(err) as expected:  # torch raises the same error type
        torch.nn.functional.interpolate(torch.tensor(a), **kw)
    with pytest.raises(err) as got:
        F.interpolate(cr.tensor(a), **kw)
    if kw.get("mode") != "cubic" and kw != {"scale_factor": 0.1}:  # (chainrule's own texts)
        assert str(got.value) == str(expected.value)  # PyTorch's text (session 41)


def test_integer_input_needs_float_for_linear_modes():
    x = cr.tensor(np.arange(16).reshape(1, 1, 4, 4))
    with pytest.raises(NotImplementedError, match="nearest"):  # PyTorch 2.13: no int64 kernel
        F.interpolate(x, scale_factor=2)
    assert F.interpolate(x.to(cr.uint8), scale_factor=2).dtype == cr.uint8
    with pytest.raises(RuntimeError, match="floating-point"):
        F.interpolate(x, scale_factor=2, mode="bilinear")
