"""Dtype conversions against PyTorch (CPU, x86-64): ``Tensor.to(dtype)`` and its shorthands
from every dtype to every dtype with special values (NaN, inf, -0.0, values beyond the
target's range, ties, subnormals), ``copy_`` between dtypes, ``torch.tensor``/``from_numpy``
of NumPy data, ``item``/``tolist``/``int``/``float`` and the legacy type names.

Where C leaves a float-to-integer conversion undefined (NaN, inf, out of range) the results
compared are what PyTorch's CPU kernels give on this machine; uint32 targets, whose results
in PyTorch depend on the layout (the vectorised kernel and the scalar tail differ), are
compared on values every path agrees on.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

INF = float("inf")
NAN = float("nan")

FLOATS = [
    0.0, -0.0, 0.1, -0.9, 1.5, -1.5, 2.5, 127.5, 128.0, -129.0, 255.9, 256.0, 300.7, -300.7,
    32767.5, 65519.0, 65520.0, 70000.0, 2147483647.0, 2147483648.0, -2147483649.0, 1e10, -1e10,
    5e9 + 7, -3e9 - 3, 9.223372036854775807e18, -9.223372036854775808e18, 1.8446744073709552e19,
    1e20, 3.4e38, 6.8e38, 1e-40, 1e-45, 5e-324, 3e-8, 6e-8, 1.0000001, 1.00390625, 1.01171875,
    1.0029296875, NAN, INF, -INF,
]  # fmt: skip
COMPLEX = [
    0j, 1.5 - 2.5j, 1j, -0.0 + 0j, complex(NAN, 1), complex(0, NAN), complex(INF, -INF),
    300.7 + 1j, 3e38 + 0j, -1.5 + 0j, -2147483649.0 + 2j,
]  # fmt: skip
# uint32: values on which PyTorch's vectorised and scalar conversions agree
UINT32_SAFE = [0.0, -0.0, 0.9, 1.5, -1.5, -300.7, 255.9, 65536.5, 2147483648.0, 4294967295.0]

INT_TARGETS = ["bool", "uint8", "int8", "int16", "uint16", "int32", "int64", "uint64"]
FLOAT_TARGETS = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
REAL_SOURCES = ["float16", "bfloat16", "float32", "float64"]


def _bits(t: torch.Tensor | cr.Tensor) -> np.ndarray:
    """The result's bits as an integer array (NaN's sign and payload masked to one NaN)."""
    if isinstance(t, torch.Tensor):
        arr = t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()
    else:
        arr = t.float().numpy() if t.dtype == cr.bfloat16 else t.numpy()
    arr = np.array(arr)
    if arr.dtype.kind == "c":
        return np.stack([_float_bits(arr.real), _float_bits(arr.imag)])
    return _float_bits(arr) if arr.dtype.kind == "f" else arr


def _float_bits(arr: np.ndarray) -> np.ndarray:
    out = arr.view(f"i{arr.itemsize}").copy()
    out[np.isnan(arr)] = -1
    return out


def _assert_same(got: cr.Tensor, want: torch.Tensor) -> None:
    assert str(got.dtype) == str(want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(_bits(got), _bits(want))


def _sources(src: str, values: list) -> tuple[torch.Tensor, cr.Tensor]:
    """The same values as a ``src`` tensor in both libraries (rounded from float64/complex)."""
    if src.startswith("complex"):
        return torch.tensor(values, dtype=getattr(torch, src)), cr.tensor(
            values, dtype=getattr(cr, src)
        )
    return (
        torch.tensor(values, dtype=torch.float64).to(getattr(torch, src)),
        cr.tensor(values, dtype=cr.float64).to(getattr(cr, src)),
    )


@pytest.mark.parametrize("dst", INT_TARGETS + FLOAT_TARGETS)
@pytest.mark.parametrize("src", REAL_SOURCES)
def test_to_from_floats_matches_torch(src: str, dst: str) -> None:
    t, c = _sources(src, FLOATS)
    _assert_same(c, t)
    _assert_same(c.to(getattr(cr, dst)), t.to(getattr(torch, dst)))
    # the graph-ending path (a tensor that requires grad cast to an integer type) too
    got = c.detach().requires_grad_().to(getattr(cr, dst)).detach()
    _assert_same(got, t.to(getattr(torch, dst)))


@pytest.mark.parametrize("dst", INT_TARGETS + FLOAT_TARGETS + ["uint32"])
@pytest.mark.parametrize("src", ["complex64", "complex128"])
def test_to_from_complex_matches_torch(src: str, dst: str) -> None:
    values = [v for v in COMPLEX if abs(v.real) < 2**31] if dst == "uint32" else COMPLEX
    t, c = _sources(src, values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch warns once per process
        _assert_same(c.to(getattr(cr, dst)), t.to(getattr(torch, dst)))


@pytest.mark.parametrize("src", REAL_SOURCES)
def test_to_uint32_matches_torch(src: str) -> None:
    t, c = _sources(src, UINT32_SAFE)
    _assert_same(c.to(cr.uint32), t.to(torch.uint32))


@pytest.mark.parametrize(
    ("value", "dtype", "expected"),
    [
        (300.7, "uint8", 44),
        (-1.5, "uint8", 255),
        (-2147483649.0, "uint8", 255),  # through int64, as PyTorch (NumPy alone gives 0)
        (1e10, "int32", -(2**31)),
        (2.0**63, "int64", -(2**63)),
        (NAN, "int64", -(2**63)),
        (-3e9, "uint32", 2**31),
    ],
)
def test_out_of_range_to_int(value: float, dtype: str, expected: int) -> None:
    got = cr.tensor([value] * 40, dtype=cr.float64).to(getattr(cr, dtype))
    want = torch.tensor([value] * 40, dtype=torch.float64).to(getattr(torch, dtype))
    assert got.tolist() == want.tolist() == [expected] * 40


@pytest.mark.parametrize("dst", ["int8", "uint8", "int16", "uint16", "int32", "int64"])
def test_bfloat16_beyond_range_to_int(dst: str) -> None:
    """ml_dtypes turns these into 0; PyTorch converts through float32."""
    values = [300.7, -300.7, -1.5, 70000.0, 1e10, -1e10, 1e20, NAN, INF, -INF]
    t, c = _sources("bfloat16", values)
    _assert_same(c.to(getattr(cr, dst)), t.to(getattr(torch, dst)))


def test_complex_to_bool_reads_both_parts() -> None:
    values = [1j, 0j, -0.0j, complex(0, NAN), 2 + 0j]
    got = cr.tensor(values).bool()
    assert got.tolist() == torch.tensor(values).bool().tolist() == [True, False, False, True, True]
    assert cr.tensor(values, requires_grad=True).bool().tolist() == got.tolist()


def test_complex_to_real_warns_user_warning() -> None:
    x = cr.tensor([1 + 2j, 3e38 + 0j], dtype=cr.complex64)
    with pytest.warns(UserWarning, match="discards the imaginary part") as caught:
        y = x.to(cr.float16)
    assert len(caught) == 1  # once, even when the overflow to inf reruns the cast quietly
    assert y.tolist() == [1.0, INF]


def test_cast_nan_to_int_under_error_filter() -> None:
    """NaN/inf/out-of-range to an integer: no NumPy RuntimeWarning (PyTorch gives none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = cr.tensor([NAN, INF, 1e10], requires_grad=True)
        assert x.int().tolist() == [-(2**31)] * 3
        assert x.detach().to(cr.uint8).tolist() == [0, 0, 0]
        assert x.detach().to(cr.uint32).tolist() == [2**31, 0, 0]


@pytest.mark.parametrize("dst", ["float16", "bfloat16", "float32", "float64", "complex64", "int32"])
@pytest.mark.parametrize("src", ["float32", "float64", "bfloat16", "int64", "complex64"])
def test_copy_between_dtypes(src: str, dst: str) -> None:
    values = [-0.0, 1.5, -2.5, 300.7, 65520.0] if src != "int64" else [0, 1, -2, 300, 65520]
    t, c = _sources(src, values) if src != "int64" else (torch.tensor(values), cr.tensor(values))
    tz = torch.full((5,), INF, dtype=getattr(torch, dst)) if dst != "int32" else torch.zeros(5)
    cz = cr.full((5,), INF, dtype=getattr(cr, dst)) if dst != "int32" else cr.zeros(5)
    tz, cz = tz.to(getattr(torch, dst)), cz.to(getattr(cr, dst))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # complex to real: PyTorch warns once
        tz.copy_(t)
        cz.copy_(c)
    _assert_same(cz, tz)


@pytest.mark.parametrize("old", [INF, NAN, -INF])
def test_copy_into_non_finite_keeps_source_and_zero_grad(old: float) -> None:
    results = []
    for lib in (cr, torch):
        a = lib.full((3,), old, requires_grad=True)
        b = lib.tensor([-0.0, 1.0, 2.0], requires_grad=True)
        z = a * 1
        z.copy_(b)
        assert z.grad_fn.name() == "torch::autograd::CopyBackwards"
        assert repr(z.grad_fn).startswith("<CopyBackwards object")
        (z * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        results.append((z.detach().numpy().copy(), a.grad.numpy().copy(), b.grad.numpy().copy()))
    for got, want in zip(results[0], results[1], strict=True):
        np.testing.assert_array_equal(_float_bits(got), _float_bits(want))


def test_copy_keeps_negative_zero_into_bfloat16() -> None:
    z = cr.zeros(2, dtype=cr.bfloat16)
    z.copy_(cr.tensor([-0.0, 1.0]))
    assert np.signbit(z.float().numpy()[0])


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("float32", "float64"),
        ("float64", "float32"),
        ("float32", "bfloat16"),
        ("float16", "float32"),
    ],
)
def test_cast_gradient_matches_torch(src: str, dst: str) -> None:
    grads = []
    weights = np.array([0.5, -1.0, 2.0, 3.0])
    for lib in (cr, torch):
        x = lib.tensor([0.1, -2.5, 3.0, 1e-3], dtype=getattr(lib, src), requires_grad=True)
        y = x.to(getattr(lib, dst))
        (y * lib.tensor(weights, dtype=getattr(lib, dst))).sum().backward()
        assert str(x.grad.dtype) == str(getattr(torch, src))
        grads.append(x.grad.float().numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


def test_complex_to_real_gradient_matches_torch() -> None:
    grads = []
    for lib in (cr, torch):
        x = lib.tensor([1 + 2j, -3 + 0.5j], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            y = x.to(lib.float32)
        (y * lib.tensor([2.0, -1.0])).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize(
    ("method", "dtype"),
    [
        ("float", "float32"), ("double", "float64"), ("half", "float16"),
        ("bfloat16", "bfloat16"), ("long", "int64"), ("int", "int32"), ("short", "int16"),
        ("char", "int8"), ("byte", "uint8"), ("bool", "bool"), ("cfloat", "complex64"),
        ("cdouble", "complex128"),
    ],
)  # fmt: skip
def test_shorthand_methods(method: str, dtype: str) -> None:
    t, c = _sources("float64", [-1.5, 0.0, 300.7, NAN])
    _assert_same(getattr(c, method)(), getattr(t, method)())
    assert str(getattr(c, method)().dtype) == f"torch.{dtype}"


@pytest.mark.parametrize("dtype", ["complex64", "complex128", "uint16", "uint32", "uint64"])
def test_type_names_beyond_legacy_constructors(dtype: str) -> None:
    name = torch.ones(1, dtype=getattr(torch, dtype)).type()
    assert cr.ones(1, dtype=getattr(cr, dtype)).type() == name
    _assert_same(cr.tensor([1, 2]).type(name), torch.tensor([1, 2]).type(name))


def test_type_cuda_name_asks_for_cuda() -> None:
    if cr.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(RuntimeError):
        cr.ones(2).type("torch.cuda.FloatTensor")


@pytest.mark.parametrize("value", [3.7 + 0j, -0.0j, 3.7 + 1j, complex(NAN, 0), complex(INF, 0)])
@pytest.mark.parametrize("convert", [int, float, bool])
def test_python_number_of_complex_tensor(value: complex, convert: type) -> None:
    try:
        want = convert(torch.tensor(value))
    except RuntimeError:
        with pytest.raises(RuntimeError, match="cannot be converted"):
            convert(cr.tensor(value))
        return
    got = convert(cr.tensor(value))
    assert type(got) is type(want)
    assert got == want or (got != got and want != want)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64", "uint16",
                                   "uint32", "uint64", "float16", "bfloat16", "float32",
                                   "float64", "complex64", "complex128"])  # fmt: skip
def test_item_and_tolist_python_types(dtype: str) -> None:
    values = [True, False] if dtype == "bool" else [3, 1]
    t = torch.tensor(values, dtype=getattr(torch, dtype))
    c = cr.tensor(values, dtype=getattr(cr, dtype))
    assert [type(v) for v in c.tolist()] == [type(v) for v in t.tolist()]
    assert c.tolist() == t.tolist()
    assert type(c[0].item()) is type(t[0].item())
    assert c[0].tolist() == t[0].tolist()


def test_bfloat16_numpy_refused() -> None:
    with pytest.raises(TypeError):
        torch.ones(1, dtype=torch.bfloat16).numpy()
    with pytest.raises(TypeError, match="BFloat16"):
        cr.ones(1, dtype=cr.bfloat16).numpy()


@pytest.mark.parametrize("dst", ["uint8", "int8", "int32", "int64", "bool", "float16"])
@pytest.mark.parametrize(
    "array",
    [
        np.array([300.7, -1.5, -2147483649.0, NAN, 1e10]),
        np.array([300.7, -1.5, 1e10, INF], dtype=np.float32),
        np.array([1, -1, 300, 2**40]),
        np.array([0, 255, 128], dtype=np.uint8),
    ],
    ids=["float64", "float32", "int64", "uint8"],
)
def test_tensor_of_numpy_with_dtype(array: np.ndarray, dst: str) -> None:
    want = torch.tensor(array, dtype=getattr(torch, dst))
    _assert_same(cr.tensor(array, dtype=getattr(cr, dst)), want)
    _assert_same(cr.as_tensor(array, dtype=getattr(cr, dst)), want)


@pytest.mark.parametrize("dst", ["uint8", "int32", "int64", "float32"])
def test_tensor_of_bfloat16_tensor_with_int_dtype(dst: str) -> None:
    t, c = _sources("bfloat16", [300.7, -1.5, 70000.0, NAN])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the copy-construct advice
        _assert_same(
            cr.tensor(c, dtype=getattr(cr, dst)), torch.tensor(t, dtype=getattr(torch, dst))
        )


def test_tensor_of_complex_numpy_with_real_dtype_warns_like_torch() -> None:
    arr = np.array([1 + 2j, -3.5 + 1j])
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        got = cr.tensor(arr, dtype=cr.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = torch.tensor(arr, dtype=torch.float32)
    _assert_same(got, want)
    assert cr.tensor(arr, dtype=cr.bool).tolist() == [True, True]  # to bool: no warning


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8"])
@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_tensor_of_non_finite_python_float_with_int_dtype(value: float, dtype: str) -> None:
    with pytest.raises(RuntimeError, match="cannot be converted"):
        torch.tensor([value], dtype=getattr(torch, dtype))
    with pytest.raises(RuntimeError, match="cannot be converted"):
        cr.tensor([value], dtype=getattr(cr, dtype))


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "complex64", "bfloat16"])
@pytest.mark.parametrize("data", [[0.1, -0.0, 1.5], [300.7], [65520.0], [6.8e38], [1e-45]])
def test_tensor_of_python_floats(data: list, dtype: str) -> None:
    _assert_same(
        cr.tensor(data, dtype=getattr(cr, dtype)), torch.tensor(data, dtype=getattr(torch, dtype))
    )


def test_longdouble_array_refused() -> None:
    arr = np.array([1.0, 2.0], dtype=np.longdouble)
    if arr.dtype == np.float64:
        pytest.skip("longdouble is float64 on this platform")
    for make in (torch.from_numpy, torch.tensor):
        with pytest.raises(TypeError):
            make(arr)
    for make in (cr.from_numpy, cr.tensor):
        with pytest.raises(TypeError, match="longdouble"):
            make(arr)


def test_from_numpy_zero_stride_and_readonly() -> None:
    base = np.arange(3.0)
    arr = np.lib.stride_tricks.as_strided(base, (3, 4), (8, 0))
    assert cr.from_numpy(arr).tolist() == torch.from_numpy(arr).tolist()
    with pytest.raises(ValueError, match="byte order"):
        cr.from_numpy(np.arange(3.0).astype(">f8"))


@pytest.mark.parametrize(
    ("dtype", "op", "value"),
    [("int64", "add_", 1.5), ("int32", "mul_", 2.5), ("int64", "div_", 2), ("bool", "add_", 1),
     ("float32", "add_", 1j), ("uint8", "sub_", 0.5)],
)  # fmt: skip
def test_inplace_downcast_refused(dtype: str, op: str, value: object) -> None:
    with pytest.raises(RuntimeError, match="can't be cast"):
        getattr(torch.ones(2, dtype=getattr(torch, dtype)), op)(value)
    with pytest.raises(RuntimeError, match="can't be cast"):
        getattr(cr.ones(2, dtype=getattr(cr, dtype)), op)(value)


def test_inplace_same_category_keeps_dtype() -> None:
    for lib in (cr, torch):
        x = lib.tensor([1, 2], dtype=lib.int8)
        x += 300  # wraps in int8, as PyTorch
        y = lib.tensor([1.0, 2.0], dtype=lib.float16)
        y += lib.tensor([70000.0])  # float32 operand: float16 result, inf
        assert x.tolist() == [45, 46]
        assert y.tolist() == [INF, INF]
