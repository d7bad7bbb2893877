"""Wave 2 pointwise ops against PyTorch (part a): aliases and arithmetic rules.

tests/ops/op_specs.py checks the differentiable ops (values, gradients, gradcheck, double
backward, forward mode, bad inputs). Here: the aliases (divide's rounding modes, subtract's
and add's alpha rules), addcmul/addcdiv (promotion, in-place variants: version counter, the
leaf check, gradients through them), and the values and gradients at singular points (xlogy
at x = 0, sinc at 0, logit outside [0, 1], frac). Part b (``test_wave2_pointwise_b.py``):
the ops without a gradient, float_power, the special functions and the in-place forms.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from ._wave2_compare import pair, same


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
    ca, ta = pair(a)
    cb, tb = pair(b)
    same(cr.divide(ca, cb, rounding_mode=mode), torch.divide(ta, tb, rounding_mode=mode))
    same(ca.divide(cb, rounding_mode=mode), ta.divide(tb, rounding_mode=mode))
    if mode is not None or dtype == np.float64:  # true division of ints is not in place
        ca.divide_(cb, rounding_mode=mode)
        ta.divide_(tb, rounding_mode=mode)
        same(ca, ta)
    with pytest.raises(ValueError, match="divide"):
        cr.divide(ca, cb, rounding_mode="round")


def test_subtract_alpha_and_its_integer_rule():
    ca, ta = pair(np.array([5, 7, 9]))
    cb, tb = pair(np.array([1, 2, 3]))
    same(cr.subtract(ca, cb, alpha=2), torch.subtract(ta, tb, alpha=2))
    same(ca.subtract(cb), ta.subtract(tb))
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
    cx, tx = pair(x)
    same(cr.multiply(cx, 2), torch.multiply(tx, 2))
    same(cr.negative(cx), torch.negative(tx))
    same(cr.absolute(cx), torch.absolute(tx))
    same(cr.rad2deg(cx), torch.rad2deg(tx))
    same(cr.fix(cx), torch.fix(tx))
    same(cr.sgn(cx), torch.sgn(tx))
    ci, ti = pair(np.array([-3, 0, 4]))
    same(cr.rad2deg(ci), torch.rad2deg(ti))  # integers become the default float
    same(cr.sgn(ci), torch.sgn(ti))
    same(cr.fix(ci), torch.fix(ti))
    # rad2deg inverts deg2rad
    np.testing.assert_allclose(cr.rad2deg(cr.deg2rad(cx)).numpy(), x, equal_nan=True)
    z = np.array([1 + 1j, 0j, -2.0 + 0j])  # complex: x / |x|, 0 at 0
    same(cr.sgn(cr.tensor(z)), torch.sgn(torch.tensor(z)))


def test_rad2deg_gradient_matches_torch():
    cx, tx = pair(np.array([0.3, -1.2]), requires_grad=True)
    cr.rad2deg(cx).sum().backward()
    torch.rad2deg(tx).sum().backward()
    same(cx.grad, tx.grad)


# ----------------------------------------------------------------- addcmul / addcdiv
def test_addcmul_addcdiv_promotion_and_integers_as_torch():
    c1, t1 = pair(np.array([1.0, 2.0], dtype=np.float32))
    c2, t2 = pair(np.array([3.0, 4.0]))
    ci, ti = pair(np.array([1, 2]))
    same(cr.addcmul(c1, c2, c2, value=2), torch.addcmul(t1, t2, t2, value=2))
    same(cr.addcmul(ci, ci, ci, value=3), torch.addcmul(ti, ti, ti, value=3))
    # PyTorch casts value to the integer result type (0.5 -> 0)
    same(cr.addcmul(ci, ci, ci, value=0.5), torch.addcmul(ti, ti, ti, value=0.5))
    same(cr.addcdiv(ci, c1, ci), torch.addcdiv(ti, t1, ti))
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
    cp, tp = pair(a, requires_grad=True)
    with cr.no_grad():
        v = cp._version
        out = getattr(cp, op + "_")(cr.tensor(b), cr.tensor(c), value=-0.1)
        assert out is cp and cp._version == v + 1
    with torch.no_grad():
        getattr(tp, op + "_")(torch.tensor(b), torch.tensor(c), value=-0.1)
    same(cp, tp)
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
        same(c_leaf.grad, t_leaf.grad, rtol=1e-12)


def test_inplace_addcmul_cannot_broadcast_self():
    x = cr.zeros(2)
    with pytest.raises(ValueError, match="addcmul_"):
        x.addcmul_(cr.ones(2, 1), cr.ones(2))


# ------------------------------------------------------------------------ xlogy / logit / sinc
def test_xlogy_at_zero_value_and_gradient_as_torch():
    x = np.array([0.0, 0.0, 0.0, 2.0, 1.5])
    y = np.array([0.0, 3.0, float("nan"), 0.5, 2.0])
    cx, tx = pair(x, requires_grad=True)
    cy, ty = pair(y, requires_grad=True)
    same(cr.xlogy(cx, cy), torch.xlogy(tx, ty))
    cr.xlogy(cx, cy).sum().backward()
    torch.xlogy(tx, ty).sum().backward()
    same(cx.grad, tx.grad)
    same(cy.grad, ty.grad)


def test_xlogy_promotion_and_scalars():
    ci, ti = pair(np.array([0, 2, 3]))
    cf, tf = pair(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    same(cr.xlogy(ci, ci), torch.xlogy(ti, ti))
    same(cr.xlogy(2, cf), torch.xlogy(2, tf))
    same(cr.xlogy(cf, 3.0), torch.xlogy(tf, 3.0))
    same(cr.xlogy(ci, cf), torch.xlogy(ti, tf))
    c = cf.clone()
    c.xlogy_(ci)
    t = tf.clone()
    t.xlogy_(ti)
    same(c, t)


@pytest.mark.parametrize("eps", [None, 0.25])
def test_logit_values_and_gradients_outside_the_unit_interval(eps):
    x = np.array([-0.5, 0.0, 0.1, 0.5, 0.9, 1.0, 1.5])
    cx, tx = pair(x, requires_grad=True)
    same(cr.logit(cx, eps), torch.logit(tx, eps))
    cr.logit(cx, eps).sum().backward()
    torch.logit(tx, eps).sum().backward()
    same(cx.grad, tx.grad)
    ci, ti = pair(np.array([0, 1]))
    same(ci.logit(), ti.logit())
    c, t = pair(np.array([0.5, 0.1, 0.9], dtype=np.float32))
    same(c.logit(eps=0.6), t.logit(eps=0.6), rtol=1e-6)  # eps > 0.5: PyTorch's clamp order


def test_sinc_is_one_with_zero_derivative_at_zero():
    x = np.array([0.0, 0.5, -1.0, 2.25])
    cx, tx = pair(x, requires_grad=True)
    same(cr.sinc(cx), torch.sinc(tx))
    assert cr.sinc(cx).detach().numpy()[0] == 1.0
    cr.sinc(cx).sum().backward()
    torch.sinc(tx).sum().backward()
    same(cx.grad, tx.grad)
    assert cx.grad.numpy()[0] == 0.0
    ci, ti = pair(np.array([0, 1, 2]))
    same(cr.sinc(ci), torch.sinc(ti), atol=1e-7)


# ------------------------------------------------------------------------------- frac
def test_frac_values_inplace_and_integer_error():
    x = np.array([1.5, -1.5, 2.0, -0.25, float("inf")], dtype=np.float32)
    cx, tx = pair(x)
    same(cr.frac(cx), torch.frac(tx))
    cx.frac_()
    tx.frac_()
    same(cx, tx)
    with pytest.raises(NotImplementedError, match="frac"):
        cr.frac(cr.tensor([1, 2]))


@pytest.mark.parametrize("op", ["add", "sub", "subtract"])
def test_float_alpha_with_integral_inputs_raises_as_torch(op):
    for lib in (cr, torch):
        a = lib.tensor([1, 2, 3])
        with pytest.raises(RuntimeError, match="alpha must not be a floating point"):
            getattr(lib, op)(a, a, alpha=0.5)
        assert getattr(lib, op)(a.double(), a, alpha=0.5).dtype == lib.float64
        assert getattr(lib, op)(a, a, alpha=2).dtype == lib.int64
