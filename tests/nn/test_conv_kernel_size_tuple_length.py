"""A Conv1d given a 2-d ``kernel_size`` (Graph WaveNet's ``nn.Conv1d(c, c, kernel_size=(1, 2),
dilation=d)``) builds as in PyTorch, with PyTorch's 4-d weight and repr, and its forward
refuses a 3-d input with a RuntimeError, as PyTorch's; construction raised an IndexError."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr


def test_conv1d_with_a_2d_kernel_builds_and_refuses_in_forward_as_torch():
    mods = [lib.nn.Conv1d(4, 4, kernel_size=(1, 2), dilation=2) for lib in (torch, cr)]
    assert repr(mods[0]) == repr(mods[1])
    assert tuple(mods[0].weight.shape) == tuple(mods[1].weight.shape) == (4, 4, 1, 2)
    for lib, m in zip((torch, cr), mods):
        with pytest.raises(RuntimeError):
            m(lib.ones(1, 4, 8))


@pytest.mark.parametrize("padding", ["same", "valid", 1, (2,)])
def test_padding_specs_unchanged_for_matching_lengths(padding):
    x = torch.randn(2, 3, 9)
    t = torch.nn.Conv1d(3, 5, 3, padding=padding, padding_mode="reflect")
    c = cr.nn.Conv1d(3, 5, 3, padding=padding, padding_mode="reflect")
    c.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    assert c._reversed_padding_repeated_twice == t._reversed_padding_repeated_twice  # type too
    got = c(cr.tensor(x.numpy())).detach().numpy()
    assert got.shape == tuple(t(x).shape)
