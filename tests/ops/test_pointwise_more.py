"""ops/pointwise_more.py against PyTorch: what the op-spec table cannot check.

tests/ops/op_specs_pointwise_more.py checks values, gradients, gradcheck, double backward and
forward mode on smooth inputs. Here: fmax/fmin's tie and NaN rules for the gradient,
copysign at zero, frexp/ldexp/lcm dtypes and special values, the boolean tests, the errors,
the in-place methods, the root in-place functions (``torch.abs_`` ...), erfc's precision
and the NumPy fallbacks of erfc/i0/i1 (no SciPy).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops import _pointwise_special, _special_kernels, pointwise_more

NAN, INF = float("nan"), float("inf")


def _np(t):
    return t.detach().numpy()


def _same(c, t, rtol=1e-12, atol=1e-14):
    """chainrule result ``c`` equals torch result ``t``: shape, dtype, values (NaN == NaN)."""
    cn, tn = _np(c), _np(t)
    assert cn.shape == tn.shape
    assert str(cn.dtype) == str(tn.dtype), (cn.dtype, tn.dtype)
    if cn.dtype.kind in "iub":
        np.testing.assert_array_equal(cn, tn)
    else:
        np.testing.assert_allclose(cn, tn, rtol=rtol, atol=atol, equal_nan=True)


def _pair(a, dtype=None, requires_grad=False):
    a = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
    return (
        cr.tensor(a, requires_grad=requires_grad),
        torch.tensor(a, requires_grad=requires_grad),
    )


# --------------------------------------------------------------- gradients at special points
@pytest.mark.parametrize("op", ["fmax", "fmin"])
def test_fmax_fmin_ties_and_nans_route_gradient_as_torch(op):
    a = [1.0, 2.0, NAN, 3.0, 0.0, NAN, -1.0]
    b = [1.0, NAN, 1.0, 5.0, 0.0, NAN, -4.0]
    (ca, ta), (cb, tb) = _pair(a, requires_grad=True), _pair(b, requires_grad=True)
    cy, ty = getattr(cr, op)(ca, cb), getattr(torch, op)(ta, tb)
    _same(cy, ty)
    g = np.arange(1.0, 8.0)
    cy.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    _same(ca.grad, ta.grad)
    _same(cb.grad, tb.grad)
    assert ca.grad.numpy()[0] == 1.0 and cb.grad.numpy()[0] == 0.0  # a tie goes to input


@pytest.mark.parametrize("op", ["fmax", "fmin"])
def test_fmax_fmin_dtypes_and_tensor_only(op):
    for a, b in (([1, 2], [3, 0]), ([True, False], [False, False]), ([1, 2], [1.5, 0.0])):
        (ca, ta), (cb, tb) = _pair(a), _pair(b)
        _same(getattr(cr, op)(ca, cb), getattr(torch, op)(ta, tb))
        _same(getattr(ca, op)(cb), getattr(ta, op)(tb))
    with pytest.raises(TypeError, match="must be Tensor"):
        getattr(cr, op)(cr.tensor([1.0]), 2.0)


def test_copysign_gradient_at_zero_and_for_other():
    a, b = [-1.0, 0.0, 2.0, -0.0, 3.0], [1.0, -1.0, -2.0, -1.0, 0.0]
    (ca, ta), (cb, tb) = _pair(a, requires_grad=True), _pair(b, requires_grad=True)
    cy, ty = cr.copysign(ca, cb), torch.copysign(ta, tb)
    _same(cy, ty)
    assert np.array_equal(np.signbit(_np(cy)), np.signbit(_np(ty)))
    cy.sum().backward()
    ty.sum().backward()
    _same(ca.grad, ta.grad)
    _same(cb.grad, tb.grad)
    assert not cb.grad.numpy().any()


def test_copysign_dtypes_and_numbers():
    for a, b in (([1, 2], -1), ([1, 2], [-1, 2]), ([1.0, -2.0], -0.0), ([3], [-1.0])):
        ca, ta = _pair(a)
        cb, tb = _pair(b) if isinstance(b, list) else (b, b)
        _same(cr.copysign(ca, cb), torch.copysign(ta, tb))
    c32, t32 = _pair([1.0], np.float32)
    c64, t64 = _pair([-1.0])
    _same(cr.copysign(c32, c64), torch.copysign(t32, t64))
    with pytest.raises(NotImplementedError):
        cr.copysign(cr.tensor([1 + 1j]), cr.tensor([1.0]))


# --------------------------------------------------------------------------- frexp / ldexp
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_frexp_special_values_and_dtypes(dtype):
    c, t = _pair([0.0, 1.5, -8.0, 1e-3, INF, -INF, NAN], dtype)
    cm, ce = cr.frexp(c)
    tm, te = torch.frexp(t)
    _same(cm, tm)
    _same(ce, te)
    assert c.frexp().mantissa is not None and cr.frexp(c).exponent.dtype == cr.int32


def test_frexp_gradient_and_integer_error():
    c, t = _pair([0.0, 1.0, 3.0, -10.0], requires_grad=True)
    cr.frexp(c).mantissa.sum().backward()
    torch.frexp(t).mantissa.sum().backward()
    _same(c.grad, t.grad)
    assert not cr.frexp(c).exponent.requires_grad
    with pytest.raises(RuntimeError, match="floating-point"):
        cr.frexp(cr.tensor([1, 2]))


# torch.ldexp with a 0-d input warns about resizing its internal out tensor (PyTorch's own)
@pytest.mark.filterwarnings("ignore:An output with one or more elements was resized")
def test_ldexp_dtypes_and_tensor_only():
    for a, b in (([1, 2], [3, 4]), ([1.0], [3]), ([1.5, -2.0], [-1.0, 2.5]), (2, [1, 2])):
        for dt in (None, np.float64, np.float32, np.int32):
            for bdt in (None, np.float32):
                (ca, ta), (cb, tb) = _pair(a, dt), _pair(b, bdt)
                _same(cr.ldexp(ca, cb), torch.ldexp(ta, tb), rtol=1e-6)
                _same(cr.ldexp(cb, ca), torch.ldexp(tb, ta), rtol=1e-6)
    with pytest.raises(TypeError, match="must be Tensor"):
        cr.ldexp(cr.tensor([1.0]), 3)


def test_ldexp_gradient_for_negative_integer_exponents_is_the_true_one():
    """Deliberate difference (documented in ldexp): PyTorch computes 2 ** other in integer
    arithmetic for the gradient, giving 0 where other < 0."""
    c, t = _pair([0.1, 5.0, -2.0], requires_grad=True)
    e = np.array([1, -2, 3])
    cr.ldexp(c, cr.tensor(e)).sum().backward()
    torch.ldexp(t, torch.tensor(e)).sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), [2.0, 0.25, 8.0])
    np.testing.assert_array_equal(t.grad.numpy(), [2.0, 0.0, 8.0])  # PyTorch's


# --------------------------------------------------------------------------- no gradient
def test_lcm_values_dtypes_errors():
    (ca, ta), (cb, tb) = _pair([4, 6, 0, -4, 7]), _pair([6, 4, 3, 6, -3])
    _same(cr.lcm(ca, cb), torch.lcm(ta, tb))
    (c32, t32) = _pair([4], np.int32)
    _same(cr.lcm(c32, cb[:1]), torch.lcm(t32, tb[:1]))
    with pytest.raises(NotImplementedError, match="lcm"):
        cr.lcm(cr.tensor([1.0]), cr.tensor([2.0]))
    with pytest.raises(TypeError, match="must be Tensor"):
        cr.lcm(ca, 2)


@pytest.mark.parametrize("op", ["isneginf", "isposinf", "isreal"])
def test_boolean_tests(op):
    for a in ([-INF, INF, NAN, 1.0], [1, 2], [True]):
        c, t = _pair(a)
        _same(getattr(cr, op)(c), getattr(torch, op)(t))
        _same(getattr(c, op)(), getattr(t, op)())
    c, t = _pair([1 + 0j, 1 + 1j, -INF + 0j])
    if op == "isreal":
        _same(cr.isreal(c), torch.isreal(t))
    else:
        with pytest.raises(RuntimeError, match="complex"):
            getattr(cr, op)(c)


def test_positive_and_rsub_errors():
    x = cr.tensor([1.0, -2.0])
    assert cr.positive(x) is x and x.positive() is x
    with pytest.raises(RuntimeError, match="bool"):
        cr.positive(cr.tensor([True]))
    with pytest.raises((TypeError, RuntimeError), match="bool"):  # chainrule's sub: TypeError
        cr.rsub(cr.tensor([True]), cr.tensor([False]))
    (ci, ti), (cf, tf) = _pair([1, 2]), _pair([0.5, 1.5])
    _same(cr.rsub(ci, 3, alpha=2), torch.rsub(ti, 3, alpha=2))
    _same(cr.rsub(ci, cf), torch.rsub(ti, tf))
    assert not hasattr(cr.Tensor, "rsub")  # torch has no Tensor.rsub either


def test_logaddexp2_infinities_and_integer_error():
    (ca, ta), (cb, tb) = _pair([1.0, -INF, INF, -INF]), _pair([2.0, -INF, 1.0, 3.0])
    _same(cr.logaddexp2(ca, cb), torch.logaddexp2(ta, tb))
    with pytest.raises(NotImplementedError, match="logaddexp2"):
        cr.logaddexp2(cr.tensor([1]), cr.tensor([2]))


def test_mvlgamma_poles_and_p_checks():
    c, t = _pair([0.5, 1.0, 2.0, 7.5])
    _same(cr.mvlgamma(c, 3), torch.mvlgamma(t, 3))
    ci, ti = _pair([3, 4])
    _same(cr.mvlgamma(ci, p=2), torch.mvlgamma(ti, p=2), rtol=1e-6)
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        cr.mvlgamma(c, 0)
    with pytest.raises(TypeError, match="'p' must be int"):
        cr.mvlgamma(c, 1.5)


# ------------------------------------------------------------------------- erfc, i0, i1
def test_erfc_keeps_precision_in_the_tail():
    c, t = _pair([5.0, 10.0, 26.0, 30.0, -INF, INF, NAN])
    _same(cr.erfc(c), torch.erfc(t), rtol=1e-13, atol=0)
    assert cr.erfc(cr.tensor([10.0])).item() > 0  # 1 - erf(10) would be exactly 0
    ci, ti = _pair([1, 2])
    _same(cr.erfc(ci), torch.erfc(ti), rtol=1e-6)


def test_i0_special_values_and_double_derivative_at_zero():
    c, t = _pair([0.0, 1.0, -3.0, 700.0, INF, -INF, NAN])
    _same(cr.i0(c), torch.i0(t), rtol=1e-13)
    c, t = _pair([0.0, 1.0, -2.0], requires_grad=True)
    (cg,) = cr.autograd.grad(cr.i0(c).sum(), c, create_graph=True)
    (tg,) = torch.autograd.grad(torch.i0(t).sum(), t, create_graph=True)
    _same(cg, tg)
    _same(cr.autograd.grad(cg.sum(), c)[0], torch.autograd.grad(tg.sum(), t)[0])


@pytest.mark.parametrize("op", ["erfc", "i0"])
def test_numpy_fallbacks_match_torch(op, monkeypatch):
    monkeypatch.setattr(_special_kernels, "_scipy", None)
    x = np.concatenate([np.linspace(-40, 40, 161), [0.0, 1e-8, INF, -INF, NAN]])
    c, t = _pair(x)
    _same(getattr(cr, op)(c), getattr(torch, op)(t), rtol=1e-12, atol=1e-300)


def test_i1_numpy_fallback_matches_torch(monkeypatch):
    monkeypatch.setattr(_special_kernels, "_scipy", None)
    x = np.concatenate([np.linspace(-60, 60, 241), [19.99, 20.01, 300.0, INF, NAN]])
    y = _pointwise_special.I1.apply(cr.tensor(x))
    _same(y, torch.special.i1(torch.tensor(x)), rtol=1e-12, atol=1e-300)


# --------------------------------------------------------------------- in-place methods
INPLACE = [
    ("erfc_", (), [0.1, 0.5, -2.0]),
    ("log10_", (), [0.1, 5.0, 100.0]),
    ("log2_", (), [0.1, 5.0, 8.0]),
    ("i0_", (), [0.1, 5.0, -2.0]),
    ("copysign_", (np.array([-1.0, 2.0, -0.0]),), [0.1, 5.0, -2.0]),
    ("ldexp_", (np.array([1, 2, 3]),), [0.1, 5.0, -2.0]),
    ("mvlgamma_", (2,), [1.1, 5.0, 2.0]),
]


def _args(args, lib):
    return tuple(lib.tensor(a) if isinstance(a, np.ndarray) else a for a in args)


@pytest.mark.parametrize(("name", "args", "data"), INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_methods_match_torch_and_keep_autograd_rules(name, args, data):
    c, t = _pair(data)
    out = getattr(c, name)(*_args(args, cr))
    getattr(t, name)(*_args(args, torch))
    assert out is c and c._version == 1
    _same(c, t)
    leaf = cr.tensor(data, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(leaf, name)(*_args(args, cr))
    # through a non-leaf, the gradient is the out-of-place op's
    c, t = _pair(data, requires_grad=True)
    cy, ty = c * 1.0, t * 1.0
    getattr(cy, name)(*_args(args, cr)).sum().backward()
    getattr(ty, name)(*_args(args, torch)).sum().backward()
    _same(c.grad, t.grad)


def test_lcm_inplace_and_integer_results_cannot_go_in_place():
    (ca, ta), (cb, tb) = _pair([4, 6]), _pair([6, 5])
    ca.lcm_(cb)
    ta.lcm_(tb)
    _same(ca, ta)
    with pytest.raises((TypeError, RuntimeError)):
        cr.tensor([1, 2]).erfc_()


def test_tensor_hardshrink_is_F_hardshrink():
    c, t = _pair([-1.0, -0.4, 0.0, 0.45, 2.0], requires_grad=True)
    _same(c.hardshrink(), t.hardshrink())
    cy, ty = c.hardshrink(0.42), t.hardshrink(0.42)
    _same(cy, ty)
    cy.sum().backward()
    ty.sum().backward()
    _same(c.grad, t.grad)
    assert "hardshrink" not in cr.ops.__all__  # cr.hardshrink stays nn.functional's


# ----------------------------------------------------------------- root in-place functions
ROOT = {
    "addmv_": lambda lib: (lib.tensor(np.ones((3, 4))), lib.tensor(np.arange(4.0))),
    "clamp_": lambda lib: {"min": 0.3, "max": 0.6},
    "clamp_min_": lambda lib: (0.5,),
    "clamp_max_": lambda lib: (0.5,),
    "clip_": lambda lib: (0.3, 0.6),
    "xlogy_": lambda lib: (lib.tensor([0.5, 2.0, 3.0]),),
    "ldexp_": lambda lib: (lib.tensor([1, -2, 3]),),
    "round_": lambda lib: {"decimals": 1},
    "logit_": lambda lib: (0.1,),
    "fill_": lambda lib: (2.0,),
    "index_put_": lambda lib: ((lib.tensor([0, 2]),), lib.tensor([5.0, 6.0], dtype=lib.float64)),
}
INT_ROOT = {"gcd_", "lcm_"}
ROOT_NAMES = sorted(pointwise_more._root_inplace.__all__)


def _call(lib, name, x):
    extra = ROOT.get(name, lambda lib: ())(lib)
    if isinstance(extra, dict):
        return getattr(lib, name)(x, **extra)
    return getattr(lib, name)(x, *extra)


@pytest.mark.parametrize("name", ROOT_NAMES)
def test_root_inplace_function_is_the_method_called_as_function(name):
    if name in INT_ROOT:
        data = np.array([4, 6, 9])
        c, t = _pair(data)
        assert getattr(cr, name)(c, cr.tensor([6, 4, 3])) is c
        getattr(torch, name)(t, torch.tensor([6, 4, 3]))
        _same(c, t)
        return
    data = np.array([0.25, 0.5, 0.75]) + (1.0 if name in ("acosh_", "arccosh_") else 0.0)
    if name == "nan_to_num_":
        data = np.array([NAN, INF, 0.5])
    c, t = _pair(data)
    assert _call(cr, name, c) is c
    _call(torch, name, t)
    _same(c, t)
    if name == "detach_":
        return
    assert c._version == 1
    leaf = cr.tensor(data, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf|requires grad"):
        _call(cr, name, leaf)
    with pytest.raises(TypeError, match=rf"{name}\(\): argument 'input'"):
        _call(cr, name, 0.5)


def test_root_inplace_gradient_flows_like_torch():
    c, t = _pair([0.2, 0.7], requires_grad=True)
    cy, ty = c * 2.0, t * 2.0
    cr.sin_(cy)
    torch.sin_(ty)
    cr.clamp_(cy, max=0.9).sum().backward()
    torch.clamp_(ty, max=0.9).sum().backward()
    _same(c.grad, t.grad)


def test_root_detach_and_coverage_of_torch_root_inplace_names():
    c = cr.tensor([1.0], requires_grad=True) * 2.0
    cr.detach_(c)
    assert not c.requires_grad and c.grad_fn is None
    names = {m for m in dir(torch) if m.endswith("_") and not m.startswith("_")}
    # the rest have no chainrule Tensor method to mirror.
    missing = {m for m in names if not hasattr(cr, m)}
    expected = {"as_strided_", "conj_physical_", "embedding_renorm_", "resize_as_"}
    assert missing <= expected | {"resize_as_sparse_"}


@pytest.mark.parametrize("name", ROOT_NAMES)
def test_root_inplace_signatures_are_atens(name):
    packet = getattr(torch.ops.aten, name)
    overload = {"xlogy_": "Tensor", "round_": "decimals", "fill_": "Scalar"}.get(name, "default")
    schema = getattr(packet, overload)._schema
    want = [("input" if a.name == "self" else a.name, a.kwarg_only) for a in schema.arguments]
    params = inspect.signature(getattr(cr, name)).parameters.values()
    assert [(p.name, p.kind is inspect.Parameter.KEYWORD_ONLY) for p in params] == want


def test_root_nan_to_num_none_means_zero():
    c, t = _pair([NAN, INF, -INF, 1.0])
    cr.nan_to_num_(c, None, 5.0)
    torch.nan_to_num_(t, None, 5.0)
    _same(c, t)
