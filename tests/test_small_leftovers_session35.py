"""Small fidelity leftovers (session 35), each compared with torch 2.13 live:

- ``normal`` with a tensor ``mean``/``std`` and ``dtype=``/``device=``/``requires_grad=``:
  PyTorch has no such overload (TypeError); chainrule accepted them.
- ``tensor([np.array(1.0), ...])``: a 0-d array first in a nested list is a TypeError in
  PyTorch ("len() of unsized object"); the list-of-ndarrays warning (once per process) also
  comes from ``cr.Tensor([...])`` and for 0-d arrays further on (``[1.0, np.array(2.0)]``).
- ``stft`` without a window, and with ``return_complex=False``: PyTorch warns once per
  process (chainrule warned on every call), after its return_complex check.
- ``poisson`` of integer, bool or complex rates: NotImplementedError, as PyTorch.
- ``pack_padded_sequence`` of an empty input: "Cannot pack empty tensors." (a length longer
  than the input gives an inconsistent PackedSequence in PyTorch: chainrule keeps its error).
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from _forked import run_forked

import chainrule as cr
from chainrule import _user_warnings


def _outcome(fn: Callable[[], Any]) -> str:
    """The name of the exception ``fn`` raises, or 'ok'."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e).__name__
    return "ok"


# One snippet in a process of its own (``L`` the library): what it warns, as JSON.
_FRESH_CASE = """
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        exec({code!r})
    except Exception as e:
        print("raised", type(e).__name__)
print(json.dumps([str(w.message)[:40] for w in caught]))
"""


def _fresh_warnings(lib: str, code: str) -> list[str]:
    """The warning messages ``code`` (run with ``L`` the library) issues in a fresh process
    (the once-per-process warnings not yet spent), each cut to its first 40 characters."""
    return _fresh_warnings_of(lib, _FRESH_CODES)[code]


@functools.cache
def _fresh_warnings_of(lib: str, codes: tuple[str, ...]) -> dict[str, list[str]]:
    """:func:`_fresh_warnings` of every code at once: one interpreter imports ``lib``, then
    forks one child per code, each starting from the state right after the imports."""
    bodies = [_FRESH_CASE.format(code=code) for code in codes]
    outs = run_forked(f"import json, warnings\nimport numpy as np\nimport {lib} as L", bodies)
    return {code: json.loads(out.strip().splitlines()[-1]) for code, out in zip(codes, outs)}


# ---- normal: no dtype/device/requires_grad with a tensor mean or std ----

_NORMAL_CASES = {
    "tensor_mean_dtype": lambda L: L.normal(L.zeros(3), 1.0, dtype=L.float64),
    "tensor_std_dtype": lambda L: L.normal(1.0, L.ones(3), dtype=L.float64),
    "both_dtype": lambda L: L.normal(L.zeros(3), L.ones(3), dtype=L.float32),
    "tensor_mean_device": lambda L: L.normal(L.zeros(3), 1.0, device="cpu"),
    "tensor_mean_requires_grad": lambda L: L.normal(L.zeros(3), 1.0, requires_grad=True),
    "numbers_dtype": lambda L: L.normal(0.0, 1.0, (3,), dtype=L.float64),
    "tensor_mean_out": lambda L: L.normal(L.zeros(3), 1.0, out=L.empty(3, dtype=L.float64)),
    "tensor_mean_plain": lambda L: L.normal(L.zeros(3, dtype=L.float64), 1.0),
}


@pytest.mark.parametrize("name", list(_NORMAL_CASES))
def test_normal_tensor_overloads_like_torch(name: str) -> None:
    case = _NORMAL_CASES[name]
    assert _outcome(lambda: case(cr)) == _outcome(lambda: case(torch))
    if _outcome(lambda: case(torch)) == "ok":
        assert str(case(cr).dtype) == str(case(torch).dtype)


def test_normal_type_error_names_the_arguments() -> None:
    with pytest.raises(TypeError, match=r"got \(Tensor, float, dtype=torch.dtype\)"):
        cr.normal(cr.zeros(3), 1.0, dtype=cr.float64)


# ---- tensor() of lists holding NumPy arrays ----

_LIST_CASES = {
    "zero_d_first": "L.tensor([np.array(1.0), np.array(2.0)])",
    "zero_d_nested_first": "L.tensor([[np.array(1.0)]])",
    "zero_d_dtype": "L.tensor([np.array(1.0)], dtype=L.float64)",
    "zero_d_later": "L.tensor([1.0, np.array(2.0)])",
    "zero_d_in_row": "L.tensor([[1.0], [np.array(2.0)]])",
    "one_d": "L.tensor([np.array([1.0]), np.array([2.0])])",
    "legacy_zero_d": "L.Tensor([np.array(1.0)])",
    "legacy_one_d": "L.Tensor([np.array([1.0]), np.array([2.0])])",
    "legacy_zero_d_later": "L.Tensor([1.0, np.array(2.0)])",
    "float_tensor_one_d": "L.FloatTensor([np.array([1.0])])",
    "as_tensor_zero_d": "L.as_tensor([np.array(1.0), np.array(2.0)])",
    "as_tensor_one_d": "L.as_tensor([np.array([1.0]), np.array([2.0])])",
    "numpy_scalars": "L.tensor([np.float64(1.0), np.float64(2.0)])",
    "empty_arrays": "L.tensor([np.zeros(0), np.zeros(0)])",
    "tensor_then_array": "L.tensor([L.tensor(1.0), np.array(2.0)])",
}


@pytest.mark.parametrize("name", list(_LIST_CASES))
def test_list_of_arrays_like_torch(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code = _LIST_CASES[name]

    def run(lib: Any) -> tuple[str, Any, list[str]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                got = eval(code, {"L": lib, "np": np})  # noqa: S307 - the cases above
            except Exception as e:  # noqa: BLE001 - the type is what is compared
                return type(e).__name__, None, []
        return "ok", got, [str(w.message)[:40] for w in caught]

    monkeypatch.setattr(_user_warnings, "_issued", set())  # once per process: a fresh one
    got_kind, got, got_warned = run(cr)
    want_kind, want, _ = run(torch)
    assert got_kind == want_kind
    if want_kind == "ok":
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        # torch's own warning may be spent in this process: count it in a fresh one
        assert got_warned == _fresh_warnings("torch", code)


_ONCE_CODE = (
    "L.tensor([np.array([1.0])]); L.Tensor([np.array([1.0])]); L.tensor([1.0, np.array(2.0)])"
)


def test_list_of_arrays_warns_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_user_warnings, "_issued", set())
    code = _ONCE_CODE
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(code, {"L": cr, "np": np})  # noqa: S102 - the line above
    assert [str(w.message)[:40] for w in caught] == _fresh_warnings("torch", code)


def test_zero_d_array_first_error_names_the_op() -> None:
    with pytest.raises(TypeError, match=r"tensor\(\): len\(\) of unsized object"):
        cr.tensor([np.array(1.0), np.array(2.0)])


# ---- stft: its warnings once per process ----

_STFT_CASES = {
    "no_window_twice": "x = L.ones(64); L.stft(x, 16, return_complex=True); "
    "L.stft(x, 16, return_complex=True)",
    "return_complex_false_twice": "x = L.ones(64); w = L.ones(16); "
    "L.stft(x, 16, window=w, return_complex=False); "
    "L.stft(x, 16, window=w, return_complex=False)",
    "both_twice": "x = L.ones(64); L.stft(x, 16, return_complex=False); "
    "L.stft(x, 16, return_complex=False)",
    "missing_return_complex_first": "x = L.ones(64)\n"
    "try:\n    L.stft(x, 16)\nexcept RuntimeError:\n    pass\n"
    "L.stft(x, 16, return_complex=True)",
    "bad_pad_mode_first": "x = L.ones(64)\n"
    "try:\n    L.stft(x, 16, return_complex=True, pad_mode='bogus')\n"
    "except NotImplementedError:\n    pass\n"
    "L.stft(x, 16, return_complex=True)",
    "integer_signal": "L.stft(L.arange(64), 16, return_complex=True)",
}


# every snippet whose fresh-process warnings a test compares (run together, forked)
_FRESH_CODES = (*_LIST_CASES.values(), _ONCE_CODE, *_STFT_CASES.values())


@pytest.mark.parametrize("name", list(_STFT_CASES))
def test_stft_warnings_once_like_torch(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code = _STFT_CASES[name]
    monkeypatch.setattr(_user_warnings, "_issued", set())  # once per process: a fresh one
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            exec(code, {"L": cr})  # noqa: S102 - the cases above
        except RuntimeError:
            pass  # integer_signal: both raise (checked by the warning count only)
    assert [str(w.message)[:40] for w in caught] == _fresh_warnings("torch", code)


# ---- poisson: no integer, bool or complex rates ----


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "int8", "complex64"])
def test_poisson_non_float_rates_like_torch(dtype: str) -> None:
    with pytest.raises(NotImplementedError) as want:
        torch.poisson(torch.ones(2, dtype=getattr(torch, dtype)))
    with pytest.raises(NotImplementedError) as got:
        cr.poisson(cr.ones(2, dtype=getattr(cr, dtype)))
    assert str(got.value).startswith(str(want.value))  # '"poisson_cpu" not implemented ...'


def test_poisson_float_rates_still_draw() -> None:
    out = cr.poisson(cr.full((4,), 3.0, dtype=cr.float64))
    assert out.dtype == cr.float64 and tuple(out.shape) == (4,)


# ---- pack_padded_sequence ----


@pytest.mark.parametrize(
    ("shape", "lengths", "batch_first"),
    [
        ((3, 1, 0), [2], False),
        ((0, 1, 2), [1], False),
        ((3, 0, 2), [], False),
        ((1, 0, 2), [1], True),
        ((3, 1, 2), [0], False),
    ],
)
def test_pack_padded_empty_like_torch(shape: tuple, lengths: list, batch_first: bool) -> None:
    def run(lib: Any) -> str:
        x, lens = lib.zeros(shape), lib.tensor(lengths, dtype=lib.int64)
        try:
            lib.nn.utils.rnn.pack_padded_sequence(x, lens, batch_first=batch_first)
        except RuntimeError as e:
            return str(e).split(" (")[0]
        return "ok"

    want = run(torch)
    got = run(cr)
    assert got == want or got.startswith(want.rstrip(".")), (got, want)


def test_pack_padded_length_beyond_input_is_refused() -> None:
    # PyTorch packs only the steps there are but counts the asked ones in batch_sizes: a
    # PackedSequence whose batch_sizes sum past its data (undefined); chainrule refuses it.
    x = torch.arange(12.0).reshape(3, 2, 2)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, [4, 2])
    assert int(packed.batch_sizes.sum()) != packed.data.shape[0]
    with pytest.raises(RuntimeError, match="exceeds the 3 time steps"):
        cr.nn.utils.rnn.pack_padded_sequence(cr.arange(12.0).reshape(3, 2, 2), [4, 2])
