"""Quantized tensors (``cr.quantize_per_tensor`` / ``cr.quantize_per_channel``) against
PyTorch: the stored integers bit for bit (halves, out-of-range values, NaN, inf), the
dequantized values, the qparams, the reprs and the errors."""

from __future__ import annotations

import copy
import pickle
import re
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

DTYPES = [("qint8", -128, 127), ("quint8", 0, 255), ("qint32", -1000, 1000)]
SPECIAL = [np.nan, np.inf, -np.inf, 1e10, -1e10, 0.0, -0.0]


@pytest.fixture(autouse=True)
def _quiet():
    # both frameworks warn once per process that quantized tensors are deprecated
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _values(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """Random float32 values with exact halves of the scale and the special values mixed in."""
    x = (rng.standard_normal(n) * scale * 80).astype(np.float32)
    k = rng.integers(-150, 150, n).astype(np.float32)
    halves = (k + np.float32(0.5)) * np.float32(scale)
    x[::3] = halves[::3]
    x[1::17] = np.resize(np.array(SPECIAL, np.float32), x[1::17].shape)
    return x


def _norm(text: str) -> str:
    """A repr with the line breaks removed."""
    return " ".join(text.split())


@pytest.mark.parametrize("name,zmin,zmax", DTYPES)
def test_per_tensor_integers_match_torch_bit_for_bit(name: str, zmin: int, zmax: int) -> None:
    rng = np.random.default_rng(0)
    for trial in range(25):
        scale = float(10 ** rng.uniform(-5, 1))
        zp = int(rng.integers(zmin, zmax + 1))
        x = _values(rng, int(rng.integers(1, 400)), scale)
        t = torch.quantize_per_tensor(torch.from_numpy(x), scale, zp, getattr(torch, name))
        c = cr.quantize_per_tensor(cr.tensor(x), scale, zp, getattr(cr, name))
        np.testing.assert_array_equal(c.int_repr().numpy(), t.int_repr().numpy(), str(trial))
        np.testing.assert_array_equal(c.dequantize().numpy(), t.dequantize().numpy())
        assert c.q_scale() == t.q_scale() and c.q_zero_point() == t.q_zero_point()


@pytest.mark.parametrize("name,zmin,zmax", DTYPES)
def test_per_channel_integers_match_torch_bit_for_bit(name: str, zmin: int, zmax: int) -> None:
    rng = np.random.default_rng(1)
    for trial in range(20):
        shape = [int(n) for n in rng.integers(1, 6, 3)]
        axis = int(rng.integers(0, 3))
        n = shape[axis]
        scales = 10 ** rng.uniform(-4, 0, n)
        zps = rng.integers(max(zmin, -100), min(zmax, 100) + 1, n)
        x = _values(rng, int(np.prod(shape)), float(scales.max())).reshape(shape)
        args = (torch.from_numpy(scales), torch.from_numpy(zps), axis, getattr(torch, name))
        t = torch.quantize_per_channel(torch.from_numpy(x), *args)
        c = cr.quantize_per_channel(
            cr.tensor(x), cr.tensor(scales), cr.tensor(zps), axis, getattr(cr, name)
        )
        np.testing.assert_array_equal(c.int_repr().numpy(), t.int_repr().numpy(), str(trial))
        np.testing.assert_array_equal(c.dequantize().numpy(), t.dequantize().numpy())
        np.testing.assert_array_equal(
            c.q_per_channel_scales().numpy(), t.q_per_channel_scales().numpy()
        )
        assert c.q_per_channel_scales().dtype == cr.float64
        np.testing.assert_array_equal(
            c.q_per_channel_zero_points().numpy(), t.q_per_channel_zero_points().numpy()
        )
        assert c.q_per_channel_zero_points().dtype == cr.int64
        assert c.q_per_channel_axis() == t.q_per_channel_axis() == axis


def test_scale_and_zero_point_as_tensors_and_odd_scales() -> None:
    x = np.array([0.15, 0.25, -3.0, 7.5, 0.0], np.float32)
    for scale, zp in [
        (torch.tensor(0.1), torch.tensor(2)),
        (torch.tensor(0.1, dtype=torch.float64), torch.tensor(2)),
        (0.0, 0),
        (-1.0, 0),
        (1e-12, 0),
        (float("inf"), 1),
    ]:
        t = torch.quantize_per_tensor(torch.from_numpy(x), scale, zp, torch.quint8)
        cs = cr.tensor(scale.numpy()) if isinstance(scale, torch.Tensor) else scale
        cz = cr.tensor(zp.numpy()) if isinstance(zp, torch.Tensor) else zp
        c = cr.quantize_per_tensor(cr.tensor(x), cs, cz, cr.quint8)
        np.testing.assert_array_equal(c.int_repr().numpy(), t.int_repr().numpy())
        assert c.q_scale() == t.q_scale() and type(c.q_scale()) is float
        assert c.q_zero_point() == t.q_zero_point() and type(c.q_zero_point()) is int


def test_list_form_and_dequantize_forms() -> None:
    xs = [np.array([0.3, -0.7], np.float32), np.array([1.26], np.float32)]
    scales, zps = np.array([0.1, 0.2]), np.array([0, 3])
    t = torch.quantize_per_tensor(
        [torch.from_numpy(a) for a in xs], torch.from_numpy(scales), torch.from_numpy(zps),
        torch.qint8,
    )  # fmt: skip
    c = cr.quantize_per_tensor(
        [cr.tensor(a) for a in xs], cr.tensor(scales), cr.tensor(zps), cr.qint8
    )
    for a, b in zip(c, t, strict=True):
        np.testing.assert_array_equal(a.int_repr().numpy(), b.int_repr().numpy())
    for a, b in zip(cr.dequantize(c), torch.dequantize(t), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(cr.dequantize(tensors=c), torch.dequantize(tensors=t), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # a plain tensor dequantizes to float32, as torch's
    for dt in ("float64", "int64", "float32"):
        got = cr.dequantize(cr.tensor([1, 2], dtype=getattr(cr, dt)))
        want = torch.dequantize(torch.tensor([1, 2], dtype=getattr(torch, dt)))
        assert got.dtype == cr.float32 and want.dtype == torch.float32
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_metadata_like_torch() -> None:
    w = np.random.default_rng(2).standard_normal((2, 3)).astype(np.float32)
    t = torch.quantize_per_tensor(torch.from_numpy(w), 0.1, 0, torch.qint8)
    c = cr.quantize_per_tensor(cr.tensor(w, requires_grad=True), 0.1, 0, cr.qint8)
    assert c.is_quantized and t.is_quantized
    assert not cr.tensor([1.0]).is_quantized
    assert repr(c.dtype) == repr(t.dtype)
    assert repr(c.qscheme()) == repr(t.qscheme())
    assert tuple(c.shape) == tuple(t.shape) and c.size() == (2, 3) and c.dim() == t.dim()
    assert c.numel() == t.numel() and c.element_size() == t.element_size() == 1
    assert c.requires_grad is t.requires_grad is False and c.is_leaf
    assert isinstance(c, cr.Tensor) and c.device.type == "cpu"
    np.testing.assert_array_equal(c.clone().int_repr().numpy(), t.clone().int_repr().numpy())
    for made in (copy.deepcopy(c), pickle.loads(pickle.dumps(c))):
        np.testing.assert_array_equal(made.int_repr().numpy(), t.int_repr().numpy())
        assert made.q_scale() == c.q_scale()


def test_dtype_and_qscheme_objects_print_as_torchs() -> None:
    for name in ("qint8", "quint8", "qint32"):
        assert repr(getattr(cr, name)) == repr(getattr(torch, name))
        assert str(getattr(cr, name)) == str(getattr(torch, name))
        assert getattr(cr, name).itemsize == getattr(torch, name).itemsize
        assert getattr(cr, name).is_floating_point is getattr(torch, name).is_floating_point
    for name in (
        "per_tensor_affine",
        "per_channel_affine",
        "per_tensor_symmetric",
        "per_channel_symmetric",
        "per_channel_affine_float_qparams",
    ):
        assert repr(getattr(cr, name)) == repr(getattr(torch, name))
    with pytest.raises(RuntimeError, match="isSignedType"):
        torch.qint8.is_signed  # noqa: B018
    with pytest.raises(RuntimeError, match="isSignedType"):
        cr.qint8.is_signed  # noqa: B018
    assert (
        copy.deepcopy(cr.qint8) is cr.qint8 and pickle.loads(pickle.dumps(cr.quint8)) is cr.quint8
    )


@pytest.mark.parametrize("shape", [(12,), (3, 4), (2, 3, 14), (0,), (40, 30)])
def test_repr_matches_torch(shape: tuple) -> None:
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    t = torch.quantize_per_tensor(torch.from_numpy(x), 0.05, 3, torch.qint8)
    c = cr.quantize_per_tensor(cr.tensor(x), 0.05, 3, cr.qint8)
    assert _norm(repr(c)) == _norm(repr(t))
    if len(shape) == 2:
        n = shape[0]
        args = (np.linspace(0.01, 0.2, n), np.arange(n) - 1, 0)
        t = torch.quantize_per_channel(
            torch.from_numpy(x), torch.tensor(args[0]), torch.tensor(args[1]), 0, torch.quint8
        ) if False else torch.quantize_per_channel(
            torch.from_numpy(x), torch.tensor(args[0]), torch.tensor(args[1] + 1), 0, torch.qint8
        )  # fmt: skip
        c = cr.quantize_per_channel(
            cr.tensor(x), cr.tensor(args[0]), cr.tensor(args[1] + 1), 0, cr.qint8
        )
        assert _norm(repr(c)) == _norm(repr(t))


def test_repr_wraps_the_tail_as_torch_where_the_names_fit() -> None:
    # qint32 / per_tensor_affine are as long in both once torch's prefix is swapped: with
    # short values the tail wraps at the same places
    x = np.array([1.0, 2.0], np.float32)
    t = torch.quantize_per_tensor(torch.from_numpy(x), 1.0, 0, torch.qint8)
    c = cr.quantize_per_tensor(cr.tensor(x), 1.0, 0, cr.qint8)
    want = repr(t)
    lines = [len(line) for line in want.split("\n")]
    if max(lines) <= 80:  # the swapped names still fit torch's line breaks
        assert repr(c) == re.sub(r"\s+\n", "\n", want) or _norm(repr(c)) == _norm(repr(t))


def test_errors_like_torch() -> None:
    x = torch.randn(2, 3)
    cx = cr.tensor(x.numpy())
    cases = [
        (lambda m, d: m.quantize_per_tensor(m.tensor([1, 2]), 0.1, 0, d.qint8), RuntimeError,
         "Quantize only works on Float Tensor, got Long"),
        (lambda m, d: m.quantize_per_tensor(d.x.double(), 0.1, 0, d.qint8), RuntimeError,
         "Quantize only works on Float Tensor, got Double"),
        (lambda m, d: m.quantize_per_tensor(d.x, 0.1, 0, d.int8), RuntimeError,
         "ScalarType Char is not supported in new_qtensor."),
        (lambda m, d: m.quantize_per_tensor(d.x, 0.1, 0, d.float32), RuntimeError,
         "ScalarType Float is not supported in new_qtensor."),
        (lambda m, d: m.quantize_per_tensor(d.x, 0.1, 200, d.qint8), RuntimeError,
         "quantize_tensor_per_tensor_affine zero_point 200 is above upper bound."),
        (lambda m, d: m.quantize_per_tensor(d.x, 0.1, -1, d.quint8), RuntimeError,
         "quantize_tensor_per_tensor_affine zero_point -1 is below lower bound."),
        (lambda m, d: m.quantize_per_tensor(d.x, 0.1, 2.5, d.qint8), TypeError, None),
        (lambda m, d: m.quantize_per_tensor(d.x, m.tensor([0.1, 0.2]), m.tensor(0), d.qint8),
         RuntimeError, "a Tensor with 2 elements cannot be converted to Scalar"),
        (lambda m, d: m.quantize_per_channel(d.x, m.tensor([0.5, 1.0, 2.0]),
                                             m.tensor([3, 5, 1]), 0, d.qint8),
         RuntimeError, "length of scales must equal to channel, expected 2 got, 3"),
        (lambda m, d: m.quantize_per_channel(d.x, m.tensor([0.5, 1.0]), m.tensor([3, 5]), 2,
                                             d.qint8),
         RuntimeError, "Channel axis out of range in per channel affine quantization. Got: 2"),
        (lambda m, d: m.quantize_per_channel(d.x, m.tensor([0.5, 1.0]), m.tensor([3, 5, 1]), 0,
                                             d.qint8),
         RuntimeError, "number of elements in scales and zero_points must match"),
        (lambda m, d: m.quantize_per_channel(d.x, m.tensor([0.5, 1.0]), m.tensor([3, 500]), 0,
                                             d.qint8),
         RuntimeError, "quantize_tensor_per_channel_affine zero_point 500 is above upper bound."),
        (lambda m, d: m.quantize_per_channel(d.x, [0.5, 1.0], [3, 5], 0, d.qint8), TypeError,
         "argument 'scales' (position 2) must be Tensor, not list"),
        (lambda m, d: m.quantize_per_channel(d.x.double(), m.tensor([0.5, 1.0]),
                                             m.tensor([3, 5]), 0, d.qint8),
         RuntimeError, "quantize_tensor_per_channel_affine expects a Float Tensor, got Double"),
    ]  # fmt: skip

    class NS:
        pass

    tns, cns = NS(), NS()
    tns.x, cns.x = x, cx
    for name in ("qint8", "quint8", "int8", "float32"):
        setattr(tns, name, getattr(torch, name))
        setattr(cns, name, getattr(cr, name))
    for fn, err, msg in cases:
        with pytest.raises(err) as want:
            fn(torch, tns)
        with pytest.raises(err) as got:
            fn(cr, cns)
        if msg is not None:
            assert msg in str(want.value)
            assert msg in str(got.value)


def test_unsupported_ops_raise_clearly() -> None:
    q = cr.quantize_per_tensor(cr.randn(3, 3), 0.1, 0, cr.qint8)
    t = torch.quantize_per_tensor(torch.randn(3, 3), 0.1, 0, torch.qint8)
    with pytest.raises(NotImplementedError):
        t.sum()
    for op in (lambda q: q.sum(), lambda q: q + 1, lambda q: q.exp(), lambda q: cr.relu(q),
               lambda q: q @ q, lambda q: cr.matmul(q, q)):  # fmt: skip
        with pytest.raises(NotImplementedError, match="quantized|dequantize"):
            op(q)
    with pytest.raises(TypeError, match="Got unsupported ScalarType QInt8"):
        t.numpy()
    with pytest.raises(TypeError, match="Got unsupported ScalarType QInt8"):
        q.numpy()
    with pytest.raises(RuntimeError):
        t.q_per_channel_scales()
    with pytest.raises(RuntimeError):
        q.q_per_channel_scales()
    pc = cr.quantize_per_channel(cr.randn(2, 3), cr.tensor([0.1, 0.2]), cr.tensor([0, 0]), 0,
                                 cr.qint8)  # fmt: skip
    with pytest.raises(RuntimeError):
        pc.q_scale()


def test_creation_warns_once_as_torch() -> None:
    # the once-per-process UserWarning may already have fired in this worker: check its text
    # only when it comes, and that a second call is silent in both frameworks
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        cr.quantize_per_tensor(cr.randn(2), 0.1, 0, cr.qint8)
        cr.quantize_per_tensor(cr.randn(2), 0.1, 0, cr.qint8)
    assert len(rec) <= 1
    for w in rec:
        assert "quantized tensor creation functions" in str(w.message)
        assert w.category is UserWarning
