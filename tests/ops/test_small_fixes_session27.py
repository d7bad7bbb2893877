"""Cases session 26's audits left open, fixed in session 27, each compared with torch 2.13:
``lerp`` of integer (or bool) tensors with a 0-d floating weight computes in the weight's
dtype; ``ldexp`` of complex operands; ``cross_entropy`` of a (0, 0) input with index
targets gives NaN (it raised NumPy's zero-size reduction error)."""

from __future__ import annotations

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
