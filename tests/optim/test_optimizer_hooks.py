"""The optimizer hook API against PyTorch, side by side: step pre/post hooks (per optimizer and
global), state-dict and load-state-dict hooks, their handles, order and return-value rules."""

from __future__ import annotations

import copy
import inspect

import numpy as np
import pytest
import torch
import torch.optim.optimizer as torch_optimizer_module

import chainrule as cr
import chainrule.optim.optimizer as cr_optimizer_module

LIBS = {"torch": (torch, torch_optimizer_module), "cr": (cr, cr_optimizer_module)}

RNG = np.random.default_rng(0)
W0 = RNG.normal(size=(2, 3)).astype(np.float32)
B0 = RNG.normal(size=(2,)).astype(np.float32)
X0 = RNG.normal(size=(4, 3)).astype(np.float32)


def _model(lib):
    """A Linear(3, 2) with the same weights in both libraries, and its gradients filled."""
    model = lib.nn.Linear(3, 2)
    with lib.no_grad():
        model.weight.copy_(lib.tensor(W0))
        model.bias.copy_(lib.tensor(B0))
    _backward(lib, model)
    return model


def _loss(lib, model):
    return (model(lib.tensor(X0)) ** 2).sum()


def _backward(lib, model):
    model.zero_grad()
    loss = _loss(lib, model)
    loss.backward()
    return loss


def _params(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


def _describe(value, opt):
    """A library-independent picture of a hook argument."""
    if value is opt:
        return "OPT"
    if isinstance(value, tuple):
        return tuple(_describe(v, opt) for v in value)
    if isinstance(value, dict):
        return {k: _describe(v, opt) for k, v in value.items()}
    if callable(value):
        return "FN"
    return value


def _recorder(log, name, opt_ret=None):
    def hook(optimizer, args, kwargs):
        log.append((name, _describe(args, optimizer), _describe(kwargs, optimizer)))
        return opt_ret

    return hook


def _both(run):
    """Run ``run(lib, module)`` for torch and chainrule; return both results."""
    return [run(lib, module) for lib, module in LIBS.values()]


def _same(run):
    a, b = _both(run)
    assert a == b, f"torch: {a}\nchainrule: {b}"
    return a


# ------------------------------------------------------------------ step hooks
def test_step_hook_order_and_arguments_match_torch():
    def run(lib, module):
        model = _model(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        log = []
        handles = [
            module.register_optimizer_step_post_hook(_recorder(log, "global post")),
            opt.register_step_post_hook(_recorder(log, "post")),
            module.register_optimizer_step_pre_hook(_recorder(log, "global pre")),
            opt.register_step_pre_hook(_recorder(log, "pre")),
            module.register_optimizer_step_pre_hook(_recorder(log, "global pre 2")),
            opt.register_step_pre_hook(_recorder(log, "pre 2")),
        ]
        try:
            out = [opt.step(), opt.step(lambda: 1.5), opt.step(closure=None)]
        finally:
            for h in handles:
                h.remove()
        return log, out, _params(model)

    (tlog, tout, tparams), (clog, cout, cparams) = _both(run)
    assert clog == tlog
    assert tlog[:6] == [
        ("global pre", ("OPT",), {}),
        ("global pre 2", ("OPT",), {}),
        ("pre", ("OPT",), {}),
        ("pre 2", ("OPT",), {}),
        ("post", ("OPT",), {}),
        ("global post", ("OPT",), {}),
    ]
    assert tlog[6][1] == ("OPT", "FN") and tlog[12][2] == {"closure": None}
    assert cout == tout == [None, 1.5, None]
    for t, c in zip(tparams, cparams):
        np.testing.assert_allclose(c, t, rtol=1e-6)


def test_global_hooks_run_for_every_optimizer_and_handles_remove_them():
    def run(lib, module):
        model = _model(lib)
        first = lib.optim.SGD(model.parameters(), lr=0.1)
        second = lib.optim.Adam(model.parameters(), lr=0.1)
        seen = []
        handle = module.register_optimizer_step_pre_hook(
            lambda opt, args, kwargs: seen.append(type(opt).__name__)
        )
        post = module.register_optimizer_step_post_hook(
            lambda opt, args, kwargs: seen.append("post " + type(opt).__name__)
        )
        first.step()
        second.step()
        handle.remove()
        handle.remove()  # a second remove is a no-op
        first.step()
        post.remove()
        second.step()
        return seen, len(module._global_optimizer_pre_hooks)

    seen, _ = _same(run)
    assert seen == ["SGD", "post SGD", "Adam", "post Adam", "post SGD"]


def test_instance_hooks_belong_to_one_optimizer():
    def run(lib, module):
        model = _model(lib)
        a = lib.optim.SGD(model.parameters(), lr=0.1)
        b = lib.optim.SGD(model.parameters(), lr=0.1)
        seen = []
        h = a.register_step_pre_hook(lambda opt, args, kwargs: seen.append(opt is a))
        a.step()
        b.step()
        with h:  # a handle is a context manager that removes the hook on exit
            a.step()
        a.step()
        return seen, dict(a._optimizer_step_pre_hooks)

    assert _same(run) == ([True, True], {})


def test_handle_type_is_the_shared_removable_handle():
    model = _model(cr)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    handles = [
        opt.register_step_pre_hook(lambda *a: None),
        opt.register_step_post_hook(lambda *a: None),
        opt.register_state_dict_pre_hook(lambda o: None),
        opt.register_state_dict_post_hook(lambda o, sd: None),
        opt.register_load_state_dict_pre_hook(lambda o, sd: None),
        opt.register_load_state_dict_post_hook(lambda o: None),
        cr_optimizer_module.register_optimizer_step_pre_hook(lambda *a: None),
        cr_optimizer_module.register_optimizer_step_post_hook(lambda *a: None),
    ]
    assert all(type(h) is cr.utils.hooks.RemovableHandle for h in handles)
    assert len({h.id for h in handles}) == len(handles)
    for h in handles:
        h.remove()
    assert not cr_optimizer_module._global_optimizer_pre_hooks
    assert not cr_optimizer_module._global_optimizer_post_hooks
    assert not opt._optimizer_state_dict_post_hooks


def test_pre_hook_can_replace_the_arguments():
    def run(lib, module):
        model = _model(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        log = []

        def swap(optimizer, args, kwargs):
            return args, {"closure": lambda: 7.0}

        first = opt.register_step_pre_hook(swap)
        second = opt.register_step_pre_hook(_recorder(log, "pre after swap"))
        opt.register_step_post_hook(_recorder(log, "post"))
        out = opt.step()
        first.remove()
        second.remove()
        return out, log

    out, log = _same(run)
    assert out == 7.0
    assert log == [
        ("pre after swap", ("OPT",), {"closure": "FN"}),
        ("post", ("OPT",), {"closure": "FN"}),
    ]


@pytest.mark.parametrize("bad", [5, "x", (1,), (1, 2, 3), [(), {}]], ids=repr)
def test_pre_hook_returning_anything_else_raises_runtime_error(bad):
    def run(lib, module):
        model = _model(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        before = _params(model)
        opt.register_step_pre_hook(lambda optimizer, args, kwargs: bad)
        with pytest.raises(RuntimeError) as info:
            opt.step()
        assert all(np.array_equal(a, b) for a, b in zip(before, _params(model)))  # no step
        message = str(info.value)
        assert message.startswith("<function ")
        return message.split(" at 0x")[1].split(">", 1)[1]

    tail = _same(run)
    assert tail == f" must return None or a tuple of (new_args, new_kwargs), but got {bad}."


def test_global_pre_hook_return_rules_are_the_same():
    def run(lib, module):
        model = _model(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        handle = module.register_optimizer_step_pre_hook(lambda o, a, k: (a[:1], {"closure": None}))
        try:
            out = opt.step(lambda: 3.0)
        finally:
            handle.remove()
        handle = module.register_optimizer_step_pre_hook(lambda o, a, k: 0)
        try:
            with pytest.raises(RuntimeError, match="must return None or a tuple"):
                opt.step()
        finally:
            handle.remove()
        return out

    assert _same(run) is None


def test_post_hook_return_value_is_ignored_and_errors_propagate():
    def run(lib, module):
        model = _model(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        opt.register_step_post_hook(lambda o, a, k: 99)
        out = opt.step(lambda: 2.0)
        log = []
        opt.register_step_post_hook(_recorder(log, "post"))

        def boom(optimizer, args, kwargs):
            raise ValueError("boom")

        h = opt.register_step_pre_hook(boom)
        with pytest.raises(ValueError, match="boom"):
            opt.step()
        h.remove()
        return out, log

    assert _same(run) == (2.0, [])


def test_step_keeps_its_name_docstring_and_signature():
    def run(lib, module):
        model = _model(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        step = type(opt).step
        return (
            step.__name__,
            getattr(step, "hooked", None),
            list(inspect.signature(step).parameters),
            inspect.ismethod(opt.step),
        )

    assert _same(run) == ("step", True, ["self", "closure"], True)
    doc = cr.optim.Optimizer.step.__doc__
    assert doc is not None and "closure" in doc
    assert cr.optim.Optimizer.step.__wrapped__.__doc__ == doc


# ------------------------------------------------------ a user's own optimizer
def _custom_optimizer(lib):
    class PlainSGD(lib.optim.Optimizer):
        """Gradient descent written by a user."""

        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        def step(self, closure=None):
            """One plain gradient step."""
            loss = None if closure is None else closure()
            with lib.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        if p.grad is not None:
                            p.add_(p.grad, alpha=-group["lr"])
            return loss

    return PlainSGD


def test_custom_optimizer_subclass_runs_hooks():
    def run(lib, module):
        cls = _custom_optimizer(lib)
        model = _model(lib)
        opt = cls(model.parameters(), lr=0.5)
        log = []
        handle = module.register_optimizer_step_post_hook(_recorder(log, "global post"))
        opt.register_step_pre_hook(_recorder(log, "pre"))
        try:
            out = opt.step(lambda: 4.0)
        finally:
            handle.remove()
        step = type(opt).step
        return log, out, step.__name__, step.__doc__, step.__qualname__, _params(model)

    (tlog, tout, *tmeta, tparams), (clog, cout, *cmeta, cparams) = _both(run)
    assert (clog, cout, cmeta) == (tlog, tout, tmeta)
    assert cmeta == ["step", "One plain gradient step.", "_custom_optimizer.<locals>.PlainSGD.step"]
    for t, c in zip(tparams, cparams):
        np.testing.assert_allclose(c, t, rtol=1e-6)


def test_subclass_calling_super_step_runs_hooks_once():
    """A subclass whose step calls ``super().step()``: the hooks run once per step (as in
    PyTorch when the parent class has not been instantiated on its own)."""

    def run(lib, module):
        class Parent(lib.optim.Optimizer):
            def __init__(self, params):
                super().__init__(params, {"lr": 0.1})

            def step(self, closure=None):
                return "parent"

        class Child(Parent):
            def step(self, closure=None):
                return "child of " + super().step(closure)

        model = _model(lib)
        opt = Child(model.parameters())
        log = []
        opt.register_step_pre_hook(_recorder(log, "pre"))
        opt.register_step_post_hook(_recorder(log, "post"))
        return opt.step(), log

    out, log = _same(run)
    assert out == "child of parent" and [e[0] for e in log] == ["pre", "post"]


def test_step_assigned_to_the_class_later_is_wrapped_at_construction():
    class Late(cr.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

    def step(self, closure=None):
        """Assigned after the class was made."""
        return "late"

    Late.step = step
    model = _model(cr)
    opt = Late(model.parameters())
    seen = []
    opt.register_step_pre_hook(lambda o, a, k: seen.append(a))
    assert opt.step() == "late" and seen == [(opt,)]
    assert Late.step.__doc__ == "Assigned after the class was made." and Late.step.hooked


_EVERY = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("Adam", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01}),
    ("Adagrad", {"lr": 0.1}),
    ("Adadelta", {}),
    ("Adamax", {}),
    ("ASGD", {}),
    ("NAdam", {}),
    ("RAdam", {}),
    ("RMSprop", {}),
    ("Rprop", {}),
    ("Adafactor", {}),
    ("Muon", {"lr": 0.01}),
    ("LBFGS", {"max_iter": 3}),
]


@pytest.mark.parametrize(("name", "kwargs"), _EVERY, ids=[n for n, _ in _EVERY])
def test_every_optimizer_class_runs_the_hooks(name, kwargs):
    def run(lib, module):
        model = _model(lib)
        params = [model.weight] if name == "Muon" else list(model.parameters())
        opt = getattr(lib.optim, name)(params, **kwargs)
        log = []
        handles = [
            module.register_optimizer_step_pre_hook(_recorder(log, "global pre")),
            module.register_optimizer_step_post_hook(_recorder(log, "global post")),
            opt.register_step_pre_hook(_recorder(log, "pre")),
            opt.register_step_post_hook(_recorder(log, "post")),
        ]
        try:
            for _ in range(2):
                if name == "LBFGS":
                    opt.step(lambda: _backward(lib, model))
                else:
                    _backward(lib, model)
                    opt.step()
        finally:
            for h in handles:
                h.remove()
        return log, type(opt).step.__name__, _params(model)

    (tlog, tname, tparams), (clog, cname, cparams) = _both(run)
    assert (clog, cname) == (tlog, tname)
    assert [e[0] for e in clog] == ["global pre", "pre", "post", "global post"] * 2
    atol = 1e-3 if name == "Muon" else 1e-5  # torch's Newton-Schulz rounds differently
    for t, c in zip(tparams, cparams):
        np.testing.assert_allclose(c, t, rtol=1e-4, atol=atol)


def test_lbfgs_closure_goes_through_the_hooks():
    def run(lib, module):
        model = _model(lib)
        opt = lib.optim.LBFGS(model.parameters(), max_iter=4)
        calls = []

        def closure():
            calls.append("closure")
            return _backward(lib, model)

        def counting(optimizer, args, kwargs):
            calls.append(f"pre({len(args)}, {sorted(kwargs)})")

            def wrapped():
                calls.append("wrapped")
                return args[1]()

            return (args[0], wrapped), kwargs

        opt.register_step_pre_hook(counting)
        opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
        loss = opt.step(closure)
        return calls, float(loss.detach()), _params(model)

    (tcalls, tloss, tparams), (ccalls, closs, cparams) = _both(run)
    assert ccalls == tcalls
    assert tcalls[:3] == ["pre(2, [])", "wrapped", "closure"] and tcalls[-1] == "post"
    assert closs == pytest.approx(tloss, rel=1e-6)
    for t, c in zip(tparams, cparams):
        np.testing.assert_allclose(c, t, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------- state-dict hooks
def test_state_dict_hooks_order_prepend_and_results():
    def run(lib, module):
        model = _model(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        opt.step()
        log = []
        opt.register_state_dict_pre_hook(lambda o: log.append("pre 1"))
        opt.register_state_dict_pre_hook(lambda o: log.append("pre 0"), prepend=True)
        opt.register_state_dict_pre_hook(lambda o: 5)  # ignored

        def add_key(o, sd):
            log.append(("add", sorted(sd)))
            sd["extra"] = 1

        def wrap(o, sd):
            log.append(("wrap", sorted(sd)))
            return {"wrapped": sorted(sd)}

        h = opt.register_state_dict_post_hook(add_key)
        opt.register_state_dict_post_hook(wrap)
        first = opt.state_dict()
        h.remove()
        opt.register_state_dict_post_hook(lambda o, sd: log.append("first"), prepend=True)
        second = opt.state_dict()
        return log, first, second

    log, first, second = _same(run)
    assert log[:4] == [
        "pre 0",
        "pre 1",
        ("add", ["param_groups", "state"]),
        ("wrap", ["extra", "param_groups", "state"]),
    ]
    assert first == {"wrapped": ["extra", "param_groups", "state"]}
    assert second == {"wrapped": ["param_groups", "state"]}


def test_load_state_dict_hooks_order_copy_and_results():
    def run(lib, module):
        model = _model(lib)
        source = lib.optim.SGD(model.parameters(), lr=0.25, momentum=0.9)
        source.step()
        saved = source.state_dict()
        target = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        log = []

        def mark(o, sd):
            log.append(("mark", sd is saved, sorted(sd)))
            sd["mark"] = True

        def change_lr(o, sd):
            log.append(("change", sorted(sd)))
            groups = [dict(g, lr=0.5) for g in sd["param_groups"]]
            return {"state": sd["state"], "param_groups": groups}

        target.register_load_state_dict_pre_hook(mark)
        target.register_load_state_dict_pre_hook(change_lr)
        target.register_load_state_dict_pre_hook(
            lambda o, sd: log.append(("first", sorted(sd))), prepend=True
        )
        target.register_load_state_dict_post_hook(lambda o: log.append("post 1") or 5)
        target.register_load_state_dict_post_hook(lambda o: log.append("post 0"), prepend=True)
        target.load_state_dict(saved)
        return log, sorted(saved), target.param_groups[0]["lr"], len(target.state)

    log, saved_keys, lr, n_state = _same(run)
    assert log == [
        ("first", ["param_groups", "state"]),
        ("mark", False, ["param_groups", "state"]),
        ("change", ["mark", "param_groups", "state"]),
        "post 0",
        "post 1",
    ]
    assert saved_keys == ["param_groups", "state"]  # the caller's dict is not changed
    assert lr == 0.5 and n_state == 2


def test_deepcopy_and_getstate_leave_the_hooks_out():
    def run(lib, module):
        model = _model(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        opt.register_step_pre_hook(lambda o, a, k: None)
        opt.register_state_dict_post_hook(lambda o, sd: None)
        clone = copy.deepcopy(opt)
        restored = object.__new__(type(opt))  # what unpickling does (chainrule pickles no tensor)
        restored.__setstate__(opt.__getstate__())
        return [
            (len(c._optimizer_step_pre_hooks), len(c._optimizer_state_dict_post_hooks))
            for c in (clone, restored)
        ], len(opt._optimizer_step_pre_hooks)

    assert _same(run) == ([(0, 0), (0, 0)], 1)


def test_module_level_names_match_torch():
    for name in ("register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"):
        t, c = getattr(torch_optimizer_module, name), getattr(cr_optimizer_module, name)
        assert list(inspect.signature(c).parameters) == list(inspect.signature(t).parameters)
    for name in (
        "register_step_pre_hook",
        "register_step_post_hook",
        "register_state_dict_pre_hook",
        "register_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_load_state_dict_post_hook",
    ):
        t, c = getattr(torch.optim.Optimizer, name), getattr(cr.optim.Optimizer, name)
        tsig, csig = inspect.signature(t).parameters, inspect.signature(c).parameters
        assert list(csig) == list(tsig), name
        assert [p.default for p in csig.values()] == [p.default for p in tsig.values()], name
