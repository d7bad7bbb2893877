"""Gaps found by session 38's drop-in helper b (2023-2025 research code), each pinned against
PyTorch.

celu's derivative: PyTorch's ``derivatives.yaml`` gives ``CeluBackward0`` / ``CeluBackward1``
``elu_backward(grad, alpha, 1, 1.0 / alpha.toFloat(), ...)``: the backward's input scale is
``1 / alpha`` with alpha rounded to float32 first, while the forward uses the exact ``1 /
alpha``. chainrule used the exact one in both, so a float64 gradient (and the forward-mode
tangent, and the second derivative) was off by ~1e-8 relative for an alpha such as 0.7.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

X = np.array([-3.0, -1.3, -0.5, -1e-3, 0.0, 0.4, 2.0])
ALPHAS = [0.7, 1.3, 0.1, 1.0, 2.5]


def _lib(name: str):  # noqa: ANN202 - torch or chainrule
    return torch if name == "torch" else cr


def _celu_grads(lib_name: str, alpha: float, inplace: bool, dtype: str) -> np.ndarray:
    lib = _lib(lib_name)
    x = lib.tensor(X, dtype=getattr(lib, dtype), requires_grad=True)
    w = lib.tensor(np.linspace(0.5, 2.0, X.size), dtype=getattr(lib, dtype))
    if inplace:
        y = x * 1
        lib.nn.functional.celu_(y, alpha)
    else:
        y = lib.nn.functional.celu(x, alpha)
    (g,) = lib.autograd.grad((y * w).sum(), x)
    return g.detach().numpy()


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_celu_backward_uses_float32_rounded_alpha(alpha: float, inplace: bool) -> None:
    want = _celu_grads("torch", alpha, inplace, "float64")
    got = _celu_grads("chainrule", alpha, inplace, "float64")
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_celu_backward_float32(alpha: float, inplace: bool) -> None:
    want = _celu_grads("torch", alpha, inplace, "float32")
    got = _celu_grads("chainrule", alpha, inplace, "float32")
    np.testing.assert_allclose(got, want, rtol=2.5e-7, atol=0)


def test_celu_backward_is_not_the_exact_quotient() -> None:
    """The rounding is PyTorch's, not noise: torch's gradient is ``exp(x / f32(alpha)) *
    alpha / f32(alpha)``, which differs from ``exp(x / alpha)`` at float64 precision."""
    alpha = 0.7
    a32 = float(np.float32(alpha))
    x = X[X < 0]
    got = _celu_grads("chainrule", alpha, False, "float64")[X < 0]
    w = np.linspace(0.5, 2.0, X.size)[X < 0]
    np.testing.assert_allclose(got, w * alpha / a32 * np.exp(x / a32), rtol=1e-14)
    assert np.max(np.abs(got / (w * np.exp(x / alpha)) - 1)) > 1e-9


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("alpha", [0.7, 1.3])
def test_celu_forward_ad_tangent(alpha: float, inplace: bool) -> None:
    def tangent(lib_name: str) -> np.ndarray:
        lib = _lib(lib_name)
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            d = fw.make_dual(lib.tensor(X), lib.tensor(np.linspace(-1.0, 1.0, X.size)))
            if inplace:  # celu_'s tangent: self_t.copy_(elu_backward(..., result))
                y = d * 1
                lib.nn.functional.celu_(y, alpha)
            else:
                y = lib.nn.functional.celu(d, alpha)
            return fw.unpack_dual(y).tangent.numpy()

    np.testing.assert_allclose(tangent("chainrule"), tangent("torch"), rtol=1e-14, atol=0)


@pytest.mark.parametrize("alpha", [0.7, 1.3])
def test_celu_double_backward(alpha: float) -> None:
    def second(lib_name: str) -> np.ndarray:
        lib = _lib(lib_name)
        x = lib.tensor(X, requires_grad=True)
        (g,) = lib.autograd.grad(lib.nn.functional.celu(x, alpha).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x)
        return gg.numpy()

    np.testing.assert_allclose(second("chainrule"), second("torch"), rtol=1e-13, atol=0)


def test_celu_module_in_training_step() -> None:
    """``nn.CELU(alpha)`` in a model: one SGD step gives torch's weights to float64 precision."""

    def step(lib_name: str) -> np.ndarray:
        lib = _lib(lib_name)
        w = lib.tensor(np.linspace(-1.0, 1.0, 12).reshape(3, 4), requires_grad=True)
        x = lib.tensor(np.linspace(-2.0, 1.5, 8).reshape(2, 4))
        loss = lib.nn.CELU(0.3)(x @ w.T).pow(2).sum()
        loss.backward()
        return (w - 0.1 * w.grad).detach().numpy()

    np.testing.assert_allclose(step("chainrule"), step("torch"), rtol=1e-14, atol=1e-15)
