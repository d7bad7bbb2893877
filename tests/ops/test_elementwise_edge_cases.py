"""Elementwise edge cases against PyTorch: NaN, integer division by zero, complex input, bad
arguments, integer/bool-only ops, and the one-derivative-per-op base classes.

Each case runs on chainrule and on PyTorch: where PyTorch returns a value chainrule must
return the same value and dtype; where PyTorch raises, chainrule must raise a clear error
naming the op.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops import binary, clamping, elementwise, fused_grads, power, trig, unary

NAN, INF = float("nan"), float("inf")


def _same(c, t):
    assert isinstance(c, cr.Tensor)
    assert str(c.dtype) == str(t.dtype), (c.dtype, t.dtype)
    got, want = c.numpy(), t.numpy()
    if got.dtype.kind in "fc":  # transcendental kernels: NumPy's SIMD libm differs by CPU
        rtol = 4 * np.finfo(got.dtype).eps
        np.testing.assert_allclose(got, want, rtol=rtol, atol=0, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------------ values as torch
VALUE_CASES = {
    "sign_nan": lambda m: m.sign(m.tensor([NAN, -2.0, 0.0, 3.0])),
    "sign_int": lambda m: m.sign(m.tensor([-3, 0, 4])),
    "floor_divide_float_by_zero": lambda m: m.tensor([1.0, -1.0, 0.0]) // 0.0,
    "remainder_float_by_zero": lambda m: m.tensor([1.0, -2.0]) % 0.0,
    "floordiv_neg": lambda m: m.tensor([7, -7, 7, -7]) // m.tensor([2, 2, -2, -2]),
    "mod_neg": lambda m: m.tensor([7, -7, 7, -7]) % m.tensor([2, 2, -2, -2]),
    "div_trunc_int": lambda m: m.div(m.tensor([7, -7]), m.tensor([2, 2]), rounding_mode="trunc"),
    "div_floor_int": lambda m: m.div(m.tensor([7, -7]), 2, rounding_mode="floor"),
    "div_trunc_float": lambda m: m.div(m.tensor([7.5, -7.5]), 2.0, rounding_mode="trunc"),
    "div_int_true": lambda m: m.div(m.tensor([7, -7]), m.tensor([2, 4])),
    "pow_int_nonneg": lambda m: m.tensor([2, 3]) ** m.tensor([0, 3]),
    "pow_float_neg": lambda m: m.tensor([2.0, 4.0]) ** -1,
    "pow_int_tensor_neg": lambda m: (
        m.tensor([-2, -1, 0, 1, 2, -1]) ** m.tensor([-1, -1, -1, -2, -2, -3])
    ),
    "rpow_int_neg": lambda m: 2 ** m.tensor([-1, 2]),
    "nan_to_num_f32": lambda m: m.nan_to_num(m.tensor([NAN, INF, -INF, 1.0])),
    "nan_to_num_f64": lambda m: m.nan_to_num(m.tensor([NAN, INF, -INF], dtype=m.float64)),
    "nan_to_num_args": lambda m: m.nan_to_num(m.tensor([NAN, INF, -INF]), 1.0, 2.0, -3.0),
    "nan_to_num_int": lambda m: m.nan_to_num(m.tensor([1, 2])),
    "clamp_min_fn": lambda m: m.clamp_min(m.tensor([1.0, 3.0]), 2),
    "clamp_max_int_float": lambda m: m.clamp_max(m.tensor([1, 3]), 2.5),
    "clamp_min_method": lambda m: m.tensor([1.0, 3.0]).clamp_min(2.0),
    "isclose": lambda m: m.isclose(m.tensor([1.0, 2.0, NAN]), m.tensor([1.0, 2.1, NAN])),
    "isclose_nan": lambda m: m.isclose(m.tensor([NAN, 1.0]), m.tensor([NAN, 1.0]), equal_nan=True),
    "isclose_int": lambda m: m.isclose(m.tensor([1, 2]), m.tensor([1, 3])),
    "isclose_tol": lambda m: m.isclose(
        m.tensor([1.0, 2.0]), m.tensor([1.05, 2.0]), rtol=0, atol=0.1
    ),
    "logical_and_float": lambda m: m.logical_and(m.tensor([0.0, 1.0, 2.0]), m.tensor([1, 0, 3])),
    "logical_or": lambda m: m.logical_or(m.tensor([0, 1, 0]), m.tensor([0, 0, 5])),
    "logical_xor": lambda m: m.logical_xor(m.tensor([True, False]), m.tensor([True, True])),
    "logical_not_int": lambda m: m.logical_not(m.tensor([0, 3])),
    "sinh_int": lambda m: m.sinh(m.tensor([1, 2])),
    "atan2_int": lambda m: m.atan2(m.tensor([1, 2]), m.tensor([1, 1])),
    "lerp_tensor_weight": lambda m: m.lerp(
        m.tensor([1.0, 2.0]), m.tensor([3.0, 4.0]), m.tensor([0.5, 2.0])
    ),
    "cumprod_int": lambda m: m.cumprod(m.tensor([[1, 2], [3, 4]]), 0),
    "cumprod_bool": lambda m: m.cumprod(m.tensor([True, True, False]), 0),
    "diff_bool": lambda m: m.diff(m.tensor([True, True, False])),
    "trace_int": lambda m: m.trace(m.tensor([[1, 2], [3, 4]])),
    "kron_int": lambda m: m.kron(m.tensor([1, 2]), m.tensor([[1, 10]])),
    "addmm_beta0_nan": lambda m: m.addmm(
        m.tensor([[NAN]]), m.tensor([[1.0, 2.0]]), m.tensor([[3.0], [4.0]]), beta=0
    ),
    "threshold_nan": lambda m: m.nn.Threshold(0.1, 20.0)(m.tensor([NAN, 0.05, 1.0])),
}

BITWISE_DTYPES = ["bool", "int8", "uint8", "int32", "int64"]


@pytest.mark.parametrize("name", sorted(VALUE_CASES))
def test_value_matches_torch(name):
    _same(VALUE_CASES[name](cr), VALUE_CASES[name](torch))


@pytest.mark.parametrize("dtype", BITWISE_DTYPES)
@pytest.mark.parametrize("op", ["bitwise_and", "bitwise_or", "bitwise_xor"])
def test_bitwise_binary_matches_torch(op, dtype):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2 if dtype == "bool" else 100, (3, 4)).astype(dtype)
    b = rng.integers(0, 2 if dtype == "bool" else 100, (4,)).astype(dtype)
    _same(
        getattr(cr, op)(cr.tensor(a), cr.tensor(b)),
        getattr(torch, op)(torch.tensor(a), torch.tensor(b)),
    )


@pytest.mark.parametrize("dtype", BITWISE_DTYPES)
def test_bitwise_operators_match_torch(dtype):
    a = np.array([0, 1, 5, 6] if dtype != "bool" else [0, 1, 1, 0]).astype(dtype)
    b = np.array([1, 1, 3, 0] if dtype != "bool" else [1, 1, 0, 0]).astype(dtype)
    for fn in (lambda x, y: x & y, lambda x, y: x | y, lambda x, y: x ^ y, lambda x, y: ~x):
        _same(fn(cr.tensor(a), cr.tensor(b)), fn(torch.tensor(a), torch.tensor(b)))


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64"])
def test_shifts_match_torch(dtype):
    a = np.array([1, 5, 100, 7], dtype=dtype)
    if dtype != "uint8":
        a[2] = -100
    s = np.array([0, 1, 3, 70], dtype=dtype)  # 70: past the bit width
    for fn in (lambda x, y: x << y, lambda x, y: x >> y, lambda x, y: x << 2, lambda x, y: x >> 1):
        _same(fn(cr.tensor(a), cr.tensor(s)), fn(torch.tensor(a), torch.tensor(s)))
    _same(cr.bitwise_left_shift(cr.tensor(a), 2), torch.bitwise_left_shift(torch.tensor(a), 2))


def test_bitwise_inplace_and_methods():
    x = cr.tensor([6, 5])
    x &= cr.tensor([3, 4])
    x |= 1
    x <<= 1
    t = torch.tensor([6, 5])
    t &= torch.tensor([3, 4])
    t |= 1
    t <<= 1
    _same(x, t)
    _same(
        cr.tensor([1, 2]).bitwise_xor(cr.tensor([3, 3])),
        torch.tensor([1, 2]).bitwise_xor(torch.tensor([3, 3])),
    )


def test_allclose_matches_torch():
    for a, b, kw in (
        ([1.0, 2.0], [1.0, 2.0 + 1e-7], {}),
        ([1.0, NAN], [1.0, NAN], {}),
        ([1.0, NAN], [1.0, NAN], {"equal_nan": True}),
        ([1.0, 2.0], [1.0], {}),
    ):
        assert cr.allclose(cr.tensor(a), cr.tensor(b), **kw) == torch.allclose(
            torch.tensor(a), torch.tensor(b), **kw
        )


def test_inplace_variants_match_torch():
    for name, args in (
        ("sinh_", ()),
        ("cosh_", ()),
        ("atan_", ()),
        ("clamp_min_", (0.1,)),
        ("clamp_max_", (0.2,)),
        ("nan_to_num_", ()),
        ("lerp_", (None, 0.25)),
        ("hypot_", (None,)),
        ("atan2_", (None,)),
    ):
        base = np.array([0.3, -0.7, 0.05])
        other = np.array([0.5, 0.5, -1.5])
        c, t = cr.tensor(base.copy()), torch.tensor(base.copy())
        ca = tuple(cr.tensor(other) if a is None else a for a in args)
        ta = tuple(torch.tensor(other) if a is None else a for a in args)
        assert getattr(c, name)(*ca) is c
        getattr(t, name)(*ta)
        _same(c, t)


# ------------------------------------------------------------------------ errors as torch
ERROR_CASES = {
    # (chainrule call, torch call, chainrule error type, text the message must contain)
    "int_floordiv_zero": (
        lambda m: m.tensor([1, 2]) // m.tensor([0, 1]),
        ZeroDivisionError,
        "floor_divide",
    ),
    "int_floordiv_scalar_zero": (
        lambda m: m.tensor([1, 2]) // 0,
        ZeroDivisionError,
        "floor_divide",
    ),
    "int_mod_zero": (lambda m: m.tensor([1, 2]) % m.tensor([0, 1]), ZeroDivisionError, "remainder"),
    "int_div_floor_zero": (
        lambda m: m.div(m.tensor([3]), m.tensor([0]), rounding_mode="floor"),
        ZeroDivisionError,
        "div",
    ),
    "int_div_trunc_zero": (
        lambda m: m.div(m.tensor([3]), m.tensor([0]), rounding_mode="trunc"),
        ZeroDivisionError,
        "div",
    ),
    "div_round": (
        lambda m: m.div(m.tensor([1.0]), m.tensor([2.0]), rounding_mode="round"),
        ValueError,
        "rounding_mode",
    ),
    "int_pow_neg_scalar": (lambda m: m.tensor([2]) ** -1, ValueError, "pow"),
    "bool_neg": (lambda m: -m.tensor([True]), TypeError, "neg"),
    "bool_sub": (lambda m: m.tensor([1, 2]) - m.tensor([True, False]), TypeError, "sub"),
    "bool_sub_bool": (lambda m: m.tensor([True]) - m.tensor([True]), TypeError, "sub"),
    "eq_shape": (lambda m: m.eq(m.tensor([1, 2]), m.tensor([1, 2, 3])), ValueError, "eq"),
    "lt_shape": (lambda m: m.tensor([1, 2]) < m.tensor([1, 2, 3]), ValueError, "lt"),
    "complex_relu": (lambda m: m.relu(m.tensor([1 + 1j])), TypeError, "relu"),
    "complex_clamp": (lambda m: m.clamp(m.tensor([1 + 1j]), 0), TypeError, "clamp"),
    "complex_max": (lambda m: m.max(m.tensor([1 + 1j, 2 + 0j])), TypeError, "max"),
    "complex_maximum": (
        lambda m: m.maximum(m.tensor([1 + 1j]), m.tensor([2 + 0j])),
        TypeError,
        "maximum",
    ),
    "complex_sign": (lambda m: m.sign(m.tensor([1 + 1j])), TypeError, "sign"),
    "bitwise_float": (
        lambda m: m.bitwise_and(m.tensor([1.0]), m.tensor([2.0])),
        TypeError,
        "bitwise_and",
    ),
    "invert_float": (lambda m: ~m.tensor([1.0]), TypeError, "bitwise_not"),
    "shift_float": (lambda m: m.tensor([1.0]) << 1, TypeError, "bitwise_left_shift"),
    "hypot_int": (lambda m: m.hypot(m.tensor([3]), m.tensor([4])), TypeError, "hypot"),
    "lerp_int": (lambda m: m.lerp(m.tensor([1, 2]), m.tensor([3, 4]), 0.5), TypeError, "lerp"),
    "isclose_dtype": (
        lambda m: m.isclose(m.tensor([1.0]), m.tensor([1], dtype=m.int64)),
        TypeError,
        "isclose",
    ),
    "trace_3d": (lambda m: m.trace(m.ones(2, 2, 2)), ValueError, "trace"),
    "addmm_1d": (lambda m: m.addmm(m.ones(2), m.ones(2), m.ones(2)), ValueError, "addmm"),
    "addmm_bad_input": (
        lambda m: m.addmm(m.ones(3, 3), m.ones(2, 2), m.ones(2, 2)),
        ValueError,
        "addmm",
    ),
    "tensordot_mismatch": (
        lambda m: m.tensordot(m.ones(2, 3), m.ones(2, 3), 1),
        ValueError,
        "^contracted dimensions need to match",  # PyTorch's words
    ),
    "diff_0d": (lambda m: m.diff(m.tensor(1.0)), RuntimeError, "diff"),
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_error_where_torch_raises(name):
    call, err, text = ERROR_CASES[name]
    with pytest.raises(Exception):  # noqa: B017 - PyTorch's error type varies by op
        call(torch)
    with pytest.raises(err, match=text):
        call(cr)


def test_integer_division_by_zero_is_also_a_runtime_error():
    """PyTorch raises RuntimeError('ZeroDivisionError'): code catching either works."""
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        cr.tensor([4]) % 0


def test_sigmoid_complex_keeps_the_imaginary_part_as_torch():
    z = np.array([1 + 1j, -0.5 + 2j])
    got = cr.sigmoid(cr.tensor(z)).numpy()
    np.testing.assert_allclose(got, torch.sigmoid(torch.tensor(z)).numpy(), rtol=1e-14)


# ------------------------------------------------------- one derivative per op: consistency
def _chain_vs_derivative(cls, inputs, **params):
    """An op's fused or cheaper ``chain`` equals ``g * derivative`` (the stated derivative)."""
    xs = [cr.tensor(a, requires_grad=True) for a in inputs]
    y = cls.apply(*xs, **params)
    ctx = y.grad_fn
    g = cr.tensor(np.random.default_rng(3).standard_normal(y.shape))
    if issubclass(cls, elementwise.UnaryElementwise):
        pairs = [(cls.chain(ctx, g, xs[0], y), g * cls.derivative(ctx, xs[0], y))]
    else:
        a, b = xs
        pairs = [
            (cls.chain_a(ctx, g, a, b, y), elementwise.scale(g, cls.derivative_a(ctx, a, b, y))),
            (cls.chain_b(ctx, g, a, b, y), elementwise.scale(g, cls.derivative_b(ctx, a, b, y))),
        ]
    for fused, plain in pairs:
        np.testing.assert_allclose(
            fused.detach().numpy(), plain.detach().numpy(), rtol=1e-12, atol=1e-12
        )


POS = np.array([0.5, 1.3, 2.0])
REAL = np.array([-1.2, 0.3, 2.0])


@pytest.mark.parametrize(
    "cls,inputs,params",
    [
        (unary.Log, [POS], {}),
        (unary.Log1p, [POS], {}),
        (unary.Sqrt, [POS], {}),
        (unary.Tanh, [REAL], {}),
        (unary.Sigmoid, [REAL], {}),
        (unary.Relu, [REAL], {}),
        (unary.Softplus, [REAL], {"beta": 2.0, "threshold": 1.0}),
        (clamping.Clamp, [REAL], {"lo": -0.5, "hi": 1.0}),
        (unary.Exp, [REAL], {}),
        (binary.Div, [REAL, POS], {}),
        (power.Pow, [POS, REAL], {}),
        (binary.Where, [REAL, POS], {"cond": np.array([True, False, True])}),
        (fused_grads.TanhGrad, [REAL, POS / 3], {}),
        (fused_grads.SigmoidGrad, [REAL, POS / 3], {}),
        (trig.Hypot, [REAL, POS], {}),
        (trig.Atan2, [REAL, POS], {}),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_chain_agrees_with_stated_derivative(cls, inputs, params):
    _chain_vs_derivative(cls, inputs, **params)


def test_every_elementwise_op_states_its_derivative():
    """Each concrete subclass states derivative (unary) or both partials (binary), itself or
    through a family base class below the generic one (e.g. the rounding ops share d/dx = 0),
    or overrides the matching ``chain`` rule (as the base classes allow: xlogy's gradient for
    x is ``xlogy(g, y)``, so that a zero g stays 0 where log(y) = -inf)."""

    def stated(cls, name, base):
        chain = name.replace("derivative", "chain")
        mro = cls.__mro__[: cls.__mro__.index(base)]
        return any(name in vars(k) or chain in vars(k) for k in mro)

    def subclasses(c):
        for s in c.__subclasses__():
            yield s
            yield from subclasses(s)

    for cls in subclasses(elementwise.UnaryElementwise):
        assert stated(cls, "derivative", elementwise.UnaryElementwise), cls
    for cls in subclasses(elementwise.BinaryElementwise):
        assert stated(cls, "derivative_a", elementwise.BinaryElementwise), cls
        assert stated(cls, "derivative_b", elementwise.BinaryElementwise), cls


def test_scalar_operand_saves_nothing_for_itself():
    """x.mul_(3) on a non-leaf keeps x's own saved value valid (only the factor is saved)."""
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    h = w * 2.0
    h.mul_(3.0)
    h.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [6.0, 6.0])


def test_nan_to_num_nan_none_means_zero_as_torch():
    values = [float("nan"), float("inf"), -1.0]
    got = cr.nan_to_num(cr.tensor(values), nan=None)
    want = torch.nan_to_num(torch.tensor(values), nan=None)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_inplace_on_an_empty_clone_is_allowed_as_torch():
    # NumPy gives an empty copy zero strides; it has no elements to overlap
    got = cr.from_numpy(np.zeros((0, 4))).clone().add_(1.0)
    want = torch.from_numpy(np.zeros((0, 4))).clone().add_(1.0)
    assert tuple(got.shape) == tuple(want.shape) == (0, 4)
