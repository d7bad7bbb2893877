"""Gradients at the singular points PyTorch defines (atan2 at the origin, sqrt at 0) and
ragged data given to the Tensor constructor: no NaN, no raw NumPy warning or error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def test_atan2_gradient_at_the_origin_is_zero_like_torch():
    a, b = cr.zeros(2, requires_grad=True), cr.tensor([0.0, 1.0], requires_grad=True)
    ta, tb = torch.zeros(2, requires_grad=True), torch.tensor([0.0, 1.0], requires_grad=True)
    cr.atan2(a, b).sum().backward()
    torch.atan2(ta, tb).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())
    np.testing.assert_array_equal(b.grad.numpy(), tb.grad.numpy())


def test_sqrt_gradient_at_zero_is_inf_without_a_warning():
    x = cr.zeros(2, requires_grad=True)
    x.sqrt().sum().backward()  # filterwarnings=error: a NumPy warning would fail here
    t = torch.zeros(2, requires_grad=True)
    t.sqrt().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_ragged_data_to_the_constructor_is_a_clear_error():
    with pytest.raises(ValueError, match="rectangular"):
        cr.Tensor([[1.0, 2.0], [3.0]])
