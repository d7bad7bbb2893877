"""Memory formats (``cr.channels_last``, ...) against torch: the strides each call gives, the
contiguity answers, Module.to and the conv-weight converters, errors, and gradients."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

SHAPES = [(2, 3, 4, 5), (1, 3, 1, 1), (2, 3, 1, 5)]


def _both(shape: tuple) -> tuple:
    a = np.random.default_rng(0).standard_normal(shape)
    return cr.tensor(a), torch.tensor(a)


def _strides(x: Any) -> tuple:
    """Strides of the dims whose size is not 1 (a size-1 dim's stride is free in both)."""
    return tuple(s for s, n in zip(x.stride(), x.shape) if n != 1)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "call",
    [
        lambda L, x: x.to(memory_format=L.channels_last),
        lambda L, x: x.contiguous(memory_format=L.channels_last),
        lambda L, x: x.to(memory_format=L.channels_last).contiguous(),
        lambda L, x: x.to(memory_format=L.channels_last).clone(),
        lambda L, x: L.clone(
            x.to(memory_format=L.channels_last), memory_format=L.contiguous_format
        ),
        lambda L, x: x.clone(memory_format=L.channels_last),
        lambda L, x: x.to(memory_format=L.channels_last) + 1,
        lambda L, x: L.relu(x.to(memory_format=L.channels_last)),
        lambda L, x: x.to(memory_format=L.channels_last).to(L.float32),
    ],
)
def test_strides_and_contiguity_as_torch(call, shape):
    c, t = _both(shape)
    got, want = call(cr, c), call(torch, t)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert _strides(got) == _strides(want)
    for fmt in ("contiguous_format", "channels_last"):
        assert got.is_contiguous(memory_format=getattr(cr, fmt)) == want.is_contiguous(
            memory_format=getattr(torch, fmt)
        ), fmt


def test_same_tensor_when_already_in_the_format_as_torch():
    for lib in (cr, torch):
        x = lib.zeros(2, 3, 4, 5)
        y = x.to(memory_format=lib.channels_last)
        assert y.to(memory_format=lib.channels_last) is y
        assert x.to(memory_format=lib.contiguous_format) is x
        assert x.contiguous() is x
        assert not lib.zeros(2, 3).is_contiguous(memory_format=lib.channels_last)


def test_five_d_format_and_rank_errors_as_torch():
    c, t = _both((2, 3, 4, 5, 6))
    got = c.to(memory_format=cr.channels_last_3d)
    assert got.stride() == t.to(memory_format=torch.channels_last_3d).stride()
    for lib, x in ((torch, t), (cr, c)):
        with pytest.raises(RuntimeError, match="required rank 4"):
            x.to(memory_format=lib.channels_last)
        with pytest.raises(RuntimeError, match="required rank 4"):
            x[0, 0].contiguous(memory_format=lib.channels_last)


def test_gradient_passes_through_the_relayout():
    a = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    grads = []
    for lib in (cr, torch):
        x = lib.tensor(a, requires_grad=True)
        y = x.to(memory_format=lib.channels_last)
        (y * y).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1])


def test_module_to_and_conv_weight_converters_as_torch():
    results = []
    for lib in (torch, cr):
        lib.manual_seed(0)
        m = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3), lib.nn.ConvTranspose2d(4, 2, 3))
        lib.nn.utils.convert_conv2d_weight_memory_format(m, lib.channels_last)
        conv = [p.stride() for p in m.parameters()]
        n = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3), lib.nn.Linear(2, 2))
        n = n.to(lib.float32, memory_format=lib.channels_last)
        results.append((conv, [p.stride() for p in n.parameters()]))
        with pytest.raises(RuntimeError, match="required rank 4"):
            lib.nn.Conv3d(2, 2, 1).to(memory_format=lib.channels_last)
    assert results[0] == results[1]


def test_non_blocking_and_copy_flags_by_position_as_torch():
    for lib in (cr, torch):
        x = lib.zeros(2, dtype=lib.float32)
        assert x.to(lib.float64, True).dtype == lib.float64
        assert x.to(lib.float32, False) is x
        assert x.to(lib.float32, False, True) is not x


def test_formats_print_and_pickle_as_singletons():
    assert repr(cr.channels_last) == "torch.channels_last"
    assert pickle.loads(pickle.dumps(cr.channels_last)) is cr.channels_last
    assert isinstance(cr.preserve_format, cr.memory_format)
