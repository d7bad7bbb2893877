"""creation_more.py against PyTorch: logspace, the window functions, scalar_tensor,
randint_like, asarray and empty_strided (values, dtypes, shapes, memory sharing, errors)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr

_DTYPES = {"float32": (cr.float32, torch.float32), "float64": (cr.float64, torch.float64)}


def _same(c, t, tol=1e-6):
    cn, tn = c.detach().numpy(), t.detach().numpy()
    assert cn.shape == tn.shape and cn.dtype == tn.dtype, (cn.shape, cn.dtype, tn.shape, tn.dtype)
    np.testing.assert_allclose(cn, tn, rtol=tol, atol=tol)


def _both_raise(fn, exc):
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc):
        fn(cr)


# ---------------------------------------------------------------- logspace
@pytest.mark.parametrize("args", [(0, 2, 3), (0, 2, 0), (0, 2, 1), (-1.5, 3, 7), (2, -2, 5)])
@pytest.mark.parametrize("base", [10.0, 2, 0.5])
def test_logspace_matches_torch(args, base):
    _same(cr.logspace(*args, base=base), torch.logspace(*args, base=base), 1e-5)
    _same(
        cr.logspace(*args, base, dtype=cr.float64),
        torch.logspace(*args, base, dtype=torch.float64),
        1e-12,
    )


def test_logspace_dtypes_tensor_bounds_and_errors():
    _same(cr.logspace(0, 3, 4, dtype=cr.int64), torch.logspace(0, 3, 4, dtype=torch.int64))
    _same(
        cr.logspace(cr.tensor(0.0), cr.tensor(1.0), 3),
        torch.logspace(torch.tensor(0.0), torch.tensor(1.0), 3),
    )
    t = cr.logspace(0, 1, 3, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    _both_raise(lambda lib: lib.logspace(0, 2, -1), RuntimeError)
    _both_raise(lambda lib: lib.logspace(0, 2, 2.0), TypeError)


# ---------------------------------------------------------------- windows
_WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


@pytest.mark.parametrize("name", _WINDOWS)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 8, 31])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_windows_match_torch(name, n, periodic, dtype):
    cd, td = _DTYPES[dtype]
    c = getattr(cr, name)(n, periodic, dtype=cd)
    t = getattr(torch, name)(n, periodic, dtype=td)
    _same(c, t, 1e-6 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("name", _WINDOWS)
def test_window_defaults_and_errors(name):
    _same(getattr(cr, name)(6), getattr(torch, name)(6))  # periodic, default dtype
    assert getattr(cr, name)(4, requires_grad=True).requires_grad
    _both_raise(lambda lib: getattr(lib, name)(-1), RuntimeError)
    _both_raise(lambda lib: getattr(lib, name)(4, dtype=lib.int64), RuntimeError)
    _both_raise(lambda lib: getattr(lib, name)(4.0), TypeError)


def test_window_parameters():
    for args in [(7, True, 0.5, 0.5), (6, False, 0.6, 0.3)]:
        _same(
            cr.hamming_window(*args, dtype=cr.float64),
            torch.hamming_window(*args, dtype=torch.float64),
            1e-12,
        )
    for args in [(7, True, 0.0), (6, False, 3.0), (5, True, 20.0)]:
        _same(
            cr.kaiser_window(*args, dtype=cr.float64),
            torch.kaiser_window(*args, dtype=torch.float64),
            1e-12,
        )


# ---------------------------------------------------------------- scalar_tensor
@pytest.mark.parametrize("value", [3, 2.5, True, -0.0, np.float32(1.5), np.int64(7)])
def test_scalar_tensor_matches_torch(value):
    _same(cr.scalar_tensor(value), torch.scalar_tensor(value))
    _same(
        cr.scalar_tensor(value, dtype=cr.float64), torch.scalar_tensor(value, dtype=torch.float64)
    )
    _same(cr.scalar_tensor(value, dtype=cr.int64), torch.scalar_tensor(value, dtype=torch.int64))


def test_scalar_tensor_forms_and_errors():
    _same(cr.scalar_tensor(cr.tensor(2)), torch.scalar_tensor(torch.tensor(2)))
    c = cr.scalar_tensor(1 + 2j, dtype=np.complex64)
    assert c.shape == () and c.item() == 1 + 2j
    assert cr.scalar_tensor(1.0, requires_grad=True).requires_grad
    _both_raise(lambda lib: lib.scalar_tensor([1]), TypeError)
    _both_raise(lambda lib: lib.scalar_tensor(1 + 2j), RuntimeError)


# ---------------------------------------------------------------- randint_like
@pytest.mark.parametrize(
    "dtype,args", [("float32", (5,)), ("int64", (2, 9)), ("bool", (2,)), ("int32", (-3, 3))]
)
def test_randint_like_shape_dtype_range(dtype, args):
    x = cr.zeros(3, 4, dtype=getattr(cr, dtype) if dtype != "bool" else bool)
    t = torch.zeros(3, 4, dtype=getattr(torch, dtype))
    c, w = cr.randint_like(x, *args), torch.randint_like(t, *args)
    assert c.shape == tuple(w.shape) and c.dtype == x.dtype
    assert str(c.dtype) == str(w.dtype)
    low, high = (0, args[0]) if len(args) == 1 else args
    vals = c.numpy().astype(np.int64)
    assert vals.min() >= low and vals.max() < high


def test_randint_like_is_reproducible_and_covers_the_range():
    x = cr.zeros(2000)
    cr.manual_seed(3)
    a = cr.randint_like(x, 1, 5)
    cr.manual_seed(3)
    b = cr.randint_like(x, low=1, high=5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert set(np.unique(a.numpy())) == {1.0, 2.0, 3.0, 4.0}
    g = cr.Generator().manual_seed(5)
    c = cr.randint_like(x, 5, generator=g)
    g.manual_seed(5)
    np.testing.assert_array_equal(c.numpy(), cr.randint_like(x, 5, generator=g).numpy())


def test_randint_like_dtype_keyword_and_errors():
    c = cr.randint_like(cr.zeros(2, 3), 10, dtype=cr.int32)
    assert c.dtype == np.int32 and c.shape == (2, 3)
    assert cr.randint_like(cr.zeros(0, 2), 3).shape == (0, 2)
    assert cr.randint_like(cr.zeros(2), 3, requires_grad=True).requires_grad
    _both_raise(lambda lib: lib.randint_like(lib.zeros(2), 0), RuntimeError)
    _both_raise(lambda lib: lib.randint_like(lib.zeros(2), 5, 2), RuntimeError)
    _both_raise(lambda lib: lib.randint_like(lib.zeros(2), 5.5), TypeError)


# ---------------------------------------------------------------- asarray
@pytest.mark.parametrize("obj", [[1, 2], [1.0, 2], 3, 2.5, True, [[1, 2], [3, 4]], []])
def test_asarray_python_data_matches_torch(obj):
    _same(cr.asarray(obj), torch.asarray(obj))
    _same(cr.asarray(obj, dtype=cr.float64), torch.asarray(obj, dtype=torch.float64))
    _both_raise(lambda lib: lib.asarray(obj, copy=False), ValueError)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.uint8, np.bool_])
def test_asarray_shares_numpy_memory_unless_copied(dtype):
    a = np.arange(4).astype(dtype)
    t = cr.asarray(a)
    assert t.dtype == a.dtype and np.shares_memory(t.numpy(), a)
    assert np.shares_memory(cr.asarray(a, copy=False).numpy(), a)
    assert not np.shares_memory(cr.asarray(a, copy=True).numpy(), a)
    assert np.shares_memory(cr.asarray(a[::2]).numpy(), a)  # strided views too
    other = cr.float64 if dtype != np.float64 else cr.float32
    converted = cr.asarray(a, dtype=other)
    assert converted.dtype == other and not np.shares_memory(converted.numpy(), a)
    with pytest.raises(ValueError, match="alias"):
        cr.asarray(a, dtype=other, copy=False)
    with pytest.raises(ValueError, match="alias"):
        torch.asarray(a, dtype=torch.float64 if dtype != np.float64 else torch.float32, copy=False)


def test_asarray_numpy_scalar():
    _same(cr.asarray(np.float64(2.0)), torch.asarray(np.float64(2.0)))
    _same(cr.asarray(np.int32(2)), torch.asarray(np.int32(2)))
    _both_raise(lambda lib: lib.asarray(np.float64(2.0), copy=False), RuntimeError)


@pytest.mark.filterwarnings("ignore:torch.asarray")  # PyTorch's notice on its new default
def test_asarray_of_a_tensor_as_torch():
    for lib in (cr, torch):
        x = lib.arange(6.0).reshape(2, 3)
        assert lib.asarray(x) is x
        assert lib.asarray(x, copy=False) is x
        assert lib.asarray(x, dtype=lib.float32) is x
        assert lib.asarray(x, dtype=lib.float64).dtype == lib.float64
        with pytest.raises(ValueError):
            lib.asarray(x, dtype=lib.float64, copy=False)
        y = lib.asarray(x, copy=True)
        y[0, 0] = 9.0
        assert float(x[0, 0]) == 0.0
        assert lib.asarray(x, requires_grad=True) is x and x.requires_grad  # set on x itself
        w = lib.ones(2, requires_grad=True) * 2.0
        assert lib.asarray(w, requires_grad=True) is w
        d = lib.asarray(w, requires_grad=False)
        assert d is not w and not d.requires_grad
        c = lib.asarray(w, copy=True)
        assert c.requires_grad and c.grad_fn is not None  # a clone, in the graph


def test_asarray_from_dlpack_producer_and_errors():
    t = torch.arange(3.0)
    c = cr.asarray(t)
    t[0] = 5.0
    assert c.numpy().tolist() == [5.0, 1.0, 2.0]  # zero copy
    assert not cr.asarray([1.0], requires_grad=False).requires_grad
    assert cr.asarray([1.0], requires_grad=True).requires_grad
    _both_raise(lambda lib: lib.asarray([1, [2]]), (TypeError, ValueError))


# ---------------------------------------------------------------- empty_strided
@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 6)), max_size=4))
def test_empty_strided_has_torch_shape_stride_and_dtype(dims):
    size = tuple(d[0] for d in dims)
    stride = tuple(d[1] for d in dims)
    c, t = cr.empty_strided(size, stride), torch.empty_strided(size, stride)
    assert c.shape == tuple(t.shape) and c.dtype == np.float32
    if c.numel():  # PyTorch reports the strides of a tensor with elements as given
        assert c.stride() == t.stride()
    c.fill_(1.5) if c.numel() else None
    assert c.numel() == 0 or np.all(c.numpy() == 1.5)


def test_empty_strided_options_and_errors():
    c = cr.empty_strided((2, 3), (1, 2), dtype=cr.int64)
    assert c.dtype == np.int64 and c.stride() == (1, 2)
    assert cr.empty_strided((), ()).shape == ()
    assert cr.empty_strided([2, 2], [2, 1], requires_grad=True).requires_grad
    _both_raise(lambda lib: lib.empty_strided((2, 3), (3,)), RuntimeError)
    _both_raise(lambda lib: lib.empty_strided((2, 3), (-3, 1)), RuntimeError)
    _both_raise(lambda lib: lib.empty_strided((2, -3), (3, 1)), (RuntimeError, ValueError))
