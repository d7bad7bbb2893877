"""Type promotion of binary, ternary and in-place ops against PyTorch 2.13: the result dtype,
the values, and whether an error is raised, over the dtypes x operand kinds (a tensor with
dimensions, a 0-d tensor, a Python or NumPy number).

The first tables hold the cases an audit found wrong (each a silent wrong answer or a missing
refusal before the fix); the sweep at the end compares a representative sample of the mixes
that already agreed, so a regression in the promotion rules is caught."""

from __future__ import annotations

import operator

import numpy as np
import pytest
import torch

import chainrule as cr

DTYPES = (
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)


def _values(dt: str) -> np.ndarray:
    """Fixed 2x3 values for ``dt``: negatives for signed types, no zero divisor."""
    if dt == "bool":
        return np.array([[True, False, True], [False, True, True]])
    if dt == "uint8":
        return np.array([[3, 2, 5], [1, 7, 4]])
    if dt.startswith("int"):
        return np.array([[-3, 2, 5], [1, -1, 4]])
    if dt.startswith("complex"):
        return np.array([[-2.5 + 1j, 1.5 - 0.5j, 3.0], [0.5 + 2j, -1.0, 4.0 - 1j]])
    return np.array([[-2.5, 1.5, 3.0], [0.5, -1.0, 4.0]])


def _tensor(lib, dt: str, zero_d: bool = False):
    """The fixed values of ``dt`` in ``lib`` (torch or chainrule); ``zero_d``: one element."""
    v = _values(dt)
    v = v[0, 1] if zero_d else v
    if dt == "bfloat16":
        return lib.tensor(np.asarray(v, dtype=np.float32)).to(lib.bfloat16)
    return lib.tensor(np.asarray(v), dtype=getattr(lib, dt))


def _operand(lib, spec):
    """``spec``: ("T", dtype), ("0d", dtype) or ("n", number): a tensor or the number."""
    kind, v = spec
    return v if kind == "n" else _tensor(lib, v, kind == "0d")


def _run(fn):
    try:
        return fn(), None
    except Exception as e:  # noqa: BLE001 - compared against torch's outcome
        return None, e


def _numpy(t) -> np.ndarray:
    if t.dtype in (torch.bfloat16, cr.bfloat16):
        t = t.float()
    return np.asarray(t.detach().numpy())


def _same(expected, got, rtol: float | None = None) -> None:
    """``got`` (chainrule) is torch's ``expected``: same dtype, shape and values."""
    assert str(got.dtype) == str(expected.dtype), (got.dtype, expected.dtype)
    assert tuple(got.shape) == tuple(expected.shape)
    e, g = _numpy(expected), _numpy(got)
    if e.dtype.kind in "fc":
        name = str(expected.dtype)
        tol = 1e-2 if "16" in name else 1e-5 if name.endswith(("32", "64")) else 1e-12
        tol = tol if rtol is None else rtol
        np.testing.assert_allclose(g.astype(e.dtype), e, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(g, e)


def _check(fn_torch, fn_cr, rtol: float | None = None) -> None:
    """Both libraries raise, or both answer the same."""
    expected, t_err = _run(fn_torch)
    got, c_err = _run(fn_cr)
    if t_err is not None:
        assert c_err is not None, f"torch raises {t_err!r}; chainrule gives {got}"
        return
    assert c_err is None, f"chainrule raises {c_err!r}; torch gives {expected}"
    _same(expected, got, rtol)


def _binary(name: str):
    """(torch's, chainrule's) callable for a binary op name: a function or an operator."""
    ops = {
        "+": operator.add,
        "-": operator.sub,
        "*": operator.mul,
        "/": operator.truediv,
        "//": operator.floordiv,
        "%": operator.mod,
        "**": operator.pow,
        "&": operator.and_,
        "<<": operator.lshift,
        ">>": operator.rshift,
        "<": operator.lt,
    }
    if name in ops:
        return ops[name], ops[name]
    if name.startswith("div_"):
        mode = name[4:]
        return (
            lambda a, b: torch.div(a, b, rounding_mode=mode),
            lambda a, b: cr.div(a, b, rounding_mode=mode),
        )
    return getattr(torch, name), getattr(cr, name)


# --------------------------------------------------------------------- the fixed findings
T, Z, N = "T", "0d", "n"
FIXED_BINARY = [
    # an int beside an integer tensor whose result is floating is not wrapped into the dtype
    ("div", (T, "uint8"), (N, -2)),
    ("/", (N, -2), (T, "uint8")),
    ("/", (T, "uint8"), (N, 300)),
    ("/", (T, "int8"), (N, 256)),
    ("true_divide", (Z, "uint8"), (N, -1)),
    ("/", (T, "int16"), (N, 2**40)),
    ("xlogy", (T, "uint8"), (N, -2)),
    ("xlogy", (N, 300), (T, "uint8")),
    ("copysign", (T, "uint8"), (N, -1)),
    ("copysign", (T, "int8"), (N, -129)),
    # a Python bool operand of `-` is refused, as PyTorch
    ("-", (T, "float32"), (N, True)),
    ("-", (N, True), (T, "int64")),
    ("sub", (Z, "uint8"), (N, False)),
    # pow: integer tensors to negative ints, bool powers, exponents that do not fit
    ("**", (T, "uint8"), (N, -2)),
    ("**", (T, "int8"), (N, -129)),
    ("**", (T, "uint8"), (N, 300)),
    ("**", (N, -2), (T, "uint8")),
    ("**", (N, 300), (T, "int8")),
    ("**", (T, "bool"), (N, True)),
    ("**", (T, "bool"), (N, False)),
    ("**", (T, "bool"), (T, "bool")),
    ("**", (N, True), (T, "bool")),
    ("**", (T, "bool"), (Z, "bool")),
    ("**", (N, np.int64(2)), (T, "bool")),
    ("**", (T, "float16"), (N, 70000)),
    ("**", (T, "bfloat16"), (N, 1e40)),
    # float16 times / over a Python int keeps the int in float32 (no inf from 70000)
    ("*", (T, "float16"), (N, 70000)),
    ("*", (N, 65520), (T, "float16")),
    ("/", (T, "float16"), (N, 70000)),
    ("/", (N, 70000), (T, "float16")),
    # bool operands of rounded division and shifts are refused
    ("//", (T, "bool"), (N, True)),
    ("%", (T, "bool"), (Z, "bool")),
    ("fmod", (Z, "bool"), (N, True)),
    ("div_trunc", (T, "bool"), (Z, "bool")),
    ("div_floor", (T, "bool"), (N, True)),
    ("<<", (T, "bool"), (T, "bool")),
    (">>", (T, "bool"), (N, True)),
    ("bitwise_left_shift", (Z, "bool"), (T, "bool")),
    # clamp_min / clamp_max with number bounds promote as numbers
    ("clamp_min", (T, "bool"), (N, 2)),
    ("clamp_max", (T, "bool"), (N, -2)),
    ("clamp_min", (T, "bool"), (N, np.int64(1))),
    ("clamp_min", (T, "int32"), (N, np.float32(2.5))),
    ("clamp_max", (T, "uint8"), (N, -1)),
    ("clamp_min", (T, "bool"), (N, True)),
    ("clamp_min", (T, "float32"), (N, 1 + 1j)),
    ("clamp_min", (T, "float32"), (Z, "complex64")),
]


@pytest.mark.parametrize(("op", "a", "b"), FIXED_BINARY, ids=lambda v: str(v))
def test_fixed_binary_findings_match_torch(op, a, b):
    ft, fc = _binary(op)
    _check(
        lambda: ft(_operand(torch, a), _operand(torch, b)),
        lambda: fc(_operand(cr, a), _operand(cr, b)),
    )


def test_float_result_ops_do_not_wrap_ints_values():
    """The values themselves: uint8 / -2 is -1.5, not x / 254."""
    x = cr.tensor([3, 2], dtype=cr.uint8)
    np.testing.assert_allclose((x / -2).numpy(), [-1.5, -1.0])
    np.testing.assert_allclose(cr.copysign(x, -1).numpy(), [-3.0, -2.0])
    np.testing.assert_allclose((-2 / x).numpy(), [-2 / 3, -1.0], rtol=1e-6)


@pytest.mark.parametrize(
    ("lo", "hi"),
    [
        ((Z, "float16"), (N, 2)),  # a 0-d tensor beside a number is read as a number
        ((Z, "float64"), (N, 2.5)),
        ((N, True), (Z, "int64")),
        ((N, 1), (N, 2)),
        ((N, 0.5), (N, 2)),
        ((N, np.float32(0.5)), None),
        ((N, True), (N, True)),
        ((N, 0), (N, 300)),
        ((Z, "float32"), (T, "float32")),
    ],
    ids=str,
)
@pytest.mark.parametrize("dt", ["bool", "uint8", "int8", "int64", "float16", "float32"])
def test_clamp_bounds_promote_as_torch(dt, lo, hi):
    def call(lib):
        x = _tensor(lib, dt)
        return lib.clamp(x, min=_operand(lib, lo), max=None if hi is None else _operand(lib, hi))

    _check(lambda: call(torch), lambda: call(cr))


def test_clamp_tensor_bound_beside_number_must_be_0d_without_grad():
    x = cr.tensor([1.0, 2.0, 3.0])
    with pytest.raises(TypeError):
        cr.clamp(x, min=cr.tensor([1.0, 1.0, 1.0]), max=2.5)
    with pytest.raises(TypeError):
        cr.clamp(x, min=cr.tensor(1.0, requires_grad=True), max=2.5)
    np.testing.assert_allclose(cr.clamp(x, cr.tensor(1.5), 2.5).numpy(), [1.5, 2.0, 2.5])


@pytest.mark.parametrize(
    ("x_dt", "bound"),
    [("bool", 1), ("int32", np.float32(1.5)), ("uint8", 2.5), ("bool", 0.5), ("int64", 2)],
    ids=str,
)
def test_clamp_inplace_refuses_a_wider_result(x_dt, bound):
    _check(
        lambda: _tensor(torch, x_dt).clamp_(min=bound),
        lambda: _tensor(cr, x_dt).clamp_(min=bound),
    )


@pytest.mark.parametrize(
    ("x", "t1", "t2"),
    [
        ((T, "float32"), (T, "int64"), (Z, "float64")),
        ((T, "float32"), (Z, "float64"), (T, "bool")),
        ((T, "float32"), (T, "int32"), (Z, "complex128")),
        ((T, "float32"), (T, "uint8"), (T, "float16")),
        ((T, "float32"), (T, "bool"), (Z, "bfloat16")),
        ((T, "float16"), (T, "float16"), (Z, "float64")),
        ((T, "int64"), (T, "int32"), (T, "int8")),
        ((T, "float64"), (T, "float32"), (T, "float32")),
    ],
    ids=str,
)
@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("value", [1, 0.5])
def test_addcmul_addcdiv_promote_all_three(op, x, t1, t2, value):
    def call(lib):
        args = (_operand(lib, x), _operand(lib, t1), _operand(lib, t2))
        return getattr(lib, op)(*args, value=value)

    _check(lambda: call(torch), lambda: call(cr))


@pytest.mark.parametrize("dt", ["bool", "uint8", "int8", "int64"])
def test_logsumexp_of_integers_is_computed_in_the_default_float(dt):
    _check(lambda: torch.logsumexp(_tensor(torch, dt), 0), lambda: cr.logsumexp(_tensor(cr, dt), 0))


@pytest.mark.parametrize("value", [3, 2.5, True, 1j, -7])
@pytest.mark.parametrize("dtype", [None, "int32", "float64", "int64", "float32"])
def test_full_with_a_0d_tensor_value_takes_its_kind(value, dtype):
    kw = {} if dtype is None else {"dtype": dtype}
    _check(
        lambda: torch.full(
            (2,), torch.tensor(value), **{k: getattr(torch, v) for k, v in kw.items()}
        ),
        lambda: cr.full((2,), cr.tensor(value), **{k: getattr(cr, v) for k, v in kw.items()}),
    )


@pytest.mark.parametrize("args", [(True, 5), (0, 5, True), (False, 3, 1)], ids=str)
def test_arange_takes_bools_as_ints(args):
    _check(lambda: torch.arange(*args), lambda: cr.arange(*args))


# ------------------------------------------------------- in-place forms: castable results
INPLACE = [
    ("add_", "int64", (N, 2.5)),
    ("add_", "int32", (T, "float32")),
    ("mul_", "float32", (T, "float64")),
    ("mul_", "float16", (Z, "float64")),
    ("sub_", "int64", (N, 1j)),
    ("div_", "int64", (N, 2)),
    ("floor_divide_", "int64", (N, 2.0)),
    ("pow_", "bool", (N, True)),
    ("pow_", "uint8", (N, -1)),
    ("sub_", "float32", (N, True)),
    ("add_", "bool", (N, 1)),
    ("add_", "float32", (Z, "complex64")),
    ("bitwise_and_", "int8", (T, "int64")),
    ("remainder_", "int16", (N, 3)),
    ("atan2_", "int64", (T, "float32")),
    ("copysign_", "int32", (N, -1)),
]


@pytest.mark.parametrize(("method", "x_dt", "other"), INPLACE, ids=str)
def test_inplace_result_must_cast_to_self(method, x_dt, other):
    _check(
        lambda: getattr(_tensor(torch, x_dt), method)(_operand(torch, other)),
        lambda: getattr(_tensor(cr, x_dt), method)(_operand(cr, other)),
    )


@pytest.mark.parametrize(
    ("x_dt", "other"),
    [("int64", (N, 2.5)), ("float32", (T, "float64")), ("int32", (T, "int64")), ("bool", (N, 2))],
    ids=str,
)
@pytest.mark.parametrize("op", ["add", "mul", "sub"])
def test_out_argument_takes_a_castable_result(op, x_dt, other):
    def call(lib):
        x = _tensor(lib, x_dt)
        out = lib.empty_like(x)
        r = getattr(lib, op)(x, _operand(lib, other), out=out)
        assert r is out
        return out

    _check(lambda: call(torch), lambda: call(cr))


# ------------------------------------------------------------- a sample of what agrees
SWEEP_OPS = [
    "+",
    "-",
    "*",
    "/",
    "//",
    "%",
    "**",
    "&",
    "<",
    "atan2",
    "maximum",
    "fmin",
    "eq",
    "logical_xor",
    "bitwise_or",
    "hypot",
    "nextafter",
    "xlogy",
    "div_trunc",
    "div_floor",
    "remainder",
    "fmod",
    "copysign",
]
SWEEP_NUMBERS = (True, 3, -2, 2.5, 1.5 - 2j, np.float64(2.5), np.float32(2.5), np.int32(2))


def _sweep_cases():
    """Each op against a rotating sample of operand pairs: every dtype meets every other as a
    tensor with dimensions, as a 0-d tensor, and as a number, spread over the ops."""
    kinds = [(k, dt) for dt in DTYPES for k in (T, Z)]
    numbers = [(N, v) for v in SWEEP_NUMBERS]
    pairs = [(a, b) for a in kinds for b in kinds + numbers]
    pairs += [(b, a) for a in kinds for b in numbers]
    cases = []
    for i, op in enumerate(SWEEP_OPS):
        cases += [(op, a, b) for a, b in pairs[i :: len(SWEEP_OPS) // 3] if _compared(op, a, b)]
    return cases


def _compared(op, a, b) -> bool:
    """Whether the sweep compares this case: not where chainrule is deliberately more
    lenient (PyTorch's argument parser refusing a number for a Tensor-only op: TypeError),
    nor where PyTorch computes in complex32, a dtype chainrule does not have."""
    ft = _binary(op)[0]
    result, err = _run(lambda: ft(_operand(torch, a), _operand(torch, b)))
    if err is not None:
        return not isinstance(err, TypeError) and "ComplexHalf" not in str(err)
    return result.dtype != torch.complex32


@pytest.mark.parametrize(("op", "a", "b"), _sweep_cases(), ids=str)
def test_promotion_sweep_matches_torch(op, a, b):
    ft, fc = _binary(op)
    _check(
        lambda: ft(_operand(torch, a), _operand(torch, b)),
        lambda: fc(_operand(cr, a), _operand(cr, b)),
    )


@pytest.mark.parametrize("setdt", ["float64", "float16"])
def test_default_dtype_decides_number_promotion(setdt):
    torch.set_default_dtype(getattr(torch, setdt))
    cr.set_default_dtype(getattr(cr, setdt))
    try:
        for dt in DTYPES:
            numbers = (2, 2.5, np.float32(2.5))
            if setdt == "float64" and dt != "float16":  # else complex32, which chainrule lacks
                numbers += (2j,)
            for s in numbers:
                _check(lambda: _tensor(torch, dt) + s, lambda: _tensor(cr, dt) + s)  # noqa: B023
                _check(lambda: _tensor(torch, dt) / s, lambda: _tensor(cr, dt) / s)  # noqa: B023
        for v in ([1, 2.0], 3.5, [True, 2]) + (([1, 2j],) if setdt == "float64" else ()):
            _check(lambda: torch.tensor(v), lambda: cr.tensor(v))  # noqa: B023
        _check(lambda: torch.arange(0, 2.5), lambda: cr.arange(0, 2.5))
        _check(lambda: torch.full((2,), 1.5), lambda: cr.full((2,), 1.5))
    finally:
        torch.set_default_dtype(torch.float32)
        cr.set_default_dtype(cr.float32)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("fn", ["sum", "prod", "cumsum", "mean"])
def test_reduction_default_dtypes(fn, dt):
    def call(lib):
        x = _tensor(lib, dt)
        return getattr(lib, fn)(x, 0) if fn == "cumsum" else getattr(lib, fn)(x)

    _check(lambda: call(torch), lambda: call(cr))


@pytest.mark.parametrize("b_dt", DTYPES[::2])
@pytest.mark.parametrize("a_dt", DTYPES)
def test_cat_stack_where_promote(a_dt, b_dt):
    def call(lib, f):
        a, b = _tensor(lib, a_dt), _tensor(lib, b_dt)
        if f == "where":
            return lib.where(_tensor(lib, "bool"), a, b)
        return getattr(lib, f)([a, b])

    for f in ("cat", "stack", "where"):
        _check(lambda: call(torch, f), lambda: call(cr, f))  # noqa: B023
