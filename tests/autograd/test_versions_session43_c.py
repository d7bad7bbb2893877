"""Optimizer steps' versions as PyTorch's, session 43 survey: ``p._version``,
``q._version``, ``p.grad``'s version and identity across steps, and the state buffers'
versions, over SGD (momentum, nesterov, dampening, maximize, weight decay), Adam and AdamW
(amsgrad, weight decay, maximize) with ``foreach`` on, off and by default, RMSprop,
Adagrad, Adamax, NAdam, RAdam, Adadelta and Rprop. Compared as
:mod:`test_versions_session42_b`.
"""

from __future__ import annotations

import pytest

from .test_versions_session42_b import _compare

__all__: list[str] = []

CASES: dict = {}


def _opt_run(t, name, steps=2, **kw):
    t.manual_seed(0)
    p = t.tensor([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]], requires_grad=True)
    q = t.tensor([1.0, 2.0], requires_grad=True)
    opt = getattr(t.optim, name)([p, q], lr=0.1, **kw)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        ((p * p).sum() + (q * p[:, 0]).sum()).backward()
        g = p.grad
        opt.step()
        out.append((p._version, q._version, p.grad._version, p.grad is g, q.grad._version))
    st = opt.state[p]
    out.append(sorted((k, v._version) for k, v in st.items() if hasattr(v, "_version")))
    return out


for _name, _kw in [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"maximize": True, "weight_decay": 0.1}),
    ("SGD", {"foreach": True, "momentum": 0.9}),
    ("SGD", {"foreach": False, "momentum": 0.9, "dampening": 0.1}),
    ("Adam", {}),
    ("Adam", {"foreach": True}),
    ("Adam", {"foreach": False}),
    ("Adam", {"amsgrad": True}),
    ("Adam", {"weight_decay": 0.1}),
    ("Adam", {"weight_decay": 0.1, "foreach": True}),
    ("Adam", {"maximize": True}),
    ("AdamW", {}),
    ("AdamW", {"foreach": True}),
    ("AdamW", {"foreach": False}),
    ("AdamW", {"amsgrad": True, "foreach": True}),
    ("RMSprop", {"momentum": 0.9, "centered": True}),
    ("Adagrad", {"weight_decay": 0.1}),
    ("Adamax", {"foreach": True}),
    ("NAdam", {"foreach": False}),
    ("RAdam", {"foreach": True}),
    ("Adadelta", {"foreach": False}),
    ("Rprop", {"foreach": True}),
]:

    def _f(t, _name=_name, _kw=_kw):
        return _opt_run(t, _name, **_kw)

    _f.__name__ = "opt_" + _name + "_" + "_".join(f"{k}{v}" for k, v in _kw.items())
    CASES[_f.__name__] = _f


def _kept_run(t, name, **kw):
    """Three steps with ``zero_grad(set_to_none=False)`` (``p.grad`` the same tensor, zeroed
    in place) and a parameter that never gets a gradient."""
    p = t.tensor([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]], requires_grad=True)
    q = t.tensor([1.0, 2.0], requires_grad=True)
    opt = getattr(t.optim, name)([p, q], lr=0.1, **kw)
    out = []
    for _ in range(3):
        opt.zero_grad(set_to_none=False)
        (p * p).sum().backward()
        g = p.grad
        opt.step()
        out.append((p._version, q._version, p.grad._version, p.grad is g, q.grad))
    return out


for _name, _kw in [
    ("Adam", {"fused": True}),
    ("AdamW", {"fused": True}),
    ("SGD", {"fused": True, "momentum": 0.9}),
    ("SGD", {"momentum": 0.9}),
    ("Adagrad", {"foreach": True}),
    ("Adagrad", {"fused": True}),
    ("RMSprop", {"foreach": True, "momentum": 0.5}),
    ("ASGD", {}),
    ("ASGD", {"foreach": True}),
    ("NAdam", {"decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("RAdam", {"decoupled_weight_decay": True, "weight_decay": 0.1, "foreach": False}),
    ("Adamax", {"foreach": False, "weight_decay": 0.1}),
    ("Rprop", {"foreach": False}),
    ("Adadelta", {"foreach": True, "weight_decay": 0.1}),
]:
    _suffix = _name + "_" + "_".join(f"{k}{v}" for k, v in _kw.items())

    def _f(t, _name=_name, _kw=_kw):
        return _opt_run(t, _name, **_kw)

    def _k(t, _name=_name, _kw=_kw):
        return _kept_run(t, _name, **_kw)

    _f.__name__, _k.__name__ = "opt_" + _suffix, "kept_" + _suffix
    CASES.setdefault(_f.__name__, _f)
    CASES[_k.__name__] = _k


# the fused cases (PyTorch's fused kernels bump no version of the parameters and state
# buffers) were strict xfails until session 47 (_update_helpers.step_writes)
@pytest.mark.parametrize("name", list(CASES))
def test_optimizer_versions_as_torch(name: str) -> None:
    _compare(CASES[name])
