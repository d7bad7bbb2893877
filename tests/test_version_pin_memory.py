"""``cr.version`` and ``Tensor.pin_memory`` as a CPU-only PyTorch build presents them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import cuda


def test_version_module_reads_like_a_cpu_only_torch_build():
    assert torch.version.cuda is None  # the test-only torch is a CPU build
    assert cr.version.cuda is None  # no CuPy GPU here
    for name in ("hip", "rocm", "xpu"):
        assert getattr(cr.version, name) is None is getattr(torch.version, name)
    assert cr.version.debug is False is torch.version.debug
    assert cr.version.__version__ == cr.__version__
    with pytest.raises(AttributeError):
        cr.version.not_a_field  # noqa: B018


def test_pin_memory_without_an_accelerator_raises_as_torch():
    with pytest.raises(RuntimeError) as expected:
        torch.ones(2).pin_memory()
    with pytest.raises(RuntimeError) as got:
        cr.ones(2).pin_memory()
    assert str(got.value) == str(expected.value)


def test_pin_memory_with_an_accelerator_is_an_equal_copy(monkeypatch):
    monkeypatch.setattr(cuda, "is_available", lambda: True)
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.pin_memory()
    assert y is not x and not np.shares_memory(y.detach().numpy(), x.detach().numpy())
    np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())
    assert y.is_pinned() is False  # chainrule has no page-locked allocator (documented)
