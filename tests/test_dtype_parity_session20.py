"""Dtype rules found wrong by a differential sweep against PyTorch (every one-tensor function
and method, and random binary/reduction calls, over bfloat16, float16, unsigned, bool and
complex inputs). The first three were silent wrong answers:

- ``floor``/``ceil``/``round``/``trunc``/``fix`` returned a bfloat16 (and a complex) input
  unchanged, unrounded; an integer input came back as the *same* tensor, so writing into the
  result changed the input. Now bfloat16 rounds, integers give a copy, and bool/complex raise
  PyTorch's NotImplementedError.
- Sums of unsigned integers (``sum``, ``prod``, ``nansum``, ``cumsum``, ``trace``) were uint64
  (NumPy's rule), so ``mask_u8.sum() - 5`` wrapped around to 18446744073709551614; PyTorch
  sums every integer dtype in int64.
- ``complex`` inputs were ordered lexicographically by ``amax``, ``amin``, ``aminmax``,
  ``argmax``, ``argmin``, ``sort``, ``argsort``, ``msort``, ``topk``, ``kthvalue``,
  ``searchsorted`` and ``bucketize``; PyTorch refuses them (complex numbers have no order).

And dtypes: ``square(bool)`` is int64; ``any``/``all`` of uint8 are uint8; ``erfc``, ``i0``,
``cov``, ``corrcoef``, ``copysign`` keep bfloat16 (they gave float32); ``frac``, ``frexp``,
``nanmean``, ``nextafter``, ``hypot``, ``logaddexp``, ``logaddexp2`` accept bfloat16 (they
refused it); ``logaddexp``/``logaddexp2`` promote mixed operands (float32 with int32) as
PyTorch instead of refusing them.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

VALUES = np.array([[-3.75, 2.6, 0.5], [-0.4, 1.5, 2.5]], np.float32)


def _both(fn, dtype, values=VALUES):
    out = []
    for lib in (cr, torch):
        x = lib.tensor(values).to(getattr(lib, dtype))
        out.append(fn(lib, x))
    return out


def _dtype(t):
    return str(t.dtype).split(".")[-1]


def _assert_same(mine, theirs, tol=1e-2):
    assert _dtype(mine) == _dtype(theirs)
    assert tuple(mine.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(
        mine.to(cr.float64).numpy(), theirs.double().numpy(), rtol=tol, atol=tol
    )


@pytest.mark.parametrize("op", ["floor", "ceil", "round", "trunc", "fix"])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32"])
def test_rounding_rounds_every_floating_dtype(op, dtype):
    mine, theirs = _both(lambda lib, x: getattr(lib, op)(x), dtype)
    _assert_same(mine, theirs, tol=0)
    mine, theirs = _both(lambda lib, x: getattr(x, op + "_")(), dtype)
    _assert_same(mine, theirs, tol=0)


@pytest.mark.parametrize("op", ["floor", "ceil", "round", "trunc"])
def test_rounding_an_integer_tensor_gives_a_new_tensor(op):
    x = cr.tensor([1, 2, 3])
    y = getattr(cr, op)(x)
    assert y is not x
    y.add_(1)
    assert x.tolist() == [1, 2, 3]


@pytest.mark.parametrize("op", ["floor", "ceil", "round", "trunc"])
@pytest.mark.parametrize("values", [[True, False], [1 + 2j, -0.5j]], ids=["bool", "complex"])
def test_rounding_bool_and_complex_raise_like_torch(op, values):
    for lib in (cr, torch):
        with pytest.raises(NotImplementedError):
            getattr(lib, op)(lib.tensor(values))


def test_round_decimals_of_an_integer_tensor_raises_like_torch():
    for lib in (cr, torch):
        with pytest.raises(NotImplementedError):
            lib.round(lib.tensor([15, 25]), decimals=1)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "uint64", "int8", "bool"])
@pytest.mark.parametrize("op", ["sum", "prod", "nansum", "cumsum", "cumprod"])
def test_integer_sums_are_int64_like_torch(op, dtype):
    def call(lib, x):
        return getattr(lib, op)(x, 0) if op.startswith("cum") else getattr(lib, op)(x)

    mine, theirs = _both(call, dtype, np.array([1, 2, 3], np.float32))
    assert _dtype(mine) == _dtype(theirs) == "int64"
    assert mine.tolist() == theirs.tolist()


def test_unsigned_sum_minus_a_number_does_not_wrap_around():
    mask = cr.tensor([1, 0, 1], dtype=cr.uint8)
    assert (mask.sum() - 5).item() == -3
    assert cr.trace(cr.eye(3, dtype=cr.uint8)).dtype == cr.int64


@pytest.mark.parametrize("op", ["any", "all"])
@pytest.mark.parametrize("dtype", ["uint8", "int64", "float32", "bool"])
def test_any_all_dtypes_like_torch(op, dtype):
    mine, theirs = _both(lambda lib, x: getattr(lib, op)(x, dim=0), dtype, np.eye(2))
    assert _dtype(mine) == _dtype(theirs)
    assert mine.tolist() == theirs.tolist()


def test_square_of_bool_is_int64():
    mine, theirs = _both(lambda lib, x: lib.square(x), "bool", np.array([1.0, 0.0]))
    assert _dtype(mine) == _dtype(theirs) == "int64"
    assert mine.tolist() == theirs.tolist()


POSITIVE = np.abs(VALUES) + 0.1
BF16_UNARY = [
    ("erfc", lambda lib, x: lib.erfc(x)),
    ("i0", lambda lib, x: lib.i0(x)),
    ("cov", lambda lib, x: lib.cov(x)),
    ("corrcoef", lambda lib, x: lib.corrcoef(x)),
    ("frac", lambda lib, x: lib.frac(x)),
    ("nanmean", lambda lib, x: lib.nanmean(x, dim=1)),
    ("frexp.mantissa", lambda lib, x: lib.frexp(x)[0]),
    ("frexp.exponent", lambda lib, x: lib.frexp(x)[1]),
    ("copysign", lambda lib, x: lib.copysign(x, -x)),
    ("nextafter", lambda lib, x: lib.nextafter(x, x + 1)),
    ("hypot", lambda lib, x: lib.hypot(x, x)),
    ("logaddexp", lambda lib, x: lib.logaddexp(x, x * 2)),
    ("logaddexp2", lambda lib, x: lib.logaddexp2(x, x * 2)),
    ("ldexp", lambda lib, x: lib.ldexp(x, lib.tensor([1, -2, 3]))),
]


@pytest.mark.parametrize("fn", [f for _, f in BF16_UNARY], ids=[n for n, _ in BF16_UNARY])
def test_bfloat16_stays_bfloat16(fn):
    mine, theirs = _both(fn, "bfloat16", POSITIVE)
    _assert_same(mine, theirs)


@pytest.mark.parametrize("op", ["logaddexp", "logaddexp2"])
@pytest.mark.parametrize(
    ("a", "b"),
    [("float32", "int32"), ("bool", "float64"), ("bfloat16", "int16"), ("bfloat16", "float16")],
)
def test_logaddexp_promotes_mixed_operands(op, a, b):
    out = []
    for lib in (cr, torch):
        x = lib.tensor([1.5, -2.0]).to(getattr(lib, a))
        y = lib.tensor([0.5, 3.0]).to(getattr(lib, b))
        out.append(getattr(lib, op)(x, y))
    _assert_same(*out)


@pytest.mark.parametrize("op", ["logaddexp", "logaddexp2"])
def test_logaddexp_of_integers_raises_like_torch(op):
    for lib in (cr, torch):
        with pytest.raises(NotImplementedError):
            getattr(lib, op)(lib.tensor([1, 2]), lib.tensor([3, 4]))


ORDERING = [
    "amax(x)",
    "amin(x)",
    "aminmax(x)",
    "argmax(x)",
    "argmin(x)",
    "sort(x)",
    "argsort(x)",
    "msort(x)",
    "topk(x, 1)",
    "topk(x, 1, largest=False)",
    "kthvalue(x, 1)",
    "searchsorted(x, x)",
    "bucketize(x, y)",
]


@pytest.mark.parametrize("call", ORDERING)
def test_ordering_complex_numbers_raises_like_torch(call):
    errors = []
    for lib in (torch, cr):
        x = lib.tensor([1 + 2j, -1 - 1j, 0.5 + 0j])
        y = lib.tensor([0.5 + 1j, 2 + 0j, -1 + 1j])
        with pytest.raises((RuntimeError, NotImplementedError)) as info:
            eval("lib." + call, {"lib": lib, "x": x, "y": y})
        errors.append(type(info.value))
    assert issubclass(errors[1], errors[0])


# ----------------------------------------------------------------- in-place and out= casts
# Found by a sweep of in-place ops over dtype pairs: ``bool.copy_(anything)`` failed (its
# zero-gradient link ``t * 0`` made the result int64); NumPy's 'same_kind' rule refused
# what PyTorch's canCast allows (an int64 result written into uint8, in place or through
# ``out=``); ``x **= y`` rebound ``x`` to a new tensor (no ``__ipow__``), so another name of
# the same tensor did not see the change; ``lerp`` refused bfloat16.


@pytest.mark.parametrize("src", ["bool", "float32", "int64", "uint8"])
def test_copy_into_a_bool_tensor(src):
    out = []
    for lib in (cr, torch):
        x = lib.tensor([True, False, True])
        x.copy_(lib.tensor([0.0, 2.0, 1.0]).to(getattr(lib, src)))
        out.append(x.tolist())
    assert out[0] == out[1] == [False, True, True]


@pytest.mark.parametrize(
    "op", ["add_", "sub_", "mul_", "remainder_", "floor_divide_", "bitwise_and_", "__ior__"]
)
@pytest.mark.parametrize("other", ["int64", "int32"])
def test_wider_integer_results_write_into_uint8_like_torch(op, other):
    out = []
    for lib in (cr, torch):
        x = lib.tensor([3, 2, 5], dtype=lib.uint8)
        getattr(x, op)(lib.tensor([2, 1, 3]).to(getattr(lib, other)))
        out.append((str(x.dtype).split(".")[-1], x.tolist()))
    assert out[0] == out[1]


def test_float_results_still_refused_in_integer_tensors():
    for lib in (cr, torch):
        with pytest.raises(RuntimeError, match="can't be cast"):
            lib.tensor([1, 2]).add_(1.5)
        with pytest.raises(RuntimeError, match="can't be cast"):
            lib.add(lib.tensor([1.5]), 1, out=lib.tensor([1]))


def test_out_takes_an_int64_result_into_uint8():
    out = []
    for lib in (cr, torch):
        x = lib.tensor([1, 2], dtype=lib.uint8)
        lib.maximum(x, lib.tensor([3, 0]), out=x)
        out.append((str(x.dtype).split(".")[-1], x.tolist()))
    assert out[0] == out[1] == ("uint8", [3, 2])


def test_power_assignment_is_in_place():
    for lib in (cr, torch):
        x = lib.tensor([3.0, 2.0])
        alias = x
        x **= 2
        assert x is alias and alias.tolist() == [9.0, 4.0]
        x.__ipow__(lib.tensor([0.5, 1.0]))
        assert alias.tolist() == [3.0, 4.0]


def test_lerp_of_bfloat16():
    out = []
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0]).to(lib.bfloat16)
        y = lib.lerp(x, x * 2, lib.tensor([0.2, 0.9]).to(lib.bfloat16))
        x.lerp_(lib.tensor([3.0, 4.0]).to(lib.bfloat16), 0.3)
        out.append((y, x))
    for mine, theirs in zip(*out):
        _assert_same(mine, theirs)


@pytest.mark.parametrize("other", [None, "a", Ellipsis, [1, 2], (1,), object()])
def test_equality_with_a_non_number_is_python_false_like_torch(other):
    """``t == None`` (``if mask == None:`` in user code) is False and ``t != None`` True, as
    PyTorch answers; chainrule tried to make a tensor of ``other`` and raised TypeError."""
    for lib in (cr, torch):
        t = lib.tensor([1, 2])
        assert (t == other) is False
        assert (t != other) is True


def test_equality_with_numbers_and_arrays_stays_elementwise():
    for other in (2, 2.0, np.int64(2), np.array([1, 2]), True):
        mine = (cr.tensor([1, 2]) == other).tolist()
        theirs = (torch.tensor([1, 2]) == other).tolist()
        assert mine == theirs


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.zeros(2, dtype=float),
        lambda lib: lib.tensor([1, 2]).to(float),
        lambda lib: lib.ones(2, dtype=complex),
        lambda lib: lib.tensor([1, 2], dtype=int),
    ],
    ids=["zeros_float", "to_float", "ones_complex", "tensor_int"],
)
def test_python_types_as_dtypes_are_torchs(make):
    """Python's ``float`` is float64 (``torch.double``) whatever the default dtype; it was
    chainrule's default float32, so ``x.to(float)`` silently lost precision."""
    assert _dtype(make(cr)) == _dtype(make(torch))


def test_assigning_requires_grad_follows_torchs_rules():
    """``y.requires_grad = False`` on a graph output used to cut it silently (a later
    ``(y * 3).sum() + x.sum()`` gave x the wrong gradient); PyTorch refuses it, and refuses
    ``requires_grad = True`` on an integer tensor. Leaves can still be toggled."""
    for lib in (cr, torch):
        x = lib.ones(2, requires_grad=True)
        y = x * 2
        for value in (False, True):
            with pytest.raises(RuntimeError, match="leaf variables"):
                y.requires_grad = value
        y.requires_grad_(True)  # the method allows True on a graph output
        with pytest.raises(RuntimeError, match="floating point"):
            lib.tensor([1, 2]).requires_grad = True
        x.requires_grad = False
        assert not x.requires_grad
        x.requires_grad = True
        ((x * 2 * 3).sum() + x.sum()).backward()
        assert x.grad.tolist() == [7.0, 7.0]
        p = lib.nn.Parameter(lib.ones(2))
        p.requires_grad = False
        assert not p.requires_grad
