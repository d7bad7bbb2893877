"""Writing a Python number into a tensor: PyTorch refuses one its dtype cannot hold
(``RuntimeError: value cannot be converted ... without overflow``) where NumPy would cast it
silently (1e308 -> inf in float32, 1000 -> -24 in int8). Every case runs on both frameworks:
both raise, or both give the same values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_VALUES = [
    (1e308, "float32"),
    (3.4028235e38, "float32"),  # above float32's max once read as a double: torch refuses
    (3.4028234e38, "float32"),
    (-3.5e38, "float32"),
    (float("inf"), "float32"),
    (float("nan"), "float32"),
    (1e308, "float64"),
    (70000.0, "float16"),  # half precision becomes inf in torch, without the check
    (1e39, "complex64"),
    (1 + 2j, "float32"),
    (1 + 0j, "float32"),
    (1000, "int8"),
    (-129, "int8"),
    (127.5, "int8"),
    (3.7, "int8"),
    (-1, "uint8"),  # wraps around, as in torch
    (256, "uint8"),
    (float("inf"), "int32"),
    (float("nan"), "int32"),
    (1e10, "int32"),
    (2**63, "int64"),
    (5, "bool"),
]

_OPS = {
    "full": lambda t, v, d: t.full((2,), v, dtype=d),
    "full_like": lambda t, v, d: t.full_like(t.zeros(2, dtype=d), v),
    "new_full": lambda t, v, d: t.zeros(1, dtype=d).new_full((2,), v),
    "fill_": lambda t, v, d: t.zeros(2, dtype=d).fill_(v),
    "index_fill": lambda t, v, d: t.zeros(2, dtype=d).index_fill(0, t.tensor([0]), v),
    "fill_diagonal_": lambda t, v, d: t.zeros(2, 2, dtype=d).fill_diagonal_(v),
    "masked_fill": lambda t, v, d: t.zeros(2, dtype=d).masked_fill(t.tensor([True, False]), v),
    "setitem": lambda t, v, d: _setitem(t.zeros(3, dtype=d), slice(0, 2), v),
}


def _setitem(x: Any, idx: Any, v: Any) -> Any:
    x[idx] = v
    return x


def _run(t: Any, op: str, value: Any, dtype: str) -> Any:
    try:
        return _OPS[op](t, value, getattr(t, dtype)).numpy()
    except (RuntimeError, ValueError) as err:  # torch: ValueError for x[i] = 2**63 in int64
        return err


@pytest.mark.parametrize("op", list(_OPS))
@pytest.mark.parametrize("value,dtype", _VALUES, ids=[f"{v}-{d}" for v, d in _VALUES])
def test_number_written_into_a_tensor_as_torch(op, value, dtype):
    if op == "index_fill" and dtype == "bool":
        pytest.skip("torch's index_fill has no bool kernel for a number (both refuse)")
    want = _run(torch, op, value, dtype)
    got = _run(cr, op, value, dtype)
    if isinstance(want, Exception):
        assert isinstance(got, RuntimeError), f"torch refuses ({want}); chainrule gave {got}"
        assert op in str(got), got
    else:
        assert not isinstance(got, Exception), got
        np.testing.assert_array_equal(got, want)


def test_clamp_bound_beyond_float32_is_refused_as_torch():
    with pytest.raises(RuntimeError, match="without overflow"):
        torch.zeros(2).clamp(max=1e308)
    with pytest.raises(RuntimeError, match=r"clamp: value 1e\+308 .* float32"):
        cr.zeros(2).clamp(max=1e308)
    assert cr.zeros(2, dtype=cr.float64).clamp(max=1e308).tolist() == [0.0, 0.0]


def test_a_tensor_value_is_cast_without_the_check_as_torch():
    big = 1e308
    want = torch.zeros(2).fill_(torch.tensor(big, dtype=torch.float64))
    got = cr.zeros(2).fill_(cr.tensor(big, dtype=cr.float64))
    np.testing.assert_array_equal(got.numpy(), want.numpy())
