"""Cases session 26's audits left open, fixed in session 27, each compared with torch 2.13:
``lerp`` of integer (or bool) tensors with a 0-d floating weight computes in the weight's
dtype; ``ldexp`` of complex operands; ``cross_entropy`` of a (0, 0) input with index
targets gives NaN (it raised NumPy's zero-size reduction error)."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr


def _both(fn: Any) -> tuple[Any, Any]:
    return fn(torch), fn(cr)


def _same(got: Any, expected: Any) -> None:
    assert str(got.dtype) == str(expected.dtype)
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    ("ints", "weight"),
    [
        ("int64", lambda m: m.tensor(0.5, dtype=m.float64)),
        ("int32", lambda m: m.tensor(0.75)),
        ("uint8", lambda m: m.tensor(0.25 + 1j)),
        ("bool", lambda m: m.tensor(0.75)),
    ],
)
def test_lerp_of_integers_with_a_0d_floating_weight(ints: str, weight: Any) -> None:
    def run(m: Any) -> Any:
        dt = getattr(m, ints)
        return m.lerp(m.tensor([1, 0, 3], dtype=dt), m.tensor([3, 1, 0], dtype=dt), weight(m))

    expected, got = _both(run)
    _same(got, expected)


def test_lerp_of_integers_still_refuses_a_number_or_a_non_0d_weight() -> None:
    for weight in (0.5, cr.tensor([0.5, 0.25])):
        with pytest.raises((RuntimeError, NotImplementedError, TypeError)):
            cr.lerp(cr.tensor([1, 2]), cr.tensor([3, 4]), weight)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (lambda m: m.tensor([1 + 1j, -2 + 0.5j]), lambda m: m.tensor([2, -1])),
        (lambda m: m.tensor([1 + 1j]), lambda m: m.tensor([2.0], dtype=m.float64)),
        (lambda m: m.tensor([1.0], dtype=m.float64), lambda m: m.tensor([2 + 1j])),
    ],
)
def test_ldexp_of_complex_operands(a: Any, b: Any) -> None:
    expected, got = _both(lambda m: m.ldexp(a(m), b(m)))
    _same(got, expected)


def test_ldexp_complex_gradient() -> None:
    def grad(m: Any) -> Any:
        x = m.tensor([1 + 1j, 2 - 1j], dtype=m.complex128, requires_grad=True)
        m.ldexp(x, m.tensor([1.0, -2.0], dtype=m.float64)).abs().sum().backward()
        return x.grad

    expected, got = _both(grad)
    _same(got, expected)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_of_a_0x0_input(reduction: str) -> None:
    def run(m: Any) -> Any:
        x = m.zeros(0, 0, requires_grad=True)
        out = m.nn.functional.cross_entropy(x, m.zeros(0, dtype=m.long), reduction=reduction)
        out.sum().backward()
        return out, x.grad

    (expected, expected_grad), (got, got_grad) = _both(run)
    assert tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(got.detach().numpy(), expected.detach().numpy())
    assert tuple(got_grad.shape) == tuple(expected_grad.shape) == (0, 0)


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**64])
def test_tensor_of_an_int_outside_int64_raises(value: int) -> None:
    """``cr.tensor(2**63)`` wrapped silently to -2**63 (NumPy read it as uint64)."""
    with pytest.raises(ValueError, match="Overflow"):
        torch.tensor(value)
    for make in (cr.tensor, cr.as_tensor):
        with pytest.raises(ValueError, match="Overflow"):
            make(value)


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 0, True])
def test_tensor_of_an_int_at_the_int64_limits(value: int) -> None:
    expected, got = torch.tensor(value), cr.tensor(value)
    assert str(got.dtype) == str(expected.dtype)
    assert got.item() == expected.item() == value


_FLOAT_RESULT_OPS = ["div", "true_divide", "atan2", "xlogy", "copysign", "special.xlog1py"]
_INT_VALUES = {
    "uint8": [3, 250, 0, 7],
    "int8": [3, -120, 0, -7],
    "int16": [3, -300, 0, 7],
    "int32": [3, -70000, 0, 7],
}


def _op(mod: Any, name: str) -> Any:
    for part in name.split("."):
        mod = getattr(mod, part)
    return mod


@pytest.mark.parametrize("op", _FLOAT_RESULT_OPS)
@pytest.mark.parametrize("dtype", sorted(_INT_VALUES))
@pytest.mark.parametrize("zero_dim", [("int64", -3), ("int64", 2**40), ("int16", -300)])
@pytest.mark.parametrize("zero_dim_first", [False, True])
def test_float_result_op_reads_a_0d_integer_tensor_unwrapped(
    op: str, dtype: str, zero_dim: tuple, zero_dim_first: bool
) -> None:
    """A 0-d integer tensor beside an integer tensor of a narrower dtype was cast into that
    dtype before the float computation: ``uint8_t / tensor(-3)`` divided by 253."""

    def run(m: Any) -> Any:
        t = m.tensor(_INT_VALUES[dtype], dtype=getattr(m, dtype))
        z = m.tensor(zero_dim[1], dtype=getattr(m, zero_dim[0]))
        return _op(m, op)(*((z, t) if zero_dim_first else (t, z)))

    expected, got = _both(run)
    assert str(got.dtype) == str(expected.dtype)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6, equal_nan=True)


def test_incomplete_gamma_still_refuses_integer_tensors() -> None:
    with pytest.raises(NotImplementedError):
        torch.special.gammainc(torch.tensor([3], dtype=torch.uint8), torch.tensor(-3))
    with pytest.raises(NotImplementedError):
        cr.special.gammainc(cr.tensor([3], dtype=cr.uint8), cr.tensor(-3))


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.tensor(2.5),
        lambda m: m.tensor(-3),
        lambda m: m.tensor(True),
        lambda m: m.nn.Parameter(m.tensor(1.5)),
        lambda m: m.tensor(1 + 2j),
    ],
)
def test_pickle_keeps_a_0d_tensor_0d(make: Any) -> None:
    """``pickle`` made a 0-d tensor 1-d (NumPy's ascontiguousarray of a 0-d array)."""
    expected, got = (pickle.loads(pickle.dumps(make(m))) for m in (torch, cr))
    assert tuple(got.shape) == tuple(expected.shape) == ()
    assert type(got).__name__ == type(expected).__name__
    assert got.item() == expected.item()
    assert tuple(copy.deepcopy(make(cr)).shape) == ()


@pytest.mark.parametrize(
    ("make", "element"),
    [
        (lambda m: m.tensor(2.5), 2.5),
        (lambda m: m.tensor(2.5), 0),
        (lambda m: m.tensor(-3), -3),
        (lambda m: m.tensor(True), False),
        (lambda m: m.arange(6).reshape(2, 3), 4),
        (lambda m: m.arange(6).reshape(2, 3), 7),
        (lambda m: m.arange(6).reshape(2, 3), lambda m: m.tensor([[0]])),
        (lambda m: m.arange(6).reshape(2, 3), lambda m: m.tensor([1, 2, 3])),
    ],
)
def test_contains_as_torch(make: Any, element: Any) -> None:
    """``x in t``: torch's ``(x == t).any()``; a 0-d tensor raised TypeError (not iterable)."""
    expected, got = ((element(m) if callable(element) else element) in make(m) for m in (torch, cr))
    assert got == expected


def test_contains_refuses_other_objects() -> None:
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar"):
        torch.tensor([1.0]).__contains__("a")
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar"):
        cr.tensor([1.0]).__contains__("a")


def test_negating_a_bool_tensor_raises_runtime_error() -> None:
    for m in (torch, cr):
        with pytest.raises(RuntimeError, match="bool"):
            -m.tensor([True, False])
