"""float8 dtypes against torch 2.13 live: dtype objects, finfo, conversions bit for bit
(all 256 codes and random inputs with inf/NaN/overflow/subnormals), creation, the ops
PyTorch runs or refuses, printing and ``Tensor.view`` reinterpretation."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
ml_dtypes = pytest.importorskip("ml_dtypes")

NAMES = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"]
CODES = np.arange(256, dtype=np.uint8)


def _f8(name: str, codes: np.ndarray) -> cr.Tensor:
    return cr.tensor(codes, dtype=cr.uint8).view(getattr(cr, name))


def _t8(name: str, codes: np.ndarray):
    return torch.from_numpy(codes.copy()).view(getattr(torch, name))


def _bits(a: np.ndarray) -> np.ndarray:
    """Raw bytes of each element (bit-exact comparison, NaN payloads included)."""
    a = np.ascontiguousarray(a)
    return a.view(np.uint8).reshape(a.shape + (-1,)) if a.ndim else a.view(np.uint8)


def _random_values(rng: np.random.Generator, n: int = 4000) -> np.ndarray:
    mags = rng.standard_normal(n) * np.exp(rng.uniform(-110, 100, n))
    special = [
        np.inf,
        -np.inf,
        np.nan,
        -np.nan,
        0.0,
        -0.0,
        1e-45,
        -1e-45,
        1e-39,
        448,
        449,
        464,
        464.1,
        480,
        57344,
        61440,
        61441,
        240,
        248,
        1.0625 + 2**-40,
        3e38,
        2.0**-127,
    ]
    return np.concatenate([mags, special, -np.asarray(special)])


@pytest.mark.parametrize("name", NAMES)
def test_dtype_object_attributes(name):
    d, td = getattr(cr, name), getattr(torch, name)
    assert repr(d) == repr(td) and str(d) == str(td)
    assert d.itemsize == td.itemsize == 1
    assert d.is_floating_point == td.is_floating_point
    assert d.is_signed == td.is_signed
    assert d.is_complex == td.is_complex
    assert d.to_real() is d
    with pytest.raises(RuntimeError) as ours:
        d.to_complex()
    with pytest.raises(RuntimeError) as theirs:
        td.to_complex()
    assert str(ours.value) == str(theirs.value)
    assert repr(cr.finfo(d)) == repr(torch.finfo(td))
    f, tf = cr.finfo(d), torch.finfo(td)
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(f, attr) == getattr(tf, attr), attr


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "target",
    [
        "float32",
        "float64",
        "float16",
        "bfloat16",
        "int64",
        "int32",
        "int16",
        "int8",
        "uint8",
        "bool",
        *NAMES,
    ],
)
def test_all_codes_convert_bit_for_bit(name, target):
    ours = _f8(name, CODES).to(getattr(cr, target))
    theirs = _t8(name, CODES).to(getattr(torch, target))
    assert str(ours.dtype) == str(theirs.dtype)
    width = theirs.element_size()
    raw = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[width]
    expected = theirs.view(raw).numpy() if target != "bool" else theirs.numpy()
    got = ours.view(getattr(cr, str(raw).split(".")[1])) if target != "bool" else ours
    np.testing.assert_array_equal(got._data, expected)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("source", ["float32", "float64", "float16", "bfloat16", "int64", "int32"])
def test_random_values_round_as_torch(name, source):
    rng = np.random.default_rng(NAMES.index(name) * 10 + len(source))
    if source in ("int64", "int32"):
        info = np.iinfo(source)
        t = torch.from_numpy(rng.integers(info.min, info.max, 3000, dtype=source))
    else:
        with np.errstate(all="ignore"):
            t = torch.from_numpy(_random_values(rng)).to(getattr(torch, source))
    raw = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]
    rawname = str(raw).split(".")[1]
    c = cr.tensor(t.view(raw).numpy()).view(getattr(cr, source))  # the same bits
    ours = c.to(getattr(cr, name)).view(cr.uint8)._data
    theirs = t.to(getattr(torch, name)).view(torch.uint8).numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert rawname


def test_float8_e8m0fnu_rounds_float32_bits_as_torch():
    rng = np.random.default_rng(7)
    bits = np.concatenate(
        [
            rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32),
            np.arange(0, 2**16, dtype=np.uint32) | 0x400000,
            (np.arange(512, dtype=np.uint32) << 23) | 0x400000,
            (np.arange(512, dtype=np.uint32) << 23) | 0x3FFFFF,
        ]
    )
    t = torch.from_numpy(bits.view(np.int32)).view(torch.float32)
    ours = cr.tensor(bits.view(np.int32)).view(cr.float32).to(cr.float8_e8m0fnu)
    np.testing.assert_array_equal(
        ours.view(cr.uint8)._data, t.to(torch.float8_e8m0fnu).view(torch.uint8).numpy()
    )


@pytest.mark.parametrize("name", NAMES)
def test_tensor_and_creation_from_python_floats(name):
    values = [
        1e9,
        -1e9,
        float("inf"),
        float("-inf"),
        float("nan"),
        1.0625 + 2**-40,
        -0.0,
        3.3,
        1e-40,
        2.0**-127,
        0.0,
        -1.0,
    ]
    ours = cr.tensor(values, dtype=getattr(cr, name)).view(cr.uint8)._data
    theirs = torch.tensor(values, dtype=getattr(torch, name)).view(torch.uint8).numpy()
    np.testing.assert_array_equal(ours, theirs)
    for fn in ("zeros", "ones"):
        a = getattr(cr, fn)(2, 3, dtype=getattr(cr, name))
        b = getattr(torch, fn)(2, 3, dtype=getattr(torch, name))
        np.testing.assert_array_equal(a.view(cr.uint8)._data, b.view(torch.uint8).numpy())
    for v in (3.3, 500.0, 1e9, -1.0, float("nan"), float("inf")):
        _same_outcome(
            lambda v=v: cr.full((3,), v, dtype=getattr(cr, name)),
            lambda v=v: torch.full((3,), v, dtype=getattr(torch, name)),
        )
    e = cr.empty(4, dtype=getattr(cr, name))
    assert e.dtype == getattr(cr, name) and tuple(e.shape) == (4,)
    assert (
        cr.eye(2, dtype=getattr(cr, name)).float().tolist()
        == torch.eye(2, dtype=getattr(torch, name)).float().tolist()
    )


@pytest.mark.parametrize("name", NAMES)
def test_view_reinterprets_bits(name):
    codes = np.array([0, 56, 127, 128, 255, 1, 66], dtype=np.uint8)
    a = _f8(name, codes)
    b = _t8(name, codes)
    for raw in ("uint8", "int8"):
        np.testing.assert_array_equal(
            a.view(getattr(cr, raw))._data, b.view(getattr(torch, raw)).numpy()
        )
    other = NAMES[(NAMES.index(name) + 1) % len(NAMES)]
    np.testing.assert_array_equal(
        a.view(getattr(cr, other)).view(cr.uint8)._data,
        b.view(getattr(torch, other)).view(torch.uint8).numpy(),
    )
    pair = _f8(name, np.array([0, 60, 1, 2], dtype=np.uint8)).view(cr.float16)
    tpair = _t8(name, np.array([0, 60, 1, 2], dtype=np.uint8)).view(torch.float16)
    np.testing.assert_array_equal(pair.view(cr.int16)._data, tpair.view(torch.int16).numpy())


def _same_outcome(ours, theirs):
    """Both ran with the same values and dtype, or both raised the same type with PyTorch's
    key words."""
    try:
        t = theirs()
    except Exception as e:  # noqa: BLE001 - any of PyTorch's errors is the expectation
        with pytest.raises(type(e)) as info:
            ours()
        msg = str(e)
        if "not implemented for" in msg:
            assert msg.split("not implemented for", 1)[1].split()[0] in str(info.value)
        if "Promotion for Float8" in msg:
            assert str(info.value) == msg
        return
    o = ours()
    if isinstance(t, torch.Tensor):
        assert str(o.dtype) == str(t.dtype)
        assert tuple(o.shape) == tuple(t.shape)
        if t.dtype.itemsize == 1 and t.dtype.is_floating_point:
            np.testing.assert_array_equal(o.view(cr.uint8)._data, t.view(torch.uint8).numpy())
        else:
            np.testing.assert_array_equal(o._data, t.numpy())
    elif isinstance(t, tuple):
        assert len(o) == len(t)
    else:
        assert o == t


OPS = {
    "add": lambda m, x, y, f: x + y,
    "add_scalar": lambda m, x, y, f: x + 1,
    "sub": lambda m, x, y, f: x - y,
    "mul": lambda m, x, y, f: x * y,
    "mul_scalar": lambda m, x, y, f: x * 2.0,
    "mul_f32": lambda m, x, y, f: x * f,
    "div": lambda m, x, y, f: x / y,
    "neg": lambda m, x, y, f: -x,
    "abs": lambda m, x, y, f: x.abs(),
    "exp": lambda m, x, y, f: x.exp(),
    "matmul": lambda m, x, y, f: x @ y,
    "sum": lambda m, x, y, f: x.sum(),
    "mean": lambda m, x, y, f: x.mean(),
    "max": lambda m, x, y, f: x.max(),
    "minimum": lambda m, x, y, f: m.minimum(x, y),
    "cat": lambda m, x, y, f: m.cat([x, y]),
    "cat_f32": lambda m, x, y, f: m.cat([x, f]),
    "stack": lambda m, x, y, f: m.stack([x, y]),
    "index": lambda m, x, y, f: x[1],
    "slice": lambda m, x, y, f: x[1:],
    "clone": lambda m, x, y, f: x.clone(),
    "reshape": lambda m, x, y, f: x.reshape(2, 2),
    "transpose": lambda m, x, y, f: x.reshape(2, 2).t().contiguous(),
    "eq": lambda m, x, y, f: x == y,
    "eq_f32": lambda m, x, y, f: x == f,
    "ne": lambda m, x, y, f: x != y,
    "to_f32": lambda m, x, y, f: x.float(),
    "where_scalar": lambda m, x, y, f: m.where(f > 0, x, 0.0),
    "where_f32": lambda m, x, y, f: m.where(f > 0, x, f),
    "copy_": lambda m, x, y, f: m.zeros(4, dtype=x.dtype).copy_(f),
    "flip": lambda m, x, y, f: x.flip(0),
    "clamp": lambda m, x, y, f: x.clamp(0, 1),
    "relu": lambda m, x, y, f: m.relu(x),
    "pow": lambda m, x, y, f: x**2,
    "sqrt": lambda m, x, y, f: x.sqrt(),
    "softmax": lambda m, x, y, f: x.softmax(0),
    "tril": lambda m, x, y, f: x.reshape(2, 2).tril(),
    "roll": lambda m, x, y, f: x.roll(1),
    "repeat": lambda m, x, y, f: x.repeat(2),
    "index_select": lambda m, x, y, f: x.index_select(0, m.tensor([0, 2])),
    "masked_fill": lambda m, x, y, f: x.masked_fill(f > 0, 1.0),
    "isnan": lambda m, x, y, f: x.isnan(),
    "expand": lambda m, x, y, f: x[:1].expand(3),
    "item": lambda m, x, y, f: x[1].item(),
    "tolist": lambda m, x, y, f: x.tolist(),
    "is_signed": lambda m, x, y, f: x.is_signed(),
    "is_floating_point": lambda m, x, y, f: x.is_floating_point(),
    "element_size": lambda m, x, y, f: x.element_size(),
}


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu"])
@pytest.mark.parametrize("op", sorted(OPS))
def test_ops_run_or_refuse_as_torch(name, op):
    vals = [1.0, 2.5, -3.0, 0.5] if name != "float8_e8m0fnu" else [1.0, 2.0, 4.0, 0.5]
    fvals = [1.0, -1.0, 300.0, 0.25]

    def run(m):
        x = m.tensor(vals, dtype=getattr(m, name))
        y = m.tensor(vals[::-1], dtype=getattr(m, name))
        f = m.tensor(fvals)
        return OPS[op](m, x, y, f)

    _same_outcome(lambda: run(cr), lambda: run(torch))


def test_promotion_and_casting_rules():
    e4, e5 = cr.float8_e4m3fn, cr.float8_e5m2
    for a, b in [(e4, cr.float32), (e4, e5), (e4, cr.int32), (cr.bool, e5)]:
        ta, tb = (getattr(torch, str(d).split(".")[1]) for d in (a, b))
        with pytest.raises(RuntimeError) as theirs:
            torch.promote_types(ta, tb)
        with pytest.raises(RuntimeError) as ours:
            cr.promote_types(a, b)
        assert str(ours.value) == str(theirs.value)
    assert cr.promote_types(e4, e4) is e4
    for a, b in [(e4, cr.int32), (cr.float32, e4), (e4, cr.bool), (e4, e5), (cr.int64, e5)]:
        ta, tb = (getattr(torch, str(d).split(".")[1]) for d in (a, b))
        assert cr.can_cast(a, b) == torch.can_cast(ta, tb)
    x = cr.tensor([1.0], dtype=e4)
    assert str(cr.result_type(x, 1.0)) == str(
        torch.result_type(torch.tensor([1.0]).to(torch.float8_e4m3fn), 1.0)
    )
    with pytest.raises(TypeError, match="Float8_e5m2Storage"):
        cr.set_default_dtype(e5)
    assert cr.get_default_dtype() == cr.float32


def test_numpy_refused_as_torch():
    with pytest.raises(TypeError) as theirs:
        torch.zeros(2, dtype=torch.float8_e4m3fn).numpy()
    with pytest.raises(TypeError) as ours:
        cr.zeros(2, dtype=cr.float8_e4m3fn).numpy()
    assert str(ours.value) == str(theirs.value)


PRINTED = [
    ("float8_e4m3fn", [1.0, 2.5, -3.0]),
    ("float8_e4m3fn", [1.0, float("nan"), -0.0, 448.0, 2.0**-9]),
    ("float8_e4m3fn", [1.0, 448.0, 16.0]),
    ("float8_e4m3fn", 2.5),
    ("float8_e4m3fn", []),
    ("float8_e5m2", [1.0, float("nan"), -0.0, float("inf"), 1e-5]),
    ("float8_e5m2", [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
    ("float8_e4m3fnuz", [1.0, float("nan"), -0.0, 1e9]),
    ("float8_e5m2fnuz", [1.0, 3.0, 0.125]),
    ("float8_e8m0fnu", [1.0, 2.0, 0.5]),
    ("float8_e8m0fnu", [1.0, 2.0**-127, float("nan"), 2.0**127]),
    ("float8_e8m0fnu", [2.0**-127, 1.0]),
    ("float8_e8m0fnu", [float("nan"), 2.0]),
    ("float8_e8m0fnu", [1.0, 2.0**-20]),
]


@pytest.mark.parametrize(("name", "values"), PRINTED)
def test_printing_as_torch(name, values):
    ours = cr.tensor(values, dtype=getattr(cr, name))
    theirs = torch.tensor(values, dtype=getattr(torch, name))
    assert repr(ours) == repr(theirs)
    assert repr(ours.requires_grad_()) == repr(theirs.requires_grad_())


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trips_with_torch(name, tmp_path):
    codes = np.array([0, 1, 56, 66, 127, 128, 200, 255], dtype=np.uint8)
    theirs = _t8(name, codes)
    torch.save({"w": theirs}, tmp_path / "t.pt")
    loaded = cr.load(tmp_path / "t.pt")["w"]
    assert str(loaded.dtype) == str(theirs.dtype)
    np.testing.assert_array_equal(loaded.view(cr.uint8)._data, codes)
    cr.save({"w": _f8(name, codes)}, tmp_path / "c.pt")
    back = torch.load(tmp_path / "c.pt")["w"]
    assert back.dtype == theirs.dtype
    np.testing.assert_array_equal(back.view(torch.uint8).numpy(), codes)
