"""Keywords PyTorch 2.13 accepts that chainrule refused with TypeError (session 26's audit of
ignored arguments left them): ``pin_memory=`` on every factory (False builds the tensor,
True raises PyTorch's RuntimeError on a machine without an accelerator), and the keyword
names of ``copy_(other=)``, ``repeat(repeats=)``, ``expand(size=)``,
``tensor_split(tensor_indices_or_sections=)`` and ``Module.modules(remove_duplicate=)``.
Each case runs in torch and chainrule and compares the outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

_FACTORIES: dict[str, Callable[[Any], tuple]] = {
    "zeros": lambda m: ((2, 3),),
    "ones": lambda m: ((2, 3),),
    "empty": lambda m: ((2, 3),),
    "full": lambda m: ((2, 3), 1.5),
    "arange": lambda m: (5,),
    "linspace": lambda m: (0.0, 1.0, 5),
    "logspace": lambda m: (0.0, 1.0, 5),
    "eye": lambda m: (3,),
    "rand": lambda m: (2, 3),
    "randn": lambda m: (2, 3),
    "randint": lambda m: (0, 5, (2, 3)),
    "randperm": lambda m: (4,),
    "zeros_like": lambda m: (m.ones(2, 3),),
    "ones_like": lambda m: (m.ones(2, 3),),
    "empty_like": lambda m: (m.ones(2, 3),),
    "full_like": lambda m: (m.ones(2, 3), 2.0),
    "rand_like": lambda m: (m.ones(2, 3),),
    "randn_like": lambda m: (m.ones(2, 3),),
    "randint_like": lambda m: (m.ones(2, 3), 5),
    "tensor": lambda m: ([1.0, 2.0],),
    "empty_strided": lambda m: ((2, 3), (3, 1)),
    "tril_indices": lambda m: (3, 3),
    "triu_indices": lambda m: (3, 3),
    "hann_window": lambda m: (4,),
    "hamming_window": lambda m: (4,),
    "bartlett_window": lambda m: (4,),
    "blackman_window": lambda m: (4,),
    "kaiser_window": lambda m: (4,),
    "scalar_tensor": lambda m: (1.0,),
    "normal": lambda m: (0.0, 1.0, (2, 3)),
}

_RANDOM = {"rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like"}
_RANDOM |= {"normal", "empty", "empty_like", "empty_strided"}


def _call(mod: Any, name: str, pin_memory: bool) -> Any:
    return getattr(mod, name)(*_FACTORIES[name](mod), pin_memory=pin_memory)


@pytest.mark.parametrize("name", sorted(_FACTORIES))
def test_pin_memory_false_builds_the_same_tensor(name: str) -> None:
    expected, got = _call(torch, name, False), _call(cr, name, False)
    assert tuple(got.shape) == tuple(expected.shape)
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    if name not in _RANDOM:  # the float32 windows may differ in the last bit
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(_FACTORIES))
def test_pin_memory_true_raises_without_an_accelerator(name: str) -> None:
    with pytest.raises(RuntimeError, match="pin_memory"):
        _call(torch, name, True)
    with pytest.raises(RuntimeError, match="pin_memory=True"):
        _call(cr, name, True)


def _both(fn: Callable[[Any], Any]) -> tuple[Any, Any]:
    return fn(torch), fn(cr)


def test_copy_takes_its_source_as_other() -> None:
    expected, got = _both(lambda m: m.zeros(2, 3).copy_(other=m.arange(3.0)))
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
    with pytest.raises(TypeError):
        cr.zeros(3).copy_(cr.ones(3), other=cr.ones(3))
    with pytest.raises(TypeError):
        cr.zeros(3).copy_()


def test_repeat_takes_repeats_as_a_keyword() -> None:
    expected, got = _both(lambda m: m.arange(6.0).reshape(2, 3).repeat(repeats=(2, 1, 2)))
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
    with pytest.raises(TypeError):
        cr.ones(2).repeat(2, repeats=(2,))


def test_expand_takes_size_as_a_keyword() -> None:
    expected, got = _both(lambda m: m.arange(3.0).reshape(1, 3).expand(size=(4, -1)))
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
    assert got._base is not None  # a view, not a copy
    with pytest.raises(TypeError):
        cr.ones(1, 3).expand(4, 3, size=(4, 3))


@pytest.mark.parametrize("split", [lambda m: m.tensor([1, 3]), lambda m: m.tensor(3)])
def test_tensor_split_takes_tensor_indices_or_sections(split: Callable[[Any], Any]) -> None:
    expected, got = _both(
        lambda m: (
            m.arange(12.0).reshape(2, 6).tensor_split(tensor_indices_or_sections=split(m), dim=1)
        )
    )
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g.numpy(), e.numpy())
    with pytest.raises(TypeError):
        cr.ones(4).tensor_split(2, tensor_indices_or_sections=cr.tensor(2))


def test_modules_keeps_duplicates_when_asked() -> None:
    def counts(m: Any) -> tuple[int, int]:
        shared = m.nn.ReLU()
        seq = m.nn.Sequential(shared, m.nn.Linear(2, 2), shared)
        return len(list(seq.modules())), len(list(seq.modules(remove_duplicate=False)))

    expected, got = _both(counts)
    assert got == expected == (3, 4)
