"""Parity with PyTorch 2.13 on small behaviours (session 23): grid_sample at non-finite grid
points, pooling an input smaller than the kernel, interpolate on integer tensors, where the
conv layers refuse a bad stride/padding/dilation, MultiheadAttention's dropout, trigamma at
its poles and complex logcumsumexp."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F

_INF, _NAN = float("inf"), float("nan")


# ------------------------------------------------------------------ grid_sample, non-finite
def _grid_points(k: int) -> np.ndarray:
    """Points with one or every coordinate non-finite, and one finite point."""
    pts = []
    for v in (_NAN, _INF, -_INF):
        for a in range(k):
            p = [0.3] * k
            p[a] = v
            pts.append(p)
        pts.append([v] * k)
    pts.append([0.3] * k)
    return np.array(pts)


def _propagates_nan(mode: str, padding: str) -> bool:
    """The cases where PyTorch's rule is NaN in, NaN out (2-d bilinear with zeros padding,
    2-d bicubic with any padding); elsewhere its 3-d and nearest kernels read 0."""
    return mode == "bicubic" or (mode == "bilinear" and padding == "zeros")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("mode", "padding", "align"),
    list(itertools.product(["bilinear", "nearest", "bicubic"], ["zeros"], [False, True]))
    + [("bicubic", p, a) for p in ("border", "reflection") for a in (False, True)],
)
def test_grid_sample_2d_non_finite_points_match_torch(mode, padding, align, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5)).astype(dtype)
    pts = _grid_points(2).astype(dtype)
    grid = np.broadcast_to(pts.reshape(1, 1, -1, 2), (2, 1, len(pts), 2)).copy()
    kw = dict(mode=mode, padding_mode=padding, align_corners=align)
    t = TF.grid_sample(torch.tensor(x), torch.tensor(grid), **kw).numpy()
    c = F.grid_sample(cr.tensor(x), cr.tensor(grid), **kw).numpy()
    np.testing.assert_allclose(c, t, rtol=1e-5, atol=1e-6, equal_nan=True)
    if _propagates_nan(mode, padding):
        assert np.isnan(c[..., :-1]).all()  # every non-finite point
    assert np.isfinite(c[..., -1]).all()


@pytest.mark.parametrize(("mode", "align"), itertools.product(["bilinear", "nearest"], [0, 1]))
def test_grid_sample_3d_non_finite_points_read_zero_as_torch(mode, align):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 3, 4, 5)).astype(np.float32)
    pts = _grid_points(3).astype(np.float32)
    grid = pts.reshape(1, 1, 1, -1, 3)
    kw = dict(mode=mode, padding_mode="zeros", align_corners=bool(align))
    t = TF.grid_sample(torch.tensor(x), torch.tensor(grid), **kw).numpy()
    c = F.grid_sample(cr.tensor(x), cr.tensor(grid), **kw).numpy()
    np.testing.assert_allclose(c, t, rtol=1e-5, atol=1e-6)
    assert (c[..., :-1] == 0).all()


def test_grid_sample_nan_points_leave_finite_points_and_their_gradients_alone():
    """A NaN point is NaN in the output but the other points' values and gradients (input
    and grid) are torch's, and the input gradient gets nothing from the NaN point."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 4, 5))
    grid = rng.uniform(-1, 1, (1, 2, 3, 2))
    grid[0, 0, 1] = [_NAN, 0.2]
    g = rng.standard_normal((1, 2, 2, 3))
    finite = np.ones((1, 2, 2, 3), bool)
    finite[:, :, 0, 1] = False
    gz = np.where(finite, g, 0.0)  # the gradient is only asked of the finite points
    xt = torch.tensor(x, requires_grad=True)
    gt = torch.tensor(grid, requires_grad=True)
    yt = TF.grid_sample(xt, gt, align_corners=False)
    yt.backward(torch.tensor(gz))
    xc = cr.tensor(x, requires_grad=True)
    gc = cr.tensor(grid, requires_grad=True)
    yc = F.grid_sample(xc, gc, align_corners=False)
    yc.backward(cr.tensor(gz))
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), equal_nan=True)
    assert np.isnan(yc.detach().numpy()[:, :, 0, 1]).all()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(gc.grad.numpy()[0, 1], gt.grad.numpy()[0, 1], atol=1e-12)


# ------------------------------------------------------------------ pooling, too small input
@pytest.mark.parametrize(
    ("name", "shape", "kw"),
    [
        ("avg_pool1d", (1, 1, 2), {"kernel_size": 3}),
        ("max_pool1d", (1, 1, 2), {"kernel_size": 3}),
        ("avg_pool2d", (1, 1, 2, 2), {"kernel_size": 3}),
        ("max_pool2d", (1, 1, 2, 2), {"kernel_size": 3}),
        ("max_pool2d", (1, 1, 4, 4), {"kernel_size": 3, "dilation": 2}),
        ("max_pool2d", (1, 1, 2, 2), {"kernel_size": 3, "return_indices": True}),
        ("avg_pool2d", (1, 2, 2), {"kernel_size": 3}),
        ("avg_pool3d", (1, 1, 2, 2, 2), {"kernel_size": 3}),
        ("max_pool3d", (1, 1, 2, 2, 2), {"kernel_size": 3}),
        ("lp_pool1d", (1, 1, 2), {"norm_type": 2, "kernel_size": 3}),
        ("lp_pool2d", (1, 1, 2, 2), {"norm_type": 2, "kernel_size": 3}),
    ],
)
def test_pooling_an_input_smaller_than_the_kernel_raises_runtime_error(name, shape, kw):
    x = np.ones(shape, np.float32)
    with pytest.raises(RuntimeError):
        getattr(TF, name)(torch.tensor(x), **kw)
    with pytest.raises(RuntimeError, match=r"too small"):
        getattr(F, name)(cr.tensor(x), **kw)


@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_pooling_to_a_larger_size_works_as_torch(name):
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    t = getattr(TF, name)(torch.tensor(x), 3)
    c = getattr(F, name)(cr.tensor(x), 3)
    np.testing.assert_allclose(c.numpy(), t.numpy())


# ------------------------------------------------------------------ interpolate, integers
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
@pytest.mark.parametrize(
    ("mode", "shape"),
    [
        ("nearest", (1, 1, 4)),
        ("nearest", (1, 1, 4, 4)),
        ("nearest-exact", (1, 1, 4, 4)),
        ("linear", (1, 1, 4)),
        ("bilinear", (1, 1, 4, 4)),
        ("bicubic", (1, 1, 4, 4)),
        ("trilinear", (1, 1, 2, 2, 2)),
        ("area", (1, 1, 4, 4)),
    ],
)
def test_interpolate_integer_input_raises_not_implemented_error(mode, shape, dtype):
    x = np.zeros(shape, dtype)
    with pytest.raises(NotImplementedError):
        TF.interpolate(torch.tensor(x), scale_factor=2, mode=mode)
    with pytest.raises(NotImplementedError, match=rf"interpolate: mode='{mode}'"):
        F.interpolate(cr.tensor(x), scale_factor=2, mode=mode)


def test_interpolate_uint8_nearest_matches_torch():
    x = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)
    t = TF.interpolate(torch.tensor(x), scale_factor=2, mode="nearest")
    c = F.interpolate(cr.tensor(x), scale_factor=2, mode="nearest")
    assert c.dtype == cr.uint8
    np.testing.assert_array_equal(c.numpy(), t.numpy())


# ------------------------------------------------------------------ conv layers' arguments
_CONVS = [
    ("Conv1d", (1, 2, 8)),
    ("Conv2d", (1, 2, 8, 8)),
    ("Conv3d", (1, 2, 6, 6, 6)),
    ("ConvTranspose1d", (1, 2, 8)),
    ("ConvTranspose2d", (1, 2, 8, 8)),
    ("ConvTranspose3d", (1, 2, 6, 6, 6)),
]


@pytest.mark.parametrize(("cls", "shape"), _CONVS)
@pytest.mark.parametrize(
    ("kw", "pattern"),
    [
        ({"stride": 0}, "stride"),
        ({"stride": -1}, "stride"),
        ({"padding": -1}, "padding"),
        ({"dilation": 0}, "dilation"),
        ({"dilation": -2}, "dilation"),
    ],
)
def test_conv_layers_accept_bad_geometry_and_raise_in_forward(cls, shape, kw, pattern):
    x = np.zeros(shape, np.float32)
    tm = getattr(torch.nn, cls)(2, 4, 3, **kw)  # PyTorch constructs it
    with pytest.raises(RuntimeError):
        tm(torch.tensor(x))
    cm = getattr(cr.nn, cls)(2, 4, 3, **kw)
    with pytest.raises(RuntimeError, match=pattern):
        cm(cr.tensor(x))


@pytest.mark.parametrize("cls", ["Conv1d", "Conv2d", "Conv3d"])
def test_conv_same_padding_with_a_stride_raises_at_construction(cls):
    with pytest.raises(ValueError):
        getattr(torch.nn, cls)(2, 4, 3, padding="same", stride=2)
    with pytest.raises(ValueError, match=r"padding='same' is not supported for strided"):
        getattr(cr.nn, cls)(2, 4, 3, padding="same", stride=2)


def test_conv_negative_padding_with_reflect_mode_crops_as_torch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 8, 8)).astype(np.float32)
    tm = torch.nn.Conv2d(2, 4, 3, padding=-1, padding_mode="reflect")
    cm = cr.nn.Conv2d(2, 4, 3, padding=-1, padding_mode="reflect")
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    t = tm(torch.tensor(x)).detach().numpy()
    c = cm(cr.tensor(x)).detach().numpy()
    np.testing.assert_allclose(c, t, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ MultiheadAttention dropout
@pytest.mark.parametrize("p", [2.0, 1.5, -0.5])
def test_multihead_attention_accepts_any_dropout_at_construction(p):
    assert torch.nn.MultiheadAttention(4, 2, dropout=p).dropout == p
    assert cr.nn.MultiheadAttention(4, 2, dropout=p).dropout == p


@pytest.mark.parametrize("p", [2.0, 1.5])
def test_multihead_attention_dropout_above_one_raises_in_training_forward(p):
    x = np.zeros((2, 3, 4), np.float32)
    tm, cm = torch.nn.MultiheadAttention(4, 2, dropout=p), cr.nn.MultiheadAttention(4, 2, dropout=p)
    with pytest.raises(ValueError, match="dropout probability"):
        tm(*[torch.tensor(x)] * 3)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        cm(*[cr.tensor(x)] * 3)
    with pytest.raises(RuntimeError):
        tm(*[torch.tensor(x)] * 3, need_weights=False)
    with pytest.raises(RuntimeError, match="dropout probability"):
        cm(*[cr.tensor(x)] * 3, need_weights=False)
    tm.eval()
    cm.eval()
    tm(*[torch.tensor(x)] * 3)  # evaluation mode never drops out
    cm(*[cr.tensor(x)] * 3)


def test_multihead_attention_negative_dropout_is_no_dropout_as_torch():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    tm = torch.nn.MultiheadAttention(4, 2, dropout=-0.5)
    cm = cr.nn.MultiheadAttention(4, 2, dropout=-0.5)
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    to, tw = tm(*[torch.tensor(x)] * 3)
    co, cw = cm(*[cr.tensor(x)] * 3)
    np.testing.assert_allclose(co.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cw.detach().numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ trigamma at its poles
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "float16"])
def test_trigamma_at_negative_integers_is_torchs_finite_value(dtype):
    x = np.array([-1.0, -2.0, -3.0, -10.0, -100.0, 0.0, 0.5, -2.5])
    t = torch.special.polygamma(1, torch.tensor(x).to(getattr(torch, dtype))).double().numpy()
    c = cr.special.polygamma(1, cr.tensor(x).to(getattr(cr, dtype))).double().numpy()
    np.testing.assert_allclose(c, t, rtol=1e-6 if dtype == "float64" else 1e-2)
    if dtype in ("float32", "float64"):
        assert np.isfinite(c[:5]).all() and (c[:5] > 1e10).all()
    assert c[5] == np.inf


def test_digamma_gradient_at_its_poles_is_torchs():
    x = np.array([-1.0, -2.0, 3.0], np.float32)
    xt = torch.tensor(x, requires_grad=True)
    torch.digamma(xt).sum().backward()
    xc = cr.tensor(x, requires_grad=True)
    cr.digamma(xc).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("n", [2, 3])
def test_higher_polygamma_at_the_poles_stays_infinite_as_torch(n):
    x = np.array([-1.0, -2.0])
    t = torch.special.polygamma(n, torch.tensor(x)).numpy()
    c = cr.special.polygamma(n, cr.tensor(x)).numpy()
    np.testing.assert_array_equal(c, t)


# ------------------------------------------------------------------ complex logcumsumexp
_C = complex


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize(
    "values",
    [
        [10j, 1 + 9j, 0.5 - 7j, -20 + 1j, 800 + 2j, 800 - 2j],  # imaginary part carried
        [3j, -3j, 3j, 3j],  # real ties: the new element leads
        [_C(_INF, 0), 1 + 1j, _C(-_INF, 0), _C(_NAN, 0)],
        [_C(-_INF, 1), _C(-_INF, 2)],
        [_C(_INF, 1), _C(_INF, 1)],
        [_C(_INF, 2), _C(_INF, 1)],
        [_C(1, _NAN), 0j],
        [0j, _C(1, _NAN)],
        [_C(1, _INF), 0j],
        [1 + 2j, _C(-_INF, 3)],
        [_C(-_INF, 3), 1 + 2j],
    ],
)
def test_complex_logcumsumexp_values_match_torch(values, dtype):
    x = np.array(values, dtype)
    t = torch.logcumsumexp(torch.tensor(x), 0).numpy()
    c = cr.logcumsumexp(cr.tensor(x), 0).numpy()
    assert c.dtype == t.dtype
    np.testing.assert_allclose(c, t, rtol=1e-5, equal_nan=True)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_complex_logcumsumexp_forward_and_backward_match_torch(dim, dtype):
    rng = np.random.default_rng(5)
    shape = (3, 5, 4)
    x = (3 * rng.standard_normal(shape) + 4j * rng.standard_normal(shape)).astype(dtype)
    g = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    g[0, 0, 0] = 0
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.logcumsumexp(xt, dim)
    yt.backward(torch.tensor(g))
    xc = cr.tensor(x, requires_grad=True)
    yc = cr.logcumsumexp(xc, dim)
    yc.backward(cr.tensor(g))
    tol = 1e-5 if dtype == "complex64" else 1e-12
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.resolve_conj().numpy(), rtol=tol, atol=tol)


def test_complex_logcumsumexp_double_backward_and_jvp_match_torch():
    rng = np.random.default_rng(6)
    x, g, v, t = (rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3)) for _ in range(4))

    def second(lib, make):
        xx = make(x, requires_grad=True)
        gx = lib.autograd.grad(lib.logcumsumexp(xx, 0), xx, make(g), create_graph=True)[0]
        return gx.detach(), lib.autograd.grad(gx, xx, make(v))[0]

    tg, th = second(torch, torch.tensor)
    cg, ch = second(cr, cr.tensor)
    np.testing.assert_allclose(cg.numpy(), tg.resolve_conj().numpy(), atol=1e-12)
    np.testing.assert_allclose(ch.numpy(), th.resolve_conj().numpy(), atol=1e-12)
    _, jt = torch.func.jvp(
        lambda z: torch.logcumsumexp(z, 1), (torch.tensor(x),), (torch.tensor(t),)
    )
    _, jc = cr.func.jvp(lambda z: cr.logcumsumexp(z, 1), (cr.tensor(x),), (cr.tensor(t),))
    np.testing.assert_allclose(jc.numpy(), jt.numpy(), atol=1e-10)
    assert cr.autograd.gradcheck(lambda z: cr.logcumsumexp(z, 0), cr.tensor(x, requires_grad=True))


def test_logcumsumexp_still_refuses_integers():
    with pytest.raises(NotImplementedError):
        torch.logcumsumexp(torch.arange(3), 0)
    with pytest.raises(NotImplementedError, match="logcumsumexp"):
        cr.logcumsumexp(cr.arange(3), 0)


@pytest.mark.parametrize("dims,padding", [(1, "same"), (2, "same"), (3, "valid")])
def test_conv_transpose_string_padding_is_a_type_error_at_forward(dims, padding) -> None:
    """A transposed convolution takes no string padding: both build the layer and raise
    TypeError in forward (chainrule used to raise a raw int() ValueError)."""
    shape = (1, 2) + (4,) * dims
    for m in (torch, cr):
        layer = getattr(m.nn, f"ConvTranspose{dims}d")(2, 2, 3, padding=padding)
        with pytest.raises(TypeError, match="padding"):
            layer(m.randn(*shape))


@pytest.mark.parametrize("name", ["avg_pool1d", "max_pool1d"])
def test_1d_pooling_too_small_names_the_1d_op(name) -> None:
    """A 1-d pooling runs as the 2-d one on a height-1 image; its error names the 1-d op
    and the (N, C, L) input, a RuntimeError as torch's."""
    with pytest.raises(RuntimeError):
        getattr(TF, name)(torch.randn(1, 1, 2), 3)
    with pytest.raises(RuntimeError, match=rf"^{name}: input \(1, 1, 2\) is too small"):
        getattr(F, name)(cr.randn(1, 1, 2), 3)


@pytest.mark.parametrize("groups", [0, -2])
def test_conv_groups_must_be_positive(groups) -> None:
    for m in (torch, cr):
        with pytest.raises(ValueError, match="groups must be a positive integer"):
            m.nn.Conv2d(4, 4, 3, groups=groups)


@pytest.mark.parametrize(
    "layer,shape",
    [
        ("ReflectionPad2d", (4,)),
        ("ReplicationPad1d", (2, 2, 2, 2)),
        ("ReflectionPad3d", (2, 3)),
        ("CircularPad2d", (4,)),
        ("ReplicationPad2d", (2, 2, 2, 2, 2, 2)),
    ],
)
def test_padding_layers_wrong_rank_errors_as_torch(layer, shape) -> None:
    """The reflect/replicate layers leave the rank check to F.pad, as torch's: RuntimeError
    for too few dims, NotImplementedError for a rank the mode cannot pad (was a ValueError);
    the circular layers raise ValueError themselves, as torch's."""
    errors = []
    for m in (torch, cr):
        with pytest.raises((RuntimeError, NotImplementedError, ValueError)) as info:
            getattr(m.nn, layer)(1)(m.randn(*shape))
        errors.append(info.type)
    assert issubclass(errors[1], errors[0])
