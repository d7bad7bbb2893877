"""A module's hook stores are PyTorch's OrderedDicts keyed by handle id, so code written
against them (``module._forward_pre_hooks.values()``, deleting by key, ``handle.id``, a handle
as a context manager) runs unchanged."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize("lib", [torch, cr], ids=["torch", "chainrule"])
def test_hook_stores_are_ordered_dicts_keyed_by_handle_id(lib):
    m = lib.nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append("pre1"))
    h2 = m.register_forward_pre_hook(lambda mod, args: calls.append("pre0"), prepend=True)
    h3 = m.register_forward_hook(lambda mod, args, out: calls.append("post"))
    for store in ("_forward_pre_hooks", "_forward_hooks", "_backward_hooks"):
        assert isinstance(getattr(m, store), OrderedDict), store
    assert list(m._forward_pre_hooks) == [h2.id, h1.id]
    assert h3.id in m._forward_hooks
    m(lib.ones(1, 2))
    assert calls == ["pre0", "pre1", "post"]
    del m._forward_pre_hooks[h2.id]  # removing by key, as torch's remove_weight_norm does
    h1.remove()
    h1.remove()  # twice is harmless
    with m.register_forward_hook(lambda mod, args, out: calls.append("ctx")):
        m(lib.ones(1, 2))
    m(lib.ones(1, 2))
    assert calls == ["pre0", "pre1", "post", "post", "ctx", "post"]
    assert not m._forward_pre_hooks and list(m._forward_hooks) == [h3.id]
