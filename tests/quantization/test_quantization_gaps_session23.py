"""Quantization gaps closed in session 23, against PyTorch (x86 engine): fake quantization
of float64 inputs and its per-channel overflow rule, the learnable per-channel fake
quantization (``torch._fake_quantize_learnable_per_channel_affine``) and the backward
rounding of the learnable forms, quantized average pooling, and the channels-last flag of
quantized tensors through pickling, ``cr.save``/``cr.load`` and reshapes."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops.fake_quantize import _fake_quantize_learnable_per_channel_affine

F32 = np.float32
EXTREMES = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e18, -1e18, 9.3e18, -9.3e18, 3e38, -3e38]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def _ties(scale: float, n: int, dtype, seed: int = 0) -> np.ndarray:
    """Values on, and one step either side of, the rounding boundaries of ``scale``, plus
    random values across and beyond the range and the extremes."""
    rng = np.random.default_rng(seed)
    inv = np.float64(F32(1) / F32(scale))
    x = ((rng.integers(-300, 300, n) + 0.5) / inv).astype(dtype)
    with np.errstate(over="ignore"):
        ext = np.array(EXTREMES).astype(dtype)
    return np.concatenate(
        [x, np.nextafter(x, dtype(np.inf)), np.nextafter(x, dtype(-np.inf)),
         (rng.standard_normal(n) * 200 * scale).astype(dtype), ext]
    )  # fmt: skip


def _both(fn_t, fn_c, arrays, grad_seed=1):
    """Run ``fn`` on torch and chainrule leaves made from ``arrays``; backward with the same
    random upstream gradient; return ([torch out, grads...], [chainrule out, grads...])."""
    res = []
    for lib, fn in ((torch, fn_t), (cr, fn_c)):
        leaves = [lib.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        y = fn(*leaves)
        g = np.random.default_rng(grad_seed).standard_normal(tuple(y.shape)).astype(arrays[0].dtype)
        y.backward(lib.tensor(g))
        grads = [None if t.grad is None else t.grad.numpy() for t in leaves]
        res.append([y.detach().numpy(), *grads, y.grad_fn.name()])
    return res


# ---------------------------------------------------------------- fake quantization, float64
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "scale,zp,qmin,qmax",
    [(0.05, 100, 0, 255), (0.0371, 37, 0, 127), (0.017, -3, -128, 127), (0.3, 5, 0, 15),
     (0.2, 700, -(2**31), 2**31 - 1), (0.1, -(2**31) + 9, -(2**31), 2**31 - 1)],
)  # fmt: skip
def test_fake_quantize_float64_and_overflow_bit_exact(dtype, scale, zp, qmin, qmax):
    """Per tensor: the product in x's precision, the output product in float32; per
    channel: NaN, inf and int64 overflow give quant_min, the output product in float64."""
    x = _ties(scale, 500, dtype)
    t, c = _both(
        lambda a: torch.fake_quantize_per_tensor_affine(a, scale, zp, qmin, qmax),
        lambda a: cr.fake_quantize_per_tensor_affine(a, scale, zp, qmin, qmax),
        [x],
    )
    assert c[0].dtype == t[0].dtype == dtype and c[-1] == t[-1]
    np.testing.assert_array_equal(c[0], t[0])
    np.testing.assert_array_equal(c[1], t[1])
    xs = np.stack([x, x[::-1]], 1)
    scales, zps = np.array([scale, scale * 1.7], F32), np.array([zp, qmin], np.int32)
    t, c = _both(
        lambda a: torch.fake_quantize_per_channel_affine(
            a, torch.tensor(scales), torch.tensor(zps), 1, qmin, qmax
        ),
        lambda a: cr.fake_quantize_per_channel_affine(
            a, cr.tensor(scales), cr.tensor(zps), 1, qmin, qmax
        ),
        [xs],
    )
    assert c[0].dtype == dtype and c[-1] == t[-1]
    np.testing.assert_array_equal(c[0], t[0])
    np.testing.assert_array_equal(c[1], t[1])
    assert (c[1] == 0).sum() > 10 and (c[1] != 0).sum() > 10


def test_fake_quantize_tensor_qparams_and_errors_as_torch():
    """A tensor zero point is not range-checked and a float one is truncated, as torch;
    float64 per-channel scales and empty zero points are refused as torch refuses them."""
    x = np.linspace(-1, 1, 9).astype(F32)
    for z in (np.array([3.7], F32), np.array([-2.5], F32), np.array([300], np.int64)):
        t = torch.fake_quantize_per_tensor_affine(
            torch.tensor(x), torch.tensor([0.1]), torch.tensor(z), 0, 255
        )
        c = cr.fake_quantize_per_tensor_affine(cr.tensor(x), cr.tensor([0.1]), cr.tensor(z), 0, 255)
        np.testing.assert_array_equal(c.numpy(), t.numpy())
    with pytest.raises(RuntimeError, match="zero_point"):
        cr.fake_quantize_per_tensor_affine(cr.tensor(x), 0.1, 300, 0, 255)
    z = cr.tensor(np.zeros(2, np.int32))
    x2 = cr.tensor(np.ones((3, 2), F32))
    with pytest.raises(RuntimeError, match="Scale must be Float"):
        cr.fake_quantize_per_channel_affine(x2, cr.ones(2, dtype=cr.float64), z, 1, 0, 255)
    with pytest.raises(RuntimeError, match="fake_quantize_per_channel_affine.*numel"):
        cr.fake_quantize_per_channel_affine(x2[:, :0], cr.ones(0), z[:0], 1, 0, 255)
    with pytest.raises(IndexError, match=r"^Dimension out of range \(expected to be in range"):
        cr.fake_quantize_per_channel_affine(x2, cr.ones(2), z, 2, 0, 255)  # PyTorch's words
    with pytest.raises(NotImplementedError, match="fake_quantize_per_tensor_affine"):
        cr.fake_quantize_per_tensor_affine(x2.long(), 0.1, 0, 0, 255)


def test_fake_quantize_forward_mode_is_the_masked_tangent():
    """torch has no forward-mode rule for fake quantization; chainrule's is the
    straight-through tangent: the tangent where the backward mask passes, 0 elsewhere."""
    x = _ties(0.05, 200, np.float64)
    for call in (
        lambda a: cr.fake_quantize_per_tensor_affine(a, 0.05, 100, 0, 255),
        lambda a: cr.fake_quantize_per_channel_affine(
            a.reshape(1, -1), cr.tensor([0.05]), cr.tensor(np.array([100], np.int32)), 0, 0, 255
        ).reshape(-1),
    ):
        v = np.random.default_rng(3).standard_normal(x.shape)
        _, tangent = cr.func.jvp(call, (cr.tensor(x),), (cr.tensor(v),))
        xs = cr.tensor(x, requires_grad=True)
        call(xs).sum().backward()
        mask = xs.grad.numpy()
        np.testing.assert_array_equal(tangent.numpy(), v * mask)
        assert 0 < mask.sum() < x.size


# ---------------------------------------------------------------- learnable fake quantization
def _learnable_pair(axis):
    if axis is None:
        return (
            lambda x, s, z, *a: torch._fake_quantize_learnable_per_tensor_affine(x, s, z, *a),
            lambda x, s, z, *a: cr._fake_quantize_learnable_per_tensor_affine(x, s, z, *a),
        )
    return (
        lambda x, s, z, *a: torch._fake_quantize_learnable_per_channel_affine(x, s, z, axis, *a),
        lambda x, s, z, *a: _fake_quantize_learnable_per_channel_affine(x, s, z, axis, *a),
    )


@pytest.mark.parametrize("axis", [None, 1, 0])
@pytest.mark.parametrize("half_zero_points", [False, True])
@pytest.mark.parametrize("grad_factor", [1.0, 0.25])
def test_learnable_fake_quantize_matches_torch(axis, half_zero_points, grad_factor):
    """Forward and input gradient bit for bit; the scale's and zero point's gradients are
    float32 sums of terms computed as torch computes them (equal up to summation order),
    including the backward's own rounding (x * inv + zp; the per-tensor form rounds its zero
    point half up there) and its int64 overflow (NaN, inf and huge values count as below)."""
    rng = np.random.default_rng(4)
    channels = 1 if axis is None else 3
    s = rng.uniform(0.02, 0.3, channels).astype(F32)
    z = rng.uniform(-20, 270, channels).astype(F32)
    if half_zero_points:
        z = (np.round(z) + 0.5).astype(F32)
    shape = (200, channels, 5) if axis != 0 else (channels, 200, 5)
    x = (rng.standard_normal(shape) * 150 * s.reshape((-1, 1) if axis != 0 else (-1, 1, 1))).astype(
        F32
    )
    x.reshape(-1)[: len(EXTREMES)] = np.array(EXTREMES, F32)
    if axis is None:
        x = x.reshape(-1)
    fn_t, fn_c = _learnable_pair(axis)
    t, c = _both(
        lambda *a: fn_t(*a, 0, 255, grad_factor),
        lambda *a: fn_c(*a, 0, 255, grad_factor),
        [x, s, z],
    )
    assert c[-1] == t[-1]
    np.testing.assert_array_equal(c[0], t[0])  # forward
    np.testing.assert_array_equal(c[1], t[1])  # input gradient
    for k in (2, 3):  # scale and zero point gradients
        assert c[k].shape == t[k].shape and c[k].dtype == t[k].dtype
        np.testing.assert_allclose(c[k], t[k], rtol=2e-5, atol=1e-4)
    assert np.abs(t[2]).min() > 0


def test_learnable_fake_quantize_exact_for_single_elements():
    """One element per channel: nothing to sum, so every gradient is torch's bit for bit."""
    rng = np.random.default_rng(5)
    for _ in range(20):
        s = rng.uniform(0.01, 0.3, 4).astype(F32)
        z = (np.round(rng.uniform(-5, 20, 4)) + rng.choice([0.0, 0.5], 4)).astype(F32)
        x = (rng.uniform(-40, 40, (1, 4)) * s).astype(F32)
        for axis in (None, 1):
            fn_t, fn_c = _learnable_pair(axis)
            args = [x[0, :1], s[:1], z[:1]] if axis is None else [x, s, z]
            t, c = _both(
                lambda *a, f=fn_t: f(*a, 0, 15, 1.0), lambda *a, f=fn_c: f(*a, 0, 15, 1.0), args
            )
            for a, b in zip(c[:-1], t[:-1]):
                np.testing.assert_array_equal(a, b)


def test_learnable_per_channel_float64_forward_and_errors():
    """float64 inputs run forward as torch (torch's backward of the learnable forms takes
    float32 gradients only; chainrule's also runs in float64); bad qparams as torch."""
    x = _ties(0.05, 100, np.float64).reshape(-1, 1)
    s, z = np.array([0.05], F32), np.array([100.5], F32)
    t = torch._fake_quantize_learnable_per_channel_affine(
        torch.tensor(x), torch.tensor(s), torch.tensor(z), 1, 0, 255
    )
    xc = cr.tensor(x, requires_grad=True)
    c = _fake_quantize_learnable_per_channel_affine(xc, cr.tensor(s), cr.tensor(z), 1, 0, 255)
    np.testing.assert_array_equal(c.detach().numpy(), t.numpy())
    c.sum().backward()
    assert xc.grad.dtype == cr.float64
    xs = cr.randn(2, 3)
    with pytest.raises(RuntimeError, match="same dimensions"):
        _fake_quantize_learnable_per_channel_affine(xs, cr.ones(3), cr.ones(1, 3), 1, 0, 255)
    with pytest.raises(RuntimeError, match="Scale must be Float"):
        _fake_quantize_learnable_per_channel_affine(
            xs, cr.ones(3, dtype=cr.float64), cr.ones(3), 1, 0, 255
        )
    with pytest.raises(IndexError, match="Dimension out of range"):
        _fake_quantize_learnable_per_channel_affine(xs, cr.ones(3), cr.ones(3), 2, 0, 255)
    with pytest.raises(RuntimeError, match="quant_min"):
        _fake_quantize_learnable_per_channel_affine(xs, cr.ones(3), cr.ones(3), 1, 10, 5)
    with pytest.raises(IndexError, match="0-dim"):
        cr._fake_quantize_learnable_per_tensor_affine(xs, cr.tensor(0.1), cr.tensor(1.0), 0, 255)
    y = cr._fake_quantize_learnable_per_tensor_affine(
        xs,
        cr.tensor([0.1], requires_grad=True),
        cr.tensor([3.0, 100.0], requires_grad=True),
        0,
        255,
    )  # the first zero point is used; the backward refuses as torch's does
    with pytest.raises(RuntimeError, match="invalid gradient at index 2"):
        y.sum().backward()


# ---------------------------------------------------------------- quantized average pooling
def _qpair(x, scale, zp, dtype):
    t = torch.quantize_per_tensor(torch.tensor(x), scale, zp, getattr(torch, dtype))
    c = cr.quantize_per_tensor(cr.tensor(x), scale, zp, getattr(cr, dtype))
    return t, c


def _same_q(c, t) -> None:
    assert c.dtype.name == str(t.dtype).split(".")[1] and tuple(c.shape) == tuple(t.shape)
    assert c.q_scale() == t.q_scale() and c.q_zero_point() == t.q_zero_point()
    np.testing.assert_array_equal(c.int_repr().numpy(), t.int_repr().numpy())


AVG_ARGS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=1, padding=1, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=1, padding=1, ceil_mode=True),
    dict(kernel_size=(4, 5), stride=(1, 2), padding=2),
    dict(kernel_size=6, stride=1, padding=3, count_include_pad=False),
    dict(kernel_size=(5, 6), stride=1, padding=2, divisor_override=24),
    dict(kernel_size=5, stride=3, padding=2, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, stride=1, divisor_override=3),
]


@pytest.mark.parametrize("args", AVG_ARGS)
@pytest.mark.parametrize("dtype,zp", [("quint8", 100), ("quint8", 0), ("qint8", -7)])
def test_quantized_avg_pool2d_bit_exact(args, dtype, zp):
    """Integer grid values (many exact halves): ``rint(float32(sum - n zp) * float32(1/d)
    + zp)`` in float32 steps, clamped; F.avg_pool2d, the quantized functional and
    nn.AvgPool2d, 4-d and 3-d inputs."""
    rng = np.random.default_rng(6)
    lo, hi = (0, 256) if dtype == "quint8" else (-128, 128)
    x = ((rng.integers(lo, hi, (2, 3, 12, 11)) - zp) * 0.1).astype(F32)
    t, c = _qpair(x, 0.1, zp, dtype)
    F_t, F_c = torch.nn.functional, cr.nn.functional
    _same_q(F_c.avg_pool2d(c, **args), F_t.avg_pool2d(t, **args))
    qf_t, qf_c = torch.ao.nn.quantized.functional, cr.ao.nn.quantized.functional
    _same_q(qf_c.avg_pool2d(c, **args), qf_t.avg_pool2d(t, **args))
    _same_q(cr.nn.AvgPool2d(**args)(c), torch.nn.AvgPool2d(**args)(t))
    _same_q(
        F_c.avg_pool2d(c.reshape(6, 12, 11), **args), F_t.avg_pool2d(t.reshape(6, 12, 11), **args)
    )


@pytest.mark.parametrize("zp", [0, 3, 100])
def test_quantized_avg_pool2d_after_quantized_conv(zp):
    """A quantized convolution's output (channels last in torch) pools with the same
    rounding; the result keeps the layout flag, so adaptive pooling after it rounds as
    torch's channels-last kernel does."""
    rng = np.random.default_rng(7)
    w = rng.uniform(-0.3, 0.3, (8, 4, 1, 1)).astype(F32)  # no int16 pair-sum saturation
    b = rng.uniform(-0.5, 0.5, 8).astype(F32)
    x = rng.uniform(-1, 1, (2, 4, 30, 30)).astype(F32)
    tconv, cconv = torch.ao.nn.quantized.Conv2d(4, 8, 1), cr.ao.nn.quantized.Conv2d(4, 8, 1)
    tconv.set_weight_bias(
        torch.quantize_per_tensor(torch.tensor(w), 0.01, 0, torch.qint8), torch.tensor(b)
    )
    cconv.set_weight_bias(cr.quantize_per_tensor(cr.tensor(w), 0.01, 0, cr.qint8), cr.tensor(b))
    for m in (tconv, cconv):
        m.scale, m.zero_point = 0.02, zp
    t, c = _qpair(x, 0.01, 128, "quint8")
    to, co = tconv(t), cconv(c)
    F_t, F_c = torch.nn.functional, cr.nn.functional
    for args in AVG_ARGS:
        pt, pc = F_t.avg_pool2d(to, **args), F_c.avg_pool2d(co, **args)
        _same_q(pc, pt)
        assert pc._q_cl == pt.is_contiguous(memory_format=torch.channels_last)
    pt, pc = F_t.avg_pool2d(to, 2, 1), F_c.avg_pool2d(co, 2, 1)
    _same_q(F_c.adaptive_avg_pool2d(pc, (5, 7)), F_t.adaptive_avg_pool2d(pt, (5, 7)))


def test_quantized_avg_pool2d_refusals():
    x = np.ones((1, 2, 4, 4), F32)
    with pytest.raises(ValueError, match="must be quantized"):
        cr.ao.nn.quantized.functional.avg_pool2d(cr.tensor(x), 2)
    pc = cr.quantize_per_channel(
        cr.tensor(x), cr.tensor([0.1, 0.2]), cr.tensor([0, 0]), 1, cr.quint8
    )
    with pytest.raises(RuntimeError, match="kPerTensorAffine"):
        cr.nn.functional.avg_pool2d(pc, 2)


# ---------------------------------------------------------------- the channels-last flag
def _conv_output(zp: int = 3):
    """A quantized convolution's output in both libraries (channels last in torch); small
    weights, so that no int16 pair sum of fbgemm's saturates (which depends on the CPU)."""
    rng = np.random.default_rng(8)
    w = rng.uniform(-0.3, 0.3, (16, 4, 1, 1)).astype(F32)
    tconv, cconv = torch.ao.nn.quantized.Conv2d(4, 16, 1), cr.ao.nn.quantized.Conv2d(4, 16, 1)
    tconv.set_weight_bias(torch.quantize_per_tensor(torch.tensor(w), 0.01, 0, torch.qint8), None)
    cconv.set_weight_bias(cr.quantize_per_tensor(cr.tensor(w), 0.01, 0, cr.qint8), None)
    for m in (tconv, cconv):
        m.scale, m.zero_point = 0.02, zp
    x = rng.uniform(-1, 1, (2, 4, 30, 30)).astype(F32)
    t, c = _qpair(x, 0.01, 128, "quint8")
    return tconv(t), cconv(c)


def _channels_last(t) -> bool:
    return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


def test_channels_last_flag_through_pickle_save_and_load(tmp_path):
    """Pickling, copies, ``cr.save``/``cr.load`` (both ways with torch) keep the flag where
    torch keeps channels last; the adaptive pooling after them rounds as torch's (bins of
    20, 24, 30 elements, where the two layouts' rounding differs)."""
    to, co = _conv_output()
    assert _channels_last(to) and co._q_cl

    def check(c, t) -> None:
        assert c._q_cl == _channels_last(t)
        _same_q(c, t)
        F_t, F_c = torch.nn.functional, cr.nn.functional
        _same_q(F_c.adaptive_avg_pool2d(c, (7, 7)), F_t.adaptive_avg_pool2d(t, (7, 7)))

    check(pickle.loads(pickle.dumps(co)), pickle.loads(pickle.dumps(to)))
    check(copy.deepcopy(co), copy.deepcopy(to))
    check(copy.copy(co), copy.copy(to))
    check(co.clone(), to.clone())  # torch's clone of it is contiguous
    cr.save({"q": co}, tmp_path / "c.pt")
    loaded_t = torch.load(tmp_path / "c.pt", weights_only=False)["q"]
    assert _channels_last(loaded_t)
    check(cr.load(tmp_path / "c.pt")["q"], loaded_t)
    torch.save({"q": to, "plain": to.contiguous()}, tmp_path / "t.pt")
    got = cr.load(tmp_path / "t.pt")
    check(got["q"], to)
    check(got["plain"], to.contiguous())


def test_channels_last_flag_through_reshapes():
    """torch keeps the strides of a reshape/view to the same shape; other shapes are no
    longer a 4-d channels-last tensor."""
    to, co = _conv_output(0)
    for shape in [(2, 16, 30, 30), (2, 16, 900), (32, 30, 30), (2, -1), (1, 2, 16, 30, 30)]:
        rt, rc = to.reshape(shape), co.reshape(shape)
        _same_q(rc, rt)
        assert rc._q_cl == (rt.dim() == 4 and _channels_last(rt))
    assert co.view(2, 16, 30, 30)._q_cl and _channels_last(to.view(2, 16, 30, 30))
    assert not co.flatten(1)._q_cl
    assert not co.contiguous()._q_cl


@pytest.mark.parametrize("zp", [0, 3, 7, 100])
@pytest.mark.parametrize("bias", ["none", "zero", "random"])
def test_quantized_conv_and_linear_requantization(zp, bias):
    """Without a bias torch dequantizes the accumulator and quantizes it again in float32
    steps, which rounds exact halves differently from the biased path (found while testing
    the layout flag: a convolution without bias was off by one at ~0.3% of outputs)."""
    rng = np.random.default_rng(9)
    w = rng.uniform(-0.3, 0.3, (16, 4, 1, 1)).astype(F32)
    b = {"none": None, "zero": np.zeros(16, F32), "random": rng.uniform(-0.5, 0.5, 16)}[bias]
    b = None if b is None else b.astype(F32)
    x = rng.uniform(-1, 1, (2, 4, 30, 30)).astype(F32)
    t, c = _qpair(x, 0.01, 128, "quint8")
    wt = torch.quantize_per_tensor(torch.tensor(w), 0.01, 0, torch.qint8)
    wc = cr.quantize_per_tensor(cr.tensor(w), 0.01, 0, cr.qint8)
    pairs = [
        (torch.ao.nn.quantized.Conv2d(4, 16, 1), cr.ao.nn.quantized.Conv2d(4, 16, 1), wt, wc),
        (
            torch.ao.nn.quantized.Linear(4, 16),
            cr.ao.nn.quantized.Linear(4, 16),
            wt.reshape(16, 4),
            wc.reshape(16, 4),
        ),
    ]
    for k, (mt, mc, wtk, wck) in enumerate(pairs):
        mt.set_weight_bias(wtk, None if b is None else torch.tensor(b))
        mc.set_weight_bias(wck, None if b is None else cr.tensor(b))
        mt.scale, mt.zero_point = 0.02, zp
        mc.scale, mc.zero_point = 0.02, zp
        if k == 0:
            _same_q(mc(c), mt(t))
        else:
            tl, cl = _qpair(x.transpose(0, 2, 3, 1).reshape(-1, 4).copy(), 0.01, 128, "quint8")
            _same_q(mc(cl), mt(tl))
