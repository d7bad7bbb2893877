"""Small fidelity fixes found by session 37's fuzzers, each compared live with torch 2.13:
CrossMapLRN2d's non-number hyper-parameters, F.interpolate(mode='area') to an empty size,
prod/median/nanmedian with an explicit dim=None, the argument-check order of conv1d and of
the 1-d adaptive pools (the vmap'd descending sort with a NaN is pinned in
tests/fuzz/test_found_cases_s37.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

__all__: list[str] = []


def _outcome(fn: Callable[[Any], Any], lib: Any) -> Any:
    """``fn(lib)``'s result as NumPy, or ``(type, message)`` of what it raised."""
    try:
        out = fn(lib)
    except Exception as e:  # noqa: BLE001 - compared with torch's
        return type(e), str(e)
    return out


def _same_error(fn: Callable[[Any], Any], *, message: bool = True) -> str:
    """Both libraries raise, chainrule the same type as torch (or a subclass: ShapeError of
    RuntimeError), with torch's message unless ``message`` is False; torch's message."""
    t, c = _outcome(fn, torch), _outcome(fn, cr)
    assert isinstance(t, tuple), f"torch computed {t!r}"
    assert isinstance(c, tuple), f"chainrule computed {c!r}, torch raised {t}"
    assert issubclass(c[0], t[0]), (t, c)
    if message:
        assert c[1] == t[1]
    return t[1]


# ------------------------------------------------------------------ 1. CrossMapLRN2d
@pytest.mark.parametrize("arg", ["alpha", "beta", "k"])
@pytest.mark.parametrize("value", ["a", None])
def test_cross_map_lrn_non_number_hyperparameter_is_torchs_type_error(arg, value):
    def fn(m):
        mod = m.nn.CrossMapLRN2d(3, **{arg: value})
        return mod(m.ones(1, 4, 3, 3))

    assert _same_error(fn)


def test_cross_map_lrn_checks_alpha_then_k_then_beta_as_torch():
    _same_error(lambda m: m.nn.CrossMapLRN2d(3, alpha="a", beta="b", k="c")(m.ones(1, 4, 3, 3)))
    _same_error(lambda m: m.nn.CrossMapLRN2d(3, beta="b", k="c")(m.ones(1, 4, 3, 3)))


def test_cross_map_lrn_numbers_still_compute():
    x = np.random.default_rng(0).standard_normal((1, 4, 3, 3))
    t = torch.nn.CrossMapLRN2d(3, alpha=2, beta=np.float64(0.5), k=2)(torch.tensor(x))
    c = cr.nn.CrossMapLRN2d(3, alpha=2, beta=np.float64(0.5), k=2)(cr.tensor(x))
    np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-12)


# ---------------------------------------------------------- 2. interpolate(mode='area')
AREA_EMPTY_OUT = [
    ((1, 1, 4, 4), dict(size=(0, 0))),
    ((1, 1, 4, 4), dict(size=(0, 2))),
    ((1, 1, 4, 4), dict(size=(2, 0))),
    ((1, 1, 4), dict(size=0)),
    ((1, 1, 4, 4, 4), dict(size=(0, 1, 1))),
    ((1, 1, 4, 4), dict(scale_factor=0.1)),
    ((1, 1, 4), dict(scale_factor=0.1)),
]


@pytest.mark.parametrize("shape, kw", AREA_EMPTY_OUT)
def test_area_interpolation_to_an_empty_size_is_empty(shape, kw):
    x = np.ones(shape)
    t = torch.nn.functional.interpolate(torch.tensor(x), mode="area", **kw)
    c = cr.nn.functional.interpolate(cr.tensor(x), mode="area", **kw)
    assert tuple(c.shape) == tuple(t.shape)
    assert c.dtype == cr.float64
    assert 0 in tuple(t.shape)


@pytest.mark.parametrize("shape, kw", [c for c in AREA_EMPTY_OUT if "size" in c[1]])
def test_area_interpolation_to_an_empty_size_refuses_its_backward(shape, kw):
    def fn(m):
        x = m.ones(*shape, dtype=m.float64, requires_grad=True)
        m.nn.functional.interpolate(x, mode="area", **kw).sum().backward()

    assert "_backward()" in _same_error(fn)


def test_adaptive_avg_pool_to_an_empty_size_refuses_its_backward():
    def fn(m):
        x = m.ones(1, 1, 4, 4, dtype=m.float64, requires_grad=True)
        m.nn.functional.adaptive_avg_pool2d(x, (0, 2)).sum().backward()

    _same_error(fn)


@pytest.mark.parametrize(
    "shape, kw",
    [
        ((1, 1, 4, 4), dict(size=(-1, 2))),
        ((1, 1, 4), dict(size=-1)),
        ((1, 1, 0, 4), dict(size=(2, 2))),
        ((1, 1, 0), dict(size=2)),
        ((1, 1, 0, 4), dict(size=(0, 2))),
        ((1, 1, 0, 4), dict(size=(-1, 2))),
    ],
)
def test_area_interpolation_refuses_as_adaptive_average_pooling(shape, kw):
    x = np.ones(shape)
    msg = _same_error(lambda m: m.nn.functional.interpolate(m.tensor(x), mode="area", **kw))
    assert "adaptive_avg_pool2d" in msg


def test_other_modes_still_refuse_an_empty_size():
    x = np.ones((1, 1, 4, 4))
    for mode in ("nearest", "bilinear"):
        _same_error(
            lambda m, mode=mode: m.nn.functional.interpolate(m.tensor(x), (0, 2), mode=mode),
            message=False,
        )


# ---------------------------------------------------------- 4. prod / median dim=None
REDUCE_NONE = {
    "f(x, None)": lambda m, op, x: getattr(m, op)(x, None),
    "f(x, dim=None)": lambda m, op, x: getattr(m, op)(x, dim=None),
    "x.f(None)": lambda m, op, x: getattr(x, op)(None),
    "f(x, None, True)": lambda m, op, x: getattr(m, op)(x, None, True),
}


@pytest.mark.parametrize("form", list(REDUCE_NONE))
@pytest.mark.parametrize("op", ["prod", "median", "nanmedian"])
def test_explicit_dim_none_is_a_type_error(op, form):
    call = REDUCE_NONE[form]
    msg = _same_error(lambda m: call(m, op, m.arange(1.0, 5.0)), message=form == "f(x, None)")
    assert op in msg


@pytest.mark.parametrize("op", ["prod", "median", "nanmedian"])
def test_reductions_without_dim_still_reduce_everything(op):
    x = np.array([[3.0, 1.0], [2.0, 5.0]])
    for call in (lambda m, x: getattr(m, op)(x), lambda m, x: getattr(x, op)()):
        t, c = call(torch, torch.tensor(x)), call(cr, cr.tensor(x))
        np.testing.assert_array_equal(c.numpy(), t.numpy())
    t, c = getattr(torch, op)(torch.tensor(x), 0), getattr(cr, op)(cr.tensor(x), 0)
    t, c = (t.values, c.values) if op != "prod" else (t, c)
    np.testing.assert_array_equal(c.numpy(), t.numpy())


# ------------------------------------------------------------ 5. argument-check order
CONV1D = [
    dict(stride=1e30, padding=(1, 1)),
    dict(stride=(1e30,), padding=(1, 1)),
    dict(stride=(1, 1), padding=(1, 1)),
    dict(dilation=(1, 1), padding=(1, 1)),
    dict(stride=(1, 1), dilation=1.5),
    dict(padding=(1, 1), dilation=1.5),
    dict(padding=(1, 1), groups=1.5),
]


@pytest.mark.parametrize("kw", CONV1D, ids=str)
def test_conv1d_checks_types_before_lengths(kw):
    def fn(m):
        return m.nn.functional.conv1d(m.ones(1, 1, 5), m.ones(1, 1, 3), **kw)

    msg = _same_error(fn, message=False)
    if "invalid combination" not in msg:  # a length error: torch's text
        _same_error(fn)


def test_conv1d_module_with_float_stride_and_long_padding():
    _same_error(
        lambda m: m.nn.Conv1d(1, 1, 3, stride=1e30, padding=(1, 1))(m.ones(1, 1, 5)),
        message=False,
    )


@pytest.mark.parametrize("fn", ["adaptive_avg_pool1d", "adaptive_max_pool1d"])
@pytest.mark.parametrize(
    "size", [(1.5, 2), (1.5, 2.5), ("a", None), (True, 2), (2, 3), (2.0,), (True,)], ids=str
)
def test_adaptive_pool1d_checks_element_types_before_length(fn, size):
    _same_error(lambda m: getattr(m.nn.functional, fn)(m.ones(1, 2, 6), size))


@pytest.mark.parametrize("fn", ["adaptive_avg_pool1d", "adaptive_max_pool1d"])
def test_adaptive_pool1d_valid_sizes_still_pool(fn):
    x = np.arange(12.0).reshape(1, 2, 6)
    for size in (3, (2,), [4]):
        t = getattr(torch.nn.functional, fn)(torch.tensor(x), size)
        c = getattr(cr.nn.functional, fn)(cr.tensor(x), size)
        np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-15)  # (a bin mean: 1 ulp)
