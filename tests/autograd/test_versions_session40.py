"""Version counters as PyTorch's (session 40): ``p._version`` after optimizer steps (every
optimizer, ``foreach`` unset, False and True: AdamW's decoupled decay and NAdam's two writes
move it twice or three times a step, ASGD's loop twice, its foreach kernel once) and
``p.grad._version`` after backwards (PyTorch's input buffer sums a leaf's gradients in place,
its AccumulateGrad copies a gradient it may not take with ``copy_``, and a later backward
adds into ``.grad`` in place).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

OPTIMIZERS = {
    "SGD": [dict(lr=0.1), dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)],
    "Adam": [
        dict(),
        dict(weight_decay=0.01, amsgrad=True),
        dict(decoupled_weight_decay=True, weight_decay=0.1),
        dict(decoupled_weight_decay=True, weight_decay=0.0),
    ],
    "AdamW": [dict(), dict(weight_decay=0.0), dict(amsgrad=True, maximize=True)],
    "Adamax": [dict(), dict(weight_decay=0.01)],
    "NAdam": [
        dict(),
        dict(weight_decay=0.01),
        dict(decoupled_weight_decay=True, weight_decay=0.01),
        dict(decoupled_weight_decay=True, weight_decay=0.0),
    ],
    "RAdam": [dict(), dict(decoupled_weight_decay=True, weight_decay=0.01)],
    "ASGD": [dict(), dict(weight_decay=0.01, t0=0)],
    "Adagrad": [dict(), dict(weight_decay=0.01, lr_decay=0.01)],
    "Adadelta": [dict(), dict(weight_decay=0.01)],
    "RMSprop": [dict(), dict(momentum=0.9, centered=True, weight_decay=0.01)],
    "Rprop": [dict(), dict(maximize=True)],
    "Adafactor": [dict(), dict(weight_decay=0.01)],
}
_OPTIM_CASES = [
    (name, kw, foreach)
    for name, configs in OPTIMIZERS.items()
    for kw in configs
    for foreach in (None, False, True)
]


def _versions_after_steps(lib, name, kw, foreach, steps=3, shapes=((3,), (2, 2))):
    ps = [
        lib.tensor(np.linspace(0.1, 1, int(np.prod(s))).reshape(s), requires_grad=True)
        for s in shapes
    ]
    opt = getattr(lib.optim, name)(ps, **kw, **({} if foreach is None else {"foreach": foreach}))
    out = []
    for i in range(steps):
        opt.zero_grad()
        sum((p * lib.full(p.shape, float(i + 1))).sum() for p in ps).backward()
        opt.step()
        out.append([(p._version, p.grad._version) for p in ps])
    return out


@pytest.mark.parametrize(("name", "kw", "foreach"), _OPTIM_CASES)
def test_optimizer_step_bumps_versions_as_torch(name, kw, foreach):
    assert _versions_after_steps(cr, name, kw, foreach) == _versions_after_steps(
        torch, name, kw, foreach
    )


@pytest.mark.parametrize("kw", [dict(), dict(line_search_fn="strong_wolfe"), dict(max_iter=1)])
def test_lbfgs_bumps_versions_as_torch(kw):
    def run(lib):
        ps = [lib.tensor(np.linspace(0.1, 1, 3), requires_grad=True)]
        opt = lib.optim.LBFGS(ps, **kw)
        out = []
        for i in range(3):

            def closure(i=i):
                opt.zero_grad()
                loss = sum((p * float(i + 1) + p * p).sum() for p in ps)
                loss.backward()
                return loss

            opt.step(closure)
            out.append(ps[0]._version)
        return out

    assert run(cr) == run(torch)


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.01, weight_decay=0.0)])
def test_muon_bumps_versions_as_torch(kw):
    def run(lib):
        ps = [lib.tensor(np.linspace(0.1, 1, 6).reshape(2, 3), requires_grad=True)]
        opt = lib.optim.Muon(ps, **kw)
        out = []
        for _ in range(3):
            opt.zero_grad()
            (ps[0] * ps[0]).sum().backward()
            opt.step()
            out.append(ps[0]._version)
        return out

    assert run(cr) == run(torch)


GRAD_VERSIONS = {
    "once": "(p*2).sum().backward()",
    "two_backwards": "(p*2).sum().backward(); (p*2).sum().backward()",
    "three_backwards": "for i in range(3): (p*2).sum().backward()",
    "used_twice": "(p*p).sum().backward()",
    "used_twice_plus": "(p+p).sum().backward()",
    "two_uses": "((p*2).sum()+(p*3).sum()).backward()",
    "three_uses": "((p*2).sum()+(p*3).sum()+(p*4).sum()).backward()",
    "two_uses_two_backwards": "for i in range(2): ((p*2).sum()+(p*3).sum()).backward()",
    "sum": "p.sum().backward()",
    "sum_twice": "p.sum().backward(); p.sum().backward()",
    "expand": "p.expand(2,3).sum().backward()",
    "zero_grad_no_none": "p.sum().backward(); p.grad.zero_(); (p*2).sum().backward()",
    "set_none_between": "p.sum().backward(); p.grad=None; (p*2).sum().backward()",
    "retain_graph": "l=(p*2).sum(); l.backward(retain_graph=True); l.backward()",
    "index_two": "(p[0]*2 + p[1]).backward()",
    "cat": "(t.cat([p, p])*2).sum().backward()",
    "dot": "(p @ p).backward()",
    "grad_assigned": "p.grad = t.ones(3); (p*2).sum().backward()",
    "leaf_root": "p.backward(t.ones(3))",
    "leaf_root_0d": "s=t.tensor(2., requires_grad=True); s.backward(); r=s.grad._version",
    "sum_times_p": "(p.sum()*p).sum().backward()",
    "relu_twice": "(p.relu() + p.relu()).sum().backward()",
    "transposed_leaf": "m=t.ones(3,2).t().requires_grad_(); (m*2).sum().backward(); "
    "r=m.grad._version",
    "two_leaves_summed": "(p+q).sum().backward(); r=(p.grad._version, q.grad._version)",
    "p_twice_q_once": "(p*2 + p*q).sum().backward(); r=(p.grad._version, q.grad._version)",
    "autograd_grad": "r=t.autograd.grad((p*p).sum(), p)[0]._version",
    "retained_nonleaf": "y=p*1; y.retain_grad(); (y*y).sum().backward(); r=y.grad._version",
    "linear": "t.nn.functional.linear(t.ones(2,3), w, p).sum().backward(); r=(w.grad._version, "
    "p.grad._version)",
}


def _grad_version(lib, code: str):
    p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    q = lib.tensor([1.0, 5.0, 3.0], requires_grad=True)
    w = lib.ones(3, 3, requires_grad=True)
    ns = {"p": p, "q": q, "w": w, "t": lib, "r": None}
    exec(code, ns)  # noqa: S102 - fixed test strings
    return ns["r"] if ns["r"] is not None else p.grad._version


@pytest.mark.parametrize("case", list(GRAD_VERSIONS))
def test_grad_version_after_backward_as_torch(case):
    assert _grad_version(cr, GRAD_VERSIONS[case]) == _grad_version(torch, GRAD_VERSIONS[case])


def test_grad_version_after_mean_as_torch():
    code = "p.mean().backward()"
    assert _grad_version(cr, code) == _grad_version(torch, code)


def test_grad_version_sum_into_grad_keeps_the_tensor():
    """The second backward adds into the same ``.grad`` object, bumping its version."""
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    g = p.grad
    assert g._version == 1  # the two uses summed in place (PyTorch's input buffer)
    (p * 3).sum().backward()
    assert p.grad is g
    assert g._version == 2
    assert g.tolist() == [5.0, 7.0]
