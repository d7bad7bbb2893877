"""Gaps found by the session-23 (batch a) drop-in programs (``sam_optimizer``, ``deepfm_ctr``,
``td3_twin_critic``, ``detr_hungarian_giou``, ``raft_corr_warp``) and by probing the APIs next
to their idioms, each checked against PyTorch.

- ``copy.deepcopy`` of a ``Parameter`` copied its ``.grad`` and the attributes set on it.
  PyTorch's Parameter copy keeps only the data (a copy) and ``requires_grad``: a model deep
  copied after ``backward()`` (TD3's and DQN's ``copy.deepcopy(self.actor)`` target networks,
  a MAML learner, ``best = copy.deepcopy(model)``) starts with ``grad is None``, so a later
  ``backward()`` on the copy does not add onto the original's stale gradients. A plain
  tensor's deep copy still carries its ``grad`` and attributes, as in PyTorch.
- ``torch.nn.modules.batchnorm._NormBase`` (and ``_LazyNormBase``, and both under
  ``nn.modules.instancenorm``) were missing: code that finds every batch/instance norm layer
  with ``isinstance(m, nn.modules.batchnorm._NormBase)`` (SAM's running-stats switches, BN
  freezing helpers) raised AttributeError.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

FRAMEWORKS = [chainrule, torch]


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_deepcopy_of_a_parameter_drops_grad_and_attributes(m: Any) -> None:
    p = m.nn.Parameter(m.tensor([1.0, 2.0]))
    (p * 3).sum().backward()
    p.tag = "weight"
    q = copy.deepcopy(p)
    assert type(q) is m.nn.Parameter and q.requires_grad and q.is_leaf
    assert q.grad is None and not hasattr(q, "tag")
    assert q.data_ptr() != p.data_ptr() and q.tolist() == [1.0, 2.0]
    frozen = copy.deepcopy(m.nn.Parameter(m.ones(2), requires_grad=False))
    assert not frozen.requires_grad
    # a plain leaf keeps both, in both frameworks
    t = m.ones(2, requires_grad=True)
    (t * 2).sum().backward()
    t.tag = "input"
    u = copy.deepcopy(t)
    assert u.grad.tolist() == [2.0, 2.0] and u.tag == "input"


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_deepcopy_of_a_module_after_backward_has_no_grads(m: Any) -> None:
    m.manual_seed(0)
    net = m.nn.Sequential(m.nn.Linear(2, 3), m.nn.Tanh(), m.nn.Linear(3, 1))
    x = m.tensor(np.array([[0.5, -1.0], [2.0, 0.25]]), dtype=m.float32)
    net(x).sum().backward()
    target = copy.deepcopy(net)
    assert all(p.grad is None for p in target.parameters())
    # shared parameters stay shared in the copy
    pair = copy.deepcopy([net[0].weight, net[0].weight])
    assert pair[0] is pair[1]
    # gradients of the copy are its own, not added onto the original's
    target(x).sum().backward()
    for p, q in zip(net.parameters(), target.parameters(), strict=True):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-6)


def test_deepcopy_of_lazy_and_uninitialized_parameters() -> None:
    for m in FRAMEWORKS:
        u = copy.deepcopy(m.nn.parameter.UninitializedParameter())
        assert type(u).__name__ == "UninitializedParameter"
        lazy = copy.deepcopy(m.nn.LazyLinear(3))
        assert tuple(lazy(m.ones(2, 4)).shape) == (2, 3)


def test_norm_base_classes_under_nn_modules() -> None:
    def kinds(m: Any) -> list:
        layers = [
            m.nn.BatchNorm1d(2),
            m.nn.BatchNorm2d(2),
            m.nn.SyncBatchNorm(2),
            m.nn.InstanceNorm1d(2),
            m.nn.LazyBatchNorm1d(),
            m.nn.LazyInstanceNorm2d(),
            m.nn.LayerNorm(2),
            m.nn.GroupNorm(1, 2),
        ]
        bn, inorm = m.nn.modules.batchnorm, m.nn.modules.instancenorm
        return [
            [isinstance(layer, bn._NormBase) for layer in layers],
            [isinstance(layer, bn._LazyNormBase) for layer in layers],
            [isinstance(layer, inorm._NormBase) for layer in layers],
            [isinstance(layer, inorm._LazyNormBase) for layer in layers],
        ]

    assert kinds(chainrule) == kinds(torch)
