"""``cr.testing`` against ``torch.testing``: ``assert_close`` passes and fails on the same
inputs with the same messages, ``make_tensor`` draws from the same ranges, and
``assert_allclose`` is deprecated the same way."""

import math
import re
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.testing import assert_allclose, assert_close, make_tensor

F16, F32, F64 = np.float16, np.float32, np.float64


def _run(fn, *args, **kwargs):
    """(exception type or None, message) of one assert call."""
    try:
        fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - we compare whatever both libraries raise
        return type(e), str(e)
    return None, ""


def _to_torch(x):
    """The same structure with chainrule tensors replaced by torch tensors."""
    if isinstance(x, cr.Tensor):
        return torch.from_numpy(np.array(x.detach().numpy(), order="K"))  # keeps strides
    if isinstance(x, list):
        return [_to_torch(v) for v in x]
    if isinstance(x, tuple):
        return tuple(_to_torch(v) for v in x)
    if isinstance(x, dict):
        return {k: _to_torch(v) for k, v in x.items()}
    return x


def _normalise(msg):
    """Spell torch's class and shape names the way chainrule prints them."""
    msg = msg.replace("<class 'torch.Tensor'>", "<class 'chainrule.autograd.tensor.Tensor'>")
    return re.sub(r"torch\.Size\(\[([^\]]*)\]\)", lambda m: str(_size(m.group(1))), msg)


def _size(text):
    return tuple(int(v) for v in text.split(",") if v.strip())


def _same_as_torch(actual, expected, **kw):
    """Assert chainrule and torch agree: both pass, or both raise the same type with the
    same message (modulo dtype/shape spelling). Returns chainrule's (type, message)."""
    ours = _run(assert_close, actual, expected, **kw)
    theirs = _run(torch.testing.assert_close, _to_torch(actual), _to_torch(expected), **kw)
    assert ours[0] is theirs[0], (ours, theirs)
    assert ours[1] == _normalise(theirs[1]), (ours[1], theirs[1])
    return ours


def t(values, dtype=F32):
    return cr.tensor(np.asarray(values, dtype=dtype))


# --- tolerance boundaries per dtype ----------------------------------------------------------


@pytest.mark.parametrize(
    "dtype,rtol,atol",
    [(F16, 1e-3, 1e-5), (F32, 1.3e-6, 1e-5), (F64, 1e-7, 1e-7)],
)
@pytest.mark.parametrize("factor", [0.5, 0.9, 1.1, 2.0, 10.0])
def test_default_tolerance_boundaries(dtype, rtol, atol, factor):
    expected = np.array([1.0, 100.0, -3.0, 0.0], dtype=dtype)
    delta = (atol + rtol * np.abs(expected.astype(np.float64))) * factor
    actual = (expected.astype(np.float64) + delta).astype(dtype)
    res = _same_as_torch(t(actual, dtype), t(expected, dtype))
    if factor <= 0.5:
        assert res[0] is None  # well inside the tolerance: passes in both
    if factor >= 2.0:
        assert res[0] is AssertionError  # well outside: fails in both


def test_default_tolerances_match_torch_exactly_at_boundary():
    # a sweep of deltas around atol + rtol*|x| in float32: both libraries draw the line at
    # the same element
    base = np.linspace(-50, 50, 101).astype(F32)
    for scale in np.linspace(0.8, 1.2, 9):
        delta = (1e-5 + 1.3e-6 * np.abs(base)) * scale
        _same_as_torch(t(base + delta.astype(F32)), t(base))


def test_integer_and_bool_are_compared_exactly():
    ok, msg = _same_as_torch(t([1, 2, 3], np.int64), t([1, 2, 4], np.int64))
    assert ok is AssertionError and "Tensor-likes are not equal!" in msg
    assert "Greatest absolute difference: 1 at index (2,)" in msg
    _same_as_torch(t([True, False], bool), t([True, True], bool))
    _same_as_torch(t([7, 8], np.uint8), t([7, 8], np.uint8))


def test_mismatch_report():
    ok, msg = _same_as_torch(t([1.0, 2.0, 3.0, 4.0]), t([1.0, 2.0, 3.5, 4.0]))
    assert ok is AssertionError
    assert msg.startswith("Tensor-likes are not close!")
    assert "Mismatched elements: 1 / 4 (25.0%)" in msg
    assert "Greatest absolute difference: 0.5 at index (2,) (up to 1e-05 allowed)" in msg
    assert "Greatest relative difference: 0.142857" in msg
    ok, msg = _same_as_torch(t([[1.0, 2.0], [3.0, 0.0]]), t([[1.0, 5.0], [3.0, 1e-3]]))
    assert "Mismatched elements: 2 / 4 (50.0%)" in msg and "at index (0, 1)" in msg


def test_zero_dim_tensors_use_scalar_message():
    ok, msg = _same_as_torch(t(1.0), t(1.5))
    assert msg.startswith("Scalars are not close!") and "Expected 1.5 but got 1.0." in msg


@pytest.mark.parametrize("equal_nan", [False, True])
def test_nan_and_inf(equal_nan):
    nan, inf = float("nan"), float("inf")
    _same_as_torch(t([1.0, nan]), t([1.0, nan]), equal_nan=equal_nan)
    _same_as_torch(t([nan, 2.0, 3.0]), t([1.0, 2.0, 4.0]), equal_nan=equal_nan)
    _same_as_torch(t([inf, -inf]), t([inf, -inf]), equal_nan=equal_nan)
    _same_as_torch(t([inf, 1.0]), t([-inf, 1.0]), equal_nan=equal_nan)
    _same_as_torch(t([inf]), t([1e38]), equal_nan=equal_nan)
    _same_as_torch(nan, nan, equal_nan=equal_nan)


def test_explicit_tolerances_and_validation():
    _same_as_torch(t([1.0, 2.0]), t([1.1, 2.0]), rtol=0.0, atol=0.2)
    _same_as_torch(t([1.0, 2.0]), t([1.1, 2.0]), rtol=0.0, atol=0.05)
    ok, msg = _same_as_torch(t([1.0]), t([1.0]), rtol=0.1)
    assert ok is ValueError and "got no atol" in msg
    ok, _ = _same_as_torch(t([1.0]), t([1.0]), atol=0.1)
    assert ok is ValueError
    ok, msg = _same_as_torch(t([1.0, 2.0]), t([1.0, 3.0]), rtol=0, atol=0)
    assert "are not equal!" in msg and "allowed" not in msg


def test_attribute_mismatches():
    ok, msg = _same_as_torch(t([1.0, 2.0]), t([1.0, 2.0, 3.0]))
    assert ok is AssertionError and "attribute 'shape'" in msg
    ok, msg = _same_as_torch(t([1.0]), t([1.0], F64))
    assert ok is AssertionError and "'dtype' do not match: torch.float32 != torch.float64" in msg
    _same_as_torch(t([1.0]), t([1.0], F64), check_dtype=False)
    _same_as_torch(t([1, 2], np.int64), t([1.0, 2.0]), check_dtype=False)
    _same_as_torch(t([1, 2], np.int64), t([1.0, 2.5]), check_dtype=False)
    a = t(np.zeros((2, 3)))
    ok, msg = _same_as_torch(a.t(), t(np.zeros((3, 2))), check_stride=True)
    assert "stride()" in msg
    _same_as_torch(a.t(), t(np.zeros((3, 2))))  # stride not checked by default


def test_numbers_bools_none():
    _same_as_torch(1, 1)
    _same_as_torch(1.0, 1.0 + 1e-8)
    _same_as_torch(1.0, 1.0 + 1e-6)
    ok, msg = _same_as_torch(1, 1.0)
    assert ok is AssertionError and "The (d)types do not match" in msg
    _same_as_torch(1, 1.0, check_dtype=False)
    _same_as_torch(2, 3)
    _same_as_torch(1 + 1j, 1 + 1.1j)
    _same_as_torch(np.float32(1.0), 1.0)
    _same_as_torch(True, True)
    _same_as_torch(True, False)
    _same_as_torch(np.bool_(True), True)
    _same_as_torch(None, None)
    ok, msg = _same_as_torch(None, 1)
    assert ok is AssertionError and "None mismatch" in msg


def test_unrelated_types_raise_type_error():
    ok, msg = _run(assert_close, t([1.0]), np.array([1.0], F32))
    assert ok is TypeError and "No comparison pair was able to handle inputs" in msg
    ok, _ = _run(torch.testing.assert_close, torch.tensor([1.0]), np.array([1.0], F32))
    assert ok is TypeError
    ok, _ = _same_as_torch(t([1.0]), [1.0])
    assert ok is TypeError
    ok, _ = _same_as_torch("a", "a")
    assert ok is TypeError
    ok, _ = _same_as_torch(t(1.0), 1.0)
    assert ok is TypeError


def test_numpy_arrays_compare_with_each_other():
    for a, e in [([1.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [1.0, 2.5]), ([1, 2], [1, 2])]:
        ours = _run(assert_close, np.array(a), np.array(e))
        theirs = _run(torch.testing.assert_close, np.array(a), np.array(e))
        assert ours[0] is theirs[0] and ours[1] == theirs[1]


def test_subclasses():
    p = cr.nn.Parameter(t([1.0, 2.0]))
    assert_close(p, t([1.0, 2.0]))
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(p, t([1.0, 2.0]), allow_subclasses=False)


def test_nested_containers():
    a = {"w": [t([1.0, 2.0]), (3, 4.0)], "b": t([0.0])}
    _same_as_torch(a, {"w": [t([1.0, 2.0]), (3, 4.0)], "b": t([0.0])})
    ok, msg = _same_as_torch(a, {"w": [t([1.0, 2.5]), (3, 4.0)], "b": t([0.0])})
    assert ok is AssertionError and "The failure occurred for item ['w'][0]" in msg
    ok, msg = _same_as_torch(a, {"w": [t([1.0, 2.0]), (3, 5.0)], "b": t([0.0])})
    assert "item ['w'][1][1]" in msg
    ok, msg = _same_as_torch([1, 2], [1, 2, 3])
    assert ok is AssertionError and "The length of the sequences mismatch: 2 != 3" in msg
    ok, msg = _same_as_torch({"a": 1, "b": 2}, {"a": 1, "c": 2})
    assert "Missing keys in the actual mapping: ['c']" in msg
    assert "Additional keys in the actual mapping: ['b']" in msg
    _same_as_torch((t([1.0]), t([2.0])), [t([1.0]), t([2.0])])


def test_msg_str_and_callable():
    ok, msg = _same_as_torch(t([1.0]), t([2.0]), msg="custom")
    assert msg == "custom"
    ok, msg = _same_as_torch([t([1.0])], [t([2.0])], msg=lambda m: f"Header\n\n{m}\n\nFooter")
    assert msg.startswith("Header") and msg.endswith("Footer") and "item [0]" in msg
    # structural errors (found before comparing values) keep the generated message
    _same_as_torch([1], [1, 2], msg="custom")


def test_tensors_that_require_grad():
    a = t([1.0, 2.0]).requires_grad_()
    assert_close(a * 1, t([1.0, 2.0]))


def test_assert_allclose_is_deprecated_like_torch():
    with pytest.warns(FutureWarning, match="assert_allclose\\(\\)` is deprecated"):
        assert_allclose(t([1.0, 2.0]), [1.0, 2.0 + 1e-5])  # looser float32 rtol 1e-4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for a, e, kw in [
            ([1.0, float("nan")], [1.0, float("nan")], {}),  # equal_nan defaults to True
            ([1.0, 2.0], [1.0, 2.01], {}),
            ([1, 2], [1.0, 2.0], {}),
            ([1.0], [1.5], {"rtol": 0.0, "atol": 0.6}),
            ([1.0], [2.0], {"msg": "boom"}),
        ]:
            ours = _run(assert_allclose, cr.tensor(a), e, **kw)
            theirs = _run(torch.testing.assert_allclose, torch.tensor(a), e, **kw)
            assert ours[0] is theirs[0], (a, e, ours, theirs)
            assert ours[1] == _normalise(theirs[1])


# --- make_tensor ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype,lo,hi",
    [
        (cr.bool, 0, 1),
        (cr.uint8, 0, 9),
        (cr.int8, -9, 9),
        (cr.int16, -9, 9),
        (cr.int32, -9, 9),
        (cr.int64, -9, 9),
        (cr.float16, -9, 9),
        (cr.float32, -9, 9),
        (cr.float64, -9, 9),
    ],
)
def test_make_tensor_default_ranges(dtype, lo, hi):
    x = make_tensor(2000, dtype=dtype, device="cpu")
    assert x.dtype == dtype and x.shape == (2000,)
    v = x.numpy().astype(np.float64)
    assert v.min() >= lo and v.max() <= hi
    if dtype.kind in "biu":  # all values of a small integer range show up
        assert v.min() == lo and v.max() == hi
    else:  # (float16 may round a draw just below 9 up to 9, in torch too)
        assert v.min() < -8 and v.max() > 8 and (v.max() < 9 or dtype == cr.float16)
    tx = torch.testing.make_tensor(2000, dtype=getattr(torch, dtype.name), device="cpu")
    tv = tx.numpy().astype(np.float64)
    assert tv.min() >= lo and tv.max() <= hi  # the same table as torch


def test_make_tensor_shapes_and_options():
    assert make_tensor(2, 3, dtype=cr.float32, device="cpu").shape == (2, 3)
    assert make_tensor((2, 3), dtype=cr.float32, device="cpu").shape == (2, 3)
    assert make_tensor([4], dtype=cr.float32, device="cpu").shape == (4,)
    assert make_tensor(dtype=cr.float32, device="cpu").shape == ()
    x = make_tensor(3, 4, dtype=cr.float32, device="cpu", noncontiguous=True)
    assert x.shape == (3, 4) and not x.is_contiguous()
    assert make_tensor(1, dtype=cr.float32, device="cpu", noncontiguous=True).is_contiguous()
    x = make_tensor(5, dtype=cr.float64, device="cpu", requires_grad=True)
    assert x.requires_grad and x.is_leaf
    x = make_tensor(500, dtype=cr.int64, device="cpu", low=-1, high=1, exclude_zero=True)
    assert set(np.unique(x.numpy())) <= {-1, 1}
    x = make_tensor(500, dtype=cr.float32, device="cpu", low=0.25, high=0.5)
    assert 0.25 <= x.min().item() and x.max().item() < 0.5
    x = make_tensor(100, dtype=cr.uint8, device="cpu", low=-100, high=3)  # clamped to 0
    assert x.min().item() >= 0 and x.max().item() <= 2
    x = make_tensor(100, dtype=cr.float16, device="cpu", low=-1e6, high=1e6)  # clamped
    assert np.isfinite(x.numpy()).all()
    x = make_tensor(3, dtype=np.dtype("complex64"), device="cpu")
    assert x.dtype == np.complex64 and np.abs(x.numpy().real).max() < 9
    cr.manual_seed(3)
    a = make_tensor(4, dtype=cr.float32, device="cpu")
    cr.manual_seed(3)
    assert np.array_equal(a.numpy(), make_tensor(4, dtype=cr.float32, device="cpu").numpy())


@pytest.mark.parametrize(
    "kwargs,err",
    [
        ({"dtype": cr.int64, "requires_grad": True}, ValueError),
        ({"dtype": cr.float32, "low": 2, "high": 1}, ValueError),
        ({"dtype": cr.float32, "low": math.nan}, ValueError),
        ({"dtype": cr.uint8, "low": -10, "high": -5}, ValueError),
        ({"dtype": cr.float32, "noncontiguous": True, "memory_format": "x"}, ValueError),
    ],
)
def test_make_tensor_errors_as_torch(kwargs, err):
    with pytest.raises(err):
        make_tensor(3, device="cpu", **kwargs)
    tkw = {**kwargs, "dtype": getattr(torch, kwargs["dtype"].name)}
    if "memory_format" in tkw:
        tkw["memory_format"] = torch.contiguous_format
    with pytest.raises(err):
        torch.testing.make_tensor(3, device="cpu", **tkw)


def test_make_tensor_low_equal_high_warns():
    with pytest.warns(FutureWarning, match="low==high"):
        x = make_tensor(3, dtype=cr.float32, device="cpu", low=1.0, high=1.0)
    assert np.all(x.numpy() == 1.0)


def test_make_tensor_unsupported():
    with pytest.raises(NotImplementedError, match="memory_format"):
        make_tensor(3, dtype=cr.float32, device="cpu", memory_format="channels_last")
    with pytest.raises(TypeError, match="not supported"):
        make_tensor(3, dtype="no-such-dtype", device="cpu")


def test_public_names():
    assert sorted(cr.testing.__all__) == ["assert_allclose", "assert_close", "make_tensor"]
    assert cr.testing.assert_close is assert_close


def test_random_cases_agree_with_torch():
    # seeded random arrays of every dtype, perturbed (NaN/inf included), default or explicit
    # tolerances, same or mixed dtypes: same verdict and same message as torch every time
    rng = np.random.default_rng(0)
    dtypes = [F16, F32, F64, np.int64, np.int32, np.uint8, np.bool_]
    for _ in range(400):
        d1 = rng.choice(dtypes)
        d2 = rng.choice(dtypes) if rng.random() < 0.3 else d1
        shape = tuple(rng.integers(1, 4, size=rng.integers(0, 3)))
        e = rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 4)
        noise = rng.standard_normal(shape) * 10.0 ** rng.integers(-9, 1)
        a = e + noise * (rng.random(shape) < 0.5)
        if rng.random() < 0.3:
            a = np.where(rng.random(shape) < 0.3, np.nan, a)
            e = np.where(rng.random(shape) < 0.3, np.nan, e)
            a = np.where(rng.random(shape) < 0.1, np.inf, a)
        with np.errstate(invalid="ignore"):
            a, e = np.asarray(a).astype(d1), np.asarray(e).astype(d2)
        kw = {"check_dtype": d1 == d2 or rng.random() < 0.5, "equal_nan": rng.random() < 0.5}
        if rng.random() < 0.3:
            kw.update(rtol=float(rng.choice([0, 1e-3, 0.1])), atol=float(rng.choice([0, 0.5])))
        _same_as_torch(cr.tensor(a), cr.tensor(e), **kw)
