"""Version counters as PyTorch's, session 44 survey (second part, hooks and optimizers),
compared as :mod:`test_versions_session42_b`:

- ``register_hook`` / ``retain_grad`` on a view whose base is written;
- ``saved_tensors_hooks`` with in-place writes after the save: where PyTorch skips its
  version check, chainrule keeps the guard (docs/architecture.md, saved-tensor hooks);
- ``nn.Parameter`` steps of the optimizers' foreach / fused paths not yet covered, with and
  without a write through a view of the parameter under ``no_grad`` between steps.

The ``x.data`` assignments, unsafe splits and copies between views of this survey:
``test_versions_session44_c_writes.py`` (split in session 47).
"""

from __future__ import annotations

import pytest
import torch

import chainrule as cr

from ._version_cases import P, case_registry, hook_trace
from .test_versions_session42_b import _compare, _run

__all__: list[str] = []

CASES, case = case_registry()
GUARDED, guarded = case_registry()  # PyTorch computes with the modified memory; chainrule raises


# --- G: register_hook on a view then in-place on its base
@case
def hook_on_view_then_base_inplace(t):
    p = P(t)
    x = p * 1
    v = x[:2]
    seen = hook_trace(v)
    x.mul_(2)
    (v * v).sum().backward()
    return p.grad, seen


@case
def hook_on_view_then_view_inplace(t):
    p = P(t)
    x = p * 1
    v = x[:2]
    seen = hook_trace(v)
    v.mul_(2)
    (x * 1).sum().backward()
    return p.grad, seen


@case
def hook_on_base_then_view_inplace(t):
    p = P(t)
    x = p * 1
    seen = hook_trace(x)
    x[:2].mul_(3)
    x.sum().backward()
    return p.grad, seen


@case
def retain_grad_view_then_base_inplace(t):
    p = P(t)
    x = p * 1
    v = x[1:]
    v.retain_grad()
    x.add_(1)
    (v * 3).sum().backward()
    return v.grad, p.grad


@case
def hook_on_leaf_view_nograd_write(t):
    p = P(t)
    v = p[:2]
    seen = hook_trace(v)
    with t.no_grad():
        p.add_(1)
    (v * 2).sum().backward()
    return p.grad, seen


# --- F: saved_tensors_hooks with in-place after save
@guarded
def saved_hooks_pack_identity_inplace_after(t):
    p = P(t)
    x = p * 1
    with t.autograd.graph.saved_tensors_hooks(lambda a: a, lambda a: a):
        y = (x * x).sum()
    x.add_(1)
    y.backward()
    return None


@case
def saved_hooks_pack_clone_inplace_after(t):
    p = P(t)
    x = p * 1
    with t.autograd.graph.saved_tensors_hooks(lambda a: a.clone(), lambda a: a):
        y = (x * x).sum()
    x.add_(1)
    y.backward()
    return p.grad


@guarded
def saved_hooks_pack_detach_inplace_after(t):
    p = P(t)
    x = p * 1
    with t.autograd.graph.saved_tensors_hooks(lambda a: a.detach(), lambda a: a):
        y = (x * x).sum()
    x.add_(1)
    y.backward()
    return p.grad


@case
def saved_hooks_versions_seen(t):
    p = P(t)
    x = p * 1
    seen = []
    with t.autograd.graph.saved_tensors_hooks(
        lambda a: (seen.append(a._version), a)[1], lambda a: a
    ):
        y = x.exp().sum()
    x.mul_(2)
    try:
        y.backward()
        r = "ok"
    except RuntimeError as e:
        r = str(e)[-60:]
    return seen, r


@guarded
def saved_hooks_unpack_after_inplace_output(t):
    p = P(t)
    with t.autograd.graph.saved_tensors_hooks(lambda a: a, lambda a: a):
        y = p.exp()
    y.add_(1)
    y.sum().backward()
    return None


@case
def saved_hooks_pack_data_inplace(t):
    p = P(t)
    x = p * 1
    with t.autograd.graph.saved_tensors_hooks(lambda a: a, lambda a: a):
        y = (x * x).sum()
    x.data.add_(1)
    y.backward()
    return p.grad


def _param_run(t, name, steps=2, user_write=False, **kw):
    t.manual_seed(0)
    p = t.nn.Parameter(t.tensor([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]]))
    q = t.nn.Parameter(t.tensor([1.0, 2.0]))
    opt = getattr(t.optim, name)([p, q], lr=0.1, **kw)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        ((p * p).sum() + (q * p[:, 0]).sum()).backward()
        if user_write:
            with t.no_grad():
                p[0].mul_(0.5)  # a write through a view of the parameter
        g = p.grad
        opt.step()
        out.append((p._version, q._version, p.grad._version, p.grad is g, q.grad._version))
    st = opt.state[p]
    out.append(sorted((k, v._version) for k, v in st.items() if hasattr(v, "_version")))
    out.append([round(v, 4) for v in p.detach().reshape(-1).tolist()])  # (float32: 4 places)
    return out


for _name, _kw in [
    ("SGD", {"fused": True}),
    ("SGD", {"fused": True, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"fused": True, "weight_decay": 0.1, "maximize": True}),
    ("SGD", {"foreach": True, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"foreach": True}),
    ("Adam", {"fused": True, "amsgrad": True}),
    ("Adam", {"fused": True, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"foreach": True, "amsgrad": True, "maximize": True}),
    ("AdamW", {"fused": True, "amsgrad": True}),
    ("AdamW", {"foreach": False, "amsgrad": True, "weight_decay": 0.1}),
    ("Adagrad", {"fused": True, "weight_decay": 0.1}),
    ("Adagrad", {"foreach": False, "lr_decay": 0.1}),
    ("RMSprop", {"foreach": True, "centered": True, "momentum": 0.9}),
    ("RMSprop", {"foreach": False, "weight_decay": 0.1}),
    ("RMSprop", {"foreach": True}),
    ("Adamax", {"foreach": True, "weight_decay": 0.1, "maximize": True}),
    ("NAdam", {"foreach": True, "weight_decay": 0.1}),
    ("NAdam", {"foreach": True, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("RAdam", {"foreach": True, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("RAdam", {"foreach": False, "weight_decay": 0.1}),
    ("Rprop", {"foreach": True, "maximize": True}),
    ("ASGD", {"foreach": True, "weight_decay": 0.1}),
    ("ASGD", {"foreach": False, "t0": 0.0}),
    ("Adadelta", {"foreach": True, "maximize": True}),
    ("Adadelta", {"foreach": False, "weight_decay": 0.1}),
]:
    for _uw in (False, True):

        def _f(t, _name=_name, _kw=_kw, _uw=_uw):
            return _param_run(t, _name, user_write=_uw, **_kw)

        _f.__name__ = (
            ("param_write_" if _uw else "param_")
            + _name
            + "_"
            + "_".join(f"{k}{v}" for k, v in _kw.items())
        )
        CASES[_f.__name__] = _f


# the fused cases and foreach Nesterov SGD's in-place writes into the gradients were strict
# xfails until session 47 (_update_helpers.step_writes, SGD._grad_writes)
@pytest.mark.parametrize("name", list(CASES))
def test_versions_as_torch(name: str) -> None:
    _compare(CASES[name])


@pytest.mark.parametrize("name", list(GUARDED))
def test_saved_hooks_keep_the_inplace_guard(name: str) -> None:
    """PyTorch skips the version check of a value packed by saved-tensor hooks and computes
    with the memory as it is after the write; chainrule still raises PyTorch's in-place
    error when the unpacked tensor reads memory written after the save (a deliberate
    guard, docs/architecture.md)."""
    got, want = _run(cr, GUARDED[name]), _run(torch, GUARDED[name])
    assert want[0] == "ok"
    assert got[:2] == ("raise", "RuntimeError")
    assert "modified by an inplace operation" in got[2]
