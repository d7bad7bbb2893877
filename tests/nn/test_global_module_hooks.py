"""Hooks for every module (``nn.modules.module.register_module_*``) against torch: order
relative to a module's own hooks, replacement results, handles, registration hooks, paths."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.modules.module as TM

import chainrule as cr
import chainrule.nn.modules.module as CM
from chainrule.nn import _forward_hooks as _fh

from ._helpers import close

BOTH = [(torch, TM), (cr, CM)]
STORES = [
    "_global_forward_pre_hooks",
    "_global_forward_hooks",
    "_global_backward_pre_hooks",
    "_global_backward_hooks",
    "_global_buffer_registration_hooks",
    "_global_module_registration_hooks",
    "_global_parameter_registration_hooks",
]


@pytest.fixture(autouse=True)
def _no_leftover_hooks():
    yield
    leftover = [s for s in STORES if getattr(CM, s) or getattr(TM, s)]
    for s in STORES:  # do not let a failed test leak hooks into the next ones
        getattr(CM, s).clear()
        getattr(TM, s).clear()
    _fh._global_call_hooks.clear()
    assert not leftover


def linear(lib, seed=0):
    """The same float64 Linear(3, 2) in either framework."""
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
    m = lib.nn.Linear(3, 2).double()
    with lib.no_grad():
        m.weight.copy_(lib.tensor(w))
        m.bias.copy_(lib.tensor(b))
    return m


def test_every_register_function_is_at_torchs_paths_only():
    names = [n for n in dir(TM) if n.startswith("register_module_")]
    assert len(names) == 8
    for n in names:
        assert callable(getattr(CM, n)), n
    for store in STORES:
        assert type(getattr(CM, store)) is type(getattr(TM, store))
    # torch exports none of them under torch.nn.modules or torch.nn: neither does chainrule
    for ours, theirs in [(cr.nn.modules, torch.nn.modules), (cr.nn, torch.nn)]:
        assert {n for n in dir(ours) if "register_module" in n} == {
            n for n in dir(theirs) if "register_module" in n
        }


def forward_order(lib, M):
    log = []
    m = linear(lib)
    m.register_forward_pre_hook(lambda mod, a: log.append("local_pre"))
    m.register_forward_pre_hook(lambda mod, a: log.append("local_pre_first"), prepend=True)
    m.register_forward_hook(lambda mod, a, o: log.append("local"))
    m.register_forward_hook(lambda mod, a, o: log.append("local_first"), prepend=True)
    with (
        M.register_module_forward_pre_hook(lambda mod, a: log.append("global_pre")),
        M.register_module_forward_hook(lambda mod, a, o: log.append("global")),
    ):
        m(lib.ones(3, dtype=lib.float64))
    m(lib.ones(3, dtype=lib.float64))  # the handles removed them
    return log


def test_global_forward_hooks_run_before_the_modules_own():
    assert forward_order(cr, CM) == forward_order(torch, TM)
    assert forward_order(cr, CM)[:6] == [
        "global_pre",
        "local_pre_first",
        "local_pre",
        "global",
        "local_first",
        "local",
    ]


def replaced(lib, M):
    m, seen = linear(lib), []
    m.register_forward_pre_hook(lambda mod, a: seen.append(a[0].sum().item()))
    m.register_forward_hook(lambda mod, a, o: seen.append(o.sum().item()))
    pre = M.register_module_forward_pre_hook(lambda mod, a: a[0] * 2)  # non-tuple: wrapped
    post = M.register_module_forward_hook(lambda mod, a, o: o + 1)
    try:
        out = m(lib.ones(3, dtype=lib.float64))
    finally:
        pre.remove()
        post.remove()
    return out, seen


def test_global_hook_results_replace_args_and_output_and_reach_local_hooks():
    (ours, seen_c), (theirs, seen_t) = replaced(cr, CM), replaced(torch, TM)
    close(ours, theirs)
    np.testing.assert_allclose(seen_c, seen_t, rtol=1e-12)


def always_called(lib, M):
    log = []

    class Bad(lib.nn.Module):
        def forward(self, x, *, scale=1):
            raise ValueError("boom")

    def bad(*a):
        raise KeyError("hook")

    m = Bad()
    m.register_forward_hook(lambda mod, a, k, o: log.append(("local", a, k, o)), **KW_ALWAYS)
    m.register_forward_hook(bad, always_call=True)  # silenced: forward's error propagates
    hk = M.register_module_forward_hook(lambda mod, a, o: log.append(("g", a, o)), always_call=True)
    hb = M.register_module_forward_hook(bad, always_call=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with pytest.raises(ValueError, match="boom"):
                m(1, scale=3)
            # a pre-hook that raises: the always_call hooks run too (output None) ...
            pre = M.register_module_forward_pre_hook(bad)
            with pytest.raises(KeyError):
                lib.nn.Identity()(2)
            pre.remove()
            # ... and after a hook raised (the global `bad`, first), the later ones see the output
            g = lib.nn.Identity()
            g.register_forward_hook(lambda mod, a, o: o + 1)
            g.register_forward_hook(bad)
            g.register_forward_hook(lambda mod, a, o: log.append(("late", o)), always_call=True)
            with pytest.raises(KeyError):
                g(2)
        finally:
            hk.remove()
            hb.remove()
    return log, [(w.category, str(w.message)) for w in caught]


KW_ALWAYS = {"with_kwargs": True, "always_call": True}


def test_always_call_hooks_after_errors():
    assert always_called(cr, CM) == always_called(torch, TM)
    log, caught = always_called(cr, CM)
    assert log[:2] == [("g", (1,), None), ("local", (1,), {"scale": 3}, None)]
    assert log[-1] == ("late", 2) and len(caught) == 3
    with pytest.raises(TypeError):
        CM.register_module_forward_pre_hook(lambda m, a, k: None, with_kwargs=True)


def test_global_with_kwargs_hooks_get_kwargs():
    # torch passes no kwargs to a global with_kwargs always_call hook after an error (its hook
    # then fails with a TypeError that it silences); chainrule calls it as registered
    seen = []

    class Bad(cr.nn.Module):
        def forward(self, x, *, scale=1):
            if scale < 0:
                raise ValueError("boom")
            return x

    with CM.register_module_forward_hook(lambda m, a, k, o: seen.append((a, k, o)), **KW_ALWAYS):
        Bad()(1, scale=2)
        with pytest.raises(ValueError):
            Bad()(1, scale=-1)
    assert seen == [((1,), {"scale": 2}, 1), ((1,), {"scale": -1}, None)]


def backward_run(lib, M):
    log = []
    m = linear(lib)
    m.register_full_backward_pre_hook(lambda mod, g: log.append(("local_pre", g[0].sum().item())))
    m.register_full_backward_hook(lambda mod, gi, go: log.append(("local", gi[0].sum().item())))
    x = lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64, requires_grad=True)
    with (
        M.register_module_full_backward_pre_hook(lambda mod, g: (g[0] * 2,)),
        M.register_module_full_backward_hook(lambda mod, gi, go: (gi[0] * 3,)),
    ):
        m(x).sum().backward()
    return log, x.grad


def test_global_backward_hooks_run_first_and_replace_gradients():
    (log_c, grad_c), (log_t, grad_t) = backward_run(cr, CM), backward_run(torch, TM)
    assert [k for k, _ in log_c] == [k for k, _ in log_t] == ["local_pre", "local"]
    np.testing.assert_allclose([v for _, v in log_c], [v for _, v in log_t], rtol=1e-12)
    close(grad_c, grad_t)


def outputs_only(lib, M):
    seen = []
    m = lib.nn.Sequential(linear(lib), lib.nn.ReLU())
    with (
        M.register_module_full_backward_hook(
            lambda mod, gi, go: seen.append((type(mod).__name__, gi[0] is None))
        ),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        m(lib.ones(3, dtype=lib.float64)).sum().backward()
    return seen, sorted({str(w.message)[:40] for w in caught})


def test_global_backward_hook_on_nested_modules_without_input_grad():
    assert outputs_only(cr, CM) == outputs_only(torch, TM)


def test_handle_removes_the_hook_and_the_fast_path_marker():
    h = CM.register_module_forward_hook(lambda m, a, o: o * 0)
    assert h.id in CM._global_forward_hooks and _fh._global_call_hooks
    m = linear(cr)
    assert m(cr.ones(3, dtype=cr.float64)).abs().sum().item() == 0
    h.remove()
    assert not _fh._global_call_hooks and not CM._global_forward_hooks
    assert m(cr.ones(3, dtype=cr.float64)).abs().sum().item() > 0
    with pytest.raises(NotImplementedError, match="register_module_full_backward_hook"):
        CM.register_module_backward_hook(lambda m, gi, go: None)


def registrations(lib, M):
    log = []

    def shape(v):
        return tuple(v.shape) if isinstance(v, lib.Tensor) else type(v).__name__

    hooks = [
        M.register_module_buffer_registration_hook(
            lambda m, n, b: log.append(("buf", n, shape(b)))
        ),
        M.register_module_module_registration_hook(
            lambda m, n, s: log.append(("mod", n, shape(s)))
        ),
        M.register_module_parameter_registration_hook(
            lambda m, n, p: log.append(("par", type(m).__name__, n, shape(p)))
        ),
    ]
    try:
        lib.nn.BatchNorm1d(2)
        lib.nn.Sequential(lib.nn.ReLU())
        lib.nn.ParameterList([lib.nn.Parameter(lib.ones(1))])
        m = lib.nn.Module()
        m.w = lib.nn.Parameter(lib.ones(1))
        m.register_parameter("v", None)
        m.c = lib.nn.ReLU()
        m.add_module("d", None)
        m.register_buffer("q", lib.ones(2))
        m.register_buffer("r", None, persistent=False)
        m.s = lib.nn.Buffer(lib.ones(3), persistent=False)
        m.q, m.w, m.c = lib.zeros(4), None, None  # re-assignments
        m.w = lib.nn.Parameter(lib.ones(5))
    finally:
        for h in hooks:
            h.remove()
    return log


def test_registration_hooks_see_what_torch_shows():
    assert registrations(cr, CM) == registrations(torch, TM)


def replacements(lib, M):
    hooks = [
        M.register_module_buffer_registration_hook(lambda m, n, b: None if b is None else b * 5),
        M.register_module_parameter_registration_hook(
            lambda m, n, p: lib.nn.Parameter(p.detach() * 2)
        ),
        M.register_module_module_registration_hook(
            lambda m, n, s: lib.nn.Tanh() if isinstance(s, lib.nn.ReLU) else None
        ),
    ]
    try:
        m = lib.nn.Module()
        m.register_buffer("q", lib.ones(2, dtype=lib.float64))
        m.w = lib.nn.Parameter(lib.ones(1, dtype=lib.float64))
        m.c = lib.nn.ReLU()
        m.add_module("d", lib.nn.Sigmoid())
        lin = lib.nn.Linear(2, 2)
    finally:
        for h in hooks:
            h.remove()
    return m, lin


def test_registration_hook_results_are_stored():
    (ours, lin_c), (theirs, lin_t) = replacements(cr, CM), replacements(torch, TM)
    close(ours.q, theirs.q)
    close(ours.w, theirs.w)
    assert isinstance(ours.w, cr.nn.Parameter)
    assert type(ours.c).__name__ == type(theirs.c).__name__ == "Tanh"
    assert type(ours.d).__name__ == type(theirs.d).__name__ == "Sigmoid"
    # Linear's initial weight went through the hook too (doubled in place of the drawn one)
    assert isinstance(lin_c.weight, cr.nn.Parameter) and isinstance(
        lin_t.weight, torch.nn.Parameter
    )
