"""``chainrule.nn.modules.*`` and ``chainrule.nn.parameter`` mirror PyTorch's import paths."""

from __future__ import annotations

import importlib

import pytest
import torch  # noqa: F401  (torch.nn.modules.* are imported below by name)

import chainrule as cr

SUBMODULES = [
    "activation",
    "adaptive",
    "batchnorm",
    "channelshuffle",
    "container",
    "conv",
    "distance",
    "dropout",
    "flatten",
    "fold",
    "instancenorm",
    "lazy",
    "linear",
    "loss",
    "module",
    "normalization",
    "padding",
    "pixelshuffle",
    "pooling",
    "rnn",
    "sparse",
    "transformer",
    "upsampling",
]


@pytest.mark.parametrize("name", SUBMODULES)
def test_each_reexport_is_the_layer_and_lives_in_the_same_torch_file(name):
    ours = importlib.import_module(f"chainrule.nn.modules.{name}")
    theirs = importlib.import_module(f"torch.nn.modules.{name}")
    public = [n for n in ours.__all__ if not n.startswith("_")]
    assert public
    for n in public:
        assert getattr(ours, n) is getattr(cr.nn, n), n
        assert hasattr(theirs, n), f"torch.nn.modules.{name} has no {n}"


def test_private_bases_and_utils():
    from chainrule.nn.modules.batchnorm import _BatchNorm
    from chainrule.nn.modules.conv import _ConvNd
    from chainrule.nn.modules.loss import _Loss
    from chainrule.nn.modules.utils import _pair, _single, _triple

    assert isinstance(cr.nn.BatchNorm2d(2), _BatchNorm)
    assert isinstance(cr.nn.Conv1d(1, 1, 1), _ConvNd)
    assert isinstance(cr.nn.MSELoss(), _Loss)
    assert _pair(3) == (3, 3) and _single([2]) == (2,) and _triple((1, 2, 3)) == (1, 2, 3)


def test_package_level_names_and_parameter_module():
    from chainrule.nn.parameter import Buffer, Parameter

    assert cr.nn.modules.Linear is cr.nn.Linear and cr.nn.modules.Module is cr.nn.Module
    assert Parameter is cr.nn.Parameter and Buffer is cr.nn.Buffer
