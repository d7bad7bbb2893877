"""Parameter subclasses written the ways public code writes them, built as PyTorch builds
them: ``Parameter.__new__`` makes the parameter, so a subclass's own ``__new__`` can call
``super().__new__(cls, data, requires_grad)`` and its ``__init__`` take other arguments
without calling ``Parameter.__init__`` (bitsandbytes-, quantization- and tagging-style
parameters)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

import chainrule as cr


def _subclasses(lib):
    nn = lib.nn

    class Tagged(nn.Parameter):
        def __new__(cls, data, tag=None, requires_grad=True):
            self = super().__new__(cls, data, requires_grad)
            self.tag = tag
            return self

        def __init__(self, data, tag=None, requires_grad=True):  # no super().__init__
            self.seen = True

    class MadeSubclass(nn.Parameter):
        def __new__(cls, data=None, requires_grad=True, quant_state=None):
            if data is None:
                data = lib.empty(0)
            self = lib.Tensor._make_subclass(cls, data, requires_grad)
            self.quant_state = quant_state
            return self

    class Plain(nn.Parameter):
        pass

    class InitOnly(nn.Parameter):
        def __init__(self, data, requires_grad=True):  # PyTorch accepts this without super()
            self.note = "x"

    return Tagged, MadeSubclass, Plain, InitOnly


@pytest.mark.parametrize("which", range(4))
def test_subclass_is_a_registered_trainable_parameter(which):
    results = []
    for lib in (torch, cr):
        cls = _subclasses(lib)[which]
        args = (lib.ones(2), "t") if which == 0 else (lib.ones(2),)
        p = cls(*args)
        m = lib.nn.Linear(2, 2)
        m.extra = p
        (p * 3).sum().backward()
        results.append(
            (
                type(p).__name__,
                isinstance(p, lib.nn.Parameter),
                p.requires_grad,
                "extra" in dict(m.named_parameters()),
                p.grad.numpy().tolist(),
                getattr(p, "tag", None),
                getattr(p, "seen", None),
                getattr(p, "note", None),
            )
        )
    assert results[0] == results[1]


def test_subclass_requires_grad_false_and_data_shared():
    Tagged = _subclasses(cr)[0]
    base = cr.zeros(3)
    p = Tagged(base, "frozen", requires_grad=False)
    assert not p.requires_grad and p.tag == "frozen"
    base[0] = 5.0
    assert p[0].item() == 5.0  # shares memory, as torch's Parameter


class _ModuleLevel(cr.nn.Parameter):  # picklable: found by name
    def __new__(cls, data, tag=None, requires_grad=True):
        self = super().__new__(cls, data, requires_grad)
        self.tag = tag
        return self

    def __init__(self, data, tag=None, requires_grad=True):
        pass


def test_subclass_survives_pickle_and_deepcopy():
    p = _ModuleLevel(cr.arange(3.0), "kept")
    for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(q) is _ModuleLevel and q.requires_grad and q is not p
        np.testing.assert_array_equal(q.detach().numpy(), [0.0, 1.0, 2.0])
    assert pickle.loads(pickle.dumps(p)).tag == "kept"


def test_extra_positional_argument_without_new_is_refused_as_torch():
    class Bad(cr.nn.Parameter):
        def __init__(self, data, tag):
            self.tag = tag

    class TorchBad(torch.nn.Parameter):
        def __init__(self, data, tag):
            self.tag = tag

    with pytest.raises(TypeError):
        TorchBad(torch.ones(2), "t")
    with pytest.raises(TypeError):
        Bad(cr.ones(2), "t")
