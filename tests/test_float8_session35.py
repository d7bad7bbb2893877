"""float8 remainder against torch 2.13 live: the ops computing outside the central gate
(comparisons, value tests, nonzero, arg/min/max, sort/unique, searches, closeness) refuse
as PyTorch does, with its kernel names; ``mul`` by a one-element operand, matrix products,
diagonals, ``type()`` names, ``zero_`` of e8m0 and safetensors' F8 codes."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as CF

torch = pytest.importorskip("torch")
TF = pytest.importorskip("torch.nn.functional")
st = pytest.importorskip("safetensors.torch")

NAMES = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"]
CODES = np.array([0x38, 0x40, 0x30, 0x44, 0x38, 0x3C], np.uint8)


def _x(m, name):
    raw = m.tensor(CODES.tolist(), dtype=m.uint8)
    return raw.view(getattr(m, name))


def _bytes(t):
    u8 = cr.uint8 if isinstance(t, cr.Tensor) else torch.uint8
    arr = t.contiguous().view(u8)
    return arr._data if isinstance(t, cr.Tensor) else arr.numpy()


def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001 - PyTorch's error is the expectation
        return type(e).__name__, str(e)


def _compare(ours, theirs):
    """Same values and dtype, or the same error type and message."""
    (ok_a, a), (ok_b, b) = _outcome(ours), _outcome(theirs)
    assert ok_a == ok_b, (a, b)
    if ok_a != "ok":
        assert a == b
        return
    if isinstance(b, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _compare(lambda x=x: x, lambda y=y: y)
    elif isinstance(b, torch.Tensor):
        assert str(a.dtype) == str(b.dtype) and tuple(a.shape) == tuple(b.shape)
        if b.dtype.is_floating_point and b.dtype.itemsize == 1:
            np.testing.assert_array_equal(_bytes(a), _bytes(b))
        else:
            np.testing.assert_array_equal(a._data, b.numpy())
    else:
        assert a == b


def _mask(m, x):
    return x.view(m.uint8) > 0x39


OPS = {
    "eq": lambda m, F, x: x == x,
    "eq_scalar": lambda m, F, x: x == 1.0,
    "lt": lambda m, F, x: x < x,
    "le_scalar": lambda m, F, x: x <= 2,
    "gt": lambda m, F, x: m.gt(x, x),
    "ge": lambda m, F, x: m.ge(x, x),
    "isnan": lambda m, F, x: m.isnan(x),
    "isinf": lambda m, F, x: m.isinf(x),
    "isfinite": lambda m, F, x: m.isfinite(x),
    "isposinf": lambda m, F, x: m.isposinf(x),
    "isneginf": lambda m, F, x: m.isneginf(x),
    "signbit": lambda m, F, x: m.signbit(x),
    "nonzero": lambda m, F, x: m.nonzero(x),
    "count_nonzero": lambda m, F, x: m.count_nonzero(x),
    "argmax": lambda m, F, x: m.argmax(x),
    "argmin": lambda m, F, x: m.argmin(x, 0),
    "max": lambda m, F, x: m.max(x),
    "min": lambda m, F, x: m.min(x),
    "max_dim": lambda m, F, x: m.max(x, 0),
    "amax": lambda m, F, x: m.amax(x),
    "sort": lambda m, F, x: m.sort(x),
    "topk": lambda m, F, x: m.topk(x, 2),
    "gather": lambda m, F, x: m.gather(x, 0, m.tensor([1, 0])),
    "index_select": lambda m, F, x: m.index_select(x, 0, m.tensor([1, 0])),
    "take": lambda m, F, x: m.take(x, m.tensor([1, 0])),
    "unique": lambda m, F, x: m.unique(x),
    "unique_consecutive": lambda m, F, x: m.unique_consecutive(x),
    "allclose": lambda m, F, x: m.allclose(x, x),
    "isclose": lambda m, F, x: m.isclose(x, x),
    "equal": lambda m, F, x: m.equal(x, x),
    "where": lambda m, F, x: m.where(_mask(m, x), x, x),
    "cat": lambda m, F, x: m.cat([x, x]),
    "stack": lambda m, F, x: m.stack([x, x]),
    "clone": lambda m, F, x: x.clone(),
    "contiguous": lambda m, F, x: x.reshape(2, 3).t().contiguous(),
    "masked_fill": lambda m, F, x: x.masked_fill(_mask(m, x), 1.0),
    "abs": lambda m, F, x: m.abs(x),
    "neg": lambda m, F, x: -x,
    "mul": lambda m, F, x: x * x,
    "mul_0d_float32": lambda m, F, x: x * m.tensor(2.0),
    "mul_by_one_element": lambda m, F, x: x * x[:1],
    "0d_float32_mul": lambda m, F, x: m.tensor(2.0) * x,
    "mul_number": lambda m, F, x: x * 2,
    "div": lambda m, F, x: x / x,
    "div_number": lambda m, F, x: x / 2,
    "add": lambda m, F, x: x + x,
    "sum": lambda m, F, x: x.sum(),
    "mean": lambda m, F, x: x.mean(),
    "flip": lambda m, F, x: x.flip(0),
    "searchsorted": lambda m, F, x: m.searchsorted(x, x),
    "logical_not": lambda m, F, x: m.logical_not(x),
    "logical_and": lambda m, F, x: m.logical_and(x, x),
    "isin": lambda m, F, x: m.isin(x, x),
    "histc": lambda m, F, x: m.histc(x),
    "remainder": lambda m, F, x: x % x,
    "floor_divide": lambda m, F, x: x // x,
    "fmod": lambda m, F, x: m.fmod(x, x),
    "frexp": lambda m, F, x: m.frexp(x),
    "heaviside": lambda m, F, x: m.heaviside(x, x),
    "index_fill": lambda m, F, x: x.index_fill(0, m.tensor([0]), 2.0),
    "put": lambda m, F, x: x.put(m.tensor([0]), x[:1]),
    "index_put": lambda m, F, x: x.clone().index_put_((m.tensor([0]),), x[:1]),
    "exp": lambda m, F, x: x.exp(),
    "sigmoid": lambda m, F, x: x.sigmoid(),
    "relu": lambda m, F, x: m.relu(x),
    "clamp": lambda m, F, x: x.clamp(0, 1),
    "cumsum": lambda m, F, x: x.cumsum(0),
    "softmax": lambda m, F, x: x.softmax(0),
    "tril": lambda m, F, x: x.reshape(2, 3).tril(),
    "scatter": lambda m, F, x: m.scatter(x, 0, m.tensor([0]), x[:1]),
    "lerp": lambda m, F, x: m.lerp(x, x, 0.5),
    "matmul": lambda m, F, x: x.reshape(2, 3) @ x.reshape(3, 2),
    "mv": lambda m, F, x: m.mv(x.reshape(2, 3), x[:3]),
    "dot": lambda m, F, x: m.dot(x, x),
    "linear": lambda m, F, x: F.linear(x.reshape(2, 3), x.reshape(2, 3)),
    "diag": lambda m, F, x: m.diag(x),
    "diag_embed": lambda m, F, x: m.diag_embed(x),
    "diagonal": lambda m, F, x: m.diagonal(x.reshape(2, 3)).contiguous(),
    "unfold": lambda m, F, x: x.unfold(0, 2, 1).contiguous(),
    "fill_": lambda m, F, x: x.clone().fill_(3.0),
    "zero_": lambda m, F, x: x.clone().zero_(),
    "type": lambda m, F, x: x.type(),
    "type_0d": lambda m, F, x: x[0].type(),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("op", sorted(OPS))
def test_op_runs_or_refuses_as_torch(name, op):
    fn = OPS[op]
    _compare(lambda: fn(cr, CF, _x(cr, name)), lambda: fn(torch, TF, _x(torch, name)))


@pytest.mark.parametrize("name", NAMES)
def test_type_string_converts_to_float8(name):
    legacy = _x(torch, name).type()
    assert cr.ones(2).type(legacy).dtype == getattr(cr, name)
    np.testing.assert_array_equal(
        _bytes(cr.ones(2).type(legacy)), _bytes(torch.ones(2).type(legacy))
    )


@pytest.mark.parametrize("name", NAMES)
def test_safetensors_round_trips_bit_exact(tmp_path, name):
    codes = np.arange(256, dtype=np.uint8).reshape(16, 16)
    ours = cr.tensor(codes, dtype=cr.uint8).view(getattr(cr, name))
    cr.save({"w": ours}, tmp_path / "ours.safetensors")
    back = cr.load(tmp_path / "ours.safetensors")["w"]
    assert back.dtype == ours.dtype
    np.testing.assert_array_equal(_bytes(back), codes)
    theirs = st.load_file(str(tmp_path / "ours.safetensors"))["w"]  # the library reads ours
    assert str(theirs.dtype) == str(ours.dtype)
    np.testing.assert_array_equal(_bytes(theirs), codes)
    st.save_file(
        {"w": torch.from_numpy(codes.copy()).view(getattr(torch, name))},
        str(tmp_path / "theirs.safetensors"),
    )
    loaded = cr.load(tmp_path / "theirs.safetensors")["w"]
    assert loaded.dtype == ours.dtype
    np.testing.assert_array_equal(_bytes(loaded), codes)
