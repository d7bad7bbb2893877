"""Wave 2 pointwise ops against PyTorch: what the op-spec table cannot check.

tests/ops/op_specs.py checks the differentiable ops (values, gradients, gradcheck, double
backward, forward mode, bad inputs). Here: the ops without a gradient (signbit, heaviside,
nextafter, gcd), the aliases and in-place variants (values, dtypes, version counter, the
leaf check, gradients through them), dtype promotion, the values and gradients at singular
points (xlogy at x = 0, sinc at 0, logit outside [0, 1], the poles of lgamma/digamma), and
the special functions' NumPy fallback (no SciPy).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops import _special_kernels

F64 = np.float64


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.detach().numpy())


def _same(c, t, rtol=1e-12, atol=1e-14):
    """chainrule result ``c`` equals torch result ``t``: shape, dtype, values (NaN == NaN)."""
    cn, tn = _np(c), _np(t)
    assert cn.shape == tn.shape
    assert cn.dtype == tn.dtype, (cn.dtype, tn.dtype)
    if cn.dtype.kind in "iub":
        np.testing.assert_array_equal(cn, tn)
    else:
        np.testing.assert_allclose(cn, tn, rtol=rtol, atol=atol, equal_nan=True)


def _pair(a, **kw):
    return cr.tensor(np.asarray(a), **kw), torch.tensor(np.asarray(a), **kw)


# ------------------------------------------------------------------------------ aliases
def test_aliases_are_the_same_op_or_named_like_torch():
    def op(f):  # the op under a keyword-accepting wrapper (ops/keywords.py)
        f = getattr(f, "__torch_function_wrapped__", f)  # (once a test made a Tensor subclass)
        return getattr(f, "__wrapped__", f)

    assert op(cr.absolute) is op(cr.abs)
    assert op(cr.negative) is op(cr.neg)
    assert op(cr.fix) is op(cr.trunc)
    for name in [
        "absolute", "negative", "multiply", "divide", "subtract", "rad2deg", "fix", "sgn",
    ]:  # fmt: skip
        assert hasattr(cr.Tensor, name) and hasattr(cr.Tensor, name + "_"), name


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_divide_rounding_mode_matches_torch(mode, dtype):
    a = np.array([7, -7, 5, -5, 9], dtype=dtype)
    b = np.array([2, 2, -3, -3, 4], dtype=dtype)
    ca, ta = _pair(a)
    cb, tb = _pair(b)
    _same(cr.divide(ca, cb, rounding_mode=mode), torch.divide(ta, tb, rounding_mode=mode))
    _same(ca.divide(cb, rounding_mode=mode), ta.divide(tb, rounding_mode=mode))
    if mode is not None or dtype == np.float64:  # true division of ints is not in place
        ca.divide_(cb, rounding_mode=mode)
        ta.divide_(tb, rounding_mode=mode)
        _same(ca, ta)
    with pytest.raises(ValueError, match="divide"):
        cr.divide(ca, cb, rounding_mode="round")


def test_subtract_alpha_and_its_integer_rule():
    ca, ta = _pair(np.array([5, 7, 9]))
    cb, tb = _pair(np.array([1, 2, 3]))
    _same(cr.subtract(ca, cb, alpha=2), torch.subtract(ta, tb, alpha=2))
    _same(ca.subtract(cb), ta.subtract(tb))
    with pytest.raises(RuntimeError, match="subtract.*alpha"):
        cr.subtract(ca, cb, alpha=2.0)
    with pytest.raises(RuntimeError):
        torch.subtract(ta, tb, alpha=2.0)
    # torch's first line, word for word (CONTRIBUTING.md, "Error messages")
    words = r"^The size of tensor a \(3\) must match the size of tensor b \(2\) at non-singleton"
    with pytest.raises(RuntimeError, match=words):
        torch.subtract(ta, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=words):
        cr.subtract(ca, cr.tensor([1, 2]))


def test_multiply_negative_absolute_rad2deg_fix_sgn_values():
    x = np.array([-2.5, -0.0, 0.0, 1.5, 3.7, float("nan")])
    cx, tx = _pair(x)
    _same(cr.multiply(cx, 2), torch.multiply(tx, 2))
    _same(cr.negative(cx), torch.negative(tx))
    _same(cr.absolute(cx), torch.absolute(tx))
    _same(cr.rad2deg(cx), torch.rad2deg(tx))
    _same(cr.fix(cx), torch.fix(tx))
    _same(cr.sgn(cx), torch.sgn(tx))
    ci, ti = _pair(np.array([-3, 0, 4]))
    _same(cr.rad2deg(ci), torch.rad2deg(ti))  # integers become the default float
    _same(cr.sgn(ci), torch.sgn(ti))
    _same(cr.fix(ci), torch.fix(ti))
    # rad2deg inverts deg2rad
    np.testing.assert_allclose(cr.rad2deg(cr.deg2rad(cx)).numpy(), x, equal_nan=True)
    z = np.array([1 + 1j, 0j, -2.0 + 0j])  # complex: x / |x|, 0 at 0
    _same(cr.sgn(cr.tensor(z)), torch.sgn(torch.tensor(z)))


def test_rad2deg_gradient_matches_torch():
    cx, tx = _pair(np.array([0.3, -1.2]), requires_grad=True)
    cr.rad2deg(cx).sum().backward()
    torch.rad2deg(tx).sum().backward()
    _same(cx.grad, tx.grad)


# ----------------------------------------------------------------- addcmul / addcdiv
def test_addcmul_addcdiv_promotion_and_integers_as_torch():
    c1, t1 = _pair(np.array([1.0, 2.0], dtype=np.float32))
    c2, t2 = _pair(np.array([3.0, 4.0]))
    ci, ti = _pair(np.array([1, 2]))
    _same(cr.addcmul(c1, c2, c2, value=2), torch.addcmul(t1, t2, t2, value=2))
    _same(cr.addcmul(ci, ci, ci, value=3), torch.addcmul(ti, ti, ti, value=3))
    # PyTorch casts value to the integer result type (0.5 -> 0)
    _same(cr.addcmul(ci, ci, ci, value=0.5), torch.addcmul(ti, ti, ti, value=0.5))
    _same(cr.addcdiv(ci, c1, ci), torch.addcdiv(ti, t1, ti))
    with pytest.raises(RuntimeError, match="addcdiv"):
        cr.addcdiv(c1, ci, ci)
    with pytest.raises(RuntimeError):
        torch.addcdiv(t1, ti, ti)
    words = r"^The size of tensor a \(2\) must match the size of tensor b \(3\) at non-singleton"
    with pytest.raises(RuntimeError, match=words):
        torch.addcmul(t1, t2, torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=words):
        cr.addcmul(c1, c2, cr.tensor([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
def test_inplace_addc_version_counter_leaf_check_and_grads(op):
    rng = np.random.default_rng(0)
    a, b, c = (rng.uniform(0.5, 2.0, (3, 4)) for _ in range(3))
    # an optimizer-style update under no_grad on a leaf
    cp, tp = _pair(a, requires_grad=True)
    with cr.no_grad():
        v = cp._version
        out = getattr(cp, op + "_")(cr.tensor(b), cr.tensor(c), value=-0.1)
        assert out is cp and cp._version == v + 1
    with torch.no_grad():
        getattr(tp, op + "_")(torch.tensor(b), torch.tensor(c), value=-0.1)
    _same(cp, tp)
    # in grad mode on a leaf: refused, as PyTorch
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(cp, op + "_")(cr.tensor(b), cr.tensor(c))
    # on a non-leaf: recorded, gradients as PyTorch for all three inputs
    cl = [cr.tensor(x, requires_grad=True) for x in (a, b, c)]
    tl = [torch.tensor(x, requires_grad=True) for x in (a, b, c)]
    for x, y, z in (cl, tl):
        h = x * 1.0
        getattr(h, op + "_")(y, z, value=0.7)
        (h * h).sum().backward()
    for c_leaf, t_leaf in zip(cl, tl):
        _same(c_leaf.grad, t_leaf.grad, rtol=1e-12)


def test_inplace_addcmul_cannot_broadcast_self():
    x = cr.zeros(2)
    with pytest.raises(ValueError, match="addcmul_"):
        x.addcmul_(cr.ones(2, 1), cr.ones(2))


# ------------------------------------------------------------------------ xlogy / logit / sinc
def test_xlogy_at_zero_value_and_gradient_as_torch():
    x = np.array([0.0, 0.0, 0.0, 2.0, 1.5])
    y = np.array([0.0, 3.0, float("nan"), 0.5, 2.0])
    cx, tx = _pair(x, requires_grad=True)
    cy, ty = _pair(y, requires_grad=True)
    _same(cr.xlogy(cx, cy), torch.xlogy(tx, ty))
    cr.xlogy(cx, cy).sum().backward()
    torch.xlogy(tx, ty).sum().backward()
    _same(cx.grad, tx.grad)
    _same(cy.grad, ty.grad)


def test_xlogy_promotion_and_scalars():
    ci, ti = _pair(np.array([0, 2, 3]))
    cf, tf = _pair(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    _same(cr.xlogy(ci, ci), torch.xlogy(ti, ti))
    _same(cr.xlogy(2, cf), torch.xlogy(2, tf))
    _same(cr.xlogy(cf, 3.0), torch.xlogy(tf, 3.0))
    _same(cr.xlogy(ci, cf), torch.xlogy(ti, tf))
    c = cf.clone()
    c.xlogy_(ci)
    t = tf.clone()
    t.xlogy_(ti)
    _same(c, t)


@pytest.mark.parametrize("eps", [None, 0.25])
def test_logit_values_and_gradients_outside_the_unit_interval(eps):
    x = np.array([-0.5, 0.0, 0.1, 0.5, 0.9, 1.0, 1.5])
    cx, tx = _pair(x, requires_grad=True)
    _same(cr.logit(cx, eps), torch.logit(tx, eps))
    cr.logit(cx, eps).sum().backward()
    torch.logit(tx, eps).sum().backward()
    _same(cx.grad, tx.grad)
    ci, ti = _pair(np.array([0, 1]))
    _same(ci.logit(), ti.logit())
    c, t = _pair(np.array([0.5, 0.1, 0.9], dtype=np.float32))
    _same(c.logit(eps=0.6), t.logit(eps=0.6), rtol=1e-6)  # eps > 0.5: PyTorch's clamp order


def test_sinc_is_one_with_zero_derivative_at_zero():
    x = np.array([0.0, 0.5, -1.0, 2.25])
    cx, tx = _pair(x, requires_grad=True)
    _same(cr.sinc(cx), torch.sinc(tx))
    assert cr.sinc(cx).detach().numpy()[0] == 1.0
    cr.sinc(cx).sum().backward()
    torch.sinc(tx).sum().backward()
    _same(cx.grad, tx.grad)
    assert cx.grad.numpy()[0] == 0.0
    ci, ti = _pair(np.array([0, 1, 2]))
    _same(cr.sinc(ci), torch.sinc(ti), atol=1e-7)


# ------------------------------------------------------------------------------- frac
def test_frac_values_inplace_and_integer_error():
    x = np.array([1.5, -1.5, 2.0, -0.25, float("inf")], dtype=np.float32)
    cx, tx = _pair(x)
    _same(cr.frac(cx), torch.frac(tx))
    cx.frac_()
    tx.frac_()
    _same(cx, tx)
    with pytest.raises(NotImplementedError, match="frac"):
        cr.frac(cr.tensor([1, 2]))


# ----------------------------------------------------------------- no gradient: bool / ints
def test_signbit_values_dtype_and_no_gradient():
    x = np.array([-1.0, -0.0, 0.0, 2.0, float("nan"), -float("nan"), -float("inf")])
    cx, tx = _pair(x, requires_grad=True)
    out = cr.signbit(cx)
    _same(out, torch.signbit(tx))
    assert out.dtype == np.bool_ and not out.requires_grad
    for a in ([-3, 0, 5], [True, False]):
        ca, ta = _pair(np.array(a))
        _same(ca.signbit(), ta.signbit())


def test_heaviside_values_dtypes_and_errors():
    x = np.array([-1.5, 0.0, 2.0, float("nan"), -0.0])
    cx, tx = _pair(x, requires_grad=True)
    for v in (np.array(0.5), np.array([0.1, 0.2, 0.3, 0.4, 0.5])):
        cv, tv = _pair(v)
        out = cr.heaviside(cx, cv)
        _same(out, torch.heaviside(tx, tv))
        assert out.requires_grad  # recorded, and backward raises, as PyTorch (test_no_derivative)
    ci, ti = _pair(np.array([[-2, 0, 3]]))
    cv, tv = _pair(np.array([[7], [9]]))
    _same(ci.heaviside(cv), ti.heaviside(tv))
    ci.heaviside_(cr.tensor([4]))
    ti.heaviside_(torch.tensor([4]))
    _same(ci, ti)
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
        ca, ta = _pair(a.astype(dt))
        cb, tb = _pair(b.astype(dt))
        _same(cr.nextafter(ca, cb), torch.nextafter(ta, tb), rtol=0, atol=0)
        # differentiable in input, as torch 2.13 (tests/fuzz/test_found_cases_r9.py)
        assert cr.nextafter(ca.requires_grad_(), cb).requires_grad
        assert torch.nextafter(ta.requires_grad_(), tb).requires_grad
        c = cr.tensor(a.astype(dt))
        c.nextafter_(cb)
        _same(c, torch.nextafter(ta, tb), rtol=0, atol=0)
    with pytest.raises(NotImplementedError, match="nextafter"):
        cr.nextafter(cr.tensor([1, 2]), cr.tensor([2, 3]))
    with pytest.raises(TypeError, match="nextafter.*other"):
        cr.nextafter(cr.tensor([1.0]), 2.0)


def test_gcd_values_promotion_inplace_and_errors():
    a = np.array([12, -18, 0, 7, 0, -4])
    b = np.array([8, 4, 5, 0, 0, -6])
    ca, ta = _pair(a)
    cb, tb = _pair(b)
    _same(cr.gcd(ca, cb), torch.gcd(ta, tb))
    c32, t32 = _pair(b.astype(np.int32))
    _same(cr.gcd(ca, c32), torch.gcd(ta, t32))
    ca.gcd_(cb)
    ta.gcd_(tb)
    _same(ca, ta)
    for bad in ([1.0, 2.0], [True, False]):
        with pytest.raises(NotImplementedError, match="gcd"):
            cr.gcd(cr.tensor(bad), cr.tensor(bad))
    with pytest.raises(TypeError, match="gcd.*other"):
        cr.gcd(cr.tensor([4]), 6)


# -------------------------------------------------------------------------- float_power
def test_float_power_computes_in_float64():
    for base in (np.array([2, 3]), np.array([2.0, 3.0], dtype=np.float32)):
        cb, tb = _pair(base)
        _same(cr.float_power(cb, 2), torch.float_power(tb, 2))
        _same(cr.float_power(cb, 0.5), torch.float_power(tb, 0.5))
        _same(cr.float_power(2, cb), torch.float_power(2, tb))
        _same(cb.float_power(cb), tb.float_power(tb))
    cz, tz = _pair(np.array([1 + 1j, 2.0]))
    _same(cr.float_power(cz, 2), torch.float_power(tz, 2))


def test_float_power_gradient_keeps_the_input_dtype():
    cx, tx = _pair(np.array([0.5, 1.5], dtype=np.float32), requires_grad=True)
    cr.float_power(cx, 3).sum().backward()
    torch.float_power(tx, 3).sum().backward()
    _same(cx.grad, tx.grad, rtol=1e-6)


def test_float_power_inplace_needs_a_double_tensor():
    c32, t32 = _pair(np.array([2.0, 3.0], dtype=np.float32))
    with pytest.raises(RuntimeError, match="float_power_"):
        c32.float_power_(2)
    with pytest.raises(RuntimeError):
        t32.float_power_(2)
    c, t = _pair(np.array([2.0, 3.0]))
    v = c._version
    c.float_power_(2.5)
    t.float_power_(2.5)
    _same(c, t)
    assert c._version == v + 1
    assert not hasattr(cr, "float_power_")


# -------------------------------------------------------------------- special functions
_SPECIAL_X = np.array(
    [0.0, -0.0, -1.0, -2.0, -2.5, -0.3, 1e-8, 0.5, 1.0, 2.0, 7.5, 30.0, 1e3, float("inf"),
     float("nan")]
)  # fmt: skip
_ERFINV_X = np.array([-1.0, -0.999999, -0.5, 0.0, 1e-10, 0.3, 0.9999999, 1.0, 1.5, float("nan")])


def _check_special(rtol=1e-13):
    cx, tx = _pair(_SPECIAL_X)
    _same(cr.lgamma(cx), torch.lgamma(tx), rtol=rtol)
    _same(cr.digamma(cx), torch.digamma(tx), rtol=max(rtol, 1e-12))
    fin = _SPECIAL_X[np.isfinite(_SPECIAL_X)]
    finite = fin[~((fin <= 0) & (fin == np.floor(fin)))]
    cf, tf = _pair(finite)
    # PyTorch's trigamma (n = 1) is accurate to about 5e-10 only (checked against mpmath);
    # chainrule's is exact to float64 precision
    _same(cr.polygamma(1, cf), torch.polygamma(1, tf), rtol=1e-8)
    for n in (0, 2, 3, 4):
        _same(cr.polygamma(n, cf), torch.polygamma(n, tf), rtol=max(rtol, 1e-12))
    ce, te = _pair(_ERFINV_X)
    _same(cr.erfinv(ce), torch.erfinv(te), rtol=max(rtol, 1e-12))


def test_special_functions_match_torch_including_poles():
    _check_special()


def test_special_functions_numpy_fallback_without_scipy(monkeypatch):
    monkeypatch.setattr(_special_kernels, "_scipy", None)
    _check_special(rtol=1e-11)
    cx, tx = _pair(np.array([0.7, 2.5, -1.5]), requires_grad=True)
    cr.lgamma(cx).sum().backward()  # the derivative (digamma) on the NumPy path as well
    torch.lgamma(tx).sum().backward()
    _same(cx.grad, tx.grad, rtol=1e-11)


def test_special_functions_dtypes_and_integer_inputs():
    c32, t32 = _pair(np.array([0.5, 1.5], dtype=np.float32))
    ci, ti = _pair(np.array([1, 2, 3]))
    for name in ("lgamma", "digamma", "erfinv"):
        _same(getattr(cr, name)(c32), getattr(torch, name)(t32), rtol=1e-5)
        _same(getattr(cr, name)(ci), getattr(torch, name)(ti), rtol=1e-6)
    _same(cr.polygamma(2, ci), torch.polygamma(2, ti), rtol=1e-6)


def test_polygamma_method_inplace_and_bad_n():
    cx, tx = _pair(np.array([0.5, 1.5, 4.0]))
    _same(cx.polygamma(2), tx.polygamma(2))
    cx.polygamma_(3)
    tx.polygamma_(3)
    _same(cx, tx)
    with pytest.raises(RuntimeError, match="negative n"):
        cr.polygamma(-1, cx)
    with pytest.raises(TypeError, match="polygamma"):
        cr.polygamma(1.0, cx)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "erfinv", "logit", "sinc", "frac"])
def test_special_inplace_methods_match_torch(name):
    x = np.array([0.2, 0.45, 0.7])
    c, t = _pair(x)
    v = c._version
    getattr(c, name + "_")()
    getattr(t, name + "_")()
    _same(c, t, rtol=1e-12)
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
    c, t = _pair(x)
    v = c._version
    assert getattr(c, name)() is c
    getattr(t, name)()
    _same(c, t)
    assert c._version == v + 1
    cl, tl = _pair(x, requires_grad=True)
    for leaf in (cl, tl):
        h = leaf * 2.0
        getattr(h, name)()
        (h * leaf).sum().backward()
    _same(cl.grad, tl.grad)
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(cr.tensor(x, requires_grad=True), name)()


def test_round_inplace_decimals():
    c, t = _pair(np.array([1.2345, -2.5551]))
    c.round_(decimals=2)
    t.round_(decimals=2)
    _same(c, t)


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "greater", "not_equal"])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_comparison_inplace_keeps_the_dtype(name, dtype):
    a = np.array([1, 2, 3, 4], dtype=dtype)
    b = np.array([2, 2, 2, 5], dtype=dtype)
    c, t = _pair(a)
    v = c._version
    getattr(c, name + "_")(cr.tensor(b))
    getattr(t, name + "_")(torch.tensor(b))
    _same(c, t)
    assert c._version == v + 1
    c, t = _pair(a)
    getattr(c, name + "_")(2)
    getattr(t, name + "_")(2)
    _same(c, t)


def test_cumsum_inplace_values_and_grad():
    x = np.arange(6.0).reshape(2, 3) / 7
    c, t = _pair(x)
    c.cumsum_(1)
    t.cumsum_(1)
    _same(c, t)
    ci, ti = _pair(np.array([[1, 2], [3, 4]], dtype=np.int32))
    ci.cumsum_(0)
    ti.cumsum_(0)
    _same(ci, ti)
    cl, tl = _pair(x, requires_grad=True)
    for leaf in (cl, tl):
        h = leaf * 1.0
        h.cumsum_(0)
        (h * h).sum().backward()
    _same(cl.grad, tl.grad)


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


@pytest.mark.parametrize("op", ["add", "sub", "subtract"])
def test_float_alpha_with_integral_inputs_raises_as_torch(op):
    for lib in (cr, torch):
        a = lib.tensor([1, 2, 3])
        with pytest.raises(RuntimeError, match="alpha must not be a floating point"):
            getattr(lib, op)(a, a, alpha=0.5)
        assert getattr(lib, op)(a.double(), a, alpha=0.5).dtype == lib.float64
        assert getattr(lib, op)(a, a, alpha=2).dtype == lib.int64
