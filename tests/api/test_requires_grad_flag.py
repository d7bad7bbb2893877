"""``requires_grad`` must be a Python bool wherever a tensor is made, as PyTorch's argument
parser requires: ``1`` or ``np.True_`` is a TypeError naming the function, in both frameworks
(chainrule used to take any truthy value). ``None`` is False for the factories, whose flag is
optional in torch, and a TypeError for ``tensor``, ``new_tensor`` and ``Parameter``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

FACTORIES = {
    "tensor": lambda m, rg: m.tensor([1.0], requires_grad=rg),
    "zeros": lambda m, rg: m.zeros(2, requires_grad=rg),
    "ones": lambda m, rg: m.ones(2, requires_grad=rg),
    "empty": lambda m, rg: m.empty(2, requires_grad=rg),
    "full": lambda m, rg: m.full((2,), 1.0, requires_grad=rg),
    "arange": lambda m, rg: m.arange(2.0, requires_grad=rg),
    "linspace": lambda m, rg: m.linspace(0, 1, 3, requires_grad=rg),
    "eye": lambda m, rg: m.eye(2, requires_grad=rg),
    "randn": lambda m, rg: m.randn(2, requires_grad=rg),
    "zeros_like": lambda m, rg: m.zeros_like(m.ones(2), requires_grad=rg),
    "rand_like": lambda m, rg: m.rand_like(m.ones(2), requires_grad=rg),
    "new_zeros": lambda m, rg: m.ones(2).new_zeros(2, requires_grad=rg),
    "new_tensor": lambda m, rg: m.ones(2).new_tensor([1.0], requires_grad=rg),
    "hann_window": lambda m, rg: m.hann_window(3, requires_grad=rg),
    "Parameter": lambda m, rg: m.nn.Parameter(m.zeros(2), requires_grad=rg),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("flag", [1, np.True_], ids=["int", "numpy_bool"])
def test_non_bool_requires_grad_is_a_type_error(name, flag) -> None:
    make = FACTORIES[name]
    with pytest.raises(TypeError):
        make(torch, flag)
    label = "int" if type(flag) is int else "numpy.bool"
    with pytest.raises(
        TypeError, match=rf"{name}\(\): argument 'requires_grad' must be bool, not {label}"
    ):
        make(cr, flag)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_bool_requires_grad_still_works(name) -> None:
    assert FACTORIES[name](cr, True).requires_grad
    assert not FACTORIES[name](cr, False).requires_grad


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_none_requires_grad_as_torch(name) -> None:
    make = FACTORIES[name]
    if name in ("tensor", "new_tensor", "Parameter"):
        with pytest.raises(TypeError):
            make(torch, None)
        with pytest.raises(TypeError, match="argument 'requires_grad' must be bool, not NoneType"):
            make(cr, None)
    else:
        assert make(torch, None).requires_grad is False
        assert make(cr, None).requires_grad is False
