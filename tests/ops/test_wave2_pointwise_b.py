"""Wave 2 pointwise ops against PyTorch (part b): no-gradient ops, float_power, special
functions and in-place forms.

Here: the ops without a gradient (signbit, heaviside, nextafter, gcd), float_power's float64
computation, the special functions' values at their poles and their NumPy fallback (no
SciPy), and the in-place forms of existing ops (values, dtypes, version counter, the leaf
check, gradients through them). Part a (``test_wave2_pointwise_a.py``): aliases,
arithmetic rules, addcmul/addcdiv and singular points.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops import _special_kernels

from ._wave2_compare import pair, same


# ----------------------------------------------------------------- no gradient: bool / ints
def test_signbit_values_dtype_and_no_gradient():
    x = np.array([-1.0, -0.0, 0.0, 2.0, float("nan"), -float("nan"), -float("inf")])
    cx, tx = pair(x, requires_grad=True)
    out = cr.signbit(cx)
    same(out, torch.signbit(tx))
    assert out.dtype == np.bool_ and not out.requires_grad
    for a in ([-3, 0, 5], [True, False]):
        ca, ta = pair(np.array(a))
        same(ca.signbit(), ta.signbit())


def test_heaviside_values_dtypes_and_errors():
    x = np.array([-1.5, 0.0, 2.0, float("nan"), -0.0])
    cx, tx = pair(x, requires_grad=True)
    for v in (np.array(0.5), np.array([0.1, 0.2, 0.3, 0.4, 0.5])):
        cv, tv = pair(v)
        out = cr.heaviside(cx, cv)
        same(out, torch.heaviside(tx, tv))
        assert out.requires_grad  # recorded, and backward raises, as PyTorch (test_no_derivative)
    ci, ti = pair(np.array([[-2, 0, 3]]))
    cv, tv = pair(np.array([[7], [9]]))
    same(ci.heaviside(cv), ti.heaviside(tv))
    ci.heaviside_(cr.tensor([4]))
    ti.heaviside_(torch.tensor([4]))
    same(ci, ti)
    with pytest.raises(RuntimeError, match="heaviside is not yet implemented for tensors with"):
        cr.heaviside(cx, cr.tensor([1, 1, 1, 1, 1]))
    with pytest.raises(TypeError, match="heaviside.*values"):
        cr.heaviside(cx, 0.5)
    with pytest.raises(ValueError, match="heaviside"):
        cr.heaviside(cx, cr.tensor([1.0, 2.0], dtype=cx.dtype))  # (dtypes are checked first)


def test_nextafter_values_and_errors():
    a = np.array([1.0, 1.0, 0.0, -2.0, 5.0])
    b = np.array([2.0, 0.0, -1.0, -2.0, float("inf")])
    for dt in (np.float64, np.float32):
        ca, ta = pair(a.astype(dt))
        cb, tb = pair(b.astype(dt))
        same(cr.nextafter(ca, cb), torch.nextafter(ta, tb), rtol=0, atol=0)
        # differentiable in input, as torch 2.13 (tests/fuzz/test_found_cases_r9.py)
        assert cr.nextafter(ca.requires_grad_(), cb).requires_grad
        assert torch.nextafter(ta.requires_grad_(), tb).requires_grad
        c = cr.tensor(a.astype(dt))
        c.nextafter_(cb)
        same(c, torch.nextafter(ta, tb), rtol=0, atol=0)
    with pytest.raises(NotImplementedError, match="nextafter"):
        cr.nextafter(cr.tensor([1, 2]), cr.tensor([2, 3]))
    with pytest.raises(TypeError, match="nextafter.*other"):
        cr.nextafter(cr.tensor([1.0]), 2.0)


def test_gcd_values_promotion_inplace_and_errors():
    a = np.array([12, -18, 0, 7, 0, -4])
    b = np.array([8, 4, 5, 0, 0, -6])
    ca, ta = pair(a)
    cb, tb = pair(b)
    same(cr.gcd(ca, cb), torch.gcd(ta, tb))
    c32, t32 = pair(b.astype(np.int32))
    same(cr.gcd(ca, c32), torch.gcd(ta, t32))
    ca.gcd_(cb)
    ta.gcd_(tb)
    same(ca, ta)
    for bad in ([1.0, 2.0], [True, False]):
        with pytest.raises(NotImplementedError, match="gcd"):
            cr.gcd(cr.tensor(bad), cr.tensor(bad))
    with pytest.raises(TypeError, match="gcd.*other"):
        cr.gcd(cr.tensor([4]), 6)


# -------------------------------------------------------------------------- float_power
def test_float_power_computes_in_float64():
    for base in (np.array([2, 3]), np.array([2.0, 3.0], dtype=np.float32)):
        cb, tb = pair(base)
        same(cr.float_power(cb, 2), torch.float_power(tb, 2))
        same(cr.float_power(cb, 0.5), torch.float_power(tb, 0.5))
        same(cr.float_power(2, cb), torch.float_power(2, tb))
        same(cb.float_power(cb), tb.float_power(tb))
    cz, tz = pair(np.array([1 + 1j, 2.0]))
    same(cr.float_power(cz, 2), torch.float_power(tz, 2))


def test_float_power_gradient_keeps_the_input_dtype():
    cx, tx = pair(np.array([0.5, 1.5], dtype=np.float32), requires_grad=True)
    cr.float_power(cx, 3).sum().backward()
    torch.float_power(tx, 3).sum().backward()
    same(cx.grad, tx.grad, rtol=1e-6)


def test_float_power_inplace_needs_a_double_tensor():
    c32, t32 = pair(np.array([2.0, 3.0], dtype=np.float32))
    with pytest.raises(RuntimeError, match="float_power_"):
        c32.float_power_(2)
    with pytest.raises(RuntimeError):
        t32.float_power_(2)
    c, t = pair(np.array([2.0, 3.0]))
    v = c._version
    c.float_power_(2.5)
    t.float_power_(2.5)
    same(c, t)
    assert c._version == v + 1
    assert not hasattr(cr, "float_power_")


# -------------------------------------------------------------------- special functions
_SPECIAL_X = np.array(
    [0.0, -0.0, -1.0, -2.0, -2.5, -0.3, 1e-8, 0.5, 1.0, 2.0, 7.5, 30.0, 1e3, float("inf"),
     float("nan")]
)  # fmt: skip
_ERFINV_X = np.array([-1.0, -0.999999, -0.5, 0.0, 1e-10, 0.3, 0.9999999, 1.0, 1.5, float("nan")])


def _check_special(rtol=1e-13):
    cx, tx = pair(_SPECIAL_X)
    same(cr.lgamma(cx), torch.lgamma(tx), rtol=rtol)
    same(cr.digamma(cx), torch.digamma(tx), rtol=max(rtol, 1e-12))
    fin = _SPECIAL_X[np.isfinite(_SPECIAL_X)]
    finite = fin[~((fin <= 0) & (fin == np.floor(fin)))]
    cf, tf = pair(finite)
    # PyTorch's trigamma (n = 1) is accurate to about 5e-10 only (checked against mpmath);
    # chainrule's is exact to float64 precision
    same(cr.polygamma(1, cf), torch.polygamma(1, tf), rtol=1e-8)
    for n in (0, 2, 3, 4):
        same(cr.polygamma(n, cf), torch.polygamma(n, tf), rtol=max(rtol, 1e-12))
    ce, te = pair(_ERFINV_X)
    same(cr.erfinv(ce), torch.erfinv(te), rtol=max(rtol, 1e-12))


def test_special_functions_match_torch_including_poles():
    _check_special()


def test_special_functions_numpy_fallback_without_scipy(monkeypatch):
    monkeypatch.setattr(_special_kernels, "_scipy", None)
    _check_special(rtol=1e-11)
    cx, tx = pair(np.array([0.7, 2.5, -1.5]), requires_grad=True)
    cr.lgamma(cx).sum().backward()  # the derivative (digamma) on the NumPy path as well
    torch.lgamma(tx).sum().backward()
    same(cx.grad, tx.grad, rtol=1e-11)


def test_special_functions_dtypes_and_integer_inputs():
    c32, t32 = pair(np.array([0.5, 1.5], dtype=np.float32))
    ci, ti = pair(np.array([1, 2, 3]))
    for name in ("lgamma", "digamma", "erfinv"):
        same(getattr(cr, name)(c32), getattr(torch, name)(t32), rtol=1e-5)
        same(getattr(cr, name)(ci), getattr(torch, name)(ti), rtol=1e-6)
    same(cr.polygamma(2, ci), torch.polygamma(2, ti), rtol=1e-6)


def test_polygamma_method_inplace_and_bad_n():
    cx, tx = pair(np.array([0.5, 1.5, 4.0]))
    same(cx.polygamma(2), tx.polygamma(2))
    cx.polygamma_(3)
    tx.polygamma_(3)
    same(cx, tx)
    with pytest.raises(RuntimeError, match="negative n"):
        cr.polygamma(-1, cx)
    with pytest.raises(TypeError, match="polygamma"):
        cr.polygamma(1.0, cx)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "erfinv", "logit", "sinc", "frac"])
def test_special_inplace_methods_match_torch(name):
    x = np.array([0.2, 0.45, 0.7])
    c, t = pair(x)
    v = c._version
    getattr(c, name + "_")()
    getattr(t, name + "_")()
    same(c, t, rtol=1e-12)
    assert c._version == v + 1


def test_special_functions_reject_complex():
    z = cr.tensor(np.array([1 + 1j]))
    for fn in (cr.lgamma, cr.digamma, cr.erfinv, cr.logit):  # sinc takes complex (torch too)
        with pytest.raises(NotImplementedError, match=fn.__name__):
            fn(z)


# ------------------------------------------------ in-place forms of existing ops (item 5)
@pytest.mark.parametrize("name", ["ceil_", "floor_", "round_", "trunc_", "frac_", "fix_"])
def test_rounding_inplace_values_version_and_grad(name):
    x = np.array([-2.5, -1.4, 0.5, 1.5, 2.6])
    c, t = pair(x)
    v = c._version
    assert getattr(c, name)() is c
    getattr(t, name)()
    same(c, t)
    assert c._version == v + 1
    cl, tl = pair(x, requires_grad=True)
    for leaf in (cl, tl):
        h = leaf * 2.0
        getattr(h, name)()
        (h * leaf).sum().backward()
    same(cl.grad, tl.grad)
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(cr.tensor(x, requires_grad=True), name)()


def test_round_inplace_decimals():
    c, t = pair(np.array([1.2345, -2.5551]))
    c.round_(decimals=2)
    t.round_(decimals=2)
    same(c, t)


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "greater", "not_equal"])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_comparison_inplace_keeps_the_dtype(name, dtype):
    a = np.array([1, 2, 3, 4], dtype=dtype)
    b = np.array([2, 2, 2, 5], dtype=dtype)
    c, t = pair(a)
    v = c._version
    getattr(c, name + "_")(cr.tensor(b))
    getattr(t, name + "_")(torch.tensor(b))
    same(c, t)
    assert c._version == v + 1
    c, t = pair(a)
    getattr(c, name + "_")(2)
    getattr(t, name + "_")(2)
    same(c, t)


def test_cumsum_inplace_values_and_grad():
    x = np.arange(6.0).reshape(2, 3) / 7
    c, t = pair(x)
    c.cumsum_(1)
    t.cumsum_(1)
    same(c, t)
    ci, ti = pair(np.array([[1, 2], [3, 4]], dtype=np.int32))
    ci.cumsum_(0)
    ti.cumsum_(0)
    same(ci, ti)
    cl, tl = pair(x, requires_grad=True)
    for leaf in (cl, tl):
        h = leaf * 1.0
        h.cumsum_(0)
        (h * h).sum().backward()
    same(cl.grad, tl.grad)


def test_inplace_methods_exist_where_torch_has_them():
    names = [
        "ceil", "floor", "round", "trunc", "frac", "eq", "ne", "lt", "le", "gt", "ge", "cumsum",
        "absolute", "negative", "multiply", "divide", "subtract", "rad2deg", "fix", "sgn",
        "addcmul", "addcdiv", "xlogy", "logit", "sinc", "heaviside", "float_power",
        "nextafter", "gcd", "lgamma", "digamma", "polygamma", "erfinv",
    ]  # fmt: skip
    for n in names:
        assert hasattr(torch.Tensor, n + "_"), n  # the list is PyTorch's
        assert hasattr(cr.Tensor, n + "_"), n
    assert not hasattr(cr.Tensor, "signbit_") and not hasattr(torch.Tensor, "signbit_")
