"""Gradients at the kinks of piecewise-linear activations, and masked-out inf/NaN gradients,
against PyTorch.

PyTorch's rules decide ties: ``clamp`` passes the gradient at its bounds, ``hardtanh``,
``relu6`` and ``hardsigmoid`` do not; ``relu`` gives 0 at 0. Where a rule masks the gradient
out, an incoming inf or NaN gives 0 (PyTorch uses ``where``), so ``sqrt(clamp(x, min=0))``
has a finite gradient for ``x < 0``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

KINKS = [-3.0, 3.0, -2.0, -1.0, 0.0, 1.0, 2.5, 6.0, 7.0]


def _activations(lib):
    F = lib.nn.functional
    return {
        "hardtanh": F.hardtanh,
        "hardtanh_wide": lambda x: F.hardtanh(x, -2.0, 6.0),
        "relu6": F.relu6,
        "hardsigmoid": F.hardsigmoid,
        "hardswish": F.hardswish,
        "softshrink": lambda x: F.softshrink(x, 1.0),
        "hardshrink": lambda x: F.hardshrink(x, 1.0),
        "threshold": lambda x: F.threshold(x, 1.0, 0.5),
        "relu": F.relu,
        "clamp": lambda x: lib.clamp(x, -1.0, 6.0),
        "clamp_tensor": lambda x: lib.clamp(x, lib.tensor(-1.0, dtype=x.dtype), None),
    }


@pytest.mark.parametrize("name", sorted(_activations(torch)))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_at_the_kinks_matches_torch(name: str, dtype: str) -> None:
    grads = []
    for lib in (cr, torch):
        x = lib.tensor(KINKS, dtype=getattr(lib, dtype), requires_grad=True)
        (g,) = lib.autograd.grad(_activations(lib)[name](x).sum(), x)
        grads.append(g.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["relu", "clamp", "clamp_tensor", "hardtanh", "relu6"])
def test_masked_out_inf_and_nan_gradients_give_zero(name: str) -> None:
    upstream = np.array([np.nan, np.inf, -np.inf, 1.0, np.nan, 2.0, np.inf, 3.0, np.nan])
    grads = []
    for lib in (cr, torch):
        x = lib.tensor(KINKS, dtype=lib.float64, requires_grad=True)
        y = _activations(lib)[name](x)
        (g,) = lib.autograd.grad(y, x, lib.tensor(upstream))
        grads.append(g.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


def test_sqrt_of_clamped_negative_values_has_a_finite_gradient() -> None:
    x = cr.tensor([-0.5, 0.25, 4.0], dtype=cr.float64, requires_grad=True)
    cr.sqrt(cr.clamp(x, min=0.0)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0, 0.25])


def test_double_backward_through_masked_gradients() -> None:
    for lib in (cr, torch):
        x = lib.tensor([-1.0, 0.5, 2.0], dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad((lib.clamp(x, -0.5, 1.0) ** 2).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        if lib is cr:
            ours = (g.detach().numpy(), h.numpy())
        else:
            np.testing.assert_allclose(ours[0], g.detach().numpy())
            np.testing.assert_allclose(ours[1], h.numpy())
