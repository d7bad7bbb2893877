"""Small ``torch.utils`` / ``torch.autograd.graph`` / ``torch.profiler`` names against torch:
``utils.hooks`` (RemovableHandle, unserializable_hook, warn_if_has_hooks), the checkpoint
module's ``CheckpointFunction`` and device states, and the compile-only memory budget."""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.utils.checkpoint
import torch.utils.hooks

import chainrule as cr
import chainrule.utils.checkpoint
import chainrule.utils.hooks


def _handle_story(hooks_mod):
    hooks, extra = OrderedDict(), OrderedDict()
    h1 = hooks_mod.RemovableHandle(hooks, extra_dict=extra)
    h2 = hooks_mod.RemovableHandle(hooks)
    hooks[h1.id], extra[h1.id], hooks[h2.id] = "a", "options", "b"
    story = [h2.id - h1.id, list(hooks.values()), list(extra.values())]
    h1.remove()
    story += [list(hooks.values()), list(extra.values())]
    with hooks_mod.RemovableHandle(hooks) as h3:
        hooks[h3.id] = "c"
        story.append(list(hooks.values()))
    story.append(list(hooks.values()))
    h1.remove()  # twice: nothing left to remove
    with pytest.raises(TypeError):
        hooks_mod.RemovableHandle({})  # a plain dict cannot be referenced weakly
    return story


def test_removable_handle_matches_torch():
    assert _handle_story(cr.utils.hooks) == _handle_story(torch.utils.hooks)


def test_module_hooks_share_the_handle_ids():
    m = cr.nn.Linear(2, 2)
    a = m.register_forward_hook(lambda *args: None)
    b = m.register_forward_pre_hook(lambda *args: None)
    assert isinstance(a, cr.utils.hooks.RemovableHandle) and b.id == a.id + 1
    assert list(m._forward_hooks) == [a.id]
    a.remove()
    assert not m._forward_hooks


def _warnings(lib, hook, leaf):
    x = lib.ones(2, requires_grad=True)
    t = x if leaf else x * 2
    t.register_hook(hook)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lib.utils.hooks.warn_if_has_hooks(t)
    return [str(w.message).split(" on tensor")[1] for w in caught]


@pytest.mark.parametrize("leaf", [True, False])
def test_warn_if_has_hooks_matches_torch(leaf):
    def plain(g):
        return g

    for lib in (torch, cr):
        marked = lib.utils.hooks.unserializable_hook(lambda g: g)
        assert marked.__torch_unserializable__ is True
        assert _warnings(lib, marked, leaf) == []
    expected = _warnings(torch, plain, leaf)
    assert expected and _warnings(cr, plain, leaf) == expected


def test_checkpoint_function_and_device_states():
    grads = []
    for lib in (torch, cr):
        x = lib.tensor([0.5, 1.0, 2.0], dtype=lib.float64, requires_grad=True)
        out = lib.utils.checkpoint.CheckpointFunction.apply(lambda t: t.sin() * t, True, x)
        out.sum().backward()
        grads.append(x.grad.numpy())
        assert lib.utils.checkpoint.get_device_states(lib.ones(2), 3) == ([], [])
        lib.utils.checkpoint.set_device_states([], [])
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)
    with pytest.raises(NotImplementedError, match="per-device random states"):
        cr.utils.checkpoint.set_device_states([0], [object()])


def test_region_activation_memory_budget_raises_in_eager_mode_as_torch():
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="can only be used inside a torch.compile region"):
            with lib.autograd.graph.region_activation_memory_budget(0.5):
                pass


def test_profiler_build_queries():
    assert cr.profiler.kineto_available() is False  # torch: True (its Kineto library)
    assert cr.profiler.is_fbcode() is torch.profiler.is_fbcode() is False
