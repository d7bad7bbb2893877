"""ops/numpy_style.py against PyTorch where the op-spec table (tests/ops/op_specs_stacking.py)
does not reach: integer/bool results (``unravel_index``, ``isin``), dtypes, empty and 0-d
inputs, argument forms and PyTorch's errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr

from .test_stacking import _both_raise, _pair, _same

RNG = np.random.default_rng(1)
X = RNG.standard_normal((2, 3))


# ------------------------------------------------------------ diagonals
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3)])
@pytest.mark.parametrize("offset", [0, 2, -3])
def test_diagflat_matches_torch(shape, offset):
    for a in (RNG.standard_normal(shape), np.arange(int(np.prod(shape))).reshape(shape)):
        c, t = _pair(a)
        _same(cr.diagflat(c, offset), torch.diagflat(t, offset))
        _same(c.diagflat(offset=offset), t.diagflat(offset=offset))


@pytest.mark.parametrize(
    "shape,offset,d1,d2", [((3, 4), 0, 0, 1), ((3, 4), -2, 1, 0), ((2, 3, 4), 1, -1, 0)]
)
def test_diagonal_scatter_matches_torch(shape, offset, d1, d2):
    c, t = _pair(RNG.standard_normal(shape))
    n = torch.diagonal(t, offset, d1, d2).shape
    cs, ts = _pair(RNG.standard_normal(tuple(n)))
    _same(cr.diagonal_scatter(c, cs, offset, d1, d2), torch.diagonal_scatter(t, ts, offset, d1, d2))
    _same(
        c.diagonal_scatter(cs.long(), offset, d1, d2), t.diagonal_scatter(ts.long(), offset, d1, d2)
    )
    _same(
        c.long().diagonal_scatter(cs, offset, d1, d2), t.long().diagonal_scatter(ts, offset, d1, d2)
    )


def test_diagonal_scatter_edges_and_errors():
    c, t = _pair(X)
    _same(cr.diagonal_scatter(c, cr.zeros(0), 5), torch.diagonal_scatter(t, torch.zeros(0), 5))
    _both_raise(lambda lib: lib.diagonal_scatter(lib.zeros(2, 3), lib.ones(3)), RuntimeError)
    _both_raise(lambda lib: lib.diagonal_scatter(lib.zeros(3), lib.ones(3)), IndexError)
    _both_raise(
        lambda lib: lib.diagonal_scatter(lib.zeros(2, 3), lib.ones(2), 0, 1, 1), RuntimeError
    )


# ------------------------------------------------------------ combinations
@pytest.mark.parametrize("n", [0, 1, 3, 5])
@pytest.mark.parametrize("r", [0, 1, 2, 3, 6])
@pytest.mark.parametrize("with_replacement", [False, True])
def test_combinations_matches_torch(n, r, with_replacement):
    for a in (RNG.standard_normal(n), np.arange(n), np.arange(n) % 2 == 0):
        c, t = _pair(a)
        _same(cr.combinations(c, r, with_replacement), torch.combinations(t, r, with_replacement))


def test_combinations_errors():
    _both_raise(lambda lib: lib.combinations(lib.zeros(2, 3)), RuntimeError)
    _both_raise(lambda lib: lib.combinations(lib.tensor(1.0)), RuntimeError)
    _both_raise(lambda lib: lib.combinations(lib.zeros(3), -1), RuntimeError)


# ------------------------------------------------------------ vander
@pytest.mark.parametrize("n_arg", [None, 0, 1, 2, 5])
@pytest.mark.parametrize("increasing", [False, True])
def test_vander_matches_torch(n_arg, increasing):
    for a in (
        np.array([0.5, 0.0, -2.0]),
        np.array([2, 0, -1]),
        np.array([True, False]),
        np.zeros(0),
    ):
        c, t = _pair(a)
        _same(cr.vander(c, n_arg, increasing), torch.vander(t, n_arg, increasing))
    c, t = _pair(np.array([1.5, 0.0], np.float32))
    _same(
        cr.vander(c, N=n_arg, increasing=increasing),
        torch.vander(t, N=n_arg, increasing=increasing),
    )


def test_vander_gradient_at_zero_is_finite():
    x = cr.tensor([0.0, 2.0], dtype=cr.float64, requires_grad=True)
    cr.vander(x, 4).sum().backward()
    # d/dx (x^3 + x^2 + x + 1) = 3x^2 + 2x + 1
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 17.0])


def test_vander_errors():
    _both_raise(lambda lib: lib.vander(lib.zeros(2, 2)), RuntimeError)
    _both_raise(lambda lib: lib.vander(lib.tensor(1.0)), RuntimeError)
    _both_raise(lambda lib: lib.vander(lib.zeros(3), -1), RuntimeError)


# ------------------------------------------------------------ unravel_index
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 4), max_size=4).map(tuple),
    st.lists(st.integers(-30, 30), max_size=6),
)
def test_unravel_index_matches_torch(shape, flat):
    c, t = _pair(np.array(flat, dtype=np.int64))
    _same(cr.unravel_index(c, shape), tuple(torch.unravel_index(t, shape)))


def test_unravel_index_forms_and_errors():
    c, t = _pair(np.array([[5, 1], [7, -1]]))
    _same(cr.unravel_index(c, (2, 3)), tuple(torch.unravel_index(t, (2, 3))))
    _same(cr.unravel_index(c.int(), 4), tuple(torch.unravel_index(t.int(), 4)))
    _same(
        cr.unravel_index(cr.tensor(4), [2, 3]), tuple(torch.unravel_index(torch.tensor(4), [2, 3]))
    )
    assert cr.unravel_index(c, ()) == ()
    _both_raise(lambda lib: lib.unravel_index(lib.tensor([1.0]), (2,)), TypeError)
    _both_raise(lambda lib: lib.unravel_index(lib.tensor([True]), (2,)), TypeError)
    _both_raise(lambda lib: lib.unravel_index(lib.tensor([1]), (2, -3)), ValueError)
    _both_raise(lambda lib: lib.unravel_index(lib.tensor([1]), (2.0,)), TypeError)
    _both_raise(lambda lib: lib.unravel_index(lib.tensor([1]), (0, 2)), RuntimeError)
    with pytest.raises(TypeError, match="unravel_index"):  # PyTorch: AttributeError
        cr.unravel_index(4, (2, 3))


# ------------------------------------------------------------ isin
_ELEMENTS = [
    np.array([0.0, 1.0, 2.5, np.nan]),
    np.arange(6).reshape(2, 3),
    np.zeros(0),
    np.array(2.0),
]


@pytest.mark.parametrize("elements", _ELEMENTS)
@pytest.mark.parametrize("test", [np.array([1, 2, 5]), np.array([[2.5, np.nan]]), np.zeros(0)])
@pytest.mark.parametrize("invert", [False, True])
def test_isin_matches_torch(elements, test, invert):
    (ce, te), (ct, tt) = _pair(elements), _pair(test)
    _same(cr.isin(ce, ct, invert=invert), torch.isin(te, tt, invert=invert))
    _same(
        cr.isin(ce, ct, assume_unique=True, invert=invert),
        torch.isin(te, tt, assume_unique=True, invert=invert),
    )


def test_isin_numbers_and_errors():
    c, t = _pair(np.arange(3))
    for s in (1, 1.5, 2.0):
        _same(cr.isin(c, s), torch.isin(t, s))
        _same(cr.isin(s, c), torch.isin(s, t))
    _both_raise(lambda lib: lib.isin(1.0, 2.0), TypeError)
    _both_raise(lambda lib: lib.isin(lib.zeros(3), lib.tensor([True])), RuntimeError)
    _both_raise(lambda lib: lib.isin(lib.zeros(3) > 0, lib.zeros(2)), RuntimeError)


# ------------------------------------------------------------ var_mean / std_mean
_MOMENT_CALLS = [
    lambda lib, f, x: f(x),
    lambda lib, f, x: f(x, 1),
    lambda lib, f, x: f(x, True),
    lambda lib, f, x: f(x, False),
    lambda lib, f, x: f(x, [0, 1], True, True),
    lambda lib, f, x: f(x, dim=-1, unbiased=False, keepdim=True),
    lambda lib, f, x: f(x, None, correction=2, keepdim=True),
    lambda lib, f, x: f(x, (0,), correction=0),
]


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
@pytest.mark.parametrize("k", range(len(_MOMENT_CALLS)))
def test_moments_match_torch(name, k):
    call = _MOMENT_CALLS[k]
    for a in (X, X.astype(np.float32), RNG.standard_normal((3, 2, 2))):
        c, t = _pair(a)
        _same(call(cr, getattr(cr, name), c), tuple(call(torch, getattr(torch, name), t)))


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
def test_moments_errors_and_empty(name):
    _both_raise(lambda lib: getattr(lib, name)(lib.zeros(2, 3).long()), RuntimeError)
    _both_raise(lambda lib: getattr(lib, name)(lib.zeros(2, 3), 5), IndexError)
    with pytest.raises(TypeError, match=name):
        getattr(cr, name)(cr.zeros(2, 3), 1, True, correction=1)
    with warnings.catch_warnings():  # both warn: no degrees of freedom
        warnings.simplefilter("ignore")
        _same(getattr(cr, name)(cr.zeros(0)), tuple(getattr(torch, name)(torch.zeros(0))))
    with pytest.warns(UserWarning, match="degrees of freedom"):
        getattr(cr, name)(cr.zeros(1))


# ------------------------------------------------------------ trapezoid rule
@pytest.mark.parametrize("name", ["trapezoid", "trapz", "cumulative_trapezoid"])
@pytest.mark.parametrize("shape", [(2, 3), (4,), (2, 1), (2, 0), (0, 3), (3, 2, 2)])
@pytest.mark.parametrize("dim", [-1, 0])
def test_trapezoid_family_matches_torch(name, shape, dim):
    cf, tf = getattr(cr, name), getattr(torch, name)
    for a in (RNG.standard_normal(shape), np.arange(int(np.prod(shape))).reshape(shape)):
        c, t = _pair(a)
        _same(cf(c, dim=dim), tf(t, dim=dim))
        _same(cf(c, dx=2.5, dim=dim), tf(t, dx=2.5, dim=dim))
        _same(cf(c, dx=3, dim=dim), tf(t, dx=3, dim=dim))
        n = shape[dim]
        xs = np.cumsum(RNG.uniform(0.1, 1.0, n))
        for x in (xs, np.arange(n)):
            cx, tx = _pair(x)
            _same(cf(c, cx, dim=dim), tf(t, tx, dim=dim))


@pytest.mark.parametrize("name", ["trapezoid", "cumulative_trapezoid"])
def test_trapezoid_with_sample_tensor_shapes(name):
    c, t = _pair(RNG.standard_normal((2, 3, 4)))
    for xshape in [(3, 4), (2, 3, 4), (1, 4), (2, 1, 4)]:
        cx, tx = _pair(np.cumsum(RNG.uniform(0.1, 1.0, xshape), -1))
        _same(getattr(cr, name)(c, cx), getattr(torch, name)(t, tx))


@pytest.mark.parametrize("name", ["trapezoid", "trapz", "cumulative_trapezoid"])
def test_trapezoid_errors(name):
    f = name
    _both_raise(lambda lib: getattr(lib, f)(lib.tensor(1.0)), IndexError)
    _both_raise(lambda lib: getattr(lib, f)(lib.zeros(2, 3), dim=2), IndexError)
    _both_raise(lambda lib: getattr(lib, f)(lib.zeros(2, 3) > 0), RuntimeError)
    _both_raise(lambda lib: getattr(lib, f)(lib.zeros(2, 3), lib.zeros(2)), RuntimeError)
    _both_raise(lambda lib: getattr(lib, f)(lib.zeros(2, 3), lib.zeros(3) > 0), RuntimeError)
    _both_raise(lambda lib: getattr(lib, f)(lib.zeros(2, 3), 2.0), TypeError)
    _both_raise(lambda lib: getattr(lib, f)(lib.zeros(2, 3), lib.zeros(3), dx=2.0), TypeError)
    if name == "trapz":  # its dx is a float: True is 1.0
        _same(cr.trapz(*_pair(X)[:1], dx=True), torch.trapz(*_pair(X)[1:], dx=True))
    else:
        _both_raise(lambda lib: getattr(lib, f)(lib.zeros(2, 3), dx=True), RuntimeError)
    _both_raise(lambda lib: getattr(lib, f)(lib.zeros(2, 3), lib.zeros(1, 1, 3, 2)), RuntimeError)


def test_trapezoid_dx_as_zero_d_tensor():
    c, t = _pair(X)
    _same(cr.trapezoid(c, dx=cr.tensor(2.0)), torch.trapezoid(t, dx=torch.tensor(2.0)))
